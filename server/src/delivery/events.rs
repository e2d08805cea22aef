//! The events poller: reads Suomi.fi's events feed from the saved continuation token, keeps
//! every event (the service forgets them after 60 days), and moves each delivery's status
//! forward. Safe to repeat: a page read twice stores nothing twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use app::domain::lifecycle::DeliveryStatus;
use tokio::sync::watch;
use uuid::Uuid;

use super::legal;
use crate::dates::ReceiptRules;
use crate::store::{Delivery, Store, StoreError, StoredEvent};
use crate::suomifi::model::{Event, EventKind};
use crate::suomifi::{SuomiFiClient, SuomiFiError};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    SuomiFi(#[from] SuomiFiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub fetched: usize,
    pub new: usize,
}

/// The status an event moves a delivery to, if it moves it at all (only forward).
pub fn status_after(kind: &EventKind, current: DeliveryStatus) -> Option<DeliveryStatus> {
    let next = status_for(kind)?;
    current.may_move_to(next).then_some(next)
}

/// The status an event stands for.
fn status_for(kind: &EventKind) -> Option<DeliveryStatus> {
    let next = match kind {
        EventKind::ElectronicMessageCreated => DeliveryStatus::DeliveredElectronically,
        EventKind::PaperMailCreated => DeliveryStatus::PaperCreated,
        EventKind::SentForPrintingAndEnveloping => DeliveryStatus::SentForPrinting,
        EventKind::ElectronicMessageRead => DeliveryStatus::Read,
        EventKind::ReceiptConfirmed => DeliveryStatus::ReceiptConfirmed,
        EventKind::PostiReceiptConfirmed => DeliveryStatus::PostiReceiptConfirmed,
        EventKind::PostiReturnedToSender => DeliveryStatus::Returned,
        EventKind::PostiUnresolved => DeliveryStatus::Unresolved,
        EventKind::ElectronicMessageFromEndUser | EventKind::Unknown(_) => return None,
    };
    Some(next)
}

/// Events kept in one commit: a page of the feed (up to 1 000) in a few, so that a burst of
/// events does not hold the database's one writer (SQLite) for long.
const EVENTS_PER_COMMIT: usize = 100;

/// Our delivery's id, if the event names it (`externalId` is optional in the feed).
fn event_external_id(event: &Event) -> Option<Uuid> {
    event
        .metadata
        .external_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
}

pub struct EventsPoller {
    pub store: Arc<dyn Store>,
    pub suomifi: Arc<SuomiFiClient>,
    pub receipt: ReceiptRules,
}

impl EventsPoller {
    /// Reads pages until the feed says there is nothing more for now.
    pub async fn poll_once(&self) -> Result<PollOutcome, PollError> {
        let service_id = self.suomifi.service_id().to_string();
        let mut token = self.store.continuation_token(&service_id).await?;
        let mut outcome = PollOutcome::default();
        loop {
            let page = self.suomifi.events(token.as_deref()).await?;
            outcome.fetched += page.events.len();
            for chunk in page.events.chunks(EVENTS_PER_COMMIT) {
                outcome.new += self.record(chunk).await?;
            }
            // Saved after the events: a crash in between re-reads a page, which adds nothing.
            self.store
                .save_continuation_token(&service_id, &page.continuation_token)
                .await?;
            if page.events.is_empty() {
                return Ok(outcome);
            }
            token = Some(page.continuation_token);
        }
    }

    /// Keeps `events` in one commit and reassesses each delivery they name once, after all
    /// of them are kept; how many were new.
    async fn record(&self, events: &[Event]) -> Result<usize, StoreError> {
        let records = self.to_records(events).await?;
        let new = self.store.record_events(&records).await?;
        // An event may tell the channel or the receipt, or move a letter's sending day. Also
        // for an event seen before: its assessment may have failed the first time.
        let mut assessed = HashSet::new();
        for delivery_id in records.iter().filter_map(|(stored, _)| stored.delivery_id) {
            if assessed.insert(delivery_id) {
                legal::reassess(&self.store, delivery_id, self.receipt).await?;
            }
        }
        Ok(new.into_iter().filter(|new| *new).count())
    }

