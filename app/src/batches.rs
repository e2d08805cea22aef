//! Sending to many (`/batches`): a template and a recipients file (CSV or XLSX) make a dry run
//! — problems with the file, every bad row with its spreadsheet row number and reason, good
//! rows per delivery mode — and nothing is sent until the caseworker confirms. The batch page
//! then shows the progress (live with wasm, on reload without), counts by status as filters,
//! every row's outcome and the results as CSV.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::compose::page::{failure, page_title};
use crate::compose::{FieldProblem, ProblemText};
use crate::domain::channel::DeliveryMode;
use crate::domain::lifecycle::DeliveryStatus;
use crate::error::AppError;
use crate::i18n::*;

/// What is wrong with a recipients file as a whole: nothing of it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum FileProblem {
    /// Neither CSV nor XLSX by its name.
    NotCsvOrXlsx,
    /// Not UTF-8: Excel's "CSV UTF-8" is what it takes.
    NotUtf8,
    Empty,
    /// The header lacks a column every row needs.
    MissingColumn {
        column: String,
    },
    DuplicateColumn {
        column: String,
    },
    TooManyRows {
        max: u64,
    },
    /// The file could not be read from this row on.
    Unreadable {
        row: u64,
    },
    /// The check stopped midway (the server restarted): nothing of the file is used.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub id: Uuid,
    pub filename: String,
    /// RFC 3339 and Finnish local time.
    pub created_at: String,
    pub created_local: String,
    /// `checking`, `checked`, `confirmed` or `cancelled`.
    pub status: String,
    pub rows_total: i64,
    pub rows_good: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRowView {
    pub row_number: i64,
    pub name: String,
    pub identity_masked: Option<String>,
    /// `invalid`, `ready`, `queued`, `failed` or `cancelled`.
    pub status: String,
    pub problems: Vec<FieldProblem>,
    pub mode: Option<DeliveryMode>,
    pub delivery_status: Option<DeliveryStatus>,
    pub notice_id: Option<Uuid>,
}

/// Where a batch is, for the page and its live updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProgress {
    pub status: String,
    pub rows_good: i64,
    /// Good rows queued as notices (or failed when queuing): done.
    pub done: i64,
    pub failed: i64,
    /// Rows per row status, and queued rows per delivery status (`delivery:<status>`).
    pub counts: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReport {
    pub summary: BatchSummary,
    pub notice_type: String,
    pub title: String,
    pub template_name: Option<String>,
    pub file_problem: Option<FileProblem>,
    pub notice_problems: Vec<FieldProblem>,
    pub ignored_columns: Vec<String>,
    pub modes: Vec<(DeliveryMode, i64)>,
    /// Earlier batches from the same file: id and when.
    pub same_file: Vec<(Uuid, String)>,
    pub progress: BatchProgress,
    /// The rows shown: the bad ones before confirming, then all (or the filter's).
    pub rows: Vec<BatchRowView>,
    /// The row to continue after, when there are more.
    pub next_after: Option<i64>,
}

/// With more recipients than this the page points out public notice (HL 55 §).
pub const PUBLIC_NOTICE_HINT_OVER: i64 = 30;

#[server(prefix = "/api", endpoint = "list_batches")]
pub async fn list_batches() -> Result<Vec<BatchSummary>, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.list_batches(&actor).await
        }
        .await,
    )
}

/// A batch's report: `filter` a row status or `delivery:<status>`, rows after `after`.
#[server(prefix = "/api", endpoint = "load_batch")]
pub async fn load_batch(
    id: Uuid,
    filter: Option<String>,
    after: Option<i64>,
) -> Result<BatchReport, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?
                .batch_report(&actor, id, filter, after.unwrap_or(0))
                .await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "progress_of_batch")]
