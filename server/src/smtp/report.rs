//! Reports to the sender of a mail that could not (wholly) become a notice: standard delivery
//! status notifications (RFC 3464 `multipart/report`), in the organisation's mail language,
//! sent from the null sender through the operator's relay with TLS required. A mail server or
//! case system handles them like any bounce; a person reads the first part.
//!
//! A report is sent at least once: a crash between sending and settling the job sends it
//! again, which a sender can bear (a lost report it could not).

use std::sync::Arc;
use std::time::Duration;

use app::compose::problem_text;
use app::domain::channel::ChannelRefusal;
use app::i18n::Locale;
use app::words::field_label;
use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use mail_parser::MessageParser;

use super::ingest::{MailOutcome, MailProblem};
use super::kept::{KeptMail, KeptMails};
use crate::config::SmtpConfig;
use crate::delivery::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::store::{InboundMail, Job, Store};

/// The operator's relay, TLS required.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Relay {
    /// `None` when no relay is configured.
    pub fn from_config(config: &SmtpConfig) -> anyhow::Result<Option<Self>> {
        let Some(relay) = &config.relay else {
            return Ok(None);
        };
        let (host, port) = match relay.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse()?),
            None => (relay.clone(), 25),
        };
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(ca) = &config.relay_ca {
            tls = tls.add_root_certificate(Certificate::from_pem(&std::fs::read(ca)?)?);
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(Tls::Required(tls.build_rustls()?))
            .hello_name(ClientId::Domain(config.hostname.clone()))
            .timeout(Some(Duration::from_secs(60)))
            .build();
        Ok(Some(Self { transport }))
    }

    /// From the null reverse path: nothing ever answers a report.
    pub async fn send(&self, to: &str, bytes: &[u8]) -> Result<(), String> {
        self.send_from(None, to, bytes).await
    }

    pub async fn send_from(
        &self,
        from: Option<&str>,
        to: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        let from = match from {
            Some(from) => Some(from.parse().map_err(|e| format!("{e}"))?),
            None => None,
        };
        let envelope = Envelope::new(from, vec![to.parse().map_err(|e| format!("{e}"))?])
            .map_err(|e| e.to_string())?;
        self.transport
            .send_raw(&envelope, bytes)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Writes the reports: who they come from and which host reports.
#[derive(Clone)]
pub struct ReportWriter {
    pub hostname: String,
    pub from: String,
}

pub struct MailReports {
    pub store: Arc<dyn Store>,
    pub kept: KeptMails,
    pub relay: Option<Relay>,
    pub writer: ReportWriter,
}

pub(crate) fn locale(language: &str) -> Locale {
    match language {
        "sv" => Locale::sv,
        "en" => Locale::en,
        _ => Locale::fi,
    }
}

/// One failed recipient: its address, the enhanced status and the reason in words.
struct Failure {
    address: String,
    status: &'static str,
    reason: String,
}

/// `131052-****@asiointitili.fi`: the person's part of the report names no one in full.
pub(crate) fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => match app::domain::RecipientId::parse(local) {
            Ok(id) => format!("{}@{domain}", id.masked()),
            Err(_) => address.to_string(),
        },
        None => address.to_string(),
    }
}

struct Texts {
    subject: &'static str,
    intro: &'static str,
    others_sent: &'static str,
    tnef: &'static str,
    unreadable: &'static str,
    unknown_type: &'static str,
    attachment: &'static str,
    no_recipient_left: &'static str,
    failed: &'static str,
}

fn texts(locale: Locale) -> Texts {
    match locale {
        Locale::sv => Texts {
            subject: "Meddelandet kunde inte skickas till Suomi.fi-meddelanden",
            intro: "Tiedoksi tog emot ditt meddelande men kunde inte skicka det till följande mottagare:",
            others_sent: "Till de övriga mottagarna har meddelandet skickats.",
            tnef: "Outlooks bilaga winmail.dat (TNEF) kan inte läsas. Skicka bilagorna som vanliga bilagor (inte i RTF-format).",
            unreadable: "Meddelandet kunde inte läsas som ett MIME-meddelande.",
            unknown_type: "X-Tiedoksi-Type anger en okänd typ av delgivning",
            attachment: "Bilagan",
            no_recipient_left: "Ingen mottagare kunde nås.",
            failed: "Meddelandet kunde inte behandlas. Kontakta Tiedoksis administratör.",
        },
        Locale::en => Texts {
            subject: "Your message could not be sent to Suomi.fi Messages",
            intro: "Tiedoksi received your message but could not send it to these recipients:",
            others_sent: "The message was sent to the other recipients.",
            tnef: "Outlook's winmail.dat (TNEF) attachment cannot be read. Send the attachments as ordinary attachments (not in rich text format).",
            unreadable: "The message could not be read as a MIME message.",
            unknown_type: "X-Tiedoksi-Type names an unknown kind of notice",
            attachment: "Attachment",
            no_recipient_left: "No recipient could be reached.",
            failed: "The message could not be processed. Contact Tiedoksi's administrator.",
        },
        _ => Texts {
            subject: "Viestiä ei voitu lähettää Suomi.fi-viesteihin",
            intro: "Tiedoksi vastaanotti viestisi, mutta sitä ei voitu lähettää seuraaville vastaanottajille:",
            others_sent: "Muille vastaanottajille viesti on lähetetty.",
            tnef: "Outlookin winmail.dat-liitettä (TNEF) ei voi lukea. Lähetä liitteet tavallisina liitteinä (ei RTF-muodossa).",
            unreadable: "Viestiä ei voitu lukea MIME-muotoisena.",
            unknown_type: "X-Tiedoksi-Type ilmoittaa tuntemattoman tiedoksiannon lajin",
            attachment: "Liite",
            no_recipient_left: "Yhdellekään vastaanottajalle ei voitu lähettää.",
            failed: "Viestiä ei voitu käsitellä. Ota yhteys Tiedoksin ylläpitoon.",
        },
    }
}

