//! Replies from citizens: fetched after their event with their attachments, kept once,
//! linked to the notice they answer, on its timeline and in the inbox with unread counts;
//! opening one and downloading its files are audited; another organisation sees nothing.

use reqwest::header::{ACCEPT, ORIGIN};
use serde_json::{json, Value};
use tiedoksi::delivery::replies::RepliesPoller;
use tiedoksi::secrets::Column;

use crate::helpers::{new_client, TestApp, TestBackend};
use crate::notices::{
    delivery_ids, draft, paper_ready, poller, queued, recipient, sim, wait_sent, with_mailbox,
};
use crate::on_both_backends;

on_both_backends!(
    a_citizen_reply_is_kept_once_linked_and_opened_on_record,
    a_reply_to_a_turvakielto_notice_shows_only_to_its_author_and_admins,
);

fn replies_poller(app: &TestApp) -> RepliesPoller {
    RepliesPoller {
        store: app.store.clone(),
        services: app.services.clone(),
        blobs: std::sync::Arc::new(tiedoksi::blobs::FilesystemBlobStore::new(
            app.blob_dir.path(),
        )),
        keys: app.data_key.clone(),
    }
}

async fn a_citizen_reply_is_kept_once_linked_and_opened_on_record(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let notice = queued(
        &app,
        &draft(
            "reply-1",
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        ),
    )
    .await;
    let notice_id = notice["notice_id"].as_str().unwrap().to_string();
    let sent = wait_sent(&app, delivery_ids(&notice)[0]).await;
    let message_id = sent.suomifi_message_id.unwrap();

    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/citizen-messages",
        Some(json!({
            "from_id": with_mailbox(),
            "from_name": "Maija Meikäläinen",
            "title": "Kysymys päätöksestä",
            "body": "Voinko hakea oikaisua sähköisesti?",
            "in_reply_to": message_id,
            "attachment": { "filename": "liite.txt", "media_type": "text/plain", "content": "lisätieto" },
        })),
    )
    .await;
    poller(&app).poll_once().await.unwrap();
    let replies = replies_poller(&app);
    assert_eq!(replies.fetch_new().await.unwrap(), 1);
    assert_eq!(replies.fetch_new().await.unwrap(), 0, "kept once");

    // Kept with the sender sealed, linked to the notice.
    let admin = tiedoksi::store::Reader {
        user_id: uuid::Uuid::nil(),
        admin: true,
    };
    let kept = app
        .store
        .replies(app.organisation.id, admin, 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    let reply = &kept[0];
    assert_eq!(
        reply.notice_id.map(|id| id.to_string()),
        Some(notice_id.clone())
    );
    assert_eq!(reply.in_reply_to, Some(message_id));
    assert_eq!(
        reply.sender_masked.as_deref(),
        Some(format!("{}****", &with_mailbox()[..7]).as_str())
    );
    let sealed = reply.sender_sealed.as_deref().unwrap();
    assert!(!String::from_utf8_lossy(sealed).contains(&with_mailbox()));
    assert_eq!(
        app.data_key.open(Column::ReplySender, sealed).unwrap(),
        with_mailbox()
    );
    assert_eq!(
        reply.sender_lookup.as_deref(),
        Some(app.data_key.lookup_hash(&with_mailbox()).as_slice()),
        "the same hash the notices are searched by"
    );

    // Unread in the inbox and in the header's count.
    let count: Value = app.call("unread_replies", &[]).await.json().await.unwrap();
    assert_eq!(count, 1);
    let inbox: Value = app.call("list_replies", &[]).await.json().await.unwrap();
    assert_eq!(inbox["unread"], 1);
    assert_eq!(inbox["replies"][0]["unread"], true);
    assert_eq!(inbox["replies"][0]["title"], "Kysymys päätöksestä");
    assert_eq!(
        inbox["replies"][0]["notice_title"],
        "Päätös toimeentulotuesta"
    );
    assert!(!inbox.to_string().contains(&with_mailbox()));

    // On the notice: in its replies and on the delivery's timeline.
    let detail: Value = app
        .call("open_notice", &[("id", &notice_id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["replies"][0]["title"], "Kysymys päätöksestä");
    let timeline = detail["deliveries"][0]["timeline"].as_array().unwrap();
    assert!(timeline.iter().any(|entry| entry["source"] == "recipient"
        && entry["event"]["reply_received"]["title"] == "Kysymys päätöksestä"));

    // Opening it: audited, then read; its file downloads, audited.
    let id = reply.id.to_string();
    let opened: Value = app
        .call("open_reply", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(opened["body"], "Voinko hakea oikaisua sähköisesti?");
    assert_eq!(opened["attachments"][0]["filename"], "liite.txt");
    let count: Value = app.call("unread_replies", &[]).await.json().await.unwrap();
    assert_eq!(count, 0);
    let file = app.get(&format!("/inbox/{id}/attachments/0")).await;
    assert_eq!(file.status(), 200);
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(file.headers()["content-security-policy"], "sandbox");
    assert_eq!(file.text().await.unwrap(), "lisätieto");
    assert_eq!(
        app.get(&format!("/inbox/{id}/attachments/1"))
            .await
            .status(),
        404
    );
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "reply.opened"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "reply.attachment_downloaded"));
    let page = app.get(&format!("/inbox/{id}")).await.text().await.unwrap();
    assert!(page.contains("Voinko hakea oikaisua sähköisesti?"));
    assert!(!page.contains(&with_mailbox()));

    // Another organisation: nothing.
    let stranger = app.stranger("toinen@example.fi").await;
    let hidden = stranger
        .post(app.url("/api/open_reply"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    let theirs: Value = stranger
        .post(app.url("/api/list_replies"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["replies"], json!([]));
    let file = stranger
        .get(app.url(&format!("/inbox/{id}/attachments/0")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 404);
}

/// A reply the citizen sent to a notice of theirs with turvakielto: in the author's and the
/// admins' inbox; for another caseworker neither listed nor counted (so never unread forever).
async fn a_reply_to_a_turvakielto_notice_shows_only_to_its_author_and_admins(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let mut protected = recipient("Salainen", Some(&with_mailbox()), "electronic_only");
    protected["address_protected"] = json!(true);
    let notice = queued(&app, &draft("reply-protected", vec![protected])).await;
    let sent = wait_sent(&app, delivery_ids(&notice)[0]).await;
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/citizen-messages",
        Some(json!({
            "from_id": with_mailbox(),
            "from_name": "Salainen",
            "title": "Osoitteeni on muuttunut",
            "body": "Uusi osoitteeni on …",
            "in_reply_to": sent.suomifi_message_id.unwrap(),
            "attachment": null,
        })),
    )
    .await;
    poller(&app).poll_once().await.unwrap();
    assert_eq!(replies_poller(&app).fetch_new().await.unwrap(), 1);

    // The author (the admin who sent it) sees and counts it.
    let count: Value = app.call("unread_replies", &[]).await.json().await.unwrap();
    assert_eq!(count, 1);

    // Another caseworker of the same organisation: not listed, not counted, not opened.
    app.create_user(
        "kollega@example.fi",
        "kollega-password-1",
        app::auth::Role::Caseworker,
    )
    .await;
    let colleague = new_client();
    let login = colleague
        .post(app.url("/api/login"))
        .header(ORIGIN, app.origin())
        .header(ACCEPT, "application/json")
        .form(&[
            ("email", "kollega@example.fi"),
            ("password", "kollega-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let call = |function: &'static str| {
        let colleague = colleague.clone();
        let url = app.url(&format!("/api/{function}"));
        let origin = app.origin();
        async move {
            colleague
                .post(url)
                .header(ORIGIN, origin)
                .header(ACCEPT, "application/json")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(call("unread_replies").await, 0);
    let inbox = call("list_replies").await;
    assert_eq!(inbox["replies"], json!([]), "{inbox}");
    assert_eq!(inbox["unread"], 0);
}
