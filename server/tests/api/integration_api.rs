//! The integration API end to end: documents in, notices queued exactly once by
//! `Idempotency-Key`, validation as problem details with the pages' field codes, pages of
//! notices, the change feed resuming from a cursor, downloads, delivery actions, and the
//! OpenAPI document naming every route.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{new_client, TestApp, TestBackend};
use crate::notices::{a4_pdf, draft, quiet_app, recipient, sha256_hex, wait_sent, with_mailbox};
use crate::on_both_backends;

on_both_backends!(
    documents_and_a_notice_go_in_once_per_idempotency_key,
    validation_problems_name_the_field_and_code_in_the_callers_language,
    concurrent_requests_with_one_key_queue_one_notice,
    notices_are_listed_a_page_at_a_time,
    the_change_feed_resumes_from_its_cursor,
    delivery_actions_and_downloads_keep_to_the_organisation,
    every_route_is_in_the_openapi_document,
    a_batch_over_the_api_queues_every_row_or_none,
    a_notice_queued_before_request_hashes_were_kept_takes_its_keys_record,
);

/// A key of the test organisation.
async fn key(app: &TestApp, name: &str) -> String {
    tiedoksi::api::keys::create_key(&app.store, app.organisation.id, name, "test")
        .await
        .unwrap()
        .secret
}

/// A key of another organisation.
async fn foreign_key(app: &TestApp) -> String {
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    tiedoksi::api::keys::create_key(&app.store, other.id, "Toinen", "test")
        .await
        .unwrap()
        .secret
}

/// The compose page's draft as the API takes it (the key travels in the header).
fn api_notice(case: &str, recipients: Vec<Value>) -> Value {
    let mut body = draft("unused", recipients);
    body.as_object_mut().unwrap().remove("idempotency_key");
    body["case_reference"] = json!(case);
    body
}

/// A notice to one person with a mailbox, and the same with another title: two bodies for one
/// `Idempotency-Key`.
fn a_notice_and_another_body(case: &str) -> (Value, Value) {
    let body = api_notice(
        case,
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    let mut other = body.clone();
    other["title"] = json!("Toinen otsikko");
    (body, other)
}

async fn post_notice(
    app: &TestApp,
    key: &str,
    idempotency: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = new_client()
        .post(app.url("/api/v1/notices"))
        .bearer_auth(key)
        .json(body);
    if let Some(idempotency) = idempotency {
        request = request.header("Idempotency-Key", idempotency);
    }
    request.send().await.unwrap()
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let response = new_client()
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every answer kept under an `Idempotency-Key`, gone, as if none had been written.
async fn forget_kept_answers(app: &TestApp) {
    execute(app, "DELETE FROM api_requests").await;
}

/// Runs a statement on the app's database behind the store's back.
async fn execute(app: &TestApp, statement: &str) {
    if app.database.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&app.database.url).await.unwrap();
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
}

/// How many claims and answers are kept under `Idempotency-Key`s.
async fn kept_answers(app: &TestApp) -> i64 {
    let statement = "SELECT COUNT(*) FROM api_requests";
    if app.database.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
        sqlx::query_scalar(statement)
            .fetch_one(&pool)
            .await
            .unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&app.database.url).await.unwrap();
        sqlx::query_scalar(statement)
            .fetch_one(&pool)
            .await
            .unwrap()
    }
}

async fn notice_count(app: &TestApp) -> usize {
    app.store
        .notice_summaries(app.organisation.id, 1000)
        .await
        .unwrap()
        .len()
}

