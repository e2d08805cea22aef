//! Domain values in words, in a given language: the pages (through their locale), the proof
//! of service and anything else the server writes for a person use the same texts.

use crate::domain::channel::{ChannelReason, DeliveryMode};
use crate::domain::legal_rule::{finnish_day as finnish_date, LegalRule, ReceiptBasis, SentBasis};
use crate::domain::lifecycle::DeliveryStatus;
use crate::domain::notice::{NoticeType, RecipientRole};
use crate::i18n::*;
use crate::notices::{Source, TimelineEvent};

pub fn role(locale: Locale, role: RecipientRole) -> String {
    match role {
        RecipientRole::Party => td_string!(locale, roles.party).to_string(),
        RecipientRole::Guardian => td_string!(locale, roles.guardian).to_string(),
        RecipientRole::LegalRepresentative => {
            td_string!(locale, roles.legal_representative).to_string()
        }
        RecipientRole::Agent => td_string!(locale, roles.agent).to_string(),
    }
}

pub fn mode(locale: Locale, mode: DeliveryMode) -> String {
    match mode {
        DeliveryMode::Multichannel => td_string!(locale, modes.multichannel).to_string(),
        DeliveryMode::ElectronicOnly => td_string!(locale, modes.electronic_only).to_string(),
        DeliveryMode::PaperOnly => td_string!(locale, modes.paper_only).to_string(),
        DeliveryMode::PaperWithoutId => td_string!(locale, modes.paper_without_id).to_string(),
    }
}

pub fn reason(locale: Locale, reason: ChannelReason) -> String {
    match reason {
        ChannelReason::AsRequested => td_string!(locale, reasons.as_requested).to_string(),
        ChannelReason::NoIdentityCode => td_string!(locale, reasons.no_identity_code).to_string(),
        ChannelReason::ContentNotForOthers => {
            td_string!(locale, reasons.content_not_for_others).to_string()
        }
        ChannelReason::MinorContentNotForGuardians => {
            td_string!(locale, reasons.minor_content_not_for_guardians).to_string()
        }
        ChannelReason::AddressProtectedPaperForwarded => {
            td_string!(locale, reasons.address_protected_paper_forwarded).to_string()
        }
        ChannelReason::VerifiableNotAcknowledged => {
            td_string!(locale, reasons.verifiable_not_acknowledged).to_string()
        }
        ChannelReason::NoActiveMailboxAtSending => {
            td_string!(locale, reasons.no_active_mailbox_at_sending).to_string()
        }
    }
}

pub fn notice_type(locale: Locale, kind: &str) -> String {
    match NoticeType::parse(kind) {
        Some(NoticeType::Decision) => td_string!(locale, notice_types.decision).to_string(),
        Some(NoticeType::Summons) => td_string!(locale, notice_types.summons).to_string(),
        Some(NoticeType::CompletionRequest) => {
            td_string!(locale, notice_types.completion_request).to_string()
        }
        Some(NoticeType::InspectionReport) => {
            td_string!(locale, notice_types.inspection_report).to_string()
        }
        Some(NoticeType::Notification) => td_string!(locale, notice_types.notification).to_string(),
        Some(NoticeType::ArrivalNotice) => {
            td_string!(locale, notice_types.arrival_notice).to_string()
        }
        Some(NoticeType::DecisionDateEstimate) => {
            td_string!(locale, notice_types.decision_date_estimate).to_string()
        }
        Some(NoticeType::Other) | None => td_string!(locale, notice_types.other).to_string(),
    }
}

