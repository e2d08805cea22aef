//! The SQL of sending to many, shared by both backends like `sql.rs`.

pub(crate) const BATCH_COLUMNS: &str = "id, organisation_id, created_by, created_at, filename, \
     file_sha256, draft, template_id, template_version, status, file_problem, notice_problems, \
     ignored_columns, rows_total, rows_good, modes, confirmed_at, confirmed_by";

pub(crate) const ROW_COLUMNS: &str = "id, batch_id, organisation_id, row_number, status, \
     problems, recipient_name, identity_masked, recipient_sealed, decided_mode, notice_id, \
     delivery_id";

/// A batch that will not be sent forgets its rows' recipients; the rows stay, masked, as the
/// record of what was in the file.
pub(crate) const FORGET_ROWS: &str = "UPDATE batch_rows SET recipient_sealed = NULL, \
     status = CASE WHEN status = 'ready' THEN 'cancelled' ELSE status END \
     WHERE batch_id = $1";

macro_rules! impl_shared_batch_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::BatchStore for $store {
            async fn create_batch(
                &self,
                batch: &$crate::store::Batch,
                check_lease_until: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO batches ({}, check_lease_until) VALUES ($1, $2, $3, $4, $5, $6, \
                     $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                    $crate::store::sql_batches::BATCH_COLUMNS
                ))
                .bind(batch.id)
                .bind(batch.organisation_id)
                .bind(batch.created_by)
                .bind(batch.created_at)
                .bind(&batch.filename)
                .bind(&batch.file_sha256)
                .bind(&batch.draft)
                .bind(batch.template_id)
                .bind(batch.template_version)
                .bind(&batch.status)
                .bind(&batch.file_problem)
                .bind(&batch.notice_problems)
                .bind(&batch.ignored_columns)
                .bind(batch.rows_total)
                .bind(batch.rows_good)
                .bind(&batch.modes)
                .bind(batch.confirmed_at)
                .bind(batch.confirmed_by)
                .bind(check_lease_until)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn add_batch_rows(
                &self,
                batch_id: uuid::Uuid,
                rows: &[$crate::store::BatchRowRecord],
                check_lease_until: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                // The write comes first (SQLite takes its lock here), and says whether the
                // check still holds its batch.
                let held = sqlx::query(
                    "UPDATE batches SET check_lease_until = $2 \
                     WHERE id = $1 AND status = 'checking'",
                )
                .bind(batch_id)
                .bind(check_lease_until)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !held {
                    return Ok(false);
                }
                for row in rows {
                    sqlx::query(&format!(
                        "INSERT INTO batch_rows ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                         $9, $10, $11, $12)",
                        $crate::store::sql_batches::ROW_COLUMNS
                    ))
                    .bind(row.id)
                    .bind(row.batch_id)
                    .bind(row.organisation_id)
                    .bind(row.row_number)
                    .bind(&row.status)
                    .bind(&row.problems)
                    .bind(&row.recipient_name)
                    .bind(&row.identity_masked)
                    .bind(&row.recipient_sealed)
                    .bind(&row.decided_mode)
                    .bind(row.notice_id)
                    .bind(row.delivery_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn finish_batch_check(
                &self,
                id: uuid::Uuid,
                check: &$crate::store::BatchCheck,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE batches SET file_problem = $2, notice_problems = $3, \
                     ignored_columns = $4, rows_total = $5, rows_good = $6, modes = $7, \
                     status = 'checked', check_lease_until = NULL \
                     WHERE id = $1 AND status = 'checking'",
                )
                .bind(id)
                .bind(&check.file_problem)
                .bind(&check.notice_problems)
                .bind(&check.ignored_columns)
                .bind(check.rows_total)
                .bind(check.rows_good)
                .bind(&check.modes)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn abandon_batch_checks(
                &self,
                now: $crate::store::Timestamp,
                file_problem: &str,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, uuid::Uuid)>> {
                let mut tx = self.writer.begin().await?;
                let abandoned: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
                    "UPDATE batches SET status = 'cancelled', file_problem = $2, \
                     check_lease_until = NULL, \
                     rows_total = (SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = batches.id), \
                     rows_good = (SELECT COUNT(*) FROM batch_rows r \
                                  WHERE r.batch_id = batches.id AND r.status = 'ready') \
                     WHERE status = 'checking' AND check_lease_until < $1 RETURNING id, organisation_id",
                )
                .bind(now)
                .bind(file_problem)
                .fetch_all(&mut *tx)
                .await?;
                for (id, _) in &abandoned {
                    sqlx::query($crate::store::sql_batches::FORGET_ROWS)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(abandoned)
            }

            async fn batch(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Batch>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM batches WHERE organisation_id = $1 AND id = $2",
                    $crate::store::sql_batches::BATCH_COLUMNS
                ))
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn batches(
                &self,
                organisation_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Batch>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM batches WHERE organisation_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2",
                    $crate::store::sql_batches::BATCH_COLUMNS
                ))
                .bind(organisation_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn batches_with_file(
                &self,
                organisation_id: uuid::Uuid,
                file_sha256: &str,
                except: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Batch>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM batches WHERE organisation_id = $1 AND file_sha256 = $2 \
                     AND id <> $3 ORDER BY created_at DESC, id DESC LIMIT 10",
                    $crate::store::sql_batches::BATCH_COLUMNS
                ))
                .bind(organisation_id)
                .bind(file_sha256)
                .bind(except)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn confirm_batch(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                by: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let confirmed = sqlx::query(
                    "UPDATE batches SET status = 'confirmed', confirmed_at = $3, \
                     confirmed_by = $4 WHERE organisation_id = $1 AND id = $2 \
                     AND status = 'checked' AND rows_good > 0 AND file_problem IS NULL \
                     AND notice_problems = '[]'",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(at)
                .bind(by)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !confirmed {
                    return Ok(false);
                }
                // The row's id is its job's id too: one job per row, whatever happens.
                sqlx::query(
                    "INSERT INTO outbox_jobs (id, organisation_id, kind, subject_id, state, \
                     run_after, created_at) \
                     SELECT id, organisation_id, 'compose_batch_row', id, 'pending', $2, $2 \
                     FROM batch_rows WHERE batch_id = $1 AND status = 'ready' \
                     ORDER BY row_number \
                     ON CONFLICT (kind, subject_id) DO NOTHING",
                )
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn cancel_batch(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let cancelled = sqlx::query(
                    "UPDATE batches SET status = 'cancelled' \
                     WHERE organisation_id = $1 AND id = $2 AND status = 'checked'",
                )
                .bind(organisation_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if cancelled {
                    sqlx::query($crate::store::sql_batches::FORGET_ROWS)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(cancelled)
            }

            async fn batch_row(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::BatchRowRecord>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM batch_rows WHERE id = $1",
                    $crate::store::sql_batches::ROW_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn mark_batch_row_queued(
                &self,
                id: uuid::Uuid,
                notice_id: uuid::Uuid,
                delivery_id: Option<uuid::Uuid>,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE batch_rows SET status = 'queued', notice_id = $2, \
                     delivery_id = $3, recipient_sealed = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(notice_id)
                .bind(delivery_id)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn mark_batch_row_failed(
                &self,
                id: uuid::Uuid,
                problems: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE batch_rows SET status = 'failed', problems = $2, \
                     recipient_sealed = NULL WHERE id = $1 AND status = 'ready'",
                )
                .bind(id)
                .bind(problems)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn batch_rows(
                &self,
                batch_id: uuid::Uuid,
                status: Option<&str>,
                after_row: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::BatchRowOutcome>> {
                let (row_status, delivery_status) = match status {
                    Some(status) => match status.strip_prefix("delivery:") {
                        Some(delivery) => (None, Some(delivery.to_string())),
                        None => (Some(status.to_string()), None),
                    },
                    None => (None, None),
                };
                Ok(sqlx::query_as(
                    "SELECT r.id, r.row_number, r.status, r.problems, r.recipient_name, \
                     r.identity_masked, r.decided_mode, r.notice_id, \
                     d.status AS delivery_status \
                     FROM batch_rows r LEFT JOIN deliveries d ON d.id = r.delivery_id \
                     WHERE r.batch_id = $1 AND r.row_number > $2 \
                     AND ($3 IS NULL OR r.status = $3) AND ($4 IS NULL OR d.status = $4) \
                     ORDER BY r.row_number LIMIT $5",
                )
                .bind(batch_id)
                .bind(after_row)
                .bind(row_status)
                .bind(delivery_status)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn batch_counts(
                &self,
                batch_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<(String, i64)>> {
                let mut counts: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM batch_rows WHERE batch_id = $1 \
                     GROUP BY status",
                )
                .bind(batch_id)
                .fetch_all(&self.pool)
                .await?;
                let deliveries: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT d.status, COUNT(*) FROM batch_rows r \
                     JOIN deliveries d ON d.id = r.delivery_id \
                     WHERE r.batch_id = $1 GROUP BY d.status",
                )
                .bind(batch_id)
                .fetch_all(&self.pool)
                .await?;
                counts.extend(
                    deliveries
                        .into_iter()
                        .map(|(status, count)| (format!("delivery:{status}"), count)),
                );
                Ok(counts)
            }

            async fn sealed_batch_rows(
                &self,
                after: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, Vec<u8>)>> {
                Ok(sqlx::query_as(
                    "SELECT id, recipient_sealed FROM batch_rows \
                     WHERE recipient_sealed IS NOT NULL AND ($1 IS NULL OR id > $1) \
                     ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reseal_batch_row(
                &self,
                id: uuid::Uuid,
                previous: &[u8],
                resealed: &[u8],
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE batch_rows SET recipient_sealed = $3 \
                     WHERE id = $1 AND recipient_sealed = $2",
                )
                .bind(id)
                .bind(previous)
                .bind(resealed)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }
        }
    };
}

pub(crate) use impl_shared_batch_store;
