//! Reading a request's body at the API's edge: its size, its type and its JSON, each refused
//! as a problem the caller can act on.

use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};

use super::problem::Problem;

/// A body that could not be read: too large (413) or cut short (400).
pub fn body_problem(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Too large",
        )
        .detail("The body is larger than the API takes.")
    } else {
        Problem::bad_request(rejection.body_text())
    }
}

/// The body as JSON: 415 when it says it is something else, 400 when it is not JSON at all.
pub fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !(media.eq_ignore_ascii_case("application/json")
        || media.to_ascii_lowercase().ends_with("+json"))
    {
        return Err(Problem::unsupported_media_type("application/json"));
    }
    serde_json::from_slice(body)
        .map_err(|error| Problem::bad_request(format!("The body is not JSON: {error}.")))
}

/// The JSON as the request type; a field of the wrong shape is a field problem.
pub fn parse_fields<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "The request has problems",
        )
        .detail("Nothing was changed. See `errors`.");
        problem.errors = vec![super::problem::FieldError {
            field: if field == "." { String::new() } else { field },
            code: "malformed".into(),
            message: error.inner().to_string(),
        }];
        problem
    })
}
