//! Notices reach Suomi.fi exactly once, also through a `kill -9` of the server (the chaos suite
//! adds Suomi.fi's faults and outages, and the database's).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use serde_json::{json, Value};
use tiedoksi::secrets::{Column, DataKeys};
use tiedoksi::store::{self, DecisionContent, NewDelivery, NewNotice, Store};
use uuid::Uuid;

use crate::helpers::{spawn_app_with, TestBackend, TestDatabase, ADMIN_EMAIL};
use crate::on_both_backends;

on_both_backends!(
    an_electronic_notice_is_sent_once_with_its_content,
    a_killed_server_resumes_and_sends_nothing_twice,
    events_move_deliveries_to_read_and_acknowledged_and_are_kept_once,
);

/// Identity codes with an odd individual number: an active mailbox in the simulator.
const RECIPIENTS: [&str; 4] = ["010594Y9032", "020594X903P", "030594W903B", "040594V9030"];

pub(crate) fn electronic_notice(
    store_key: &DataKeys,
    organisation: Uuid,
    author: Uuid,
    n: usize,
) -> NewNotice {
    let recipient = RECIPIENTS[n % RECIPIENTS.len()];
    NewNotice {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        author_id: author,
        notice_type: "decision".into(),
        case_reference: format!("DNRO {n}/2026"),
        title: format!("Päätös {n}"),
        body: "Päätös liitteenä.".into(),
        body_format: "Text".into(),
        language: "fi".into(),
        verifiable: false,
        appeal_days: Some(30),
        service_id: "sim-service".into(),
        idempotency_key: format!("form-{n}"),
        appeal_instructions: None,
        paper_letter_sha256: None,
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
            identity_sealed: Some(store_key.seal(Column::IdentityCode, recipient)),
            identity_lookup: Some(store_key.lookup_hash(recipient)),
            identity_masked: None,
            address_sealed: None,
            facts: "{}".into(),
            requested_mode: DeliveryMode::ElectronicOnly,
            decided_mode: DeliveryMode::ElectronicOnly,
            channel_reasons: vec![ChannelReason::AsRequested],
            paper_addressee: PaperAddressee::Recipient,
            address_protected: false,
            content_not_for_others: false,
            recipient_minor: false,
            mailbox_check_deferred: false,
        }],
    }
}

async fn queue_notices(store: &Arc<dyn Store>, key: &DataKeys, count: usize) -> Vec<NewNotice> {
    let admin = store.user_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
    let mut notices = Vec::new();
    for n in 0..count {
        let notice = electronic_notice(key, admin.organisation_id, admin.id, n);
        store.create_notice(&notice).await.unwrap();
        notices.push(notice);
    }
    notices
}

/// Deliveries whose Suomi.fi message id is recorded. (Not the status: the events poller may
/// already show a message as delivered while the retry that records its id is still due.)
async fn sent_count(store: &Arc<dyn Store>, notices: &[NewNotice]) -> usize {
    let mut sent = 0;
    for notice in notices {
        let delivery = store
            .delivery(notice.deliveries[0].id)
            .await
            .unwrap()
            .unwrap();
        if delivery.suomifi_message_id.is_some() {
            sent += 1;
        }
    }
    sent
}

async fn wait_until_sent(store: &Arc<dyn Store>, notices: &[NewNotice], limit: Duration) {
    let started = Instant::now();
    while sent_count(store, notices).await < notices.len() {
        assert!(
            started.elapsed() < limit,
            "only {} of {} sent: {:?}",
            sent_count(store, notices).await,
            notices.len(),
            store.delivery_status_counts().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn sim_get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every delivery carries the message id the simulator gave its externalId, and the simulator
/// made exactly one message per delivery.
async fn assert_exactly_once(store: &Arc<dyn Store>, simulator: &str, notices: &[NewNotice]) {
    let counters = sim_get(simulator, "/__sim/counters").await;
    assert_eq!(counters["messages"], notices.len(), "{counters}");
    assert_eq!(counters["external_ids_with_more_than_one_message"], 0);
    let messages = sim_get(simulator, "/__sim/messages").await;
    let by_external_id: HashMap<String, i64> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["external_id"].as_str().unwrap().to_string(),
                m["message_id"].as_i64().unwrap(),
            )
        })
        .collect();
    for notice in notices {
        let delivery = store
            .delivery(notice.deliveries[0].id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !["queued", "needs_attention"].contains(&delivery.status.as_str()),
            "{delivery:?}"
        );
        assert_eq!(
            delivery.suomifi_message_id,
            by_external_id.get(&delivery.id.to_string()).copied(),
            "the delivery's externalId is its id, and it holds Suomi.fi's message id"
        );
    }
}

