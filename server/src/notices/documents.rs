//! Documents over plain HTTP: uploading an attachment for a notice being composed (multipart,
//! which server functions do not take well), and opening a notice's paper letter or an
//! attachment. Every upload and download is audited; a document of another organisation is
//! "not found", never "forbidden", so its existence is not told.

use std::sync::Arc;

use app::auth::Actor;
use app::compose::{FieldProblem, Problem};
use app::error::AppError;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::blobs::{BlobStore, Sha256Hex};
use crate::store::{Notice, Store, Timestamp, Upload};
use crate::suomifi::limits::{attachment_media_type, Limits};

#[derive(Clone)]
pub struct Documents {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Audit,
    pub limits: Limits,
    pub letters: super::letters::Letters,
}

#[derive(Debug, Serialize)]
pub struct UploadedDocument {
    pub id: Uuid,
    pub filename: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

fn refuse(status: StatusCode, error: AppError) -> Response {
    (status, Json(error)).into_response()
}

fn problem(status: StatusCode, problem: Problem) -> Response {
    refuse(
        status,
        AppError::Invalid(vec![FieldProblem::new("file", problem)]),
    )
}

/// Characters that change how text is shown without being seen: bidirectional overrides
/// (`evil\u{202E}fdp.exe` shows as `evilexe.pdf`), zero-width and other format characters.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Keeps only the last path segment and drops control and format characters: the name is
/// shown and sent on, never used as a path.
pub fn clean_filename(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = name.chars().filter(|c| !is_invisible(*c)).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return "document".to_string();
    }
    shortened(trimmed, MAX_FILENAME_CHARS)
}

/// Longest name kept; recipients read them on phones.
const MAX_FILENAME_CHARS: usize = 200;

/// At most `max` characters, the extension kept: the type is read from it afterwards.
fn shortened(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| !extension.is_empty() && extension.chars().count() <= 10);
    match extension {
        Some(extension) => {
            let stem_max = max - extension.chars().count() - 1;
            let stem: String = name.chars().take(stem_max).collect();
            format!("{}.{extension}", stem.trim_end())
        }
        None => name.chars().take(max).collect(),
    }
}

/// Why an upload was not kept.
#[derive(Debug)]
pub enum UploadRefusal {
    /// The file is wrong: the status to answer and the problem of the `file` field.
    Problem(StatusCode, Problem),
    Internal(AppError),
}

impl UploadRefusal {
    fn response(self) -> Response {
        match self {
            UploadRefusal::Problem(status, found) => problem(status, found),
            UploadRefusal::Internal(error) => refuse(error.status(), error),
        }
    }
}

impl Documents {
    pub fn max_upload_mb(&self) -> u32 {
        (self.limits.max_upload_bytes / (1024 * 1024)) as u32
    }

    /// Checks a file and keeps it: a type Suomi.fi takes, named for its type, within the
    /// size limit, a PDF that is one; stored once by its hash, recorded and audited.
    pub async fn keep_upload(
        &self,
        actor: &Actor,
        raw_filename: &str,
        declared: Option<&str>,
        bytes: &[u8],
    ) -> Result<Upload, UploadRefusal> {
        use UploadRefusal::Problem as Refused;
        let uploaded_by = actor
            .user_id()
            .ok_or(UploadRefusal::Internal(AppError::Forbidden))?;
        let filename = clean_filename(raw_filename);
        let Some(media_type) = attachment_media_type(&filename, declared) else {
            return Err(Refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Problem::FileTypeNotAccepted,
            ));
        };
        // The recipient's device opens the file by its name: the name must say what it is.
        if attachment_media_type(&filename, None) != Some(media_type) {
            return Err(Refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem::FileExtensionMismatch,
            ));
        }
        if bytes.is_empty() {
            return Err(Refused(StatusCode::UNPROCESSABLE_ENTITY, Problem::Required));
        }
        if bytes.len() > self.limits.max_upload_bytes {
            return Err(Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                Problem::FileTooLarge {
                    max_mb: self.max_upload_mb(),
                },
            ));
        }
        // A file that says it is a PDF must be one: it may be printed.
        if media_type == "application/pdf" && !crate::suomifi::limits::is_pdf(bytes) {
            return Err(Refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem::AttachmentNotPrintable,
            ));
        }
        if !crate::suomifi::limits::content_matches(media_type, bytes) {
            return Err(Refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem::FileExtensionMismatch,
            ));
        }
        let sha256 = self
            .blobs
            .put(bytes)
            .await
            .map_err(|e| UploadRefusal::Internal(AppError::internal(e)))?
            .to_string();
        let upload = Upload {
            id: Uuid::now_v7(),
            organisation_id: actor.organisation_id,
            uploaded_by,
            sha256: sha256.clone(),
            filename,
            media_type: media_type.to_string(),
            size_bytes: bytes.len() as i64,
            created_at: Timestamp::now(),
        };
        self.store
            .create_upload(&upload)
            .await
            .map_err(|e| UploadRefusal::Internal(AppError::internal(e)))?;
        let entry = AuditEntry::new(AuditAction::DocumentUploaded)
            .by(actor)
            .subject("upload", upload.id)
            .details(json!({
                "sha256": sha256,
                "media_type": media_type,
                "size_bytes": upload.size_bytes,
            }));
        self.audit
            .record(entry)
            .await
            .map_err(|e| UploadRefusal::Internal(AppError::internal(e)))?;
        Ok(upload)
    }
}

