//! Queuing a composed notice: every field checked (all problems reported at once, in codes
//! the page translates), the channel rules applied per recipient with the mailbox check
//! where it matters, the paper letter rendered, personal data sealed, and the notice, its
//! deliveries and their send jobs written in one transaction. Nothing is written when
//! anything is wrong.
//!
//! Cheap checks come before costly ones, so an oversized request costs little: counts and
//! lengths first, then the stored sizes of the attachments, then Suomi.fi, and only then are
//! files read and PDFs opened (in a limited child process, `pdf_worker`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::auth::Actor;
use app::compose::ssr::ComposeBackend;
use app::compose::{
    CheckedNotice, FieldProblem, FieldWarning, NoticeDraft, PlannedDelivery, Problem,
    QueuedDelivery, QueuedNotice, RecipientDraft, Warning,
};
use app::domain::channel::{decide, ChannelDecision, DeliveryMode, PaperAddressee, RecipientFacts};
use app::domain::notice::{DeliverySettings, NoticeType, PostalAddress, RecipientRole};
use app::domain::{text, RecipientId};
use app::error::AppError;
use async_trait::async_trait;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use uuid::Uuid;

use super::content::electronic_body;
use super::letters::{LetterInput, Letters};
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::blobs::{BlobStore, Sha256Hex};
use crate::delivery::legal::finnish_date;
use crate::pdf::{Letter, LetterError, LetterHeader, LetterLanguage, PdfAttachment};
use crate::pdf_worker::RenderFailure;
use crate::secrets::{Column, DataKeys};
use crate::store::{
    delivery_settings, DecisionContent, NewDelivery, NewNotice, NoticeAttachment, NoticeCreation,
    Store, SuomiFiServiceRow, Timestamp, Upload,
};
use crate::suomifi::limits::Limits;
use crate::suomifi::services::{ServiceError, SuomiFiServices};
use crate::suomifi::SuomiFiClient;

/// How many recipients one composed notice may have; bulk sending has its own interface.
pub const MAX_RECIPIENTS: usize = 100;
const MAX_CASE_REFERENCE_CHARS: usize = 100;
const MAX_NAME_CHARS: usize = 256;
const MAX_APPEAL_INSTRUCTIONS_CHARS: usize = 10_000;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
const MAX_DECISION_FIELD_CHARS: usize = 500;
const MAX_PARTIES: usize = 100;
/// How long composing waits for Suomi.fi's mailbox answer before deferring the check to the
/// send job, and the pauses between the tries within it.
const MAILBOX_CHECK_DEADLINE: Duration = Duration::from_secs(2);
const MAILBOX_CHECK_PAUSES: [Duration; 2] =
    [Duration::from_millis(200), Duration::from_millis(500)];

/// How long an answer about a mailbox is reused: checking a draft and then queuing it asks
/// Suomi.fi (and spends the user's allowance) once.
const MAILBOX_ANSWER_TTL: Duration = Duration::from_secs(600);
/// Answers kept at most; the oldest go first.
const MAILBOX_ANSWERS_KEPT: usize = 20_000;

/// Recent answers by organisation and lookup hash: active or not, and when asked.
type MailboxAnswers = HashMap<(Uuid, Vec<u8>), (bool, Instant)>;

/// Mailbox checks one user may have made, per user id, and recent answers by lookup hash.
pub struct MailboxChecks {
    limiter: DefaultKeyedRateLimiter<Uuid>,
    /// The most identity codes one check may ask about (the limiter's burst).
    per_minute: u32,
    answers: std::sync::Mutex<MailboxAnswers>,
}

impl MailboxChecks {
    pub fn new(per_minute: u32) -> Arc<Self> {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).expect("at least one"));
        Arc::new(Self {
            limiter: RateLimiter::keyed(quota),
            per_minute,
            answers: std::sync::Mutex::new(HashMap::new()),
        })
    }

    fn recent(&self, organisation: Uuid, lookup: &[u8]) -> Option<bool> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .get(&(organisation, lookup.to_vec()))
            .filter(|(_, at)| at.elapsed() < MAILBOX_ANSWER_TTL)
            .map(|(active, _)| *active)
    }

    /// The caseworker asks again: the next check goes to Suomi.fi.
    fn forget(&self, organisation: Uuid, lookup: &[u8]) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers.remove(&(organisation, lookup.to_vec()));
    }

    fn remember(&self, organisation: Uuid, lookup: Vec<u8>, active: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= MAILBOX_ANSWERS_KEPT {
            answers.retain(|_, (_, at)| at.elapsed() < MAILBOX_ANSWER_TTL);
        }
        if answers.len() < MAILBOX_ANSWERS_KEPT {
            answers.insert((organisation, lookup), (active, Instant::now()));
        }
    }

    /// Whether the user may have `count` more codes checked now.
    fn allow(&self, user: Uuid, count: usize) -> bool {
        let Some(count) = NonZeroU32::new(count as u32) else {
            return true;
        };
        matches!(self.limiter.check_key_n(&user, count), Ok(Ok(())))
    }
}

#[derive(Clone)]
pub struct ComposeService {
    pub store: Arc<dyn Store>,
    pub services: Arc<SuomiFiServices>,
    pub key: DataKeys,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Audit,
    pub letters: Letters,
    /// Identity codes 900–999 are sent as codes (simulator, tests); otherwise they are
    /// treated as no identity code.
    pub allow_test_identity_codes: bool,
    pub mailbox_checks: Arc<MailboxChecks>,
}