async fn documents_and_a_notice_go_in_once_per_idempotency_key(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let pdf = a4_pdf("Päätöksen liite");

    // A raw body named in the query.
    let raw = new_client()
        .post(app.url("/api/v1/documents?filename=liite.pdf"))
        .bearer_auth(&key)
        .header("Content-Type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 201);
    let document: Value = raw.json().await.unwrap();
    assert_eq!(document["sha256"], sha256_hex(&pdf));
    assert_eq!(document["media_type"], "application/pdf");
    // The same as multipart.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"Liite tekstina".to_vec())
            .file_name("muistio.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let multipart = new_client()
        .post(app.url("/api/v1/documents"))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.status(), 201);
    // A type Suomi.fi does not take, and a file that is not what its name says.
    let exe = new_client()
        .post(app.url("/api/v1/documents?filename=ohjelma.exe"))
        .bearer_auth(&key)
        .body(b"MZ".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(exe.status(), 415);
    assert_eq!(exe.headers()["content-type"], "application/problem+json");
    let fake = new_client()
        .post(app.url("/api/v1/documents?filename=paatos.pdf"))
        .bearer_auth(&key)
        .body(b"not a pdf".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(fake.status(), 422);
    let problem: Value = fake.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "file");
    assert_eq!(problem["errors"][0]["code"], "attachment_not_printable");

    let code = with_mailbox();
    let mut body = api_notice(
        "API 1/2026",
        vec![recipient(
            "Maija Meikäläinen",
            Some(&code),
            "electronic_only",
        )],
    );
    body["attachments"] = json!([document["id"]]);

    // No key, no notice.
    let missing = post_notice(&app, &key, None, &body).await;
    assert_eq!(missing.status(), 400);
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-required");
    assert_eq!(notice_count(&app).await, 0);
    // Not JSON.
    let form = new_client()
        .post(app.url("/api/v1/notices"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "k-1")
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);

    // Sent from a browser elsewhere: keys, not cookies, so no cross-site check.
    let first = new_client()
        .post(app.url("/api/v1/notices"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "k-1")
        .header("Origin", "https://asianhallinta.example.fi")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.text().await.unwrap();
    assert!(!first_body.contains(&code), "no identity code over the API");
    let queued: Value = serde_json::from_str(&first_body).unwrap();
    let id = queued["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/notices/{id}"));
    assert_eq!(queued["deliveries"][0]["status"], "queued");
    assert_eq!(queued["documents"][0]["sha256"], sha256_hex(&pdf));

    // The same again: the same notice, nothing new, nothing written beside it.
    let again = post_notice(&app, &key, Some("k-1"), &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location.as_str());
    let replayed: Value = again.json().await.unwrap();
    assert_eq!(replayed["id"], queued["id"]);
    assert_eq!(replayed["documents"], queued["documents"]);
    assert_eq!(notice_count(&app).await, 1);
    assert_eq!(
        kept_answers(&app).await,
        0,
        "the notice is the key's record"
    );
    // The same key with another body is refused.
    let mut changed = body.clone();
    changed["title"] = json!("Toinen otsikko");
    let reused = post_notice(&app, &key, Some("k-1"), &changed).await;
    assert_eq!(reused.status(), 422);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");
    assert_eq!(notice_count(&app).await, 1);

    // It goes to Suomi.fi, and the API shows it so.
    let delivery: Uuid = queued["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    wait_sent(&app, delivery).await;
    let (status, read) = get_json(&app, &key, &location).await;
    assert_eq!(status, 200);
    assert!(read["deliveries"][0]["suomifi_message_id"].is_i64());
    let kinds: Vec<&str> = read["deliveries"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"queued") && kinds.contains(&"submitted"),
        "{kinds:?}"
    );
    // The notice is the key's account's, on record under its name.
    let actions: Vec<(String, Option<String>)> = app
        .store
        .audit_events(Some(app.organisation.id), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.action, event.actor_label))
        .collect();
    for action in ["document.uploaded", "notice.queued", "notice.viewed"] {
        assert!(
            actions.contains(&(action.to_string(), Some("API: Asianhallinta".to_string()))),
            "{action} in {actions:?}"
        );
    }
}

async fn validation_problems_name_the_field_and_code_in_the_callers_language(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let mut bad_code = with_mailbox();
    bad_code.pop();
    bad_code.push('X');
    let mut body = api_notice(
        "API 2/2026",
        vec![recipient("Maija", Some(&bad_code), "electronic_only")],
    );
    body["title"] = json!("");
    let response = new_client()
        .post(app.url("/api/v1/notices"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "v-1")
        .header("Accept-Language", "sv-FI,sv;q=0.9")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/invalid");
    let errors = problem["errors"].as_array().unwrap();
    let find = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {errors:?}"))
            .clone()
    };
    assert_eq!(find("title")["code"], "required");
    let identity = find("recipients[0].identity_code");
    assert!(
        identity["code"]
            .as_str()
            .unwrap()
            .starts_with("identity_code."),
        "{identity}"
    );
    // In Swedish, as asked.
    let english =
        app::compose::problem_text(app::i18n::Locale::en, &app::compose::Problem::Required);
    let swedish =
        app::compose::problem_text(app::i18n::Locale::sv, &app::compose::Problem::Required);
    assert_ne!(english, swedish);
    assert_eq!(find("title")["message"], swedish.as_str());
    assert_eq!(notice_count(&app).await, 0);

    // A field of the wrong shape, and one the API does not know.
    let mut wrong = api_notice(
        "API 3/2026",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    wrong["recipients"][0]["mode"] = json!("carrier_pigeon");
    let response = post_notice(&app, &key, Some("v-2"), &wrong).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "recipients[0].mode");
    assert_eq!(problem["errors"][0]["code"], "malformed");
    let mut unknown = api_notice(
        "API 3/2026",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    unknown["priority"] = json!("high");
    let response = post_notice(&app, &key, Some("v-3"), &unknown).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("priority"));
    // A refused request leaves its key free for the corrected one.
    let mut fixed = body.clone();
    fixed["title"] = json!("Päätös");
    fixed["recipients"][0]["identity_code"] = json!(with_mailbox());
    assert_eq!(
        post_notice(&app, &key, Some("v-1"), &fixed).await.status(),
        201
    );
    assert_eq!(notice_count(&app).await, 1);
}

async fn concurrent_requests_with_one_key_queue_one_notice(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let (body, other) = a_notice_and_another_body("API 4/2026");
    let answers = futures_util::future::join_all((0..6).map(|_| async {
        let response = post_notice(&app, &key, Some("together"), &body).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }))
    .await;
    let created: Vec<&(u16, String)> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .collect();
    assert!(!created.is_empty(), "{answers:?}");
    let first: Value = serde_json::from_str(&created[0].1).unwrap();
    for (status, text) in &answers {
        assert_eq!(*status, 201, "{text}");
        let answer: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            answer["id"], first["id"],
            "every repeat answers with the one notice"
        );
    }
    assert_eq!(notice_count(&app).await, 1);

    // Two bodies under one key at once: one notice, the other body refused, whether the
    // refused one found the notice before composing or lost the race to queue it (several
    // keys at once, so both ways are taken).
    let pairs = futures_util::future::join_all((0..4).map(|n| {
        let (app, key, body, other) = (&app, &key, &body, &other);
        async move {
            let idempotency = format!("two-bodies-{n}");
            let (first, second) = tokio::join!(
                post_notice(app, key, Some(&idempotency), body),
                post_notice(app, key, Some(&idempotency), other)
            );
            let mut answers = Vec::new();
            for response in [first, second] {
                let status = response.status().as_u16();
                answers.push((status, response.json::<Value>().await.unwrap()));
            }
            answers.sort_by_key(|(status, _)| *status);
            answers
        }
    }))
    .await;
    for answers in pairs {
        assert_eq!(answers[0].0, 201, "{answers:?}");
        assert_eq!(answers[1].0, 422, "{answers:?}");
        assert_eq!(answers[1].1["type"], "/problems/idempotency-key-reused");
    }
    assert_eq!(notice_count(&app).await, 5);
    // Answered, and only the notice keeps the key: another body under it is refused by the
    // notice's record of the request, the same body answers with the notice.
    let queued: Value = post_notice(&app, &key, Some("answered"), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_the_key_answers_only_its_body(&app, &key, "answered", (&body, &other), &queued).await;
    assert_eq!(notice_count(&app).await, 6);
}

/// The race to queue, made to happen every time: the notices table is locked while two
/// requests with one key and two bodies pass the lookup of the key and wait to insert; when
/// it is let go, one queues and the other finds the notice only when its insert collides.
/// PostgreSQL only: it shows who waits for a lock (`pg_stat_activity`), SQLite does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_loser_of_the_race_to_queue_answers_as_a_repeat_would() {
    use sqlx::{Connection, Executor};
    let app = quiet_app(TestBackend::Postgres).await;
    let key = key(&app, "Asianhallinta").await;
    let (body, other) = a_notice_and_another_body("API 5/2026");
    for (idempotency, rival) in [("same-body", &body), ("other-body", &other)] {
        let mut lock = sqlx::PgConnection::connect(&app.database.url)
            .await
            .unwrap();
        lock.execute("BEGIN; LOCK TABLE notices IN EXCLUSIVE MODE")
            .await
            .unwrap();
        // Watched from a connection of its own: within the lock's transaction
        // `pg_stat_activity` would show the same snapshot every time.
        let mut watch = sqlx::PgConnection::connect(&app.database.url)
            .await
            .unwrap();
        let release_when_both_wait = async {
            let waiting = "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                 AND query LIKE 'INSERT INTO notices %'";
            let mut tries = 0;
            while sqlx::query_scalar::<_, i64>(waiting)
                .fetch_one(&mut watch)
                .await
                .unwrap()
                < 2
            {
                tries += 1;
                assert!(tries < 1000, "both requests should wait to insert");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            lock.execute("COMMIT").await.unwrap();
        };
        let (first, second, ()) = tokio::join!(
            post_notice(&app, &key, Some(idempotency), &body),
            post_notice(&app, &key, Some(idempotency), rival),
            release_when_both_wait
        );
        let mut answers = Vec::new();
        for response in [first, second] {
            let replayed = response.headers().contains_key("idempotent-replayed");
            let status = response.status().as_u16();
            answers.push((status, replayed, response.json::<Value>().await.unwrap()));
        }
        answers.sort_by_key(|(status, replayed, _)| (*status, *replayed));
        if rival == &body {
            assert_eq!(
                (answers[0].0, answers[0].1, answers[1].0, answers[1].1),
                (201, false, 201, true),
                "{answers:?}"
            );
            assert_eq!(answers[0].2["id"], answers[1].2["id"]);
            assert_eq!(answers[1].2["deliveries"], answers[0].2["deliveries"]);
        } else {
            assert_eq!((answers[0].0, answers[1].0), (201, 422), "{answers:?}");
            assert_eq!(answers[1].2["type"], "/problems/idempotency-key-reused");
        }
    }
    assert_eq!(notice_count(&app).await, 2);
}

/// Another body under the key is refused; the body that queued `queued` answers with it.
async fn assert_the_key_answers_only_its_body(
    app: &TestApp,
    key: &str,
    idempotency: &str,
    (body, other): (&Value, &Value),
    queued: &Value,
) {
    let refused = post_notice(app, key, Some(idempotency), other).await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");
    let again: Value = post_notice(app, key, Some(idempotency), body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], queued["id"]);
}

