//! `GET /metrics` in Prometheus text format (metrics + metrics-exporter-prometheus), on its
//! own listener (`TIEDOKSI_METRICS_ADDR`), never the public port: requests by route, method
//! and status with their latency, and — read from the database at each scrape, so every
//! instance tells the same truth — the outbox by state, the oldest pending job's wait and the
//! deliveries by status.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::{Store, Timestamp};

/// Seconds: a page or an API call, from a millisecond to the slowest compose.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process's one recorder (several applications in one test process share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(
                    "tiedoksi_http_request_duration_seconds".into(),
                ),
                &LATENCY_BUCKETS,
            )
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already");
        }
        handle
    })
}

/// Counts and times every routed request by its route (`/notices/{id}`, never the id).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "tiedoksi_http_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "tiedoksi_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// Reads what the database knows into gauges, then writes everything out.
async fn scrape(State(store): State<Arc<dyn Store>>) -> Response {
    match store.job_counts().await {
        Ok(counts) => {
            for (state, count) in [
                ("pending", counts.pending),
                ("running", counts.running),
                ("done", counts.done),
                ("failed", counts.failed),
            ] {
                metrics::gauge!("tiedoksi_outbox_jobs", "state" => state).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics could not count the outbox"),
    }
    match store.oldest_pending_job().await {
        Ok(oldest) => {
            let waited = oldest
                .map(|due| {
                    (Timestamp::now().as_offset_date_time() - due.as_offset_date_time())
                        .as_seconds_f64()
                        .max(0.0)
                })
                .unwrap_or(0.0);
            metrics::gauge!("tiedoksi_outbox_oldest_pending_seconds").set(waited);
        }
        Err(error) => tracing::warn!(%error, "metrics could not read the oldest job"),
    }
    match store.delivery_status_counts().await {
        Ok(counts) => {
            for (status, count) in counts {
                metrics::gauge!("tiedoksi_deliveries", "status" => status).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics could not count deliveries"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

/// The metrics listener's router.
pub fn router(store: Arc<dyn Store>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(store)
}
