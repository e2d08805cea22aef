//! Notice templates: per notice type and language, a title and body with placeholders, a
//! decision's fixed blocks, appeal days and their legal basis, verifiable and replies allowed.
//! Saving a change makes a new version; a notice keeps the version it was made from. Admins
//! manage them at `/admin/templates`; caseworkers start a notice from one on `/compose`.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::notice::{NoticeLanguage, NoticeType};
use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::Forbidden;

/// One version's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateContent {
    pub title: String,
    pub body: String,
    /// A decision's reasons (perustelut), added under the body.
    #[serde(default)]
    pub reasons: Option<String>,
    /// The deciding authority.
    #[serde(default)]
    pub decision_maker: Option<String>,
    #[serde(default)]
    pub contact_person: Option<String>,
    #[serde(default)]
    pub contact_details: Option<String>,
    /// Appeal or rectification instructions.
    #[serde(default)]
    pub appeal_instructions: Option<String>,
    #[serde(default)]
    pub appeal_days: Option<u16>,
    /// The law the appeal period comes from (`HL 49 c §`, `KuntaL 134 §`).
    #[serde(default)]
    pub appeal_basis: Option<String>,
    #[serde(default)]
    pub verifiable: bool,
    #[serde(default)]
    pub replies_allowed: bool,
}

