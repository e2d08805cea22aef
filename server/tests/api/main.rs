//! One test binary (one link) for everything that needs a database or a running server.
//! Every case runs on both SQLite and PostgreSQL: see `on_both_backends!`.

mod helpers;

mod access;
mod accounts;
mod api_keys;
mod authorisation;
mod bad_input;
mod batches;
mod blobs;
mod chaos;
mod cli;
mod delivery;
mod drafts;
mod health;
mod inbox;
mod instances;
mod integration_api;
mod legal;
mod lists;
mod login;
mod metrics;
mod notices;
mod oidc;
mod security;
mod services;
mod smtp;
mod store_contract;
mod suomifi;
mod templates;
mod worker;
