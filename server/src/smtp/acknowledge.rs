//! Acknowledgements (opt-in per organisation: `tiedoksi smtp settings --acknowledgements
//! true`): a mail back to the sender (Reply-To, else From — as the old interface did) when a
//! mailed notice reaches a recipient's mailbox, is read, or its receipt is confirmed, threaded
//! to the original with `In-Reply-To`, with a fixed subject prefix and an `X-Tiedoksi-Status`
//! header for case systems.
//!
//! A watch finds deliveries whose milestone has no acknowledgement yet and records each
//! (once per delivery and milestone) together with its sending job; the outbox sends it.

use std::sync::Arc;
use std::time::Duration;

use app::i18n::Locale;
use async_trait::async_trait;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;
use mail_parser::MessageParser;
use tokio::sync::watch;
use uuid::Uuid;

use super::kept::{KeptMail, KeptMails};
use super::report::{locale, masked, Relay, ReportWriter};
use crate::delivery::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::store::{Acknowledgement, AcknowledgementCandidate, Job, Store, StoreResult, Timestamp};

/// A delivery that failed after its mail was accepted: reported to the sender whatever the
/// acknowledgement setting (a sender must hear what did not go).
const FAILED: &str = "failed";

/// The milestones a status has passed, in order.
fn milestones(status: &str) -> &'static [&'static str] {
    match status {
        "receipt_confirmed" => &["sent", "receipt_confirmed"],
        "read" => &["sent", "read"],
        _ => &["sent"],
    }
}

/// Finds what needs acknowledging and queues it.
pub struct AcknowledgementScan {
    pub store: Arc<dyn Store>,
}

impl AcknowledgementScan {
    /// One pass; how many acknowledgements were queued.
    pub async fn pass(&self) -> StoreResult<usize> {
        let reached = self.store.acknowledgement_candidates(500).await?;
        let failed = self.store.failed_mail_deliveries(500).await?;
        let mut due: Vec<(AcknowledgementCandidate, &'static str)> = Vec::new();
        for candidate in reached {
            for milestone in milestones(&candidate.status) {
                due.push((candidate.clone(), milestone));
            }
        }
        due.extend(failed.into_iter().map(|candidate| (candidate, FAILED)));
        let mut queued = 0;
        for (candidate, milestone) in due {
            let acknowledgement = Acknowledgement {
                id: Uuid::now_v7(),
                organisation_id: candidate.organisation_id,
                smtp_message_id: candidate.smtp_message_id,
                delivery_id: candidate.delivery_id,
                milestone: milestone.to_string(),
                created_at: Timestamp::now(),
            };
            if self.store.record_acknowledgement(&acknowledgement).await? {
                queued += 1;
            }
        }
        Ok(queued)
    }

    pub async fn run(
        self,
        interval: Duration,
        stop: watch::Receiver<bool>,
        leader: crate::delivery::Leader,
    ) {
        crate::delivery::every_as_leader(
            &leader,
            "mail_acknowledgements",
            interval,
            stop,
            "acknowledging mailed notices",
            || async { self.pass().await.map(|_| ()) },
        )
        .await
    }
}

/// Sends one acknowledgement.
pub struct MailAcknowledgements {
    pub store: Arc<dyn Store>,
    pub kept: KeptMails,
    pub relay: Option<Relay>,
    pub from: String,
    pub writer: ReportWriter,
}

/// The subject's prefix and the sentence's words for a milestone.
fn words(locale: Locale, milestone: &str) -> (&'static str, &'static str) {
    match (locale, milestone) {
        (Locale::sv, "read") => ("Läst", "har lästs av mottagaren"),
        (Locale::sv, "receipt_confirmed") => ("Kvitterad", "har kvitterats som mottagen"),
        (Locale::sv, _) => ("Skickad", "har skickats till Suomi.fi-meddelanden"),
        (Locale::en, "read") => ("Read", "has been read by the recipient"),
        (Locale::en, "receipt_confirmed") => {
            ("Receipt confirmed", "has been acknowledged as received")
        }
        (Locale::en, _) => ("Sent", "has been sent to Suomi.fi Messages"),
        (_, "read") => ("Luettu", "on luettu"),
        (_, "receipt_confirmed") => ("Kuitattu", "on kuitattu vastaanotetuksi"),
        _ => ("Lähetetty", "on lähetetty Suomi.fi-viesteihin"),
    }
}

fn recipient_words(locale: Locale) -> &'static str {
    match locale {
        Locale::sv => "Mottagare",
        Locale::en => "Recipient",
        _ => "Vastaanottaja",
    }
}

