//! What the notice pages read and do after sending: the list, a notice's detail with every
//! delivery's history, and the caseworker's actions on a delivery — re-serve on paper, retry,
//! change to multichannel, record the onward forwarding of a turvakielto letter, record
//! substitute service or a public notice. Everything is scoped to the actor's organisation:
//! a notice of another organisation is "not found".

use std::sync::Arc;

use app::auth::Actor;
use app::compose::{FieldProblem, Problem};
use app::domain::channel::{ChannelReason, DeliveryMode};
use app::domain::lifecycle::{DeliveryStatus, ForwardingMethod, ManualService};
use app::error::AppError;
use app::notices::list::{AttentionItem, NoticeFilter, NoticeListPage};
use app::notices::ssr::NoticesBackend;
use app::notices::{
    DeliveryDetail, DocumentSummary, ForwardingRecord, HistoryItem, ManualServiceRecord,
    NoticeDetail, NoticeSummary, Source, TimelineEntry, TimelineEvent,
};
use async_trait::async_trait;
use serde_json::json;
use time::Date;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::dates::ReceiptRules;
use crate::delivery::legal::{self, finnish_date};
use crate::local_time::finnish_local;
use crate::secrets::DataKeys;
use crate::store::{
    delivery_settings, CitizenReply, Delivery, HistoryEntry, ModeChange, Notice, ServiceRecord,
    Store, Timestamp,
};

/// How many notices the list shows.
const LIST_LIMIT: i64 = 100;
const MAX_REFERENCE_CHARS: usize = 200;

fn invalid(field: &str, problem: Problem) -> AppError {
    AppError::Invalid(vec![FieldProblem::new(field, problem)])
}

fn not_unacknowledged() -> AppError {
    invalid("delivery_id", Problem::NotUnacknowledged)
}

#[derive(Clone)]
pub struct NoticeViews {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
    pub receipt: ReceiptRules,
    /// Seals the identity-code search token and hashes the code for the lookup.
    pub keys: DataKeys,
}

/// A notice with a turvakielto recipient shows its content — body, documents, replies — only
/// to its author and admins: any of it may reveal where that person lives. The one rule for
/// the pages, the downloads, the proof and the inbox.
pub fn content_withheld(actor: &Actor, notice: &Notice, has_protected_recipient: bool) -> bool {
    has_protected_recipient && !(actor.user_id() == Some(notice.author_id) || actor.is_admin())
}

/// `content_withheld`, asking the store whether a recipient has turvakielto when it matters.
pub async fn content_withheld_from(
    store: &dyn Store,
    actor: &Actor,
    notice: &Notice,
) -> Result<bool, crate::store::StoreError> {
    if !content_withheld(actor, notice, true) {
        return Ok(false);
    }
    store.has_protected_recipient(notice.id).await
}

/// A date the caseworker typed: real, `YYYY-MM-DD`, not in the future, not before `not_before`.
fn past_date(text: &str, field: &str, not_before: Option<Date>) -> Result<Date, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date =
        Date::parse(text.trim(), &format).map_err(|_| invalid(field, Problem::DateInvalid))?;
    if date > finnish_date(time::OffsetDateTime::now_utc()) {
        return Err(invalid(field, Problem::DateInFuture));
    }
    if not_before.is_some_and(|first| date < first) {
        return Err(invalid(field, Problem::DateBeforeSending));
    }
    Ok(date)
}

fn documents(
    summaries: impl IntoIterator<Item = DocumentSummary>,
    hidden: bool,
) -> Vec<DocumentSummary> {
    if hidden {
        Vec::new()
    } else {
        summaries.into_iter().collect()
    }
}

