//! Composing a notice: the draft as it crosses the wire, the problems a draft can have (per
//! field, as codes the page translates), and the server function that queues it. The wizard
//! arrives with the caseworker UI; the service behind it is the server's `notices` module.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::channel::{ChannelReason, ChannelRefusal, DeliveryMode, PaperAddressee};
use crate::domain::notice::{
    AddressProblem, NoticeLanguage, NoticeType, PostalAddress, RecipientRole,
};
use crate::domain::text::TextProblem;
use crate::domain::IdentityError;
use crate::error::AppError;
use crate::i18n::*;

pub mod enhance;
pub mod form;
pub mod page;

pub use page::{CheckPage, ComposePage, DraftPage};

/// Recipients a compose form can hold (as the compose service allows).
pub const MAX_FORM_RECIPIENTS: usize = 100;

/// A notice as the caseworker composed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDraft {
    /// One per compose form, so a double click or a retried request queues nothing twice.
    pub idempotency_key: String,
    pub notice_type: NoticeType,
    /// Diaarinumero.
    pub case_reference: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub markdown: bool,
    #[serde(default)]
    pub language: NoticeLanguage,
    /// Unset: the notice type's default.
    #[serde(default)]
    pub verifiable: Option<bool>,
    /// Unset: the notice type's default.
    #[serde(default)]
    pub appeal_days: Option<u16>,
    #[serde(default)]
    pub appeal_instructions: Option<String>,
    /// Ids of files uploaded to `/api/uploads`, in order.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
    pub recipients: Vec<RecipientDraft>,
    /// What a decision shows besides its body (HL 44 §); required for decisions.
    #[serde(default)]
    pub decision: DecisionDraft,
    /// The matter concerns the person of a 15–17-year-old party (HL 14 §): the minor and the
    /// guardians are both notified, each separately.
    #[serde(default)]
    pub minor_personal_matter: bool,
    /// Suomi.fi's id of a citizen's message this notice answers (an official's reply by mail
    /// to a forwarded citizen message).
    #[serde(default)]
    pub in_reply_to: Option<i64>,
    /// The organisation's Suomi.fi service to send through; unset: its default.
    #[serde(default)]
    pub service: Option<Uuid>,
    /// The template version the notice was started from.
    #[serde(default)]
    pub template: Option<crate::templates::TemplateUse>,
    /// The recipient may answer the message in Suomi.fi.
    #[serde(default)]
    pub replies_allowed: bool,
}

/// A decision's content besides its body (HL 44 §, 53 e §). Printed on the letter and at the
/// head of the electronic message.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionDraft {
    /// The day the decision was made, `YYYY-MM-DD` (not the day it is sent).
    pub decision_date: Option<String>,
    /// The deciding authority or official.
    pub decision_maker: Option<String>,
    /// The parties' names; when empty, the recipients whose role is "party".
    pub parties: Vec<String>,
    /// Who gives more information (HL 44 §), for any notice.
    pub contact_person: Option<String>,
    /// How to reach them: phone, e-mail, address.
    pub contact_details: Option<String>,
    /// Made by automated processing (HL 53 e §): the recipient is told so.
    pub automated: bool,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipientDraft {
    pub role: RecipientRole,
    pub name: String,
    /// A personal identity code or a business ID; none for paper without ID.
    #[serde(default)]
    pub identity_code: Option<String>,
    #[serde(default)]
    pub address: Option<PostalAddress>,
    #[serde(default)]
    pub mode: DeliveryMode,
    /// Turvakielto.
    #[serde(default)]
    pub address_protected: bool,
    /// Persons the recipient authorised, or guardians, must not read it.
    #[serde(default)]
    pub content_not_for_others: bool,
}

impl std::fmt::Debug for RecipientDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipientDraft")
            .field("role", &self.role)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The notice is queued: every delivery will reach Suomi.fi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedNotice {
    pub notice_id: Uuid,
    /// The same draft was queued before; nothing new was queued.
    pub already_queued: bool,
    pub deliveries: Vec<QueuedDelivery>,
    /// What the caseworker should know but that did not stop the notice.
    #[serde(default)]
    pub warnings: Vec<FieldWarning>,
}

