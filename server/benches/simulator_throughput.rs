//! `make bench`: the simulator's raw throughput for one message with a 100 KB PDF (upload +
//! send), through our own client over real HTTP on loopback. The ceiling later delivery-
//! pipeline benchmarks compare against. Prints figures; asserts nothing about speed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tiedoksi::suomifi::model::{
    AttachmentRef, BodyFormat, ElectronicMessage, ElectronicPart, MessageServiceType,
    Notifications, Recipient, ReplyAllowedBy, Sender, Visibility,
};
use tiedoksi::suomifi::sim::{self, SimConfig};
use tiedoksi::suomifi::{SuomiFiClient, SuomiFiSettings};

const MESSAGES: usize = 2_000;
const CONCURRENCY: usize = 8;
const PDF_BYTES: usize = 100 * 1024;

fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(PDF_BYTES, b'0');
    bytes
}

fn message(n: usize, attachment: AttachmentRef) -> ElectronicMessage {
    ElectronicMessage {
        external_id: format!("bench-{n}"),
        recipient: Recipient {
            id: "010594Y9032".into(),
        },
        sender: Sender {
            service_id: "sim-service".into(),
        },
        electronic: ElectronicPart {
            title: "Päätös".into(),
            body: "Päätös liitteenä.".into(),
            body_format: BodyFormat::Text,
            message_service_type: MessageServiceType::Normal,
            reply_allowed_by: ReplyAllowedBy::NoOne,
            visibility: Some(Visibility::Normal),
            attachments: vec![attachment],
            notifications: Notifications::default(),
            in_reply_to_message_id: None,
        },
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let running = sim::spawn(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator");
    let settings = SuomiFiSettings::new(
        &running.base_url(),
        "sim-user",
        "sim-password",
        "sim-service",
    );
    let client = Arc::new(SuomiFiClient::new(settings).unwrap());
    let pdf = Arc::new(pdf());

    // Warm up the token and the connection pool.
    client
        .upload_attachment("warmup.pdf", "application/pdf", pdf.to_vec())
        .await
        .unwrap();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let client = client.clone();
        let pdf = pdf.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (worker..MESSAGES).step_by(CONCURRENCY) {
                let one = Instant::now();
                let id = client
                    .upload_attachment("paatos.pdf", "application/pdf", pdf.to_vec())
                    .await
                    .unwrap();
                client
                    .send_electronic(&message(n, AttachmentRef { attachment_id: id }))
                    .await
                    .unwrap();
                latencies.push(one.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();

    println!("simulator throughput: upload 100 KB PDF + send electronic message");
    println!("  messages:     {MESSAGES} ({CONCURRENCY} concurrent)");
    println!("  wall time:    {:.2} s", elapsed.as_secs_f64());
    println!(
        "  throughput:   {:.0} messages/s",
        MESSAGES as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency p50:  {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0
    );
    println!(
        "  latency p95:  {:.2} ms",
        percentile(&latencies, 0.95).as_secs_f64() * 1000.0
    );
    println!(
        "  latency p99:  {:.2} ms",
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
}
