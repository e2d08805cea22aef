//! Configuration from `TIEDOKSI_*` environment variables, with embedded defaults that make
//! `make run` work on a fresh machine: SQLite under `data/`, the built-in simulator.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::secrets::DataKey;

#[derive(Debug, Clone)]
pub struct Config {
    /// `TIEDOKSI_ADDR`, default 127.0.0.1:3000. Port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// `TIEDOKSI_DATABASE_URL`: `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// `TIEDOKSI_PUBLIC_URL`: where users reach us; its scheme decides `Secure` cookies and
    /// its origin is the one same-origin checks accept besides the request's own host.
    pub public_url: Option<String>,
    /// `TIEDOKSI_ADMIN_PASSWORD`: the first admin's password; generated and printed if unset.
    pub admin_password: Option<SecretString>,
    /// `TIEDOKSI_SESSION_IDLE_MINUTES`, default 30.
    pub session_idle_timeout: Duration,
    /// `TIEDOKSI_SESSION_ABSOLUTE_HOURS`, default 12: a session ends this long after sign-in
    /// however active it is.
    pub session_absolute_lifetime: Duration,
    /// `TIEDOKSI_ALLOW_INSECURE_HTTP`: serve a non-loopback address without an `https://`
    /// public URL (labs only).
    pub allow_insecure_http: bool,
    /// `TIEDOKSI_SIMULATOR=1`: start the built-in simulator even on a non-loopback address.
    pub simulator: bool,
    /// `TIEDOKSI_ALLOW_TEST_IDENTITY_CODES`: identity codes with individual numbers 900–999
    /// (temporary and test codes) are sent as codes. On by default with the simulator; off
    /// against the real Suomi.fi, where they are treated as "no identity code".
    pub allow_test_identity_codes: bool,
    /// `TIEDOKSI_MAILBOX_CHECKS_PER_MINUTE`, default 200: identity codes one user may have
    /// checked for an active mailbox per minute, and so at most in one notice (the check is
    /// for sending, not for building a register).
    pub mailbox_checks_per_minute: u32,
    /// `TIEDOKSI_API_REQUESTS_PER_MINUTE` (600): requests one API key may make a minute;
    /// more get 429 with `Retry-After`.
    pub api_requests_per_minute: u32,
    /// `TIEDOKSI_BATCH_CHECK_LEASE_SECONDS` (120): how long a recipients file's check may go
    /// without writing a step before it counts as interrupted (a crash) and is cancelled.
    pub batch_check_lease: std::time::Duration,
    /// `TIEDOKSI_METRICS_ADDR`: where `GET /metrics` (Prometheus text) listens, apart from the
    /// public port; unset: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
    pub pdf: PdfConfig,
    pub login: LoginPolicy,
    /// `TIEDOKSI_TRUST_FORWARDED_FOR`: take the client address from `X-Forwarded-For` (only
    /// behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// `TIEDOKSI_LOG_FORMAT=json` for machine-readable logs.
    pub json_logs: bool,
    /// `LEPTOS_SITE_ROOT`: where the compiled front end (pkg/, fonts) is served from.
    pub site_root: String,
    pub suomifi: SuomiFiConfig,
    /// `TIEDOKSI_DATA_KEY`: base64 of 32 bytes sealing personal data at rest. Without it the
    /// key is read from (or, on first start, written to) `TIEDOKSI_DATA_KEY_FILE`.
    pub data_key: Option<DataKey>,
    /// `TIEDOKSI_DATA_KEY_FILE`, default `data/data.key`.
    pub data_key_file: String,
    /// `TIEDOKSI_DATA_KEY_PREVIOUS`: earlier keys (base64, comma-separated) whose values still
    /// open until `tiedoksi rotate-data-key` has re-sealed them under the current one.
    pub previous_data_keys: Vec<DataKey>,
    pub worker: WorkerConfig,
    pub posti: PostiConfig,
    pub receipt: crate::dates::ReceiptRules,
    /// A verifiable electronic notice unacknowledged this long is flagged (asiointilaki 18 §).
    pub acknowledgement_days: i64,
    /// Where documents are kept (content-addressed).
    pub blob_dir: String,
    /// `TIEDOKSI_BLOB_URL` (`s3://bucket/prefix`): documents in an S3-compatible object store
    /// instead of `blob_dir`, for several instances.
    pub blob_url: Option<String>,
    /// Credentials left at the simulator's demo values (names of the variables not set).
    pub demo_credentials: Vec<&'static str>,
    pub smtp: SmtpConfig,
    /// Single sign-on; on when `TIEDOKSI_OIDC_ISSUER` is set.
    pub oidc: Option<OidcConfig>,
}

