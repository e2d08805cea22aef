//! Single sign-on against a real OpenID provider run on loopback (npm's oauth2-mock-server,
//! installed by `scripts/ensure-test-clients.sh`): a user appears on first sign-in with the
//! role the claim gives, the role follows the claim, and a wrong audience, an expired ID token,
//! a wrong nonce, a replayed state, a callback from another browser, a user without a role and
//! a deactivated user are each refused without a session.

use std::collections::HashMap;

use app::auth::Role;
use reqwest::header::LOCATION;
use tokio::io::AsyncBufReadExt;

use crate::helpers::{new_client, spawn_app_with, TestApp, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    a_user_signs_in_through_the_provider_and_follows_its_roles,
    bad_tokens_replayed_states_and_unknown_roles_are_refused,
    a_local_account_is_linked_only_by_a_verified_address_and_only_once,
);

pub struct Provider {
    pub issuer: String,
    _process: tokio::process::Child,
}

/// The provider on a free loopback port; it ends when dropped.
pub async fn spawn_provider() -> Provider {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs");
    let mut process = tokio::process::Command::new("node")
        .arg(script)
        .arg("0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the provider (scripts/ensure-test-clients.sh installs it)");
    let mut lines = tokio::io::BufReader::new(process.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the provider starts in time")
        .unwrap()
        .expect("a READY line");
    Provider {
        issuer: ready
            .strip_prefix("READY ")
            .expect("READY <issuer>")
            .to_string(),
        _process: process,
    }
}

async fn app_with(backend: TestBackend, provider: &Provider) -> TestApp {
    let issuer = provider.issuer.clone();
    let app = spawn_app_with(backend, move |config| {
        config.oidc = Some(tiedoksi::config::OidcConfig {
            issuer,
            client_id: "tiedoksi".into(),
            client_secret: Some("client-secret".to_string().into()),
            role_claim: "roles".into(),
            organisation: None,
            organisation_claim: Some("org".into()),
            provider_name: "Kunnan tunnukset".into(),
        });
    })
    .await;
    app.store
        .set_business_id(app.organisation.id, "1234567-1")
        .await
        .unwrap();
    app
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// Start → provider (with what it should do) → the callback URL it sends the browser to.
async fn to_provider_and_back(
    app: &TestApp,
    client: &reqwest::Client,
    provider: &Provider,
    choices: &[(&str, &str)],
) -> String {
    let start = client
        .get(app.url("/auth/oidc/start?next=/compose"))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_redirection(), "{}", start.status());
    let mut authorize = reqwest::Url::parse(&location(&start)).unwrap();
    assert!(authorize
        .as_str()
        .starts_with(&format!("{}/authorize?", provider.issuer)));
    let query: HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], "tiedoksi");
    assert!(query.contains_key("nonce") && query.contains_key("state"));
    assert!(query["scope"].split(' ').any(|scope| scope == "openid"));
    for (key, value) in choices {
        authorize.query_pairs_mut().append_pair(key, value);
    }
    let at_provider = client.get(authorize).send().await.unwrap();
    assert_eq!(at_provider.status(), 302);
    let callback = location(&at_provider);
    assert!(
        callback.starts_with(&app.url("/auth/oidc/callback?")),
        "{callback}"
    );
    callback
}

async fn signed_in_as(app: &TestApp, client: &reqwest::Client) -> Option<String> {
    let me = client
        .post(app.url("/api/current_user"))
        .header(reqwest::header::ORIGIN, app.origin())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    let user: serde_json::Value = me.json().await.unwrap_or_default();
    user["email"].as_str().map(str::to_string)
}

async fn a_user_signs_in_through_the_provider_and_follows_its_roles(backend: TestBackend) {
    let provider = spawn_provider().await;
    let app = app_with(backend, &provider).await;

    // The sign-in page offers it.
    let page = app.get("/login").await.text().await.unwrap();
    assert!(page.contains("Kirjaudu: Kunnan tunnukset"), "{page}");
    assert!(page.contains("/auth/oidc/start"));

    let browser = new_client();
    let callback = to_provider_and_back(
        &app,
        &browser,
        &provider,
        &[
            ("mock_sub", "kaisa"),
            ("mock_roles", "tiedoksi-caseworker,other-app"),
            ("mock_org", "1234567-1"),
        ],
    )
    .await;
    let back = browser.get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 200);
    assert!(back.text().await.unwrap().contains("url=/compose"));
    assert_eq!(
        signed_in_as(&app, &browser).await.as_deref(),
        Some("kaisa@kunta.example")
    );
    let user = app
        .store
        .user_by_email("kaisa@kunta.example")
        .await
        .unwrap()
        .expect("created on first sign-in");
    assert_eq!(user.role, Role::Caseworker);
    assert_eq!(user.organisation_id, app.organisation.id);
    assert_eq!(user.display_name, "Alice Käsittelijä");
    // No password works for them.
    let refused = app.login("kaisa@kunta.example", "!single-sign-on").await;
    assert_ne!(refused.status(), 200);

    // Next time the claim says auditor: the role follows; the same user, not a new one.
    let again = new_client();
    let callback = to_provider_and_back(
        &app,
        &again,
        &provider,
        &[
            ("mock_sub", "kaisa"),
            ("mock_roles", "tiedoksi-auditor"),
            ("mock_org", "1234567-1"),
        ],
    )
    .await;
    assert_eq!(again.get(&callback).send().await.unwrap().status(), 200);
    let user = app
        .store
        .user_by_email("kaisa@kunta.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Auditor);
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "user.created"));
    assert!(actions.iter().any(|a| a == "user.role_changed"));
    assert!(actions.iter().any(|a| a == "login.succeeded"));

    // Deactivated here: the provider's yes is not enough.
    app.store
        .set_active(app.organisation.id, user.id, false)
        .await
        .unwrap();
    let third = new_client();
    let callback = to_provider_and_back(
        &app,
        &third,
        &provider,
        &[("mock_sub", "kaisa"), ("mock_org", "1234567-1")],
    )
    .await;
    let refused = third.get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(signed_in_as(&app, &third).await, None);
}

