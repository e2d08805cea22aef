//! The bad-input corpus (`tests/fixtures/bad-input/`, one file per case): every case through
//! every entry point that takes it — the compose server function, `POST /api/v1/notices`, the
//! page's and the API's uploads, the batch file upload — is answered with a clear 4xx naming
//! the field, never a 5xx, and leaves the database and the document store as they were.
//! (SQLite: the checks run before any write, the same code on both databases.)

use std::path::{Path, PathBuf};

use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use serde_json::{json, Value};

use crate::helpers::{new_client, TestApp, TestBackend};
use crate::notices::{draft, paper_ready, recipient, with_mailbox, without_mailbox};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-input")
}

/// The cases of one directory, by name, sorted.
fn cases(directory: &str) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus().join(directory))
        .unwrap_or_else(|error| panic!("{directory}: {error}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

fn text(case: &(String, Vec<u8>)) -> String {
    String::from_utf8(case.1.clone()).unwrap_or_else(|_| panic!("{}: not UTF-8", case.0))
}

/// What must not change: rows that a refused input could have left behind, and the
/// document store's files.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    notices: usize,
    jobs: i64,
    uploads: i64,
    blob_files: usize,
}

pub(crate) fn files_under(directory: &Path) -> usize {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .map(|entry| {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        files_under(&path)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn footprint(app: &TestApp, pool: &sqlx::SqlitePool) -> Footprint {
    let count = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap()
    };
    Footprint {
        notices: count("notices").await as usize,
        jobs: count("outbox_jobs").await,
        uploads: count("uploads").await,
        blob_files: files_under(app.blob_dir.path()),
    }
}

/// A file name as a kept document's must be: no path, no control or invisible character
/// (bidirectional overrides, zero-width and other format characters), at most 200
/// characters, still a PDF's. The list is the test's own, not `clean_filename`'s.
pub(crate) fn is_clean_filename(name: &str) -> bool {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c,
                '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
    };
    !name.contains(['/', '\\'])
        && !name.chars().any(invisible)
        && name.chars().count() <= 200
        && name.to_lowercase().ends_with(".pdf")
}

/// A 4xx naming `field` (the server function's `Invalid` list or the API's `errors`).
fn assert_refused(case: &str, route: &str, status: u16, body: &Value, field: &str) {
    assert!(
        (400..500).contains(&status),
        "{case} via {route}: answered {status}: {body}"
    );
    let named: Vec<&str> = body["Invalid"]
        .as_array()
        .or_else(|| body["errors"].as_array())
        .map(|problems| {
            problems
                .iter()
                .filter_map(|p| p["field"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        named.iter().any(|named| named.starts_with(field)),
        "{case} via {route}: {status} names {named:?}, not {field}: {body}"
    );
}

struct Entry<'a> {
    app: &'a TestApp,
    key: String,
}

impl Entry<'_> {
    /// The compose page's server function.
    async fn server_function(&self, notice: &Value) -> (u16, Value) {
        let answer = self
            .app
            .client
            .post(self.app.url("/api/send_notice"))
            .header(ORIGIN, self.app.origin())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(json!({ "draft": notice }).to_string())
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// The integration API, with the same notice (less the form's own key).
    async fn api(&self, notice: &Value, idempotency: &str) -> (u16, Value) {
        let mut body = notice.clone();
        body.as_object_mut().unwrap().remove("idempotency_key");
        let answer = new_client()
            .post(self.app.url("/api/v1/notices"))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idempotency)
            .header("Accept-Language", "sv")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn both(&self, case: &str, notice: &Value, field: &str) {
        let (status, body) = self.server_function(notice).await;
        assert_refused(case, "server function", status, &body, field);
        let (status, body) = self.api(notice, &format!("bad-{case}")).await;
        assert_refused(case, "/api/v1/notices", status, &body, field);
    }

    async fn api_upload(&self, filename: &str, bytes: Vec<u8>) -> (u16, Value) {
        // A body over the limit is refused before it is read: the client may still be writing
        // when the connection closes (a broken pipe instead of the 413). Asked again, it reads
        // the answer.
        let mut attempts = 0;
        let answer = loop {
            let sent = new_client()
                .post(self.app.url("/api/v1/documents"))
                .bearer_auth(&self.key)
                .query(&[("filename", filename)])
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(answer) => break answer,
                Err(error) if error.is_request() && attempts < 5 => attempts += 1,
                Err(error) => panic!("{filename}: {error}"),
            }
        };
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// The page's upload (multipart), when the name can travel in a part's header.
    async fn page_upload(&self, filename: &str, bytes: Vec<u8>) -> Option<u16> {
        if filename.chars().any(|c| c.is_control()) {
            return None;
        }
        let part = reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string());
        let answer = self
            .app
            .client
            .post(self.app.url("/api/uploads"))
            .header(ORIGIN, self.app.origin())
            .header(ACCEPT, "application/json")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        Some(answer.status().as_u16())
    }
}

/// A notice to one person with a mailbox, electronic only: valid as it stands.
fn electronic(case: &str) -> Value {
    let mut notice = draft(
        case,
        vec![recipient(
            "Maija Meikäläinen",
            Some(&with_mailbox()),
            "electronic_only",
        )],
    );
    notice["notice_type"] = json!("notification");
    notice.as_object_mut().unwrap().remove("decision");
    notice
        .as_object_mut()
        .unwrap()
        .remove("appeal_instructions");
    notice
}

/// A `.gen.json` case's file: `prefix` then `fill` to exactly `size` bytes.
fn generated(spec: &[u8]) -> (String, Vec<u8>) {
    let spec: Value = serde_json::from_slice(spec).unwrap();
    let size = spec["size"].as_u64().unwrap() as usize;
    let mut bytes = spec["prefix"].as_str().unwrap_or("").as_bytes().to_vec();
    let fill = spec["fill"].as_str().unwrap_or("0").as_bytes().to_vec();
    while bytes.len() < size {
        bytes.extend_from_slice(&fill);
    }
    bytes.truncate(size);
    (spec["filename"].as_str().unwrap().to_string(), bytes)
}

/// A small valid A4 PDF, the upload's good case.
fn good_pdf() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/liite.pdf")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_is_refused_clearly_and_changes_nothing() {
    let app = paper_ready(TestBackend::Sqlite, false).await;
    let key = tiedoksi::api::keys::create_key(&app.store, app.organisation.id, "corpus", "test")
        .await
        .unwrap()
        .secret;
    let entry = Entry { app: &app, key };
    let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
    let before = footprint(&app, &pool).await;
    let mut tried = 0;

    for case in cases("identity_code") {
        let mut notice = electronic(&case.0);
        notice["recipients"][0]["identity_code"] = json!(text(&case));
        entry
            .both(&case.0, &notice, "recipients[0].identity_code")
            .await;
        tried += 1;
    }
    for case in cases("recipient_name") {
        let mut notice = electronic(&case.0);
        notice["recipients"][0]["name"] = json!(text(&case));
        entry.both(&case.0, &notice, "recipients[0].name").await;
        tried += 1;
    }
    for case in cases("address") {
        let mut notice = electronic(&case.0);
        notice["recipients"][0]["identity_code"] = json!(without_mailbox());
        notice["recipients"][0]["mode"] = json!("paper_only");
        notice["recipients"][0]["address"] = serde_json::from_slice(&case.1).unwrap();
        entry.both(&case.0, &notice, "recipients[0].address").await;
        tried += 1;
    }
    for (directory, field) in [
        ("title", "title"),
        ("case_reference", "case_reference"),
        ("body", "body"),
    ] {
        for case in cases(directory) {
            let mut notice = electronic(&case.0);
            notice[field] = json!(text(&case));
            entry.both(&case.0, &notice, field).await;
            tried += 1;
        }
    }
    assert_eq!(
        footprint(&app, &pool).await,
        before,
        "a refused notice left something behind"
    );

    for case in cases("upload") {
        let (filename, bytes) = if case.0.ends_with(".gen.json") {
            generated(&case.1)
        } else {
            case.clone()
        };
        let (status, body) = entry.api_upload(&filename, bytes.clone()).await;
        assert!(
            (400..500).contains(&status),
            "{} via /api/v1/documents: {status} {body}",
            case.0
        );
        if let Some(status) = entry.page_upload(&filename, bytes).await {
            assert!(
                (400..500).contains(&status),
                "{} via /api/uploads: {status}",
                case.0
            );
        }
        tried += 1;
    }
    assert_eq!(
        footprint(&app, &pool).await,
        before,
        "a refused upload left something behind"
    );

    // Accepted, with the name cleaned: no path, no control or invisible character, the type
    // still readable.
    for case in cases("filename") {
        let name = text(&case);
        let (status, body) = entry.api_upload(&name, good_pdf()).await;
        assert_eq!(status, 201, "{} ({name:?}): {body}", case.0);
        let kept = body["filename"].as_str().unwrap();
        assert!(is_clean_filename(kept), "{}: kept as {kept:?}", case.0);
        tried += 1;
    }

    // Taken as files, refused as paper: the letter cannot carry them.
    for case in cases("paper_attachment") {
        let (status, uploaded) = entry.api_upload(&case.0, case.1.clone()).await;
        assert_eq!(status, 201, "{}: {uploaded}", case.0);
        let after_upload = footprint(&app, &pool).await;
        let mut notice = electronic(&case.0);
        notice["recipients"][0]["identity_code"] = json!(without_mailbox());
        notice["recipients"][0]["mode"] = json!("paper_only");
        notice["attachments"] = json!([uploaded["id"]]);
        entry.both(&case.0, &notice, "attachments").await;
        assert_eq!(footprint(&app, &pool).await, after_upload, "{}", case.0);
        tried += 1;
    }

    let template = crate::templates::add_template(&app, "Korpus", "Ilmoitus", "Tiedoksi.").await;
    for case in cases("csv") {
        let before_file = footprint(&app, &pool).await;
        let form = reqwest::multipart::Form::new()
            .text("template", template.to_string())
            .text("case_reference", "DNRO 1/2027")
            .text("mode", "multichannel")
            .part(
                "file",
                reqwest::multipart::Part::bytes(case.1.clone())
                    .file_name(case.0.clone())
                    .mime_str("text/csv")
                    .unwrap(),
            );
        let checked = app
            .client
            .post(app.url("/batches"))
            .header(ORIGIN, app.origin())
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = checked.status().as_u16();
        assert!(
            status == 303 || (400..500).contains(&status),
            "{}: {status}",
            case.0
        );
        let to = checked
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        if let Some(batch) = to
            .strip_prefix("/batches/")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
        {
            let confirm = app
                .client
                .post(app.url(&format!("/batches/{batch}/confirm")))
                .header(ORIGIN, app.origin())
                .send()
                .await
                .unwrap();
            assert!(
                confirm.status().as_u16() < 500,
                "{}: confirm answered {}",
                case.0,
                confirm.status()
            );
        }
        let after = footprint(&app, &pool).await;
        assert_eq!(
            (after.notices, after.jobs),
            (before_file.notices, before_file.jobs),
            "{}: queued something",
            case.0
        );
        tried += 1;
    }
    assert!(tried >= 80, "the corpus has {tried} cases");
    println!("bad-input corpus: {tried} cases, every one refused or cleaned");
    pool.close().await;
}
