//! The database: one trait per aggregate, two implementations (SQLite and PostgreSQL).
//!
//! Both backends run the same SQL where the dialects agree (`$N` placeholders, `RETURNING`,
//! `ON CONFLICT`); that shared SQL lives once in `sql.rs`, and each backend file holds only
//! what differs (connecting, migrations, later the job claim). The contract tests in
//! `tests/store_contract.rs` run one suite against both.

mod accounts;
mod api_keys;
mod batches;
pub(crate) mod group_commit;
mod mail;
mod postgres;
mod services;
mod sql;
mod sql_accounts;
mod sql_api_keys;
pub(crate) mod sql_batches;
mod sql_mail;
pub(crate) mod sql_proof;
mod sql_replies;
mod sql_services;
mod sql_templates;
mod sqlite;
mod templates;
mod timestamp;

use std::sync::Arc;

use app::auth::Role;
use app::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use app::domain::lifecycle::{DeliveryStatus, HistoryKind};
use async_trait::async_trait;
use uuid::Uuid;

pub use accounts::{AccountStore, LinkPurpose, OidcAttempt, PasswordLink};
pub use api_keys::{ApiKeyRow, ApiKeyStore, ApiRequestRow, FeedEntry};
pub use batches::{Batch, BatchCheck, BatchRowOutcome, BatchRowRecord, BatchStore};
pub use mail::{
    AcceptedMail, Acknowledgement, AcknowledgementCandidate, InboundMail, MailAcceptance,
    MailSettings, MailSettlement, MailStore, SealedMail, SmtpCredential,
};
pub use services::{ServiceChanges, ServiceCheck, SuomiFiServiceRow, SuomiFiServiceStore};
pub use templates::{TemplateRow, TemplateStore, TemplateVersionRow};
pub use timestamp::Timestamp;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a row with the same {0} exists already")]
    Conflict(&'static str),
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A write went to the database in another caller's group commit, and that caller was
    /// stopped before it answered: whether it committed is not known.
    #[error("the write's group commit was abandoned; it may or may not have committed")]
    Abandoned,
}

impl StoreError {
    /// The database cannot be reached for now (stopped, restarting, the network between):
    /// the request changed nothing and may simply be tried again.
    pub fn is_passing(&self) -> bool {
        matches!(self, StoreError::Database(error) if unreachable(error))
    }
}

fn unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // PostgreSQL's connection exceptions (class 08) and its shutting down or starting up.
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// For `AppError::internal`: whether an error it is given is passing — the database out of
/// reach, the document store full — rather than unexpected.
pub fn is_passing_failure(cause: &dyn std::any::Any) -> bool {
    cause
        .downcast_ref::<StoreError>()
        .is_some_and(StoreError::is_passing)
        || cause.downcast_ref::<sqlx::Error>().is_some_and(unreachable)
        || cause
            .downcast_ref::<crate::blobs::BlobError>()
            .is_some_and(crate::blobs::BlobError::is_passing)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub failed_login_count: i32,
    pub locked_until: Option<Timestamp>,
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for User {
    // The hash is a secret too: keep it out of logs and test output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("organisation_id", &self.organisation_id)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("failed_login_count", &self.failed_login_count)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The user as pages and server functions see them.
    pub fn into_session_user(self, organisation: Organisation) -> app::auth::SessionUser {
        app::auth::SessionUser {
            id: self.id,
            organisation_id: self.organisation_id,
            organisation_name: organisation.name,
            display_name: self.display_name,
            email: self.email,
            role: self.role,
        }
    }
}

#[derive(Clone)]
pub struct NewUser {
    pub organisation_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
}

/// One line of the audit log. `organisation_id` is empty only for events that cannot be tied
/// to an organisation, such as a failed login with an unknown e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub occurred_at: Timestamp,
    pub actor_user_id: Option<Uuid>,
    pub actor_label: Option<String>,
    pub action: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub client_ip: Option<String>,
    pub details: String,
}

/// One page of an organisation's audit log, newest first, with its filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub organisation_id: Uuid,
    pub actor_user_id: Option<Uuid>,
    pub action: Option<String>,
    /// A subject's id (a notice's, a user's, …).
    pub subject_id: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Keyset paging: entries older than this one.
    pub before: Option<(Timestamp, Uuid)>,
    pub limit: i64,
}

