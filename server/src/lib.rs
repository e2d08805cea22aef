//! Tiedoksi's server: configuration, start-up, sessions and access, the database, the audit
//! log — and, as the pipeline grows, the Suomi.fi client, the delivery worker and the
//! simulator.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backend;
pub mod batches;
pub mod blobs;
pub mod bootstrap;
pub mod config;
pub mod dates;
pub mod delivery;
pub mod health;
pub mod language;
pub mod local_time;
pub mod metrics;
pub mod notices;
pub mod pdf;
pub mod pdf_worker;
pub mod replies;
pub mod rotation;
pub mod route_census;
pub mod secrets;
pub mod smtp;
pub mod spreadsheet;
pub mod startup;
pub mod store;
pub mod suomifi;
pub mod telemetry;
