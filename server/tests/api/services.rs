//! Suomi.fi services in the database: an admin adds one (secrets sealed, never shown again),
//! tests its connection against the simulator, changes its password through Suomi.fi's
//! change-password call; a notice goes through the service chosen; a rotation that lost its
//! answer is completed by the next check; old passwords are rotated by themselves; a refused
//! password shows on the admin page and in `/readyz`.

use reqwest::Method;
use serde_json::{json, Value};
use tiedoksi::secrets::Column;
use tiedoksi::store::{SuomiFiServiceRow, Timestamp};
use uuid::Uuid;

use crate::accounts::{location, post_as, signed_in};
use crate::helpers::{new_client, TestApp, TestBackend};
use crate::notices::{
    delivery_ids, draft, queued, quiet_app, recipient, sim, sim_message, wait_sent, with_mailbox,
};
use crate::on_both_backends;

on_both_backends!(
    an_admin_adds_a_service_tests_it_and_changes_its_password,
    a_notice_goes_through_the_service_chosen,
    a_rotation_that_lost_its_answer_is_completed_by_the_next_check,
    passwords_near_six_months_are_rotated_by_themselves_and_warned_about,
    only_the_organisations_admins_manage_its_services,
    the_mail_bridge_is_configured_on_the_same_screen,
    a_letterhead_logo_is_checked_kept_and_removed,
);

const SECOND_PASSWORD: &str = "toisen-palvelun-salasana-1";

/// A second system account at the simulator, and the form that adds it as a service.
async fn second_account(app: &TestApp, username: &str, service_id: &str) {
    sim(
        app,
        Method::POST,
        "/__sim/accounts",
        Some(json!({ "username": username, "password": SECOND_PASSWORD, "serviceIds": [service_id] })),
    )
    .await;
}

async fn sim_password(app: &TestApp, username: &str) -> String {
    let accounts = sim(app, Method::GET, "/__sim/accounts", None).await;
    accounts[username]["password"]
        .as_str()
        .expect("the account exists")
        .to_string()
}

async fn add_service(app: &TestApp, service_id: &str, username: &str) -> SuomiFiServiceRow {
    let added = post_as(
        app,
        &app.client,
        "/admin/services",
        &[
            ("name", "Sosiaalipalvelut"),
            ("service_id", service_id),
            ("username", username),
            ("password", SECOND_PASSWORD),
            ("posti_username", "posti-sote"),
            ("posti_password", "posti-salasana-sote"),
            ("posti_email", "tulostus@kunta.example"),
            ("cost_pool", "SOTE"),
        ],
    )
    .await;
    assert_eq!(location(&added), "/admin/services");
    app.store
        .service_by_service_id(service_id)
        .await
        .unwrap()
        .expect("the service was saved")
}

