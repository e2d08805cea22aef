//! Sending to many: a checked recipients file (the batch) and its rows.

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Batch {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub filename: String,
    pub file_sha256: String,
    /// The common notice: a compose draft without recipients, JSON.
    pub draft: String,
    pub template_id: Option<Uuid>,
    pub template_version: Option<i32>,
    /// `checked`, `confirmed` or `cancelled`.
    pub status: String,
    pub file_problem: Option<String>,
    pub notice_problems: String,
    pub ignored_columns: String,
    pub rows_total: i64,
    pub rows_good: i64,
    pub modes: String,
    pub confirmed_at: Option<Timestamp>,
    pub confirmed_by: Option<Uuid>,
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRowRecord {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub organisation_id: Uuid,
    pub row_number: i64,
    /// `invalid`, `ready`, `queued`, `failed` or `cancelled`.
    pub status: String,
    /// JSON list of field problems.
    pub problems: String,
    pub recipient_name: String,
    pub identity_masked: Option<String>,
    pub recipient_sealed: Option<Vec<u8>>,
    pub decided_mode: Option<String>,
    pub notice_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
}

impl std::fmt::Debug for BatchRowRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRowRecord")
            .field("id", &self.id)
            .field("row_number", &self.row_number)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A row with what became of its delivery, for the batch page and its results.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchRowOutcome {
    pub id: Uuid,
    pub row_number: i64,
    pub status: String,
    pub problems: String,
    pub recipient_name: String,
    pub identity_masked: Option<String>,
    pub decided_mode: Option<String>,
    pub notice_id: Option<Uuid>,
    pub delivery_status: Option<String>,
}

/// What the dry run found, written when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCheck {
    pub file_problem: Option<String>,
    pub notice_problems: String,
    pub ignored_columns: String,
    pub rows_total: i64,
    pub rows_good: i64,
    pub modes: String,
}

#[async_trait]
pub trait BatchStore: Send + Sync {
    /// A batch whose check begins (`checking`), its lease until `check_lease_until`.
    async fn create_batch(&self, batch: &Batch, check_lease_until: Timestamp) -> StoreResult<()>;
    /// Rows of a batch being checked, in one transaction that renews the check's lease;
    /// `false` (nothing written) when the check was given up as interrupted meanwhile.
    async fn add_batch_rows(
        &self,
        batch_id: Uuid,
        rows: &[BatchRowRecord],
        check_lease_until: Timestamp,
    ) -> StoreResult<bool>;
    /// The check's figures; the batch is `checked`. `false` when it was given up meanwhile.
    async fn finish_batch_check(&self, id: Uuid, check: &BatchCheck) -> StoreResult<bool>;
    /// Checks whose lease ran out before `now` (their request ended in a crash) are cancelled
    /// with `file_problem`, and their rows' sealed recipients dropped. Their ids and
    /// organisations.
    async fn abandon_batch_checks(
        &self,
        now: Timestamp,
        file_problem: &str,
    ) -> StoreResult<Vec<(Uuid, Uuid)>>;
    async fn batch(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<Option<Batch>>;
    /// The organisation's batches, newest first.
    async fn batches(&self, organisation_id: Uuid, limit: i64) -> StoreResult<Vec<Batch>>;
    /// Other batches made from a file with this hash, newest first.
    async fn batches_with_file(
        &self,
        organisation_id: Uuid,
        file_sha256: &str,
        except: Uuid,
    ) -> StoreResult<Vec<Batch>>;
    /// Confirms a checked batch and queues a job for each of its ready rows, in one
    /// transaction; `false` when it was not a checked batch with good rows.
    async fn confirm_batch(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        by: Uuid,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Cancels a checked batch; its rows' sealed recipients are dropped.
    async fn cancel_batch(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<bool>;
    async fn batch_row(&self, id: Uuid) -> StoreResult<Option<BatchRowRecord>>;
    /// The row became a notice: its sealed recipient is dropped.
    async fn mark_batch_row_queued(
        &self,
        id: Uuid,
        notice_id: Uuid,
        delivery_id: Option<Uuid>,
    ) -> StoreResult<()>;
    async fn mark_batch_row_failed(&self, id: Uuid, problems: &str) -> StoreResult<()>;
    /// One page of rows with their deliveries' status, in row order after `after_row`;
    /// `status` filters by the row's status, or by `delivery:<status>`.
    async fn batch_rows(
        &self,
        batch_id: Uuid,
        status: Option<&str>,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<BatchRowOutcome>>;
    /// Rows per row status, and queued rows per delivery status (`delivery:<status>`).
    async fn batch_counts(&self, batch_id: Uuid) -> StoreResult<Vec<(String, i64)>>;
    /// Sealed rows after `after`, for re-sealing under a new data key.
    async fn sealed_batch_rows(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    async fn reseal_batch_row(
        &self,
        id: Uuid,
        previous: &[u8],
        resealed: &[u8],
    ) -> StoreResult<bool>;
}
