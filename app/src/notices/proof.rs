//! The proof of service of one delivery, as text: what a caseworker hands over when a
//! recipient disputes service — the notice's identity, every document sent with its SHA-256,
//! every event with its time and source, the legal dates and the rule they follow. The server
//! renders it like the paper letter (`/notices/{id}/deliveries/{delivery}/proof.pdf`).

use super::{DeliveryDetail, NoticeDetail};
use crate::domain::legal_rule::finnish_day;
use crate::domain::notice::RecipientRole;
use crate::i18n::*;
use crate::words;

/// The report's title and its body in the letter's Markdown subset.
pub struct ProofText {
    pub title: String,
    pub body: String,
}

/// `printed`: when and by whom, as the report's last line says it.
pub fn proof_text(
    locale: Locale,
    notice: &NoticeDetail,
    delivery: &DeliveryDetail,
    printed_at: &str,
    printed_by: &str,
) -> ProofText {
    let none = || "–".to_string();
    let day = |value: &Option<String>| value.as_deref().map(finnish_day).unwrap_or_else(none);
    let mut body = Vec::new();
    let mut item = |label: String, value: String| body.push(format!("- {label}: {value}"));

    let mut lines: Vec<String> = vec![format!("## {}", td_string!(locale, proof.notice))];
    item(
        td_string!(locale, compose.notice_type).to_string(),
        words::notice_type(locale, &notice.notice_type),
    );
    item(
        td_string!(locale, compose.case_reference).to_string(),
        notice.case_reference.clone(),
    );
    item(
        td_string!(locale, proof.title_label).to_string(),
        notice.title.clone(),
    );
    item(
        td_string!(locale, proof.notice_id).to_string(),
        notice.id.to_string(),
    );
    item(
        td_string!(locale, notice.author).to_string(),
        notice.author_name.clone(),
    );
    item(
        td_string!(locale, notice.created).to_string(),
        notice.created_local.clone(),
    );
    item(
        td_string!(locale, compose.verifiable).to_string(),
        if notice.verifiable {
            td_string!(locale, compose.verifiable_yes).to_string()
        } else {
            td_string!(locale, compose.verifiable_no).to_string()
        },
    );
    item(
        td_string!(locale, compose.appeal_days).to_string(),
        notice
            .appeal_days
            .map(|d| d.to_string())
            .unwrap_or_else(none),
    );
    lines.append(&mut body);

    lines.push(format!("## {}", td_string!(locale, proof.recipient)));
    let mut item = |label: String, value: String| lines.push(format!("- {label}: {value}"));
    item(
        td_string!(locale, proof.name).to_string(),
        delivery.recipient_name.clone(),
    );
    item(
        td_string!(locale, compose.identity_code).to_string(),
        delivery
            .identity_masked
            .clone()
            .unwrap_or_else(|| td_string!(locale, compose.no_identity_code).to_string()),
    );
    item(
        td_string!(locale, compose.role).to_string(),
        RecipientRole::parse(&delivery.role)
            .map(|role| words::role(locale, role))
            .unwrap_or_default(),
    );
    item(
        td_string!(locale, notice.requested_mode).to_string(),
        words::mode(locale, delivery.requested_mode),
    );
    let reasons: Vec<String> = delivery
        .reasons
        .iter()
        .map(|reason| words::reason(locale, *reason))
        .collect();
    item(
        td_string!(locale, notice.decided_mode).to_string(),
        format!(
            "{} {}",
            words::mode(locale, delivery.decided_mode),
            reasons.join(" ")
        ),
    );
    item(
        td_string!(locale, proof.status).to_string(),
        words::status(locale, delivery.status),
    );
    item(
        td_string!(locale, notice.message_id).to_string(),
        delivery
            .suomifi_message_id
            .map(|id| id.to_string())
            .unwrap_or_else(none),
    );
    item(
        td_string!(locale, proof.external_id).to_string(),
        delivery.id.to_string(),
    );

    lines.push(format!("## {}", td_string!(locale, proof.documents)));
    if delivery.documents.is_empty() {
        lines.push(format!("- {}", td_string!(locale, proof.no_documents)));
    }
    for document in &delivery.documents {
        lines.push(format!(
            "- {} ({} B), SHA-256 {}",
            document.filename, document.size_bytes, document.sha256
        ));
    }

    lines.push(format!("## {}", td_string!(locale, proof.events)));
    // A proof reads in order of time: oldest first.
    for entry in delivery.timeline.iter().rev() {
        let (date, time) = entry
            .at_local
            .split_once(' ')
            .unwrap_or((&entry.at_local, ""));
        lines.push(format!(
            "- {} ({}) — {}: {}",
            td_string!(locale, timeline.at, date = date, time = time),
            entry.at,
            words::source(locale, entry.source),
            words::event(locale, &entry.event)
        ));
    }

    lines.push(format!("## {}", td_string!(locale, proof.legal)));
    lines.push(format!(
        "- {}: {}",
        td_string!(locale, notice.deemed_receipt),
        day(&delivery.deemed_receipt)
    ));
    lines.push(format!(
        "- {}: {}",
        td_string!(locale, notice.appeal_deadline),
        day(&delivery.appeal_deadline)
    ));
    match &delivery.legal_basis {
        Some(rule) => {
            for sentence in words::rule(locale, rule) {
                lines.push(format!("- {sentence}"));
            }
        }
        None => {
            if let Some(rule) = &delivery.legal_rule {
                lines.push(format!("- {rule}"));
            }
        }
    }
    lines.push(String::new());
    lines.push(td_string!(locale, proof.printed, at = printed_at, by = printed_by).to_string());
    ProofText {
        title: td_string!(locale, proof.title, name = delivery.recipient_name.clone()).to_string(),
        body: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
    use crate::domain::legal_rule::{AppealBasis, LegalRule, ReceiptBasis};
    use crate::domain::lifecycle::DeliveryStatus;
    use crate::notices::{DocumentSummary, Source, TimelineEntry, TimelineEvent};

    fn delivery() -> DeliveryDetail {
        DeliveryDetail {
            id: uuid::Uuid::nil(),
            role: "party".into(),
            recipient_name: "Maija Meikäläinen".into(),
            identity_masked: Some("150680-****".into()),
            requested_mode: DeliveryMode::PaperOnly,
            decided_mode: DeliveryMode::PaperOnly,
            reasons: vec![ChannelReason::AsRequested],
            paper_addressee: PaperAddressee::Recipient,
            status: DeliveryStatus::SentForPrinting,
            address_protected: false,
            suomifi_message_id: Some(4711),
            needs_attention_reason: None,
            submitted_at: None,
            channel_taken: Some("paper".into()),
            deemed_receipt: Some("2026-12-07".into()),
            appeal_deadline: Some("2027-01-07".into()),
            legal_rule: None,
            legal_basis: Some(LegalRule::Served {
                receipt: ReceiptBasis::OrdinaryLetter { days: 7 },
                sent: None,
                appeal: Some(AppealBasis {
                    days: 30,
                    moved_from: Some("2027-01-06".into()),
                }),
            }),
            unacknowledged_at: None,
            reserve_of: None,
            documents: vec![DocumentSummary {
                kind: "paper_letter".into(),
                filename: "kirje.pdf".into(),
                media_type: "application/pdf".into(),
                sha256: "ab".repeat(32),
                size_bytes: 1234,
            }],
            history: Vec::new(),
            timeline: vec![
                TimelineEntry {
                    at: "2026-11-30T12:05:00Z".into(),
                    at_local: "30.11.2026 14.05".into(),
                    source: Source::SuomiFi,
                    event: TimelineEvent::Submitted {
                        message_id: Some(4711),
                    },
                },
                TimelineEntry {
                    at: "2026-11-30T12:00:00Z".into(),
                    at_local: "30.11.2026 14.00".into(),
                    source: Source::Caseworker,
                    event: TimelineEvent::Queued {
                        mode: DeliveryMode::PaperOnly,
                        reasons: vec![],
                    },
                },
            ],
        }
    }

    fn notice(delivery: DeliveryDetail) -> NoticeDetail {
        NoticeDetail {
            id: uuid::Uuid::nil(),
            notice_type: "decision".into(),
            case_reference: "DNRO 1/2026".into(),
            title: "Päätös".into(),
            restricted: false,
            body: None,
            electronic_body: None,
            decision_date: None,
            decision_maker: None,
            parties: Vec::new(),
            contact_person: None,
            contact_details: None,
            automated_decision: false,
            language: "fi".into(),
            verifiable: false,
            appeal_days: Some(30),
            created_at: String::new(),
            created_local: "30.11.2026 14.00".into(),
            author_name: "Liisa Käsittelijä".into(),
            has_letter: true,
            attachments: Vec::new(),
            deliveries: vec![delivery],
            replies: Vec::new(),
            template: None,
            service_name: None,
        }
    }

    #[test]
    fn the_proof_names_the_documents_events_dates_and_rule() {
        let delivery = delivery();
        let notice = notice(delivery.clone());
        let text = proof_text(Locale::fi, &notice, &delivery, "1.12.2026 09.00", "Liisa");
        assert_eq!(text.title, "Todistus tiedoksiannosta: Maija Meikäläinen");
        let body = text.body;
        assert!(body.contains(&"ab".repeat(32)), "{body}");
        assert!(body.contains("150680-****"));
        assert!(body.contains("7.12.2026") && body.contains("7.1.2027"));
        assert!(body.contains("hallintolaki 59 §"), "{body}");
        assert!(body.contains("6.1.2027"), "the moved last day: {body}");
        // Oldest first: queued before submitted.
        let queued = body.find("30.11.2026 klo 14.00").unwrap();
        let submitted = body.find("30.11.2026 klo 14.05").unwrap();
        assert!(queued < submitted, "{body}");
        assert!(
            body.contains("2026-11-30T12:05:00Z"),
            "the exact instant too"
        );
        let english = proof_text(Locale::en, &notice, &delivery, "x", "y");
        assert!(english.title.starts_with("Proof of service"));
    }
}