async fn bad_tokens_replayed_states_and_unknown_roles_are_refused(backend: TestBackend) {
    let provider = spawn_provider().await;
    let app = app_with(backend, &provider).await;
    let org = ("mock_org", "1234567-1");

    for (scenario, status) in [("wrong_aud", 502), ("expired", 502), ("bad_nonce", 502)] {
        let browser = new_client();
        let callback = to_provider_and_back(
            &app,
            &browser,
            &provider,
            &[("mock_scenario", scenario), ("mock_sub", scenario), org],
        )
        .await;
        let refused = browser.get(&callback).send().await.unwrap();
        assert_eq!(refused.status(), status, "{scenario}");
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("Kirjautuminen ei onnistunut"));
        assert_eq!(signed_in_as(&app, &browser).await, None, "{scenario}");
        assert!(app
            .store
            .user_by_email(&format!("{scenario}@kunta.example"))
            .await
            .unwrap()
            .is_none());
    }

    // A state used once does not work again, nor one never issued.
    let browser = new_client();
    let callback = to_provider_and_back(&app, &browser, &provider, &[org]).await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 200);
    let replayed = new_client().get(&callback).send().await.unwrap();
    assert_eq!(replayed.status(), 400);
    let replayed_here = browser.get(&callback).send().await.unwrap();
    assert_eq!(replayed_here.status(), 400);
    let unknown = new_client()
        .get(app.url("/auth/oidc/callback?code=x&state=never-issued"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);

    // A callback from another browser than the one that started (a link someone was sent).
    let victim = new_client();
    let attacker = new_client();
    let callback =
        to_provider_and_back(&app, &attacker, &provider, &[("mock_sub", "mallory"), org]).await;
    assert_eq!(victim.get(&callback).send().await.unwrap().status(), 400);
    assert_eq!(signed_in_as(&app, &victim).await, None);

    // No Tiedoksi role, or an organisation not here: a clear refusal.
    let browser = new_client();
    let callback = to_provider_and_back(
        &app,
        &browser,
        &provider,
        &[("mock_sub", "norole"), ("mock_roles", "-"), org],
    )
    .await;
    let refused = browser.get(&callback).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Tiedoksi-käyttöoikeutta"));
    let browser = new_client();
    let callback = to_provider_and_back(
        &app,
        &browser,
        &provider,
        &[("mock_sub", "elsewhere"), ("mock_org", "7654321-0")],
    )
    .await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 403);
    assert!(app
        .store
        .user_by_email("elsewhere@kunta.example")
        .await
        .unwrap()
        .is_none());
}

async fn a_local_account_is_linked_only_by_a_verified_address_and_only_once(backend: TestBackend) {
    let provider = spawn_provider().await;
    let app = app_with(backend, &provider).await;
    let local = app
        .create_user("maija@kunta.example", "a local password 123", Role::Admin)
        .await;
    let org = ("mock_org", "1234567-1");
    let sign_in = |choices: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let provider = &provider;
        async move {
            let browser = new_client();
            let callback = to_provider_and_back(app, &browser, provider, &choices).await;
            browser.get(&callback).send().await.unwrap().status()
        }
    };
    // The provider does not vouch for the address: not linked.
    let unverified = sign_in(vec![
        ("mock_sub", "maija"),
        ("mock_email", "maija@kunta.example"),
        ("mock_email_verified", "false"),
        ("mock_roles", "tiedoksi-admin"),
        org,
    ])
    .await;
    assert_eq!(unverified, 403);
    assert_eq!(
        app.store
            .user_by_oidc_subject(&format!("{} maija", provider.issuer))
            .await
            .unwrap(),
        None
    );
    // It does: the local account is theirs from now on.
    let verified = sign_in(vec![
        ("mock_sub", "maija"),
        ("mock_email", "maija@kunta.example"),
        ("mock_roles", "tiedoksi-admin"),
        org,
    ])
    .await;
    assert_eq!(verified, 200);
    let linked = app
        .store
        .user_by_oidc_subject(&format!("{} maija", provider.issuer))
        .await
        .unwrap()
        .expect("linked");
    assert_eq!(linked.id, local.id);
    // Someone else at the provider with the same (verified) address does not get it.
    let other = sign_in(vec![
        ("mock_sub", "mallory"),
        ("mock_email", "maija@kunta.example"),
        ("mock_roles", "tiedoksi-admin"),
        org,
    ])
    .await;
    assert_eq!(other, 403);
    assert!(app
        .store
        .user_by_oidc_subject(&format!("{} mallory", provider.issuer))
        .await
        .unwrap()
        .is_none());
}
