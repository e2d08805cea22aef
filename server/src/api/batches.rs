//! `/api/v1/batches`: sending to many over the API — the same dry run and queuing as the
//! batch pages, with the rows as JSON. A batch with any bad row queues nothing (422, every
//! row's problems named `rows[<index>].<field>`); `dry_run` checks only.

use app::compose::FieldProblem;
use app::error::AppError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::caller::ApiCaller;
use super::idempotency::IdempotencyKey;
use super::notices::{NewNotice, NewRecipient};
use super::problem::{field_errors, FieldError, Problem};
use super::ApiState;
use crate::batches::{InputRow, NewBatch};

/// The most rows one request may carry; larger batches go as several.
const MAX_ROWS: usize = 10_000;

/// A notice to many: `notice` as `POST /api/v1/notices` takes it (without recipients), and
/// one row per recipient, each its own notice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchRequest {
    pub notice: NewNotice,
    pub rows: Vec<BatchRowInput>,
    /// Check only: nothing is queued (the checked batch is kept as cancelled).
    #[serde(default)]
    pub dry_run: bool,
}

/// One recipient: as a notice's recipient, with a case reference of its own if it has one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRowInput {
    pub role: app::domain::notice::RecipientRole,
    pub name: String,
    #[serde(default)]
    pub identity_code: Option<String>,
    #[serde(default)]
    pub address: Option<app::domain::notice::PostalAddress>,
    #[serde(default)]
    pub mode: app::domain::channel::DeliveryMode,
    #[serde(default)]
    pub address_protected: bool,
    #[serde(default)]
    pub content_not_for_others: bool,
    /// This row's case reference; unset: the notice's.
    #[serde(default)]
    pub case_reference: Option<String>,
}

impl std::fmt::Debug for BatchRowInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRowInput").finish_non_exhaustive()
    }
}

impl BatchRowInput {
    fn into_input(self, row_number: u64) -> InputRow {
        InputRow {
            row_number,
            recipient: NewRecipient {
                role: self.role,
                name: self.name,
                identity_code: self.identity_code,
                address: self.address,
                mode: self.mode,
                address_protected: self.address_protected,
                content_not_for_others: self.content_not_for_others,
            }
            .into_recipient(),
            case_reference: self.case_reference,
            problems: Vec::new(),
        }
    }
}

/// A batch and where it is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiBatch {
    pub id: Uuid,
    /// `checking` (its rows being checked), `checked`, `confirmed` (queued or being queued) or `cancelled`.
    pub status: String,
    pub rows_total: i64,
    pub rows_good: i64,
    /// Good rows queued as notices so far (or failed when queuing).
    pub rows_done: i64,
    /// Good rows per delivery mode.
    #[schema(value_type = Object)]
    pub modes: serde_json::Value,
    /// Rows per status (`invalid`, `ready`, `queued`, `failed`, `cancelled`) and queued rows
    /// per delivery status (`delivery:<status>`).
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    /// Problems of the common notice, and of each bad row as `rows[<index>].<field>`.
    pub errors: Vec<FieldError>,
}

