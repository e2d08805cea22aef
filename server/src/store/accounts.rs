//! What organisation admins and the operator change about organisations and their users:
//! business IDs, roles, deactivation, unlocking, and one-time links to set a password.

use app::auth::Role;
use async_trait::async_trait;
use uuid::Uuid;

use super::{Organisation, StoreResult, Timestamp};

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// A new user chooses their first password.
    Welcome,
    /// An admin reset the password.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Welcome => "welcome",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// A one-time link to set a password; only its token's hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordLink {
    pub token_sha256: String,
    pub user_id: Uuid,
    pub purpose: LinkPurpose,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A single sign-on under way, as kept until the provider sends the browser back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OidcAttempt {
    pub state_sha256: String,
    /// The SHA-256 of the value in the starting browser's cookie.
    pub binding_sha256: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where the user was going.
    pub next_path: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_oidc_attempt(&self, attempt: &OidcAttempt) -> StoreResult<()>;
    /// The attempt, once: deleted as it is read; `None` when unknown, used or expired.
    async fn take_oidc_attempt(
        &self,
        state_sha256: &str,
        now: Timestamp,
    ) -> StoreResult<Option<OidcAttempt>>;
    /// The user signed in before with this `issuer subject`.
    async fn user_by_oidc_subject(&self, subject: &str) -> StoreResult<Option<super::User>>;
    /// `false` when the user is linked to a subject already.
    async fn link_oidc_subject(&self, user_id: Uuid, subject: &str) -> StoreResult<bool>;
    async fn rename_organisation(&self, organisation_id: Uuid, name: &str) -> StoreResult<()>;
    /// A business ID another organisation has is a conflict.
    async fn set_business_id(&self, organisation_id: Uuid, business_id: &str) -> StoreResult<()>;
    async fn business_id(&self, organisation_id: Uuid) -> StoreResult<Option<String>>;
    async fn organisation_by_business_id(
        &self,
        business_id: &str,
    ) -> StoreResult<Option<Organisation>>;
    /// `false` when the user is not the organisation's, or the change would leave it without
    /// an active admin.
    async fn set_role(&self, organisation_id: Uuid, user_id: Uuid, role: Role)
        -> StoreResult<bool>;
    /// As `set_role`: the last active admin cannot be deactivated.
    async fn set_active(
        &self,
        organisation_id: Uuid,
        user_id: Uuid,
        active: bool,
    ) -> StoreResult<bool>;
    /// Clears the failed sign-ins and the lock.
    async fn unlock(&self, organisation_id: Uuid, user_id: Uuid) -> StoreResult<bool>;
    async fn set_password_hash(&self, user_id: Uuid, hash: &str) -> StoreResult<()>;
    /// Earlier unused links of the user stop working.
    async fn create_password_link(&self, link: &PasswordLink) -> StoreResult<()>;
    /// The user of a live link, without using it (the page that asks for the password).
    async fn password_link_user(
        &self,
        token_sha256: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>>;
    /// The link's user, once: a used or expired link gives `None`.
    async fn use_password_link(
        &self,
        token_sha256: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>>;
}
