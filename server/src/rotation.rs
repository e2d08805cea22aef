//! Rotating the data key: every sealed value is opened with whichever configured key sealed
//! it and sealed again under the current one, its lookup hash recomputed. Batches walk the
//! rows in id order and write each row only over the values they read, so the command can be
//! stopped and run again, and the application may run meanwhile (it opens both keys).
//!
//! The procedure (README, security): make the new key current and the old one previous
//! (`TIEDOKSI_DATA_KEY_PREVIOUS`), restart, run `tiedoksi rotate-data-key`, then drop the
//! previous key.

use crate::config::Config;
use crate::secrets::{Column, DataKeys};
use crate::store::{self, SealedDelivery, Store};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    pub drafts_resealed: u64,
    pub batch_rows_resealed: u64,
    pub replies_resealed: u64,
    pub mails_resealed: u64,
    pub services_resealed: u64,
    pub already_current: u64,
    /// The current key's id, as printed in each sealed value.
    pub key_id: String,
}

pub async fn rotate(config: &Config, batch: i64) -> anyhow::Result<RotationReport> {
    let store = store::connect(&config.database_url).await?;
    let keys = crate::startup::configured_keys(config, false)?;
    let batch = batch.clamp(1, 10_000);
    let blobs = crate::blobs::configured(config)?;
    let report = match reseal_all(store.as_ref(), &keys, batch).await {
        Ok(mut report) => reseal_mails(store.as_ref(), blobs.as_ref(), &keys, batch, &mut report)
            .await
            .map(|()| report),
        Err(error) => Err(error),
    };
    store.close().await;
    report
}

/// Re-seals every sealed value not yet under the current key: deliveries, drafts, replies.
pub async fn reseal_all(
    store: &dyn Store,
    keys: &DataKeys,
    batch: i64,
) -> anyhow::Result<RotationReport> {
    let mut report = RotationReport {
        key_id: keys.current().id_hex(),
        ..RotationReport::default()
    };
    reseal_deliveries(store, keys, batch, &mut report).await?;
    reseal_drafts(store, keys, batch, &mut report).await?;
    reseal_batch_rows(store, keys, batch, &mut report).await?;
    reseal_replies(store, keys, batch, &mut report).await?;
    reseal_services(store, keys, &mut report).await?;
    Ok(report)
}

/// The Suomi.fi services' passwords (a handful of rows: no batches).
async fn reseal_services(
    store: &dyn Store,
    keys: &DataKeys,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    for service in store.all_services().await? {
        let current = |value: Option<&[u8]>| value.is_none_or(|v| keys.is_current(v));
        if current(Some(&service.password_sealed))
            && current(service.pending_password_sealed.as_deref())
            && current(service.posti_password_sealed.as_deref())
        {
            continue;
        }
        let again = |sealed: &[u8]| -> anyhow::Result<Vec<u8>> {
            let plain = keys.open(Column::Credential, sealed)?;
            Ok(keys.seal(Column::Credential, &plain))
        };
        let password = again(&service.password_sealed)?;
        let pending = service
            .pending_password_sealed
            .as_deref()
            .map(again)
            .transpose()?;
        let posti = service
            .posti_password_sealed
            .as_deref()
            .map(again)
            .transpose()?;
        if store
            .reseal_service(&service, &password, pending.as_deref(), posti.as_deref())
            .await?
        {
            report.services_resealed += 1;
        }
    }
    Ok(())
}

async fn reseal_deliveries(
    store: &dyn Store,
    keys: &DataKeys,
    batch: i64,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let rows = store.sealed_deliveries(after, batch).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(last.id);
        for row in rows {
            let current =
                |value: &Option<Vec<u8>>| value.as_deref().is_none_or(|v| keys.is_current(v));
            if current(&row.identity_sealed) && current(&row.address_sealed) {
                report.already_current += 1;
                continue;
            }
            let resealed = reseal(keys, &row)?;
            // Changed meanwhile (a concurrent rotation): whatever is there was sealed by it.
            if store.reseal_delivery(&row, &resealed).await? {
                report.resealed += 1;
            }
        }
    }
}

/// Drafts too: a draft left under the old key would not open once that key is gone.
async fn reseal_drafts(
    store: &dyn Store,
    keys: &DataKeys,
    batch: i64,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    report.drafts_resealed += reseal_rows(
        keys,
        Column::Draft,
        "draft",
        async |after| store.sealed_drafts(after, batch).await,
        async |id, previous: Vec<u8>, resealed: Vec<u8>| {
            store.reseal_draft(id, &previous, &resealed).await
        },
    )
    .await?;
    Ok(())
}

/// Rows of batches not queued yet (sending to many): their recipients.
async fn reseal_batch_rows(
    store: &dyn Store,
    keys: &DataKeys,
    batch: i64,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    report.batch_rows_resealed += reseal_rows(
        keys,
        Column::BatchRecipient,
        "batch row",
        async |after| store.sealed_batch_rows(after, batch).await,
        async |id, previous: Vec<u8>, resealed: Vec<u8>| {
            store.reseal_batch_row(id, &previous, &resealed).await
        },
    )
    .await?;
    Ok(())
}

