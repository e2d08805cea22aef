//! The notice list's server side: the search form's redirect that keeps an identity code out
//! of the URL, the search by its lookup hash (audited), filters read from the URL with their
//! problems, keyset pages, the "Needs attention" view, and the proof of service.

use reqwest::header::{LOCATION, ORIGIN};
use serde_json::{json, Value};
use tiedoksi::store::Timestamp;

use crate::helpers::{spawn_app_with, TestApp, TestBackend};
use crate::notices::{
    delivery_ids, draft, paper_ready, queued, recipient, send_by_hand, sim, with_mailbox,
    without_mailbox,
};
use crate::on_both_backends;

on_both_backends!(
    an_identity_code_is_searched_by_its_hash_and_never_put_in_the_url,
    filters_come_from_the_url_and_pages_follow_each_other,
    what_needs_attention_is_listed_with_why,
    a_proof_of_service_downloads_on_record,
);

pub(crate) async fn find(app: &TestApp, filter: Value) -> Value {
    let response = app
        .call_json("find_notices", &json!({ "filter": filter }))
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) async fn search(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let response = app
        .client
        .post(app.url("/search"))
        .header(ORIGIN, app.origin())
        .form(fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// The URL's query as the page reads it, turned into the server function's filter.
pub(crate) fn filter_of(url: &str) -> Value {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let mut filter = json!({});
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap();
        let value = percent_decode(value);
        let key = if key == "type" { "notice_type" } else { key };
        filter[key] = match key {
            "attention" => json!(true),
            "sort" => {
                filter["oldest_first"] = json!(value == "oldest");
                continue;
            }
            _ => json!(value),
        };
    }
    filter
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub(crate) fn titles(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["title"].as_str().unwrap().to_string())
        .collect()
}

async fn an_identity_code_is_searched_by_its_hash_and_never_put_in_the_url(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let mut maija = draft(
        "list-maija",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    maija["title"] = json!("Maijan päätös");
    queued(&app, &maija).await;
    let mut matti = draft(
        "list-matti",
        vec![recipient("Matti", Some(&without_mailbox()), "multichannel")],
    );
    matti["title"] = json!("Matin päätös");
    queued(&app, &matti).await;

    let url = search(
        &app,
        &[("q", &format!(" {} ", with_mailbox())), ("status", "")],
    )
    .await;
    assert!(url.starts_with("/?who="), "{url}");
    assert!(
        !url.contains(&with_mailbox()[..6]),
        "no part of the code: {url}"
    );
    let page = find(&app, filter_of(&url)).await;
    assert_eq!(titles(&page), ["Maijan päätös"]);
    assert_eq!(page["who_masked"], format!("{}****", &with_mailbox()[..7]));
    assert!(!page.to_string().contains(&with_mailbox()));
    let recipient = &page["rows"][0]["recipients"][0];
    assert_eq!(recipient["name"], "Maija");
    assert_eq!(recipient["identity_masked"], page["who_masked"]);
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|a| a == "notices.searched_by_identity"));

    // Changing a filter keeps the identity search (the token rides in a hidden field).
    let token = filter_of(&url)["who"].as_str().unwrap().to_string();
    let kept = search(&app, &[("q", ""), ("who", &token), ("type", "decision")]).await;
    assert!(
        kept.contains("who=") && kept.contains("type=decision"),
        "{kept}"
    );
    assert_eq!(
        titles(&find(&app, filter_of(&kept)).await),
        ["Maijan päätös"],
        "still only Maija's, though Matti's is a decision too"
    );
    let other_type = search(&app, &[("who", &token), ("type", "summons")]).await;
    assert!(titles(&find(&app, filter_of(&other_type)).await).is_empty());

    // A token that does not open (a changed key, a hand-edited URL) says so.
    let broken = find(&app, json!({ "who": "AAAA" })).await;
    assert_eq!(broken["problems"][0]["field"], "q");
    assert_eq!(broken["problems"][0]["problem"], "search_expired");
    assert!(titles(&broken).is_empty());
}

