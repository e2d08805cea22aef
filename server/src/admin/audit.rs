//! The audit log as admins and auditors read it: the page's rows (via `AdminBackend`) and the
//! same filtered view as CSV, streamed a page of rows at a time so a year of entries never
//! sits in memory.

use std::sync::Arc;

use app::admin::{AuditFilter, AuditRow};
use app::auth::{Actor, Role};
use app::error::AppError;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::local_time::{finnish_local, start_of_finnish_day};
use crate::store::{AuditEvent, AuditQuery, Store, Timestamp};

/// Entries a page shows.
pub const PAGE: i64 = 50;
/// Entries read from the database per chunk of the CSV.
const CSV_CHUNK: i64 = 1000;

/// A filter's date that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a date must be YYYY-MM-DD")]
pub struct DateInvalid;

fn day(text: &Option<String>) -> Result<Option<time::Date>, DateInvalid> {
    match text
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => Ok(None),
        Some(text) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(text, &format)
                .map(Some)
                .map_err(|_| DateInvalid)
        }
    }
}

/// The query a filter asks for; `Err` for a date that cannot be read.
pub fn query(
    organisation_id: Uuid,
    filter: &AuditFilter,
    limit: i64,
) -> Result<AuditQuery, DateInvalid> {
    let from = match day(&filter.from)? {
        Some(date) => Some(start_of_finnish_day(date).ok_or(DateInvalid)?),
        None => None,
    };
    let until = match day(&filter.until)? {
        Some(date) => {
            Some(start_of_finnish_day(date.next_day().ok_or(DateInvalid)?).ok_or(DateInvalid)?)
        }
        None => None,
    };
    let before = filter.before.as_deref().and_then(|cursor| {
        let (at, id) = cursor.split_once('~')?;
        let at =
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
        Some((Timestamp::from(at), Uuid::parse_str(id).ok()?))
    });
    let text = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    Ok(AuditQuery {
        organisation_id,
        actor_user_id: filter.user,
        action: text(&filter.action),
        subject_id: text(&filter.subject),
        from,
        until,
        before,
        limit,
    })
}

pub fn cursor(event: &AuditEvent) -> String {
    format!("{}~{}", event.occurred_at.to_rfc3339(), event.id)
}

pub fn row(event: AuditEvent) -> AuditRow {
    AuditRow {
        at: finnish_local(event.occurred_at),
        actor: event.actor_label.unwrap_or_default(),
        action: event.action,
        subject: match (event.subject_kind, event.subject_id) {
            (Some(kind), Some(id)) => format!("{kind} {id}"),
            (_, Some(id)) => id,
            _ => String::new(),
        },
        client_ip: event.client_ip.unwrap_or_default(),
    }
}

#[derive(Clone)]
pub struct AuditExport {
    pub store: Arc<dyn Store>,
}

/// `GET /audit.csv?<filters>`: the filtered log, oldest last like the page, streamed.
pub async fn csv(
    State(export): State<AuditExport>,
    actor: Actor,
    Query(filter): Query<AuditFilter>,
) -> Response {
    if !matches!(actor.role(), Role::Admin | Role::Auditor) {
        let error = AppError::Forbidden;
        return (error.status(), axum::Json(error)).into_response();
    }
    let Ok(first) = query(actor.organisation_id, &filter, CSV_CHUNK) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "A date must be YYYY-MM-DD.",
        )
            .into_response();
    };
    let header_row = csv_line(&[
        "occurred_at",
        "actor",
        "actor_user_id",
        "action",
        "subject_kind",
        "subject_id",
        "client_ip",
        "details",
    ]);
    let store = export.store.clone();
    let chunks =
        futures_util::stream::unfold((Some(first), Some(header_row)), move |(next, header)| {
            let store = store.clone();
            async move {
                if let Some(header) = header {
                    return Some((Ok::<_, std::io::Error>(header), (next, None)));
                }
                let query = next?;
                let events = match store.search_audit(&query).await {
                    Ok(events) => events,
                    Err(error) => return Some((Err(std::io::Error::other(error)), (None, None))),
                };
                let following = (events.len() as i64 == query.limit).then(|| AuditQuery {
                    before: events.last().map(|event| (event.occurred_at, event.id)),
                    ..query.clone()
                });
                if events.is_empty() {
                    return None;
                }
                let mut bytes = Vec::new();
                for event in events {
                    bytes.extend(csv_line(&[
                        &event.occurred_at.to_rfc3339(),
                        event.actor_label.as_deref().unwrap_or(""),
                        &event
                            .actor_user_id
                            .map(|id| id.to_string())
                            .unwrap_or_default(),
                        &event.action,
                        event.subject_kind.as_deref().unwrap_or(""),
                        event.subject_id.as_deref().unwrap_or(""),
                        event.client_ip.as_deref().unwrap_or(""),
                        &event.details,
                    ]));
                }
                Some((Ok(bytes), (following, None)))
            }
        });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// One CSV record (RFC 4180), formulas written inert: details quote what users typed.
fn csv_line(fields: &[&str]) -> Vec<u8> {
    crate::spreadsheet::record(b',', fields)
}