#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldProblem::new(field, problem));
    }

    /// A one-line field that must be filled in.
    fn text(&mut self, field: &str, value: &str, max: usize) {
        self.required(field, value, max, text::check_line);
    }

    /// A body: line breaks and tabs are text there.
    fn body(&mut self, field: &str, value: &str, max: usize) {
        self.required(field, value, max, text::check_text);
    }

    fn optional_text(&mut self, field: &str, value: &str, max: usize) {
        self.checked(field, value, max, text::check_line);
    }

    fn optional_body(&mut self, field: &str, value: &str, max: usize) {
        self.checked(field, value, max, text::check_text);
    }

    fn required(
        &mut self,
        field: &str,
        value: &str,
        max: usize,
        shape: fn(&str) -> Result<(), text::TextProblem>,
    ) {
        if value.trim().is_empty() {
            self.add(field, Problem::Required);
        } else {
            self.checked(field, value, max, shape);
        }
    }

    fn checked(
        &mut self,
        field: &str,
        value: &str,
        max: usize,
        shape: fn(&str) -> Result<(), text::TextProblem>,
    ) {
        if value.chars().count() > max {
            self.add(field, Problem::TooLong { max: max as u32 });
        } else if let Err(problem) = shape(value) {
            self.add(field, Problem::Text(problem));
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

#[derive(Default)]
struct Warnings(Vec<FieldWarning>);

impl Warnings {
    fn add(&mut self, field: impl Into<String>, warning: Warning) {
        self.0.push(FieldWarning {
            field: field.into(),
            warning,
        });
    }
}

/// What is wrong with a case reference given on its own (a batch row's), if anything: the
/// compose form's rule.
pub fn case_reference_problem(value: &str) -> Option<Problem> {
    let mut problems = Problems::default();
    problems.optional_text("case_reference", value, MAX_CASE_REFERENCE_CHARS);
    problems.0.pop().map(|found| found.problem)
}

fn invalid(field: &str, problem: Problem) -> AppError {
    AppError::Invalid(vec![FieldProblem::new(field, problem)])
}

fn paper_possible(mode: DeliveryMode) -> bool {
    mode != DeliveryMode::ElectronicOnly
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// The Finnish calendar day now: the sending day of a notice queued now.
fn sending_day() -> time::Date {
    finnish_date(time::OffsetDateTime::now_utc())
}

fn ymd(date: time::Date) -> (u32, u32, u32) {
    (
        date.year() as u32,
        u8::from(date.month()) as u32,
        date.day() as u32,
    )
}

/// What the notice says, checked.
struct Content {
    notice_type: NoticeType,
    verifiable: bool,
    /// `None`, or a period of at least one day.
    appeal_days: Option<u16>,
    appeal_instructions: Option<String>,
    decision: DecisionContent,
    decision_date: Option<time::Date>,
    /// Upload ids, each once, in the order first given.
    attachments: Vec<Uuid>,
}

/// A recipient once checked: what gets sealed and stored.
struct CheckedRecipient {
    draft: RecipientDraft,
    id: Option<RecipientId>,
    address: Option<PostalAddress>,
    facts: RecipientFacts,
    decision: ChannelDecision,
    mailbox_check_deferred: bool,
}

/// Everything decided about a draft before any file is read.
struct Plan {
    content: Content,
    uploads: Vec<Upload>,
    recipients: Vec<CheckedRecipient>,
    any_paper: bool,
    warnings: Warnings,
    /// What the paper copy says, and the electronic body composed from the same parts.
    letter: LetterInput,
    electronic_body: String,
}

/// What Suomi.fi said about the mailboxes asked.
enum MailboxAnswer {
    NotAsked,
    Active(Vec<String>),
    /// No answer in time: the send job asks before sending.
    Deferred,
}

impl ComposeService {
    /// The draft with its title's and body's placeholders filled in from the notice; its
    /// template, if any, checked to be the organisation's.
    async fn filled(&self, actor: &Actor, draft: &NoticeDraft) -> Result<NoticeDraft, AppError> {
        use app::domain::notice::RecipientRole;
        use app::domain::placeholders::{fill, PlaceholderValues};
        if let Some(template) = draft.template {
            let found = self
                .store
                .template_version(actor.organisation_id, template.id, template.version)
                .await
                .map_err(AppError::internal)?;
            if found.is_none() {
                return Err(invalid("template", Problem::TemplateGone));
            }
        }
        let finnish =
            |date: time::Date| format!("{}.{}.{}", date.day(), u8::from(date.month()), date.year());
        let values = PlaceholderValues {
            case_reference: draft.case_reference.trim().to_string(),
            recipient: draft
                .recipients
                .iter()
                .filter(|r| r.role == RecipientRole::Party)
                .map(|r| r.name.trim())
                .filter(|name| !name.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            today: finnish(sending_day()),
            decision_date: draft
                .decision
                .decision_date
                .as_deref()
                .and_then(parse_date)
                .map(finnish)
                .unwrap_or_default(),
        };
        let mut filled = draft.clone();
        filled.title = fill(&draft.title, &values)
            .map_err(|name| invalid("title", Problem::UnknownPlaceholder { name }))?;
        filled.body = fill(&draft.body, &values)
            .map_err(|name| invalid("body", Problem::UnknownPlaceholder { name }))?;
        if let Some(instructions) = &draft.appeal_instructions {
            filled.appeal_instructions = Some(fill(instructions, &values).map_err(|name| {
                invalid("appeal_instructions", Problem::UnknownPlaceholder { name })
            })?);
        }
        Ok(filled)
    }

    /// The Suomi.fi service the notice goes through: the one chosen, else the default.
    async fn service(
        &self,
        actor: &Actor,
        chosen: Option<Uuid>,
    ) -> Result<(SuomiFiServiceRow, Arc<SuomiFiClient>), AppError> {
        match self
            .services
            .for_organisation(actor.organisation_id, chosen)
            .await
        {
            Ok(found) => Ok(found),
            Err(ServiceError::NoService) => Err(invalid("service", Problem::NoSuomiFiService)),
            Err(ServiceError::UnknownService(_)) => {
                Err(invalid("service", Problem::ChoiceRequired))
            }
            Err(error) => Err(AppError::internal(error)),
        }
    }

    fn limits(&self) -> &Limits {
        self.services.limits()
    }

    /// Counts and lengths: everything that costs nothing to check. Too many recipients or
    /// attachments end the check here, before anything is loaded or asked.
    fn check_sizes(&self, draft: &NoticeDraft) -> Result<(), AppError> {
        let mut problems = Problems::default();
        if draft.recipients.len() > MAX_RECIPIENTS {
            problems.add(
                "recipients",
                Problem::TooMany {
                    max: MAX_RECIPIENTS as u32,
                },
            );
        }
        // Suomi.fi is asked about each electronic-only recipient; more than one user may have
        // asked in a minute is more than one notice may ask.
        let to_check = draft
            .recipients
            .iter()
            .filter(|r| r.mode == DeliveryMode::ElectronicOnly)
            .filter(|r| {
                r.identity_code
                    .as_deref()
                    .is_some_and(|c| !c.trim().is_empty())
            })
            .count();
        let max_checks = self.mailbox_checks.per_minute as usize;
        if to_check > max_checks {
            problems.add(
                "recipients",
                Problem::TooManyMailboxChecks {
                    max: max_checks as u32,
                },
            );
        }
        let max_attachments = self.limits().max_electronic_attachments;
        if distinct(&draft.attachments).len() > max_attachments {
            problems.add(
                "attachments",
                Problem::TooMany {
                    max: max_attachments as u32,
                },
            );
        }
        problems.into_result()
    }

    /// What goes on the letter: also all a preview needs.
    fn check_content(&self, draft: &NoticeDraft, problems: &mut Problems) -> Content {
        problems.text(
            "case_reference",
            &draft.case_reference,
            MAX_CASE_REFERENCE_CHARS,
        );
        problems.text("title", &draft.title, self.limits().max_title_chars);
        problems.body("body", &draft.body, self.limits().max_body_chars);
        let notice_type = draft.notice_type;
        // HL 60 §: which decisions need verifiable service is the organisation's judgement,
        // so a decision never falls back on a default; the other notices have one.
        let verifiable = match (draft.verifiable, notice_type) {
            (Some(verifiable), _) => verifiable,
            (None, NoticeType::Decision) => {
                problems.add("verifiable", Problem::ChoiceRequired);
                false
            }
            (None, kind) => kind.verifiable_by_default(),
        };
        let appeal_days = match draft.appeal_days {
            Some(days) if days > 365 => {
                problems.add("appeal_days", Problem::OutOfRange { min: 0, max: 365 });
                None
            }
            // 0: no appeal period (the decision cannot be appealed).
            Some(days) => (days > 0).then_some(days),
            None => notice_type.default_appeal_days(),
        };
        let appeal_instructions = non_empty(&draft.appeal_instructions);
        if let Some(instructions) = &appeal_instructions {
            problems.optional_body(
                "appeal_instructions",
                instructions,
                MAX_APPEAL_INSTRUCTIONS_CHARS,
            );
        }
        // Without the instructions the appeal period does not start as computed (HL 47 §).
        if appeal_days.is_some() && appeal_instructions.is_none() {
            problems.add("appeal_instructions", Problem::Required);
        }
        let (decision, decision_date) = self.check_decision(draft, problems);
        Content {
            notice_type,
            verifiable,
            appeal_days,
            appeal_instructions,
            decision,
            decision_date,
            attachments: distinct(&draft.attachments),
        }
    }

    /// A decision's content (HL 44 §): its date, who made it, the contact person. Other
    /// notices may name a contact person.
    fn check_decision(
        &self,
        draft: &NoticeDraft,
        problems: &mut Problems,
    ) -> (DecisionContent, Option<time::Date>) {
        let given = &draft.decision;
        let is_decision = draft.notice_type == NoticeType::Decision;
        let field = |name: &str| format!("decision.{name}");
        let decision_maker = non_empty(&given.decision_maker);
        let contact_person = non_empty(&given.contact_person);
        let contact_details = non_empty(&given.contact_details);
        for (name, value) in [
            ("decision_maker", &decision_maker),
            ("contact_person", &contact_person),
        ] {
            if let Some(value) = value {
                problems.optional_text(&field(name), value, MAX_DECISION_FIELD_CHARS);
            }
        }
        if let Some(value) = &contact_details {
            problems.optional_body(&field("contact_details"), value, MAX_DECISION_FIELD_CHARS);
        }
        let decision_date = match non_empty(&given.decision_date) {
            None => None,
            Some(text) => match parse_date(&text) {
                None => {
                    problems.add(field("decision_date"), Problem::DateInvalid);
                    None
                }
                Some(date) if date > sending_day() => {
                    problems.add(field("decision_date"), Problem::DateInFuture);
                    None
                }
                Some(date) => Some(date),
            },
        };
        if is_decision {
            if given
                .decision_date
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                problems.add(field("decision_date"), Problem::Required);
            }
            if decision_maker.is_none() {
                problems.add(field("decision_maker"), Problem::Required);
            }
            if contact_person.is_none() {
                problems.add(field("contact_person"), Problem::Required);
            }
        }
        let mut parties: Vec<String> = given
            .parties
            .iter()
            .map(|party| party.trim().to_string())
            .filter(|party| !party.is_empty())
            .collect();
        // Parties not given are the recipients by name: their names are checked as names.
        let given_parties = !parties.is_empty();
        if parties.is_empty() && is_decision {
            parties = draft
                .recipients
                .iter()
                .filter(|recipient| recipient.role == RecipientRole::Party)
                .map(|recipient| recipient.name.trim().to_string())
                .filter(|name| !name.is_empty())
                .collect();
        }
        if parties.len() > MAX_PARTIES {
            problems.add(
                field("parties"),
                Problem::TooMany {
                    max: MAX_PARTIES as u32,
                },
            );
        }
        for (index, party) in parties.iter().enumerate().filter(|_| given_parties) {
            problems.optional_text(&format!("decision.parties[{index}]"), party, MAX_NAME_CHARS);
        }
        let content = DecisionContent {
            decision_date: decision_date.map(|date| date.to_string()),
            decision_maker,
            parties: if is_decision { parties } else { Vec::new() },
            contact_person,
            contact_details,
            automated_decision: is_decision && given.automated,
        };
        (content, decision_date)
    }

    fn check_notice_fields(&self, draft: &NoticeDraft, problems: &mut Problems) -> Content {
        problems.text(
            "idempotency_key",
            &draft.idempotency_key,
            MAX_IDEMPOTENCY_KEY_CHARS,
        );
        if draft.recipients.is_empty() {
            problems.add("recipients", Problem::Required);
        }
        self.check_content(draft, problems)
    }

    /// The uploads named, from the database only (no file is read yet).
    async fn load_uploads(
        &self,
        actor: &Actor,
        ids: &[Uuid],
        problems: &mut Problems,
    ) -> Result<Vec<Upload>, AppError> {
        let mut uploads = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            match self
                .store
                .upload(actor.organisation_id, *id)
                .await
                .map_err(AppError::internal)?
            {
                Some(upload) => uploads.push(upload),
                None => problems.add(format!("attachments[{index}]"), Problem::UnknownAttachment),
            }
        }
        Ok(uploads)
    }

    /// The files themselves, once everything else is known to be in order.
    async fn read_uploads(&self, uploads: &[Upload]) -> Result<Vec<Vec<u8>>, AppError> {
        let mut files = Vec::with_capacity(uploads.len());
        for (index, upload) in uploads.iter().enumerate() {
            let digest = Sha256Hex::parse(&upload.sha256).map_err(AppError::internal)?;
            match self.blobs.get(&digest).await.map_err(AppError::internal)? {
                Some(bytes) => files.push(bytes),
                None => {
                    return Err(invalid(
                        &format!("attachments[{index}]"),
                        Problem::UnknownAttachment,
                    ))
                }
            }
        }
        Ok(files)
    }

    /// Paper takes PDFs only, and the letter with them at most the print ceiling: both
    /// known from what was stored at upload, before any file is read.
    fn check_paper_attachments(&self, uploads: &[Upload], problems: &mut Problems) {
        let mut pdf_bytes = 0i64;
        for (index, upload) in uploads.iter().enumerate() {
            if upload.media_type != "application/pdf" {
                problems.add(format!("attachments[{index}]"), Problem::AttachmentNotPdf);
            } else {
                pdf_bytes += upload.size_bytes;
            }
        }
        let max = self
            .limits()
            .max_paper_pdf_bytes
            .min(self.limits().max_upload_bytes) as i64;
        if pdf_bytes > max {
            problems.add("attachments", Problem::LetterTooLarge);
        }
    }

    /// Parses one recipient, without the mailbox answer.
    fn parse_recipient(
        &self,
        index: usize,
        draft: &RecipientDraft,
        problems: &mut Problems,
        warnings: &mut Warnings,
    ) -> (Option<RecipientId>, Option<PostalAddress>) {
        let field = |name: &str| format!("recipients[{index}].{name}");
        problems.text(&field("name"), &draft.name, MAX_NAME_CHARS);
        let id = match draft.identity_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => match RecipientId::parse(code) {
                Ok(RecipientId::Person(code))
                    if code.is_temporary() && !self.allow_test_identity_codes =>
                {
                    warnings.add(field("identity_code"), Warning::TemporaryIdentityCode);
                    None
                }
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

    /// One recipient of a batch (sending to many), checked as queuing checks a recipient but
    /// without asking Suomi.fi: the identity code, name, address and channel rules. The mode
    /// the rules decide, or the problems (fields named without `recipients[0].`).
    pub fn check_batch_recipient(
        &self,
        recipient: &RecipientDraft,
        verifiable: bool,
        settings: &DeliverySettings,
    ) -> Result<(DeliveryMode, Option<RecipientId>), Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let mut warnings = Warnings::default();
        let (id, address) = self.parse_recipient(0, recipient, &mut problems, &mut warnings);
        let strip = |problems: Vec<FieldProblem>| -> Vec<FieldProblem> {
            problems
                .into_iter()
                .map(|p| FieldProblem::new(p.field.trim_start_matches("recipients[0]."), p.problem))
                .collect()
        };
        // Electronic only needs a mailbox check per recipient while composing: one notice at
        // a time, not thousands; multichannel lets Suomi.fi decide.
        if recipient.mode == DeliveryMode::ElectronicOnly {
            problems.add("recipients[0].mode", Problem::ModeNotForBatches);
        }
        if !problems.is_empty() {
            return Err(strip(problems.0));
        }
        let today = ymd(sending_day());
        let Some((_, decision)) = decide_recipient(
            recipient,
            &id,
            address.as_ref(),
            None,
            verifiable,
            settings,
            today,
            &|name: &str| name.to_string(),
            &mut problems,
        ) else {
            return Err(problems.0);
        };
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok((decision.mode, id))
    }

    /// The "Check mailbox" button: asks Suomi.fi now (not a remembered answer) whether the
    /// code's mailbox is in use; `None` when it gave no answer in time. Audited and limited
    /// like every check.
    pub async fn check_mailbox_now(
        &self,
        actor: &Actor,
        id: &RecipientId,
    ) -> Result<Option<bool>, AppError> {
        let code = id.expose().to_string();
        self.mailbox_checks
            .forget(actor.organisation_id, &self.key.lookup_hash(&code));
        Ok(
            match self
                .check_mailboxes(actor, None, vec![code.clone()])
                .await?
            {
                MailboxAnswer::Active(active) => Some(active.contains(&code)),
                MailboxAnswer::Deferred | MailboxAnswer::NotAsked => None,
            },
        )
    }

    /// Which identity codes have an active mailbox. Asked only for electronic-only
    /// recipients (multichannel lets Suomi.fi decide), audited, limited per user, tried a
    /// few times within about two seconds; no answer by then defers the check to sending.
    async fn check_mailboxes(
        &self,
        actor: &Actor,
        service: Option<Uuid>,
        ids: Vec<String>,
    ) -> Result<MailboxAnswer, AppError> {
        if ids.is_empty() {
            return Ok(MailboxAnswer::NotAsked);
        }
        let organisation = actor.organisation_id;
        let lookups: Vec<Vec<u8>> = ids.iter().map(|id| self.key.lookup_hash(id)).collect();
        let mut active = Vec::new();
        let mut to_ask = Vec::new();
        for (id, lookup) in ids.iter().zip(&lookups) {
            match self.mailbox_checks.recent(organisation, lookup) {
                Some(true) => active.push(id.clone()),
                Some(false) => {}
                None => to_ask.push((id.clone(), lookup.clone())),
            }
        }
        if to_ask.is_empty() {
            return Ok(MailboxAnswer::Active(active));
        }
        let user = actor.user_id().unwrap_or(organisation);
        if actor.is_person() && !self.mailbox_checks.allow(user, to_ask.len()) {
            return Err(invalid("recipients", Problem::MailboxChecksRateLimited));
        }
        let (_, suomifi) = self.service(actor, service).await?;
        let asked: Vec<String> = to_ask.iter().map(|(id, _)| id.clone()).collect();
        let answer = tokio::time::timeout(MAILBOX_CHECK_DEADLINE, async {
            let mut pauses = MAILBOX_CHECK_PAUSES.iter();
            loop {
                match suomifi.active_mailboxes(&asked).await {
                    Ok(active) => return Some(active),
                    Err(error) if error.is_retryable() => {
                        tracing::warn!(%error, "mailbox check failed while composing");
                        tokio::time::sleep(*pauses.next()?).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "mailbox check refused while composing");
                        return None;
                    }
                }
            }
        })
        .await
        .ok()
        .flatten();
        // Who asked about whom, without the codes: the same hashes the search uses.
        let hashes: Vec<String> = to_ask
            .iter()
            .map(|(_, lookup)| crate::blobs::hex(lookup))
            .collect();
        let entry = AuditEntry::new(AuditAction::MailboxChecked)
            .by(actor)
            .details(json!({
                "count": to_ask.len(),
                "lookup_hashes": hashes,
                "answered": answer.is_some(),
            }));
        self.audit.record(entry).await.map_err(AppError::internal)?;
        let Some(answered) = answer else {
            return Ok(MailboxAnswer::Deferred);
        };
        for (id, lookup) in to_ask {
            let is_active = answered.contains(&id);
            self.mailbox_checks
                .remember(organisation, lookup, is_active);
            if is_active {
                active.push(id);
            }
        }
        Ok(MailboxAnswer::Active(active))
    }

    async fn check_recipients(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
        content: &Content,
        settings: &DeliverySettings,
        problems: &mut Problems,
        warnings: &mut Warnings,
    ) -> Result<Vec<CheckedRecipient>, AppError> {
        let parsed: Vec<_> = draft
            .recipients
            .iter()
            .enumerate()
            .map(|(index, recipient)| self.parse_recipient(index, recipient, problems, warnings))
            .collect();
        let to_check: Vec<String> = draft
            .recipients
            .iter()
            .zip(&parsed)
            .filter(|(recipient, _)| recipient.mode == DeliveryMode::ElectronicOnly)
            .filter_map(|(_, (id, _))| id.as_ref().map(|id| id.expose().to_string()))
            .collect();
        // Nothing is asked of Suomi.fi about a draft that is wrong anyway.
        let answer = if problems.is_empty() {
            self.check_mailboxes(actor, draft.service, to_check).await?
        } else {
            MailboxAnswer::NotAsked
        };
        let today = ymd(sending_day());

        let mut checked = Vec::new();
        for (index, (recipient, (id, address))) in draft.recipients.iter().zip(parsed).enumerate() {
            let field = |name: &str| format!("recipients[{index}].{name}");
            let electronic_only = recipient.mode == DeliveryMode::ElectronicOnly;
            let (mailbox_active, deferred) = match (&id, &answer) {
                (Some(id), MailboxAnswer::Active(active)) if electronic_only => {
                    (Some(active.iter().any(|a| a == id.expose())), false)
                }
                (Some(_), MailboxAnswer::Deferred) if electronic_only => {
                    warnings.add(field("mode"), Warning::MailboxCheckDeferred);
                    (None, true)
                }
                _ => (None, false),
            };
            let Some((facts, decision)) = decide_recipient(
                recipient,
                &id,
                address.as_ref(),
                mailbox_active,
                content.verifiable,
                settings,
                today,
                &field,
                problems,
            ) else {
                continue;
            };
            checked.push(CheckedRecipient {
                draft: recipient.clone(),
                id,
                address,
                facts,
                decision,
                mailbox_check_deferred: deferred,
            });
        }
        minor_warnings(draft, &checked, today, warnings);
        Ok(checked)
    }

    /// Every check, in order of cost; nothing read from the document store, nothing written.
    async fn plan(&self, actor: &Actor, draft: &NoticeDraft) -> Result<Plan, AppError> {
        self.check_sizes(draft)?;
        let mut problems = Problems::default();
        let mut warnings = Warnings::default();
        let content = self.check_notice_fields(draft, &mut problems);
        match self
            .services
            .for_organisation(actor.organisation_id, draft.service)
            .await
        {
            Ok(_) => {}
            Err(ServiceError::NoService) => problems.add("service", Problem::NoSuomiFiService),
            Err(ServiceError::UnknownService(_)) => {
                problems.add("service", Problem::ChoiceRequired)
            }
            Err(error) => return Err(AppError::internal(error)),
        }
        let settings = delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let uploads = self
            .load_uploads(actor, &content.attachments, &mut problems)
            .await?;
        let recipients = self
            .check_recipients(
                actor,
                draft,
                &content,
                &settings,
                &mut problems,
                &mut warnings,
            )
            .await?;
        let any_paper = content.verifiable
            || recipients
                .iter()
                .any(|recipient| paper_possible(recipient.decision.mode));
        if any_paper {
            if settings.return_address.is_none() {
                problems.add("recipients", Problem::ReturnAddressNotSet);
            }
            self.check_paper_attachments(&uploads, &mut problems);
        }
        let letter = self.letter(actor, draft, &content, &settings);
        let electronic_body = electronic_body(&letter.letter);
        let max_body = self.limits().max_body_chars;
        if problems.is_empty() && electronic_body.chars().count() > max_body {
            // The header and the instructions count too.
            problems.add(
                "body",
                Problem::TooLong {
                    max: max_body as u32,
                },
            );
        }
        problems.into_result()?;
        Ok(Plan {
            content,
            uploads,
            recipients,
            any_paper,
            warnings,
            letter,
            electronic_body,
        })
    }

    /// What the letter says, its day and letterhead fixed now: rendering it today or later
    /// gives the same bytes.
    fn letter(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
        content: &Content,
        settings: &DeliverySettings,
    ) -> LetterInput {
        let decision = &content.decision;
        let contact = match (&decision.contact_person, &decision.contact_details) {
            (Some(person), Some(details)) => Some(format!("{person}, {details}")),
            (Some(person), None) => Some(person.clone()),
            (None, Some(details)) => Some(details.clone()),
            (None, None) => None,
        };
        let is_decision = content.notice_type == NoticeType::Decision;
        let letter = Letter {
            organisation_name: actor.organisation_name.clone(),
            sender_lines: settings.letter_sender_lines.clone(),
            language: LetterLanguage::parse(draft.language.as_str()),
            date: content.decision_date.unwrap_or_else(sending_day),
            case_reference: draft.case_reference.trim().to_string(),
            title: draft.title.trim().to_string(),
            body: draft.body.clone(),
            markdown: draft.markdown,
            appeal_instructions: content.appeal_instructions.clone(),
            header: LetterHeader {
                is_decision: is_decision && content.decision_date.is_some(),
                decision_maker: decision.decision_maker.clone(),
                parties: decision.parties.clone(),
                contact,
                automated_decision: decision.automated_decision,
            },
            logo: None,
        };
        LetterInput {
            letter,
            logo_sha256: settings.logo_sha256.clone(),
        }
    }

    /// The letter with the PDF attachments appended, rendered by a PDF worker; a file that
    /// cannot be printed is a problem of its field.
    async fn render_letter(
        &self,
        letter: &LetterInput,
        uploads: &[Upload],
        files: &[Vec<u8>],
    ) -> Result<Vec<u8>, AppError> {
        let mut positions = Vec::new();
        let mut pdfs = Vec::new();
        for (index, (upload, bytes)) in uploads.iter().zip(files).enumerate() {
            if upload.media_type == "application/pdf" {
                positions.push(index);
                pdfs.push(PdfAttachment {
                    filename: upload.filename.clone(),
                    bytes: bytes.clone(),
                });
            }
        }
        match self.letters.render(letter, &pdfs).await {
            Ok(rendered) => Ok(rendered.bytes),
            Err(RenderFailure::NotPrintable(failures)) => Err(AppError::Invalid(
                failures
                    .into_iter()
                    .map(|(pdf_index, _)| {
                        let index = positions.get(pdf_index).copied().unwrap_or(pdf_index);
                        FieldProblem::new(
                            format!("attachments[{index}]"),
                            Problem::AttachmentNotPrintable,
                        )
                    })
                    .collect(),
            )),
            Err(RenderFailure::Letter(LetterError::TooLarge { .. })) => {
                Err(invalid("attachments", Problem::LetterTooLarge))
            }
            // Over the worker's memory or time: what an attachment asks for is too much.
            Err(RenderFailure::Letter(LetterError::Limits(cause))) => {
                tracing::warn!(%cause, "a PDF attachment exceeded the worker's limits");
                Err(invalid("attachments", Problem::AttachmentNotPrintable))
            }
            Err(RenderFailure::Letter(error)) => Err(AppError::internal(error)),
        }
    }

    fn new_delivery(&self, recipient: &CheckedRecipient) -> Result<NewDelivery, AppError> {
        let (identity_kind, sealed, lookup, masked) = match &recipient.id {
            None => ("none", None, None, None),
            Some(id) => {
                let kind = match id {
                    RecipientId::Person(_) => "person",
                    RecipientId::Organisation(_) => "organisation",
                };
                let masked = id.masked();
                (
                    kind,
                    Some(self.key.seal(Column::IdentityCode, id.expose())),
                    Some(self.key.lookup_hash(id.expose())),
                    Some(masked),
                )
            }
        };
        let address_sealed = match &recipient.address {
            Some(address) => Some(self.key.seal(
                Column::PostalAddress,
                &serde_json::to_string(address).map_err(AppError::internal)?,
            )),
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
                "sending_day": sending_day().to_string(),
            })
            .to_string(),
            requested_mode: recipient.draft.mode,
            decided_mode: recipient.decision.mode,
            channel_reasons: recipient.decision.reasons.clone(),
            paper_addressee: recipient.decision.paper_addressee,
            address_protected: recipient.facts.address_protected,
            content_not_for_others: recipient.facts.content_not_for_others,
            recipient_minor: recipient.facts.is_minor,
            mailbox_check_deferred: recipient.mailbox_check_deferred,
        })
    }

    async fn queued(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        already_queued: bool,
        warnings: Vec<FieldWarning>,
    ) -> Result<QueuedNotice, AppError> {
        let deliveries = self
            .store
            .deliveries(actor.organisation_id, notice_id)
            .await
            .map_err(AppError::internal)?;
        Ok(QueuedNotice {
            notice_id,
            already_queued,
            deliveries: deliveries
                .into_iter()
                .map(|delivery| QueuedDelivery {
                    delivery_id: delivery.id,
                    mode: delivery.decided_mode,
                    paper_addressee: delivery.paper_addressee,
                    reasons: delivery.reasons(),
                })
                .collect(),
            warnings,
        })
    }

    /// The notice this compose form queued before, if it did.
    async fn queued_before(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
    ) -> Result<Option<Uuid>, AppError> {
        let Some(author) = actor.user_id() else {
            return Ok(None);
        };
        self.store
            .notice_by_idempotency_key(actor.organisation_id, author, draft.idempotency_key.trim())
            .await
            .map_err(AppError::internal)
    }

    pub async fn check(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
    ) -> Result<CheckedNotice, AppError> {
        let draft = &self.filled(actor, draft).await?;
        let plan = self.plan(actor, draft).await?;
        let today = ymd(sending_day());
        Ok(CheckedNotice {
            deliveries: plan
                .recipients
                .iter()
                .map(|recipient| PlannedDelivery {
                    mode: recipient.decision.mode,
                    paper_addressee: recipient.decision.paper_addressee,
                    reasons: recipient.decision.reasons.clone(),
                    mailbox_active: recipient.facts.mailbox_active,
                    age: match &recipient.id {
                        Some(RecipientId::Person(code)) => Some(code.age_on(today)),
                        _ => None,
                    },
                    // Every mode, and why it could not be used: options that do not apply
                    // stay visible with the reason.
                    options: [
                        DeliveryMode::Multichannel,
                        DeliveryMode::ElectronicOnly,
                        DeliveryMode::PaperOnly,
                        DeliveryMode::PaperWithoutId,
                    ]
                    .into_iter()
                    .map(|mode| (mode, decide(mode, &recipient.facts).err()))
                    .collect(),
                })
                .collect(),
            warnings: plan.warnings.0,
        })
    }

    /// The electronic message as the recipient's mailbox would show it, as safe HTML —
    /// whatever the draft's problems (a preview is shown while typing).
    pub async fn preview_html(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
    ) -> Result<String, AppError> {
        // A placeholder not filled yet shows as written.
        let filled = self.filled(actor, draft).await;
        let draft = filled.as_ref().unwrap_or(draft);
        let mut ignored = Problems::default();
        let content = self.check_content(draft, &mut ignored);
        let settings = delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let letter = self.letter(actor, draft, &content, &settings);
        Ok(super::preview::body_html(
            &electronic_body(&letter.letter),
            draft.markdown,
        ))
    }

    pub async fn compose(
        &self,
        actor: &Actor,
        draft: NoticeDraft,
    ) -> Result<QueuedNotice, AppError> {
        self.compose_request(actor, draft, None).await
    }

    /// As `compose`, the notice keeping the hash of the API request that queued it.
    pub async fn compose_request(
        &self,
        actor: &Actor,
        draft: NoticeDraft,
        request_sha256: Option<String>,
    ) -> Result<QueuedNotice, AppError> {
        let author_id = actor.user_id().ok_or(AppError::Forbidden)?;
        let draft = self.filled(actor, &draft).await?;
        // A repeated submit answers with what the first one queued, whatever has changed
        // since (a rate limit, Suomi.fi's availability).
        if !draft.idempotency_key.trim().is_empty() {
            if let Some(notice_id) = self.queued_before(actor, &draft).await? {
                return self.queued(actor, notice_id, true, Vec::new()).await;
            }
        }
        let plan = self.plan(actor, &draft).await?;
        let (service, _) = self.service(actor, draft.service).await?;
        let files = self.read_uploads(&plan.uploads).await?;

        // The letter is the paper copy, the preview and, for a verifiable notice, what a
        // re-serve prints: rendered once, kept by its hash. With PDF attachments it is
        // rendered now, so that one which cannot be printed is the caseworker's to hear of;
        // our own text and fonts always render, so its inputs are frozen and it is made when
        // first needed — composing does not wait for a PDF nobody may read.
        let (paper_letter_sha256, letter_input) = if plan
            .uploads
            .iter()
            .any(|upload| upload.media_type == "application/pdf")
        {
            let rendered = match self
                .render_letter(&plan.letter, &plan.uploads, &files)
                .await
            {
                Ok(bytes) => Some(bytes),
                Err(error) if plan.any_paper => return Err(error),
                Err(_) => None,
            };
            let sha256 = match rendered {
                Some(bytes) => Some(
                    self.blobs
                        .put(&bytes)
                        .await
                        .map_err(AppError::internal)?
                        .to_string(),
                ),
                None => None,
            };
            (sha256, None)
        } else {
            let frozen = serde_json::to_string(&plan.letter).map_err(AppError::internal)?;
            (None, Some(frozen))
        };

        let deliveries = plan
            .recipients
            .iter()
            .map(|recipient| self.new_delivery(recipient))
            .collect::<Result<Vec<_>, _>>()?;
        let content = &plan.content;
        let notice_id = Uuid::now_v7();
        let modes: Vec<_> = plan.recipients.iter().map(|r| r.decision.mode).collect();
        let queued_entry = AuditEntry::new(AuditAction::NoticeQueued)
            .by(actor)
            .subject("notice", notice_id)
            .details(json!({
                "notice_type": content.notice_type.as_str(),
                "recipients": plan.recipients.len(),
                "modes": modes,
                "verifiable": content.verifiable,
                "attachments": plan.uploads.len(),
            }));
        let new_notice = NewNotice {
            id: notice_id,
            organisation_id: actor.organisation_id,
            author_id,
            notice_type: content.notice_type.as_str().to_string(),
            case_reference: draft.case_reference.trim().to_string(),
            title: draft.title.trim().to_string(),
            body: draft.body.clone(),
            body_format: if draft.markdown { "Markdown" } else { "Text" }.to_string(),
            language: draft.language.as_str().to_string(),
            verifiable: content.verifiable,
            appeal_days: content.appeal_days.map(i32::from),
            service_id: service.service_id.clone(),
            idempotency_key: draft.idempotency_key.trim().to_string(),
            appeal_instructions: content.appeal_instructions.clone(),
            paper_letter_sha256,
            letter_input,
            decision: content.decision.clone(),
            electronic_body: plan.electronic_body,
            in_reply_to_message_id: draft.in_reply_to,
            template: draft.template,
            replies_allowed: draft.replies_allowed,
            attachments: plan
                .uploads
                .iter()
                .enumerate()
                .map(|(position, upload)| NoticeAttachment {
                    position: position as i32,
                    filename: upload.filename.clone(),
                    media_type: upload.media_type.clone(),
                    sha256: upload.sha256.clone(),
                    size_bytes: upload.size_bytes,
                })
                .collect(),
            deliveries,
            audit: Some(Audit::event(queued_entry)),
            request_sha256,
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
        let warnings = if already_queued {
            Vec::new()
        } else {
            plan.warnings.0
        };
        self.queued(actor, notice_id, already_queued, warnings)
            .await
    }

    /// The letter a draft would get, rendered exactly as queuing renders it (same day, same
    /// bytes), with the same limits, without queuing anything.
    pub async fn preview(&self, actor: &Actor, draft: &NoticeDraft) -> Result<Vec<u8>, AppError> {
        let draft = &self.filled(actor, draft).await?;
        self.check_sizes(draft)?;
        let mut problems = Problems::default();
        let content = self.check_content(draft, &mut problems);
        let uploads = self
            .load_uploads(actor, &content.attachments, &mut problems)
            .await?;
        self.check_paper_attachments(&uploads, &mut problems);
        problems.into_result()?;
        let settings = delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let files = self.read_uploads(&uploads).await?;
        let letter = self.letter(actor, draft, &content, &settings);
        self.render_letter(&letter, &uploads, &files).await
    }
}

