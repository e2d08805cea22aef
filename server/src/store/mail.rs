//! What the SMTP bridge keeps: the sender domains and relay networks of each organisation,
//! how its mail becomes notices, and every mail accepted (store and forward).

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, Timestamp};

/// How an organisation's mail becomes notices.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MailSettings {
    pub organisation_id: Uuid,
    /// The account that authors notices which arrive by mail (it cannot sign in).
    pub bridge_user_id: Uuid,
    /// `NoticeType`'s stored form.
    pub notice_type: String,
    pub verifiable: bool,
    /// The mail becomes a draft a caseworker finishes, instead of a notice sent at once.
    pub draft_mode: bool,
    pub language: String,
    /// Mails back to the sender when a notice is sent, read, its receipt confirmed.
    pub acknowledgements: bool,
    /// Where citizens' replies to mailed notices are forwarded as mail.
    pub replies_to: Option<String>,
}

/// A delivery of a mailed notice that reached a status worth acknowledging.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AcknowledgementCandidate {
    pub smtp_message_id: Uuid,
    pub organisation_id: Uuid,
    pub delivery_id: Uuid,
    pub status: String,
}

/// One acknowledgement mail to send: a delivery's milestone (`sent`, `read`,
/// `receipt_confirmed`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Acknowledgement {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub smtp_message_id: Uuid,
    pub delivery_id: Uuid,
    pub milestone: String,
    pub created_at: Timestamp,
}

/// A mail as accepted, before its `250`: the raw bytes are sealed in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedMail {
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// Message-ID, or `sha256:<hash of the bytes>` without one.
    pub message_key: String,
    /// Hash of the sealed bytes in the blob store.
    pub raw_sha256: String,
    pub size_bytes: i64,
    pub envelope_from: String,
    /// JSON list of the recipients' addresses, sealed.
    pub recipients_sealed: Vec<u8>,
    /// Lookup hashes of the recipients, in the same order.
    pub recipient_lookups: Vec<Vec<u8>>,
    pub client_ip: String,
    pub helo: String,
    pub tls: bool,
    pub received_at: Timestamp,
}

/// What accepting a mail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailAcceptance {
    /// Kept, and its processing queued.
    Accepted,
    /// Every recipient had this mail already: nothing new kept.
    AlreadyAccepted,
}

/// A kept mail and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboundMail {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub message_key: String,
    pub raw_sha256: String,
    pub size_bytes: i64,
    pub envelope_from: String,
    pub recipients_sealed: Vec<u8>,
    pub recipient_count: i32,
    pub client_ip: String,
    pub helo: String,
    pub tls: bool,
    pub received_at: Timestamp,
    /// `received`, `queued`, `drafted` or `refused`.
    pub state: String,
    pub notice_id: Option<Uuid>,
    pub draft_id: Option<Uuid>,
    /// JSON: what was refused and why (recipients by position, problems by field).
    pub outcome: String,
    pub settled_at: Option<Timestamp>,
}

/// What became of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailSettlement {
    Queued { notice_id: Uuid },
    Drafted { draft_id: Uuid },
    Refused,
}

