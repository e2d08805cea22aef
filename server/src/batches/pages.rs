//! What the batch pages post and download: the recipients file (multipart, streamed to a
//! temporary file while it is hashed, read a row at a time, removed at once), confirming and
//! cancelling, the example file and the results as CSV. Work without scripts.

use std::path::PathBuf;

use app::auth::Actor;
use app::domain::channel::DeliveryMode;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::file::{read_csv, read_xlsx, FileKind};
use super::{input_row, BatchService, NewBatch};

/// The largest recipients file: 100 000 rows fit in far less.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// An XLSX file is opened whole: smaller.
const MAX_XLSX_BYTES: u64 = 20 * 1024 * 1024;

fn back(problem: &str) -> Response {
    Redirect::to(&format!("/batches?problem={problem}#problem")).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "No such batch.").into_response()
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a batch action failed");
    crate::auth::middleware::app_unavailable()
}

/// The temporary copy of an upload, gone when this is dropped.
struct TemporaryFile(PathBuf);

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Default)]
struct BatchForm {
    template: Option<Uuid>,
    case_reference: String,
    decision_date: String,
    mode: String,
    filename: String,
    file: Option<(TemporaryFile, String, u64)>,
}

/// Reads the form, the file into a temporary file as it comes (hashed, size-limited).
async fn read_form(mut multipart: Multipart) -> Result<BatchForm, &'static str> {
    let mut form = BatchForm::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err("file_too_large"),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            form.filename = field.file_name().unwrap_or_default().to_string();
            form.file = Some(save(field).await?);
            continue;
        }
        let value = field.text().await.map_err(|_| "file_too_large")?;
        match name.as_str() {
            "template" => form.template = Uuid::parse_str(value.trim()).ok(),
            "case_reference" => form.case_reference = value,
            "decision_date" => form.decision_date = value,
            "mode" => form.mode = value,
            _ => {}
        }
    }
    Ok(form)
}

/// The names of uploads' temporary files start with this.
const UPLOAD_PREFIX: &str = "tiedoksi-batch-";

/// How old a crash's leftover upload file must be before it is removed: no check reads a
/// file that long.
const STALE_UPLOAD_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// An upload's temporary file is removed when its request ends. One that a crash left
/// behind (it holds identity codes in clear) is removed once it is `STALE_UPLOAD_AGE` old.
/// How many were removed.
pub fn remove_stale_uploads() -> usize {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(UPLOAD_PREFIX)
        })
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|elapsed| elapsed > STALE_UPLOAD_AGE)
        })
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

async fn save(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<(TemporaryFile, String, u64), &'static str> {
    let path = std::env::temp_dir().join(format!("{UPLOAD_PREFIX}{}", Uuid::now_v7()));
    let temporary = TemporaryFile(path.clone());
    let mut out = tokio::fs::File::create(&path)
        .await
        .map_err(|_| "unavailable")?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(|_| "file_too_large")? {
        size += chunk.len() as u64;
        if size > MAX_FILE_BYTES as u64 {
            return Err("file_too_large");
        }
        hash.update(&chunk);
        out.write_all(&chunk).await.map_err(|_| "unavailable")?;
    }
    out.flush().await.map_err(|_| "unavailable")?;
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((temporary, sha256, size))
}

