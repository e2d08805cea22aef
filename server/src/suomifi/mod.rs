//! Suomi.fi Messages: the wire model, the documented limits, our client, and the simulator.

pub mod client;
pub mod limits;
pub mod model;
pub mod pacer;
pub mod sim;
pub mod uploads;

pub use client::{Sent, SuomiFiClient, SuomiFiError, SuomiFiSettings};
pub mod services;
