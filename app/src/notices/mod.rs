//! Notices: the caseworker's front page (the list), what a notice's detail shows (its
//! deliveries, their history, legal dates and documents), and the paper re-serve of an
//! unacknowledged verifiable notice. Every read of a notice's detail is audited.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use crate::domain::lifecycle::DeliveryStatus;
use crate::error::AppError;

pub mod list;
pub mod page;
pub mod proof;

pub use list::{AttentionPage, NoticesPage};
pub use page::NoticePage;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSummary {
    pub id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub recipients: u32,
    /// How many deliveries need a person to look at them (failed, or unacknowledged).
    pub needs_attention: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDetail {
    pub id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    /// A recipient has turvakielto and the reader is neither the author nor an admin: the
    /// body, the documents' names and the electronic body are withheld (`None`, empty).
    pub restricted: bool,
    pub body: Option<String>,
    /// The electronic message's body as sent (header, body, appeal instructions).
    pub electronic_body: Option<String>,
    pub decision_date: Option<String>,
    pub decision_maker: Option<String>,
    pub parties: Vec<String>,
    pub contact_person: Option<String>,
    pub contact_details: Option<String>,
    pub automated_decision: bool,
    pub language: String,
    pub verifiable: bool,
    pub appeal_days: Option<i32>,
    pub created_at: String,
    /// Finnish local time, `25.11.2026 14.05`.
    pub created_local: String,
    pub author_name: String,
    /// `/notices/{id}/letter.pdf` exists.
    pub has_letter: bool,
    pub attachments: Vec<DocumentSummary>,
    pub deliveries: Vec<DeliveryDetail>,
    /// What recipients wrote back, oldest first.
    pub replies: Vec<crate::replies::ReplySummary>,
    /// The template and version the notice was made from: (name, version).
    #[serde(default)]
    pub template: Option<(String, i32)>,
    /// The Suomi.fi service it went through (its name).
    #[serde(default)]
    pub service_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub kind: String,
    pub filename: String,
    pub media_type: String,
    pub sha256: String,
    pub size_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub id: Uuid,
    pub role: String,
    pub recipient_name: String,
    /// `131052-****`; never the whole code.
    pub identity_masked: Option<String>,
    pub requested_mode: DeliveryMode,
    pub decided_mode: DeliveryMode,
    pub reasons: Vec<ChannelReason>,
    pub paper_addressee: PaperAddressee,
    pub status: DeliveryStatus,
    pub address_protected: bool,
    pub suomifi_message_id: Option<i64>,
    pub needs_attention_reason: Option<String>,
    pub submitted_at: Option<String>,
    pub channel_taken: Option<String>,
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    /// English, with the section of law (kept for deliveries assessed before `legal_basis`).
    pub legal_rule: Option<String>,
    /// The rule as data, said in the reader's language.
    pub legal_basis: Option<crate::domain::legal_rule::LegalRule>,
    pub unacknowledged_at: Option<String>,
    pub reserve_of: Option<Uuid>,
    pub documents: Vec<DocumentSummary>,
    pub history: Vec<HistoryItem>,
    /// The history as the page tells it, newest first.
    pub timeline: Vec<TimelineEntry>,
}

/// Who did what the timeline tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Caseworker,
    Tiedoksi,
    SuomiFi,
    Posti,
    /// The recipient (a reply through Suomi.fi).
    Recipient,
}

/// One step of a delivery's life, typed from its append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineEvent {
    Queued {
        mode: DeliveryMode,
        reasons: Vec<ChannelReason>,
    },
    AttemptFailed {
        retryable: bool,
    },
    Submitted {
        message_id: Option<i64>,
    },
    /// A Suomi.fi event; `status` when it moved the delivery.
    Event {
        event_type: String,
        status: Option<DeliveryStatus>,
    },
    /// Legal dates computed; `previous_*` were the values before, when a later event changed
    /// them.
    LegalDates {
        deemed_receipt: Option<String>,
        appeal_deadline: Option<String>,
        previous_deemed_receipt: Option<String>,
        previous_appeal_deadline: Option<String>,
    },
    NeedsAttention,
    RetryRequested,
    Unacknowledged,
    ReserveQueued,
    Cancelled,
    MailboxChecked {
        active: bool,
    },
    ModeChanged {
        mode: DeliveryMode,
    },
    ForwardingRecorded {
        on: String,
    },
    ServiceRecorded {
        kind: String,
        on: String,
    },
    FactsAtSending {
        minor: bool,
    },
    /// The recipient wrote back (a reply in the inbox).
    ReplyReceived {
        reply_id: Uuid,
        title: String,
    },
    Other {
        kind: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// RFC 3339, UTC (for `<time datetime>`).
    pub at: String,
    /// Finnish local time, `25.11.2026 14.05`.
    pub at_local: String,
    pub source: Source,
    pub event: TimelineEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub occurred_at: String,
    pub kind: String,
    /// JSON.
    pub details: String,
}

