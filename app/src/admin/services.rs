//! `/admin/services`: the organisation's Suomi.fi services — the list with each one's password
//! age (a warning 14 days before DVV's six months are up), the last connection check, and
//! buttons to test the connection and change the password now; a form to add one; and
//! `/admin/services/:id` to change one. Passwords are write-only: never shown again.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::Forbidden;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSummary {
    pub id: Uuid,
    pub name: String,
    pub service_id: String,
    pub username: String,
    pub posti_username: String,
    pub posti_email: String,
    pub cost_pool: Option<String>,
    pub is_default: bool,
    /// `YYYY-MM-DD` (Finnish day) of the last password change.
    pub password_changed_on: String,
    /// The day DVV's six months are up.
    pub password_expires_on: String,
    /// Within 14 days of that day, or past it.
    pub password_warning: bool,
    /// A change asked for without a confirmed answer yet.
    pub change_pending: bool,
    pub last_check: Option<ServiceCheckView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCheckView {
    /// `D.M.YYYY HH:MM`, Finnish time.
    pub at: String,
    pub ok: bool,
    pub message: String,
}

/// The SMTP bridge's settings, shown with the services (mail goes through the default one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailBridgeView {
    pub sender_domains: Vec<String>,
    pub relay_networks: Vec<String>,
    pub notice_type: String,
    pub language: String,
    pub verifiable: bool,
    pub draft_mode: bool,
    pub acknowledgements: bool,
    pub replies_to: Option<String>,
}

