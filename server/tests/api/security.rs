//! Security hardening: what a request may cost, mailbox checks, parallel sign-in, sessions,
//! headers, routes without a session, turvakielto notices, file names and downloads.

use std::time::{Duration, Instant};

use app::auth::Role;
use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, ORIGIN,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    spawn_app, spawn_app_with, TestApp, TestBackend, ADMIN_EMAIL, ADMIN_PASSWORD,
};
use crate::notices::{
    a4_pdf, delivery_ids, draft, paper_ready, paper_ready_with, problems, queued, recipient,
    send_notice, signed_in_client, sim, upload, wait_sent, with_mailbox, without_mailbox,
};
use crate::on_both_backends;

on_both_backends!(
    oversized_requests_are_refused_before_anything_is_loaded_or_asked,
    mailbox_checks_are_audited_and_limited_per_user,
    a_burst_of_wrong_passwords_checks_no_more_than_the_limits_allow,
    sessions_end_at_their_absolute_lifetime,
    every_route_without_a_session_is_refused_cleanly,
    a_protected_recipients_notice_shows_its_content_only_to_its_author_and_admins,
);

async fn refused_with(response: reqwest::Response) -> Vec<(String, Value)> {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    problems(&body)
}

async fn sim_requests(app: &TestApp, endpoint: &str) -> u64 {
    sim(app, reqwest::Method::GET, "/__sim/counters", None).await["requests"][endpoint]
        .as_u64()
        .unwrap_or(0)
}

