//! Who may open what: sign-in required, roles, cross-site requests.

use app::auth::Role;
use app::error::AppError;

use crate::helpers::{spawn_app, TestBackend, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    pages_redirect_to_sign_in_without_a_session,
    caseworker_cannot_open_admin_routes,
    admin_sees_the_organisations_users,
    cross_origin_post_is_refused_before_any_handler,
    server_functions_refuse_callers_without_a_session,
    language_choice_is_remembered_and_goes_back,
);

async fn pages_redirect_to_sign_in_without_a_session(backend: TestBackend) {
    let app = spawn_app(backend).await;
    for (path, expected) in [
        ("/", "/login"),
        ("/compose", "/login?next=/compose"),
        ("/admin", "/login?next=/admin"),
        ("/no-such-page", "/login?next=/no-such-page"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], expected, "{path}");
    }
    let login = app.get("/login").await;
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("<html lang=\"fi\""), "Finnish by default");
    assert!(html.contains("name=\"password\""));
}

async fn caseworker_cannot_open_admin_routes(backend: TestBackend) {
    let app = spawn_app(backend).await;
    app.create_user("kasittelija@example.fi", "salasana-1234", Role::Caseworker)
        .await;
    assert_eq!(
        app.login("kasittelija@example.fi", "salasana-1234")
            .await
            .status(),
        200
    );

    let page = app.get("/admin").await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ei käyttöoikeutta"));
    assert!(
        !html.contains("admin@tiedoksi.local"),
        "no user list leaks into the page"
    );

    let call = app.call("organisation_users", &[]).await;
    assert_eq!(call.status(), 403);
    let error: AppError = serde_json::from_str(&call.text().await.unwrap()).unwrap();
    assert_eq!(error, AppError::Forbidden);

    let front = app.get("/").await.text().await.unwrap();
    assert!(
        !front.contains("href=\"/admin\""),
        "no admin link for caseworkers"
    );
}

async fn admin_sees_the_organisations_users(backend: TestBackend) {
    let app = spawn_app(backend).await;
    app.create_user("tarkastaja@example.fi", "salasana-1234", Role::Auditor)
        .await;
    app.login_as_admin().await;

    let page = app.get("/admin").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("tarkastaja@example.fi"));
    assert!(html.contains("Tarkastaja"), "role shown in Finnish");

    // Users of another organisation stay invisible.
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    app.store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: other.id,
            email: "muu@toinen.fi".into(),
            display_name: "Muu".into(),
            password_hash: "x".into(),
            role: Role::Admin,
        })
        .await
        .unwrap();
    let html = app.get("/admin").await.text().await.unwrap();
    assert!(!html.contains("muu@toinen.fi"));
}

async fn cross_origin_post_is_refused_before_any_handler(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let before = app.audit_actions().await.len();

    let response = app
        .client
        .post(app.url("/api/login"))
        .header("origin", "https://evil.example")
        .header("accept", "application/json")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());

    let by_fetch_metadata = app
        .client
        .post(app.url("/api/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_fetch_metadata.status(), 403);

    assert_eq!(
        app.audit_actions().await.len(),
        before,
        "the login handler never ran"
    );
    assert_eq!(
        app.get("/").await.status(),
        303,
        "and no session was created"
    );
}

async fn server_functions_refuse_callers_without_a_session(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let response = app.call("organisation_users", &[]).await;
    assert_eq!(response.status(), 401);
}

async fn language_choice_is_remembered_and_goes_back(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let response = app.get("/language/sv?next=/login").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    let html = app.get("/login").await.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"sv\""),
        "{}",
        &html[..200.min(html.len())]
    );
    assert!(html.contains("Logga in"));

    let english = app.get("/language/en?next=https://evil.example/").await;
    assert_eq!(english.headers()["location"], "/", "never leads off-site");
    assert!(app
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Sign in"));
}
