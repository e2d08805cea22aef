//! The chaos suite: what a caseworker or an integration was told is queued reaches Suomi.fi
//! exactly once through a `kill -9` of the server, Suomi.fi's faults and outage, and an
//! outage of the database itself — and while things are down, people are told so clearly.
//!
//! `make test` runs CI-sized loads; `make chaos` the issue's (`TIEDOKSI_CHAOS_NOTICES=1000`,
//! `TIEDOKSI_CHAOS_OUTAGE_SECONDS=60`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tiedoksi::secrets::DataKeys;
use tiedoksi::store;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use uuid::Uuid;

use crate::delivery::{set_faults, sim_get, start, start_simulator, tiedoksi_server};
use crate::helpers::{new_client, spawn_app_with, TestApp, TestBackend, TestDatabase, ADMIN_EMAIL};
use crate::notices::{draft, recipient, with_mailbox};
use crate::on_both_backends;

on_both_backends!(
    a_killed_server_loses_nothing_submitted_through_the_api_or_a_batch,
    suomi_fi_faults_and_an_outage_delay_notices_but_fail_none,
    a_file_check_cut_short_by_a_kill_is_cancelled_and_forgets_its_recipients,
);

fn from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server as a process on `address` (so that it can be killed and started again there):
/// the simulator's people are test identity codes, and mailbox checks go at full speed.
fn chaos_server(
    database: &TestDatabase,
    simulator: &str,
    key: &DataKeys,
    address: &str,
    documents: &std::path::Path,
) -> std::process::Command {
    let mut command = tiedoksi_server(&database.url, simulator, key);
    command
        .env("TIEDOKSI_ADDR", address)
        .env("TIEDOKSI_BLOB_DIR", documents)
        .env("TIEDOKSI_ALLOW_TEST_IDENTITY_CODES", "1")
        .env("TIEDOKSI_MAILBOX_CHECKS_PER_MINUTE", "100000");
    command
}

/// An integration's notice: the compose page's draft as `/api/v1/notices` takes it.
fn api_notice(n: usize, code: &str) -> Value {
    let mut body = draft(
        "unused",
        vec![recipient(
            &format!("Vastaanottaja {n}"),
            Some(code),
            "electronic_only",
        )],
    );
    body.as_object_mut().unwrap().remove("idempotency_key");
    body["case_reference"] = json!(format!("KAAOS {n}/2026"));
    body
}

