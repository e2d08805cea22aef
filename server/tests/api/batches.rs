//! Sending to many: a recipients file is checked first (bad rows with their spreadsheet row
//! numbers, good rows per mode, the same file again pointed out), nothing is queued until
//! confirmed, and every good row becomes exactly one notice — also when a row's job runs twice.

use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::accounts::{location, post_as};
use crate::helpers::{TestApp, TestBackend};
use crate::notices::{hetu, paper_ready};
use crate::on_both_backends;
use crate::templates::add_template;

on_both_backends!(
    a_file_is_checked_then_each_good_row_is_sent_once,
    a_file_that_cannot_be_used_queues_nothing,
);

/// A CSV of `good` recipients with `bad` broken ones among them (every tenth row from the
/// second), as the example file writes it.
pub(crate) fn recipients_csv(good: usize, bad: &[usize]) -> String {
    let mut text = String::from("tunnus;nimi;katuosoite;postinumero;postitoimipaikka;asianumero\n");
    let mut individual = 100;
    for n in 0..good + bad.len() {
        individual += 1;
        let code = if bad.contains(&n) {
            "150680-0000".to_string()
        } else {
            hetu("150680", '-', individual)
        };
        text.push_str(&format!(
            "{code};Vastaanottaja {n};Esimerkkikatu {n};00100;Helsinki;DNRO {n}/2027\n"
        ));
    }
    text
}

