//! The operator bootstraps an organisation and its first admin from the command line; the
//! admin sets a password through the one-time link and signs in.

use reqwest::header::{LOCATION, ORIGIN};
use std::process::Command;

use crate::helpers::{new_client, spawn_app, TestBackend};
use crate::on_both_backends;

pub(crate) fn tiedoksi(database_url: &str, args: &[&str]) -> (bool, String) {
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

/// A client signed in as a new user of `organisation` with `role`.
pub(crate) async fn signed_in(
    app: &crate::helpers::TestApp,
    organisation: uuid::Uuid,
    email: &str,
    role: app::auth::Role,
) -> reqwest::Client {
    let password = "a long enough password for tests";
    app.store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: organisation,
            email: email.to_string(),
            display_name: email.to_string(),
            password_hash: tiedoksi::auth::password::hash_password(password.to_string())
                .await
                .unwrap(),
            role,
        })
        .await
        .unwrap();
    let client = new_client();
    let login = client
        .post(app.url("/api/login"))
        .header(ORIGIN, app.origin())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "{email} signs in");
    client
}

pub(crate) async fn post_as(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header(ORIGIN, app.origin())
        .form(form)
        .send()
        .await
        .unwrap()
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Every admin action on users, and who may not take them.
async fn an_admin_manages_the_organisations_users(backend: TestBackend) {
    use app::auth::Role;
    let app = spawn_app(backend).await;
    app.login_as_admin().await;

    // Add a caseworker: the one-time link is shown once.
    let added = post_as(
        &app,
        &app.client,
        "/admin/users",
        &[
            ("email", "Kasittelija@Kunta.example"),
            ("display_name", "Kaisa Käsittelijä"),
            ("role", "caseworker"),
        ],
    )
    .await;
    assert_eq!(location(&added), "/admin");
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"shown-link\""), "{page}");
    let link = page
        .split(&format!("{}/welcome/", app.origin()))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(|token| format!("/welcome/{token}"))
        .expect("the whole link, under the address the admin used, on the page");
    let again = app.get("/admin").await.text().await.unwrap();
    assert!(!again.contains("data-testid=\"shown-link\""), "shown once");
    let taken = post_as(
        &app,
        &app.client,
        "/admin/users",
        &[
            ("email", "kasittelija@kunta.example"),
            ("role", "caseworker"),
        ],
    )
    .await;
    assert_eq!(location(&taken), "/admin?problem=email_taken#problem");
    let bad = post_as(
        &app,
        &app.client,
        "/admin/users",
        &[("email", "ei osoite"), ("role", "caseworker")],
    )
    .await;
    assert_eq!(location(&bad), "/admin?problem=email_invalid#problem");

    // The caseworker sets a password and signs in.
    let password = "kaisan pitkä ja outo salasana";
    let set = post_as(
        &app,
        &new_client(),
        &link,
        &[("password", password), ("password_confirmation", password)],
    )
    .await;
    assert_eq!(location(&set), "/login?password_set=1");
    let caseworker = new_client();
    let login = caseworker
        .post(app.url("/api/login"))
        .header(ORIGIN, app.origin())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&[
            ("email", "kasittelija@kunta.example"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let user = app
        .store
        .user_by_email("kasittelija@kunta.example")
        .await
        .unwrap()
        .unwrap();

    // A caseworker may not manage users.
    let refused = post_as(
        &app,
        &caseworker,
        "/admin/users",
        &[("email", "x@kunta.example"), ("role", "admin")],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let refused = post_as(
        &app,
        &caseworker,
        &format!("/admin/users/{}/role", user.id),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(app
        .store
        .user_by_email("x@kunta.example")
        .await
        .unwrap()
        .is_none());
    // Nor may someone without a session, or another organisation's admin (not found).
    let anonymous = post_as(
        &app,
        &new_client(),
        &format!("/admin/users/{}/deactivate", user.id),
        &[],
    )
    .await;
    assert!(
        matches!(anonymous.status().as_u16(), 401 | 303),
        "{}",
        anonymous.status()
    );
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    let stranger = signed_in(&app, other.id, "admin@toinen.example", Role::Admin).await;
    let foreign = post_as(
        &app,
        &stranger,
        &format!("/admin/users/{}/deactivate", user.id),
        &[],
    )
    .await;
    assert_eq!(foreign.status(), 404);
    assert!(app.store.user_by_id(user.id).await.unwrap().unwrap().active);

    // Role: to auditor, who reads but does not compose.
    let changed = post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/role", user.id),
        &[("role", "auditor")],
    )
    .await;
    assert_eq!(location(&changed), "/admin");
    assert_eq!(
        app.store.user_by_id(user.id).await.unwrap().unwrap().role,
        Role::Auditor
    );

    // Deactivated mid-session: the next request is signed out; reactivated, they sign in.
    let me: serde_json::Value = caseworker
        .post(app.url("/api/current_user"))
        .header(ORIGIN, app.origin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "kasittelija@kunta.example");
    post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/deactivate", user.id),
        &[],
    )
    .await;
    let me: serde_json::Value = caseworker
        .post(app.url("/api/current_user"))
        .header(ORIGIN, app.origin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, serde_json::Value::Null, "signed out at once");
    post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/reactivate", user.id),
        &[],
    )
    .await;
    assert!(app.store.user_by_id(user.id).await.unwrap().unwrap().active);

    // Reset: a new link, shown once; unlock clears a lock.
    post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/reset", user.id),
        &[],
    )
    .await;
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"shown-link\"") && page.contains("/welcome/"));
    app.store
        .record_failed_login(
            user.id,
            1,
            tiedoksi::store::Timestamp::now() + time::Duration::hours(1),
            tiedoksi::store::Timestamp::now(),
        )
        .await
        .unwrap();
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(page.contains("Lukittu"), "{page}");
    post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/unlock", user.id),
        &[],
    )
    .await;
    assert!(app
        .store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .locked_until
        .is_none());

    // The last active admin stays.
    let admin = app
        .store
        .user_by_email(crate::helpers::ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let demoted = post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/role", admin.id),
        &[("role", "caseworker")],
    )
    .await;
    assert_eq!(location(&demoted), "/admin?problem=last_admin#problem");
    let deactivated = post_as(
        &app,
        &app.client,
        &format!("/admin/users/{}/deactivate", admin.id),
        &[],
    )
    .await;
    assert_eq!(location(&deactivated), "/admin?problem=last_admin#problem");
    let page = app
        .get("/admin?problem=last_admin")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("ainakin yksi"), "{page}");
    assert_eq!(
        app.store.user_by_id(admin.id).await.unwrap().unwrap().role,
        Role::Admin
    );

    let actions = app.audit_actions().await;
    for action in [
        "user.created",
        "user.role_changed",
        "user.deactivated",
        "user.reactivated",
        "user.password_reset",
        "user.unlocked",
    ] {
        assert!(actions.contains(&action.to_string()), "{action}");
    }
}

