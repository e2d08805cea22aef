//! API keys: made by an admin or the operator (`tiedoksi api-keys create`), shown once, kept
//! as SHA-256 only, revocable, their last use kept. Each key gets an account of its own (a
//! user row that cannot sign in, named "API: <key's name>") that authors its notices, so every
//! notice and audit entry names the key it came through.

use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{ApiKeyRow, NewUser, Store, Timestamp};

/// Every key starts so, which lets secret scanners find one pasted where it should not be.
pub const KEY_PREFIX: &str = "tdk_";

/// A key just made: the secret exists only here and in what is shown once.
pub struct NewKey {
    pub row: ApiKeyRow,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the name must be 1–100 characters")]
    NameInvalid,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub fn key_sha256(secret: &str) -> String {
    Sha256::digest(secret.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Makes a key and its account; `by` names who made it in the audit log.
pub async fn create_key(
    store: &Arc<dyn Store>,
    organisation_id: Uuid,
    name: &str,
    by: &str,
) -> Result<NewKey, KeyError> {
    create_key_for_service(store, organisation_id, name, None, by).await
}

/// A key whose notices go through one of the organisation's Suomi.fi services (its row id);
/// `None`: the organisation's default, or what a request names.
pub async fn create_key_for_service(
    store: &Arc<dyn Store>,
    organisation_id: Uuid,
    name: &str,
    service_id: Option<Uuid>,
    by: &str,
) -> Result<NewKey, KeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(KeyError::NameInvalid);
    }
    let id = Uuid::now_v7();
    let account = store
        .create_user(&NewUser {
            organisation_id,
            email: format!("api-key-{id}@api.tiedoksi.invalid"),
            display_name: format!("API: {name}"),
            // Never a password: the key is the only way in.
            password_hash: "!api-key".into(),
            role: app::auth::Role::Caseworker,
        })
        .await?;
    let secret = new_secret();
    let row = ApiKeyRow {
        id,
        organisation_id,
        name: name.to_string(),
        key_sha256: key_sha256(&secret),
        prefix: secret.chars().take(KEY_PREFIX.len() + 6).collect(),
        account_id: account.id,
        service_id,
        created_at: Timestamp::now(),
        revoked_at: None,
        last_used_at: None,
    };
    store.create_api_key(&row).await?;
    let entry = AuditEntry::new(AuditAction::ApiKeyCreated)
        .organisation(organisation_id)
        .actor_label(by)
        .subject("api_key", id)
        .details(json!({ "name": name, "prefix": row.prefix, "service": service_id }));
    Audit::new(store.clone()).record(entry).await?;
    Ok(NewKey { row, secret })
}

/// How stale a key's "last used" may be.
const LAST_USE_STEP: time::Duration = time::Duration::minutes(1);

/// The live key presented (`Authorization: Bearer <key>`), its use noted.
pub async fn authenticate(
    store: &Arc<dyn Store>,
    presented: &str,
) -> Result<Option<ApiKeyRow>, crate::store::StoreError> {
    let presented = presented.trim();
    if !presented.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let Some(key) = store.api_key_by_hash(&key_sha256(presented)).await? else {
        return Ok(None);
    };
    // "Last used" is for an administrator to see which keys are alive, to the minute: not a
    // write on every request an integration makes.
    let now = Timestamp::now();
    if key
        .last_used_at
        .is_none_or(|used| used < now - LAST_USE_STEP)
    {
        store.touch_api_key(key.id, now).await?;
    }
    Ok(Some(key))
}

pub async fn revoke_key(
    store: &Arc<dyn Store>,
    organisation_id: Uuid,
    id: Uuid,
    by: &str,
) -> Result<bool, KeyError> {
    let revoked = store
        .revoke_api_key(organisation_id, id, Timestamp::now())
        .await?;
    if revoked {
        let entry = AuditEntry::new(AuditAction::ApiKeyRevoked)
            .organisation(organisation_id)
            .actor_label(by)
            .subject("api_key", id);
        Audit::new(store.clone()).record(entry).await?;
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_kept_as_hashes() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 43);
        assert_eq!(key_sha256(&a).len(), 64);
        assert_eq!(key_sha256(&format!(" {a}\n")), key_sha256(&a));
        assert_ne!(key_sha256(&a), key_sha256(&b));
    }
}
