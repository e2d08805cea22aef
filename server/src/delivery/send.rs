//! The send job: one delivery to Suomi.fi, exactly once. The delivery's id is the externalId,
//! so a retry after a crash or a lost answer gets 409 with the first message's id, which is
//! success.
//!
//! Each attempt uploads the documents it needs — or carries the service's upload of the same
//! document made within the hour (`suomifi/uploads.rs`): a notice's parties, a batch's
//! shared attachment — sends by the decided mode, and records the message id with the
//! SHA-256 of every document sent. Every failed attempt is written to the delivery's
//! history with its outcome and the service's trace id.

use std::sync::Arc;

use app::domain::channel::{DeliveryMode, PaperAddressee};
use app::domain::lifecycle::{DeliveryStatus, HistoryKind};
use app::domain::notice::{DeliverySettings, PostalAddress};
use app::domain::RecipientId;
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::json;

use super::legal;
use super::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::blobs::{BlobStore, Sha256Hex};
use crate::config::PostiConfig;
use crate::dates::ReceiptRules;
use crate::notices::letters::{LetterUnavailable, Letters};
use crate::secrets::{Column, DataKeys};
use crate::store::{
    Delivery, DeliveryToSend, HistoryEntry, Job, Notice, NoticeAttachment, SentDocument, Store,
    Timestamp,
};
use crate::suomifi::model::{
    Address, AttachmentRef, BodyFormat, ContactDetails, ElectronicPart, MessageServiceType,
    Notifications, PaperMailPart, PostalParty, PostiMessaging, PrintingAndEnvelopingService,
    Recipient, ReplyAllowedBy, Sender, Visibility,
};
use crate::suomifi::uploads::{Upload, UploadKey};
use crate::suomifi::{SuomiFiClient, SuomiFiError};

pub struct SendDelivery {
    pub store: Arc<dyn Store>,
    pub suomifi: Arc<SuomiFiClient>,
    pub key: DataKeys,
    pub blobs: Arc<dyn BlobStore>,
    pub letters: Letters,
    pub posti: PostiConfig,
    pub receipt: ReceiptRules,
}