/// Sign-in through the organisation's OpenID Connect provider (Entra ID, Keycloak, …).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `TIEDOKSI_OIDC_ISSUER`: discovery is read from `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// `TIEDOKSI_OIDC_CLIENT_ID` / `TIEDOKSI_OIDC_CLIENT_SECRET`.
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// `TIEDOKSI_OIDC_ROLE_CLAIM` (default `roles`): values `tiedoksi-admin`,
    /// `tiedoksi-caseworker`, `tiedoksi-auditor`.
    pub role_claim: String,
    /// `TIEDOKSI_OIDC_ORGANISATION`: the business ID or name of the one organisation every
    /// user of the provider belongs to.
    pub organisation: Option<String>,
    /// `TIEDOKSI_OIDC_ORGANISATION_CLAIM`: a claim holding the user's organisation's business ID.
    pub organisation_claim: Option<String>,
    /// `TIEDOKSI_OIDC_NAME` (default `Entra ID`): the sign-in page's "Sign in with …".
    pub provider_name: String,
}

/// The SMTP bridge: mail to `HETU@asiointitili.fi` from an organisation's mail server becomes
/// a notice.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `TIEDOKSI_SMTP_ADDR`: where the bridge listens; off when unset.
    pub addr: Option<SocketAddr>,
    /// `TIEDOKSI_SMTP_TLS_CERT` / `TIEDOKSI_SMTP_TLS_KEY`: PEM files for STARTTLS; without
    /// them a self-signed certificate is made at start.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// `TIEDOKSI_SMTP_HOSTNAME` (default `localhost`): the name in the greeting and the
    /// generated certificate.
    pub hostname: String,
    /// `TIEDOKSI_SMTP_MAX_MESSAGE_BYTES` (10 MiB): the SIZE advertised and enforced.
    pub max_message_bytes: usize,
    /// `TIEDOKSI_SMTP_MAX_RECIPIENTS` (100): recipients of one mail.
    pub max_recipients: usize,
    /// `TIEDOKSI_SMTP_RECIPIENT_DOMAINS` (comma-separated, default `asiointitili.fi`).
    pub recipient_domains: Vec<String>,
    /// `TIEDOKSI_SMTP_ALLOW_PLAINTEXT`: accept `MAIL` without STARTTLS from loopback clients.
    pub allow_plaintext_loopback: bool,
    /// `TIEDOKSI_SMTP_RELAY` (`host:port`): where the bridge's own mails (reports to senders)
    /// go; TLS is required on that hop. Unset: no mails are sent, outcomes stay listed.
    pub relay: Option<String>,
    /// `TIEDOKSI_SMTP_RELAY_CA`: a PEM certificate the relay's may chain to, besides the
    /// public roots (a private CA, or a lab's self-signed relay).
    pub relay_ca: Option<String>,
    /// `TIEDOKSI_SMTP_REPORTS_FROM` (default `mailer-daemon@<hostname>`): the From of reports.
    pub reports_from: String,
}

/// The child processes that read uploaded PDFs (`pdf_worker`).
#[derive(Debug, Clone)]
pub struct PdfConfig {
    /// `TIEDOKSI_PDF_WORKER`: the `tiedoksi` binary to run as `tiedoksi pdf-worker`; default
    /// the running binary.
    pub worker: Option<String>,
    /// `TIEDOKSI_PDF_MEMORY_MB` (1024): address space of one worker.
    pub memory_mb: u64,
    /// `TIEDOKSI_PDF_TIMEOUT_SECONDS` (30).
    pub timeout: Duration,
    /// `TIEDOKSI_PDF_WORKERS` (2): how many run at once.
    pub concurrency: usize,
}

/// The printing contract's Posti credentials, sent with every paper message.
#[derive(Debug, Clone)]
pub struct PostiConfig {
    pub username: String,
    pub password: SecretString,
    pub email: String,
    pub cost_pool: Option<String>,
}

