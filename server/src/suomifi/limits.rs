//! The documented limits of the Suomi.fi Messages API, checked in one place: our client
//! checks them before sending (a typed error instead of a round trip), and the simulator
//! refuses what breaks them, as the real service does.
//!
//! Figures from DVV's OpenAPI document (as copied into public clients); where DVV is silent,
//! the value is marked as our reading and is configuration.

use super::model::{
    Address, ElectronicMessage, ElectronicPart, MultichannelMessage, PaperMailPart,
    PaperMailWithoutId, PrintingAndEnvelopingService,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_title_chars: usize,
    pub max_body_chars: usize,
    pub max_electronic_attachments: usize,
    /// Uploads above this get 413.
    pub max_upload_bytes: usize,
    pub max_external_id_chars: usize,
    pub max_service_id_chars: usize,
    pub max_mailbox_batch: usize,
    pub max_address_field_chars: usize,
    pub max_zip_code_chars: usize,
    pub max_notification_title_chars: usize,
    pub max_notification_content_chars: usize,
    /// Our reading, not DVV's: print services treat about 3 MB as the ceiling of one paper
    /// PDF, so a larger letter is refused when composing rather than failing at the printer.
    pub max_paper_pdf_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_title_chars: 256,
            max_body_chars: 40_000,
            max_electronic_attachments: 50,
            max_upload_bytes: 10_485_760,
            max_external_id_chars: 256,
            max_service_id_chars: 64,
            max_mailbox_batch: 10_000,
            max_address_field_chars: 256,
            max_zip_code_chars: 64,
            max_notification_title_chars: 256,
            max_notification_content_chars: 1_500,
            max_paper_pdf_bytes: 3 * 1024 * 1024,
        }
    }
}

/// Media types an electronic attachment may have, by file extension.
const ATTACHMENT_TYPES: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("txt", "text/plain"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
];

/// The media type of an attachment, from its declared type or else its file name; `None`
/// when the type is not one Suomi.fi takes.
pub fn attachment_media_type(filename: &str, declared: Option<&str>) -> Option<&'static str> {
    let declared = declared
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|value| !value.is_empty() && value != "application/octet-stream");
    if let Some(declared) = declared {
        return ATTACHMENT_TYPES
            .iter()
            .find(|(_, media)| *media == declared)
            .map(|(_, media)| *media);
    }
    let extension = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    ATTACHMENT_TYPES
        .iter()
        .find(|(ext, _)| *ext == extension)
        .map(|(_, media)| *media)
}

pub fn is_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// The signatures that open files of the types Suomi.fi takes (and of programs).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG: &[u8] = b"\xff\xd8\xff";
/// Word, Excel and PowerPoint before 2007 (OLE compound files).
const OLE: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
/// Office Open XML and OpenDocument files are ZIP archives.
const ZIP: &[u8] = b"PK\x03\x04";
const BINARY: &[&[u8]] = &[b"%PDF-", PNG, JPEG, OLE, ZIP, b"MZ", b"\x7fELF", b"GIF8"];

/// Whether the bytes are what the media type says: the recipient's device opens a file by
/// its name, so a PDF named `.png` or a program named `.docx` is refused where it is taken.
pub fn content_matches(media_type: &str, bytes: &[u8]) -> bool {
    match media_type {
        "application/pdf" => is_pdf(bytes),
        "image/png" => bytes.starts_with(PNG),
        "image/jpeg" => bytes.starts_with(JPEG),
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            bytes.starts_with(OLE)
        }
        "text/plain" => !bytes.contains(&0) && !BINARY.iter().any(|magic| bytes.starts_with(magic)),
        // The OOXML and OpenDocument types.
        _ => bytes.starts_with(ZIP),
    }
}

/// Collects every broken rule in a request, so one answer names them all.
#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, message: String) {
        self.0.push(message);
    }

    fn length(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let chars = value.chars().count();
        if chars < min || chars > max {
            self.push(format!(
                "{field}: length must be {min}..{max} characters, was {chars}"
            ));
        }
    }
}

impl Limits {
    pub fn check_multichannel(&self, message: &MultichannelMessage) -> Violations {
        let mut violations = self.envelope(
            &message.external_id,
            &message.sender.service_id,
            Some(&message.recipient.id),
        );
        self.electronic(&mut violations, &message.electronic);
        self.paper(&mut violations, &message.paper_mail);
        violations
    }

    pub fn check_electronic(&self, message: &ElectronicMessage) -> Violations {
        let mut violations = self.envelope(
            &message.external_id,
            &message.sender.service_id,
            Some(&message.recipient.id),
        );
        self.electronic(&mut violations, &message.electronic);
        violations
    }

    pub fn check_paper(&self, message: &PaperMailWithoutId) -> Violations {
        let mut violations = self.envelope(&message.external_id, &message.sender.service_id, None);
        self.paper(&mut violations, &message.paper_mail);
        violations
    }

    pub fn check_mailbox_batch(&self, ids: &[String]) -> Violations {
        let mut violations = Violations::default();
        if ids.is_empty() || ids.len() > self.max_mailbox_batch {
            violations.push(format!(
                "endUsers: 1..{} ids per request, was {}",
                self.max_mailbox_batch,
                ids.len()
            ));
        }
        for (index, id) in ids.iter().enumerate() {
            self.recipient_id_at(&mut violations, &format!("endUsers[{index}].id"), id);
        }
        violations
    }

    /// What every send carries: our externalId, the service, and (but for paper without
    /// ID) the recipient.
    fn envelope(&self, external_id: &str, service_id: &str, recipient: Option<&str>) -> Violations {
        let mut violations = Violations::default();
        violations.length("externalId", external_id, 1, self.max_external_id_chars);
        violations.length("sender.serviceId", service_id, 1, self.max_service_id_chars);
        if let Some(id) = recipient {
            self.recipient_id_at(&mut violations, "recipient.id", id);
        }
        violations
    }

