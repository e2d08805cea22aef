//! The outbox job that turns a kept mail into a notice, through the compose service every
//! other entry point uses (the same checks, channel rules, idempotency and proof).
//!
//! How a mail maps (the old interface's rules, and ours where it said nothing):
//! - Subject (RFC 2047 decoded) → title; over the title limit it is cut, and the whole subject
//!   opens the body. The text part → body (an HTML-only mail is turned into text).
//! - Attachments → documents, checked as uploads are (type, name matching the type, size).
//!   Policy for the parts mail clients add: inline images (signature logos referenced from
//!   the HTML) are left out, since Suomi.fi shows no embedded images; an S/MIME signature
//!   (`smime.p7s`) is left out, since it signs the mail and not the notice; Outlook's
//!   `winmail.dat` (TNEF) refuses the mail, since its documents cannot be read from it.
//! - Electronic only, as the old interface was; notice type, verifiable and language from the
//!   organisation's mail settings, or from the `X-Tiedoksi-Type`, `X-Tiedoksi-Verifiable` and
//!   `X-Tiedoksi-Case-Reference` headers (our extension).
//! - A recipient the notice cannot go to (no active mailbox, …) is left out and reported; the
//!   others get it. A problem with the mail itself (no subject, a refused attachment) refuses
//!   it whole. Either way the outcome is kept with the mail for the sender's report.

use std::sync::Arc;

use app::auth::{Actor, Principal};
use app::compose::{DecisionDraft, FieldProblem, NoticeDraft, RecipientDraft};
use app::domain::channel::DeliveryMode;
use app::domain::notice::{NoticeLanguage, NoticeType, RecipientRole};
use app::domain::RecipientId;
use app::error::AppError;
use async_trait::async_trait;
use mail_parser::{Message, MessageParser, MimeHeaders};

use super::kept::{KeptMail, KeptMails};
use crate::delivery::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::notices::compose::ComposeService;
use crate::notices::documents::{Documents, UploadRefusal};
use crate::secrets::{Column, DataKeys};
use crate::store::{
    DraftRow, InboundMail, Job, JobKind, MailSettings, MailSettlement, Store, Timestamp,
};

pub struct IngestMail {
    pub store: Arc<dyn Store>,
    pub audit: crate::audit::Audit,
    pub kept: KeptMails,
    pub keys: DataKeys,
    pub compose: ComposeService,
    pub documents: Documents,
}

/// Why a mail cannot become a notice at all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailProblem {
    /// What compose found wrong with the notice the mail makes (empty: no recipient left).
    Notice(Vec<FieldProblem>),
    /// An attachment refused, by its file name.
    Attachment {
        filename: String,
        problem: app::compose::Problem,
    },
    /// Outlook's `winmail.dat`.
    Tnef,
    UnknownNoticeType(String),
    Unreadable,
    /// Given up on after retries (the error as logged).
    Failed(String),
}

/// A recipient left out of the notice, by its position among the mail's recipients.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefusedRecipient {
    pub position: usize,
    pub problems: Vec<FieldProblem>,
}

/// What became of a mail, kept with it (the sender's report is made from it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MailOutcome {
    pub problem: Option<MailProblem>,
    pub refused_recipients: Vec<RefusedRecipient>,
    /// Parts left out by policy (inline images, signatures), by file name.
    pub left_out: Vec<String>,
}

impl MailOutcome {
    /// Whether the sender must hear of something: the mail refused, or some recipients.
    pub fn needs_report(&self) -> bool {
        self.problem.is_some() || !self.refused_recipients.is_empty()
    }
}

/// A part a mail client adds that is not a document of the notice.
fn left_out(part: &mail_parser::MessagePart) -> bool {
    let is = |ctype: &str, subtype: &str| part.is_content_type(ctype, subtype);
    let signature = is("application", "pkcs7-signature") || is("application", "x-pkcs7-signature");
    let inline_image = part
        .content_disposition()
        .is_some_and(|disposition| disposition.ctype().eq_ignore_ascii_case("inline"))
        && part
            .content_type()
            .is_some_and(|ctype| ctype.ctype().eq_ignore_ascii_case("image"))
        && part.content_id().is_some();
    signature || inline_image
}