/// The channel rules for one parsed recipient, the same for one notice and for every row of
/// a batch: its facts on the sending day, the mode they decide, and what paper would need
/// (problems under `field`). `None` when no mode is possible.
#[allow(clippy::too_many_arguments)]
fn decide_recipient(
    recipient: &RecipientDraft,
    id: &Option<RecipientId>,
    address: Option<&PostalAddress>,
    mailbox_active: Option<bool>,
    verifiable: bool,
    settings: &DeliverySettings,
    today: (u32, u32, u32),
    field: &dyn Fn(&str) -> String,
    problems: &mut Problems,
) -> Option<(RecipientFacts, ChannelDecision)> {
    let facts = RecipientFacts {
        has_identity_code: id.is_some(),
        is_minor: matches!(id, Some(RecipientId::Person(code)) if code.is_minor_on(today)),
        address_protected: recipient.address_protected,
        content_not_for_others: recipient.content_not_for_others,
        mailbox_active,
    };
    let decision = match decide(recipient.mode, &facts) {
        Ok(decision) => decision,
        Err(refusal) => {
            problems.add(field("mode"), Problem::Channel(refusal));
            return None;
        }
    };
    let forwarded = decision.paper_addressee == PaperAddressee::OrganisationForwarding;
    // A deferred check may end in paper, but then a caseworker chooses it (with what paper
    // needs); composing must not depend on Suomi.fi having answered.
    if paper_possible(decision.mode) || verifiable {
        if forwarded && settings.forwarding_address.is_none() {
            problems.add(field("address_protected"), Problem::ForwardingAddressNotSet);
        } else if !forwarded && address.is_none() && recipient.address.is_none() {
            problems.add(field("address"), Problem::AddressRequired);
        }
    }
    Some((facts, decision))
}

