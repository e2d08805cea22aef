//! What a notice is: its type, who receives it and in what role, its language, and postal
//! addresses. Parsed once at the edge; the stored string forms are `as_str`.

use serde::{Deserialize, Serialize};

/// Hallintolaki 54 § notices, and "other".
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeType {
    Decision,
    Summons,
    CompletionRequest,
    InspectionReport,
    Notification,
    ArrivalNotice,
    DecisionDateEstimate,
    Other,
}

impl NoticeType {
    pub const ALL: [NoticeType; 8] = [
        NoticeType::Decision,
        NoticeType::Summons,
        NoticeType::CompletionRequest,
        NoticeType::InspectionReport,
        NoticeType::Notification,
        NoticeType::ArrivalNotice,
        NoticeType::DecisionDateEstimate,
        NoticeType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeType::Decision => "decision",
            NoticeType::Summons => "summons",
            NoticeType::CompletionRequest => "completion_request",
            NoticeType::InspectionReport => "inspection_report",
            NoticeType::Notification => "notification",
            NoticeType::ArrivalNotice => "arrival_notice",
            NoticeType::DecisionDateEstimate => "decision_date_estimate",
            NoticeType::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// Verifiable service unless the caseworker (later: the template) says otherwise. A summons
    /// and a completion request set a deadline that runs from receipt (HL 60 §).
    pub fn verifiable_by_default(self) -> bool {
        matches!(self, NoticeType::Summons | NoticeType::CompletionRequest)
    }

    /// The appeal period unless the template says otherwise: decisions can be appealed
    /// (30 days, HL 49 c §, OHL); the other notices carry no appeal period.
    pub fn default_appeal_days(self) -> Option<u16> {
        matches!(self, NoticeType::Decision).then_some(30)
    }
}

/// Why this recipient is notified (HL 56 §: each separately).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    Party,
    Guardian,
    /// Edunvalvoja.
    LegalRepresentative,
    Agent,
}

impl RecipientRole {
    pub fn parse(value: &str) -> Option<Self> {
        [
            RecipientRole::Party,
            RecipientRole::Guardian,
            RecipientRole::LegalRepresentative,
            RecipientRole::Agent,
        ]
        .into_iter()
        .find(|role| role.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Party => "party",
            RecipientRole::Guardian => "guardian",
            RecipientRole::LegalRepresentative => "legal_representative",
            RecipientRole::Agent => "agent",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLanguage {
    #[default]
    Fi,
    Sv,
    En,
}

impl NoticeLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeLanguage::Fi => "fi",
            NoticeLanguage::Sv => "sv",
            NoticeLanguage::En => "en",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "fi" => Some(NoticeLanguage::Fi),
            "sv" => Some(NoticeLanguage::Sv),
            "en" => Some(NoticeLanguage::En),
            _ => None,
        }
    }
}

/// A postal address as Suomi.fi takes it. `country_code` is ISO 3166-1 alpha-2.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_name: Option<String>,
    pub street_address: String,
    pub zip_code: String,
    pub city: String,
    pub country_code: String,
}

impl std::fmt::Debug for PostalAddress {
    // Addresses may be protected (turvakielto): never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostalAddress")
            .field("country_code", &self.country_code)
            .finish_non_exhaustive()
    }
}

/// What is wrong with an address, per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressProblem {
    NameMissing,
    StreetMissing,
    ZipCodeMissing,
    /// A Finnish postal code is five digits.
    ZipCodeNotFinnish,
    CityMissing,
    CountryCodeInvalid,
    FieldTooLong,
    /// A control character, line break, direction override or markup in a field.
    UnsafeText,
}

