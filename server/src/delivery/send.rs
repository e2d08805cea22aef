//! The send job: one delivery to Suomi.fi, exactly once. The delivery's id is the externalId,
//! so a retry after a crash or a lost answer gets 409 with the first message's id, which is
//! success.

use std::sync::Arc;

use async_trait::async_trait;

use super::worker::{JobFailure, JobHandler};
use crate::secrets::DataKey;
use crate::store::{Delivery, Job, Notice, Store, Timestamp};
use crate::suomifi::model::{
    BodyFormat, ElectronicMessage, ElectronicPart, MessageServiceType, Notifications, Recipient,
    ReplyAllowedBy, Sender, Visibility,
};
use crate::suomifi::{SuomiFiClient, SuomiFiError};

pub struct SendDelivery {
    pub store: Arc<dyn Store>,
    pub suomifi: Arc<SuomiFiClient>,
    pub key: DataKey,
}

fn retryable(error: impl std::fmt::Display) -> JobFailure {
    JobFailure::Retryable {
        error: error.to_string(),
        retry_after: None,
    }
}

fn fatal(error: impl Into<String>) -> JobFailure {
    JobFailure::Fatal {
        error: error.into(),
    }
}

impl SendDelivery {
    async fn load(&self, job: &Job) -> Result<(Delivery, Notice), JobFailure> {
        let delivery = self
            .store
            .delivery(job.subject_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the delivery no longer exists"))?;
        let notice = self
            .store
            .notice(delivery.organisation_id, delivery.notice_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the notice no longer exists"))?;
        Ok((delivery, notice))
    }

    fn electronic_message(
        &self,
        delivery: &Delivery,
        notice: &Notice,
    ) -> Result<ElectronicMessage, JobFailure> {
        let sealed = delivery
            .identity_sealed
            .as_deref()
            .ok_or_else(|| fatal("electronic delivery without an identity code"))?;
        let recipient_id = self.key.open(sealed).map_err(|_| {
            fatal("the identity code cannot be opened with the configured data key")
        })?;
        let body_format = match notice.body_format.as_str() {
            "Markdown" => BodyFormat::Markdown,
            _ => BodyFormat::Text,
        };
        let service_type = if notice.verifiable {
            MessageServiceType::Verifiable
        } else {
            MessageServiceType::Normal
        };
        Ok(ElectronicMessage {
            external_id: delivery.id.to_string(),
            recipient: Recipient { id: recipient_id },
            sender: Sender {
                service_id: notice.service_id.clone(),
            },
            electronic: ElectronicPart {
                title: notice.title.clone(),
                body: notice.body.clone(),
                body_format,
                message_service_type: service_type,
                reply_allowed_by: ReplyAllowedBy::NoOne,
                visibility: Some(Visibility::Normal),
                attachments: Vec::new(),
                notifications: Notifications::default(),
                in_reply_to_message_id: None,
            },
        })
    }
}

fn classify(error: SuomiFiError) -> JobFailure {
    if error.is_retryable() {
        JobFailure::Retryable {
            retry_after: error.retry_after(),
            error: error.to_string(),
        }
    } else {
        JobFailure::Fatal {
            error: error.to_string(),
        }
    }
}

#[async_trait]
impl JobHandler for SendDelivery {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let (delivery, notice) = self.load(job).await?;
        if delivery.suomifi_message_id.is_some() {
            return Ok(());
        }
        let sent = match delivery.decided_mode.as_str() {
            "electronic_only" => {
                let message = self.electronic_message(&delivery, &notice)?;
                self.suomifi
                    .send_electronic(&message)
                    .await
                    .map_err(classify)?
            }
            // Multichannel and paper need the printable letter (PDF) and postal addresses.
            other => return Err(fatal(format!("sending by {other} is not available yet"))),
        };
        self.store
            .record_delivery_sent(delivery.id, sent.message_id, Timestamp::now())
            .await
            .map_err(retryable)
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        if let Err(store_error) = self
            .store
            .record_delivery_needs_attention(job.subject_id, error, Timestamp::now())
            .await
        {
            tracing::error!(error = %store_error, delivery = %job.subject_id, "could not mark a delivery as needing attention");
        }
    }
}
