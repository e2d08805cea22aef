//! Pages that explain: the status glossary every status tag links to, and the accessibility
//! statement the law asks for (laki digitaalisten palvelujen tarjoamisesta 306/2019).

use leptos::prelude::*;

use crate::components::{StatusTag, StatusText};
use crate::domain::lifecycle::DeliveryStatus;
use crate::i18n::*;

fn title(text: String) -> String {
    let i18n = use_i18n();
    format!("{text} – {}", t_string!(i18n, app_name))
}

/// What a status means, what happens next and what the caseworker should do.
fn explained(status: DeliveryStatus) -> (String, String, String) {
    let i18n = use_i18n();
    macro_rules! three {
        ($meaning:ident, $next:ident, $todo:ident) => {
            (
                t_string!(i18n, glossary.$meaning).to_string(),
                t_string!(i18n, glossary.$next).to_string(),
                t_string!(i18n, glossary.$todo).to_string(),
            )
        };
    }
    match status {
        DeliveryStatus::Queued => three!(queued_meaning, queued_next, queued_todo),
        DeliveryStatus::NeedsAttention => {
            three!(
                needs_attention_meaning,
                needs_attention_next,
                needs_attention_todo
            )
        }
        DeliveryStatus::Cancelled => three!(cancelled_meaning, cancelled_next, cancelled_todo),
        DeliveryStatus::Sent => three!(sent_meaning, sent_next, sent_todo),
        DeliveryStatus::DeliveredElectronically => {
            three!(delivered_meaning, delivered_next, delivered_todo)
        }
        DeliveryStatus::PaperCreated => three!(paper_meaning, paper_next, paper_todo),
        DeliveryStatus::SentForPrinting => three!(printing_meaning, printing_next, printing_todo),
        DeliveryStatus::Read => three!(read_meaning, read_next, read_todo),
        DeliveryStatus::ReceiptConfirmed => {
            three!(acknowledged_meaning, acknowledged_next, acknowledged_todo)
        }
        DeliveryStatus::PostiReceiptConfirmed => {
            three!(receipt_meaning, receipt_next, receipt_todo)
        }
        DeliveryStatus::Returned => three!(returned_meaning, returned_next, returned_todo),
        DeliveryStatus::Unresolved => three!(unresolved_meaning, unresolved_next, unresolved_todo),
    }
}

/// `/statuses`: one entry per status, its anchor the status's stored name.
#[component]
pub fn StatusGlossary() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <leptos_meta::Title text=title(t_string!(i18n, glossary.title).to_string()) />
        <h1>{t!(i18n, glossary.title)}</h1>
        <p>{t!(i18n, glossary.intro)}</p>
        <dl class="glossary">
            {DeliveryStatus::ALL.into_iter().map(|status| {
                let (meaning, next, todo) = explained(status);
                view! {
                    <div class="glossary__entry" id=status.as_str()>
                        <dt><StatusTag status /> <span class="visually-hidden"><StatusText status /></span></dt>
                        <dd>
                            <p>{meaning}</p>
                            <p><strong>{t!(i18n, glossary.next)}</strong> " " {next}</p>
                            <p><strong>{t!(i18n, glossary.todo)}</strong> " " {todo}</p>
                        </dd>
                    </div>
                }
            }).collect_view()}
        </dl>
    }
}

/// `/accessibility`: the accessibility statement.
#[component]
pub fn AccessibilityStatement() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <leptos_meta::Title text=title(t_string!(i18n, accessibility.title).to_string()) />
        <div class="prose">
            <h1>{t!(i18n, accessibility.title)}</h1>
            <p>{t!(i18n, accessibility.intro)}</p>
            <h2>{t!(i18n, accessibility.status_title)}</h2>
            <p>{t!(i18n, accessibility.status)}</p>
            <h2>{t!(i18n, accessibility.known_title)}</h2>
            <ul>
                <li>{t!(i18n, accessibility.known_pdf)}</li>
                <li>{t!(i18n, accessibility.known_preview)}</li>
            </ul>
            <h2>{t!(i18n, accessibility.testing_title)}</h2>
            <p>{t!(i18n, accessibility.testing)}</p>
            <h2>{t!(i18n, accessibility.feedback_title)}</h2>
            <p>{t!(i18n, accessibility.feedback)}</p>
            <h2>{t!(i18n, accessibility.supervision_title)}</h2>
            <p>{t!(i18n, accessibility.supervision)}</p>
            <p class="muted">{t!(i18n, accessibility.date)}</p>
        </div>
    }
}
