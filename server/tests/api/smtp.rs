//! The SMTP bridge driven by clients nobody here wrote: Python's smtplib and email (see
//! `tests/smtp/clients.py`). Tiedoksi runs with the bridge on and its own worker; each mail's
//! SMTP answer comes from Python, and what became of it is read from the store and the
//! simulator.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tiedoksi::store::InboundMail;

use crate::helpers::{spawn_app_with, TestApp, TestBackend};
use crate::on_both_backends;

async fn smtp_app(backend: TestBackend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.smtp.addr = Some("127.0.0.1:0".parse().unwrap());
        config.worker.idle = Duration::from_millis(20);
    })
    .await
}

/// Runs the named cases (all when empty); the answers by case.
fn run_clients(app: &TestApp, cases: &[&str]) -> HashMap<String, Value> {
    run_clients_with(app, cases, &[])
}

fn run_clients_with(app: &TestApp, cases: &[&str], extra: &[&str]) -> HashMap<String, Value> {
    let certificate = app.blob_dir.path().join("smtp-certificate.pem");
    std::fs::write(&certificate, app.smtp_certificate.as_deref().unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/clients.py");
    let mut command = std::process::Command::new("python3");
    command
        .arg(script)
        .arg("--port")
        .arg(app.smtp_address.unwrap().port().to_string())
        .arg("--cafile")
        .arg(&certificate);
    for case in cases {
        command.arg("--case").arg(case);
    }
    command.args(extra);
    let output = command.output().expect("python3 runs");
    assert!(
        output.status.success(),
        "the clients failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let answer: Value = serde_json::from_str(line).unwrap();
            (answer["case"].as_str().unwrap().to_string(), answer)
        })
        .collect()
}

fn code(answers: &HashMap<String, Value>, case: &str) -> u64 {
    answers[case]["code"].as_u64().unwrap()
}

