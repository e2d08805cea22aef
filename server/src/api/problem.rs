//! Errors of `/api/v1` as RFC 9457 problem details (`application/problem+json`): `type`,
//! `title`, `status`, `detail`, and for validation an `errors` list of `{field, code,
//! message}` with the same field codes the pages translate.

use app::compose::FieldProblem;
use app::error::AppError;
use app::i18n::Locale;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One problem of one field: the field's path in the request (`recipients[0].identity_code`),
/// a stable code (`identity_code.checksum`) and a sentence in the request's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a 429 or 503: sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// A field problem's stable code: the name the pages' translations use, with the kind of an
/// identity code, address or channel problem after a dot.
pub fn problem_code(problem: &app::compose::Problem) -> String {
    match serde_json::to_value(problem) {
        Ok(serde_json::Value::String(code)) => code,
        Ok(serde_json::Value::Object(map)) => match map.into_iter().next() {
            Some((code, serde_json::Value::String(kind))) => format!("{code}.{kind}"),
            Some((code, _)) => code,
            None => "invalid".into(),
        },
        _ => "invalid".into(),
    }
}

/// Field problems as the API names them: under `prefix` (`rows[3]`), with their code and a
/// sentence in `locale`.
pub fn field_errors(
    problems: &[FieldProblem],
    prefix: &str,
    locale: app::i18n::Locale,
) -> Vec<FieldError> {
    problems
        .iter()
        .map(|found| FieldError {
            field: if prefix.is_empty() {
                found.field.clone()
            } else {
                format!("{prefix}.{}", found.field)
            },
            code: problem_code(&found.problem),
            message: app::compose::problem_text(locale, &found.problem),
        })
        .collect()
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        Self {
            kind: format!("/problems/{code}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn too_many_requests(seconds: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
        )
        .detail(format!(
            "This key has made its requests for now; try again in {seconds} s."
        ));
        problem.retry_after = Some(seconds);
        problem
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "An API key is required",
        )
        .detail("Send `Authorization: Bearer <key>` with a live key of your organisation.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .detail(format!("No such {what} in your organisation."))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").detail(detail)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
            .detail("This key may not do that.")
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .detail(format!("Send the body as {expected}."))
    }

    pub fn payload_too_large(max_mb: u32) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Too large",
        )
        .detail(format!("At most {max_mb} MB."))
    }

    /// Validation problems, each with its field, code and a sentence in `locale`.
    pub fn invalid(problems: &[FieldProblem], locale: Locale) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "The request has problems",
        )
        .detail("Nothing was changed. See `errors`.");
        problem.errors = field_errors(problems, "", locale);
        problem
    }

    /// What an error of the shared services is at this edge.
    pub fn from_app_error(error: AppError, locale: Locale) -> Self {
        match error {
            AppError::Invalid(problems) => Self::invalid(&problems, locale),
            AppError::NotFound => Self::new(StatusCode::NOT_FOUND, "not-found", "Not found"),
            AppError::Forbidden | AppError::Unauthenticated | AppError::LoginRefused(_) => {
                Self::forbidden()
            }
            AppError::Unavailable {
                retry_after_seconds,
            } => {
                let mut problem = Self::unavailable();
                problem.retry_after = Some(u64::from(retry_after_seconds.max(1)));
                problem
            }
            AppError::Internal { reference } => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            )
            .detail(format!(
                "Something failed on our side; the log has it under reference {reference}."
            )),
            AppError::Transport(error) => Self::bad_request(error.to_string()),
        }
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
        )
        .detail("Try again shortly.")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tiedoksi\""),
            );
        }
        response
    }
}
