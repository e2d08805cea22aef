//! Our client of the Suomi.fi Messages REST API: one reqwest `Client`, a cached access
//! token, our side of every documented limit checked before sending, and errors classified
//! as retryable or fatal for the delivery worker.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};
use reqwest::{multipart, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::limits::{attachment_media_type, Limits};
use super::model::{
    ActiveMailboxesRequest, ActiveMailboxesResponse, AttachmentCreated, ChangePasswordRequest,
    CitizenMessage, ElectronicMessage, EndUser, ErrorBody, EventsPage, MessageCreated,
    MultichannelMessage, PaperMailWithoutId, TokenRequest, TokenResponse, MAILBOX_NOT_IN_USE,
};

/// Where and as whom we talk to Suomi.fi.
#[derive(Clone)]
pub struct SuomiFiSettings {
    /// QA `https://api.messages-qa.suomi.fi`, production `https://api.messages.suomi.fi`.
    pub base_url: String,
    pub username: String,
    pub password: SecretString,
    pub service_id: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub limits: Limits,
    /// Our own cap on requests a second (no published limit exists); `None` for none.
    pub requests_per_second: Option<u32>,
}

impl std::fmt::Debug for SuomiFiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuomiFiSettings")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("service_id", &self.service_id)
            .finish_non_exhaustive()
    }
}

