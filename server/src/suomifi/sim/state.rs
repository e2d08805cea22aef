//! The simulator's memory: credentials and tokens, mailboxes, attachments, messages, the
//! event log with its continuation tokens, faults, and counters. Time is simulated: real time
//! plus an offset that tests move forward.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use app::domain::RecipientId;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::suomifi::limits::Limits;
use crate::suomifi::model::{CitizenMessage, Event, EventKind, EventMetadata};

/// How the simulator is set up; every value has a documented default.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub username: String,
    pub password: String,
    pub service_id: String,
    /// When set, paper mail must carry exactly these Posti credentials.
    pub posti_username: Option<String>,
    pub posti_password: Option<String>,
    pub token_lifetime: Duration,
    /// Simulated time until an electronic message is read (and a verifiable one confirmed).
    pub read_delay: Duration,
    /// Simulated time until paper mail goes to printing.
    pub print_delay: Duration,
    /// Simulated time until Posti reports on verifiable paper mail.
    pub posti_delay: Duration,
    pub limits: Limits,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            username: "sim-user".into(),
            password: "sim-password".into(),
            service_id: "sim-service".into(),
            posti_username: None,
            posti_password: None,
            token_lifetime: Duration::from_secs(3600),
            read_delay: Duration::from_secs(3600),
            print_delay: Duration::from_secs(3600),
            posti_delay: Duration::from_secs(3 * 24 * 3600),
            limits: Limits::default(),
            seed: 1,
        }
    }
}

/// What a recipient does with what they get (per recipient id, or per postal name for paper
/// without an id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    /// Reads (and acknowledges) after this many simulated seconds; the configured read
    /// delay when unset.
    #[serde(default)]
    pub reads_after_seconds: Option<u64>,
    /// Never opens the message: a verifiable one stays unacknowledged.
    #[serde(default)]
    pub never_reads: bool,
    #[serde(default)]
    pub paper_outcome: PaperOutcome,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperOutcome {
    #[default]
    Receipt,
    Returned,
    Unresolved,
}

/// Injected trouble, applied to every API request (never to `/__sim/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Fraction of requests answered 500/502/503.
    pub error_rate: f64,
    /// Fraction answered 429 with `Retry-After: retry_after_seconds`.
    pub rate_limit_rate: f64,
    pub retry_after_seconds: u64,
    /// Fraction that hang for `timeout_seconds`; half of them are carried out before the
    /// hang (the client never hears that they succeeded).
    pub timeout_rate: f64,
    pub timeout_seconds: u64,
    /// Every request fails with 503 for this many real seconds from now.
    pub outage_seconds: u64,
    /// Added to every request.
    pub latency_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Electronic,
    Paper,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredAttachment {
    pub filename: String,
    pub media_type: String,
    pub size: usize,
    pub is_pdf: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    /// The account that uploaded it: only its messages may carry it (a citizen's attachment:
    /// none).
    #[serde(default)]
    pub owner: Option<String>,
}

/// A message as the simulator received it (the request as sent), for tests to inspect.
#[derive(Debug, Clone, Serialize)]
pub struct SimMessage {
    pub message_id: i64,
    pub external_id: String,
    pub endpoint: String,
    pub channel: Channel,
    pub verifiable: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub request: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Requests by `METHOD path-pattern`.
    pub requests: BTreeMap<String, u64>,
    /// Responses by status code.
    pub responses: BTreeMap<u16, u64>,
    /// Messages created under each externalId: never more than one.
    pub messages_by_external_id: BTreeMap<String, u64>,
    /// Sends refused with 409 because the externalId was used before.
    pub duplicate_sends: u64,
    pub messages: u64,
    pub attachments: u64,
    pub faults_injected: u64,
}

/// A system's account: its password and the services it may send for. The configured one
/// exists from the start; tests and demos add more under `/__sim/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    pub password: String,
    pub service_ids: Vec<String>,
}

pub struct SimState {
    pub config: SimConfig,
    /// By username.
    pub accounts: HashMap<String, SimAccount>,
    clock_offset: time::Duration,
    /// Token → (expiry, username).
    tokens: HashMap<String, (OffsetDateTime, String)>,
    pub mailbox_overrides: HashMap<String, bool>,
    pub behaviours: HashMap<String, Behaviour>,
    pub attachments: HashMap<Uuid, StoredAttachment>,
    pub attachment_bytes: HashMap<Uuid, Vec<u8>>,
    pub messages: Vec<SimMessage>,
    message_ids_by_external_id: HashMap<String, i64>,
    next_message_id: i64,
    scheduled: Vec<(OffsetDateTime, Event)>,
    log: Vec<Event>,
    pub citizen_messages: HashMap<i64, CitizenMessage>,
    pub faults: Faults,
    pub outage_until: Option<Instant>,
    pub counters: Counters,
    pub rng: StdRng,
}