async fn notices_are_listed_a_page_at_a_time(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut body = api_notice(
            &format!("LIST {n}/2026"),
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        );
        if n == 2 {
            body["notice_type"] = json!("summons");
            body.as_object_mut().unwrap().remove("decision");
            body.as_object_mut().unwrap().remove("appeal_instructions");
        }
        let response = post_notice(&app, &key, Some(&format!("list-{n}")), &body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let queued: Value = response.json().await.unwrap();
        ids.push(queued["id"].as_str().unwrap().to_string());
    }
    let (status, first) = get_json(&app, &key, "/api/v1/notices?limit=2").await;
    assert_eq!(status, 200);
    let page: Vec<&str> = first["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec![ids[0].as_str(), ids[1].as_str()], "oldest first");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = get_json(
        &app,
        &key,
        &format!("/api/v1/notices?limit=2&cursor={cursor}"),
    )
    .await;
    assert_eq!(second["notices"].as_array().unwrap().len(), 1);
    assert_eq!(second["notices"][0]["id"], ids[2].as_str());
    assert!(second["next_cursor"].is_null());

    let (_, summons) = get_json(&app, &key, "/api/v1/notices?type=summons").await;
    assert_eq!(summons["notices"].as_array().unwrap().len(), 1);
    let (_, queued) = get_json(&app, &key, "/api/v1/notices?status=read").await;
    assert_eq!(queued["notices"].as_array().unwrap().len(), 0);
    let (status, problem) = get_json(&app, &key, "/api/v1/notices?cursor=garbage").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "cursor");
    let (status, _) = get_json(&app, &key, "/api/v1/notices?limit=0").await;
    assert_eq!(status, 422);
    let (status, _) = get_json(&app, &key, "/api/v1/notices?type=poem").await;
    assert_eq!(status, 400);

    // Another organisation's key lists nothing of ours.
    let theirs = foreign_key(&app).await;
    let (_, foreign) = get_json(&app, &theirs, "/api/v1/notices").await;
    assert_eq!(foreign["notices"].as_array().unwrap().len(), 0);
}