/// The newest notices of the signed-in user's organisation.
#[server(prefix = "/api", endpoint = "list_notices")]
pub async fn list_notices() -> Result<Vec<NoticeSummary>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            ssr::backend()?.list_notices(&actor).await
        }
        .await,
    )
}

/// One notice with everything it went through. Audited.
#[server(prefix = "/api", endpoint = "open_notice")]
pub async fn open_notice(id: Uuid) -> Result<NoticeDetail, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            ssr::backend()?.notice_detail(&actor, id).await
        }
        .await,
    )
}

/// Serves an unacknowledged verifiable notice again on paper, against a receipt. Returns the
/// new delivery's id (the same one when asked again).
#[server(prefix = "/api", endpoint = "reserve_on_paper")]
pub async fn reserve_on_paper(delivery_id: Uuid) -> Result<Uuid, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.reserve_on_paper(&actor, delivery_id).await
        }
        .await,
    )
}

/// Sends a delivery that needs attention again (after the cause was fixed). Safe: Suomi.fi
/// sees the same externalId and never makes a second message.
#[server(prefix = "/api", endpoint = "retry_delivery")]
pub async fn retry_delivery(delivery_id: Uuid) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.retry_delivery(&actor, delivery_id).await
        }
        .await,
    )
}

/// How a letter sent to the organisation's forwarding address (turvakielto) was served on to
/// the recipient; the legal dates run from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardingRecord {
    pub delivery_id: Uuid,
    /// `ordinary_letter`, `verifiable_letter` or `in_person`.
    pub method: String,
    /// `YYYY-MM-DD`: posted or handed over.
    pub forwarded_on: String,
    /// `YYYY-MM-DD`: the receipt's date, for a letter against a receipt or in person.
    #[serde(default)]
    pub received_on: Option<String>,
}

/// Substitute service (HL 61 §) or a public notice (HL 62 §) after Posti could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualServiceRecord {
    pub delivery_id: Uuid,
    /// `substitute_service` or `public_notice`.
    pub kind: String,
    /// `YYYY-MM-DD`: the certificate's date, or the day of publication.
    pub served_on: String,
    /// The certificate, or the Official Gazette's issue.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Records how a forwarded letter reached its recipient.
#[server(prefix = "/api", endpoint = "record_forwarding", input = server_fn::codec::Json)]
pub async fn record_forwarding(record: ForwardingRecord) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.record_forwarding(&actor, record).await
        }
        .await,
    )
}

/// Records substitute service or a public notice of a letter Posti could not deliver.
#[server(prefix = "/api", endpoint = "record_service", input = server_fn::codec::Json)]
pub async fn record_service(record: ManualServiceRecord) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.record_service(&actor, record).await
        }
        .await,
    )
}

/// Sends an electronic-only delivery whose recipient turned out to have no mailbox
/// multichannel instead (Suomi.fi prints it). One step, audited.
#[server(prefix = "/api", endpoint = "change_to_multichannel")]
pub async fn change_to_multichannel(delivery_id: Uuid) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?
                .change_to_multichannel(&actor, delivery_id)
                .await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use async_trait::async_trait;
    use leptos::prelude::use_context;
    use uuid::Uuid;

    use super::{ForwardingRecord, ManualServiceRecord, NoticeDetail, NoticeSummary};
    use crate::auth::Actor;
    use crate::error::AppError;

    #[async_trait]
    pub trait NoticesBackend: Send + Sync {
        async fn list_notices(&self, actor: &Actor) -> Result<Vec<NoticeSummary>, AppError>;
        async fn notice_detail(&self, actor: &Actor, id: Uuid) -> Result<NoticeDetail, AppError>;
        async fn reserve_on_paper(
            &self,
            actor: &Actor,
            delivery_id: Uuid,
        ) -> Result<Uuid, AppError>;
        async fn retry_delivery(&self, actor: &Actor, delivery_id: Uuid) -> Result<(), AppError>;
        async fn record_forwarding(
            &self,
            actor: &Actor,
            record: ForwardingRecord,
        ) -> Result<(), AppError>;
        async fn record_service(
            &self,
            actor: &Actor,
            record: ManualServiceRecord,
        ) -> Result<(), AppError>;
        async fn change_to_multichannel(
            &self,
            actor: &Actor,
            delivery_id: Uuid,
        ) -> Result<(), AppError>;
        async fn delivery_statuses(
            &self,
            actor: &Actor,
            notice_id: Uuid,
        ) -> Result<Vec<super::page::LiveStatus>, AppError>;
        async fn find_notices(
            &self,
            actor: &Actor,
            filter: super::list::NoticeFilter,
        ) -> Result<super::list::NoticeListPage, AppError>;
        async fn needs_attention(
            &self,
            actor: &Actor,
        ) -> Result<Vec<super::list::AttentionItem>, AppError>;
    }

    pub(crate) fn backend() -> Result<Arc<dyn NoticesBackend>, AppError> {
        use_context::<Arc<dyn NoticesBackend>>()
            .ok_or_else(|| AppError::internal("NoticesBackend missing from context"))
    }
}
