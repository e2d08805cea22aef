//! Signing in and out: success, wrong password, lockout, throttling, session handling.

use app::auth::Role;
use app::error::{AppError, LoginRefusal};

use crate::helpers::{
    new_client, spawn_app, spawn_app_with, TestBackend, ADMIN_EMAIL, ADMIN_PASSWORD,
};
use crate::on_both_backends;

on_both_backends!(
    correct_password_signs_in_and_shows_the_user,
    wrong_password_is_refused_with_a_clear_error,
    form_post_without_wasm_redirects_back_with_the_error,
    account_locks_after_repeated_failures,
    address_is_throttled_after_many_failures,
    the_address_throttle_holds_under_a_parallel_burst,
    session_id_changes_at_sign_in,
    sign_out_ends_the_session,
    session_cookie_is_http_only_and_strict,
    next_parameter_only_leads_inside_the_site,
);

fn refusal(body: &str) -> AppError {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not an AppError ({e}): {body}"))
}

async fn correct_password_signs_in_and_shows_the_user(backend: TestBackend) {
    let app = spawn_app(backend).await;

    let response = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("serverfnredirect"),
        "{:?}",
        response.headers()
    );
    assert_eq!(response.headers()["location"], "/");

    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Ylläpitäjä"),
        "the signed-in user's name is shown"
    );
    assert!(html.contains("Demo-organisaatio"));
    assert!(app
        .audit_actions()
        .await
        .contains(&"login.succeeded".to_string()));
}

async fn wrong_password_is_refused_with_a_clear_error(backend: TestBackend) {
    let app = spawn_app(backend).await;

    let response = app.login(ADMIN_EMAIL, "not the password").await;
    assert_eq!(response.status(), 401);
    let body = response.text().await.unwrap();
    assert_eq!(
        refusal(&body),
        AppError::LoginRefused(LoginRefusal::InvalidCredentials)
    );

    let unknown = app.login("nobody@example.fi", "whatever").await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        refusal(&unknown.text().await.unwrap()),
        AppError::LoginRefused(LoginRefusal::InvalidCredentials),
        "an unknown account looks the same as a wrong password"
    );

    assert_eq!(app.get("/").await.status(), 303, "still not signed in");
    assert!(app
        .audit_actions()
        .await
        .contains(&"login.failed".to_string()));
}

async fn form_post_without_wasm_redirects_back_with_the_error(backend: TestBackend) {
    let app = spawn_app(backend).await;

    let refused = app
        .post_form(
            "login",
            &[("email", ADMIN_EMAIL), ("password", "wrong"), ("next", "")],
            "/login",
        )
        .await;
    assert_eq!(refused.status(), 302);
    let location = refused.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("/login?"), "{location}");
    assert!(
        location.contains("__err="),
        "the error travels back to the form: {location}"
    );

    // The page it lands on renders the error message in the user's language.
    let page = app.get(&location.replace(&app.origin(), "")).await;
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Sähköpostiosoite tai salasana on väärin."),
        "{html}"
    );

    let accepted = app
        .post_form(
            "login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", "/admin"),
            ],
            "/login",
        )
        .await;
    assert_eq!(accepted.status(), 302);
    assert_eq!(accepted.headers()["location"], "/admin");
}

async fn account_locks_after_repeated_failures(backend: TestBackend) {
    let app = spawn_app(backend).await;
    app.create_user("kasittelija@example.fi", "oikea-salasana", Role::Caseworker)
        .await;

    for attempt in 1..=4 {
        let response = app.login("kasittelija@example.fi", "väärä").await;
        let error = refusal(&response.text().await.unwrap());
        assert_eq!(
            error,
            AppError::LoginRefused(LoginRefusal::InvalidCredentials),
            "attempt {attempt}"
        );
    }
    let fifth = app.login("kasittelija@example.fi", "väärä").await;
    assert_eq!(
        refusal(&fifth.text().await.unwrap()),
        AppError::LoginRefused(LoginRefusal::AccountLocked)
    );

    let correct = app.login("kasittelija@example.fi", "oikea-salasana").await;
    assert_eq!(correct.status(), 401);
    assert_eq!(
        refusal(&correct.text().await.unwrap()),
        AppError::LoginRefused(LoginRefusal::AccountLocked),
        "even the right password is refused while locked"
    );

    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "login.failed").count(), 5);
    assert!(actions.contains(&"account.locked".to_string()));
    assert!(actions.contains(&"login.refused_locked".to_string()));

    // Other accounts are untouched.
    assert_eq!(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 200);
}