/// A draft checked as queuing would check it, with nothing written: how each recipient's
/// notice would travel and why, and what to look at before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedNotice {
    pub deliveries: Vec<PlannedDelivery>,
    pub warnings: Vec<FieldWarning>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedDelivery {
    pub mode: DeliveryMode,
    pub paper_addressee: PaperAddressee,
    pub reasons: Vec<ChannelReason>,
    /// Suomi.fi's answer, when asked (electronic only); `None` when not asked or deferred.
    pub mailbox_active: Option<bool>,
    /// Age on the sending day, for a person with an identity code.
    #[serde(default)]
    pub age: Option<u32>,
    /// Every mode, and why it could not be used when it could not.
    #[serde(default)]
    pub options: Vec<(DeliveryMode, Option<ChannelRefusal>)>,
}

/// Something about a draft a caseworker should know; it does not stop the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWarning {
    pub field: String,
    pub warning: Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// A party under 15 and no guardian among the recipients (HL 14 §: the guardian acts).
    MinorWithoutGuardian,
    /// A 15–17-year-old's personal matter goes to the minor but to no guardian (HL 14 §).
    PersonalMatterOnlyToMinor,
    /// A 15–17-year-old's personal matter goes to a guardian but not to the minor.
    PersonalMatterOnlyToGuardian,
    /// An identity code with an individual number 900–999 is a temporary or test code, not
    /// a person's: sent as paper without ID.
    TemporaryIdentityCode,
    /// Suomi.fi did not answer the mailbox check: it is made again before sending, and a
    /// closed mailbox then asks for your decision.
    MailboxCheckDeferred,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub delivery_id: Uuid,
    pub mode: DeliveryMode,
    pub paper_addressee: PaperAddressee,
    pub reasons: Vec<ChannelReason>,
}

/// One thing wrong with a draft. `field` names the input: `title`, `recipients[1].address`…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooLong {
        max: u32,
    },
    OutOfRange {
        min: u32,
        max: u32,
    },
    /// Not a real date as `YYYY-MM-DD`.
    DateInvalid,
    /// A date that has not come yet.
    DateInFuture,
    /// A choice the law leaves to the organisation and the caseworker must make.
    ChoiceRequired,
    IdentityCode(IdentityError),
    Address(AddressProblem),
    /// Characters that are not text where this goes (control, direction override, markup).
    Text(crate::domain::text::TextProblem),
    /// Paper may be sent, so a postal address is needed.
    AddressRequired,
    Channel(ChannelRefusal),
    /// Suomi.fi could not be asked whether the mailbox is active; try again.
    MailboxCheckUnavailable,
    UnknownAttachment,
    /// Suomi.fi does not take files of this type.
    FileTypeNotAccepted,
    FileTooLarge {
        max_mb: u32,
    },
    /// Paper takes only PDF attachments.
    AttachmentNotPdf,
    /// The PDF cannot be printed: unreadable, encrypted, not A4, or the letter too large.
    AttachmentNotPrintable,
    LetterTooLarge,
    TooMany {
        max: u32,
    },
    /// The organisation's return address for paper mail is not set (an admin sets it).
    ReturnAddressNotSet,
    /// Turvakielto paper goes via the organisation's forwarding address, which is not set.
    ForwardingAddressNotSet,
    /// Only a verifiable notice left unacknowledged is served again on paper.
    NotUnacknowledged,
    /// Only a delivery that needs attention is sent again.
    NotNeedingAttention,
    /// Too many mailbox checks in a short time: try again in a minute.
    MailboxChecksRateLimited,
    /// The organisation has no Suomi.fi service to send through (an admin adds one).
    NoSuomiFiService,
    /// `{{name}}` in the title or body names no known placeholder.
    UnknownPlaceholder {
        name: String,
    },
    /// The template the notice was started from is not the organisation's.
    TemplateGone,
    /// More electronic-only recipients than one may have checked at once.
    TooManyMailboxChecks {
        max: u32,
    },
    /// The file's name says another type than its content is declared as.
    FileExtensionMismatch,
    /// Only a letter that went to the organisation's forwarding address is forwarded.
    NotForwarded,
    /// Only after Posti could not deliver the letter.
    LetterNotUndelivered,
    /// A verifiable notice is forwarded against a receipt or in person, with its date.
    ReceiptRequired,
    /// The date is before the letter was sent.
    DateBeforeSending,
    /// An identity-code search from a link that no longer opens (the data key changed).
    SearchExpired,
    /// Not available when sending to many (electronic only: use multichannel).
    ModeNotForBatches,
    /// The same recipient is on an earlier row of the file.
    DuplicateRow {
        row: u32,
    },
    /// A batch row that could not be queued (the log says why).
    NotQueued,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

