//! Tiedoksi's user interface: pages, components, server functions and their wire types.
//!
//! Organised by feature; each feature module holds its wire types, its `#[server]` functions
//! and its components. Server functions reach the backend only through the `ssr`-only traits
//! declared next to them, which the `server` crate provides as `Arc<dyn …>` context.

#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod admin;
pub mod auth;
pub mod batches;
pub mod components;
pub mod compose;
pub mod domain;
pub mod error;
pub mod i18n_root;
pub mod info;
pub mod layout;
pub mod notices;
pub mod replies;
pub mod shell;
pub mod templates;
pub mod words;

pub use shell::{shell, App};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
