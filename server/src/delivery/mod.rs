//! Getting notices to Suomi.fi: the outbox worker, its retry policy and the send job, and the events
//! poller.

pub mod events;
pub mod legal;
pub mod replies;
pub mod retry;
pub mod send;
pub mod watch;
pub mod worker;

/// Runs `pass` every `interval` until `stop` turns true; a failed pass is logged as `what`
/// and the next one tries again.
pub async fn every<F, Fut, E>(
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    what: &str,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    while !*stop.borrow() {
        if let Err(error) = pass().await {
            tracing::warn!(%error, "{what} failed; trying again");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}
