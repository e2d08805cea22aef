//! The acknowledgement watch. A verifiable electronic notice the recipient has not
//! acknowledged within 7 days of its arrival in the mailbox (Suomi.fi's "Electronic message
//! created") must be served by post against a receipt
//! (asiointilaki 18 §); Suomi.fi does not do it. The watch flags such deliveries, and when the
//! organisation has chosen so, queues the paper re-serve itself; otherwise a caseworker
//! decides (`reserve_on_paper`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use time::Date;

use super::legal::finnish_date;
use crate::store::{delivery_settings, Store, StoreError, Timestamp};
use crate::suomifi::model::EventKind;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchOutcome {
    pub flagged: usize,
    pub reserved: usize,
}

pub struct AcknowledgementWatch {
    pub store: Arc<dyn Store>,
    pub acknowledgement_days: i64,
}

/// How many overdue candidates one pass looks at; the next pass takes the rest.
const BATCH: i64 = 500;

/// Whether the acknowledgement period has run out by `today`: the sending day is not counted
/// (laki 150/1930 2 §), and the recipient has the whole last day.
pub fn overdue(submitted: Date, today: Date, days: i64) -> bool {
    today > submitted + time::Duration::days(days)
}

impl AcknowledgementWatch {
    /// One pass as of `as_of`, in Finnish calendar days. What the pass records is stamped
    /// with the real time; flagging and the automatic re-serve are one transaction.
    pub async fn run_once(&self, as_of: Timestamp) -> Result<WatchOutcome, StoreError> {
        let today = finnish_date(as_of.as_offset_date_time());
        // Every delivery overdue by days was submitted at least this long ago.
        let candidates_before = as_of - time::Duration::days(self.acknowledgement_days);
        let mut outcome = WatchOutcome::default();
        let mut auto_reserve: HashMap<Uuid, bool> = HashMap::new();
        let mut after = None;
        loop {
            let candidates = self
                .store
                .unacknowledged_verifiable(candidates_before, after, BATCH)
                .await?;
            let Some(last) = candidates.last() else {
                break;
            };
            after = last.submitted_at.map(|at| (at, last.id));
            let full = candidates.len() as i64 == BATCH;
            for delivery in candidates {
                // The 7 days run from when the message reached the mailbox, which Suomi.fi
                // tells in its "Electronic message created" event; until that event is here,
                // from our submit (earlier: never later than the law allows).
                let Some(arrived) = self.arrival(&delivery).await? else {
                    continue;
                };
                if !overdue(finnish_date(arrived), today, self.acknowledgement_days) {
                    continue;
                }
                let auto = match auto_reserve.get(&delivery.organisation_id) {
                    Some(auto) => *auto,
                    None => {
                        let settings =
                            delivery_settings(self.store.as_ref(), delivery.organisation_id)
                                .await?;
                        auto_reserve.insert(
                            delivery.organisation_id,
                            settings.auto_reserve_unacknowledged,
                        );
                        settings.auto_reserve_unacknowledged
                    }
                };
                let reserve = auto.then(Uuid::now_v7);
                if self
                    .store
                    .flag_unacknowledged(delivery.id, Timestamp::now(), reserve)
                    .await?
                {
                    outcome.flagged += 1;
                    if reserve.is_some() {
                        outcome.reserved += 1;
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(outcome)
    }

    /// When the message reached the mailbox: its "Electronic message created" event, else
    /// our submit.
    async fn arrival(
        &self,
        delivery: &crate::store::Delivery,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let created = self
            .store
            .delivery_events(delivery.id)
            .await?
            .into_iter()
            .filter(|event| {
                EventKind::from_wire(&event.event_type) == EventKind::ElectronicMessageCreated
            })
            .filter_map(|event| {
                time::OffsetDateTime::parse(
                    &event.event_time,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()
            })
            .min();
        Ok(created.or(delivery.submitted_at.map(|at| at.as_offset_date_time())))
    }

    /// Watches every `interval` until `stop` turns true.
    pub async fn run(
        self,
        interval: Duration,
        stop: watch::Receiver<bool>,
        leader: crate::delivery::Leader,
    ) {
        crate::delivery::every_as_leader(
            &leader,
            "acknowledgement_watch",
            interval,
            stop,
            "the acknowledgement watch",
            || async { self.run_once(Timestamp::now()).await.map(|_| ()) },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::overdue;
    use time::macros::date;

    #[test]
    fn seven_days_run_out_at_the_end_of_the_seventh_day_after_sending() {
        let sent = date!(2026 - 12 - 18);
        assert!(!overdue(sent, date!(2026 - 12 - 24), 7));
        assert!(
            !overdue(sent, date!(2026 - 12 - 25), 7),
            "the 25th is the last day"
        );
        assert!(overdue(sent, date!(2026 - 12 - 26), 7));
    }
}