async fn an_admin_adds_a_service_tests_it_and_changes_its_password(backend: TestBackend) {
    let app = quiet_app(backend).await;
    second_account(&app, "sote-user", "sote-service").await;
    let service = add_service(&app, "sote-service", "sote-user").await;

    // Sealed, opened only with the data key; the page never shows it.
    assert!(!String::from_utf8_lossy(&service.password_sealed).contains(SECOND_PASSWORD));
    assert_eq!(
        app.data_key
            .open(Column::Credential, &service.password_sealed)
            .unwrap(),
        SECOND_PASSWORD
    );
    assert!(
        !service.is_default,
        "the configured service stays the default"
    );
    let page = app.get("/admin/services").await.text().await.unwrap();
    assert!(page.contains("Sosiaalipalvelut") && page.contains("sote-service"));
    assert!(!page.contains(SECOND_PASSWORD) && !page.contains("posti-salasana-sote"));

    // The same service id again is refused with a clear problem.
    let again = post_as(
        &app,
        &app.client,
        "/admin/services",
        &[
            ("name", "Kaksoiskappale"),
            ("service_id", "sote-service"),
            ("username", "x"),
            ("password", "y"),
        ],
    )
    .await;
    assert_eq!(
        location(&again),
        "/admin/services?problem=service_id_taken#problem"
    );

    // Test connection: a token request with the stored credentials.
    let tested = post_as(
        &app,
        &app.client,
        &format!("/admin/services/{}/test", service.id),
        &[],
    )
    .await;
    assert_eq!(location(&tested), "/admin/services");
    let checked = app
        .store
        .service(app.organisation.id, service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checked.last_check_ok, Some(true));

    // Change password now: Suomi.fi has the new one, and so do we.
    let rotated = post_as(
        &app,
        &app.client,
        &format!("/admin/services/{}/rotate", service.id),
        &[],
    )
    .await;
    assert_eq!(location(&rotated), "/admin/services");
    let after = app
        .store
        .service(app.organisation.id, service.id)
        .await
        .unwrap()
        .unwrap();
    let stored = app
        .data_key
        .open(Column::Credential, &after.password_sealed)
        .unwrap();
    assert_ne!(stored, SECOND_PASSWORD);
    assert!(stored.chars().count() >= 32);
    assert_eq!(sim_password(&app, "sote-user").await, stored);
    assert!(after.pending_password_sealed.is_none());
    assert!(after.password_changed_at > service.password_changed_at);
    // The other service's password is untouched.
    assert_eq!(sim_password(&app, "sim-user").await, "sim-password");

    // A password someone changed elsewhere: the check fails and says so, also in /readyz.
    let changed = post_as(
        &app,
        &app.client,
        &format!("/admin/services/{}", service.id),
        &[
            ("name", "Sosiaalipalvelut"),
            ("username", "sote-user"),
            ("password", "vanhentunut"),
        ],
    )
    .await;
    assert_eq!(location(&changed), "/admin/services");
    post_as(
        &app,
        &app.client,
        &format!("/admin/services/{}/test", service.id),
        &[],
    )
    .await;
    let page = app.get("/admin/services").await.text().await.unwrap();
    assert!(page.contains("Invalid username or password"), "{page}");
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["suomifi_failing"], 1);
    assert_eq!(ready["suomifi_services"], 2);

    let actions = app.audit_actions().await;
    for action in [
        "suomifi_service.created",
        "suomifi_service.tested",
        "suomifi_service.password_rotated",
        "suomifi_service.changed",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    let audited = app
        .store
        .audit_events(Some(app.organisation.id), 100)
        .await
        .unwrap();
    assert!(
        audited
            .iter()
            .all(|event| !event.details.contains(SECOND_PASSWORD)
                && !event.details.contains(&stored)),
        "no password in the audit log"
    );
}

