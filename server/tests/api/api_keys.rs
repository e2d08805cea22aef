//! API keys from the operator's command line: shown once, kept as hashes, listed without the
//! secret, revoked at once; each with an account that cannot sign in.

use std::process::Command;

use crate::accounts::{location, post_as, signed_in};
use crate::helpers::{spawn_app, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    an_api_key_is_shown_once_works_until_revoked,
    an_admin_makes_and_revokes_keys_on_the_admin_page,
);

fn tiedoksi(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
        .args(args)
        .env("TIEDOKSI_DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

async fn an_api_key_is_shown_once_works_until_revoked(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let url = app.database.url.clone();
    let organisation = app.organisation.name.clone();

    let (ok, created) = tiedoksi(
        &url,
        &[
            "api-keys",
            "create",
            "--organisation",
            &organisation,
            "--name",
            "Asianhallinta",
        ],
    );
    assert!(ok, "{created}");
    let secret = created
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("tdk_"))
        .expect("the key is printed")
        .to_string();

    let key = tiedoksi::api::keys::authenticate(&app.store, &secret)
        .await
        .unwrap()
        .expect("the key works");
    assert_eq!(key.organisation_id, app.organisation.id);
    assert_eq!(key.name, "Asianhallinta");
    assert!(!key.key_sha256.contains(&secret[4..]));
    assert!(app.store.api_keys(app.organisation.id).await.unwrap()[0]
        .last_used_at
        .is_some());
    // Its account authors notices but cannot sign in.
    let account = app.store.user_by_id(key.account_id).await.unwrap().unwrap();
    assert_eq!(account.display_name, "API: Asianhallinta");
    assert_ne!(app.login(&account.email, "!api-key").await.status(), 200);
    // A near miss is no key.
    let mut wrong = secret.clone();
    wrong.pop();
    assert!(tiedoksi::api::keys::authenticate(&app.store, &wrong)
        .await
        .unwrap()
        .is_none());

    let (ok, listed) = tiedoksi(&url, &["api-keys", "list", "--organisation", &organisation]);
    assert!(ok, "{listed}");
    assert!(listed.contains("Asianhallinta") && listed.contains(&key.prefix));
    assert!(!listed.contains(&secret), "the list never shows a key");

    let id = key.id.to_string();
    let (ok, revoked) = tiedoksi(
        &url,
        &["api-keys", "revoke", "--organisation", &organisation, &id],
    );
    assert!(ok, "{revoked}");
    assert!(tiedoksi::api::keys::authenticate(&app.store, &secret)
        .await
        .unwrap()
        .is_none());
    let (again, refused) = tiedoksi(
        &url,
        &["api-keys", "revoke", "--organisation", &organisation, &id],
    );
    assert!(!again && refused.contains("no live API key"), "{refused}");
    let (bad, refused) = tiedoksi(
        &url,
        &[
            "api-keys",
            "create",
            "--organisation",
            &organisation,
            "--name",
            " ",
        ],
    );
    assert!(!bad && refused.contains("1–100"), "{refused}");
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "api_key.created"));
    assert!(actions.iter().any(|a| a == "api_key.revoked"));
}

async fn an_admin_makes_and_revokes_keys_on_the_admin_page(backend: TestBackend) {
    let app = spawn_app(backend).await;
    app.login_as_admin().await;
    let made = post_as(&app, &app.client, "/admin/api-keys", &[("name", "Dynasty")]).await;
    assert_eq!(location(&made), "/admin#api-keys-heading");
    let page = app.get("/admin").await.text().await.unwrap();
    let secret = page
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|word| word.starts_with("tdk_") && word.len() > 20)
        .expect("the new key is shown")
        .to_string();
    let again = app.get("/admin").await.text().await.unwrap();
    assert!(!again.contains(&secret), "shown once only");
    assert!(again.contains("Dynasty"));
    let key = tiedoksi::api::keys::authenticate(&app.store, &secret)
        .await
        .unwrap()
        .expect("it works");
    assert_eq!(
        post_as(&app, &app.client, "/admin/api-keys", &[("name", "")])
            .await
            .headers()["location"],
        "/admin?problem=api_key_name_invalid#problem"
    );

    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "k@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let refused = post_as(&app, &caseworker, "/admin/api-keys", &[("name", "Oma")]).await;
    assert_eq!(refused.status(), 403);
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    let stranger = signed_in(&app, other.id, "a@toinen.example", app::auth::Role::Admin).await;
    let foreign = post_as(
        &app,
        &stranger,
        &format!("/admin/api-keys/{}/revoke", key.id),
        &[],
    )
    .await;
    assert_eq!(foreign.status(), 404);

    let revoked = post_as(
        &app,
        &app.client,
        &format!("/admin/api-keys/{}/revoke", key.id),
        &[],
    )
    .await;
    assert_eq!(location(&revoked), "/admin#api-keys-heading");
    assert!(tiedoksi::api::keys::authenticate(&app.store, &secret)
        .await
        .unwrap()
        .is_none());
}