async fn an_electronic_notice_is_sent_once_with_its_content(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = Duration::from_millis(20)
    })
    .await;
    let notices = queue_notices(&app.store, &app.data_key, 1).await;
    wait_until_sent(&app.store, &notices, Duration::from_secs(20)).await;

    let simulator = app.simulator_url.clone().unwrap();
    assert_exactly_once(&app.store, &simulator, &notices).await;
    let message = &sim_get(&simulator, "/__sim/messages").await[0];
    assert_eq!(message["endpoint"], "/v2/messages/electronic");
    assert_eq!(
        message["request"]["recipient"]["id"], RECIPIENTS[0],
        "the sealed code was opened"
    );
    assert_eq!(message["request"]["electronic"]["title"], "Päätös 0");
    assert_eq!(message["request"]["sender"]["serviceId"], "sim-service");
}

/// Sets the simulator's faults (`/__sim/faults`).
pub(crate) async fn set_faults(simulator: &str, faults: Value) {
    let response = reqwest::Client::new()
        .post(format!("{simulator}/__sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// A process we can kill -9, with its output read until it says it is ready.
pub(crate) fn start(command: &mut Command, ready_marker: &str) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains(ready_marker))
        .expect("prints its ready line");
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, ready)
}

/// The simulator as its own process (it outlives a killed server): the process and its URL.
pub(crate) fn start_simulator() -> (Child, String) {
    let (process, port_line) = start(
        Command::new(env!("CARGO_BIN_EXE_suomifi-sim")).args(["--port", "0"]),
        "port ",
    );
    let url = format!(
        "http://127.0.0.1:{}",
        port_line.trim_start_matches("port ").trim()
    );
    (process, url)
}

pub(crate) fn tiedoksi_server(database_url: &str, simulator: &str, key: &DataKeys) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tiedoksi"));
    command
        .env("TIEDOKSI_ADDR", "127.0.0.1:0")
        .env("TIEDOKSI_DATABASE_URL", database_url)
        .env("TIEDOKSI_SUOMIFI_URL", simulator)
        .env("TIEDOKSI_DATA_KEY", key.current().to_base64())
        // A Suomi.fi URL of our own: nothing may fall back on the simulator's demo values.
        .env("TIEDOKSI_SUOMIFI_USERNAME", "sim-user")
        .env("TIEDOKSI_SUOMIFI_PASSWORD", "sim-password")
        .env("TIEDOKSI_SUOMIFI_SERVICE_ID", "sim-service")
        .env("TIEDOKSI_POSTI_USERNAME", "tiedok")
        .env("TIEDOKSI_POSTI_PASSWORD", "demo")
        .env("TIEDOKSI_ADMIN_PASSWORD", "crash-test-password")
        .env("TIEDOKSI_WORKER_LEASE_SECONDS", "2")
        .env("TIEDOKSI_WORKER_IDLE_MS", "20")
        .env("TIEDOKSI_RETRY_INITIAL_MS", "50")
        .env("TIEDOKSI_RETRY_MAX_MS", "500")
        .env("TIEDOKSI_SUOMIFI_REQUESTS_PER_SECOND", "200")
        .env("RUST_LOG", "error");
    command
}

