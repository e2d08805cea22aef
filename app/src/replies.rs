//! Replies: messages citizens sent us through Suomi.fi. The inbox (`/inbox`) lists them newest
//! first with what the signed-in user has not opened yet; one reply (`/inbox/{id}`) shows
//! its text, its attachments and the notice it answers. Opening one is audited.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::compose::page::{failure, format_size, page_title};
use crate::error::AppError;
use crate::i18n::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplySummary {
    pub id: Uuid,
    pub title: String,
    pub sender_name: Option<String>,
    /// `150680-****`.
    pub sender_masked: Option<String>,
    /// RFC 3339, UTC.
    pub sent_at: String,
    /// Finnish local time.
    pub sent_local: String,
    pub notice_id: Option<Uuid>,
    pub notice_title: Option<String>,
    pub attachments: u32,
    /// Not opened by the signed-in user.
    pub unread: bool,
    /// Suomi.fi no longer had it when asked.
    pub unavailable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyFile {
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyDetail {
    pub summary: ReplySummary,
    pub body: String,
    pub on_behalf_name: Option<String>,
    pub case_reference: Option<String>,
    pub attachments: Vec<ReplyFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub replies: Vec<ReplySummary>,
    pub unread: u32,
}

/// The organisation's replies, newest first.
#[server(prefix = "/api", endpoint = "list_replies")]
pub async fn list_replies() -> Result<Inbox, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            ssr::backend()?.list_replies(&actor).await
        }
        .await,
    )
}

/// One reply, marked opened by the reader. Audited.
#[server(prefix = "/api", endpoint = "open_reply")]
pub async fn open_reply(id: Uuid) -> Result<ReplyDetail, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            ssr::backend()?.open_reply(&actor, id).await
        }
        .await,
    )
}

