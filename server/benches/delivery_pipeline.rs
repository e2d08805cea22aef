//! `make bench`: the whole pipeline as a caseworker and an operator see it, on the embedded
//! defaults (SQLite, the in-process simulator, pacing off so the figure is ours, not the cap):
//! how long queuing a notice takes through `/api/send_notice` (checks, mailbox check, paper
//! letter, one transaction), and how fast the worker then gets every delivery to Suomi.fi.
//! Prints figures; asserts nothing about speed. `BENCH_CONCURRENCY=n` sets the worker's
//! concurrency (the default is the configuration's).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tiedoksi::config::Config;
use tiedoksi::startup::Application;

const NOTICES: usize = 400;
const CONCURRENCY: usize = 8;
const PASSWORD: &str = "bench-admin-password";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn draft(n: usize) -> serde_json::Value {
    // Odd individual numbers have a mailbox in the simulator; half go electronic only, half
    // multichannel to someone without a mailbox, so on paper.
    let (individual, mode) = if n.is_multiple_of(2) {
        (903, "electronic_only")
    } else {
        (904, "multichannel")
    };
    let number: u64 = format!("150680{individual}").parse().unwrap();
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    json!({
        "draft": {
            "idempotency_key": format!("bench-{n}"),
            "notice_type": "decision",
            "case_reference": format!("DNRO {n}/2026"),
            "title": "Päätös toimeentulotuesta",
            "body": "Hakemuksenne on hyväksytty. Perustelut ovat alla.\n\n".repeat(20),
            "language": "fi",
            "appeal_instructions": "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
            "verifiable": false,
            "decision": {
                "decision_date": "2026-11-27",
                "decision_maker": "Sosiaalijohtaja",
                "contact_person": "Liisa Käsittelijä, 09 123 4567",
            },
            "recipients": [{
                "role": "party",
                "name": format!("Vastaanottaja {n}"),
                "identity_code": format!("150680-{individual}{check}"),
                "address": {
                    "name": format!("Vastaanottaja {n}"),
                    "street_address": "Mannerheimintie 1",
                    "zip_code": "00100",
                    "city": "Helsinki",
                    "country_code": "FI",
                },
                "mode": mode,
            }],
        }
    })
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.admin_password = Some(PASSWORD.to_string().into());
    config.data_key = Some(tiedoksi::secrets::DataKey::generate());
    config.blob_dir = dir.path().join("blobs").display().to_string();
    config.suomifi.requests_per_second = 0;
    config.pdf.worker = Some(env!("CARGO_BIN_EXE_tiedoksi").to_string());
    config.worker.idle = Duration::from_millis(20);
    config.worker.concurrency = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(config.worker.concurrency);
    config.worker.events_interval = Duration::from_secs(3600);
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.address());
    let store = app.store();
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/api/login"))
        .header("Origin", &base)
        .header("Accept", "application/json")
        .form(&[
            ("email", tiedoksi::bootstrap::FIRST_ADMIN_EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "bench sign-in");
    let client = Arc::new(client);

    let admin = store
        .user_by_email(tiedoksi::bootstrap::FIRST_ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let key = tiedoksi::api::keys::create_key(&store, admin.organisation_id, "bench", "bench")
        .await
        .unwrap()
        .secret;
    let api = Arc::new(reqwest::Client::new());

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (client, api, base, key) = (client.clone(), api.clone(), base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = (Vec::new(), Vec::new());
            for n in (worker..NOTICES).step_by(CONCURRENCY) {
                // Half through the compose page's server function, half through /api/v1.
                let one = Instant::now();
                let response = if n % 4 < 2 {
                    client
                        .post(format!("{base}/api/send_notice"))
                        .header("Origin", &base)
                        .header("Accept", "application/json")
                        .json(&draft(n))
                        .send()
                        .await
                        .unwrap()
                } else {
                    let mut body = draft(n)["draft"].clone();
                    body.as_object_mut().unwrap().remove("idempotency_key");
                    api.post(format!("{base}/api/v1/notices"))
                        .bearer_auth(&key)
                        .header("Idempotency-Key", format!("bench-api-{n}"))
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                };
                let status = response.status().as_u16();
                assert!(
                    status == 200 || status == 201,
                    "{}",
                    response.text().await.unwrap()
                );
                if n % 4 < 2 {
                    latencies.0.push(one.elapsed());
                } else {
                    latencies.1.push(one.elapsed());
                }
            }
            latencies
        }));
    }
    let (mut latencies, mut api_latencies) = (Vec::new(), Vec::new());
    for task in tasks {
        let (page, api) = task.await.unwrap();
        latencies.extend(page);
        api_latencies.extend(api);
    }
    let queued_in = started.elapsed();
    latencies.sort();
    api_latencies.sort();

    loop {
        let counts = store.delivery_status_counts().await.unwrap();
        let waiting: i64 = counts
            .iter()
            .filter(|(status, _)| status == "queued")
            .map(|(_, n)| n)
            .sum();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_sent_in = started.elapsed();

    println!("delivery pipeline (SQLite, in-process simulator, no pacing)");
    println!(
        "  notices:        {NOTICES} ({CONCURRENCY} concurrent callers; half electronic, half multichannel on paper)"
    );
    println!(
        "  queuing:        {:.0} notices/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms per request",
        NOTICES as f64 / queued_in.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.95).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
    );
    println!(
        "  all at Suomi.fi: {:.2} s after the first request ({:.0} deliveries/s end to end)",
        all_sent_in.as_secs_f64(),
        NOTICES as f64 / all_sent_in.as_secs_f64()
    );
    let ms = |sorted: &[Duration], p: f64| percentile(sorted, p).as_secs_f64() * 1000.0;
    for (name, sorted) in [("server_function", &latencies), ("api", &api_latencies)] {
        println!("compose_{name}_p50 {:.1} ms", ms(sorted, 0.50));
        println!("compose_{name}_p95 {:.1} ms", ms(sorted, 0.95));
        println!("compose_{name}_p99 {:.1} ms", ms(sorted, 0.99));
    }
    println!(
        "compose_end_to_end {:.0} deliveries/s",
        NOTICES as f64 / all_sent_in.as_secs_f64()
    );
}
