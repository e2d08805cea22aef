//! `/metrics`: Prometheus text on its own listener, never the public port, read by a parser
//! nobody here wrote (prometheus_client, PyPI): requests by route (never an id in a label),
//! the outbox by state and the deliveries by status.

use std::io::Write;

use crate::helpers::{spawn_app_with, TestBackend};
use crate::notices::{draft, queued, recipient, wait_sent, with_mailbox};
use crate::on_both_backends;

on_both_backends!(metrics_are_prometheus_text_on_their_own_listener,);

/// The families and samples prometheus_client's parser reads from `text`, one per line:
/// `family name{labels} value`.
fn parsed(text: &str) -> Vec<String> {
    let mut child = std::process::Command::new(crate::smtp::test_python())
        .args([
            "-c",
            "import sys\n\
             from prometheus_client.parser import text_string_to_metric_families\n\
             for family in text_string_to_metric_families(sys.stdin.read()):\n\
             \x20   for sample in family.samples:\n\
             \x20       labels = ','.join(f'{k}={v}' for k, v in sorted(sample.labels.items()))\n\
             \x20       print(family.name, f'{sample.name}{{{labels}}}', sample.value)\n",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser refused the text: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

async fn metrics_are_prometheus_text_on_their_own_listener(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
        config.worker.idle = std::time::Duration::from_millis(20);
    })
    .await;
    app.login_as_admin().await;
    let notice = queued(
        &app,
        &draft(
            "metrics",
            vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
        ),
    )
    .await;
    let delivery = crate::notices::delivery_ids(&notice)[0];
    wait_sent(&app, delivery).await;
    let id = notice["notice_id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/notices/{id}")).await.status(), 200);

    // Not on the public port.
    assert_eq!(app.get("/metrics").await.status(), 404);
    let address = app.metrics_address.expect("the metrics listener");
    let answer = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = answer.text().await.unwrap();
    let samples = parsed(&text);
    let has = |prefix: &str| samples.iter().any(|line| line.starts_with(prefix));
    assert!(
        has("tiedoksi_http_requests tiedoksi_http_requests_total{method=GET,route=/notices/:id,status=200}")
            || has("tiedoksi_http_requests tiedoksi_http_requests_total{method=GET,route=/notices/{id},status=200}"),
        "{samples:#?}"
    );
    assert!(has(
        "tiedoksi_http_request_duration_seconds tiedoksi_http_request_duration_seconds_bucket{"
    ));
    assert!(
        has("tiedoksi_outbox_jobs tiedoksi_outbox_jobs{state=done}"),
        "{samples:#?}"
    );
    assert!(
        has("tiedoksi_deliveries tiedoksi_deliveries{status=sent}")
            || has("tiedoksi_deliveries tiedoksi_deliveries{status=delivered_electronically}"),
        "{samples:#?}"
    );
    assert!(has("tiedoksi_outbox_oldest_pending_seconds "));
    // Suomi.fi calls by endpoint and outcome, timed; the job that made them, settled.
    assert!(
        has("tiedoksi_suomifi_requests tiedoksi_suomifi_requests_total{endpoint=electronic,outcome=ok}"),
        "{samples:#?}"
    );
    assert!(has(
        "tiedoksi_suomifi_requests tiedoksi_suomifi_requests_total{endpoint=token,outcome=ok}"
    ));
    assert!(has(
        "tiedoksi_suomifi_request_duration_seconds tiedoksi_suomifi_request_duration_seconds_bucket{endpoint=electronic,"
    ));
    assert!(
        has("tiedoksi_outbox_jobs_settled tiedoksi_outbox_jobs_settled_total{kind=send_delivery,outcome=done}"),
        "{samples:#?}"
    );
    assert!(has(
        "tiedoksi_suomifi_services_credentials_refused tiedoksi_suomifi_services_credentials_refused{} 0.0"
    ));
    // The example dashboard and alert rules ask only for what is there.
    let operations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations");
    for document in ["alerts.yml", "grafana-dashboard.json"] {
        let text_of_document = std::fs::read_to_string(operations.join(document)).unwrap();
        for name in metric_names(&text_of_document) {
            let family = name.trim_end_matches("_bucket");
            assert!(
                text.contains(family),
                "{document} uses {name}, which /metrics does not show"
            );
        }
    }
    assert!(!text.contains(id), "ids are never labels");
    assert!(!text.contains(&with_mailbox()), "no identity code");
}

/// Every `tiedoksi_…` metric name a document mentions.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("tiedoksi_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}
