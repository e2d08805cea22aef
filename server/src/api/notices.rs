//! `/api/v1/notices`: what a case-management system reads of its organisation's notices.
//! Another organisation's notice is not found; every read is on record under the key's name.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::caller::ApiCaller;
use super::problem::Problem;
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{Delivery, Notice, Store};

#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
    pub pace: Arc<super::caller::ApiRateLimit>,
}

/// A notice as the API shows it: no body or documents yet, no identity codes ever (masked).
#[derive(Debug, Serialize)]
pub struct ApiNotice {
    pub id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    pub language: String,
    pub verifiable: bool,
    /// RFC 3339.
    pub created_at: String,
    /// Suomi.fi's service id it went through.
    pub service_id: String,
    pub deliveries: Vec<ApiDelivery>,
}

#[derive(Debug, Serialize)]
pub struct ApiDelivery {
    pub id: Uuid,
    pub recipient_name: String,
    /// `150680-****`, a business ID, or none.
    pub recipient_id_masked: Option<String>,
    pub status: String,
    pub requested_mode: String,
    pub decided_mode: String,
    /// `electronic` or `paper`, once known.
    pub channel: Option<String>,
    pub suomifi_message_id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    pub legal_rule: Option<String>,
    pub needs_attention: Option<String>,
}

fn api_notice(notice: Notice, deliveries: Vec<Delivery>) -> ApiNotice {
    ApiNotice {
        id: notice.id,
        notice_type: notice.notice_type,
        case_reference: notice.case_reference,
        title: notice.title,
        language: notice.language,
        verifiable: notice.verifiable,
        created_at: notice.created_at.to_rfc3339(),
        service_id: notice.service_id,
        deliveries: deliveries
            .into_iter()
            .map(|delivery| ApiDelivery {
                id: delivery.id,
                recipient_name: delivery.recipient_name,
                recipient_id_masked: delivery.identity_masked,
                status: delivery.status.as_str().to_string(),
                requested_mode: delivery.requested_mode.as_str().to_string(),
                decided_mode: delivery.decided_mode.as_str().to_string(),
                channel: delivery.channel_taken,
                suomifi_message_id: delivery.suomifi_message_id,
                deemed_receipt: delivery.deemed_receipt,
                appeal_deadline: delivery.appeal_deadline,
                legal_rule: delivery.legal_rule,
                needs_attention: delivery.needs_attention_reason,
            })
            .collect(),
    }
}

/// `GET /api/v1/notices/{id}`.
pub async fn notice(
    State(state): State<ApiState>,
    client_ip: Option<Extension<app::auth::ssr::ClientIp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ip = client_ip.map(|Extension(ip)| ip.0).unwrap_or_default();
    let caller = match ApiCaller::from_headers(&state.store, &state.pace, &headers, ip).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return Problem::not_found("notice").into_response();
    };
    let organisation = caller.actor.organisation_id;
    let found = match state.store.notice(organisation, id).await {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "could not read a notice for the API");
            return Problem::unavailable().into_response();
        }
    };
    let Some(notice) = found else {
        return Problem::not_found("notice").into_response();
    };
    let deliveries = match state.store.deliveries(organisation, id).await {
        Ok(deliveries) => deliveries,
        Err(error) => {
            tracing::error!(%error, "could not read deliveries for the API");
            return Problem::unavailable().into_response();
        }
    };
    // On record before it is answered.
    let entry = AuditEntry::new(AuditAction::NoticeViewed)
        .by(&caller.actor)
        .subject("notice", id)
        .details(json!({ "api_key": caller.key.id }));
    if let Err(error) = state.audit.record(entry).await {
        tracing::error!(%error, "could not audit an API read");
        return Problem::unavailable().into_response();
    }
    Json(api_notice(notice, deliveries)).into_response()
}