/// Waits until every accepted mail is settled (a notice, or refused with a reason).
async fn settled_mails(app: &TestApp, expected: usize) -> Vec<InboundMail> {
    let started = Instant::now();
    loop {
        let mails = app
            .store
            .inbound_mails(app.organisation.id, 100)
            .await
            .unwrap();
        if mails.len() >= expected && mails.iter().all(|mail| mail.state != "received") {
            return mails;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mails not settled: {:?}",
            mails.iter().map(|m| &m.state).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn simulator_messages(app: &TestApp) -> Vec<Value> {
    let simulator = app.simulator_url.clone().unwrap();
    reqwest::get(format!("{simulator}/__sim/messages"))
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

/// Waits until Suomi.fi has `count` messages.
async fn wait_for_messages(app: &TestApp, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let messages = simulator_messages(app).await;
        if messages.len() >= count {
            return messages;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} of {count} messages at Suomi.fi",
            messages.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn titled<'a>(messages: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .filter(|message| {
            message
                .to_string()
                .contains(&format!("\"title\":\"{prefix}"))
        })
        .collect()
}

async fn mail_from_any_client_becomes_notices_with_the_right_answers(backend: TestBackend) {
    let app = smtp_app(backend).await;
    let answers = run_clients(
        &app,
        &[
            "finnish",
            "html_only",
            "alternative",
            "long_subject",
            "invalid_code",
            "no_tls",
            "wrong_sender_domain",
            "wrong_from_header",
            "two_recipients",
            "twice",
            "no_mailbox",
            "too_big",
            "cc",
        ],
    );

    // Refused while connected, with the codes mail servers act on.
    assert_eq!(
        code(&answers, "invalid_code"),
        550,
        "{:?}",
        answers["invalid_code"]
    );
    assert!(answers["invalid_code"]["message"]
        .as_str()
        .unwrap()
        .contains("5.1.1"));
    assert_eq!(code(&answers, "no_tls"), 530);
    assert_eq!(code(&answers, "wrong_sender_domain"), 550);
    assert_eq!(code(&answers, "wrong_from_header"), 550);
    assert_eq!(code(&answers, "cc"), 550);
    assert_eq!(code(&answers, "too_big"), 552);
    for accepted in [
        "finnish",
        "html_only",
        "alternative",
        "long_subject",
        "two_recipients",
        "twice",
        "no_mailbox",
    ] {
        assert_eq!(
            code(&answers, accepted),
            250,
            "{accepted}: {:?}",
            answers[accepted]
        );
    }
    assert!(answers["twice"]["message"]
        .as_str()
        .unwrap()
        .contains("Queued before"));

    // Seven mails kept (the second "twice" added nothing), every one settled.
    let mails = settled_mails(&app, 7).await;
    assert_eq!(mails.len(), 7);
    let refused: Vec<_> = mails.iter().filter(|m| m.state == "refused").collect();
    assert_eq!(
        refused.len(),
        1,
        "only the mail to a code without a mailbox"
    );
    assert!(refused[0].outcome.contains("refused_recipients"));

    // Six mails, seven recipients with a mailbox: seven Suomi.fi messages, each once.
    let messages = wait_for_messages(&app, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let messages_now = simulator_messages(&app).await;
    assert_eq!(messages_now.len(), 7, "nothing sent twice");

    let finnish = titled(&messages, "Päätös: äitiysavustus – hakemus 2026/123");
    assert_eq!(finnish.len(), 1);
    let finnish = finnish[0].to_string();
    assert!(finnish.contains("liitteenä päätös"), "{finnish}");
    assert!(
        finnish.contains("attachmentId"),
        "the PDF went along: {finnish}"
    );

    let html = titled(&messages, "Tarkastuskertomus")[0].to_string();
    assert!(
        html.contains("Tarkastus tehty 1.12.2026."),
        "HTML became text: {html}"
    );
    assert!(!html.contains("<b>"), "{html}");

    let alternative = titled(&messages, "Kutsu kuulemiseen")[0].to_string();
    assert!(alternative.contains("kuultavaksi 15.12.2026"));
    assert!(!alternative.contains(".png"), "the inline logo is left out");

    let long = titled(&messages, "Päätös hyvin pitkä otsikko");
    assert_eq!(long.len(), 1);
    let electronic = &long[0]["request"]["electronic"];
    let title = electronic["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 256, "{title}");
    let whole = answers["long_subject"]["subject"].as_str().unwrap();
    assert!(
        electronic["body"].as_str().unwrap().contains(whole.trim()),
        "the whole subject is in the body"
    );

    assert_eq!(titled(&messages, "Kahdelle vastaanottajalle").len(), 2);
    assert_eq!(titled(&messages, "Sama viesti kahdesti").len(), 1);
    assert_eq!(titled(&messages, "Ei postilaatikkoa").len(), 0);

    // The notices are the bridge account's, audited under the sender's address.
    let notices: Vec<_> = mails.iter().filter_map(|mail| mail.notice_id).collect();
    assert_eq!(notices.len(), 6);
    let names: Vec<String> = {
        let mut names = Vec::new();
        for notice in &notices {
            for attachment in app.store.notice_attachments(*notice).await.unwrap() {
                names.push(attachment.filename);
            }
        }
        names
    };
    assert_eq!(
        names,
        vec!["päätös – äitiysavustus.pdf".to_string()],
        "RFC 2231 name kept"
    );
    let audit = app
        .store
        .audit_events(Some(app.organisation.id), 500)
        .await
        .unwrap();
    let queued_by_mail = audit
        .iter()
        .filter(|event| event.action == "notice.queued")
        .filter(|event| event.actor_label.as_deref() == Some("kirjaamo@tiedoksi.local"))
        .count();
    assert_eq!(queued_by_mail, 6);
    let processed = audit
        .iter()
        .filter(|event| event.action == "mail.processed")
        .count();
    assert_eq!(processed, 7, "every kept mail's outcome is audited once");
}

/// `kill -9` right after the `250`: the mail was kept before the answer, so the restarted
/// server makes it a notice and Suomi.fi gets it once.
async fn a_mail_answered_250_survives_a_kill(backend: TestBackend) {
    use crate::delivery::{sim_get, start, start_simulator, tiedoksi_server};
    use crate::helpers::TestDatabase;

    let database = TestDatabase::new(backend).await;
    let (mut simulator_process, simulator) = start_simulator();
    let key = tiedoksi::secrets::DataKeys::generate();
    let blobs = tempfile::tempdir().unwrap();
    let server = |smtp_port: u16| {
        let mut command = tiedoksi_server(&database.url, &simulator, &key);
        command
            .env("TIEDOKSI_SMTP_ADDR", format!("127.0.0.1:{smtp_port}"))
            .env("TIEDOKSI_SMTP_ALLOW_PLAINTEXT", "1")
            .env("TIEDOKSI_BLOB_DIR", blobs.path())
            // The worker looks again only after a pause: the kill comes first.
            .env("TIEDOKSI_WORKER_IDLE_MS", "3000");
        command
    };
    let (mut first, line) = start(&mut server(0), "The SMTP bridge listens at");
    let smtp_port: u16 = line
        .split("listens at ")
        .nth(1)
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|port| {
            port.trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .ok()
        })
        .expect("the bridge's port");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/send_plain.py");
    let sent = std::process::Command::new("python3")
        .args([script, "--port", &smtp_port.to_string()])
        .output()
        .expect("python3 runs");
    first.kill().expect("kill -9"); // SIGKILL, right after the 250
    first.wait().unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("250"));

    let (mut second, _) = start(&mut server(0), "Tiedoksi is running");
    let started = Instant::now();
    loop {
        let made = sim_get(&simulator, "/__sim/counters").await["messages"]
            .as_u64()
            .unwrap();
        if made >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the mail was not delivered after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = sim_get(&simulator, "/__sim/messages").await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "delivered once");
    assert!(messages.to_string().contains("Tapetun palvelimen viesti"));

    second.kill().unwrap();
    second.wait().unwrap();
    simulator_process.kill().unwrap();
    simulator_process.wait().unwrap();
}

/// The Python that has the test tools from PyPI (`scripts/ensure-test-clients.sh`).
pub(crate) fn test_python() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache")
        });
    let python = cache.join("tiedoksi/smtp-test-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/ensure-test-clients.sh (make test does)",
        python.display()
    );
    python
}

/// The organisation's mail server for the bridge's own mails: aiosmtpd over STARTTLS with a
/// certificate made here, trusted by the bridge as `TIEDOKSI_SMTP_RELAY_CA`.
struct Sink {
    dir: tempfile::TempDir,
    port: String,
    process: std::process::Child,
}

