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
