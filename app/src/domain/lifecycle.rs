//! A delivery's life: its statuses with one stored form each, the moves allowed between them
//! (in one place: the store, the poller and the pages all ask here), and the kinds of entry
//! its append-only history holds.

use serde::{Deserialize, Serialize};

/// Where a delivery stands. Statuses only move forward (`rank`): a late event or a repeated
/// answer never takes a delivery back.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    /// Sending failed for good, or a deferred mailbox check found no mailbox: a person acts.
    NeedsAttention,
    /// A paper re-serve that was no longer needed (the recipient acknowledged first); it
    /// never reached Suomi.fi.
    Cancelled,
    Sent,
    DeliveredElectronically,
    PaperCreated,
    SentForPrinting,
    Read,
    ReceiptConfirmed,
    PostiReceiptConfirmed,
    Returned,
    Unresolved,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 12] = [
        DeliveryStatus::Queued,
        DeliveryStatus::NeedsAttention,
        DeliveryStatus::Cancelled,
        DeliveryStatus::Sent,
        DeliveryStatus::DeliveredElectronically,
        DeliveryStatus::PaperCreated,
        DeliveryStatus::SentForPrinting,
        DeliveryStatus::Read,
        DeliveryStatus::ReceiptConfirmed,
        DeliveryStatus::PostiReceiptConfirmed,
        DeliveryStatus::Returned,
        DeliveryStatus::Unresolved,
    ];

    /// The stored form (the same as the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::NeedsAttention => "needs_attention",
            DeliveryStatus::Cancelled => "cancelled",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::DeliveredElectronically => "delivered_electronically",
            DeliveryStatus::PaperCreated => "paper_created",
            DeliveryStatus::SentForPrinting => "sent_for_printing",
            DeliveryStatus::Read => "read",
            DeliveryStatus::ReceiptConfirmed => "receipt_confirmed",
            DeliveryStatus::PostiReceiptConfirmed => "posti_receipt_confirmed",
            DeliveryStatus::Returned => "returned",
            DeliveryStatus::Unresolved => "unresolved",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// How far along the delivery is.
    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued | DeliveryStatus::NeedsAttention => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::DeliveredElectronically | DeliveryStatus::PaperCreated => 2,
            DeliveryStatus::SentForPrinting => 3,
            DeliveryStatus::Read => 4,
            DeliveryStatus::ReceiptConfirmed
            | DeliveryStatus::PostiReceiptConfirmed
            | DeliveryStatus::Returned
            | DeliveryStatus::Unresolved => 5,
            // Final, and reached only from `Queued` (see `cancellable`).
            DeliveryStatus::Cancelled => 6,
        }
    }

    /// Whether a Suomi.fi event may move a delivery from `self` to `to`.
    pub fn may_move_to(self, to: DeliveryStatus) -> bool {
        self != DeliveryStatus::Cancelled
            && to != DeliveryStatus::Cancelled
            && to.rank() > self.rank()
    }

    /// Every status `to` is forward from: where an event may move a delivery from.
    pub fn before(to: DeliveryStatus) -> Vec<DeliveryStatus> {
        Self::ALL
            .into_iter()
            .filter(|status| status.may_move_to(to))
            .collect()
    }

    /// Statuses Suomi.fi's answer to our send moves a delivery out of: the send reached it.
    pub const SENDABLE: [DeliveryStatus; 2] =
        [DeliveryStatus::Queued, DeliveryStatus::NeedsAttention];

    /// Nothing will happen to it by itself any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Cancelled
                | DeliveryStatus::ReceiptConfirmed
                | DeliveryStatus::PostiReceiptConfirmed
                | DeliveryStatus::Returned
                | DeliveryStatus::Unresolved
        )
    }

    /// Posti could not deliver the letter: substitute service or a public notice may follow.
    pub fn letter_undelivered(self) -> bool {
        matches!(self, DeliveryStatus::Returned | DeliveryStatus::Unresolved)
    }
}

/// Why a delivery needs attention when its recipient has no active mailbox (a deferred
/// check found none, or Suomi.fi refused the electronic message): the pages offer the change
/// to multichannel for it.
pub const NO_ACTIVE_MAILBOX: &str = "no_active_mailbox: the recipient has no active Suomi.fi \
     mailbox; change the delivery to multichannel to send it on paper";

/// Whether a needs-attention reason is `NO_ACTIVE_MAILBOX`.
pub fn is_no_active_mailbox(reason: &str) -> bool {
    reason == NO_ACTIVE_MAILBOX
}

