//! Organisation administration on the server: one-time password links (for users the
//! operator or an admin creates, and for resets) and the page that uses them.

pub mod api_keys;
pub mod audit;
pub mod links;
pub mod logo;
pub mod mail;
pub mod operator;
pub mod services;
pub mod templates;
pub mod users;
