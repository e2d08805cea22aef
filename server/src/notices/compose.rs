//! Queuing a composed notice: every field checked (all problems reported at once, in codes
//! the page translates), the channel rules applied per recipient with the mailbox check
//! where it matters, the paper letter rendered, personal data sealed, and the notice, its
//! deliveries and their send jobs written in one transaction. Nothing is written when
//! anything is wrong.

use std::sync::Arc;

use app::auth::SessionUser;
use app::compose::ssr::ComposeBackend;
use app::compose::{
    FieldProblem, NoticeDraft, Problem, QueuedDelivery, QueuedNotice, RecipientDraft,
};
use app::domain::channel::{decide, ChannelDecision, DeliveryMode, PaperAddressee, RecipientFacts};
use app::domain::notice::{DeliverySettings, PostalAddress};
use app::domain::RecipientId;
use app::error::AppError;
use async_trait::async_trait;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::blobs::{BlobStore, Sha256Hex};
use crate::delivery::legal::finnish_date;
use crate::pdf::{self, Letter, LetterError, LetterLanguage, PdfAttachment};
use crate::secrets::DataKey;
use crate::store::{
    delivery_settings, NewDelivery, NewNotice, NoticeAttachment, NoticeCreation, Store, Timestamp,
    Upload,
};
use crate::suomifi::limits::Limits;
use crate::suomifi::SuomiFiClient;

/// How many recipients one composed notice may have; bulk sending has its own interface.
pub const MAX_RECIPIENTS: usize = 100;
const MAX_CASE_REFERENCE_CHARS: usize = 100;
const MAX_NAME_CHARS: usize = 256;
const MAX_APPEAL_INSTRUCTIONS_CHARS: usize = 10_000;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

#[derive(Clone)]
pub struct ComposeService {
    pub store: Arc<dyn Store>,
    pub suomifi: Arc<SuomiFiClient>,
    pub key: DataKey,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Audit,
}

/// A recipient once checked: what gets sealed and stored.
struct CheckedRecipient {
    draft: RecipientDraft,
    id: Option<RecipientId>,
    address: Option<PostalAddress>,
    facts: RecipientFacts,
    decision: ChannelDecision,
}

#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldProblem::new(field, problem));
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, Problem::Required);
        } else if value.chars().count() > max {
            self.add(field, Problem::TooLong { max: max as u32 });
        }
    }

    fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

fn paper_possible(mode: DeliveryMode) -> bool {
    mode != DeliveryMode::ElectronicOnly
}

impl ComposeService {
    fn limits(&self) -> &Limits {
        self.suomifi.limits()
    }

    /// What goes on the letter: also all a preview needs.
    fn check_letter_fields(&self, draft: &NoticeDraft, problems: &mut Problems) {
        problems.text(
            "case_reference",
            &draft.case_reference,
            MAX_CASE_REFERENCE_CHARS,
        );
        problems.text("title", &draft.title, self.limits().max_title_chars);
        problems.text("body", &draft.body, self.limits().max_body_chars);
        if let Some(instructions) = &draft.appeal_instructions {
            if instructions.chars().count() > MAX_APPEAL_INSTRUCTIONS_CHARS {
                problems.add(
                    "appeal_instructions",
                    Problem::TooLong {
                        max: MAX_APPEAL_INSTRUCTIONS_CHARS as u32,
                    },
                );
            }
        }
    }

    fn check_notice_fields(&self, draft: &NoticeDraft, problems: &mut Problems) {
        problems.text(
            "idempotency_key",
            &draft.idempotency_key,
            MAX_IDEMPOTENCY_KEY_CHARS,
        );
        self.check_letter_fields(draft, problems);
        if let Some(days) = draft.appeal_days {
            if !(1..=365).contains(&days) {
                problems.add("appeal_days", Problem::OutOfRange { min: 1, max: 365 });
            }
        }
        if draft.recipients.is_empty() {
            problems.add("recipients", Problem::Required);
        } else if draft.recipients.len() > MAX_RECIPIENTS {
            problems.add(
                "recipients",
                Problem::TooMany {
                    max: MAX_RECIPIENTS as u32,
                },
            );
        }
        let max_attachments = self.limits().max_electronic_attachments;
        if draft.attachments.len() > max_attachments {
            problems.add(
                "attachments",
                Problem::TooMany {
                    max: max_attachments as u32,
                },
            );
        }
    }