/// How many replies the signed-in user has not opened (the navigation's count).
#[server(prefix = "/api", endpoint = "unread_replies")]
pub async fn unread_replies() -> Result<u32, AppError> {
    crate::error::with_status(
        async {
            // Asked on every page's header, signed in or not.
            let Ok(actor) = crate::auth::ssr::actor() else {
                return Ok(0);
            };
            ssr::backend()?.unread_replies(&actor).await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    use async_trait::async_trait;
    use leptos::prelude::use_context;
    use uuid::Uuid;

    use super::{Inbox, ReplyDetail};
    use crate::auth::Actor;
    use crate::error::AppError;

    #[async_trait]
    pub trait RepliesBackend: Send + Sync {
        async fn list_replies(&self, actor: &Actor) -> Result<Inbox, AppError>;
        async fn open_reply(&self, actor: &Actor, id: Uuid) -> Result<ReplyDetail, AppError>;
        async fn unread_replies(&self, actor: &Actor) -> Result<u32, AppError>;
    }

    pub(crate) fn backend() -> Result<Arc<dyn RepliesBackend>, AppError> {
        use_context::<Arc<dyn RepliesBackend>>()
            .ok_or_else(|| AppError::internal("RepliesBackend missing from context"))
    }
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let inbox = Resource::new_blocking(|| (), |_| list_replies());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match inbox.await {
                    Ok(inbox) => view! { <InboxView inbox /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn InboxView(inbox: Inbox) -> impl IntoView {
    let i18n = use_i18n();
    let unread = inbox.unread;
    view! {
        <leptos_meta::Title text=page_title(t_string!(i18n, inbox.title).to_string(), false) />
        <h1>{t!(i18n, inbox.title)}</h1>
        <p class="lead" data-testid="unread-count">
            {move || t_string!(i18n, inbox.unread_count, count = unread).to_string()}
        </p>
        {if inbox.replies.is_empty() {
            view! { <p class="empty-state" data-testid="inbox-empty">{t!(i18n, inbox.empty)}</p> }.into_any()
        } else {
            view! {
                <ul class="reply-list" data-testid="reply-list">
                    {inbox.replies.into_iter().map(|reply| view! { <ReplyLine reply /> }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

#[component]
pub fn ReplyLine(reply: ReplySummary) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/inbox/{}", reply.id);
    let title = if reply.unavailable {
        t_string!(i18n, inbox.unavailable).to_string()
    } else if reply.title.is_empty() {
        t_string!(i18n, inbox.no_title).to_string()
    } else {
        reply.title.clone()
    };
    let attachments = reply.attachments;
    view! {
        <li class="reply-line" class:reply-line--unread=reply.unread data-testid="reply">
            <a class="reply-line__title" href=href>
                {reply.unread.then(|| view! {
                    <span class="tag tag--progress tag--small">{t!(i18n, inbox.new_tag)}</span>" "
                })}
                {title}
            </a>
            <p class="reply-line__meta">
                {reply.sender_name.clone().unwrap_or_default()}
                {reply.sender_masked.clone().map(|masked| format!(" ({masked})"))}
                " · "<time datetime=reply.sent_at.clone()>{reply.sent_local.clone()}</time>
                {(attachments > 0).then(|| view! {
                    " · "{move || t_string!(i18n, inbox.attachments_count, count = attachments).to_string()}
                })}
            </p>
            {reply.notice_title.clone().map(|notice| view! {
                <p class="reply-line__notice">{t!(i18n, inbox.answers)}" "{notice}</p>
            })}
        </li>
    }
}

#[component]
pub fn ReplyPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let reply = Resource::new_blocking(
        || (),
        move |_| async move {
            match id {
                Some(id) => open_reply(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match reply.await {
                    Ok(reply) => view! { <ReplyView reply /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReplyView(reply: ReplyDetail) -> impl IntoView {
    let i18n = use_i18n();
    let summary = reply.summary;
    let title = if summary.unavailable {
        t_string!(i18n, inbox.unavailable).to_string()
    } else if summary.title.is_empty() {
        t_string!(i18n, inbox.no_title).to_string()
    } else {
        summary.title.clone()
    };
    let id = summary.id;
    view! {
        <leptos_meta::Title text=page_title(title.clone(), false) />
        <p class="breadcrumb"><a href="/inbox">{t!(i18n, inbox.back)}</a></p>
        <h1 data-testid="reply-title">{title}</h1>
        <dl class="summary-list">
            <div class="summary-list__row">
                <dt class="summary-list__key">{t!(i18n, inbox.from)}</dt>
                <dd class="summary-list__value" data-testid="reply-sender">
                    {summary.sender_name.clone().unwrap_or_default()}
                    {summary.sender_masked.clone().map(|masked| format!(" ({masked})"))}
                    {reply.on_behalf_name.clone().map(|name| view! {
                        <br />{move || t_string!(i18n, inbox.on_behalf, name = name.clone()).to_string()}
                    })}
                </dd>
            </div>
            <div class="summary-list__row">
                <dt class="summary-list__key">{t!(i18n, inbox.received)}</dt>
                <dd class="summary-list__value"><time datetime=summary.sent_at.clone()>{summary.sent_local.clone()}</time></dd>
            </div>
            {summary.notice_id.map(|notice_id| view! {
                <div class="summary-list__row">
                    <dt class="summary-list__key">{t!(i18n, inbox.notice)}</dt>
                    <dd class="summary-list__value">
                        <a href=format!("/notices/{notice_id}") data-testid="reply-notice">
                            {summary.notice_title.clone().unwrap_or_default()}
                        </a>
                        {reply.case_reference.clone().map(|reference| format!(" ({reference})"))}
                    </dd>
                </div>
            })}
        </dl>
        <h2>{t!(i18n, inbox.message)}</h2>
        <div class="sent-body__text" data-testid="reply-body">{reply.body}</div>
        {(!reply.attachments.is_empty()).then(|| view! {
            <h2>{t!(i18n, inbox.attachments)}</h2>
            <ul class="document-list">
                {reply.attachments.into_iter().enumerate().map(|(n, file)| {
                    let href = format!("/inbox/{id}/attachments/{n}");
                    view! {
                        <li>
                            <a href=href download="">{file.filename}</a>
                            " ("{format_size(file.size_bytes)}")"
                            <div class="hash">"SHA-256 "{file.sha256}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
}