/// `POST /api/uploads`, multipart with one `file` part.
pub async fn upload(
    State(documents): State<Documents>,
    actor: Actor,
    mut multipart: Multipart,
) -> Response {
    if !actor.may_compose() {
        return refuse(StatusCode::FORBIDDEN, AppError::Forbidden);
    }
    // Too large is the limit's doing; anything else is a broken form, not a large file.
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                Problem::FileTooLarge {
                    max_mb: documents.max_upload_mb(),
                },
            )
        } else {
            problem(StatusCode::BAD_REQUEST, Problem::Required)
        }
    };
    let field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => break field,
            Ok(Some(_)) => continue,
            Ok(None) => return problem(StatusCode::UNPROCESSABLE_ENTITY, Problem::Required),
            Err(error) => return unreadable(error),
        }
    };
    let filename = field.file_name().unwrap_or_default().to_string();
    let declared = field.content_type().map(str::to_string);
    let bytes = match field.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => return unreadable(error),
    };
    match documents
        .keep_upload(&actor, &filename, declared.as_deref(), &bytes)
        .await
    {
        Ok(upload) => (
            StatusCode::CREATED,
            Json(UploadedDocument {
                id: upload.id,
                filename: upload.filename,
                media_type: upload.media_type,
                size_bytes: upload.size_bytes,
                sha256: upload.sha256,
            }),
        )
            .into_response(),
        Err(refusal) => refusal.response(),
    }
}

/// The notice's documents open to this reader (`view::content_withheld`).
async fn may_open(documents: &Documents, actor: &Actor, notice: &Notice) -> Result<bool, AppError> {
    super::view::content_withheld_from(documents.store.as_ref(), actor, notice)
        .await
        .map(|withheld| !withheld)
        .map_err(AppError::internal)
}

/// The notice, if the reader may open its documents; a refusal is on the record.
pub(crate) async fn openable_notice(
    documents: &Documents,
    actor: &Actor,
    notice_id: Uuid,
) -> Result<Notice, AppError> {
    let notice = documents
        .store
        .notice(actor.organisation_id, notice_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotFound)?;
    if may_open(documents, actor, &notice).await? {
        return Ok(notice);
    }
    let entry = AuditEntry::new(AuditAction::DocumentDownloadRefused)
        .by(actor)
        .subject("notice", notice_id)
        .details(json!({ "reason": "address_protected" }));
    documents
        .audit
        .record(entry)
        .await
        .map_err(AppError::internal)?;
    Err(AppError::Forbidden)
}

/// Which of a notice's kept documents.
#[derive(Debug, Clone, Copy)]
pub enum KeptDocument {
    /// The paper letter, as rendered when the notice was composed.
    Letter,
    /// An attachment by its position.
    Attachment(i32),
}

/// A kept document handed out: its bytes, name and type.
pub struct DocumentFile {
    pub bytes: Vec<u8>,
    pub filename: String,
    pub media_type: String,
}