fn is_tnef(part: &mail_parser::MessagePart) -> bool {
    part.is_content_type("application", "ms-tnef")
        || part
            .attachment_name()
            .is_some_and(|name| name.eq_ignore_ascii_case("winmail.dat"))
}

fn truthy(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" | "kyllä" | "ja" => Some(true),
        "0" | "no" | "false" | "off" | "ei" | "nej" => Some(false),
        _ => None,
    }
}

fn language(code: &str) -> NoticeLanguage {
    match code {
        "sv" => NoticeLanguage::Sv,
        "en" => NoticeLanguage::En,
        _ => NoticeLanguage::Fi,
    }
}

fn header_text<'a>(message: &'a Message<'a>, name: &'a str) -> Option<&'a str> {
    message
        .header(name)
        .and_then(|value| value.as_text())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The display name the To header gives this recipient, if any.
fn display_name(message: &Message, id: &RecipientId) -> Option<String> {
    message.to()?.iter().find_map(|addr| {
        let address = super::address::MailAddress::parse(addr.address()?)?;
        let named = super::address::recipient_of(&address)?;
        (&named == id)
            .then(|| addr.name().map(str::trim).map(str::to_string))
            .flatten()
            .filter(|name| !name.is_empty())
    })
}

/// Title and body: a subject over the limit is cut, and given whole at the top of the body.
fn title_and_body(subject: &str, text: &str, max_title: usize) -> (String, String) {
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.trim_end().to_string();
    if subject.chars().count() <= max_title {
        return (subject, text);
    }
    let cut: String = subject.chars().take(max_title.saturating_sub(1)).collect();
    (
        format!("{}…", cut.trim_end()),
        format!("{subject}\n\n{text}"),
    )
}