async fn a_notice_goes_through_the_service_chosen(backend: TestBackend) {
    let app = quiet_app(backend).await;
    second_account(&app, "sote-user", "sote-service").await;
    let service = add_service(&app, "sote-service", "sote-user").await;

    let mut chosen = draft(
        "through-sote",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    chosen["service"] = json!(service.id);
    let id = delivery_ids(&queued(&app, &chosen).await)[0];
    let sent = wait_sent(&app, id).await;
    let notice = app
        .store
        .notice(app.organisation.id, sent.notice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notice.service_id, "sote-service");
    let message = sim_message(&app, id).await;
    assert_eq!(message["request"]["sender"]["serviceId"], "sote-service");

    // Without a choice: the organisation's default.
    let default = draft(
        "through-default",
        vec![recipient("Matti", Some(&with_mailbox()), "electronic_only")],
    );
    let id = delivery_ids(&queued(&app, &default).await)[0];
    wait_sent(&app, id).await;
    let message = sim_message(&app, id).await;
    assert_eq!(message["request"]["sender"]["serviceId"], "sim-service");

    // A service that is not the organisation's cannot be chosen: a problem to fix, and
    // nothing is queued.
    let mut foreign = draft(
        "foreign-service",
        vec![recipient("Liisa", Some(&with_mailbox()), "electronic_only")],
    );
    foreign["service"] = json!(Uuid::now_v7());
    let refused = crate::notices::send_notice(&app, &foreign).await;
    assert_ne!(refused.status(), 200);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains(r#"{"field":"service","problem":"choice_required"}"#),
        "{body}"
    );
}

async fn a_rotation_that_lost_its_answer_is_completed_by_the_next_check(backend: TestBackend) {
    let app = quiet_app(backend).await;
    second_account(&app, "sote-user", "sote-service").await;
    let service = add_service(&app, "sote-service", "sote-user").await;

    // A change that never reached Suomi.fi: the current password still works, so the check
    // drops the pending one and rotation is possible again.
    let never_sent = app
        .data_key
        .seal(Column::Credential, "Ei-koskaan-lähetetty-salasana-123!");
    assert!(app
        .store
        .begin_password_change(service.id, &service.password_sealed, &never_sent)
        .await
        .unwrap());
    assert!(app.services.test_connection(&service).await.unwrap().ok);
    let settled = app
        .store
        .service(app.organisation.id, service.id)
        .await
        .unwrap()
        .unwrap();
    assert!(settled.pending_password_sealed.is_none());

    // Suomi.fi unreachable when the rotation asks for a token: nothing is left pending.
    sim(
        &app,
        Method::POST,
        "/__sim/faults",
        Some(json!({ "outage_seconds": 30 })),
    )
    .await;
    assert!(app.services.rotate_password(&settled).await.is_err());
    sim(&app, Method::DELETE, "/__sim/faults", None).await;
    let after_outage = app
        .store
        .service(app.organisation.id, service.id)
        .await
        .unwrap()
        .unwrap();
    assert!(after_outage.pending_password_sealed.is_none());
    assert_eq!(after_outage.password_sealed, service.password_sealed);

    // A rotation kept its new password as pending and asked Suomi.fi, which changed it, but
    // the answer never came back (a crash, a timeout).
    let new_password = "Uusi-Salasana-joka-jäi-vahvistamatta-2026!";
    let pending = app.data_key.seal(Column::Credential, new_password);
    assert!(app
        .store
        .begin_password_change(service.id, &service.password_sealed, &pending)
        .await
        .unwrap());
    sim(
        &app,
        Method::POST,
        "/__sim/accounts",
        Some(json!({ "username": "sote-user", "password": new_password, "serviceIds": ["sote-service"] })),
    )
    .await;
    // A second rotation meanwhile is not started over the pending one.
    assert!(!app
        .store
        .begin_password_change(service.id, &service.password_sealed, b"another")
        .await
        .unwrap());

    let check = app.services.test_connection(&service).await.unwrap();
    assert!(check.ok, "{}", check.message);
    let after = app
        .store
        .service(app.organisation.id, service.id)
        .await
        .unwrap()
        .unwrap();
    assert!(after.pending_password_sealed.is_none());
    assert_eq!(
        app.data_key
            .open(Column::Credential, &after.password_sealed)
            .unwrap(),
        new_password
    );
}

async fn passwords_near_six_months_are_rotated_by_themselves_and_warned_about(
    backend: TestBackend,
) {
    let app = quiet_app(backend).await;
    second_account(&app, "vanha-user", "vanha-service").await;
    let now = Timestamp::now();
    let old = SuomiFiServiceRow {
        id: Uuid::now_v7(),
        organisation_id: app.organisation.id,
        name: "Vanha palvelu".into(),
        service_id: "vanha-service".into(),
        username: "vanha-user".into(),
        password_sealed: app.data_key.seal(Column::Credential, SECOND_PASSWORD),
        pending_password_sealed: None,
        password_changed_at: now - time::Duration::days(170),
        posti_username: String::new(),
        posti_password_sealed: None,
        posti_email: String::new(),
        cost_pool: None,
        is_default: false,
        last_check_at: None,
        last_check_ok: None,
        last_check_message: None,
        created_at: now,
        updated_at: now,
    };
    app.store.create_service(&old).await.unwrap();

    // 170 days old: 12 days left of DVV's six months, so the page warns.
    let page = app.get("/admin/services").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"password-warning\""), "{page}");

    // The hourly round rotates it, and only it (the configured one is new).
    assert_eq!(app.services.rotate_due().await.unwrap(), 1);
    let after = app
        .store
        .service(app.organisation.id, old.id)
        .await
        .unwrap()
        .unwrap();
    let stored = app
        .data_key
        .open(Column::Credential, &after.password_sealed)
        .unwrap();
    assert_eq!(sim_password(&app, "vanha-user").await, stored);
    assert_ne!(stored, SECOND_PASSWORD);
    assert_eq!(sim_password(&app, "sim-user").await, "sim-password");
    let page = app.get("/admin/services").await.text().await.unwrap();
    assert!(!page.contains("data-testid=\"password-warning\""));
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "suomifi_service.password_rotated"));
    assert_eq!(app.services.rotate_due().await.unwrap(), 0);
}

