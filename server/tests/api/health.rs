//! Health probes.

use crate::helpers::{spawn_app, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    healthz_answers_without_a_session,
    readyz_fails_when_the_database_is_gone
);

async fn healthz_answers_without_a_session(backend: TestBackend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

async fn readyz_fails_when_the_database_is_gone(backend: TestBackend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.database.make_unreachable(&app.store).await;

    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the process itself is still up"
    );
}

/// Every answer carries the id its log lines carry: a new one, or the proxy's own.
#[tokio::test]
async fn every_answer_carries_its_request_id() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;
    let id = |answer: &reqwest::Response| {
        answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(uuid::Uuid::parse_str(&id(&first)).is_ok(), "{}", id(&first));
    assert_ne!(id(&first), id(&second), "one id per request");

    let from_proxy = app
        .client
        .get(format!("http://{}/healthz", app.address))
        .header("x-request-id", "proxy-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(id(&from_proxy), "proxy-7f3a");
}

#[tokio::test]
async fn the_application_reaches_its_built_in_simulator_over_http() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let simulator = app
        .simulator_url
        .clone()
        .expect("no Suomi.fi URL configured: simulator runs");
    assert!(simulator.starts_with("http://127.0.0.1:"));
    let page = app
        .suomifi
        .events(None)
        .await
        .expect("the client signs in and reads events");
    assert!(page.events.is_empty());
}
