//! Password sign-in with per-account lockout and per-address throttling, every attempt audited.

use std::sync::Arc;

use app::auth::SessionUser;
use app::error::{AppError, LoginRefusal};
use serde_json::json;

use super::password::verify_password;
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::config::LoginPolicy;
use crate::store::{Store, Timestamp, User};

#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    audit: Audit,
    policy: LoginPolicy,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, policy: LoginPolicy) -> Self {
        let audit = Audit::new(store.clone());
        Self {
            store,
            audit,
            policy,
        }
    }

    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<SessionUser, AppError> {
        let now = Timestamp::now();
        let email = email.trim().to_lowercase();

        let recent_failures = self
            .store
            .failed_login_attempts_since(client_ip, now - self.policy.ip_window)
            .await
            .map_err(AppError::internal)?;
        if recent_failures >= self.policy.max_failures_per_ip {
            self.audit_attempt(
                AuditEntry::new(AuditAction::LoginThrottled),
                &email,
                None,
                client_ip,
            )
            .await?;
            return Err(AppError::LoginRefused(
                LoginRefusal::TooManyAttemptsFromAddress,
            ));
        }

        let user = self
            .store
            .user_by_email(&email)
            .await
            .map_err(AppError::internal)?;
        let Some(user) = user else {
            verify_password(password.to_owned(), None).await;
            self.fail(
                AuditEntry::new(AuditAction::LoginFailed),
                &email,
                None,
                client_ip,
                now,
            )
            .await?;
            return Err(AppError::LoginRefused(LoginRefusal::InvalidCredentials));
        };

        if user.locked_until.is_some_and(|until| until > now) {
            let entry = AuditEntry::new(AuditAction::LoginRefusedLocked);
            self.fail(entry, &email, Some(&user), client_ip, now)
                .await?;
            return Err(AppError::LoginRefused(LoginRefusal::AccountLocked));
        }

        if !verify_password(password.to_owned(), Some(user.password_hash.clone())).await {
            return Err(self.wrong_password(&user, client_ip, now).await?);
        }

        if !user.active {
            let entry = AuditEntry::new(AuditAction::LoginFailed)
                .details(json!({ "reason": "account_disabled" }));
            self.fail(entry, &email, Some(&user), client_ip, now)
                .await?;
            return Err(AppError::LoginRefused(LoginRefusal::InvalidCredentials));
        }

        self.succeed(user, client_ip, now).await
    }

    async fn wrong_password(
        &self,
        user: &User,
        client_ip: &str,
        now: Timestamp,
    ) -> Result<AppError, AppError> {
        let updated = self
            .store
            .record_failed_login(
                user.id,
                self.policy.lock_after_failures,
                now + self.policy.lock_duration,
                now,
            )
            .await
            .map_err(AppError::internal)?;
        let entry = AuditEntry::new(AuditAction::LoginFailed)
            .details(json!({ "reason": "wrong_password", "consecutive_failures": updated.failed_login_count }));
        self.fail(entry, &user.email, Some(user), client_ip, now)
            .await?;

        let locked_now = updated.locked_until.is_some_and(|until| until > now);
        if locked_now {
            let entry = AuditEntry::new(AuditAction::AccountLocked)
                .subject("user", user.id)
                .details(
                    json!({ "locked_until": updated.locked_until.map(Timestamp::to_rfc3339) }),
                );
            self.audit_attempt(entry, &user.email, Some(user), client_ip)
                .await?;
            Ok(AppError::LoginRefused(LoginRefusal::AccountLocked))
        } else {
            Ok(AppError::LoginRefused(LoginRefusal::InvalidCredentials))
        }
    }

    async fn succeed(
        &self,
        user: User,
        client_ip: &str,
        now: Timestamp,
    ) -> Result<SessionUser, AppError> {
        let organisation = self
            .store
            .organisation(user.organisation_id)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::internal("user without organisation"))?;
        self.store
            .record_successful_login(user.id, now)
            .await
            .map_err(AppError::internal)?;
        self.store
            .record_login_attempt(client_ip, true, now)
            .await
            .map_err(AppError::internal)?;
        let entry = AuditEntry::new(AuditAction::LoginSucceeded);
        self.audit_attempt(entry, &user.email, Some(&user), client_ip)
            .await?;
        Ok(user.into_session_user(organisation))
    }

    async fn fail(
        &self,
        entry: AuditEntry,
        email: &str,
        user: Option<&User>,
        client_ip: &str,
        now: Timestamp,
    ) -> Result<(), AppError> {
        self.store
            .record_login_attempt(client_ip, false, now)
            .await
            .map_err(AppError::internal)?;
        self.audit_attempt(entry, email, user, client_ip).await
    }

    async fn audit_attempt(
        &self,
        entry: AuditEntry,
        email: &str,
        user: Option<&User>,
        client_ip: &str,
    ) -> Result<(), AppError> {
        let entry = match user {
            Some(user) => entry
                .organisation(user.organisation_id)
                .actor(user.id, email),
            None => entry.actor_label(attempted_account_label(email)),
        };
        self.audit
            .record(entry.client_ip(client_ip))
            .await
            .map_err(AppError::internal)
    }

    pub async fn signed_out(&self, user: &SessionUser, client_ip: &str) {
        let entry = AuditEntry::new(AuditAction::Logout)
            .organisation(user.organisation_id)
            .actor(user.id, &user.email)
            .client_ip(client_ip);
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit a sign-out");
        }
    }
}

/// What the audit log keeps of an attempt with an unknown account: the address if it looks
/// like one, otherwise nothing of it — people paste passwords into the e-mail field.
fn attempted_account_label(input: &str) -> String {
    let looks_like_address = input.len() <= 254
        && input.contains('@')
        && !input.chars().any(|c| c.is_whitespace() || c.is_control());
    if looks_like_address {
        input.to_string()
    } else {
        "(not an e-mail address)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::attempted_account_label;

    #[test]
    fn only_address_like_input_reaches_the_audit_log() {
        assert_eq!(
            attempted_account_label("someone@example.fi"),
            "someone@example.fi"
        );
        assert_eq!(
            attempted_account_label("Salasana123!"),
            "(not an e-mail address)"
        );
        assert_eq!(attempted_account_label("a b@c"), "(not an e-mail address)");
    }
}