async fn only_the_organisations_admins_manage_its_services(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let service = app
        .store
        .service_by_service_id("sim-service")
        .await
        .unwrap()
        .expect("the configured service is saved at start");
    assert!(service.is_default);
    let form = [
        ("name", "X"),
        ("service_id", "x-service"),
        ("username", "x"),
        ("password", "y"),
    ];

    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "kasittelija@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let auditor = signed_in(
        &app,
        app.organisation.id,
        "tarkastaja@kunta.example",
        app::auth::Role::Auditor,
    )
    .await;
    for client in [&caseworker, &auditor] {
        assert_eq!(
            post_as(&app, client, "/admin/services", &form)
                .await
                .status(),
            403
        );
        assert_eq!(
            post_as(
                &app,
                client,
                &format!("/admin/services/{}/rotate", service.id),
                &[]
            )
            .await
            .status(),
            403
        );
        let listed = client
            .post(app.url("/api/suomifi_services"))
            .header(reqwest::header::ORIGIN, app.origin())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 403);
    }
    let anonymous = post_as(&app, &new_client(), "/admin/services", &form).await;
    assert_eq!(anonymous.status(), 401);

    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    let stranger = signed_in(
        &app,
        other.id,
        "admin@toinen.example",
        app::auth::Role::Admin,
    )
    .await;
    for path in ["test", "rotate"] {
        let foreign = post_as(
            &app,
            &stranger,
            &format!("/admin/services/{}/{path}", service.id),
            &[],
        )
        .await;
        assert_eq!(foreign.status(), 404);
    }
    let foreign = post_as(
        &app,
        &stranger,
        &format!("/admin/services/{}", service.id),
        &[("name", "Kaapattu"), ("username", "x")],
    )
    .await;
    assert_eq!(foreign.status(), 404);
    assert!(app
        .store
        .service_by_service_id("x-service")
        .await
        .unwrap()
        .is_none());
    // The other organisation has no service: its notices cannot be composed, clearly.
    let refused = stranger
        .post(app.url("/api/check_notice"))
        .header(reqwest::header::ORIGIN, app.origin())
        .header(reqwest::header::ACCEPT, "application/json")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(
            json!({ "draft": draft("x", vec![recipient("A", Some(&with_mailbox()), "electronic_only")]) })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let body = refused.text().await.unwrap();
    assert!(
        body.contains(r#"{"field":"service","problem":"no_suomi_fi_service"}"#),
        "{body}"
    );
}

async fn the_mail_bridge_is_configured_on_the_same_screen(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { location(&post_as(app, &app.client, path, &form).await) }
    };
    let fine = "/admin/services#mail-bridge";
    assert_eq!(
        post(
            "/admin/mail/domains",
            vec![("value", "Kunta.Example"), ("action", "add")]
        )
        .await,
        fine
    );
    assert_eq!(
        post(
            "/admin/mail/networks",
            vec![("value", "10.1.2.3/16"), ("action", "add")]
        )
        .await,
        fine
    );
    assert_eq!(
        post(
            "/admin/mail/domains",
            vec![("value", "ei verkkotunnus"), ("action", "add")]
        )
        .await,
        "/admin/services?problem=domain_invalid#problem"
    );
    assert_eq!(
        post(
            "/admin/mail/networks",
            vec![("value", "10.0.0.0/99"), ("action", "add")]
        )
        .await,
        "/admin/services?problem=network_invalid#problem"
    );
    assert_eq!(
        post(
            "/admin/mail/networks",
            vec![("value", "0.0.0.0/0"), ("action", "add")]
        )
        .await,
        "/admin/services?problem=network_too_wide#problem"
    );
    // Replies carry identity codes: only to the organisation's own domains.
    let settings = |replies_to: &'static str| {
        vec![
            ("notice_type", "notification"),
            ("language", "sv"),
            ("draft_mode", "on"),
            ("acknowledgements", "on"),
            ("replies_to", replies_to),
        ]
    };
    assert_eq!(
        post("/admin/mail/settings", settings("kirjaamo@muualla.example")).await,
        "/admin/services?problem=replies_to_invalid#problem"
    );
    assert_eq!(
        post("/admin/mail/settings", settings("kirjaamo@kunta.example")).await,
        fine
    );
    let organisation = app.organisation.id;
    assert!(app
        .store
        .sender_domains(organisation)
        .await
        .unwrap()
        .contains(&"kunta.example".to_string()));
    assert!(app
        .store
        .relay_networks(organisation)
        .await
        .unwrap()
        .contains(&"10.1.0.0/16".to_string()));
    let stored = app.store.mail_settings(organisation).await.unwrap();
    assert!(stored.draft_mode && stored.acknowledgements && !stored.verifiable);
    assert_eq!(stored.notice_type, "notification");
    assert_eq!(stored.language, "sv");
    assert_eq!(stored.replies_to.as_deref(), Some("kirjaamo@kunta.example"));
    let page = app.get("/admin/services").await.text().await.unwrap();
    assert!(page.contains("kunta.example") && page.contains("10.1.0.0/16"));

    assert_eq!(
        post(
            "/admin/mail/networks",
            vec![("value", "10.1.0.0/16"), ("action", "remove")]
        )
        .await,
        fine
    );
    assert!(!app
        .store
        .relay_networks(organisation)
        .await
        .unwrap()
        .contains(&"10.1.0.0/16".to_string()));
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "mail_bridge.changed"));

    let caseworker = signed_in(
        &app,
        organisation,
        "kasittelija@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let refused = post_as(
        &app,
        &caseworker,
        "/admin/mail/domains",
        &[("value", "toinen.example"), ("action", "add")],
    )
    .await;
    assert_eq!(refused.status(), 403);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![200; (width * height * 3) as usize])
            .unwrap();
    }
    bytes
}