#[async_trait]
pub trait OrganisationStore: Send + Sync {
    async fn create_organisation(&self, name: &str) -> StoreResult<Organisation>;
    async fn organisation(&self, id: Uuid) -> StoreResult<Option<Organisation>>;
    async fn count_organisations(&self) -> StoreResult<i64>;
    /// Oldest first.
    async fn organisations(&self) -> StoreResult<Vec<Organisation>>;
    /// The organisation's delivery settings (JSON, `{}` when never set).
    async fn delivery_settings(&self, organisation_id: Uuid) -> StoreResult<String>;
    async fn set_delivery_settings(&self, organisation_id: Uuid, settings: &str)
        -> StoreResult<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// `email` is compared case-insensitively: addresses are stored lower-cased.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The organisation's people (not the SMTP bridge's account).
    async fn users_in_organisation(&self, organisation_id: Uuid) -> StoreResult<Vec<User>>;
    /// Counts one more failure, atomically, and locks the account until `lock_until` when the
    /// count reaches `lock_threshold`. Returns the user as updated.
    async fn record_failed_login(
        &self,
        user_id: Uuid,
        lock_threshold: i32,
        lock_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<User>;
    async fn record_successful_login(&self, user_id: Uuid, at: Timestamp) -> StoreResult<()>;
}

#[async_trait]
pub trait LoginAttemptStore: Send + Sync {
    /// Records an attempt; returns its id.
    async fn record_login_attempt(
        &self,
        client_ip: &str,
        succeeded: bool,
        at: Timestamp,
    ) -> StoreResult<i64>;
    /// An attempt recorded as failed before its password was checked turned out right.
    async fn mark_login_attempt_succeeded(&self, id: i64) -> StoreResult<()>;
    /// Forgets attempts older than `before` (they no longer count for throttling).
    async fn prune_login_attempts(&self, before: Timestamp) -> StoreResult<u64>;
    async fn failed_login_attempts_since(
        &self,
        client_ip: &str,
        since: Timestamp,
    ) -> StoreResult<i64>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    /// The organisation's entries matching the query, newest first.
    async fn search_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    async fn audit_events(
        &self,
        organisation_id: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}

/// What a queued job is for. The string forms are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Send one delivery (one recipient of a notice) to Suomi.fi.
    SendDelivery,
    /// Turn a mail the SMTP bridge accepted into a notice (or a draft).
    IngestMail,
    /// Tell a mail's sender what could not be sent (a delivery status notification).
    MailReport,
    /// Tell a mail's sender that its notice was sent, read or its receipt confirmed.
    MailAcknowledgement,
    /// Forward a citizen's message as mail to the organisation's replies address.
    ForwardReply,
    /// Queue one row of a confirmed batch (sending to many) as its notice.
    ComposeBatchRow,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::SendDelivery => "send_delivery",
            JobKind::IngestMail => "ingest_mail",
            JobKind::MailReport => "mail_report",
            JobKind::MailAcknowledgement => "mail_acknowledgement",
            JobKind::ForwardReply => "forward_reply",
            JobKind::ComposeBatchRow => "compose_batch_row",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub kind: String,
    pub subject_id: Uuid,
    pub state: String,
    /// Attempts started, this one included.
    pub attempts: i32,
    pub run_after: Timestamp,
    pub leased_until: Option<Timestamp>,
    /// The worker holding it; for a finished job, the one that finished it.
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

/// The outbox. A claimed job belongs to its worker until the lease runs out; every change
/// after the claim names the worker, so a worker that lost its lease cannot overwrite the
/// work of the one that took the job over.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues a job; `false` when the same kind of job for the subject exists already.
    async fn enqueue_job(
        &self,
        organisation_id: Uuid,
        kind: JobKind,
        subject_id: Uuid,
        run_after: Timestamp,
    ) -> StoreResult<bool>;
    /// Claims up to `limit` due jobs (pending and due, or running with a lease run out).
    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;
    /// Renews the lease of a job `worker` holds; `false` when it no longer holds it.
    async fn extend_lease(&self, id: Uuid, worker: &str, until: Timestamp) -> StoreResult<bool>;
    /// Completes every job of `ids` that `worker` still holds, in one statement; how many
    /// (a job `worker` no longer holds is not completed: another worker may have it).
    async fn complete_jobs(&self, ids: &[Uuid], worker: &str, at: Timestamp) -> StoreResult<u64>;
    async fn retry_job(
        &self,
        id: Uuid,
        worker: &str,
        run_after: Timestamp,
        error: &str,
    ) -> StoreResult<bool>;
    async fn fail_job(
        &self,
        id: Uuid,
        worker: &str,
        error: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    async fn job(&self, id: Uuid) -> StoreResult<Option<Job>>;
    async fn job_counts(&self) -> StoreResult<JobCounts>;
    /// When the longest-waiting due job became due, if any job is pending.
    async fn oldest_pending_job(&self) -> StoreResult<Option<Timestamp>>;
    /// Takes or renews the lease `name` for `holder` until `until`: `true` when `holder` holds
    /// it now (it was free, had lapsed by `now`, or was `holder`'s already).
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;
    /// Gives up every lease `holder` has (a graceful stop: another instance takes over now).
    async fn release_leases(&self, holder: &str) -> StoreResult<()>;
}

/// A notice as composed, with one delivery per recipient. Personal data arrives sealed.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub author_id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    pub body: String,
    pub body_format: String,
    pub language: String,
    pub verifiable: bool,
    pub appeal_days: Option<i32>,
    pub service_id: String,
    /// One per compose form: a repeated submit finds the first notice.
    pub idempotency_key: String,
    pub appeal_instructions: Option<String>,
    /// The paper letter rendered at compose time (blob store), when it was rendered.
    pub paper_letter_sha256: Option<String>,
    /// What the letter will say (JSON of `notices::letters::LetterInput`), when it is rendered
    /// later, the first time it is needed.
    pub letter_input: Option<String>,
    pub decision: DecisionContent,
    /// The electronic message's body exactly as it will be sent: the decision header, the
    /// body and the appeal instructions.
    pub electronic_body: String,
    /// The citizen's Suomi.fi message this notice answers.
    pub in_reply_to_message_id: Option<i64>,
    pub template: Option<app::templates::TemplateUse>,
    pub replies_allowed: bool,
    pub attachments: Vec<NoticeAttachment>,
    pub deliveries: Vec<NewDelivery>,
    /// `notice.queued`, on record in the notice's own transaction: both or neither.
    pub audit: Option<AuditEvent>,
    /// The API request that queued it (its body's SHA-256), for its `Idempotency-Key`.
    pub request_sha256: Option<String>,
}

/// What a decision shows besides its body (HL 44 §); empty for other notices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionContent {
    /// `YYYY-MM-DD`.
    pub decision_date: Option<String>,
    pub decision_maker: Option<String>,
    pub parties: Vec<String>,
    pub contact_person: Option<String>,
    pub contact_details: Option<String>,
    /// Made by automated processing (HL 53 e §).
    pub automated_decision: bool,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Also the Suomi.fi externalId.
    pub id: Uuid,
    pub role: String,
    pub recipient_name: String,
    pub identity_kind: String,
    pub identity_sealed: Option<Vec<u8>>,
    pub identity_lookup: Option<Vec<u8>>,
    pub identity_masked: Option<String>,
    pub address_sealed: Option<Vec<u8>>,
    /// JSON of the recipient facts at send time.
    pub facts: String,
    pub requested_mode: DeliveryMode,
    pub decided_mode: DeliveryMode,
    pub channel_reasons: Vec<ChannelReason>,
    pub paper_addressee: PaperAddressee,
    /// Turvakielto.
    pub address_protected: bool,
    pub content_not_for_others: bool,
    /// Under 18 on the sending day.
    pub recipient_minor: bool,
    /// Suomi.fi could not be asked whether the mailbox is active: the send job asks first.
    pub mailbox_check_deferred: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notice {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub author_id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    pub body: String,
    pub body_format: String,
    pub language: String,
    pub verifiable: bool,
    pub appeal_days: Option<i32>,
    pub service_id: String,
    pub created_at: Timestamp,
    pub appeal_instructions: Option<String>,
    pub paper_letter_sha256: Option<String>,
    pub decision_date: Option<String>,
    pub decision_maker: Option<String>,
    /// JSON list of names.
    pub parties: Option<String>,
    pub contact_person: Option<String>,
    pub contact_details: Option<String>,
    pub automated_decision: bool,
    /// `None` for notices queued before the body was composed at queuing time.
    pub electronic_body: Option<String>,
    pub in_reply_to_message_id: Option<i64>,
    /// The template (and its version) the notice was made from.
    pub template_id: Option<Uuid>,
    pub template_version: Option<i32>,
    pub replies_allowed: bool,
    /// What the letter will say, while it has not been rendered yet.
    pub letter_input: Option<String>,
    /// The API request that queued it (its body's SHA-256).
    pub request_sha256: Option<String>,
}

impl Notice {
    pub fn parties(&self) -> Vec<String> {
        self.parties
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }

