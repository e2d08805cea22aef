//! The Suomi.fi Messages API as the simulator serves it: strict about everything the
//! documentation says, answering with the documented status codes and error bodies.

use std::sync::{Arc, Mutex};

use app::domain::RecipientId;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::state::{Channel, SimState, StoredAttachment};
use crate::suomifi::limits::{attachment_media_type, is_pdf};
use crate::suomifi::model::{
    ActiveMailboxesRequest, ActiveMailboxesResponse, AttachmentCreated, AttachmentRef,
    ChangePasswordRequest, ElectronicMessage, ElectronicPart, EndUser, ErrorBody, EventsPage,
    MessageCreated, MessageServiceType, MultichannelMessage, PaperMailPart, PaperMailWithoutId,
    TokenRequest, TokenResponse, ValidationError, MAILBOX_NOT_IN_USE,
};

pub type Shared = Arc<Mutex<SimState>>;

const MAX_EVENTS_PER_PAGE: usize = 1000;

/// An error answer in the service's body shape.
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                reason: reason.into(),
                ..ErrorBody::default()
            },
        }
    }

    fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    fn with_code(reason: impl Into<String>, code: &str) -> Self {
        let reason = reason.into();
        let mut error = Self::bad_request(reason.clone());
        error.body.validation_errors = Some(vec![ValidationError {
            error: reason,
            error_code: Some(code.to_string()),
        }]);
        error
    }

    fn validation(violations: Vec<String>) -> Self {
        let mut error = Self::bad_request(format!("Validation failed: {}", violations.join("; ")));
        error.body.validation_errors = Some(
            violations
                .into_iter()
                .map(|error| ValidationError {
                    error,
                    error_code: None,
                })
                .collect(),
        );
        error
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: missing, unknown or expired access token",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn lock(state: &Shared) -> std::sync::MutexGuard<'_, SimState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Parses a JSON body strictly: a missing required field or an unknown enum value is a 400,
/// as in the real service.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
}

/// The start of every send: a valid token, a body that parses, and no broken limit. Returns
/// the message with the state locked for the rest of the request.
fn accept_send<'a, T: DeserializeOwned>(
    state: &'a Shared,
    headers: &HeaderMap,
    body: &Bytes,
    check: impl Fn(&crate::suomifi::limits::Limits, &T) -> Vec<String>,
) -> ApiResult<(T, std::sync::MutexGuard<'a, SimState>, String)> {
    let username = require_token(state, headers)?;
    let message: T = parse_body(body)?;
    let guard = lock(state);
    let violations = check(&guard.config.limits, &message);
    if !violations.is_empty() {
        return Err(ApiError::validation(violations));
    }
    Ok((message, guard, username))
}

/// `Authorization: Bearer <token>`, or the bare token (City of Helsinki's client sends that).
/// Returns the username the token was issued to.
fn require_token(state: &Shared, headers: &HeaderMap) -> ApiResult<String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    lock(state)
        .token_owner(token)
        .ok_or_else(ApiError::unauthorized)
}

fn with_trace_id(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Ok(value) = HeaderValue::from_str(&Uuid::new_v4().to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("traceid"), value);
    }
    response
}

pub async fn token(State(state): State<Shared>, body: Bytes) -> ApiResult<Json<TokenResponse>> {
    let request: TokenRequest = parse_body(&body)?;
    let mut state = lock(&state);
    if !state.authenticate(&request.username, &request.password) {
        return Err(ApiError::bad_request("Invalid username or password"));
    }
    Ok(Json(TokenResponse {
        access_token: state.issue_token(&request.username),
        token_type: "Bearer".into(),
        expires_in: state.config.token_lifetime.as_secs(),
    }))
}

/// DVV's rule: at least 32 characters with lower and upper case, a digit and a symbol.
fn acceptable_new_password(password: &str) -> bool {
    password.chars().count() >= 32
        && password.chars().any(|c| c.is_lowercase())
        && password.chars().any(|c| c.is_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| !c.is_alphanumeric() && c != '\\')
        && !password.contains('\\')
}

