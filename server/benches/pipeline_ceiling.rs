//! `make bench`: Tiedoksi's delivery pipeline against the ceiling the simulator sets, in one
//! run, on SQLite and on PostgreSQL.
//!
//! (a) the ceiling: 10 000 multichannel messages, each with one 100 KB PDF (upload + send),
//!     sent straight to the `suomifi-sim` binary by a bare concurrent HTTP client;
//! (b) the pipeline: the release `tiedoksi` binary started on a database holding 10 000
//!     queued notices of that shape (loaded through the store, not the UI), its worker
//!     delivering them to the same simulator with pacing off. Twice: the notices sharing
//!     one letter (uploaded once, its id reused) and each with its own (uploaded each time).
//!
//! Prints `name value unit` lines (rates, b/a, the server's peak RSS) and checks only what is
//! not about speed: every notice arrived, none twice. Asserts nothing about speed.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use serde_json::{json, Value};
use tiedoksi::blobs::{BlobStore, FilesystemBlobStore};
use tiedoksi::secrets::{Column, DataKey, DataKeys};
use tiedoksi::store::{DecisionContent, NewDelivery, NewNotice, Store};
use tiedoksi::suomifi::model::{
    Address, AttachmentRef, BodyFormat, ContactDetails, ElectronicPart, MessageServiceType,
    MultichannelMessage, Notifications, PaperMailPart, PostalParty, PostiMessaging,
    PrintingAndEnvelopingService, Recipient, ReplyAllowedBy, Sender, Visibility,
};
use uuid::Uuid;

