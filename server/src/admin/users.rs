//! An organisation admin's actions on its users, as form posts that work without wasm: add a
//! user (a one-time link to set the password is shown once), change a role, deactivate (their
//! sessions end at the next request) and reactivate, reset a password (a new link), unlock.
//! The last active admin can be neither demoted nor deactivated. Each change is audited;
//! another organisation's user is not found.

use std::sync::Arc;

use app::auth::{Actor, Role};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{LinkPurpose, Store};

/// Where the page finds the one-time link to show once (taken from the session when shown).
use app::admin::ssr::SHOWN_LINK;

#[derive(Clone)]
pub struct UserAdmin {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
    /// `TIEDOKSI_PUBLIC_URL`: where users reach us; else the address this request came to.
    pub public_url: Option<String>,
}

/// The admin page again, with a problem's code when there was one.
fn back(problem: Option<&str>) -> Response {
    match problem {
        Some(code) => Redirect::to(&format!("/admin?problem={code}#problem")).into_response(),
        None => Redirect::to("/admin").into_response(),
    }
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "an admin action failed");
    crate::auth::middleware::app_unavailable()
}

fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "Only an organisation's admins may do this.",
    )
        .into_response()
}

impl UserAdmin {
    async fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        user: Uuid,
        details: serde_json::Value,
    ) {
        let entry = AuditEntry::new(action)
            .by(actor)
            .subject("user", user)
            .details(details);
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit an admin action");
        }
    }

    /// Keeps the link for the page to show once.
    async fn show_link(
        &self,
        session: &Session,
        headers: &HeaderMap,
        email: &str,
        path: String,
    ) -> Result<(), Response> {
        session
            .insert(
                SHOWN_LINK,
                json!({ "email": email, "path": format!("{}{path}", self.base_url(headers)) })
                    .to_string(),
            )
            .await
            .map_err(failed)
    }

    /// The link is handed over whole: under the public URL, or the address the admin used.
    fn base_url(&self, headers: &HeaderMap) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }

    /// The user, if it is the admin's organisation's.
    async fn own_user(&self, actor: &Actor, id: Uuid) -> Result<crate::store::User, Response> {
        match self.store.user_by_id(id).await {
            Ok(Some(user)) if user.organisation_id == actor.organisation_id => Ok(user),
            Ok(_) => Err((axum::http::StatusCode::NOT_FOUND, "No such user.").into_response()),
            Err(error) => Err(failed(error)),
        }
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    #[serde(default)]
    display_name: String,
    role: String,
}

