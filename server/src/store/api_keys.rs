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

/// What one `Idempotency-Key` of a key stands for in `POST /api/v1/batches` (a notice is its
/// own record): the request's hash and its answer, none while the batch is being made.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiRequestRow {
    pub request_sha256: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
}

/// One entry of an organisation's change feed: a delivery history entry (with its delivery
/// and notice) or a citizen's reply.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeedEntry {
    pub seq: i64,
    pub occurred_at: Timestamp,
    pub history_kind: Option<String>,
    pub history_details: Option<String>,
    pub reply_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub notice_id: Option<Uuid>,
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

    /// What the key's `idempotency_key` stands for, if it was answered.
    async fn api_request(
        &self,
        api_key_id: Uuid,
        idempotency_key: &str,
    ) -> StoreResult<Option<ApiRequestRow>>;
    /// Claims the key for a request with this hash while it runs: `true` when this request
    /// holds the claim (none was there, or an unanswered one made before `abandoned_before`).
    async fn claim_api_request(
        &self,
        api_key_id: Uuid,
        idempotency_key: &str,
        request_sha256: &str,
        at: Timestamp,
        abandoned_before: Timestamp,
    ) -> StoreResult<bool>;
    /// Lets go of an unanswered claim (the request was refused), so the key may be used again
    /// with a corrected body.
    async fn release_api_request(
        &self,
        api_key_id: Uuid,
        idempotency_key: &str,
        request_sha256: &str,
    ) -> StoreResult<()>;
    /// Keeps the first answer under the key only (a concurrent repeat's is dropped); what the
    /// key stands for now.
    async fn answer_api_request(
        &self,
        api_key_id: Uuid,
        idempotency_key: &str,
        answer: &ApiRequestRow,
        at: Timestamp,
    ) -> StoreResult<ApiRequestRow>;

    /// The organisation's change feed after `after`, oldest first.
    async fn change_feed(
        &self,
        organisation_id: Uuid,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<FeedEntry>>;
}