async fn read_batch(state: &ApiState, caller: &ApiCaller, id: Uuid) -> Result<ApiBatch, Problem> {
    let unavailable = |error: crate::store::StoreError| {
        tracing::error!(%error, "could not read a batch for the API");
        Problem::unavailable()
    };
    let batch = state
        .store
        .batch(caller.actor.organisation_id, id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Problem::not_found("batch"))?;
    let counts = state.store.batch_counts(id).await.map_err(unavailable)?;
    let count = |key: &str| {
        counts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let notice_problems: Vec<FieldProblem> =
        serde_json::from_str(&batch.notice_problems).unwrap_or_default();
    let mut errors = field_errors(&notice_problems, "notice", caller.locale);
    let mut after = 0;
    loop {
        let rows = state
            .store
            .batch_rows(id, Some("invalid"), after, 1000)
            .await
            .map_err(unavailable)?;
        let Some(last) = rows.last() else { break };
        after = last.row_number;
        for row in &rows {
            let problems: Vec<FieldProblem> =
                serde_json::from_str(&row.problems).unwrap_or_default();
            errors.extend(field_errors(
                &problems,
                &format!("rows[{}]", row.row_number - 1),
                caller.locale,
            ));
        }
    }
    Ok(ApiBatch {
        id,
        status: batch.status.clone(),
        rows_total: batch.rows_total,
        rows_good: batch.rows_good,
        rows_done: count("queued") + count("failed"),
        modes: serde_json::from_str(&batch.modes).unwrap_or_default(),
        counts: serde_json::Value::Object(
            counts
                .iter()
                .map(|(k, n)| (k.clone(), serde_json::Value::from(*n)))
                .collect(),
        ),
        errors,
    })
}

/// Send one notice to many.
///
/// Every row is checked as a notice's recipient is; with any problem nothing is queued (422,
/// each row's problems as `rows[<index>].<field>`). Otherwise every row is queued as its own
/// notice, exactly once. `Idempotency-Key` is required, as for notices.
#[utoipa::path(
    post,
    path = "/api/v1/batches",
    tag = "batches",
    params(("Idempotency-Key" = String, Header, description = "1–128 visible ASCII characters, unique per batch")),
    request_body = NewBatchRequest,
    responses(
        (status = 200, description = "Checked only (dry_run)", body = ApiBatch),
        (status = 201, description = "Queued (or queued before under this key)", body = ApiBatch),
        (status = 400, description = "No Idempotency-Key or not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More rows than one request may carry", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Problems; nothing was queued", body = Problem, content_type = "application/problem+json"),
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
    super::idempotency::create_once(
        &state,
        &caller,
        &headers,
        body,
        "/api/v1/batches",
        async |request: NewBatchRequest, key: &IdempotencyKey, value: &serde_json::Value| {
            if request.rows.len() > MAX_ROWS {
                return Err(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Too many rows",
                )
                .detail(format!(
                    "At most {MAX_ROWS} rows a request; send the rest as another batch."
                )));
            }
            if !request.notice.recipients.is_empty() {
                return Err(Problem::invalid(
                    &[FieldProblem::new(
                        "notice.recipients",
                        app::compose::Problem::TooMany { max: 0 },
                    )],
                    caller.locale,
                ));
            }
            let rows_sha256 = super::idempotency::request_sha256(&value["rows"]);
            check_and_queue(&state, &caller, key, request, rows_sha256).await
        },
    )
    .await
}

async fn check_and_queue(
    state: &ApiState,
    caller: &ApiCaller,
    key: &IdempotencyKey,
    request: NewBatchRequest,
    rows_sha256: String,
) -> Result<(StatusCode, ApiBatch), Problem> {
    let service = state.batches.clone();
    let draft = request.notice.into_draft(key, caller.key.service_id);
    let new = NewBatch {
        draft: draft.clone(),
        filename: format!("API: {}", key.as_str()),
        file_sha256: rows_sha256,
    };
    let to_problem = |error| Problem::from_app_error(error, caller.locale);
    // A request under this key that confirmed its batch and was cut off before its answer was
    // kept (a kill, a dropped connection) made the batch already: that is the answer.
    if let Some(made) = state
        .store
        .batches_with_file(caller.actor.organisation_id, &new.file_sha256, Uuid::nil())
        .await
        .map_err(|error| to_problem(AppError::internal(error)))?
        .into_iter()
        .find(|batch| {
            batch.filename == new.filename
                && batch.created_by == caller.key.account_id
                && batch.status == "confirmed"
        })
    {
        return Ok((
            StatusCode::CREATED,
            read_batch(state, caller, made.id).await?,
        ));
    }
    let id = service
        .begin(&caller.actor, &new)
        .await
        .map_err(to_problem)?;
    let (sender, receiver) = tokio::sync::mpsc::channel(1024);
    let rows: Vec<InputRow> = request
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| row.into_input(index as u64 + 1))
        .collect();
    let feeding = tokio::spawn(async move {
        for row in rows {
            if sender.send(row).await.is_err() {
                break;
            }
        }
    });
    service
        .check_rows(&caller.actor, id, &draft, receiver, async {
            Ok(Vec::new())
        })
        .await
        .map_err(to_problem)?;
    let _ = feeding.await;
    let checked = read_batch(state, caller, id).await?;
    let clean = checked.errors.is_empty() && checked.rows_good > 0;
    if request.dry_run || !clean {
        service
            .cancel(&caller.actor, id)
            .await
            .map_err(to_problem)?;
        if !clean && !request.dry_run {
            let mut problem = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The batch has problems",
            )
            .detail("Nothing was queued. See `errors`.");
            problem.errors = checked.errors;
            return Err(problem);
        }
        return Ok((StatusCode::OK, read_batch(state, caller, id).await?));
    }
    service
        .confirm(&caller.actor, id)
        .await
        .map_err(to_problem)?;
    Ok((StatusCode::CREATED, read_batch(state, caller, id).await?))
}

/// Read a batch.
///
/// How far it is: rows queued, counts by row and delivery status, and every problem.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{id}",
    tag = "batches",
    params(("id" = String, Path, description = "The batch's id")),
    responses(
        (status = 200, description = "The batch", body = ApiBatch),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such batch in the key's organisation", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Try again shortly", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn batch(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiBatch>, Problem> {
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found("batch"))?;
    Ok(Json(read_batch(&state, &caller, id).await?))
}