impl PostalAddress {
    /// Trims every field, upper-cases the country code and checks what Suomi.fi checks.
    pub fn normalised(&self) -> Result<PostalAddress, AddressProblem> {
        let trim = |value: &str| value.trim().to_string();
        let address = PostalAddress {
            name: trim(&self.name),
            additional_name: self
                .additional_name
                .as_deref()
                .map(trim)
                .filter(|value| !value.is_empty()),
            street_address: trim(&self.street_address),
            zip_code: trim(&self.zip_code),
            city: trim(&self.city),
            country_code: self.country_code.trim().to_ascii_uppercase(),
        };
        if address.name.is_empty() {
            return Err(AddressProblem::NameMissing);
        }
        if address.street_address.is_empty() {
            return Err(AddressProblem::StreetMissing);
        }
        if address.zip_code.is_empty() {
            return Err(AddressProblem::ZipCodeMissing);
        }
        if address.city.is_empty() {
            return Err(AddressProblem::CityMissing);
        }
        let country_ok = address.country_code.len() == 2
            && address.country_code.bytes().all(|b| b.is_ascii_uppercase());
        if !country_ok {
            return Err(AddressProblem::CountryCodeInvalid);
        }
        let finnish_zip =
            address.zip_code.len() == 5 && address.zip_code.bytes().all(|b| b.is_ascii_digit());
        if address.country_code == "FI" && !finnish_zip {
            return Err(AddressProblem::ZipCodeNotFinnish);
        }
        let fields = [
            &address.name,
            &address.street_address,
            &address.zip_code,
            &address.city,
        ];
        let too_long = fields.iter().any(|field| field.chars().count() > 256)
            || address
                .additional_name
                .as_ref()
                .is_some_and(|name| name.chars().count() > 256);
        if too_long {
            return Err(AddressProblem::FieldTooLong);
        }
        let unsafe_text = fields
            .iter()
            .map(|field| field.as_str())
            .chain(address.additional_name.as_deref())
            .any(|field| super::text::check_line(field).is_err());
        if unsafe_text {
            return Err(AddressProblem::UnsafeText);
        }
        Ok(address)
    }
}

/// How an organisation's paper mail goes out; edited by its admins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverySettings {
    /// The return address printed as the sender of paper mail.
    pub return_address: Option<PostalAddress>,
    /// Where paper for a recipient with turvakielto goes, to be forwarded by hand.
    pub forwarding_address: Option<PostalAddress>,
    /// Lines under the letterhead (unit, contact details).
    pub letter_sender_lines: Vec<String>,
    /// Re-serve on paper by itself when a verifiable electronic notice is not acknowledged
    /// in time (otherwise the notice is flagged and a caseworker decides).
    pub auto_reserve_unacknowledged: bool,
    /// The language a new notice starts in.
    pub default_language: NoticeLanguage,
    /// The letterhead logo (a PNG in the document store), drawn on every paper letter.
    pub logo_sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> PostalAddress {
        PostalAddress {
            name: " Maija Meikäläinen ".into(),
            additional_name: Some("  ".into()),
            street_address: "Mannerheimintie 1 A 2".into(),
            zip_code: "00100".into(),
            city: "Helsinki".into(),
            country_code: "fi".into(),
        }
    }

    #[test]
    fn addresses_are_trimmed_and_checked() {
        let normal = address().normalised().unwrap();
        assert_eq!(normal.name, "Maija Meikäläinen");
        assert_eq!(normal.additional_name, None);
        assert_eq!(normal.country_code, "FI");

        let foreign = PostalAddress {
            zip_code: "SE-112 21".into(),
            country_code: "SE".into(),
            ..address()
        };
        assert!(foreign.normalised().is_ok());

        for (broken, problem) in [
            (
                PostalAddress {
                    name: "".into(),
                    ..address()
                },
                AddressProblem::NameMissing,
            ),
            (
                PostalAddress {
                    street_address: " ".into(),
                    ..address()
                },
                AddressProblem::StreetMissing,
            ),
            (
                PostalAddress {
                    zip_code: "".into(),
                    ..address()
                },
                AddressProblem::ZipCodeMissing,
            ),
            (
                PostalAddress {
                    zip_code: "0010".into(),
                    ..address()
                },
                AddressProblem::ZipCodeNotFinnish,
            ),
            (
                PostalAddress {
                    city: "".into(),
                    ..address()
                },
                AddressProblem::CityMissing,
            ),
            (
                PostalAddress {
                    country_code: "FIN".into(),
                    ..address()
                },
                AddressProblem::CountryCodeInvalid,
            ),
            (
                PostalAddress {
                    city: "x".repeat(257),
                    ..address()
                },
                AddressProblem::FieldTooLong,
            ),
        ] {
            assert_eq!(broken.normalised(), Err(problem));
        }
    }

    #[test]
    fn notice_types_round_trip_and_carry_their_defaults() {
        for kind in NoticeType::ALL {
            assert_eq!(NoticeType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeType::parse("verdict"), None);
        assert!(NoticeType::Summons.verifiable_by_default());
        assert!(!NoticeType::Decision.verifiable_by_default());
        assert_eq!(NoticeType::Decision.default_appeal_days(), Some(30));
        assert_eq!(NoticeType::Notification.default_appeal_days(), None);
    }
}