async fn the_change_feed_resumes_from_its_cursor(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let (status, empty) = get_json(&app, &key, "/api/v1/events").await;
    assert_eq!(status, 200);
    assert_eq!(empty["events"].as_array().unwrap().len(), 0);
    assert_eq!(empty["next_cursor"], "0");

    let body = api_notice(
        "FEED 1/2026",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    let queued: Value = post_notice(&app, &key, Some("feed-1"), &body)
        .await
        .json()
        .await
        .unwrap();
    let delivery: Uuid = queued["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    wait_sent(&app, delivery).await;

    let (_, first) = get_json(&app, &key, "/api/v1/events?limit=1").await;
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "delivery.queued");
    assert_eq!(events[0]["notice_id"], queued["id"]);
    assert_eq!(first["more"], true);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = get_json(&app, &key, &format!("/api/v1/events?cursor={cursor}")).await;
    let types: Vec<&str> = rest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"delivery.queued"),
        "nothing twice: {types:?}"
    );
    assert!(types.contains(&"delivery.submitted"), "{types:?}");
    let cursor = rest["next_cursor"].as_str().unwrap().to_string();

    // Suomi.fi's events land after the cursor.
    crate::notices::poller(&app).poll_once().await.unwrap();
    let (_, later) = get_json(&app, &key, &format!("/api/v1/events?cursor={cursor}")).await;
    let types: Vec<&str> = later["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        types
            .iter()
            .any(|t| *t == "delivery.suomifi_event" || *t == "delivery.legal_dates"),
        "{types:?}"
    );
    let seqs: Vec<i64> = later["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs[0] > cursor.parse::<i64>().unwrap());

    let (status, problem) = get_json(&app, &key, "/api/v1/events?cursor=-3").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "cursor");
    // Another organisation sees none of it.
    let theirs = foreign_key(&app).await;
    let (_, foreign) = get_json(&app, &theirs, "/api/v1/events").await;
    assert_eq!(foreign["events"].as_array().unwrap().len(), 0);
}

