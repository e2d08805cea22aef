//! `/api/v1/notices` and `/api/v1/deliveries`: what a case-management system sends and reads.
//! Queuing goes through the pages' compose service (the same checks, channel rules and
//! outbox); another organisation's notice is not found; every read and change is on record
//! under the key's name.

use std::collections::HashMap;

use app::compose::{DecisionDraft, NoticeDraft, RecipientDraft};
use app::domain::channel::DeliveryMode;
use app::domain::lifecycle::DeliveryStatus;
use app::domain::notice::{NoticeLanguage, NoticeType, PostalAddress, RecipientRole};
use app::notices::ssr::NoticesBackend;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::ApiCaller;
use super::idempotency::{Answer, IdempotencyKey, KeyedRequest};
use super::problem::Problem;
use super::ApiState;
use crate::audit::{AuditAction, AuditEntry};
use crate::notices::documents::KeptDocument;
use crate::store::{Delivery, HistoryEntry, Notice, NoticeAttachment, NoticeQuery, Timestamp};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

/// A notice to queue. Field names and problems are those of the compose page, so a field's
/// problem reads `recipients[0].identity_code` here as there.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    pub notice_type: NoticeType,
    /// The case's reference (diaarinumero).
    pub case_reference: String,
    pub title: String,
    pub body: String,
    /// The body is Markdown (else plain text).
    #[serde(default)]
    pub markdown: bool,
    #[serde(default)]
    pub language: NoticeLanguage,
    /// Unset: the notice type's default.
    #[serde(default)]
    pub verifiable: Option<bool>,
    /// Unset: the notice type's default.
    #[serde(default)]
    pub appeal_days: Option<u16>,
    #[serde(default)]
    pub appeal_instructions: Option<String>,
    /// Ids of documents from `POST /api/v1/documents`, in order.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
    #[serde(default)]
    pub recipients: Vec<NewRecipient>,
    /// What a decision shows besides its body (HL 44 §); required for decisions.
    #[serde(default)]
    pub decision: Option<DecisionDraft>,
    /// The matter concerns the person of a 15–17-year-old party (HL 14 §).
    #[serde(default)]
    pub minor_personal_matter: bool,
    /// The organisation's Suomi.fi service (its id in Tiedoksi); unset: the key's, else the
    /// organisation's default.
    #[serde(default)]
    pub service: Option<Uuid>,
    /// The recipient may answer in Suomi.fi.
    #[serde(default)]
    pub replies_allowed: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecipient {
    pub role: RecipientRole,
    pub name: String,
    /// A personal identity code or a business ID; none for paper without an ID.
    #[serde(default)]
    pub identity_code: Option<String>,
    #[serde(default)]
    pub address: Option<PostalAddress>,
    #[serde(default)]
    pub mode: DeliveryMode,
    /// Turvakielto: the address is protected.
    #[serde(default)]
    pub address_protected: bool,
    /// Persons the recipient authorised, or guardians, must not read it.
    #[serde(default)]
    pub content_not_for_others: bool,
}

impl std::fmt::Debug for NewRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRecipient")
            .field("role", &self.role)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl NewRecipient {
    pub(crate) fn into_recipient(self) -> RecipientDraft {
        RecipientDraft {
            role: self.role,
            name: self.name,
            identity_code: self.identity_code,
            address: self.address,
            mode: self.mode,
            address_protected: self.address_protected,
            content_not_for_others: self.content_not_for_others,
        }
    }
}

impl NewNotice {
    pub(crate) fn into_draft(
        self,
        idempotency_key: &IdempotencyKey,
        key_service: Option<Uuid>,
    ) -> NoticeDraft {
        NoticeDraft {
            idempotency_key: idempotency_key.for_notice(),
            notice_type: self.notice_type,
            case_reference: self.case_reference,
            title: self.title,
            body: self.body,
            markdown: self.markdown,
            language: self.language,
            verifiable: self.verifiable,
            appeal_days: self.appeal_days,
            appeal_instructions: self.appeal_instructions,
            attachments: self.attachments,
            recipients: self
                .recipients
                .into_iter()
                .map(NewRecipient::into_recipient)
                .collect(),
            decision: self.decision.unwrap_or_default(),
            minor_personal_matter: self.minor_personal_matter,
            in_reply_to: None,
            service: self.service.or(key_service),
            template: None,
            replies_allowed: self.replies_allowed,
        }
    }
}