/// A problem about the whole mail, in words, and its enhanced status code.
fn mail_problem(locale: Locale, problem: &MailProblem) -> (String, &'static str) {
    let words = texts(locale);
    match problem {
        MailProblem::Tnef => (words.tnef.to_string(), "5.6.1"),
        MailProblem::Unreadable => (words.unreadable.to_string(), "5.6.0"),
        MailProblem::UnknownNoticeType(given) => {
            (format!("{}: {given}", words.unknown_type), "5.6.0")
        }
        MailProblem::Attachment { filename, problem } => (
            format!(
                "{} {filename}: {}",
                words.attachment,
                problem_text(locale, problem)
            ),
            "5.6.1",
        ),
        MailProblem::Notice(problems) if problems.is_empty() => {
            (words.no_recipient_left.to_string(), "5.1.1")
        }
        MailProblem::Notice(problems) => (
            problems
                .iter()
                .map(|p| {
                    let field = field_label(locale, &p.field).unwrap_or_else(|| p.field.clone());
                    format!("{field}: {}", problem_text(locale, &p.problem))
                })
                .collect::<Vec<_>>()
                .join("; "),
            "5.6.0",
        ),
        MailProblem::Failed(_) => (words.failed.to_string(), "4.3.0"),
    }
}

/// Who failed and why.
fn failures(outcome: &MailOutcome, addresses: &[String], locale: Locale) -> Vec<Failure> {
    let mut failed: Vec<Failure> = outcome
        .refused_recipients
        .iter()
        .filter_map(|refused| {
            let address = addresses.get(refused.position)?.clone();
            let no_mailbox = refused.problems.iter().any(|p| {
                p.problem == app::compose::Problem::Channel(ChannelRefusal::NoActiveMailbox)
            });
            let reason = refused
                .problems
                .iter()
                .map(|p| problem_text(locale, &p.problem))
                .collect::<Vec<_>>()
                .join("; ");
            Some(Failure {
                address,
                // 5.2.1: the mailbox is disabled (not in use).
                status: if no_mailbox { "5.2.1" } else { "5.1.1" },
                reason,
            })
        })
        .collect();
    if let Some(problem) = &outcome.problem {
        let (reason, status) = mail_problem(locale, problem);
        let refused: Vec<&str> = failed.iter().map(|f| f.address.as_str()).collect();
        let rest: Vec<String> = addresses
            .iter()
            .filter(|address| !refused.contains(&address.as_str()))
            .cloned()
            .collect();
        for address in rest {
            failed.push(Failure {
                address,
                status,
                reason: reason.clone(),
            });
        }
    }
    failed
}

/// The first part: for a person, in the organisation's language.
fn human_part(locale: Locale, subject: &str, failed: &[Failure], others_sent: bool) -> String {
    let words = texts(locale);
    let mut text = format!("{}\n\n  {subject}\n\n", words.intro);
    for failure in failed {
        text.push_str(&format!(
            "- {}: {}\n",
            masked(&failure.address),
            failure.reason
        ));
    }
    if others_sent {
        text.push_str(&format!("\n{}\n", words.others_sent));
    }
    text
}

/// The second part (RFC 3464 §2): per message, then per recipient.
fn status_part(hostname: &str, mail: &InboundMail, failed: &[Failure]) -> String {
    let arrival = mail
        .received_at
        .as_offset_date_time()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut fields = format!("Reporting-MTA: dns; {hostname}\r\nArrival-Date: {arrival}\r\n");
    for failure in failed {
        let action = if failure.status.starts_with('4') {
            "delayed"
        } else {
            "failed"
        };
        fields.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: {action}\r\nStatus: {}\r\n",
            failure.address, failure.status
        ));
    }
    fields
}

/// The original's header block, as received.
fn original_headers(raw: &[u8]) -> Vec<u8> {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|at| at + 1))
        .unwrap_or(raw.len());
    raw[..end].to_vec()
}

impl ReportWriter {
    /// The report as bytes; `None` when there is nothing to report.
    pub fn build(
        &self,
        mail: &InboundMail,
        raw: &[u8],
        addresses: &[String],
        language: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let outcome: MailOutcome = serde_json::from_str(&mail.outcome).unwrap_or_default();
        if !outcome.needs_report() {
            return Ok(None);
        }
        let locale = locale(language);
        let failed = failures(&outcome, addresses, locale);
        self.assemble(mail, raw, &failed, locale, mail.notice_id.is_some())
            .map(Some)
    }

