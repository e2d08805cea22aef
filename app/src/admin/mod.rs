//! Organisation administration: users (and later credentials, templates, audit log).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Role;
use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::Forbidden;

mod audit;
mod services;
pub use audit::{audit_log, AuditEntries, AuditFilter, AuditPage, AuditRow};
pub use services::{
    mail_bridge_settings, suomifi_services, MailBridgeView, ServiceCheckView, ServicePage,
    ServiceSummary, ServicesPage,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub last_login_at: Option<String>,
    pub active: bool,
    /// Locked after failed sign-ins, now.
    pub locked: bool,
}

/// An API key as the admin page lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Finnish local time.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A key just made, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownApiKey {
    pub name: String,
    pub key: String,
}

#[server(prefix = "/api", endpoint = "organisation_api_keys")]
pub async fn organisation_api_keys() -> Result<Vec<ApiKeySummary>, AppError> {
    crate::error::with_status(
        async {
            let (organisation, backend) = crate::admin::ssr::for_admin()?;
            backend.api_keys(organisation).await
        }
        .await,
    )
}

/// The key the admin just made, once: reading it forgets it.
#[server(prefix = "/api", endpoint = "take_shown_api_key")]
pub async fn take_shown_api_key() -> Result<Option<ShownApiKey>, AppError> {
    crate::error::with_status(
        async {
            crate::auth::ssr::require_role(&[Role::Admin])?;
            ssr::take_once(ssr::SHOWN_API_KEY).await
        }
        .await,
    )
}

/// A one-time link to hand to a user, shown once after it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownLink {
    pub email: String,
    /// The whole link, `https://…/welcome/<token>`.
    pub path: String,
}

/// The users of the signed-in admin's own organisation.
#[server(prefix = "/api", endpoint = "organisation_users")]
pub async fn organisation_users() -> Result<Vec<UserSummary>, AppError> {
    crate::error::with_status(
        async {
            let (organisation, backend) = crate::admin::ssr::for_admin()?;
            backend.organisation_users(organisation).await
        }
        .await,
    )
}

/// What the admin page's organisation form shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationDetails {
    pub name: String,
    pub business_id: Option<String>,
    /// `fi`, `sv` or `en`.
    pub default_language: String,
    pub auto_reserve: bool,
    /// A letterhead logo is in use.
    #[serde(default)]
    pub has_logo: bool,
}

#[server(prefix = "/api", endpoint = "organisation_settings")]
pub async fn organisation_settings() -> Result<OrganisationDetails, AppError> {
    crate::error::with_status(
        async {
            let (organisation, backend) = crate::admin::ssr::for_admin()?;
            backend.organisation_settings(organisation).await
        }
        .await,
    )
}