async fn a_killed_server_resumes_and_sends_nothing_twice(backend: TestBackend) {
    let database = TestDatabase::new(backend).await;
    let (mut simulator_process, simulator) = start_simulator();
    // Sending takes a while (each send 40 ms, and the server's pace 100 a second: 5 s for
    // all 500), so the kill lands mid-delivery even when a loaded machine is slow to notice
    // the first 50 (at 200 a second, 2.5 s in all, a test binary run beside a release build
    // once missed it).
    set_faults(&simulator, json!({ "latency_ms": 40 })).await;

    let key = DataKeys::generate();
    let (mut server, _) = start(
        tiedoksi_server(&database.url, &simulator, &key)
            .env("TIEDOKSI_SUOMIFI_REQUESTS_PER_SECOND", "100"),
        "Tiedoksi is running",
    );
    let store = store::connect(&database.url).await.unwrap();
    let notices = queue_notices(&store, &key, 500).await;

    let started = Instant::now();
    loop {
        let made = sim_get(&simulator, "/__sim/counters").await["messages"]
            .as_u64()
            .unwrap();
        if made >= 50 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "delivery did not start"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().expect("kill -9"); // SIGKILL: no shutdown, leases left behind
    server.wait().unwrap();
    let at_kill = sim_get(&simulator, "/__sim/counters").await["messages"]
        .as_u64()
        .unwrap();
    assert!(
        at_kill < 500,
        "the kill landed mid-delivery ({at_kill} of 500 made)"
    );

    let (mut restarted, _) = start(
        &mut tiedoksi_server(&database.url, &simulator, &key),
        "Tiedoksi is running",
    );
    wait_until_sent(&store, &notices, Duration::from_secs(120)).await;
    assert_exactly_once(&store, &simulator, &notices).await;

    restarted.kill().unwrap();
    restarted.wait().unwrap();
    simulator_process.kill().unwrap();
    simulator_process.wait().unwrap();
}

async fn wait_for_status(store: &Arc<dyn Store>, delivery: Uuid, status: &str) {
    let started = Instant::now();
    loop {
        let current = store.delivery(delivery).await.unwrap().unwrap().status;
        if current.as_str() == status {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still {current:?}, waiting for {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn events_move_deliveries_to_read_and_acknowledged_and_are_kept_once(backend: TestBackend) {
    // The background poller reads once at start and then sleeps: the test polls by hand, so
    // nothing races it.
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = Duration::from_millis(20);
        config.worker.events_interval = Duration::from_secs(3600);
    })
    .await;
    let poller = tiedoksi::delivery::events::EventsPoller {
        store: app.store.clone(),
        suomifi: app.suomifi.clone(),
        receipt: Default::default(),
    };
    let admin = app.store.user_by_email(ADMIN_EMAIL).await.unwrap().unwrap();
    let ordinary = electronic_notice(&app.data_key, admin.organisation_id, admin.id, 0);
    let mut verifiable = electronic_notice(&app.data_key, admin.organisation_id, admin.id, 1);
    verifiable.verifiable = true;
    for notice in [&ordinary, &verifiable] {
        app.store.create_notice(notice).await.unwrap();
    }
    let (ordinary_id, verifiable_id) = (ordinary.deliveries[0].id, verifiable.deliveries[0].id);
    wait_until_sent(
        &app.store,
        &[ordinary.clone(), verifiable.clone()],
        Duration::from_secs(20),
    )
    .await;
    poller.poll_once().await.unwrap();
    wait_for_status(&app.store, ordinary_id, "delivered_electronically").await;
    wait_for_status(&app.store, verifiable_id, "delivered_electronically").await;

    // Two simulated hours later both recipients have opened their messages.
    let simulator = app.simulator_url.clone().unwrap();
    let advance = json!({ "seconds": 7200 });
    reqwest::Client::new()
        .post(format!("{simulator}/__sim/clock/advance"))
        .json(&advance)
        .send()
        .await
        .unwrap();
    poller.poll_once().await.unwrap();
    wait_for_status(&app.store, ordinary_id, "read").await;
    wait_for_status(&app.store, verifiable_id, "receipt_confirmed").await;

    let kinds = |events: Vec<tiedoksi::store::StoredEvent>| -> Vec<String> {
        events.into_iter().map(|event| event.event_type).collect()
    };
    let ordinary_events = kinds(app.store.delivery_events(ordinary_id).await.unwrap());
    assert_eq!(
        ordinary_events,
        vec!["Electronic message created", "Electronic message read"]
    );
    let verifiable_events = kinds(app.store.delivery_events(verifiable_id).await.unwrap());
    assert_eq!(
        verifiable_events,
        vec![
            "Electronic message created",
            "Receipt confirmed",
            "Electronic message read"
        ]
    );

    // Reading the whole feed again from the start stores nothing twice.
    app.store
        .save_continuation_token("sim-service", "ct-0")
        .await
        .unwrap();
    let again = poller.poll_once().await.unwrap();
    assert_eq!((again.fetched, again.new), (5, 0));
    assert_eq!(
        app.store
            .delivery_events(verifiable_id)
            .await
            .unwrap()
            .len(),
        3
    );
}