/// Re-seals one sealed column, a page at a time in id order, under the current key; how many
/// were re-sealed (a value changed meanwhile is left to its writer).
async fn reseal_rows(
    keys: &DataKeys,
    column: Column,
    what: &str,
    page: impl AsyncFn(Option<uuid::Uuid>) -> store::StoreResult<Vec<(uuid::Uuid, Vec<u8>)>>,
    reseal: impl AsyncFn(uuid::Uuid, Vec<u8>, Vec<u8>) -> store::StoreResult<bool>,
) -> anyhow::Result<u64> {
    let mut resealed = 0;
    let mut after = None;
    loop {
        let rows = page(after).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(resealed);
        };
        after = Some(*last);
        for (id, sealed) in rows {
            if keys.is_current(&sealed) {
                continue;
            }
            let content = keys.open(column, &sealed).map_err(|_| {
                anyhow::anyhow!("{what} {id} opens with none of the configured data keys")
            })?;
            if reseal(id, sealed, keys.seal(column, &content)).await? {
                resealed += 1;
            }
        }
    }
}

/// Citizens' replies: their senders' identity codes and lookup hashes.
async fn reseal_replies(
    store: &dyn Store,
    keys: &DataKeys,
    batch: i64,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let rows = store.sealed_replies(after, batch).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(());
        };
        after = Some(*last);
        for (id, sealed) in rows {
            if keys.is_current(&sealed) {
                continue;
            }
            let sender = keys.open(Column::ReplySender, &sealed).map_err(|_| {
                anyhow::anyhow!("reply {id}'s sender opens with none of the configured data keys")
            })?;
            let resealed = keys.seal(Column::ReplySender, &sender);
            if store
                .reseal_reply(id, &sealed, &resealed, &keys.lookup_hash(&sender))
                .await?
            {
                report.replies_resealed += 1;
            }
        }
    }
}

/// Mails the SMTP bridge kept: their recipients in the row, their bytes in the blob store
/// (re-sealed bytes are a new blob, which the row then names).
pub async fn reseal_mails(
    store: &dyn Store,
    blobs: &dyn crate::blobs::BlobStore,
    keys: &DataKeys,
    batch: i64,
    report: &mut RotationReport,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let rows = store.sealed_mails(after, batch).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(last.id);
        for row in rows {
            if keys.is_current(&row.recipients_sealed) {
                continue;
            }
            let cannot_open = || {
                anyhow::anyhow!(
                    "mail {} opens with none of the configured data keys",
                    row.id
                )
            };
            let recipients = keys
                .open(Column::MailRecipients, &row.recipients_sealed)
                .map_err(|_| cannot_open())?;
            let digest = crate::blobs::Sha256Hex::parse(&row.raw_sha256)?;
            let sealed = blobs
                .get(&digest)
                .await?
                .ok_or_else(|| anyhow::anyhow!("mail {}'s bytes are missing", row.id))?;
            let raw = keys
                .open_bytes(Column::InboundMail, &sealed)
                .map_err(|_| cannot_open())?;
            let resealed_raw = blobs
                .put(&keys.seal_bytes(Column::InboundMail, &raw))
                .await?;
            let resealed = crate::store::SealedMail {
                id: row.id,
                raw_sha256: resealed_raw.to_string(),
                recipients_sealed: keys.seal(Column::MailRecipients, &recipients),
            };
            if store.reseal_mail(&row, &resealed).await? {
                report.mails_resealed += 1;
            }
        }
    }
}

fn reseal(keys: &DataKeys, row: &SealedDelivery) -> anyhow::Result<SealedDelivery> {
    let cannot_open = |what: &str| {
        anyhow::anyhow!(
            "the {what} of delivery {} opens with none of the configured data keys \
             (TIEDOKSI_DATA_KEY, TIEDOKSI_DATA_KEY_PREVIOUS)",
            row.id
        )
    };
    let (identity_sealed, identity_lookup) = match &row.identity_sealed {
        Some(sealed) => {
            let code = keys
                .open(Column::IdentityCode, sealed)
                .map_err(|_| cannot_open("identity code"))?;
            (
                Some(keys.seal(Column::IdentityCode, &code)),
                Some(keys.lookup_hash(&code)),
            )
        }
        None => (None, row.identity_lookup.clone()),
    };
    let address_sealed = match &row.address_sealed {
        Some(sealed) => {
            let address = keys
                .open(Column::PostalAddress, sealed)
                .map_err(|_| cannot_open("postal address"))?;
            Some(keys.seal(Column::PostalAddress, &address))
        }
        None => None,
    };
    Ok(SealedDelivery {
        id: row.id,
        identity_sealed,
        identity_lookup,
        address_sealed,
    })
}