    /// Rendered, or to be rendered when first needed; without one (a PDF attachment that
    /// cannot be printed, on an electronic notice) nothing can go on paper.
    pub fn has_letter(&self) -> bool {
        self.paper_letter_sha256.is_some() || self.letter_input.is_some()
    }
}

/// A notice as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoticeSummaryRow {
    pub id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    pub created_at: Timestamp,
    pub recipients: i64,
    /// Failed; undeliverable with no substitute service or public notice recorded;
    /// unacknowledged in time and not yet re-served; or a turvakielto letter at the forwarding
    /// address whose onward service is not recorded yet.
    pub needs_attention: i64,
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub notice_id: Uuid,
    pub position: i32,
    pub role: String,
    pub recipient_name: String,
    pub identity_kind: String,
    pub identity_sealed: Option<Vec<u8>>,
    pub identity_lookup: Option<Vec<u8>>,
    pub identity_masked: Option<String>,
    pub address_sealed: Option<Vec<u8>>,
    pub facts: String,
    #[sqlx(try_from = "String")]
    pub requested_mode: DeliveryMode,
    #[sqlx(try_from = "String")]
    pub decided_mode: DeliveryMode,
    /// JSON list of channel reasons; `reasons()` reads it.
    pub channel_reasons: String,
    #[sqlx(try_from = "String")]
    pub paper_addressee: PaperAddressee,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub suomifi_message_id: Option<i64>,
    pub needs_attention_reason: Option<String>,
    /// When Suomi.fi accepted it.
    pub submitted_at: Option<Timestamp>,
    /// `electronic` or `paper`, once known (from the mode, or for multichannel from events).
    pub channel_taken: Option<String>,
    /// Current legal dates (`YYYY-MM-DD`); their history is in the delivery history.
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    pub legal_rule: Option<String>,
    /// A verifiable electronic delivery not acknowledged in time was flagged then.
    pub unacknowledged_at: Option<Timestamp>,
    /// This delivery re-serves that one on paper.
    pub reserve_of: Option<Uuid>,
    pub address_protected: bool,
    pub content_not_for_others: bool,
    pub recipient_minor: bool,
    pub mailbox_check_deferred: bool,
    /// JSON of the `LegalRule` behind `legal_rule`; `None` before it was assessed so.
    pub legal_basis: Option<String>,
}