const EVENT_RETENTION: time::Duration = time::Duration::days(60);
const ATTACHMENT_LIFETIME: time::Duration = time::Duration::hours(24);

impl SimState {
    pub fn new(config: SimConfig) -> Self {
        let accounts = HashMap::from([(
            config.username.clone(),
            SimAccount {
                password: config.password.clone(),
                service_ids: vec![config.service_id.clone()],
            },
        )]);
        Self {
            accounts,
            rng: StdRng::seed_from_u64(config.seed),
            config,
            clock_offset: time::Duration::ZERO,
            tokens: HashMap::new(),
            mailbox_overrides: HashMap::new(),
            behaviours: HashMap::new(),
            attachments: HashMap::new(),
            attachment_bytes: HashMap::new(),
            messages: Vec::new(),
            message_ids_by_external_id: HashMap::new(),
            next_message_id: 100_001,
            scheduled: Vec::new(),
            log: Vec::new(),
            citizen_messages: HashMap::new(),
            faults: Faults::default(),
            outage_until: None,
            counters: Counters::default(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    pub fn advance_clock(&mut self, by: time::Duration) {
        self.clock_offset += by;
    }

    /// The account of a username and password, if they match.
    pub fn authenticate(&self, username: &str, password: &str) -> bool {
        self.accounts
            .get(username)
            .is_some_and(|account| account.password == password)
    }

    pub fn issue_token(&mut self, username: &str) -> String {
        let token = format!("sim-{}", Uuid::new_v4().simple());
        let expires =
            self.now() + time::Duration::seconds(self.config.token_lifetime.as_secs() as i64);
        self.tokens
            .insert(token.clone(), (expires, username.to_string()));
        token
    }

    /// The username a live token was issued to.
    pub fn token_owner(&self, token: &str) -> Option<String> {
        self.tokens
            .get(token)
            .filter(|(expires, _)| *expires > self.now())
            .map(|(_, username)| username.clone())
    }

    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// A password change ends the account's tokens only.
    pub fn expire_tokens_of(&mut self, username: &str) {
        self.tokens.retain(|_, (_, owner)| owner != username);
    }

    /// Whether the account may send for the service.
    pub fn account_has_service(&self, username: &str, service_id: &str) -> bool {
        self.accounts
            .get(username)
            .is_some_and(|account| account.service_ids.iter().any(|id| id == service_id))
    }

    /// The documented default rule, unless configured otherwise for this id: a valid
    /// identity code with an odd individual number, or any valid business ID.
    pub fn has_active_mailbox(&self, id: &str) -> bool {
        if let Some(active) = self.mailbox_overrides.get(id) {
            return *active;
        }
        match RecipientId::parse(id) {
            Ok(RecipientId::Person(code)) => code.individual_number() % 2 == 1,
            Ok(RecipientId::Organisation(_)) => true,
            Err(_) => false,
        }
    }

    /// A live (not expired) uploaded attachment.
    pub fn attachment(&self, id: &Uuid) -> Option<&StoredAttachment> {
        self.attachments
            .get(id)
            .filter(|attachment| attachment.uploaded_at + ATTACHMENT_LIFETIME > self.now())
    }

    pub fn message_id_for(&self, external_id: &str) -> Option<i64> {
        self.message_ids_by_external_id.get(external_id).copied()
    }

    /// Records a new message and schedules the events its path produces.
    pub fn create_message(
        &mut self,
        external_id: &str,
        endpoint: &str,
        channel: Channel,
        verifiable: bool,
        behaviour_key: &str,
        request: Value,
    ) -> i64 {
        let message_id = self.next_message_id;
        self.next_message_id += 1;
        // The events name the service the message was sent for.
        let service_id = request["sender"]["serviceId"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.config.service_id.clone());
        let now = self.now();
        self.message_ids_by_external_id
            .insert(external_id.to_string(), message_id);
        *self
            .counters
            .messages_by_external_id
            .entry(external_id.to_string())
            .or_default() += 1;
        self.counters.messages += 1;
        self.messages.push(SimMessage {
            message_id,
            external_id: external_id.to_string(),
            endpoint: endpoint.to_string(),
            channel,
            verifiable,
            created_at: now,
            request,
        });
        let behaviour = self
            .behaviours
            .get(behaviour_key)
            .cloned()
            .unwrap_or_default();
        let metadata = |extra: Value| EventMetadata {
            message_id,
            service_id: service_id.clone(),
            external_id: Some(external_id.to_string()),
            extra: extra.as_object().cloned().unwrap_or_default(),
        };
        let mut events = Vec::new();
        match channel {
            Channel::Electronic => {
                events.push((
                    now,
                    EventKind::ElectronicMessageCreated,
                    metadata(json!({})),
                ));
                let read_after = (!behaviour.never_reads).then(|| {
                    behaviour
                        .reads_after_seconds
                        .map_or(self.config.read_delay, Duration::from_secs)
                });
                if let Some(delay) = read_after {
                    let read_at = now + delay;
                    if verifiable {
                        // A verifiable message opens only after the recipient acknowledges it.
                        let confirmed = metadata(json!({ "receiptConfirmedBy": "Recipient" }));
                        events.push((read_at, EventKind::ReceiptConfirmed, confirmed));
                    }
                    events.push((
                        read_at,
                        EventKind::ElectronicMessageRead,
                        metadata(json!({})),
                    ));
                }
            }
            Channel::Paper => {
                events.push((now, EventKind::PaperMailCreated, metadata(json!({}))));
                let printed_at = now + self.config.print_delay;
                events.push((
                    printed_at,
                    EventKind::SentForPrintingAndEnveloping,
                    metadata(json!({})),
                ));
                if verifiable {
                    let tracking = format!("JJFI{message_id:010}");
                    let reported_at = printed_at + self.config.posti_delay;
                    let (kind, extra) = match behaviour.paper_outcome {
                        PaperOutcome::Receipt => (
                            EventKind::PostiReceiptConfirmed,
                            json!({ "postiTrackingCode": tracking, "recipientSignature": "Vastaanottaja" }),
                        ),
                        PaperOutcome::Returned => (
                            EventKind::PostiReturnedToSender,
                            json!({ "postiTrackingCode": tracking }),
                        ),
                        PaperOutcome::Unresolved => (
                            EventKind::PostiUnresolved,
                            json!({ "postiTrackingCode": tracking }),
                        ),
                    };
                    events.push((reported_at, kind, metadata(extra)));
                }
            }
        }
        for (due, kind, metadata) in events {
            self.schedule(due, kind, metadata);
        }
        message_id
    }

    pub fn schedule(&mut self, due: OffsetDateTime, kind: EventKind, metadata: EventMetadata) {
        let event = Event {
            event_type: kind.as_wire().to_string(),
            event_time: due.format(&Rfc3339).expect("UTC instants format"),
            metadata,
        };
        self.scheduled.push((due, event));
    }

    /// Moves every event that is due by now into the log, in time order.
    fn publish_due_events(&mut self) {
        let now = self.now();
        let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.scheduled = later;
        due.sort_by_key(|(at, _)| *at);
        self.log.extend(due.into_iter().map(|(_, event)| event));
    }

    /// Up to `limit` events after the position `token` names; `None` for an unknown token.
    /// Only the events of the account's services (a system sees its own).
    pub fn events_after(
        &mut self,
        token: Option<&str>,
        limit: usize,
        username: &str,
    ) -> Option<(Vec<Event>, String)> {
        self.publish_due_events();
        let start = match token {
            None => 0,
            Some(token) => parse_continuation_token(token)?,
        };
        if start > self.log.len() {
            return None;
        }
        let oldest_kept = self.now() - EVENT_RETENTION;
        let services = self
            .accounts
            .get(username)
            .map(|account| account.service_ids.clone())
            .unwrap_or_default();
        let mut events = Vec::new();
        let mut position = start;
        while position < self.log.len() && events.len() < limit {
            let event = &self.log[position];
            position += 1;
            let kept = OffsetDateTime::parse(&event.event_time, &Rfc3339)
                .is_ok_and(|at| at >= oldest_kept);
            if kept && services.contains(&event.metadata.service_id) {
                events.push(event.clone());
            }
        }
        Some((events, continuation_token(position)))
    }

    pub fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }
}

fn continuation_token(position: usize) -> String {
    format!("ct-{position}")
}

fn parse_continuation_token(token: &str) -> Option<usize> {
    token.strip_prefix("ct-")?.parse().ok()
}
