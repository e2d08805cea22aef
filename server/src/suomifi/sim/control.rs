//! `/__sim/`: the simulator's control panel for tests, benchmarks and demos. Not part of the
//! Suomi.fi API.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::api::{lock, Shared};
use super::state::{Behaviour, Faults, StoredAttachment};
use crate::suomifi::model::{
    CitizenAttachment, CitizenElectronicPart, CitizenMessage, CitizenSender, EventKind,
    EventMetadata, MailboxOwner, Thread,
};

pub async fn counters(State(state): State<Shared>) -> Json<Value> {
    let state = lock(&state);
    let duplicates = state
        .counters
        .messages_by_external_id
        .values()
        .filter(|n| **n > 1)
        .count();
    Json(json!({
        "requests": state.counters.requests,
        "responses": state.counters.responses,
        "messages": state.counters.messages,
        "messages_by_external_id": state.counters.messages_by_external_id,
        "external_ids_with_more_than_one_message": duplicates,
        "duplicate_sends": state.counters.duplicate_sends,
        "attachments": state.counters.attachments,
        "faults_injected": state.counters.faults_injected,
    }))
}

pub async fn reset_counters(State(state): State<Shared>) -> StatusCode {
    lock(&state).reset_counters();
    StatusCode::NO_CONTENT
}

pub async fn messages(State(state): State<Shared>) -> Json<Value> {
    Json(json!(lock(&state).messages))
}

pub async fn set_faults(State(state): State<Shared>, Json(faults): Json<Faults>) -> StatusCode {
    let mut state = lock(&state);
    state.outage_until = (faults.outage_seconds > 0)
        .then(|| Instant::now() + Duration::from_secs(faults.outage_seconds));
    state.faults = faults;
    StatusCode::NO_CONTENT
}

