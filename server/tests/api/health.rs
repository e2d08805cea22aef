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
