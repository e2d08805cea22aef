//! `GET /metrics` in Prometheus text format (metrics + metrics-exporter-prometheus), on its
//! own listener (`TIEDOKSI_METRICS_ADDR`), never the public port: requests by route, method
//! and status with their latency, and — read from the database at each scrape, so every
//! instance tells the same truth — the outbox by state, the oldest pending job's wait, the
//! deliveries by status and the services whose credentials Suomi.fi refused; and from this
//! instance, the calls to Suomi.fi by endpoint and outcome, jobs settled by kind and outcome,
//! refused credentials and how long ago the events poller last finished a pass.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(
                    "tiedoksi_suomifi_request_duration_seconds".into(),
                ),
                &LATENCY_BUCKETS,
            )
            .expect("buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already");
        }
        // Shown from the first scrape, so an alert on its increase has a starting point.
        metrics::counter!("tiedoksi_suomifi_credential_failures_total").increment(0);
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
    if let Some(age) = events_poll_age_seconds() {
        metrics::gauge!("tiedoksi_events_poll_age_seconds").set(age);
    }
    match store.all_services().await {
        Ok(services) => {
            let refused = services
                .iter()
                .filter(|service| service.last_check_ok == Some(false))
                .count();
            metrics::gauge!("tiedoksi_suomifi_services_credentials_refused").set(refused as f64);
        }
        Err(error) => tracing::warn!(%error, "metrics could not read the services"),
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

/// One outbox job settled: `done`, `retried`, `failed`, or `lost` to another worker.
pub fn job_settled(kind: &str, outcome: &'static str) {
    metrics::counter!(
        "tiedoksi_outbox_jobs_settled_total",
        "kind" => kind.to_string(),
        "outcome" => outcome
    )
    .increment(1);
}

/// A Suomi.fi path as a short, fixed label (never an id).
pub fn suomifi_endpoint(method: &axum::http::Method, path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    match (method.as_str(), path) {
        (_, "/v1/token") => "token",
        (_, "/v1/change-password") => "change_password",
        ("POST", "/v2/attachments") => "attachments",
        (_, "/v2/messages") => "multichannel",
        (_, "/v2/messages/electronic") => "electronic",
        (_, "/v2/paper-mail-without-id") => "paper",
        (_, "/v1/messages/id") => "message_id",
        (_, "/v1/mailboxes/active") => "mailboxes",
        (_, "/v2/events") => "events",
        (_, path) if path.starts_with("/v2/messages/") => "citizen_message",
        (_, path) if path.starts_with("/v1/attachments/") => "citizen_attachment",
        _ => "other",
    }
}

/// What an answer from Suomi.fi amounts to, for counting.
pub fn suomifi_outcome(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        // The idempotent resend: the message was there already, which is success.
        409 => "already_sent",
        401 | 403 => "unauthorized",
        429 => "rate_limited",
        400..=499 => "rejected",
        _ => "server_error",
    }
}

/// One call to Suomi.fi, by endpoint and outcome, with its time.
pub fn suomifi_call(endpoint: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!(
        "tiedoksi_suomifi_requests_total",
        "endpoint" => endpoint,
        "outcome" => outcome
    )
    .increment(1);
    metrics::histogram!("tiedoksi_suomifi_request_duration_seconds", "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
}

/// A document went out with an earlier upload's id instead of being uploaded again.
pub fn suomifi_upload_reused() {
    metrics::counter!("tiedoksi_suomifi_uploads_reused_total").increment(1);
}

/// Suomi.fi refused our username and password at a token request.
pub fn suomifi_credentials_refused() {
    metrics::counter!("tiedoksi_suomifi_credential_failures_total").increment(1);
}

/// When this instance's events poller last finished a pass without error (Unix seconds).
static EVENTS_POLLED_AT: AtomicI64 = AtomicI64::new(0);

/// The events poller finished a pass: the lag gauge starts from now.
pub fn events_polled() {
    EVENTS_POLLED_AT.store(
        Timestamp::now().as_offset_date_time().unix_timestamp(),
        Ordering::Relaxed,
    );
}

fn events_poll_age_seconds() -> Option<f64> {
    let polled_at = EVENTS_POLLED_AT.load(Ordering::Relaxed);
    (polled_at > 0).then(|| {
        (Timestamp::now().as_offset_date_time().unix_timestamp() - polled_at).max(0) as f64
    })
}