/// The size; `PIPELINE_NOTICES` makes a smaller run while profiling.
fn notices() -> usize {
    std::env::var("PIPELINE_NOTICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}
/// The bare client's requests in flight.
const CEILING_CONCURRENCY: usize = 16;
const PDF_BYTES: usize = 100 * 1024;
/// Odd individual number: an active mailbox in the simulator.
const RECIPIENT: &str = "010594Y9032";
const ADMIN_PASSWORD: &str = "pipeline-bench-password";
const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const POSTGRES_BENCH: &str = "postgres://postgres@127.0.0.1:5432/tiedoksi_bench_pipeline";

fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(PDF_BYTES, b'0');
    bytes
}

/// The letter of notice `n` when every notice has its own: the same size, other bytes.
fn own_pdf(n: usize) -> Vec<u8> {
    let mut bytes = pdf();
    let stamp = format!("% notice {n}\n");
    bytes[9..9 + stamp.len()].copy_from_slice(stamp.as_bytes());
    bytes
}

/// Whether the queued notices share one letter (a notice's parties, a batch's shared
/// document: Tiedoksi uploads it once and reuses its id) or each has its own (uploaded each
/// time, as the ceiling's bare client does).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Letters {
    Shared,
    OwnEach,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `suomifi-sim` binary on a free port, its own process as in production.
struct Simulator {
    process: Child,
    base: String,
}

impl Simulator {
    fn start() -> Self {
        let port = free_port();
        let process = Command::new(env!("CARGO_BIN_EXE_suomifi-sim"))
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("suomifi-sim starts");
        Self {
            process,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_ready(&self, client: &reqwest::Client) {
        let started = Instant::now();
        while client
            .get(format!("{}/__sim/counters", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(started.elapsed() < Duration::from_secs(30), "no simulator");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn counters(&self, client: &reqwest::Client) -> Value {
        client
            .get(format!("{}/__sim/counters", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn reset(&self, client: &reqwest::Client) {
        client
            .post(format!("{}/__sim/counters/reset", self.base))
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Messages the simulator took and how many of them came twice.
fn arrivals(counters: &Value) -> (usize, u64) {
    let messages = counters["messages_by_external_id"]
        .as_object()
        .map(|by_id| by_id.len())
        .unwrap_or(0);
    // A repeated externalId answered 409 is the idempotency working; a second message is not.
    let duplicates = counters["external_ids_with_more_than_one_message"]
        .as_u64()
        .unwrap_or(u64::MAX);
    (messages, duplicates)
}

fn address(name: &str, street: &str) -> Address {
    Address {
        name: name.into(),
        additional_name: None,
        street_address: street.into(),
        zip_code: "00100".into(),
        city: "Helsinki".into(),
        country_code: "FI".into(),
    }
}

fn multichannel(run: &str, n: usize, attachment: uuid::Uuid) -> MultichannelMessage {
    MultichannelMessage {
        external_id: format!("ceiling-{run}-{n}"),
        recipient: Recipient {
            id: RECIPIENT.into(),
        },
        sender: Sender {
            service_id: "sim-service".into(),
        },
        electronic: ElectronicPart {
            title: "Päätös".into(),
            body: "Päätös liitteenä.".into(),
            body_format: BodyFormat::Text,
            message_service_type: MessageServiceType::Normal,
            reply_allowed_by: ReplyAllowedBy::NoOne,
            visibility: Some(Visibility::Normal),
            attachments: Vec::new(),
            notifications: Notifications::default(),
            in_reply_to_message_id: None,
        },
        paper_mail: PaperMailPart {
            attachments: vec![AttachmentRef {
                attachment_id: attachment,
            }],
            color_printing: false,
            create_address_page: true,
            message_service_type: MessageServiceType::Normal,
            printing_and_enveloping_service: PrintingAndEnvelopingService {
                posti_messaging: PostiMessaging {
                    contact_details: ContactDetails {
                        email: "posti@tiedoksi.local".into(),
                    },
                    username: "tiedok".into(),
                    password: "demo".into(),
                },
                cost_pool: None,
            },
            recipient: PostalParty {
                address: address("Maija Meikäläinen", "Mannerheimintie 1"),
            },
            rotate_landscape_pages: true,
            sender: PostalParty {
                address: address("Demo-organisaatio", "PL 1"),
            },
            two_sided_printing: true,
        },
    }
}

/// (a): token once, then per message an upload and a multichannel send, `CEILING_CONCURRENCY`
/// at a time. Returns messages per second.
async fn ceiling(simulator: &Simulator, run: &str) -> f64 {
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{}/v1/token", simulator.base))
        .json(&json!({"username": "sim-user", "password": "sim-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = Arc::new(token["access_token"].as_str().unwrap().to_string());
    let pdf = Arc::new(pdf());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..CEILING_CONCURRENCY {
        let (client, token, pdf, base, run) = (
            client.clone(),
            token.clone(),
            pdf.clone(),
            simulator.base.clone(),
            run.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            for n in (lane..notices()).step_by(CEILING_CONCURRENCY) {
                let part = reqwest::multipart::Part::bytes(pdf.to_vec())
                    .file_name(format!("kirje-{n}.pdf"))
                    .mime_str("application/pdf")
                    .unwrap();
                let uploaded: Value = client
                    .post(format!("{base}/v2/attachments"))
                    .bearer_auth(token.as_str())
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let attachment = uploaded["attachmentId"]
                    .as_str()
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(|| panic!("upload refused: {uploaded}"));
                let sent = client
                    .post(format!("{base}/v2/messages"))
                    .bearer_auth(token.as_str())
                    .json(&multichannel(&run, n, attachment))
                    .send()
                    .await
                    .unwrap();
                assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    notices() as f64 / started.elapsed().as_secs_f64()
}

/// The release server on `database_url`, reaching the simulator, pacing off.
fn tiedoksi(
    database_url: &str,
    data: &std::path::Path,
    key: &DataKey,
    simulator: &Simulator,
    port: u16,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
        .env("TIEDOKSI_DATABASE_URL", database_url)
        .env("TIEDOKSI_DATA_KEY", key.to_base64())
        .env("TIEDOKSI_BLOB_DIR", data.join("blobs"))
        .env("TIEDOKSI_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("TIEDOKSI_ADDR", format!("127.0.0.1:{port}"))
        .env("TIEDOKSI_SUOMIFI_URL", &simulator.base)
        .env("TIEDOKSI_SUOMIFI_USERNAME", "sim-user")
        .env("TIEDOKSI_SUOMIFI_PASSWORD", "sim-password")
        .env("TIEDOKSI_SUOMIFI_SERVICE_ID", "sim-service")
        .env("TIEDOKSI_POSTI_USERNAME", "tiedok")
        .env("TIEDOKSI_POSTI_PASSWORD", "demo")
        .env("TIEDOKSI_ALLOW_TEST_IDENTITY_CODES", "1")
        .env("TIEDOKSI_SUOMIFI_REQUESTS_PER_SECOND", "0")
        .env("TIEDOKSI_EVENTS_POLL_SECONDS", "3600")
        .env("TIEDOKSI_WORKER_IDLE_MS", "20")
        // `PIPELINE_SERVER_LOG=file` keeps the server's log (e.g. with
        // `PIPELINE_RUST_LOG=sqlx::query=debug` to count its statements).
        .env(
            "RUST_LOG",
            std::env::var("PIPELINE_RUST_LOG").unwrap_or("warn".into()),
        )
        .stdout(server_log())
        .stderr(server_log())
        .spawn()
        .expect("tiedoksi starts")
}

fn server_log() -> Stdio {
    match std::env::var("PIPELINE_SERVER_LOG") {
        Ok(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the server log opens")
            .into(),
        Err(_) => Stdio::null(),
    }
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    let started = Instant::now();
    loop {
        if let Ok(answer) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if answer.status() == 200 {
                return;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stop(mut process: Child) {
    // SIGTERM: a graceful stop, so the next start finds the database closed cleanly.
    unsafe {
        libc::kill(process.id() as i32, libc::SIGTERM);
    }
    let _ = process.wait();
}

/// Peak resident set of a running process, in MiB (Linux `VmHWM`).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

/// One multichannel notice to a person with a mailbox: its paper letter (the 100 KB PDF) is
/// already in the document store, as composing would have left it.
fn queued_notice(
    keys: &DataKeys,
    organisation: Uuid,
    author: Uuid,
    letter: &str,
    n: usize,
) -> NewNotice {
    let postal = json!({
        "name": "Maija Meikäläinen",
        "street_address": "Mannerheimintie 1",
        "zip_code": "00100",
        "city": "Helsinki",
        "country_code": "FI",
    });
    NewNotice {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        author_id: author,
        notice_type: "decision".into(),
        case_reference: format!("DNRO {n}/2026"),
        title: "Päätös".into(),
        body: "Päätös liitteenä.".into(),
        body_format: "Text".into(),
        language: "fi".into(),
        verifiable: false,
        appeal_days: Some(30),
        service_id: "sim-service".into(),
        idempotency_key: format!("bench-{n}"),
        appeal_instructions: None,
        paper_letter_sha256: Some(letter.to_string()),
        letter_input: None,
        audit: None,
        request_sha256: None,
        decision: DecisionContent::default(),
        electronic_body: "Päätös liitteenä.".into(),
        in_reply_to_message_id: None,
        template: None,
        replies_allowed: false,
        attachments: Vec::new(),
        deliveries: vec![NewDelivery {
            id: Uuid::now_v7(),
            role: "party".into(),
            recipient_name: "Maija Meikäläinen".into(),
            identity_kind: "person".into(),
            identity_sealed: Some(keys.seal(Column::IdentityCode, RECIPIENT)),
            identity_lookup: Some(keys.lookup_hash(RECIPIENT)),
            identity_masked: Some("010594-****".into()),
            address_sealed: Some(keys.seal(Column::PostalAddress, &postal.to_string())),
            facts: "{}".into(),
            requested_mode: DeliveryMode::Multichannel,
            decided_mode: DeliveryMode::Multichannel,
            channel_reasons: vec![ChannelReason::AsRequested],
            paper_addressee: PaperAddressee::Recipient,
            address_protected: false,
            content_not_for_others: false,
            recipient_minor: false,
            mailbox_check_deferred: false,
        }],
    }
}

/// Loads the queue: the organisation, its admin and its service come from the server's own
/// first start; the notices go in through the store, four writers at once.
async fn load_queue(
    store: &Arc<dyn Store>,
    keys: &DataKeys,
    blobs: &Arc<FilesystemBlobStore>,
    letters: Letters,
) {
    let shared = blobs.put(&pdf()).await.unwrap().to_string();
    let admin = store
        .user_by_email(tiedoksi::bootstrap::FIRST_ADMIN_EMAIL)
        .await
        .unwrap()
        .expect("the first admin");
    let mut writers = Vec::new();
    for lane in 0..4 {
        let (store, keys, blobs, shared) =
            (store.clone(), keys.clone(), blobs.clone(), shared.clone());
        writers.push(tokio::spawn(async move {
            for n in (lane..notices()).step_by(4) {
                let letter = match letters {
                    Letters::Shared => shared.clone(),
                    Letters::OwnEach => blobs.put(&own_pdf(n)).await.unwrap().to_string(),
                };
                let notice = queued_notice(&keys, admin.organisation_id, admin.id, &letter, n);
                store.create_notice(&notice).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

async fn queued(store: &Arc<dyn Store>) -> i64 {
    store
        .delivery_status_counts()
        .await
        .unwrap()
        .iter()
        .filter(|(status, _)| status == "queued")
        .map(|(_, n)| n)
        .sum()
}

struct PipelineRun {
    rate: f64,
    peak_rss_mib: f64,
    arrived: usize,
    duplicates: u64,
}

/// (b): first start (bootstrap), stop, load 10 000 queued notices, start again and time the
/// worker until nothing is queued.
async fn pipeline(database_url: &str, simulator: &Simulator, letters: Letters) -> PipelineRun {
    let http = reqwest::Client::new();
    let data = tempfile::tempdir().unwrap();
    let key = DataKey::generate();
    let keys: DataKeys = DataKey::from_base64(&key.to_base64()).unwrap().into();
    let port = free_port();

    let first = tiedoksi(database_url, data.path(), &key, simulator, port);
    wait_ready(&http, port).await;
    stop(first);

    let store = tiedoksi::store::connect(database_url).await.unwrap();
    let blobs = Arc::new(FilesystemBlobStore::new(data.path().join("blobs")));
    load_queue(&store, &keys, &blobs, letters).await;
    simulator.reset(&http).await;

    let started = Instant::now();
    let server = tiedoksi(database_url, data.path(), &key, simulator, port);
    // Counting the deliveries by status is a scan of them all, on the same two cores as the
    // run it measures: five times a second keeps it a few per cent of one core at the end
    // of the run, and the figure within a fifth of a second of the end.
    while queued(&store).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the queue never drained"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let peak_rss_mib = peak_rss_mib(server.id());
    stop(server);
    store.close().await;
    let (arrived, duplicates) = arrivals(&simulator.counters(&http).await);
    PipelineRun {
        rate: notices() as f64 / elapsed.as_secs_f64(),
        peak_rss_mib,
        arrived,
        duplicates,
    }
}

async fn fresh_postgres_database() {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(POSTGRES_ADMIN).await.unwrap();
    sqlx::query("DROP DATABASE IF EXISTS tiedoksi_bench_pipeline WITH (FORCE)")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE tiedoksi_bench_pipeline")
        .execute(&mut admin)
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let simulator = Simulator::start();
    let http = reqwest::Client::new();
    simulator.wait_ready(&http).await;

    println!(
        "pipeline vs ceiling: {} multichannel notices, one {} KB PDF each, \
         the suomifi-sim binary on loopback, pacing off",
        notices(),
        PDF_BYTES / 1024
    );
    let mut rows = Vec::new();
    // `PIPELINE_DATABASES=postgres` runs one of them (profiling).
    let databases = std::env::var("PIPELINE_DATABASES").unwrap_or("sqlite,postgres".into());
    for database in databases.split(',') {
        simulator.reset(&http).await;
        let ceiling = ceiling(&simulator, database).await;
        let (arrived, duplicates) = arrivals(&simulator.counters(&http).await);
        assert_eq!((arrived, duplicates), (notices(), 0), "the ceiling run");

        let mut runs = Vec::new();
        for letters in [Letters::Shared, Letters::OwnEach] {
            let sqlite_dir = tempfile::tempdir().unwrap();
            let database_url = if database == "sqlite" {
                format!("sqlite://{}", sqlite_dir.path().join("bench.db").display())
            } else {
                fresh_postgres_database().await;
                POSTGRES_BENCH.to_string()
            };
            let run = pipeline(&database_url, &simulator, letters).await;
            assert_eq!(run.arrived, notices(), "every notice reached the simulator");
            assert_eq!(run.duplicates, 0, "no notice reached it twice");
            runs.push(run);
        }
        let (shared, own) = (&runs[0], &runs[1]);
        let ratio = shared.rate / ceiling;
        let own_ratio = own.rate / ceiling;
        println!("pipeline_{database}_ceiling {ceiling:.0} messages/s");
        println!("pipeline_{database}_tiedoksi {:.0} notices/s", shared.rate);
        println!("pipeline_{database}_ratio {ratio:.2} b/a");
        println!(
            "pipeline_{database}_tiedoksi_own_letters {:.0} notices/s",
            own.rate
        );
        println!("pipeline_{database}_ratio_own_letters {own_ratio:.2} b/a");
        let peak_rss_mib = shared.peak_rss_mib.max(own.peak_rss_mib);
        println!("pipeline_{database}_server_peak_rss {peak_rss_mib:.0} MiB");
        println!(
            "pipeline_{database}_duplicates {} messages",
            shared.duplicates + own.duplicates
        );
        rows.push((
            database,
            ceiling,
            shared.rate,
            ratio,
            own.rate,
            own_ratio,
            peak_rss_mib,
        ));
    }
    println!();
    println!(
        "| database | ceiling (a) | Tiedoksi (b), one letter shared | b/a | \
         Tiedoksi (b), a letter each | b/a | server peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (database, ceiling, rate, ratio, own_rate, own_ratio, rss) in rows {
        println!(
            "| {database} | {ceiling:.0}/s | {rate:.0}/s | {ratio:.2} | {own_rate:.0}/s | \
             {own_ratio:.2} | {rss:.0} MiB |"
        );
    }
}