    /// A report for one recipient whose delivery failed after the notice was queued (a
    /// mailbox check deferred at queuing found none, or Suomi.fi refused it for good).
    pub fn build_late_failure(
        &self,
        mail: &InboundMail,
        raw: &[u8],
        address: &str,
        reason: &str,
        language: &str,
    ) -> Result<Vec<u8>, String> {
        let locale = locale(language);
        let failure = if app::domain::lifecycle::is_no_active_mailbox(reason) {
            Failure {
                address: address.to_string(),
                status: "5.2.1",
                reason: problem_text(
                    locale,
                    &app::compose::Problem::Channel(ChannelRefusal::NoActiveMailbox),
                ),
            }
        } else {
            Failure {
                address: address.to_string(),
                status: "5.0.0",
                reason: texts(locale).failed.to_string(),
            }
        };
        let others_sent = mail.recipient_count > 1;
        self.assemble(mail, raw, &[failure], locale, others_sent)
    }

    /// RFC 3464: the person's part, the machine's part, the original's headers.
    fn assemble(
        &self,
        mail: &InboundMail,
        raw: &[u8],
        failed: &[Failure],
        locale: Locale,
        others_sent: bool,
    ) -> Result<Vec<u8>, String> {
        let parsed = MessageParser::default().parse_headers(raw);
        let subject = parsed
            .as_ref()
            .and_then(|message| message.subject())
            .unwrap_or_default()
            .to_string();
        let message_id = parsed
            .as_ref()
            .and_then(|message| message.message_id())
            .map(str::to_string);
        let report = MimePart::new(
            ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
            vec![
                MimePart::new(
                    "text/plain",
                    human_part(locale, &subject, failed, others_sent),
                ),
                MimePart::new(
                    "message/delivery-status",
                    status_part(&self.hostname, mail, failed),
                ),
                MimePart::new("text/rfc822-headers", original_headers(raw)),
            ],
        );
        let mut builder = MessageBuilder::new()
            .from(("Tiedoksi", self.from.as_str()))
            .to(mail.envelope_from.as_str())
            .subject(format!("{}: {subject}", texts(locale).subject))
            .header("Auto-Submitted", Raw::new("auto-replied"))
            .header("X-Tiedoksi-Mail", Raw::new(mail.id.to_string()))
            .body(report);
        if let Some(id) = &message_id {
            builder = builder.in_reply_to(id.as_str()).references(id.as_str());
        }
        builder.write_to_vec().map_err(|e| e.to_string())
    }
}

#[async_trait]
impl JobHandler for MailReports {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let KeptMail {
            mail,
            raw,
            addresses,
        } = self.kept.open(job.subject_id).await?;
        let settings = self
            .store
            .mail_settings(mail.organisation_id)
            .await
            .map_err(retryable)?;
        let Some(bytes) = self
            .writer
            .build(&mail, &raw, &addresses, &settings.language)
            .map_err(fatal)?
        else {
            return Ok(());
        };
        let Some(relay) = &self.relay else {
            tracing::warn!(
                mail = %mail.id,
                "SMTP bridge: a mail needs a report to its sender, but TIEDOKSI_SMTP_RELAY is not set"
            );
            return Ok(());
        };
        relay
            .send(&mail.envelope_from, &bytes)
            .await
            .map_err(retryable)?;
        tracing::info!(mail = %mail.id, "SMTP bridge: reported to the sender");
        Ok(())
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        tracing::error!(mail = %job.subject_id, %error, "SMTP bridge: could not report to a sender");
    }
}

#[cfg(test)]
mod tests {
    use super::super::ingest::RefusedRecipient;
    use super::*;
    use app::compose::{FieldProblem, Problem};

    #[test]
    fn refused_recipients_and_mail_problems_become_failures_with_their_status() {
        let addresses = vec![
            "311299-047R@asiointitili.fi".to_string(),
            "131052-308T@asiointitili.fi".to_string(),
        ];
        let outcome = MailOutcome {
            refused_recipients: vec![RefusedRecipient {
                position: 1,
                problems: vec![FieldProblem::new(
                    "recipients[1].mode",
                    Problem::Channel(ChannelRefusal::NoActiveMailbox),
                )],
            }],
            ..MailOutcome::default()
        };
        let failed = failures(&outcome, &addresses, Locale::fi);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].address, addresses[1]);
        assert_eq!(failed[0].status, "5.2.1");

        let whole = MailOutcome {
            problem: Some(MailProblem::Tnef),
            ..MailOutcome::default()
        };
        let failed = failures(&whole, &addresses, Locale::sv);
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|f| f.status == "5.6.1"));
        assert!(failed[0].reason.contains("winmail.dat"));
    }

    #[test]
    fn the_person_part_masks_identity_codes() {
        assert_eq!(
            masked("131052-308T@asiointitili.fi"),
            "131052-****@asiointitili.fi"
        );
        assert_eq!(masked("kirjaamo@kunta.fi"), "kirjaamo@kunta.fi");
    }
}