/// Posts until the server answers 2xx — through refused connections while it is down and
/// 5xx while it starts — as an integration with an `Idempotency-Key` does. Its answer.
async fn post_until_accepted(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    idempotency: &str,
    body: &Value,
) -> Value {
    let started = Instant::now();
    loop {
        let answer = client
            .post(url)
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency)
            .json(body)
            .send()
            .await;
        if let Ok(answer) = answer {
            let status = answer.status();
            if !(status.is_success() || status.is_server_error()) {
                let text = answer.text().await.unwrap_or_default();
                panic!("{idempotency}: {status} {}", &text[..text.len().min(400)]);
            }
            if status.is_success() {
                return answer.json().await.unwrap();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{idempotency} never accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_killed_server_loses_nothing_submitted_through_the_api_or_a_batch(backend: TestBackend) {
    let notices = from_env("TIEDOKSI_CHAOS_NOTICES", 200);
    let batch_rows = notices / 2;
    let database = TestDatabase::new(backend).await;
    let (mut simulator_process, simulator) = start_simulator();
    // Each send takes a little while, so the kill lands mid-delivery.
    set_faults(&simulator, json!({ "latency_ms": 5 })).await;
    let key = DataKeys::generate();
    let documents = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{address}");
    let server = || {
        let mut command = chaos_server(&database, &simulator, &key, &address, documents.path());
        command.env("TIEDOKSI_API_REQUESTS_PER_MINUTE", "1000000");
        start(&mut command, "Tiedoksi is running").0
    };
    let mut first = server();
    let store = store::connect(&database.url).await.unwrap();
    let admin = store.user_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
    let api_key = tiedoksi::api::keys::create_key(&store, admin.organisation_id, "Kaaos", "test")
        .await
        .unwrap()
        .secret;
    // Batches go multichannel: the organisation can print.
    store
        .set_delivery_settings(
            admin.organisation_id,
            &crate::notices::settings(false).to_string(),
        )
        .await
        .unwrap();
    let code = with_mailbox();

    // A batch first: its rows are queued by a job that the kill interrupts.
    let mut batch_notice = api_notice(0, &code);
    batch_notice.as_object_mut().unwrap().remove("recipients");
    let rows: Vec<Value> = (0..batch_rows)
        .map(|n| {
            // One person per row (a batch refuses the same recipient twice).
            let born = format!(
                "{:02}{:02}{:02}",
                1 + n % 28,
                1 + (n / 28) % 12,
                50 + n / 336
            );
            let person = crate::notices::hetu(&born, '-', 903);
            let mut row = recipient(&format!("Rivi {n}"), Some(&person), "multichannel");
            row["case_reference"] = json!(format!("JOUKKO {n}/2026"));
            row
        })
        .collect();
    let batch_body = json!({ "notice": batch_notice, "rows": rows });
    let client = new_client();
    let batches_url = format!("{base}/api/v1/batches");
    let batch =
        post_until_accepted(&client, &batches_url, &api_key, "kaaos-joukko", &batch_body).await;

    // Eight integrations at once, each notice with its own Idempotency-Key.
    let accepted = Arc::new(Mutex::new(Vec::<(usize, Uuid)>::new()));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut lanes = Vec::new();
    for lane in 0..8 {
        let (client, url, api_key, code) = (
            client.clone(),
            format!("{base}/api/v1/notices"),
            api_key.clone(),
            code.clone(),
        );
        let (accepted, answered) = (accepted.clone(), answered.clone());
        lanes.push(tokio::spawn(async move {
            for n in (lane..notices).step_by(8) {
                let body = api_notice(n, &code);
                let answer =
                    post_until_accepted(&client, &url, &api_key, &format!("kaaos-{n}"), &body)
                        .await;
                let id = Uuid::parse_str(answer["id"].as_str().unwrap()).unwrap();
                accepted.lock().unwrap().push((n, id));
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    // The kill: while notices are still being submitted, and Suomi.fi receiving them once
    // the first few are sent. Queuing a notice is one commit while its first delivery may
    // render a letter, so sending can start late: at half the notices answered the kill comes
    // anyway, to land mid-submission.
    let started = Instant::now();
    while answered.load(Ordering::SeqCst) < notices / 4
        || (answered.load(Ordering::SeqCst) < notices / 2
            && sim_get(&simulator, "/__sim/counters").await["messages"]
                .as_u64()
                .unwrap()
                < 5)
    {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().expect("kill -9");
    first.wait().unwrap();
    let at_kill = answered.load(Ordering::SeqCst);
    assert!(
        at_kill < notices,
        "the kill landed mid-submission ({at_kill} of {notices} answered)"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut restarted = server();
    for lane in lanes {
        lane.await.unwrap();
    }

    // The batch asked again is the same batch, and every row of it is queued once.
    let again =
        post_until_accepted(&client, &batches_url, &api_key, "kaaos-joukko", &batch_body).await;
    assert_eq!(again["id"], batch["id"]);
    let total = notices + batch_rows;
    let started = Instant::now();
    loop {
        let counts = store.delivery_status_counts().await.unwrap();
        let sent = sim_get(&simulator, "/__sim/counters").await["messages"]
            .as_u64()
            .unwrap() as usize;
        let waiting = counts
            .iter()
            .filter(|(status, _)| status == "queued")
            .map(|(_, n)| n)
            .sum::<i64>();
        let all: i64 = counts.iter().map(|(_, n)| n).sum();
        if all as usize == total && waiting == 0 && sent == total {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{sent} of {total} sent: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counters = sim_get(&simulator, "/__sim/counters").await;
    assert_eq!(counters["external_ids_with_more_than_one_message"], 0);
    assert_eq!(
        counters["messages"], total,
        "one message per notice, none lost"
    );
    // Every notice an integration was told about is there, once per Idempotency-Key.
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), notices);
    let distinct: HashSet<Uuid> = accepted.iter().map(|(_, id)| *id).collect();
    assert_eq!(distinct.len(), notices, "one notice per Idempotency-Key");
    for (n, id) in &accepted {
        let notice = store.notice(admin.organisation_id, *id).await.unwrap();
        assert_eq!(
            notice.map(|notice| notice.case_reference),
            Some(format!("KAAOS {n}/2026"))
        );
    }

    restarted.kill().unwrap();
    restarted.wait().unwrap();
    simulator_process.kill().unwrap();
    simulator_process.wait().unwrap();
}

async fn suomi_fi_faults_and_an_outage_delay_notices_but_fail_none(backend: TestBackend) {
    let outage = from_env("TIEDOKSI_CHAOS_OUTAGE_SECONDS", 3) as u64;
    let notices = from_env("TIEDOKSI_CHAOS_FAULT_NOTICES", 60);
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = Duration::from_millis(20);
        config.worker.retry_initial = Duration::from_millis(50);
        // Production backs off to an hour over 60 attempts; at a 2 s cap (with jitter) a
        // minute's outage alone would use them all up.
        config.worker.retry_max = Duration::from_secs(10);
        config.worker.lease = Duration::from_secs(5);
        config.suomifi.timeout = Duration::from_secs(1);
    })
    .await;
    app.login_as_admin().await;
    let simulator = app.simulator_url.clone().unwrap();
    // The issue's mix: 20 % 5xx, 5 % 429 with Retry-After, 2 % hangs past the client's
    // timeout, after an outage of Suomi.fi as a whole.
    let faults = json!({ "error_rate": 0.2, "rate_limit_rate": 0.05, "retry_after_seconds": 1,
                         "timeout_rate": 0.02, "timeout_seconds": 2,
                         "outage_seconds": outage });
    set_faults(&simulator, faults).await;

    let code = with_mailbox();
    let mut ids = Vec::new();
    for n in 0..notices {
        let draft = draft(
            &format!("faults-{n}"),
            vec![recipient(
                &format!("Vastaanottaja {n}"),
                Some(&code),
                "electronic_only",
            )],
        );
        let queued = crate::notices::queued(&app, &draft).await;
        ids.push(queued["notice_id"].as_str().unwrap().to_string());
    }

    // Meanwhile the caseworker sees a notice whose sending failed as retried, not failed.
    let retried = first_retried(&app, &ids).await;
    let page = app.get(&format!("/notices/{retried}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Lähetysyritys epäonnistui; yritetään uudelleen."),
        "the page says it is retrying"
    );
    assert!(
        !html.contains("Vaatii toimenpiteitä"),
        "and nothing needs attention"
    );

    wait_until_all_sent(&app, notices).await;
    let counters = sim_get(&simulator, "/__sim/counters").await;
    assert_eq!(counters["external_ids_with_more_than_one_message"], 0);
    assert_eq!(counters["messages"], notices);
    assert!(
        counters["faults_injected"].as_u64().unwrap() >= 5,
        "faults were really injected: {counters}"
    );
    // Bounded: the retries back off (50 ms doubling to 10 s here) instead of hammering
    // Suomi.fi through its outage, and the faults cost a few calls each.
    let requests: u64 = counters["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.starts_with("POST /v2/messages"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert!(
        requests <= (notices as u64) * (outage / 2 + 10),
        "{requests} sends for {notices} notices"
    );
    let counts = app.store.delivery_status_counts().await.unwrap();
    assert!(
        counts.iter().all(|(status, _)| status != "needs_attention"),
        "{counts:?}"
    );
}

/// A notice whose delivery has a failed attempt behind it, as soon as there is one.
async fn first_retried(app: &TestApp, ids: &[String]) -> String {
    let started = Instant::now();
    loop {
        for id in ids {
            let notice = Uuid::parse_str(id).unwrap();
            for delivery in app
                .store
                .deliveries(app.organisation.id, notice)
                .await
                .unwrap()
            {
                let history = app.store.delivery_history(delivery.id).await.unwrap();
                if history.iter().any(|entry| entry.kind == "attempt_failed") {
                    return id.clone();
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no attempt failed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_until_all_sent(app: &TestApp, notices: usize) {
    let started = Instant::now();
    loop {
        let counts = app.store.delivery_status_counts().await.unwrap();
        let waiting: i64 = counts
            .iter()
            .filter(|(status, _)| status == "queued")
            .map(|(_, n)| n)
            .sum();
        let sent = sim_get(app.simulator_url.as_deref().unwrap(), "/__sim/counters").await
            ["messages"]
            .as_u64()
            .unwrap() as usize;
        if waiting == 0 && sent == notices {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{sent} of {notices} sent: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP proxy in front of PostgreSQL that the test can cut: live connections are closed and
/// new ones refused, as when the database server stops; restored, it forwards again.
struct CuttableProxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl CuttableProxy {
    async fn to(upstream: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (accepting, live) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                live.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            address,
            open,
            connections,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// `url` with its host and port replaced by the proxy's.
    fn in_front_of(&self, url: &str) -> String {
        let (scheme_and_user, rest) = url.split_once('@').expect("a user in the URL");
        let (_, database) = rest.split_once('/').expect("a database in the URL");
        format!("{scheme_and_user}@{}/{database}", self.address)
    }
}

async fn readyz(app: &TestApp) -> u16 {
    new_client()
        .get(app.url("/readyz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_told_clearly_and_recovered_from_without_a_restart() {
    let proxy = CuttableProxy::to("127.0.0.1:5432").await;
    let mut through_proxy = String::new();
    let app = spawn_app_with(TestBackend::Postgres, |config| {
        through_proxy = proxy.in_front_of(&config.database_url);
        config.database_url = through_proxy.clone();
        config.worker.idle = Duration::from_millis(20);
    })
    .await;
    assert!(through_proxy.contains(&proxy.address.to_string()));
    app.login_as_admin().await;
    let direct = sqlx::PgPool::connect(&app.database.url).await.unwrap();
    let notices_stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM notices")
            .fetch_one(&direct)
            .await
            .unwrap()
    };
    let code = with_mailbox();
    let draft_number = |n: usize| {
        draft(
            &format!("outage-{n}"),
            vec![recipient(
                &format!("Vastaanottaja {n}"),
                Some(&code),
                "electronic_only",
            )],
        )
    };
    crate::notices::queued(&app, &draft_number(0)).await;
    assert_eq!(readyz(&app).await, 200);

    proxy.cut();
    // The caseworker is told that nothing changed and to try again in a moment (the page
    // words the code in their language); not an internal error.
    let refused = crate::notices::send_notice(&app, &draft_number(1)).await;
    assert_eq!(refused.status(), 503);
    let problem = refused.text().await.unwrap();
    assert!(problem.contains("Unavailable"), "{problem}");
    assert_eq!(readyz(&app).await, 503, "/readyz tells the truth");
    let page = app.get("/notices").await;
    assert!(
        page.status() == 503 || page.status() == 200,
        "pages answer (an error page at worst): {}",
        page.status()
    );
    assert_eq!(notices_stored().await, 1, "nothing half written");

    proxy.restore();
    let started = Instant::now();
    while readyz(&app).await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never ready again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Back without a restart: the notice asked again goes in once, and both are delivered.
    crate::notices::queued(&app, &draft_number(1)).await;
    assert_eq!(notices_stored().await, 2);
    wait_until_all_sent(&app, 2).await;
    direct.close().await;
}

fn mount(options: &[&str], path: &std::path::Path) {
    let status = std::process::Command::new("mount")
        .args(options)
        .arg(path)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "mount {options:?} needs root, as CI has here"
    );
}

/// A small tmpfs as the document store (the chaos suite runs as root, as CI does here).
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tiedoksi-full-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        mount(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            &path,
        );
        Self { path }
    }

    fn resize(&self, size: &str) {
        mount(&["-o", &format!("remount,size={size}")], &self.path);
    }

    /// Every file below, leftovers of a half write included.
    fn files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, into: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), into);
                } else {
                    into.push(entry.path());
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.path, &mut files);
        files
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_document_store_refuses_uploads_clearly_and_recovers() {
    let disk = SmallDisk::mount("1m");
    let blob_dir = disk.path.display().to_string();
    let app = spawn_app_with(TestBackend::Sqlite, move |config| {
        config.blob_dir = blob_dir;
    })
    .await;
    app.login_as_admin().await;
    let pdf = |n: usize| {
        // Distinct files of about 300 KB: the fourth does not fit.
        let mut bytes = crate::notices::a4_pdf(&format!("Liite {n}"));
        bytes.extend(std::iter::repeat_n(b'%', 300 * 1024));
        bytes
    };
    let upload = |n: usize| {
        crate::notices::upload(&app, &app.client, "liite.pdf", "application/pdf", pdf(n))
    };
    let mut stored = 0;
    let refused = loop {
        let answer = upload(stored).await;
        if answer.status() != 201 {
            break answer;
        }
        stored += 1;
        assert!(stored < 10, "the disk never filled");
    };
    assert!(stored >= 1);
    assert_eq!(
        refused.status(),
        503,
        "refused as unavailable, not an internal error"
    );
    let problem = refused.text().await.unwrap();
    assert!(problem.contains("Unavailable"), "{problem}");
    let files = disk.files();
    assert_eq!(files.len(), stored, "nothing half written: {files:?}");

    disk.resize("8m");
    let answer = upload(stored).await;
    assert_eq!(
        answer.status(),
        201,
        "uploads go in again once there is room"
    );
    assert_eq!(disk.files().len(), stored + 1);
}

fn run(program: &str, args: &[&str]) {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Copies a document directory as the backup guide's `rsync --exclude='.*'` does: every
/// document, no temporaries. How many it copied.
fn copy_documents(from: &std::path::Path, to: &std::path::Path) -> usize {
    std::fs::create_dir_all(to).unwrap();
    let mut copied = 0;
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copied += copy_documents(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
            copied += 1;
        }
    }
    copied
}

/// The restore drill of docs/operations/backups.md, run: the database dumped while the
/// instance runs, the documents copied after the dump, the data key kept apart; restored into
/// a new database and directory, one instance started on them shows a notice sent before the
/// backup with its documents (by their hashes), its proof and its recipient found by identity
/// code, and the key opens every sealed value. A wrong key is told, not used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_restores_into_an_instance_that_proves_what_was_sent() {
    use crate::notices::{
        a4_pdf, delivery_ids, paper_ready, queued, sha256_hex, upload, wait_sent,
    };
    let live = paper_ready(TestBackend::Postgres, false).await;
    let attachment = a4_pdf("Perustelut");
    let uploaded: Value = upload(
        &live,
        &live.client,
        "perustelut.pdf",
        "application/pdf",
        attachment.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    let code = with_mailbox();
    let mut notice = draft(
        "restore-1",
        vec![recipient(
            "Maija Meikäläinen",
            Some(&code),
            "electronic_only",
        )],
    );
    notice["title"] = json!("Palautettava päätös");
    notice["attachments"] = json!([uploaded["id"]]);
    let queued_notice = queued(&live, &notice).await;
    let notice_id = queued_notice["notice_id"].as_str().unwrap().to_string();
    let delivery_id = delivery_ids(&queued_notice)[0];
    wait_sent(&live, delivery_id).await;
    let letter_sha256 = live
        .store
        .notice(live.organisation.id, notice_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .paper_letter_sha256
        .expect("the letter is kept");

    // 1. The database while the instance runs; 2. the documents after the dump; 3. the key.
    let backup = tempfile::tempdir().unwrap();
    let dump = backup.path().join("tiedoksi.dump");
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--file",
            dump.to_str().unwrap(),
            &live.database.url,
        ],
    );
    let documents = backup.path().join("blobs");
    assert!(
        copy_documents(live.blob_dir.path(), &documents) >= 2,
        "the attachment and the letter"
    );
    let key = live.data_key.current().to_base64();
    drop(live);

    let drill = TestDatabase::new(TestBackend::Postgres).await;
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &drill.url,
            dump.to_str().unwrap(),
        ],
    );
    let restored_config = |key: &str| {
        let mut config = tiedoksi::config::Config::from_lookup(|_| None).unwrap();
        config.database_url = drill.url.clone();
        config.blob_dir = documents.to_string_lossy().into_owned();
        config.data_key = Some(tiedoksi::secrets::DataKey::from_base64(key).unwrap());
        config
    };
    // The key must match the data: the wrong one is refused by name, the right one opens all.
    let wrong = tiedoksi::secrets::DataKey::generate().to_base64();
    let refused = tiedoksi::rotation::rotate(&restored_config(&wrong), 100).await;
    let refusal = format!("{:#}", refused.expect_err("a wrong key opens nothing"));
    assert!(
        refusal.contains("none of the configured data keys"),
        "{refusal}"
    );
    let report = tiedoksi::rotation::rotate(&restored_config(&key), 100)
        .await
        .unwrap();
    assert_eq!(report.resealed, 0, "every value was under the restored key");
    assert!(report.already_current >= 1);

    let restored = spawn_app_with(TestBackend::Postgres, |config| {
        let drill_config = restored_config(&key);
        config.database_url = drill_config.database_url;
        config.blob_dir = drill_config.blob_dir;
        config.data_key = drill_config.data_key;
        config.worker.events_interval = Duration::from_secs(3600);
    })
    .await;
    assert_eq!(readyz(&restored).await, 200);
    restored.login_as_admin().await;
    let page = restored.get(&format!("/notices/{notice_id}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Palautettava päätös"));
    let proof = restored
        .get(&format!(
            "/notices/{notice_id}/deliveries/{delivery_id}/proof.pdf"
        ))
        .await;
    assert_eq!(proof.status(), 200);
    assert!(proof.bytes().await.unwrap().starts_with(b"%PDF-"));
    for (path, sha256) in [
        (
            format!("/notices/{notice_id}/attachments/0"),
            sha256_hex(&attachment),
        ),
        (format!("/notices/{notice_id}/letter.pdf"), letter_sha256),
    ] {
        let document = restored.get(&path).await;
        assert_eq!(document.status(), 200, "{path}");
        assert_eq!(
            sha256_hex(&document.bytes().await.unwrap()),
            sha256,
            "{path}"
        );
    }
    let url = crate::lists::search(&restored, &[("q", &code), ("status", "")]).await;
    let found = crate::lists::find(&restored, crate::lists::filter_of(&url)).await;
    assert_eq!(
        crate::lists::titles(&found),
        ["Palautettava päätös"],
        "the lookup key works"
    );
}

/// A recipients file of `rows` distinct people (test identity codes), as the example file
/// writes it.
fn many_recipients_csv(rows: usize, case: &str) -> String {
    let mut text = String::from("tunnus;nimi;katuosoite;postinumero;postitoimipaikka;asianumero\n");
    for n in 0..rows {
        let born = format!(
            "{:02}{:02}{:02}",
            1 + n % 28,
            1 + (n / 28) % 12,
            n / 336 % 100
        );
        let person = crate::notices::hetu(&born, '-', 900 + (n / 33_600) as u32);
        text.push_str(&format!(
            "{person};Vastaanottaja {n};Esimerkkikatu {n};00100;Helsinki;{case} {n}/2027\n"
        ));
    }
    text
}

/// `kill -9` while the page's upload of a recipients file is being checked: the half-checked
/// batch can never be confirmed, and once its lease runs out it is cancelled as interrupted
/// (told on its page), its rows' sealed recipients dropped and the upload's temporary file (a
/// file of identity codes in clear) removed. Nothing of it reaches Suomi.fi; the file
/// uploaded again is checked and sent, each row once.
async fn a_file_check_cut_short_by_a_kill_is_cancelled_and_forgets_its_recipients(
    backend: TestBackend,
) {
    let database = TestDatabase::new(backend).await;
    let (mut simulator_process, simulator) = start_simulator();
    let key = DataKeys::generate();
    let documents = tempfile::tempdir().unwrap();
    let temporary = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{address}");
    let server = || {
        let mut command = chaos_server(&database, &simulator, &key, &address, documents.path());
        command
            .env("TMPDIR", temporary.path())
            .env("TIEDOKSI_BATCH_CHECK_LEASE_SECONDS", "1");
        start(&mut command, "Tiedoksi is running").0
    };
    let mut first = server();
    let store = store::connect(&database.url).await.unwrap();
    let admin = store.user_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
    store
        .set_delivery_settings(
            admin.organisation_id,
            &crate::notices::settings(false).to_string(),
        )
        .await
        .unwrap();
    let client = new_client();
    let post = |path: &str, form: Vec<(&str, String)>| {
        client
            .post(format!("{base}{path}"))
            .header("Origin", &base)
            .form(&form)
            .send()
    };
    let signed_in = post(
        "/api/login",
        vec![
            ("email", ADMIN_EMAIL.into()),
            ("password", "crash-test-password".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(signed_in.status(), 200);
    let form = crate::templates::template_form(
        "Joukkopäätös",
        "Päätös {{asianumero}}",
        "Hyvä {{vastaanottaja}}.",
    );
    let added = post(
        "/admin/templates",
        form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
    )
    .await
    .unwrap();
    let template = crate::accounts::location(&added)
        .trim_start_matches("/admin/templates/")
        .to_string();
    let upload = |csv: String| {
        let form = reqwest::multipart::Form::new()
            .text("template", template.clone())
            .text("case_reference", "DNRO 1/2027")
            .text("decision_date", "2026-11-27")
            .text("mode", "multichannel")
            .part(
                "file",
                reqwest::multipart::Part::bytes(csv.into_bytes())
                    .file_name("vastaanottajat.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            );
        client
            .post(format!("{base}/batches"))
            .header("Origin", &base)
            .multipart(form)
            .send()
    };

    // The kill: once the check has written its first rows, before it ends.
    let uploading = tokio::spawn(upload(many_recipients_csv(
        from_env("TIEDOKSI_CHAOS_BATCH_ROWS", 30_000),
        "KESKEN",
    )));
    let started = Instant::now();
    let batch = loop {
        let batches = store.batches(admin.organisation_id, 10).await.unwrap();
        if let Some(batch) = batches.first() {
            let rows = store.batch_counts(batch.id).await.unwrap();
            if !rows.is_empty() {
                break batch.clone();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the check never began"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    first.kill().expect("kill -9");
    first.wait().unwrap();
    assert!(uploading.await.unwrap().is_err(), "the upload was cut off");
    let cut = store
        .batch(admin.organisation_id, batch.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cut.status, "checking", "the kill landed mid-check");
    let leftovers: Vec<_> = std::fs::read_dir(temporary.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("tiedoksi-batch-")
        })
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "the crash left the upload's file: {leftovers:?}"
    );
    // Aged past the hour after which no check can still be reading it.
    run(
        "touch",
        &["-d", "2 hours ago", leftovers[0].to_str().unwrap()],
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut restarted = server();
    let started = Instant::now();
    let cancelled = loop {
        let now = store
            .batch(admin.organisation_id, batch.id)
            .await
            .unwrap()
            .unwrap();
        if now.status != "checking" {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never given up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(
        cancelled.file_problem.as_deref(),
        Some(r#"{"problem":"interrupted"}"#)
    );
    let rows = store.batch_rows(batch.id, None, 0, 100_000).await.unwrap();
    assert!(!rows.is_empty());
    let were_good = rows.iter().filter(|row| row.status == "cancelled").count();
    assert!(were_good > 0);
    assert_eq!(
        (cancelled.rows_total, cancelled.rows_good),
        (rows.len() as i64, were_good as i64),
        "the rows read before the kill, as they were checked (none will be sent)"
    );
    for row in &rows {
        let sealed = store.batch_row(row.id).await.unwrap().unwrap();
        assert!(
            sealed.recipient_sealed.is_none(),
            "row {} forgot its recipient",
            row.row_number
        );
        assert_ne!(sealed.status, "ready");
    }
    let started = Instant::now();
    while leftovers[0].exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the leftover file stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = client
        .get(format!("{base}/batches/{}", batch.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Tiedoston tarkistus keskeytyi"),
        "the page says why"
    );
    let confirm = post(&format!("/batches/{}/confirm", batch.id), Vec::new())
        .await
        .unwrap();
    assert!(
        crate::accounts::location(&confirm).contains("problem=not_confirmable"),
        "an interrupted check is never confirmed"
    );

    // Uploaded again (a smaller file here), checked to the end and sent, each row once.
    let again = upload(many_recipients_csv(40, "UUDELLEEN")).await.unwrap();
    let again = crate::accounts::location(&again);
    let again_id = again.trim_start_matches("/batches/").to_string();
    let confirmed = post(&format!("/batches/{again_id}/confirm"), Vec::new())
        .await
        .unwrap();
    assert_eq!(crate::accounts::location(&confirmed), again);
    let started = Instant::now();
    loop {
        let sent = sim_get(&simulator, "/__sim/counters").await["messages"]
            .as_u64()
            .unwrap();
        if sent == 40 {
            break;
        }
        assert!(sent < 40, "only the confirmed file is sent: {sent}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{sent} of 40 sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counters = sim_get(&simulator, "/__sim/counters").await;
    assert_eq!(counters["external_ids_with_more_than_one_message"], 0);
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    simulator_process.kill().unwrap();
    simulator_process.wait().unwrap();
}
