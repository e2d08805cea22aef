//! `POST /api/v1/documents`: a file to attach to notices, as the pages upload it (same types,
//! size limit, PDF check, storage by hash, audit), sent as multipart (`file`) or as the raw
//! body with its name in `?filename=`.

use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::ApiCaller;
use super::problem::Problem;
use super::ApiState;
use crate::notices::documents::UploadRefusal;

/// A document kept for notices: name it in a notice's `attachments` by its id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiDocument {
    pub id: Uuid,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes as kept.
    pub sha256: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for a raw body (`päätös.pdf`); its extension must match the type.
    pub filename: Option<String>,
}

/// The multipart form: one part named `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload a document.
///
/// PDF, JPEG, PNG, plain text and Office files, at most the configured size (10 MB by
/// default). A PDF must be one (it may be printed). The same bytes uploaded twice are kept once.
#[utoipa::path(
    post,
    path = "/api/v1/documents",
    tag = "documents",
    params(UploadQuery),
    request_body(content(
        (UploadForm = "multipart/form-data"),
        (String = "application/octet-stream"),
    )),
    responses(
        (status = 201, description = "Kept", body = ApiDocument),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type Suomi.fi does not take", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty, misnamed or not a PDF", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    State(state): State<ApiState>,
    caller: ApiCaller,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Response {
    let max_mb = state.documents.max_upload_mb();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (filename, declared, bytes) = if content_type.starts_with("multipart/form-data") {
        match file_part(&state, request, caller.locale).await {
            Ok(found) => found,
            Err(problem) => return problem.into_response(),
        }
    } else {
        let Some(filename) = query.filename.filter(|name| !name.trim().is_empty()) else {
            return field_problem(&caller, app::compose::Problem::Required, "filename");
        };
        let limit = state.documents.limits.max_upload_bytes;
        let Ok(bytes) = axum::body::to_bytes(request.into_body(), limit).await else {
            return Problem::payload_too_large(max_mb).into_response();
        };
        let declared = (!content_type.is_empty()).then_some(content_type);
        (filename, declared, bytes.to_vec())
    };
    match state
        .documents
        .keep_upload(&caller.actor, &filename, declared.as_deref(), &bytes)
        .await
    {
        Ok(upload) => (
            StatusCode::CREATED,
            Json(ApiDocument {
                id: upload.id,
                filename: upload.filename,
                media_type: upload.media_type,
                size_bytes: upload.size_bytes,
                sha256: upload.sha256,
            }),
        )
            .into_response(),
        Err(UploadRefusal::Problem(status, found)) => {
            let mut problem = Problem::invalid(
                &[app::compose::FieldProblem::new("file", found)],
                caller.locale,
            );
            problem.status = status.as_u16();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                problem.kind = "/problems/payload-too-large".into();
            } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                problem.kind = "/problems/unsupported-media-type".into();
            }
            problem.into_response()
        }
        Err(UploadRefusal::Internal(error)) => {
            Problem::from_app_error(error, caller.locale).into_response()
        }
    }
}

fn field_problem(caller: &ApiCaller, problem: app::compose::Problem, field: &str) -> Response {
    Problem::invalid(
        &[app::compose::FieldProblem::new(field, problem)],
        caller.locale,
    )
    .into_response()
}

/// The `file` part: its name, declared type and bytes.
async fn file_part(
    state: &ApiState,
    request: Request,
    locale: app::i18n::Locale,
) -> Result<(String, Option<String>, Vec<u8>), Problem> {
    let max_mb = state.documents.max_upload_mb();
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| Problem::bad_request(rejection.body_text()))?;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let filename = field.file_name().unwrap_or_default().to_string();
                let declared = field.content_type().map(str::to_string);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| Problem::payload_too_large(max_mb))?;
                return Ok((filename, declared, bytes.to_vec()));
            }
            Ok(Some(_)) => continue,
            Ok(None) => {
                return Err(Problem::invalid(
                    &[app::compose::FieldProblem::new(
                        "file",
                        app::compose::Problem::Required,
                    )],
                    locale,
                ))
            }
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Problem::payload_too_large(max_mb))
            }
            Err(error) => return Err(Problem::bad_request(error.body_text())),
        }
    }
}