async fn upload(app: &TestApp, template: Uuid, filename: &str, content: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("template", template.to_string())
        .text("case_reference", "DNRO 1/2027")
        .text("decision_date", "2026-11-27")
        .text("mode", "multichannel")
        .part(
            "file",
            reqwest::multipart::Part::bytes(content.as_bytes().to_vec())
                .file_name(filename.to_string())
                .mime_str("text/csv")
                .unwrap(),
        );
    app.client
        .post(app.url("/batches"))
        .header("Origin", app.origin())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn batch_id(response: &reqwest::Response) -> Uuid {
    let to = location(response);
    Uuid::parse_str(
        to.strip_prefix("/batches/")
            .unwrap_or_else(|| panic!("to the batch: {to}")),
    )
    .unwrap()
}

async fn notice_count(app: &TestApp) -> usize {
    app.store
        .notice_summaries(app.organisation.id, 10_000)
        .await
        .unwrap()
        .len()
}

async fn a_file_is_checked_then_each_good_row_is_sent_once(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let template = add_template(
        &app,
        "Massapäätös",
        "Päätös {{asianumero}}",
        "Hyvä {{vastaanottaja}}.",
    )
    .await;
    let csv = recipients_csv(40, &[3, 17]);

    let checked = upload(&app, template, "vastaanottajat.csv", &csv).await;
    assert_eq!(checked.status(), 303);
    let id = batch_id(&checked);
    let batch = app
        .store
        .batch(app.organisation.id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.status, "checked");
    assert_eq!((batch.rows_total, batch.rows_good), (42, 40));
    assert_eq!(batch.notice_problems, "[]");
    assert!(
        batch.modes.contains("\"multichannel\":40"),
        "{}",
        batch.modes
    );
    assert_eq!(
        notice_count(&app).await,
        0,
        "nothing is queued by the dry run"
    );

    // The report names the bad rows by their spreadsheet numbers (header = row 1).
    let page = app
        .get(&format!("/batches/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let bad = app
        .store
        .batch_rows(id, Some("invalid"), 0, 100)
        .await
        .unwrap();
    let numbers: Vec<i64> = bad.iter().map(|row| row.row_number).collect();
    assert_eq!(numbers, vec![5, 19]);
    assert!(
        bad[0].problems.contains("identity_code"),
        "{}",
        bad[0].problems
    );
    assert!(
        page.contains("data-testid=\"batch-confirm\""),
        "the confirm button"
    );
    assert!(
        page.contains("data-testid=\"public-notice-hint\""),
        "over 30: HL 55 § pointed out"
    );
    assert!(!page.contains("150680-1"), "no identity code on the page");

    // The same file again is pointed out.
    let again = batch_id(&upload(&app, template, "uudestaan.csv", &csv).await);
    let report = app
        .get(&format!("/batches/{again}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(report.contains("data-testid=\"same-file\""));
    let cancelled = post_as(&app, &app.client, &format!("/batches/{again}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), 303);

    let confirmed = post_as(&app, &app.client, &format!("/batches/{id}/confirm"), &[]).await;
    assert_eq!(location(&confirmed), format!("/batches/{id}"));
    // Confirming twice queues nothing more.
    let twice = post_as(&app, &app.client, &format!("/batches/{id}/confirm"), &[]).await;
    assert!(location(&twice).contains("problem=not_confirmable"));

    let started = Instant::now();
    loop {
        let counts = app.store.batch_counts(id).await.unwrap();
        let queued = counts
            .iter()
            .find(|(k, _)| k == "queued")
            .map(|(_, n)| *n)
            .unwrap_or(0);
        if queued == 40 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "queuing: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(notice_count(&app).await, 40);
    // A row's job run again (a crash before it was marked) queues nothing new.
    let row = app
        .store
        .batch_rows(id, Some("queued"), 0, 1)
        .await
        .unwrap()
        .remove(0);
    let sealed_gone = app.store.batch_row(row.id).await.unwrap().unwrap();
    assert!(
        sealed_gone.recipient_sealed.is_none(),
        "a queued row keeps no identity code"
    );
    // Each notice got its own case reference and name filled in.
    let notice = app
        .store
        .notice(app.organisation.id, row.notice_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice.title,
        format!("Päätös DNRO {}/2027", row.row_number - 2)
    );
    assert!(notice
        .body
        .contains(&format!("Hyvä Vastaanottaja {}.", row.row_number - 2)));

    // The results list every row.
    let results = app
        .get(&format!("/batches/{id}/results.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(results.lines().count(), 43, "a header and 42 rows");
    assert!(!results.contains("150680-1"), "masked codes only");
    let actions = app.audit_actions().await;
    for action in [
        "batch.checked",
        "batch.confirmed",
        "batch.cancelled",
        "batch.results_read",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

async fn a_file_that_cannot_be_used_queues_nothing(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let template = add_template(&app, "Massapäätös", "Päätös", "Teksti.").await;
    let no_name = batch_id(
        &upload(
            &app,
            template,
            "lista.csv",
            "tunnus;osoite\n150680-9039;Katu 1\n",
        )
        .await,
    );
    let batch = app
        .store
        .batch(app.organisation.id, no_name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.status, "cancelled");
    let problem: Value = serde_json::from_str(batch.file_problem.as_deref().unwrap()).unwrap();
    assert_eq!(problem["problem"], "missing_column");
    assert_eq!(problem["column"], "nimi");
    let refused = post_as(
        &app,
        &app.client,
        &format!("/batches/{no_name}/confirm"),
        &[],
    )
    .await;
    assert!(location(&refused).contains("problem=not_confirmable"));

    let word = upload(&app, template, "lista.docx", "tunnus;nimi\n").await;
    assert!(location(&word).contains("problem=file_type"));
    let latin1 = {
        let form = reqwest::multipart::Form::new()
            .text("template", template.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"tunnus;nimi\n150680-9039;M\xe4kinen\n".to_vec())
                    .file_name("lista.csv"),
            );
        app.client
            .post(app.url("/batches"))
            .header("Origin", app.origin())
            .multipart(form)
            .send()
            .await
            .unwrap()
    };
    let latin1 = app
        .store
        .batch(app.organisation.id, batch_id(&latin1))
        .await
        .unwrap()
        .unwrap();
    assert!(latin1.file_problem.unwrap().contains("not_utf8"));
    assert_eq!(notice_count(&app).await, 0);
}