/// A draft in the caseworker's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftSummary {
    pub id: Uuid,
    pub title: String,
    pub case_reference: String,
    pub recipients: u32,
    /// Finnish local time, `25.11.2026 14.05`.
    pub updated_at: String,
}

/// A draft as its page shows it: the identity codes only masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftView {
    pub id: Uuid,
    /// Without identity codes.
    pub draft: NoticeDraft,
    /// Each recipient's saved identity code, masked (`150680-****`), or a business ID.
    pub saved_codes: Vec<Option<String>>,
    pub problems: Vec<FieldProblem>,
    pub attachments: Vec<DraftAttachment>,
    pub updated_at: String,
    /// The electronic message as the recipient will see it, as safe HTML.
    pub preview_html: String,
    /// Sent as this notice; a sent draft is not edited any more.
    pub notice_id: Option<Uuid>,
    /// The organisation's Suomi.fi services (id, name), the default first; a choice only when
    /// there are several.
    #[serde(default)]
    pub services: Vec<(Uuid, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftAttachment {
    pub id: Uuid,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
}

/// The check page: the draft, and what queuing it would do — or what stands in the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftCheck {
    pub view: DraftView,
    pub outcome: Result<CheckedNotice, Vec<FieldProblem>>,
}

/// The signed-in caseworker's unsent drafts, newest first.
#[server(prefix = "/api", endpoint = "list_drafts")]
pub async fn list_drafts() -> Result<Vec<DraftSummary>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::drafts()?.list_drafts(&actor).await
        }
        .await,
    )
}

/// Drafts that arrived by mail (the SMTP bridge's draft mode), waiting for a caseworker to
/// take one over and finish it; newest first.
#[server(prefix = "/api", endpoint = "list_mail_drafts")]
pub async fn list_mail_drafts() -> Result<Vec<DraftSummary>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::drafts()?.list_mail_drafts(&actor).await
        }
        .await,
    )
}

/// One of the caseworker's drafts.
#[server(prefix = "/api", endpoint = "open_draft")]
pub async fn open_draft(id: Uuid) -> Result<DraftView, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::drafts()?.open_draft(&actor, id).await
        }
        .await,
    )
}

/// A draft checked as queuing would check it (mailboxes asked where it matters).
#[server(prefix = "/api", endpoint = "check_draft")]
pub async fn check_draft(id: Uuid) -> Result<DraftCheck, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::drafts()?.check_draft(&actor, id).await
        }
        .await,
    )
}

/// Checks the draft as queuing would, asking Suomi.fi about mailboxes where it matters, and
/// writes nothing: the channel per recipient with its reasons, and the warnings.
#[server(prefix = "/api", endpoint = "check_notice", input = server_fn::codec::Json)]
pub async fn check_notice(draft: NoticeDraft) -> Result<CheckedNotice, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            let backend = use_context::<std::sync::Arc<dyn ssr::ComposeBackend>>()
                .ok_or_else(|| AppError::internal("ComposeBackend missing from context"))?;
            backend.check_notice(&actor, draft).await
        }
        .await,
    )
}

