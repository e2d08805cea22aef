//! An organisation admin's Suomi.fi services, as form posts that work without wasm: add one,
//! change it (a password field left empty keeps the stored password; passwords are never
//! shown again), test its connection, change its password now. Each is audited; another
//! organisation's service is not found.

use std::sync::Arc;

use app::auth::Actor;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::secrets::{Column, DataKeys};
use crate::store::{ServiceChanges, Store, StoreError, SuomiFiServiceRow, Timestamp};
use crate::suomifi::services::SuomiFiServices;

#[derive(Clone)]
pub struct ServiceAdmin {
    pub store: Arc<dyn Store>,
    pub keys: DataKeys,
    pub services: Arc<SuomiFiServices>,
    pub audit: Audit,
}

const PAGE: &str = "/admin/services";

fn back(problem: Option<&str>) -> Response {
    match problem {
        Some(code) => Redirect::to(&format!("{PAGE}?problem={code}#problem")).into_response(),
        None => Redirect::to(PAGE).into_response(),
    }
}

fn back_to(id: Uuid, problem: &str) -> Response {
    Redirect::to(&format!("{PAGE}/{id}?problem={problem}#problem")).into_response()
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a Suomi.fi service action failed");
    crate::auth::middleware::app_unavailable()
}

fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "Only an organisation's admins may do this.",
    )
        .into_response()
}

fn not_found() -> Response {
    (axum::http::StatusCode::NOT_FOUND, "No such service.").into_response()
}

/// The form of both adding and changing a service.
#[derive(Debug, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    service_id: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    posti_username: String,
    #[serde(default)]
    posti_password: String,
    #[serde(default)]
    posti_email: String,
    #[serde(default)]
    cost_pool: String,
    #[serde(default)]
    is_default: Option<String>,
}

/// A service's fields, checked; the problem code names what is wrong.
struct Checked {
    name: String,
    service_id: String,
    username: String,
    password: Option<String>,
    posti_username: String,
    posti_password: Option<String>,
    posti_email: String,
    cost_pool: Option<String>,
    is_default: bool,
}

fn check(form: ServiceForm) -> Result<Checked, &'static str> {
    let text = |value: &str, max: usize| {
        let value = value.trim();
        (!value.is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control))
            .then(|| value.to_string())
    };
    let optional = |value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    };
    let name = text(&form.name, 100).ok_or("service_name_invalid")?;
    let service_id = text(&form.service_id, 100)
        .filter(|id| !id.contains(char::is_whitespace))
        .ok_or("service_id_invalid")?;
    let username = text(&form.username, 200).ok_or("service_username_invalid")?;
    let posti_email = form.posti_email.trim().to_string();
    if !posti_email.is_empty()
        && (!posti_email.contains('@')
            || posti_email.len() > 254
            || posti_email.contains(char::is_whitespace))
    {
        return Err("posti_email_invalid");
    }
    Ok(Checked {
        name,
        service_id,
        username,
        password: (!form.password.is_empty()).then_some(form.password),
        posti_username: form.posti_username.trim().to_string(),
        posti_password: (!form.posti_password.is_empty()).then_some(form.posti_password),
        posti_email,
        cost_pool: optional(&form.cost_pool),
        is_default: form.is_default.is_some(),
    })
}

impl ServiceAdmin {
    async fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        service: Uuid,
        details: serde_json::Value,
    ) {
        let entry = AuditEntry::new(action)
            .by(actor)
            .subject("suomifi_service", service)
            .details(details);
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit a Suomi.fi service action");
        }
    }

    /// The service, when the actor is an admin of its organisation.
    async fn own_service(&self, actor: &Actor, id: Uuid) -> Result<SuomiFiServiceRow, Response> {
        if !actor.is_admin() {
            return Err(forbidden());
        }
        match self.store.service(actor.organisation_id, id).await {
            Ok(Some(service)) => Ok(service),
            Ok(None) => Err(not_found()),
            Err(error) => Err(failed(error)),
        }
    }

    fn seal(&self, value: &str) -> Vec<u8> {
        self.keys.seal(Column::Credential, value)
    }
}