impl Documents {
    /// One stored document of a notice for this reader, the reading on the record.
    pub async fn kept_document(
        &self,
        actor: &Actor,
        notice_id: Uuid,
        which: KeptDocument,
    ) -> Result<DocumentFile, AppError> {
        let notice = openable_notice(self, actor, notice_id).await?;
        let (what, sha256, filename, media_type) = match which {
            KeptDocument::Letter => (
                "paper_letter",
                self.letters
                    .ensure(&notice)
                    .await
                    .map_err(AppError::internal)?
                    .ok_or(AppError::NotFound)?,
                format!("{}.pdf", notice.case_reference),
                "application/pdf".to_string(),
            ),
            KeptDocument::Attachment(position) => {
                let found = self
                    .store
                    .notice_attachments(notice_id)
                    .await
                    .map_err(AppError::internal)?
                    .into_iter()
                    .find(|a| a.position == position)
                    .ok_or(AppError::NotFound)?;
                ("attachment", found.sha256, found.filename, found.media_type)
            }
        };
        let digest = Sha256Hex::parse(&sha256)
            .map_err(|_| AppError::internal("a stored hash does not parse"))?;
        let bytes = self
            .blobs
            .get(&digest)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let entry = AuditEntry::new(AuditAction::DocumentDownloaded)
            .by(actor)
            .subject("notice", notice_id)
            .details(json!({ "document": what, "sha256": sha256 }));
        self.audit.record(entry).await.map_err(AppError::internal)?;
        Ok(DocumentFile {
            bytes,
            filename,
            media_type,
        })
    }
}

/// A PDF we made ourselves (a letter preview, a proof), shown in the browser and framable by
/// our own pages only. `filename` is ASCII.
pub(crate) fn pdf_to_show(bytes: Vec<u8>, filename: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

/// A refusal as JSON with the error's own status.
pub(crate) fn refusal(error: AppError) -> Response {
    (error.status(), Json(error)).into_response()
}

/// Bytes handed out as a file to save, never to run or render on our origin.
pub(crate) fn download(bytes: Vec<u8>, filename: &str, media_type: &str) -> Response {
    let disposition = content_disposition(&clean_filename(filename));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Opened from our origin, a document must not run anything there.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    response
}

/// `attachment` with an ASCII `filename` for old clients and the exact name in `filename*`
/// (RFC 6266, RFC 8187 percent-encoding of UTF-8).
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.as_bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(byte);
        if keep {
            encoded.push(*byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// `GET /notices/{id}/letter.pdf`: the paper letter exactly as rendered when the notice was
/// composed (the preview is the document sent).
pub async fn letter(
    State(documents): State<Documents>,
    actor: Actor,
    Path(notice_id): Path<Uuid>,
) -> Response {
    hand_out(&documents, &actor, notice_id, KeptDocument::Letter).await
}

/// `GET /notices/{id}/attachments/{position}`.
pub async fn attachment(
    State(documents): State<Documents>,
    actor: Actor,
    Path((notice_id, position)): Path<(Uuid, i32)>,
) -> Response {
    hand_out(
        &documents,
        &actor,
        notice_id,
        KeptDocument::Attachment(position),
    )
    .await
}

async fn hand_out(
    documents: &Documents,
    actor: &Actor,
    notice_id: Uuid,
    which: KeptDocument,
) -> Response {
    match documents.kept_document(actor, notice_id, which).await {
        Ok(file) => download(file.bytes, &file.filename, &file.media_type),
        Err(error) => refuse(error.status(), error),
    }
}

#[cfg(test)]
mod tests {
    use super::{clean_filename, content_disposition};

    #[test]
    fn filenames_lose_their_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\päätös.pdf"), "päätös.pdf");
        assert_eq!(clean_filename("a\u{0}b\n.pdf"), "ab.pdf");
        assert_eq!(clean_filename("  "), "document");
        let long = format!("{}.pdf", "päätös".repeat(50));
        let kept = clean_filename(&long);
        assert_eq!(kept.chars().count(), 200);
        assert!(kept.ends_with(".pdf"), "{kept}");
    }

    #[test]
    fn filenames_lose_bidi_overrides_and_invisible_characters() {
        assert_eq!(clean_filename("lasku\u{202E}fdp.exe"), "laskufdp.exe");
        assert_eq!(clean_filename("a\u{200B}b\u{2066}c\u{FEFF}.pdf"), "abc.pdf");
    }

    #[test]
    fn downloads_are_attachments_named_in_both_forms() {
        assert_eq!(
            content_disposition("päätös \"1\".pdf"),
            "attachment; filename=\"p__t_s _1_.pdf\"; \
             filename*=UTF-8''p%C3%A4%C3%A4t%C3%B6s%20%221%22.pdf"
        );
    }
}