/// Warnings about minors (HL 14 §, 56 §), by their age on the sending day: a party under 15
/// with no guardian among the recipients; a 15–17-year-old's personal matter that reaches
/// only the minor or only a guardian.
fn minor_warnings(
    draft: &NoticeDraft,
    recipients: &[CheckedRecipient],
    today: (u32, u32, u32),
    warnings: &mut Warnings,
) {
    let age = |recipient: &CheckedRecipient| match &recipient.id {
        Some(RecipientId::Person(code)) => Some(code.age_on(today)),
        _ => None,
    };
    let has_guardian = recipients
        .iter()
        .any(|recipient| recipient.draft.role == RecipientRole::Guardian);
    let mut minor_party_15_to_17 = false;
    for (index, recipient) in recipients.iter().enumerate() {
        if recipient.draft.role != RecipientRole::Party {
            continue;
        }
        match age(recipient) {
            Some(age) if age < 15 && !has_guardian => {
                warnings.add(
                    format!("recipients[{index}]"),
                    Warning::MinorWithoutGuardian,
                );
            }
            Some(15..=17) => {
                minor_party_15_to_17 = true;
                if draft.minor_personal_matter && !has_guardian {
                    warnings.add(
                        format!("recipients[{index}]"),
                        Warning::PersonalMatterOnlyToMinor,
                    );
                }
            }
            _ => {}
        }
    }
    let any_party = recipients
        .iter()
        .any(|recipient| recipient.draft.role == RecipientRole::Party);
    if draft.minor_personal_matter && has_guardian && !minor_party_15_to_17 && !any_party {
        warnings.add("recipients", Warning::PersonalMatterOnlyToGuardian);
    }
}

