//! The Suomi.fi services an organisation sends through: credentials sealed, the default one
//! marked, the last connection check kept for the admin page and `/readyz`.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, Timestamp};

/// One Suomi.fi service as stored; the passwords only sealed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SuomiFiServiceRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// What staff see when choosing the service.
    pub name: String,
    /// Suomi.fi's `sender.serviceId`; unique in a deployment.
    pub service_id: String,
    pub username: String,
    pub password_sealed: Vec<u8>,
    /// A new password asked for but not yet confirmed by Suomi.fi (a rotation under way, or
    /// one a crash interrupted): tried when the current one is refused.
    pub pending_password_sealed: Option<Vec<u8>>,
    pub password_changed_at: Timestamp,
    pub posti_username: String,
    pub posti_password_sealed: Option<Vec<u8>>,
    pub posti_email: String,
    pub cost_pool: Option<String>,
    pub is_default: bool,
    pub last_check_at: Option<Timestamp>,
    pub last_check_ok: Option<bool>,
    pub last_check_message: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an admin edits; a password left `None` stays as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChanges {
    pub name: String,
    pub username: String,
    pub password_sealed: Option<Vec<u8>>,
    pub posti_username: String,
    pub posti_password_sealed: Option<Vec<u8>>,
    pub posti_email: String,
    pub cost_pool: Option<String>,
    pub is_default: bool,
}

/// The outcome of a connection check or a rotation, as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCheck {
    pub at: Timestamp,
    pub ok: bool,
    pub message: String,
}

#[async_trait]
pub trait SuomiFiServiceStore: Send + Sync {
    /// A service id another service has is a conflict; a new default unmarks the old one.
    async fn create_service(&self, service: &SuomiFiServiceRow) -> StoreResult<()>;
    /// `false` when the service is not the organisation's.
    async fn update_service(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        changes: &ServiceChanges,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// The organisation's services, the default first, then by name.
    async fn services(&self, organisation_id: Uuid) -> StoreResult<Vec<SuomiFiServiceRow>>;
    /// Every service of the deployment (the pollers and the rotation read them all).
    async fn all_services(&self) -> StoreResult<Vec<SuomiFiServiceRow>>;
    async fn service(
        &self,
        organisation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<SuomiFiServiceRow>>;
    async fn service_by_service_id(
        &self,
        service_id: &str,
    ) -> StoreResult<Option<SuomiFiServiceRow>>;
    /// Keeps the password a rotation is about to ask for; `false` when one is pending already
    /// or the current password is no longer `current_sealed` (changed meanwhile).
    async fn begin_password_change(
        &self,
        id: Uuid,
        current_sealed: &[u8],
        pending_sealed: &[u8],
    ) -> StoreResult<bool>;
    /// Makes the pending password current and records when, in one statement.
    async fn complete_password_change(
        &self,
        id: Uuid,
        new_sealed: &[u8],
        at: Timestamp,
    ) -> StoreResult<()>;
    /// The pending password was never applied (refused, or the current one still works);
    /// only that pending one is dropped, not one a later rotation left.
    async fn abandon_password_change(&self, id: Uuid, pending_sealed: &[u8]) -> StoreResult<()>;
    async fn record_service_check(&self, id: Uuid, check: &ServiceCheck) -> StoreResult<()>;
    /// Re-seals a service's passwords (data-key rotation), only over the values read.
    async fn reseal_service(
        &self,
        before: &SuomiFiServiceRow,
        password_sealed: &[u8],
        pending_sealed: Option<&[u8]>,
        posti_sealed: Option<&[u8]>,
    ) -> StoreResult<bool>;
}