/// The link the admin just made, once: reading it forgets it.
#[server(prefix = "/api", endpoint = "take_shown_link")]
pub async fn take_shown_link() -> Result<Option<ShownLink>, AppError> {
    crate::error::with_status(
        async {
            crate::auth::ssr::require_role(&[Role::Admin])?;
            ssr::take_once(ssr::SHOWN_LINK).await
        }
        .await,
    )
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let i18n = use_i18n();
    let users = Resource::new_blocking(|| (), |_| organisation_users());
    let shown = Resource::new_blocking(|| (), |_| take_shown_link());
    let organisation = Resource::new_blocking(|| (), |_| organisation_settings());
    let api_keys = Resource::new_blocking(|| (), |_| organisation_api_keys());
    let shown_key = Resource::new_blocking(|| (), |_| take_shown_api_key());
    let problem = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("problem");
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, admin.title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || {
                let problem = problem.clone();
                Suspend::new(async move {
                    match (users.await, shown.await) {
                        (Ok(users), shown) => view! {
                            <h1>{t!(i18n, admin.title)}</h1>
                            <Problem problem />
                            <LinkPanel shown=shown.ok().flatten() />
                            <ul class="link-list">
                                <li><a href="/admin/services" data-testid="services-link">{t!(i18n, admin.services_link)}</a></li>
                                <li><a href="/admin/templates" data-testid="templates-link">{t!(i18n, admin.templates_link)}</a></li>
                            </ul>
                            <UserTable users />
                            <AddUser />
                            {organisation.await.ok().map(|settings| view! { <OrganisationForm settings /> })}
                            {
                                let shown = shown_key.await.ok().flatten();
                                api_keys.await.ok().map(|keys| view! { <ApiKeys keys shown /> })
                            }
                        }.into_any(),
                        (Err(AppError::Forbidden), _) => view! { <Forbidden /> }.into_any(),
                        (Err(error), _) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn Problem(problem: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    problem.map(|code| {
        let text = match code.as_str() {
            "email_invalid" => t_string!(i18n, admin.problems.email_invalid).to_string(),
            "email_taken" => t_string!(i18n, admin.problems.email_taken).to_string(),
            "last_admin" => t_string!(i18n, admin.problems.last_admin).to_string(),
            "name_invalid" => t_string!(i18n, admin.problems.name_invalid).to_string(),
            "business_id_invalid" => t_string!(i18n, admin.problems.business_id_invalid).to_string(),
            "business_id_taken" => t_string!(i18n, admin.problems.business_id_taken).to_string(),
            "logo_too_large" => t_string!(i18n, admin.problems.logo_too_large).to_string(),
            "logo_not_png" => t_string!(i18n, admin.problems.logo_not_png).to_string(),
            "logo_too_many_pixels" => t_string!(i18n, admin.problems.logo_too_many_pixels).to_string(),
            "logo_missing" => t_string!(i18n, admin.problems.logo_missing).to_string(),
            "api_key_name_invalid" => t_string!(i18n, admin.problems.api_key_name_invalid).to_string(),
            _ => t_string!(i18n, admin.problems.role_invalid).to_string(),
        };
        view! {
            <div class="error-summary" role="alert" tabindex="-1" id="problem" aria-labelledby="admin-problem-title">
                <h2 id="admin-problem-title" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p data-testid="admin-problem">{text}</p>
            </div>
        }
    })
}

/// The link just made, to copy and hand over (no mail may be configured).
#[component]
fn LinkPanel(shown: Option<ShownLink>) -> impl IntoView {
    let i18n = use_i18n();
    shown.map(|shown| {
        let email = shown.email.clone();
        view! {
            <div class="notice-panel" role="status" data-testid="shown-link">
                <h2>{t!(i18n, admin.link_title)}</h2>
                <p>{move || t_string!(i18n, admin.link_intro, email = email.clone()).to_string()}</p>
                <p><code class="link-to-copy">{shown.path}</code></p>
            </div>
        }
    })
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2 id="users-heading">{t!(i18n, admin.users)}</h2>
        <table class="table" aria-labelledby="users-heading">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, admin.name)}</th>
                    <th scope="col">{t!(i18n, admin.role)}</th>
                    <th scope="col">{t!(i18n, admin.last_login)}</th>
                    <th scope="col">{t!(i18n, admin.actions)}</th>
                </tr>
            </thead>
            <tbody>
                {users.into_iter().map(|user| view! { <UserRow user /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserRow(user: UserSummary) -> impl IntoView {
    let i18n = use_i18n();
    let action = |name: &str| format!("/admin/users/{}/{name}", user.id);
    let role_id = format!("role-{}", user.id);
    let state = if !user.active {
        Some(t_string!(i18n, admin.inactive).to_string())
    } else if user.locked {
        Some(t_string!(i18n, admin.locked).to_string())
    } else {
        None
    };
    view! {
        <tr data-testid="user-row">
            <td>
                {user.display_name.clone()}<br />
                <span class="muted">{user.email.clone()}</span>
                {state.map(|state| view! { " " <strong class="tag">{state}</strong> })}
            </td>
            <td>
                <form method="post" action=action("role") class="inline-form">
                    <label for=role_id.clone() class="visually-hidden">
                        {move || t_string!(i18n, admin.role_of, name = user.display_name.clone()).to_string()}
                    </label>
                    <select id=role_id name="role">
                        {[Role::Admin, Role::Caseworker, Role::Auditor].into_iter().map(|role| view! {
                            <option value=role.as_str() selected=role == user.role><RoleName role /></option>
                        }).collect_view()}
                    </select>
                    " "
                    <button type="submit" class="button button--secondary">{t!(i18n, admin.save_role)}</button>
                </form>
            </td>
            <td>{match user.last_login_at {
                Some(at) => view! { <time datetime=at.clone()>{at.replace('T', " ").chars().take(16).collect::<String>()}" UTC"</time> }.into_any(),
                None => t!(i18n, admin.never).into_any(),
            }}</td>
            <td>
                {if user.active {
                    view! { <ActionButton action=action("deactivate") label=t_string!(i18n, admin.deactivate).to_string() /> }.into_any()
                } else {
                    view! { <ActionButton action=action("reactivate") label=t_string!(i18n, admin.reactivate).to_string() /> }.into_any()
                }}
                <ActionButton action=action("reset") label=t_string!(i18n, admin.reset_password).to_string() />
                {user.locked.then(|| view! { <ActionButton action=action("unlock") label=t_string!(i18n, admin.unlock).to_string() /> })}
            </td>
        </tr>
    }
}

#[component]
fn ActionButton(action: String, label: String) -> impl IntoView {
    view! {
        <form method="post" action=action class="inline-form">
            <button type="submit" class="button button--secondary">{label}</button>
        </form>
    }
}

#[component]
fn OrganisationForm(settings: OrganisationDetails) -> impl IntoView {
    let i18n = use_i18n();
    let language = settings.default_language.clone();
    view! {
        <h2 id="organisation-heading">{t!(i18n, admin.organisation)}</h2>
        <form method="post" action="/admin/organisation" class="form" aria-labelledby="organisation-heading">
            <div class="field">
                <label for="organisation-name">{t!(i18n, admin.organisation_name)}</label>
                <input id="organisation-name" name="name" type="text" value=settings.name required />
            </div>
            <div class="field">
                <label for="organisation-business-id">{t!(i18n, admin.business_id)}</label>
                <input id="organisation-business-id" name="business_id" type="text"
                    value=settings.business_id.unwrap_or_default() />
            </div>
            <div class="field">
                <label for="organisation-language">{t!(i18n, admin.default_language)}</label>
                <select id="organisation-language" name="language">
                    <option value="fi" selected=language == "fi">"Suomi"</option>
                    <option value="sv" selected=language == "sv">"Svenska"</option>
                    <option value="en" selected=language == "en">"English"</option>
                </select>
            </div>
            <div class="field checkbox">
                <input id="organisation-auto-reserve" name="auto_reserve" type="checkbox" value="on"
                    checked=settings.auto_reserve />
                <label for="organisation-auto-reserve">{t!(i18n, admin.auto_reserve)}</label>
            </div>
            <button type="submit" class="button button--primary">{t!(i18n, admin.save_organisation)}</button>
        </form>
        <h3 id="logo-heading">{t!(i18n, admin.logo)}</h3>
        <p data-testid="logo-state">
            {if settings.has_logo { t!(i18n, admin.logo_in_use).into_any() } else { t!(i18n, admin.logo_none).into_any() }}
        </p>
        <form method="post" action="/admin/organisation/logo" enctype="multipart/form-data" class="form" aria-labelledby="logo-heading">
            <div class="field">
                <label for="organisation-logo">{t!(i18n, admin.logo_file)}</label>
                <span class="hint" id="organisation-logo-hint">{t!(i18n, admin.logo_hint)}</span>
                <input id="organisation-logo" name="logo" type="file" accept="image/png,image/svg+xml" aria-describedby="organisation-logo-hint" />
            </div>
            <div class="button-row">
                <button type="submit" class="button button--secondary">{t!(i18n, admin.logo_upload)}</button>
                {settings.has_logo.then(|| view! {
                    <button type="submit" name="remove" value="1" class="button button--secondary">{t!(i18n, admin.logo_remove)}</button>
                })}
            </div>
        </form>
    }
}

/// Keys of case-management systems: made here (shown once), revoked here.
#[component]
fn ApiKeys(keys: Vec<ApiKeySummary>, shown: Option<ShownApiKey>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2 id="api-keys-heading">{t!(i18n, admin.api_keys)}</h2>
        <p>{t!(i18n, admin.api_keys_intro)}</p>
        {shown.map(|shown| {
            let name = shown.name.clone();
            view! {
                <div class="notice-panel" role="status" data-testid="shown-api-key">
                    <h3>{move || t_string!(i18n, admin.api_key_shown, name = name.clone()).to_string()}</h3>
                    <p>{t!(i18n, admin.api_key_once)}</p>
                    <p><code class="link-to-copy">{shown.key}</code></p>
                </div>
            }
        })}
        {(!keys.is_empty()).then(|| view! {
            <table class="table" aria-labelledby="api-keys-heading" data-testid="api-keys">
                <thead><tr>
                    <th scope="col">{t!(i18n, admin.name)}</th>
                    <th scope="col">{t!(i18n, admin.api_key_prefix)}</th>
                    <th scope="col">{t!(i18n, admin.api_key_used)}</th>
                    <th scope="col">{t!(i18n, admin.actions)}</th>
                </tr></thead>
                <tbody>
                    {keys.into_iter().map(|key| {
                        let revoke = format!("/admin/api-keys/{}/revoke", key.id);
                        view! {
                            <tr>
                                <td>{key.name.clone()}<br /><span class="muted">{key.created_at.clone()}</span></td>
                                <td><code>{key.prefix.clone()}"…"</code></td>
                                <td>{match (key.revoked, key.last_used_at.clone()) {
                                    (true, _) => view! { <strong class="tag">{t!(i18n, admin.api_key_revoked)}</strong> }.into_any(),
                                    (false, Some(at)) => at.into_any(),
                                    (false, None) => t!(i18n, admin.never).into_any(),
                                }}</td>
                                <td>{(!key.revoked).then(|| view! {
                                    <ActionButton action=revoke label=t_string!(i18n, admin.api_key_revoke).to_string() />
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        <form method="post" action="/admin/api-keys" class="form" aria-labelledby="api-keys-heading">
            <div class="field">
                <label for="api-key-name">{t!(i18n, admin.api_key_name)}</label>
                <span class="hint" id="api-key-name-hint">{t!(i18n, admin.api_key_name_hint)}</span>
                <input id="api-key-name" name="name" type="text" maxlength="100" required
                    aria-describedby="api-key-name-hint" autocomplete="off" />
            </div>
            <button type="submit" class="button button--secondary">{t!(i18n, admin.api_key_create)}</button>
        </form>
    }
}

#[component]
fn AddUser() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2 id="add-user-heading">{t!(i18n, admin.add_user)}</h2>
        <form method="post" action="/admin/users" class="form" aria-labelledby="add-user-heading">
            <div class="field">
                <label for="new-name">{t!(i18n, admin.name)}</label>
                <input id="new-name" name="display_name" type="text" autocomplete="off" />
            </div>
            <div class="field">
                <label for="new-email">{t!(i18n, admin.email)}</label>
                <input id="new-email" name="email" type="email" autocomplete="off" required />
            </div>
            <div class="field">
                <label for="new-role">{t!(i18n, admin.role)}</label>
                <select id="new-role" name="role">
                    <option value="caseworker" selected=true><RoleName role=Role::Caseworker /></option>
                    <option value="auditor"><RoleName role=Role::Auditor /></option>
                    <option value="admin"><RoleName role=Role::Admin /></option>
                </select>
            </div>
            <button type="submit" class="button button--primary">{t!(i18n, admin.add)}</button>
        </form>
    }
}

#[component]
pub fn RoleName(role: Role) -> impl IntoView {
    let i18n = use_i18n();
    move || match role {
        Role::Admin => t_string!(i18n, admin.roles.admin),
        Role::Caseworker => t_string!(i18n, admin.roles.caseworker),
        Role::Auditor => t_string!(i18n, admin.roles.auditor),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use async_trait::async_trait;
    use uuid::Uuid;

    use super::UserSummary;
    use crate::error::AppError;

    /// What the session kept to show once (a link, a key): reading it forgets it.
    pub async fn take_once<T: serde::de::DeserializeOwned>(
        key: &str,
    ) -> Result<Option<T>, AppError> {
        let session = leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(AppError::internal)?;
        let shown: Option<String> = session.remove(key).await.map_err(AppError::internal)?;
        Ok(shown.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// The signed-in admin's organisation and the server's side of the admin pages: what
    /// every admin-only server function starts with.
    pub fn for_admin() -> Result<(Uuid, std::sync::Arc<dyn AdminBackend>), AppError> {
        let admin = crate::auth::ssr::require_role(&[crate::auth::Role::Admin])?;
        Ok((admin.organisation_id, backend()?))
    }

    /// The server's side of the admin pages, as the server provided it.
    pub fn backend() -> Result<std::sync::Arc<dyn AdminBackend>, AppError> {
        leptos::prelude::use_context::<std::sync::Arc<dyn AdminBackend>>()
            .ok_or_else(|| AppError::internal("AdminBackend missing from context"))
    }

    /// Where the session keeps the API key the admin page shows once.
    pub const SHOWN_API_KEY: &str = "admin_shown_api_key";

    /// Where the session keeps the one-time link the admin page shows once.
    pub const SHOWN_LINK: &str = "admin_shown_link";

    #[async_trait]
    pub trait AdminBackend: Send + Sync {
        async fn organisation_users(
            &self,
            organisation_id: Uuid,
        ) -> Result<Vec<UserSummary>, AppError>;
        async fn organisation_settings(
            &self,
            organisation_id: Uuid,
        ) -> Result<super::OrganisationDetails, AppError>;
        async fn audit_log(
            &self,
            organisation_id: Uuid,
            filter: super::AuditFilter,
        ) -> Result<super::AuditEntries, AppError>;
        async fn suomifi_services(
            &self,
            organisation_id: Uuid,
        ) -> Result<Vec<super::ServiceSummary>, AppError>;
        async fn api_keys(
            &self,
            organisation_id: Uuid,
        ) -> Result<Vec<super::ApiKeySummary>, AppError>;
        async fn mail_bridge(
            &self,
            organisation_id: Uuid,
        ) -> Result<super::MailBridgeView, AppError>;
    }
}