impl NoticeViews {
    /// A notice with everything it went through, as the pages show it; `audited`: the read
    /// is recorded as a view (a caller that records its own read passes `false`).
    pub async fn detail(
        &self,
        actor: &Actor,
        id: Uuid,
        audited: bool,
    ) -> Result<NoticeDetail, AppError> {
        let notice = self.own_notice(actor, id).await?;
        let rows = self
            .store
            .deliveries(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?;
        let restricted = content_withheld(actor, &notice, rows.iter().any(|d| d.address_protected));
        let attachments = self
            .store
            .notice_attachments(id)
            .await
            .map_err(AppError::internal)?;
        // A reply may tell what the restricted content does: withheld with it.
        let replies = if restricted {
            Vec::new()
        } else {
            self.store
                .replies_to_notice(actor.organisation_id, id)
                .await
                .map_err(AppError::internal)?
        };
        let mut deliveries = Vec::new();
        for delivery in rows {
            let answers: Vec<CitizenReply> = replies
                .iter()
                .filter(|reply| reply.delivery_id == Some(delivery.id))
                .cloned()
                .collect();
            deliveries.push(self.delivery_detail(delivery, restricted, &answers).await?);
        }
        let opened: std::collections::HashSet<Uuid> = match actor.user_id() {
            Some(user) => self
                .store
                .opened_replies(user, &replies.iter().map(|r| r.id).collect::<Vec<_>>())
                .await
                .map_err(AppError::internal)?
                .into_iter()
                .collect(),
            None => Default::default(),
        };
        if audited {
            let entry = AuditEntry::new(AuditAction::NoticeViewed)
                .by(actor)
                .subject("notice", id)
                .details(json!({ "restricted": restricted }));
            // The read is shown only once it is on record.
            self.audit.record(entry).await.map_err(AppError::internal)?;
        }
        let parties = notice.parties();
        let author_name = self
            .store
            .user_by_id(notice.author_id)
            .await
            .map_err(AppError::internal)?
            .map(|user| user.display_name)
            .unwrap_or_default();
        let replies = replies
            .iter()
            .map(|reply| crate::replies::summary(reply, Some(&notice), !opened.contains(&reply.id)))
            .collect();
        let template = match (notice.template_id, notice.template_version) {
            (Some(id), Some(version)) => self
                .store
                .template(notice.organisation_id, id)
                .await
                .map_err(AppError::internal)?
                .map(|template| (template.name, version)),
            _ => None,
        };
        let service_name = self
            .store
            .service_by_service_id(&notice.service_id)
            .await
            .map_err(AppError::internal)?
            .filter(|service| service.organisation_id == notice.organisation_id)
            .map(|service| service.name);
        Ok(NoticeDetail {
            template,
            service_name,
            replies,
            author_name,
            has_letter: notice.has_letter(),
            created_local: finnish_local(notice.created_at),
            id: notice.id,
            notice_type: notice.notice_type,
            case_reference: notice.case_reference,
            title: notice.title,
            restricted,
            body: (!restricted).then_some(notice.body),
            electronic_body: notice.electronic_body.filter(|_| !restricted),
            decision_date: notice.decision_date,
            decision_maker: notice.decision_maker,
            parties,
            contact_person: notice.contact_person,
            contact_details: notice.contact_details,
            automated_decision: notice.automated_decision,
            language: notice.language,
            verifiable: notice.verifiable,
            appeal_days: notice.appeal_days,
            created_at: notice.created_at.to_rfc3339(),
            attachments: documents(
                attachments.into_iter().map(|a| DocumentSummary {
                    kind: "attachment".into(),
                    filename: a.filename,
                    media_type: a.media_type,
                    sha256: a.sha256,
                    size_bytes: a.size_bytes,
                }),
                restricted,
            ),
            deliveries,
        })
    }

    /// A delivery of the actor's own organisation; any other is "not found".
    async fn own_delivery(&self, actor: &Actor, id: Uuid) -> Result<Delivery, AppError> {
        self.store
            .delivery(id)
            .await
            .map_err(AppError::internal)?
            .filter(|d| d.organisation_id == actor.organisation_id)
            .ok_or(AppError::NotFound)
    }

    async fn own_notice(&self, actor: &Actor, id: Uuid) -> Result<Notice, AppError> {
        self.store
            .notice(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)
    }

    async fn delivery_detail(
        &self,
        delivery: Delivery,
        restricted: bool,
        replies: &[CitizenReply],
    ) -> Result<DeliveryDetail, AppError> {
        let sent = self
            .store
            .delivery_documents(delivery.id)
            .await
            .map_err(AppError::internal)?;
        let history = self
            .store
            .delivery_history(delivery.id)
            .await
            .map_err(AppError::internal)?;
        let reasons = delivery.reasons();
        let legal_basis = delivery.legal_basis();
        Ok(DeliveryDetail {
            id: delivery.id,
            role: delivery.role,
            recipient_name: delivery.recipient_name,
            identity_masked: delivery.identity_masked,
            requested_mode: delivery.requested_mode,
            decided_mode: delivery.decided_mode,
            reasons,
            paper_addressee: delivery.paper_addressee,
            status: delivery.status,
            address_protected: delivery.address_protected,
            suomifi_message_id: delivery.suomifi_message_id,
            needs_attention_reason: delivery.needs_attention_reason,
            submitted_at: delivery.submitted_at.map(Timestamp::to_rfc3339),
            channel_taken: delivery.channel_taken,
            deemed_receipt: delivery.deemed_receipt,
            appeal_deadline: delivery.appeal_deadline,
            legal_basis,
            legal_rule: delivery.legal_rule,
            unacknowledged_at: delivery.unacknowledged_at.map(Timestamp::to_rfc3339),
            reserve_of: delivery.reserve_of,
            documents: documents(
                sent.into_iter().map(|d| DocumentSummary {
                    kind: d.kind,
                    filename: d.filename,
                    media_type: d.media_type,
                    sha256: d.sha256,
                    size_bytes: d.size_bytes,
                }),
                restricted,
            ),
            timeline: timeline(&history, replies),
            history: history
                .into_iter()
                .map(|entry| HistoryItem {
                    occurred_at: entry.occurred_at.to_rfc3339(),
                    details: if restricted {
                        without_file_names(&entry.details)
                    } else {
                        entry.details
                    },
                    kind: entry.kind,
                })
                .collect(),
        })
    }

    async fn audit_action(&self, entry: AuditEntry, what: &str) {
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit {what}");
        }
    }

