//! Domain values and rules shared by the browser (early validation) and the server (the
//! authority): parsed once at the edge, pure, no I/O.

pub mod channel;
mod identity;
pub mod legal_rule;
pub mod lifecycle;
pub mod notice;
pub mod placeholders;
pub mod text;

pub use identity::{BusinessId, IdentityError, PersonalIdentityCode, RecipientId};

/// A stored form that names no known value (a row written by a newer version, or damaged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stored value {0:?}")]
pub struct UnknownValue(pub String);

/// `TryFrom<String>` through the type's `parse`, so database rows decode straight into the
/// typed value (`#[sqlx(try_from = "String")]`).
macro_rules! stored_form {
    ($($kind:ty),* $(,)?) => {
        $(
            impl TryFrom<String> for $kind {
                type Error = $crate::domain::UnknownValue;
                fn try_from(value: String) -> Result<Self, Self::Error> {
                    <$kind>::parse(&value).ok_or($crate::domain::UnknownValue(value))
                }
            }
        )*
    };
}

stored_form!(
    lifecycle::DeliveryStatus,
    channel::DeliveryMode,
    notice::NoticeType,
    notice::RecipientRole,
);