/// What one entry of a delivery's history records. The stored forms never change once
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Queued,
    AttemptFailed,
    Submitted,
    SuomifiEvent,
    LegalDates,
    Unacknowledged,
    ReserveQueued,
    NeedsAttention,
    RetryRequested,
    /// A mailbox check that could not be made when composing, made before sending.
    MailboxChecked,
    /// A caseworker changed the delivery mode (e.g. to multichannel after no mailbox).
    ModeChanged,
    /// The re-serve was not sent: the recipient acknowledged the original first.
    Cancelled,
    /// Staff recorded how a letter sent to the forwarding address went on to the recipient.
    ForwardingRecorded,
    /// Substitute service (HL 61 §) or a public notice (HL 62 §) recorded by staff.
    ServiceRecorded,
    /// Facts that depend on the sending day (a minor's age) were set again when sending.
    FactsAtSending,
}

impl HistoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Queued => "queued",
            HistoryKind::AttemptFailed => "attempt_failed",
            HistoryKind::Submitted => "submitted",
            HistoryKind::SuomifiEvent => "suomifi_event",
            HistoryKind::LegalDates => "legal_dates",
            HistoryKind::Unacknowledged => "unacknowledged",
            HistoryKind::ReserveQueued => "reserve_queued",
            HistoryKind::NeedsAttention => "needs_attention",
            HistoryKind::RetryRequested => "retry_requested",
            HistoryKind::MailboxChecked => "mailbox_checked",
            HistoryKind::ModeChanged => "mode_changed",
            HistoryKind::Cancelled => "cancelled",
            HistoryKind::ForwardingRecorded => "forwarding_recorded",
            HistoryKind::ServiceRecorded => "service_recorded",
            HistoryKind::FactsAtSending => "facts_at_sending",
        }
    }
}

/// How staff served a letter onwards that went to the organisation's forwarding address
/// (turvakielto): the forwarding letter reached the organisation, not the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardingMethod {
    /// An ordinary letter: received on the 7th day after posting (HL 59 §).
    OrdinaryLetter,
    /// A letter against a receipt: received on the receipt's date (HL 60 §).
    VerifiableLetter,
    /// Handed over in person against a signature: received that day.
    InPerson,
}

impl ForwardingMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardingMethod::OrdinaryLetter => "ordinary_letter",
            ForwardingMethod::VerifiableLetter => "verifiable_letter",
            ForwardingMethod::InPerson => "in_person",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            ForwardingMethod::OrdinaryLetter,
            ForwardingMethod::VerifiableLetter,
            ForwardingMethod::InPerson,
        ]
        .into_iter()
        .find(|method| method.as_str() == value)
    }

    /// Whether the service is verifiable, and so needs the date it was received.
    pub fn needs_receipt(self) -> bool {
        !matches!(self, ForwardingMethod::OrdinaryLetter)
    }
}

/// Service that staff make and record themselves after Posti could not deliver a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualService {
    /// Sijaistiedoksianto, HL 61 §: received on the 3rd day after the certificate's date.
    SubstituteService,
    /// Julkinen kuulutus, HL 62 §: received on the 7th day after publication in the
    /// Official Gazette (Virallinen lehti).
    PublicNotice,
}

impl ManualService {
    pub fn as_str(self) -> &'static str {
        match self {
            ManualService::SubstituteService => "substitute_service",
            ManualService::PublicNotice => "public_notice",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            ManualService::SubstituteService,
            ManualService::PublicNotice,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn stored_forms_round_trip() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(DeliveryStatus::parse("lost"), None);
        for method in [
            ForwardingMethod::OrdinaryLetter,
            ForwardingMethod::VerifiableLetter,
            ForwardingMethod::InPerson,
        ] {
            assert_eq!(ForwardingMethod::parse(method.as_str()), Some(method));
        }
        for kind in [
            ManualService::SubstituteService,
            ManualService::PublicNotice,
        ] {
            assert_eq!(ManualService::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn statuses_only_move_forward() {
        assert!(Sent.may_move_to(DeliveredElectronically));
        assert!(DeliveredElectronically.may_move_to(Read));
        assert!(Read.may_move_to(ReceiptConfirmed));
        assert!(!ReceiptConfirmed.may_move_to(Read), "late event");
        assert!(!Read.may_move_to(DeliveredElectronically));
        assert!(NeedsAttention.may_move_to(DeliveredElectronically));
        assert!(!SentForPrinting.may_move_to(PaperCreated));
        assert!(!PostiReceiptConfirmed.may_move_to(Returned));
    }

    #[test]
    fn a_cancelled_delivery_stays_cancelled() {
        for status in DeliveryStatus::ALL {
            assert!(!Cancelled.may_move_to(status));
            assert!(!status.may_move_to(Cancelled), "only by cancelling");
        }
        assert!(DeliveryStatus::before(Sent).contains(&Queued));
        assert!(!DeliveryStatus::before(Sent).contains(&Cancelled));
        assert!(!DeliveryStatus::before(Read).contains(&ReceiptConfirmed));
    }
}
