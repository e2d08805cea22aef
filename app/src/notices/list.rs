//! `/`: the organisation's notices, newest first, one status tag per recipient; searched by
//! case reference, title, name or a whole identity code, filtered by type, status, needs
//! attention and creation dates. The URL holds the whole view (bookmarkable, works without
//! wasm); an identity code never enters it: the search form posts to `/search`, which puts a
//! sealed token in the URL instead. Pages by keyset (`after` / `before` a row), so a page is
//! as fast at a million notices as at ten. `/attention`: the deliveries a person must act on.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::page::{finnish_date, notice_type_label};
use crate::components::{described_by, invalid, ErrorSummary, FieldErrors, StatusTag, StatusText};
use crate::compose::page::{failure, page_title};
use crate::compose::FieldProblem;
use crate::domain::lifecycle::DeliveryStatus;
use crate::domain::notice::NoticeType;
use crate::error::AppError;
use crate::i18n::*;

/// How many notices one page shows.
pub const PAGE_SIZE: usize = 25;

/// The list's view as the URL holds it (`/?q=…&type=…`). Empty strings mean "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFilter {
    /// Case reference, title or recipient name.
    #[serde(default)]
    pub q: Option<String>,
    /// A sealed identity code (from `/search`); never the code itself.
    #[serde(default)]
    pub who: Option<String>,
    #[serde(default)]
    pub notice_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub attention: bool,
    /// `YYYY-MM-DD`, Finnish dates, both inclusive.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub oldest_first: bool,
    /// Keyset cursors (`NoticeRow::cursor`).
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
}

impl NoticeFilter {
    /// Reads the view from the URL's query.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let text = |key: &str| get(key).filter(|value| !value.trim().is_empty());
        Self {
            q: text("q"),
            who: text("who"),
            notice_type: text("type"),
            status: text("status"),
            attention: text("attention").is_some(),
            from: text("from"),
            to: text("to"),
            oldest_first: text("sort").as_deref() == Some("oldest"),
            after: text("after"),
            before: text("before"),
        }
    }

    /// The URL of this view (without a page cursor unless set).
    pub fn to_url(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = [
            ("q", &self.q),
            ("who", &self.who),
            ("type", &self.notice_type),
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
            ("after", &self.after),
            ("before", &self.before),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (key, value)))
        .collect();
        if self.attention {
            pairs.push(("attention", "1"));
        }
        if self.oldest_first {
            pairs.push(("sort", "oldest"));
        }
        if pairs.is_empty() {
            return "/".to_string();
        }
        let query = pairs
            .into_iter()
            .map(|(key, value)| format!("{key}={}", crate::layout::encode_query_value(value)))
            .collect::<Vec<_>>()
            .join("&");
        format!("/?{query}")
    }

    /// The same view, another page.
    fn page(&self, after: Option<String>, before: Option<String>) -> String {
        Self {
            after,
            before,
            ..self.clone()
        }
        .to_url()
    }

    fn is_searching(&self) -> bool {
        self.q.is_some()
            || self.who.is_some()
            || self.notice_type.is_some()
            || self.status.is_some()
            || self.attention
            || self.from.is_some()
            || self.to.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeListPage {
    pub rows: Vec<NoticeRow>,
    /// Cursors of the pages after and before this one, when there are such pages.
    pub next: Option<String>,
    pub previous: Option<String>,
    /// The identity code searched for, masked (`150680-****`).
    pub who_masked: Option<String>,
    /// Filters that could not be read (a date, an expired identity search).
    pub problems: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRow {
    pub id: Uuid,
    pub notice_type: String,
    pub case_reference: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Finnish local time.
    pub created_local: String,
    pub recipients: Vec<RecipientRow>,
}

impl NoticeRow {
    fn needs_attention(&self) -> bool {
        self.recipients.iter().any(|r| r.needs_attention)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRow {
    pub delivery_id: Uuid,
    pub name: String,
    /// `150680-****`, or a business ID.
    pub identity_masked: Option<String>,
    pub status: DeliveryStatus,
    /// `YYYY-MM-DD`.
    pub deemed_receipt: Option<String>,
    pub appeal_deadline: Option<String>,
    pub needs_attention: bool,
}

/// Why a delivery waits for a person, and so what they can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// Sending failed for good: fix the cause and retry.
    Failed,
    /// The recipient has no Suomi.fi mailbox: send multichannel (on paper).
    NoMailbox,
    /// Posti could not deliver: substitute service or a public notice.
    Undelivered,
    /// A verifiable notice not acknowledged in time: re-serve on paper.
    Unacknowledged,
    /// A letter sent to the organisation's forwarding address (turvakielto): record how it
    /// was served on.
    Forwarding,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub notice_id: Uuid,
    pub delivery_id: Uuid,
    pub case_reference: String,
    pub title: String,
    pub recipient_name: String,
    pub identity_masked: Option<String>,
    pub status: DeliveryStatus,
    pub kind: AttentionKind,
    /// The technical cause, when sending failed.
    pub reason: Option<String>,
}

/// One page of the organisation's notices as `filter` asks.
#[server(prefix = "/api", endpoint = "find_notices", input = server_fn::codec::Json)]
pub async fn find_notices(filter: NoticeFilter) -> Result<NoticeListPage, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            super::ssr::backend()?.find_notices(&actor, filter).await
        }
        .await,
    )
}