pub async fn progress_of_batch(id: Uuid) -> Result<BatchProgress, AppError> {
    crate::error::with_status(
        async {
            let actor = crate::auth::ssr::require_composer()?;
            ssr::backend()?.batch_progress(&actor, id).await
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

    use super::{BatchProgress, BatchReport, BatchSummary};
    use crate::auth::Actor;
    use crate::error::AppError;

    #[async_trait]
    pub trait BatchesBackend: Send + Sync {
        async fn list_batches(&self, actor: &Actor) -> Result<Vec<BatchSummary>, AppError>;
        async fn batch_report(
            &self,
            actor: &Actor,
            id: Uuid,
            filter: Option<String>,
            after: i64,
        ) -> Result<BatchReport, AppError>;
        async fn batch_progress(&self, actor: &Actor, id: Uuid) -> Result<BatchProgress, AppError>;
    }

    pub(crate) fn backend() -> Result<Arc<dyn BatchesBackend>, AppError> {
        use_context::<Arc<dyn BatchesBackend>>()
            .ok_or_else(|| AppError::internal("BatchesBackend missing from context"))
    }
}

/// A row status in `locale`.
pub fn row_status(locale: Locale, status: &str) -> String {
    match status {
        "invalid" => td_string!(locale, batches.row_invalid),
        "ready" => td_string!(locale, batches.row_ready),
        "queued" => td_string!(locale, batches.row_queued),
        "failed" => td_string!(locale, batches.row_failed),
        _ => td_string!(locale, batches.row_cancelled),
    }
    .to_string()
}

/// The results file's column names in `locale`.
pub fn results_header(locale: Locale) -> [String; 7] {
    [
        td_string!(locale, batches.results_row).to_string(),
        td_string!(locale, batches.results_name).to_string(),
        td_string!(locale, batches.results_id).to_string(),
        td_string!(locale, batches.results_status).to_string(),
        td_string!(locale, batches.results_delivery).to_string(),
        td_string!(locale, batches.results_notice).to_string(),
        td_string!(locale, batches.results_problems).to_string(),
    ]
}

/// A batch status in `locale`.
pub fn batch_status(locale: Locale, status: &str) -> String {
    match status {
        "checking" => td_string!(locale, batches.status_checking),
        "checked" => td_string!(locale, batches.status_checked),
        "confirmed" => td_string!(locale, batches.status_confirmed),
        _ => td_string!(locale, batches.status_cancelled),
    }
    .to_string()
}

pub fn file_problem_text(locale: Locale, problem: &FileProblem) -> String {
    match problem {
        FileProblem::NotCsvOrXlsx => td_string!(locale, batches.file_type).to_string(),
        FileProblem::NotUtf8 => td_string!(locale, batches.file_not_utf8).to_string(),
        FileProblem::Empty => td_string!(locale, batches.file_empty).to_string(),
        FileProblem::MissingColumn { column } => {
            td_string!(locale, batches.file_missing_column, column = column.clone()).to_string()
        }
        FileProblem::DuplicateColumn { column } => td_string!(
            locale,
            batches.file_duplicate_column,
            column = column.clone()
        )
        .to_string(),
        FileProblem::TooManyRows { max } => {
            td_string!(locale, batches.file_too_many_rows, max = *max).to_string()
        }
        FileProblem::Unreadable { row } => {
            td_string!(locale, batches.file_unreadable, row = *row).to_string()
        }
        FileProblem::Interrupted => td_string!(locale, batches.file_interrupted).to_string(),
    }
}

/// A problem the upload came back with (`?problem=`).
fn upload_problem(locale: Locale, code: &str) -> String {
    match code {
        "template_required" => td_string!(locale, batches.template_required),
        "file_required" => td_string!(locale, batches.file_required),
        "file_type" => td_string!(locale, batches.file_type),
        "file_too_large" => td_string!(locale, batches.file_too_large),
        "not_confirmable" => td_string!(locale, batches.not_confirmable),
        _ => td_string!(locale, batches.unavailable),
    }
    .to_string()
}

#[component]
fn QueryProblem() -> impl IntoView {
    let i18n = use_i18n();
    let problem = use_query_map().read_untracked().get("problem");
    problem.map(|code| {
        view! {
            <div class="error-summary" role="alert" tabindex="-1" id="problem" aria-labelledby="batch-problem-title">
                <h2 id="batch-problem-title" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p data-testid="batch-problem">{move || upload_problem(i18n.get_locale(), &code)}</p>
            </div>
        }
    })
}

/// `/batches`: a new batch's form and the earlier ones.
#[component]
pub fn BatchesPage() -> impl IntoView {
    let i18n = use_i18n();
    let templates = Resource::new_blocking(|| (), |_| crate::templates::list_templates());
    let batches = Resource::new_blocking(|| (), |_| list_batches());
    let has_problem = use_query_map().read_untracked().get("problem").is_some();
    view! {
        <leptos_meta::Title text=page_title(t_string!(i18n, batches.title).to_string(), has_problem) />
        <h1>{t!(i18n, batches.title)}</h1>
        <QueryProblem />
        <p class="lead">{t!(i18n, batches.intro)}</p>
        <Suspense>
            {move || Suspend::new(async move {
                match templates.await {
                    Ok(list) => view! { <BatchForm templates=list /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
        <h2 id="batches-heading">{t!(i18n, batches.earlier)}</h2>
        <Suspense>
            {move || Suspend::new(async move {
                match batches.await {
                    Ok(list) if list.is_empty() => view! { <p>{t!(i18n, batches.none)}</p> }.into_any(),
                    Ok(list) => view! { <BatchList list /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn BatchForm(templates: Vec<crate::templates::TemplateSummary>) -> impl IntoView {
    let i18n = use_i18n();
    let templates: Vec<_> = templates.into_iter().filter(|t| !t.archived).collect();
    if templates.is_empty() {
        return view! { <p data-testid="batch-no-templates">{t!(i18n, batches.no_templates)}</p> }
            .into_any();
    }
    view! {
        <form method="post" action="/batches" enctype="multipart/form-data" class="form" data-testid="batch-form">
            <div class="field">
                <label for="batch-template">{t!(i18n, batches.template_label)}</label>
                <p class="hint" id="batch-template-hint">{t!(i18n, batches.template_hint)}</p>
                <select id="batch-template" name="template" aria-describedby="batch-template-hint" required>
                    {templates.into_iter().map(|template| view! {
                        <option value=template.id.to_string()>{template.name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="batch-case">{t!(i18n, batches.case_label)}</label>
                <p class="hint" id="batch-case-hint">{t!(i18n, batches.case_hint)}</p>
                <input id="batch-case" name="case_reference" type="text" maxlength="100" aria-describedby="batch-case-hint" />
            </div>
            <div class="field">
                <label for="batch-decision-date">{t!(i18n, batches.decision_date_label)}</label>
                <p class="hint" id="batch-decision-date-hint">{t!(i18n, batches.decision_date_hint)}</p>
                <input id="batch-decision-date" name="decision_date" type="date" aria-describedby="batch-decision-date-hint" />
            </div>
            <fieldset class="field">
                <legend>{t!(i18n, batches.mode_label)}</legend>
                <p class="hint">{t!(i18n, batches.mode_hint)}</p>
                <div class="radio">
                    <input id="batch-mode-multichannel" type="radio" name="mode" value="multichannel" checked />
                    <label for="batch-mode-multichannel">{t!(i18n, modes.multichannel)}</label>
                </div>
                <div class="radio">
                    <input id="batch-mode-paper" type="radio" name="mode" value="paper_only" />
                    <label for="batch-mode-paper">{t!(i18n, modes.paper_only)}</label>
                </div>
            </fieldset>
            <div class="field">
                <label for="batch-file">{t!(i18n, batches.file_label)}</label>
                <p class="hint" id="batch-file-hint">
                    {t!(i18n, batches.file_hint)}" "
                    <a href="/batches/example.csv" download="" data-testid="batch-example">{t!(i18n, batches.example)}</a>
                </p>
                <input id="batch-file" name="file" type="file" accept=".csv,.xlsx,text/csv" aria-describedby="batch-file-hint" required />
            </div>
            <button type="submit" class="button button--primary" data-testid="batch-check">{t!(i18n, batches.check)}</button>
        </form>
    }.into_any()
}

#[component]
fn BatchList(list: Vec<BatchSummary>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <table class="table" aria-labelledby="batches-heading" data-testid="batch-list">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, batches.col_file)}</th>
                    <th scope="col">{t!(i18n, batches.col_created)}</th>
                    <th scope="col">{t!(i18n, batches.col_rows)}</th>
                    <th scope="col">{t!(i18n, batches.col_status)}</th>
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|batch| {
                    let status = batch.status.clone();
                    view! {
                        <tr>
                            <th scope="row"><a href=format!("/batches/{}", batch.id)>{batch.filename.clone()}</a></th>
                            <td><time datetime=batch.created_at.clone()>{batch.created_local.clone()}</time></td>
                            <td>{format!("{} / {}", batch.rows_good, batch.rows_total)}</td>
                            <td>{move || batch_status(i18n.get_locale(), &status)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/batches/:id`: the dry run's report, then the progress and outcome.
#[component]
pub fn BatchPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok());
    let query = use_query_map().read_untracked();
    let filter = query.get("status").filter(|s| !s.is_empty());
    let after = query.get("after").and_then(|a| a.parse::<i64>().ok());
    let report = Resource::new_blocking(
        || (),
        move |_| {
            let filter = filter.clone();
            async move {
                match id {
                    Some(id) => load_batch(id, filter, after).await,
                    None => Err(AppError::NotFound),
                }
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <BatchView report /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn BatchView(report: BatchReport) -> impl IntoView {
    let i18n = use_i18n();
    let id = report.summary.id;
    let status = report.summary.status.clone();
    let has_problem = report.file_problem.is_some() || !report.notice_problems.is_empty();
    let title = t_string!(
        i18n,
        batches.batch_title,
        file = report.summary.filename.clone()
    )
    .to_string();
    view! {
        <leptos_meta::Title text=page_title(title.clone(), has_problem) />
        <p class="breadcrumb"><a href="/batches">{t!(i18n, batches.back)}</a></p>
        <h1 data-testid="batch-title">{title}</h1>
        <QueryProblem />
        <dl class="summary-list">
            <div class="summary-list__row">
                <dt class="summary-list__key">{t!(i18n, batches.notice)}</dt>
                <dd class="summary-list__value">
                    {report.template_name.clone().map(|name| format!("{name}: "))}
                    {report.title.clone()}
                </dd>
            </div>
            <div class="summary-list__row">
                <dt class="summary-list__key">{t!(i18n, batches.col_status)}</dt>
                <dd class="summary-list__value" data-testid="batch-status">
                    {let status = status.clone(); move || batch_status(i18n.get_locale(), &status)}
                </dd>
            </div>
            <div class="summary-list__row">
                <dt class="summary-list__key">{t!(i18n, batches.col_rows)}</dt>
                <dd class="summary-list__value" data-testid="batch-counts">
                    {let (total, good) = (report.summary.rows_total, report.summary.rows_good);
                     move || t_string!(i18n, batches.rows_summary, total = total, good = good, bad = total - good).to_string()}
                </dd>
            </div>
        </dl>
        {report.file_problem.clone().map(|problem| view! {
            <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="file-problem-title" data-testid="file-problem">
                <h2 id="file-problem-title" class="error-summary__title">{t!(i18n, batches.file_refused)}</h2>
                <p>{move || file_problem_text(i18n.get_locale(), &problem)}</p>
                <p><a href="/batches">{t!(i18n, batches.try_again)}</a></p>
            </div>
        })}
        {(!report.notice_problems.is_empty()).then(|| {
            let problems = report.notice_problems.clone();
            view! {
                <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="notice-problems-title" data-testid="notice-problems">
                    <h2 id="notice-problems-title" class="error-summary__title">{t!(i18n, batches.notice_problems)}</h2>
                    <ul>
                        {problems.into_iter().map(|problem| {
                            let field = problem.field.clone();
                            view! { <li>{move || crate::words::field_label(i18n.get_locale(), &field).unwrap_or_default()}": "<ProblemText problem=problem.problem /></li> }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })}
        {match status.as_str() {
            "checked" if report.file_problem.is_none() => view! { <DryRun report=report.clone() /> }.into_any(),
            "confirmed" => view! { <Progress report=report.clone() /> }.into_any(),
            _ => ().into_any(),
        }}
        <BadOrAllRows report id />
    }
}

#[component]
fn DryRun(report: BatchReport) -> impl IntoView {
    let i18n = use_i18n();
    let id = report.summary.id;
    let good = report.summary.rows_good;
    let may_send = good > 0 && report.notice_problems.is_empty();
    view! {
        {(!report.same_file.is_empty()).then(|| {
            let earlier = report.same_file.clone();
            view! {
                <div class="warning-panel" role="note" data-testid="same-file">
                    <p><strong>{t!(i18n, batches.same_file)}</strong></p>
                    <ul>
                        {earlier.into_iter().map(|(other, at)| view! {
                            <li><a href=format!("/batches/{other}")>{at}</a></li>
                        }).collect_view()}
                    </ul>
                </div>
            }
        })}
        {(good > PUBLIC_NOTICE_HINT_OVER).then(|| view! {
            <div class="info-panel" role="note" data-testid="public-notice-hint">
                <p>{move || t_string!(i18n, batches.public_notice_hint, count = good).to_string()}</p>
            </div>
        })}
        {(!report.ignored_columns.is_empty()).then(|| {
            let ignored = report.ignored_columns.join(", ");
            view! { <p class="hint" data-testid="ignored-columns">{move || t_string!(i18n, batches.ignored_columns, columns = ignored.clone()).to_string()}</p> }
        })}
        <h2 id="modes-heading">{t!(i18n, batches.modes_heading)}</h2>
        <table class="table" aria-labelledby="modes-heading" data-testid="batch-modes">
            <tbody>
                {report.modes.iter().map(|(mode, count)| {
                    let (mode, count) = (*mode, *count);
                    view! {
                        <tr>
                            <th scope="row">{move || crate::words::mode(i18n.get_locale(), mode)}</th>
                            <td>{count}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <div class="button-row batch-actions">
            {may_send.then(|| view! {
                <form method="post" action=format!("/batches/{id}/confirm") class="inline-form">
                    <button type="submit" class="button button--primary" data-testid="batch-confirm">
                        {move || t_string!(i18n, batches.confirm, count = good).to_string()}
                    </button>
                </form>
            })}
            <form method="post" action=format!("/batches/{id}/cancel") class="inline-form">
                <button type="submit" class="button button--secondary" data-testid="batch-cancel">{t!(i18n, batches.cancel)}</button>
            </form>
        </div>
    }
}

#[component]
fn Progress(report: BatchReport) -> impl IntoView {
    let i18n = use_i18n();
    let id = report.summary.id;
    let progress = report.progress.clone();
    view! {
        <h2 id="progress-heading">{t!(i18n, batches.progress_heading)}</h2>
        <LiveProgress id initial=progress.clone() />
        <p><a href=format!("/batches/{id}/results.csv") download="" data-testid="batch-results">{t!(i18n, batches.results)}</a></p>
        <nav class="filter-pills" aria-label=move || t_string!(i18n, batches.filters)>
            <ul>
                <li><a href=format!("/batches/{id}") data-testid="filter-all">{t!(i18n, batches.all)}</a></li>
                {progress.counts.iter().filter(|(key, _)| key.starts_with("delivery:") || key == "failed").map(|(key, count)| {
                    let key = key.clone();
                    let count = *count;
                    let href = format!("/batches/{id}?status={key}");
                    let label_key = key.clone();
                    view! {
                        <li><a href=href data-testid=format!("filter-{key}")>
                            {move || match label_key.strip_prefix("delivery:").and_then(DeliveryStatus::parse) {
                                Some(status) => crate::words::status(i18n.get_locale(), status),
                                None => row_status(i18n.get_locale(), &label_key),
                            }}
                            " "<span class="count">{count}</span>
                        </a></li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

/// The progress, kept up to date every two seconds while rows are still being queued. The
/// numbers are in a polite live region; without wasm the page shows them as they were.
#[island]
fn LiveProgress(id: Uuid, initial: BatchProgress) -> impl IntoView {
    let i18n = use_i18n();
    let progress = RwSignal::new(initial);
    // Only the browser asks for news.
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
    #[cfg(feature = "hydrate")]
    {
        use leptos::task::spawn_local;
        let tick = move || {
            spawn_local(async move {
                if let Ok(now) = progress_of_batch(id).await {
                    progress.set(now);
                }
            })
        };
        let handle = set_interval_with_handle(
            move || {
                let current = progress.get_untracked();
                if current.done < current.rows_good {
                    tick();
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    }
    let percent = move || {
        let p = progress.get();
        if p.rows_good == 0 {
            100
        } else {
            p.done * 100 / p.rows_good
        }
    };
    view! {
        <div class="batch-progress" data-testid="batch-progress">
            <progress max="100" value=move || percent().to_string() aria-labelledby="progress-heading"></progress>
            <p aria-live="polite" data-testid="batch-progress-text">
                {move || {
                    let p = progress.get();
                    t_string!(i18n, batches.progress_text, done = p.done, total = p.rows_good, percent = percent()).to_string()
                }}
                {move || (progress.get().failed > 0).then(|| {
                    let failed = progress.get().failed;
                    view! { " "{t_string!(i18n, batches.progress_failed, count = failed).to_string()} }
                })}
            </p>
        </div>
    }
}

#[component]
fn BadOrAllRows(report: BatchReport, id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    if report.rows.is_empty() {
        return ().into_any();
    }
    // Before confirming, only the rows to fix are listed; afterwards (or once cancelled) all.
    let only_bad = matches!(report.summary.status.as_str(), "checking" | "checked");
    let next = report.next_after.map(|after| {
        let filter = use_query_map()
            .read_untracked()
            .get("status")
            .unwrap_or_default();
        format!("/batches/{id}?status={filter}&after={after}")
    });
    view! {
        <h2 id="rows-heading">
            {if only_bad { t!(i18n, batches.bad_rows_heading).into_any() } else { t!(i18n, batches.rows_heading).into_any() }}
        </h2>
        <table class="table" aria-labelledby="rows-heading" data-testid="batch-rows">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, batches.col_row)}</th>
                    <th scope="col">{t!(i18n, batches.col_recipient)}</th>
                    <th scope="col">{t!(i18n, batches.col_outcome)}</th>
                </tr>
            </thead>
            <tbody>
                {report.rows.into_iter().map(|row| {
                    let status = row.status.clone();
                    let delivery = row.delivery_status;
                    view! {
                        <tr data-testid="batch-row">
                            <th scope="row" data-testid="batch-row-number">{row.row_number}</th>
                            <td>{row.name.clone()}{row.identity_masked.clone().map(|m| format!(" ({m})"))}</td>
                            <td>
                                {match (delivery, row.notice_id) {
                                    (Some(delivery), Some(notice)) => view! {
                                        <a href=format!("/notices/{notice}")>{move || crate::words::status(i18n.get_locale(), delivery)}</a>
                                    }.into_any(),
                                    _ => view! { <span>{move || row_status(i18n.get_locale(), &status)}</span> }.into_any(),
                                }}
                                {(!row.problems.is_empty()).then(|| view! {
                                    <ul class="row-problems">
                                        {row.problems.iter().cloned().map(|problem| {
                                            let field = problem.field.clone();
                                            view! { <li>{move || crate::words::recipient_field(i18n.get_locale(), &field).map(|l| format!("{l}: ")).unwrap_or_default()}<ProblemText problem=problem.problem /></li> }
                                        }).collect_view()}
                                    </ul>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {next.map(|href| view! { <p><a href=href data-testid="batch-next">{t!(i18n, batches.next_rows)}</a></p> })}
    }.into_any()
}