/// The recipient's index in a field name such as `recipients[2].mode`.
fn recipient_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("recipients[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

impl IngestMail {
    async fn actor(
        &self,
        mail: &InboundMail,
        settings: &MailSettings,
    ) -> Result<Actor, JobFailure> {
        let organisation = self
            .store
            .organisation(mail.organisation_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the mail's organisation is gone"))?;
        Ok(Actor {
            organisation_id: organisation.id,
            organisation_name: organisation.name,
            principal: Principal::Mail {
                account_id: settings.bridge_user_id,
                sender: mail.envelope_from.clone(),
            },
            client_ip: mail.client_ip.clone(),
        })
    }

    /// The mail's documents, kept as uploads; which parts were left out and why.
    async fn attachments(
        &self,
        actor: &Actor,
        message: &Message<'_>,
    ) -> Result<Result<(Vec<uuid::Uuid>, Vec<String>), MailProblem>, JobFailure> {
        let mut uploads = Vec::new();
        let mut left = Vec::new();
        for part in message.attachments() {
            let filename = part.attachment_name().unwrap_or("document").to_string();
            if is_tnef(part) {
                return Ok(Err(MailProblem::Tnef));
            }
            if left_out(part) {
                left.push(filename);
                continue;
            }
            let declared = part.content_type().map(|ctype| match ctype.subtype() {
                Some(subtype) => format!("{}/{}", ctype.ctype(), subtype),
                None => ctype.ctype().to_string(),
            });
            match self
                .documents
                .keep_upload(actor, &filename, declared.as_deref(), part.contents())
                .await
            {
                Ok(upload) => uploads.push(upload.id),
                Err(UploadRefusal::Problem(_, problem)) => {
                    return Ok(Err(MailProblem::Attachment { filename, problem }))
                }
                Err(UploadRefusal::Internal(error)) => return Err(retryable(error)),
            }
        }
        Ok(Ok((uploads, left)))
    }

    /// The citizen's message (ours to answer) this mail answers, from its thread headers.
    async fn answered(
        &self,
        mail: &InboundMail,
        message: &Message<'_>,
    ) -> Result<Option<i64>, JobFailure> {
        let mut thread: Vec<String> = Vec::new();
        for value in [message.in_reply_to(), message.references()] {
            if let Some(ids) = value.as_text_list() {
                thread.extend(ids.iter().map(|id| id.to_string()));
            } else if let Some(id) = value.as_text() {
                thread.push(id.to_string());
            }
        }
        let Some(id) = super::replies::answered_message_id(&thread) else {
            return Ok(None);
        };
        let known = self
            .store
            .citizen_reply_by_message_id(mail.organisation_id, id)
            .await
            .map_err(retryable)?;
        Ok(known.map(|reply| reply.message_id))
    }

    fn draft(
        &self,
        mail: &InboundMail,
        message: &Message<'_>,
        settings: &MailSettings,
        recipients: &[RecipientId],
        attachments: Vec<uuid::Uuid>,
        answered: Option<i64>,
    ) -> Result<NoticeDraft, MailProblem> {
        let notice_type = match header_text(message, "X-Tiedoksi-Type") {
            Some(given) => NoticeType::parse(given)
                .ok_or_else(|| MailProblem::UnknownNoticeType(given.to_string()))?,
            None => NoticeType::parse(&settings.notice_type).unwrap_or(NoticeType::Notification),
        };
        let verifiable = header_text(message, "X-Tiedoksi-Verifiable")
            .and_then(truthy)
            .unwrap_or(settings.verifiable);
        let case_reference = header_text(message, "X-Tiedoksi-Case-Reference")
            .map(str::to_string)
            .or_else(|| message.message_id().map(str::to_string))
            .unwrap_or_else(|| format!("mail:{}", mail.id))
            .chars()
            .take(100)
            .collect();
        let max_title = self.compose.services.limits().max_title_chars;
        // An answer never carries a citizen message's details block onwards.
        let text = super::replies::without_details(
            &message
                .body_text(0)
                .map(|text| text.into_owned())
                .unwrap_or_default(),
        );
        let (title, body) = title_and_body(message.subject().unwrap_or_default(), &text, max_title);
        Ok(NoticeDraft {
            idempotency_key: format!("smtp:{}", mail.id),
            notice_type,
            case_reference,
            title,
            body,
            markdown: false,
            language: language(&settings.language),
            verifiable: Some(verifiable),
            appeal_days: Some(0).filter(|_| notice_type != NoticeType::Decision),
            appeal_instructions: None,
            attachments,
            recipients: recipients
                .iter()
                .map(|id| RecipientDraft {
                    role: RecipientRole::Party,
                    name: display_name(message, id).unwrap_or_else(|| id.masked()),
                    identity_code: Some(id.expose().to_string()),
                    address: None,
                    mode: DeliveryMode::ElectronicOnly,
                    address_protected: false,
                    content_not_for_others: false,
                })
                .collect(),
            decision: DecisionDraft::default(),
            minor_personal_matter: false,
            in_reply_to: answered,
            service: None,
            template: None,
            replies_allowed: false,
        })
    }

    /// Composes; recipients the notice cannot reach are left out (and reported) and the
    /// rest composed again. `Ok(Err(..))`: the mail itself is wrong.
    async fn compose(
        &self,
        actor: &Actor,
        mut draft: NoticeDraft,
        refused: &mut Vec<RefusedRecipient>,
    ) -> Result<Result<uuid::Uuid, MailProblem>, JobFailure> {
        let mut positions: Vec<usize> = (0..draft.recipients.len()).collect();
        loop {
            match self.compose.compose(actor, draft.clone()).await {
                Ok(queued) => return Ok(Ok(queued.notice_id)),
                Err(AppError::Invalid(problems)) => {
                    let mut bad: Vec<usize> = problems
                        .iter()
                        .filter_map(|p| recipient_index(&p.field))
                        .collect();
                    let about_the_mail = problems
                        .iter()
                        .any(|p| recipient_index(&p.field).is_none() && p.field != "recipients");
                    if about_the_mail || bad.is_empty() {
                        return Ok(Err(MailProblem::Notice(problems)));
                    }
                    bad.sort_unstable();
                    bad.dedup();
                    for index in bad.iter().rev() {
                        let prefix = format!("recipients[{index}]");
                        refused.push(RefusedRecipient {
                            position: positions[*index],
                            problems: problems
                                .iter()
                                .filter(|p| p.field.starts_with(&prefix))
                                .cloned()
                                .collect(),
                        });
                        draft.recipients.remove(*index);
                        positions.remove(*index);
                    }
                    if draft.recipients.is_empty() {
                        return Ok(Err(MailProblem::Notice(Vec::new())));
                    }
                }
                Err(AppError::Unavailable { .. }) => {
                    return Err(retryable("Suomi.fi or the database is busy"))
                }
                Err(error) => return Err(retryable(error)),
            }
        }
    }

    /// Draft mode: the mail waits as a draft (the bridge account's, with the mail's id) until
    /// a caseworker takes it over and finishes it; kept again on a retry, never twice.
    async fn keep_as_draft(
        &self,
        mail: &InboundMail,
        settings: &MailSettings,
        draft: &NoticeDraft,
    ) -> Result<uuid::Uuid, JobFailure> {
        let json = serde_json::to_string(draft).map_err(fatal)?;
        let row = DraftRow {
            id: mail.id,
            organisation_id: mail.organisation_id,
            author_id: settings.bridge_user_id,
            title: draft.title.chars().take(256).collect(),
            content_sealed: self.keys.seal(Column::Draft, &json),
            problems: "[]".to_string(),
            notice_id: None,
            created_at: mail.received_at,
            updated_at: Timestamp::now(),
        };
        // `false`: a caseworker took it over already (a retry after a crash).
        self.store.save_draft(&row).await.map_err(retryable)?;
        Ok(mail.id)
    }

    async fn settle(
        &self,
        mail: &InboundMail,
        settlement: MailSettlement,
        outcome: MailOutcome,
    ) -> Result<(), JobFailure> {
        let recorded = serde_json::to_string(&outcome).map_err(fatal)?;
        let settled_now = self
            .store
            .settle_mail(mail.id, &settlement, &recorded, Timestamp::now())
            .await
            .map_err(retryable)?;
        let (state, notice, draft) = match &settlement {
            MailSettlement::Queued { notice_id } => ("queued", Some(*notice_id), None),
            MailSettlement::Drafted { draft_id } => ("drafted", None, Some(*draft_id)),
            MailSettlement::Refused => ("refused", None, None),
        };
        let entry = crate::audit::AuditEntry::new(crate::audit::AuditAction::MailProcessed)
            .organisation(mail.organisation_id)
            .actor_label(format!("smtp: {}", mail.envelope_from))
            .subject("mail", mail.id)
            .details(serde_json::json!({
                "state": state,
                "notice_id": notice,
                "draft_id": draft,
                "recipients": mail.recipient_count,
                "refused_recipients": outcome.refused_recipients.len(),
                "size_bytes": mail.size_bytes,
                "client_ip": mail.client_ip,
                "tls": mail.tls,
            }));
        // Once (a retry after a crash finds the mail settled); the outcome is kept with the
        // mail, so a failed audit write is logged, not retried.
        let audited = if settled_now {
            self.audit.record(entry).await
        } else {
            Ok(())
        };
        if let Err(error) = audited {
            tracing::error!(%error, mail = %mail.id, "could not audit a processed mail");
        }
        if outcome.needs_report() {
            // Queued after the outcome is kept; a second settle finds the job there already.
            self.store
                .enqueue_job(
                    mail.organisation_id,
                    JobKind::MailReport,
                    mail.id,
                    Timestamp::now(),
                )
                .await
                .map_err(retryable)?;
        }
        match settlement {
            MailSettlement::Refused => {
                tracing::info!(mail = %mail.id, "SMTP bridge: a mail was refused after acceptance")
            }
            MailSettlement::Drafted { .. } => {
                tracing::info!(mail = %mail.id, "SMTP bridge: a mail became a draft")
            }
            MailSettlement::Queued { .. } => {
                tracing::info!(mail = %mail.id, "SMTP bridge: a mail became a notice")
            }
        }
        Ok(())
    }

    async fn refuse(
        &self,
        mail: &InboundMail,
        problem: MailProblem,
        outcome: MailOutcome,
    ) -> Result<(), JobFailure> {
        let outcome = MailOutcome {
            problem: Some(problem),
            ..outcome
        };
        self.settle(mail, MailSettlement::Refused, outcome).await
    }
}

#[async_trait]
impl JobHandler for IngestMail {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let KeptMail {
            mail,
            raw,
            addresses,
        } = self.kept.open(job.subject_id).await?;
        if mail.state != "received" {
            return Ok(());
        }
        let settings = self
            .store
            .mail_settings(mail.organisation_id)
            .await
            .map_err(retryable)?;
        let actor = self.actor(&mail, &settings).await?;
        let Some(message) = MessageParser::default().parse(&raw) else {
            return self
                .refuse(&mail, MailProblem::Unreadable, MailOutcome::default())
                .await;
        };
        let recipients: Vec<RecipientId> = addresses
            .iter()
            .filter_map(|address| super::address::MailAddress::parse(address))
            .filter_map(|address| super::address::recipient_of(&address))
            .collect();
        let (uploads, left_out) = match self.attachments(&actor, &message).await? {
            Ok(kept) => kept,
            Err(problem) => return self.refuse(&mail, problem, MailOutcome::default()).await,
        };
        let mut outcome = MailOutcome {
            left_out,
            ..MailOutcome::default()
        };
        let answered = self.answered(&mail, &message).await?;
        let draft = match self.draft(&mail, &message, &settings, &recipients, uploads, answered) {
            Ok(draft) => draft,
            Err(problem) => return self.refuse(&mail, problem, outcome).await,
        };
        if settings.draft_mode {
            let draft_id = self.keep_as_draft(&mail, &settings, &draft).await?;
            return self
                .settle(&mail, MailSettlement::Drafted { draft_id }, outcome)
                .await;
        }
        match self
            .compose(&actor, draft, &mut outcome.refused_recipients)
            .await?
        {
            Ok(notice_id) => {
                self.settle(&mail, MailSettlement::Queued { notice_id }, outcome)
                    .await
            }
            Err(problem) => self.refuse(&mail, problem, outcome).await,
        }
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        tracing::error!(mail = %job.subject_id, %error, "SMTP bridge: gave up on a mail");
        let Ok(Some(mail)) = self.store.inbound_mail(job.subject_id).await else {
            return;
        };
        let problem = MailProblem::Failed(error.to_string());
        if let Err(failure) = self.refuse(&mail, problem, MailOutcome::default()).await {
            tracing::error!(?failure, "could not record a mail given up on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_subject_is_cut_and_given_whole_in_the_body() {
        let subject = "Päätös ".repeat(50);
        let (title, body) = title_and_body(&subject, "Teksti", 256);
        assert_eq!(title.chars().count(), 256);
        assert!(title.ends_with('…'));
        assert!(body.starts_with(subject.trim()));
        assert!(body.ends_with("Teksti"));
        let (title, body) = title_and_body("Lyhyt", "Teksti\n", 256);
        assert_eq!((title.as_str(), body.as_str()), ("Lyhyt", "Teksti"));
    }

    #[test]
    fn recipient_fields_name_their_index() {
        assert_eq!(recipient_index("recipients[3].mode"), Some(3));
        assert_eq!(recipient_index("recipients"), None);
        assert_eq!(recipient_index("title"), None);
    }
}
