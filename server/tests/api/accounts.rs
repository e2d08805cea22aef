//! The operator bootstraps an organisation and its first admin from the command line; the
//! admin sets a password through the one-time link and signs in.

use reqwest::header::{LOCATION, ORIGIN};
use std::process::Command;

use crate::helpers::{new_client, spawn_app, TestBackend};
use crate::on_both_backends;

fn tiedoksi(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
        .args(args)
        .env("TIEDOKSI_DATABASE_URL", database_url)
        .env("TIEDOKSI_PUBLIC_URL", "https://tiedoksi.example")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn an_organisation_and_its_first_admin_are_bootstrapped_with_a_one_time_link(
    backend: TestBackend,
) {
    let app = spawn_app(backend).await;
    let url = app.database.url.clone();
    let create = [
        "organisations",
        "create",
        "--name",
        "Esimerkkikunta",
        "--business-id",
        "1234567-1",
    ];
    let (ok, created) = tiedoksi(&url, &create);
    assert!(ok, "{created}");
    assert!(
        created.contains("created Esimerkkikunta (1234567-1)"),
        "{created}"
    );
    let (again, refused) = tiedoksi(&url, &create);
    assert!(!again && refused.contains("exists already"), "{refused}");
    let (bad, refused) = tiedoksi(
        &url,
        &[
            "organisations",
            "create",
            "--name",
            "X",
            "--business-id",
            "1234567-2",
        ],
    );
    assert!(
        !bad && refused.contains("not a valid business ID"),
        "{refused}"
    );

    let (no_role, refused) = tiedoksi(
        &url,
        &[
            "users",
            "create",
            "--organisation",
            "1234567-1",
            "--email",
            "x@esimerkki.fi",
            "--role",
            "root",
        ],
    );
    assert!(!no_role && refused.contains("role must be"), "{refused}");
    let (ok, created) = tiedoksi(
        &url,
        &[
            "users",
            "create",
            "--organisation",
            "1234567-1",
            "--email",
            "Paakayttaja@Esimerkki.fi",
            "--role",
            "admin",
            "--name",
            "Pää Käyttäjä",
        ],
    );
    assert!(ok, "{created}");
    let link = created
        .lines()
        .find_map(|line| line.trim().strip_prefix("https://tiedoksi.example"))
        .expect("a link under the public URL")
        .to_string();
    assert!(link.starts_with("/welcome/"), "{link}");

    // Before a password is set, nothing signs in as the new user.
    let client = new_client();
    let page = client
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("paakayttaja@esimerkki.fi"), "{page}");
    assert!(page.contains("autocomplete=\"new-password\""));

    let post = |password: &'static str, confirmation: &'static str| {
        let client = client.clone();
        let url = app.url(&link);
        let origin = app.origin();
        async move {
            client
                .post(url)
                .header(ORIGIN, origin)
                .form(&[
                    ("password", password),
                    ("password_confirmation", confirmation),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for (password, confirmation, code) in [
        ("lyhyt", "lyhyt", "too_short"),
        ("password1234", "password1234", "common"),
        ("kolme kissaa kiipesi puuhun", "kolme kissaa", "differ"),
    ] {
        let refused = post(password, confirmation).await;
        assert_eq!(refused.status(), 303);
        assert_eq!(
            refused.headers()[LOCATION].to_str().unwrap(),
            format!("{link}?problem={code}")
        );
    }
    let shown = client
        .get(app.url(&format!("{link}?problem=common")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.contains("error-summary") && shown.contains("liian yleinen"),
        "{shown}"
    );

    let set = post("kolme kissaa kiipesi puuhun", "kolme kissaa kiipesi puuhun").await;
    assert_eq!(set.headers()[LOCATION], "/login?password_set=1");
    let signed_in = app
        .login("paakayttaja@esimerkki.fi", "kolme kissaa kiipesi puuhun")
        .await;
    assert_eq!(signed_in.status(), 200);
    let me: serde_json::Value = app.call("current_user", &[]).await.json().await.unwrap();
    assert_eq!(me["organisation_name"], "Esimerkkikunta");
    assert_eq!(me["role"], "admin");

    // Used once.
    let reused = post("toinen pitkä salasana tähän", "toinen pitkä salasana tähän").await;
    assert_eq!(reused.headers()[LOCATION].to_str().unwrap(), link);
    let page = client
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-testid=\"link-invalid\""), "{page}");
    let forged = client
        .get(app.url("/welcome/not-a-token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(forged.contains("data-testid=\"link-invalid\""));
    let organisation = app
        .store
        .organisation_by_business_id("1234567-1")
        .await
        .unwrap()
        .unwrap();
    let actions: Vec<String> = app
        .store
        .audit_events(Some(organisation.id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.action)
        .collect();
    for action in ["organisation.created", "user.created", "user.password_set"] {
        assert!(
            actions.contains(&action.to_string()),
            "{action}: {actions:?}"
        );
    }
}

on_both_backends!(an_organisation_and_its_first_admin_are_bootstrapped_with_a_one_time_link);
