//! The Suomi.fi Messages REST wire model, shared by our client and the simulator.
//!
//! Field names and enum strings follow DVV's OpenAPI document and the production clients
//! (eVaka, City of Helsinki, OPH, Väylä HASSU). Responses never use `deny_unknown_fields`:
//! the service may add fields. Optional request fields are left out when empty, so what we
//! send is exactly what we mean.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

/// OAuth 2.0 token-response shape; the spec makes all three fields required.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    pub access_token: String,
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentCreated {
    pub attachment_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    pub attachment_id: Uuid,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// A personal identity code or a business ID.
    pub id: String,
}

impl std::fmt::Debug for Recipient {
    // Identity codes never reach logs, even through a debug print of a request.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient { id: <redacted> }")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    pub service_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyFormat {
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageServiceType {
    Normal,
    Verifiable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplyAllowedBy {
    Anyone,
    #[serde(rename = "No one")]
    NoOne,
}

/// Deprecated in DVV's newer OpenAPI document but still sent by every known client; we send
/// `Normal` (what "Recipient only" means was never documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    Normal,
    #[serde(rename = "Recipient only")]
    RecipientOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SenderDetailsInNotifications {
    #[serde(rename = "Organisation and service name")]
    OrganisationAndServiceName,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reminder {
    #[serde(rename = "Default reminder")]
    DefaultReminder,
    #[serde(rename = "No reminders")]
    NoReminders,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadMessageNotification {
    pub reminder: Reminder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalisedText {
    pub fi: String,
    pub sv: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomisedNewMessageNotification {
    pub title: LocalisedText,
    pub content: LocalisedText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notifications {
    pub sender_details_in_notifications: SenderDetailsInNotifications,
    pub unread_message_notification: UnreadMessageNotification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customised_new_message_notification: Option<CustomisedNewMessageNotification>,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            sender_details_in_notifications:
                SenderDetailsInNotifications::OrganisationAndServiceName,
            unread_message_notification: UnreadMessageNotification {
                reminder: Reminder::DefaultReminder,
            },
            customised_new_message_notification: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectronicPart {
    pub title: String,
    pub body: String,
    pub body_format: BodyFormat,
    pub message_service_type: MessageServiceType,
    pub reply_allowed_by: ReplyAllowedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    pub attachments: Vec<AttachmentRef>,
    pub notifications: Notifications,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to_message_id: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_name: Option<String>,
    pub street_address: String,
    pub zip_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2 (plus `XK` and `XX`, which the service also takes).
    pub country_code: String,
}

impl std::fmt::Debug for Address {
    // A postal address may be protected (turvakielto): keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Address")
            .field("country_code", &self.country_code)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalParty {
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetails {
    pub email: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostiMessaging {
    pub contact_details: ContactDetails,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for PostiMessaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostiMessaging")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintingAndEnvelopingService {
    pub posti_messaging: PostiMessaging,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_pool: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperMailPart {
    pub attachments: Vec<AttachmentRef>,
    pub color_printing: bool,
    pub create_address_page: bool,
    pub message_service_type: MessageServiceType,
    pub printing_and_enveloping_service: PrintingAndEnvelopingService,
    pub recipient: PostalParty,
    pub rotate_landscape_pages: bool,
    pub sender: PostalParty,
    pub two_sided_printing: bool,
}

/// `POST /v2/messages`: electronic if the recipient has an active mailbox, otherwise paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultichannelMessage {
    pub external_id: String,
    pub recipient: Recipient,
    pub sender: Sender,
    pub electronic: ElectronicPart,
    pub paper_mail: PaperMailPart,
}

/// `POST /v2/messages/electronic`: refused when the recipient has no active mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectronicMessage {
    pub external_id: String,
    pub recipient: Recipient,
    pub sender: Sender,
    pub electronic: ElectronicPart,
}

/// `POST /v2/paper-mail-without-id`: paper only. Also our route for forced paper to a person
/// who has an identity code (no separate endpoint is documented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperMailWithoutId {
    pub external_id: String,
    pub sender: Sender,
    pub paper_mail: PaperMailPart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageCreated {
    pub message_id: i64,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUser {
    pub id: String,
}

impl std::fmt::Debug for EndUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndUser { id: <redacted> }")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMailboxesRequest {
    pub end_users: Vec<EndUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMailboxesResponse {
    pub end_users_with_active_mailbox: Vec<EndUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    pub continuation_token: String,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Kept as the service's string: unknown types must be stored, not rejected.
    #[serde(rename = "type")]
    pub event_type: String,
    /// ISO 8601, as sent.
    pub event_time: String,
    pub metadata: EventMetadata,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        EventKind::from_wire(&self.event_type)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub message_id: i64,
    pub service_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Type-specific fields (`receiptConfirmedBy`, `postiTrackingCode`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The event types DVV documents, plus whatever else arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    ElectronicMessageCreated,
    ElectronicMessageRead,
    ReceiptConfirmed,
    ElectronicMessageFromEndUser,
    PaperMailCreated,
    SentForPrintingAndEnveloping,
    PostiReceiptConfirmed,
    PostiReturnedToSender,
    PostiUnresolved,
    Unknown(String),
}

impl EventKind {
    const KNOWN: [(&'static str, EventKind); 9] = [
        (
            "Electronic message created",
            EventKind::ElectronicMessageCreated,
        ),
        ("Electronic message read", EventKind::ElectronicMessageRead),
        ("Receipt confirmed", EventKind::ReceiptConfirmed),
        (
            "Electronic message from end user",
            EventKind::ElectronicMessageFromEndUser,
        ),
        ("Paper mail created", EventKind::PaperMailCreated),
        (
            "Sent for printing and enveloping",
            EventKind::SentForPrintingAndEnveloping,
        ),
        ("Posti: receipt confirmed", EventKind::PostiReceiptConfirmed),
        (
            "Posti: returned to sender",
            EventKind::PostiReturnedToSender,
        ),
        ("Posti: unresolved", EventKind::PostiUnresolved),
    ];

    pub fn from_wire(value: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(wire, _)| *wire == value)
            .map(|(_, kind)| kind.clone())
            .unwrap_or_else(|| EventKind::Unknown(value.to_string()))
    }

    pub fn as_wire(&self) -> &str {
        match self {
            EventKind::Unknown(value) => value,
            known => Self::KNOWN
                .iter()
                .find(|(_, kind)| kind == known)
                .map(|(wire, _)| *wire)
                .expect("every known kind has its string"),
        }
    }
}

/// `GET /v2/messages/{messageId}`: a message a citizen sent us.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CitizenMessage {
    pub message_id: i64,
    pub created_at: String,
    pub electronic: CitizenElectronicPart,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<CitizenSender>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CitizenElectronicPart {
    pub message_id: i64,
    pub created_at: String,
    pub title: String,
    pub body: String,
    pub attachments: Vec<CitizenAttachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<Thread>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CitizenAttachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    pub root_message_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_external_id: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct MailboxOwner {
    pub id: String,
    pub name: String,
}

impl std::fmt::Debug for MailboxOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailboxOwner { <redacted> }")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CitizenSender {
    pub mailbox_owner: MailboxOwner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_sending_message_on_behalf_of_mailbox_owner: Option<MailboxOwner>,
}

/// The service's error body: `reason` always; `validationErrors` on some 400s; the original
/// `messageId` on a 409.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<ValidationError>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

pub const MAILBOX_NOT_IN_USE: &str = "MAILBOX_NOT_IN_USE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_and_unknown_ones_are_kept() {
        for (wire, kind) in EventKind::KNOWN {
            assert_eq!(EventKind::from_wire(wire), kind);
            assert_eq!(kind.as_wire(), wire);
        }
        let novel = EventKind::from_wire("Something new");
        assert_eq!(novel, EventKind::Unknown("Something new".into()));
        assert_eq!(novel.as_wire(), "Something new");
    }

    #[test]
    fn enums_use_the_services_strings() {
        assert_eq!(
            serde_json::to_string(&ReplyAllowedBy::NoOne).unwrap(),
            r#""No one""#
        );
        assert_eq!(
            serde_json::to_string(&Visibility::RecipientOnly).unwrap(),
            r#""Recipient only""#
        );
        assert_eq!(
            serde_json::to_value(Notifications::default()).unwrap(),
            serde_json::json!({
                "senderDetailsInNotifications": "Organisation and service name",
                "unreadMessageNotification": { "reminder": "Default reminder" }
            })
        );
    }

    #[test]
    fn event_metadata_keeps_type_specific_fields() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "type": "Posti: receipt confirmed",
            "eventTime": "2026-12-01T10:00:00Z",
            "metadata": { "messageId": 7, "serviceId": "s", "externalId": "e",
                          "postiTrackingCode": "JJFI1", "recipientSignature": "M. M." }
        }))
        .unwrap();
        assert_eq!(event.kind(), EventKind::PostiReceiptConfirmed);
        assert_eq!(event.metadata.extra["postiTrackingCode"], "JJFI1");
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back["metadata"]["recipientSignature"], "M. M.");
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let recipient = Recipient {
            id: "131052-308T".into(),
        };
        assert!(!format!("{recipient:?}").contains("308T"));
        let address = Address {
            name: "Maija Meikäläinen".into(),
            additional_name: None,
            street_address: "Salainen katu 1".into(),
            zip_code: "00100".into(),
            city: "Helsinki".into(),
            country_code: "FI".into(),
        };
        assert!(!format!("{address:?}").contains("Salainen"));
    }
}