pub async fn change_password(
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let request: ChangePasswordRequest = parse_body(&body)?;
    let mut state = lock(&state);
    let Some(username) = state.token_owner(&request.access_token) else {
        return Err(ApiError::bad_request("Invalid access token"));
    };
    let Some(account) = state.accounts.get_mut(&username) else {
        return Err(ApiError::bad_request("Invalid access token"));
    };
    if request.current_password != account.password {
        return Err(ApiError::bad_request("Current password is wrong"));
    }
    if !acceptable_new_password(&request.new_password) || request.new_password == account.password {
        return Err(ApiError::bad_request(
            "New password must be at least 32 characters with lower and upper case letters, digits and symbols, and differ from the current one",
        ));
    }
    account.password = request.new_password;
    state.expire_tokens_of(&username);
    Ok(Json(json!({})))
}

pub async fn upload_attachment(
    State(state): State<Shared>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let owner = require_token(&state, &headers)?;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?
    {
        if field.name() != Some("file") {
            return Err(ApiError::bad_request(format!(
                "Unexpected multipart part {:?}: only 'file' is accepted",
                field.name().unwrap_or("")
            )));
        }
        if file.is_some() {
            return Err(ApiError::bad_request("Exactly one 'file' part is accepted"));
        }
        let filename = field.file_name().map(str::to_string).unwrap_or_default();
        let content_type = field.content_type().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("Could not read the file part: {e}")))?;
        file = Some((filename, content_type, bytes));
    }
    let Some((filename, content_type, bytes)) = file else {
        return Err(ApiError::bad_request("Missing multipart part 'file'"));
    };
    let max = lock(&state).config.limits.max_upload_bytes;
    if bytes.len() > max {
        return Ok((
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("HTTP content length exceeded {max} bytes."),
        )
            .into_response());
    }
    if filename.trim().is_empty() {
        return Err(ApiError::bad_request("The file part needs a filename"));
    }
    let Some(media_type) = attachment_media_type(&filename, content_type.as_deref()) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
        ));
    };
    if media_type == "application/pdf" && !is_pdf(&bytes) {
        return Err(ApiError::bad_request("The file is not a PDF document"));
    }
    let id = Uuid::new_v4();
    let mut state = lock(&state);
    let uploaded_at = state.now();
    state.attachments.insert(
        id,
        StoredAttachment {
            filename,
            media_type: media_type.to_string(),
            size: bytes.len(),
            is_pdf: is_pdf(&bytes),
            uploaded_at,
            owner: Some(owner),
        },
    );
    state.counters.attachments += 1;
    Ok(with_trace_id((
        StatusCode::CREATED,
        Json(AttachmentCreated { attachment_id: id }),
    )))
}

fn check_service(state: &SimState, username: &str, service_id: &str) -> ApiResult<()> {
    if state.account_has_service(username, service_id) {
        Ok(())
    } else {
        Err(ApiError::with_code(
            "Service not found or not active for this system",
            "SERVICE_NOT_ACTIVE",
        ))
    }
}

fn check_recipient(id: &str) -> ApiResult<()> {
    RecipientId::parse(id).map(|_| ()).map_err(|_| {
        ApiError::bad_request("recipient.id is not a valid personal identity code or business ID")
    })
}

fn check_attachments(
    state: &SimState,
    username: &str,
    attachments: &[AttachmentRef],
    field: &str,
) -> ApiResult<()> {
    for attachment in attachments {
        // Another system's upload is as unknown as none.
        let ours = state
            .attachment(&attachment.attachment_id)
            .is_some_and(|stored| stored.owner.as_deref() == Some(username));
        if !ours {
            return Err(ApiError::bad_request(format!(
                "{field}: attachment {} not found (unknown, or older than 24 hours)",
                attachment.attachment_id
            )));
        }
    }
    Ok(())
}