    /// Keeps a record staff made, then the dates it gives.
    async fn keep_record(
        &self,
        actor: &Actor,
        delivery: &Delivery,
        record: ServiceRecord,
    ) -> Result<(), AppError> {
        self.store
            .record_service(&record)
            .await
            .map_err(AppError::internal)?;
        let entry = AuditEntry::new(AuditAction::ServiceRecorded)
            .by(actor)
            .subject("notice", delivery.notice_id)
            .details(json!({
                "delivery_id": delivery.id,
                "kind": record.kind,
                "method": record.method,
                "served_on": record.served_on,
                "receipt_on": record.receipt_on,
            }));
        self.audit_action(entry, "a service record").await;
        legal::reassess(&self.store, delivery.id, self.receipt)
            .await
            .map_err(AppError::internal)?;
        Ok(())
    }

    fn new_record(actor: &Actor, delivery: &Delivery, kind: &str) -> ServiceRecord {
        ServiceRecord {
            id: Uuid::now_v7(),
            organisation_id: delivery.organisation_id,
            delivery_id: delivery.id,
            kind: kind.to_string(),
            method: None,
            served_on: String::new(),
            receipt_on: None,
            reference: None,
            recorded_by: actor.user_id(),
            recorded_at: Timestamp::now(),
        }
    }
}