pub async fn clear_faults(State(state): State<Shared>) -> StatusCode {
    let mut state = lock(&state);
    state.faults = Faults::default();
    state.outage_until = None;
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct MailboxSetting {
    id: String,
    active: bool,
}

pub async fn set_mailboxes(
    State(state): State<Shared>,
    Json(settings): Json<Vec<MailboxSetting>>,
) -> StatusCode {
    let mut state = lock(&state);
    for setting in settings {
        state.mailbox_overrides.insert(setting.id, setting.active);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct BehaviourSetting {
    /// A recipient id, or the postal name for paper mail without an id.
    key: String,
    #[serde(flatten)]
    behaviour: Behaviour,
}

pub async fn set_behaviours(
    State(state): State<Shared>,
    Json(settings): Json<Vec<BehaviourSetting>>,
) -> StatusCode {
    let mut state = lock(&state);
    for setting in settings {
        state.behaviours.insert(setting.key, setting.behaviour);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct Advance {
    seconds: i64,
}

pub async fn clock(State(state): State<Shared>) -> Json<Value> {
    let now = lock(&state).now();
    Json(json!({ "now": now.format(&Rfc3339).unwrap_or_default() }))
}

pub async fn advance_clock(
    State(state): State<Shared>,
    Json(advance): Json<Advance>,
) -> Json<Value> {
    let mut state = lock(&state);
    state.advance_clock(time::Duration::seconds(advance.seconds));
    Json(json!({ "now": state.now().format(&Rfc3339).unwrap_or_default() }))
}

/// Adds (or replaces) a system account: `{"username", "password", "serviceIds": [...]}`.
pub async fn add_account(
    State(state): State<Shared>,
    Json(account): Json<NewAccount>,
) -> StatusCode {
    lock(&state).accounts.insert(
        account.username,
        super::state::SimAccount {
            password: account.password,
            service_ids: account.service_ids,
        },
    );
    StatusCode::NO_CONTENT
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub service_ids: Vec<String>,
}

/// The accounts' current passwords, for tests that check a rotation reached the service.
pub async fn accounts(State(state): State<Shared>) -> Json<serde_json::Value> {
    let state = lock(&state);
    Json(json!(state.accounts))
}

pub async fn expire_tokens(State(state): State<Shared>) -> StatusCode {
    lock(&state).expire_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct NewCitizenMessage {
    from_id: String,
    from_name: String,
    title: String,
    body: String,
    in_reply_to: Option<i64>,
    attachment: Option<CitizenFile>,
}

#[derive(Deserialize)]
pub struct CitizenFile {
    filename: String,
    media_type: String,
    /// The file's text content (enough for tests).
    content: String,
}

/// A citizen writes to us: the message, and its `Electronic message from end user` event.
pub async fn citizen_writes(
    State(state): State<Shared>,
    Json(new): Json<NewCitizenMessage>,
) -> Json<Value> {
    let mut state = lock(&state);
    let message_id = 900_000 + state.citizen_messages.len() as i64 + 1;
    let now = state.now();
    let created_at = now.format(&Rfc3339).unwrap_or_default();
    let attachments = match new.attachment {
        Some(file) => {
            let id = Uuid::new_v4();
            let size = file.content.len();
            state.attachment_bytes.insert(id, file.content.into_bytes());
            state.attachments.insert(
                id,
                StoredAttachment {
                    filename: file.filename.clone(),
                    media_type: file.media_type.clone(),
                    size,
                    is_pdf: false,
                    uploaded_at: now,
                    owner: None,
                },
            );
            vec![CitizenAttachment {
                attachment_id: Some(id),
                filename: Some(file.filename),
                media_type: Some(file.media_type),
                size_bytes: Some(size as u64),
            }]
        }
        None => Vec::new(),
    };
    let message = CitizenMessage {
        message_id,
        created_at: created_at.clone(),
        electronic: CitizenElectronicPart {
            message_id,
            created_at,
            title: new.title,
            body: new.body,
            attachments,
            thread: new.in_reply_to.map(|root| Thread {
                root_message_id: root,
                thread_external_id: None,
            }),
        },
        sender: Some(CitizenSender {
            mailbox_owner: MailboxOwner {
                id: new.from_id,
                name: new.from_name,
            },
            person_sending_message_on_behalf_of_mailbox_owner: None,
        }),
    };
    state.citizen_messages.insert(message_id, message);
    let metadata = EventMetadata {
        message_id,
        service_id: state.config.service_id.clone(),
        external_id: None,
        extra: Default::default(),
    };
    state.schedule(now, EventKind::ElectronicMessageFromEndUser, metadata);
    Json(json!({ "messageId": message_id }))
}

/// Counts every API request and its answer, and injects the configured faults.
pub async fn count_and_inject_faults(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = endpoint_name(&request);
    let (faults, outage, roll) = {
        let mut state = lock(&state);
        *state.counters.requests.entry(endpoint).or_default() += 1;
        let roll: f64 = state.rng.gen();
        let outage = state
            .outage_until
            .is_some_and(|until| Instant::now() < until);
        (state.faults.clone(), outage, roll)
    };
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let response = match injected_fault(&faults, outage, roll) {
        Some(Fault::Status(response)) => {
            lock(&state).counters.faults_injected += 1;
            response
        }
        Some(Fault::HangAfter) => {
            lock(&state).counters.faults_injected += 1;
            let response = next.run(request).await;
            tokio::time::sleep(Duration::from_secs(faults.timeout_seconds)).await;
            response
        }
        Some(Fault::HangBefore) => {
            lock(&state).counters.faults_injected += 1;
            tokio::time::sleep(Duration::from_secs(faults.timeout_seconds)).await;
            (
                StatusCode::GATEWAY_TIMEOUT,
                Json(json!({ "reason": "Gateway timeout" })),
            )
                .into_response()
        }
        None => next.run(request).await,
    };
    *lock(&state)
        .counters
        .responses
        .entry(response.status().as_u16())
        .or_default() += 1;
    response
}

enum Fault {
    Status(Response),
    /// Carry the request out, then keep the client waiting past its timeout.
    HangAfter,
    /// Keep the client waiting without doing anything.
    HangBefore,
}

fn injected_fault(faults: &Faults, outage: bool, roll: f64) -> Option<Fault> {
    if outage {
        return Some(Fault::Status(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "reason": "Service unavailable (simulated outage)" })),
            )
                .into_response(),
        ));
    }
    let mut threshold = faults.error_rate;
    if roll < threshold {
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ][((roll / threshold.max(f64::MIN_POSITIVE)) * 3.0).min(2.0) as usize];
        return Some(Fault::Status(
            (status, Json(json!({ "reason": "Simulated server error" }))).into_response(),
        ));
    }
    threshold += faults.rate_limit_rate;
    if roll < threshold {
        let response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, faults.retry_after_seconds.to_string())],
            Json(json!({ "reason": "Too many requests" })),
        )
            .into_response();
        return Some(Fault::Status(response));
    }
    let timeout_start = threshold;
    threshold += faults.timeout_rate;
    if roll < threshold {
        let first_half = roll < timeout_start + faults.timeout_rate / 2.0;
        return Some(if first_half {
            Fault::HangAfter
        } else {
            Fault::HangBefore
        });
    }
    None
}

/// `METHOD /path` with ids folded, so counters group by endpoint.
fn endpoint_name(request: &Request) -> String {
    let path = request.uri().path();
    let folded = if path.starts_with("/v2/messages/") && path != "/v2/messages/electronic" {
        "/v2/messages/{messageId}"
    } else if path.starts_with("/v1/attachments/") {
        "/v1/attachments/{attachmentId}"
    } else {
        path
    };
    format!("{} {}", request.method(), folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_split_the_roll_between_kinds() {
        let faults = Faults {
            error_rate: 0.1,
            rate_limit_rate: 0.1,
            timeout_rate: 0.1,
            ..Faults::default()
        };
        assert!(
            matches!(injected_fault(&faults, false, 0.05), Some(Fault::Status(r)) if r.status().is_server_error())
        );
        assert!(
            matches!(injected_fault(&faults, false, 0.15), Some(Fault::Status(r)) if r.status() == 429)
        );
        assert!(matches!(
            injected_fault(&faults, false, 0.22),
            Some(Fault::HangAfter)
        ));
        assert!(matches!(
            injected_fault(&faults, false, 0.28),
            Some(Fault::HangBefore)
        ));
        assert!(injected_fault(&faults, false, 0.5).is_none());
        assert!(
            matches!(injected_fault(&Faults::default(), true, 0.9), Some(Fault::Status(r)) if r.status() == 503)
        );
    }
}
