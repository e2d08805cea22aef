//! Finnish personal identity codes (henkilötunnus) and business IDs (Y-tunnus).
//!
//! An identity code is personal data: `Debug` and `Display` show only a masked form, so it
//! cannot leak into logs or error strings by accident. The full value is reachable only via
//! `expose()`, which a reader can grep for.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum IdentityError {
    #[error("wrong length or format")]
    Format,
    #[error("not a real date")]
    Date,
    #[error("unknown century sign")]
    CenturySign,
    #[error("check character does not match")]
    Checksum,
    /// Individual numbers 000 and 001 are not given to anyone.
    #[error("individual number 000 or 001")]
    IndividualNumber,
}

const CHECK_CHARACTERS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// `DDMMYYCZZZQ`, e.g. `131052-308T`. Stored upper-case.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonalIdentityCode(String);

impl PersonalIdentityCode {
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let code = input.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        if bytes.len() != 11 {
            return Err(IdentityError::Format);
        }
        let digits_ok = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
        if !digits_ok(0..6) || !digits_ok(7..10) {
            return Err(IdentityError::Format);
        }
        let century = century_of(bytes[6]).ok_or(IdentityError::CenturySign)?;
        let day = number(&code[0..2]);
        let month = number(&code[2..4]);
        let year = century + number(&code[4..6]);
        if !is_real_date(year, month, day) {
            return Err(IdentityError::Date);
        }
        let nine_digits: u32 = format!("{}{}", &code[0..6], &code[7..10])
            .parse()
            .map_err(|_| IdentityError::Format)?;
        let expected = CHECK_CHARACTERS[(nine_digits % 31) as usize];
        if bytes[10] != expected {
            return Err(IdentityError::Checksum);
        }
        if number(&code[7..10]) < 2 {
            return Err(IdentityError::IndividualNumber);
        }
        Ok(Self(code))
    }

    /// Year, month, day of birth.
    pub fn birth_date(&self) -> (u32, u32, u32) {
        let century = century_of(self.0.as_bytes()[6]).expect("validated at parse");
        (
            century + number(&self.0[4..6]),
            number(&self.0[2..4]),
            number(&self.0[0..2]),
        )
    }

    /// The three digits after the century sign: 002–899 real persons, 900–999 test codes.
    pub fn individual_number(&self) -> u32 {
        number(&self.0[7..10])
    }

    /// A temporary or test code (individual number 900–999), not a real person's.
    pub fn is_temporary(&self) -> bool {
        self.individual_number() >= 900
    }

    /// Whether the person is under 18 on `on` (year, month, day).
    pub fn is_minor_on(&self, on: (u32, u32, u32)) -> bool {
        self.age_on(on) < 18
    }

    /// Age in whole years on `on` (year, month, day); someone born on 29 February has
    /// their birthday on 1 March in other years.
    pub fn age_on(&self, on: (u32, u32, u32)) -> u32 {
        let (year, month, day) = self.birth_date();
        let (on_year, on_month, on_day) = on;
        let years = on_year.saturating_sub(year);
        if (on_month, on_day) < (month, day) {
            years.saturating_sub(1)
        } else {
            years
        }
    }

    /// `131052-****`: the birth date and century, enough to tell records apart on screen,
    /// not enough to use.
    pub fn masked(&self) -> String {
        format!("{}****", &self.0[..7])
    }

    /// The full code, for the Suomi.fi request and encrypted storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonalIdentityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalIdentityCode({})", self.masked())
    }
}