/// The deliveries of the organisation that need a person, oldest first.
#[server(prefix = "/api", endpoint = "needs_attention")]
pub async fn needs_attention() -> Result<Vec<AttentionItem>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            super::ssr::backend()?.needs_attention(&actor).await
        }
        .await,
    )
}

#[component]
pub fn NoticesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = query.with_untracked(|query| NoticeFilter::from_query(|key| query.get(key)));
    let page = Resource::new_blocking(
        {
            let filter = filter.clone();
            move || filter.clone()
        },
        find_notices,
    );
    view! {
        <Suspense>
            {move || {
                let filter = filter.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <NoticeList filter page /> }.into_any(),
                        Err(error) => failure(error),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn NoticeList(filter: NoticeFilter, page: NoticeListPage) -> impl IntoView {
    let i18n = use_i18n();
    let title = t_string!(i18n, notices.title).to_string();
    let has_errors = !page.problems.is_empty();
    let searching = filter.is_searching();
    let count = page.rows.len();
    let pagination = view! {
        <Pagination filter=filter.clone() next=page.next.clone() previous=page.previous.clone() />
    };
    view! {
        <leptos_meta::Title text=page_title(title, has_errors) />
        <div class="page-heading">
            <h1>{t!(i18n, notices.title)}</h1>
            <a class="button button--primary" href="/compose">{t!(i18n, nav.compose)}</a>
        </div>
        <ErrorSummary problems=page.problems.clone() />
        <SearchForm filter=filter.clone() who_masked=page.who_masked.clone() problems=page.problems.clone() />
        <p class="result-count" role="status" data-testid="result-count">
            {move || if count == 0 && searching {
                t_string!(i18n, notices.no_matches).to_string()
            } else {
                t_string!(i18n, notices.shown, count = count).to_string()
            }}
        </p>
        {if page.rows.is_empty() && !searching && page.previous.is_none() {
            view! { <EmptyState /> }.into_any()
        } else if page.rows.is_empty() {
            pagination.into_any()
        } else {
            view! { <NoticeTable rows=page.rows /> {pagination} }.into_any()
        }}
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="empty-state" data-testid="notices-empty">
            <p>{t!(i18n, notices.empty)}</p>
            <p><a class="button button--primary" href="/compose">{t!(i18n, notices.compose_first)}</a></p>
        </div>
    }
}

/// Posts to `/search`, which answers with the list's URL: an identity code typed into the
/// search box leaves the browser only in a request body.
#[component]
fn SearchForm(
    filter: NoticeFilter,
    who_masked: Option<String>,
    problems: Vec<FieldProblem>,
) -> impl IntoView {
    let i18n = use_i18n();
    let type_options =
        std::iter::once((String::new(), t_string!(i18n, notices.any_type).to_string()))
            .chain(
                NoticeType::ALL
                    .into_iter()
                    .map(|kind| (kind.as_str().to_string(), notice_type_label(kind.as_str()))),
            )
            .collect::<Vec<_>>();
    let selected_type = filter.notice_type.clone().unwrap_or_default();
    let selected_status = filter.status.clone().unwrap_or_default();
    let q_problems = problems.clone();
    let from_problems = problems.clone();
    let to_problems = problems.clone();
    let clear_who = NoticeFilter {
        who: None,
        after: None,
        before: None,
        ..filter.clone()
    }
    .to_url();
    view! {
        <div role="search">
            <form class="search-form" method="post" action="/search" data-testid="search-form">
                <div class="search-form__main field">
                    <label for="q">{t!(i18n, notices.search_label)}</label>
                    <p class="hint" id="q-hint">{t!(i18n, notices.search_hint)}</p>
                    <FieldErrors field="q".to_string() problems=q_problems />
                    <div class="search-form__row">
                        <input id="q" name="q" type="search" value=filter.q.clone().unwrap_or_default()
                            autocomplete="off" aria-describedby=described_by("q", true, &problems)
                            aria-invalid=invalid("q", &problems) />
                        <button type="submit" class="button">{t!(i18n, notices.search)}</button>
                    </div>
                </div>
                {who_masked.map(|masked| view! {
                    <p class="search-form__active" data-testid="searching-identity">
                        {t_string!(i18n, notices.searching_identity, code = masked.clone()).to_string()}" "
                        <a href=clear_who.clone()>{t!(i18n, notices.clear_identity)}</a>
                    </p>
                    <input type="hidden" name="who" value=filter.who.clone().unwrap_or_default() />
                })}
                <fieldset class="search-form__filters">
                    <legend>{t!(i18n, notices.filters)}</legend>
                    <div class="field">
                        <label for="type">{t!(i18n, notices.type_filter)}</label>
                        <select id="type" name="type">
                            {type_options.into_iter().map(|(value, label)| {
                                let selected = value == selected_type;
                                view! { <option value=value selected=selected>{label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="status">{t!(i18n, notices.status_filter)}</label>
                        <select id="status" name="status">
                            <option value="" selected=selected_status.is_empty()>{t!(i18n, notices.any_status)}</option>
                            {DeliveryStatus::ALL.into_iter().map(|status| {
                                let selected = status.as_str() == selected_status;
                                view! { <option value=status.as_str() selected=selected><StatusText status /></option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="from">{t!(i18n, notices.created_from)}</label>
                        <FieldErrors field="from".to_string() problems=from_problems />
                        <input id="from" name="from" type="date" value=filter.from.clone().unwrap_or_default()
                            aria-describedby=described_by("from", false, &problems) aria-invalid=invalid("from", &problems) />
                    </div>
                    <div class="field">
                        <label for="to">{t!(i18n, notices.created_to)}</label>
                        <FieldErrors field="to".to_string() problems=to_problems />
                        <input id="to" name="to" type="date" value=filter.to.clone().unwrap_or_default()
                            aria-describedby=described_by("to", false, &problems) aria-invalid=invalid("to", &problems) />
                    </div>
                    <div class="field">
                        <label for="sort">{t!(i18n, notices.sort)}</label>
                        <select id="sort" name="sort">
                            <option value="newest" selected=!filter.oldest_first>{t!(i18n, notices.newest_first)}</option>
                            <option value="oldest" selected=filter.oldest_first>{t!(i18n, notices.oldest_first)}</option>
                        </select>
                    </div>
                    <div class="field field--checkbox">
                        <input id="attention" name="attention" type="checkbox" value="1" checked=filter.attention />
                        <label for="attention">{t!(i18n, notices.only_attention)}</label>
                    </div>
                </fieldset>
                <div class="search-form__actions">
                    <button type="submit" class="button button--primary">{t!(i18n, notices.apply)}</button>
                    <a href="/" class="button button--secondary">{t!(i18n, notices.clear)}</a>
                </div>
            </form>
        </div>
    }
}

#[component]
fn NoticeTable(rows: Vec<NoticeRow>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="table-scroll">
        <table class="table notice-table" data-testid="notices-table">
            <caption class="visually-hidden">{t!(i18n, notices.title)}</caption>
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, notices.notice)}</th>
                    <th scope="col">{t!(i18n, notices.recipients)}</th>
                    <th scope="col">{t!(i18n, notices.created)}</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let href = format!("/notices/{}", row.id);
                    let attention = row.needs_attention();
                    view! {
                        <tr data-testid="notice-row" class:row--attention=attention>
                            <td>
                                <a class="notice-table__title" href=href>{row.title.clone()}</a>
                                <div class="notice-table__meta">
                                    <span>{notice_type_label(&row.notice_type)}</span>
                                    " · "
                                    <span>{row.case_reference.clone()}</span>
                                </div>
                                {attention.then(|| view! {
                                    <span class="tag tag--warning tag--small">{t!(i18n, notices.needs_attention)}</span>
                                })}
                            </td>
                            <td>
                                <ul class="recipient-list">
                                    {row.recipients.into_iter().map(|recipient| view! {
                                        <RecipientLine recipient />
                                    }).collect_view()}
                                </ul>
                            </td>
                            <td><time datetime=row.created_at>{row.created_local}</time></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn RecipientLine(recipient: RecipientRow) -> impl IntoView {
    let i18n = use_i18n();
    let deemed = recipient.deemed_receipt.as_deref().map(finnish_date);
    let deadline = recipient.appeal_deadline.as_deref().map(finnish_date);
    view! {
        <li class="recipient-list__item">
            <span class="recipient-list__name">{recipient.name}</span>
            {recipient.identity_masked.map(|masked| view! {
                <span class="recipient-list__id">{masked}</span>
            })}
            <StatusTag status=recipient.status />
            {(deemed.is_some() || deadline.is_some()).then(|| view! {
                <span class="recipient-list__dates">
                    {deemed.map(|date| t_string!(i18n, notices.deemed_short, date = date).to_string())}
                    {deadline.map(|date| format!(" · {}", t_string!(i18n, notices.deadline_short, date = date)))}
                </span>
            })}
        </li>
    }
}

#[component]
fn Pagination(
    filter: NoticeFilter,
    next: Option<String>,
    previous: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    (next.is_some() || previous.is_some()).then(|| {
        let previous_href = previous.map(|cursor| filter.page(None, Some(cursor)));
        let next_href = next.map(|cursor| filter.page(Some(cursor), None));
        view! {
            <nav class="pagination" aria-label=move || t_string!(i18n, notices.pages)>
                {previous_href.map(|href| view! {
                    <a class="pagination__previous" rel="prev" href=href data-testid="previous-page">
                        {t!(i18n, notices.previous_page)}
                    </a>
                })}
                {next_href.map(|href| view! {
                    <a class="pagination__next" rel="next" href=href data-testid="next-page">
                        {t!(i18n, notices.next_page)}
                    </a>
                })}
            </nav>
        }
    })
}

/// `/attention`: what waits for a person, with why and what to do.
#[component]
pub fn AttentionPage() -> impl IntoView {
    let items = Resource::new_blocking(|| (), |_| needs_attention());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match items.await {
                    Ok(items) => view! { <AttentionList items /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AttentionList(items: Vec<AttentionItem>) -> impl IntoView {
    let i18n = use_i18n();
    let title = t_string!(i18n, attention.title).to_string();
    view! {
        <leptos_meta::Title text=page_title(title, false) />
        <h1>{t!(i18n, attention.title)}</h1>
        <p class="lead">{t!(i18n, attention.lead)}</p>
        {if items.is_empty() {
            view! { <p class="empty-state" data-testid="attention-empty">{t!(i18n, attention.empty)}</p> }.into_any()
        } else {
            view! {
                <ul class="attention-list" data-testid="attention-list">
                    {items.into_iter().map(|item| view! { <AttentionCard item /> }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

#[component]
fn AttentionCard(item: AttentionItem) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/notices/{}#delivery-{}", item.notice_id, item.delivery_id);
    let (why, action) = match item.kind {
        AttentionKind::Failed => (
            t_string!(i18n, attention.failed).to_string(),
            t_string!(i18n, attention.failed_action).to_string(),
        ),
        AttentionKind::NoMailbox => (
            t_string!(i18n, attention.no_mailbox).to_string(),
            t_string!(i18n, attention.no_mailbox_action).to_string(),
        ),
        AttentionKind::Undelivered => (
            t_string!(i18n, attention.undelivered).to_string(),
            t_string!(i18n, attention.undelivered_action).to_string(),
        ),
        AttentionKind::Unacknowledged => (
            t_string!(i18n, attention.unacknowledged).to_string(),
            t_string!(i18n, attention.unacknowledged_action).to_string(),
        ),
        AttentionKind::Forwarding => (
            t_string!(i18n, attention.forwarding).to_string(),
            t_string!(i18n, attention.forwarding_action).to_string(),
        ),
    };
    view! {
        <li class="attention-card" data-testid="attention-item" data-kind=attention_kind_name(item.kind)>
            <h2 class="attention-card__title">
                <a href=format!("/notices/{}", item.notice_id)>{item.title}</a>
            </h2>
            <p class="attention-card__meta">
                {item.case_reference}" · "{item.recipient_name}
                {item.identity_masked.map(|masked| format!(" ({masked})"))}
                " "<StatusTag status=item.status />
            </p>
            <p class="attention-card__why">{why}</p>
            {item.reason.map(|reason| view! { <p class="attention-card__reason"><code>{reason}</code></p> })}
            <p><a class="button button--secondary" href=href>{action}</a></p>
        </li>
    }
}

fn attention_kind_name(kind: AttentionKind) -> &'static str {
    match kind {
        AttentionKind::Failed => "failed",
        AttentionKind::NoMailbox => "no_mailbox",
        AttentionKind::Undelivered => "undelivered",
        AttentionKind::Unacknowledged => "unacknowledged",
        AttentionKind::Forwarding => "forwarding",
    }
}
