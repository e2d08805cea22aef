//! Drafts as the compose pages post them, without wasm: a new draft, saving what was typed
//! (wrong too), "Continue" with problems kept for the page, an attachment with its described
//! name, the check, sending once however often it is pressed — and drafts kept sealed and
//! to their author.

use reqwest::header::{LOCATION, ORIGIN};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::TestBackend;
use crate::notices::{a4_pdf, hetu, paper_ready, settings, signed_in_client};
use crate::on_both_backends;

on_both_backends!(
    a_draft_is_saved_checked_and_sent_once,
    drafts_are_sealed_and_their_authors_own,
    the_mailbox_check_button_asks_now_and_answers_in_the_url,
);

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(crate) async fn post(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header(ORIGIN, app.origin())
        .form(fields)
        .send()
        .await
        .unwrap()
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "{:?}", response.headers());
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

async fn open(app: &crate::helpers::TestApp, id: &str) -> Value {
    app.call("open_draft", &[("id", id)])
        .await
        .json()
        .await
        .unwrap()
}

async fn a_draft_is_saved_checked_and_sent_once(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let created = post(&app, &app.client, "/compose/new", &[]).await;
    let page = location(&created);
    let id = page.trim_start_matches("/compose/").to_string();
    assert!(Uuid::parse_str(&id).is_ok(), "{page}");
    let code = hetu("150680", '-', 903);

    // Saved as typed, problems and all; "Continue" finds them and keeps them for the page.
    let typed = form(&[
        ("notice_type", "decision"),
        ("case_reference", "DNRO 5/2026"),
        ("title", "Päätös"),
        ("body", "Hyväksytty."),
        ("recipients[0].name", "Maija"),
        ("recipients[0].identity_code", &code),
        ("recipients[0].mode", "electronic_only"),
        ("action", "continue"),
    ]);
    let back = post(&app, &app.client, &format!("/compose/{id}/save"), &typed).await;
    assert_eq!(location(&back), format!("/compose/{id}#error-summary"));
    let view = open(&app, &id).await;
    let fields: Vec<&str> = view["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for expected in [
        "verifiable",
        "decision.decision_date",
        "appeal_instructions",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    assert_eq!(view["draft"]["title"], "Päätös", "what was typed is kept");
    assert_eq!(
        view["draft"]["recipients"][0]["identity_code"],
        Value::Null,
        "the code never comes back whole"
    );
    assert_eq!(view["saved_codes"][0], format!("{}****", &code[..7]));
    assert!(!view.to_string().contains(&code));

    // Fixed, with the code left empty (kept), and an attachment described by name.
    let mut fixed = typed.clone();
    fixed.retain(|(k, _)| k != "recipients[0].identity_code" && k != "action");
    fixed.extend(form(&[
        ("verifiable", "no"),
        ("decision.decision_date", "2026-11-27"),
        ("decision.decision_maker", "Johtaja"),
        ("decision.contact_person", "Liisa"),
        ("appeal_instructions", "Oikaisuvaatimus 30 päivässä."),
        ("action", "save"),
    ]));
    let saved = post(&app, &app.client, &format!("/compose/{id}/save"), &fixed).await;
    assert_eq!(location(&saved), format!("/compose/{id}?saved=1"));
    let part = reqwest::multipart::Part::bytes(a4_pdf("Perustelut"))
        .file_name("scan_0001.PDF")
        .mime_str("application/pdf")
        .unwrap();
    let upload = app
        .client
        .post(app.url(&format!("/compose/{id}/upload")))
        .header(ORIGIN, app.origin())
        .multipart(
            reqwest::multipart::Form::new()
                .text("attachment_name", "Päätöksen perustelut")
                .part("file", part),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(location(&upload), format!("/compose/{id}#attachments"));
    let view = open(&app, &id).await;
    assert_eq!(
        view["attachments"][0]["filename"], "Päätöksen perustelut.pdf",
        "the recipient sees the description"
    );
    assert!(view["preview_html"]
        .as_str()
        .unwrap()
        .contains("Päätöksen tekijä: Johtaja"));

    let mut go_on = fixed.clone();
    go_on.retain(|(k, _)| k != "action");
    go_on.push(("action".into(), "continue".into()));
    let checked = post(&app, &app.client, &format!("/compose/{id}/save"), &go_on).await;
    assert_eq!(location(&checked), format!("/compose/{id}/check"));
    let check: Value = app
        .call("check_draft", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    let planned = &check["outcome"]["Ok"]["deliveries"][0];
    assert_eq!(planned["mode"], "electronic_only");
    assert_eq!(planned["age"], 46);
    assert!(planned["options"].as_array().unwrap().len() == 4);

    // Pressed twice: one notice, and the draft is done.
    let send = format!("/compose/{id}/send");
    let (first, second) = tokio::join!(
        post(&app, &app.client, &send, &[]),
        post(&app, &app.client, &send, &[]),
    );
    let (first, second) = (location(&first), location(&second));
    assert!(first.starts_with("/notices/"), "{first}");
    assert_eq!(first, second);
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let drafts: Value = app.call("list_drafts", &[]).await.json().await.unwrap();
    assert_eq!(
        drafts,
        serde_json::json!([]),
        "a sent draft leaves the list"
    );
    let again = post(&app, &app.client, &format!("/compose/{id}/save"), &fixed).await;
    assert_eq!(location(&again), first, "a sent draft is not edited");
}

async fn drafts_are_sealed_and_their_authors_own(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    app.store
        .set_delivery_settings(app.organisation.id, &settings(false).to_string())
        .await
        .unwrap();
    let id = location(&post(&app, &app.client, "/compose/new", &[]).await)
        .trim_start_matches("/compose/")
        .to_string();
    let code = hetu("010594", 'Y', 903);
    let typed = form(&[
        ("recipients[0].name", "Maija"),
        ("recipients[0].identity_code", &code),
        ("recipients[0].address.street_address", "Salainen katu 9"),
        ("action", "save"),
    ]);
    post(&app, &app.client, &format!("/compose/{id}/save"), &typed).await;
    let row = app
        .store
        .sealed_drafts(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|(draft, _)| draft.to_string() == id)
        .unwrap();
    let raw = String::from_utf8_lossy(&row.1);
    assert!(
        !raw.contains(&code[7..]) && !raw.contains("Salainen"),
        "sealed"
    );

    // A colleague finds nothing of it: not the page, not the form.
    app.create_user(
        "colleague@example.fi",
        "colleague-password-1",
        app::auth::Role::Caseworker,
    )
    .await;
    let colleague = signed_in_client(&app, "colleague@example.fi", "colleague-password-1").await;
    let theirs = colleague
        .post(app.url("/api/open_draft"))
        .header(ORIGIN, app.origin())
        .header("accept", "application/json")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404);
    let overwrite = post(&app, &colleague, &format!("/compose/{id}/save"), &typed).await;
    assert_eq!(overwrite.status(), 404);

    let deleted = post(&app, &app.client, &format!("/compose/{id}/delete"), &[]).await;
    assert_eq!(location(&deleted), "/compose");
    let gone = app.call("open_draft", &[("id", &id)]).await;
    assert_eq!(gone.status(), 404);
}

async fn the_mailbox_check_button_asks_now_and_answers_in_the_url(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let page = location(&post(&app, &app.client, "/compose/new", &[]).await);
    let id = page.trim_start_matches("/compose/").to_string();
    let active = hetu("150680", '-', 903);
    let check = |code: String| {
        form(&[
            ("recipients[0].name", "Maija"),
            ("recipients[0].identity_code", &code),
            ("action", "check_mailbox:0"),
        ])
    };
    let answered = location(
        &post(
            &app,
            &app.client,
            &format!("/compose/{id}/save"),
            &check(active.clone()),
        )
        .await,
    );
    assert!(
        answered.starts_with(&format!("/compose/{id}?mailbox=0:active&at=")),
        "{answered}"
    );
    assert!(answered.ends_with("#recipients-0"));
    assert!(
        !answered.contains(&active[..6]),
        "no code in the URL: {answered}"
    );
    let html = app.get(&answered).await.text().await.unwrap();
    assert!(html.contains("data-testid=\"mailbox-answer-0\""), "{html}");
    // Asked of Suomi.fi and on record; the code kept in the draft.
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "mailbox.checked"));
    let view = open(&app, &id).await;
    assert_eq!(view["saved_codes"][0], format!("{}****", &active[..7]));

    let inactive = location(
        &post(
            &app,
            &app.client,
            &format!("/compose/{id}/save"),
            &check(hetu("150680", '-', 904)),
        )
        .await,
    );
    assert!(inactive.contains("mailbox=0:inactive"), "{inactive}");
    let wrong = location(
        &post(
            &app,
            &app.client,
            &format!("/compose/{id}/save"),
            &check("150680-0000".into()),
        )
        .await,
    );
    assert!(wrong.contains("mailbox=0:invalid"), "{wrong}");
}
