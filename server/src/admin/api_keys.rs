//! An admin's API keys, as form posts: make one (shown once on the admin page, from the
//! session), revoke one. Audited with the admin as actor.

use std::sync::Arc;

use app::admin::ssr::SHOWN_API_KEY;
use app::auth::Actor;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::api::keys::{create_key, revoke_key, KeyError};
use crate::store::Store;

#[derive(Clone)]
pub struct ApiKeyAdmin {
    pub store: Arc<dyn Store>,
}

fn back(problem: Option<&str>) -> Response {
    match problem {
        Some(code) => Redirect::to(&format!("/admin?problem={code}#problem")).into_response(),
        None => Redirect::to("/admin#api-keys-heading").into_response(),
    }
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "an API key action failed");
    crate::auth::middleware::app_unavailable()
}

fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "Only an organisation's admins may do this.",
    )
        .into_response()
}

fn who(actor: &Actor) -> String {
    actor.label().to_string()
}

#[derive(Debug, Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/api-keys`.
pub async fn create(
    State(admin): State<ApiKeyAdmin>,
    actor: Actor,
    session: Session,
    Form(form): Form<NewKeyForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    match create_key(
        &admin.store,
        actor.organisation_id,
        &form.name,
        &who(&actor),
    )
    .await
    {
        Ok(made) => {
            let shown = serde_json::json!({ "name": made.row.name, "key": made.secret });
            if let Err(error) = session.insert(SHOWN_API_KEY, shown.to_string()).await {
                return failed(error);
            }
            back(None)
        }
        Err(KeyError::NameInvalid) => back(Some("api_key_name_invalid")),
        Err(error) => failed(error),
    }
}

/// `POST /admin/api-keys/{id}/revoke`.
pub async fn revoke(
    State(admin): State<ApiKeyAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    match revoke_key(&admin.store, actor.organisation_id, id, &who(&actor)).await {
        Ok(true) => back(None),
        Ok(false) => (axum::http::StatusCode::NOT_FOUND, "No such live API key.").into_response(),
        Err(error) => failed(error),
    }
}