on_both_backends!(
    an_organisation_and_its_first_admin_are_bootstrapped_with_a_one_time_link,
    an_admin_manages_the_organisations_users,
    the_audit_log_is_filtered_paged_and_exported,
    an_admin_keeps_the_organisations_details,
);

fn entry(
    organisation: uuid::Uuid,
    action: &str,
    subject: &str,
    at: tiedoksi::store::Timestamp,
) -> tiedoksi::store::AuditEvent {
    tiedoksi::store::AuditEvent {
        id: uuid::Uuid::now_v7(),
        organisation_id: Some(organisation),
        occurred_at: at,
        actor_user_id: None,
        actor_label: Some("tester, \"quoted\"".into()),
        action: action.into(),
        subject_kind: Some("notice".into()),
        subject_id: Some(subject.into()),
        client_ip: Some("192.0.2.1".into()),
        details: r#"{"k":"v, w"}"#.into(),
    }
}

/// Admins and auditors read the log filtered and paged, and take it away as CSV; a
/// caseworker may not.
async fn the_audit_log_is_filtered_paged_and_exported(backend: TestBackend) {
    use app::auth::Role;
    let app = spawn_app(backend).await;
    let organisation = app.organisation.id;
    let base = tiedoksi::store::Timestamp::now() - time::Duration::hours(2);
    for n in 0..1100 {
        let action = if n % 10 == 0 {
            "test.rare"
        } else {
            "test.common"
        };
        let at = base + time::Duration::milliseconds(n);
        app.store
            .append_audit_event(&entry(
                organisation,
                action,
                &format!("subject-{}", n % 7),
                at,
            ))
            .await
            .unwrap();
    }
    let auditor = signed_in(
        &app,
        organisation,
        "tarkastaja@kunta.example",
        Role::Auditor,
    )
    .await;
    let read = |client: reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = app.url("/api/audit_log");
        let origin = app.origin();
        async move {
            client
                .post(url)
                .header(ORIGIN, origin)
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let first: serde_json::Value = read(
        auditor.clone(),
        vec![("filter[action]", "test.rare".into())],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["rows"].as_array().unwrap().len(), 50);
    assert!(first["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["action"] == "test.rare"));
    let cursor = first["next"].as_str().unwrap().to_string();
    let second: serde_json::Value = read(
        auditor.clone(),
        vec![
            ("filter[action]", "test.rare".into()),
            ("filter[before]", cursor),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(second["rows"].as_array().unwrap().len(), 50);
    assert_eq!(
        second["rows"][0]["subject"], "notice subject-2",
        "590 % 7 = 2"
    );
    // Newest first: the 50th is entry 600 (600 % 7 = 5), the next page begins at 590.
    assert_eq!(first["rows"][49]["subject"], "notice subject-5");
    assert_eq!(second["rows"][0]["subject"], "notice subject-2");
    let third: serde_json::Value = read(
        auditor.clone(),
        vec![
            ("filter[action]", "test.rare".into()),
            (
                "filter[before]",
                second["next"].as_str().unwrap().to_string(),
            ),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(third["rows"].as_array().unwrap().len(), 10);
    assert_eq!(third["next"], serde_json::Value::Null);
    let by_subject: serde_json::Value = read(
        auditor.clone(),
        vec![
            ("filter[subject]", "subject-0".into()),
            ("filter[action]", "test.rare".into()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    // n % 10 == 0 and n % 7 == 0: every 70th of 1100.
    assert_eq!(by_subject["rows"].as_array().unwrap().len(), 16);
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .date()
        .to_string();
    let none: serde_json::Value = read(auditor.clone(), vec![("filter[from]", tomorrow)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["rows"], serde_json::json!([]));
    let wrong: serde_json::Value =
        read(auditor.clone(), vec![("filter[from]", "31.12.2026".into())])
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(wrong["problem"], "from");

    let caseworker = signed_in(
        &app,
        organisation,
        "kasittelija@kunta.example",
        Role::Caseworker,
    )
    .await;
    assert_eq!(
        read(caseworker.clone(), vec![("filter[action]", "x".into())])
            .await
            .status(),
        403
    );
    let refused = caseworker.get(app.url("/audit.csv")).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    // The CSV: every matching entry, across the export's chunks of 1000.
    let csv = auditor
        .get(app.url("/audit.csv?action=test.common"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    let mut reader = ::csv::Reader::from_reader(body.as_bytes());
    let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 990);
    assert_eq!(&records[0][1], "tester, \"quoted\"", "quoted as CSV quotes");
    assert_eq!(&records[0][7], r#"{"k":"v, w"}"#);
    let page = auditor
        .get(app.url("/audit?action=test.rare"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("data-testid=\"audit-row\"").count(), 50);
    assert!(page.contains("data-testid=\"audit-older\""));
}

/// The admin names the organisation, gives its business ID, the language new notices start
/// in and whether unacknowledged verifiable notices are re-served by themselves.
async fn an_admin_keeps_the_organisations_details(backend: TestBackend) {
    use app::auth::Role;
    let app = spawn_app(backend).await;
    app.login_as_admin().await;
    let form = |name: &'static str, business_id: &'static str, language: &'static str| {
        vec![
            ("name", name),
            ("business_id", business_id),
            ("language", language),
            ("auto_reserve", "on"),
        ]
    };
    let saved = post_as(
        &app,
        &app.client,
        "/admin/organisation",
        &form("Esimerkkikunta", "1234567-1", "sv"),
    )
    .await;
    assert_eq!(location(&saved), "/admin");
    let details: serde_json::Value = app
        .call("organisation_settings", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(details["name"], "Esimerkkikunta");
    assert_eq!(details["business_id"], "1234567-1");
    assert_eq!(details["default_language"], "sv");
    assert_eq!(details["auto_reserve"], true);
    let settings = tiedoksi::store::delivery_settings(app.store.as_ref(), app.organisation.id)
        .await
        .unwrap();
    assert!(settings.auto_reserve_unacknowledged);
    assert!(
        settings.return_address.is_some(),
        "the rest of the settings kept"
    );

    // A new draft starts in the organisation's language.
    let created = post_as(&app, &app.client, "/compose/new", &[]).await;
    let draft = location(&created)
        .trim_start_matches("/compose/")
        .to_string();
    let opened: serde_json::Value = app
        .call("open_draft", &[("id", &draft)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(opened["draft"]["language"], "sv");

    let bad = post_as(
        &app,
        &app.client,
        "/admin/organisation",
        &form("X", "1234567-2", "fi"),
    )
    .await;
    assert_eq!(location(&bad), "/admin?problem=business_id_invalid#problem");
    let empty = post_as(
        &app,
        &app.client,
        "/admin/organisation",
        &form(" ", "", "fi"),
    )
    .await;
    assert_eq!(location(&empty), "/admin?problem=name_invalid#problem");
    let other = app.store.create_organisation("Toinen").await.unwrap();
    app.store
        .set_business_id(other.id, "7654321-2")
        .await
        .unwrap();
    let taken = post_as(
        &app,
        &app.client,
        "/admin/organisation",
        &form("Esimerkkikunta", "7654321-2", "fi"),
    )
    .await;
    assert_eq!(location(&taken), "/admin?problem=business_id_taken#problem");
    let details: serde_json::Value = app
        .call("organisation_settings", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        details["business_id"], "1234567-1",
        "nothing changed by a refused form"
    );

    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "k@kunta.example",
        Role::Caseworker,
    )
    .await;
    let refused = post_as(
        &app,
        &caseworker,
        "/admin/organisation",
        &form("Kaapattu", "", "fi"),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(app
        .audit_actions()
        .await
        .contains(&"organisation.updated".to_string()));
}