/// The rule of a delivery's legal dates in the reader's language, a sentence a line.
pub fn rule(locale: Locale, rule: &LegalRule) -> Vec<String> {
    let on = |date: &str| finnish_date(date);
    match rule {
        LegalRule::NotSentYet => vec![td_string!(locale, rule.not_sent_yet).to_string()],
        LegalRule::WaitingForChannel => {
            vec![td_string!(locale, rule.waiting_for_channel).to_string()]
        }
        LegalRule::ForwardingNotRecorded => {
            vec![td_string!(locale, rule.forwarding_not_recorded).to_string()]
        }
        LegalRule::ForwardingReceiptMissing => {
            vec![td_string!(locale, rule.forwarding_receipt_missing).to_string()]
        }
        LegalRule::ReturnedByPosti => vec![td_string!(locale, rule.returned_by_posti).to_string()],
        LegalRule::UndeliveredByPosti => {
            vec![td_string!(locale, rule.undelivered_by_posti).to_string()]
        }
        LegalRule::AwaitingAcknowledgement => {
            vec![td_string!(locale, rule.awaiting_acknowledgement).to_string()]
        }
        LegalRule::ServedByOther { on: date } => {
            vec![td_string!(locale, rule.served_by_other, on = on(date)).to_string()]
        }
        LegalRule::Served {
            receipt,
            sent,
            appeal,
        } => {
            let mut sentences = vec![match receipt {
                ReceiptBasis::VerifiableElectronic => {
                    td_string!(locale, rule.verifiable_electronic).to_string()
                }
                ReceiptBasis::VerifiableLetter => {
                    td_string!(locale, rule.verifiable_letter).to_string()
                }
                ReceiptBasis::OrdinaryElectronic { days } => {
                    td_string!(locale, rule.ordinary_electronic, days = *days).to_string()
                }
                ReceiptBasis::OrdinaryLetter { days } => {
                    td_string!(locale, rule.ordinary_letter, days = *days).to_string()
                }
                ReceiptBasis::SubstituteService { certificate_on } => {
                    td_string!(locale, rule.substitute_service, on = on(certificate_on)).to_string()
                }
                ReceiptBasis::PublicNotice { published_on } => {
                    td_string!(locale, rule.public_notice, on = on(published_on)).to_string()
                }
                ReceiptBasis::ForwardedByLetter { forwarded_on, days } => td_string!(
                    locale,
                    rule.forwarded_by_letter,
                    on = on(forwarded_on),
                    days = *days
                )
                .to_string(),
                ReceiptBasis::ForwardedAgainstReceipt { forwarded_on } => td_string!(
                    locale,
                    rule.forwarded_against_receipt,
                    on = on(forwarded_on)
                )
                .to_string(),
                ReceiptBasis::HandedOver { on: date } => {
                    td_string!(locale, rule.handed_over, on = on(date)).to_string()
                }
            }];
            match sent {
                Some(SentBasis::Printed { lag_days: 0 }) => {
                    sentences.push(td_string!(locale, rule.sent_printed).to_string())
                }
                Some(SentBasis::Printed { lag_days }) => sentences
                    .push(td_string!(locale, rule.sent_printed_lag, days = *lag_days).to_string()),
                Some(SentBasis::NotPrintedYet) => {
                    sentences.push(td_string!(locale, rule.sent_not_printed).to_string())
                }
                None => {}
            }
            if let Some(appeal) = appeal {
                sentences.push(td_string!(locale, rule.appeal, days = appeal.days).to_string());
                if let Some(last) = &appeal.moved_from {
                    sentences
                        .push(td_string!(locale, rule.appeal_moved, last = on(last)).to_string());
                }
            }
            sentences
        }
    }
}

pub fn source(locale: Locale, source: Source) -> String {
    match source {
        Source::Caseworker => td_string!(locale, timeline.caseworker).to_string(),
        Source::Tiedoksi => td_string!(locale, timeline.tiedoksi).to_string(),
        Source::SuomiFi => td_string!(locale, timeline.suomifi).to_string(),
        Source::Posti => td_string!(locale, timeline.posti).to_string(),
        Source::Recipient => td_string!(locale, timeline.recipient).to_string(),
    }
}

