//! `make bench`: sending to many on the embedded defaults (SQLite, the in-process simulator,
//! pacing off). A 10 000-row CSV: rows per second checked (the dry run) and queued (each row
//! its own notice, its paper letter frozen to be rendered when first needed, by the outbox
//! worker) — and a 100 000-row file's dry run, with how much the process's peak memory grew
//! while it streamed.
//! Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use tiedoksi::config::Config;
use tiedoksi::startup::Application;

const ROWS: usize = 10_000;
const LARGE_ROWS: usize = 100_000;
const PASSWORD: &str = "bench-admin-password";

fn hetu(n: usize) -> String {
    // Days 01–28 of 1980's months, individual numbers 002–899: distinct adults.
    let day = n % 28 + 1;
    let month = (n / 28) % 12 + 1;
    let individual = n / (28 * 12) + 2;
    let date = format!("{day:02}{month:02}80");
    let number: u64 = format!("{date}{individual:03}").parse().unwrap();
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    format!("{date}-{individual:03}{check}")
}

fn csv(rows: usize) -> String {
    let mut text = String::from("tunnus;nimi;katuosoite;postinumero;postitoimipaikka;asianumero\n");
    for n in 0..rows {
        text.push_str(&format!(
            "{};Vastaanottaja {n};Esimerkkikatu {n};00100;Helsinki;DNRO {n}/2027\n",
            hetu(n)
        ));
    }
    text
}

/// The process's peak resident memory so far, in MB (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn upload(client: &reqwest::Client, base: &str, template: &str, text: String) -> String {
    let form = reqwest::multipart::Form::new()
        .text("template", template.to_string())
        .text("case_reference", "DNRO 1/2027")
        .text("mode", "multichannel")
        .part(
            "file",
            reqwest::multipart::Part::bytes(text.into_bytes()).file_name("vastaanottajat.csv"),
        );
    let response = client
        .post(format!("{base}/batches"))
        .header("Origin", base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let to = response.headers()["location"].to_str().unwrap().to_string();
    to.trim_start_matches("/batches/").to_string()
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
    config.worker.events_interval = Duration::from_secs(3600);
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.address());
    let store = app.store();
    tokio::spawn(app.run_until(std::future::pending()));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
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
    let template = client
        .post(format!("{base}/admin/templates"))
        .header("Origin", &base)
        .form(&[
            ("name", "Joukkokutsu"),
            ("notice_type", "summons"),
            ("language", "fi"),
            ("title", "Kutsu {{asianumero}}"),
            ("body", "Hei {{vastaanottaja}}, tervetuloa."),
        ])
        .send()
        .await
        .unwrap();
    let template = template.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/admin/templates/")
        .to_string();

    let text = csv(ROWS);
    let bytes = text.len();
    let started = Instant::now();
    let batch = upload(&client, &base, &template, text).await;
    let checked_in = started.elapsed();
    let organisation = store.organisations().await.unwrap()[0].id;
    let id = uuid::Uuid::parse_str(&batch).unwrap();
    let checked = store.batch(organisation, id).await.unwrap().unwrap();
    assert_eq!(checked.rows_good as usize, ROWS, "every row is good");

    let started = Instant::now();
    let confirmed = client
        .post(format!("{base}/batches/{batch}/confirm"))
        .header("Origin", &base)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let confirmed_in = started.elapsed();
    loop {
        let counts = store.batch_counts(id).await.unwrap();
        let done: i64 = counts
            .iter()
            .filter(|(k, _)| k == "queued" || k == "failed")
            .map(|(_, n)| n)
            .sum();
        if done as usize == ROWS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let queued_in = started.elapsed();

    let before = peak_rss_mb();
    let large = csv(LARGE_ROWS);
    let large_bytes = large.len();
    let with_file = peak_rss_mb();
    let started = Instant::now();
    let _ = upload(&client, &base, &template, large).await;
    let large_in = started.elapsed();
    let after = peak_rss_mb();

    println!("sending to many (SQLite, in-process simulator, no pacing)");
    println!(
        "  {ROWS}-row CSV ({:.1} MB): dry run {:.2} s ({:.0} rows/s checked, kept sealed)",
        bytes as f64 / 1e6,
        checked_in.as_secs_f64(),
        ROWS as f64 / checked_in.as_secs_f64()
    );
    println!(
        "  confirming: {:.0} ms (one transaction, {ROWS} outbox jobs)",
        confirmed_in.as_secs_f64() * 1000.0
    );
    println!(
        "  queued as notices (each letter frozen, rendered when needed): {:.1} s ({:.0} rows/s)",
        queued_in.as_secs_f64(),
        ROWS as f64 / queued_in.as_secs_f64()
    );
    println!(
        "  {LARGE_ROWS}-row CSV ({:.1} MB): dry run {:.2} s ({:.0} rows/s); peak memory {:.0} MB before, {:.0} MB with the file built in this process, {:.0} MB after",
        large_bytes as f64 / 1e6,
        large_in.as_secs_f64(),
        LARGE_ROWS as f64 / large_in.as_secs_f64(),
        before,
        with_file,
        after
    );
}