async fn address_is_throttled_after_many_failures(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| config.login.max_failures_per_ip = 3).await;

    for n in 0..3 {
        let response = app.login(&format!("guess{n}@example.fi"), "guess").await;
        assert_eq!(response.status(), 401);
    }
    let throttled = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        refusal(&throttled.text().await.unwrap()),
        AppError::LoginRefused(LoginRefusal::TooManyAttemptsFromAddress)
    );
    let unattributed = app.store.audit_events(None, 100).await.unwrap();
    assert!(
        unattributed
            .iter()
            .any(|event| event.action == "login.throttled"),
        "throttling is audited even though no account is known"
    );
}

/// Thirty guesses at once from one address: each attempt is counted before its slow
/// password check, so no more than the limit are ever checked.
async fn the_address_throttle_holds_under_a_parallel_burst(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.login.max_failures_per_ip = 5;
        config.login.concurrent_checks = 8;
        config.login.check_wait = std::time::Duration::from_secs(30);
    })
    .await;
    let checked_before = (app.passwords_checked)();
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..30 {
        let (client, url, origin) = (new_client(), app.url("/api/login"), app.origin());
        guesses.spawn(async move {
            let guess = format!("guess {n}");
            client
                .post(url)
                .header(reqwest::header::ORIGIN, origin)
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&[("email", ADMIN_EMAIL), ("password", guess.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = guesses.join_all().await;
    let checked = (app.passwords_checked)() - checked_before;
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert_eq!(
        statuses.iter().filter(|status| **status == 401).count() as u64,
        checked
    );
    assert!(
        statuses.iter().all(|status| matches!(status, 401 | 429)),
        "{statuses:?}"
    );
    let throttled = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(throttled.status(), 429, "even the right password waits");
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| {
            value.starts_with("tiedoksi_session=") || value.starts_with("__Host-tiedoksi_session=")
        })
        .map(str::to_string)
}

async fn session_id_changes_at_sign_in(backend: TestBackend) {
    let app = spawn_app(backend).await;

    let first = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await).expect("cookie");
    let second = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await).expect("cookie");
    let id = |cookie: &str| cookie.split(';').next().unwrap().to_string();
    assert_ne!(id(&first), id(&second), "a new id at every sign-in");

    // The old id no longer opens anything.
    let stale = crate::helpers::new_client()
        .get(app.url("/"))
        .header("cookie", id(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 303);
}

async fn sign_out_ends_the_session(backend: TestBackend) {
    let app = spawn_app(backend).await;
    app.login_as_admin().await;
    assert_eq!(app.get("/").await.status(), 200);

    let response = app.call("logout", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/").await.status(), 303);
    assert!(app.audit_actions().await.contains(&"logout".to_string()));
}

async fn session_cookie_is_http_only_and_strict(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let cookie = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");

    let https = spawn_app_with(backend, |config| {
        config.public_url = Some("https://tiedoksi.example.fi".into())
    })
    .await;
    let response = https
        .client
        .post(https.url("/api/login"))
        .header("origin", "https://tiedoksi.example.fi")
        .header("accept", "application/json")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&response).unwrap();
    assert!(cookie.starts_with("__Host-tiedoksi_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_some(),
        "HSTS over https"
    );
    assert!(app
        .get("/login")
        .await
        .headers()
        .get("strict-transport-security")
        .is_none());
}

async fn next_parameter_only_leads_inside_the_site(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_form(
            "login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/"),
            ],
            "/login",
        )
        .await;
    assert_eq!(response.headers()["location"], "/");
}