pub fn event(locale: Locale, event: &TimelineEvent) -> String {
    let date = |value: &Option<String>| {
        value
            .as_deref()
            .map(finnish_date)
            .unwrap_or_else(|| "–".into())
    };
    match event {
        TimelineEvent::Queued { mode, reasons } => {
            let reasons: Vec<String> = reasons.iter().map(|r| reason(locale, *r)).collect();
            format!(
                "{} {} {}",
                td_string!(locale, timeline.queued),
                self::mode(locale, *mode),
                reasons.join(" ")
            )
        }
        TimelineEvent::AttemptFailed { retryable: true } => {
            td_string!(locale, timeline.attempt_failed_retry).to_string()
        }
        TimelineEvent::AttemptFailed { retryable: false } => {
            td_string!(locale, timeline.attempt_failed).to_string()
        }
        TimelineEvent::Submitted { message_id } => {
            let id = message_id.map(|id| id.to_string()).unwrap_or_default();
            td_string!(locale, timeline.submitted, id = id).to_string()
        }
        TimelineEvent::Event { event_type, status } => match status {
            Some(status) => self::status(locale, *status),
            None => event_type.clone(),
        },
        TimelineEvent::LegalDates {
            deemed_receipt,
            appeal_deadline,
            previous_deemed_receipt,
            previous_appeal_deadline,
        } => {
            let mut text = td_string!(
                locale,
                timeline.legal_dates,
                receipt = date(deemed_receipt),
                deadline = date(appeal_deadline)
            )
            .to_string();
            if previous_deemed_receipt.is_some() || previous_appeal_deadline.is_some() {
                text.push(' ');
                text.push_str(
                    &td_string!(
                        locale,
                        timeline.previously,
                        receipt = date(previous_deemed_receipt),
                        deadline = date(previous_appeal_deadline)
                    )
                    .to_string(),
                );
            }
            text
        }
        TimelineEvent::NeedsAttention => td_string!(locale, timeline.needs_attention).to_string(),
        TimelineEvent::RetryRequested => td_string!(locale, timeline.retry_requested).to_string(),
        TimelineEvent::Unacknowledged => td_string!(locale, timeline.unacknowledged).to_string(),
        TimelineEvent::ReserveQueued => td_string!(locale, timeline.reserve_queued).to_string(),
        TimelineEvent::Cancelled => td_string!(locale, timeline.cancelled).to_string(),
        TimelineEvent::MailboxChecked { active: true } => {
            td_string!(locale, timeline.mailbox_active).to_string()
        }
        TimelineEvent::MailboxChecked { active: false } => {
            td_string!(locale, timeline.mailbox_inactive).to_string()
        }
        TimelineEvent::ModeChanged { mode } => format!(
            "{} {}",
            td_string!(locale, timeline.mode_changed),
            self::mode(locale, *mode)
        ),
        TimelineEvent::ForwardingRecorded { on } => {
            td_string!(locale, timeline.forwarding_recorded, on = finnish_date(on)).to_string()
        }
        TimelineEvent::ServiceRecorded { on, .. } => {
            td_string!(locale, timeline.service_recorded, on = finnish_date(on)).to_string()
        }
        TimelineEvent::FactsAtSending { .. } => {
            td_string!(locale, timeline.facts_at_sending).to_string()
        }
        TimelineEvent::ReplyReceived { title, .. } => {
            td_string!(locale, timeline.reply_received, title = title.clone()).to_string()
        }
        TimelineEvent::Other { kind } => kind.clone(),
    }
}

pub fn status(locale: Locale, status: DeliveryStatus) -> String {
    match status {
        DeliveryStatus::Queued => td_string!(locale, statuses.queued).to_string(),
        DeliveryStatus::NeedsAttention => td_string!(locale, statuses.needs_attention).to_string(),
        DeliveryStatus::Cancelled => td_string!(locale, statuses.cancelled).to_string(),
        DeliveryStatus::Sent => td_string!(locale, statuses.sent).to_string(),
        DeliveryStatus::DeliveredElectronically => {
            td_string!(locale, statuses.delivered_electronically).to_string()
        }
        DeliveryStatus::PaperCreated => td_string!(locale, statuses.paper_created).to_string(),
        DeliveryStatus::SentForPrinting => {
            td_string!(locale, statuses.sent_for_printing).to_string()
        }
        DeliveryStatus::Read => td_string!(locale, statuses.read).to_string(),
        DeliveryStatus::ReceiptConfirmed => {
            td_string!(locale, statuses.receipt_confirmed).to_string()
        }
        DeliveryStatus::PostiReceiptConfirmed => {
            td_string!(locale, statuses.posti_receipt_confirmed).to_string()
        }
        DeliveryStatus::Returned => td_string!(locale, statuses.returned).to_string(),
        DeliveryStatus::Unresolved => td_string!(locale, statuses.unresolved).to_string(),
    }
}

