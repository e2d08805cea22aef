//! The events poller: reads Suomi.fi's events feed from the saved continuation token, keeps
//! every event (the service forgets them after 60 days), and moves each delivery's status
//! forward. Safe to repeat: a page read twice stores nothing twice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use super::legal;
use crate::dates::ReceiptRules;
use crate::store::{Store, StoreError, StoredEvent};
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

/// How far along a delivery is; statuses only move forward.
fn rank(status: &str) -> u8 {
    match status {
        "queued" | "needs_attention" => 0,
        "sent" => 1,
        "delivered_electronically" | "paper_created" => 2,
        "sent_for_printing" => 3,
        "read" => 4,
        "receipt_confirmed" | "posti_receipt_confirmed" | "returned" | "unresolved" => 5,
        _ => 0,
    }
}

/// Every status a delivery can have, in no particular order.
const STATUSES: [&str; 11] = [
    "queued",
    "needs_attention",
    "sent",
    "delivered_electronically",
    "paper_created",
    "sent_for_printing",
    "read",
    "receipt_confirmed",
    "posti_receipt_confirmed",
    "returned",
    "unresolved",
];

/// The statuses `to` is forward from: where an event may move a delivery from.
pub fn statuses_before(to: &str) -> Vec<&'static str> {
    STATUSES
        .into_iter()
        .filter(|status| rank(status) < rank(to))
        .collect()
}

/// The status an event moves a delivery to, if it moves it at all.
pub fn status_after(kind: &EventKind, current: &str) -> Option<&'static str> {
    let next = status_for(kind)?;
    (rank(next) > rank(current)).then_some(next)
}

/// The status an event stands for.
fn status_for(kind: &EventKind) -> Option<&'static str> {
    let next = match kind {
        EventKind::ElectronicMessageCreated => "delivered_electronically",
        EventKind::PaperMailCreated => "paper_created",
        EventKind::SentForPrintingAndEnveloping => "sent_for_printing",
        EventKind::ElectronicMessageRead => "read",
        EventKind::ReceiptConfirmed => "receipt_confirmed",
        EventKind::PostiReceiptConfirmed => "posti_receipt_confirmed",
        EventKind::PostiReturnedToSender => "returned",
        EventKind::PostiUnresolved => "unresolved",
        EventKind::ElectronicMessageFromEndUser | EventKind::Unknown(_) => return None,
    };
    Some(next)
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
            for event in &page.events {
                if self.record(event).await? {
                    outcome.new += 1;
                }
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

    async fn record(&self, event: &Event) -> Result<bool, StoreError> {
        let delivery_id = event
            .metadata
            .external_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok());
        let delivery = match delivery_id {
            Some(id) => self.store.delivery(id).await?,
            // `externalId` is optional in the feed: the message id names ours too.
            None => {
                self.store
                    .delivery_by_message_id(event.metadata.message_id)
                    .await?
            }
        };
        let moves_to = delivery
            .as_ref()
            .and_then(|delivery| status_after(&event.kind(), &delivery.status));
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
        let new = self.store.record_event(&stored, moves_to).await?;
        // The event may tell the channel or the receipt, or move a letter's sending day.
        // Also for an event seen before: its assessment may have failed the first time.
        if let Some(delivery) = delivery {
            legal::reassess(&self.store, delivery.id, self.receipt).await?;
        }
        Ok(new)
    }

    /// Polls every `interval` until `stop` turns true.
    pub async fn run(self, interval: Duration, stop: watch::Receiver<bool>) {
        super::every(interval, stop, "reading Suomi.fi events", || async {
            self.poll_once().await.map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_forward_only_from_those_before_it() {
        assert_eq!(statuses_before("queued"), Vec::<&str>::new());
        assert_eq!(statuses_before("sent"), ["queued", "needs_attention"]);
        let before_read = statuses_before("read");
        assert!(before_read.contains(&"sent_for_printing") && before_read.contains(&"sent"));
        assert!(!before_read.contains(&"receipt_confirmed"));
        assert!(!statuses_before("returned").contains(&"posti_receipt_confirmed"));
    }

    #[test]
    fn statuses_only_move_forward() {
        assert_eq!(
            status_after(&EventKind::ElectronicMessageCreated, "sent"),
            Some("delivered_electronically")
        );
        assert_eq!(
            status_after(
                &EventKind::ElectronicMessageRead,
                "delivered_electronically"
            ),
            Some("read")
        );
        assert_eq!(
            status_after(&EventKind::ReceiptConfirmed, "delivered_electronically"),
            Some("receipt_confirmed")
        );
        assert_eq!(
            status_after(&EventKind::ElectronicMessageRead, "receipt_confirmed"),
            None
        );
        assert_eq!(
            status_after(&EventKind::ElectronicMessageCreated, "read"),
            None,
            "late event"
        );
        assert_eq!(
            status_after(&EventKind::PaperMailCreated, "sent"),
            Some("paper_created")
        );
        assert_eq!(
            status_after(&EventKind::SentForPrintingAndEnveloping, "paper_created"),
            Some("sent_for_printing")
        );
        assert_eq!(
            status_after(&EventKind::PostiReturnedToSender, "sent_for_printing"),
            Some("returned")
        );
        assert_eq!(
            status_after(&EventKind::Unknown("New".into()), "sent"),
            None
        );
        assert_eq!(
            status_after(&EventKind::ElectronicMessageCreated, "needs_attention"),
            Some("delivered_electronically")
        );
    }
}