impl Delivery {
    /// The rule of the legal dates, as data, when assessed so.
    pub fn legal_basis(&self) -> Option<app::domain::legal_rule::LegalRule> {
        self.legal_basis
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }

    pub fn reasons(&self) -> Vec<ChannelReason> {
        serde_json::from_str(&self.channel_reasons).unwrap_or_default()
    }

    /// Paper goes to the organisation's forwarding address (turvakielto).
    pub fn forwarded(&self) -> bool {
        self.paper_addressee == PaperAddressee::OrganisationForwarding
    }
}

impl std::fmt::Debug for Delivery {
    // The name and the masked code are personal data too: keep test and log output clean.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("notice_id", &self.notice_id)
            .field("decided_mode", &self.decided_mode)
            .field("status", &self.status)
            .field("suomifi_message_id", &self.suomifi_message_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeCreation {
    Created(Uuid),
    /// The idempotency key was used before: this is the notice it created.
    AlreadyCreated(Uuid),
}

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Writes the notice, its deliveries (status `queued`) and one send job per delivery in
    /// one transaction: all of it or nothing.
    async fn create_notice(&self, notice: &NewNotice) -> StoreResult<NoticeCreation>;
    /// The notice a compose form (its idempotency key) queued, if it did.
    async fn notice_by_idempotency_key(
        &self,
        organisation_id: Uuid,
        author_id: Uuid,
        key: &str,
    ) -> StoreResult<Option<Uuid>>;
    /// Only within `organisation_id`.
    async fn notice(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<Option<Notice>>;
    /// Keeps the hash of a notice's letter rendered after queuing, unless one was kept
    /// before (a compare-and-set: the first one rendered stays); the hash kept, if any.
    async fn keep_notice_letter(&self, id: Uuid, sha256: &str) -> StoreResult<Option<String>>;
    /// The newest notices of `organisation_id` with their delivery counts, in one query (the
    /// caseworker's front page).
    async fn notice_summaries(
        &self,
        organisation_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<NoticeSummaryRow>>;
    /// One page of the organisation's notices that match `query`, in its order.
    async fn search_notices(&self, query: &NoticeQuery) -> StoreResult<Vec<Notice>>;
    /// The database's plan for `search_notices` (the EXPLAIN test, and operators).
    async fn explain_notice_search(&self, query: &NoticeQuery) -> StoreResult<String>;
    /// The deliveries of these notices, in notice and recipient order.
    async fn deliveries_of(
        &self,
        organisation_id: Uuid,
        notice_ids: &[Uuid],
    ) -> StoreResult<Vec<Delivery>>;
    /// Whether a recipient of the notice has turvakielto.
    async fn has_protected_recipient(&self, notice_id: Uuid) -> StoreResult<bool>;
    /// Notices by id, within `organisation_id`, in no particular order.
    async fn notices_by_ids(&self, organisation_id: Uuid, ids: &[Uuid])
        -> StoreResult<Vec<Notice>>;
    /// Which of these notices' deliveries need a person.
    async fn deliveries_needing_attention_among(
        &self,
        organisation_id: Uuid,
        notice_ids: &[Uuid],
    ) -> StoreResult<Vec<Uuid>>;
    /// Deliveries a person must act on (the "Needs attention" view), oldest first.
    async fn deliveries_needing_attention(
        &self,
        organisation_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// In recipient order, only within `organisation_id`.
    async fn deliveries(
        &self,
        organisation_id: Uuid,
        notice_id: Uuid,
    ) -> StoreResult<Vec<Delivery>>;
    async fn delivery(&self, id: Uuid) -> StoreResult<Option<Delivery>>;
    /// What the send job reads: the delivery with its notice and its organisation's settings
    /// in one statement, and the notice's attachments in a second only when it has some.
    async fn delivery_to_send(&self, id: Uuid) -> StoreResult<Option<DeliveryToSend>>;
    /// Deliveries by id, across organisations, in no particular order (the events poller).
    async fn deliveries_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Delivery>>;
    /// For events that name the message but not our externalId.
    async fn delivery_by_message_id(&self, message_id: i64) -> StoreResult<Option<Delivery>>;
    /// Suomi.fi has the message (new, or found by its externalId after a 409): the status,
    /// the hashes of the documents sent, a history entry and the first legal dates, together,
    /// once. `true` when `first_legal` was stored; otherwise the caller assesses again.
    async fn record_delivery_sent(
        &self,
        id: Uuid,
        message_id: i64,
        at: Timestamp,
        documents: &[SentDocument],
        first_legal: Option<&LegalDatesUpdate>,
    ) -> StoreResult<bool>;
    /// Sending failed for good: a person must look at it.
    async fn record_delivery_needs_attention(
        &self,
        id: Uuid,
        reason: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Deliveries by status, across organisations (metrics, tests).
    async fn delivery_status_counts(&self) -> StoreResult<Vec<(String, i64)>>;
    /// The paper re-serve of `original_id`, if one was queued.
    async fn reserve_of(&self, original_id: Uuid) -> StoreResult<Option<Delivery>>;
    /// Cancels a delivery Suomi.fi has not got (still queued, no message id), with a history
    /// entry; `false` when it is no longer ours to cancel.
    async fn cancel_delivery(&self, id: Uuid, reason: &str, at: Timestamp) -> StoreResult<bool>;
    /// The mailbox check deferred from composing was made: its answer in the history.
    async fn record_mailbox_checked(
        &self,
        id: Uuid,
        active: bool,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// A delivery that needs attention goes out in another mode: decided mode and reasons
    /// changed, back to `queued`, its send job pending again, a history entry. `false` when
    /// it does not need attention. The externalId stays: Suomi.fi never took the first try.
    async fn change_delivery_mode(
        &self,
        id: Uuid,
        change: &ModeChange,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Facts that depend on the sending day, as they were when sending; in the history.
    async fn record_facts_at_sending(
        &self,
        id: Uuid,
        recipient_minor: bool,
        at: Timestamp,
    ) -> StoreResult<()>;
}

/// What the notice list asks for: filters, and a page after (or before) a place in the order.
#[derive(Debug, Clone, Default)]
pub struct NoticeQuery {
    pub organisation_id: Uuid,
    /// Matched, case-insensitively, in the case reference, the title and recipients' names.
    pub text: Option<String>,
    /// Lookup hashes of an identity code (one per configured data key).
    pub lookups: Vec<Vec<u8>>,
    pub notice_type: Option<String>,
    /// A notice with a delivery in this status.
    pub status: Option<DeliveryStatus>,
    /// A notice with a delivery that needs a person.
    pub needs_attention: bool,
    pub created_from: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub oldest_first: bool,
    /// Keyset: the page after this `(created_at, id)` in the order...
    pub after: Option<(Timestamp, Uuid)>,
    /// ...or the page before it (returned in the order too).
    pub before: Option<(Timestamp, Uuid)>,
    pub limit: i64,
}

/// A caseworker's change of a delivery's mode.
#[derive(Debug, Clone)]
pub struct ModeChange {
    pub mode: DeliveryMode,
    pub reasons: Vec<ChannelReason>,
    pub by: Option<Uuid>,
}

/// Service staff made and recorded: the onward forwarding of a turvakielto letter,
/// substitute service or a public notice.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServiceRecord {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub delivery_id: Uuid,
    /// `forwarding`, `substitute_service` or `public_notice`.
    pub kind: String,
    /// How a forwarding went (`ForwardingMethod`).
    pub method: Option<String>,
    /// `YYYY-MM-DD`: forwarded, the certificate's date, or the publication date.
    pub served_on: String,
    /// `YYYY-MM-DD`: when a verifiable forwarding was received.
    pub receipt_on: Option<String>,
    /// Certificate number, Virallinen lehti issue, or a note.
    pub reference: Option<String>,
    pub recorded_by: Option<Uuid>,
    pub recorded_at: Timestamp,
}

#[async_trait]
pub trait ServiceRecordStore: Send + Sync {
    /// The record and its history entry, together.
    async fn record_service(&self, record: &ServiceRecord) -> StoreResult<()>;
    /// Oldest first.
    async fn service_records(&self, delivery_id: Uuid) -> StoreResult<Vec<ServiceRecord>>;
}

/// One fetched Suomi.fi event, tied to our delivery when its externalId is one of ours.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub message_id: i64,
    pub service_id: String,
    pub event_type: String,
    pub event_time: String,
    /// The event as Suomi.fi sent it (JSON).
    pub payload: String,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    async fn continuation_token(&self, service_id: &str) -> StoreResult<Option<String>>;
    async fn save_continuation_token(&self, service_id: &str, token: &str) -> StoreResult<()>;
    /// Stores each event unless it is stored already, all in one transaction; `true` for
    /// each that is new. A new event tied to a delivery is added to its history and moves
    /// its status to its `moves_to` if that is forward from wherever the status is by then.
    async fn record_events(
        &self,
        events: &[(StoredEvent, Option<DeliveryStatus>)],
    ) -> StoreResult<Vec<bool>>;
    /// Oldest first.
    async fn delivery_events(&self, delivery_id: Uuid) -> StoreResult<Vec<StoredEvent>>;
}

/// A delivery with all its send job reads (`NoticeStore::delivery_to_send`).
#[derive(Debug, Clone)]
pub struct DeliveryToSend {
    pub delivery: Delivery,
    pub notice: Notice,
    pub attachments: Vec<NoticeAttachment>,
    /// The organisation's, as `delivery_settings` gives them.
    pub settings: app::domain::notice::DeliverySettings,
    /// The Suomi.fi service the notice names, as `service_by_service_id` gives it: read in
    /// the same statement, so a send sees credentials changed a moment ago, also by another
    /// instance. `None` when no service has that id (any longer).
    pub service: Option<SuomiFiServiceRow>,
}

/// An attachment of a notice, kept in the blob store under `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NoticeAttachment {
    pub position: i32,
    pub filename: String,
    pub media_type: String,
    pub sha256: String,
    pub size_bytes: i64,
}

/// A document as sent to Suomi.fi for one delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SentDocument {
    /// `attachment` or `paper_letter`.
    pub kind: String,
    pub filename: String,
    pub media_type: String,
    pub sha256: String,
    pub size_bytes: i64,
}

/// One delivery's send, as `record_delivery_sent` records it (a group commits together).
#[derive(Debug, Clone)]
pub(crate) struct SentRecord {
    pub id: Uuid,
    pub message_id: i64,
    pub at: Timestamp,
    pub documents: Vec<SentDocument>,
    pub first_legal: Option<LegalDatesUpdate>,
}

/// The send records waiting to commit together, and the answer each gets.
pub(crate) type SentRecords = group_commit::GroupCommit<SentRecord, StoreResult<bool>>;

/// A file uploaded for a notice being composed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Upload {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub uploaded_by: Uuid,
    pub sha256: String,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub created_at: Timestamp,
}

/// One step in a delivery's life; `details` is JSON.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub delivery_id: Uuid,
    pub occurred_at: Timestamp,
    pub kind: String,
    pub details: String,
}

impl HistoryEntry {
    pub fn new(delivery: &Delivery, kind: HistoryKind, details: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            organisation_id: delivery.organisation_id,
            delivery_id: delivery.id,
            occurred_at: Timestamp::now(),
            kind: kind.as_str().to_string(),
            details: details.to_string(),
        }
    }
}