/// Queues the notice: one delivery per recipient, each sent to Suomi.fi exactly once.
#[server(prefix = "/api", endpoint = "send_notice", input = server_fn::codec::Json)]
pub async fn send_notice(draft: NoticeDraft) -> Result<QueuedNotice, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            let backend = use_context::<std::sync::Arc<dyn ssr::ComposeBackend>>()
                .ok_or_else(|| AppError::internal("ComposeBackend missing from context"))?;
            backend.send_notice(&actor, draft).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use async_trait::async_trait;

    use std::sync::Arc;

    use leptos::prelude::use_context;
    use uuid::Uuid;

    use super::{CheckedNotice, DraftCheck, DraftSummary, DraftView, NoticeDraft, QueuedNotice};
    use crate::auth::Actor;
    use crate::error::AppError;

    /// Drafts saved on the server, for the compose pages.
    #[async_trait]
    pub trait DraftsBackend: Send + Sync {
        async fn list_drafts(&self, actor: &Actor) -> Result<Vec<DraftSummary>, AppError>;
        async fn list_mail_drafts(&self, actor: &Actor) -> Result<Vec<DraftSummary>, AppError>;
        async fn open_draft(&self, actor: &Actor, id: Uuid) -> Result<DraftView, AppError>;
        async fn check_draft(&self, actor: &Actor, id: Uuid) -> Result<DraftCheck, AppError>;
    }

    pub(super) fn drafts() -> Result<Arc<dyn DraftsBackend>, AppError> {
        use_context::<Arc<dyn DraftsBackend>>()
            .ok_or_else(|| AppError::internal("DraftsBackend missing from context"))
    }

    #[async_trait]
    pub trait ComposeBackend: Send + Sync {
        async fn check_notice(
            &self,
            actor: &Actor,
            draft: NoticeDraft,
        ) -> Result<CheckedNotice, AppError>;
        async fn send_notice(
            &self,
            actor: &Actor,
            draft: NoticeDraft,
        ) -> Result<QueuedNotice, AppError>;
    }
}

/// A problem as a sentence in the current language.
#[component]
pub fn ProblemText(problem: Problem) -> impl IntoView {
    let i18n = use_i18n();
    move || problem_text(i18n.get_locale(), &problem)
}

