//! Drafts: notices being composed, kept on the server (sealed, like every identity code) so a
//! caseworker can leave and come back, and the form posts the compose pages make. Every post
//! saves what was typed — also when it is wrong — and answers with a redirect (post, then
//! get), so the pages work without wasm; the page shows the problems found by the last
//! "Continue" or "Send". Sending goes through the same compose service as every other entry
//! point, with the draft's id as the idempotency key: sending it twice queues it once.

use std::sync::Arc;

use app::auth::Actor;
use app::compose::ssr::DraftsBackend;
use app::compose::{
    form, DraftAttachment, DraftCheck, DraftSummary, DraftView, FieldProblem, NoticeDraft, Problem,
    RecipientDraft,
};
use app::domain::RecipientId;
use app::error::AppError;
use async_trait::async_trait;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use uuid::Uuid;

use super::compose::ComposeService;
use super::documents::{Documents, UploadRefusal};
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::local_time::finnish_local;
use crate::secrets::{Column, DataKeys};
use crate::store::{DraftRow, Store, Timestamp};

/// How many drafts the list shows.
const DRAFTS_LISTED: i64 = 50;
const MAX_ATTACHMENT_NAME_CHARS: usize = 150;

#[derive(Clone)]
pub struct DraftService {
    pub store: Arc<dyn Store>,
    pub key: DataKeys,
    pub compose: ComposeService,
    pub documents: Documents,
    pub audit: Audit,
}

fn author(actor: &Actor) -> Result<Uuid, AppError> {
    if !actor.may_compose() {
        return Err(AppError::Forbidden);
    }
    actor.user_id().ok_or(AppError::Forbidden)
}

/// A new notice's form: one recipient to fill in.
fn empty_draft(id: Uuid) -> NoticeDraft {
    NoticeDraft {
        idempotency_key: id.to_string(),
        notice_type: app::domain::notice::NoticeType::Decision,
        case_reference: String::new(),
        title: String::new(),
        body: String::new(),
        markdown: false,
        language: Default::default(),
        verifiable: None,
        appeal_days: None,
        appeal_instructions: None,
        attachments: Vec::new(),
        recipients: vec![empty_recipient()],
        decision: Default::default(),
        minor_personal_matter: false,
        in_reply_to: None,
        service: None,
        template: None,
        replies_allowed: false,
    }
}

/// A new draft filled in from the template's latest version: its placeholders stay, to be
/// filled from the notice when it is checked and sent. Also the common notice of a batch.
pub(crate) async fn draft_from_template(
    store: &dyn crate::store::Store,
    actor: &Actor,
    id: Uuid,
    template_id: Uuid,
) -> Result<NoticeDraft, AppError> {
    use app::domain::notice::{NoticeLanguage, NoticeType};
    let template = store
        .template(actor.organisation_id, template_id)
        .await
        .map_err(AppError::internal)?
        .filter(|t| !t.archived)
        .ok_or(AppError::NotFound)?;
    let version = store
        .template_version(actor.organisation_id, template_id, template.latest_version)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    let content: app::templates::TemplateContent =
        serde_json::from_str(&version.content).map_err(AppError::internal)?;
    let language = NoticeLanguage::parse(&template.language).unwrap_or_default();
    let notice_type = NoticeType::parse(&template.notice_type).unwrap_or(NoticeType::Decision);
    let reasons_heading = match language {
        NoticeLanguage::Fi => "Perustelut",
        NoticeLanguage::Sv => "Motivering",
        NoticeLanguage::En => "Reasons",
    };
    let body = match &content.reasons {
        Some(reasons) => format!("{}\n\n{reasons_heading}\n\n{reasons}", content.body),
        None => content.body.clone(),
    };
    let basis_label = match language {
        NoticeLanguage::Fi => "Muutoksenhakuajan peruste",
        NoticeLanguage::Sv => "Grund för besvärstiden",
        NoticeLanguage::En => "Basis of the appeal period",
    };
    let appeal_instructions = match (&content.appeal_instructions, &content.appeal_basis) {
        (Some(text), Some(basis)) => Some(format!("{text}\n\n{basis_label}: {basis}")),
        (Some(text), None) => Some(text.clone()),
        (None, Some(basis)) => Some(format!("{basis_label}: {basis}")),
        (None, None) => None,
    };
    let is_decision = notice_type == NoticeType::Decision;
    let today = crate::local_time::finnish_date(time::OffsetDateTime::now_utc());
    Ok(NoticeDraft {
        notice_type,
        language,
        title: content.title,
        body,
        verifiable: Some(content.verifiable),
        appeal_days: content.appeal_days,
        appeal_instructions,
        decision: app::compose::DecisionDraft {
            decision_date: is_decision.then(|| today.to_string()),
            decision_maker: content.decision_maker,
            contact_person: content.contact_person,
            contact_details: content.contact_details,
            ..Default::default()
        },
        template: Some(app::templates::TemplateUse {
            id: template_id,
            version: template.latest_version,
        }),
        replies_allowed: content.replies_allowed,
        ..empty_draft(id)
    })
}

