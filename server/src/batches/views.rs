//! What the batch pages read: the organisation's batches, one batch's report and progress.

use app::auth::Actor;
use app::batches::ssr::BatchesBackend;
use app::batches::{BatchProgress, BatchReport, BatchRowView, BatchSummary, FileProblem};
use app::compose::{FieldProblem, NoticeDraft};
use app::domain::channel::DeliveryMode;
use app::domain::lifecycle::DeliveryStatus;
use app::error::AppError;
use async_trait::async_trait;
use uuid::Uuid;

use super::BatchService;
use crate::local_time::finnish_local;
use crate::store::{Batch, BatchRowOutcome};

const ROWS_PER_PAGE: i64 = 100;

fn summary(batch: &Batch) -> BatchSummary {
    BatchSummary {
        id: batch.id,
        filename: batch.filename.clone(),
        created_at: batch.created_at.to_rfc3339(),
        created_local: finnish_local(batch.created_at),
        status: batch.status.clone(),
        rows_total: batch.rows_total,
        rows_good: batch.rows_good,
    }
}

fn row_view(row: BatchRowOutcome) -> BatchRowView {
    BatchRowView {
        row_number: row.row_number,
        name: row.recipient_name,
        identity_masked: row.identity_masked,
        status: row.status,
        problems: serde_json::from_str::<Vec<FieldProblem>>(&row.problems).unwrap_or_default(),
        mode: row.decided_mode.as_deref().and_then(DeliveryMode::parse),
        delivery_status: row
            .delivery_status
            .as_deref()
            .and_then(DeliveryStatus::parse),
        notice_id: row.notice_id,
    }
}

impl BatchService {
    async fn own(&self, actor: &Actor, id: Uuid) -> Result<Batch, AppError> {
        self.store
            .batch(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)
    }

    async fn progress(&self, batch: &Batch) -> Result<BatchProgress, AppError> {
        let counts = self
            .store
            .batch_counts(batch.id)
            .await
            .map_err(AppError::internal)?;
        let count = |key: &str| {
            counts
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        let failed = count("failed");
        Ok(BatchProgress {
            status: batch.status.clone(),
            rows_good: batch.rows_good,
            done: count("queued") + failed,
            failed,
            counts,
        })
    }
}

#[async_trait]
impl BatchesBackend for BatchService {
    async fn list_batches(&self, actor: &Actor) -> Result<Vec<BatchSummary>, AppError> {
        let batches = self
            .store
            .batches(actor.organisation_id, 50)
            .await
            .map_err(AppError::internal)?;
        Ok(batches.iter().map(summary).collect())
    }

    async fn batch_report(
        &self,
        actor: &Actor,
        id: Uuid,
        filter: Option<String>,
        after: i64,
    ) -> Result<BatchReport, AppError> {
        let batch = self.own(actor, id).await?;
        let draft: NoticeDraft = serde_json::from_str(&batch.draft).map_err(AppError::internal)?;
        let template_name = match batch.template_id {
            Some(template) => self
                .store
                .template(actor.organisation_id, template)
                .await
                .map_err(AppError::internal)?
                .map(|t| t.name),
            None => None,
        };
        // Before confirming, the rows to fix; afterwards every row (or the filter's).
        let filter = match (batch.status.as_str(), filter) {
            ("checking" | "checked", _) => Some("invalid".to_string()),
            (_, filter) => filter,
        };
        let mut rows = self
            .store
            .batch_rows(batch.id, filter.as_deref(), after, ROWS_PER_PAGE + 1)
            .await
            .map_err(AppError::internal)?;
        let next_after = (rows.len() as i64 > ROWS_PER_PAGE).then(|| {
            rows.truncate(ROWS_PER_PAGE as usize);
            rows.last().map(|row| row.row_number).unwrap_or(after)
        });
        let same_file = self
            .store
            .batches_with_file(actor.organisation_id, &batch.file_sha256, batch.id)
            .await
            .map_err(AppError::internal)?
            .iter()
            .map(|other| (other.id, finnish_local(other.created_at)))
            .collect();
        let modes: std::collections::BTreeMap<String, i64> =
            serde_json::from_str(&batch.modes).unwrap_or_default();
        Ok(BatchReport {
            summary: summary(&batch),
            notice_type: draft.notice_type.as_str().to_string(),
            title: draft.title.clone(),
            template_name,
            file_problem: batch
                .file_problem
                .as_deref()
                .and_then(|p| serde_json::from_str::<FileProblem>(p).ok()),
            notice_problems: serde_json::from_str(&batch.notice_problems).unwrap_or_default(),
            ignored_columns: serde_json::from_str(&batch.ignored_columns).unwrap_or_default(),
            modes: modes
                .into_iter()
                .filter_map(|(mode, count)| DeliveryMode::parse(&mode).map(|m| (m, count)))
                .collect(),
            same_file,
            progress: self.progress(&batch).await?,
            rows: rows.into_iter().map(row_view).collect(),
            next_after,
        })
    }

    async fn batch_progress(&self, actor: &Actor, id: Uuid) -> Result<BatchProgress, AppError> {
        let batch = self.own(actor, id).await?;
        self.progress(&batch).await
    }
}