/// The history as the page tells it: typed events, who did them, newest first. A Suomi.fi
/// event is placed at the time Suomi.fi gives it.
pub fn timeline(history: &[HistoryEntry], replies: &[CitizenReply]) -> Vec<TimelineEntry> {
    let mut entries: Vec<(Timestamp, TimelineEntry)> = history
        .iter()
        .filter(|entry| !only_the_rule_changed(entry))
        .map(|entry| {
            let details: serde_json::Value =
                serde_json::from_str(&entry.details).unwrap_or_default();
            let text = |key: &str| details[key].as_str().map(str::to_string);
            let at = match (entry.kind.as_str(), text("event_time")) {
                ("suomifi_event", Some(event_time)) => time::OffsetDateTime::parse(
                    &event_time,
                    &time::format_description::well_known::Rfc3339,
                )
                .map(Timestamp::from)
                .unwrap_or(entry.occurred_at),
                _ => entry.occurred_at,
            };
            let (source, event) = timeline_event(&entry.kind, &details);
            (
                at,
                TimelineEntry {
                    at: at.to_rfc3339(),
                    at_local: finnish_local(at),
                    source,
                    event,
                },
            )
        })
        .collect();
    entries.extend(replies.iter().map(|reply| {
        (
            reply.sent_at,
            TimelineEntry {
                at: reply.sent_at.to_rfc3339(),
                at_local: finnish_local(reply.sent_at),
                source: Source::Recipient,
                event: TimelineEvent::ReplyReceived {
                    reply_id: reply.id,
                    title: reply.title.clone(),
                },
            },
        )
    }));
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// A legal-dates entry whose channel and dates are as before (its rule was only told more
/// exactly): the page does not repeat the same dates; the stored history keeps it.
fn only_the_rule_changed(entry: &HistoryEntry) -> bool {
    if entry.kind != "legal_dates" {
        return false;
    }
    let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap_or_default();
    ["channel", "deemed_receipt", "appeal_deadline"]
        .iter()
        .all(|key| details[key] == details["previous"][key])
        && details["deemed_receipt"].is_string()
}

fn timeline_event(kind: &str, details: &serde_json::Value) -> (Source, TimelineEvent) {
    let text = |key: &str| details[key].as_str().map(str::to_string);
    let previous = |key: &str| details["previous"][key].as_str().map(str::to_string);
    match kind {
        "queued" => (
            if details.get("reserve_of").is_some() {
                Source::Tiedoksi
            } else {
                Source::Caseworker
            },
            TimelineEvent::Queued {
                mode: text("decided_mode")
                    .and_then(|mode| DeliveryMode::parse(&mode))
                    .unwrap_or_default(),
                reasons: serde_json::from_value(details["reasons"].clone()).unwrap_or_default(),
            },
        ),
        "attempt_failed" => (
            Source::Tiedoksi,
            TimelineEvent::AttemptFailed {
                retryable: details["retryable"].as_bool().unwrap_or(false),
            },
        ),
        "submitted" => (
            Source::SuomiFi,
            TimelineEvent::Submitted {
                message_id: details["message_id"].as_i64(),
            },
        ),
        "suomifi_event" => {
            let event_type = text("event_type").unwrap_or_default();
            let source = if event_type.starts_with("Posti") {
                Source::Posti
            } else {
                Source::SuomiFi
            };
            let status = text("status").and_then(|status| DeliveryStatus::parse(&status));
            (source, TimelineEvent::Event { event_type, status })
        }
        "legal_dates" => {
            let (deemed, deadline) = (text("deemed_receipt"), text("appeal_deadline"));
            let changed = |old: Option<String>, new: &Option<String>| {
                old.filter(|old| Some(old) != new.as_ref())
            };
            (
                Source::Tiedoksi,
                TimelineEvent::LegalDates {
                    previous_deemed_receipt: changed(previous("deemed_receipt"), &deemed),
                    previous_appeal_deadline: changed(previous("appeal_deadline"), &deadline),
                    deemed_receipt: deemed,
                    appeal_deadline: deadline,
                },
            )
        }
        "needs_attention" => (Source::Tiedoksi, TimelineEvent::NeedsAttention),
        "retry_requested" => (Source::Caseworker, TimelineEvent::RetryRequested),
        "unacknowledged" => (Source::Tiedoksi, TimelineEvent::Unacknowledged),
        "reserve_queued" => (Source::Tiedoksi, TimelineEvent::ReserveQueued),
        "cancelled" => (Source::Tiedoksi, TimelineEvent::Cancelled),
        "mailbox_checked" => (
            Source::SuomiFi,
            TimelineEvent::MailboxChecked {
                active: details["mailbox_active"].as_bool().unwrap_or(false),
            },
        ),
        "mode_changed" => (
            Source::Caseworker,
            TimelineEvent::ModeChanged {
                mode: text("decided_mode")
                    .and_then(|mode| DeliveryMode::parse(&mode))
                    .unwrap_or_default(),
            },
        ),
        "forwarding_recorded" => (
            Source::Caseworker,
            TimelineEvent::ForwardingRecorded {
                on: text("served_on").unwrap_or_default(),
            },
        ),
        "service_recorded" => (
            Source::Caseworker,
            TimelineEvent::ServiceRecorded {
                kind: text("kind").unwrap_or_default(),
                on: text("served_on").unwrap_or_default(),
            },
        ),
        "facts_at_sending" => (
            Source::Tiedoksi,
            TimelineEvent::FactsAtSending {
                minor: details["recipient_minor"].as_bool().unwrap_or(false),
            },
        ),
        other => (
            Source::Tiedoksi,
            TimelineEvent::Other {
                kind: other.to_string(),
            },
        ),
    }
}

/// A history entry's details without the names of the documents it lists (their hashes
/// stay): for readers of a turvakielto notice who may not see its content.
fn without_file_names(details: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(details) else {
        return "{}".to_string();
    };
    if let Some(documents) = value
        .get_mut("documents")
        .and_then(|documents| documents.as_array_mut())
    {
        for document in documents {
            if let Some(document) = document.as_object_mut() {
                document.remove("filename");
            }
        }
    }
    value.to_string()
}

fn submitted_day(delivery: &Delivery) -> Option<Date> {
    delivery
        .submitted_at
        .map(|at| finnish_date(at.as_offset_date_time()))
}

#[async_trait]
impl NoticesBackend for NoticeViews {
    async fn list_notices(&self, actor: &Actor) -> Result<Vec<NoticeSummary>, AppError> {
        let rows = self
            .store
            .notice_summaries(actor.organisation_id, LIST_LIMIT)
            .await
            .map_err(AppError::internal)?;
        Ok(rows
            .into_iter()
            .map(|row| NoticeSummary {
                id: row.id,
                notice_type: row.notice_type,
                case_reference: row.case_reference,
                title: row.title,
                created_at: row.created_at.to_rfc3339(),
                recipients: row.recipients as u32,
                needs_attention: row.needs_attention as u32,
            })
            .collect())
    }

    async fn notice_detail(&self, actor: &Actor, id: Uuid) -> Result<NoticeDetail, AppError> {
        self.detail(actor, id, true).await
    }

    async fn retry_delivery(&self, actor: &Actor, delivery_id: Uuid) -> Result<(), AppError> {
        let delivery = self.own_delivery(actor, delivery_id).await?;
        let retried = self
            .store
            .retry_delivery(delivery_id, Timestamp::now())
            .await
            .map_err(AppError::internal)?;
        if !retried {
            return Err(invalid("delivery_id", Problem::NotNeedingAttention));
        }
        let entry = AuditEntry::new(AuditAction::DeliveryRetried)
            .by(actor)
            .subject("notice", delivery.notice_id)
            .details(json!({
                "delivery_id": delivery_id,
                "reason": delivery.needs_attention_reason,
            }));
        self.audit_action(entry, "a retry").await;
        Ok(())
    }

    async fn reserve_on_paper(&self, actor: &Actor, delivery_id: Uuid) -> Result<Uuid, AppError> {
        let delivery = self.own_delivery(actor, delivery_id).await?;
        // Only what the watch flagged: an acknowledged or paper delivery is not served again.
        if delivery.unacknowledged_at.is_none() {
            return Err(not_unacknowledged());
        }
        let reserve = match self
            .store
            .create_reserve(delivery_id, Uuid::now_v7(), Timestamp::now())
            .await
            .map_err(AppError::internal)?
        {
            Some(created) => {
                let entry = AuditEntry::new(AuditAction::DeliveryReserved)
                    .by(actor)
                    .subject("notice", delivery.notice_id)
                    .details(json!({ "delivery_id": delivery_id, "reserve_delivery_id": created }));
                self.audit_action(entry, "a re-serve").await;
                created
            }
            // Re-served before (asking twice is fine), or acknowledged meanwhile.
            None => self
                .store
                .reserve_of(delivery_id)
                .await
                .map_err(AppError::internal)?
                .map(|d| d.id)
                .ok_or_else(not_unacknowledged)?,
        };
        Ok(reserve)
    }

    async fn record_forwarding(
        &self,
        actor: &Actor,
        record: ForwardingRecord,
    ) -> Result<(), AppError> {
        let delivery = self.own_delivery(actor, record.delivery_id).await?;
        let notice = self.own_notice(actor, delivery.notice_id).await?;
        let went_on_paper = delivery.channel_taken.as_deref() == Some("paper")
            || matches!(
                delivery.decided_mode,
                DeliveryMode::PaperOnly | DeliveryMode::PaperWithoutId
            );
        if !delivery.forwarded() || delivery.suomifi_message_id.is_none() || !went_on_paper {
            return Err(invalid("delivery_id", Problem::NotForwarded));
        }
        let method = ForwardingMethod::parse(&record.method)
            .ok_or_else(|| invalid("method", Problem::Required))?;
        let forwarded_on = past_date(
            &record.forwarded_on,
            "forwarded_on",
            submitted_day(&delivery),
        )?;
        // A verifiable notice stays verifiable on its way on.
        if notice.verifiable && !method.needs_receipt() {
            return Err(invalid("method", Problem::ReceiptRequired));
        }
        let received_on = match (method, record.received_on.as_deref().map(str::trim)) {
            (ForwardingMethod::OrdinaryLetter, _) => None,
            (ForwardingMethod::InPerson, None | Some("")) => Some(forwarded_on),
            (_, None | Some("")) => return Err(invalid("received_on", Problem::ReceiptRequired)),
            (_, Some(text)) => Some(past_date(text, "received_on", Some(forwarded_on))?),
        };
        let mut kept = Self::new_record(actor, &delivery, "forwarding");
        kept.method = Some(method.as_str().to_string());
        kept.served_on = forwarded_on.to_string();
        kept.receipt_on = received_on.map(|date| date.to_string());
        self.keep_record(actor, &delivery, kept).await
    }

    async fn record_service(
        &self,
        actor: &Actor,
        record: ManualServiceRecord,
    ) -> Result<(), AppError> {
        let delivery = self.own_delivery(actor, record.delivery_id).await?;
        if !delivery.status.letter_undelivered() {
            return Err(invalid("delivery_id", Problem::LetterNotUndelivered));
        }
        let kind =
            ManualService::parse(&record.kind).ok_or_else(|| invalid("kind", Problem::Required))?;
        let served_on = past_date(&record.served_on, "served_on", submitted_day(&delivery))?;
        let reference = record
            .reference
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty());
        if reference
            .as_ref()
            .is_some_and(|text| text.chars().count() > MAX_REFERENCE_CHARS)
        {
            return Err(invalid(
                "reference",
                Problem::TooLong {
                    max: MAX_REFERENCE_CHARS as u32,
                },
            ));
        }
        let mut kept = Self::new_record(actor, &delivery, kind.as_str());
        kept.served_on = served_on.to_string();
        kept.reference = reference;
        self.keep_record(actor, &delivery, kept).await
    }

    async fn change_to_multichannel(
        &self,
        actor: &Actor,
        delivery_id: Uuid,
    ) -> Result<(), AppError> {
        let delivery = self.own_delivery(actor, delivery_id).await?;
        let notice = self.own_notice(actor, delivery.notice_id).await?;
        if delivery.status != DeliveryStatus::NeedsAttention
            || delivery.decided_mode != DeliveryMode::ElectronicOnly
        {
            return Err(invalid("delivery_id", Problem::NotNeedingAttention));
        }
        // Multichannel may print: everything paper needs must be there.
        let settings = delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        if settings.return_address.is_none() {
            return Err(invalid("delivery_id", Problem::ReturnAddressNotSet));
        }
        if delivery.forwarded() && settings.forwarding_address.is_none() {
            return Err(invalid("delivery_id", Problem::ForwardingAddressNotSet));
        }
        if !delivery.forwarded() && delivery.address_sealed.is_none() {
            return Err(invalid("delivery_id", Problem::AddressRequired));
        }
        if !notice.has_letter() {
            return Err(invalid("delivery_id", Problem::AttachmentNotPrintable));
        }
        let change = ModeChange {
            mode: DeliveryMode::Multichannel,
            reasons: vec![ChannelReason::NoActiveMailboxAtSending],
            by: actor.user_id(),
        };
        if !self
            .store
            .change_delivery_mode(delivery_id, &change, Timestamp::now())
            .await
            .map_err(AppError::internal)?
        {
            return Err(invalid("delivery_id", Problem::NotNeedingAttention));
        }
        let entry = AuditEntry::new(AuditAction::DeliveryModeChanged)
            .by(actor)
            .subject("notice", delivery.notice_id)
            .details(json!({
                "delivery_id": delivery_id,
                "from": delivery.decided_mode,
                "to": DeliveryMode::Multichannel,
            }));
        self.audit_action(entry, "a mode change").await;
        Ok(())
    }

    async fn delivery_statuses(
        &self,
        actor: &Actor,
        notice_id: Uuid,
    ) -> Result<Vec<app::notices::page::LiveStatus>, AppError> {
        Ok(self
            .store
            .deliveries(actor.organisation_id, notice_id)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|delivery| app::notices::page::LiveStatus {
                id: delivery.id,
                name: delivery.recipient_name,
                status: delivery.status,
            })
            .collect())
    }

    async fn find_notices(
        &self,
        actor: &Actor,
        filter: NoticeFilter,
    ) -> Result<NoticeListPage, AppError> {
        crate::notices::list::find(self, actor, filter).await
    }

    async fn needs_attention(&self, actor: &Actor) -> Result<Vec<AttentionItem>, AppError> {
        crate::notices::list::needs_attention(self, actor).await
    }
}

