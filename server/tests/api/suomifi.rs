//! Client ↔ simulator contract: every operation, and each error path, over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tiedoksi::suomifi::model::{
    Address, AttachmentRef, BodyFormat, ContactDetails, ElectronicMessage, ElectronicPart,
    EventKind, MessageServiceType, MultichannelMessage, Notifications, PaperMailPart,
    PaperMailWithoutId, PostalParty, PostiMessaging, PrintingAndEnvelopingService, Recipient,
    ReplyAllowedBy, Sender, Visibility,
};
use tiedoksi::suomifi::sim::{self, RunningSimulator, SimConfig};
use tiedoksi::suomifi::{SuomiFiClient, SuomiFiError, SuomiFiSettings};

/// Odd individual number: has an active mailbox under the simulator's default rule.
pub const WITH_MAILBOX: &str = "010594Y9032";
/// Even individual number: no mailbox.
pub const WITHOUT_MAILBOX: &str = "010594Y9021";

pub struct Sim {
    pub running: RunningSimulator,
    pub control: reqwest::Client,
}

impl Sim {
    pub async fn start() -> Self {
        Self::start_with(SimConfig::default()).await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let address: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = sim::spawn(config, address).await.expect("simulator starts");
        Self {
            running,
            control: reqwest::Client::new(),
        }
    }

    pub fn client(&self) -> SuomiFiClient {
        self.client_with(|_| {})
    }