async fn filters_come_from_the_url_and_pages_follow_each_other(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    for n in 0..30 {
        let mut notice = draft(
            &format!("page-{n}"),
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        );
        notice["title"] = json!(format!("Päätös {n:02}"));
        queued(&app, &notice).await;
    }
    let first = find(&app, json!({ "q": "päätös" })).await;
    assert_eq!(first["rows"].as_array().unwrap().len(), 25);
    assert_eq!(titles(&first)[0], "Päätös 29");
    assert!(first["previous"].is_null());
    let second = find(
        &app,
        json!({ "q": "päätös", "after": first["next"].as_str().unwrap() }),
    )
    .await;
    assert_eq!(
        titles(&second),
        [
            "Päätös 04",
            "Päätös 03",
            "Päätös 02",
            "Päätös 01",
            "Päätös 00"
        ]
    );
    assert!(second["next"].is_null());
    let back = find(
        &app,
        json!({ "q": "päätös", "before": second["previous"].as_str().unwrap() }),
    )
    .await;
    assert_eq!(titles(&back), titles(&first));
    assert!(
        back["previous"].is_null(),
        "the first page has none before it"
    );

    let oldest = find(&app, json!({ "q": "päätös", "oldest_first": true })).await;
    assert_eq!(titles(&oldest)[0], "Päätös 00");

    // Dates are Finnish days, both ends included; a wrong one is a problem, not a 500.
    let today = tiedoksi::delivery::legal::finnish_date(Timestamp::now().as_offset_date_time());
    let today = today.to_string();
    let dated = find(&app, json!({ "from": today, "to": today })).await;
    assert_eq!(dated["rows"].as_array().unwrap().len(), 25);
    let wrong = find(&app, json!({ "from": "2026-02-30", "to": "eilen" })).await;
    let fields: Vec<&str> = wrong["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "to"]);
    let future = find(&app, json!({ "from": "2099-01-01" })).await;
    assert!(titles(&future).is_empty());
    assert!(future["problems"].as_array().unwrap().is_empty());
}

async fn what_needs_attention_is_listed_with_why(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.worker.idle = std::time::Duration::from_secs(3600);
        config.worker.events_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    app.login_as_admin().await;
    let code = with_mailbox();
    let notice = queued(
        &app,
        &draft(
            "attention-1",
            vec![recipient("Maija", Some(&code), "electronic_only")],
        ),
    )
    .await;
    let id = delivery_ids(&notice)[0];
    let nothing: Value = app.call("needs_attention", &[]).await.json().await.unwrap();
    assert_eq!(nothing, json!([]));

    // The mailbox closes between composing and sending: a person must choose what next.
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/mailboxes",
        Some(json!([{ "id": code, "active": false }])),
    )
    .await;
    send_by_hand(&app).await;
    let items: Value = app.call("needs_attention", &[]).await.json().await.unwrap();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["delivery_id"], id.to_string());
    assert_eq!(items[0]["kind"], "no_mailbox");
    assert_eq!(items[0]["title"], "Päätös toimeentulotuesta");
    assert!(!items.to_string().contains(&code));

    let flagged = find(&app, json!({ "attention": true })).await;
    assert_eq!(flagged["rows"].as_array().unwrap().len(), 1);
    assert_eq!(flagged["rows"][0]["recipients"][0]["needs_attention"], true);
    let page = app.get("/attention").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-kind=\"no_mailbox\""), "{html}");
    assert!(html.contains(&format!("#delivery-{id}")), "the way to act");
}

async fn a_proof_of_service_downloads_on_record(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let notice = queued(
        &app,
        &draft(
            "proof-1",
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        ),
    )
    .await;
    let notice_id = notice["notice_id"].as_str().unwrap();
    let id = delivery_ids(&notice)[0];
    crate::notices::wait_sent(&app, id).await;
    let path = format!("/notices/{notice_id}/deliveries/{id}/proof.pdf");
    let proof = app.get(&path).await;
    assert_eq!(proof.status(), 200);
    assert_eq!(proof.headers()["content-type"], "application/pdf");
    let bytes = proof.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "proof.downloaded"),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a == "notice.viewed"),
        "one read, one record: {actions:?}"
    );
    let other = uuid::Uuid::now_v7();
    let missing = app
        .get(&format!(
            "/notices/{notice_id}/deliveries/{other}/proof.pdf"
        ))
        .await;
    assert_eq!(missing.status(), 404);
}
