//! Two instances on one PostgreSQL database — how users outgrow one machine. Both serve, both
//! run the outbox worker, the events poller and the watch; notices are submitted to both in
//! turn. Every notice reaches Suomi.fi once, both instances deliver, and what Suomi.fi reports
//! back is recorded once, whichever instance read it.
//!
//! `make test` runs a CI-sized load; `TIEDOKSI_INSTANCES_NOTICES=5000` (as `make chaos` does)
//! the full one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use serde_json::{json, Value};
use sqlx::Row;
use tiedoksi::config::Config;
use tiedoksi::startup::Application;

use crate::helpers::{
    new_client, spawn_app_with, TestApp, TestBackend, ADMIN_EMAIL, ADMIN_PASSWORD,
};
use crate::notices::{draft, recipient, sim, with_mailbox};

/// Another `tiedoksi` on the first one's database, documents, data key and Suomi.fi.
struct Instance {
    address: SocketAddr,
    client: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Instance {
    fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    async fn sign_in(&self) {
        let answer = self
            .client
            .post(format!("{}/api/login", self.origin()))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "sign-in on {}", self.address);
    }

    async fn send(&self, draft: &Value) -> Value {
        let answer = self
            .client
            .post(format!("{}/api/send_notice", self.origin()))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(json!({ "draft": draft }).to_string())
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn tuned(config: &mut Config) {
    config.worker.idle = Duration::from_millis(20);
    config.worker.events_interval = Duration::from_millis(300);
    config.suomifi.requests_per_second = 0;
}

async fn instance_beside(first: &TestApp) -> Instance {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = first.database.url.clone();
    config.data_key = Some(
        tiedoksi::secrets::DataKey::from_base64(&first.data_key.current().to_base64()).unwrap(),
    );
    config.blob_dir = first.blob_dir.path().display().to_string();
    config.suomifi.url = first.simulator_url.clone();
    // The first instance's built-in simulator, reached by URL: its demo credentials are right.
    config.demo_credentials.clear();
    config.pdf.worker = Some(env!("CARGO_BIN_EXE_tiedoksi").to_string());
    tuned(&mut config);
    let application = Application::build(config).await.unwrap();
    let address = application.address();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    Instance {
        address,
        client: new_client(),
        _shutdown: shutdown,
    }
}

fn notices_to_send() -> usize {
    std::env::var("TIEDOKSI_INSTANCES_NOTICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120)
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(pool).await.unwrap().get(0)
}

async fn wait_for(pool: &sqlx::PgPool, sql: &str, expected: i64, what: &str) {
    let started = Instant::now();
    loop {
        let now = count(pool, sql).await;
        if now == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{what}: {now} of {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_send_every_notice_once() {
    let first_app = spawn_app_with(TestBackend::Postgres, tuned).await;
    let first = Instance {
        address: first_app.address,
        client: new_client(),
        _shutdown: tokio::sync::oneshot::channel().0,
    };
    let second = instance_beside(&first_app).await;
    first.sign_in().await;
    second.sign_in().await;
    let pool = sqlx::PgPool::connect(&first_app.database.url)
        .await
        .unwrap();
    let notices = notices_to_send();

    // In turn to each instance, eight callers at once; every tenth also on paper.
    let instances = [&first, &second];
    let code = with_mailbox();
    let mut callers = Vec::new();
    for lane in 0..8 {
        let (instances, code) = (instances, code.clone());
        callers.push(async move {
            for n in (lane..notices).step_by(8) {
                let mode = if n % 10 == 0 {
                    "multichannel"
                } else {
                    "electronic_only"
                };
                let draft = draft(
                    &format!("instances-{n}"),
                    vec![recipient(&format!("Vastaanottaja {n}"), Some(&code), mode)],
                );
                instances[n % 2].send(&draft).await;
            }
        });
    }
    futures_util::future::join_all(callers).await;

    let total = notices as i64;
    wait_for(
        &pool,
        "SELECT count(*) FROM deliveries WHERE suomifi_message_id IS NOT NULL",
        total,
        "deliveries at Suomi.fi",
    )
    .await;

    let counters = sim(&first_app, reqwest::Method::GET, "/__sim/counters", None).await;
    assert_eq!(
        counters["external_ids_with_more_than_one_message"], 0,
        "no notice reached Suomi.fi twice"
    );
    assert_eq!(
        counters["messages_by_external_id"]
            .as_object()
            .unwrap()
            .len(),
        notices
    );
    let workers = sqlx::query(
        "SELECT lease_owner, count(*) FROM outbox_jobs \
         WHERE kind = 'send_delivery' AND state = 'done' GROUP BY lease_owner",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(workers.len(), 2, "both instances delivered");
    for worker in &workers {
        let (owner, delivered): (String, i64) = (worker.get(0), worker.get(1));
        assert!(delivered > 0, "{owner} delivered nothing");
    }

    // Suomi.fi reads the messages out; both pollers read the one feed. Every event is kept
    // once and moves its delivery once.
    sim(
        &first_app,
        reqwest::Method::POST,
        "/__sim/clock/advance",
        Some(json!({ "seconds": 2 * 3600 })),
    )
    .await;
    wait_for(
        &pool,
        "SELECT count(*) FROM deliveries WHERE status = 'read'",
        total,
        "deliveries read",
    )
    .await;
    // A few passes more, so both pollers have seen the whole feed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM (SELECT message_id, event_type, event_time FROM suomifi_events \
             GROUP BY 1, 2, 3 HAVING count(*) > 1) doubled"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM (SELECT delivery_id, details FROM delivery_history \
             WHERE kind IN ('suomifi_event', 'submitted', 'legal_dates') \
             GROUP BY 1, 2 HAVING count(*) > 1) doubled"
        )
        .await,
        0,
        "no event, submission or legal-date change written twice"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM delivery_history WHERE kind = 'submitted'"
        )
        .await,
        total
    );
    pool.close().await;
}

/// An instance with another data key would seal what the others cannot open: it does not
/// start. Several instances starting together on an empty database take turns at setting up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_agree_on_the_key_and_take_turns_at_the_first_start() {
    let first = spawn_app_with(TestBackend::Postgres, tuned).await;
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = first.database.url.clone();
    config.data_key = Some(tiedoksi::secrets::DataKey::generate());
    config.blob_dir = first.blob_dir.path().display().to_string();
    let refused = Application::build(config)
        .await
        .err()
        .expect("another key is refused");
    assert!(refused.to_string().contains("data key"), "{refused}");

    // Three at once on an empty database: one organisation, one admin, one service.
    let (_store, database) = crate::helpers::fresh_store(TestBackend::Postgres).await;
    let key = tiedoksi::secrets::DataKey::generate();
    let starts = (0..3).map(|_| {
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.addr = "127.0.0.1:0".parse().unwrap();
        config.database_url = database.url.clone();
        config.admin_password = Some(ADMIN_PASSWORD.to_string().into());
        config.data_key = Some(tiedoksi::secrets::DataKey::from_base64(&key.to_base64()).unwrap());
        config.blob_dir = first.blob_dir.path().display().to_string();
        Application::build(config)
    });
    let built = futures_util::future::join_all(starts).await;
    assert!(built.iter().all(Result::is_ok), "every instance starts");
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    assert_eq!(count(&pool, "SELECT count(*) FROM organisations").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM users").await, 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM suomifi_services").await,
        1
    );
    pool.close().await;
}
