//! The one error type that crosses the server-function boundary.
//!
//! It carries codes, never sentences: the page turns each into text in the user's language.
//! Nothing in it may hold personal data, because a form posted without wasm gets the error
//! back in the redirect's query string.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("not allowed for this role")]
    Forbidden,
    #[error("sign-in refused: {0:?}")]
    LoginRefused(LoginRefusal),
    /// The input is wrong; nothing was changed. One entry per field and problem.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<crate::compose::FieldProblem>),
    #[error("not found")]
    NotFound,
    /// Too busy right now (e.g. every password check is in use): try again after a moment.
    #[error("busy, try again in {retry_after_seconds} s")]
    Unavailable { retry_after_seconds: u32 },
    /// Unexpected failure; details are in the server log under `reference`.
    #[error("internal error, reference {reference}")]
    Internal { reference: String },
    #[error("{0}")]
    Transport(ServerFnErrorErr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginRefusal {
    MissingFields,
    InvalidCredentials,
    AccountLocked,
    TooManyAttemptsFromAddress,
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value)
    }
}

/// How the server tells a passing failure from an unexpected one: the app crate cannot name
/// the server's error types, so the server hands it a test for them at start.
#[cfg(feature = "ssr")]
static PASSING_FAILURE: std::sync::OnceLock<fn(&dyn std::any::Any) -> bool> =
    std::sync::OnceLock::new();

/// Sets the test `AppError::internal` applies (once per process; later calls change nothing).
#[cfg(feature = "ssr")]
pub fn recognise_passing_failures(is_passing: fn(&dyn std::any::Any) -> bool) {
    let _ = PASSING_FAILURE.set(is_passing);
}

impl AppError {
    /// An unexpected failure: logs the cause with a short reference the user can quote to
    /// support, and returns only the reference.
    ///
    /// A cause the server recognises as passing (its database unreachable for a moment) is
    /// `Unavailable` instead: the user is told nothing changed and to try again, not given a
    /// reference to report.
    #[cfg(feature = "ssr")]
    pub fn internal<E: std::fmt::Display + 'static>(cause: E) -> Self {
        if PASSING_FAILURE
            .get()
            .is_some_and(|is_passing| is_passing(&cause))
        {
            tracing::warn!(error = %cause, "unavailable for a moment");
            return AppError::Unavailable {
                retry_after_seconds: 5,
            };
        }
        let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
        tracing::error!(%reference, error = %cause, "internal error");
        AppError::Internal { reference }
    }

    /// The HTTP status a fetch from the wasm front end should see.
    #[cfg(feature = "ssr")]
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::LoginRefused(LoginRefusal::TooManyAttemptsFromAddress) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::LoginRefused(_) => StatusCode::UNAUTHORIZED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Transport(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// The error as a sentence in the current language.
#[component]
pub fn ErrorText(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    move || match &error {
        AppError::Unauthenticated => t_string!(i18n, errors.unauthenticated).to_string(),
        AppError::Forbidden => t_string!(i18n, errors.forbidden_body).to_string(),
        AppError::LoginRefused(LoginRefusal::MissingFields) => {
            t_string!(i18n, login.missing_fields).to_string()
        }
        AppError::LoginRefused(LoginRefusal::InvalidCredentials) => {
            t_string!(i18n, login.invalid_credentials).to_string()
        }
        AppError::LoginRefused(LoginRefusal::AccountLocked) => {
            t_string!(i18n, login.locked).to_string()
        }
        AppError::LoginRefused(LoginRefusal::TooManyAttemptsFromAddress) => {
            t_string!(i18n, login.throttled).to_string()
        }
        AppError::Invalid(_) => t_string!(i18n, problems.invalid).to_string(),
        AppError::NotFound => t_string!(i18n, errors.not_found_title).to_string(),
        AppError::Unavailable { .. } => t_string!(i18n, errors.busy).to_string(),
        AppError::Internal { reference } => {
            t_string!(i18n, errors.internal, reference = reference.clone()).to_string()
        }
        AppError::Transport(_) => t_string!(i18n, errors.connection).to_string(),
    }
}

/// Gives the error its HTTP status for fetch calls. A form posted without wasm must keep the
/// redirect leptos_axum gives it (back to the form, error in the query), so it is left alone.
#[cfg(feature = "ssr")]
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let wants_html = use_context::<axum::http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|accept| accept.to_str().ok())
                    .map(|accept| accept.contains("text/html"))
            })
            .unwrap_or(false);
        if !wants_html {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(error.status());
                if let AppError::Unavailable {
                    retry_after_seconds,
                } = error
                {
                    if let Ok(value) =
                        axum::http::HeaderValue::from_str(&retry_after_seconds.to_string())
                    {
                        response.insert_header(axum::http::header::RETRY_AFTER, value);
                    }
                }
            }
        }
    }
    result
}