impl Sink {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), generated.cert.pem()).unwrap();
        std::fs::write(
            dir.path().join("key.pem"),
            generated.signing_key.serialize_pem(),
        )
        .unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/sink.py");
        let (process, line) = crate::delivery::start(
            std::process::Command::new(test_python())
                .arg(script)
                .arg("--cert")
                .arg(dir.path().join("cert.pem"))
                .arg("--key")
                .arg(dir.path().join("key.pem"))
                .arg("--out")
                .arg(dir.path().join("received.jsonl")),
            "port ",
        );
        let port = line.trim_start_matches("port ").trim().to_string();
        Self { dir, port, process }
    }

    fn relay_to(&self, config: &mut tiedoksi::config::Config) {
        config.smtp.relay = Some(format!("localhost:{}", self.port));
        config.smtp.relay_ca = Some(
            self.dir
                .path()
                .join("cert.pem")
                .to_string_lossy()
                .into_owned(),
        );
    }

    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("received.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} of {count} mails received: {received:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Tiedoksi with the bridge on, its own mails relayed to `sink`, background work quick.
async fn app_with_sink(
    backend: TestBackend,
    sink: &Sink,
    adjust: impl FnOnce(&mut tiedoksi::config::Config),
) -> TestApp {
    spawn_app_with(backend, |config| {
        config.smtp.addr = Some("127.0.0.1:0".parse().unwrap());
        config.worker.idle = Duration::from_millis(20);
        config.worker.events_interval = Duration::from_millis(200);
        sink.relay_to(config);
        adjust(config);
    })
    .await
}

/// Mails the bridge accepted but could not wholly send come back to the envelope sender as
/// RFC 3464 reports, received over STARTTLS by aiosmtpd and read by Python's email parser.
async fn failures_after_acceptance_come_back_as_delivery_status_reports(backend: TestBackend) {
    let sink = Sink::start();
    let app = app_with_sink(backend, &sink, |_| {}).await;
    let answers = run_clients(&app, &["no_mailbox", "tnef", "one_unreachable"]);
    for case in ["no_mailbox", "tnef", "one_unreachable"] {
        assert_eq!(code(&answers, case), 250, "{case}: {:?}", answers[case]);
    }

    let reports = sink.wait_for(3).await;

    let original = |report: &Value| {
        answers
            .values()
            .find(|answer| answer["message_id"] == report["in_reply_to"])
            .map(|answer| answer["case"].as_str().unwrap().to_string())
            .expect("each report answers one of the mails")
    };
    let mut by_case = HashMap::new();
    for report in &reports {
        assert_eq!(report["content_type"], "multipart/report", "{report}");
        assert_eq!(report["report_type"], "delivery-status");
        assert_eq!(
            report["parts"],
            serde_json::json!([
                "text/plain",
                "message/delivery-status",
                "text/rfc822-headers"
            ])
        );
        assert_eq!(report["defects"], serde_json::json!([]));
        assert_eq!(report["mail_from"], "<>", "sent from the null sender");
        assert_eq!(
            report["rcpt_tos"],
            serde_json::json!(["kirjaamo@tiedoksi.local"])
        );
        assert_eq!(report["auto_submitted"], "auto-replied");
        let blocks = report["delivery_status"].as_array().unwrap();
        assert_eq!(blocks[0]["Reporting-MTA"], "dns; localhost");
        assert!(blocks[1]["Final-Recipient"]
            .as_str()
            .unwrap()
            .starts_with("rfc822; "));
        assert_eq!(blocks[1]["Action"], "failed");
        by_case.insert(original(report), report.clone());
    }

    let no_mailbox = &by_case["no_mailbox"];
    let blocks = no_mailbox["delivery_status"].as_array().unwrap();
    assert_eq!(blocks.len(), 2, "one recipient");
    assert_eq!(blocks[1]["Status"], "5.2.1");
    let human = no_mailbox["human"].as_str().unwrap();
    assert!(human.contains("131052-****@asiointitili.fi"), "{human}");
    assert!(
        !human.contains("131052-308T"),
        "the person's part masks the code"
    );
    assert!(
        human.contains("Suomi.fi"),
        "in Finnish, the demo's language: {human}"
    );

    let tnef = &by_case["tnef"];
    assert_eq!(tnef["delivery_status"][1]["Status"], "5.6.1");
    assert!(tnef["human"].as_str().unwrap().contains("winmail.dat"));

    let partly = &by_case["one_unreachable"];
    let blocks = partly["delivery_status"].as_array().unwrap();
    assert_eq!(blocks.len(), 2, "only the unreachable recipient");
    assert!(blocks[1]["Final-Recipient"]
        .as_str()
        .unwrap()
        .contains("131052-308T"));
    assert!(partly["human"]
        .as_str()
        .unwrap()
        .contains("Muille vastaanottajille viesti on lähetetty."));
    let messages = wait_for_messages(&app, 1).await;
    assert_eq!(titled(&messages, "Toinen ei tavoitettavissa").len(), 1);
}

/// swaks (Debian's Perl SMTP client) the way mail servers talk: commands pipelined, STARTTLS,
/// AUTH PLAIN and LOGIN with a credential the operator made; a client on no relay network
/// is refused until it authenticates.
async fn swaks_pipelines_and_authenticates(backend: TestBackend) {
    let app = smtp_app(backend).await;
    for network in ["127.0.0.0/8", "::1/128"] {
        assert!(app
            .store
            .remove_relay_network(app.organisation.id, network)
            .await
            .unwrap());
    }
    let created =
        tiedoksi::smtp::admin::create_credential(&app.store, &app.organisation, "asianhallinta")
            .await
            .unwrap();
    let password = created
        .lines()
        .find_map(|line| line.trim().strip_prefix("password: "))
        .unwrap()
        .to_string();
    let port = app.smtp_address.unwrap().port().to_string();
    let swaks = |subject: &str, auth: &[&str]| {
        let output = std::process::Command::new("swaks")
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                "--tls",
                "--pipeline",
            ])
            .args(["--from", "kirjaamo@tiedoksi.local"])
            .args(["--to", "311299-047R@asiointitili.fi"])
            .args(["--header", &format!("Subject: {subject}")])
            .args(["--body", "Asianhallintajärjestelmän lähettämä päätös."])
            .args(auth)
            .output()
            .expect("swaks runs (scripts/ensure-test-clients.sh installs it)");
        format!(
            "{}{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            output.status
        )
    };

    let refused = swaks("Ilman tunnistautumista", &[]);
    assert!(refused.contains("550 5.7.1"), "{refused}");
    assert!(refused.contains("PIPELINING"), "offered: {refused}");

    let plain = swaks(
        "AUTH PLAIN",
        &[
            "--auth",
            "PLAIN",
            "--auth-user",
            "asianhallinta",
            &format!("--auth-password={password}"),
        ],
    );
    assert!(plain.contains("<~  235 2.7.0"), "{plain}");
    assert!(plain.contains("<~  250 2.0.0 Queued as"), "{plain}");

    let login = swaks(
        "AUTH LOGIN",
        &[
            "--auth",
            "LOGIN",
            "--auth-user",
            "asianhallinta",
            &format!("--auth-password={password}"),
        ],
    );
    assert!(login.contains("<~  250 2.0.0 Queued as"), "{login}");

    let wrong = swaks(
        "Väärä salasana",
        &[
            "--auth",
            "LOGIN",
            "--auth-user",
            "asianhallinta",
            "--auth-password",
            "nope",
        ],
    );
    assert!(wrong.contains("535 5.7.8"), "{wrong}");

    tiedoksi::smtp::admin::revoke_credential(&app.store, &app.organisation, "asianhallinta")
        .await
        .unwrap();
    let revoked = swaks(
        "Peruttu tunnus",
        &[
            "--auth",
            "PLAIN",
            "--auth-user",
            "asianhallinta",
            &format!("--auth-password={password}"),
        ],
    );
    assert!(revoked.contains("535 5.7.8"), "{revoked}");

    let messages = wait_for_messages(&app, 2).await;
    assert_eq!(titled(&messages, "AUTH PLAIN").len(), 1);
    assert_eq!(titled(&messages, "AUTH LOGIN").len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        simulator_messages(&app).await.len(),
        2,
        "nothing else got through"
    );
}