async fn oversized_requests_are_refused_before_anything_is_loaded_or_asked(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let many: Vec<Value> = (0..101)
        .map(|_| recipient("Maija", Some(&with_mailbox()), "electronic_only"))
        .collect();
    assert_eq!(
        refused_with(send_notice(&app, &draft("big-1", many)).await).await,
        [(
            "recipients".to_string(),
            json!({ "too_many": { "max": 100 } })
        )]
    );
    assert_eq!(
        sim_requests(&app, "POST /v1/mailboxes/active").await,
        0,
        "Suomi.fi was not asked"
    );

    let mut unknown = draft(
        "big-2",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    unknown["attachments"] = json!((0..51).map(|_| Uuid::now_v7()).collect::<Vec<_>>());
    assert_eq!(
        refused_with(send_notice(&app, &unknown).await).await,
        [(
            "attachments".to_string(),
            json!({ "too_many": { "max": 50 } })
        )],
        "counted before any is looked up"
    );
    let preview = app
        .client
        .post(app.url("/api/letter_preview"))
        .header(ORIGIN, app.origin())
        .json(&json!({ "draft": unknown }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused_with(preview).await,
        [(
            "attachments".to_string(),
            json!({ "too_many": { "max": 50 } })
        )],
        "the preview has the same limits"
    );

    // Two files said to be PDFs, 1.6 MB each: over the print ceiling by their stored sizes,
    // refused before either is read.
    let mut ids = Vec::new();
    for name in ["a.pdf", "b.pdf"] {
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.resize(1_600_000, b' ');
        let response = upload(&app, &app.client, name, "application/pdf", bytes).await;
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    let mut heavy = draft(
        "big-3",
        vec![recipient("Matti", Some(&without_mailbox()), "multichannel")],
    );
    heavy["attachments"] = json!(ids);
    assert_eq!(
        refused_with(send_notice(&app, &heavy).await).await,
        [("attachments".to_string(), json!("letter_too_large"))]
    );

    // The same upload twice is one attachment.
    let pdf = upload(
        &app,
        &app.client,
        "liite.pdf",
        "application/pdf",
        a4_pdf("Liite"),
    )
    .await;
    let id = pdf.json::<Value>().await.unwrap()["id"].clone();
    let mut twice = draft(
        "big-4",
        vec![recipient("Matti", Some(&without_mailbox()), "multichannel")],
    );
    twice["attachments"] = json!([id, id, id]);
    let notice: Uuid =
        serde_json::from_value(queued(&app, &twice).await["notice_id"].clone()).unwrap();
    assert_eq!(app.store.notice_attachments(notice).await.unwrap().len(), 1);
}

/// A 10 MiB PDF that inflates to 10 GiB, in a content stream and in the cross-reference
/// stream, attached to an electronic notice (which takes any PDF): the letter rendered for
/// the record opens it in a worker, which runs out of memory or time; the notice is queued
/// without a letter, and the server answers throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pdf_bombs_end_in_their_worker_not_the_server() {
    let app = spawn_app_with(TestBackend::Sqlite, |config| {
        config.pdf.timeout = Duration::from_secs(20);
        config.worker.events_interval = Duration::from_secs(3600);
    })
    .await;
    app.login_as_admin().await;
    for fixture in ["bomb-content-stream.pdf", "bomb-xref-stream.pdf"] {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(fixture),
        )
        .unwrap();
        let uploaded = upload(&app, &app.client, fixture, "application/pdf", bytes).await;
        assert_eq!(uploaded.status(), 201, "{fixture}");
        let id = uploaded.json::<Value>().await.unwrap()["id"].clone();
        let mut notice = draft(
            &format!("bomb-{fixture}"),
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        );
        notice["attachments"] = json!([id]);
        let started = Instant::now();
        let queued = queued(&app, &notice).await;
        assert!(started.elapsed() < Duration::from_secs(40), "{fixture}");
        let notice_id: Uuid = serde_json::from_value(queued["notice_id"].clone()).unwrap();
        let kept = app
            .store
            .notice(app.organisation.id, notice_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            kept.paper_letter_sha256, None,
            "{fixture}: no letter from it"
        );
        assert_eq!(app.get("/healthz").await.status(), 200, "the server is up");
    }
}

/// The same bombs with the print ceiling out of the way, so the worker must open them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pdf_bombs_inside_the_size_limit_are_bounded_by_the_worker() {
    let app = paper_ready_with(TestBackend::Sqlite, false, |config| {
        config.pdf.memory_mb = 512;
        config.pdf.timeout = Duration::from_secs(20);
    })
    .await;
    for fixture in ["bomb-content-stream.pdf", "bomb-xref-stream.pdf"] {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(fixture),
        )
        .unwrap();
        let worker =
            tiedoksi::pdf_worker::PdfWorker::new(tiedoksi::pdf_worker::PdfWorkerSettings {
                program: env!("CARGO_BIN_EXE_tiedoksi").into(),
                memory_bytes: 512 * 1024 * 1024,
                timeout: Duration::from_secs(20),
                concurrency: 1,
            });
        let started = Instant::now();
        let letter = tiedoksi::pdf::Letter {
            organisation_name: "Esimerkkikunta".into(),
            sender_lines: vec![],
            language: tiedoksi::pdf::LetterLanguage::Fi,
            date: time::macros::date!(2026 - 11 - 27),
            case_reference: "1".into(),
            title: "Pommi".into(),
            body: "Liitteenä.".into(),
            markdown: false,
            appeal_instructions: None,
            header: Default::default(),
            logo: None,
        };
        let limits = tiedoksi::suomifi::limits::Limits {
            max_paper_pdf_bytes: 50 * 1024 * 1024,
            max_upload_bytes: 50 * 1024 * 1024,
            ..Default::default()
        };
        let result = worker
            .render(
                &letter,
                &[tiedoksi::pdf::PdfAttachment {
                    filename: fixture.into(),
                    bytes,
                }],
                &limits,
            )
            .await;
        assert!(
            matches!(
                result,
                Err(tiedoksi::pdf_worker::RenderFailure::Letter(
                    tiedoksi::pdf::LetterError::Limits(_)
                ) | tiedoksi::pdf_worker::RenderFailure::NotPrintable(_))
            ),
            "{fixture} must not render: {result:?}"
        );
        // The same worker renders an ordinary attachment: the refusal above is the bomb's.
        let ordinary = worker
            .render(
                &letter,
                &[tiedoksi::pdf::PdfAttachment {
                    filename: "tavallinen.pdf".into(),
                    bytes: crate::notices::a4_pdf("Liite"),
                }],
                &limits,
            )
            .await;
        assert!(ordinary.is_ok(), "{ordinary:?}");
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{fixture}: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn mailbox_checks_are_audited_and_limited_per_user(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.mailbox_checks_per_minute = 2;
        config.worker.events_interval = Duration::from_secs(3600);
    })
    .await;
    app.login_as_admin().await;
    let code = |n: u32| crate::notices::hetu("150680", '-', 903 + 2 * n);
    let electronic = |key: &str, n: u32| {
        draft(
            key,
            vec![recipient("Maija", Some(&code(n)), "electronic_only")],
        )
    };
    // Checking a draft and then queuing it asks once: the answer is reused.
    let checked = app
        .client
        .post(app.url("/api/check_notice"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .json(&json!({ "draft": electronic("check-0", 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 200);
    queued(&app, &electronic("check-0", 0)).await;
    queued(&app, &electronic("check-1", 1)).await;
    let third = electronic("check-2", 2);
    assert_eq!(
        refused_with(send_notice(&app, &third).await).await,
        [(
            "recipients".to_string(),
            json!("mailbox_checks_rate_limited")
        )]
    );
    // Another user has their own allowance.
    app.create_user("k@example.fi", "caseworker-password-1", Role::Caseworker)
        .await;
    let colleague = signed_in_client(&app, "k@example.fi", "caseworker-password-1").await;
    let theirs = crate::notices::send_notice_as(&app, &colleague, &third).await;
    assert_eq!(theirs.status(), 200);
    // More electronic-only recipients than the allowance is a problem of the draft itself.
    let many = draft(
        "check-many",
        (0..3)
            .map(|n| recipient("Maija", Some(&code(10 + n)), "electronic_only"))
            .collect(),
    );
    assert_eq!(
        refused_with(send_notice(&app, &many).await).await,
        [(
            "recipients".to_string(),
            json!({ "too_many_mailbox_checks": { "max": 2 } })
        )]
    );

    let checks: Vec<Value> = app
        .store
        .audit_events(Some(app.organisation.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.action == "mailbox.checked")
        .map(|event| serde_json::from_str(&event.details).unwrap())
        .collect();
    assert_eq!(
        checks.len(),
        3,
        "every question to Suomi.fi on record, once"
    );
    assert_eq!(checks[0]["count"], 1);
    assert_eq!(checks[0]["lookup_hashes"].as_array().unwrap().len(), 1);
    assert!(
        !serde_json::to_string(&checks)
            .unwrap()
            .contains(&code(0)[7..]),
        "no codes in the audit log"
    );
}

async fn parallel_logins(
    app: &TestApp,
    attempts: usize,
    email: impl Fn(usize) -> String,
) -> Vec<reqwest::Response> {
    let mut tasks = Vec::new();
    for n in 0..attempts {
        let url = app.url("/api/login");
        let origin = app.origin();
        let email = email(n);
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header(ORIGIN, origin)
                .header(ACCEPT, "application/json")
                .form(&[("email", email.as_str()), ("password", "wrong password")])
                .send()
                .await
                .unwrap()
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    responses
}

async fn a_burst_of_wrong_passwords_checks_no_more_than_the_limits_allow(backend: TestBackend) {
    // One account: the lock (5 failures) stops the checks, however many arrive at once.
    let app = spawn_app_with(backend, |config| {
        config.login.max_failures_per_ip = 1000;
    })
    .await;
    let before = (app.passwords_checked)();
    let responses = parallel_logins(&app, 50, |_| ADMIN_EMAIL.to_string()).await;
    assert!(responses
        .iter()
        .all(|r| r.status() == 401 || r.status() == 503));
    let checked = (app.passwords_checked)() - before;
    assert!(
        checked <= 5,
        "{checked} passwords checked for a lock after 5"
    );
    assert!(checked >= 1);

    // One address: its limit (20 failures) stops the checks across accounts.
    let app = spawn_app(backend).await;
    let before = (app.passwords_checked)();
    parallel_logins(&app, 50, |n| format!("nobody{n}@example.fi")).await;
    let checked = (app.passwords_checked)() - before;
    assert!(
        checked <= 20,
        "{checked} passwords checked for an address limit of 20"
    );

    // When every password check is busy, a sign-in is told to come back.
    let app = spawn_app_with(backend, |config| {
        config.login.concurrent_checks = 1;
        config.login.check_wait = Duration::ZERO;
        config.login.max_failures_per_ip = 1000;
    })
    .await;
    let responses = parallel_logins(&app, 30, |n| format!("nobody{n}@example.fi")).await;
    let busy: Vec<_> = responses.iter().filter(|r| r.status() == 503).collect();
    assert!(!busy.is_empty(), "some found every check busy");
    assert_eq!(busy[0].headers()["retry-after"], "2");
}

async fn sessions_end_at_their_absolute_lifetime(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.session_absolute_lifetime = Duration::from_secs(2);
    })
    .await;
    app.login_as_admin().await;
    assert_eq!(app.get("/").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        app.get("/").await.status(),
        303,
        "signed out however active"
    );
    let again = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(again.status(), 200);
    assert_eq!(app.get("/").await.status(), 200);
}

/// Every route the application has, as something without a session would try it.
async fn every_route_without_a_session_is_refused_cleanly(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let id = Uuid::now_v7();
    for page in [
        "/".to_string(),
        "/compose".to_string(),
        "/admin".to_string(),
        format!("/notices/{id}/letter.pdf"),
        format!("/notices/{id}/attachments/0"),
        format!("/notices/{id}/deliveries/{id}/proof.pdf"),
        "/attention".to_string(),
        "/inbox".to_string(),
        format!("/inbox/{id}"),
        format!("/inbox/{id}/attachments/0"),
        format!("/compose/{id}"),
        format!("/compose/{id}/check"),
        format!("/compose/{id}/letter.pdf"),
    ] {
        let response = app.get(&page).await;
        assert_eq!(response.status(), 303, "GET {page}");
    }
    for form in [
        "/search".to_string(),
        "/compose/new".to_string(),
        format!("/compose/{id}/save"),
        format!("/compose/{id}/send"),
        format!("/compose/{id}/delete"),
        format!("/notices/{id}/actions"),
    ] {
        let response = app
            .client
            .post(app.url(&form))
            .header(ORIGIN, app.origin())
            .form(&[("action", "save")])
            .send()
            .await
            .unwrap();
        assert!(
            matches!(response.status().as_u16(), 303 | 401),
            "POST {form}: {}",
            response.status()
        );
    }
    let protected = [
        "uploads",
        "letter_preview",
        "send_notice",
        "check_notice",
        "list_notices",
        "open_notice",
        "reserve_on_paper",
        "retry_delivery",
        "record_forwarding",
        "record_service",
        "change_to_multichannel",
        "organisation_users",
        "find_notices",
        "needs_attention",
        "delivery_statuses",
        "list_replies",
        "open_reply",
        "unread_replies",
        "list_drafts",
        "open_draft",
        "check_draft",
    ];
    for function in protected {
        let response = app
            .client
            .post(app.url(&format!("/api/{function}")))
            .header(ORIGIN, app.origin())
            .header(ACCEPT, "application/json")
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 401, "POST /api/{function}: {body}");
        assert_eq!(
            serde_json::from_str::<app::error::AppError>(&body).ok(),
            Some(app::error::AppError::Unauthenticated),
            "POST /api/{function}: {body}"
        );
    }
    // The public ones answer without a 5xx either.
    for function in ["login", "logout", "current_user"] {
        let response = app.call(function, &[]).await;
        assert!(
            response.status().as_u16() < 500,
            "{function}: {}",
            response.status()
        );
    }
}

async fn a_protected_recipients_notice_shows_its_content_only_to_its_author_and_admins(
    backend: TestBackend,
) {
    let app = paper_ready(backend, false).await;
    let pdf = upload(
        &app,
        &app.client,
        "liite.pdf",
        "application/pdf",
        a4_pdf("Liite"),
    )
    .await;
    let mut protected = recipient("Suojattu Henkilö", Some(&without_mailbox()), "multichannel");
    protected["address_protected"] = json!(true);
    let mut notice = draft("protected-view", vec![protected]);
    notice["attachments"] = json!([pdf.json::<Value>().await.unwrap()["id"]]);
    let queued = queued(&app, &notice).await;
    wait_sent(&app, delivery_ids(&queued)[0]).await;
    let notice_id = queued["notice_id"].as_str().unwrap();

    let open = |client: reqwest::Client| {
        let url = app.url("/api/open_notice");
        let origin = app.origin();
        async move {
            let response = client
                .post(url)
                .header(ORIGIN, origin)
                .header(ACCEPT, "application/json")
                .form(&[("id", notice_id)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let author = open(app.client.clone()).await;
    assert_eq!(author["restricted"], false);
    assert!(author["body"].as_str().unwrap().contains("hyväksytty"));
    assert_eq!(author["attachments"][0]["filename"], "liite.pdf");

    app.create_user(
        "colleague@example.fi",
        "colleague-password-1",
        Role::Caseworker,
    )
    .await;
    let colleague = signed_in_client(&app, "colleague@example.fi", "colleague-password-1").await;
    let seen = open(colleague).await;
    assert_eq!(seen["restricted"], true);
    assert_eq!(seen["body"], Value::Null);
    assert_eq!(seen["electronic_body"], Value::Null);
    assert_eq!(seen["attachments"], json!([]));
    assert_eq!(seen["deliveries"][0]["documents"], json!([]));
    assert!(!seen.to_string().contains("liite.pdf"));
    assert_eq!(
        seen["deliveries"][0]["identity_masked"],
        format!("{}****", &without_mailbox()[..7])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn headers_carry_a_nonce_policy_and_forbid_caching() {
    let app = spawn_app(TestBackend::Sqlite).await;
    let login = app.get("/login").await;
    let policy = login.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce")
        .to_string();
    let html = login.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        html.matches("<script").count() - html.matches("<script></script>").count(),
        "every inline script carries this response's nonce: {html}"
    );
    let other = app.get("/login").await.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(other, policy, "a fresh nonce each response");

    app.login_as_admin().await;
    for response in [app.get("/").await, app.call("list_notices", &[]).await] {
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_names_and_types_are_checked_and_downloads_are_attachments() {
    let app = paper_ready(TestBackend::Sqlite, false).await;
    let mismatch = upload(
        &app,
        &app.client,
        "kuva.png",
        "application/pdf",
        a4_pdf("x"),
    )
    .await;
    assert_eq!(
        refused_with(mismatch).await,
        [("file".to_string(), json!("file_extension_mismatch"))]
    );
    let sneaky = upload(
        &app,
        &app.client,
        "lasku\u{202E}fdp.pdf",
        "application/pdf",
        a4_pdf("x"),
    )
    .await;
    assert_eq!(sneaky.status(), 201);
    let sneaky: Value = sneaky.json().await.unwrap();
    assert_eq!(sneaky["filename"], "laskufdp.pdf", "no bidi override");

    let mut notice = draft(
        "download-1",
        vec![recipient("Matti", Some(&without_mailbox()), "multichannel")],
    );
    notice["attachments"] = json!([sneaky["id"]]);
    let notice_id = queued(&app, &notice).await["notice_id"]
        .as_str()
        .unwrap()
        .to_string();
    let download = app
        .get(&format!("/notices/{notice_id}/attachments/0"))
        .await;
    assert_eq!(download.status(), 200);
    let disposition = download.headers()[CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment; "), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''laskufdp.pdf"),
        "{disposition}"
    );
    assert_eq!(download.headers()[CONTENT_SECURITY_POLICY], "sandbox");
}
