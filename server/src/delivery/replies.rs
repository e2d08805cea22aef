//! The replies poller: beside the events poller, it fetches each message a citizen sent us
//! (an `Electronic message from end user` event the events poller stored) with its
//! attachments, and keeps it — linked to the notice it answers when its thread starts at one
//! of ours. Safe to repeat: a message is kept once (unique Suomi.fi id), and one that failed
//! to fetch is tried again on the next round. Suomi.fi keeps messages 60 days; one it no
//! longer has is kept as unavailable, so it is visible and not asked for again.

use std::sync::Arc;
use std::time::Duration;

use app::domain::RecipientId;
use tokio::sync::watch;
use uuid::Uuid;

use super::events::PollError;
use crate::blobs::BlobStore;
use crate::secrets::{Column, DataKeys};
use crate::store::{CitizenReply, ReplyAttachment, Store, Timestamp};
use crate::suomifi::model::CitizenMessage;
use crate::suomifi::{SuomiFiClient, SuomiFiError};

/// How many messages one round fetches at most.
const BATCH: i64 = 50;

pub struct RepliesPoller {
    pub store: Arc<dyn Store>,
    pub services: Arc<crate::suomifi::services::SuomiFiServices>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: DataKeys,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Poll(#[from] PollError),
    #[error("keeping a reply's attachment failed: {0}")]
    Blob(String),
}

impl ReplyError {
    /// Whether every other message would fail the same way now.
    fn stops_the_round(&self) -> bool {
        match self {
            ReplyError::Poll(PollError::Store(_)) => true,
            ReplyError::Poll(PollError::SuomiFi(error)) => error.is_retryable(),
            ReplyError::Blob(_) => false,
        }
    }
}

impl From<crate::store::StoreError> for ReplyError {
    fn from(error: crate::store::StoreError) -> Self {
        ReplyError::Poll(PollError::Store(error))
    }
}

impl From<SuomiFiError> for ReplyError {
    fn from(error: SuomiFiError) -> Self {
        ReplyError::Poll(PollError::SuomiFi(error))
    }
}

impl RepliesPoller {
    /// Fetches the messages not yet kept; returns how many were kept now.
    pub async fn fetch_new(&self) -> Result<usize, ReplyError> {
        let mut kept = 0;
        for (message_id, service_id) in self.store.replies_to_fetch(BATCH).await? {
            let suomifi = match self.services.client_for_service_id(&service_id).await {
                Ok((_, client)) => client,
                Err(crate::suomifi::services::ServiceError::Store(error)) => {
                    return Err(error.into())
                }
                Err(error) => {
                    tracing::warn!(message_id, %error, "a citizen's message came through a service not configured here");
                    continue;
                }
            };
            let fetched = match suomifi.citizen_message(message_id).await {
                Ok(message) => self.reply_from(&suomifi, message, &service_id).await,
                // Gone (after 60 days) or never ours: kept as such, not asked again.
                Err(SuomiFiError::Rejected { status, .. }) if status == 404 || status == 403 => {
                    tracing::warn!(
                        message_id,
                        status,
                        "a citizen's message is no longer available"
                    );
                    self.unavailable(message_id, &service_id).await
                }
                Err(error) => Err(error.into()),
            };
            let reply = match fetched {
                Ok(reply) => reply,
                // Suomi.fi or our database is down: the next round tries them all again.
                Err(error) if error.stops_the_round() => return Err(error),
                // Something about this one message: the others are not held up by it.
                Err(error) => {
                    tracing::warn!(message_id, %error, "could not keep a citizen's message; trying again next round");
                    continue;
                }
            };
            if self.store.record_reply(&reply).await? {
                kept += 1;
            }
        }
        Ok(kept)
    }