async fn delivery_actions_and_downloads_keep_to_the_organisation(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let pdf = a4_pdf("Liite");
    let document: Value = new_client()
        .post(app.url("/api/v1/documents?filename=liite.pdf"))
        .bearer_auth(&key)
        .body(pdf.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body = api_notice(
        "ACT 1/2026",
        vec![recipient("Maija", Some(&with_mailbox()), "multichannel")],
    );
    body["attachments"] = json!([document["id"]]);
    let queued: Value = post_notice(&app, &key, Some("act-1"), &body)
        .await
        .json()
        .await
        .unwrap();
    let id = queued["id"].as_str().unwrap();
    let delivery = queued["deliveries"][0]["id"].as_str().unwrap();

    let attachment = new_client()
        .get(app.url(&format!("/api/v1/notices/{id}/attachments/0")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(attachment.status(), 200);
    assert_eq!(attachment.bytes().await.unwrap().to_vec(), pdf);
    let letter = new_client()
        .get(app.url(&format!("/api/v1/notices/{id}/letter.pdf")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(letter.status(), 200);
    assert!(letter.bytes().await.unwrap().starts_with(b"%PDF"));

    // A letter of the notice's own text is made when first needed: the answer to queuing
    // names it without a hash yet, reading the notice renders it, the download is its bytes.
    let plain: Value = post_notice(
        &app,
        &key,
        Some("act-2"),
        &api_notice(
            "ACT 2/2026",
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let plain_id = plain["id"].as_str().unwrap();
    assert_eq!(
        plain["letter"]["href"],
        format!("/api/v1/notices/{plain_id}/letter.pdf")
    );
    assert_eq!(plain["letter"]["sha256"], Value::Null, "{plain}");
    let (status, read) = get_json(&app, &key, &format!("/api/v1/notices/{plain_id}")).await;
    assert_eq!(status, 200);
    let hash = read["letter"]["sha256"]
        .as_str()
        .expect("rendered when read");
    let letter = new_client()
        .get(app.url(&format!("/api/v1/notices/{plain_id}/letter.pdf")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&letter), hash);
    let (status, _) = get_json(&app, &key, &format!("/api/v1/notices/{id}/attachments/7")).await;
    assert_eq!(status, 404);

    // Neither action applies to a delivery on its way: a field problem, nothing changed.
    for action in ["retry", "reserve-on-paper"] {
        let response = new_client()
            .post(app.url(&format!("/api/v1/deliveries/{delivery}/{action}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409, "{action}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "delivery_id", "{action}");
    }

    let theirs = foreign_key(&app).await;
    let (status, _) = get_json(
        &app,
        &theirs,
        &format!("/api/v1/notices/{id}/attachments/0"),
    )
    .await;
    assert_eq!(status, 404);
    let foreign = new_client()
        .post(app.url(&format!("/api/v1/deliveries/{delivery}/retry")))
        .bearer_auth(&theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let unknown = new_client()
        .post(app.url(&format!("/api/v1/deliveries/{}/retry", Uuid::now_v7())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Without a key, nothing at all.
    let anonymous = new_client()
        .post(app.url("/api/v1/documents?filename=liite.pdf"))
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn every_route_is_in_the_openapi_document(backend: TestBackend) {
    let app = crate::helpers::spawn_app(backend).await;
    let document: Value = new_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: Vec<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    // Every handler under `/api/v1` in the sources is in the document...
    let sources = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api")).unwrap();
    let mut routes = Vec::new();
    for file in sources {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("#[utoipa::path(") {
            rest = &rest[start + 15..];
            let method = rest.split(',').next().unwrap().trim().to_uppercase();
            let path = rest
                .split("path = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            routes.push(format!("{method} {path}"));
        }
    }
    assert!(routes.len() >= 9, "{routes:?}");
    for route in &routes {
        assert!(
            documented.contains(route),
            "{route} is not documented: {documented:?}"
        );
    }
    // ...and the router serves no `/api/v1` route that skips it.
    let startup =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/startup.rs")).unwrap();
    assert!(
        !startup.contains("\"/api/v1/"),
        "register /api/v1 routes in api::documented()"
    );
    // Every answer of every operation is described, problems included.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} {path}");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
        }
    }
    let page = new_client()
        .get(app.url("/api/v1/reference"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for route in &routes {
        let (method, path) = route.split_once(' ').unwrap();
        assert!(
            page.contains(&format!("{method} {path}")),
            "{route} on the reference page"
        );
    }
}

async fn a_batch_over_the_api_queues_every_row_or_none(backend: TestBackend) {
    let app = crate::notices::paper_ready(backend, false).await;
    let key = key(&app, "Asianhallinta").await;
    let mut notice = api_notice("MASS 1/2027", Vec::new());
    notice.as_object_mut().unwrap().remove("recipients");
    let row = |n: u32, code: String| {
        let mut row = recipient(&format!("Vastaanottaja {n}"), Some(&code), "multichannel");
        row["case_reference"] = json!(format!("MASS {n}/2027"));
        row
    };
    let codes: Vec<String> = (0..5)
        .map(|n| crate::notices::hetu("150680", '-', 200 + n))
        .collect();
    let mut rows: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(n, code)| row(n as u32, code.clone()))
        .collect();
    rows[3]["identity_code"] = json!("150680-0000");
    let post = |idempotency: &'static str, body: Value| {
        let app = &app;
        let key = key.clone();
        async move {
            new_client()
                .post(app.url("/api/v1/batches"))
                .bearer_auth(&key)
                .header("Idempotency-Key", idempotency)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // A bad row: nothing queued, the row named by its index.
    let refused = post("b-1", json!({ "notice": notice, "rows": rows })).await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "rows[3].identity_code"),
        "{problem}"
    );
    assert_eq!(notice_count(&app).await, 0);
    // A dry run of the fixed rows says what would go, and queues nothing.
    rows[3]["identity_code"] = json!(crate::notices::hetu("150680", '-', 299));
    let dry = post(
        "b-2",
        json!({ "notice": notice, "rows": rows, "dry_run": true }),
    )
    .await;
    assert_eq!(dry.status(), 200);
    let checked: Value = dry.json().await.unwrap();
    assert_eq!(checked["rows_good"], 5);
    assert_eq!(checked["modes"]["multichannel"], 5);
    assert_eq!(notice_count(&app).await, 0);
    // Sent: every row once, also when asked twice at once (the second waits: a batch is
    // made anew each time it runs) and again after.
    let batches_before = app
        .store
        .batches(app.organisation.id, 100)
        .await
        .unwrap()
        .len();
    let (one, other) = tokio::join!(
        post("b-1", json!({ "notice": notice, "rows": rows })),
        post("b-1", json!({ "notice": notice, "rows": rows }))
    );
    let waited = |answer: &reqwest::Response| {
        answer.status() == 409 || answer.headers().contains_key("idempotent-replayed")
    };
    let (sent, twin) = if waited(&one) {
        (other, one)
    } else {
        (one, other)
    };
    assert_eq!(sent.status(), 201);
    assert!(
        matches!(twin.status().as_u16(), 201 | 409),
        "{}",
        twin.status()
    );
    assert_eq!(
        app.store
            .batches(app.organisation.id, 100)
            .await
            .unwrap()
            .len(),
        batches_before + 1,
        "one batch made"
    );
    let batch: Value = sent.json().await.unwrap();
    let again = post("b-1", json!({ "notice": notice, "rows": rows })).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let id = batch["id"].as_str().unwrap();
    assert_eq!(
        again.headers()["location"],
        format!("/api/v1/batches/{id}").as_str()
    );
    // An answer cut off before it was kept (a kill, a dropped connection): the batch that
    // request confirmed is the answer, not a second batch.
    forget_kept_answers(&app).await;
    let after_cut = post("b-1", json!({ "notice": notice, "rows": rows })).await;
    assert_eq!(after_cut.status(), 201);
    let after_cut: Value = after_cut.json().await.unwrap();
    assert_eq!(after_cut["id"], batch["id"]);
    assert_eq!(
        app.store
            .batches(app.organisation.id, 100)
            .await
            .unwrap()
            .len(),
        batches_before + 1,
        "still one batch"
    );
    let started = std::time::Instant::now();
    loop {
        let (status, now) = get_json(&app, &key, &format!("/api/v1/batches/{id}")).await;
        assert_eq!(status, 200);
        if now["rows_done"] == 5 {
            assert_eq!(now["counts"]["queued"], 5);
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(notice_count(&app).await, 5);
    let theirs = foreign_key(&app).await;
    let (status, _) = get_json(&app, &theirs, &format!("/api/v1/batches/{id}")).await;
    assert_eq!(status, 404);
}

/// Migration 24's backfill: a notice queued over the API before notices kept their request's
/// hash takes the hash its key's answer kept, so another body under the key is refused from
/// then on. Until then (no hash) a repeat is taken as the request that queued it.
async fn a_notice_queued_before_request_hashes_were_kept_takes_its_keys_record(
    backend: TestBackend,
) {
    let app = quiet_app(backend).await;
    let key = key(&app, "Asianhallinta").await;
    let (body, other) = a_notice_and_another_body("API 24/2026");
    let queued: Value = post_notice(&app, &key, Some("legacy"), &body)
        .await
        .json()
        .await
        .unwrap();

    // As the notice was before migration 24, with its key's answer kept beside it.
    execute(&app, "UPDATE notices SET request_sha256 = NULL").await;
    let answered = tiedoksi::api::idempotency::request_sha256(&body);
    execute(
        &app,
        &format!(
            "INSERT INTO api_requests \
             (api_key_id, idempotency_key, request_sha256, response_status, response_body, created_at) \
             SELECT id, 'legacy', '{answered}', 201, '{{}}', created_at FROM api_keys"
        ),
    )
    .await;
    let unrecorded = post_notice(&app, &key, Some("legacy"), &other).await;
    assert_eq!(unrecorded.status(), 201);
    let unrecorded: Value = unrecorded.json().await.unwrap();
    assert_eq!(unrecorded["id"], queued["id"]);

    let (on_sqlite, on_postgres) = (
        include_str!("../../../migrations/sqlite/20261130000024_notice_request_hash.sql"),
        include_str!("../../../migrations/postgres/20261130000024_notice_request_hash.sql"),
    );
    let migration = if app.database.url.starts_with("sqlite") {
        on_sqlite
    } else {
        on_postgres
    };
    let backfill = &migration[migration.find("UPDATE notices").unwrap()..];
    execute(&app, backfill).await;

    assert_the_key_answers_only_its_body(&app, &key, "legacy", (&body, &other), &queued).await;
    assert_eq!(notice_count(&app).await, 1);
}