    /// Each event as it is kept, tied to our delivery, with the status it moves that to.
    async fn to_records(
        &self,
        events: &[Event],
    ) -> Result<Vec<(StoredEvent, Option<DeliveryStatus>)>, StoreError> {
        let mut deliveries = self.deliveries_named_by(events).await?;
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            let id = match event_external_id(event) {
                Some(id) => Some(id),
                // `externalId` is optional in the feed: the message id names ours too.
                None => self
                    .store
                    .delivery_by_message_id(event.metadata.message_id)
                    .await?
                    .map(|found| deliveries.entry(found.id).or_insert(found).id),
            };
            let mut delivery = id.and_then(|id| deliveries.get_mut(&id));
            let moves_to = delivery
                .as_ref()
                .and_then(|d| status_after(&event.kind(), d.status));
            if let (Some(delivery), Some(to)) = (delivery.as_mut(), moves_to) {
                // The next event of the same delivery moves on from here, as if read anew.
                delivery.status = to;
            }
            let stored = StoredEvent {
                id: Uuid::now_v7(),
                organisation_id: delivery.as_ref().map(|d| d.organisation_id),
                delivery_id: delivery.as_ref().map(|d| d.id),
                message_id: event.metadata.message_id,
                service_id: event.metadata.service_id.clone(),
                event_type: event.event_type.clone(),
                event_time: event.event_time.clone(),
                payload: serde_json::to_string(event).unwrap_or_default(),
            };
            records.push((stored, moves_to));
        }
        Ok(records)
    }

    /// The deliveries the events name by `externalId`, read in one query.
    async fn deliveries_named_by(
        &self,
        events: &[Event],
    ) -> Result<HashMap<Uuid, Delivery>, StoreError> {
        let ids: Vec<Uuid> = events.iter().filter_map(event_external_id).collect();
        Ok(self
            .store
            .deliveries_by_ids(&ids)
            .await?
            .into_iter()
            .map(|delivery| (delivery.id, delivery))
            .collect())
    }

    /// Polls every `interval` until `stop` turns true.
    pub async fn run(self, interval: Duration, stop: watch::Receiver<bool>) {
        super::every(interval, stop, "reading Suomi.fi events", || async {
            self.poll_once().await?;
            crate::metrics::events_polled();
            Ok::<(), PollError>(())
        })
        .await
    }
}

/// The feeds of every service, each from its own continuation token; one service's trouble
/// (a refused password, say) does not hold up the others'.
pub struct EventsPollers {
    pub store: Arc<dyn Store>,
    pub services: Arc<crate::suomifi::services::SuomiFiServices>,
    pub receipt: ReceiptRules,
}

impl EventsPollers {
    pub async fn poll_all(&self) -> Result<PollOutcome, PollError> {
        let mut total = PollOutcome::default();
        let mut every_feed_read = true;
        for service in self.store.all_services().await? {
            let suomifi = match self.services.client(&service) {
                Ok(client) => client,
                Err(error) => {
                    tracing::warn!(service = %service.service_id, %error, "cannot read the service's events");
                    every_feed_read = false;
                    continue;
                }
            };
            let poller = EventsPoller {
                store: self.store.clone(),
                suomifi: suomifi.clone(),
                receipt: self.receipt,
            };
            let outcome = poller.poll_once().await;
            if let Err(error) = self.services.note_credentials(&service, &suomifi).await {
                tracing::warn!(%error, "could not keep the service's credentials state");
            }
            match outcome {
                Ok(outcome) => {
                    total.fetched += outcome.fetched;
                    total.new += outcome.new;
                }
                Err(PollError::Store(error)) => return Err(PollError::Store(error)),
                Err(error) => {
                    tracing::warn!(service = %service.service_id, %error, "reading the service's events failed; trying again");
                    every_feed_read = false;
                }
            }
        }
        // The poll-age gauge (and its alert) counts from the last pass that read every feed.
        if every_feed_read {
            crate::metrics::events_polled();
        }
        Ok(total)
    }

    pub async fn run(self, interval: Duration, stop: watch::Receiver<bool>, leader: super::Leader) {
        super::every_as_leader(
            &leader,
            "suomifi_events",
            interval,
            stop,
            "reading Suomi.fi events",
            || async { self.poll_all().await.map(|_| ()) },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn events_move_statuses_only_forward() {
        let after = |kind: EventKind, current| status_after(&kind, current);
        assert_eq!(
            after(EventKind::ElectronicMessageCreated, Sent),
            Some(DeliveredElectronically)
        );
        assert_eq!(
            after(EventKind::ElectronicMessageRead, DeliveredElectronically),
            Some(Read)
        );
        assert_eq!(
            after(EventKind::ReceiptConfirmed, DeliveredElectronically),
            Some(ReceiptConfirmed)
        );
        assert_eq!(
            after(EventKind::ElectronicMessageRead, ReceiptConfirmed),
            None
        );
        assert_eq!(
            after(EventKind::ElectronicMessageCreated, Read),
            None,
            "late event"
        );
        assert_eq!(after(EventKind::PaperMailCreated, Sent), Some(PaperCreated));
        assert_eq!(
            after(EventKind::SentForPrintingAndEnveloping, PaperCreated),
            Some(SentForPrinting)
        );
        assert_eq!(
            after(EventKind::PostiReturnedToSender, SentForPrinting),
            Some(Returned)
        );
        assert_eq!(after(EventKind::Unknown("New".into()), Sent), None);
        assert_eq!(
            after(EventKind::ElectronicMessageCreated, NeedsAttention),
            Some(DeliveredElectronically)
        );
        assert_eq!(after(EventKind::PaperMailCreated, Cancelled), None);
    }
}