fn classify(error: &SuomiFiError) -> JobFailure {
    // The same reason as a deferred check's: the pages offer the change to multichannel.
    if matches!(error, SuomiFiError::MailboxNotInUse { .. }) {
        return fatal(NO_ACTIVE_MAILBOX);
    }
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

/// What one attempt will send, with the documents it carries.
struct Prepared {
    documents: Vec<SentDocument>,
    electronic: Option<ElectronicPart>,
    paper: Option<PaperMailPart>,
    /// Documents carried by an earlier upload's id rather than uploaded for this attempt.
    reused: Vec<UploadKey>,
}

/// What the job sends; gone is fatal, a store error worth another try.
async fn delivery_to_send(store: &Arc<dyn Store>, job: &Job) -> Result<DeliveryToSend, JobFailure> {
    store
        .delivery_to_send(job.subject_id)
        .await
        .map_err(retryable)?
        .ok_or_else(|| fatal("the delivery no longer exists"))
}

impl SendDelivery {
    fn open(&self, column: Column, sealed: &[u8], what: &str) -> Result<String, JobFailure> {
        self.key.open(column, sealed).map_err(|_| {
            fatal(format!(
                "the {what} cannot be opened with the configured data key"
            ))
        })
    }

    async fn blob(&self, sha256: &str) -> Result<Vec<u8>, JobFailure> {
        let digest = Sha256Hex::parse(sha256).map_err(|e| fatal(e.to_string()))?;
        self.blobs
            .get(&digest)
            .await
            .map_err(retryable)?
            .ok_or_else(|| {
                fatal(format!(
                    "document {sha256} is missing from the document store"
                ))
            })
    }

    /// Uploads one document; a refused upload fails the attempt like a refused send.
    async fn upload(
        &self,
        delivery: &Delivery,
        filename: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<AttachmentRef, JobFailure> {
        match self
            .suomifi
            .upload_attachment(filename, media_type, bytes)
            .await
        {
            Ok(attachment_id) => Ok(AttachmentRef { attachment_id }),
            Err(error) => Err(self.attempt_failed(delivery, "upload", &error).await),
        }
    }

    /// A document for this attempt's message: the account's recent upload of the same
    /// document when there is one (noted in `reused`), else read from the document store and
    /// uploaded now under `filename`.
    async fn attach(
        &self,
        delivery: &Delivery,
        key: UploadKey,
        filename: &str,
        reused: &mut Vec<UploadKey>,
    ) -> Result<Upload, JobFailure> {
        let document = &key;
        let (upload, was_reused) = self
            .suomifi
            .recent_uploads()
            .upload_once(key.clone(), || async move {
                let bytes = self.blob(&document.sha256).await?;
                let size_bytes = bytes.len() as i64;
                let attachment = self
                    .upload(delivery, filename, &document.media_type, bytes)
                    .await?;
                Ok(Upload {
                    attachment_id: attachment.attachment_id,
                    filename: filename.to_string(),
                    size_bytes,
                })
            })
            .await?;
        if was_reused {
            crate::metrics::suomifi_upload_reused();
            reused.push(key);
        }
        Ok(upload)
    }

    /// Writes the failed attempt to the delivery's history and says how to go on.
    async fn attempt_failed(
        &self,
        delivery: &Delivery,
        step: &str,
        error: &SuomiFiError,
    ) -> JobFailure {
        let failure = classify(error);
        self.record_failed_attempt(delivery, step, error, &failure)
            .await;
        failure
    }

    async fn record_failed_attempt(
        &self,
        delivery: &Delivery,
        step: &str,
        error: &SuomiFiError,
        failure: &JobFailure,
    ) {
        let entry = HistoryEntry::new(
            delivery,
            HistoryKind::AttemptFailed,
            json!({
                "step": step,
                "error": error.to_string(),
                "retryable": matches!(failure, JobFailure::Retryable { .. }),
                "trace_id": error.trace_id(),
            }),
        );
        if let Err(store_error) = self.store.append_history(&entry).await {
            tracing::warn!(error = %store_error, delivery = %delivery.id, "could not record a failed attempt");
        }
    }

    async fn electronic_part(
        &self,
        delivery: &Delivery,
        notice: &Notice,
        notice_attachments: &[NoticeAttachment],
        documents: &mut Vec<SentDocument>,
        reused: &mut Vec<UploadKey>,
    ) -> Result<ElectronicPart, JobFailure> {
        let mut attachments = Vec::new();
        for attachment in notice_attachments.iter().cloned() {
            // The recipient sees it by its name: only the same name is the same upload.
            let key = UploadKey {
                sha256: attachment.sha256.clone(),
                media_type: attachment.media_type.clone(),
                shown_name: Some(attachment.filename.clone()),
            };
            let upload = self
                .attach(delivery, key, &attachment.filename, reused)
                .await?;
            attachments.push(AttachmentRef {
                attachment_id: upload.attachment_id,
            });
            documents.push(SentDocument {
                kind: "attachment".into(),
                filename: attachment.filename,
                media_type: attachment.media_type,
                sha256: attachment.sha256,
                size_bytes: attachment.size_bytes,
            });
        }
        Ok(ElectronicPart {
            title: notice.title.clone(),
            // Composed when queuing: the decision's header, the body and the appeal
            // instructions, exactly as kept.
            body: notice
                .electronic_body
                .clone()
                .unwrap_or_else(|| notice.body.clone()),
            body_format: match notice.body_format.as_str() {
                "Markdown" => BodyFormat::Markdown,
                _ => BodyFormat::Text,
            },
            message_service_type: service_type(notice),
            reply_allowed_by: if notice.replies_allowed {
                ReplyAllowedBy::Anyone
            } else {
                ReplyAllowedBy::NoOne
            },
            visibility: Some(Visibility::Normal),
            attachments,
            notifications: Notifications::default(),
            in_reply_to_message_id: notice.in_reply_to_message_id,
        })
    }

    async fn paper_part(
        &self,
        delivery: &Delivery,
        notice: &Notice,
        settings: &DeliverySettings,
        documents: &mut Vec<SentDocument>,
        reused: &mut Vec<UploadKey>,
    ) -> Result<PaperMailPart, JobFailure> {
        let return_address = settings
            .return_address
            .clone()
            .ok_or_else(|| fatal("the organisation's return address for paper mail is not set"))?;
        let recipient_address =
            self.paper_recipient(delivery, settings.forwarding_address.clone())?;
        let letter_sha256 = self
            .letters
            .ensure(notice)
            .await
            .map_err(|error| match error {
                LetterUnavailable::Unreachable(_) => retryable(error),
                LetterUnavailable::Broken(_) => fatal(error.to_string()),
            })?
            .ok_or_else(|| fatal("the notice has no printable letter"))?;
        // Printed, never shown by name: the same bytes are the same upload, whichever
        // notice's name it went under (kept as sent).
        let key = UploadKey {
            sha256: letter_sha256.clone(),
            media_type: "application/pdf".into(),
            shown_name: None,
        };
        let upload = self
            .attach(delivery, key, &format!("{}.pdf", notice.id), reused)
            .await?;
        documents.push(SentDocument {
            kind: "paper_letter".into(),
            filename: upload.filename,
            media_type: "application/pdf".into(),
            sha256: letter_sha256,
            size_bytes: upload.size_bytes,
        });
        Ok(PaperMailPart {
            attachments: vec![AttachmentRef {
                attachment_id: upload.attachment_id,
            }],
            color_printing: false,
            create_address_page: true,
            // A letter to the forwarding address reaches the organisation, not the
            // recipient: it is not service, so never a letter against a receipt. Staff serve
            // it onwards and record how.
            message_service_type: if delivery.forwarded() {
                MessageServiceType::Normal
            } else {
                service_type(notice)
            },
            printing_and_enveloping_service: PrintingAndEnvelopingService {
                posti_messaging: PostiMessaging {
                    contact_details: ContactDetails {
                        email: self.posti.email.clone(),
                    },
                    username: self.posti.username.clone(),
                    password: self.posti.password.expose_secret().to_string(),
                },
                cost_pool: self.posti.cost_pool.clone(),
            },
            recipient: PostalParty {
                address: recipient_address,
            },
            rotate_landscape_pages: true,
            sender: PostalParty {
                address: wire_address(return_address),
            },
            two_sided_printing: true,
        })
    }

    /// The recipient's own address, or for turvakielto the organisation's forwarding address
    /// with the recipient named on it, so the protected address is printed nowhere.
    fn paper_recipient(
        &self,
        delivery: &Delivery,
        forwarding: Option<PostalAddress>,
    ) -> Result<Address, JobFailure> {
        match delivery.paper_addressee {
            PaperAddressee::OrganisationForwarding => {
                let mut address = wire_address(forwarding.ok_or_else(|| {
                    fatal(
                        "the organisation's forwarding address for protected addresses is not set",
                    )
                })?);
                address.additional_name = Some(delivery.recipient_name.clone());
                Ok(address)
            }
            PaperAddressee::Recipient => {
                let sealed = delivery
                    .address_sealed
                    .as_deref()
                    .ok_or_else(|| fatal("paper delivery without a postal address"))?;
                let address: PostalAddress = serde_json::from_str(&self.open(
                    Column::PostalAddress,
                    sealed,
                    "postal address",
                )?)
                .map_err(|_| fatal("the stored postal address cannot be read"))?;
                Ok(wire_address(address))
            }
        }
    }

    async fn prepare(&self, to_send: &DeliveryToSend) -> Result<Prepared, JobFailure> {
        let DeliveryToSend {
            delivery,
            notice,
            attachments,
            settings,
            ..
        } = to_send;
        let mut documents = Vec::new();
        let mut reused = Vec::new();
        let (electronic, paper) = match delivery.decided_mode {
            DeliveryMode::ElectronicOnly => (true, false),
            DeliveryMode::Multichannel => (true, true),
            DeliveryMode::PaperOnly | DeliveryMode::PaperWithoutId => (false, true),
        };
        let electronic = if electronic {
            Some(
                self.electronic_part(delivery, notice, attachments, &mut documents, &mut reused)
                    .await?,
            )
        } else {
            None
        };
        let paper = if paper {
            Some(
                self.paper_part(delivery, notice, settings, &mut documents, &mut reused)
                    .await?,
            )
        } else {
            None
        };
        Ok(Prepared {
            documents,
            electronic,
            paper,
            reused,
        })
    }

    fn recipient(&self, delivery: &Delivery) -> Result<Recipient, JobFailure> {
        let sealed = delivery
            .identity_sealed
            .as_deref()
            .ok_or_else(|| fatal("this delivery mode needs an identity code"))?;
        Ok(Recipient {
            id: self.open(Column::IdentityCode, sealed, "identity code")?,
        })
    }

    async fn send(
        &self,
        delivery: &Delivery,
        notice: &Notice,
        prepared: Prepared,
    ) -> Result<(i64, Vec<SentDocument>), JobFailure> {
        use crate::suomifi::model::{ElectronicMessage, MultichannelMessage, PaperMailWithoutId};
        let external_id = delivery.id.to_string();
        let sender = Sender {
            service_id: notice.service_id.clone(),
        };
        let result = match (prepared.electronic, prepared.paper) {
            (Some(electronic), None) => {
                let mut message = ElectronicMessage {
                    external_id,
                    recipient: self.recipient(delivery)?,
                    sender,
                    electronic,
                };
                let sent = self.suomifi.send_electronic(&message).await;
                if replied_to_is_gone(&sent) && message.electronic.in_reply_to_message_id.is_some()
                {
                    // The citizen's message is gone (Suomi.fi keeps them 60 days): the answer
                    // goes as a new message instead of failing.
                    tracing::info!(delivery = %delivery.id, "the message replied to is gone; sending as a new message");
                    message.electronic.in_reply_to_message_id = None;
                    self.suomifi.send_electronic(&message).await
                } else {
                    sent
                }
            }
            (Some(electronic), Some(paper_mail)) => {
                let message = MultichannelMessage {
                    external_id,
                    recipient: self.recipient(delivery)?,
                    sender,
                    electronic,
                    paper_mail,
                };
                self.suomifi.send_multichannel(&message).await
            }
            // Paper only — without an id, or forced for a person who has one: DVV documents
            // no other endpoint for the latter.
            (None, Some(paper_mail)) => {
                let message = PaperMailWithoutId {
                    external_id,
                    sender,
                    paper_mail,
                };
                self.suomifi.send_paper(&message).await
            }
            (None, None) => return Err(fatal("nothing to send")),
        };
        match result {
            Ok(sent) => Ok((sent.message_id, prepared.documents)),
            Err(error)
                if matches!(error, SuomiFiError::Rejected { .. })
                    && !prepared.reused.is_empty() =>
            {
                // Perhaps Suomi.fi no longer holds an upload reused: the next attempt uploads
                // everything afresh, and only a refusal then is final.
                self.suomifi.recent_uploads().forget(&prepared.reused);
                let failure = JobFailure::Retryable {
                    retry_after: None,
                    error: error.to_string(),
                };
                self.record_failed_attempt(delivery, "send", &error, &failure)
                    .await;
                Err(failure)
            }
            Err(error) => Err(self.attempt_failed(delivery, "send", &error).await),
        }
    }
}

/// Suomi.fi refused a reply because the citizen's message it answers no longer exists.
fn replied_to_is_gone<T>(result: &Result<T, crate::suomifi::SuomiFiError>) -> bool {
    matches!(
        result,
        Err(crate::suomifi::SuomiFiError::Rejected { error_codes, .. })
            if error_codes.iter().any(|code| code == "MESSAGE_BEING_REPLIED_TO_NOT_FOUND")
    )
}

fn service_type(notice: &Notice) -> MessageServiceType {
    if notice.verifiable {
        MessageServiceType::Verifiable
    } else {
        MessageServiceType::Normal
    }
}

fn wire_address(address: PostalAddress) -> Address {
    Address {
        name: address.name,
        additional_name: address.additional_name,
        street_address: address.street_address,
        zip_code: address.zip_code,
        city: address.city,
        country_code: address.country_code,
    }
}

pub use app::domain::lifecycle::NO_ACTIVE_MAILBOX;

impl SendDelivery {
    /// A paper re-serve is no longer ours to send once the recipient has acknowledged the
    /// electronic notice: the first completed service counts. `true` when it was cancelled.
    async fn cancelled_as_served(
        &self,
        delivery: &Delivery,
        job: &Job,
    ) -> Result<bool, JobFailure> {
        let Some(original_id) = delivery.reserve_of else {
            return Ok(false);
        };
        let original = self
            .store
            .delivery(original_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the re-served delivery no longer exists"))?;
        if original.status != DeliveryStatus::ReceiptConfirmed {
            return Ok(false);
        }
        // An earlier attempt may have reached Suomi.fi without our hearing back: then the
        // letter is Suomi.fi's, not ours to cancel, and sending again only learns its id.
        if job.attempts > 1
            && self
                .suomifi
                .message_id_for_external_id(&delivery.id.to_string())
                .await
                .map_err(|error| classify(&error))?
                .is_some()
        {
            return Ok(false);
        }
        let reason = "the recipient acknowledged the electronic notice before the paper \
                      re-serve went out";
        self.store
            .cancel_delivery(delivery.id, reason, Timestamp::now())
            .await
            .map_err(retryable)
    }

    /// The mailbox check composing could not make, made now, before anything is sent.
    async fn deferred_mailbox_check(&self, delivery: &Delivery) -> Result<(), JobFailure> {
        if !delivery.mailbox_check_deferred || delivery.decided_mode != DeliveryMode::ElectronicOnly
        {
            return Ok(());
        }
        let id = self.recipient(delivery)?.id;
        let active = self
            .suomifi
            .active_mailboxes(std::slice::from_ref(&id))
            .await
            .map_err(|error| classify(&error))?
            .contains(&id);
        self.store
            .record_mailbox_checked(delivery.id, active, Timestamp::now())
            .await
            .map_err(retryable)?;
        if active {
            Ok(())
        } else {
            Err(fatal(NO_ACTIVE_MAILBOX))
        }
    }

    /// A minor on the day of composing may be of age on the day of sending: the facts kept
    /// are those of the sending day.
    async fn facts_at_sending(&self, delivery: &Delivery) -> Result<(), JobFailure> {
        let Some(sealed) = delivery.identity_sealed.as_deref() else {
            return Ok(());
        };
        let Ok(RecipientId::Person(code)) =
            RecipientId::parse(&self.open(Column::IdentityCode, sealed, "identity code")?)
        else {
            return Ok(());
        };
        let today = super::legal::finnish_date(time::OffsetDateTime::now_utc());
        let minor = code.is_minor_on((
            today.year() as u32,
            u8::from(today.month()) as u32,
            today.day() as u32,
        ));
        if minor != delivery.recipient_minor {
            self.store
                .record_facts_at_sending(delivery.id, minor, Timestamp::now())
                .await
                .map_err(retryable)?;
        }
        Ok(())
    }
}

#[async_trait]
impl JobHandler for SendDelivery {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let to_send = delivery_to_send(&self.store, job).await?;
        self.deliver(job, to_send).await
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

impl SendDelivery {
    /// The send job for a delivery already read.
    async fn deliver(&self, job: &Job, to_send: DeliveryToSend) -> Result<(), JobFailure> {
        let DeliveryToSend {
            delivery, notice, ..
        } = &to_send;
        if delivery.status == DeliveryStatus::Cancelled
            || self.cancelled_as_served(delivery, job).await?
        {
            return Ok(());
        }
        if delivery.suomifi_message_id.is_none() {
            self.deferred_mailbox_check(delivery).await?;
            self.facts_at_sending(delivery).await?;
            let prepared = self.prepare(&to_send).await?;
            let (message_id, documents) = self.send(delivery, notice, prepared).await?;
            let at = Timestamp::now();
            // The first legal assessment (the rest follow events) goes in the send's own
            // commit; a re-serve, or a delivery that moved meanwhile, is assessed below.
            let first_legal = legal::first_assessment(
                delivery,
                notice.verifiable,
                notice.appeal_days,
                at.as_offset_date_time(),
                self.receipt,
            );
            let legal_stored = self
                .store
                .record_delivery_sent(
                    delivery.id,
                    message_id,
                    at,
                    &documents,
                    first_legal.as_ref(),
                )
                .await
                .map_err(retryable)?;
            if legal_stored {
                return Ok(());
            }
        }
        // Not worth failing a send over: the next event assesses again.
        if let Err(error) = legal::reassess(&self.store, delivery.id, self.receipt).await {
            tracing::warn!(%error, delivery = %delivery.id, "could not compute legal dates");
        }
        Ok(())
    }
}

/// Sending through the service each notice names: the service's client and its printing
/// contract's credentials for this job, then the send as for any one service.
pub struct SendThroughServices {
    pub store: Arc<dyn Store>,
    pub services: Arc<crate::suomifi::services::SuomiFiServices>,
    pub key: DataKeys,
    pub blobs: Arc<dyn BlobStore>,
    pub letters: Letters,
    pub receipt: ReceiptRules,
}

impl SendThroughServices {
    async fn for_job(
        &self,
        job: &Job,
    ) -> Result<
        (
            crate::store::SuomiFiServiceRow,
            SendDelivery,
            DeliveryToSend,
        ),
        JobFailure,
    > {
        let mut to_send = delivery_to_send(&self.store, job).await?;
        let found = to_send.service.take();
        let (service, suomifi) = self
            .services
            .client_of(&to_send.notice.service_id, found)
            .map_err(|error| fatal(error.to_string()))?;
        let posti = self
            .services
            .posti(&service)
            .map_err(|error| fatal(error.to_string()))?;
        Ok((
            service,
            SendDelivery {
                store: self.store.clone(),
                suomifi,
                key: self.key.clone(),
                blobs: self.blobs.clone(),
                letters: self.letters.clone(),
                posti,
                receipt: self.receipt,
            },
            to_send,
        ))
    }
}

#[async_trait::async_trait]
impl JobHandler for SendThroughServices {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let (service, send, to_send) = self.for_job(job).await?;
        let outcome = send.deliver(job, to_send).await;
        // A refused password shows beside the service, not only in the delivery's history.
        if let Err(error) = self
            .services
            .note_credentials(&service, &send.suomifi)
            .await
        {
            tracing::warn!(%error, "could not keep the service's credentials state");
        }
        outcome
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
