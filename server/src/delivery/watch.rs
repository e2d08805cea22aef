//! The acknowledgement watch. A verifiable electronic notice the recipient has not
//! acknowledged within 7 days of sending must be served by post against a receipt
//! (asiointilaki 18 §); Suomi.fi does not do it. The watch flags such deliveries, and when the
//! organisation has chosen so, queues the paper re-serve itself; otherwise a caseworker
//! decides (`reserve_on_paper`).

use std::sync::Arc;
use std::time::Duration;

use app::domain::notice::DeliverySettings;
use tokio::sync::watch;
use uuid::Uuid;

use crate::store::{Store, StoreError, Timestamp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchOutcome {
    pub flagged: usize,
    pub reserved: usize,
}

pub struct AcknowledgementWatch {
    pub store: Arc<dyn Store>,
    pub acknowledgement_days: i64,
}

impl AcknowledgementWatch {
    /// One pass as of `as_of`: overdue means submitted more than the acknowledgement period
    /// before it. What the pass records is stamped with the real time.
    pub async fn run_once(&self, as_of: Timestamp) -> Result<WatchOutcome, StoreError> {
        let cutoff = as_of - time::Duration::days(self.acknowledgement_days);
        let mut outcome = WatchOutcome::default();
        loop {
            let overdue = self.store.unacknowledged_verifiable(cutoff, 100).await?;
            if overdue.is_empty() {
                return Ok(outcome);
            }
            for delivery in overdue {
                if !self
                    .store
                    .flag_unacknowledged(delivery.id, Timestamp::now())
                    .await?
                {
                    continue;
                }
                outcome.flagged += 1;
                let settings: DeliverySettings = serde_json::from_str(
                    &self
                        .store
                        .delivery_settings(delivery.organisation_id)
                        .await?,
                )
                .unwrap_or_default();
                if settings.auto_reserve_unacknowledged
                    && self
                        .store
                        .create_reserve(delivery.id, Uuid::now_v7(), Timestamp::now())
                        .await?
                        .is_some()
                {
                    outcome.reserved += 1;
                }
            }
        }
    }

    /// Watches every `interval` until `stop` turns true.
    pub async fn run(self, interval: Duration, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            if let Err(error) = self.run_once(Timestamp::now()).await {
                tracing::warn!(%error, "the acknowledgement watch failed; trying again");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
