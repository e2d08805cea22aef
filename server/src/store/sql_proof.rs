//! The SQL of documents, delivery history, legal dates and the 7-day watch, shared by both
//! backends like `sql.rs`.

/// Names a store's sqlx database, so shared code can take its transactions.
pub trait HasDatabase {
    type Database: sqlx::Database;
}

macro_rules! impl_shared_proof_stores {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::DocumentStore for $store {
            async fn create_upload(
                &self,
                upload: &$crate::store::Upload,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO uploads (id, organisation_id, uploaded_by, sha256, filename, \
                     media_type, size_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(upload.id)
                .bind(upload.organisation_id)
                .bind(upload.uploaded_by)
                .bind(&upload.sha256)
                .bind(&upload.filename)
                .bind(&upload.media_type)
                .bind(upload.size_bytes)
                .bind(upload.created_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn upload(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Upload>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, uploaded_by, sha256, filename, media_type, \
                     size_bytes, created_at FROM uploads WHERE organisation_id = $1 AND id = $2",
                )
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn notice_attachments(
                &self,
                notice_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::NoticeAttachment>> {
                Ok(sqlx::query_as(
                    "SELECT position, filename, media_type, sha256, size_bytes \
                     FROM notice_attachments WHERE notice_id = $1 ORDER BY position",
                )
                .bind(notice_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn delivery_documents(
                &self,
                delivery_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SentDocument>> {
                Ok(sqlx::query_as(
                    "SELECT kind, filename, media_type, sha256, size_bytes \
                     FROM delivery_documents WHERE delivery_id = $1 ORDER BY sent_at, id",
                )
                .bind(delivery_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::HistoryStore for $store {
            async fn append_history(
                &self,
                entry: &$crate::store::HistoryEntry,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query($crate::store::sql::INSERT_HISTORY)
                .bind(entry.id)
                .bind(entry.organisation_id)
                .bind(entry.delivery_id)
                .bind(entry.occurred_at)
                .bind(&entry.kind)
                .bind(&entry.details)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn delivery_history(
                &self,
                delivery_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::HistoryEntry>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, delivery_id, occurred_at, kind, details \
                     FROM delivery_history WHERE delivery_id = $1 ORDER BY occurred_at, id",
                )
                .bind(delivery_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn record_legal_dates(
                &self,
                delivery_id: uuid::Uuid,
                update: &$crate::store::LegalDatesUpdate,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                if !Self::apply_legal_dates(&mut tx, delivery_id, update).await? {
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn unacknowledged_verifiable(
                &self,
                submitted_before: $crate::store::Timestamp,
                after: Option<($crate::store::Timestamp, uuid::Uuid)>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Delivery>> {
                let columns =
                    $crate::store::sql::qualified("d", $crate::store::sql::DELIVERY_COLUMNS);
                Ok(sqlx::query_as(&format!(
                    "SELECT {columns} FROM deliveries d JOIN notices n ON n.id = d.notice_id \
                     WHERE n.verifiable = TRUE AND d.channel_taken = 'electronic' \
                     AND d.status IN ('sent', 'delivered_electronically') \
                     AND d.submitted_at < $1 AND d.unacknowledged_at IS NULL \
                     AND ($3 IS NULL OR d.submitted_at > $3 OR (d.submitted_at = $3 AND d.id > $4)) \
                     ORDER BY d.submitted_at, d.id LIMIT $2"
                ))
                .bind(submitted_before)
                .bind(limit)
                .bind(after.map(|(at, _)| at))
                .bind(after.map(|(_, id)| id))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn flag_unacknowledged(
                &self,
                delivery_id: uuid::Uuid,
                at: $crate::store::Timestamp,
                reserve_id: Option<uuid::Uuid>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                // Not once the recipient has acknowledged (a late event may have come in).
                let organisation_id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "UPDATE deliveries SET unacknowledged_at = $2, updated_at = $2 \
                     WHERE id = $1 AND unacknowledged_at IS NULL \
                     AND status IN ('sent', 'delivered_electronically') \
                     RETURNING organisation_id",
                )
                .bind(delivery_id)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(organisation_id) = organisation_id else {
                    return Ok(false);
                };
                Self::insert_history(&mut tx, organisation_id, delivery_id, at, app::domain::lifecycle::HistoryKind::Unacknowledged.as_str(), "{}")
                    .await?;
                if let Some(reserve_id) = reserve_id {
                    Self::insert_reserve(&mut tx, delivery_id, reserve_id, at).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn create_reserve(
                &self,
                original_id: uuid::Uuid,
                reserve_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                let mut tx = self.writer.begin().await?;
                let created = Self::insert_reserve(&mut tx, original_id, reserve_id, at).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn retry_delivery(
                &self,
                delivery_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let retried = Self::retry_delivery_in(&mut tx, delivery_id, at).await?;
                tx.commit().await?;
                Ok(retried)
            }
        }

        impl $store {
            async fn retry_delivery_in(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                delivery_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> Result<bool, sqlx::Error> {
                let organisation_id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "UPDATE deliveries SET status = 'queued', needs_attention_reason = NULL, \
                     updated_at = $2 WHERE id = $1 AND status = 'needs_attention' \
                     RETURNING organisation_id",
                )
                .bind(delivery_id)
                .bind(at)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(organisation_id) = organisation_id else {
                    return Ok(false);
                };
                sqlx::query(
                    "UPDATE outbox_jobs SET state = 'pending', attempts = 0, run_after = $3, \
                     leased_until = NULL, lease_owner = NULL, last_error = NULL, finished_at = NULL \
                     WHERE kind = $1 AND subject_id = $2 AND state = 'failed'",
                )
                .bind($crate::store::JobKind::SendDelivery.as_str())
                .bind(delivery_id)
                .bind(at)
                .execute(&mut **tx)
                .await?;
                Self::insert_history(tx, organisation_id, delivery_id, at, app::domain::lifecycle::HistoryKind::RetryRequested.as_str(), "{}")
                    .await?;
                Ok(true)
            }

            /// The re-serve of a flagged, still unacknowledged delivery: the delivery, its
            /// send job and history on both, or nothing when it exists already.
            async fn insert_reserve(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                original_id: uuid::Uuid,
                reserve_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> Result<Option<uuid::Uuid>, sqlx::Error> {
                let inserted = sqlx::query(
                    "INSERT INTO deliveries (id, organisation_id, notice_id, position, role, \
                     recipient_name, identity_kind, identity_sealed, identity_lookup, \
                     identity_masked, address_sealed, facts, requested_mode, decided_mode, \
                     channel_reasons, paper_addressee, status, created_at, updated_at, reserve_of, \
                     address_protected, content_not_for_others, recipient_minor) \
                     SELECT $2, d.organisation_id, d.notice_id, \
                     (SELECT MAX(position) + 1 FROM deliveries WHERE notice_id = d.notice_id), \
                     d.role, d.recipient_name, d.identity_kind, d.identity_sealed, \
                     d.identity_lookup, d.identity_masked, d.address_sealed, d.facts, \
                     'paper_only', 'paper_only', '[\"verifiable_not_acknowledged\"]', \
                     d.paper_addressee, 'queued', $3, $3, d.id, \
                     d.address_protected, d.content_not_for_others, d.recipient_minor \
                     FROM deliveries d WHERE d.id = $1 \
                     AND d.unacknowledged_at IS NOT NULL \
                     AND d.status IN ('sent', 'delivered_electronically') \
                     AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.reserve_of = $1) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(original_id)
                .bind(reserve_id)
                .bind(at)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1;
                if !inserted {
                    return Ok(None);
                }
                let organisation_id: uuid::Uuid =
                    sqlx::query_scalar("SELECT organisation_id FROM deliveries WHERE id = $1")
                        .bind(reserve_id)
                        .fetch_one(&mut **tx)
                        .await?;
                sqlx::query(
                    "INSERT INTO outbox_jobs (id, organisation_id, kind, subject_id, state, \
                     run_after, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(organisation_id)
                .bind($crate::store::JobKind::SendDelivery.as_str())
                .bind(reserve_id)
                .bind(at)
                .execute(&mut **tx)
                .await?;
                let to_original = serde_json::json!({ "reserve_delivery_id": reserve_id });
                Self::insert_history(tx, organisation_id, original_id, at, app::domain::lifecycle::HistoryKind::ReserveQueued.as_str(), &to_original.to_string())
                    .await?;
                let to_reserve = serde_json::json!({
                    "reserve_of": original_id,
                    "decided_mode": "paper_only",
                    "reasons": ["verifiable_not_acknowledged"],
                });
                Self::insert_history(tx, organisation_id, reserve_id, at, app::domain::lifecycle::HistoryKind::Queued.as_str(), &to_reserve.to_string())
                    .await?;
                Ok(Some(reserve_id))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::ServiceRecordStore for $store {
            async fn record_service(
                &self,
                record: &$crate::store::ServiceRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "INSERT INTO service_records (id, organisation_id, delivery_id, kind, method, \
                     served_on, receipt_on, reference, recorded_by, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(record.id)
                .bind(record.organisation_id)
                .bind(record.delivery_id)
                .bind(&record.kind)
                .bind(&record.method)
                .bind(&record.served_on)
                .bind(&record.receipt_on)
                .bind(&record.reference)
                .bind(record.recorded_by)
                .bind(record.recorded_at)
                .execute(&mut *tx)
                .await?;
                let kind = if record.kind == "forwarding" {
                    app::domain::lifecycle::HistoryKind::ForwardingRecorded
                } else {
                    app::domain::lifecycle::HistoryKind::ServiceRecorded
                };
                let details = serde_json::json!({
                    "record_id": record.id,
                    "kind": record.kind,
                    "method": record.method,
                    "served_on": record.served_on,
                    "receipt_on": record.receipt_on,
                    "reference": record.reference,
                    "by": record.recorded_by,
                })
                .to_string();
                Self::insert_history(&mut tx, record.organisation_id, record.delivery_id, record.recorded_at, kind.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn service_records(
                &self,
                delivery_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ServiceRecord>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, delivery_id, kind, method, served_on, receipt_on, \
                     reference, recorded_by, recorded_at FROM service_records \
                     WHERE delivery_id = $1 ORDER BY recorded_at, id",
                )
                .bind(delivery_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::SealedDataStore for $store {
            async fn sealed_deliveries(
                &self,
                after: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SealedDelivery>> {
                let rows: Vec<(uuid::Uuid, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>)> =
                    sqlx::query_as(
                        "SELECT id, identity_sealed, identity_lookup, address_sealed \
                         FROM deliveries WHERE ($1 IS NULL OR id > $1) \
                         AND (identity_sealed IS NOT NULL OR address_sealed IS NOT NULL) \
                         ORDER BY id LIMIT $2",
                    )
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, identity_sealed, identity_lookup, address_sealed)| {
                        $crate::store::SealedDelivery {
                            id,
                            identity_sealed,
                            identity_lookup,
                            address_sealed,
                        }
                    })
                    .collect())
            }

            async fn reseal_delivery(
                &self,
                previous: &$crate::store::SealedDelivery,
                resealed: &$crate::store::SealedDelivery,
            ) -> $crate::store::StoreResult<bool> {
                let updated = sqlx::query(
                    "UPDATE deliveries SET identity_sealed = $2, identity_lookup = $3, \
                     address_sealed = $4 WHERE id = $1 \
                     AND identity_sealed IS NOT DISTINCT FROM $5 \
                     AND address_sealed IS NOT DISTINCT FROM $6",
                )
                .bind(previous.id)
                .bind(&resealed.identity_sealed)
                .bind(&resealed.identity_lookup)
                .bind(&resealed.address_sealed)
                .bind(&previous.identity_sealed)
                .bind(&previous.address_sealed)
                .execute(&self.writer)
                .await?;
                Ok(updated.rows_affected() == 1)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::DraftStore for $store {
            async fn save_draft(
                &self,
                draft: &$crate::store::DraftRow,
            ) -> $crate::store::StoreResult<bool> {
                let written = sqlx::query(
                    "INSERT INTO drafts (id, organisation_id, author_id, title, content_sealed, \
                     problems, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
                     content_sealed = excluded.content_sealed, problems = excluded.problems, \
                     updated_at = excluded.updated_at \
                     WHERE drafts.author_id = excluded.author_id \
                     AND drafts.organisation_id = excluded.organisation_id \
                     AND drafts.notice_id IS NULL",
                )
                .bind(draft.id)
                .bind(draft.organisation_id)
                .bind(draft.author_id)
                .bind(&draft.title)
                .bind(&draft.content_sealed)
                .bind(&draft.problems)
                .bind(draft.created_at)
                .bind(draft.updated_at)
                .execute(&self.writer)
                .await?;
                Ok(written.rows_affected() == 1)
            }

            async fn draft(
                &self,
                organisation_id: uuid::Uuid,
                author_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::DraftRow>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, author_id, title, content_sealed, problems, \
                     notice_id, created_at, updated_at FROM drafts \
                     WHERE organisation_id = $1 AND author_id = $2 AND id = $3",
                )
                .bind(organisation_id)
                .bind(author_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn drafts(
                &self,
                organisation_id: uuid::Uuid,
                author_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::DraftRow>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, author_id, title, content_sealed, problems, \
                     notice_id, created_at, updated_at FROM drafts \
                     WHERE organisation_id = $1 AND author_id = $2 AND notice_id IS NULL \
                     ORDER BY updated_at DESC, id DESC LIMIT $3",
                )
                .bind(organisation_id)
                .bind(author_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn mark_draft_sent(
                &self,
                id: uuid::Uuid,
                notice_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE drafts SET notice_id = $2, problems = '[]', updated_at = $3 \
                     WHERE id = $1 AND notice_id IS NULL",
                )
                .bind(id)
                .bind(notice_id)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn reassign_draft(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                from: uuid::Uuid,
                to: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let moved = sqlx::query(
                    "UPDATE drafts SET author_id = $4, updated_at = $5 WHERE organisation_id = $1 \
                     AND id = $2 AND author_id = $3 AND notice_id IS NULL",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(from)
                .bind(to)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(moved.rows_affected() == 1)
            }

            async fn delete_draft(
                &self,
                organisation_id: uuid::Uuid,
                author_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<bool> {
                let deleted = sqlx::query(
                    "DELETE FROM drafts WHERE organisation_id = $1 AND author_id = $2 \
                     AND id = $3 AND notice_id IS NULL",
                )
                .bind(organisation_id)
                .bind(author_id)
                .bind(id)
                .execute(&self.writer)
                .await?;
                Ok(deleted.rows_affected() == 1)
            }

            async fn sealed_drafts(
                &self,
                after: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, Vec<u8>)>> {
                Ok(sqlx::query_as(
                    "SELECT id, content_sealed FROM drafts WHERE ($1 IS NULL OR id > $1) \
                     ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reseal_draft(
                &self,
                id: uuid::Uuid,
                previous: &[u8],
                resealed: &[u8],
            ) -> $crate::store::StoreResult<bool> {
                let updated = sqlx::query(
                    "UPDATE drafts SET content_sealed = $3 WHERE id = $1 AND content_sealed = $2",
                )
                .bind(id)
                .bind(previous)
                .bind(resealed)
                .execute(&self.writer)
                .await?;
                Ok(updated.rows_affected() == 1)
            }
        }
    };
}

pub(super) use impl_shared_proof_stores;