    async fn load_attachments(
        &self,
        user: &SessionUser,
        draft: &NoticeDraft,
        problems: &mut Problems,
    ) -> Result<Vec<(Upload, Vec<u8>)>, AppError> {
        let mut loaded = Vec::new();
        for (index, id) in draft.attachments.iter().enumerate() {
            let field = format!("attachments[{index}]");
            let upload = self
                .store
                .upload(user.organisation_id, *id)
                .await
                .map_err(AppError::internal)?;
            let Some(upload) = upload else {
                problems.add(field, Problem::UnknownAttachment);
                continue;
            };
            let digest = Sha256Hex::parse(&upload.sha256).map_err(AppError::internal)?;
            match self.blobs.get(&digest).await.map_err(AppError::internal)? {
                Some(bytes) => loaded.push((upload, bytes)),
                None => problems.add(field, Problem::UnknownAttachment),
            }
        }
        Ok(loaded)
    }

    /// Parses and checks one recipient, without the mailbox answer.
    fn check_recipient(
        &self,
        index: usize,
        draft: &RecipientDraft,
        problems: &mut Problems,
    ) -> (Option<RecipientId>, Option<PostalAddress>) {
        let field = |name: &str| format!("recipients[{index}].{name}");
        problems.text(&field("name"), &draft.name, MAX_NAME_CHARS);
        let id = match draft.identity_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => match RecipientId::parse(code) {
                Ok(id) => Some(id),
                Err(error) => {
                    problems.add(field("identity_code"), Problem::IdentityCode(error));
                    None
                }
            },
        };
        let address = match &draft.address {
            None => None,
            Some(address) => match address.normalised() {
                Ok(address) => Some(address),
                Err(problem) => {
                    problems.add(field("address"), Problem::Address(problem));
                    None
                }
            },
        };
        (id, address)
    }

    /// Which identity codes have an active mailbox, asked only for electronic-only
    /// recipients (multichannel lets Suomi.fi decide). `None`: Suomi.fi could not be asked.
    async fn active_mailboxes(&self, ids: Vec<String>) -> Option<Vec<String>> {
        if ids.is_empty() {
            return Some(Vec::new());
        }
        match self.suomifi.active_mailboxes(&ids).await {
            Ok(active) => Some(active),
            Err(error) => {
                tracing::warn!(%error, "mailbox check failed while composing");
                None
            }
        }
    }

    async fn check_recipients(
        &self,
        draft: &NoticeDraft,
        settings: &DeliverySettings,
        verifiable: bool,
        problems: &mut Problems,
    ) -> Vec<CheckedRecipient> {
        let parsed: Vec<_> = draft
            .recipients
            .iter()
            .enumerate()
            .map(|(index, recipient)| self.check_recipient(index, recipient, problems))
            .collect();
        let to_check: Vec<String> = draft
            .recipients
            .iter()
            .zip(&parsed)
            .filter(|(recipient, _)| recipient.mode == DeliveryMode::ElectronicOnly)
            .filter_map(|(_, (id, _))| id.as_ref().map(|id| id.expose().to_string()))
            .collect();
        let asked = !to_check.is_empty();
        let active = self.active_mailboxes(to_check).await;
        let today = finnish_date(time::OffsetDateTime::now_utc());
        let today = (
            today.year() as u32,
            u8::from(today.month()) as u32,
            today.day() as u32,
        );

        let mut checked = Vec::new();
        for (index, (recipient, (id, address))) in draft.recipients.iter().zip(parsed).enumerate() {
            let field = |name: &str| format!("recipients[{index}].{name}");
            let electronic_only = recipient.mode == DeliveryMode::ElectronicOnly;
            let mailbox_active = match (&id, &active) {
                (Some(id), Some(active)) if electronic_only && asked => {
                    Some(active.iter().any(|active_id| active_id == id.expose()))
                }
                (Some(_), None) if electronic_only => {
                    problems.add(field("mode"), Problem::MailboxCheckUnavailable);
                    continue;
                }
                _ => None,
            };
            let facts = RecipientFacts {
                has_identity_code: id.is_some(),
                is_minor: matches!(&id, Some(RecipientId::Person(code)) if code.is_minor_on(today)),
                address_protected: recipient.address_protected,
                content_not_for_others: recipient.content_not_for_others,
                mailbox_active,
            };
            let decision = match decide(recipient.mode, &facts) {
                Ok(decision) => decision,
                Err(refusal) => {
                    problems.add(field("mode"), Problem::Channel(refusal));
                    continue;
                }
            };
            let forwarded = decision.paper_addressee == PaperAddressee::OrganisationForwarding;
            let may_need_paper = paper_possible(decision.mode) || verifiable;
            if may_need_paper {
                if forwarded && settings.forwarding_address.is_none() {
                    problems.add(field("address_protected"), Problem::ForwardingAddressNotSet);
                } else if !forwarded && address.is_none() && recipient.address.is_none() {
                    problems.add(field("address"), Problem::AddressRequired);
                }
            }
            checked.push(CheckedRecipient {
                draft: recipient.clone(),
                id,
                address,
                facts,
                decision,
            });
        }
        checked
    }

    fn check_printable(attachments: &[(Upload, Vec<u8>)], problems: &mut Problems) {
        for (index, (upload, bytes)) in attachments.iter().enumerate() {
            let field = format!("attachments[{index}]");
            if upload.media_type != "application/pdf" {
                problems.add(field, Problem::AttachmentNotPdf);
            } else if pdf::check_attachment(&upload.filename, bytes).is_err() {
                problems.add(field, Problem::AttachmentNotPrintable);
            }
        }
    }

    async fn render_letter(
        &self,
        user: &SessionUser,
        draft: &NoticeDraft,
        settings: &DeliverySettings,
        attachments: &[(Upload, Vec<u8>)],
    ) -> Result<Vec<u8>, LetterError> {
        let letter = Letter {
            organisation_name: user.organisation_name.clone(),
            sender_lines: settings.letter_sender_lines.clone(),
            language: LetterLanguage::parse(draft.language.as_str()),
            date: finnish_date(time::OffsetDateTime::now_utc()),
            case_reference: draft.case_reference.trim().to_string(),
            title: draft.title.trim().to_string(),
            body: draft.body.clone(),
            markdown: draft.markdown,
            appeal_instructions: draft
                .appeal_instructions
                .clone()
                .filter(|text| !text.trim().is_empty()),
        };
        let pdfs: Vec<PdfAttachment> = attachments
            .iter()
            .filter(|(upload, _)| upload.media_type == "application/pdf")
            .map(|(upload, bytes)| PdfAttachment {
                filename: upload.filename.clone(),
                bytes: bytes.clone(),
            })
            .collect();
        let limits = self.limits().clone();
        tokio::task::spawn_blocking(move || pdf::render(&letter, &pdfs, &limits))
            .await
            .map_err(|error| LetterError::Render(error.to_string()))?
            .map(|rendered| rendered.bytes)
    }

    fn new_delivery(&self, recipient: &CheckedRecipient) -> Result<NewDelivery, AppError> {
        let (identity_kind, sealed, lookup, masked) = match &recipient.id {
            None => ("none", None, None, None),
            Some(id) => {
                let kind = match id {
                    RecipientId::Person(_) => "person",
                    RecipientId::Organisation(_) => "organisation",
                };
                let masked = match id {
                    RecipientId::Person(code) => code.masked(),
                    RecipientId::Organisation(business_id) => business_id.as_str().to_string(),
                };
                (
                    kind,
                    Some(self.key.seal(id.expose())),
                    Some(self.key.lookup_hash(id.expose())),
                    Some(masked),
                )
            }
        };
        let address_sealed = match &recipient.address {
            Some(address) => Some(
                self.key
                    .seal(&serde_json::to_string(address).map_err(AppError::internal)?),
            ),
            None => None,
        };
        Ok(NewDelivery {
            id: Uuid::now_v7(),
            role: recipient.draft.role.as_str().to_string(),
            recipient_name: recipient.draft.name.trim().to_string(),
            identity_kind: identity_kind.to_string(),
            identity_sealed: sealed,
            identity_lookup: lookup,
            identity_masked: masked,
            address_sealed,
            facts: json!({
                "facts": recipient.facts,
                "checked_at": Timestamp::now().to_rfc3339(),
            })
            .to_string(),
            requested_mode: recipient.draft.mode.as_str().to_string(),
            decided_mode: recipient.decision.mode.as_str().to_string(),
            channel_reasons: json!(recipient.decision.reasons).to_string(),
            paper_addressee: recipient.decision.paper_addressee.as_str().to_string(),
        })
    }

    async fn queued(
        &self,
        user: &SessionUser,
        notice_id: Uuid,
        already_queued: bool,
    ) -> Result<QueuedNotice, AppError> {
        let deliveries = self
            .store
            .deliveries(user.organisation_id, notice_id)
            .await
            .map_err(AppError::internal)?;
        Ok(QueuedNotice {
            notice_id,
            already_queued,
            deliveries: deliveries
                .into_iter()
                .map(|delivery| QueuedDelivery {
                    delivery_id: delivery.id,
                    mode: DeliveryMode::parse(&delivery.decided_mode).unwrap_or_default(),
                    paper_addressee: PaperAddressee::parse(&delivery.paper_addressee),
                    reasons: serde_json::from_str(&delivery.channel_reasons).unwrap_or_default(),
                })
                .collect(),
        })
    }

    pub async fn compose(
        &self,
        user: &SessionUser,
        draft: NoticeDraft,
    ) -> Result<QueuedNotice, AppError> {
        let mut problems = Problems::default();
        self.check_notice_fields(&draft, &mut problems);
        let settings = delivery_settings(self.store.as_ref(), user.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let verifiable = draft
            .verifiable
            .unwrap_or_else(|| draft.notice_type.verifiable_by_default());
        let attachments = self.load_attachments(user, &draft, &mut problems).await?;
        let recipients = self
            .check_recipients(&draft, &settings, verifiable, &mut problems)
            .await;
        let any_paper = verifiable
            || recipients
                .iter()
                .any(|recipient| paper_possible(recipient.decision.mode));
        if any_paper {
            if settings.return_address.is_none() {
                problems.add("recipients", Problem::ReturnAddressNotSet);
            }
            Self::check_printable(&attachments, &mut problems);
        }
        problems.into_result()?;

        // The letter is the paper copy, the preview and, for a verifiable notice, what a
        // re-serve prints: rendered once, kept by its hash.
        let letter = match self
            .render_letter(user, &draft, &settings, &attachments)
            .await
        {
            Ok(bytes) => Some(bytes),
            Err(LetterError::TooLarge { .. }) if any_paper => {
                return Err(AppError::Invalid(vec![FieldProblem::new(
                    "attachments",
                    Problem::LetterTooLarge,
                )]))
            }
            Err(error) if any_paper => return Err(AppError::internal(error)),
            Err(_) => None,
        };
        let paper_letter_sha256 = match letter {
            Some(bytes) => Some(
                self.blobs
                    .put(&bytes)
                    .await
                    .map_err(AppError::internal)?
                    .to_string(),
            ),
            None => None,
        };

        let deliveries = recipients
            .iter()
            .map(|recipient| self.new_delivery(recipient))
            .collect::<Result<Vec<_>, _>>()?;
        let notice_type = draft.notice_type;
        let new_notice = NewNotice {
            id: Uuid::now_v7(),
            organisation_id: user.organisation_id,
            author_id: user.id,
            notice_type: notice_type.as_str().to_string(),
            case_reference: draft.case_reference.trim().to_string(),
            title: draft.title.trim().to_string(),
            body: draft.body.clone(),
            body_format: if draft.markdown { "Markdown" } else { "Text" }.to_string(),
            language: draft.language.as_str().to_string(),
            verifiable,
            appeal_days: draft
                .appeal_days
                .or_else(|| notice_type.default_appeal_days())
                .map(i32::from),
            service_id: self.suomifi.service_id().to_string(),
            idempotency_key: draft.idempotency_key.trim().to_string(),
            appeal_instructions: draft
                .appeal_instructions
                .clone()
                .filter(|text| !text.trim().is_empty()),
            paper_letter_sha256,
            attachments: attachments
                .iter()
                .enumerate()
                .map(|(position, (upload, _))| NoticeAttachment {
                    position: position as i32,
                    filename: upload.filename.clone(),
                    media_type: upload.media_type.clone(),
                    sha256: upload.sha256.clone(),
                    size_bytes: upload.size_bytes,
                })
                .collect(),
            deliveries,
        };
        let (notice_id, already_queued) = match self
            .store
            .create_notice(&new_notice)
            .await
            .map_err(AppError::internal)?
        {
            NoticeCreation::Created(id) => (id, false),
            NoticeCreation::AlreadyCreated(id) => (id, true),
        };
        if !already_queued {
            let modes: Vec<_> = recipients.iter().map(|r| r.decision.mode).collect();
            let entry = AuditEntry::new(AuditAction::NoticeQueued)
                .organisation(user.organisation_id)
                .actor(user.id, user.email.clone())
                .subject("notice", notice_id)
                .client_ip(app::auth::ssr::client_ip())
                .details(json!({
                    "notice_type": notice_type.as_str(),
                    "recipients": recipients.len(),
                    "modes": modes,
                    "verifiable": verifiable,
                    "attachments": attachments.len(),
                }));
            // The notice is committed and will be sent: a failed audit write must not tell
            // the caseworker otherwise (the delivery history has the queuing too).
            if let Err(error) = self.audit.record(entry).await {
                tracing::error!(%error, notice = %notice_id, "could not audit a queued notice");
            }
        }
        self.queued(user, notice_id, already_queued).await
    }
}