fn empty_recipient() -> RecipientDraft {
    RecipientDraft {
        role: app::domain::notice::RecipientRole::Party,
        name: String::new(),
        identity_code: None,
        address: None,
        mode: Default::default(),
        address_protected: false,
        content_not_for_others: false,
    }
}

/// What a saved identity code shows as: a person's masked, a business ID whole, something
/// that does not parse as neither (never echoed back).
fn masked(code: &str) -> String {
    RecipientId::parse(code)
        .map(|id| id.masked())
        .unwrap_or_else(|_| "****".to_string())
}

impl DraftService {
    fn seal(&self, draft: &NoticeDraft) -> Result<Vec<u8>, AppError> {
        let json = serde_json::to_string(draft).map_err(AppError::internal)?;
        Ok(self.key.seal(Column::Draft, &json))
    }

    fn open(&self, row: &DraftRow) -> Result<NoticeDraft, AppError> {
        let json = self
            .key
            .open(Column::Draft, &row.content_sealed)
            .map_err(AppError::internal)?;
        serde_json::from_str(&json).map_err(AppError::internal)
    }

    async fn load(&self, actor: &Actor, id: Uuid) -> Result<(DraftRow, NoticeDraft), AppError> {
        let row = self
            .store
            .draft(actor.organisation_id, author(actor)?, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let draft = self.open(&row)?;
        Ok((row, draft))
    }

    async fn save(
        &self,
        row: &DraftRow,
        draft: &NoticeDraft,
        problems: &[FieldProblem],
    ) -> Result<(), AppError> {
        let updated = DraftRow {
            title: draft.title.trim().chars().take(256).collect(),
            content_sealed: self.seal(draft)?,
            problems: serde_json::to_string(problems).map_err(AppError::internal)?,
            updated_at: Timestamp::now(),
            ..row.clone()
        };
        if self
            .store
            .save_draft(&updated)
            .await
            .map_err(AppError::internal)?
        {
            Ok(())
        } else {
            // Sent meanwhile (another tab): it is not changed any more.
            Err(AppError::NotFound)
        }
    }

    pub async fn create(&self, actor: &Actor, template: Option<Uuid>) -> Result<Uuid, AppError> {
        let id = Uuid::now_v7();
        let now = Timestamp::now();
        let settings = crate::store::delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let draft = match template {
            Some(template) => draft_from_template(self.store.as_ref(), actor, id, template).await?,
            None => NoticeDraft {
                language: settings.default_language,
                ..empty_draft(id)
            },
        };
        let row = DraftRow {
            id,
            organisation_id: actor.organisation_id,
            author_id: author(actor)?,
            title: String::new(),
            content_sealed: self.seal(&draft)?,
            problems: "[]".into(),
            notice_id: None,
            created_at: now,
            updated_at: now,
        };
        self.store
            .save_draft(&row)
            .await
            .map_err(AppError::internal)?;
        Ok(id)
    }

    async fn view(
        &self,
        actor: &Actor,
        row: &DraftRow,
        draft: &NoticeDraft,
    ) -> Result<DraftView, AppError> {
        let mut attachments = Vec::new();
        for id in &draft.attachments {
            if let Some(upload) = self
                .store
                .upload(actor.organisation_id, *id)
                .await
                .map_err(AppError::internal)?
            {
                attachments.push(DraftAttachment {
                    id: upload.id,
                    filename: upload.filename,
                    media_type: upload.media_type,
                    size_bytes: upload.size_bytes,
                });
            }
        }
        Ok(DraftView {
            id: row.id,
            draft: form::without_codes(draft),
            saved_codes: draft
                .recipients
                .iter()
                .map(|r| r.identity_code.as_deref().map(masked))
                .collect(),
            problems: serde_json::from_str(&row.problems).unwrap_or_default(),
            attachments,
            updated_at: finnish_local(row.updated_at),
            preview_html: self.compose.preview_html(actor, draft).await?,
            notice_id: row.notice_id,
            services: self
                .compose
                .store
                .services(actor.organisation_id)
                .await
                .map_err(AppError::internal)?
                .into_iter()
                .map(|service| (service.id, service.name))
                .collect(),
        })
    }

    /// Applies one form post: saves, and says where to go.
    async fn apply(
        &self,
        actor: &Actor,
        id: Uuid,
        fields: &[(String, String)],
    ) -> Result<Destination, AppError> {
        let (row, saved) = self.load(actor, id).await?;
        if let Some(notice) = row.notice_id {
            return Ok(Destination::Page(format!("/notices/{notice}")));
        }
        let posted = form::parse(fields);
        let action = posted.action;
        let mut draft = posted.merged(&saved);
        let page = format!("/compose/{id}");
        let destination = match action {
            form::FormAction::Autosave => {
                self.save(
                    &row,
                    &draft,
                    &serde_json::from_str::<Vec<_>>(&row.problems).unwrap_or_default(),
                )
                .await?;
                return Ok(Destination::Nothing);
            }
            form::FormAction::Save => format!("{page}?saved=1"),
            form::FormAction::AddRecipient => {
                if draft.recipients.len() < app::compose::MAX_FORM_RECIPIENTS {
                    draft.recipients.push(empty_recipient());
                }
                let last = draft.recipients.len() - 1;
                format!("{page}#recipients-{last}")
            }
            form::FormAction::RemoveRecipient(index) => {
                if index < draft.recipients.len() {
                    draft.recipients.remove(index);
                }
                format!("{page}#recipients")
            }
            form::FormAction::RemoveAttachment(index) => {
                if index < draft.attachments.len() {
                    draft.attachments.remove(index);
                }
                format!("{page}#attachments")
            }
            form::FormAction::CheckMailbox(index) => {
                self.save(&row, &draft, &[]).await?;
                let code = draft
                    .recipients
                    .get(index)
                    .and_then(|r| r.identity_code.as_deref())
                    .and_then(|code| RecipientId::parse(code.trim()).ok());
                let answer = match code {
                    None => "invalid",
                    Some(id) => match self.compose.check_mailbox_now(actor, &id).await {
                        Ok(Some(true)) => "active",
                        Ok(Some(false)) => "inactive",
                        Ok(None) => "unknown",
                        Err(AppError::Invalid(_)) => "limited",
                        Err(error) => return Err(error),
                    },
                };
                // The answer rides in the URL: an index, a word and a time, no code.
                let at = app::layout::encode_query_value(&finnish_local(Timestamp::now()));
                return Ok(Destination::Page(format!(
                    "{page}?mailbox={index}:{answer}&at={at}#recipients-{index}"
                )));
            }
            form::FormAction::Continue => {
                return match self.compose.check(actor, &draft).await {
                    Ok(_) => {
                        self.save(&row, &draft, &[]).await?;
                        Ok(Destination::Page(format!("{page}/check")))
                    }
                    Err(AppError::Invalid(problems)) => {
                        self.save(&row, &draft, &problems).await?;
                        Ok(Destination::Page(format!("{page}#error-summary")))
                    }
                    Err(error) => Err(error),
                };
            }
        };
        self.save(&row, &draft, &[]).await?;
        Ok(Destination::Page(destination))
    }

    async fn preview(
        &self,
        actor: &Actor,
        id: Uuid,
        fields: &[(String, String)],
    ) -> Result<String, AppError> {
        let (_, saved) = self.load(actor, id).await?;
        let draft = form::parse(fields).merged(&saved);
        self.compose.preview_html(actor, &draft).await
    }

    /// Takes one uploaded file into the draft, named as the caseworker described it.
    async fn attach(
        &self,
        actor: &Actor,
        id: Uuid,
        mut multipart: Multipart,
    ) -> Result<String, AppError> {
        let (row, mut draft) = self.load(actor, id).await?;
        let page = format!("/compose/{id}#attachments");
        let mut name = String::new();
        let mut file = None;
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) if field.name() == Some("attachment_name") => {
                    name = field.text().await.unwrap_or_default();
                }
                Ok(Some(field)) if field.name() == Some("file") => {
                    let filename = field.file_name().unwrap_or_default().to_string();
                    let declared = field.content_type().map(str::to_string);
                    match field.bytes().await {
                        Ok(bytes) => file = Some((filename, declared, bytes)),
                        Err(_) => {
                            let too_large = Problem::FileTooLarge {
                                max_mb: self.documents.max_upload_mb(),
                            };
                            self.save(&row, &draft, &[FieldProblem::new("file", too_large)])
                                .await?;
                            return Ok(page);
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    let too_large = Problem::FileTooLarge {
                        max_mb: self.documents.max_upload_mb(),
                    };
                    self.save(&row, &draft, &[FieldProblem::new("file", too_large)])
                        .await?;
                    return Ok(page);
                }
            }
        }
        let mut problems = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            problems.push(FieldProblem::new("attachment_name", Problem::Required));
        } else if name.chars().count() > MAX_ATTACHMENT_NAME_CHARS {
            problems.push(FieldProblem::new(
                "attachment_name",
                Problem::TooLong {
                    max: MAX_ATTACHMENT_NAME_CHARS as u32,
                },
            ));
        }
        let Some((filename, declared, bytes)) = file.filter(|(_, _, bytes)| !bytes.is_empty())
        else {
            problems.push(FieldProblem::new("file", Problem::Required));
            self.save(&row, &draft, &problems).await?;
            return Ok(page);
        };
        if !problems.is_empty() {
            self.save(&row, &draft, &problems).await?;
            return Ok(page);
        }
        // The recipient sees the description, with the file's own extension.
        let extension = filename
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_ascii_lowercase())
            .unwrap_or_default();
        let described = format!("{}.{extension}", name.trim_end_matches('.'));
        match self
            .documents
            .keep_upload(actor, &described, declared.as_deref(), &bytes)
            .await
        {
            Ok(upload) => {
                if !draft.attachments.contains(&upload.id) {
                    draft.attachments.push(upload.id);
                }
                self.save(&row, &draft, &[]).await?;
            }
            Err(UploadRefusal::Problem(_, problem)) => {
                self.save(&row, &draft, &[FieldProblem::new("file", problem)])
                    .await?;
            }
            Err(UploadRefusal::Internal(error)) => return Err(error),
        }
        Ok(page)
    }

    fn summaries(&self, rows: Vec<DraftRow>) -> Result<Vec<DraftSummary>, AppError> {
        let mut summaries = Vec::new();
        for row in rows {
            let draft = self.open(&row)?;
            summaries.push(DraftSummary {
                id: row.id,
                title: row.title.clone(),
                case_reference: draft.case_reference,
                recipients: draft.recipients.len() as u32,
                updated_at: finnish_local(row.updated_at),
            });
        }
        Ok(summaries)
    }

    /// A draft that arrived by mail becomes the caseworker's own (first come, first served).
    async fn claim(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        let user = author(actor)?;
        let bridge = self
            .store
            .bridge_account(actor.organisation_id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let moved = self
            .store
            .reassign_draft(actor.organisation_id, id, bridge, user, Timestamp::now())
            .await
            .map_err(AppError::internal)?;
        if !moved {
            return Err(AppError::NotFound);
        }
        let entry = AuditEntry::new(AuditAction::DraftClaimed)
            .by(actor)
            .subject("draft", id);
        self.audit.record(entry).await.map_err(AppError::internal)
    }

    async fn send(&self, actor: &Actor, id: Uuid) -> Result<String, AppError> {
        let (row, draft) = self.load(actor, id).await?;
        if let Some(notice) = row.notice_id {
            return Ok(format!("/notices/{notice}"));
        }
        match self.compose.compose(actor, draft.clone()).await {
            Ok(queued) => {
                self.store
                    .mark_draft_sent(id, queued.notice_id, Timestamp::now())
                    .await
                    .map_err(AppError::internal)?;
                Ok(format!("/notices/{}", queued.notice_id))
            }
            Err(AppError::Invalid(problems)) => {
                self.save(&row, &draft, &problems).await?;
                Ok(format!("/compose/{id}#error-summary"))
            }
            Err(error) => Err(error),
        }
    }
}