async fn upload_logo(app: &TestApp, form: reqwest::multipart::Form) -> String {
    let response = app
        .client
        .post(app.url("/admin/organisation/logo"))
        .header(reqwest::header::ORIGIN, app.origin())
        .multipart(form)
        .send()
        .await
        .unwrap();
    location(&response)
}

fn logo_part(bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "logo",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("logo.png")
            .mime_str("image/png")
            .unwrap(),
    )
}

async fn a_letterhead_logo_is_checked_kept_and_removed(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let settings = || async {
        tiedoksi::store::delivery_settings(app.store.as_ref(), app.organisation.id)
            .await
            .unwrap()
    };
    assert_eq!(
        upload_logo(&app, logo_part(b"<svg onload=alert(1)/>".to_vec())).await,
        "/admin?problem=logo_not_png#problem"
    );
    assert_eq!(
        upload_logo(&app, logo_part(png(4100, 1))).await,
        "/admin?problem=logo_too_many_pixels#problem"
    );
    assert_eq!(settings().await.logo_sha256, None);

    // An SVG is taken too (drawn as vectors).
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="90" height="30"><rect width="90" height="30" fill="#036"/></svg>"##;
    assert_eq!(
        upload_logo(&app, logo_part(svg.to_vec())).await,
        "/admin#organisation-heading"
    );
    assert!(settings().await.logo_sha256.is_some());

    let logo = png(300, 100);
    assert_eq!(
        upload_logo(&app, logo_part(logo.clone())).await,
        "/admin#organisation-heading"
    );
    let kept = settings().await.logo_sha256.expect("the logo is kept");
    let blobs = tiedoksi::blobs::FilesystemBlobStore::new(app.blob_dir.path());
    use tiedoksi::blobs::BlobStore;
    let stored = blobs
        .get(&tiedoksi::blobs::Sha256Hex::parse(&kept).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, logo);
    let page = app.get("/admin").await.text().await.unwrap();
    assert!(page.contains("Logo on käytössä"), "{page}");

    // A caseworker may not change it.
    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "k@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let refused = caseworker
        .post(app.url("/admin/organisation/logo"))
        .header(reqwest::header::ORIGIN, app.origin())
        .multipart(reqwest::multipart::Form::new().text("remove", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(settings().await.logo_sha256.is_some());

    assert_eq!(
        upload_logo(&app, reqwest::multipart::Form::new().text("remove", "1")).await,
        "/admin#organisation-heading"
    );
    assert_eq!(settings().await.logo_sha256, None);
}