    pub fn client_with(&self, adjust: impl FnOnce(&mut SuomiFiSettings)) -> SuomiFiClient {
        let mut settings = SuomiFiSettings::new(
            &self.running.base_url(),
            "sim-user",
            "sim-password",
            "sim-service",
        );
        settings.timeout = Duration::from_secs(2);
        adjust(&mut settings);
        SuomiFiClient::new(settings).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url(), path)
    }

    pub async fn control(&self, path: &str, body: Value) {
        let response = self
            .control
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    pub async fn counters(&self) -> Value {
        self.control
            .get(self.url("/__sim/counters"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn advance(&self, seconds: i64) {
        self.control("/__sim/clock/advance", json!({ "seconds": seconds }))
            .await;
    }

    /// A raw request with a fresh token, for what our own client would never send.
    pub async fn raw_token(&self) -> String {
        let body: Value = self
            .control
            .post(self.url("/v1/token"))
            .json(&json!({ "username": "sim-user", "password": "sim-password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

pub fn pdf_bytes(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(size.max(bytes.len()), b' ');
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

pub fn electronic_part(title: &str, attachments: Vec<AttachmentRef>) -> ElectronicPart {
    ElectronicPart {
        title: title.to_string(),
        body: "Päätös liitteenä.".to_string(),
        body_format: BodyFormat::Text,
        message_service_type: MessageServiceType::Normal,
        reply_allowed_by: ReplyAllowedBy::NoOne,
        visibility: Some(Visibility::Normal),
        attachments,
        notifications: Notifications::default(),
        in_reply_to_message_id: None,
    }
}

pub fn address(name: &str) -> Address {
    Address {
        name: name.to_string(),
        additional_name: None,
        street_address: "Esimerkkikatu 1 A 2".to_string(),
        zip_code: "00100".to_string(),
        city: "Helsinki".to_string(),
        country_code: "FI".to_string(),
    }
}

pub fn paper_part(pdf: AttachmentRef, verifiable: bool) -> PaperMailPart {
    PaperMailPart {
        attachments: vec![pdf],
        color_printing: false,
        create_address_page: true,
        message_service_type: if verifiable {
            MessageServiceType::Verifiable
        } else {
            MessageServiceType::Normal
        },
        printing_and_enveloping_service: PrintingAndEnvelopingService {
            posti_messaging: PostiMessaging {
                contact_details: ContactDetails {
                    email: "posti@kunta.example.fi".to_string(),
                },
                username: "123456".to_string(),
                password: "abcd".to_string(),
            },
            cost_pool: None,
        },
        recipient: PostalParty {
            address: address("Maija Meikäläinen"),
        },
        rotate_landscape_pages: false,
        sender: PostalParty {
            address: address("Esimerkkikunta"),
        },
        two_sided_printing: true,
    }
}

pub async fn upload_pdf(client: &SuomiFiClient) -> AttachmentRef {
    let id = client
        .upload_attachment("paatos.pdf", "application/pdf", pdf_bytes(2048))
        .await
        .unwrap();
    AttachmentRef { attachment_id: id }
}

fn electronic(external_id: &str, recipient: &str, part: ElectronicPart) -> ElectronicMessage {
    ElectronicMessage {
        external_id: external_id.to_string(),
        recipient: Recipient {
            id: recipient.to_string(),
        },
        sender: Sender {
            service_id: "sim-service".to_string(),
        },
        electronic: part,
    }
}

async fn multichannel(
    client: &SuomiFiClient,
    external_id: &str,
    recipient: &str,
) -> MultichannelMessage {
    let pdf = upload_pdf(client).await;
    MultichannelMessage {
        external_id: external_id.to_string(),
        recipient: Recipient {
            id: recipient.to_string(),
        },
        sender: Sender {
            service_id: "sim-service".to_string(),
        },
        electronic: electronic_part("Päätös", vec![pdf.clone()]),
        paper_mail: paper_part(pdf, false),
    }
}

#[tokio::test]
async fn each_system_account_sends_for_its_own_services_with_its_own_uploads() {
    let sim = Sim::start().await;
    sim.control
        .post(sim.url("/__sim/accounts"))
        .json(&serde_json::json!({
            "username": "toinen", "password": "toinen-salasana", "serviceIds": ["toinen-palvelu"]
        }))
        .send()
        .await
        .unwrap();
    let ours = sim.client();
    let theirs = sim.client_with(|settings| {
        settings.username = "toinen".into();
        settings.password = "toinen-salasana".to_string().into();
        settings.service_id = "toinen-palvelu".into();
    });
    let their_pdf = upload_pdf(&theirs).await;
    // Our message may not carry their upload, nor go out in their service's name.
    let borrowed = electronic(
        "ext-borrowed",
        WITH_MAILBOX,
        electronic_part("Päätös", vec![their_pdf.clone()]),
    );
    assert!(matches!(
        ours.send_electronic(&borrowed).await,
        Err(SuomiFiError::Rejected { status: 400, .. })
    ));
    let mut in_their_name = electronic(
        "ext-their-name",
        WITH_MAILBOX,
        electronic_part("Päätös", vec![]),
    );
    in_their_name.sender.service_id = "toinen-palvelu".into();
    assert!(ours.send_electronic(&in_their_name).await.is_err());
    // Their own message with their own upload goes.
    let mut own = electronic(
        "ext-own",
        WITH_MAILBOX,
        electronic_part("Päätös", vec![their_pdf]),
    );
    own.sender.service_id = "toinen-palvelu".into();
    theirs.send_electronic(&own).await.unwrap();
    // And each sees only its own services' events.
    sim.control
        .post(sim.url("/__sim/clock/advance"))
        .json(&serde_json::json!({ "seconds": 7200 }))
        .send()
        .await
        .unwrap();
    let their_events = theirs.events(None).await.unwrap().events;
    assert!(!their_events.is_empty());
    assert!(their_events
        .iter()
        .all(|e| e.metadata.service_id == "toinen-palvelu"));
    assert!(ours.events(None).await.unwrap().events.is_empty());
}

#[tokio::test]
async fn electronic_message_is_sent_and_a_repeat_is_already_sent() {
    let sim = Sim::start().await;
    let client = sim.client();
    let pdf = upload_pdf(&client).await;
    let message = electronic("ext-1", WITH_MAILBOX, electronic_part("Päätös", vec![pdf]));

    let first = client.send_electronic(&message).await.unwrap();
    assert!(!first.already_sent);
    assert!(
        first.trace_id.is_some(),
        "the trace id is kept for the audit trail"
    );
    let again = client.send_electronic(&message).await.unwrap();
    assert!(again.already_sent, "409 means it was sent before");
    assert_eq!(again.message_id, first.message_id);

    let counters = sim.counters().await;
    assert_eq!(counters["messages_by_external_id"]["ext-1"], 1);
    assert_eq!(counters["duplicate_sends"], 1);
    assert_eq!(counters["external_ids_with_more_than_one_message"], 0);
}

#[tokio::test]
async fn electronic_only_to_someone_without_a_mailbox_is_refused() {
    let sim = Sim::start().await;
    let client = sim.client();
    let message = electronic("ext-2", WITHOUT_MAILBOX, electronic_part("Päätös", vec![]));
    let error = client.send_electronic(&message).await.unwrap_err();
    assert!(
        matches!(error, SuomiFiError::MailboxNotInUse { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(sim.counters().await["messages"], 0);
}

#[tokio::test]
async fn multichannel_goes_electronic_or_paper_by_mailbox() {
    let sim = Sim::start().await;
    let client = sim.client();
    client
        .send_multichannel(&multichannel(&client, "with", WITH_MAILBOX).await)
        .await
        .unwrap();
    client
        .send_multichannel(&multichannel(&client, "without", WITHOUT_MAILBOX).await)
        .await
        .unwrap();

    let page = client.events(None).await.unwrap();
    let kinds: Vec<(String, EventKind)> = page
        .events
        .iter()
        .map(|e| (e.metadata.external_id.clone().unwrap(), e.kind()))
        .collect();
    assert!(kinds.contains(&("with".into(), EventKind::ElectronicMessageCreated)));
    assert!(kinds.contains(&("without".into(), EventKind::PaperMailCreated)));
}

#[tokio::test]
async fn paper_mail_without_id_goes_to_print() {
    let sim = Sim::start().await;
    let client = sim.client();
    let pdf = upload_pdf(&client).await;
    let message = PaperMailWithoutId {
        external_id: "paper-1".into(),
        sender: Sender {
            service_id: "sim-service".into(),
        },
        paper_mail: paper_part(pdf, false),
    };
    let sent = client.send_paper(&message).await.unwrap();
    sim.advance(2 * 3600).await;
    let page = client.events(None).await.unwrap();
    let ours: Vec<EventKind> = page
        .events
        .iter()
        .filter(|e| e.metadata.message_id == sent.message_id)
        .map(|e| e.kind())
        .collect();
    assert_eq!(
        ours,
        vec![
            EventKind::PaperMailCreated,
            EventKind::SentForPrintingAndEnveloping
        ]
    );
}

#[tokio::test]
async fn events_follow_simulated_time_for_each_path() {
    let sim = Sim::start().await;
    let client = sim.client();
    let mut verifiable = electronic_part("Todisteellinen", vec![]);
    verifiable.message_service_type = MessageServiceType::Verifiable;
    let read = client
        .send_electronic(&electronic(
            "read",
            WITH_MAILBOX,
            electronic_part("Luettava", vec![]),
        ))
        .await
        .unwrap();
    let acknowledged = client
        .send_electronic(&electronic("ack", WITH_MAILBOX, verifiable.clone()))
        .await
        .unwrap();
    sim.control(
        "/__sim/behaviours",
        json!([{ "key": "0737546-2", "never_reads": true }]),
    )
    .await;
    let ignored = client
        .send_electronic(&electronic("never", "0737546-2", verifiable))
        .await
        .unwrap();
    let pdf = upload_pdf(&client).await;
    let paper = client
        .send_paper(&PaperMailWithoutId {
            external_id: "posti".into(),
            sender: Sender {
                service_id: "sim-service".into(),
            },
            paper_mail: paper_part(pdf, true),
        })
        .await
        .unwrap();

    let first = client.events(None).await.unwrap();
    assert_eq!(
        first.events.len(),
        4,
        "only the creations are due yet: {:?}",
        first.events
    );

    sim.advance(8 * 24 * 3600).await;
    let later = client
        .events(Some(&first.continuation_token))
        .await
        .unwrap();
    let kinds_of = |id: i64| -> Vec<EventKind> {
        later
            .events
            .iter()
            .filter(|e| e.metadata.message_id == id)
            .map(|e| e.kind())
            .collect()
    };
    assert_eq!(
        kinds_of(read.message_id),
        vec![EventKind::ElectronicMessageRead]
    );
    assert_eq!(
        kinds_of(acknowledged.message_id),
        vec![
            EventKind::ReceiptConfirmed,
            EventKind::ElectronicMessageRead
        ]
    );
    assert_eq!(
        kinds_of(ignored.message_id),
        Vec::<EventKind>::new(),
        "never acknowledged"
    );
    assert_eq!(
        kinds_of(paper.message_id),
        vec![
            EventKind::SentForPrintingAndEnveloping,
            EventKind::PostiReceiptConfirmed
        ]
    );
    let receipt = later
        .events
        .iter()
        .find(|e| e.kind() == EventKind::PostiReceiptConfirmed)
        .unwrap();
    assert!(receipt.metadata.extra.contains_key("postiTrackingCode"));

    let nothing_new = client
        .events(Some(&later.continuation_token))
        .await
        .unwrap();
    assert!(nothing_new.events.is_empty());
    assert_eq!(nothing_new.continuation_token, later.continuation_token);
}

#[tokio::test]
async fn events_page_across_several_pages() {
    let sim = Sim::start().await;
    let client = sim.client();
    for n in 0..1205 {
        let message = electronic(
            &format!("bulk-{n}"),
            WITH_MAILBOX,
            electronic_part("Tiedote", vec![]),
        );
        client.send_electronic(&message).await.unwrap();
    }
    let first = client.events(None).await.unwrap();
    assert_eq!(first.events.len(), 1000, "at most 1000 per page");
    let second = client
        .events(Some(&first.continuation_token))
        .await
        .unwrap();
    assert_eq!(second.events.len(), 205);
    let third = client
        .events(Some(&second.continuation_token))
        .await
        .unwrap();
    assert!(third.events.is_empty());
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_transparently() {
    let sim = Sim::start().await;
    let client = sim.client();
    assert!(client.events(None).await.is_ok());
    sim.control("/__sim/tokens/expire", json!({})).await;
    assert!(
        client.events(None).await.is_ok(),
        "401 → new token → retried"
    );
    assert_eq!(sim.counters().await["requests"]["POST /v1/token"], 2);
}

#[tokio::test]
async fn a_token_is_reused_until_shortly_before_it_expires() {
    let long_lived = Sim::start().await;
    let client = long_lived.client();
    for _ in 0..3 {
        client.events(None).await.unwrap();
    }
    assert_eq!(
        long_lived.counters().await["requests"]["POST /v1/token"],
        1,
        "cached"
    );

    // A lifetime shorter than the safety margin: renewed before every call, never a 401.
    let short_lived = Sim::start_with(SimConfig {
        token_lifetime: Duration::from_secs(30),
        ..SimConfig::default()
    })
    .await;
    let client = short_lived.client();
    for _ in 0..3 {
        client.events(None).await.unwrap();
    }
    let counters = short_lived.counters().await;
    assert_eq!(counters["requests"]["POST /v1/token"], 3);
    assert_eq!(
        counters["responses"]["401"],
        Value::Null,
        "renewed in time, never refused"
    );
}

#[tokio::test]
async fn wrong_credentials_are_an_authentication_error() {
    let sim = Sim::start().await;
    let client = sim.client_with(|settings| settings.password = "wrong".to_string().into());
    let error = client.events(None).await.unwrap_err();
    assert!(
        matches!(error, SuomiFiError::Authentication { .. }),
        "{error:?}"
    );
    assert!(
        error.is_retryable(),
        "deliveries wait for an admin to fix the credentials"
    );
}

#[tokio::test]
async fn rate_limiting_is_retryable_with_its_retry_after() {
    let sim = Sim::start().await;
    let client = sim.client();
    client.events(None).await.unwrap();
    sim.control(
        "/__sim/faults",
        json!({ "rate_limit_rate": 1.0, "retry_after_seconds": 17 }),
    )
    .await;
    let error = client.events(None).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(17)));
}

#[tokio::test]
async fn server_errors_and_outages_are_retryable() {
    let sim = Sim::start().await;
    let client = sim.client();
    client.events(None).await.unwrap();
    sim.control("/__sim/faults", json!({ "error_rate": 1.0 }))
        .await;
    let error = client.events(None).await.unwrap_err();
    assert!(
        matches!(error, SuomiFiError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());

    sim.control("/__sim/faults", json!({ "outage_seconds": 60 }))
        .await;
    assert!(matches!(
        client.events(None).await.unwrap_err(),
        SuomiFiError::Unavailable { status: 503, .. }
    ));
    let response = sim
        .control
        .delete(sim.url("/__sim/faults"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert!(client.events(None).await.is_ok(), "the outage is over");
}

#[tokio::test]
async fn a_timeout_is_retryable_and_the_retry_finds_the_message_sent() {
    let sim = Sim::start().await;
    let client = sim.client_with(|settings| settings.timeout = Duration::from_millis(500));
    let message = electronic("slow", WITH_MAILBOX, electronic_part("Päätös", vec![]));
    client.events(None).await.unwrap(); // token first, so the fault hits the send
                                        // Every request hangs; half are carried out first. Keep sending until one got through.
    sim.control(
        "/__sim/faults",
        json!({ "timeout_rate": 1.0, "timeout_seconds": 2 }),
    )
    .await;
    let error = client.send_electronic(&message).await.unwrap_err();
    assert!(matches!(error, SuomiFiError::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    let response = sim
        .control
        .delete(sim.url("/__sim/faults"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    let retried = client.send_electronic(&message).await.unwrap();
    let counters = sim.counters().await;
    assert_eq!(
        counters["messages"], 1,
        "exactly one message whatever happened before"
    );
    assert_eq!(counters["messages_by_external_id"]["slow"], 1);
    assert!(retried.message_id > 0);
}

#[tokio::test]
async fn our_side_refuses_what_breaks_the_limits_before_sending() {
    let sim = Sim::start().await;
    let client = sim.client();
    let message = electronic(
        "long",
        WITH_MAILBOX,
        electronic_part(&"x".repeat(257), vec![]),
    );
    let error = client.send_electronic(&message).await.unwrap_err();
    assert!(
        matches!(&error, SuomiFiError::Invalid(v) if v[0].contains("electronic.title")),
        "{error:?}"
    );
    let not_allowed = client
        .upload_attachment("ohjelma.exe", "application/x-msdownload", vec![1, 2, 3])
        .await;
    assert!(matches!(not_allowed, Err(SuomiFiError::Invalid(_))));
    assert_eq!(
        sim.counters().await["requests"]["POST /v2/messages/electronic"],
        Value::Null,
        "nothing was sent"
    );
}

#[tokio::test]
async fn mailbox_check_answers_only_the_active_ones_in_batches() {
    let sim = Sim::start().await;
    let client = sim.client_with(|settings| settings.limits.max_mailbox_batch = 2);
    sim.control(
        "/__sim/mailboxes",
        json!([{ "id": WITHOUT_MAILBOX, "active": true }]),
    )
    .await;
    let ids: Vec<String> = [WITH_MAILBOX, WITHOUT_MAILBOX, "020594X902N", "0737546-2"]
        .map(String::from)
        .to_vec();
    let mut active = client.active_mailboxes(&ids).await.unwrap();
    active.sort();
    assert_eq!(active, vec!["010594Y9021", "010594Y9032", "0737546-2"]);
    assert_eq!(
        sim.counters().await["requests"]["POST /v1/mailboxes/active"],
        2
    );
}

#[tokio::test]
async fn citizen_messages_and_their_attachments_can_be_read() {
    let sim = Sim::start().await;
    let client = sim.client();
    sim.control(
        "/__sim/citizen-messages",
        json!({ "from_id": WITH_MAILBOX, "from_name": "Maija", "title": "Kysymys", "body": "Hei",
                "attachment": { "filename": "liite.txt", "media_type": "text/plain", "content": "sisältö" } }),
    )
    .await;
    let page = client.events(None).await.unwrap();
    let event = page
        .events
        .iter()
        .find(|e| e.kind() == EventKind::ElectronicMessageFromEndUser)
        .unwrap();
    let message = client
        .citizen_message(event.metadata.message_id)
        .await
        .unwrap();
    assert_eq!(message.electronic.title, "Kysymys");
    let attachment = message.electronic.attachments[0].attachment_id.unwrap();
    let bytes = client.citizen_attachment(attachment).await.unwrap();
    assert_eq!(bytes, "sisältö".as_bytes());

    // A reply refers to it; a reply to a message that does not exist is refused.
    let mut reply = electronic_part("Vastaus", vec![]);
    reply.in_reply_to_message_id = Some(message.message_id);
    client
        .send_electronic(&electronic("reply", WITH_MAILBOX, reply.clone()))
        .await
        .unwrap();
    reply.in_reply_to_message_id = Some(1);
    let error = client
        .send_electronic(&electronic("reply-2", WITH_MAILBOX, reply))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SuomiFiError::Rejected { error_codes, .. } if error_codes[0] == "MESSAGE_BEING_REPLIED_TO_NOT_FOUND")
    );
}

#[tokio::test]
async fn password_change_takes_effect_and_old_tokens_stop_working() {
    let sim = Sim::start().await;
    let client = sim.client();
    let weak = client.change_password("too-short").await.unwrap_err();
    assert!(matches!(weak, SuomiFiError::Rejected { status: 400, .. }));
    let new_password = "Uusi-Salasana-2026-joka-on-tarpeeksi-pitka#";
    client.change_password(new_password).await.unwrap();
    assert!(
        client.events(None).await.is_ok(),
        "the client signs in with the new password"
    );
    let old = sim.client();
    assert!(matches!(
        old.events(None).await.unwrap_err(),
        SuomiFiError::Authentication { .. }
    ));
}

#[tokio::test]
async fn the_simulator_refuses_malformed_and_over_limit_requests() {
    let sim = Sim::start().await;
    let token = sim.raw_token().await;
    let post = |path: &str, body: Value| {
        sim.control
            .post(sim.url(path))
            .header("authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
    };
    let valid = json!({
        "externalId": "raw-1",
        "recipient": { "id": WITH_MAILBOX },
        "sender": { "serviceId": "sim-service" },
        "electronic": {
            "title": "T", "body": "B", "bodyFormat": "Text", "messageServiceType": "Normal",
            "replyAllowedBy": "Anyone", "attachments": [],
            "notifications": { "senderDetailsInNotifications": "None",
                               "unreadMessageNotification": { "reminder": "No reminders" } }
        }
    });
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "missing title",
            remove(&valid, &["electronic", "title"]),
            400,
            "title",
        ),
        (
            "unknown enum value",
            set(&valid, &["electronic", "bodyFormat"], json!("Html")),
            400,
            "Html",
        ),
        (
            "empty body",
            set(&valid, &["electronic", "body"], json!("")),
            400,
            "electronic.body",
        ),
        (
            "body over 40 000",
            set(&valid, &["electronic", "body"], json!("x".repeat(40_001))),
            400,
            "electronic.body",
        ),
        (
            "external id over 256",
            set(&valid, &["externalId"], json!("e".repeat(257))),
            400,
            "externalId",
        ),
        (
            "invalid identity code",
            set(&valid, &["recipient", "id"], json!("010594Y9033")),
            400,
            "recipient.id",
        ),
        (
            "other service",
            set(&valid, &["sender", "serviceId"], json!("not-ours")),
            400,
            "Service",
        ),
        (
            "unknown attachment",
            set(
                &valid,
                &["electronic", "attachments"],
                json!([{ "attachmentId": "7d0f4a3e-5f55-4a59-9f7e-3c0a2d4c1b11" }]),
            ),
            400,
            "not found",
        ),
    ];
    for (name, body, status, mentions) in cases {
        let response = post("/v2/messages/electronic", body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{name}"
        );
        let error: Value = response.json().await.unwrap();
        assert!(
            error["reason"].as_str().unwrap().contains(mentions),
            "{name}: {error}"
        );
    }
    assert_eq!(
        post("/v2/messages/electronic", valid.clone())
            .await
            .unwrap()
            .status(),
        200
    );

    let unauthorised = sim
        .control
        .post(sim.url("/v2/messages/electronic"))
        .json(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    let bare_token = sim
        .control
        .get(sim.url("/v2/events"))
        .header("authorization", token.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare_token.status(),
        200,
        "a bare token (Helsinki's client) is accepted too"
    );
    let bad_continuation = sim
        .control
        .get(sim.url("/v2/events?continuationToken=garbage"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_continuation.status(), 400);
}

#[tokio::test]
async fn the_simulator_refuses_bad_paper_mail_and_attachments() {
    let sim = Sim::start_with(SimConfig {
        posti_username: Some("654321".into()),
        ..SimConfig::default()
    })
    .await;
    let client = sim.client();
    let text = client
        .upload_attachment("muistio.txt", "text/plain", b"teksti".to_vec())
        .await
        .unwrap();
    let pdf = upload_pdf(&client).await;
    let paper = |part: PaperMailPart| PaperMailWithoutId {
        external_id: uuid::Uuid::new_v4().to_string(),
        sender: Sender {
            service_id: "sim-service".into(),
        },
        paper_mail: part,
    };

    let not_pdf = client
        .send_paper(&paper(paper_part(
            AttachmentRef {
                attachment_id: text,
            },
            false,
        )))
        .await;
    assert!(
        matches!(not_pdf, Err(SuomiFiError::Rejected { status: 400, .. })),
        "{not_pdf:?}"
    );
    let wrong_posti = client
        .send_paper(&paper(paper_part(pdf.clone(), false)))
        .await;
    assert!(
        matches!(&wrong_posti, Err(SuomiFiError::Rejected { reason, .. }) if reason.contains("Posti"))
    );
    let mut right = paper_part(pdf.clone(), false);
    right
        .printing_and_enveloping_service
        .posti_messaging
        .username = "654321".into();
    assert!(client.send_paper(&paper(right.clone())).await.is_ok());

    // Our own checks catch address and Posti field errors before sending.
    let mut bad_country = right.clone();
    bad_country.recipient.address.country_code = "FIN".into();
    assert!(matches!(
        client.send_paper(&paper(bad_country)).await,
        Err(SuomiFiError::Invalid(_))
    ));
    let mut two_files = right;
    two_files.attachments.push(pdf);
    assert!(matches!(
        client.send_paper(&paper(two_files)).await,
        Err(SuomiFiError::Invalid(_))
    ));

    // Uploads: one `file` part; PDFs must be PDFs; size above 10 MiB is 413.
    let token = sim.raw_token().await;
    let upload = |part: reqwest::multipart::Part| {
        sim.control
            .post(sim.url("/v2/attachments"))
            .header("authorization", format!("Bearer {token}"))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
    };
    let fake_pdf = reqwest::multipart::Part::bytes(b"not a pdf".to_vec()).file_name("x.pdf");
    assert_eq!(upload(fake_pdf).await.unwrap().status(), 400);
    let exe = reqwest::multipart::Part::bytes(vec![0u8; 10]).file_name("x.exe");
    assert_eq!(upload(exe).await.unwrap().status(), 415);
    let huge = reqwest::multipart::Part::bytes(pdf_bytes(10_485_761)).file_name("iso.pdf");
    let too_large = upload(huge).await.unwrap();
    assert_eq!(too_large.status(), 413);
    assert_eq!(
        too_large.text().await.unwrap(),
        "HTTP content length exceeded 10485760 bytes."
    );
    let untyped = reqwest::multipart::Part::bytes(pdf_bytes(100)).file_name("ok.pdf");
    assert_eq!(
        upload(untyped).await.unwrap().status(),
        201,
        "type from the file name, as Helsinki's client needs"
    );
}

/// The object holding the last key of `path`, and that key.
fn parent<'a>(value: &'a mut Value, path: &[&'a str]) -> (&'a mut Value, &'a str) {
    let (last, ancestors) = path.split_last().expect("a non-empty path");
    let parent = ancestors.iter().fold(value, |node, key| &mut node[*key]);
    (parent, *last)
}

fn set(value: &Value, path: &[&str], new: Value) -> Value {
    let mut copy = value.clone();
    let (parent, key) = parent(&mut copy, path);
    parent[key] = new;
    copy
}

fn remove(value: &Value, path: &[&str]) -> Value {
    let mut copy = value.clone();
    let (parent, key) = parent(&mut copy, path);
    parent.as_object_mut().unwrap().remove(key);
    copy
}
