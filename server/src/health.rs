//! Probes for load balancers and orchestrators.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::store::Store;

/// The process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// The process can do its work: the database answers (else 503). The detail counts the
/// Suomi.fi services whose credentials Suomi.fi refused at the last check, so an operator's
/// monitoring sees it too, not only the admin page (which names them); the instance stays
/// ready, since the other services and everything else still work.
pub async fn readyz(State(store): State<Arc<dyn Store>>) -> impl IntoResponse {
    let unready = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": reason })),
        )
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database unreachable");
            return unready("unreachable");
        }
        Err(_) => {
            tracing::warn!("readiness: database timed out");
            return unready("timed out");
        }
    }
    // Counts only: the probe is public, which services exist and fail is not.
    let services = store.all_services().await.unwrap_or_default();
    let failing = services
        .iter()
        .filter(|service| service.last_check_ok == Some(false))
        .count();
    (
        StatusCode::OK,
        Json(json!({
            "status": "ready",
            "database": "ok",
            "suomifi_services": services.len(),
            "suomifi_failing": failing,
        })),
    )
}