/// What a notice page's action form posts.
#[derive(serde::Deserialize)]
pub struct DeliveryAction {
    pub action: String,
    pub delivery_id: Uuid,
    /// Recording service: the forwarding method, or the kind of manual service.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    /// `YYYY-MM-DD`: forwarded on, or served on.
    #[serde(default)]
    pub served_on: Option<String>,
    /// A forwarding's receipt date, or a manual service's reference.
    #[serde(default)]
    pub second: Option<String>,
}

/// `POST /notices/{id}/actions`: retry, re-serve on paper, or change to multichannel, after
/// the page's confirmation; back to the notice, with the problem when it could not be done.
pub async fn delivery_action(
    axum::extract::State(views): axum::extract::State<NoticeViews>,
    actor: Actor,
    axum::extract::Path(notice_id): axum::extract::Path<Uuid>,
    axum::Form(form): axum::Form<DeliveryAction>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    if !actor.may_compose() {
        return (AppError::Forbidden.status(), "forbidden").into_response();
    }
    // Only a delivery of this notice.
    match views.own_delivery(&actor, form.delivery_id).await {
        Ok(delivery) if delivery.notice_id == notice_id => {}
        _ => return (AppError::NotFound.status(), "not found").into_response(),
    }
    let done = match form.action.as_str() {
        "retry" => views.retry_delivery(&actor, form.delivery_id).await,
        "reserve" => views
            .reserve_on_paper(&actor, form.delivery_id)
            .await
            .map(|_| ()),
        "multichannel" => views.change_to_multichannel(&actor, form.delivery_id).await,
        "forwarding" => {
            let record = ForwardingRecord {
                delivery_id: form.delivery_id,
                method: form.method.clone().unwrap_or_default(),
                forwarded_on: form.served_on.clone().unwrap_or_default(),
                received_on: form.second.clone().filter(|s| !s.trim().is_empty()),
            };
            views.record_forwarding(&actor, record).await
        }
        "service" => {
            let record = ManualServiceRecord {
                delivery_id: form.delivery_id,
                kind: form.kind.clone().unwrap_or_default(),
                served_on: form.served_on.clone().unwrap_or_default(),
                reference: form.second.clone().filter(|s| !s.trim().is_empty()),
            };
            views.record_service(&actor, record).await
        }
        _ => Err(AppError::NotFound),
    };
    let anchor = format!("#delivery-{}", form.delivery_id);
    match done {
        Ok(()) => Redirect::to(&format!("/notices/{notice_id}{anchor}")).into_response(),
        Err(AppError::Invalid(problems)) => {
            let problem = problems
                .first()
                .and_then(|p| serde_json::to_string(&p.problem).ok())
                .unwrap_or_default();
            let query = app::layout::encode_query_value(&problem);
            Redirect::to(&format!("/notices/{notice_id}?problem={query}{anchor}")).into_response()
        }
        Err(error) => (error.status(), error.to_string()).into_response(),
    }
}
