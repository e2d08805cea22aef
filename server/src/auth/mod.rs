//! Who is asking: passwords, sign-in, sessions, page access and cross-site protection.

pub mod csrf;
pub mod login;
pub mod middleware;
pub mod oidc;
pub mod password;
pub mod password_policy;
pub mod session;
