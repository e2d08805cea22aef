//! The outbox job of one confirmed row: its notice queued through the compose service under
//! the row's own key (`batch:<row id>`), so doing it twice queues it once.

use app::auth::{Actor, SessionUser};
use app::compose::NoticeDraft;
use app::error::AppError;
use async_trait::async_trait;

use super::{row_draft, BatchService};
use crate::delivery::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::store::Job;

pub struct ComposeBatchRow {
    pub batches: BatchService,
}

impl ComposeBatchRow {
    /// Who confirmed the batch acts for its rows: the notices are theirs.
    async fn actor(
        &self,
        organisation_id: uuid::Uuid,
        user_id: uuid::Uuid,
    ) -> Result<Actor, JobFailure> {
        let store = &self.batches.store;
        let user = store
            .user_by_id(user_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the batch's confirmer is gone"))?;
        let organisation = store
            .organisation(organisation_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the batch's organisation is gone"))?;
        Ok(Actor::user(
            SessionUser {
                id: user.id,
                organisation_id,
                organisation_name: organisation.name,
                display_name: user.display_name,
                email: user.email,
                role: user.role,
            },
            "batch",
        ))
    }
}

#[async_trait]
impl JobHandler for ComposeBatchRow {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let store = &self.batches.store;
        let Some(row) = store.batch_row(job.subject_id).await.map_err(retryable)? else {
            return Err(fatal("no such batch row"));
        };
        if row.status != "ready" {
            return Ok(());
        }
        let Some(batch) = store
            .batch(row.organisation_id, row.batch_id)
            .await
            .map_err(retryable)?
        else {
            return Err(fatal("no such batch"));
        };
        if batch.status != "confirmed" {
            return Ok(());
        }
        let sealed = row
            .recipient_sealed
            .as_deref()
            .ok_or_else(|| fatal("the row's recipient is gone"))?;
        let (recipient, case_reference) = self
            .batches
            .unseal(sealed)
            .map_err(|e| fatal(e.to_string()))?;
        let common: NoticeDraft = serde_json::from_str(&batch.draft).map_err(fatal)?;
        let draft = row_draft(
            &common,
            recipient,
            case_reference,
            &format!("batch:{}", row.id),
        );
        let actor = self
            .actor(
                batch.organisation_id,
                batch.confirmed_by.unwrap_or(batch.created_by),
            )
            .await?;
        match self.batches.compose.compose(&actor, draft).await {
            Ok(queued) => {
                let delivery = queued.deliveries.first().map(|d| d.delivery_id);
                store
                    .mark_batch_row_queued(row.id, queued.notice_id, delivery)
                    .await
                    .map_err(retryable)
            }
            // Something changed since the dry run (a setting, the sending day): the row
            // says why, the rest go on.
            Err(AppError::Invalid(problems)) => store
                .mark_batch_row_failed(
                    row.id,
                    &serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into()),
                )
                .await
                .map_err(retryable),
            Err(error @ (AppError::Forbidden | AppError::NotFound)) => Err(fatal(error)),
            Err(error) => Err(retryable(error)),
        }
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        tracing::warn!(%error, row = %job.subject_id, "gave up queuing a batch row");
        let problems = [app::compose::FieldProblem::new(
            "batch",
            app::compose::Problem::NotQueued,
        )];
        let problems = serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into());
        if let Err(failure) = self
            .batches
            .store
            .mark_batch_row_failed(job.subject_id, &problems)
            .await
        {
            tracing::error!(%failure, "could not mark a batch row failed");
        }
    }
}