/// A name and secret for SMTP AUTH; the secret is kept as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SmtpCredential {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub secret_sha256: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A kept mail's sealed parts, for re-sealing under a new data key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SealedMail {
    pub id: Uuid,
    pub raw_sha256: String,
    pub recipients_sealed: Vec<u8>,
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Kept mails by id after `after`, `limit` at a time.
    async fn sealed_mails(&self, after: Option<Uuid>, limit: i64) -> StoreResult<Vec<SealedMail>>;
    /// Writes the re-sealed parts only over the values read (`false`: changed meanwhile).
    async fn reseal_mail(&self, previous: &SealedMail, resealed: &SealedMail) -> StoreResult<bool>;
    /// Citizens' messages of the last 7 days to organisations that forward them, not yet
    /// forwarded: `(reply id, organisation id)`, oldest first.
    async fn replies_to_forward(&self, limit: i64) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// The forwarding and its sending job, once per reply; `false` when recorded before.
    async fn record_reply_forwarding(
        &self,
        reply_id: Uuid,
        organisation_id: Uuid,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// The mail a notice was made from.
    async fn mail_of_notice(&self, notice_id: Uuid) -> StoreResult<Option<InboundMail>>;
    /// A citizen's message to the organisation, by its Suomi.fi id.
    async fn citizen_reply_by_message_id(
        &self,
        organisation_id: Uuid,
        message_id: i64,
    ) -> StoreResult<Option<super::CitizenReply>>;
    /// Deliveries of mailed notices (organisations with acknowledgements on, mails of the
    /// last 60 days) whose status's milestone has no acknowledgement yet.
    async fn acknowledgement_candidates(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<AcknowledgementCandidate>>;
    /// Deliveries of mailed notices (mails of the last 60 days, whatever the settings) that
    /// came to need attention and whose sender has not been told.
    async fn failed_mail_deliveries(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<AcknowledgementCandidate>>;
    /// The acknowledgement and its sending job, once per delivery and milestone; `false`
    /// when it was recorded before.
    async fn record_acknowledgement(&self, acknowledgement: &Acknowledgement) -> StoreResult<bool>;
    async fn acknowledgement(&self, id: Uuid) -> StoreResult<Option<Acknowledgement>>;
    /// A taken name is a conflict.
    async fn create_smtp_credential(&self, credential: &SmtpCredential) -> StoreResult<()>;
    /// Also revoked ones (whose use is refused).
    async fn smtp_credential(&self, name: &str) -> StoreResult<Option<SmtpCredential>>;
    async fn smtp_credentials(&self, organisation_id: Uuid) -> StoreResult<Vec<SmtpCredential>>;
    /// `false` when there is no such live credential.
    async fn revoke_smtp_credential(
        &self,
        organisation_id: Uuid,
        name: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    async fn smtp_credential_used(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;
    /// `false` when the organisation had the domain already; another organisation's domain
    /// is a conflict.
    async fn add_sender_domain(&self, organisation_id: Uuid, domain: &str) -> StoreResult<bool>;
    async fn remove_sender_domain(&self, organisation_id: Uuid, domain: &str) -> StoreResult<bool>;
    async fn sender_domains(&self, organisation_id: Uuid) -> StoreResult<Vec<String>>;
    /// The organisation that registered the domain (lower-case).
    async fn organisation_of_sender_domain(&self, domain: &str) -> StoreResult<Option<Uuid>>;
    async fn add_relay_network(&self, organisation_id: Uuid, network: &str) -> StoreResult<bool>;
    async fn remove_relay_network(&self, organisation_id: Uuid, network: &str)
        -> StoreResult<bool>;
    async fn relay_networks(&self, organisation_id: Uuid) -> StoreResult<Vec<String>>;
    /// The organisation's bridge account, if mail has made one.
    async fn bridge_account(&self, organisation_id: Uuid) -> StoreResult<Option<Uuid>>;
    /// The organisation's settings, made (with its bridge account) the first time asked.
    async fn mail_settings(&self, organisation_id: Uuid) -> StoreResult<MailSettings>;
    async fn save_mail_settings(&self, settings: &MailSettings) -> StoreResult<()>;
    /// Of these recipient lookups, those that had this mail already.
    async fn recipients_with_mail(
        &self,
        organisation_id: Uuid,
        message_key: &str,
        lookups: &[Vec<u8>],
    ) -> StoreResult<Vec<Vec<u8>>>;
    /// The mail, its recipients and its processing job, in one transaction. A recipient that
    /// had this mail already (a race with the same mail) is a conflict: nothing is kept.
    async fn accept_mail(&self, mail: &AcceptedMail) -> StoreResult<MailAcceptance>;
    async fn inbound_mail(&self, id: Uuid) -> StoreResult<Option<InboundMail>>;
    /// Newest first.
    async fn inbound_mails(
        &self,
        organisation_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<InboundMail>>;
    /// Records the end of a mail's processing once; `false` when it was settled before.
    async fn settle_mail(
        &self,
        id: Uuid,
        settlement: &MailSettlement,
        outcome: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
}
