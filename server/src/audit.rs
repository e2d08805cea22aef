//! The audit log: who did what, when, from where. Append-only in both databases (triggers
//! refuse UPDATE and DELETE).

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use crate::store::{AuditEvent, Store, StoreResult, Timestamp};

/// What happened. The string forms are stored and must not change once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    LoginSucceeded,
    LoginFailed,
    LoginRefusedLocked,
    LoginThrottled,
    AccountLocked,
    Logout,
    OrganisationCreated,
    UserCreated,
    UsersListed,
    NoticeQueued,
    NoticeViewed,
    /// A page of notices read through the integration API.
    NoticesListed,
    /// The change feed read through the integration API.
    ChangeFeedRead,
    /// A recipients file (sending to many) checked: the dry run.
    BatchChecked,
    BatchConfirmed,
    BatchCancelled,
    BatchResultsRead,
    DocumentUploaded,
    DocumentDownloaded,
    DocumentDownloadRefused,
    DeliveryReserved,
    DeliveryRetried,
    DeliveryModeChanged,
    MailboxChecked,
    /// A draft that arrived by mail taken over by a caseworker.
    DraftClaimed,
    /// A mail the SMTP bridge accepted became a notice or a draft, or was refused.
    MailProcessed,
    /// A user set their password through a one-time link.
    PasswordSet,
    UserRoleChanged,
    OrganisationUpdated,
    UserDeactivated,
    UserReactivated,
    UserUnlocked,
    /// An admin made a new one-time link for a user's password.
    UserPasswordReset,
    ServiceRecorded,
    SuomiFiServiceCreated,
    SuomiFiServiceChanged,
    SuomiFiServiceTested,
    SuomiFiPasswordRotated,
    TemplateCreated,
    TemplateVersionSaved,
    TemplateArchived,
    MailBridgeChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    /// The notice list searched by an identity code (the lookup hash, never the code).
    NoticesSearchedByIdentity,
    ReplyOpened,
    ReplyAttachmentDownloaded,
    ProofDownloaded,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::LoginSucceeded => "login.succeeded",
            AuditAction::LoginFailed => "login.failed",
            AuditAction::LoginRefusedLocked => "login.refused_locked",
            AuditAction::LoginThrottled => "login.throttled",
            AuditAction::AccountLocked => "account.locked",
            AuditAction::Logout => "logout",
            AuditAction::OrganisationCreated => "organisation.created",
            AuditAction::UserCreated => "user.created",
            AuditAction::UsersListed => "users.listed",
            AuditAction::NoticeQueued => "notice.queued",
            AuditAction::NoticeViewed => "notice.viewed",
            AuditAction::NoticesListed => "notices.listed",
            AuditAction::ChangeFeedRead => "change_feed.read",
            AuditAction::BatchChecked => "batch.checked",
            AuditAction::BatchConfirmed => "batch.confirmed",
            AuditAction::BatchCancelled => "batch.cancelled",
            AuditAction::BatchResultsRead => "batch.results_read",
            AuditAction::DocumentUploaded => "document.uploaded",
            AuditAction::DraftClaimed => "draft.claimed",
            AuditAction::MailProcessed => "mail.processed",
            AuditAction::PasswordSet => "user.password_set",
            AuditAction::UserRoleChanged => "user.role_changed",
            AuditAction::OrganisationUpdated => "organisation.updated",
            AuditAction::UserDeactivated => "user.deactivated",
            AuditAction::UserReactivated => "user.reactivated",
            AuditAction::UserUnlocked => "user.unlocked",
            AuditAction::UserPasswordReset => "user.password_reset",
            AuditAction::SuomiFiServiceCreated => "suomifi_service.created",
            AuditAction::SuomiFiServiceChanged => "suomifi_service.changed",
            AuditAction::SuomiFiServiceTested => "suomifi_service.tested",
            AuditAction::SuomiFiPasswordRotated => "suomifi_service.password_rotated",
            AuditAction::TemplateCreated => "template.created",
            AuditAction::TemplateVersionSaved => "template.version_saved",
            AuditAction::TemplateArchived => "template.archived",
            AuditAction::MailBridgeChanged => "mail_bridge.changed",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::DocumentDownloaded => "document.downloaded",
            AuditAction::DocumentDownloadRefused => "document.download_refused",
            AuditAction::DeliveryReserved => "delivery.reserved",
            AuditAction::DeliveryRetried => "delivery.retried",
            AuditAction::DeliveryModeChanged => "delivery.mode_changed",
            AuditAction::MailboxChecked => "mailbox.checked",
            AuditAction::ServiceRecorded => "service.recorded",
            AuditAction::NoticesSearchedByIdentity => "notices.searched_by_identity",
            AuditAction::ReplyOpened => "reply.opened",
            AuditAction::ReplyAttachmentDownloaded => "reply.attachment_downloaded",
            AuditAction::ProofDownloaded => "proof.downloaded",
        }
    }
}

/// One entry being written; `Audit::record` stamps it with an id and the time.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: AuditAction,
    pub organisation_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub actor_label: Option<String>,
    pub subject: Option<(&'static str, String)>,
    pub client_ip: Option<String>,
    pub details: Value,
}

impl AuditEntry {
    pub fn new(action: AuditAction) -> Self {
        Self {
            action,
            organisation_id: None,
            actor_user_id: None,
            actor_label: None,
            subject: None,
            client_ip: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn organisation(mut self, id: Uuid) -> Self {
        self.organisation_id = Some(id);
        self
    }

    /// The organisation, the actor and the client address, as one acting in an organisation.
    pub fn by(mut self, actor: &app::auth::Actor) -> Self {
        self.organisation_id = Some(actor.organisation_id);
        self.actor_user_id = actor.user_id();
        self.actor_label = Some(actor.label().to_string());
        self.client_ip = Some(actor.client_ip.clone());
        self
    }

    pub fn actor(mut self, user_id: Uuid, label: impl Into<String>) -> Self {
        self.actor_user_id = Some(user_id);
        self.actor_label = Some(label.into());
        self
    }

    /// For actors without an account here (an unknown e-mail at login, the system itself).
    pub fn actor_label(mut self, label: impl Into<String>) -> Self {
        self.actor_label = Some(label.into());
        self
    }

    pub fn subject(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.subject = Some((kind, id.to_string()));
        self
    }

    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.client_ip = Some(ip.into());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn Store>,
}

impl Audit {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub async fn record(&self, entry: AuditEntry) -> StoreResult<()> {
        self.store.append_audit_event(&Self::event(entry)).await
    }

    /// The event an entry is kept as, for a store call that writes it with its change.
    pub fn event(entry: AuditEntry) -> AuditEvent {
        let (subject_kind, subject_id) = match entry.subject {
            Some((kind, id)) => (Some(kind.to_string()), Some(id)),
            None => (None, None),
        };
        AuditEvent {
            id: Uuid::now_v7(),
            organisation_id: entry.organisation_id,
            occurred_at: Timestamp::now(),
            actor_user_id: entry.actor_user_id,
            actor_label: entry.actor_label,
            action: entry.action.as_str().to_string(),
            subject_kind,
            subject_id,
            client_ip: entry.client_ip,
            details: entry.details.to_string(),
        }
    }
}