impl SuomiFiSettings {
    pub fn new(base_url: &str, username: &str, password: &str, service_id: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: SecretString::from(password.to_string()),
            service_id: service_id.to_string(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            limits: Limits::default(),
            requests_per_second: None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SuomiFiError {
    /// Caught on our side before anything was sent.
    #[error("the request breaks the API's rules: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A 4xx: the request is wrong and sending it again will not help.
    #[error("Suomi.fi refused the request ({status}): {reason}")]
    Rejected {
        status: u16,
        reason: String,
        error_codes: Vec<String>,
        trace_id: Option<String>,
    },
    /// Electronic-only delivery to someone without an active mailbox.
    #[error("the recipient has no active Suomi.fi mailbox")]
    MailboxNotInUse { trace_id: Option<String> },
    /// Username or password refused (or the password has expired): an admin must act, and
    /// sends wait (retryable) until they have, rather than failing one by one.
    #[error("Suomi.fi refused our credentials: {reason}")]
    Authentication { reason: String },
    #[error("Suomi.fi asked us to slow down")]
    RateLimited {
        retry_after: Option<Duration>,
        trace_id: Option<String>,
    },
    #[error("Suomi.fi is unavailable ({status})")]
    Unavailable {
        status: u16,
        trace_id: Option<String>,
    },
    /// No answer: refused connection, timeout, broken transfer.
    #[error("no answer from Suomi.fi: {0}")]
    Transport(String),
    #[error("unexpected answer from Suomi.fi: {0}")]
    UnexpectedResponse(String),
}

impl SuomiFiError {
    /// Whether the same request may succeed later. Sends are idempotent by externalId, so
    /// retrying after an unknown outcome (timeout) is safe.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SuomiFiError::RateLimited { .. }
                | SuomiFiError::Authentication { .. }
                | SuomiFiError::Unavailable { .. }
                | SuomiFiError::Transport(_)
                | SuomiFiError::UnexpectedResponse(_)
        )
    }

    /// How long the service asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SuomiFiError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn trace_id(&self) -> Option<&str> {
        match self {
            SuomiFiError::Rejected { trace_id, .. }
            | SuomiFiError::MailboxNotInUse { trace_id }
            | SuomiFiError::RateLimited { trace_id, .. }
            | SuomiFiError::Unavailable { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for SuomiFiError {
    fn from(error: reqwest::Error) -> Self {
        // reqwest's text names the URL and the cause, never a body: no personal data.
        SuomiFiError::Transport(error.without_url().to_string())
    }
}

/// A message the service has: new, or (409) sent before under the same externalId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: i64,
    pub already_sent: bool,
    pub trace_id: Option<String>,
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

pub struct SuomiFiClient {
    http: reqwest::Client,
    settings: SuomiFiSettings,
    password: Mutex<SecretString>,
    token: Mutex<Option<CachedToken>>,
    pacer: Option<super::pacer::Pacer>,
    /// Why Suomi.fi refused our credentials at the last token request, if it did.
    refused: std::sync::Mutex<Option<String>>,
    /// This account's recent uploads, reused by documents whose bytes repeat.
    uploads: super::uploads::RecentUploads,
}

/// Response headers that may carry the service's trace id, checked in this order.
const TRACE_HEADERS: [&str; 4] = ["traceid", "x-trace-id", "x-request-id", "x-amzn-trace-id"];

fn trace_id(headers: &HeaderMap) -> Option<String> {
    TRACE_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl SuomiFiClient {
    pub fn new(settings: SuomiFiSettings) -> Result<Self, SuomiFiError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("Tiedoksi/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            password: Mutex::new(settings.password.clone()),
            pacer: super::pacer::Pacer::new(settings.requests_per_second),
            settings,
            token: Mutex::new(None),
            refused: std::sync::Mutex::new(None),
            uploads: super::uploads::RecentUploads::new(super::uploads::REUSE_UPLOADS_FOR),
        })
    }

    /// The uploads this account made lately (see `uploads.rs`).
    pub fn recent_uploads(&self) -> &super::uploads::RecentUploads {
        &self.uploads
    }

    async fn wait_turn(&self) {
        if let Some(pacer) = &self.pacer {
            pacer.wait_turn().await;
        }
    }

    pub fn service_id(&self) -> &str {
        &self.settings.service_id
    }

    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.base_url, path)
    }

    /// A valid access token: the cached one until shortly before it expires.
    async fn access_token(&self) -> Result<SecretString, SuomiFiError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let password = self.password.lock().await.clone();
        let response = self
            .execute(self.http.post(self.url("/v1/token")).json(&TokenRequest {
                username: self.settings.username.clone(),
                password: password.expose_secret().to_string(),
            }))
            .await?;
        let status = response.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            crate::metrics::suomifi_credentials_refused();
            let body = error_body(response).await;
            *self.refused.lock().expect("refused lock") = Some(body.reason.clone());
            return Err(SuomiFiError::Authentication {
                reason: body.reason,
            });
        }
        let token: TokenResponse = json_or_error(response).await?;
        *self.refused.lock().expect("refused lock") = None;
        // Renew at 90 % of the lifetime, and never keep one longer than ten minutes short.
        let lifetime = Duration::from_secs(token.expires_in);
        let refresh_in = lifetime
            .mul_f64(0.9)
            .min(lifetime.saturating_sub(Duration::from_secs(60)));
        let value = SecretString::from(token.access_token);
        *cached = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + refresh_in,
        });
        Ok(value)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Sends an authorised request; on 401 fetches a new token and tries once more.
    async fn authorised(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, SuomiFiError> {
        self.wait_turn().await;
        let token = self.access_token().await?;
        let response = self
            .execute(build().header(AUTHORIZATION, format!("Bearer {}", token.expose_secret())))
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.forget_token().await;
        self.wait_turn().await;
        let token = self.access_token().await?;
        Ok(self
            .execute(build().header(AUTHORIZATION, format!("Bearer {}", token.expose_secret())))
            .await?)
    }

    /// Every call to Suomi.fi goes through here: counted and timed by endpoint and outcome,
    /// and logged with Suomi.fi's trace id (paths hold no personal data: ids only).
    async fn execute(&self, request: RequestBuilder) -> Result<Response, reqwest::Error> {
        let request = request.build()?;
        let endpoint = crate::metrics::suomifi_endpoint(request.method(), request.url().path());
        let started = Instant::now();
        let result = self.http.execute(request).await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(response) => crate::metrics::suomifi_outcome(response.status()),
            Err(error) if error.is_timeout() => "timeout",
            Err(_) => "transport",
        };
        crate::metrics::suomifi_call(endpoint, outcome, elapsed);
        match &result {
            Ok(response) => tracing::debug!(
                endpoint,
                status = response.status().as_u16(),
                trace_id = trace_id(response.headers()).as_deref().unwrap_or("-"),
                elapsed_ms = elapsed.as_millis() as u64,
                "suomi.fi call"
            ),
            Err(error) => tracing::debug!(endpoint, %error, "suomi.fi call failed"),
        }
        result
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SuomiFiError> {
        let url = self.url(path);
        let response = self.authorised(|| self.http.post(&url).json(body)).await?;
        json_or_error(response).await
    }

    /// Asks for a new access token: whether Suomi.fi takes our username and password now.
    pub async fn check_credentials(&self) -> Result<(), SuomiFiError> {
        self.forget_token().await;
        self.wait_turn().await;
        self.access_token().await.map(|_| ())
    }

    /// Suomi.fi's reason, when it refused our credentials at the last token request.
    pub fn credentials_refused(&self) -> Option<String> {
        self.refused.lock().expect("refused lock").clone()
    }

    pub fn base_url(&self) -> &str {
        &self.settings.base_url
    }

    pub fn username(&self) -> &str {
        &self.settings.username
    }

    /// Changes the REST password (DVV requires it at least every six months). The old token
    /// stops working, so the next call fetches a new one with the new password.
    pub async fn change_password(&self, new_password: &str) -> Result<(), SuomiFiError> {
        let token = self.access_token().await?;
        let current = self.password.lock().await.clone();
        let response =
            self.execute(self.http.post(self.url("/v1/change-password")).json(
                &ChangePasswordRequest {
                    access_token: token.expose_secret().to_string(),
                    current_password: current.expose_secret().to_string(),
                    new_password: new_password.to_string(),
                },
            ))
            .await?;
        if !response.status().is_success() {
            return Err(classify(response).await);
        }
        *self.password.lock().await = SecretString::from(new_password.to_string());
        self.forget_token().await;
        Ok(())
    }

    /// Uploads one attachment; it must be used in a message within 24 hours.
    pub async fn upload_attachment(
        &self,
        filename: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Uuid, SuomiFiError> {
        let Some(media_type) = attachment_media_type(filename, Some(media_type)) else {
            return Err(SuomiFiError::Invalid(vec![format!(
                "attachment {filename:?}: type {media_type} is not accepted"
            )]));
        };
        let max = self.settings.limits.max_upload_bytes;
        if bytes.len() > max {
            return Err(SuomiFiError::Invalid(vec![format!(
                "attachment {filename:?}: {} bytes, at most {max}",
                bytes.len()
            )]));
        }
        let url = self.url("/v2/attachments");
        let response = self
            .authorised(|| {
                let part = multipart::Part::bytes(bytes.clone())
                    .file_name(filename.to_string())
                    .mime_str(media_type)
                    .expect("a known media type parses");
                self.http
                    .post(&url)
                    .multipart(multipart::Form::new().part("file", part))
            })
            .await?;
        let created: AttachmentCreated = json_or_error(response).await?;
        Ok(created.attachment_id)
    }

    /// Electronic when the recipient has an active mailbox, otherwise paper.
    pub async fn send_multichannel(
        &self,
        message: &MultichannelMessage,
    ) -> Result<Sent, SuomiFiError> {
        reject_violations(self.settings.limits.check_multichannel(message).into_vec())?;
        self.send("/v2/messages", message, &message.external_id)
            .await
    }

    /// Electronic only: `MailboxNotInUse` when the recipient has no active mailbox.
    pub async fn send_electronic(&self, message: &ElectronicMessage) -> Result<Sent, SuomiFiError> {
        reject_violations(self.settings.limits.check_electronic(message).into_vec())?;
        self.send("/v2/messages/electronic", message, &message.external_id)
            .await
    }

    /// Paper only (no identity code, or electronic delivery forbidden).
    pub async fn send_paper(&self, message: &PaperMailWithoutId) -> Result<Sent, SuomiFiError> {
        reject_violations(self.settings.limits.check_paper(message).into_vec())?;
        self.send("/v2/paper-mail-without-id", message, &message.external_id)
            .await
    }

    async fn send<B: Serialize>(
        &self,
        path: &str,
        message: &B,
        external_id: &str,
    ) -> Result<Sent, SuomiFiError> {
        let url = self.url(path);
        let response = self
            .authorised(|| self.http.post(&url).json(message))
            .await?;
        let trace_id = trace_id(response.headers());
        match response.status() {
            status if status.is_success() => {
                let created: MessageCreated = json_or_error(response).await?;
                Ok(Sent {
                    message_id: created.message_id,
                    already_sent: false,
                    trace_id,
                })
            }
            StatusCode::CONFLICT => {
                let body = error_body(response).await;
                let message_id = match body.message_id {
                    Some(id) => id,
                    // DVV's document types some 409 bodies without the id; ask for it.
                    None => self
                        .message_id_for_external_id(external_id)
                        .await?
                        .ok_or_else(|| {
                            SuomiFiError::UnexpectedResponse("409 without a messageId".into())
                        })?,
                };
                Ok(Sent {
                    message_id,
                    already_sent: true,
                    trace_id,
                })
            }
            _ => Err(classify(response).await),
        }
    }

    /// `GET /v1/messages/id?externalId=…`: the id of a message we sent earlier.
    pub async fn message_id_for_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<i64>, SuomiFiError> {
        let url = self.url("/v1/messages/id");
        let response = self
            .authorised(|| self.http.get(&url).query(&[("externalId", external_id)]))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let found: MessageCreated = json_or_error(response).await?;
        Ok(Some(found.message_id))
    }

    /// Which of `ids` have an active mailbox, asked in batches of the API's maximum. Only for
    /// deciding how to send: the service forbids building a register from it.
    pub async fn active_mailboxes(&self, ids: &[String]) -> Result<Vec<String>, SuomiFiError> {
        let mut active = Vec::new();
        for batch in ids.chunks(self.settings.limits.max_mailbox_batch.max(1)) {
            reject_violations(self.settings.limits.check_mailbox_batch(batch).into_vec())?;
            let request = ActiveMailboxesRequest {
                end_users: batch.iter().map(|id| EndUser { id: id.clone() }).collect(),
            };
            let response: ActiveMailboxesResponse =
                self.post_json("/v1/mailboxes/active", &request).await?;
            active.extend(
                response
                    .end_users_with_active_mailbox
                    .into_iter()
                    .map(|user| user.id),
            );
        }
        Ok(active)
    }

    /// One page of status events after `continuation_token` (from the start without one).
    /// An empty page means nothing more for now; keep the returned token either way.
    pub async fn events(
        &self,
        continuation_token: Option<&str>,
    ) -> Result<EventsPage, SuomiFiError> {
        let url = self.url("/v2/events");
        let response = self
            .authorised(|| {
                let request = self.http.get(&url);
                match continuation_token {
                    Some(token) => request.query(&[("continuationToken", token)]),
                    None => request,
                }
            })
            .await?;
        json_or_error(response).await
    }

    /// A message a citizen sent us (after an `Electronic message from end user` event).
    pub async fn citizen_message(&self, message_id: i64) -> Result<CitizenMessage, SuomiFiError> {
        let url = self.url(&format!("/v2/messages/{message_id}"));
        let response = self.authorised(|| self.http.get(&url)).await?;
        json_or_error(response).await
    }

    /// The bytes of an attachment a citizen sent us (kept by Suomi.fi for 60 days).
    pub async fn citizen_attachment(&self, attachment_id: Uuid) -> Result<Vec<u8>, SuomiFiError> {
        let url = self.url(&format!("/v1/attachments/{attachment_id}"));
        let response = self.authorised(|| self.http.get(&url)).await?;
        if !response.status().is_success() {
            return Err(classify(response).await);
        }
        Ok(response.bytes().await?.to_vec())
    }
}

fn reject_violations(violations: Vec<String>) -> Result<(), SuomiFiError> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(SuomiFiError::Invalid(violations))
    }
}