/// Draft mode: the mail waits as a draft that a caseworker takes over (once: the second
/// taker finds it gone), finishes and sends; nothing reaches Suomi.fi before that.
async fn in_draft_mode_a_mail_waits_for_a_caseworker(backend: TestBackend) {
    use crate::drafts::{location, post};
    use tiedoksi::smtp::admin::{configure, SettingsChange};

    let app = smtp_app(backend).await;
    let change = SettingsChange {
        draft_mode: Some(true),
        ..SettingsChange::default()
    };
    configure(&app.store, &app.organisation, change)
        .await
        .unwrap();
    let answers = run_clients(&app, &["finnish"]);
    assert_eq!(code(&answers, "finnish"), 250);
    let mails = settled_mails(&app, 1).await;
    assert_eq!(mails[0].state, "drafted");
    let people = app
        .store
        .users_in_organisation(app.organisation.id)
        .await
        .unwrap();
    assert!(
        people
            .iter()
            .all(|user| !user.email.contains("smtp-bridge")),
        "the bridge's account is no one to manage"
    );
    let draft_id = mails[0].draft_id.unwrap().to_string();
    assert!(simulator_messages(&app).await.is_empty(), "not sent yet");

    app.login_as_admin().await;
    let waiting: Value = app
        .call("list_mail_drafts", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        waiting[0]["title"],
        "Päätös: äitiysavustus – hakemus 2026/123"
    );
    let page = app.get("/compose").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"mail-drafts\""), "{page}");
    assert!(page.contains(&format!("/compose/{draft_id}/claim")));

    let claimed = post(
        &app,
        &app.client,
        &format!("/compose/{draft_id}/claim"),
        &[],
    )
    .await;
    assert_eq!(location(&claimed), format!("/compose/{draft_id}"));
    let again = post(
        &app,
        &app.client,
        &format!("/compose/{draft_id}/claim"),
        &[],
    )
    .await;
    assert_eq!(location(&again), "/compose", "taken already");
    let waiting: Value = app
        .call("list_mail_drafts", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(waiting, serde_json::json!([]));
    let mine: Value = app.call("list_drafts", &[]).await.json().await.unwrap();
    assert_eq!(mine[0]["id"], draft_id.as_str());
    let opened: Value = app
        .call("open_draft", &[("id", &draft_id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        opened["attachments"][0]["filename"],
        "päätös – äitiysavustus.pdf"
    );

    let sent = post(&app, &app.client, &format!("/compose/{draft_id}/send"), &[]).await;
    assert!(
        location(&sent).starts_with("/notices/"),
        "{:?}",
        location(&sent)
    );
    let messages = wait_for_messages(&app, 1).await;
    assert_eq!(titled(&messages, "Päätös: äitiysavustus").len(), 1);
    assert!(app
        .audit_actions()
        .await
        .contains(&"draft.claimed".to_string()));
}

/// With acknowledgements on, the sender hears when its notice reached the mailbox and when
/// it was read: mails threaded to the original, with the status in a header.
async fn acknowledgements_follow_the_notice(backend: TestBackend) {
    use tiedoksi::smtp::admin::{configure, SettingsChange};

    let sink = Sink::start();
    let app = app_with_sink(backend, &sink, |_| {}).await;
    let change = SettingsChange {
        acknowledgements: Some(true),
        ..SettingsChange::default()
    };
    configure(&app.store, &app.organisation, change)
        .await
        .unwrap();
    let answers = run_clients(&app, &["html_only"]);
    assert_eq!(code(&answers, "html_only"), 250);
    let sent = sink.wait_for(1).await;
    assert_eq!(sent[0]["status"], "sent", "{sent:?}");

    let simulator = app.simulator_url.clone().unwrap();
    reqwest::Client::new()
        .post(format!("{simulator}/__sim/clock/advance"))
        .json(&serde_json::json!({ "seconds": 86_400 }))
        .send()
        .await
        .unwrap();
    let both = sink.wait_for(2).await;
    assert_eq!(both[1]["status"], "read", "{both:?}");
    for acknowledgement in &both {
        assert_eq!(
            acknowledgement["in_reply_to"],
            answers["html_only"]["message_id"]
        );
        assert_eq!(
            acknowledgement["rcpt_tos"],
            serde_json::json!(["kirjaamo@tiedoksi.local"])
        );
        assert_eq!(acknowledgement["auto_submitted"], "auto-replied");
        assert_eq!(acknowledgement["defects"], serde_json::json!([]));
        let text = acknowledgement["text"].as_str().unwrap();
        assert!(text.contains("311299-****"), "{text}");
        assert!(!text.contains("311299-047R"), "{text}");
    }
    assert!(both[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Lähetetty: Tarkastuskertomus"));
    assert!(both[1]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Luettu: Tarkastuskertomus"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.received().len(), 2, "each milestone once");
}

/// A citizen's answer comes to the organisation as mail from `HETU@asiointitili.fi` with its
/// "Viestin tiedot"; the official's answer to that mail goes to Suomi.fi as a reply to the
/// citizen's message, without the block.
async fn citizens_and_officials_write_to_each_other_by_mail(backend: TestBackend) {
    use tiedoksi::smtp::admin::{configure, SettingsChange};

    let sink = Sink::start();
    let app = app_with_sink(backend, &sink, |_| {}).await;
    let change = SettingsChange {
        replies_to: Some("kirjaamo@tiedoksi.local"),
        ..SettingsChange::default()
    };
    configure(&app.store, &app.organisation, change)
        .await
        .unwrap();
    let refused = SettingsChange {
        replies_to: Some("someone@gmail.example"),
        ..SettingsChange::default()
    };
    assert!(
        configure(&app.store, &app.organisation, refused)
            .await
            .is_err(),
        "replies carry identity codes: only to the organisation's own domains"
    );

    let answers = run_clients(&app, &["html_only"]);
    assert_eq!(code(&answers, "html_only"), 250);
    let sent = wait_for_messages(&app, 1).await;
    let message_id = sent[0]["message_id"].as_i64().unwrap();

    let simulator = app.simulator_url.clone().unwrap();
    reqwest::Client::new()
        .post(format!("{simulator}/__sim/citizen-messages"))
        .json(&serde_json::json!({
            "from_id": "311299-047R",
            "from_name": "Maija Meikäläinen",
            "title": "Kysymys päätöksestä",
            "body": "Voinko hakea oikaisua sähköisesti?",
            "in_reply_to": message_id,
            "attachment": { "filename": "liite.txt", "media_type": "text/plain", "content": "lisätieto" },
        }))
        .send()
        .await
        .unwrap();
    let forwarded = sink.wait_for(1).await;
    let forwarded = &forwarded[0];
    assert_eq!(
        forwarded["rcpt_tos"],
        serde_json::json!(["kirjaamo@tiedoksi.local"])
    );
    assert_eq!(
        forwarded["from"],
        "Maija Meikäläinen <311299-047R@asiointitili.fi>"
    );
    assert_eq!(forwarded["subject"], "Kysymys päätöksestä");
    assert_eq!(
        forwarded["in_reply_to"], answers["html_only"]["message_id"],
        "threaded under the mail the notice came from"
    );
    let text = forwarded["text"].as_str().unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("Voinko hakea oikaisua sähköisesti?"),
        "{text}"
    );
    assert!(
        text.contains("Viestin tiedot\nLähettäjä: Maija Meikäläinen\nHenkilötunnus: 311299-047R"),
        "{text}"
    );
    assert_eq!(forwarded["attachments"], serde_json::json!(["liite.txt"]));
    assert_eq!(forwarded["defects"], serde_json::json!([]));

    let forwarded_id = forwarded["message_id"].as_str().unwrap();
    let answer = run_clients_with(&app, &[], &["--answer", forwarded_id]);
    assert_eq!(code(&answer, "answer"), 250, "{:?}", answer["answer"]);
    let messages = wait_for_messages(&app, 2).await;
    let reply = titled(&messages, "Re: Kysymys päätöksestä");
    assert_eq!(reply.len(), 1);
    let electronic = &reply[0]["request"]["electronic"];
    assert_eq!(electronic["inReplyToMessageId"].as_i64(), Some(900_001));
    let body = electronic["body"].as_str().unwrap();
    assert!(body.contains("Kiitos kysymyksestä."), "{body}");
    assert!(
        body.contains("Voinko hakea oikaisua"),
        "the quote stays: {body}"
    );
    assert!(!body.contains("Viestin tiedot"), "{body}");
    assert!(!body.contains("311299-047R"), "{body}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.received().len(), 1, "forwarded once");
}

/// A data-key rotation re-seals kept mails (their bytes and their recipients): afterwards
/// they open with the new key alone, and the same mail sent again is still known.
async fn kept_mails_are_resealed_by_a_key_rotation(backend: TestBackend) {
    use tiedoksi::secrets::{DataKey, DataKeys};
    use tiedoksi::smtp::kept::KeptMails;

    let app = smtp_app(backend).await;
    let answers = run_clients(&app, &["html_only"]);
    assert_eq!(code(&answers, "html_only"), 250);
    let mail = settled_mails(&app, 1).await.remove(0);

    let new_key = DataKey::generate();
    let rotated = DataKeys::new(new_key.clone(), vec![app.data_key.current().clone()]);
    let blobs = tiedoksi::blobs::FilesystemBlobStore::new(app.blob_dir.path());
    let mut report = tiedoksi::rotation::RotationReport::default();
    tiedoksi::rotation::reseal_mails(app.store.as_ref(), &blobs, &rotated, 10, &mut report)
        .await
        .unwrap();
    assert_eq!(report.mails_resealed, 1);

    let only_new = KeptMails {
        store: app.store.clone(),
        blobs: std::sync::Arc::new(blobs),
        keys: DataKeys::new(new_key, Vec::new()),
    };
    let kept = only_new.open(mail.id).await.unwrap();
    assert!(String::from_utf8_lossy(&kept.raw).contains("Subject: Tarkastuskertomus"));
    assert_eq!(
        kept.addresses,
        vec!["311299-047R@asiointitili.fi".to_string()]
    );
    let old_key_only = KeptMails {
        keys: app.data_key.clone(),
        ..only_new.clone()
    };
    assert!(
        old_key_only.open(mail.id).await.is_err(),
        "no longer under the old key"
    );
}

/// Recipients over the limit wait for another transaction (452), and an S/MIME signature is
/// left out of the notice it signs.
async fn the_recipient_limit_and_the_signature_policy(backend: TestBackend) {
    let app = spawn_app_with(backend, |config| {
        config.smtp.addr = Some("127.0.0.1:0".parse().unwrap());
        config.smtp.max_recipients = 2;
        config.worker.idle = Duration::from_millis(20);
    })
    .await;
    let answers = run_clients(&app, &["three_recipients", "signed"]);
    assert_eq!(code(&answers, "three_recipients"), 452);
    assert!(answers["three_recipients"]["message"]
        .as_str()
        .unwrap()
        .contains("4.5.3"));
    assert_eq!(code(&answers, "signed"), 250);
    let mails = settled_mails(&app, 1).await;
    assert_eq!(mails.len(), 1, "the refused transaction kept nothing");
    assert_eq!(mails[0].state, "queued");
    assert!(
        mails[0].outcome.contains("smime.p7s"),
        "{}",
        mails[0].outcome
    );
    let attachments = app
        .store
        .notice_attachments(mails[0].notice_id.unwrap())
        .await
        .unwrap();
    assert!(attachments.is_empty(), "the signature is not a document");
}

/// A failure that shows only after the notice was queued (Suomi.fi did not answer the
/// mailbox check while the mail was processed; the send job then found no mailbox) is
/// reported to the sender too, whatever the acknowledgement setting.
async fn a_late_failure_is_reported_to_the_sender(backend: TestBackend) {
    let sink = Sink::start();
    let app = app_with_sink(backend, &sink, |config| {
        config.worker.retry_initial = Duration::from_millis(50);
        config.worker.retry_max = Duration::from_millis(300);
    })
    .await;
    let simulator = app.simulator_url.clone().unwrap();
    reqwest::Client::new()
        .post(format!("{simulator}/__sim/faults"))
        .json(&serde_json::json!({ "outage_seconds": 3 }))
        .send()
        .await
        .unwrap();
    let answers = run_clients(&app, &["no_mailbox"]);
    assert_eq!(
        code(&answers, "no_mailbox"),
        250,
        "an outage delays, it never refuses"
    );
    let mails = settled_mails(&app, 1).await;
    assert_eq!(
        mails[0].state, "queued",
        "queued with the mailbox check deferred"
    );

    let reports = sink.wait_for(1).await;
    let report = &reports[0];
    assert_eq!(report["content_type"], "multipart/report", "{report}");
    assert_eq!(report["in_reply_to"], answers["no_mailbox"]["message_id"]);
    assert_eq!(report["delivery_status"][1]["Status"], "5.2.1");
    assert!(!report["human"]
        .as_str()
        .unwrap()
        .contains("Muille vastaanottajille"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.received().len(), 1, "reported once");
}

on_both_backends!(
    the_bad_input_mails_are_refused_or_cleaned,
    a_late_failure_is_reported_to_the_sender,
    the_recipient_limit_and_the_signature_policy,
    kept_mails_are_resealed_by_a_key_rotation,
    citizens_and_officials_write_to_each_other_by_mail,
    acknowledgements_follow_the_notice,
    in_draft_mode_a_mail_waits_for_a_caseworker,
    swaks_pipelines_and_authenticates,
    mail_from_any_client_becomes_notices_with_the_right_answers,
    a_mail_answered_250_survives_a_kill,
    failures_after_acceptance_come_back_as_delivery_status_reports,
);

/// The corpus' mails (`tests/fixtures/bad-input/mail/`): `refused/`, `cleaned/`, and what each
/// must come to (`expected.json`, written with them by `make_corpus.py`).
fn mail_corpus() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-input/mail")
}

/// A `.gen.json` mail: `prefix`, then `fill` repeated and cut so that `suffix` ends it at
/// exactly `size` bytes (as `make_corpus.py` makes it).
fn generated_mail(spec: &Value) -> Vec<u8> {
    let size = spec["size"].as_u64().unwrap() as usize;
    let fill = spec["fill"].as_str().unwrap().as_bytes();
    let suffix = spec["suffix"].as_str().unwrap().as_bytes();
    let mut bytes = spec["prefix"].as_str().unwrap().as_bytes().to_vec();
    while bytes.len() < size - suffix.len() {
        bytes.extend_from_slice(fill);
    }
    bytes.truncate(size - suffix.len());
    bytes.extend_from_slice(suffix);
    bytes
}

/// The kept mail an answer is about: the bridge keeps a mail as `id:<its Message-ID>`.
fn kept<'a>(mails: &'a [InboundMail], answer: &Value) -> &'a InboundMail {
    let id = answer["message_id"]
        .as_str()
        .unwrap()
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    mails
        .iter()
        .find(|mail| mail.message_key == format!("id:{id}"))
        .unwrap_or_else(|| panic!("no mail kept for {answer}"))
}

/// What `expected.json` says of a case.
fn expectation<'a>(expected: &'a Value, case: &str) -> &'a Value {
    expected
        .get(case)
        .unwrap_or_else(|| panic!("{case} is not in expected.json"))
}

/// A list of strings of a case's expectations (none when the key is absent).
fn strings<'a>(want: &'a Value, key: &str) -> Vec<&'a str> {
    want[key]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// What a refused mail must leave as it was (notices, deliveries, Suomi.fi messages), and the
