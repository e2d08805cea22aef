//! The OpenAPI document as served (`/api/v1/openapi.json`) and as a page people read
//! (`/api/v1/reference`): every operation with its parameters, body and answers, rendered on
//! the server from the same document, so it works without scripts and cannot drift.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::OpenApi;

use crate::notices::preview::escape;

pub async fn openapi_json(State(document): State<Arc<OpenApi>>) -> Response {
    match document.to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => {
            tracing::error!(%error, "could not write the OpenAPI document");
            super::problem::Problem::unavailable().into_response()
        }
    }
}

pub async fn page(State(document): State<Arc<OpenApi>>) -> Html<String> {
    Html(render(
        &serde_json::to_value(document.as_ref()).unwrap_or_default(),
    ))
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(escape)
        .unwrap_or_default()
}

/// A schema's name (`#/components/schemas/ApiNotice` → `ApiNotice`) or its type.
fn schema_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "array" => {
            format!(
                "array of {}",
                schema.get("items").map(schema_name).unwrap_or_default()
            )
        }
        Some(Value::String(kind)) => escape(kind),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(escape)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => schema
            .get("oneOf")
            .or_else(|| schema.get("allOf"))
            .and_then(Value::as_array)
            .map(|options| {
                options
                    .iter()
                    .map(schema_name)
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .unwrap_or_else(|| "object".into()),
    }
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let id = format!("{method}-{path}")
        .replace(['/', '{', '}', '.'], "-")
        .replace("--", "-");
    out.push_str(&format!(
        "<section class=\"api-operation\" aria-labelledby=\"{id}\"><h3 id=\"{id}\"><code>{} {}</code> — {}</h3>",
        method.to_uppercase(),
        escape(path),
        text(op, "summary"),
    ));
    let description = text(op, "description");
    if !description.is_empty() {
        out.push_str(&format!(
            "<p>{}</p>",
            description.replace("\n\n", "</p><p>")
        ));
    }
    if let Some(parameters) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><caption>Parameters</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">In</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>");
        for parameter in parameters {
            out.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(parameter, "name"),
                text(parameter, "in"),
                if parameter.get("required") == Some(&Value::Bool(true)) {
                    "yes"
                } else {
                    "no"
                },
                text(parameter, "description"),
            ));
        }
        out.push_str("</tbody></table>");
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        out.push_str("<p>Body: ");
        let bodies: Vec<String> = content
            .iter()
            .map(|(media, body)| {
                format!(
                    "<code>{}</code> ({})",
                    escape(media),
                    body.get("schema").map(schema_name).unwrap_or_default()
                )
            })
            .collect();
        out.push_str(&bodies.join(", "));
        out.push_str("</p>");
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><caption>Answers</caption><thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Meaning</th><th scope=\"col\">Body</th></tr></thead><tbody>");
        for (status, response) in responses {
            let body = response
                .get("content")
                .and_then(Value::as_object)
                .map(|content| {
                    content
                        .iter()
                        .map(|(media, body)| {
                            format!(
                                "<code>{}</code> {}",
                                escape(media),
                                body.get("schema").map(schema_name).unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                escape(status),
                text(response, "description"),
                body
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

fn schema(out: &mut String, name: &str, schema: &Value) {
    out.push_str(&format!(
        "<section class=\"api-schema\" aria-labelledby=\"schema-{0}\"><h3 id=\"schema-{0}\">{0}</h3>",
        escape(name)
    ));
    let description = text(schema, "description");
    if !description.is_empty() {
        out.push_str(&format!("<p>{description}</p>"));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("<code>{}</code>", escape(v)))
            .collect();
        out.push_str(&format!("<p>One of: {}</p>", values.join(", ")));
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str(&format!("<table><caption>Fields of {}</caption><thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>", escape(name)));
        for (field, property) in properties {
            out.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(field),
                schema_name(property),
                if required.contains(&field.as_str()) {
                    "yes"
                } else {
                    "no"
                },
                text(property, "description"),
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

fn render(document: &Value) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Tiedoksi integration API — reference</title>\
         <link rel=\"stylesheet\" href=\"/pkg/tiedoksi.css\"></head><body>\
         <main id=\"main\" class=\"api-reference\">",
    );
    out.push_str(&format!(
        "<h1>{} <small>version {}</small></h1><p>{}</p>\
         <p>The machine-readable document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI {}).</p>",
        document.pointer("/info/title").and_then(Value::as_str).map(escape).unwrap_or_default(),
        document.pointer("/info/version").and_then(Value::as_str).map(escape).unwrap_or_default(),
        document.pointer("/info/description").and_then(Value::as_str).map(escape).unwrap_or_default(),
        document.get("openapi").and_then(Value::as_str).map(escape).unwrap_or_default(),
    ));
    out.push_str("<h2>Operations</h2>");
    if let Some(paths) = document.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    operation(&mut out, method, path, op);
                }
            }
        }
    }
    out.push_str("<h2>Types</h2>");
    if let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, found) in schemas {
            schema(&mut out, name, found);
        }
    }
    out.push_str("</main></body></html>");
    out
}