/// The outbox worker's pace. Defaults suit production; tests shorten them.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `TIEDOKSI_WORKER_LEASE_SECONDS` (300): how long a claimed job stays with its worker.
    pub lease: Duration,
    /// `TIEDOKSI_RETRY_INITIAL_MS` (5 000) and `TIEDOKSI_RETRY_MAX_MS` (3 600 000).
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// `TIEDOKSI_RETRY_MAX_ATTEMPTS` (60): then the delivery needs attention.
    pub max_attempts: u32,
    /// `TIEDOKSI_WORKER_IDLE_MS` (500): pause when the queue is empty.
    pub idle: Duration,
    /// `TIEDOKSI_WORKER_CONCURRENCY` (32): jobs one worker runs at once while nobody is
    /// using the server.
    pub concurrency: usize,
    /// `TIEDOKSI_WORKER_CONCURRENCY_BESIDE_USERS` (8): jobs it runs at once while people are
    /// (a request in flight or within the last second), so composing stays quick.
    pub concurrency_beside_users: usize,
    /// `TIEDOKSI_EVENTS_POLL_SECONDS` (5): how often the Suomi.fi events feed is read.
    pub events_interval: Duration,
}

/// How we reach Suomi.fi Messages. Without `TIEDOKSI_SUOMIFI_URL` the built-in simulator
/// starts in-process and the defaults are its credentials.
#[derive(Debug, Clone)]
pub struct SuomiFiConfig {
    /// `TIEDOKSI_SUOMIFI_URL`: QA `https://api.messages-qa.suomi.fi`, production
    /// `https://api.messages.suomi.fi`.
    pub url: Option<String>,
    /// `TIEDOKSI_SUOMIFI_USERNAME` (default `sim-user`).
    pub username: String,
    /// `TIEDOKSI_SUOMIFI_PASSWORD` (default `sim-password`).
    pub password: SecretString,
    /// `TIEDOKSI_SUOMIFI_SERVICE_ID` (default `sim-service`).
    pub service_id: String,
    /// `TIEDOKSI_SUOMIFI_TIMEOUT_SECONDS` (default 30): one request's whole time limit.
    pub timeout: Duration,
    /// `TIEDOKSI_SUOMIFI_REQUESTS_PER_SECOND` (default 20, 0 = no cap): our own politeness.
    pub requests_per_second: u32,
}