    fn recipient_id_at(&self, violations: &mut Violations, field: &str, id: &str) {
        // Length only: the value itself never goes into an error text.
        let chars = id.chars().count();
        if !(9..=11).contains(&chars) {
            violations.push(format!("{field}: length must be 9..11 characters"));
        }
    }

    fn electronic(&self, violations: &mut Violations, part: &ElectronicPart) {
        violations.length("electronic.title", &part.title, 1, self.max_title_chars);
        violations.length("electronic.body", &part.body, 1, self.max_body_chars);
        if part.attachments.len() > self.max_electronic_attachments {
            violations.push(format!(
                "electronic.attachments: at most {}, was {}",
                self.max_electronic_attachments,
                part.attachments.len()
            ));
        }
        if let Some(custom) = &part.notifications.customised_new_message_notification {
            let title_max = self.max_notification_title_chars;
            let content_max = self.max_notification_content_chars;
            let field = "electronic.notifications.customisedNewMessageNotification";
            for (lang, text) in [
                ("fi", &custom.title.fi),
                ("sv", &custom.title.sv),
                ("en", &custom.title.en),
            ] {
                violations.length(&format!("{field}.title.{lang}"), text, 1, title_max);
            }
            for (lang, text) in [
                ("fi", &custom.content.fi),
                ("sv", &custom.content.sv),
                ("en", &custom.content.en),
            ] {
                violations.length(&format!("{field}.content.{lang}"), text, 0, content_max);
            }
        }
    }

    fn paper(&self, violations: &mut Violations, part: &PaperMailPart) {
        if part.attachments.len() != 1 {
            violations.push(format!(
                "paperMail.attachments: exactly one PDF, was {}",
                part.attachments.len()
            ));
        }
        self.address(
            violations,
            "paperMail.recipient.address",
            &part.recipient.address,
        );
        self.address(violations, "paperMail.sender.address", &part.sender.address);
        self.printing(violations, &part.printing_and_enveloping_service);
    }

    fn address(&self, violations: &mut Violations, field: &str, address: &Address) {
        let max = self.max_address_field_chars;
        violations.length(&format!("{field}.name"), &address.name, 1, max);
        if let Some(additional) = &address.additional_name {
            violations.length(&format!("{field}.additionalName"), additional, 1, max);
        }
        violations.length(
            &format!("{field}.streetAddress"),
            &address.street_address,
            1,
            max,
        );
        violations.length(
            &format!("{field}.zipCode"),
            &address.zip_code,
            1,
            self.max_zip_code_chars,
        );
        violations.length(&format!("{field}.city"), &address.city, 1, max);
        if !is_country_code(&address.country_code) {
            violations.push(format!(
                "{field}.countryCode: not an ISO 3166-1 alpha-2 code"
            ));
        }
    }

    fn printing(&self, violations: &mut Violations, service: &PrintingAndEnvelopingService) {
        let field = "paperMail.printingAndEnvelopingService";
        let posti = &service.posti_messaging;
        violations.length(
            &format!("{field}.postiMessaging.username"),
            &posti.username,
            6,
            6,
        );
        // Length only: a password never goes into an error text, even a wrong one.
        if posti.password.chars().count() != 4 {
            violations.push(format!(
                "{field}.postiMessaging.password: length must be 4 characters"
            ));
        }
        violations.length(
            &format!("{field}.postiMessaging.contactDetails.email"),
            &posti.contact_details.email,
            5,
            256,
        );
        if let Some(cost_pool) = &service.cost_pool {
            let valid = (1..=15).contains(&cost_pool.len())
                && cost_pool
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !valid {
                violations.push(format!("{field}.costPool: 1..15 characters of A-Z and 0-9"));
            }
        }
    }
}

/// ISO 3166-1 alpha-2, plus `XK` (Kosovo) and `XX` (unknown), which the service accepts.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split(' ').any(|known| known == code)
}

const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH \
BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR \
GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR \
KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE \
RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL \
TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK XX";

#[cfg(test)]
mod content_tests {
    use super::*;

    #[test]
    fn a_file_must_be_what_its_name_says() {
        assert!(content_matches("application/pdf", b"%PDF-1.7\n"));
        assert!(!content_matches("image/png", b"%PDF-1.7\n"));
        assert!(content_matches("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!content_matches(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"just text"
        ));
        assert!(content_matches("text/plain", "Päätös\n".as_bytes()));
        assert!(!content_matches("text/plain", b"MZ\x90\x00"));
        assert!(!content_matches("application/msword", b"PK\x03\x04"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_from_declared_type_or_file_name() {
        assert_eq!(
            attachment_media_type("a.pdf", None),
            Some("application/pdf")
        );
        assert_eq!(
            attachment_media_type("A.PDF", Some("application/octet-stream")),
            Some("application/pdf")
        );
        assert_eq!(
            attachment_media_type("kuva", Some("image/png")),
            Some("image/png")
        );
        assert_eq!(attachment_media_type("x.exe", None), None);
        assert_eq!(
            attachment_media_type("x.pdf", Some("application/x-msdownload")),
            None
        );
        assert_eq!(attachment_media_type("noextension", None), None);
    }

    #[test]
    fn country_codes() {
        assert!(is_country_code("FI"));
        assert!(is_country_code("SE"));
        assert!(is_country_code("XK"));
        assert!(!is_country_code("fi"));
        assert!(!is_country_code("FIN"));
        assert!(!is_country_code("QQ"));
        assert_eq!(COUNTRY_CODES.split(' ').count(), 251);
    }
}