/// A problem as a sentence in `locale`: the pages' words, also for the server's mail reports.
pub fn problem_text(locale: Locale, problem: &Problem) -> String {
    match problem {
        Problem::Required => td_string!(locale, problems.required).to_string(),
        Problem::TooLong { max } => td_string!(locale, problems.too_long, max = *max).to_string(),
        Problem::OutOfRange { min, max } => {
            td_string!(locale, problems.out_of_range, min = *min, max = *max).to_string()
        }
        Problem::DateInvalid => td_string!(locale, problems.date_invalid).to_string(),
        Problem::DateInFuture => td_string!(locale, problems.date_in_future).to_string(),
        Problem::ChoiceRequired => td_string!(locale, problems.choice_required).to_string(),
        Problem::IdentityCode(IdentityError::Checksum) => {
            td_string!(locale, problems.identity_checksum).to_string()
        }
        Problem::IdentityCode(IdentityError::Date) => {
            td_string!(locale, problems.identity_date).to_string()
        }
        Problem::IdentityCode(IdentityError::IndividualNumber) => {
            td_string!(locale, problems.identity_individual_number).to_string()
        }
        Problem::IdentityCode(_) => td_string!(locale, problems.identity_format).to_string(),
        Problem::Address(AddressProblem::ZipCodeNotFinnish) => {
            td_string!(locale, problems.zip_code_not_finnish).to_string()
        }
        Problem::Address(AddressProblem::CountryCodeInvalid) => {
            td_string!(locale, problems.country_code).to_string()
        }
        Problem::Address(AddressProblem::FieldTooLong) => {
            td_string!(locale, problems.too_long, max = 256).to_string()
        }
        Problem::Address(AddressProblem::UnsafeText) => {
            td_string!(locale, problems.address_unsafe_text).to_string()
        }
        Problem::Address(_) => td_string!(locale, problems.address_incomplete).to_string(),
        Problem::Text(TextProblem::ControlCharacter) => {
            td_string!(locale, problems.text_control_character).to_string()
        }
        Problem::Text(TextProblem::DirectionOverride) => {
            td_string!(locale, problems.text_direction_override).to_string()
        }
        Problem::Text(TextProblem::HiddenCharacter) => {
            td_string!(locale, problems.text_hidden_character).to_string()
        }
        Problem::Text(TextProblem::LineBreak) => {
            td_string!(locale, problems.text_line_break).to_string()
        }
        Problem::Text(TextProblem::Markup) => td_string!(locale, problems.text_markup).to_string(),
        Problem::AddressRequired => td_string!(locale, problems.address_required).to_string(),
        Problem::Channel(ChannelRefusal::NoActiveMailbox) => {
            td_string!(locale, problems.no_active_mailbox).to_string()
        }
        Problem::Channel(ChannelRefusal::ElectronicNeedsIdentityCode) => {
            td_string!(locale, problems.electronic_needs_identity).to_string()
        }
        Problem::Channel(ChannelRefusal::ElectronicForbidden) => {
            td_string!(locale, problems.electronic_forbidden).to_string()
        }
        Problem::Channel(ChannelRefusal::IdentityCodeKnown) => {
            td_string!(locale, problems.identity_code_known).to_string()
        }
        Problem::MailboxCheckUnavailable => {
            td_string!(locale, problems.mailbox_check_unavailable).to_string()
        }
        Problem::UnknownAttachment => td_string!(locale, problems.unknown_attachment).to_string(),
        Problem::FileTypeNotAccepted => {
            td_string!(locale, problems.file_type_not_accepted).to_string()
        }
        Problem::FileTooLarge { max_mb } => {
            td_string!(locale, problems.file_too_large, max = *max_mb).to_string()
        }
        Problem::AttachmentNotPdf => td_string!(locale, problems.attachment_not_pdf).to_string(),
        Problem::AttachmentNotPrintable => {
            td_string!(locale, problems.attachment_not_printable).to_string()
        }
        Problem::LetterTooLarge => td_string!(locale, problems.letter_too_large).to_string(),
        Problem::TooMany { max } => td_string!(locale, problems.too_many, max = *max).to_string(),
        Problem::ReturnAddressNotSet => {
            td_string!(locale, problems.return_address_not_set).to_string()
        }
        Problem::ForwardingAddressNotSet => {
            td_string!(locale, problems.forwarding_address_not_set).to_string()
        }
        Problem::NotUnacknowledged => td_string!(locale, problems.not_unacknowledged).to_string(),
        Problem::NotNeedingAttention => {
            td_string!(locale, problems.not_needing_attention).to_string()
        }
        Problem::MailboxChecksRateLimited => {
            td_string!(locale, problems.mailbox_checks_rate_limited).to_string()
        }
        Problem::NoSuomiFiService => td_string!(locale, problems.no_suomifi_service).to_string(),
        Problem::UnknownPlaceholder { name } => {
            td_string!(locale, problems.unknown_placeholder, name = name.clone()).to_string()
        }
        Problem::TemplateGone => td_string!(locale, problems.template_gone).to_string(),
        Problem::ModeNotForBatches => td_string!(locale, problems.mode_not_for_batches).to_string(),
        Problem::NotQueued => td_string!(locale, problems.not_queued).to_string(),
        Problem::DuplicateRow { row } => {
            td_string!(locale, problems.duplicate_row, row = *row).to_string()
        }
        Problem::TooManyMailboxChecks { max } => {
            td_string!(locale, problems.too_many_mailbox_checks, max = *max).to_string()
        }
        Problem::FileExtensionMismatch => {
            td_string!(locale, problems.file_extension_mismatch).to_string()
        }
        Problem::NotForwarded => td_string!(locale, problems.not_forwarded).to_string(),
        Problem::LetterNotUndelivered => {
            td_string!(locale, problems.letter_not_undelivered).to_string()
        }
        Problem::ReceiptRequired => td_string!(locale, problems.receipt_required).to_string(),
        Problem::DateBeforeSending => td_string!(locale, problems.date_before_sending).to_string(),
        Problem::SearchExpired => td_string!(locale, problems.search_expired).to_string(),
    }
}

/// A warning as a sentence in the current language.
#[component]
pub fn WarningText(warning: Warning) -> impl IntoView {
    let i18n = use_i18n();
    move || match warning {
        Warning::MinorWithoutGuardian => {
            t_string!(i18n, warnings.minor_without_guardian).to_string()
        }
        Warning::PersonalMatterOnlyToMinor => {
            t_string!(i18n, warnings.personal_matter_only_to_minor).to_string()
        }
        Warning::PersonalMatterOnlyToGuardian => {
            t_string!(i18n, warnings.personal_matter_only_to_guardian).to_string()
        }
        Warning::TemporaryIdentityCode => {
            t_string!(i18n, warnings.temporary_identity_code).to_string()
        }
        Warning::MailboxCheckDeferred => {
            t_string!(i18n, warnings.mailbox_check_deferred).to_string()
        }
    }
}