/// Which version of which template a notice was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateUse {
    pub id: Uuid,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSummary {
    pub id: Uuid,
    pub name: String,
    pub notice_type: NoticeType,
    pub language: NoticeLanguage,
    pub version: i32,
    /// Finnish local time of the latest version.
    pub updated_at: String,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVersionView {
    pub version: i32,
    pub at: String,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateDetail {
    pub summary: TemplateSummary,
    pub content: TemplateContent,
    /// Newest first.
    pub versions: Vec<TemplateVersionView>,
}

/// The organisation's templates: every one for admins, the ones in use for caseworkers.
#[server(prefix = "/api", endpoint = "list_templates")]
pub async fn list_templates() -> Result<Vec<TemplateSummary>, AppError> {
    crate::error::with_status(
        async {
            let user = crate::auth::ssr::require_role(&[
                crate::auth::Role::Admin,
                crate::auth::Role::Caseworker,
            ])?;
            let backend = use_context::<std::sync::Arc<dyn ssr::TemplateBackend>>()
                .ok_or_else(|| AppError::internal("TemplateBackend missing from context"))?;
            let all = backend.templates(user.organisation_id).await?;
            Ok(if user.role == crate::auth::Role::Admin {
                all
            } else {
                all.into_iter().filter(|t| !t.archived).collect()
            })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "template_for_editing")]
pub async fn template_for_editing(id: Uuid) -> Result<TemplateDetail, AppError> {
    crate::error::with_status(
        async {
            let admin = crate::auth::ssr::require_role(&[crate::auth::Role::Admin])?;
            let backend = use_context::<std::sync::Arc<dyn ssr::TemplateBackend>>()
                .ok_or_else(|| AppError::internal("TemplateBackend missing from context"))?;
            backend.template(admin.organisation_id, id).await
        }
        .await,
    )
}

#[component]
fn TemplateProblem() -> impl IntoView {
    let i18n = use_i18n();
    let problem = use_query_map().read_untracked().get("problem");
    problem.map(|code| {
        let text = match code.as_str() {
            "name_invalid" => t_string!(i18n, templates.problems.name_invalid),
            "title_invalid" => t_string!(i18n, templates.problems.title_invalid),
            "body_invalid" => t_string!(i18n, templates.problems.body_invalid),
            "placeholder_unknown" => t_string!(i18n, templates.problems.placeholder_unknown),
            "appeal_days_invalid" => t_string!(i18n, templates.problems.appeal_days_invalid),
            "edited_meanwhile" => t_string!(i18n, templates.problems.edited_meanwhile),
            _ => t_string!(i18n, templates.problems.type_invalid),
        };
        view! {
            <div class="error-summary" role="alert" tabindex="-1" id="problem" aria-labelledby="template-problem-title">
                <h2 id="template-problem-title" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p data-testid="template-problem">{text}</p>
            </div>
        }
    })
}

fn type_name(kind: NoticeType) -> String {
    crate::words::notice_type(use_i18n().get_locale(), kind.as_str())
}

fn language_name(language: NoticeLanguage) -> String {
    let i18n = use_i18n();
    match language {
        NoticeLanguage::Fi => t_string!(i18n, languages.fi).to_string(),
        NoticeLanguage::Sv => t_string!(i18n, languages.sv).to_string(),
        NoticeLanguage::En => t_string!(i18n, languages.en).to_string(),
    }
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let i18n = use_i18n();
    // The list is the composers' too (to start from a template); this page, which adds and
    // edits them, is the admins'.
    let templates = Resource::new_blocking(
        || (),
        |_| async move {
            match crate::auth::current_user().await? {
                Some(user) if user.role == crate::auth::Role::Admin => list_templates().await,
                _ => Err(AppError::Forbidden),
            }
        },
    );
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, templates.title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || Suspend::new(async move {
                match templates.await {
                    Ok(list) => view! {
                        <p><a href="/admin">{t!(i18n, services.back_to_admin)}</a></p>
                        <h1>{t!(i18n, templates.title)}</h1>
                        <TemplateProblem />
                        <p>{t!(i18n, templates.intro)}</p>
                        {(!list.is_empty()).then(|| view! {
                            <table class="table" aria-labelledby="templates-heading" data-testid="templates">
                                <caption id="templates-heading" class="visually-hidden">{t!(i18n, templates.title)}</caption>
                                <thead><tr>
                                    <th scope="col">{t!(i18n, templates.name)}</th>
                                    <th scope="col">{t!(i18n, templates.notice_type)}</th>
                                    <th scope="col">{t!(i18n, templates.language)}</th>
                                    <th scope="col">{t!(i18n, templates.version)}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|template| view! {
                                        <tr>
                                            <td>
                                                <a href=format!("/admin/templates/{}", template.id)>{template.name.clone()}</a>
                                                {template.archived.then(|| view! { " " <strong class="tag tag--neutral">{t!(i18n, templates.archived)}</strong> })}
                                            </td>
                                            <td>{type_name(template.notice_type)}</td>
                                            <td>{language_name(template.language)}</td>
                                            <td>{template.version}" · "{template.updated_at.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })}
                        <h2 id="template-form-heading">{t!(i18n, templates.add)}</h2>
                        <TemplateForm action="/admin/templates".to_string() detail=None />
                    }.into_any(),
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn TemplatePage() -> impl IntoView {
    let i18n = use_i18n();
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let detail = Resource::new_blocking(
        move || id,
        |id| async move {
            match id {
                Some(id) => template_for_editing(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, templates.edit_title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => {
                        let versions = detail.versions.clone();
                        let id = detail.summary.id;
                        let archived = detail.summary.archived;
                        view! {
                            <p><a href="/admin/templates">{t!(i18n, templates.back)}</a></p>
                            <h1 id="template-form-heading">{detail.summary.name.clone()}</h1>
                            <TemplateProblem />
                            <p data-testid="template-version">
                                {move || t_string!(i18n, templates.current_version, version = detail.summary.version).to_string()}
                            </p>
                            <TemplateForm action=format!("/admin/templates/{id}") detail=Some(detail.clone()) />
                            <form method="post" action=format!("/admin/templates/{id}/archive") class="form">
                                <input type="hidden" name="archived" value=if archived { "false" } else { "true" } />
                                <button type="submit" class="button button--secondary">
                                    {if archived { t!(i18n, templates.restore).into_any() } else { t!(i18n, templates.archive).into_any() }}
                                </button>
                            </form>
                            <h2 id="versions-heading">{t!(i18n, templates.versions)}</h2>
                            <ul aria-labelledby="versions-heading">
                                {versions.into_iter().map(|v| view! {
                                    <li>{move || t_string!(i18n, templates.version_line, version = v.version, at = v.at.clone(), by = v.by.clone()).to_string()}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Adding (no detail) or changing (a new version over the one shown) a template.
#[component]
fn TemplateForm(action: String, detail: Option<TemplateDetail>) -> impl IntoView {
    let i18n = use_i18n();
    let content = detail
        .as_ref()
        .map(|d| d.content.clone())
        .unwrap_or_default();
    let summary = detail.as_ref().map(|d| d.summary.clone());
    let kind = summary
        .as_ref()
        .map(|s| s.notice_type)
        .unwrap_or(NoticeType::Decision);
    let language = summary.as_ref().map(|s| s.language).unwrap_or_default();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    view! {
        <form method="post" action=action class="form" aria-labelledby="template-form-heading">
            {summary.as_ref().map(|s| view! { <input type="hidden" name="after" value=s.version.to_string() /> })}
            <div class="field">
                <label for="template-name">{t!(i18n, templates.name)}</label>
                <input id="template-name" name="name" type="text" required maxlength="100"
                    value=summary.as_ref().map(|s| s.name.clone()).unwrap_or_default() />
            </div>
            // A template is for one type and language: another is a new template.
            {match summary.as_ref() {
                Some(summary) => view! {
                    <p data-testid="template-kind">
                        {t!(i18n, templates.notice_type)}": " <strong>{type_name(summary.notice_type)}</strong>
                        " · " {t!(i18n, templates.language)}": " <strong>{language_name(summary.language)}</strong>
                    </p>
                }.into_any(),
                None => view! {
                    <div class="field">
                        <label for="template-type">{t!(i18n, templates.notice_type)}</label>
                        <select id="template-type" name="notice_type">
                            {NoticeType::ALL.into_iter().map(|option| view! {
                                <option value=option.as_str() selected=option == kind>{type_name(option)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="template-language">{t!(i18n, templates.language)}</label>
                        <select id="template-language" name="language">
                            {[NoticeLanguage::Fi, NoticeLanguage::Sv, NoticeLanguage::En].into_iter().map(|option| view! {
                                <option value=option.as_str() selected=option == language>{language_name(option)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                }.into_any(),
            }}
            <p class="hint" id="placeholders-hint">
                {t!(i18n, templates.placeholders_hint)} " "
                {[
                    t_string!(i18n, templates.ph_case).to_string(),
                    t_string!(i18n, templates.ph_recipient).to_string(),
                    t_string!(i18n, templates.ph_date).to_string(),
                    t_string!(i18n, templates.ph_decision_date).to_string(),
                ].into_iter().map(|name| view! { <code>{format!("{{{{{name}}}}}")}</code> " " }).collect_view()}
            </p>
            <div class="field">
                <label for="template-title">{t!(i18n, templates.title_field)}</label>
                <input id="template-title" name="title" type="text" required maxlength="256"
                    aria-describedby="placeholders-hint" value=content.title.clone() />
            </div>
            <div class="field">
                <label for="template-body">{t!(i18n, templates.body)}</label>
                <textarea id="template-body" name="body" rows="10" required aria-describedby="placeholders-hint">{content.body.clone()}</textarea>
            </div>
            <fieldset class="fieldset">
                <legend>{t!(i18n, templates.decision_legend)}</legend>
                <div class="field">
                    <label for="template-reasons">{t!(i18n, templates.reasons)}</label>
                    <textarea id="template-reasons" name="reasons" rows="4">{text(&content.reasons)}</textarea>
                </div>
                <div class="field">
                    <label for="template-decision-maker">{t!(i18n, templates.decision_maker)}</label>
                    <input id="template-decision-maker" name="decision_maker" type="text" value=text(&content.decision_maker) />
                </div>
                <div class="field">
                    <label for="template-contact-person">{t!(i18n, templates.contact_person)}</label>
                    <input id="template-contact-person" name="contact_person" type="text" value=text(&content.contact_person) />
                </div>
                <div class="field">
                    <label for="template-contact-details">{t!(i18n, templates.contact_details)}</label>
                    <input id="template-contact-details" name="contact_details" type="text" value=text(&content.contact_details) />
                </div>
                <div class="field">
                    <label for="template-appeal">{t!(i18n, templates.appeal_instructions)}</label>
                    <textarea id="template-appeal" name="appeal_instructions" rows="5">{text(&content.appeal_instructions)}</textarea>
                </div>
                <div class="field">
                    <label for="template-appeal-days">{t!(i18n, templates.appeal_days)}</label>
                    <input id="template-appeal-days" name="appeal_days" type="number" min="0" max="365" inputmode="numeric"
                        value=content.appeal_days.map(|d| d.to_string()).unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="template-appeal-basis">{t!(i18n, templates.appeal_basis)}</label>
                    <input id="template-appeal-basis" name="appeal_basis" type="text" value=text(&content.appeal_basis) />
                </div>
            </fieldset>
            <div class="field checkbox">
                <input id="template-verifiable" name="verifiable" type="checkbox" value="on" checked=content.verifiable />
                <label for="template-verifiable">{t!(i18n, templates.verifiable)}</label>
            </div>
            <div class="field checkbox">
                <input id="template-replies" name="replies_allowed" type="checkbox" value="on" checked=content.replies_allowed />
                <label for="template-replies">{t!(i18n, templates.replies_allowed)}</label>
            </div>
            <button type="submit" class="button button--primary">
                {if detail.is_some() { t!(i18n, templates.save).into_any() } else { t!(i18n, templates.add_button).into_any() }}
            </button>
        </form>
    }
}

/// On `/compose`: start a notice from a template (a plain form: works without wasm).
#[component]
pub fn StartFromTemplate() -> impl IntoView {
    let i18n = use_i18n();
    let templates = Resource::new_blocking(|| (), |_| list_templates());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let list: Vec<TemplateSummary> = templates.await.unwrap_or_default()
                    .into_iter().filter(|t| !t.archived).collect();
                (!list.is_empty()).then(|| view! {
                    <form method="post" action="/compose/new" class="form" aria-labelledby="from-template-heading">
                        <h2 id="from-template-heading">{t!(i18n, templates.start_heading)}</h2>
                        <div class="field">
                            <label for="start-template">{t!(i18n, templates.choose)}</label>
                            <select id="start-template" name="template">
                                {list.into_iter().map(|t| view! {
                                    <option value=t.id.to_string()>{format!("{} ({})", t.name, language_name(t.language))}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <button type="submit" class="button button--secondary" data-testid="new-from-template">
                            {t!(i18n, templates.start)}
                        </button>
                    </form>
                })
            })}
        </Suspense>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use async_trait::async_trait;
    use uuid::Uuid;

    use crate::error::AppError;

    #[async_trait]
    pub trait TemplateBackend: Send + Sync {
        async fn templates(
            &self,
            organisation_id: Uuid,
        ) -> Result<Vec<super::TemplateSummary>, AppError>;
        async fn template(
            &self,
            organisation_id: Uuid,
            id: Uuid,
        ) -> Result<super::TemplateDetail, AppError>;
    }
}
