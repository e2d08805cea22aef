//! Pieces every page uses, the GOV.UK way: an error summary that links to each field, inline
//! field errors wired with `aria-describedby`, summary lists, status tags from one vocabulary.

use leptos::prelude::*;

pub mod fields;

use crate::compose::form::field_id;
use crate::compose::{FieldProblem, ProblemText};
use crate::domain::lifecycle::DeliveryStatus;
use crate::i18n::*;

/// The problems of one field, in the order found.
pub fn problems_of(problems: &[FieldProblem], field: &str) -> Vec<FieldProblem> {
    problems
        .iter()
        .filter(|problem| problem.field == field)
        .cloned()
        .collect()
}

/// The summary at the top of a page with errors: focused when the page loads (so a screen
/// reader starts there), each problem a link to its field.
#[component]
pub fn ErrorSummary(problems: Vec<FieldProblem>) -> impl IntoView {
    let i18n = use_i18n();
    (!problems.is_empty()).then(|| {
        view! {
            <div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus
                aria-labelledby="error-summary-title">
                <h2 id="error-summary-title" class="error-summary__title">
                    {t!(i18n, form.error_summary_title)}
                </h2>
                <ul class="error-summary__list">
                    {problems.into_iter().map(|problem| {
                        let href = format!("#{}", field_id(&problem.field));
                        // Which field, so "Fill in this field." seven times says seven things.
                        let label = crate::words::field_label(i18n.get_locale(), &problem.field)
                            .map(|label| format!("{label}: "));
                        view! { <li><a href=href>{label}<ProblemText problem=problem.problem /></a></li> }
                    }).collect_view()}
                </ul>
            </div>
        }
    })
}

/// The inline errors of one field, under its label, with the id the input's
/// `aria-describedby` names.
#[component]
pub fn FieldErrors(field: String, problems: Vec<FieldProblem>) -> impl IntoView {
    let i18n = use_i18n();
    let mine = problems_of(&problems, &field);
    (!mine.is_empty()).then(|| {
        let id = format!("{}-error", field_id(&field));
        view! {
            <p class="field-error" id=id>
                {mine.into_iter().map(|problem| view! {
                    <span class="field-error__item">
                        <span class="visually-hidden">{t!(i18n, form.error_prefix)}</span>
                        <ProblemText problem=problem.problem />
                    </span>
                }).collect_view()}
            </p>
        }
    })
}

/// `aria-describedby` for a field: its hint and its errors, when it has them.
pub fn described_by(field: &str, has_hint: bool, problems: &[FieldProblem]) -> Option<String> {
    let id = field_id(field);
    let mut ids = Vec::new();
    if has_hint {
        ids.push(format!("{id}-hint"));
    }
    if problems.iter().any(|problem| problem.field == field) {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// `aria-invalid` for a field with problems.
pub fn invalid(field: &str, problems: &[FieldProblem]) -> Option<&'static str> {
    problems
        .iter()
        .any(|problem| problem.field == field)
        .then_some("true")
}

/// A delivery's status as a tag: text and colour from one vocabulary, never colour alone,
/// linked to the glossary entry that explains it.
#[component]
pub fn StatusTag(status: DeliveryStatus) -> impl IntoView {
    let class = format!("tag tag--{}", status_tone(status));
    let href = format!("/statuses#{}", status.as_str());
    view! {
        <a class=class href=href data-status=status.as_str()><StatusText status /></a>
    }
}

/// How a status looks: waiting, on its way, done, or needing a person.
pub fn status_tone(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued | DeliveryStatus::Sent | DeliveryStatus::PaperCreated => "pending",
        DeliveryStatus::DeliveredElectronically | DeliveryStatus::SentForPrinting => "progress",
        DeliveryStatus::Read
        | DeliveryStatus::ReceiptConfirmed
        | DeliveryStatus::PostiReceiptConfirmed => "done",
        DeliveryStatus::NeedsAttention | DeliveryStatus::Returned | DeliveryStatus::Unresolved => {
            "warning"
        }
        DeliveryStatus::Cancelled => "neutral",
    }
}

/// A status's name in the current language.
#[component]
pub fn StatusText(status: DeliveryStatus) -> impl IntoView {
    let i18n = use_i18n();
    move || crate::words::status(i18n.get_locale(), status)
}

/// One row of a summary list: a term, its value, and optionally a "Change" link.
#[component]
pub fn SummaryRow(
    #[prop(into)] term: String,
    children: Children,
    #[prop(optional, into)] change: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let term_for_link = term.clone();
    view! {
        <div class="summary-list__row">
            <dt class="summary-list__key">{term}</dt>
            <dd class="summary-list__value">{children()}</dd>
            {change.map(|href| view! {
                <dd class="summary-list__actions">
                    <a href=href>
                        {t!(i18n, form.change)}
                        <span class="visually-hidden">" " {term_for_link}</span>
                    </a>
                </dd>
            })}
        </div>
    }
}
