//! Password sign-in with per-account lockout and per-address throttling, every attempt audited.
//!
//! A burst of parallel guesses must not get past the limits: each attempt is counted before
//! its password is checked (the address's failures, the account's failures), and an attempt
//! that finds the limit reached by others is refused unchecked. The password checks
//! themselves (argon2, deliberately costly) run a few at a time; when all are busy a sign-in
//! waits briefly and is then refused with 503 and `Retry-After`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::auth::SessionUser;
use app::error::{AppError, LoginRefusal};
use serde_json::json;

use super::password::verify_password;
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::config::LoginPolicy;
use crate::store::{Store, Timestamp, User};

/// What `Retry-After` tells a refused sign-in.
const RETRY_AFTER_SECONDS: u32 = 2;

#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    audit: Audit,
    policy: LoginPolicy,
    checks: Arc<tokio::sync::Semaphore>,
    /// Passwords checked since start (the cost a burst managed to cause).
    verified: Arc<AtomicU64>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, policy: LoginPolicy) -> Self {
        let audit = Audit::new(store.clone());
        let checks = Arc::new(tokio::sync::Semaphore::new(policy.concurrent_checks.max(1)));
        Self {
            store,
            audit,
            policy,
            checks,
            verified: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many passwords have been checked (argon2 run) since start.
    pub fn passwords_checked(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    async fn check_password(&self, password: &str, hash: Option<String>) -> bool {
        self.verified.fetch_add(1, Ordering::Relaxed);
        verify_password(password.to_owned(), hash).await
    }

    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<SessionUser, AppError> {
        let _permit =
            match tokio::time::timeout(self.policy.check_wait, self.checks.acquire()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    return Err(AppError::Unavailable {
                        retry_after_seconds: RETRY_AFTER_SECONDS,
                    })
                }
            };
        let now = Timestamp::now();
        let email = email.trim().to_lowercase();
        let client = throttling_key(client_ip);

        // Counted as failed first; turned into a success only once the password matched.
        let attempt = self
            .store
            .record_login_attempt(&client, false, now)
            .await
            .map_err(AppError::internal)?;
        let recent_failures = self
            .store
            .failed_login_attempts_since(&client, now - self.policy.ip_window)
            .await
            .map_err(AppError::internal)?;
        if recent_failures > self.policy.max_failures_per_ip {
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
            self.check_password(password, None).await;
            self.fail(
                AuditEntry::new(AuditAction::LoginFailed),
                &email,
                None,
                client_ip,
            )
            .await?;
            return Err(AppError::LoginRefused(LoginRefusal::InvalidCredentials));
        };

        if user.locked_until.is_some_and(|until| until > now) {
            let entry = AuditEntry::new(AuditAction::LoginRefusedLocked);
            self.fail(entry, &email, Some(&user), client_ip).await?;
            return Err(AppError::LoginRefused(LoginRefusal::AccountLocked));
        }

        // The failure is counted before the check: parallel guesses see each other's.
        let counted = self
            .store
            .record_failed_login(
                user.id,
                self.policy.lock_after_failures,
                now + self.policy.lock_duration,
                now,
            )
            .await
            .map_err(AppError::internal)?;
        if counted.failed_login_count > self.policy.lock_after_failures {
            let entry = AuditEntry::new(AuditAction::LoginRefusedLocked);
            self.fail(entry, &email, Some(&user), client_ip).await?;
            return Err(AppError::LoginRefused(LoginRefusal::AccountLocked));
        }

        if !self
            .check_password(password, Some(user.password_hash.clone()))
            .await
        {
            return Err(self.wrong_password(&user, &counted, client_ip, now).await?);
        }

        if !user.active {
            let entry = AuditEntry::new(AuditAction::LoginFailed)
                .details(json!({ "reason": "account_disabled" }));
            self.fail(entry, &email, Some(&user), client_ip).await?;
            return Err(AppError::LoginRefused(LoginRefusal::InvalidCredentials));
        }

        self.succeed(user, attempt, client_ip, now).await
    }

    async fn wrong_password(
        &self,
        user: &User,
        updated: &User,
        client_ip: &str,
        now: Timestamp,
    ) -> Result<AppError, AppError> {
        let entry = AuditEntry::new(AuditAction::LoginFailed)
            .details(json!({ "reason": "wrong_password", "consecutive_failures": updated.failed_login_count }));
        self.fail(entry, &user.email, Some(user), client_ip).await?;

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
        attempt: i64,
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
            .mark_login_attempt_succeeded(attempt)
            .await
            .map_err(AppError::internal)?;
        let entry = AuditEntry::new(AuditAction::LoginSucceeded);
        self.audit_attempt(entry, &user.email, Some(&user), client_ip)
            .await?;
        Ok(user.into_session_user(organisation))
    }

    /// The attempt is on record as failed already; this audits it.
    async fn fail(
        &self,
        entry: AuditEntry,
        email: &str,
        user: Option<&User>,
        client_ip: &str,
    ) -> Result<(), AppError> {
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

/// What sign-ins are throttled by: the address, and for IPv6 its /64 — one subscriber's
/// network, in which every address is theirs to use.
pub fn throttling_key(client_ip: &str) -> String {
    match client_ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let segments = v6.segments();
            let network = std::net::Ipv6Addr::new(
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            );
            format!("{network}/64")
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_else(|| client_ip.to_string()),
        _ => client_ip.to_string(),
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
    use super::{attempted_account_label, throttling_key};

    #[test]
    fn ipv6_addresses_are_throttled_per_64() {
        assert_eq!(throttling_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            throttling_key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(throttling_key("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(throttling_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(throttling_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(throttling_key("unknown"), "unknown");
    }

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