/// A notice as the API shows it; identity codes only masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiNotice {
    pub id: Uuid,
    pub notice_type: NoticeType,
    pub case_reference: String,
    pub title: String,
    pub language: String,
    pub verifiable: bool,
    /// RFC 3339.
    pub created_at: String,
    /// Suomi.fi's service id it goes through.
    pub service_id: String,
    /// The attachments as kept, each downloadable.
    pub documents: Vec<ApiNoticeDocument>,
    /// The paper letter (what is printed), when one was rendered.
    pub letter: Option<ApiLetter>,
    pub deliveries: Vec<ApiDelivery>,
    /// What to look at, given when the notice was queued (empty when read later).
    #[serde(default)]
    pub warnings: Vec<ApiWarning>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiNoticeDocument {
    pub position: i32,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Where to download it with the same key.
    pub href: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiLetter {
    /// The SHA-256 of the PDF. A letter that is only the notice's own text is rendered the
    /// first time it is needed (sent on paper, downloaded, or this notice read by its id), so
    /// the answer to queuing may have `null` here; once rendered it never changes.
    pub sha256: Option<String>,
    pub href: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiWarning {
    pub field: String,
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiDelivery {
    pub id: Uuid,
    pub role: String,
    pub recipient_name: String,
    /// `150680-****`, a business ID, or none.
    pub recipient_id_masked: Option<String>,
    pub status: DeliveryStatus,
    pub requested_mode: DeliveryMode,
    pub decided_mode: DeliveryMode,
    /// `electronic` or `paper`, once known.
    pub channel: Option<String>,
    pub suomifi_message_id: Option<i64>,
    /// When Suomi.fi accepted it (RFC 3339).
    pub submitted_at: Option<String>,
    /// `YYYY-MM-DD`.
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    /// The rule the legal dates follow (e.g. `hl_59_electronic`).
    pub legal_rule: Option<String>,
    pub needs_attention: Option<String>,
    /// A verifiable delivery not acknowledged in time (RFC 3339): it may be re-served on paper.
    pub unacknowledged_at: Option<String>,
    /// This delivery re-serves that one on paper.
    pub reserve_of: Option<Uuid>,
    /// Everything that happened to it, oldest first.
    pub history: Vec<ApiHistoryEntry>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiHistoryEntry {
    /// RFC 3339.
    pub occurred_at: String,
    /// `queued`, `submitted`, `suomifi_event`, `legal_dates`, `needs_attention`, …
    pub kind: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One page of notices; ask again with `cursor` for the next.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticePage {
    pub notices: Vec<ApiNotice>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

fn api_notice(
    notice: Notice,
    deliveries: Vec<Delivery>,
    attachments: Vec<NoticeAttachment>,
    histories: &HashMap<Uuid, Vec<HistoryEntry>>,
) -> ApiNotice {
    let id = notice.id;
    let letter = notice.has_letter().then(|| ApiLetter {
        sha256: notice.paper_letter_sha256.clone(),
        href: format!("/api/v1/notices/{id}/letter.pdf"),
    });
    ApiNotice {
        id,
        notice_type: NoticeType::parse(&notice.notice_type).unwrap_or(NoticeType::Other),
        case_reference: notice.case_reference,
        title: notice.title,
        language: notice.language,
        verifiable: notice.verifiable,
        created_at: notice.created_at.to_rfc3339(),
        service_id: notice.service_id,
        documents: attachments
            .into_iter()
            .map(|attachment| ApiNoticeDocument {
                href: format!("/api/v1/notices/{id}/attachments/{}", attachment.position),
                position: attachment.position,
                filename: attachment.filename,
                media_type: attachment.media_type,
                size_bytes: attachment.size_bytes,
                sha256: attachment.sha256,
            })
            .collect(),
        letter,
        deliveries: deliveries
            .into_iter()
            .map(|delivery| ApiDelivery {
                history: histories
                    .get(&delivery.id)
                    .map(|entries| entries.iter().map(api_history).collect())
                    .unwrap_or_default(),
                id: delivery.id,
                role: delivery.role,
                recipient_name: delivery.recipient_name,
                recipient_id_masked: delivery.identity_masked,
                status: delivery.status,
                requested_mode: delivery.requested_mode,
                decided_mode: delivery.decided_mode,
                channel: delivery.channel_taken,
                suomifi_message_id: delivery.suomifi_message_id,
                submitted_at: delivery.submitted_at.map(Timestamp::to_rfc3339),
                deemed_receipt: delivery.deemed_receipt,
                appeal_deadline: delivery.appeal_deadline,
                legal_rule: delivery.legal_rule,
                needs_attention: delivery.needs_attention_reason,
                unacknowledged_at: delivery.unacknowledged_at.map(Timestamp::to_rfc3339),
                reserve_of: delivery.reserve_of,
            })
            .collect(),
        warnings: Vec::new(),
    }
}

fn api_history(entry: &HistoryEntry) -> ApiHistoryEntry {
    ApiHistoryEntry {
        occurred_at: entry.occurred_at.to_rfc3339(),
        kind: entry.kind.clone(),
        details: serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::Null),
    }
}

fn unavailable(error: impl std::fmt::Display, what: &str) -> Problem {
    tracing::error!(%error, "the API could not read {what}");
    Problem::unavailable()
}

/// A notice read by its id shows its letter's hash: the letter is rendered now if it was
/// left to be made when first needed. The notice is shown whatever comes of it (its hash
/// then `null`): the letter is not what the reader may have come for.
async fn render_letter(state: &ApiState, caller: &ApiCaller, id: Uuid) -> Result<(), Problem> {
    let notice = state
        .store
        .notice(caller.actor.organisation_id, id)
        .await
        .map_err(|e| unavailable(e, "a notice"))?;
    if let Some(notice) = notice {
        if let Err(error) = state.documents.letters.ensure(&notice).await {
            tracing::warn!(%error, notice = %id, "the notice's letter could not be rendered");
        }
    }
    Ok(())
}

/// The organisation's notice with everything the API shows of it, or `None`.
async fn read_notice(
    state: &ApiState,
    caller: &ApiCaller,
    id: Uuid,
) -> Result<Option<ApiNotice>, Problem> {
    let Some(notice) = state
        .store
        .notice(caller.actor.organisation_id, id)
        .await
        .map_err(|e| unavailable(e, "a notice"))?
    else {
        return Ok(None);
    };
    Ok(Some(with_deliveries(state, caller, notice).await?))
}

/// A notice read as the API shows it: with its deliveries, their histories and its documents.
async fn with_deliveries(
    state: &ApiState,
    caller: &ApiCaller,
    notice: Notice,
) -> Result<ApiNotice, Problem> {
    let organisation = caller.actor.organisation_id;
    let id = notice.id;
    let deliveries = state
        .store
        .deliveries(organisation, id)
        .await
        .map_err(|e| unavailable(e, "deliveries"))?;
    let attachments = state
        .store
        .notice_attachments(id)
        .await
        .map_err(|e| unavailable(e, "attachments"))?;
    let mut histories = HashMap::new();
    for delivery in &deliveries {
        let history = state
            .store
            .delivery_history(delivery.id)
            .await
            .map_err(|e| unavailable(e, "a delivery's history"))?;
        histories.insert(delivery.id, history);
    }
    Ok(api_notice(notice, deliveries, attachments, &histories))
}

async fn audit_read(
    state: &ApiState,
    caller: &ApiCaller,
    action: AuditAction,
    id: Uuid,
) -> Result<(), Problem> {
    let entry = AuditEntry::new(action)
        .by(&caller.actor)
        .subject("notice", id)
        .details(json!({ "api_key": caller.key.id }));
    state.audit.record(entry).await.map_err(|error| {
        tracing::error!(%error, "could not audit an API call");
        Problem::unavailable()
    })
}

fn parse_id(raw: &str, what: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| Problem::not_found(what))
}

/// Read a notice.
///
/// Its deliveries with their status, channel, Suomi.fi message id, legal dates and the rule
/// behind them, history, and its documents with their hashes.
#[utoipa::path(
    get,
    path = "/api/v1/notices/{id}",
    tag = "notices",
    params(("id" = String, Path, description = "The notice's id")),
    responses(
        (status = 200, description = "The notice", body = ApiNotice),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notice in the key's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Try again shortly", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn notice(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiNotice>, Problem> {
    let id = parse_id(&id, "notice")?;
    render_letter(&state, &caller, id).await?;
    let notice = read_notice(&state, &caller, id)
        .await?
        .ok_or_else(|| Problem::not_found("notice"))?;
    // On record before it is answered.
    audit_read(&state, &caller, AuditAction::NoticeViewed, id).await?;
    Ok(Json(notice))
}

/// Which notices to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Notices with a delivery in this status.
    pub status: Option<DeliveryStatus>,
    /// Notices of this type.
    #[serde(rename = "type")]
    pub notice_type: Option<NoticeType>,
    /// Notices created at or after this moment (RFC 3339).
    pub created_after: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Notices per page, 1–200 (50).
    pub limit: Option<i64>,
}

/// Cursors are opaque to callers: the last notice's creation time and id.
fn encode_cursor(notice: &ApiNotice) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{}", notice.created_at, notice.id))
}

fn decode_cursor(cursor: &str) -> Option<(Timestamp, Uuid)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    Some((parse_rfc3339(at)?, Uuid::parse_str(id).ok()?))
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(Timestamp::from)
}

fn query_problem(caller: &ApiCaller, field: &str) -> Problem {
    Problem::invalid(
        &[app::compose::FieldProblem::new(
            field,
            app::compose::Problem::Required,
        )],
        caller.locale,
    )
    .detail(format!("`{field}` is not valid."))
}

/// List notices.
///
/// The organisation's notices, oldest first, a page at a time: follow `next_cursor` until it
/// is null. New notices appear on later pages, so a caller may keep its last cursor.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "notices",
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = NoticePage),
        (status = 400, description = "A malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or cursor that is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Try again shortly", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: ApiCaller,
    uri: Uri,
) -> Result<Json<NoticePage>, Problem> {
    let query = axum::extract::Query::<ListQuery>::try_from_uri(&uri)
        .map_err(|rejection| Problem::bad_request(rejection.body_text()))?
        .0;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid(
            &[app::compose::FieldProblem::new(
                "limit",
                app::compose::Problem::OutOfRange {
                    min: 1,
                    max: MAX_PAGE as u32,
                },
            )],
            caller.locale,
        ));
    }
    let created_from = match query.created_after.as_deref() {
        Some(text) => {
            Some(parse_rfc3339(text).ok_or_else(|| query_problem(&caller, "created_after"))?)
        }
        None => None,
    };
    let after = match query.cursor.as_deref() {
        Some(cursor) => {
            Some(decode_cursor(cursor).ok_or_else(|| query_problem(&caller, "cursor"))?)
        }
        None => None,
    };
    let organisation = caller.actor.organisation_id;
    // One more than asked tells whether there is a next page.
    let found = state
        .store
        .search_notices(&NoticeQuery {
            organisation_id: organisation,
            text: None,
            lookups: Vec::new(),
            notice_type: query.notice_type.map(|t| t.as_str().to_string()),
            status: query.status,
            needs_attention: false,
            created_from,
            created_before: None,
            oldest_first: true,
            after,
            before: None,
            limit: limit + 1,
        })
        .await
        .map_err(|e| unavailable(e, "notices"))?;
    let more = found.len() as i64 > limit;
    let mut notices = Vec::new();
    for notice in found.into_iter().take(limit as usize) {
        if let Some(read) = read_notice(&state, &caller, notice.id).await? {
            notices.push(read);
        }
    }
    let entry = AuditEntry::new(AuditAction::NoticesListed)
        .by(&caller.actor)
        .details(json!({ "api_key": caller.key.id, "count": notices.len() }));
    state.audit.record(entry).await.map_err(|error| {
        tracing::error!(%error, "could not audit an API list");
        Problem::unavailable()
    })?;
    let next_cursor = more.then(|| notices.last().map(encode_cursor)).flatten();
    Ok(Json(NoticePage {
        notices,
        next_cursor,
    }))
}

