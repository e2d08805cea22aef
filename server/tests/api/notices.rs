//! Notices from compose to proof: the compose server function, uploads, every delivery mode
//! through the simulator, the final state of each simulated path, legal dates with their
//! history, the acknowledgement watch and its paper re-serve, and documents as evidence.

use std::time::{Duration, Instant};

use app::auth::Role;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN};
use serde_json::{json, Value};
use tiedoksi::config::Config;
use tiedoksi::delivery::events::EventsPoller;
use tiedoksi::delivery::legal::finnish_date;
use tiedoksi::delivery::watch::AcknowledgementWatch;
use tiedoksi::store::{Delivery, Timestamp};
use uuid::Uuid;

use crate::helpers::{new_client, spawn_app_with, TestApp, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    a_composed_notice_is_sent_once_and_its_proof_kept,
    a_document_sent_to_several_recipients_is_uploaded_once,
    a_letter_of_the_notices_own_text_is_made_when_first_needed,
    bad_input_is_refused_per_field_and_changes_nothing,
    a_repeated_submit_queues_nothing_twice,
    electronic_only_without_a_mailbox_is_refused_before_sending,
    an_ordinary_paper_letter_is_printed_and_its_dates_follow_the_channel,
    a_verifiable_letter_without_id_ends_with_the_posti_receipt,
    protected_addresses_and_forced_paper_never_print_the_address,
    an_unacknowledged_verifiable_notice_is_flagged_and_served_again_on_paper,
    a_caseworker_serves_a_flagged_notice_again_on_paper,
    the_list_and_the_detail_show_what_happened_and_reads_are_audited,
    a_delivery_that_needs_attention_is_sent_again_once_fixed,
    documents_are_checked_on_upload_and_hidden_from_other_organisations,
);

/// A valid personal identity code; in the simulator an odd individual number has an active
/// mailbox and an even one has none.
pub(crate) fn hetu(date: &str, sign: char, individual: u32) -> String {
    let number: u64 = format!("{date}{individual:03}").parse().unwrap();
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    format!("{date}{sign}{individual:03}{check}")
}

pub(crate) fn with_mailbox() -> String {
    hetu("150680", '-', 903)
}

pub(crate) fn without_mailbox() -> String {
    hetu("150680", '-', 904)
}

pub(crate) fn address(name: &str) -> Value {
    json!({
        "name": name,
        "street_address": "Mannerheimintie 1 A 2",
        "zip_code": "00100",
        "city": "Helsinki",
        "country_code": "FI",
    })
}

pub(crate) const FORWARDING_NAME: &str = "Kirjaamo / edelleenlähetys";

pub(crate) fn settings(auto_reserve: bool) -> Value {
    json!({
        "return_address": {
            "name": "Esimerkkikunta",
            "street_address": "PL 1",
            "zip_code": "00099",
            "city": "Esimerkkikunta",
            "country_code": "FI",
        },
        "forwarding_address": {
            "name": FORWARDING_NAME,
            "street_address": "PL 2",
            "zip_code": "00099",
            "city": "Esimerkkikunta",
            "country_code": "FI",
        },
        "letter_sender_lines": ["Sosiaalipalvelut, puh. 09 123 4567"],
        "auto_reserve_unacknowledged": auto_reserve,
    })
}

pub(crate) async fn paper_ready(backend: TestBackend, auto_reserve: bool) -> TestApp {
    paper_ready_with(backend, auto_reserve, |_| {}).await
}

/// A quiet app with the organisation's postal settings, its configuration `adjust`ed further.
pub(crate) async fn paper_ready_with(
    backend: TestBackend,
    auto_reserve: bool,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let app = quiet_app_with(backend, adjust).await;
    app.store
        .set_delivery_settings(app.organisation.id, &settings(auto_reserve).to_string())
        .await
        .unwrap();
    app
}

/// The background poller reads once at start and then sleeps: tests poll by hand.
pub(crate) async fn quiet_app(backend: TestBackend) -> TestApp {
    quiet_app_with(backend, |_| {}).await
}

async fn quiet_app_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = Duration::from_millis(20);
        config.worker.events_interval = Duration::from_secs(3600);
        adjust(config);
    })
    .await;
    app.login_as_admin().await;
    app
}

pub(crate) fn draft(key: &str, recipients: Vec<Value>) -> Value {
    json!({
        "idempotency_key": key,
        "notice_type": "decision",
        "case_reference": "DNRO 123/2026",
        "title": "Päätös toimeentulotuesta",
        "body": "Hakemuksenne on hyväksytty.\n\nPerustelut ovat liitteessä.",
        "language": "fi",
        "appeal_instructions": "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
        "verifiable": false,
        "decision": {
            "decision_date": "2026-11-27",
            "decision_maker": "Sosiaalijohtaja Maija Virtanen",
            "contact_person": "Liisa Käsittelijä",
            "contact_details": "puh. 09 123 4567",
        },
        "recipients": recipients,
    })
}

pub(crate) fn recipient(name: &str, code: Option<&str>, mode: &str) -> Value {
    json!({
        "role": "party",
        "name": name,
        "identity_code": code,
        "address": address(name),
        "mode": mode,
    })
}

pub(crate) async fn send_notice(app: &TestApp, draft: &Value) -> reqwest::Response {
    send_notice_as(app, &app.client, draft).await
}