#[async_trait]
impl ComposeBackend for ComposeService {
    async fn send_notice(
        &self,
        user: &SessionUser,
        draft: NoticeDraft,
    ) -> Result<QueuedNotice, AppError> {
        self.compose(user, draft).await
    }
}

/// `POST /api/letter_preview` with `{"draft": …}`: the paper letter the draft would get,
/// rendered exactly as queuing renders it (same day, same bytes), without queuing anything.
pub async fn letter_preview(
    axum::extract::State(service): axum::extract::State<ComposeService>,
    axum::Extension(user): axum::Extension<SessionUser>,
    axum::Json(body): axum::Json<PreviewRequest>,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let refuse = |status: StatusCode, error: AppError| (status, axum::Json(error)).into_response();
    if !matches!(
        user.role,
        app::auth::Role::Caseworker | app::auth::Role::Admin
    ) {
        return refuse(StatusCode::FORBIDDEN, AppError::Forbidden);
    }
    let draft = body.draft;
    let mut problems = Problems::default();
    service.check_letter_fields(&draft, &mut problems);
    let attachments = match service.load_attachments(&user, &draft, &mut problems).await {
        Ok(attachments) => attachments,
        Err(error) => return refuse(error.status(), error),
    };
    if let Err(error) = problems.into_result() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, error);
    }
    let settings = match delivery_settings(service.store.as_ref(), user.organisation_id).await {
        Ok(settings) => settings,
        Err(error) => {
            let error = AppError::internal(error);
            return refuse(error.status(), error);
        }
    };
    match service
        .render_letter(&user, &draft, &settings, &attachments)
        .await
    {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(LetterError::TooLarge { .. }) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Invalid(vec![FieldProblem::new(
                "attachments",
                Problem::LetterTooLarge,
            )]),
        ),
        Err(_) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Invalid(vec![FieldProblem::new(
                "attachments",
                Problem::AttachmentNotPrintable,
            )]),
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct PreviewRequest {
    pub draft: NoticeDraft,
}