fn check_electronic(state: &SimState, username: &str, part: &ElectronicPart) -> ApiResult<()> {
    check_attachments(state, username, &part.attachments, "electronic.attachments")?;
    if let Some(id) = part.in_reply_to_message_id {
        if !state.citizen_messages.contains_key(&id) {
            return Err(ApiError::with_code(
                "The message being replied to was not found",
                "MESSAGE_BEING_REPLIED_TO_NOT_FOUND",
            ));
        }
    }
    Ok(())
}

fn check_paper(state: &SimState, username: &str, part: &PaperMailPart) -> ApiResult<()> {
    check_attachments(state, username, &part.attachments, "paperMail.attachments")?;
    for attachment in &part.attachments {
        let stored = state
            .attachment(&attachment.attachment_id)
            .expect("checked above");
        if !stored.is_pdf {
            return Err(ApiError::bad_request(
                "paperMail.attachments: paper mail takes one PDF file",
            ));
        }
    }
    let posti = &part.printing_and_enveloping_service.posti_messaging;
    let expected_user = state.config.posti_username.as_deref();
    let expected_password = state.config.posti_password.as_deref();
    if expected_user.is_some_and(|user| user != posti.username)
        || expected_password.is_some_and(|password| password != posti.password)
    {
        return Err(ApiError::bad_request("Invalid Posti messaging credentials"));
    }
    Ok(())
}

fn conflict(message_id: i64) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::CONFLICT,
        "A message with this externalId already exists",
    );
    error.body.message_id = Some(message_id);
    error
}

/// Duplicate check and creation, in one critical section so two concurrent sends of the same
/// externalId cannot both create a message.
fn create_once(
    state: &mut SimState,
    external_id: &str,
    endpoint: &str,
    channel: Channel,
    verifiable: bool,
    behaviour_key: &str,
    request: serde_json::Value,
) -> ApiResult<Response> {
    if let Some(existing) = state.message_id_for(external_id) {
        state.counters.duplicate_sends += 1;
        return Err(conflict(existing));
    }
    let message_id = state.create_message(
        external_id,
        endpoint,
        channel,
        verifiable,
        behaviour_key,
        request,
    );
    Ok(with_trace_id(Json(MessageCreated { message_id })))
}

pub async fn send_multichannel(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (message, mut state, username) = accept_send(
        &state,
        &headers,
        &body,
        |limits, message: &MultichannelMessage| limits.check_multichannel(message).into_vec(),
    )?;
    check_service(&state, &username, &message.sender.service_id)?;
    check_recipient(&message.recipient.id)?;
    check_electronic(&state, &username, &message.electronic)?;
    check_paper(&state, &username, &message.paper_mail)?;
    let (channel, verifiable) = if state.has_active_mailbox(&message.recipient.id) {
        (
            Channel::Electronic,
            message.electronic.message_service_type == MessageServiceType::Verifiable,
        )
    } else {
        (
            Channel::Paper,
            message.paper_mail.message_service_type == MessageServiceType::Verifiable,
        )
    };
    let request = serde_json::to_value(&message).unwrap_or_default();
    create_once(
        &mut state,
        &message.external_id,
        "/v2/messages",
        channel,
        verifiable,
        &message.recipient.id,
        request,
    )
}

pub async fn send_electronic(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (message, mut state, username) = accept_send(
        &state,
        &headers,
        &body,
        |limits, message: &ElectronicMessage| limits.check_electronic(message).into_vec(),
    )?;
    check_service(&state, &username, &message.sender.service_id)?;
    check_recipient(&message.recipient.id)?;
    check_electronic(&state, &username, &message.electronic)?;
    // A repeat of a message already made is 409 even if the mailbox has closed since.
    if state.message_id_for(&message.external_id).is_none()
        && !state.has_active_mailbox(&message.recipient.id)
    {
        return Err(ApiError::with_code(
            "The recipient has no active mailbox",
            MAILBOX_NOT_IN_USE,
        ));
    }
    let verifiable = message.electronic.message_service_type == MessageServiceType::Verifiable;
    let request = serde_json::to_value(&message).unwrap_or_default();
    create_once(
        &mut state,
        &message.external_id,
        "/v2/messages/electronic",
        Channel::Electronic,
        verifiable,
        &message.recipient.id,
        request,
    )
}

