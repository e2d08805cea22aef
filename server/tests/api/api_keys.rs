//! API keys from the operator's command line: shown once, kept as hashes, listed without the
//! secret, revoked at once; each with an account that cannot sign in.

use crate::accounts::{location, post_as, signed_in, tiedoksi};
use crate::helpers::{spawn_app, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    an_api_key_is_shown_once_works_until_revoked,
    an_admin_makes_and_revokes_keys_on_the_admin_page,
    a_notice_is_read_over_the_api_with_a_key_only,
    each_key_has_its_own_pace,
    a_key_may_be_tied_to_one_of_the_services,
);

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
    let first_use = app.store.api_keys(app.organisation.id).await.unwrap()[0].last_used_at;
    assert!(first_use.is_some());
    tiedoksi::api::keys::authenticate(&app.store, &secret)
        .await
        .unwrap()
        .expect("the key works again");
    assert_eq!(
        app.store.api_keys(app.organisation.id).await.unwrap()[0].last_used_at,
        first_use,
        "kept to the minute, not written on every request"
    );
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

async fn a_notice_is_read_over_the_api_with_a_key_only(backend: TestBackend) {
    use crate::notices::{delivery_ids, draft, queued, quiet_app, recipient, with_mailbox};
    let app = quiet_app(backend).await;
    let code = with_mailbox();
    let notice = queued(
        &app,
        &draft(
            "api-read",
            vec![recipient("Maija", Some(&code), "electronic_only")],
        ),
    )
    .await;
    let id = notice["notice_id"].as_str().unwrap().to_string();
    let delivery = delivery_ids(&notice)[0];
    let key =
        tiedoksi::api::keys::create_key(&app.store, app.organisation.id, "Asianhallinta", "test")
            .await
            .unwrap();
    let get = |bearer: Option<String>| {
        let url = app.url(&format!("/api/v1/notices/{id}"));
        async move {
            let mut request = crate::helpers::new_client().get(url);
            if let Some(bearer) = bearer {
                request = request.header("Authorization", format!("Bearer {bearer}"));
            }
            request.send().await.unwrap()
        }
    };

    let anonymous = get(None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let problem: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/unauthorized");
    assert_eq!(problem["status"], 401);
    assert_eq!(get(Some("tdk_not-a-key".into())).await.status(), 401);

    let read = get(Some(key.secret.clone())).await;
    assert_eq!(read.status(), 200);
    let body = read.text().await.unwrap();
    assert!(!body.contains(&code), "no identity code over the API");
    let read: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["deliveries"][0]["id"], delivery.to_string());
    assert_eq!(read["deliveries"][0]["recipient_id_masked"], "150680-****");

    // Another organisation's key finds nothing.
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    let theirs = tiedoksi::api::keys::create_key(&app.store, other.id, "Toinen", "test")
        .await
        .unwrap();
    let foreign = get(Some(theirs.secret)).await;
    assert_eq!(foreign.status(), 404);
    assert_eq!(
        foreign.headers()["content-type"],
        "application/problem+json"
    );

    let viewed = app
        .store
        .audit_events(Some(app.organisation.id), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|event| {
            event.action == "notice.viewed"
                && event.actor_label.as_deref() == Some("API: Asianhallinta")
        });
    assert!(
        viewed.is_some(),
        "the read is on record under the key's name"
    );

    tiedoksi::api::keys::revoke_key(&app.store, app.organisation.id, key.row.id, "test")
        .await
        .unwrap();
    assert_eq!(get(Some(key.secret)).await.status(), 401);
}

async fn each_key_has_its_own_pace(backend: TestBackend) {
    let app = crate::helpers::spawn_app_with(backend, |config| {
        config.api_requests_per_minute = 2;
    })
    .await;
    let make = |name: &'static str| {
        let app = &app;
        async move {
            tiedoksi::api::keys::create_key(&app.store, app.organisation.id, name, "test")
                .await
                .unwrap()
                .secret
        }
    };
    let busy = make("Kiireinen").await;
    let calm = make("Rauhallinen").await;
    let get = |key: String| {
        let url = app.url(&format!("/api/v1/notices/{}", uuid::Uuid::now_v7()));
        async move {
            crate::helpers::new_client()
                .get(url)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(get(busy.clone()).await.status(), 404);
    assert_eq!(get(busy.clone()).await.status(), 404);
    let slowed = get(busy.clone()).await;
    assert_eq!(slowed.status(), 429);
    assert_eq!(slowed.headers()["content-type"], "application/problem+json");
    let wait: u64 = slowed.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let problem: serde_json::Value = slowed.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-requests");
    // Another key of the same organisation is not held up by it.
    assert_eq!(get(calm).await.status(), 404);
}

async fn a_key_may_be_tied_to_one_of_the_services(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let url = app.database.url.clone();
    let organisation = app.organisation.name.clone();
    let services = app.store.services(app.organisation.id).await.unwrap();
    let service = &services[0];
    let (ok, created) = tiedoksi(
        &url,
        &[
            "api-keys",
            "create",
            "--organisation",
            &organisation,
            "--name",
            "Sote",
            "--service",
            &service.service_id,
        ],
    );
    assert!(ok, "{created}");
    let key = app
        .store
        .api_keys(app.organisation.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(key.service_id, Some(service.id));
    let (ok, refused) = tiedoksi(
        &url,
        &[
            "api-keys",
            "create",
            "--organisation",
            &organisation,
            "--name",
            "Muu",
            "--service",
            "no-such-service",
        ],
    );
    assert!(!ok && refused.contains("no Suomi.fi service"), "{refused}");
    assert_eq!(
        app.store.api_keys(app.organisation.id).await.unwrap().len(),
        1
    );
}
