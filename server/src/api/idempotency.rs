//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a `POST` that creates
//! names itself, so a case system may repeat it after a lost answer. The same key with the
//! same body makes nothing new and answers with what the first made; with another body it is
//! refused (422). A key is the caller's per endpoint: a notice's and a batch's are apart.
//!
//! Two ways to keep that, by what the work is. A notice keeps its key (as its compose key)
//! and the request's SHA-256 in its own transaction, so the notice itself is the record: a
//! repeat finds it and answers with it, and nothing else is written (`notices::create`). A
//! batch, which would be made again each time it runs, claims the key here first and keeps its
//! answer (`create_once`): a repeat while the first runs is told to wait (409).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::caller::ApiCaller;
use super::problem::Problem;
use super::ApiState;
use crate::store::{ApiRequestRow, Timestamp};

const HEADER: &str = "idempotency-key";
const MAX_CHARS: usize = 128;

/// A caller's `Idempotency-Key`: 1–128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let fits = !raw.is_empty()
            && raw.len() <= MAX_CHARS
            && raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
        fits.then(|| Self(raw.to_string()))
    }

    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Problem> {
        headers
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(Self::parse)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency-key-required",
                    "Idempotency-Key required",
                )
                .detail(
                    "Send `Idempotency-Key` with 1–128 visible ASCII characters, unique per \
                     notice (a UUID will do), and the same key when you repeat the request.",
                )
            })
    }

    /// The compose service's own key for the notice: a key's notices are its account's, so
    /// the same text from two keys never collides.
    pub fn for_notice(&self) -> String {
        format!("api:{}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The request's fingerprint: its JSON re-serialised, so spacing does not count.
pub fn request_sha256(body: &serde_json::Value) -> String {
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An answer given under a key, to give again.
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    /// The answer, `Location` the created thing's place under `collection`; `replayed` marks
    /// one given before.
    pub fn into_response(self, replayed: bool, collection: &str) -> Response {
        let location = serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| {
                body.get("id")
                    .and_then(|id| id.as_str().map(str::to_string))
            })
            .map(|id| format!("{collection}/{id}"));
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response
                .headers_mut()
                .insert(axum::http::header::LOCATION, value);
        }
        if replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// A claim left by a request that never answered (its process was killed) lapses after this.
const CLAIM_ABANDONED_AFTER: time::Duration = time::Duration::minutes(10);

/// A creating request, read: its key, its body as `T` and as JSON, and the body's fingerprint.
pub struct KeyedRequest<T> {
    pub key: IdempotencyKey,
    pub request: T,
    pub value: serde_json::Value,
    pub sha256: String,
}

impl<T: DeserializeOwned> KeyedRequest<T> {
    /// The body read as JSON and then as `T`, under a required `Idempotency-Key`.
    pub fn read(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Self, Problem> {
        let body = body.map_err(super::body::body_problem)?;
        let key = IdempotencyKey::from_headers(headers)?;
        let value = super::body::json_body(headers, &body)?;
        let request: T = super::body::parse_fields(value.clone())?;
        let sha256 = request_sha256(&value);
        Ok(Self {
            key,
            request,
            value,
            sha256,
        })
    }
}

/// A creating `POST` whose work is not idempotent by itself: a key answered before answers
/// again (a read, no write), a key claimed or answered for another body is refused, otherwise
/// the key is claimed for this body, `create` runs and its answer is kept — what every repeat
/// gets. A refused request lets go of its claim, so the corrected one may use the key.
pub async fn create_once<T: DeserializeOwned, R: Serialize>(
    state: &ApiState,
    caller: &ApiCaller,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    collection: &str,
    create: impl AsyncFnOnce(T, &IdempotencyKey, &serde_json::Value) -> Result<(StatusCode, R), Problem>,
) -> Response {
    let answered = async {
        let KeyedRequest {
            key,
            request,
            value,
            sha256,
        } = KeyedRequest::<T>::read(headers, body)?;
        if let Some(answer) = answered_before(state, caller, &key, &sha256).await? {
            return Ok(answer.into_response(true, collection));
        }
        if let Some(answer) = claim(state, caller, &key, &sha256).await? {
            return Ok(answer.into_response(true, collection));
        }
        let (status, created) = match create(request, &key, &value).await {
            Ok(created) => created,
            Err(problem) => {
                release(state, caller, &key, &sha256).await;
                return Err(problem);
            }
        };
        Ok(answer(state, caller, &key, &sha256, status, &created)
            .await?
            .into_response(false, collection))
    }
    .await;
    answered.unwrap_or_else(|problem: Problem| problem.into_response())
}

fn unavailable(error: impl std::fmt::Display) -> Problem {
    tracing::error!(%error, "could not keep an idempotency key");
    Problem::unavailable()
}

/// The key was used with another body.
pub fn key_reused() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "Idempotency-Key used for another request",
    )
    .detail("This key was sent with another body. Use a new key for a new notice.")
}

/// The answer kept under the key for this body; another body's is a refusal.
fn kept(row: ApiRequestRow, sha256: &str) -> Result<Option<Answer>, Problem> {
    if row.request_sha256 != sha256 {
        return Err(key_reused());
    }
    Ok(match (row.response_status, row.response_body) {
        (Some(status), Some(body)) => Some(Answer {
            status: StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            body,
        }),
        _ => None,
    })
}

async fn answered_before(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
    sha256: &str,
) -> Result<Option<Answer>, Problem> {
    match state
        .store
        .api_request(caller.key.id, key.as_str())
        .await
        .map_err(unavailable)?
    {
        Some(row) => kept(row, sha256),
        None => Ok(None),
    }
}

/// Claims the key for this request's body; `Some` when another answered it meanwhile. Another
/// body's claim is a refusal, the same body's a request still running (409).
async fn claim(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
    sha256: &str,
) -> Result<Option<Answer>, Problem> {
    let now = Timestamp::now();
    if state
        .store
        .claim_api_request(
            caller.key.id,
            key.as_str(),
            sha256,
            now,
            now - CLAIM_ABANDONED_AFTER,
        )
        .await
        .map_err(unavailable)?
    {
        return Ok(None);
    }
    match answered_before(state, caller, key, sha256).await? {
        Some(answer) => Ok(Some(answer)),
        None => Err(Problem::new(
            StatusCode::CONFLICT,
            "idempotency-key-in-use",
            "A request with this Idempotency-Key is still running",
        )
        .detail("Send it again once the first one has been answered.")),
    }
}

/// A refused request leaves its key free, so the corrected request may use it.
async fn release(state: &ApiState, caller: &ApiCaller, key: &IdempotencyKey, sha256: &str) {
    if let Err(error) = state
        .store
        .release_api_request(caller.key.id, key.as_str(), sha256)
        .await
    {
        tracing::warn!(%error, "could not release an idempotency key");
    }
}

/// Keeps the answer (the first one, when two raced) and returns what is kept.
async fn answer(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
    sha256: &str,
    status: StatusCode,
    body: &impl Serialize,
) -> Result<Answer, Problem> {
    let body = serde_json::to_string(body).map_err(unavailable)?;
    let row = state
        .store
        .answer_api_request(
            caller.key.id,
            key.as_str(),
            &ApiRequestRow {
                request_sha256: sha256.to_string(),
                response_status: Some(i32::from(status.as_u16())),
                response_body: Some(body.clone()),
            },
            Timestamp::now(),
        )
        .await
        .map_err(unavailable)?;
    Ok(kept(row, sha256)?.unwrap_or(Answer { status, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("3f1c-4a").is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse(&"a".repeat(129)).is_none());
        assert!(IdempotencyKey::parse("ä").is_none());
        assert!(IdempotencyKey::parse("a\tb").is_none());
    }

    #[test]
    fn spacing_does_not_change_a_fingerprint_but_content_does() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a": 1, "b": [1,2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "a":1,"b":[1, 2] }"#).unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"a": 2, "b": [1,2]}"#).unwrap();
        assert_eq!(request_sha256(&a), request_sha256(&b));
        assert_ne!(request_sha256(&a), request_sha256(&c));
    }
}