/// `POST /admin/services`.
pub async fn create(
    State(admin): State<ServiceAdmin>,
    actor: Actor,
    Form(form): Form<ServiceForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let checked = match check(form) {
        Ok(checked) => checked,
        Err(code) => return back(Some(code)),
    };
    let Some(password) = checked.password.as_deref() else {
        return back(Some("service_password_required"));
    };
    let existing = match admin.store.services(actor.organisation_id).await {
        Ok(existing) => existing,
        Err(error) => return failed(error),
    };
    let now = Timestamp::now();
    let service = SuomiFiServiceRow {
        id: Uuid::now_v7(),
        organisation_id: actor.organisation_id,
        name: checked.name,
        service_id: checked.service_id,
        username: checked.username,
        password_sealed: admin.seal(password),
        pending_password_sealed: None,
        password_changed_at: now,
        posti_username: checked.posti_username,
        posti_password_sealed: checked.posti_password.as_deref().map(|p| admin.seal(p)),
        posti_email: checked.posti_email,
        cost_pool: checked.cost_pool,
        // The first one is the default whatever the box said: a notice needs one.
        is_default: checked.is_default || existing.is_empty(),
        last_check_at: None,
        last_check_ok: None,
        last_check_message: None,
        created_at: now,
        updated_at: now,
    };
    match admin.store.create_service(&service).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return back(Some("service_id_taken")),
        Err(error) => return failed(error),
    }
    let details = json!({ "service_id": service.service_id, "name": service.name, "default": service.is_default });
    admin
        .audit(
            &actor,
            AuditAction::SuomiFiServiceCreated,
            service.id,
            details,
        )
        .await;
    back(None)
}

/// `POST /admin/services/{id}`: the service id itself stays (notices name it).
pub async fn update(
    State(admin): State<ServiceAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Form(mut form): Form<ServiceForm>,
) -> Response {
    let service = match admin.own_service(&actor, id).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    form.service_id = service.service_id.clone();
    let checked = match check(form) {
        Ok(checked) => checked,
        Err(code) => return back_to(id, code),
    };
    // Suomi.fi may already have the pending password: a typed one would replace the only copy.
    if checked.password.is_some() && service.pending_password_sealed.is_some() {
        return back_to(id, "rotation_under_way");
    }
    let changes = ServiceChanges {
        name: checked.name,
        username: checked.username,
        password_sealed: checked.password.as_deref().map(|p| admin.seal(p)),
        posti_username: checked.posti_username,
        posti_password_sealed: checked.posti_password.as_deref().map(|p| admin.seal(p)),
        posti_email: checked.posti_email,
        cost_pool: checked.cost_pool,
        is_default: checked.is_default,
    };
    match admin
        .store
        .update_service(actor.organisation_id, id, &changes, Timestamp::now())
        .await
    {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(error) => return failed(error),
    }
    // What changed, never the values of secrets.
    let details = json!({
        "name": changes.name,
        "username_changed": changes.username != service.username,
        "password_changed": changes.password_sealed.is_some(),
        "posti_password_changed": changes.posti_password_sealed.is_some(),
        "default": changes.is_default || service.is_default,
    });
    admin
        .audit(&actor, AuditAction::SuomiFiServiceChanged, id, details)
        .await;
    back(None)
}

/// `POST /admin/services/{id}/test`: a token request with the stored credentials.
pub async fn test_connection(
    State(admin): State<ServiceAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    let service = match admin.own_service(&actor, id).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    match admin.services.test_connection(&service).await {
        Ok(check) => {
            admin
                .audit(
                    &actor,
                    AuditAction::SuomiFiServiceTested,
                    id,
                    json!({ "ok": check.ok }),
                )
                .await;
            back(None)
        }
        Err(error) => failed(error),
    }
}

/// `POST /admin/services/{id}/rotate`: a new generated password through Suomi.fi's
/// change-password call.
pub async fn rotate(
    State(admin): State<ServiceAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    use crate::suomifi::services::ServiceError;
    let service = match admin.own_service(&actor, id).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let outcome = admin.services.rotate_password(&service).await;
    let details = json!({ "ok": outcome.is_ok(), "automatic": false });
    admin
        .audit(&actor, AuditAction::SuomiFiPasswordRotated, id, details)
        .await;
    match outcome {
        Ok(()) => back(None),
        Err(ServiceError::ChangeUnderWay) => back(Some("rotation_under_way")),
        // The refusal is kept on the service and shown beside it.
        Err(ServiceError::SuomiFi(_)) => back(Some("rotation_failed")),
        Err(error) => failed(error),
    }
}
