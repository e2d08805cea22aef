//! Reading a kept mail back for the jobs that work on it: the row, the raw bytes opened from
//! the blob store, and the envelope recipients.

use std::sync::Arc;

use uuid::Uuid;

use crate::blobs::{BlobStore, Sha256Hex};
use crate::delivery::worker::{fatal, retryable, JobFailure};
use crate::secrets::{Column, DataKeys};
use crate::store::{InboundMail, Store};

/// A kept mail: its row, its bytes, and its recipients' addresses in envelope order.
pub struct KeptMail {
    pub mail: InboundMail,
    pub raw: Vec<u8>,
    pub addresses: Vec<String>,
}

/// Where kept mails are read from.
#[derive(Clone)]
pub struct KeptMails {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: DataKeys,
}

impl KeptMails {
    pub async fn open(&self, id: Uuid) -> Result<KeptMail, JobFailure> {
        let mail = self
            .store
            .inbound_mail(id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the mail is gone"))?;
        let digest = Sha256Hex::parse(&mail.raw_sha256).map_err(fatal)?;
        let sealed = self
            .blobs
            .get(&digest)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the mail's bytes are missing from the blob store"))?;
        let raw = self
            .keys
            .open_bytes(Column::InboundMail, &sealed)
            .map_err(fatal)?;
        let addresses: Vec<String> = serde_json::from_str(
            &self
                .keys
                .open(Column::MailRecipients, &mail.recipients_sealed)
                .map_err(fatal)?,
        )
        .map_err(fatal)?;
        Ok(KeptMail {
            mail,
            raw,
            addresses,
        })
    }
}