#[server(prefix = "/api", endpoint = "mail_bridge_settings")]
pub async fn mail_bridge_settings() -> Result<MailBridgeView, AppError> {
    crate::error::with_status(
        async {
            let (organisation, backend) = crate::admin::ssr::for_admin()?;
            backend.mail_bridge(organisation).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "suomifi_services")]
pub async fn suomifi_services() -> Result<Vec<ServiceSummary>, AppError> {
    crate::error::with_status(
        async {
            let (organisation, backend) = crate::admin::ssr::for_admin()?;
            backend.suomifi_services(organisation).await
        }
        .await,
    )
}

#[component]
fn ServiceProblem() -> impl IntoView {
    let i18n = use_i18n();
    let problem = use_query_map().read_untracked().get("problem");
    problem.map(|code| {
        let text = match code.as_str() {
            "service_name_invalid" => t_string!(i18n, services.problems.name_invalid),
            "service_id_invalid" => t_string!(i18n, services.problems.service_id_invalid),
            "service_id_taken" => t_string!(i18n, services.problems.service_id_taken),
            "service_username_invalid" => t_string!(i18n, services.problems.username_invalid),
            "service_password_required" => t_string!(i18n, services.problems.password_required),
            "posti_email_invalid" => t_string!(i18n, services.problems.posti_email_invalid),
            "rotation_under_way" => t_string!(i18n, services.problems.rotation_under_way),
            "domain_invalid" => t_string!(i18n, mail_bridge.problems.domain_invalid),
            "domain_taken" => t_string!(i18n, mail_bridge.problems.domain_taken),
            "network_invalid" => t_string!(i18n, mail_bridge.problems.network_invalid),
            "network_too_wide" => t_string!(i18n, mail_bridge.problems.network_too_wide),
            "replies_to_invalid" => t_string!(i18n, mail_bridge.problems.replies_to_invalid),
            "mail_settings_invalid" => t_string!(i18n, mail_bridge.problems.settings_invalid),
            _ => t_string!(i18n, services.problems.rotation_failed),
        };
        view! {
            <div class="error-summary" role="alert" tabindex="-1" id="problem" aria-labelledby="service-problem-title">
                <h2 id="service-problem-title" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p data-testid="service-problem">{text}</p>
            </div>
        }
    })
}

#[component]
pub fn ServicesPage() -> impl IntoView {
    let i18n = use_i18n();
    let services = Resource::new_blocking(|| (), |_| suomifi_services());
    let bridge = Resource::new_blocking(|| (), |_| mail_bridge_settings());
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, services.title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || Suspend::new(async move {
                match services.await {
                    Ok(services) => view! {
                        <p><a href="/admin">{t!(i18n, services.back_to_admin)}</a></p>
                        <h1>{t!(i18n, services.title)}</h1>
                        <ServiceProblem />
                        <p>{t!(i18n, services.intro)}</p>
                        {services.into_iter().map(|service| view! { <ServiceCard service /> }).collect_view()}
                        <h2 id="add-service-heading">{t!(i18n, services.add)}</h2>
                        <ServiceFields action="/admin/services".to_string() service=None />
                        {bridge.await.ok().map(|bridge| view! { <MailBridge bridge /> })}
                    }.into_any(),
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ServiceCard(service: ServiceSummary) -> impl IntoView {
    let i18n = use_i18n();
    let heading = format!("service-{}", service.id);
    let labelled_by = heading.clone();
    let expires = service.password_expires_on.clone();
    view! {
        <section class="service-card" aria-labelledby=labelled_by data-testid="service">
            <h2 id=heading>
                {service.name.clone()}
                {service.is_default.then(|| view! { " " <strong class="tag">{t!(i18n, services.default_tag)}</strong> })}
            </h2>
            <dl class="summary-list">
                <div class="summary-list__row"><dt class="summary-list__key">{t!(i18n, services.service_id)}</dt><dd class="summary-list__value">{service.service_id.clone()}</dd></div>
                <div class="summary-list__row"><dt class="summary-list__key">{t!(i18n, services.username)}</dt><dd class="summary-list__value">{service.username.clone()}</dd></div>
                <div class="summary-list__row"><dt class="summary-list__key">{t!(i18n, services.password_changed)}</dt><dd class="summary-list__value">{service.password_changed_on.clone()}</dd></div>
                <div class="summary-list__row"><dt class="summary-list__key">{t!(i18n, services.last_check)}</dt><dd class="summary-list__value" data-testid="service-check">{match service.last_check.clone() {
                    Some(check) if check.ok => view! { <span class="tag tag--done">{t!(i18n, services.check_ok)}</span> " " {check.at} }.into_any(),
                    Some(check) => view! { <span class="tag tag--warning">{t!(i18n, services.check_failed)}</span> " " {check.at} ": " {check.message} }.into_any(),
                    None => t!(i18n, services.never_checked).into_any(),
                }}</dd></div>
            </dl>
            {service.password_warning.then(|| view! {
                <p class="warning-panel" role="status" data-testid="password-warning">
                    {move || t_string!(i18n, services.password_warning, date = expires.clone()).to_string()}
                </p>
            })}
            {service.change_pending.then(|| view! { <p class="muted">{t!(i18n, services.change_pending)}</p> })}
            <div class="button-row">
                <form method="post" action=format!("/admin/services/{}/test", service.id) class="inline-form">
                    <button type="submit" class="button button--secondary">{t!(i18n, services.test)}</button>
                </form>
                <form method="post" action=format!("/admin/services/{}/rotate", service.id) class="inline-form">
                    <button type="submit" class="button button--secondary">{t!(i18n, services.rotate)}</button>
                </form>
                <a class="button button--secondary" href=format!("/admin/services/{}", service.id)>
                    {t!(i18n, services.edit)}<span class="visually-hidden">": " {service.name.clone()}</span>
                </a>
            </div>
        </section>
    }
}

/// The fields of adding (no service) and of changing a service.
#[component]
fn ServiceFields(action: String, service: Option<ServiceSummary>) -> impl IntoView {
    let i18n = use_i18n();
    let editing = service.is_some();
    let value =
        |pick: fn(&ServiceSummary) -> String| service.as_ref().map(pick).unwrap_or_default();
    let is_default = service.as_ref().is_some_and(|s| s.is_default);
    view! {
        <form method="post" action=action class="form" aria-labelledby="add-service-heading">
            <div class="field">
                <label for="service-name">{t!(i18n, services.name)}</label>
                <span class="hint" id="service-name-hint">{t!(i18n, services.name_hint)}</span>
                <input id="service-name" name="name" type="text" required aria-describedby="service-name-hint"
                    value=value(|s| s.name.clone()) />
            </div>
            {(!editing).then(|| view! {
                <div class="field">
                    <label for="service-id">{t!(i18n, services.service_id)}</label>
                    <input id="service-id" name="service_id" type="text" required autocomplete="off" />
                </div>
            })}
            <div class="field">
                <label for="service-username">{t!(i18n, services.username)}</label>
                <input id="service-username" name="username" type="text" required autocomplete="off"
                    value=value(|s| s.username.clone()) />
            </div>
            <div class="field">
                <label for="service-password">{t!(i18n, services.password)}</label>
                {editing.then(|| view! { <span class="hint" id="service-password-hint">{t!(i18n, services.password_keep_hint)}</span> })}
                <input id="service-password" name="password" type="password" autocomplete="new-password"
                    required=!editing aria-describedby=editing.then_some("service-password-hint") />
            </div>
            <fieldset class="fieldset">
                <legend>{t!(i18n, services.posti_legend)}</legend>
                <div class="field">
                    <label for="posti-username">{t!(i18n, services.posti_username)}</label>
                    <input id="posti-username" name="posti_username" type="text" autocomplete="off"
                        value=value(|s| s.posti_username.clone()) />
                </div>
                <div class="field">
                    <label for="posti-password">{t!(i18n, services.posti_password)}</label>
                    <input id="posti-password" name="posti_password" type="password" autocomplete="new-password" />
                </div>
                <div class="field">
                    <label for="posti-email">{t!(i18n, services.posti_email)}</label>
                    <input id="posti-email" name="posti_email" type="email" autocomplete="off"
                        value=value(|s| s.posti_email.clone()) />
                </div>
                <div class="field">
                    <label for="cost-pool">{t!(i18n, services.cost_pool)}</label>
                    <input id="cost-pool" name="cost_pool" type="text" autocomplete="off"
                        value=value(|s| s.cost_pool.clone().unwrap_or_default()) />
                </div>
            </fieldset>
            // The default stays one until another is made the default (a notice needs one).
            {if is_default {
                view! {
                    <input type="hidden" name="is_default" value="on" />
                    <p data-testid="service-is-default">{t!(i18n, services.is_default)}</p>
                }.into_any()
            } else {
                view! {
                    <div class="field checkbox">
                        <input id="service-default" name="is_default" type="checkbox" value="on" />
                        <label for="service-default">{t!(i18n, services.make_default)}</label>
                    </div>
                }.into_any()
            }}
            <button type="submit" class="button button--primary">
                {if editing { t!(i18n, services.save).into_any() } else { t!(i18n, services.add_button).into_any() }}
            </button>
        </form>
    }
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let i18n = use_i18n();
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let services = Resource::new_blocking(|| (), |_| suomifi_services());
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, services.edit_title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || Suspend::new(async move {
                match services.await {
                    Ok(services) => match services.into_iter().find(|s| Some(s.id) == id) {
                        Some(service) => view! {
                            <p><a href="/admin/services">{t!(i18n, services.back_to_services)}</a></p>
                            <h1 id="add-service-heading">{t!(i18n, services.edit_title)}": " {service.name.clone()}</h1>
                            <ServiceProblem />
                            <p>{t!(i18n, services.service_id)}": " <strong>{service.service_id.clone()}</strong></p>
                            <ServiceFields action=format!("/admin/services/{}", service.id) service=Some(service) />
                        }.into_any(),
                        None => {
                            // Not this organisation's (or none at all): a 404, not a page.
                            crate::layout::set_http_status(404);
                            view! {
                                <h1>{t!(i18n, errors.not_found_title)}</h1>
                                <p role="alert">{t!(i18n, services.not_found)}</p>
                                <p><a href="/admin/services">{t!(i18n, services.back_to_services)}</a></p>
                            }
                            .into_any()
                        }
                    },
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn MailBridge(bridge: MailBridgeView) -> impl IntoView {
    let i18n = use_i18n();
    let kind = bridge.notice_type.clone();
    let language = bridge.language.clone();
    let list = |items: Vec<String>, action: &'static str, label: String| {
        items
            .into_iter()
            .map(|item| {
                let remove = format!("{label} {item}");
                view! {
                    <li>
                        <code>{item.clone()}</code>" "
                        <form method="post" action=action class="inline-form">
                            <input type="hidden" name="value" value=item />
                            <input type="hidden" name="action" value="remove" />
                            <button type="submit" class="button button--secondary" aria-label=remove>
                                {t!(i18n, mail_bridge.remove)}
                            </button>
                        </form>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <h2 id="mail-bridge">{t!(i18n, mail_bridge.title)}</h2>
        <p>{t!(i18n, mail_bridge.intro)}</p>
        <h3 id="sender-domains-heading">{t!(i18n, mail_bridge.sender_domains)}</h3>
        <ul aria-labelledby="sender-domains-heading" data-testid="sender-domains">
            {list(bridge.sender_domains, "/admin/mail/domains", t_string!(i18n, mail_bridge.remove).to_string())}
        </ul>
        <form method="post" action="/admin/mail/domains" class="form inline-form">
            <input type="hidden" name="action" value="add" />
            <div class="field">
                <label for="new-domain">{t!(i18n, mail_bridge.add_domain)}</label>
                <input id="new-domain" name="value" type="text" placeholder="kunta.fi" autocomplete="off" />
            </div>
            <button type="submit" class="button button--secondary">{t!(i18n, mail_bridge.add)}</button>
        </form>
        <h3 id="relay-networks-heading">{t!(i18n, mail_bridge.relay_networks)}</h3>
        <ul aria-labelledby="relay-networks-heading" data-testid="relay-networks">
            {list(bridge.relay_networks, "/admin/mail/networks", t_string!(i18n, mail_bridge.remove).to_string())}
        </ul>
        <form method="post" action="/admin/mail/networks" class="form inline-form">
            <input type="hidden" name="action" value="add" />
            <div class="field">
                <label for="new-network">{t!(i18n, mail_bridge.add_network)}</label>
                <input id="new-network" name="value" type="text" placeholder="10.0.0.0/8" autocomplete="off" />
            </div>
            <button type="submit" class="button button--secondary">{t!(i18n, mail_bridge.add)}</button>
        </form>
        <h3 id="mail-settings-heading">{t!(i18n, mail_bridge.settings)}</h3>
        <form method="post" action="/admin/mail/settings" class="form" aria-labelledby="mail-settings-heading">
            <div class="field">
                <label for="mail-type">{t!(i18n, templates.notice_type)}</label>
                <select id="mail-type" name="notice_type">
                    {crate::domain::notice::NoticeType::ALL.into_iter().map(|option| view! {
                        <option value=option.as_str() selected=option.as_str() == kind>
                            {crate::words::notice_type(i18n.get_locale(), option.as_str())}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="mail-language">{t!(i18n, templates.language)}</label>
                <select id="mail-language" name="language">
                    <option value="fi" selected=language == "fi">"Suomi"</option>
                    <option value="sv" selected=language == "sv">"Svenska"</option>
                    <option value="en" selected=language == "en">"English"</option>
                </select>
            </div>
            <div class="field checkbox">
                <input id="mail-verifiable" name="verifiable" type="checkbox" value="on" checked=bridge.verifiable />
                <label for="mail-verifiable">{t!(i18n, templates.verifiable)}</label>
            </div>
            <div class="field checkbox">
                <input id="mail-draft-mode" name="draft_mode" type="checkbox" value="on" checked=bridge.draft_mode />
                <label for="mail-draft-mode">{t!(i18n, mail_bridge.draft_mode)}</label>
            </div>
            <div class="field checkbox">
                <input id="mail-acknowledgements" name="acknowledgements" type="checkbox" value="on" checked=bridge.acknowledgements />
                <label for="mail-acknowledgements">{t!(i18n, mail_bridge.acknowledgements)}</label>
            </div>
            <div class="field">
                <label for="mail-replies-to">{t!(i18n, mail_bridge.replies_to)}</label>
                <span class="hint" id="mail-replies-to-hint">{t!(i18n, mail_bridge.replies_to_hint)}</span>
                <input id="mail-replies-to" name="replies_to" type="email" autocomplete="off"
                    aria-describedby="mail-replies-to-hint" value=bridge.replies_to.unwrap_or_default() />
            </div>
            <button type="submit" class="button button--primary">{t!(i18n, mail_bridge.save)}</button>
        </form>
    }
}