/// New current legal facts of a delivery, with the history entry that explains them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalDatesUpdate {
    /// The values the update was computed against: `(channel, deemed_receipt, appeal_deadline)`.
    pub previous: (Option<String>, Option<String>, Option<String>),
    /// The rule the update was computed against: an explanation is current state too.
    pub previous_rule: Option<String>,
    pub channel_taken: Option<String>,
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    pub legal_rule: Option<String>,
    /// JSON of the `LegalRule`.
    pub legal_basis: Option<String>,
    pub history: HistoryEntry,
}

#[async_trait]
pub trait DocumentStore: Send + Sync {
    async fn create_upload(&self, upload: &Upload) -> StoreResult<()>;
    /// Only within `organisation_id`.
    async fn upload(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<Option<Upload>>;
    async fn notice_attachments(&self, notice_id: Uuid) -> StoreResult<Vec<NoticeAttachment>>;
    async fn delivery_documents(&self, delivery_id: Uuid) -> StoreResult<Vec<SentDocument>>;
}

#[async_trait]
pub trait HistoryStore: Send + Sync {
    async fn append_history(&self, entry: &HistoryEntry) -> StoreResult<()>;
    /// Oldest first.
    async fn delivery_history(&self, delivery_id: Uuid) -> StoreResult<Vec<HistoryEntry>>;
    /// Sets the current channel and legal dates and appends the history entry, together —
    /// only if the current values are still `update.previous` (else `false`: someone else
    /// assessed in between; assess again).
    async fn record_legal_dates(
        &self,
        delivery_id: Uuid,
        update: &LegalDatesUpdate,
    ) -> StoreResult<bool>;
    /// Verifiable deliveries that went electronic, were submitted before `submitted_before`,
    /// are not acknowledged and not flagged yet; oldest first, after the `(submitted_at, id)`
    /// of the last one a previous page ended with.
    async fn unacknowledged_verifiable(
        &self,
        submitted_before: Timestamp,
        after: Option<(Timestamp, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;
    /// Flags the delivery (with a history entry) and, given `reserve_id`, queues its paper
    /// re-serve in the same transaction. `false` when it was flagged already or has been
    /// acknowledged meanwhile.
    async fn flag_unacknowledged(
        &self,
        delivery_id: Uuid,
        at: Timestamp,
        reserve_id: Option<Uuid>,
    ) -> StoreResult<bool>;
    /// Queues a verifiable paper re-serve of a flagged, still unacknowledged `original_id`
    /// (a new delivery and its send job, history on both). `None` when it has been re-served
    /// already or is not (or no longer) unacknowledged.
    async fn create_reserve(
        &self,
        original_id: Uuid,
        reserve_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<Option<Uuid>>;
    /// Sends a delivery that needs attention again: back to `queued`, its failed send job
    /// pending with fresh attempts, a history entry. `false` when it does not need attention.
    /// Safe: the externalId is the same, so Suomi.fi never makes a second message.
    async fn retry_delivery(&self, delivery_id: Uuid, at: Timestamp) -> StoreResult<bool>;
}

#[async_trait]
pub trait Store:
    OrganisationStore
    + UserStore
    + LoginAttemptStore
    + AuditStore
    + JobQueue
    + NoticeStore
    + EventStore
    + DocumentStore
    + HistoryStore
    + ServiceRecordStore
    + SealedDataStore
    + DraftStore
    + ReplyStore
    + MailStore
    + AccountStore
    + SuomiFiServiceStore
    + TemplateStore
    + ApiKeyStore
    + BatchStore
{
    /// A round trip to the database, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// The pool-specific session store for tower-sessions.
    fn session_store(&self) -> crate::auth::session::SessionBackend;
    async fn close(&self);
}

/// A notice being composed; its content (identity codes, addresses) arrives sealed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DraftRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub author_id: Uuid,
    /// For the list of drafts.
    pub title: String,
    pub content_sealed: Vec<u8>,
    /// JSON of the problems found when it was last checked.
    pub problems: String,
    /// The notice it was sent as.
    pub notice_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[async_trait]
pub trait DraftStore: Send + Sync {
    /// Writes the draft, new or over its earlier self; `false` when it is another author's or
    /// has been sent.
    async fn save_draft(&self, draft: &DraftRow) -> StoreResult<bool>;
    /// Only the author's own, within their organisation.
    async fn draft(
        &self,
        organisation_id: Uuid,
        author_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<DraftRow>>;
    /// The author's unsent drafts, newest first.
    async fn drafts(
        &self,
        organisation_id: Uuid,
        author_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<DraftRow>>;
    async fn mark_draft_sent(&self, id: Uuid, notice_id: Uuid, at: Timestamp) -> StoreResult<()>;
    /// Hands an unsent draft from one author to another (a draft that arrived by mail, taken
    /// over by a caseworker); `false` when it is not `from`'s any more.
    async fn reassign_draft(
        &self,
        organisation_id: Uuid,
        id: Uuid,
        from: Uuid,
        to: Uuid,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// `false` when there was no such unsent draft of the author's.
    async fn delete_draft(
        &self,
        organisation_id: Uuid,
        author_id: Uuid,
        id: Uuid,
    ) -> StoreResult<bool>;
    /// Drafts by id after `after`, for re-sealing under a new data key.
    async fn sealed_drafts(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    /// Writes a re-sealed content only over the value read.
    async fn reseal_draft(&self, id: Uuid, previous: &[u8], resealed: &[u8]) -> StoreResult<bool>;
}

/// A message a citizen sent us through Suomi.fi, as kept.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CitizenReply {
    pub id: Uuid,
    /// `None` when no organisation could be told (no thread, a service several use).
    pub organisation_id: Option<Uuid>,
    /// Suomi.fi's id of the citizen's message.
    pub message_id: i64,
    pub service_id: String,
    /// The notice (and delivery) it answers, from its thread's root message.
    pub notice_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub in_reply_to: Option<i64>,
    pub sender_name: Option<String>,
    pub sender_sealed: Option<Vec<u8>>,
    pub sender_lookup: Option<Vec<u8>>,
    /// `150680-****`.
    pub sender_masked: Option<String>,
    /// A person who wrote on the mailbox owner's behalf.
    pub on_behalf_name: Option<String>,
    pub title: String,
    pub body: String,
    /// JSON list of `ReplyAttachment`.
    pub attachments: String,
    /// Suomi.fi no longer had the message when asked (kept 60 days).
    pub unavailable: bool,
    pub sent_at: Timestamp,
    pub fetched_at: Timestamp,
}

impl CitizenReply {
    pub fn attachments(&self) -> Vec<ReplyAttachment> {
        serde_json::from_str(&self.attachments).unwrap_or_default()
    }
}

/// Who reads: what a turvakielto notice's content shows to depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub user_id: Uuid,
    pub admin: bool,
}

/// A file a citizen attached, kept in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplyAttachment {
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

#[async_trait]
pub trait ReplyStore: Send + Sync {
    /// Keeps a fetched reply; `false` when it was kept before (fetched twice).
    async fn record_reply(&self, reply: &CitizenReply) -> StoreResult<bool>;
    /// Suomi.fi messages a citizen sent (their events are stored) not yet fetched, oldest
    /// first: `(message id, service id)`.
    async fn replies_to_fetch(&self, limit: i64) -> StoreResult<Vec<(i64, String)>>;
    /// The one organisation that sends through this Suomi.fi service, if only one does.
    async fn organisation_for_service(&self, service_id: &str) -> StoreResult<Option<Uuid>>;
    /// Newest first; only those the reader may see (a reply to a notice whose content is
    /// withheld from them is left out).
    async fn replies(
        &self,
        organisation_id: Uuid,
        reader: Reader,
        limit: i64,
    ) -> StoreResult<Vec<CitizenReply>>;
    /// Oldest first.
    async fn replies_to_notice(
        &self,
        organisation_id: Uuid,
        notice_id: Uuid,
    ) -> StoreResult<Vec<CitizenReply>>;
    async fn reply(&self, organisation_id: Uuid, id: Uuid) -> StoreResult<Option<CitizenReply>>;
    /// Which of these replies the user has opened.
    async fn opened_replies(&self, user_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;
    /// The first opening is kept; later ones change nothing.
    async fn record_reply_opened(
        &self,
        reply_id: Uuid,
        user_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Of the replies the reader may see, those they have not opened.
    async fn unread_reply_count(&self, organisation_id: Uuid, reader: Reader) -> StoreResult<i64>;
    /// Replies with a sealed sender, by id after `after`, for re-sealing under a new key.
    async fn sealed_replies(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    /// Writes the re-sealed sender and its lookup only over the value read.
    async fn reseal_reply(
        &self,
        id: Uuid,
        previous: &[u8],
        resealed: &[u8],
        lookup: &[u8],
    ) -> StoreResult<bool>;
}

/// One sealed value in the database, for re-sealing under a new data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedDelivery {
    pub id: Uuid,
    pub identity_sealed: Option<Vec<u8>>,
    pub identity_lookup: Option<Vec<u8>>,
    pub address_sealed: Option<Vec<u8>>,
}

#[async_trait]
pub trait SealedDataStore: Send + Sync {
    /// Deliveries with sealed data, by id after `after`, `limit` at a time.
    async fn sealed_deliveries(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SealedDelivery>>;
    /// Writes re-sealed values, only over the values read (`false`: changed meanwhile).
    async fn reseal_delivery(
        &self,
        previous: &SealedDelivery,
        resealed: &SealedDelivery,
    ) -> StoreResult<bool>;
}

/// Connects to the database named by `url` (`sqlite://…` or `postgres://…`) and brings its
/// schema up to date.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(postgres::PostgresStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl);
    };
    Ok(store)
}

/// The organisation's delivery settings, typed; settings never set (or unreadable) are the
/// defaults.
pub async fn delivery_settings(
    store: &dyn Store,
    organisation_id: Uuid,
) -> StoreResult<app::domain::notice::DeliverySettings> {
    Ok(parse_delivery_settings(
        &store.delivery_settings(organisation_id).await?,
    ))
}

fn parse_delivery_settings(json: &str) -> app::domain::notice::DeliverySettings {
    serde_json::from_str(json).unwrap_or_default()
}

/// `DeliveryToSend` from the row of `sql::DELIVERY_TO_SEND_SQL` (and the attachments read
/// after it when it says there are some).
pub(crate) fn delivery_to_send_from_row<'r, R: sqlx::Row>(
    row: &'r R,
) -> Result<(DeliveryToSend, bool), sqlx::Error>
where
    Delivery: sqlx::FromRow<'r, R>,
    Notice: sqlx::FromRow<'r, R>,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Timestamp: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let delivery = <Delivery as sqlx::FromRow<R>>::from_row(row)?;
    let mut notice = <Notice as sqlx::FromRow<R>>::from_row(row)?;
    // The row's `id` is the delivery's (see `DELIVERY_TO_SEND_SQL`).
    notice.id = delivery.notice_id;
    let settings: String = row.try_get("delivery_settings")?;
    let has_attachments = row.try_get::<i32, _>("has_attachments")? != 0;
    Ok((
        DeliveryToSend {
            delivery,
            notice,
            attachments: Vec::new(),
            settings: parse_delivery_settings(&settings),
            service: joined_service(row)?,
        },
        has_attachments,
    ))
}

/// The service of `DELIVERY_TO_SEND_SQL`'s row, its columns named by `sql::joined_service_column`;
/// `None` when the join found none (its never-null `id` is null).
fn joined_service<'r, R: sqlx::Row>(row: &'r R) -> Result<Option<SuomiFiServiceRow>, sqlx::Error>
where
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Timestamp: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    macro_rules! column {
        ($name:literal) => {
            row.try_get(sql::joined_service_column!($name))?
        };
    }
    let id: Option<Uuid> = column!("id");
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(Some(SuomiFiServiceRow {
        id,
        organisation_id: column!("organisation_id"),
        name: column!("name"),
        service_id: column!("service_id"),
        username: column!("username"),
        password_sealed: column!("password_sealed"),
        pending_password_sealed: column!("pending_password_sealed"),
        password_changed_at: column!("password_changed_at"),
        posti_username: column!("posti_username"),
        posti_password_sealed: column!("posti_password_sealed"),
        posti_email: column!("posti_email"),
        cost_pool: column!("cost_pool"),
        is_default: column!("is_default"),
        last_check_at: column!("last_check_at"),
        last_check_ok: column!("last_check_ok"),
        last_check_message: column!("last_check_message"),
        created_at: column!("created_at"),
        updated_at: column!("updated_at"),
    }))
}

/// Maps a unique-constraint violation to `Conflict(what)`.
fn on_unique_violation(error: sqlx::Error, what: &'static str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}
