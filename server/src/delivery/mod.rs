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
    stop: tokio::sync::watch::Receiver<bool>,
    what: &str,
    pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    every_as_leader(&Leader::alone(), what, interval, stop, what, pass).await
}

/// Which instance runs a loop that is one per installation (reading Suomi.fi's feeds, the
/// acknowledgement watch, forwarding, password rotation). Each loop has its own lease in the
/// database; its holder renews it every pass, and when the holder stops renewing (a crash, a
/// lost network) another instance takes over once it lapses. The loops' writes are idempotent
/// besides (unique keys, compare-and-set), so a pass that overlaps a takeover doubles nothing;
/// one leader keeps them from doubling their calls to Suomi.fi and from racing a password change.
#[derive(Clone)]
pub struct Leader {
    queue: Option<std::sync::Arc<dyn crate::store::JobQueue>>,
    holder: String,
}

impl Leader {
    pub fn new(
        queue: std::sync::Arc<dyn crate::store::JobQueue>,
        holder: impl Into<String>,
    ) -> Self {
        Self {
            queue: Some(queue),
            holder: holder.into(),
        }
    }

    /// Always leads: one instance by definition (tests, tools).
    pub fn alone() -> Self {
        Self {
            queue: None,
            holder: "alone".into(),
        }
    }

    /// Whether this instance runs `lease`'s next pass; held for three passes (at least 30 s),
    /// so a leader that misses one pass keeps it.
    async fn leads(&self, lease: &str, interval: std::time::Duration) -> bool {
        let Some(queue) = &self.queue else {
            return true;
        };
        let now = crate::store::Timestamp::now();
        let hold_for = (interval * 3).max(std::time::Duration::from_secs(30));
        let until = now + time::Duration::try_from(hold_for).unwrap_or(time::Duration::HOUR);
        match queue.hold_lease(lease, &self.holder, now, until).await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, lease, "could not renew a leader lease");
                false
            }
        }
    }

    /// A graceful stop hands every lease on at once.
    pub async fn step_down(&self) {
        if let Some(queue) = &self.queue {
            if let Err(error) = queue.release_leases(&self.holder).await {
                tracing::warn!(%error, "could not release the leader leases");
            }
        }
    }
}

/// `every`, on the instance that holds `lease` only; the others wait their turn.
pub async fn every_as_leader<F, Fut, E>(
    leader: &Leader,
    lease: &str,
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
        if leader.leads(lease, interval).await {
            if let Err(error) = pass().await {
                tracing::warn!(%error, "{what} failed; trying again");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}
