//! `make bench`: how soon a fresh installation is useful — the built binary started on an
//! empty database (SQLite, built-in simulator) until `/readyz` answers 200, and until the first
//! notice queued through the integration API has reached Suomi.fi. Prints `name value unit`
//! lines; asserts nothing about speed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::main]
async fn main() {
    let binary = env!("CARGO_BIN_EXE_tiedoksi");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |command: &mut Command| {
        command
            .env(
                "TIEDOKSI_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("tiedoksi.db").display()),
            )
            .env("TIEDOKSI_DATA_KEY_FILE", dir.path().join("data.key"))
            .env("TIEDOKSI_BLOB_DIR", dir.path().join("blobs"))
            .env("TIEDOKSI_ADMIN_PASSWORD", "fresh-start-password")
            .env("TIEDOKSI_ADDR", format!("127.0.0.1:{port}"))
            .env("TIEDOKSI_EVENTS_POLL_SECONDS", "1");
    };

    let started = Instant::now();
    let mut server = Command::new(binary);
    env(&mut server);
    let mut server = server
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    loop {
        if let Ok(answer) = client.get(format!("{base}/readyz")).send().await {
            if answer.status() == 200 {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready_in = started.elapsed();

    let mut make_key = Command::new(binary);
    env(&mut make_key);
    let made = make_key
        .args([
            "api-keys",
            "create",
            "--organisation",
            "Demo-organisaatio",
            "--name",
            "bench",
        ])
        .output()
        .unwrap();
    let printed =
        String::from_utf8_lossy(&made.stdout).to_string() + &String::from_utf8_lossy(&made.stderr);
    let key = printed
        .split_whitespace()
        .find(|word| word.starts_with("tdk_"))
        .expect("the key is printed")
        .to_string();
    let number: u64 = "150680903".parse().unwrap();
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    let queued = client
        .post(format!("{base}/api/v1/notices"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "fresh-start")
        .json(&json!({
            "notice_type": "notification",
            "case_reference": "DNRO 1/2027",
            "title": "Ilmoitus",
            "body": "Tiedoksi.",
            "verifiable": false,
            "recipients": [{
                "role": "party",
                "name": "Maija Meikäläinen",
                "identity_code": format!("150680-903{check}"),
                "mode": "electronic_only",
            }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 201, "{}", queued.text().await.unwrap());
    let notice: serde_json::Value = queued.json().await.unwrap();
    let id = notice["id"].as_str().unwrap().to_string();
    loop {
        let read: serde_json::Value = client
            .get(format!("{base}/api/v1/notices/{id}"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if read["deliveries"][0]["suomifi_message_id"].is_i64() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never delivered"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered_in = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    println!("fresh start (release binary, empty SQLite database, built-in simulator)");
    println!("fresh_start_ready {:.3} s", ready_in.as_secs_f64());
    println!(
        "fresh_start_first_notice_at_suomifi {:.3} s",
        delivered_in.as_secs_f64()
    );
}
