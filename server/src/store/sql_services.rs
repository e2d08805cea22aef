//! The SQL of Suomi.fi services, shared by both backends like `sql.rs`.

pub(crate) const SERVICE_COLUMNS: &str = "id, organisation_id, name, service_id, username, \
     password_sealed, pending_password_sealed, password_changed_at, posti_username, \
     posti_password_sealed, posti_email, cost_pool, is_default, last_check_at, last_check_ok, \
     last_check_message, created_at, updated_at";

macro_rules! impl_shared_service_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SuomiFiServiceStore for $store {
            async fn create_service(
                &self,
                service: &$crate::store::SuomiFiServiceRow,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                if service.is_default {
                    sqlx::query(
                        "UPDATE suomifi_services SET is_default = FALSE \
                         WHERE organisation_id = $1 AND is_default",
                    )
                    .bind(service.organisation_id)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(&format!(
                    "INSERT INTO suomifi_services ({}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                     $17, $18)",
                    $crate::store::sql_services::SERVICE_COLUMNS
                ))
                .bind(service.id)
                .bind(service.organisation_id)
                .bind(&service.name)
                .bind(&service.service_id)
                .bind(&service.username)
                .bind(&service.password_sealed)
                .bind(&service.pending_password_sealed)
                .bind(service.password_changed_at)
                .bind(&service.posti_username)
                .bind(&service.posti_password_sealed)
                .bind(&service.posti_email)
                .bind(&service.cost_pool)
                .bind(service.is_default)
                .bind(service.last_check_at)
                .bind(service.last_check_ok)
                .bind(&service.last_check_message)
                .bind(service.created_at)
                .bind(service.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::on_unique_violation(e, "Suomi.fi service id"))?;
                tx.commit().await?;
                Ok(())
            }

            async fn update_service(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
                changes: &$crate::store::ServiceChanges,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                if changes.is_default {
                    sqlx::query(
                        "UPDATE suomifi_services SET is_default = FALSE \
                         WHERE organisation_id = $1 AND is_default AND id <> $2",
                    )
                    .bind(organisation_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                // A new password is a change like a rotation's; a pending one is void then.
                let done = sqlx::query(
                    "UPDATE suomifi_services SET name = $3, username = $4, \
                     password_sealed = COALESCE($5, password_sealed), \
                     pending_password_sealed = CASE WHEN $5 IS NULL \
                        THEN pending_password_sealed ELSE NULL END, \
                     password_changed_at = CASE WHEN $5 IS NULL \
                        THEN password_changed_at ELSE $10 END, \
                     posti_username = $6, \
                     posti_password_sealed = COALESCE($7, posti_password_sealed), \
                     posti_email = $8, cost_pool = $9, \
                     is_default = (is_default OR $11), updated_at = $10 \
                     WHERE organisation_id = $1 AND id = $2",
                )
                .bind(organisation_id)
                .bind(id)
                .bind(&changes.name)
                .bind(&changes.username)
                .bind(&changes.password_sealed)
                .bind(&changes.posti_username)
                .bind(&changes.posti_password_sealed)
                .bind(&changes.posti_email)
                .bind(&changes.cost_pool)
                .bind(at)
                .bind(changes.is_default)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(done)
            }

            async fn services(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SuomiFiServiceRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM suomifi_services WHERE organisation_id = $1 \
                     ORDER BY is_default DESC, name, id",
                    $crate::store::sql_services::SERVICE_COLUMNS
                ))
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn all_services(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SuomiFiServiceRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM suomifi_services ORDER BY created_at, id",
                    $crate::store::sql_services::SERVICE_COLUMNS
                ))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn service(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::SuomiFiServiceRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM suomifi_services WHERE organisation_id = $1 AND id = $2",
                    $crate::store::sql_services::SERVICE_COLUMNS
                ))
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn service_by_service_id(
                &self,
                service_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::SuomiFiServiceRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM suomifi_services WHERE service_id = $1",
                    $crate::store::sql_services::SERVICE_COLUMNS
                ))
                .bind(service_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn begin_password_change(
                &self,
                id: uuid::Uuid,
                current_sealed: &[u8],
                pending_sealed: &[u8],
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE suomifi_services SET pending_password_sealed = $2 \
                     WHERE id = $1 AND pending_password_sealed IS NULL \
                     AND password_sealed = $3",
                )
                .bind(id)
                .bind(pending_sealed)
                .bind(current_sealed)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn complete_password_change(
                &self,
                id: uuid::Uuid,
                new_sealed: &[u8],
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE suomifi_services SET password_sealed = $2, \
                     pending_password_sealed = NULL, password_changed_at = $3, updated_at = $3 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(new_sealed)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn abandon_password_change(
                &self,
                id: uuid::Uuid,
                pending_sealed: &[u8],
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE suomifi_services SET pending_password_sealed = NULL \
                     WHERE id = $1 AND pending_password_sealed = $2",
                )
                .bind(id)
                .bind(pending_sealed)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn record_service_check(
                &self,
                id: uuid::Uuid,
                check: &$crate::store::ServiceCheck,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE suomifi_services SET last_check_at = $2, last_check_ok = $3, \
                     last_check_message = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(check.at)
                .bind(check.ok)
                .bind(&check.message)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn reseal_service(
                &self,
                before: &$crate::store::SuomiFiServiceRow,
                password_sealed: &[u8],
                pending_sealed: Option<&[u8]>,
                posti_sealed: Option<&[u8]>,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE suomifi_services SET password_sealed = $5, \
                     pending_password_sealed = $6, posti_password_sealed = $7 \
                     WHERE id = $1 AND password_sealed = $2 \
                     AND pending_password_sealed IS NOT DISTINCT FROM $3 \
                     AND posti_password_sealed IS NOT DISTINCT FROM $4",
                )
                .bind(before.id)
                .bind(&before.password_sealed)
                .bind(&before.pending_password_sealed)
                .bind(&before.posti_password_sealed)
                .bind(password_sealed)
                .bind(pending_sealed)
                .bind(posti_sealed)
                .execute(&self.writer)
                .await?
                .rows_affected()
                    == 1)
            }
        }
    };
}

pub(crate) use impl_shared_service_store;
