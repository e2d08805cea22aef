//! A faithful simulator of the Suomi.fi Messages REST API: a real HTTP server that checks
//! bearer tokens, validates every request against the documented schema and limits, answers
//! with the documented status codes and error bodies, and plays out each message's events over
//! simulated time. Controlled under `/__sim/` (faults, latency, clock, mailboxes, counters).
//!
//! Used by `make run` (in-process), the tests and benchmarks, and on its own as the
//! `suomifi-sim` binary; any correct client of the real API should work against it.

mod api;
mod control;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use state::{Behaviour, Faults, PaperOutcome, SimConfig};

/// The API routes and the control routes on one router.
pub fn router(config: SimConfig) -> Router {
    // Room above the 10 MiB upload limit, so an oversized file gets the service's own 413.
    let body_limit = config.limits.max_upload_bytes + 1024 * 1024;
    let state: api::Shared = Arc::new(Mutex::new(state::SimState::new(config)));

    let api = Router::new()
        .route("/v1/token", post(api::token))
        .route("/v1/change-password", post(api::change_password))
        .route("/v2/attachments", post(api::upload_attachment))
        .route("/v2/messages", post(api::send_multichannel))
        .route("/v2/messages/electronic", post(api::send_electronic))
        .route("/v2/paper-mail-without-id", post(api::send_paper))
        .route("/v1/messages/id", get(api::message_id_by_external_id))
        .route("/v1/mailboxes/active", post(api::active_mailboxes))
        .route("/v2/events", get(api::events))
        .route("/v2/messages/{message_id}", get(api::citizen_message))
        .route(
            "/v1/attachments/{attachment_id}",
            get(api::citizen_attachment),
        )
        .layer(from_fn_with_state(
            state.clone(),
            control::count_and_inject_faults,
        ))
        .layer(DefaultBodyLimit::max(body_limit));

    let control = Router::new()
        .route("/__sim/counters", get(control::counters))
        .route("/__sim/counters/reset", post(control::reset_counters))
        .route("/__sim/messages", get(control::messages))
        .route("/__sim/faults", post(control::set_faults))
        .route("/__sim/faults", delete(control::clear_faults))
        .route("/__sim/mailboxes", post(control::set_mailboxes))
        .route("/__sim/behaviours", post(control::set_behaviours))
        .route("/__sim/clock", get(control::clock))
        .route("/__sim/clock/advance", post(control::advance_clock))
        .route("/__sim/tokens/expire", post(control::expire_tokens))
        .route(
            "/__sim/accounts",
            get(control::accounts).post(control::add_account),
        )
        .route("/__sim/citizen-messages", post(control::citizen_writes));

    api.merge(control).with_state(state)
}

/// A simulator serving in the background of this process.
pub struct RunningSimulator {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSimulator {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a simulator on `address` (port 0 picks a free one).
pub async fn spawn(config: SimConfig, address: SocketAddr) -> std::io::Result<RunningSimulator> {
    let listener = TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let app = router(config);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the Suomi.fi simulator stopped");
        }
    });
    Ok(RunningSimulator { address, task })
}