/// `POST /admin/users`.
pub async fn create(
    State(admin): State<UserAdmin>,
    actor: Actor,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    use super::links::NewUserError;
    let Some(role) = Role::parse(form.role.trim()) else {
        return back(Some("role_invalid"));
    };
    let added = super::links::add_user(
        &admin.store,
        actor.organisation_id,
        &form.email,
        &form.display_name,
        role,
    )
    .await;
    let (user, path) = match added {
        Ok(added) => added,
        Err(NewUserError::EmailInvalid) => return back(Some("email_invalid")),
        Err(NewUserError::EmailTaken) => return back(Some("email_taken")),
        Err(NewUserError::Store(error)) => return failed(error),
    };
    admin
        .audit(
            &actor,
            AuditAction::UserCreated,
            user.id,
            json!({ "role": role.as_str() }),
        )
        .await;
    if let Err(response) = admin.show_link(&session, &headers, &user.email, path).await {
        return response;
    }
    back(None)
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /admin/users/{id}/role`.
pub async fn change_role(
    State(admin): State<UserAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let Some(role) = Role::parse(form.role.trim()) else {
        return back(Some("role_invalid"));
    };
    let user = match admin.own_user(&actor, id).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    match admin.store.set_role(actor.organisation_id, id, role).await {
        Ok(true) => {
            let details = json!({ "from": user.role.as_str(), "to": role.as_str() });
            admin
                .audit(&actor, AuditAction::UserRoleChanged, id, details)
                .await;
            back(None)
        }
        Ok(false) => back(Some("last_admin")),
        Err(error) => failed(error),
    }
}

/// `POST /admin/users/{id}/{action}`: deactivate, reactivate, unlock, reset.
pub async fn act(
    State(admin): State<UserAdmin>,
    actor: Actor,
    session: Session,
    headers: HeaderMap,
    Path((id, action)): Path<(Uuid, String)>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let user = match admin.own_user(&actor, id).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let organisation = actor.organisation_id;
    let (done, audited) = match action.as_str() {
        "deactivate" => (
            admin.store.set_active(organisation, id, false).await,
            AuditAction::UserDeactivated,
        ),
        "reactivate" => (
            admin.store.set_active(organisation, id, true).await,
            AuditAction::UserReactivated,
        ),
        "unlock" => (
            admin.store.unlock(organisation, id).await,
            AuditAction::UserUnlocked,
        ),
        "reset" => {
            let path = match super::links::create(&admin.store, id, LinkPurpose::Reset).await {
                Ok(path) => path,
                Err(error) => return failed(error),
            };
            if let Err(response) = admin.show_link(&session, &headers, &user.email, path).await {
                return response;
            }
            (Ok(true), AuditAction::UserPasswordReset)
        }
        _ => return (axum::http::StatusCode::NOT_FOUND, "No such action.").into_response(),
    };
    match done {
        Ok(true) => {
            admin.audit(&actor, audited, id, json!({})).await;
            back(None)
        }
        Ok(false) => back(Some("last_admin")),
        Err(error) => failed(error),
    }
}

#[derive(Deserialize)]
pub struct OrganisationForm {
    name: String,
    #[serde(default)]
    business_id: String,
    language: String,
    #[serde(default)]
    auto_reserve: Option<String>,
}

/// `POST /admin/organisation`: name, business ID, the language new notices start in, and
/// whether unacknowledged verifiable notices are re-served on paper by themselves.
pub async fn update_organisation(
    State(admin): State<UserAdmin>,
    actor: Actor,
    Form(form): Form<OrganisationForm>,
) -> Response {
    use app::domain::notice::NoticeLanguage;
    if !actor.is_admin() {
        return forbidden();
    }
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return back(Some("name_invalid"));
    }
    let business_id = match form.business_id.trim() {
        "" => None,
        given => match app::domain::BusinessId::parse(given) {
            Ok(id) => Some(id.as_str().to_string()),
            Err(_) => return back(Some("business_id_invalid")),
        },
    };
    let language = match form.language.as_str() {
        "sv" => NoticeLanguage::Sv,
        "en" => NoticeLanguage::En,
        _ => NoticeLanguage::Fi,
    };
    let store = &admin.store;
    let organisation = actor.organisation_id;
    if let Some(business_id) = &business_id {
        match store.organisation_by_business_id(business_id).await {
            Ok(Some(other)) if other.id != organisation => return back(Some("business_id_taken")),
            Ok(_) => {}
            Err(error) => return failed(error),
        }
        if let Err(error) = store.set_business_id(organisation, business_id).await {
            return failed(error);
        }
    }
    let mut settings = match crate::store::delivery_settings(store.as_ref(), organisation).await {
        Ok(settings) => settings,
        Err(error) => return failed(error),
    };
    settings.default_language = language;
    settings.auto_reserve_unacknowledged = form.auto_reserve.is_some();
    let saved = match serde_json::to_string(&settings) {
        Ok(json) => store.set_delivery_settings(organisation, &json).await,
        Err(error) => return failed(error),
    };
    if let Err(error) = saved {
        return failed(error);
    }
    if let Err(error) = store.rename_organisation(organisation, name).await {
        return failed(error);
    }
    let entry = AuditEntry::new(AuditAction::OrganisationUpdated)
        .by(&actor)
        .subject("organisation", organisation)
        .details(json!({
            "name": name,
            "business_id": business_id,
            "default_language": language.as_str(),
            "auto_reserve_unacknowledged": settings.auto_reserve_unacknowledged,
        }));
    if let Err(error) = admin.audit.record(entry).await {
        tracing::error!(%error, "could not audit an organisation change");
    }
    back(None)
}