/// Each id once, in the order first given.
fn distinct(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok()
}

#[async_trait]
impl ComposeBackend for ComposeService {
    async fn check_notice(
        &self,
        actor: &Actor,
        draft: NoticeDraft,
    ) -> Result<CheckedNotice, AppError> {
        self.check(actor, &draft).await
    }

    async fn send_notice(
        &self,
        actor: &Actor,
        draft: NoticeDraft,
    ) -> Result<QueuedNotice, AppError> {
        self.compose(actor, draft).await
    }
}

/// `POST /api/letter_preview` with `{"draft": …}`: the paper letter the draft would get.
pub async fn letter_preview(
    axum::extract::State(service): axum::extract::State<ComposeService>,
    actor: Actor,
    axum::Json(body): axum::Json<PreviewRequest>,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    if !actor.may_compose() {
        let error = AppError::Forbidden;
        return (error.status(), axum::Json(error)).into_response();
    }
    match service.preview(&actor, &body.draft).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => (error.status(), axum::Json(error)).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct PreviewRequest {
    pub draft: NoticeDraft,
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::compose::DecisionDraft;
    use app::domain::channel::ChannelReason;

    fn recipient(role: RecipientRole, code: &str) -> CheckedRecipient {
        let id = RecipientId::parse(code).ok();
        CheckedRecipient {
            draft: RecipientDraft {
                role,
                name: "X".into(),
                identity_code: Some(code.into()),
                address: None,
                mode: DeliveryMode::Multichannel,
                address_protected: false,
                content_not_for_others: false,
            },
            id,
            address: None,
            facts: RecipientFacts::default(),
            decision: ChannelDecision {
                mode: DeliveryMode::Multichannel,
                paper_addressee: PaperAddressee::Recipient,
                reasons: vec![ChannelReason::AsRequested],
            },
            mailbox_check_deferred: false,
        }
    }

    fn draft(personal: bool) -> NoticeDraft {
        NoticeDraft {
            idempotency_key: "k".into(),
            notice_type: NoticeType::Decision,
            case_reference: "1".into(),
            title: "t".into(),
            body: "b".into(),
            markdown: false,
            language: Default::default(),
            verifiable: Some(true),
            appeal_days: None,
            appeal_instructions: None,
            attachments: vec![],
            recipients: vec![],
            decision: DecisionDraft::default(),
            minor_personal_matter: personal,
            in_reply_to: None,
            service: None,
            template: None,
            replies_allowed: false,
        }
    }

    fn warned(draft: &NoticeDraft, recipients: &[CheckedRecipient]) -> Vec<Warning> {
        let mut warnings = Warnings::default();
        // 10.1.2026: born 1.5.2016 → 9; born 1.5.2010 → 15; born 13.10.1952 → adult.
        minor_warnings(draft, recipients, (2026, 1, 10), &mut warnings);
        warnings.0.into_iter().map(|w| w.warning).collect()
    }

    const CHILD_9: &str = "010516B903X";
    const YOUTH_15: &str = "010510A903C";
    const ADULT: &str = "131052-308T";

    #[test]
    fn a_child_party_without_a_guardian_is_warned_about() {
        assert!(RecipientId::parse(YOUTH_15).is_ok(), "fixture");
        let alone = [recipient(RecipientRole::Party, CHILD_9)];
        assert_eq!(
            warned(&draft(false), &alone),
            vec![Warning::MinorWithoutGuardian]
        );
        let with_guardian = [
            recipient(RecipientRole::Party, CHILD_9),
            recipient(RecipientRole::Guardian, ADULT),
        ];
        assert!(warned(&draft(false), &with_guardian).is_empty());
    }

    #[test]
    fn a_youths_personal_matter_goes_to_both() {
        let only_minor = [recipient(RecipientRole::Party, YOUTH_15)];
        assert_eq!(
            warned(&draft(true), &only_minor),
            vec![Warning::PersonalMatterOnlyToMinor]
        );
        assert!(
            warned(&draft(false), &only_minor).is_empty(),
            "not a personal matter"
        );
        let only_guardian = [recipient(RecipientRole::Guardian, ADULT)];
        assert_eq!(
            warned(&draft(true), &only_guardian),
            vec![Warning::PersonalMatterOnlyToGuardian]
        );
        let both = [
            recipient(RecipientRole::Party, YOUTH_15),
            recipient(RecipientRole::Guardian, ADULT),
        ];
        assert!(warned(&draft(true), &both).is_empty());
    }

    #[test]
    fn attachment_ids_count_once() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(distinct(&[a, b, a, a, b]), vec![a, b]);
    }
}
