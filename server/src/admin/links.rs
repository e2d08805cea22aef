//! One-time links to set a password. No mail may be configured, so the link is shown to
//! whoever created the user (the operator's command, later the admin page) to hand over. The
//! token is 256 random bits; only its SHA-256 is kept; a link works once, for 7 days, and a
//! newer link of the same user replaces it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::auth::password::hash_password;
use crate::auth::password_policy;
use crate::blobs::Sha256Hex;
use crate::store::{LinkPurpose, PasswordLink, Store, StoreResult, Timestamp};

pub const LINK_DAYS: i64 = 7;

fn token_hash(token: &str) -> String {
    Sha256Hex::of(token.as_bytes()).to_string()
}

/// Makes and keeps a link for the user; the path to hand over (`/welcome/<token>`).
pub async fn create(
    store: &Arc<dyn Store>,
    user_id: Uuid,
    purpose: LinkPurpose,
) -> StoreResult<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = Timestamp::now();
    store
        .create_password_link(&PasswordLink {
            token_sha256: token_hash(&token),
            user_id,
            purpose,
            created_at: now,
            expires_at: now + time::Duration::days(LINK_DAYS),
        })
        .await?;
    Ok(format!("/welcome/{token}"))
}

/// The e-mail address of a live link's user (the page greets them by it).
pub async fn email_of(store: &Arc<dyn Store>, token: &str) -> StoreResult<Option<String>> {
    let Some(user_id) = store
        .password_link_user(&token_hash(token), Timestamp::now())
        .await?
    else {
        return Ok(None);
    };
    Ok(store.user_by_id(user_id).await?.map(|user| user.email))
}

#[derive(Clone)]
pub struct Links {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
}

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
    password_confirmation: String,
}

/// `POST /welcome/{token}`: the password checked, the link used, the password set; then to
/// the sign-in page. A problem goes back to the form by its code; nothing is changed.
pub async fn set_password(
    State(links): State<Links>,
    Path(token): Path<String>,
    Form(form): Form<NewPassword>,
) -> Response {
    let problems = password_policy::check(&form.password, &form.password_confirmation);
    if let Some(problem) = problems.first() {
        return Redirect::to(&format!("/welcome/{token}?problem={}", problem.code()))
            .into_response();
    }
    let used = links
        .store
        .use_password_link(&token_hash(&token), Timestamp::now())
        .await;
    let user_id = match used {
        Ok(Some(user_id)) => user_id,
        Ok(None) => return Redirect::to(&format!("/welcome/{token}")).into_response(),
        Err(error) => return unavailable(error),
    };
    let hash = match hash_password(form.password).await {
        Ok(hash) => hash,
        Err(error) => return unavailable(error),
    };
    if let Err(error) = links.store.set_password_hash(user_id, &hash).await {
        return unavailable(error);
    }
    let organisation = links
        .store
        .user_by_id(user_id)
        .await
        .ok()
        .flatten()
        .map(|user| user.organisation_id);
    let mut entry = AuditEntry::new(AuditAction::PasswordSet)
        .actor_label("one-time link")
        .subject("user", user_id);
    if let Some(organisation) = organisation {
        entry = entry.organisation(organisation);
    }
    if let Err(error) = links.audit.record(entry).await {
        tracing::error!(%error, "could not audit a password set by link");
    }
    Redirect::to("/login?password_set=1").into_response()
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "setting a password by link failed");
    crate::auth::middleware::app_unavailable()
}

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum NewUserError {
    #[error("not an e-mail address")]
    EmailInvalid,
    #[error("a user with this e-mail address exists already")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A user without a password, and the path of the one-time link that sets it: the operator's
/// command and the admin page add users the same way.
pub async fn add_user(
    store: &Arc<dyn Store>,
    organisation_id: Uuid,
    email: &str,
    display_name: &str,
    role: app::auth::Role,
) -> Result<(crate::store::User, String), NewUserError> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
        return Err(NewUserError::EmailInvalid);
    }
    let display_name = match display_name.trim() {
        "" => email.clone(),
        name => name.chars().take(200).collect(),
    };
    let user = match store
        .create_user(&crate::store::NewUser {
            organisation_id,
            email,
            display_name,
            // No password until the link is used: nothing verifies against this.
            password_hash: "!".to_string(),
            role,
        })
        .await
    {
        Ok(user) => user,
        Err(crate::store::StoreError::Conflict(_)) => return Err(NewUserError::EmailTaken),
        Err(error) => return Err(error.into()),
    };
    let path = create(store, user.id, LinkPurpose::Welcome).await?;
    Ok((user, path))
}
