//! Domain values and rules shared by the browser (early validation) and the server (the
//! authority): parsed once at the edge, pure, no I/O.

pub mod channel;
mod identity;
pub mod notice;

pub use identity::{BusinessId, IdentityError, PersonalIdentityCode, RecipientId};
