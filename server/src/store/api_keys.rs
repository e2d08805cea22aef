//! API keys of case-management systems: only their hashes, revocable, last use kept.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub key_sha256: String,
    pub prefix: String,
    /// The account that authors the key's notices (it cannot sign in).
    pub account_id: Uuid,
    /// The Suomi.fi service its notices go through; `None`: the organisation's default.
    pub service_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn create_api_key(&self, key: &ApiKeyRow) -> StoreResult<()>;
    /// The live (not revoked) key with this hash.
    async fn api_key_by_hash(&self, key_sha256: &str) -> StoreResult<Option<ApiKeyRow>>;
    /// The organisation's keys, newest first, revoked ones too.
    async fn api_keys(&self, organisation_id: Uuid) -> StoreResult<Vec<ApiKeyRow>>;
    /// `false` when it is not the organisation's or was revoked already.
    async fn revoke_api_key(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        at: Timestamp,
    ) -> StoreResult<bool>;
    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;
}
