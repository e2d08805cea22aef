//! What the inbox pages read: the organisation's replies, one reply (its opening kept per
//! user and audited), and its attachments (audited downloads). A reply to a notice whose
//! content is restricted (a turvakielto recipient) opens only to those who may see that
//! notice's content: it may tell where the person lives.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use app::auth::Actor;
use app::error::AppError;
use app::replies::ssr::RepliesBackend;
use app::replies::{Inbox, ReplyDetail, ReplyFile, ReplySummary};
use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::blobs::{BlobStore, Sha256Hex};
use crate::local_time::finnish_local;
use crate::notices::documents::refusal;
use crate::notices::view::content_withheld_from;
use crate::store::{CitizenReply, Notice, Reader, Store, Timestamp};

/// How many replies the inbox shows.
const INBOX_LIMIT: i64 = 200;

#[derive(Clone)]
pub struct ReplyViews {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
    pub blobs: Arc<dyn BlobStore>,
}

fn reader(actor: &Actor) -> Reader {
    Reader {
        user_id: actor.user_id().unwrap_or_default(),
        admin: actor.is_admin(),
    }
}

/// A reply as a line in a list.
pub fn summary(reply: &CitizenReply, notice: Option<&Notice>, unread: bool) -> ReplySummary {
    ReplySummary {
        id: reply.id,
        title: reply.title.clone(),
        sender_name: reply.sender_name.clone(),
        sender_masked: reply.sender_masked.clone(),
        sent_at: reply.sent_at.to_rfc3339(),
        sent_local: finnish_local(reply.sent_at),
        notice_id: reply.notice_id,
        notice_title: notice.map(|n| n.title.clone()),
        attachments: reply.attachments().len() as u32,
        unread,
        unavailable: reply.unavailable,
    }
}

impl ReplyViews {
    async fn own_reply(&self, actor: &Actor, id: Uuid) -> Result<CitizenReply, AppError> {
        self.store
            .reply(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)
    }

    async fn notice_of(
        &self,
        actor: &Actor,
        reply: &CitizenReply,
    ) -> Result<Option<Notice>, AppError> {
        match reply.notice_id {
            Some(id) => self
                .store
                .notice(actor.organisation_id, id)
                .await
                .map_err(AppError::internal),
            None => Ok(None),
        }
    }

    /// The reply's content is for this reader (see the module's note).
    async fn may_open(&self, actor: &Actor, notice: Option<&Notice>) -> Result<bool, AppError> {
        let Some(notice) = notice else {
            return Ok(true);
        };
        content_withheld_from(self.store.as_ref(), actor, notice)
            .await
            .map(|withheld| !withheld)
            .map_err(AppError::internal)
    }
}

#[async_trait]
impl RepliesBackend for ReplyViews {
    async fn list_replies(&self, actor: &Actor) -> Result<Inbox, AppError> {
        let replies = self
            .store
            .replies(actor.organisation_id, reader(actor), INBOX_LIMIT)
            .await
            .map_err(AppError::internal)?;
        let ids: Vec<Uuid> = replies.iter().map(|r| r.id).collect();
        let opened: HashSet<Uuid> = match actor.user_id() {
            Some(user) => self
                .store
                .opened_replies(user, &ids)
                .await
                .map_err(AppError::internal)?
                .into_iter()
                .collect(),
            None => HashSet::new(),
        };
        let notice_ids: Vec<Uuid> = replies.iter().filter_map(|r| r.notice_id).collect();
        let notices: HashMap<Uuid, Notice> = self
            .store
            .notices_by_ids(actor.organisation_id, &notice_ids)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|notice| (notice.id, notice))
            .collect();
        let summaries = replies
            .iter()
            .map(|reply| {
                let notice = reply.notice_id.and_then(|id| notices.get(&id));
                summary(reply, notice, !opened.contains(&reply.id))
            })
            .collect();
        Ok(Inbox {
            unread: self.unread_replies(actor).await?,
            replies: summaries,
        })
    }

    async fn open_reply(&self, actor: &Actor, id: Uuid) -> Result<ReplyDetail, AppError> {
        let reply = self.own_reply(actor, id).await?;
        let notice = self.notice_of(actor, &reply).await?;
        if !self.may_open(actor, notice.as_ref()).await? {
            return Err(AppError::Forbidden);
        }
        let entry = AuditEntry::new(AuditAction::ReplyOpened)
            .by(actor)
            .subject("reply", id)
            .details(json!({ "notice_id": reply.notice_id, "message_id": reply.message_id }));
        // Shown only once it is on record.
        self.audit.record(entry).await.map_err(AppError::internal)?;
        if let Some(user) = actor.user_id() {
            self.store
                .record_reply_opened(id, user, Timestamp::now())
                .await
                .map_err(AppError::internal)?;
        }
        Ok(ReplyDetail {
            summary: summary(&reply, notice.as_ref(), false),
            body: reply.body.clone(),
            on_behalf_name: reply.on_behalf_name.clone(),
            case_reference: notice.as_ref().map(|n| n.case_reference.clone()),
            attachments: reply
                .attachments()
                .into_iter()
                .map(|file| ReplyFile {
                    filename: file.filename,
                    media_type: file.media_type,
                    size_bytes: file.size_bytes,
                    sha256: file.sha256,
                })
                .collect(),
        })
    }

    async fn unread_replies(&self, actor: &Actor) -> Result<u32, AppError> {
        if actor.user_id().is_none() {
            return Ok(0);
        }
        self.store
            .unread_reply_count(actor.organisation_id, reader(actor))
            .await
            .map(|count| count as u32)
            .map_err(AppError::internal)
    }
}

/// `GET /inbox/{id}/attachments/{n}`: a file a citizen sent, audited.
pub async fn attachment(
    State(views): State<ReplyViews>,
    actor: Actor,
    Path((id, position)): Path<(Uuid, usize)>,
) -> Response {
    let reply = match views.own_reply(&actor, id).await {
        Ok(reply) => reply,
        Err(error) => return refusal(error),
    };
    let notice = match views.notice_of(&actor, &reply).await {
        Ok(notice) => notice,
        Err(error) => return refusal(error),
    };
    match views.may_open(&actor, notice.as_ref()).await {
        Ok(true) => {}
        Ok(false) => return refusal(AppError::Forbidden),
        Err(error) => return refusal(error),
    }
    let Some(file) = reply.attachments().into_iter().nth(position) else {
        return refusal(AppError::NotFound);
    };
    let Ok(digest) = Sha256Hex::parse(&file.sha256) else {
        return refusal(AppError::internal("a stored hash does not parse"));
    };
    let bytes = match views.blobs.get(&digest).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return refusal(AppError::NotFound),
        Err(error) => return refusal(AppError::internal(error)),
    };
    let entry = AuditEntry::new(AuditAction::ReplyAttachmentDownloaded)
        .by(&actor)
        .subject("reply", id)
        .details(json!({ "sha256": file.sha256 }));
    if let Err(error) = views.audit.record(entry).await {
        return refusal(AppError::internal(error));
    }
    crate::notices::documents::download(bytes, &file.filename, &file.media_type)
}