impl MailAcknowledgements {
    fn build(
        &self,
        acknowledgement: &Acknowledgement,
        kept: &KeptMail,
        recipient: &str,
        to: &str,
        language: &str,
    ) -> Result<Vec<u8>, JobFailure> {
        let locale = locale(language);
        let headers = MessageParser::default().parse_headers(&kept.raw);
        let subject = headers
            .as_ref()
            .and_then(|message| message.subject())
            .unwrap_or_default()
            .to_string();
        let (prefix, sentence) = words(locale, &acknowledgement.milestone);
        let body = format!(
            "{subject}\n\n{} {}.\n{}: {}\n",
            match locale {
                Locale::sv => "Meddelandet",
                Locale::en => "The message",
                _ => "Viesti",
            },
            sentence,
            recipient_words(locale),
            masked(recipient),
        );
        let mut builder = MessageBuilder::new()
            .from(("Tiedoksi", self.from.as_str()))
            .to(to)
            .subject(format!("{prefix}: {subject}"))
            .header("Auto-Submitted", Raw::new("auto-replied"))
            .header(
                "X-Tiedoksi-Status",
                Raw::new(acknowledgement.milestone.clone()),
            )
            .header("X-Tiedoksi-Mail", Raw::new(kept.mail.id.to_string()))
            .text_body(body);
        if let Some(notice) = kept.mail.notice_id {
            builder = builder.header("X-Tiedoksi-Notice", Raw::new(notice.to_string()));
        }
        if let Some(id) = headers.as_ref().and_then(|message| message.message_id()) {
            builder = builder.in_reply_to(id).references(id);
        }
        builder.write_to_vec().map_err(fatal)
    }
}

/// Where acknowledgements go: Reply-To when the mail gave one, else From, else the envelope
/// sender (all checked to be the organisation's at intake).
fn answer_address(raw: &[u8], envelope_from: &str) -> String {
    let headers = MessageParser::default().parse_headers(raw);
    let first = |address: Option<&mail_parser::Address>| {
        address
            .and_then(|address| address.first())
            .and_then(|addr| addr.address())
            .map(str::to_string)
    };
    headers
        .as_ref()
        .and_then(|message| first(message.reply_to()).or_else(|| first(message.from())))
        .unwrap_or_else(|| envelope_from.to_string())
}

#[async_trait]
impl JobHandler for MailAcknowledgements {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let acknowledgement = self
            .store
            .acknowledgement(job.subject_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the acknowledgement is gone"))?;
        let kept = self.kept.open(acknowledgement.smtp_message_id).await?;
        let delivery = self
            .store
            .delivery(acknowledgement.delivery_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the delivery is gone"))?;
        let recipient = kept
            .addresses
            .get(delivery.position as usize)
            .cloned()
            .unwrap_or_else(|| delivery.recipient_name.clone());
        let settings = self
            .store
            .mail_settings(kept.mail.organisation_id)
            .await
            .map_err(retryable)?;
        let (to, bytes) = if acknowledgement.milestone == FAILED {
            // A delivery status notification, like every failure after acceptance.
            let reason = delivery.needs_attention_reason.clone().unwrap_or_default();
            let bytes = self
                .writer
                .build_late_failure(
                    &kept.mail,
                    &kept.raw,
                    &recipient,
                    &reason,
                    &settings.language,
                )
                .map_err(fatal)?;
            (kept.mail.envelope_from.clone(), bytes)
        } else {
            let to = answer_address(&kept.raw, &kept.mail.envelope_from);
            let bytes = self.build(&acknowledgement, &kept, &recipient, &to, &settings.language)?;
            (to, bytes)
        };
        let Some(relay) = &self.relay else {
            tracing::warn!(
                "SMTP bridge: acknowledgements are on, but TIEDOKSI_SMTP_RELAY is not set"
            );
            return Ok(());
        };
        // From the null sender: nothing answers a notification.
        relay.send(&to, &bytes).await.map_err(retryable)
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        tracing::error!(acknowledgement = %job.subject_id, %error, "SMTP bridge: could not acknowledge");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_passes_the_milestones_before_it() {
        assert_eq!(milestones("sent"), ["sent"]);
        assert_eq!(milestones("delivered_electronically"), ["sent"]);
        assert_eq!(milestones("read"), ["sent", "read"]);
        assert_eq!(
            milestones("receipt_confirmed"),
            ["sent", "receipt_confirmed"]
        );
    }

    #[test]
    fn acknowledgements_go_to_reply_to_then_from() {
        let both = b"From: a@kunta.fi\r\nReply-To: kirjaamo@kunta.fi\r\nSubject: x\r\n\r\nb";
        assert_eq!(answer_address(both, "env@kunta.fi"), "kirjaamo@kunta.fi");
        let from = b"From: a@kunta.fi\r\nSubject: x\r\n\r\nb";
        assert_eq!(answer_address(from, "env@kunta.fi"), "a@kunta.fi");
    }
}
