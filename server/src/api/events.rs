//! `GET /api/v1/events`: the organisation's change feed — every delivery history entry
//! (status changes, Suomi.fi's events, legal dates, attention, re-serves) and every citizen's
//! reply, in commit order. A case system keeps the last `next_cursor` and asks from it, so it
//! follows all its notices without polling each and never misses or repeats an entry.

use axum::extract::State;
use axum::http::Uri;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::caller::ApiCaller;
use super::problem::Problem;
use super::ApiState;
use crate::audit::{AuditAction, AuditEntry};
use crate::store::FeedEntry;

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `next_cursor` of the previous answer; none: from the beginning.
    pub cursor: Option<String>,
    /// Events per answer, 1–1000 (100).
    pub limit: Option<i64>,
}

/// One change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiEvent {
    /// Resume after this event with it as `cursor`.
    pub cursor: String,
    /// RFC 3339.
    pub occurred_at: String,
    /// `delivery.<history kind>` (`delivery.queued`, `delivery.submitted`,
    /// `delivery.suomifi_event`, `delivery.legal_dates`, `delivery.needs_attention`, …) or
    /// `reply.received`.
    #[serde(rename = "type")]
    pub kind: String,
    pub notice_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    /// For `reply.received`: the citizen's message, readable in Tiedoksi.
    pub reply_id: Option<Uuid>,
    /// What the history entry records (a status, the legal dates and their rule, …).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<ApiEvent>,
    /// Ask from here next time (the same cursor when nothing new happened).
    pub next_cursor: String,
    /// More events wait: ask again at once.
    pub more: bool,
}

fn api_event(entry: FeedEntry) -> ApiEvent {
    let kind = match (&entry.history_kind, entry.reply_id) {
        (Some(kind), _) => format!("delivery.{kind}"),
        (None, Some(_)) => "reply.received".to_string(),
        (None, None) => "unknown".to_string(),
    };
    ApiEvent {
        cursor: entry.seq.to_string(),
        occurred_at: entry.occurred_at.to_rfc3339(),
        kind,
        notice_id: entry.notice_id,
        delivery_id: entry.delivery_id,
        reply_id: entry.reply_id,
        details: entry
            .history_details
            .as_deref()
            .and_then(|details| serde_json::from_str(details).ok())
            .unwrap_or_else(|| json!({})),
    }
}

/// Follow the change feed.
///
/// The organisation's changes after `cursor`, oldest first. Keep `next_cursor` and ask from it
/// again; while `more` is true there are more at once.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(FeedQuery),
    responses(
        (status = 200, description = "The changes after the cursor", body = EventPage),
        (status = 400, description = "A malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No live API key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A cursor or limit that is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the key's pace", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Try again shortly", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn feed(
    State(state): State<ApiState>,
    caller: ApiCaller,
    uri: Uri,
) -> Result<Json<EventPage>, Problem> {
    let query = axum::extract::Query::<FeedQuery>::try_from_uri(&uri)
        .map_err(|rejection| Problem::bad_request(rejection.body_text()))?
        .0;
    let invalid = |field: &str, problem: app::compose::Problem| {
        Problem::invalid(
            &[app::compose::FieldProblem::new(field, problem)],
            caller.locale,
        )
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(invalid(
            "limit",
            app::compose::Problem::OutOfRange {
                min: 1,
                max: MAX_PAGE as u32,
            },
        ));
    }
    let after = match query.cursor.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| invalid("cursor", app::compose::Problem::Required))?,
    };
    let mut entries = state
        .store
        .change_feed(caller.actor.organisation_id, after, limit + 1)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not read the change feed");
            Problem::unavailable()
        })?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_cursor = entries
        .last()
        .map(|entry| entry.seq)
        .unwrap_or(after)
        .to_string();
    if !entries.is_empty() {
        let entry = AuditEntry::new(AuditAction::ChangeFeedRead)
            .by(&caller.actor)
            .details(json!({
                "api_key": caller.key.id,
                "after": after,
                "count": entries.len(),
            }));
        state.audit.record(entry).await.map_err(|error| {
            tracing::error!(%error, "could not audit a change feed read");
            Problem::unavailable()
        })?;
    }
    Ok(Json(EventPage {
        events: entries.into_iter().map(api_event).collect(),
        next_cursor,
        more,
    }))
}
