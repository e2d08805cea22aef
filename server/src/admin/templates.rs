//! An organisation admin's notice templates, as form posts that work without wasm: add one,
//! save a change as its next version (refused when someone saved a version meanwhile, so no
//! edit silently undoes another), archive and restore. Each is audited.

use std::sync::Arc;

use app::auth::Actor;
use app::domain::notice::{NoticeLanguage, NoticeType};
use app::domain::placeholders::{fill, PlaceholderValues};
use app::templates::TemplateContent;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{Store, TemplateRow, TemplateVersionRow, Timestamp};

#[derive(Clone)]
pub struct TemplateAdmin {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
}

fn back(path: &str, problem: Option<&str>) -> Response {
    match problem {
        Some(code) => Redirect::to(&format!("{path}?problem={code}#problem")).into_response(),
        None => Redirect::to(path).into_response(),
    }
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a template action failed");
    crate::auth::middleware::app_unavailable()
}

fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "Only an organisation's admins may do this.",
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    notice_type: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    decision_maker: String,
    #[serde(default)]
    contact_person: String,
    #[serde(default)]
    contact_details: String,
    #[serde(default)]
    appeal_instructions: String,
    #[serde(default)]
    appeal_days: String,
    #[serde(default)]
    appeal_basis: String,
    #[serde(default)]
    verifiable: Option<String>,
    #[serde(default)]
    replies_allowed: Option<String>,
    /// The version the admin edited (changing only).
    #[serde(default)]
    after: Option<i32>,
}

struct Checked {
    name: String,
    notice_type: NoticeType,
    language: NoticeLanguage,
    content: TemplateContent,
}

fn check(form: &TemplateForm) -> Result<Checked, &'static str> {
    let optional = |value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    };
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("name_invalid");
    }
    let notice_type = NoticeType::parse(form.notice_type.trim()).ok_or("type_invalid")?;
    let language = NoticeLanguage::parse(form.language.trim()).ok_or("type_invalid")?;
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 256 {
        return Err("title_invalid");
    }
    if form.body.trim().is_empty() || form.body.chars().count() > 100_000 {
        return Err("body_invalid");
    }
    let appeal_days = match form.appeal_days.trim() {
        "" => None,
        days => Some(
            days.parse::<u16>()
                .ok()
                .filter(|d| *d <= 365)
                .ok_or("appeal_days_invalid")?,
        ),
    };
    let content = TemplateContent {
        title: title.to_string(),
        body: form.body.replace("\r\n", "\n"),
        reasons: optional(&form.reasons.replace("\r\n", "\n")),
        decision_maker: optional(&form.decision_maker),
        contact_person: optional(&form.contact_person),
        contact_details: optional(&form.contact_details),
        appeal_instructions: optional(&form.appeal_instructions.replace("\r\n", "\n")),
        appeal_days,
        appeal_basis: optional(&form.appeal_basis),
        verifiable: form.verifiable.is_some(),
        replies_allowed: form.replies_allowed.is_some(),
    };
    // Placeholders are checked now, not first when a caseworker sends.
    let sample = PlaceholderValues::default();
    let texts = [
        Some(&content.title),
        Some(&content.body),
        content.reasons.as_ref(),
        content.appeal_instructions.as_ref(),
    ];
    for text in texts.into_iter().flatten() {
        fill(text, &sample).map_err(|_| "placeholder_unknown")?;
    }
    Ok(Checked {
        name: name.to_string(),
        notice_type,
        language,
        content,
    })
}

impl TemplateAdmin {
    async fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        id: Uuid,
        details: serde_json::Value,
    ) {
        let entry = AuditEntry::new(action)
            .by(actor)
            .subject("template", id)
            .details(details);
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit a template action");
        }
    }
}

fn version_row(
    id: Uuid,
    version: i32,
    actor: &Actor,
    content: &TemplateContent,
) -> TemplateVersionRow {
    TemplateVersionRow {
        template_id: id,
        version,
        content: serde_json::to_string(content).expect("template content serialises"),
        created_by: actor.user_id(),
        created_at: Timestamp::now(),
    }
}

/// `POST /admin/templates`.
pub async fn create(
    State(admin): State<TemplateAdmin>,
    actor: Actor,
    Form(form): Form<TemplateForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let checked = match check(&form) {
        Ok(checked) => checked,
        Err(code) => return back("/admin/templates", Some(code)),
    };
    let now = Timestamp::now();
    let template = TemplateRow {
        id: Uuid::now_v7(),
        organisation_id: actor.organisation_id,
        name: checked.name,
        notice_type: checked.notice_type.as_str().to_string(),
        language: checked.language.as_str().to_string(),
        latest_version: 1,
        archived: false,
        created_at: now,
        updated_at: now,
    };
    let first = version_row(template.id, 1, &actor, &checked.content);
    if let Err(error) = admin.store.create_template(&template, &first).await {
        return failed(error);
    }
    admin
        .audit(
            &actor,
            AuditAction::TemplateCreated,
            template.id,
            json!({ "name": template.name, "version": 1 }),
        )
        .await;
    Redirect::to(&format!("/admin/templates/{}", template.id)).into_response()
}

/// `POST /admin/templates/{id}`: the next version. Type and language stay (a template is for
/// one of each); a different choice is a new template.
pub async fn new_version(
    State(admin): State<TemplateAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Form(form): Form<TemplateForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let page = format!("/admin/templates/{id}");
    let template = match admin.store.template(actor.organisation_id, id).await {
        Ok(Some(template)) => template,
        Ok(None) => {
            return (axum::http::StatusCode::NOT_FOUND, "No such template.").into_response()
        }
        Err(error) => return failed(error),
    };
    let form = TemplateForm {
        notice_type: template.notice_type.clone(),
        language: template.language.clone(),
        ..form
    };
    let checked = match check(&form) {
        Ok(checked) => checked,
        Err(code) => return back(&page, Some(code)),
    };
    let after = form.after.unwrap_or(template.latest_version);
    let version = version_row(id, after + 1, &actor, &checked.content);
    match admin
        .store
        .add_template_version(actor.organisation_id, &checked.name, after, &version)
        .await
    {
        Ok(true) => {}
        Ok(false) => return back(&page, Some("edited_meanwhile")),
        Err(error) => return failed(error),
    }
    admin
        .audit(
            &actor,
            AuditAction::TemplateVersionSaved,
            id,
            json!({ "name": checked.name, "version": version.version }),
        )
        .await;
    back(&page, None)
}

#[derive(Debug, Deserialize)]
pub struct ArchiveForm {
    archived: bool,
}

/// `POST /admin/templates/{id}/archive`: out of use (or back); its versions stay.
pub async fn archive(
    State(admin): State<TemplateAdmin>,
    actor: Actor,
    Path(id): Path<Uuid>,
    Form(form): Form<ArchiveForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    match admin
        .store
        .set_template_archived(actor.organisation_id, id, form.archived)
        .await
    {
        Ok(true) => {
            admin
                .audit(
                    &actor,
                    AuditAction::TemplateArchived,
                    id,
                    json!({ "archived": form.archived }),
                )
                .await;
            back(&format!("/admin/templates/{id}"), None)
        }
        Ok(false) => (axum::http::StatusCode::NOT_FOUND, "No such template.").into_response(),
        Err(error) => failed(error),
    }
}
