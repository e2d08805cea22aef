//! The SQL of organisation admin, shared by both backends like `sql.rs`.

/// Keeps at least one active admin: true when the user is not one, or another one remains.
/// `$1` organisation, `$2` user.
pub(crate) const ANOTHER_ADMIN_REMAINS: &str = "(NOT EXISTS (SELECT 1 FROM users u \
     WHERE u.id = $2 AND u.role = 'admin' AND u.active = TRUE) \
     OR EXISTS (SELECT 1 FROM users o WHERE o.organisation_id = $1 AND o.id <> $2 \
     AND o.role = 'admin' AND o.active = TRUE))";

macro_rules! impl_shared_account_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AccountStore for $store {
            async fn create_oidc_attempt(
                &self,
                attempt: &$crate::store::OidcAttempt,
            ) -> $crate::store::StoreResult<()> {
                // Abandoned attempts go with each new one.
                sqlx::query("DELETE FROM oidc_attempts WHERE expires_at < $1")
                    .bind(attempt.created_at)
                    .execute(&self.writer)
                    .await?;
                sqlx::query(
                    "INSERT INTO oidc_attempts (state_sha256, binding_sha256, nonce, \
                     pkce_verifier, next_path, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&attempt.state_sha256)
                .bind(&attempt.binding_sha256)
                .bind(&attempt.nonce)
                .bind(&attempt.pkce_verifier)
                .bind(&attempt.next_path)
                .bind(attempt.created_at)
                .bind(attempt.expires_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn take_oidc_attempt(
                &self,
                state_sha256: &str,
                now: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<$crate::store::OidcAttempt>> {
                let taken: Option<$crate::store::OidcAttempt> = sqlx::query_as(
                    "DELETE FROM oidc_attempts WHERE state_sha256 = $1 RETURNING state_sha256, \
                     binding_sha256, nonce, pkce_verifier, next_path, created_at, expires_at",
                )
                .bind(state_sha256)
                .fetch_optional(&self.writer)
                .await?;
                Ok(taken.filter(|attempt| attempt.expires_at > now))
            }

            async fn user_by_oidc_subject(
                &self,
                subject: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row: Option<$crate::store::sql::UserRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM users WHERE oidc_subject = $1",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn link_oidc_subject(
                &self,
                user_id: uuid::Uuid,
                subject: &str,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE users SET oidc_subject = $2 WHERE id = $1 AND oidc_subject IS NULL",
                )
                .bind(user_id)
                .bind(subject)
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::store::on_unique_violation(e, "single sign-on subject"))?
                .rows_affected()
                    == 1)
            }

            async fn rename_organisation(
                &self,
                organisation_id: uuid::Uuid,
                name: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE organisations SET name = $2 WHERE id = $1")
                    .bind(organisation_id)
                    .bind(name)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn set_business_id(
                &self,
                organisation_id: uuid::Uuid,
                business_id: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE organisations SET business_id = $2 WHERE id = $1")
                    .bind(organisation_id)
                    .bind(business_id)
                    .execute(&self.writer)
                    .await
                    .map_err(|e| $crate::store::on_unique_violation(e, "business ID"))?;
                Ok(())
            }

            async fn business_id(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<String>> {
                Ok(
                    sqlx::query_scalar("SELECT business_id FROM organisations WHERE id = $1")
                        .bind(organisation_id)
                        .fetch_optional(&self.pool)
                        .await?
                        .flatten(),
                )
            }

            async fn organisation_by_business_id(
                &self,
                business_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::Organisation>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, created_at FROM organisations WHERE business_id = $1",
                )
                .bind(business_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn set_role(
                &self,
                organisation_id: uuid::Uuid,
                user_id: uuid::Uuid,
                role: app::auth::Role,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(&format!(
                    "UPDATE users SET role = $3 WHERE organisation_id = $1 AND id = $2 \
                     AND ($3 = 'admin' OR {})",
                    $crate::store::sql_accounts::ANOTHER_ADMIN_REMAINS
                ))
                .bind(organisation_id)
                .bind(user_id)
                .bind(role.as_str())
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_active(
                &self,
                organisation_id: uuid::Uuid,
                user_id: uuid::Uuid,
                active: bool,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(&format!(
                    "UPDATE users SET active = $3 WHERE organisation_id = $1 AND id = $2 \
                     AND ($3 = TRUE OR {})",
                    $crate::store::sql_accounts::ANOTHER_ADMIN_REMAINS
                ))
                .bind(organisation_id)
                .bind(user_id)
                .bind(active)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn unlock(
                &self,
                organisation_id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET failed_login_count = 0, locked_until = NULL \
                     WHERE organisation_id = $1 AND id = $2",
                )
                .bind(organisation_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_password_hash(
                &self,
                user_id: uuid::Uuid,
                hash: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET password_hash = $2, failed_login_count = 0, \
                     locked_until = NULL WHERE id = $1",
                )
                .bind(user_id)
                .bind(hash)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn create_password_link(
                &self,
                link: &$crate::store::PasswordLink,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "UPDATE password_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(link.user_id)
                .bind(link.created_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO password_links (token_sha256, user_id, purpose, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&link.token_sha256)
                .bind(link.user_id)
                .bind(link.purpose.as_str())
                .bind(link.created_at)
                .bind(link.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn password_link_user(
                &self,
                token_sha256: &str,
                now: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "SELECT user_id FROM password_links WHERE token_sha256 = $1 \
                     AND used_at IS NULL AND expires_at > $2",
                )
                .bind(token_sha256)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn use_password_link(
                &self,
                token_sha256: &str,
                now: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "UPDATE password_links SET used_at = $2 WHERE token_sha256 = $1 \
                     AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
                )
                .bind(token_sha256)
                .bind(now)
                .fetch_optional(&self.writer)
                .await?)
            }
        }
    };
}

pub(crate) use impl_shared_account_store;