/// Queue a notice.
///
/// Checked as the compose page checks it (every problem at once), then queued for Suomi.fi
/// exactly once. `Idempotency-Key` is required: repeating a request with the same key and
/// body queues nothing new and answers with the notice queued the first time, as it is now
/// (`Idempotent-Replayed: true`; its warnings were given with the first answer), also while the
/// first request is still running; the same key with another body is refused (422).
#[utoipa::path(
    post,
    path = "/api/v1/notices",
    tag = "notices",
    params(("Idempotency-Key" = String, Header, description = "1–128 visible ASCII characters, unique per notice (a UUID will do)")),
    request_body = NewNotice,
    responses(
        (status = 201, description = "Queued (or queued before under this key)", body = ApiNotice,
            headers(("Location" = String, description = "The notice"))),
        (status = 400, description = "No Idempotency-Key or not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Field problems, or the key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Try again shortly", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<ApiState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    queue_once(&state, &caller, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The notice is its own idempotency record: it keeps the key (as its compose key) and the
/// request's fingerprint in the transaction that queues it, so a repeat finds it and answers
/// with it as it is now, and no answer is written beside it.
async fn queue_once(
    state: &ApiState,
    caller: &ApiCaller,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Problem> {
    let KeyedRequest {
        key,
        request,
        sha256,
        ..
    } = KeyedRequest::<NewNotice>::read(headers, body)?;
    let (notice, replayed) = match queued_under(state, caller, &key).await? {
        Some(notice_id) => (replay(state, caller, notice_id, &sha256).await?, true),
        None => queue(state, caller, &key, request, sha256).await?,
    };
    let body = serde_json::to_string(&notice).map_err(|e| unavailable(e, "a notice"))?;
    Ok(Answer {
        status: StatusCode::CREATED,
        body,
    }
    .into_response(replayed, "/api/v1/notices"))
}

/// The notice queued under the key, if any.
async fn queued_under(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
) -> Result<Option<Uuid>, Problem> {
    let Some(account) = caller.actor.user_id() else {
        return Ok(None);
    };
    state
        .store
        .notice_by_idempotency_key(caller.actor.organisation_id, account, &key.for_notice())
        .await
        .map_err(|e| unavailable(e, "a notice"))
}

/// The answer to a repeat: the notice queued under the key as it is now, when this body
/// queued it; another body's is a refusal. One queued before fingerprints were kept (none
/// recorded) is taken as this request's. A repeat found before composing and the loser of
/// the race to queue both answer here.
async fn replay(
    state: &ApiState,
    caller: &ApiCaller,
    notice_id: Uuid,
    sha256: &str,
) -> Result<ApiNotice, Problem> {
    let notice = state
        .store
        .notice(caller.actor.organisation_id, notice_id)
        .await
        .map_err(|e| unavailable(e, "a notice"))?
        .ok_or_else(Problem::unavailable)?;
    match &notice.request_sha256 {
        Some(queued_by) if queued_by != sha256 => Err(super::idempotency::key_reused()),
        _ => with_deliveries(state, caller, notice).await,
    }
}

/// Queues the notice; `true` when a request with this key queued it meanwhile.
async fn queue(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
    request: NewNotice,
    request_sha256: String,
) -> Result<(ApiNotice, bool), Problem> {
    let draft = request.into_draft(key, caller.key.service_id);
    let queued = state
        .compose
        .compose_request(&caller.actor, draft, Some(request_sha256.clone()))
        .await
        .map_err(|error| Problem::from_app_error(error, caller.locale))?;
    if queued.already_queued {
        // Queued under this key by a request still running.
        return Ok((
            replay(state, caller, queued.notice_id, &request_sha256).await?,
            true,
        ));
    }
    let mut notice = read_notice(state, caller, queued.notice_id)
        .await?
        .ok_or_else(Problem::unavailable)?;
    notice.warnings = queued
        .warnings
        .iter()
        .map(|warning| ApiWarning {
            field: warning.field.clone(),
            code: serde_json::to_value(warning.warning)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        })
        .collect();
    Ok((notice, false))
}

/// Download a notice's paper letter.
#[utoipa::path(
    get,
    path = "/api/v1/notices/{id}/letter.pdf",
    tag = "notices",
    params(("id" = String, Path, description = "The notice's id")),
    responses(
        (status = 200, description = "The letter as rendered when queued", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Withheld (turvakielto)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notice or letter", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn letter(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id, "notice")?;
    hand_out(&state, &caller, id, KeptDocument::Letter).await
}

/// Download one of a notice's attachments.
#[utoipa::path(
    get,
    path = "/api/v1/notices/{id}/attachments/{position}",
    tag = "notices",
    params(
        ("id" = String, Path, description = "The notice's id"),
        ("position" = i32, Path, description = "The attachment's position, from 0"),
    ),
    responses(
        (status = 200, description = "The file as kept", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Withheld (turvakielto)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notice or attachment", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn attachment(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path((id, position)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let id = parse_id(&id, "notice")?;
    let position = position
        .parse::<i32>()
        .map_err(|_| Problem::not_found("attachment"))?;
    hand_out(&state, &caller, id, KeptDocument::Attachment(position)).await
}

async fn hand_out(
    state: &ApiState,
    caller: &ApiCaller,
    id: Uuid,
    which: KeptDocument,
) -> Result<Response, Problem> {
    let file = state
        .documents
        .kept_document(&caller.actor, id, which)
        .await
        .map_err(|error| Problem::from_app_error(error, caller.locale))?;
    Ok(crate::notices::documents::download(
        file.bytes,
        &file.filename,
        &file.media_type,
    ))
}

/// Send a delivery that needs attention again.
///
/// After its cause was fixed (e.g. the recipient's mailbox became active). Safe: Suomi.fi sees
/// the same externalId and never makes a second message.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/retry",
    tag = "notices",
    params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "Queued again; the notice as it is now", body = ApiNotice),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery in the key's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It does not need attention", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn retry(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiNotice>, Problem> {
    act(&state, &caller, &id, DeliveryAct::Retry).await
}

/// Re-serve a delivery on paper.
///
/// For a verifiable electronic delivery the recipient did not acknowledge in time: the same
/// documents go by post as a new delivery (once; asked again, the same one).
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/reserve-on-paper",
    tag = "notices",
    params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The re-serve is queued; the notice as it is now", body = ApiNotice),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery in the key's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was not flagged as unacknowledged", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reserve_on_paper(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiNotice>, Problem> {
    act(&state, &caller, &id, DeliveryAct::ReserveOnPaper).await
}

enum DeliveryAct {
    Retry,
    ReserveOnPaper,
}

/// One of the notice page's actions on a delivery of the key's organisation; the notice as
/// it is afterwards.
async fn act(
    state: &ApiState,
    caller: &ApiCaller,
    raw_id: &str,
    action: DeliveryAct,
) -> Result<Json<ApiNotice>, Problem> {
    let id = parse_id(raw_id, "delivery")?;
    let notice_id = own_delivery(state, caller, id).await?.notice_id;
    let done = match action {
        DeliveryAct::Retry => state.views.retry_delivery(&caller.actor, id).await,
        DeliveryAct::ReserveOnPaper => state
            .views
            .reserve_on_paper(&caller.actor, id)
            .await
            .map(|_| ()),
    };
    done.map_err(|error| state_conflict(error, caller))?;
    current(state, caller, notice_id).await
}

/// An action the delivery's state does not allow now is a conflict with that state (409),
/// its field problem saying which.
fn state_conflict(error: app::error::AppError, caller: &ApiCaller) -> Problem {
    let mut problem = Problem::from_app_error(error, caller.locale);
    if problem.status == StatusCode::UNPROCESSABLE_ENTITY.as_u16() {
        problem.status = StatusCode::CONFLICT.as_u16();
        problem.kind = "/problems/conflict".into();
        problem.title = "Not in a state that allows this".into();
    }
    problem
}

async fn own_delivery(state: &ApiState, caller: &ApiCaller, id: Uuid) -> Result<Delivery, Problem> {
    state
        .store
        .delivery(id)
        .await
        .map_err(|e| unavailable(e, "a delivery"))?
        .filter(|delivery| delivery.organisation_id == caller.actor.organisation_id)
        .ok_or_else(|| Problem::not_found("delivery"))
}

async fn current(
    state: &ApiState,
    caller: &ApiCaller,
    notice_id: Uuid,
) -> Result<Json<ApiNotice>, Problem> {
    read_notice(state, caller, notice_id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("notice"))
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, Bytes};
    use axum::extract::rejection::BytesRejection;
    use axum::http::Request;
    use axum::response::IntoResponse;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_body_over_the_limit_is_a_problem_not_a_bare_status() {
        let router = axum::Router::new()
            .route(
                "/",
                axum::routing::post(|body: Result<Bytes, BytesRejection>| async move {
                    match body {
                        Ok(_) => "read".into_response(),
                        Err(rejection) => crate::api::body::body_problem(rejection).into_response(),
                    }
                }),
            )
            .layer(axum::extract::DefaultBodyLimit::max(16));
        let send = |bytes: usize| {
            router.clone().oneshot(
                Request::post("/")
                    .body(Body::from(vec![b'x'; bytes]))
                    .unwrap(),
            )
        };
        let refused = send(17).await.unwrap();
        assert_eq!(refused.status(), 413);
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(send(16).await.unwrap().status(), 200);
    }
}