/// The label of a form field as the pages name it (`recipients[0].identity_code` →
/// "Vastaanottaja 1: Henkilötunnus tai Y-tunnus"), for an error summary; `None` for a name no
/// page shows.
pub fn field_label(locale: Locale, field: &str) -> Option<String> {
    if let Some(rest) = field.strip_prefix("recipients[") {
        let (index, rest) = rest.split_once(']')?;
        let number = index.parse::<usize>().ok()? + 1;
        let recipient = td_string!(locale, compose.recipient_legend, n = number).to_string();
        return Some(match rest.strip_prefix('.') {
            None => recipient,
            Some(part) => format!("{recipient}: {}", recipient_field(locale, part)?),
        });
    }
    if let Some(part) = field.strip_prefix("decision.") {
        return Some(match part {
            "decision_date" => td_string!(locale, compose.decision_date).to_string(),
            "decision_maker" => td_string!(locale, compose.decision_maker).to_string(),
            "parties" => td_string!(locale, compose.parties).to_string(),
            "contact_person" => td_string!(locale, compose.contact_person).to_string(),
            "contact_details" => td_string!(locale, compose.contact_details).to_string(),
            _ => return None,
        });
    }
    if field.starts_with("attachments[") {
        return Some(td_string!(locale, compose.section_attachments).to_string());
    }
    Some(match field {
        "notice_type" => td_string!(locale, compose.notice_type).to_string(),
        "case_reference" => td_string!(locale, compose.case_reference).to_string(),
        "title" => td_string!(locale, compose.title_field).to_string(),
        "body" => td_string!(locale, compose.body).to_string(),
        "language" => td_string!(locale, compose.language).to_string(),
        "appeal_days" => td_string!(locale, compose.appeal_days).to_string(),
        "appeal_instructions" => td_string!(locale, compose.appeal_instructions).to_string(),
        "verifiable" => td_string!(locale, compose.verifiable).to_string(),
        "minor_personal_matter" => td_string!(locale, compose.minor_personal_matter).to_string(),
        "recipients" => td_string!(locale, compose.section_recipients).to_string(),
        "attachments" => td_string!(locale, compose.section_attachments).to_string(),
        "attachment_name" => td_string!(locale, compose.attachment_name).to_string(),
        "file" => td_string!(locale, compose.attachment_file).to_string(),
        "q" => td_string!(locale, notices.search_label).to_string(),
        "from" => td_string!(locale, notices.created_from).to_string(),
        "to" => td_string!(locale, notices.created_to).to_string(),
        _ => return None,
    })
}

pub fn recipient_field(locale: Locale, part: &str) -> Option<String> {
    Some(match part {
        "role" => td_string!(locale, compose.role).to_string(),
        "name" => td_string!(locale, compose.name).to_string(),
        "identity_code" => td_string!(locale, compose.identity_code).to_string(),
        "mode" => td_string!(locale, compose.mode).to_string(),
        "address" => td_string!(locale, compose.address_legend).to_string(),
        "address.name" => td_string!(locale, compose.address_name).to_string(),
        "address.additional_name" => {
            td_string!(locale, compose.address_additional_name).to_string()
        }
        "address.street_address" => td_string!(locale, compose.address_street).to_string(),
        "address.zip_code" => td_string!(locale, compose.address_zip).to_string(),
        "address.city" => td_string!(locale, compose.address_city).to_string(),
        "address.country_code" => td_string!(locale, compose.address_country).to_string(),
        "address_protected" => td_string!(locale, compose.address_protected).to_string(),
        "content_not_for_others" => td_string!(locale, compose.content_not_for_others).to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_summaries_name_the_field() {
        assert_eq!(
            field_label(Locale::fi, "recipients[0].identity_code").as_deref(),
            Some("Vastaanottaja 1: Henkilötunnus tai Y-tunnus")
        );
        assert_eq!(field_label(Locale::en, "title").as_deref(), Some("Title"));
        assert_eq!(
            field_label(Locale::fi, "decision.decision_maker").as_deref(),
            Some("Päätöksen tekijä")
        );
        assert_eq!(field_label(Locale::fi, "something_else"), None);
    }
}