/// outbox's jobs (a kept mail adds its processing job and, once refused, its report's).
#[derive(Debug)]
struct MailFootprint {
    notices: usize,
    deliveries: i64,
    messages: usize,
    jobs: i64,
}

async fn mail_footprint(app: &TestApp) -> MailFootprint {
    let jobs = app.store.job_counts().await.unwrap();
    MailFootprint {
        notices: app
            .store
            .notice_summaries(app.organisation.id, 10_000)
            .await
            .unwrap()
            .len(),
        deliveries: app
            .store
            .delivery_status_counts()
            .await
            .unwrap()
            .iter()
            .map(|(_, count)| count)
            .sum(),
        messages: simulator_messages(app).await.len(),
        jobs: jobs.pending + jobs.running + jobs.done + jobs.failed,
    }
}

/// The bad-input corpus' mails, sent as they are: a refused one is answered 5xx while the
/// sender is connected, or taken with `250` and settled `refused` for the reason the corpus
/// names; never a 4xx (the sender's server would retry it for days) or a dropped connection,
/// and nothing made of it. A cleaned one becomes one notice with what it is about cleaned.
async fn the_bad_input_mails_are_refused_or_cleaned(backend: TestBackend) {
    let app = smtp_app(backend).await;
    let expected: Value =
        serde_json::from_slice(&std::fs::read(mail_corpus().join("expected.json")).unwrap())
            .unwrap();
    let count = |prefix: &str| {
        expected
            .as_object()
            .unwrap()
            .keys()
            .filter(|case| case.starts_with(prefix))
            .count()
    };
    let before = mail_footprint(&app).await;

    // Refused. The `.gen.json` mails (too large to keep in the repository) are made here.
    let refused_dir = mail_corpus().join("refused");
    let mut answers: Vec<(String, Value)> =
        run_clients_with(&app, &[], &["--raw-dir", refused_dir.to_str().unwrap()])
            .into_iter()
            .map(|(case, answer)| (format!("refused/{case}"), answer))
            .collect();
    let generated = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&refused_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".gen.json") {
            let spec: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let mail = generated_mail(&spec);
            std::fs::write(generated.path().join(format!("{name}.eml")), mail).unwrap();
        }
    }
    answers.extend(
        run_clients_with(
            &app,
            &[],
            &["--raw-dir", generated.path().to_str().unwrap()],
        )
        .into_iter()
        .map(|(case, answer)| {
            let case = case.trim_end_matches(".eml").to_string();
            (format!("refused/{case}"), answer)
        }),
    );
    assert_eq!(
        answers.len(),
        count("refused/"),
        "one answer per refused mail"
    );
    assert!(answers.len() >= 20, "{} refused mails", answers.len());

    let mut taken = Vec::new();
    for (case, answer) in &answers {
        let want = expectation(&expected, case);
        let code = answer["code"].as_u64().unwrap();
        // 501 is smtp-proto's answer to a path it cannot read; 550–554 the bridge's own.
        assert!(
            code == 250 || (500..=554).contains(&code),
            "{case}: never a 4xx, 421 or a dropped connection (0): {answer}"
        );
        if want["stage"] == "after" {
            assert_eq!(code, 250, "{case}: taken, then refused: {answer}");
            taken.push((case, answer, want));
        } else {
            assert_eq!(answer["stage"], want["stage"], "{case}: {answer}");
            assert_eq!(Some(code), want["code"].as_u64(), "{case}: {answer}");
            let status = want["status"].as_str().unwrap();
            assert!(
                answer["message"].as_str().unwrap().starts_with(status),
                "{case}: {status} expected: {answer}"
            );
        }
    }

    // Only the mails answered 250 were kept, and each settled as refused, for its reason.
    let mails = settled_mails(&app, taken.len()).await;
    assert_eq!(
        mails.len(),
        taken.len(),
        "a mail refused while connected was kept"
    );
    for (case, answer, want) in &taken {
        let mail = kept(&mails, answer);
        assert_eq!(mail.state, "refused", "{case}: {}", mail.outcome);
        assert_eq!(mail.notice_id, None, "{case}");
        assert_eq!(mail.draft_id, None, "{case}");
        for fragment in strings(want, "outcome") {
            assert!(
                mail.outcome.contains(fragment),
                "{case}: the outcome {} does not say {fragment}",
                mail.outcome
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = mail_footprint(&app).await;
    assert_eq!(
        (after.notices, after.deliveries, after.messages),
        (before.notices, before.deliveries, before.messages),
        "a refused mail made something: {before:?} → {after:?}"
    );
    assert!(
        after.jobs <= before.jobs + 2 * taken.len() as i64,
        "more jobs than each kept mail's processing and report: {before:?} → {after:?}"
    );

    // Cleaned: each becomes one notice.
    let cleaned_dir = mail_corpus().join("cleaned");
    let cleaned = run_clients_with(&app, &[], &["--raw-dir", cleaned_dir.to_str().unwrap()]);
    assert_eq!(
        cleaned.len(),
        count("cleaned/"),
        "one answer per cleaned mail"
    );
    for (case, answer) in &cleaned {
        assert_eq!(answer["code"], 250, "{case}: {answer}");
    }
    let mails = settled_mails(&app, taken.len() + cleaned.len()).await;
    assert_eq!(mails.len(), taken.len() + cleaned.len());
    for (case, answer) in &cleaned {
        let want = expectation(&expected, &format!("cleaned/{case}"));
        let mail = kept(&mails, answer);
        assert_eq!(mail.state, "queued", "{case}: {}", mail.outcome);
        let notice = app
            .store
            .notice(app.organisation.id, mail.notice_id.unwrap())
            .await
            .unwrap()
            .unwrap();

        // What every cleaned notice keeps: a title and a body the compose rules take, no
        // markup, attachment names that are names.
        assert!(
            app::domain::text::check_line(&notice.title).is_ok()
                && notice.title.chars().count() <= 256,
            "{case}: title {:?}",
            notice.title
        );
        assert!(
            app::domain::text::check_text(&notice.body).is_ok(),
            "{case}: body {:?}",
            notice.body
        );
        let lower = notice.body.to_lowercase();
        assert!(
            !lower.contains("<script") && !lower.contains("<img") && !lower.contains("onerror="),
            "{case}: body {:?}",
            notice.body
        );
        assert!(notice.case_reference.chars().count() <= 100, "{case}");
        let names: Vec<String> = app
            .store
            .notice_attachments(notice.id)
            .await
            .unwrap()
            .into_iter()
            .map(|attachment| attachment.filename)
            .collect();
        for name in &names {
            assert!(
                crate::bad_input::is_clean_filename(name),
                "{case}: kept as {name:?}"
            );
        }

        // And what the case is about.
        assert_eq!(names, strings(want, "attachments"), "{case}");
        if let Some(title) = want["title"].as_str() {
            assert_eq!(notice.title, title, "{case}");
        }
        if let Some(chars) = want["title_chars"].as_u64() {
            assert_eq!(notice.title.chars().count() as u64, chars, "{case}");
        }
        if let Some(start) = want["body_starts_with"].as_str() {
            assert!(notice.body.starts_with(start), "{case}: {:?}", notice.body);
        }
        for text in strings(want, "body_contains") {
            assert!(
                notice.body.contains(text),
                "{case}: {:?} lacks {text:?}",
                notice.body
            );
        }
        for text in strings(want, "body_lacks") {
            assert!(
                !notice.body.contains(text),
                "{case}: {:?} has {text:?}",
                notice.body
            );
        }
        if let Some(reference) = want["case_reference"].as_str() {
            assert_eq!(notice.case_reference, reference, "{case}");
        }
        for name in strings(want, "left_out") {
            assert!(mail.outcome.contains(name), "{case}: {}", mail.outcome);
        }
    }

    // One notice per cleaned mail, each at Suomi.fi once, none of them carrying markup.
    let after_cleaned = mail_footprint(&app).await;
    assert_eq!(after_cleaned.notices, before.notices + cleaned.len());
    let messages = wait_for_messages(&app, before.messages + cleaned.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        simulator_messages(&app).await.len(),
        before.messages + cleaned.len(),
        "each notice sent once"
    );
    for message in &messages {
        let text = message.to_string().to_lowercase();
        assert!(
            !text.contains("<script") && !text.contains("onerror="),
            "{text}"
        );
    }
}