    async fn reply_from(
        &self,
        suomifi: &SuomiFiClient,
        message: CitizenMessage,
        service_id: &str,
    ) -> Result<CitizenReply, ReplyError> {
        let electronic = &message.electronic;
        let answered = match &electronic.thread {
            Some(thread) => {
                self.store
                    .delivery_by_message_id(thread.root_message_id)
                    .await?
            }
            None => None,
        };
        let organisation_id = match &answered {
            Some(delivery) => Some(delivery.organisation_id),
            None => self.store.organisation_for_service(service_id).await?,
        };
        let mut attachments = Vec::new();
        for attachment in &electronic.attachments {
            let Some(id) = attachment.attachment_id else {
                continue;
            };
            let bytes = suomifi.citizen_attachment(id).await?;
            let sha256 = self
                .blobs
                .put(&bytes)
                .await
                .map_err(|error| ReplyError::Blob(error.to_string()))?;
            attachments.push(ReplyAttachment {
                filename: attachment
                    .filename
                    .clone()
                    .unwrap_or_else(|| format!("liite-{id}")),
                media_type: attachment
                    .media_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size_bytes: bytes.len() as i64,
                sha256: sha256.as_str().to_string(),
            });
        }
        let owner = message.sender.as_ref().map(|s| &s.mailbox_owner);
        let raw_id = owner.map(|owner| owner.id.trim().to_string());
        let parsed = raw_id.as_deref().and_then(|id| RecipientId::parse(id).ok());
        // The canonical form when it is a Finnish code, so the lookup matches the notices'.
        let sender_id = parsed.as_ref().map(|id| id.expose().to_string()).or(raw_id);
        let sent_at = time::OffsetDateTime::parse(
            &electronic.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(Timestamp::from)
        .unwrap_or_else(|_| Timestamp::now());
        Ok(CitizenReply {
            id: Uuid::now_v7(),
            organisation_id,
            message_id: message.message_id,
            service_id: service_id.to_string(),
            notice_id: answered.as_ref().map(|d| d.notice_id),
            delivery_id: answered.as_ref().map(|d| d.id),
            in_reply_to: electronic.thread.as_ref().map(|t| t.root_message_id),
            sender_name: owner.map(|owner| owner.name.clone()),
            sender_sealed: sender_id
                .as_deref()
                .map(|id| self.keys.seal(Column::ReplySender, id)),
            sender_lookup: parsed.as_ref().map(|id| self.keys.lookup_hash(id.expose())),
            sender_masked: parsed.as_ref().map(RecipientId::masked),
            on_behalf_name: message
                .sender
                .as_ref()
                .and_then(|s| s.person_sending_message_on_behalf_of_mailbox_owner.as_ref())
                .map(|person| person.name.clone()),
            title: electronic.title.clone(),
            body: electronic.body.clone(),
            attachments: serde_json::to_string(&attachments).unwrap_or_else(|_| "[]".into()),
            unavailable: false,
            sent_at,
            fetched_at: Timestamp::now(),
        })
    }

    async fn unavailable(
        &self,
        message_id: i64,
        service_id: &str,
    ) -> Result<CitizenReply, ReplyError> {
        let now = Timestamp::now();
        Ok(CitizenReply {
            id: Uuid::now_v7(),
            organisation_id: self.store.organisation_for_service(service_id).await?,
            message_id,
            service_id: service_id.to_string(),
            notice_id: None,
            delivery_id: None,
            in_reply_to: None,
            sender_name: None,
            sender_sealed: None,
            sender_lookup: None,
            sender_masked: None,
            on_behalf_name: None,
            title: String::new(),
            body: String::new(),
            attachments: "[]".into(),
            unavailable: true,
            sent_at: now,
            fetched_at: now,
        })
    }

    /// Fetches every `interval` until `stop` turns true.
    pub async fn run(
        self,
        interval: Duration,
        stop: watch::Receiver<bool>,
        leader: crate::delivery::Leader,
    ) {
        crate::delivery::every_as_leader(
            &leader,
            "suomifi_replies",
            interval,
            stop,
            "fetching citizens' replies",
            || async { self.fetch_new().await.map(|_| ()) },
        )
        .await
    }
}
