//! `/notices/{id}`: one notice as a caseworker needs it after sending — what was sent, to
//! whom, how each delivery went (a timeline, newest first), the legal dates and the rule they
//! follow, the documents with their hashes, and the actions the state allows. Reading it is
//! audited. Complete without wasm; the status area refreshes itself while anything is still
//! on its way (`LiveStatuses`).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    open_notice, DeliveryDetail, DocumentSummary, NoticeDetail, Source, TimelineEntry,
    TimelineEvent,
};
use crate::components::{StatusTag, SummaryRow};
use crate::compose::page::{format_size, mode_label, reason_text, role_label};
use crate::domain::channel::PaperAddressee;
use crate::domain::legal_rule::LegalRule;
use crate::domain::lifecycle::DeliveryStatus;
use crate::domain::notice::RecipientRole;
use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::{set_http_status, Forbidden, NotFound};

/// `2026-12-07` as `7.12.2026`.
pub fn finnish_date(iso: &str) -> String {
    crate::domain::legal_rule::finnish_day(iso)
}

#[component]
pub fn NoticePage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let notice = Resource::new_blocking(
        || (),
        move |_| async move {
            match id {
                Some(id) => open_notice(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match notice.await {
                    Ok(notice) => view! { <NoticeView notice /> }.into_any(),
                    Err(AppError::NotFound) => {
                        set_http_status(404);
                        view! { <NotFound /> }.into_any()
                    }
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

pub fn notice_type_label(kind: &str) -> String {
    crate::words::notice_type(use_i18n().get_locale(), kind)
}

#[component]
fn NoticeView(notice: NoticeDetail) -> impl IntoView {
    let i18n = use_i18n();
    let title = format!("{} – {}", notice.title, t_string!(i18n, app_name));
    let live: Vec<LiveStatus> = notice
        .deliveries
        .iter()
        .map(|delivery| LiveStatus {
            id: delivery.id,
            name: delivery.recipient_name.clone(),
            status: delivery.status,
        })
        .collect();
    let letter = format!("/notices/{}/letter.pdf", notice.id);
    let documents: Vec<(String, DocumentSummary)> = notice
        .attachments
        .iter()
        .enumerate()
        .map(|(position, document)| {
            (
                format!("/notices/{}/attachments/{position}", notice.id),
                document.clone(),
            )
        })
        .collect();
    let verifiable = if notice.verifiable {
        t_string!(i18n, compose.verifiable_yes).to_string()
    } else {
        t_string!(i18n, compose.verifiable_no).to_string()
    };
    let notice_id = notice.id;
    // An action that could not be done comes back with its problem.
    let problem = use_query_map()
        .read_untracked()
        .get("problem")
        .and_then(|problem| serde_json::from_str::<crate::compose::Problem>(&problem).ok());
    view! {
        <leptos_meta::Title text=title />
        <p class="breadcrumb"><a href="/">{t!(i18n, notices.title)}</a></p>
        {problem.map(|problem| view! {
            <div class="error-summary" role="alert" tabindex="-1" autofocus aria-labelledby="action-error">
                <h2 id="action-error" class="error-summary__title">{t!(i18n, notice.action_failed)}</h2>
                <p><crate::compose::ProblemText problem /></p>
            </div>
        })}
        <h1>{notice.title.clone()}</h1>
        <LiveStatuses notice_id initial=live />
        <h2>{t!(i18n, notice.summary)}</h2>
        <dl class="summary-list">
            <SummaryRow term=t_string!(i18n, compose.notice_type).to_string()>{notice_type_label(&notice.notice_type)}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.case_reference).to_string()>{notice.case_reference.clone()}</SummaryRow>
            <SummaryRow term=t_string!(i18n, notice.author).to_string()>{notice.author_name.clone()}</SummaryRow>
            <SummaryRow term=t_string!(i18n, notice.created).to_string()>
                <time datetime=notice.created_at.clone()>{notice.created_local.clone()}</time>
            </SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.verifiable).to_string()>{verifiable}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.appeal_days).to_string()>
                {notice.appeal_days.map(|d| d.to_string()).unwrap_or_else(|| "–".into())}
            </SummaryRow>
            {notice.decision_date.clone().map(|date| view! {
                <SummaryRow term=t_string!(i18n, compose.decision_date).to_string()>{finnish_date(&date)}</SummaryRow>
            })}
            {notice.decision_maker.clone().map(|maker| view! {
                <SummaryRow term=t_string!(i18n, compose.decision_maker).to_string()>{maker}</SummaryRow>
            })}
            {notice.service_name.clone().map(|name| view! {
                <SummaryRow term=t_string!(i18n, compose.service).to_string()>{name}</SummaryRow>
            })}
            {notice.template.clone().map(|(name, version)| view! {
                <SummaryRow term=t_string!(i18n, templates.used).to_string()>
                    <span data-testid="notice-template">{move || t_string!(i18n, templates.used_line, name = name.clone(), version = version).to_string()}</span>
                </SummaryRow>
            })}
            <SummaryRow term=t_string!(i18n, notice.documents).to_string()>
                {if notice.restricted {
                    view! { <p>{t!(i18n, notice.restricted)}</p> }.into_any()
                } else {
                    view! {
                        <ul class="document-list">
                            {notice.has_letter.then(|| view! {
                                <li><a href=letter.clone() data-testid="letter-link">{t!(i18n, notice.letter)}</a></li>
                            })}
                            {documents.into_iter().map(|(href, document)| view! {
                                <li>
                                    <a href=href>{document.filename.clone()}</a>
                                    " (" {format_size(document.size_bytes)} ")"
                                    <br /><span class="hash">"SHA-256 " {document.sha256.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </SummaryRow>
        </dl>
        {notice.electronic_body.clone().map(|body| view! {
            <details class="sent-body">
                <summary>{t!(i18n, notice.sent_body)}</summary>
                <pre class="sent-body__text">{body}</pre>
            </details>
        })}
        <h2 id="deliveries-heading">{t!(i18n, notice.deliveries)}</h2>
        {notice.deliveries.into_iter().map(|delivery| view! { <Delivery notice_id delivery /> }).collect_view()}
        {(!notice.replies.is_empty()).then(|| view! {
            <h2 id="replies-heading">{t!(i18n, inbox.replies_to_notice)}</h2>
            <ul class="reply-list" data-testid="notice-replies">
                {notice.replies.into_iter().map(|reply| view! { <crate::replies::ReplyLine reply /> }).collect_view()}
            </ul>
        })}
    }
}

#[component]
fn Delivery(notice_id: Uuid, delivery: DeliveryDetail) -> impl IntoView {
    let i18n = use_i18n();
    let role = RecipientRole::parse(&delivery.role)
        .map(role_label)
        .unwrap_or_default();
    let heading_id = format!("delivery-{}", delivery.id);
    let labelled = heading_id.clone();
    let reasons: Vec<String> = delivery.reasons.iter().map(|r| reason_text(*r)).collect();
    let no_mailbox = delivery
        .needs_attention_reason
        .as_deref()
        .is_some_and(crate::domain::lifecycle::is_no_active_mailbox);
    let actions = view! { <Actions notice_id delivery=delivery.clone() no_mailbox /> };
    view! {
        <section class="delivery" aria-labelledby=labelled data-testid="delivery">
            <h3 id=heading_id>{delivery.recipient_name.clone()} " " <StatusTag status=delivery.status /></h3>
            <dl class="summary-list">
                <SummaryRow term=t_string!(i18n, compose.identity_code).to_string()>
                    {delivery.identity_masked.clone().unwrap_or_else(|| t_string!(i18n, compose.no_identity_code).to_string())}
                </SummaryRow>
                <SummaryRow term=t_string!(i18n, compose.role).to_string()>{role}</SummaryRow>
                <SummaryRow term=t_string!(i18n, notice.requested_mode).to_string()>{mode_label(delivery.requested_mode)}</SummaryRow>
                <SummaryRow term=t_string!(i18n, notice.decided_mode).to_string()>
                    <strong data-testid="decided-mode">{mode_label(delivery.decided_mode)}</strong>
                    <ul class="reasons" data-testid="reasons">
                        {reasons.into_iter().map(|reason| view! { <li>{reason}</li> }).collect_view()}
                    </ul>
                </SummaryRow>
                {delivery.suomifi_message_id.map(|id| view! {
                    <SummaryRow term=t_string!(i18n, notice.message_id).to_string()>{id}</SummaryRow>
                })}
                <SummaryRow term=t_string!(i18n, notice.deemed_receipt).to_string()>
                    <span data-testid="deemed-receipt">{delivery.deemed_receipt.as_deref().map(finnish_date).unwrap_or_else(|| "–".into())}</span>
                </SummaryRow>
                <SummaryRow term=t_string!(i18n, notice.appeal_deadline).to_string()>
                    <span data-testid="appeal-deadline">{delivery.appeal_deadline.as_deref().map(finnish_date).unwrap_or_else(|| "–".into())}</span>
                </SummaryRow>
                <SummaryRow term=t_string!(i18n, rule.heading).to_string()>
                    {match (delivery.legal_basis.clone(), delivery.legal_rule.clone()) {
                        (Some(basis), _) => view! {
                            <ul class="rule" data-testid="legal-rule">
                                {rule_sentences(&basis).into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
                            </ul>
                        }.into_any(),
                        // Assessed before the rule was kept as data: its English text.
                        (None, Some(rule)) => view! { <p class="rule" lang="en" data-testid="legal-rule">{rule}</p> }.into_any(),
                        (None, None) => view! { <span>"–"</span> }.into_any(),
                    }}
                </SummaryRow>
            </dl>
            {actions}
            <p><a href=format!("/notices/{notice_id}/deliveries/{}/proof.pdf", delivery.id) data-testid="proof-link">{t!(i18n, proof.download)}</a></p>
            <h4>{t!(i18n, notice.timeline)}</h4>
            <Timeline entries=delivery.timeline.clone() />
        </section>
    }
}

/// The actions the delivery's state allows, each behind a confirmation (a second step,
/// without wasm too).
#[component]
fn Actions(notice_id: Uuid, delivery: DeliveryDetail, no_mailbox: bool) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = use_query_map().read_untracked().get("confirm");
    let here = format!("/notices/{notice_id}");
    let asked = |action: &str| confirm.as_deref() == Some(&format!("{action}:{}", delivery.id));
    // Also without a mailbox: the recipient may have opened one since.
    let retry = delivery.status == DeliveryStatus::NeedsAttention;
    let multichannel = delivery.status == DeliveryStatus::NeedsAttention && no_mailbox;
    let forwarding = delivery.paper_addressee == PaperAddressee::OrganisationForwarding
        && matches!(
            delivery.status,
            DeliveryStatus::PaperCreated | DeliveryStatus::SentForPrinting
        );
    let undelivered = delivery.status.letter_undelivered();
    let reserve = delivery.unacknowledged_at.is_some()
        && matches!(
            delivery.status,
            DeliveryStatus::Sent | DeliveryStatus::DeliveredElectronically
        );
    let id = delivery.id.to_string();
    let action = |name: &'static str,
                  endpoint: &'static str,
                  ask: String,
                  confirm_text: String,
                  button: String,
                  cancel: String| {
        let confirming = asked(name);
        let ask_href = format!(
            "{here}?confirm={name}:{}#delivery-{}",
            delivery.id, delivery.id
        );
        let id = id.clone();
        let here = here.clone();
        view! {
            <div class="action">
                {if confirming {
                    view! {
                        <form method="post" action=format!("/notices/{notice_id}/actions") class="confirm">
                            <p>{confirm_text}</p>
                            <input type="hidden" name="action" value=endpoint />
                            <input type="hidden" name="delivery_id" value=id />
                            <button type="submit" class="button button--primary">{button}</button>
                            " "
                            <a href=here>{cancel}</a>
                        </form>
                    }.into_any()
                } else {
                    view! { <a class="button button--secondary" href=ask_href>{ask}</a> }.into_any()
                }}
            </div>
        }
    };
    let cancel = t_string!(i18n, notice.cancel).to_string();
    view! {
        <div class="actions">
            {retry.then(|| action(
                "retry", "retry",
                t_string!(i18n, notice.retry).to_string(),
                t_string!(i18n, notice.retry_confirm).to_string(),
                t_string!(i18n, notice.retry_button).to_string(),
                cancel.clone(),
            ))}
            {multichannel.then(|| action(
                "multichannel", "multichannel",
                t_string!(i18n, notice.multichannel).to_string(),
                t_string!(i18n, notice.multichannel_confirm).to_string(),
                t_string!(i18n, notice.multichannel_button).to_string(),
                cancel.clone(),
            ))}
            {reserve.then(|| action(
                "reserve", "reserve",
                t_string!(i18n, notice.reserve).to_string(),
                t_string!(i18n, notice.reserve_confirm).to_string(),
                t_string!(i18n, notice.reserve_button).to_string(),
                cancel.clone(),
            ))}
        </div>
        {forwarding.then(|| view! {
            <RecordForm notice_id delivery_id=delivery.id kind=RecordKind::Forwarding open=asked("forwarding") />
        })}
        {undelivered.then(|| view! {
            <RecordForm notice_id delivery_id=delivery.id kind=RecordKind::Service open=asked("service") />
        })}
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecordKind {
    /// How a letter sent to the forwarding address (turvakielto) was served onwards.
    Forwarding,
    /// Substitute service or a public notice after Posti could not deliver.
    Service,
}

/// A record staff make of service done outside Suomi.fi: a link first, then the form.
#[component]
fn RecordForm(notice_id: Uuid, delivery_id: Uuid, kind: RecordKind, open: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (name, ask) = match kind {
        RecordKind::Forwarding => (
            "forwarding",
            t_string!(i18n, notice.record_forwarding).to_string(),
        ),
        RecordKind::Service => (
            "service",
            t_string!(i18n, notice.record_service).to_string(),
        ),
    };
    let here = format!("/notices/{notice_id}");
    let ask_href = format!("{here}?confirm={name}:{delivery_id}#delivery-{delivery_id}");
    let id = |field: &str| format!("{field}-{delivery_id}");
    if !open {
        return view! {
            <p><a class="button button--secondary" href=ask_href data-testid=format!("record-{name}")>{ask}</a></p>
        }.into_any();
    }
    let choices: Vec<(&'static str, String)> = match kind {
        RecordKind::Forwarding => vec![
            (
                "ordinary_letter",
                t_string!(i18n, notice.method_ordinary_letter).to_string(),
            ),
            (
                "verifiable_letter",
                t_string!(i18n, notice.method_verifiable_letter).to_string(),
            ),
            (
                "in_person",
                t_string!(i18n, notice.method_in_person).to_string(),
            ),
        ],
        RecordKind::Service => vec![
            (
                "substitute_service",
                t_string!(i18n, notice.kind_substitute_service).to_string(),
            ),
            (
                "public_notice",
                t_string!(i18n, notice.kind_public_notice).to_string(),
            ),
        ],
    };
    let choice_name = match kind {
        RecordKind::Forwarding => "method",
        RecordKind::Service => "kind",
    };
    let legend = match kind {
        RecordKind::Forwarding => t_string!(i18n, notice.forwarding_method).to_string(),
        RecordKind::Service => t_string!(i18n, notice.service_kind).to_string(),
    };
    let date_id = id("served_on");
    let second_id = id("second");
    view! {
        <form method="post" action=format!("/notices/{notice_id}/actions") class="record-form" data-testid=format!("{name}-form")>
            <h4>{ask}</h4>
            <input type="hidden" name="action" value=name />
            <input type="hidden" name="delivery_id" value=delivery_id.to_string() />
            <fieldset class="fieldset">
                <legend>{legend}</legend>
                {choices.into_iter().enumerate().map(|(n, (value, label))| {
                    let input_id = id(&format!("{choice_name}-{value}"));
                    view! {
                        <div class="radio">
                            <input type="radio" id=input_id.clone() name=choice_name value=value checked=n == 0 />
                            <label for=input_id>{label}</label>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <div class="field">
                <label for=date_id.clone()>{match kind {
                    RecordKind::Forwarding => t_string!(i18n, notice.forwarded_on).to_string(),
                    RecordKind::Service => t_string!(i18n, notice.served_on).to_string(),
                }}</label>
                <input type="date" id=date_id name="served_on" required />
            </div>
            <div class="field">
                <label for=second_id.clone()>{match kind {
                    RecordKind::Forwarding => t_string!(i18n, notice.received_on).to_string(),
                    RecordKind::Service => t_string!(i18n, notice.reference).to_string(),
                }}</label>
                <p class="hint" id=format!("{second_id}-hint")>{match kind {
                    RecordKind::Forwarding => t_string!(i18n, notice.received_on_hint).to_string(),
                    RecordKind::Service => t_string!(i18n, notice.reference_hint).to_string(),
                }}</p>
                <input type=match kind { RecordKind::Forwarding => "date", RecordKind::Service => "text" }
                    id=second_id.clone() name="second" aria-describedby=format!("{second_id}-hint") />
            </div>
            <div class="button-row">
                <button type="submit" class="button button--primary">{t!(i18n, notice.save_record)}</button>
                <a href=here>{t!(i18n, notice.cancel)}</a>
            </div>
        </form>
    }.into_any()
}

/// The rule of a delivery's legal dates in the reader's language, a sentence a line.
pub fn rule_sentences(rule: &LegalRule) -> Vec<String> {
    crate::words::rule(use_i18n().get_locale(), rule)
}

fn source_label(source: Source) -> String {
    crate::words::source(use_i18n().get_locale(), source)
}

fn event_text(event: &TimelineEvent) -> String {
    crate::words::event(use_i18n().get_locale(), event)
}

/// A delivery's life, newest first (MOJ timeline): when (Finnish time), who, what.
#[component]
fn Timeline(entries: Vec<TimelineEntry>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ol class="timeline" data-testid="timeline">
            {entries.into_iter().map(|entry| {
                let (date, time) = entry
                    .at_local
                    .split_once(' ')
                    .map(|(date, time)| (date.to_string(), time.to_string()))
                    .unwrap_or_default();
                view! {
                    <li class="timeline__item">
                        <p class="timeline__title">{event_text(&entry.event)}</p>
                        <p class="timeline__meta">
                            <span class="timeline__by">{source_label(entry.source)}</span>
                            ", "
                            <time datetime=entry.at.clone()>{move || t_string!(i18n, timeline.at, date = date.clone(), time = time.clone()).to_string()}</time>
                        </p>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// A delivery's status for the live area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveStatus {
    pub id: Uuid,
    pub name: String,
    pub status: DeliveryStatus,
}

/// The statuses of a notice's deliveries, for the live area.
#[server(prefix = "/api", endpoint = "delivery_statuses")]
pub async fn delivery_statuses(notice_id: Uuid) -> Result<Vec<LiveStatus>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::actor()?;
            super::ssr::backend()?
                .delivery_statuses(&actor, notice_id)
                .await
        }
        .await,
    )
}

/// The status area: while any delivery is still on its way it asks again (every 2 s, then
/// less often), and stops once every status is final. A `role="status"` region, so a change
/// is announced without moving focus; without wasm it shows the statuses as loaded.
#[island]
fn LiveStatuses(notice_id: Uuid, initial: Vec<LiveStatus>) -> impl IntoView {
    let i18n = use_i18n();
    let statuses = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    {
        fn poll(notice_id: Uuid, statuses: RwSignal<Vec<LiveStatus>>, delay_ms: u64) {
            if statuses.get_untracked().iter().all(|s| s.status.is_final()) {
                return;
            }
            set_timeout(
                move || {
                    leptos::task::spawn_local(async move {
                        if let Ok(fresh) = delivery_statuses(notice_id).await {
                            if fresh != statuses.get_untracked() {
                                statuses.set(fresh);
                            }
                        }
                        poll(notice_id, statuses, (delay_ms * 3 / 2).min(30_000));
                    });
                },
                std::time::Duration::from_millis(delay_ms),
            );
        }
        poll(notice_id, statuses, 2_000);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = notice_id;
    view! {
        <section class="live-status" aria-labelledby="live-status-heading">
            <h2 id="live-status-heading">{t!(i18n, notice.status)}</h2>
            <div role="status" aria-live="polite" data-testid="live-status">
                <ul class="live-status__list">
                    {move || statuses.get().into_iter().map(|status| view! {
                        <li>{status.name} " " <StatusTag status=status.status /></li>
                    }).collect_view()}
                </ul>
            </div>
        </section>
    }
}
