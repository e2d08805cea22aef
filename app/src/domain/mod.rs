//! Domain values parsed once at the edge, shared by the browser (early validation) and the
//! server (the authority).

mod identity;

pub use identity::{BusinessId, IdentityError, PersonalIdentityCode, RecipientId};