enum Destination {
    Page(String),
    /// Saved in the background: nothing to show.
    Nothing,
}

#[async_trait]
impl DraftsBackend for DraftService {
    async fn list_drafts(&self, actor: &Actor) -> Result<Vec<DraftSummary>, AppError> {
        let rows = self
            .store
            .drafts(actor.organisation_id, author(actor)?, DRAFTS_LISTED)
            .await
            .map_err(AppError::internal)?;
        self.summaries(rows)
    }

    async fn list_mail_drafts(&self, actor: &Actor) -> Result<Vec<DraftSummary>, AppError> {
        author(actor)?;
        let Some(bridge) = self
            .store
            .bridge_account(actor.organisation_id)
            .await
            .map_err(AppError::internal)?
        else {
            return Ok(Vec::new());
        };
        let rows = self
            .store
            .drafts(actor.organisation_id, bridge, DRAFTS_LISTED)
            .await
            .map_err(AppError::internal)?;
        self.summaries(rows)
    }

    async fn open_draft(&self, actor: &Actor, id: Uuid) -> Result<DraftView, AppError> {
        let (row, draft) = self.load(actor, id).await?;
        self.view(actor, &row, &draft).await
    }

    async fn check_draft(&self, actor: &Actor, id: Uuid) -> Result<DraftCheck, AppError> {
        let (row, draft) = self.load(actor, id).await?;
        let outcome = if row.notice_id.is_some() {
            Err(Vec::new())
        } else {
            match self.compose.check(actor, &draft).await {
                Ok(checked) => Ok(checked),
                Err(AppError::Invalid(problems)) => Err(problems),
                Err(error) => return Err(error),
            }
        };
        Ok(DraftCheck {
            view: self.view(actor, &row, &draft).await?,
            outcome,
        })
    }
}

