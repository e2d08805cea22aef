//! The SQL of API keys, shared by both backends like `sql.rs`.

pub(crate) const API_KEY_COLUMNS: &str = "id, organisation_id, name, key_sha256, prefix, \
     account_id, service_id, created_at, revoked_at, last_used_at";

macro_rules! impl_shared_api_key_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ApiKeyStore for $store {
            async fn create_api_key(
                &self,
                key: &$crate::store::ApiKeyRow,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(&format!(
                    "INSERT INTO api_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    $crate::store::sql_api_keys::API_KEY_COLUMNS
                ))
                .bind(key.id)
                .bind(key.organisation_id)
                .bind(&key.name)
                .bind(&key.key_sha256)
                .bind(&key.prefix)
                .bind(key.account_id)
                .bind(key.service_id)
                .bind(key.created_at)
                .bind(key.revoked_at)
                .bind(key.last_used_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn api_key_by_hash(
                &self,
                key_sha256: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::ApiKeyRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL",
                    $crate::store::sql_api_keys::API_KEY_COLUMNS
                ))
                .bind(key_sha256)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn api_keys(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ApiKeyRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM api_keys WHERE organisation_id = $1 \
                     ORDER BY created_at DESC, id DESC",
                    $crate::store::sql_api_keys::API_KEY_COLUMNS
                ))
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoke_api_key(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE api_keys SET revoked_at = $3 \
                     WHERE organisation_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(at)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn touch_api_key(
                &self,
                id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn api_request(
                &self,
                api_key_id: uuid::Uuid,
                idempotency_key: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::ApiRequestRow>> {
                Ok(sqlx::query_as(
                    "SELECT request_sha256, response_status, response_body FROM api_requests \
                     WHERE api_key_id = $1 AND idempotency_key = $2",
                )
                .bind(api_key_id)
                .bind(idempotency_key)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn claim_api_request(
                &self,
                api_key_id: uuid::Uuid,
                idempotency_key: &str,
                request_sha256: &str,
                at: $crate::store::Timestamp,
                abandoned_before: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let claimed = sqlx::query(
                    "INSERT INTO api_requests \
                     (api_key_id, idempotency_key, request_sha256, created_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (api_key_id, idempotency_key) DO UPDATE \
                     SET request_sha256 = excluded.request_sha256, created_at = excluded.created_at \
                     WHERE api_requests.response_status IS NULL AND api_requests.created_at < $5",
                )
                .bind(api_key_id)
                .bind(idempotency_key)
                .bind(request_sha256)
                .bind(at)
                .bind(abandoned_before)
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(claimed == 1)
            }

            async fn release_api_request(
                &self,
                api_key_id: uuid::Uuid,
                idempotency_key: &str,
                request_sha256: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "DELETE FROM api_requests WHERE api_key_id = $1 AND idempotency_key = $2 \
                     AND request_sha256 = $3 AND response_status IS NULL",
                )
                .bind(api_key_id)
                .bind(idempotency_key)
                .bind(request_sha256)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn answer_api_request(
                &self,
                api_key_id: uuid::Uuid,
                idempotency_key: &str,
                answer: &$crate::store::ApiRequestRow,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<$crate::store::ApiRequestRow> {
                // A claim left unanswered by an earlier version is answered by the same body.
                sqlx::query(
                    "INSERT INTO api_requests (api_key_id, idempotency_key, request_sha256, \
                     response_status, response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (api_key_id, idempotency_key) DO UPDATE \
                     SET response_status = excluded.response_status, \
                     response_body = excluded.response_body \
                     WHERE api_requests.response_status IS NULL \
                     AND api_requests.request_sha256 = excluded.request_sha256",
                )
                .bind(api_key_id)
                .bind(idempotency_key)
                .bind(&answer.request_sha256)
                .bind(answer.response_status)
                .bind(&answer.response_body)
                .bind(at)
                .execute(&self.writer)
                .await?;
                self.api_request(api_key_id, idempotency_key)
                    .await?
                    .ok_or($crate::store::StoreError::from(sqlx::Error::RowNotFound))
            }

            async fn change_feed(
                &self,
                organisation_id: uuid::Uuid,
                after: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::FeedEntry>> {
                Ok(sqlx::query_as(
                    "SELECT f.seq, f.occurred_at, h.kind AS history_kind, \
                     h.details AS history_details, f.reply_id, \
                     COALESCE(h.delivery_id, r.delivery_id) AS delivery_id, \
                     COALESCE(d.notice_id, r.notice_id) AS notice_id \
                     FROM change_feed f \
                     LEFT JOIN delivery_history h ON h.id = f.history_id \
                     LEFT JOIN deliveries d ON d.id = h.delivery_id \
                     LEFT JOIN citizen_replies r ON r.id = f.reply_id \
                     WHERE f.organisation_id = $1 AND f.seq > $2 \
                     ORDER BY f.seq LIMIT $3",
                )
                .bind(organisation_id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_shared_api_key_store;