async fn json_or_error<T: DeserializeOwned>(response: Response) -> Result<T, SuomiFiError> {
    if !response.status().is_success() {
        return Err(classify(response).await);
    }
    let bytes = response.bytes().await?;
    // serde's message quotes the offending value, which may be personal data: keep only
    // where it went wrong.
    serde_json::from_slice(&bytes).map_err(|e| {
        SuomiFiError::UnexpectedResponse(format!(
            "unreadable response body ({:?} at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

async fn error_body(response: Response) -> ErrorBody {
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorBody {
        reason: format!("HTTP {}", status.as_u16()),
        ..ErrorBody::default()
    })
}

/// Turns a non-success response into the error the worker acts on.
async fn classify(response: Response) -> SuomiFiError {
    let status = response.status();
    let headers = response.headers().clone();
    let trace_id = trace_id(&headers);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return SuomiFiError::RateLimited {
            retry_after: retry_after(&headers),
            trace_id,
        };
    }
    if status.is_server_error() {
        return SuomiFiError::Unavailable {
            status: status.as_u16(),
            trace_id,
        };
    }
    let body = error_body(response).await;
    let error_codes: Vec<String> = body
        .validation_errors
        .iter()
        .flatten()
        .filter_map(|error| error.error_code.clone())
        .collect();
    if error_codes.iter().any(|code| code == MAILBOX_NOT_IN_USE) {
        return SuomiFiError::MailboxNotInUse { trace_id };
    }
    if status == StatusCode::UNAUTHORIZED {
        return SuomiFiError::Authentication {
            reason: body.reason,
        };
    }
    SuomiFiError::Rejected {
        status: status.as_u16(),
        reason: body.reason,
        error_codes,
        trace_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_fatal_errors() {
        assert!(SuomiFiError::Transport("timeout".into()).is_retryable());
        assert!(SuomiFiError::Unavailable {
            status: 503,
            trace_id: None
        }
        .is_retryable());
        let limited = SuomiFiError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            trace_id: None,
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(!SuomiFiError::Invalid(vec![]).is_retryable());
        assert!(!SuomiFiError::MailboxNotInUse { trace_id: None }.is_retryable());
        assert!(
            SuomiFiError::Authentication { reason: "x".into() }.is_retryable(),
            "a credentials problem is fixed by an admin, then sending goes on"
        );
        let rejected = SuomiFiError::Rejected {
            status: 400,
            reason: "bad".into(),
            error_codes: vec![],
            trace_id: None,
        };
        assert!(!rejected.is_retryable());
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