/// Throttling of password guessing. Day-to-day values are config, not constants.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// `TIEDOKSI_LOGIN_LOCK_AFTER`: consecutive failures that lock an account (default 5).
    pub lock_after_failures: i32,
    /// `TIEDOKSI_LOGIN_LOCK_MINUTES`: how long the lock lasts (default 15).
    pub lock_duration: time::Duration,
    /// `TIEDOKSI_LOGIN_IP_LIMIT`: failures from one address in the window before refusing
    /// every attempt from it (default 20).
    pub max_failures_per_ip: i64,
    /// `TIEDOKSI_LOGIN_IP_WINDOW_MINUTES` (default 15).
    pub ip_window: time::Duration,
    /// `TIEDOKSI_LOGIN_CONCURRENT_CHECKS` (default 4): password checks running at once; more
    /// sign-ins wait briefly, then get 503 with `Retry-After`.
    pub concurrent_checks: usize,
    /// `TIEDOKSI_LOGIN_CHECK_WAIT_MS` (2000): how long a sign-in waits for a free check.
    pub check_wait: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    reason: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads from any lookup, so tests can configure without touching the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let parse = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(value) => value.trim().parse().map_err(|_| ConfigError {
                    name,
                    reason: format!("expected a whole number, got {value:?}"),
                }),
            }
        };
        let flag = |name: &str| {
            get(name).is_some_and(|value| matches!(value.trim(), "1" | "true" | "yes" | "on"))
        };

        let oidc = match get("TIEDOKSI_OIDC_ISSUER") {
            None => None,
            Some(issuer) => Some(OidcConfig {
                issuer: issuer.trim().to_string(),
                client_id: get("TIEDOKSI_OIDC_CLIENT_ID").ok_or(ConfigError {
                    name: "TIEDOKSI_OIDC_CLIENT_ID",
                    reason: "required with TIEDOKSI_OIDC_ISSUER".into(),
                })?,
                client_secret: get("TIEDOKSI_OIDC_CLIENT_SECRET").map(SecretString::from),
                role_claim: get("TIEDOKSI_OIDC_ROLE_CLAIM").unwrap_or_else(|| "roles".into()),
                organisation: get("TIEDOKSI_OIDC_ORGANISATION"),
                organisation_claim: get("TIEDOKSI_OIDC_ORGANISATION_CLAIM"),
                provider_name: get("TIEDOKSI_OIDC_NAME").unwrap_or_else(|| "Entra ID".into()),
            }),
        };
        if let Some(oidc) = &oidc {
            if oidc.organisation.is_none() && oidc.organisation_claim.is_none() {
                return Err(ConfigError {
                    name: "TIEDOKSI_OIDC_ORGANISATION",
                    reason:
                        "set it, or TIEDOKSI_OIDC_ORGANISATION_CLAIM, to say whose users sign in"
                            .into(),
                });
            }
        }

        let addr = get("TIEDOKSI_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".to_string())
            .parse()
            .map_err(|e| ConfigError {
                name: "TIEDOKSI_ADDR",
                reason: format!("{e}"),
            })?;

        Ok(Config {
            oidc,
            addr,
            database_url: get("TIEDOKSI_DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/tiedoksi.db".to_string()),
            public_url: get("TIEDOKSI_PUBLIC_URL").map(|url| url.trim_end_matches('/').to_string()),
            admin_password: get("TIEDOKSI_ADMIN_PASSWORD").map(SecretString::from),
            session_idle_timeout: Duration::from_secs(
                60 * parse("TIEDOKSI_SESSION_IDLE_MINUTES", 30)?.max(1) as u64,
            ),
            session_absolute_lifetime: Duration::from_secs(
                3600 * parse("TIEDOKSI_SESSION_ABSOLUTE_HOURS", 12)?.max(1) as u64,
            ),
            allow_insecure_http: flag("TIEDOKSI_ALLOW_INSECURE_HTTP"),
            simulator: flag("TIEDOKSI_SIMULATOR"),
            allow_test_identity_codes: match get("TIEDOKSI_ALLOW_TEST_IDENTITY_CODES") {
                Some(_) => flag("TIEDOKSI_ALLOW_TEST_IDENTITY_CODES"),
                None => get("TIEDOKSI_SUOMIFI_URL").is_none(),
            },
            mailbox_checks_per_minute: parse("TIEDOKSI_MAILBOX_CHECKS_PER_MINUTE", 200)?
                .clamp(1, 100_000) as u32,
            api_requests_per_minute: parse("TIEDOKSI_API_REQUESTS_PER_MINUTE", 600)?
                .clamp(1, 1_000_000) as u32,
            batch_check_lease: std::time::Duration::from_secs(
                parse("TIEDOKSI_BATCH_CHECK_LEASE_SECONDS", 120)?.clamp(1, 86_400) as u64,
            ),
            metrics_addr: match get("TIEDOKSI_METRICS_ADDR") {
                Some(addr) => Some(addr.parse().map_err(|e| ConfigError {
                    name: "TIEDOKSI_METRICS_ADDR",
                    reason: format!("{e}"),
                })?),
                None => None,
            },
            pdf: PdfConfig {
                worker: get("TIEDOKSI_PDF_WORKER"),
                memory_mb: parse("TIEDOKSI_PDF_MEMORY_MB", 1024)?.clamp(256, 65_536) as u64,
                timeout: Duration::from_secs(
                    parse("TIEDOKSI_PDF_TIMEOUT_SECONDS", 30)?.clamp(1, 600) as u64,
                ),
                concurrency: parse("TIEDOKSI_PDF_WORKERS", 2)?.clamp(1, 64) as usize,
            },
            login: LoginPolicy {
                lock_after_failures: parse("TIEDOKSI_LOGIN_LOCK_AFTER", 5)?.max(1) as i32,
                lock_duration: time::Duration::minutes(parse("TIEDOKSI_LOGIN_LOCK_MINUTES", 15)?),
                max_failures_per_ip: parse("TIEDOKSI_LOGIN_IP_LIMIT", 20)?.max(1),
                ip_window: time::Duration::minutes(parse("TIEDOKSI_LOGIN_IP_WINDOW_MINUTES", 15)?),
                concurrent_checks: parse("TIEDOKSI_LOGIN_CONCURRENT_CHECKS", 4)?.clamp(1, 256)
                    as usize,
                check_wait: Duration::from_millis(
                    parse("TIEDOKSI_LOGIN_CHECK_WAIT_MS", 2000)?.clamp(0, 60_000) as u64,
                ),
            },
            trust_forwarded_for: flag("TIEDOKSI_TRUST_FORWARDED_FOR"),
            json_logs: get("TIEDOKSI_LOG_FORMAT").is_some_and(|format| format == "json"),
            site_root: get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_string()),
            demo_credentials: [
                "TIEDOKSI_SUOMIFI_USERNAME",
                "TIEDOKSI_SUOMIFI_PASSWORD",
                "TIEDOKSI_SUOMIFI_SERVICE_ID",
                "TIEDOKSI_POSTI_USERNAME",
                "TIEDOKSI_POSTI_PASSWORD",
            ]
            .into_iter()
            .filter(|name| get(name).is_none())
            .collect(),
            suomifi: SuomiFiConfig {
                url: get("TIEDOKSI_SUOMIFI_URL").map(|url| url.trim_end_matches('/').to_string()),
                username: get("TIEDOKSI_SUOMIFI_USERNAME").unwrap_or_else(|| "sim-user".into()),
                password: SecretString::from(
                    get("TIEDOKSI_SUOMIFI_PASSWORD").unwrap_or_else(|| "sim-password".into()),
                ),
                service_id: get("TIEDOKSI_SUOMIFI_SERVICE_ID")
                    .unwrap_or_else(|| "sim-service".into()),
                timeout: Duration::from_secs(
                    parse("TIEDOKSI_SUOMIFI_TIMEOUT_SECONDS", 30)?.max(1) as u64
                ),
                requests_per_second: parse("TIEDOKSI_SUOMIFI_REQUESTS_PER_SECOND", 20)?
                    .clamp(0, 10_000) as u32,
            },
            data_key: get("TIEDOKSI_DATA_KEY")
                .map(|key| DataKey::from_base64(&key))
                .transpose()
                .map_err(|e| ConfigError {
                    name: "TIEDOKSI_DATA_KEY",
                    reason: e.to_string(),
                })?,
            data_key_file: get("TIEDOKSI_DATA_KEY_FILE").unwrap_or_else(|| "data/data.key".into()),
            previous_data_keys: get("TIEDOKSI_DATA_KEY_PREVIOUS")
                .map(|keys| {
                    keys.split(',')
                        .filter(|key| !key.trim().is_empty())
                        .map(DataKey::from_base64)
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .map_err(|e| ConfigError {
                    name: "TIEDOKSI_DATA_KEY_PREVIOUS",
                    reason: e.to_string(),
                })?
                .unwrap_or_default(),
            worker: WorkerConfig {
                lease: Duration::from_secs(
                    parse("TIEDOKSI_WORKER_LEASE_SECONDS", 300)?.max(1) as u64
                ),
                retry_initial: Duration::from_millis(
                    parse("TIEDOKSI_RETRY_INITIAL_MS", 5_000)?.max(1) as u64,
                ),
                retry_max: Duration::from_millis(
                    parse("TIEDOKSI_RETRY_MAX_MS", 3_600_000)?.max(1) as u64
                ),
                max_attempts: parse("TIEDOKSI_RETRY_MAX_ATTEMPTS", 60)?.clamp(1, 10_000) as u32,
                idle: Duration::from_millis(parse("TIEDOKSI_WORKER_IDLE_MS", 500)?.max(10) as u64),
                concurrency: parse("TIEDOKSI_WORKER_CONCURRENCY", 32)?.clamp(1, 256) as usize,
                concurrency_beside_users: parse("TIEDOKSI_WORKER_CONCURRENCY_BESIDE_USERS", 8)?
                    .clamp(1, 256) as usize,
                events_interval: Duration::from_secs(
                    parse("TIEDOKSI_EVENTS_POLL_SECONDS", 5)?.max(1) as u64,
                ),
            },
            // The simulator's defaults; DVV's schema wants a 6-character user and 4-character
            // password.
            posti: PostiConfig {
                username: get("TIEDOKSI_POSTI_USERNAME").unwrap_or_else(|| "tiedok".into()),
                password: SecretString::from(
                    get("TIEDOKSI_POSTI_PASSWORD").unwrap_or_else(|| "demo".into()),
                ),
                email: get("TIEDOKSI_POSTI_EMAIL").unwrap_or_else(|| "posti@tiedoksi.local".into()),
                cost_pool: get("TIEDOKSI_POSTI_COST_POOL"),
            },
            receipt: crate::dates::ReceiptRules {
                electronic_days: parse("TIEDOKSI_RECEIPT_ELECTRONIC_DAYS", 3)?.clamp(0, 60),
                paper_days: parse("TIEDOKSI_RECEIPT_PAPER_DAYS", 7)?.clamp(0, 60),
                print_lag_days: parse("TIEDOKSI_PRINT_LAG_DAYS", 0)?.clamp(0, 30),
            },
            acknowledgement_days: parse("TIEDOKSI_ACKNOWLEDGEMENT_DAYS", 7)?.clamp(1, 60),
            blob_dir: get("TIEDOKSI_BLOB_DIR").unwrap_or_else(|| "data/blobs".into()),
            blob_url: get("TIEDOKSI_BLOB_URL").filter(|url| !url.trim().is_empty()),
            smtp: SmtpConfig {
                addr: get("TIEDOKSI_SMTP_ADDR")
                    .map(|addr| addr.trim().parse())
                    .transpose()
                    .map_err(|e| ConfigError {
                        name: "TIEDOKSI_SMTP_ADDR",
                        reason: format!("{e}"),
                    })?,
                tls_cert: get("TIEDOKSI_SMTP_TLS_CERT"),
                tls_key: get("TIEDOKSI_SMTP_TLS_KEY"),
                hostname: get("TIEDOKSI_SMTP_HOSTNAME").unwrap_or_else(|| "localhost".into()),
                max_message_bytes: parse("TIEDOKSI_SMTP_MAX_MESSAGE_BYTES", 10 * 1024 * 1024)?
                    .clamp(1024, 1 << 30) as usize,
                max_recipients: parse("TIEDOKSI_SMTP_MAX_RECIPIENTS", 100)?.clamp(1, 100) as usize,
                recipient_domains: get("TIEDOKSI_SMTP_RECIPIENT_DOMAINS")
                    .unwrap_or_else(|| "asiointitili.fi".into())
                    .split(',')
                    .map(|domain| domain.trim().to_lowercase())
                    .filter(|domain| !domain.is_empty())
                    .collect(),
                allow_plaintext_loopback: flag("TIEDOKSI_SMTP_ALLOW_PLAINTEXT"),
                relay: get("TIEDOKSI_SMTP_RELAY"),
                relay_ca: get("TIEDOKSI_SMTP_RELAY_CA"),
                reports_from: get("TIEDOKSI_SMTP_REPORTS_FROM").unwrap_or_else(|| {
                    format!(
                        "mailer-daemon@{}",
                        get("TIEDOKSI_SMTP_HOSTNAME").unwrap_or_else(|| "localhost".into())
                    )
                }),
            },
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// Whether the built-in simulator stands in for Suomi.fi.
    pub fn uses_simulator(&self) -> bool {
        self.suomifi.url.is_none()
    }

    /// Refuses configurations that would be unsafe in production: the simulator (with its
    /// demo credentials) reachable from the network, a real Suomi.fi with demo credentials,
    /// or plain http on a non-loopback address.
    pub fn check_safety(&self) -> Result<(), ConfigError> {
        let loopback = self.addr.ip().is_loopback();
        if self.suomifi.url.is_some() && self.simulator {
            return Err(ConfigError {
                name: "TIEDOKSI_SIMULATOR",
                reason: "set together with TIEDOKSI_SUOMIFI_URL; choose one".into(),
            });
        }
        if self.uses_simulator() && !loopback && !self.simulator {
            return Err(ConfigError {
                name: "TIEDOKSI_SUOMIFI_URL",
                reason: format!(
                    "not set, and {} is not a loopback address: the built-in Suomi.fi simulator \
                     and its demo credentials start only on a loopback address. Set \
                     TIEDOKSI_SUOMIFI_URL and the service's credentials for production, or \
                     TIEDOKSI_SIMULATOR=1 for a lab",
                    self.addr
                ),
            });
        }
        if !self.uses_simulator() {
            if let Some(name) = self.demo_credentials.first() {
                return Err(ConfigError {
                    name,
                    reason: "must be set when TIEDOKSI_SUOMIFI_URL is: the demo credentials \
                             are only for the built-in simulator"
                        .into(),
                });
            }
        }
        if !loopback && !self.secure_cookies() && !self.allow_insecure_http {
            return Err(ConfigError {
                name: "TIEDOKSI_PUBLIC_URL",
                reason: format!(
                    "must be an https:// URL when listening on {} (not a loopback address): \
                     sessions and personal data must not travel over plain http. Put Tiedoksi \
                     behind a TLS proxy and set its https:// URL, or set \
                     TIEDOKSI_ALLOW_INSECURE_HTTP=1 for a lab",
                    self.addr
                ),
            });
        }
        if self.smtp.tls_cert.is_some() != self.smtp.tls_key.is_some() {
            return Err(ConfigError {
                name: "TIEDOKSI_SMTP_TLS_CERT",
                reason: "set together with TIEDOKSI_SMTP_TLS_KEY (or neither, for a \
                         self-signed certificate)"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_run_on_sqlite_at_port_3000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/tiedoksi.db");
        assert!(!config.secure_cookies());
        assert_eq!(config.login.lock_after_failures, 5);
        assert_eq!(config.suomifi.url, None, "the built-in simulator");
        assert_eq!(config.suomifi.service_id, "sim-service");
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let config = config(&[("TIEDOKSI_PUBLIC_URL", "https://tiedoksi.example.fi/")]).unwrap();
        assert!(config.secure_cookies());
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://tiedoksi.example.fi")
        );
    }

    #[test]
    fn the_simulator_and_plain_http_stay_on_loopback() {
        assert!(config(&[]).unwrap().check_safety().is_ok());
        let public = config(&[("TIEDOKSI_ADDR", "0.0.0.0:3000")]).unwrap();
        let error = public.check_safety().unwrap_err().to_string();
        assert!(error.contains("TIEDOKSI_SUOMIFI_URL"), "{error}");

        let lab = config(&[
            ("TIEDOKSI_ADDR", "0.0.0.0:3000"),
            ("TIEDOKSI_SIMULATOR", "1"),
        ])
        .unwrap();
        let error = lab.check_safety().unwrap_err().to_string();
        assert!(error.contains("https://"), "{error}");
        let insecure_lab = config(&[
            ("TIEDOKSI_ADDR", "0.0.0.0:3000"),
            ("TIEDOKSI_SIMULATOR", "1"),
            ("TIEDOKSI_ALLOW_INSECURE_HTTP", "1"),
        ])
        .unwrap();
        assert!(insecure_lab.check_safety().is_ok());
        assert!(insecure_lab.allow_test_identity_codes);
    }

    #[test]
    fn a_real_suomifi_needs_real_credentials_and_https() {
        let real = [
            ("TIEDOKSI_ADDR", "0.0.0.0:3000"),
            ("TIEDOKSI_SUOMIFI_URL", "https://api.messages-qa.suomi.fi"),
            ("TIEDOKSI_PUBLIC_URL", "https://tiedoksi.example.fi"),
        ];
        let error = config(&real)
            .unwrap()
            .check_safety()
            .unwrap_err()
            .to_string();
        assert!(error.contains("TIEDOKSI_SUOMIFI_USERNAME"), "{error}");
        let mut complete = real.to_vec();
        complete.extend([
            ("TIEDOKSI_SUOMIFI_USERNAME", "user"),
            ("TIEDOKSI_SUOMIFI_PASSWORD", "secret"),
            ("TIEDOKSI_SUOMIFI_SERVICE_ID", "service"),
            ("TIEDOKSI_POSTI_USERNAME", "abcdef"),
            ("TIEDOKSI_POSTI_PASSWORD", "abcd"),
        ]);
        let production = config(&complete).unwrap();
        assert!(production.check_safety().is_ok());
        assert!(
            !production.allow_test_identity_codes,
            "test codes are not real persons against the real Suomi.fi"
        );
        let both = [
            ("TIEDOKSI_SUOMIFI_URL", "https://api.messages-qa.suomi.fi"),
            ("TIEDOKSI_SIMULATOR", "1"),
        ];
        assert!(config(&both).unwrap().check_safety().is_err());
    }

    #[test]
    fn a_bad_number_names_the_variable() {
        let error = config(&[("TIEDOKSI_LOGIN_LOCK_AFTER", "five")]).unwrap_err();
        assert!(error.to_string().contains("TIEDOKSI_LOGIN_LOCK_AFTER"));
    }
}
