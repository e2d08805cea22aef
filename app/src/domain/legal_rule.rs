//! The rule a delivery's legal dates follow, as data: the pages say it in the reader's
//! language, the proof of service and the stored history in English with its section of law.
//! Dates are `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};

/// Why a delivery has the dates it has, or none yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalRule {
    NotSentYet,
    /// Multichannel: Suomi.fi has not told yet which channel it took.
    WaitingForChannel,
    /// A letter to the organisation's forwarding address (turvakielto) is not service.
    ForwardingNotRecorded,
    /// Forwarded against a receipt that is not recorded yet.
    ForwardingReceiptMissing,
    /// Posti returned the letter: no presumption of receipt holds.
    ReturnedByPosti,
    /// Posti could not deliver the letter.
    UndeliveredByPosti,
    /// Verifiable service waits for the recipient's acknowledgement.
    AwaitingAcknowledgement,
    /// The other delivery to the same recipient (the paper re-serve, or the notice it
    /// re-served) served the notice first, on `on`: only that one has dates.
    ServedByOther {
        on: String,
    },
    Served {
        receipt: ReceiptBasis,
        /// For an ordinary letter: how its day of sending was told.
        sent: Option<SentBasis>,
        /// `None` when the notice has no appeal period.
        appeal: Option<AppealBasis>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptBasis {
    /// Asiointilaki 18 §.
    VerifiableElectronic,
    /// HL 60 §.
    VerifiableLetter,
    /// Asiointilaki 19 §: on the `days`th day after sending.
    OrdinaryElectronic { days: i64 },
    /// HL 59 §.
    OrdinaryLetter { days: i64 },
    /// HL 61 §: the 3rd day after the certificate's date.
    SubstituteService { certificate_on: String },
    /// HL 62 §: the 7th day after publication in the Official Gazette.
    PublicNotice { published_on: String },
    /// Forwarded by an ordinary letter (HL 59 §).
    ForwardedByLetter { forwarded_on: String, days: i64 },
    /// Forwarded by a letter against a receipt (HL 60 §).
    ForwardedAgainstReceipt { forwarded_on: String },
    /// Handed over in person against a signature (HL 60 §).
    HandedOver { on: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentBasis {
    /// Sent on the day it went to print, plus the configured print lag.
    Printed { lag_days: i64 },
    /// Printing not reported yet: the day Suomi.fi took it.
    NotPrintedYet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealBasis {
    pub days: i64,
    /// The period's last day when it was not a working day (moved to the next one).
    pub moved_from: Option<String>,
}

/// `2026-12-07` as `7.12.2026`.
pub fn finnish_day(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(year), Some(month), Some(day)) => format!(
            "{}.{}.{year}",
            day.trim_start_matches('0'),
            month.trim_start_matches('0')
        ),
        _ => iso.to_string(),
    }
}

impl LegalRule {
    /// In English, with the section of law: kept in the history and the proof of service.
    pub fn english(&self) -> String {
        match self {
            LegalRule::NotSentYet => "not sent yet".into(),
            LegalRule::WaitingForChannel => {
                "multichannel: waiting for Suomi.fi to tell which channel it took".into()
            }
            LegalRule::ForwardingNotRecorded => {
                "not served yet: the letter went to the organisation's forwarding address \
                 (turvakielto) and is not service; record how it was served onwards"
                    .into()
            }
            LegalRule::ForwardingReceiptMissing => {
                "forwarded against a receipt, which has not been recorded yet".into()
            }
            LegalRule::ReturnedByPosti => {
                "not served: Posti returned the letter to the sender".into()
            }
            LegalRule::UndeliveredByPosti => {
                "not served: Posti could not deliver the letter".into()
            }
            LegalRule::AwaitingAcknowledgement => {
                "verifiable service: received on acknowledgement, which has not come yet".into()
            }
            LegalRule::ServedByOther { on } => format!(
                "no dates of its own: the other delivery to the same recipient served the notice \
                 first, on {}",
                finnish_day(on)
            ),
            LegalRule::Served {
                receipt,
                sent,
                appeal,
            } => {
                let mut text = receipt.english();
                match sent {
                    Some(SentBasis::Printed { lag_days: 0 }) => {
                        text.push_str(" (sent on the day it went to print)")
                    }
                    Some(SentBasis::Printed { lag_days }) => text.push_str(&format!(
                        " (sent on the day it went to print plus the print lag of {lag_days} days)"
                    )),
                    Some(SentBasis::NotPrintedYet) => text
                        .push_str(" (sent on the day Suomi.fi took it; printing not reported yet)"),
                    None => {}
                }
                if let Some(appeal) = appeal {
                    text.push_str(&format!(
                        "; appeal period {} days from receipt, the last day moved to the next \
                         working day when it is not one (laki 150/1930 5 §)",
                        appeal.days
                    ));
                }
                text
            }
        }
    }
}

impl ReceiptBasis {
    fn english(&self) -> String {
        match self {
            ReceiptBasis::VerifiableElectronic => {
                "verifiable electronic service: received on acknowledgement (asiointilaki 18 §)"
                    .into()
            }
            ReceiptBasis::VerifiableLetter => {
                "verifiable letter: received on the date of the receipt (HL 60 §)".into()
            }
            ReceiptBasis::OrdinaryElectronic { days } => format!(
                "ordinary electronic service: received on day {days} after sending (asiointilaki 19 §)"
            ),
            ReceiptBasis::OrdinaryLetter { days } => {
                format!("ordinary letter: received on day {days} after sending (HL 59 §)")
            }
            ReceiptBasis::SubstituteService { certificate_on } => format!(
                "substitute service: received on the 3rd day after the certificate of {} (HL 61 §)",
                finnish_day(certificate_on)
            ),
            ReceiptBasis::PublicNotice { published_on } => format!(
                "public notice: received on the 7th day after publication in the Official \
                 Gazette on {} (HL 62 §)",
                finnish_day(published_on)
            ),
            ReceiptBasis::ForwardedByLetter { forwarded_on, days } => format!(
                "forwarded by ordinary letter on {}: received on day {days} after sending (HL 59 §)",
                finnish_day(forwarded_on)
            ),
            ReceiptBasis::ForwardedAgainstReceipt { forwarded_on } => format!(
                "forwarded by letter against a receipt on {}: received on the receipt's date \
                 (HL 60 §)",
                finnish_day(forwarded_on)
            ),
            ReceiptBasis::HandedOver { on } => format!(
                "handed over in person on {} against a signature (HL 60 §)",
                finnish_day(on)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_rule_names_its_law() {
        let rule = LegalRule::Served {
            receipt: ReceiptBasis::OrdinaryLetter { days: 7 },
            sent: Some(SentBasis::Printed { lag_days: 2 }),
            appeal: Some(AppealBasis {
                days: 30,
                moved_from: None,
            }),
        };
        let text = rule.english();
        assert!(text.starts_with("ordinary letter: received on day 7 after sending (HL 59 §)"));
        assert!(text.contains("print lag of 2 days"));
        assert!(text.contains("appeal period 30 days"));
        let served = LegalRule::Served {
            receipt: ReceiptBasis::SubstituteService {
                certificate_on: "2027-01-03".into(),
            },
            sent: None,
            appeal: None,
        };
        assert_eq!(
            served.english(),
            "substitute service: received on the 3rd day after the certificate of 3.1.2027 (HL 61 §)"
        );
    }
}