impl fmt::Display for PersonalIdentityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl TryFrom<String> for PersonalIdentityCode {
    type Error = IdentityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonalIdentityCode> for String {
    fn from(value: PersonalIdentityCode) -> Self {
        value.0
    }
}

fn century_of(sign: u8) -> Option<u32> {
    match sign {
        b'+' => Some(1800),
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => Some(1900),
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => Some(2000),
        _ => None,
    }
}

fn number(digits: &str) -> u32 {
    digits.parse().unwrap_or(0)
}

fn is_real_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// Y-tunnus `NNNNNNN-T`, e.g. `0737546-2`. Not personal data, shown in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessId(String);

impl BusinessId {
    const WEIGHTS: [u32; 7] = [7, 9, 10, 5, 8, 4, 2];

    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let code = input.trim();
        let bytes = code.as_bytes();
        if bytes.len() != 9 || bytes[7] != b'-' {
            return Err(IdentityError::Format);
        }
        if !bytes[..7].iter().chain(&bytes[8..]).all(u8::is_ascii_digit) {
            return Err(IdentityError::Format);
        }
        let sum: u32 = bytes[..7]
            .iter()
            .zip(Self::WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        let expected = match sum % 11 {
            0 => 0,
            1 => return Err(IdentityError::Checksum),
            remainder => 11 - remainder,
        };
        if u32::from(bytes[8] - b'0') != expected {
            return Err(IdentityError::Checksum);
        }
        Ok(Self(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BusinessId {
    type Error = IdentityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BusinessId> for String {
    fn from(value: BusinessId) -> Self {
        value.0
    }
}

/// Whom a Suomi.fi message is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipientId {
    Person(PersonalIdentityCode),
    Organisation(BusinessId),
}

impl RecipientId {
    /// An identity code or a business ID, whichever the input is.
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let trimmed = input.trim();
        if trimmed.len() == 9 && trimmed.as_bytes().get(7) == Some(&b'-') {
            BusinessId::parse(trimmed).map(RecipientId::Organisation)
        } else {
            PersonalIdentityCode::parse(trimmed).map(RecipientId::Person)
        }
    }

    /// The value Suomi.fi's `recipient.id` takes.
    pub fn expose(&self) -> &str {
        match self {
            RecipientId::Person(code) => code.expose(),
            RecipientId::Organisation(id) => id.as_str(),
        }
    }

    /// As people may see it: a person's code masked (`131052-****`), a business ID whole.
    pub fn masked(&self) -> String {
        match self {
            RecipientId::Person(code) => code.masked(),
            RecipientId::Organisation(id) => id.as_str().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_identity_codes_of_every_century_sign() {
        // DVV's published examples, and the same person/number under each 2023 sign.
        for code in [
            "131052-308T", // DVV's example
            "131052Y308T",
            "131052X308T",
            "131052W308T",
            "131052V308T",
            "131052U308T",
            "010594Y9032",
            "010594Y9021",
            "020594X903P",
            "020594X902N",
            "030594W903B",
            "030694W9024",
            "040594V9030",
            "040594V902Y",
            "050594U903M",
            "050594U902L",
            "010516B903X",
            "010516B902W",
            "020516C903K",
            "020516C902J",
            "030516D9037",
            "030516D9026",
            "010501E9032",
            "020502E902X",
            "020503F9037",
            "020504A902E",
            "020504B904H",
            "010100+901H",
        ] {
            let parsed = PersonalIdentityCode::parse(code);
            assert!(parsed.is_ok(), "{code}: {parsed:?}");
        }
    }

    #[test]
    fn invalid_identity_codes_say_why() {
        assert_eq!(
            PersonalIdentityCode::parse("131052-308U"),
            Err(IdentityError::Checksum)
        );
        assert_eq!(
            PersonalIdentityCode::parse("131052G308T"),
            Err(IdentityError::CenturySign)
        );
        assert_eq!(
            PersonalIdentityCode::parse("311152-308T"),
            Err(IdentityError::Date)
        );
        assert_eq!(
            PersonalIdentityCode::parse("290223A9017"),
            Err(IdentityError::Date),
            "2023 is not a leap year"
        );
        assert_eq!(
            PersonalIdentityCode::parse("131052-308"),
            Err(IdentityError::Format)
        );
        assert_eq!(
            PersonalIdentityCode::parse("13105x-308T"),
            Err(IdentityError::Format)
        );
        assert_eq!(PersonalIdentityCode::parse(""), Err(IdentityError::Format));
        for unused in ["010100-000", "010100-001"] {
            let check = CHECK_CHARACTERS[(format!("{}{}", &unused[0..6], &unused[7..10])
                .parse::<u32>()
                .unwrap()
                % 31) as usize] as char;
            assert_eq!(
                PersonalIdentityCode::parse(&format!("{unused}{check}")),
                Err(IdentityError::IndividualNumber),
                "{unused}"
            );
        }
    }

    #[test]
    fn temporary_codes_are_told_apart() {
        assert!(PersonalIdentityCode::parse("010594Y9032")
            .unwrap()
            .is_temporary());
        assert!(!PersonalIdentityCode::parse("131052-308T")
            .unwrap()
            .is_temporary());
    }

    #[test]
    fn lower_case_and_spaces_are_normalised() {
        let code = PersonalIdentityCode::parse(" 010594y9032 ").unwrap();
        assert_eq!(code.expose(), "010594Y9032");
    }

    #[test]
    fn identity_codes_never_print_in_full() {
        let code = PersonalIdentityCode::parse("131052-308T").unwrap();
        assert_eq!(code.to_string(), "131052-****");
        assert_eq!(format!("{code:?}"), "PersonalIdentityCode(131052-****)");
        assert!(!format!("{:?}", RecipientId::Person(code)).contains("308"));
    }

    #[test]
    fn birth_date_individual_number_and_age() {
        let code = PersonalIdentityCode::parse("010516B903X").unwrap();
        assert_eq!(code.birth_date(), (2016, 5, 1));
        assert_eq!(code.individual_number(), 903);
        assert!(code.is_minor_on((2026, 12, 18)));
        let adult_tomorrow = PersonalIdentityCode::parse("131052-308T").unwrap();
        assert!(!adult_tomorrow.is_minor_on((2026, 12, 18)));
        // Turns 18 on 1.5.2034: a minor the day before, an adult on the day.
        assert!(code.is_minor_on((2034, 4, 30)));
        assert!(!code.is_minor_on((2034, 5, 1)));
        assert_eq!(code.age_on((2031, 4, 30)), 14);
        assert_eq!(code.age_on((2031, 5, 1)), 15);
    }

    #[test]
    fn business_ids_with_checksum() {
        for id in ["0737546-2", "1572860-0", "0112038-9", "2617416-4"] {
            assert!(BusinessId::parse(id).is_ok(), "{id}");
        }
        assert_eq!(BusinessId::parse("0737546-3"), Err(IdentityError::Checksum));
        assert_eq!(BusinessId::parse("07375462"), Err(IdentityError::Format));
        assert_eq!(BusinessId::parse("073754a-2"), Err(IdentityError::Format));
        // Remainder 1 has no valid check digit at all.
        assert_eq!(BusinessId::parse("0000006-0"), Err(IdentityError::Checksum));
    }

    #[test]
    fn recipient_id_tells_the_two_apart() {
        assert!(matches!(
            RecipientId::parse("0737546-2"),
            Ok(RecipientId::Organisation(_))
        ));
        assert!(matches!(
            RecipientId::parse("131052-308T"),
            Ok(RecipientId::Person(_))
        ));
        assert!(RecipientId::parse("nonsense").is_err());
    }
}