/// `POST /batches`: the dry run of a recipients file; then to its report.
pub async fn upload(
    State(batches): State<BatchService>,
    actor: Actor,
    multipart: Multipart,
) -> Response {
    if !actor.may_compose() {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    let form = match read_form(multipart).await {
        Ok(form) => form,
        Err(problem) => return back(problem),
    };
    let Some(template) = form.template else {
        return back("template_required");
    };
    let Some((file, sha256, size)) = form.file.filter(|(_, _, size)| *size > 0) else {
        return back("file_required");
    };
    let Some(kind) = FileKind::of(&form.filename) else {
        return back("file_type");
    };
    if kind == FileKind::Xlsx && size > MAX_XLSX_BYTES {
        return back("file_too_large");
    }
    let mode = match form.mode.as_str() {
        "paper_only" => DeliveryMode::PaperOnly,
        _ => DeliveryMode::Multichannel,
    };
    let mut draft = match crate::notices::drafts::draft_from_template(
        batches.store.as_ref(),
        &actor,
        Uuid::now_v7(),
        template,
    )
    .await
    {
        Ok(draft) => draft,
        Err(app::error::AppError::NotFound) => return back("template_required"),
        Err(error) => return failed(error),
    };
    draft.case_reference = form.case_reference.trim().to_string();
    if !form.decision_date.trim().is_empty() {
        draft.decision.decision_date = Some(form.decision_date.trim().to_string());
    }
    let new = NewBatch {
        draft: draft.clone(),
        filename: super::file::clean_name(&form.filename),
        file_sha256: sha256,
    };
    let id = match batches.begin(&actor, &new).await {
        Ok(id) => id,
        Err(error) => return failed(error),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(1024);
    let path = file.0.clone();
    let reading = tokio::task::spawn_blocking(move || {
        let each = |row: super::file::FileRow| sender.blocking_send(input_row(&row, mode)).is_ok();
        let header = match kind {
            FileKind::Csv => match std::fs::File::open(&path) {
                Ok(opened) => read_csv(opened, each),
                Err(_) => Err(super::file::FileProblem::Unreadable { row: 1 }),
            },
            FileKind::Xlsx => read_xlsx(&path, each),
        };
        header.map(|header| header.ignored)
    });
    let ended = async move {
        reading
            .await
            .unwrap_or(Err(super::file::FileProblem::Unreadable { row: 1 }))
    };
    let checked = batches
        .check_rows(&actor, id, &draft, receiver, ended)
        .await;
    drop(file);
    match checked {
        Ok(()) => Redirect::to(&format!("/batches/{id}")).into_response(),
        Err(error) => failed(error),
    }
}

/// `POST /batches/{id}/confirm`: every good row queued.
pub async fn confirm(
    State(batches): State<BatchService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    if !actor.may_compose() {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    match batches.confirm(&actor, id).await {
        Ok(()) => Redirect::to(&format!("/batches/{id}")).into_response(),
        Err(app::error::AppError::NotFound) => not_found(),
        Err(app::error::AppError::Invalid(_)) => {
            Redirect::to(&format!("/batches/{id}?problem=not_confirmable#problem")).into_response()
        }
        Err(error) => failed(error),
    }
}

/// `POST /batches/{id}/cancel`.
pub async fn cancel(
    State(batches): State<BatchService>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> Response {
    if !actor.may_compose() {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    match batches.cancel(&actor, id).await {
        Ok(()) => Redirect::to(&format!("/batches/{id}")).into_response(),
        Err(app::error::AppError::NotFound) => not_found(),
        Err(error) => failed(error),
    }
}

/// `GET /batches/example.csv`: every column, two rows; with a byte order mark, so Excel
/// opens it as UTF-8.
pub async fn example() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"vastaanottajat.csv\"",
            ),
        ],
        format!("\u{feff}{}", super::file::example_csv()),
    )
        .into_response()
}

/// `GET /batches/{id}/results.csv`: every row and what became of it, in the reader's
/// language, a page of rows at a time.
pub async fn results(
    State(batches): State<BatchService>,
    actor: Actor,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Response {
    // As the batch's page: sending to many is the composers' (auditors read the notices).
    if !actor.may_compose() {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    let locale = crate::language::request_locale(&headers);
    let batch = match batches.store.batch(actor.organisation_id, id).await {
        Ok(Some(batch)) => batch,
        Ok(None) => return (StatusCode::NOT_FOUND, "not found").into_response(),
        Err(error) => return failed(error),
    };
    let entry = crate::audit::AuditEntry::new(crate::audit::AuditAction::BatchResultsRead)
        .by(&actor)
        .subject("batch", id);
    if let Err(error) = batches.audit.record(entry).await {
        return failed(error);
    }
    let mut out = String::from("\u{feff}");
    out.push_str(&super::results::header_line(locale));
    let mut after = 0;
    loop {
        let rows = match batches.store.batch_rows(batch.id, None, after, 1000).await {
            Ok(rows) => rows,
            Err(error) => return failed(error),
        };
        let Some(last) = rows.last() else { break };
        after = last.row_number;
        for row in &rows {
            out.push_str(&super::results::row_line(locale, row));
        }
    }
    let filename = format!("tulokset-{}.csv", &id.simple().to_string()[..8]);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        out,
    )
        .into_response()
}