pub async fn send_paper(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (message, mut state, username) = accept_send(
        &state,
        &headers,
        &body,
        |limits, message: &PaperMailWithoutId| limits.check_paper(message).into_vec(),
    )?;
    check_service(&state, &username, &message.sender.service_id)?;
    check_paper(&state, &username, &message.paper_mail)?;
    let verifiable = message.paper_mail.message_service_type == MessageServiceType::Verifiable;
    let behaviour_key = message.paper_mail.recipient.address.name.clone();
    let request = serde_json::to_value(&message).unwrap_or_default();
    create_once(
        &mut state,
        &message.external_id,
        "/v2/paper-mail-without-id",
        Channel::Paper,
        verifiable,
        &behaviour_key,
        request,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalIdQuery {
    external_id: String,
}

pub async fn message_id_by_external_id(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<ExternalIdQuery>,
) -> ApiResult<Json<MessageCreated>> {
    require_token(&state, &headers)?;
    lock(&state)
        .message_id_for(&query.external_id)
        .map(|message_id| Json(MessageCreated { message_id }))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No message with this externalId"))
}

pub async fn active_mailboxes(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ActiveMailboxesResponse>> {
    require_token(&state, &headers)?;
    let request: ActiveMailboxesRequest = parse_body(&body)?;
    let state = lock(&state);
    let ids: Vec<String> = request.end_users.into_iter().map(|user| user.id).collect();
    let violations = state.config.limits.check_mailbox_batch(&ids).into_vec();
    if !violations.is_empty() {
        return Err(ApiError::bad_request(violations.join("; ")));
    }
    let active = ids
        .into_iter()
        .filter(|id| state.has_active_mailbox(id))
        .map(|id| EndUser { id })
        .collect();
    Ok(Json(ActiveMailboxesResponse {
        end_users_with_active_mailbox: active,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsQuery {
    continuation_token: Option<String>,
}

pub async fn events(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Json<EventsPage>> {
    let username = require_token(&state, &headers)?;
    let (events, continuation_token) = lock(&state)
        .events_after(
            query.continuation_token.as_deref(),
            MAX_EVENTS_PER_PAGE,
            &username,
        )
        .ok_or_else(|| ApiError::bad_request("Invalid continuationToken"))?;
    Ok(Json(EventsPage {
        continuation_token,
        events,
    }))
}

pub async fn citizen_message(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(message_id): Path<String>,
) -> ApiResult<Response> {
    require_token(&state, &headers)?;
    let message_id: i64 = message_id
        .parse()
        .map_err(|_| ApiError::bad_request("messageId must be an integer"))?;
    let state = lock(&state);
    let message = state
        .citizen_messages
        .get(&message_id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Message not found"))?;
    Ok(Json(message).into_response())
}

pub async fn citizen_attachment(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(attachment_id): Path<String>,
) -> ApiResult<Response> {
    require_token(&state, &headers)?;
    let id: Uuid = attachment_id
        .parse()
        .map_err(|_| ApiError::bad_request("attachmentId must be a UUID"))?;
    let state = lock(&state);
    let bytes = state
        .attachment_bytes
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Attachment not found"))?;
    let media_type = state
        .attachments
        .get(&id)
        .map(|a| a.media_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(([(header::CONTENT_TYPE, media_type)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::acceptable_new_password;

    #[test]
    fn new_passwords_follow_dvvs_rule() {
        assert!(acceptable_new_password(
            "Abcdefghijklmnopqrstuvwxyz123456!#"
        ));
        assert!(!acceptable_new_password("Short1!"));
        assert!(
            !acceptable_new_password("abcdefghijklmnopqrstuvwxyz123456!#"),
            "needs upper case"
        );
        assert!(
            !acceptable_new_password("Abcdefghijklmnopqrstuvwxyz1234567"),
            "needs a symbol"
        );
        assert!(
            !acceptable_new_password("Abcdefghijklmnopqrstuvwxyz12345\\!"),
            "no backslash"
        );
    }
}
