//! `/audit`: the organisation's audit log for admins and auditors — filters by user, action,
//! subject (a notice's id, say) and days, newest first with keyset paging, and the filtered
//! view as CSV (`/audit.csv`, streamed by the server).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::Forbidden;

/// The filters, as the page's query gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub user: Option<Uuid>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// `YYYY-MM-DD`, Finnish days, both included.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
    /// The cursor of the next page: `<RFC 3339>~<id>`.
    #[serde(default)]
    pub before: Option<String>,
}

impl AuditFilter {
    /// The query string of these filters (without the cursor).
    pub fn query(&self) -> String {
        let mut pairs = Vec::new();
        let mut add = |key: &str, value: Option<String>| {
            if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
                pairs.push(format!(
                    "{key}={}",
                    crate::layout::encode_query_value(&value)
                ));
            }
        };
        add("user", self.user.map(|id| id.to_string()));
        add("action", self.action.clone());
        add("subject", self.subject.clone());
        add("from", self.from.clone());
        add("until", self.until.clone());
        pairs.join("&")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Finnish local time.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub client_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntries {
    pub rows: Vec<AuditRow>,
    /// The cursor of older entries, when there are some.
    pub next: Option<String>,
    /// The organisation's users, for the filter.
    pub users: Vec<(Uuid, String)>,
    /// A filter that could not be read (a date), by its field.
    pub problem: Option<String>,
}

#[server(prefix = "/api", endpoint = "audit_log")]
pub async fn audit_log(filter: AuditFilter) -> Result<AuditEntries, AppError> {
    crate::error::with_status(
        async {
            let reader = crate::auth::ssr::require_role(&[
                crate::auth::Role::Admin,
                crate::auth::Role::Auditor,
            ])?;
            let backend = crate::admin::ssr::backend()?;
            backend.audit_log(reader.organisation_id, filter).await
        }
        .await,
    )
}

fn filter_from_query() -> AuditFilter {
    let query = use_query_map().read_untracked();
    let text = |key: &str| query.get(key).filter(|value| !value.trim().is_empty());
    AuditFilter {
        user: text("user").and_then(|id| Uuid::parse_str(&id).ok()),
        action: text("action"),
        subject: text("subject"),
        from: text("from"),
        until: text("until"),
        before: text("before"),
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let filter = filter_from_query();
    let log = Resource::new_blocking(
        {
            let filter = filter.clone();
            move || filter.clone()
        },
        audit_log,
    );
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, audit.title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || {
                let filter = filter.clone();
                Suspend::new(async move {
                    match log.await {
                        Ok(log) => view! { <AuditView log filter /> }.into_any(),
                        Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                        Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn AuditView(log: AuditEntries, filter: AuditFilter) -> impl IntoView {
    let i18n = use_i18n();
    let query = filter.query();
    let csv = if query.is_empty() {
        "/audit.csv".to_string()
    } else {
        format!("/audit.csv?{query}")
    };
    let older = log.next.clone().map(|cursor| {
        let cursor = crate::layout::encode_query_value(&cursor);
        if query.is_empty() {
            format!("/audit?before={cursor}")
        } else {
            format!("/audit?{query}&before={cursor}")
        }
    });
    let field = |value: &Option<String>| value.clone().unwrap_or_default();
    view! {
        <h1>{t!(i18n, audit.title)}</h1>
        {log.problem.map(|_| view! {
            <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="audit-problem">
                <h2 id="audit-problem" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p><a href="#audit-from">{t!(i18n, audit.date_invalid)}</a></p>
            </div>
        })}
        <form method="get" action="/audit" class="form filters" aria-label=move || t_string!(i18n, audit.filters)>
            <div class="field">
                <label for="audit-user">{t!(i18n, audit.user)}</label>
                <select id="audit-user" name="user">
                    <option value="">{t!(i18n, audit.anyone)}</option>
                    {log.users.into_iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=filter.user == Some(id)>{name}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-action">{t!(i18n, audit.action)}</label>
                <input id="audit-action" name="action" type="text" value=field(&filter.action) />
            </div>
            <div class="field">
                <label for="audit-subject">{t!(i18n, audit.subject)}</label>
                <input id="audit-subject" name="subject" type="text" value=field(&filter.subject) />
            </div>
            <div class="field">
                <label for="audit-from">{t!(i18n, audit.from)}</label>
                <input id="audit-from" name="from" type="date" value=field(&filter.from) />
            </div>
            <div class="field">
                <label for="audit-until">{t!(i18n, audit.until)}</label>
                <input id="audit-until" name="until" type="date" value=field(&filter.until) />
            </div>
            <button type="submit" class="button button--secondary">{t!(i18n, audit.apply)}</button>
        </form>
        <p><a href=csv data-testid="audit-csv">{t!(i18n, audit.csv)}</a></p>
        <table class="table audit-table" aria-label=move || t_string!(i18n, audit.title)>
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, audit.time)}</th>
                    <th scope="col">{t!(i18n, audit.user)}</th>
                    <th scope="col">{t!(i18n, audit.action)}</th>
                    <th scope="col">{t!(i18n, audit.subject)}</th>
                </tr>
            </thead>
            <tbody>
                {log.rows.into_iter().map(|row| view! {
                    <tr data-testid="audit-row">
                        <td>{row.at}</td>
                        <td>{row.actor}<br /><span class="muted">{row.client_ip}</span></td>
                        <td><code>{row.action}</code></td>
                        <td class="link-to-copy">{row.subject}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {older.map(|href| view! { <p><a href=href data-testid="audit-older">{t!(i18n, audit.older)}</a></p> })}
    }
}