pub(crate) async fn send_notice_as(
    app: &TestApp,
    client: &reqwest::Client,
    draft: &Value,
) -> reqwest::Response {
    client
        .post(app.url("/api/send_notice"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/json")
        .body(json!({ "draft": draft }).to_string())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn queued(app: &TestApp, draft: &Value) -> Value {
    let response = send_notice(app, draft).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) fn delivery_ids(queued: &Value) -> Vec<Uuid> {
    queued["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Uuid::parse_str(d["delivery_id"].as_str().unwrap()).unwrap())
        .collect()
}

pub(crate) async fn delivery(app: &TestApp, id: Uuid) -> Delivery {
    app.store.delivery(id).await.unwrap().unwrap()
}

pub(crate) async fn wait_until(
    app: &TestApp,
    id: Uuid,
    what: &str,
    done: impl Fn(&Delivery) -> bool,
) -> Delivery {
    let started = Instant::now();
    loop {
        let current = delivery(app, id).await;
        if done(&current) {
            return current;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waiting for {what}: {current:?}, history {:?}",
            app.store.delivery_history(id).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

pub(crate) async fn wait_sent(app: &TestApp, id: Uuid) -> Delivery {
    wait_until(app, id, "sent", |d| d.suomifi_message_id.is_some()).await
}

pub(crate) fn poller(app: &TestApp) -> EventsPoller {
    EventsPoller {
        store: app.store.clone(),
        suomifi: app.suomifi.clone(),
        receipt: Default::default(),
    }
}

pub(crate) async fn sim(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let url = format!("{}{path}", app.simulator_url.clone().unwrap());
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    response.json().await.unwrap_or(Value::Null)
}

pub(crate) async fn advance_sim_clock(app: &TestApp, seconds: i64) {
    sim(
        app,
        reqwest::Method::POST,
        "/__sim/clock/advance",
        Some(json!({ "seconds": seconds })),
    )
    .await;
}

pub(crate) async fn sim_message(app: &TestApp, external_id: Uuid) -> Value {
    let messages = sim(app, reqwest::Method::GET, "/__sim/messages", None).await;
    messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["external_id"] == external_id.to_string())
        .cloned()
        .unwrap_or_else(|| panic!("no simulator message for {external_id}"))
}

pub(crate) async fn history_kinds(app: &TestApp, id: Uuid) -> Vec<String> {
    app.store
        .delivery_history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.kind)
        .collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    tiedoksi::blobs::Sha256Hex::of(bytes).to_string()
}

/// A one-page A4 PDF made by the same library the letter uses.
pub(crate) fn a4_pdf(text: &str) -> Vec<u8> {
    use tiedoksi::pdf::{render, Letter, LetterLanguage};
    let letter = Letter {
        organisation_name: "Liite".into(),
        sender_lines: Vec::new(),
        language: LetterLanguage::Fi,
        date: time::macros::date!(2026 - 11 - 25),
        case_reference: "LIITE".into(),
        title: text.into(),
        body: text.into(),
        markdown: false,
        appeal_instructions: None,
        header: Default::default(),
        logo: None,
    };
    render(&letter, &[], &Default::default()).unwrap().bytes
}

pub(crate) async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    filename: &str,
    media_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_string())
        .mime_str(media_type)
        .unwrap();
    client
        .post(app.url("/api/uploads"))
        .header(ORIGIN, app.origin())
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

/// The letter a draft would get, as its preview renders it.
async fn letter_preview(app: &TestApp, draft: &Value) -> Vec<u8> {
    let preview = app
        .client
        .post(app.url("/api/letter_preview"))
        .header(ORIGIN, app.origin())
        .json(&json!({ "draft": draft }))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()[CONTENT_TYPE], "application/pdf");
    preview.bytes().await.unwrap().to_vec()
}

/// Queuing does not wait for a PDF nobody may read: a letter without PDF attachments is
/// frozen (its day, its letterhead) and rendered when first needed — the preview's bytes.
async fn a_letter_of_the_notices_own_text_is_made_when_first_needed(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let notice = draft(
        "own-text-1",
        vec![recipient(
            "Maija Meikäläinen",
            Some(&with_mailbox()),
            "electronic_only",
        )],
    );
    let preview = letter_preview(&app, &notice).await;
    let queued = queued(&app, &notice).await;
    let notice_id: Uuid = serde_json::from_value(queued["notice_id"].clone()).unwrap();
    wait_sent(&app, delivery_ids(&queued)[0]).await;
    let stored = |app: &TestApp| {
        let store = app.store.clone();
        let organisation = app.organisation.id;
        async move {
            store
                .notice(organisation, notice_id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let before = stored(&app).await;
    assert_eq!(
        before.paper_letter_sha256, None,
        "an electronic send needs no letter"
    );
    assert!(before.has_letter(), "but it has one to make");

    let page = app.get(&format!("/notices/{notice_id}")).await;
    assert!(page.text().await.unwrap().contains("letter.pdf"), "offered");
    let letter = app.get(&format!("/notices/{notice_id}/letter.pdf")).await;
    assert_eq!(letter.status(), 200);
    let letter = letter.bytes().await.unwrap();
    assert_eq!(
        sha256_hex(&letter),
        sha256_hex(&preview),
        "the preview is the letter"
    );
    let after = stored(&app).await;
    assert_eq!(after.paper_letter_sha256, Some(sha256_hex(&letter)), "kept");
    let again = app
        .get(&format!("/notices/{notice_id}/letter.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, letter);
    // Rendered again by another reader: the first hash stays.
    let kept = app.letters.ensure(&before).await.unwrap();
    assert_eq!(kept, after.paper_letter_sha256);
}

async fn sim_uploads(app: &TestApp) -> u64 {
    sim(app, reqwest::Method::GET, "/__sim/counters", None).await["attachments"]
        .as_u64()
        .unwrap()
}

fn attachment_ids(message: &Value, part: &str) -> Vec<Value> {
    message["request"][part]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attachment| attachment["attachmentId"].clone())
        .collect()
}

/// A notice's parties get the same attachment and the same letter: each is uploaded once and
/// its id carried by both messages. An upload Suomi.fi no longer holds (here: older than its
/// 24 hours) fails one attempt, and the next uploads afresh.
async fn a_document_sent_to_several_recipients_is_uploaded_once(backend: TestBackend) {
    let metrics = tiedoksi::metrics::handle();
    let app = paper_ready_with(backend, false, |config| {
        config.worker.retry_initial = Duration::from_millis(50);
    })
    .await;
    let attachment = a4_pdf("Perustelut");
    let uploaded: Value = upload(
        &app,
        &app.client,
        "perustelut.pdf",
        "application/pdf",
        attachment,
    )
    .await
    .json()
    .await
    .unwrap();
    let second_party = hetu("150680", '-', 905);
    let mut notice = draft(
        "shared-documents",
        vec![
            recipient("Maija Meikäläinen", Some(&with_mailbox()), "multichannel"),
            recipient("Matti Meikäläinen", Some(&second_party), "multichannel"),
        ],
    );
    notice["attachments"] = json!([uploaded["id"]]);
    let before = sim_uploads(&app).await;
    let ids = delivery_ids(&queued(&app, &notice).await);
    for id in &ids {
        wait_sent(&app, *id).await;
    }
    let (first, second) = (
        sim_message(&app, ids[0]).await,
        sim_message(&app, ids[1]).await,
    );
    assert_eq!(first["endpoint"], "/v2/messages");
    assert_eq!(
        attachment_ids(&first, "electronic"),
        attachment_ids(&second, "electronic")
    );
    assert_eq!(
        attachment_ids(&first, "paperMail"),
        attachment_ids(&second, "paperMail")
    );
    assert_eq!(
        sim_uploads(&app).await - before,
        2,
        "the attachment and the letter, once each"
    );
    assert!(metrics
        .render()
        .contains("tiedoksi_suomifi_uploads_reused_total"));
    // The proof holds each document as sent to each recipient.
    for id in &ids {
        let kinds: Vec<String> = app
            .store
            .delivery_documents(*id)
            .await
            .unwrap()
            .into_iter()
            .map(|document| document.kind)
            .collect();
        assert_eq!(kinds, ["attachment", "paper_letter"]);
    }

    advance_sim_clock(&app, 25 * 3600).await;
    notice["idempotency_key"] = json!("shared-documents-a-day-later");
    notice["recipients"] = json!([recipient(
        "Maija Meikäläinen",
        Some(&with_mailbox()),
        "electronic_only"
    )]);
    let later = delivery_ids(&queued(&app, &notice).await)[0];
    wait_sent(&app, later).await;
    let failed: Vec<String> = app
        .store
        .delivery_history(later)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.kind == "attempt_failed")
        .map(|entry| entry.details.to_string())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("not found"), "{failed:?}");
    assert!(failed[0].contains(r#""retryable":true"#), "{failed:?}");
    assert_ne!(
        attachment_ids(&sim_message(&app, later).await, "electronic"),
        attachment_ids(&first, "electronic"),
        "uploaded afresh"
    );
}

async fn a_composed_notice_is_sent_once_and_its_proof_kept(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let attachment = a4_pdf("Perustelut");
    let uploaded = upload(
        &app,
        &app.client,
        "perustelut.pdf",
        "application/pdf",
        attachment.clone(),
    )
    .await;
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["sha256"], sha256_hex(&attachment));

    let mut notice = draft(
        "compose-1",
        vec![recipient(
            "Maija Meikäläinen",
            Some(&with_mailbox()),
            "electronic_only",
        )],
    );
    notice["attachments"] = json!([uploaded["id"]]);
    let preview = letter_preview(&app, &notice).await;
    assert_eq!(counters_messages(&app).await, 0, "a preview sends nothing");
    let queued = queued(&app, &notice).await;
    assert_eq!(queued["already_queued"], false);
    assert_eq!(queued["deliveries"][0]["mode"], "electronic_only");
    assert_eq!(queued["deliveries"][0]["reasons"], json!(["as_requested"]));
    let id = delivery_ids(&queued)[0];

    let sent = wait_sent(&app, id).await;
    assert_eq!(
        sent.identity_masked,
        Some(format!("{}****", &with_mailbox()[..7])),
        "the birth date only"
    );
    let message = sim_message(&app, id).await;
    assert_eq!(message["endpoint"], "/v2/messages/electronic");
    assert_eq!(message["request"]["recipient"]["id"], with_mailbox());
    assert_eq!(
        message["request"]["electronic"]["attachments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The proof: the hash of what was sent, and the life of the delivery in order.
    let documents = app.store.delivery_documents(id).await.unwrap();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].kind, "attachment");
    assert_eq!(documents[0].sha256, sha256_hex(&attachment));
    let with_dates = wait_until(&app, id, "legal dates", |d| d.deemed_receipt.is_some()).await;
    poller(&app).poll_once().await.unwrap();
    assert_eq!(
        history_kinds(&app, id).await,
        ["queued", "submitted", "legal_dates", "suomifi_event"]
    );
    // Ordinary electronic service: the 3rd day after the message was created (today here);
    // a decision's appeal period is 30 days by default.
    let today = finnish_date(time::OffsetDateTime::now_utc());
    assert_eq!(with_dates.channel_taken.as_deref(), Some("electronic"));
    assert_eq!(
        with_dates.deemed_receipt,
        Some((today + time::Duration::days(3)).to_string())
    );
    assert!(with_dates.appeal_deadline.is_some());
    // The rule as data, for the pages to say in the reader's language.
    use app::domain::legal_rule::{LegalRule, ReceiptBasis};
    match with_dates.legal_basis() {
        Some(LegalRule::Served {
            receipt: ReceiptBasis::OrdinaryElectronic { days: 3 },
            appeal: Some(appeal),
            ..
        }) => assert_eq!(appeal.days, 30),
        other => panic!("{other:?}"),
    }
    assert!(with_dates.legal_rule.unwrap().contains("asiointilaki 19 §"));

    // The letter is kept by its hash and served as it was rendered.
    let stored = app
        .store
        .notice(app.organisation.id, sent.notice_id)
        .await
        .unwrap()
        .unwrap();
    let letter = app
        .get(&format!("/notices/{}/letter.pdf", sent.notice_id))
        .await;
    assert_eq!(letter.status(), 200);
    assert_eq!(letter.headers()[CONTENT_TYPE], "application/pdf");
    let letter = letter.bytes().await.unwrap();
    assert_eq!(Some(sha256_hex(&letter)), stored.paper_letter_sha256);
    assert_eq!(
        sha256_hex(&letter),
        sha256_hex(&preview),
        "the preview is the letter sent"
    );
    let pages = tiedoksi::pdf::check_attachment("letter", &letter).unwrap();
    assert_eq!(pages.pages, 2, "the letter and the attached page");

    let actions = app.audit_actions().await;
    for action in ["document.uploaded", "notice.queued", "document.downloaded"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let counters = sim(&app, reqwest::Method::GET, "/__sim/counters", None).await;
    assert_eq!(counters["messages"], 1);
}

pub(crate) fn problems(body: &Value) -> Vec<(String, Value)> {
    body["Invalid"]
        .as_array()
        .unwrap_or_else(|| panic!("not an Invalid error: {body}"))
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_string(),
                p["problem"].clone(),
            )
        })
        .collect()
}

pub(crate) async fn nothing_was_written(app: &TestApp) {
    let counts = app.store.job_counts().await.unwrap();
    assert_eq!(
        counts.pending + counts.running + counts.done + counts.failed,
        0,
        "{counts:?}"
    );
    assert!(app.store.delivery_status_counts().await.unwrap().is_empty());
}

async fn bad_input_is_refused_per_field_and_changes_nothing(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let mut bad_checksum = with_mailbox();
    bad_checksum.replace_range(
        10..11,
        if bad_checksum.ends_with('A') {
            "B"
        } else {
            "A"
        },
    );
    let mut short_zip = recipient("Matti", Some(&without_mailbox()), "multichannel");
    short_zip["address"]["zip_code"] = json!("0010");
    let mut notice = draft(
        "bad-1",
        vec![
            recipient("", Some(&bad_checksum), "electronic_only"),
            short_zip,
            recipient("Ei tunnusta", None, "electronic_only"),
        ],
    );
    notice["title"] = json!("  ");
    notice["appeal_days"] = json!(366);

    let response = send_notice(&app, &notice).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let found = problems(&body);
    let expect = [
        ("title", json!("required")),
        (
            "appeal_days",
            json!({ "out_of_range": { "min": 0, "max": 365 } }),
        ),
        ("recipients[0].name", json!("required")),
        (
            "recipients[0].identity_code",
            json!({ "identity_code": "Checksum" }),
        ),
        (
            "recipients[1].address",
            json!({ "address": "zip_code_not_finnish" }),
        ),
        (
            "recipients[2].mode",
            json!({ "channel": "electronic_needs_identity_code" }),
        ),
    ];
    for (field, problem) in expect {
        assert!(
            found.contains(&(field.to_string(), problem.clone())),
            "{field}: {problem} not in {found:?}"
        );
    }
    let text = body.to_string();
    assert!(
        !text.contains(&bad_checksum[..6]),
        "no personal data in errors"
    );
    nothing_was_written(&app).await;

    // An auditor reads; composing is refused.
    app.create_user("auditor@example.fi", "auditor-password-1", Role::Auditor)
        .await;
    let auditor = signed_in_client(&app, "auditor@example.fi", "auditor-password-1").await;
    let refused = send_notice_as(
        &app,
        &auditor,
        &draft(
            "bad-2",
            vec![recipient("A", Some(&with_mailbox()), "electronic_only")],
        ),
    )
    .await;
    assert_eq!(refused.status(), 403);
    nothing_was_written(&app).await;
}

/// A second browser on the same server, signed in as someone else.
pub(crate) async fn signed_in_client(
    app: &TestApp,
    email: &str,
    password: &str,
) -> reqwest::Client {
    let client = new_client();
    let login = client
        .post(app.url("/api/login"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "{email} signs in");
    client
}

async fn a_repeated_submit_queues_nothing_twice(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let notice = draft(
        "double-click",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    let (first, second) = tokio::join!(send_notice(&app, &notice), send_notice(&app, &notice));
    let first: Value = first.json().await.unwrap();
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["notice_id"], second["notice_id"], "{first} {second}");
    let again = queued(&app, &notice).await;
    assert_eq!(again["notice_id"], first["notice_id"]);
    assert_eq!(again["already_queued"], true);
    assert_eq!(again["deliveries"], first["deliveries"]);
    let counts = app.store.job_counts().await.unwrap();
    assert_eq!(
        counts.pending + counts.running + counts.done,
        1,
        "{counts:?}"
    );
    wait_sent(&app, delivery_ids(&first)[0]).await;
    let counters = sim(&app, reqwest::Method::GET, "/__sim/counters", None).await;
    assert_eq!(counters["messages"], 1);
}

async fn electronic_only_without_a_mailbox_is_refused_before_sending(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let electronic = draft(
        "no-mailbox",
        vec![recipient(
            "Matti",
            Some(&without_mailbox()),
            "electronic_only",
        )],
    );
    let response = send_notice(&app, &electronic).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        problems(&body),
        [(
            "recipients[0].mode".to_string(),
            json!({ "channel": "no_active_mailbox" })
        )]
    );
    nothing_was_written(&app).await;

    // The offered alternative: multichannel, which Suomi.fi delivers on paper.
    let multichannel = draft(
        "no-mailbox-2",
        vec![recipient("Matti", Some(&without_mailbox()), "multichannel")],
    );
    let id = delivery_ids(&queued(&app, &multichannel).await)[0];
    wait_sent(&app, id).await;
    let message = sim_message(&app, id).await;
    assert_eq!(message["endpoint"], "/v2/messages");
    assert_eq!(message["channel"], "paper");
}

async fn an_ordinary_paper_letter_is_printed_and_its_dates_follow_the_channel(
    backend: TestBackend,
) {
    let app = paper_ready(backend, false).await;
    let notice = draft(
        "paper-1",
        vec![recipient(
            "Matti Meikäläinen",
            Some(&without_mailbox()),
            "multichannel",
        )],
    );
    let id = delivery_ids(&queued(&app, &notice).await)[0];
    let sent = wait_sent(&app, id).await;
    // Multichannel: the channel is not known until Suomi.fi tells.
    assert_eq!(sent.deemed_receipt, None);

    let message = sim_message(&app, id).await;
    let paper = &message["request"]["paperMail"];
    assert_eq!(paper["recipient"]["address"]["name"], "Matti Meikäläinen");
    assert_eq!(paper["sender"]["address"]["name"], "Esimerkkikunta");
    assert_eq!(paper["createAddressPage"], true);
    let documents = app.store.delivery_documents(id).await.unwrap();
    let notice_row = app
        .store
        .notice(app.organisation.id, sent.notice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        documents
            .iter()
            .map(|d| d.kind.as_str())
            .collect::<Vec<_>>(),
        ["paper_letter"]
    );
    assert_eq!(
        Some(documents[0].sha256.clone()),
        notice_row.paper_letter_sha256
    );

    poller(&app).poll_once().await.unwrap();
    let created = wait_until(&app, id, "paper created", |d| {
        d.status.as_str() == "paper_created"
    })
    .await;
    assert_eq!(created.channel_taken.as_deref(), Some("paper"));
    let clock = sim(&app, reqwest::Method::GET, "/__sim/clock", None).await;
    let sim_now = time::OffsetDateTime::parse(
        clock["now"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        created.deemed_receipt,
        Some((finnish_date(sim_now) + time::Duration::days(7)).to_string()),
        "ordinary letter: the 7th day after sending"
    );

    advance_sim_clock(&app, 2 * 3600).await;
    poller(&app).poll_once().await.unwrap();
    let printed = wait_until(&app, id, "printed", |d| {
        d.status.as_str() == "sent_for_printing"
    })
    .await;
    assert!(printed.legal_rule.unwrap().contains("HL 59 §"));
    let history = app.store.delivery_history(id).await.unwrap();
    let dates: Vec<Value> = history
        .iter()
        .filter(|e| e.kind == "legal_dates")
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    assert_eq!(
        dates.len(),
        3,
        "waiting for the channel, then paper, then the printing day as its basis: {dates:?}"
    );
    assert_eq!(dates[0]["channel"], Value::Null);
    assert_eq!(dates[1]["channel"], "paper");
    assert_eq!(dates[1]["previous"]["channel"], Value::Null);
    assert!(dates[2]["rule"].as_str().unwrap().contains("went to print"));
}

async fn a_verifiable_letter_without_id_ends_with_the_posti_receipt(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/behaviours",
        Some(json!([{ "key": "Palautuva Vastaanottaja", "paper_outcome": "returned" }])),
    )
    .await;
    let mut notice = draft(
        "paper-2",
        vec![
            recipient("Liisa Ulkomailla", None, "paper_without_id"),
            recipient("Palautuva Vastaanottaja", None, "paper_without_id"),
        ],
    );
    notice["notice_type"] = json!("summons");
    notice["verifiable"] = Value::Null;
    let queued = queued(&app, &notice).await;
    assert_eq!(queued["deliveries"][0]["mode"], "paper_without_id");
    let (id, returned_id) = (delivery_ids(&queued)[0], delivery_ids(&queued)[1]);
    wait_sent(&app, id).await;
    wait_sent(&app, returned_id).await;
    let message = sim_message(&app, id).await;
    assert_eq!(message["endpoint"], "/v2/paper-mail-without-id");
    assert_eq!(
        message["verifiable"], true,
        "a summons is verifiable by default"
    );
    assert_eq!(
        message["request"]["paperMail"]["messageServiceType"],
        "Verifiable"
    );

    poller(&app).poll_once().await.unwrap();
    let waiting = wait_until(&app, id, "paper created", |d| {
        d.status.as_str() == "paper_created"
    })
    .await;
    assert_eq!(waiting.deemed_receipt, None, "received only on the receipt");
    // Printed after an hour, the receipt signed three days later.
    advance_sim_clock(&app, 4 * 24 * 3600).await;
    poller(&app).poll_once().await.unwrap();
    let received = wait_until(&app, id, "receipt", |d| {
        d.status.as_str() == "posti_receipt_confirmed"
    })
    .await;
    let receipt_event = app
        .store
        .delivery_events(id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event_type == "Posti: receipt confirmed")
        .unwrap();
    let receipt_at = time::OffsetDateTime::parse(
        &receipt_event.event_time,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        received.deemed_receipt,
        Some(finnish_date(receipt_at).to_string())
    );
    assert!(received.legal_rule.unwrap().contains("HL 60 §"));

    // A letter Posti brings back was never received: no dates, and it needs attention.
    let returned = wait_until(&app, returned_id, "returned", |d| {
        d.status.as_str() == "returned"
    })
    .await;
    assert_eq!(returned.deemed_receipt, None);
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list[0]["needs_attention"], 1);
}

async fn protected_addresses_and_forced_paper_never_print_the_address(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let minor = hetu("150610", 'A', 903);
    let mut child = recipient("Nuori Meikäläinen", Some(&minor), "multichannel");
    child["content_not_for_others"] = json!(true);
    child["address_protected"] = json!(true);
    child["address"]["street_address"] = json!("Salainen katu 9");
    let queued = queued(&app, &draft("protected-1", vec![child])).await;
    let decided = &queued["deliveries"][0];
    assert_eq!(decided["mode"], "paper_only");
    assert_eq!(decided["paper_addressee"], "organisation_forwarding");
    assert_eq!(
        decided["reasons"],
        json!([
            "minor_content_not_for_guardians",
            "address_protected_paper_forwarded"
        ])
    );
    let id = delivery_ids(&queued)[0];
    wait_sent(&app, id).await;
    let message = sim_message(&app, id).await;
    assert_eq!(
        message["endpoint"], "/v2/paper-mail-without-id",
        "no electronic copy"
    );
    let address = &message["request"]["paperMail"]["recipient"]["address"];
    assert_eq!(address["name"], FORWARDING_NAME);
    assert_eq!(address["additionalName"], "Nuori Meikäläinen");
    assert!(
        !message.to_string().contains("Salainen katu"),
        "the protected address went nowhere"
    );
    // Its documents open only to the author and administrators, and a refusal is recorded.
    let notice_id = queued["notice_id"].as_str().unwrap();
    app.create_user(
        "colleague@example.fi",
        "colleague-password-1",
        Role::Caseworker,
    )
    .await;
    let colleague = signed_in_client(&app, "colleague@example.fi", "colleague-password-1").await;
    let refused = colleague
        .get(app.url(&format!("/notices/{notice_id}/letter.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "document.download_refused"));
    let author = app.get(&format!("/notices/{notice_id}/letter.pdf")).await;
    assert_eq!(author.status(), 200);
    // Forwarding needs the organisation's address: without it, nothing is queued.
    app.store
        .set_delivery_settings(
            app.organisation.id,
            &json!({ "return_address": settings(false)["return_address"] }).to_string(),
        )
        .await
        .unwrap();
    let mut again = recipient("Nuori", Some(&minor), "multichannel");
    again["address_protected"] = json!(true);
    let response = send_notice(&app, &draft("protected-2", vec![again])).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        problems(&body),
        [(
            "recipients[0].address_protected".to_string(),
            json!("forwarding_address_not_set")
        )]
    );
    // Paper needs the organisation's return address too.
    app.store
        .set_delivery_settings(app.organisation.id, "{}")
        .await
        .unwrap();
    let plain = recipient("Matti", Some(&without_mailbox()), "multichannel");
    let response = send_notice(&app, &draft("protected-3", vec![plain])).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        problems(&body),
        [("recipients".to_string(), json!("return_address_not_set"))]
    );
}

async fn an_unacknowledged_verifiable_notice_is_flagged_and_served_again_on_paper(
    backend: TestBackend,
) {
    let app = paper_ready(backend, true).await;
    let code = with_mailbox();
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/behaviours",
        Some(json!([{ "key": code, "never_reads": true }])),
    )
    .await;
    let mut notice = draft(
        "verifiable-1",
        vec![recipient("Maija", Some(&code), "electronic_only")],
    );
    notice["verifiable"] = json!(true);
    let id = delivery_ids(&queued(&app, &notice).await)[0];
    wait_sent(&app, id).await;
    poller(&app).poll_once().await.unwrap();
    wait_until(&app, id, "delivered", |d| {
        d.status.as_str() == "delivered_electronically"
    })
    .await;

    let watch = AcknowledgementWatch {
        store: app.store.clone(),
        acknowledgement_days: 7,
    };
    let six_days = Timestamp::now() + time::Duration::days(6);
    assert_eq!(
        watch.run_once(six_days).await.unwrap().flagged,
        0,
        "not yet overdue"
    );
    let eight_days = Timestamp::now() + time::Duration::days(8);
    let outcome = watch.run_once(eight_days).await.unwrap();
    assert_eq!((outcome.flagged, outcome.reserved), (1, 1));
    let again = watch.run_once(eight_days).await.unwrap();
    assert_eq!(
        (again.flagged, again.reserved),
        (0, 0),
        "flagged and re-served once"
    );

    let flagged = delivery(&app, id).await;
    assert!(flagged.unacknowledged_at.is_some());
    assert_eq!(
        flagged.deemed_receipt, None,
        "never received electronically"
    );
    let kinds = history_kinds(&app, id).await;
    assert!(
        kinds.ends_with(&["unacknowledged".to_string(), "reserve_queued".to_string()]),
        "{kinds:?}"
    );

    let deliveries = app
        .store
        .deliveries(app.organisation.id, flagged.notice_id)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2);
    let reserve = &deliveries[1];
    assert_eq!(reserve.reserve_of, Some(id));
    assert_eq!(reserve.decided_mode.as_str(), "paper_only");
    assert_eq!(
        reserve.channel_reasons,
        r#"["verifiable_not_acknowledged"]"#
    );
    wait_sent(&app, reserve.id).await;
    let message = sim_message(&app, reserve.id).await;
    assert_eq!(message["endpoint"], "/v2/paper-mail-without-id");
    assert_eq!(
        message["request"]["paperMail"]["messageServiceType"],
        "Verifiable"
    );
    assert_eq!(
        message["request"]["paperMail"]["recipient"]["address"]["name"],
        "Maija"
    );
    let counters = sim(&app, reqwest::Method::GET, "/__sim/counters", None).await;
    assert_eq!(
        counters["messages"], 2,
        "the original and its re-serve, each once"
    );
}

async fn documents_are_checked_on_upload_and_hidden_from_other_organisations(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let exe = upload(
        &app,
        &app.client,
        "ohjelma.exe",
        "application/octet-stream",
        b"MZ...".to_vec(),
    )
    .await;
    assert_eq!(exe.status(), 415);
    let body: Value = exe.json().await.unwrap();
    assert_eq!(
        problems(&body),
        [("file".to_string(), json!("file_type_not_accepted"))]
    );
    let fake = upload(
        &app,
        &app.client,
        "lasku.pdf",
        "application/pdf",
        b"not a pdf".to_vec(),
    )
    .await;
    assert_eq!(fake.status(), 422);

    let pdf = upload(
        &app,
        &app.client,
        "liite.pdf",
        "application/pdf",
        a4_pdf("Liite"),
    )
    .await;
    let pdf: Value = pdf.json().await.unwrap();
    let mut notice = draft(
        "docs-1",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    notice["attachments"] = json!([pdf["id"]]);
    let notice_id = queued(&app, &notice).await["notice_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/notices/{notice_id}/attachments/0"))
            .await
            .status(),
        200
    );

    // Someone of another organisation finds neither the notice's documents nor the upload.
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    app.store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: other.id,
            email: "other@example.fi".into(),
            display_name: "Other".into(),
            password_hash: tiedoksi::auth::password::hash_password("other-password-1".into())
                .await
                .unwrap(),
            role: Role::Caseworker,
        })
        .await
        .unwrap();
    let stranger = signed_in_client(&app, "other@example.fi", "other-password-1").await;
    for path in [
        format!("/notices/{notice_id}/letter.pdf"),
        format!("/notices/{notice_id}/attachments/0"),
    ] {
        let response = stranger.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let mut theirs = draft(
        "docs-2",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    theirs["attachments"] = json!([pdf["id"]]);
    let response = send_notice_as(&app, &stranger, &theirs).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    // (Their organisation has no Suomi.fi service either, which is a problem of its own.)
    assert!(
        problems(&body).contains(&("attachments[0]".to_string(), json!("unknown_attachment"))),
        "{body}"
    );
}

async fn flagged_verifiable_notice(app: &TestApp, key: &str) -> Uuid {
    let code = with_mailbox();
    sim(
        app,
        reqwest::Method::POST,
        "/__sim/behaviours",
        Some(json!([{ "key": code, "never_reads": true }])),
    )
    .await;
    let mut notice = draft(
        key,
        vec![recipient("Maija", Some(&code), "electronic_only")],
    );
    notice["verifiable"] = json!(true);
    let id = delivery_ids(&queued(app, &notice).await)[0];
    wait_sent(app, id).await;
    poller(app).poll_once().await.unwrap();
    wait_until(app, id, "delivered", |d| {
        d.status.as_str() == "delivered_electronically"
    })
    .await;
    id
}

async fn a_caseworker_serves_a_flagged_notice_again_on_paper(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let id = flagged_verifiable_notice(&app, "manual-1").await;
    let not_yet = app
        .call("reserve_on_paper", &[("delivery_id", &id.to_string())])
        .await;
    assert_eq!(not_yet.status(), 422, "not flagged yet");
    let not_yet: Value = not_yet.json().await.unwrap();
    assert_eq!(
        problems(&not_yet),
        [("delivery_id".to_string(), json!("not_unacknowledged"))]
    );

    let watch = AcknowledgementWatch {
        store: app.store.clone(),
        acknowledgement_days: 7,
    };
    let outcome = watch
        .run_once(Timestamp::now() + time::Duration::days(8))
        .await
        .unwrap();
    assert_eq!(
        (outcome.flagged, outcome.reserved),
        (1, 0),
        "the organisation decides by hand"
    );

    let first = app
        .call("reserve_on_paper", &[("delivery_id", &id.to_string())])
        .await;
    assert_eq!(first.status(), 200);
    let first: Uuid = first.json().await.unwrap();
    let second: Uuid = app
        .call("reserve_on_paper", &[("delivery_id", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, second, "asking twice re-serves once");
    wait_sent(&app, first).await;
    assert_eq!(
        sim_message(&app, first).await["endpoint"],
        "/v2/paper-mail-without-id"
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "delivery.reserved"));
}

async fn the_list_and_the_detail_show_what_happened_and_reads_are_audited(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let empty: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(empty, json!([]));
    let queued = queued(
        &app,
        &draft(
            "detail-1",
            vec![
                recipient("Maija", Some(&with_mailbox()), "electronic_only"),
                recipient("Matti", Some(&without_mailbox()), "multichannel"),
            ],
        ),
    )
    .await;
    let ids = delivery_ids(&queued);
    for id in &ids {
        wait_sent(&app, *id).await;
    }
    let notice_id = queued["notice_id"].as_str().unwrap();

    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["recipients"], 2);
    assert_eq!(list[0]["case_reference"], "DNRO 123/2026");

    let detail = app.call("open_notice", &[("id", notice_id)]).await;
    assert_eq!(detail.status(), 200);
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(detail["has_letter"], true);
    let maija = &detail["deliveries"][0];
    assert_eq!(
        maija["identity_masked"],
        format!("{}****", &with_mailbox()[..7])
    );
    assert!(
        !detail.to_string().contains(&with_mailbox()),
        "the full code is never shown"
    );
    assert_eq!(maija["history"][0]["kind"], "queued");
    assert_eq!(
        detail["deliveries"][1]["documents"][0]["kind"],
        "paper_letter"
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "notice.viewed"));

    // Another organisation does not find it.
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    app.store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: other.id,
            email: "viewer@example.fi".into(),
            display_name: "Viewer".into(),
            password_hash: tiedoksi::auth::password::hash_password("viewer-password-1".into())
                .await
                .unwrap(),
            role: Role::Auditor,
        })
        .await
        .unwrap();
    let stranger = signed_in_client(&app, "viewer@example.fi", "viewer-password-1").await;
    let hidden = stranger
        .post(app.url("/api/open_notice"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .form(&[("id", notice_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    let theirs: Value = stranger
        .post(app.url("/api/list_notices"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, json!([]));
}

pub(crate) async fn counters_messages(app: &TestApp) -> u64 {
    sim(app, reqwest::Method::GET, "/__sim/counters", None).await["messages"]
        .as_u64()
        .unwrap_or(0)
}

/// The worker of a test, run by hand: the application's own sleeps for an hour.
pub(crate) async fn send_by_hand(app: &TestApp) -> tiedoksi::delivery::worker::StepOutcome {
    use tiedoksi::delivery::send::SendDelivery;
    use tiedoksi::delivery::worker::{run_step, WorkerSettings};
    let config = tiedoksi::config::Config::from_lookup(|_| None).unwrap();
    let handler = SendDelivery {
        store: app.store.clone(),
        suomifi: app.suomifi.clone(),
        key: app.data_key.clone(),
        blobs: std::sync::Arc::new(tiedoksi::blobs::FilesystemBlobStore::new(
            app.blob_dir.path(),
        )),
        letters: app.letters.clone(),
        posti: config.posti,
        receipt: config.receipt,
    };
    run_step(
        app.store.as_ref(),
        &handler,
        &WorkerSettings::named("by-hand"),
    )
    .await
    .unwrap()
}

async fn a_delivery_that_needs_attention_is_sent_again_once_fixed(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = Duration::from_secs(3600);
        config.worker.events_interval = Duration::from_secs(3600);
    })
    .await;
    app.login_as_admin().await;
    let code = with_mailbox();
    let id = delivery_ids(
        &queued(
            &app,
            &draft(
                "retry-1",
                vec![recipient("Maija", Some(&code), "electronic_only")],
            ),
        )
        .await,
    )[0];

    // The mailbox closes between composing and sending: Suomi.fi refuses, for good.
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/mailboxes",
        Some(json!([{ "id": code, "active": false }])),
    )
    .await;
    let outcome = send_by_hand(&app).await;
    assert_eq!((outcome.claimed, outcome.failed), (1, 1), "{outcome:?}");
    let failed = delivery(&app, id).await;
    assert_eq!(failed.status.as_str(), "needs_attention");
    assert!(failed.needs_attention_reason.unwrap().contains("mailbox"));
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list[0]["needs_attention"], 1);

    // Nothing to retry on a delivery that is fine; once the cause is gone, it goes.
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/mailboxes",
        Some(json!([{ "id": code, "active": true }])),
    )
    .await;
    let retried = app
        .call("retry_delivery", &[("delivery_id", &id.to_string())])
        .await;
    assert_eq!(retried.status(), 200, "{:?}", retried.text().await);
    let again = app
        .call("retry_delivery", &[("delivery_id", &id.to_string())])
        .await;
    assert_eq!(again.status(), 422, "queued already");
    let outcome = send_by_hand(&app).await;
    assert_eq!((outcome.claimed, outcome.done), (1, 1), "{outcome:?}");
    let sent = delivery(&app, id).await;
    assert_eq!(sent.status.as_str(), "sent");
    assert_eq!(sent.needs_attention_reason, None);
    let kinds = history_kinds(&app, id).await;
    assert_eq!(
        kinds,
        [
            "queued",
            "attempt_failed",
            "needs_attention",
            "retry_requested",
            "submitted",
            "legal_dates"
        ]
    );
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "delivery.retried"));
    assert_eq!(counters_messages(&app).await, 1);
}