/// A failure of a form post, as a page: the error's text is the page's to show, so this is
/// a short plain answer with the status (a form post never gets a stack trace).
fn failed(error: AppError) -> Response {
    let status = error.status();
    (status, error.to_string()).into_response()
}

fn fetched(headers: &HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|value| value == "fetch")
}

/// `POST /compose/new`: a new draft, and its page; with a `template` field (a form's
/// `template=<id>`), started from that template. A body of any other kind starts a blank one.
pub async fn new_draft(
    State(service): State<DraftService>,
    actor: Actor,
    body: axum::body::Bytes,
) -> Response {
    let template = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "template")
        .and_then(|(_, id)| Uuid::parse_str(id.trim()).ok());
    match service.create(&actor, template).await {
        Ok(id) => Redirect::to(&format!("/compose/{id}")).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/save`: the form, with the button pressed as `action`.
pub async fn save_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    match service.apply(&actor, id, &fields).await {
        Ok(Destination::Nothing) => StatusCode::NO_CONTENT.into_response(),
        Ok(Destination::Page(page)) if fetched(&headers) => {
            // Saving from a script: it reloads the page itself.
            (StatusCode::OK, page).into_response()
        }
        Ok(Destination::Page(page)) => Redirect::to(&page).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/preview`: the message as the form stands, as HTML (not saved).
pub async fn preview_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    match service.preview(&actor, id, &fields).await {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/upload`: multipart `attachment_name` and `file`.
pub async fn upload_to_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
    multipart: Multipart,
) -> Response {
    match service.attach(&actor, id, multipart).await {
        Ok(page) => Redirect::to(&page).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/send`: queues the draft, then shows the new notice.
pub async fn send_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    match service.send(&actor, id).await {
        Ok(page) => Redirect::to(&page).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/claim`: take over a draft that arrived by mail.
pub async fn claim_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    match service.claim(&actor, id).await {
        Ok(()) => Redirect::to(&format!("/compose/{id}")).into_response(),
        // Taken by someone else meanwhile: back to the list, which no longer shows it.
        Err(AppError::NotFound) => Redirect::to("/compose").into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /compose/{id}/delete`.
pub async fn delete_draft(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    let deleted = match author(&actor) {
        Ok(author) => service
            .store
            .delete_draft(actor.organisation_id, author, id)
            .await
            .map_err(AppError::internal),
        Err(error) => Err(error),
    };
    match deleted {
        Ok(_) => Redirect::to("/compose").into_response(),
        Err(error) => failed(error),
    }
}

/// `GET /compose/{id}/letter.pdf`: the paper letter the draft would get, for the check page's
/// frame (which is why it may be framed by our own pages).
pub async fn draft_letter(
    State(service): State<DraftService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    let letter = match service.load(&actor, id).await {
        Ok((_, draft)) => service.compose.preview(&actor, &draft).await,
        Err(error) => Err(error),
    };
    match letter {
        Ok(bytes) => super::documents::pdf_to_show(bytes, "kirje.pdf"),
        Err(error) => failed(error),
    }
}
