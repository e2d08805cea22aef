//! Legal dates: when a notice counts as received, and when the appeal period ends.
//!
//! Pure functions over dates. The rules (domain-rules.md):
//! - ordinary electronic service: received on the 3rd day after sending (asiointilaki 19 §);
//! - ordinary letter, Suomi.fi paper included: the 7th day after sending (HL 59 §);
//! - verifiable service: on the acknowledgement or receipt date (asiointilaki 18 §, HL 60 §).
//!
//! The appeal period runs from receipt, the day of receipt not counted (laki 150/1930 2 §);
//! when its last day is a Saturday, Sunday, public holiday, Independence Day, May Day,
//! Christmas Eve or Midsummer Eve, it moves to the next working day (5 §). The deemed-receipt
//! day itself is a presumption, not a deadline, and does not move. Day counts are
//! configuration: the 2026 "Digi ensin" amendments may change them.

use serde::Serialize;
use time::{Date, Duration, Month, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceChannel {
    Electronic,
    Paper,
}

/// The day counts of ordinary service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptRules {
    pub electronic_days: i64,
    pub paper_days: i64,
    /// Days between Suomi.fi's "sent for printing" and the letter's posting, which is its
    /// sending day (`TIEDOKSI_PRINT_LAG_DAYS`, 0: posted the day it is printed).
    pub print_lag_days: i64,
}

impl Default for ReceiptRules {
    fn default() -> Self {
        Self {
            electronic_days: 3,
            paper_days: 7,
            print_lag_days: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalDates {
    pub deemed_receipt: Date,
    pub appeal_deadline: Date,
    pub rule: String,
    /// The appeal deadline's day before it moved off a non-working day.
    pub moved_from: Option<Date>,
}

/// Deemed receipt and appeal deadline of one delivery. `acknowledged` is the date of a
/// verifiable delivery's acknowledgement (electronic) or receipt (Posti).
pub fn legal_dates(
    sent: Date,
    channel: ServiceChannel,
    acknowledged: Option<Date>,
    appeal_days: i64,
    rules: ReceiptRules,
) -> LegalDates {
    let (deemed_receipt, receipt_rule) = match (acknowledged, channel) {
        (Some(date), ServiceChannel::Electronic) => (
            date,
            "verifiable electronic service: received on acknowledgement (asiointilaki 18 §)"
                .to_string(),
        ),
        (Some(date), ServiceChannel::Paper) => (
            date,
            "verifiable letter: received on the date of the receipt (HL 60 §)".to_string(),
        ),
        (None, ServiceChannel::Electronic) => (
            sent + Duration::days(rules.electronic_days),
            format!(
                "ordinary electronic service: received on day {} after sending (asiointilaki 19 §)",
                rules.electronic_days
            ),
        ),
        (None, ServiceChannel::Paper) => (
            sent + Duration::days(rules.paper_days),
            format!(
                "ordinary letter: received on day {} after sending (HL 59 §)",
                rules.paper_days
            ),
        ),
    };
    let last_day = deemed_receipt + Duration::days(appeal_days);
    let appeal_deadline = next_working_day(last_day);
    let moved_from = (appeal_deadline != last_day).then_some(last_day);
    let rule = format!(
        "{receipt_rule}; appeal period {appeal_days} days from receipt, the last day moved to the next working day when it is not one (laki 150/1930 5 §)"
    );
    LegalDates {
        deemed_receipt,
        appeal_deadline,
        rule,
        moved_from,
    }
}

/// `date`, or the first working day after it.
pub fn next_working_day(mut date: Date) -> Date {
    while !is_working_day(date) {
        date = date.next_day().expect("dates stay within range");
    }
    date
}

/// Monday to Friday and not a day on which statutory time limits cannot end (150/1930 5 §).
pub fn is_working_day(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_holiday(date)
}

/// Finnish public holidays plus the other days 150/1930 5 § names (Independence Day,
/// May Day, Christmas Eve, Midsummer Eve).
pub fn is_holiday(date: Date) -> bool {
    let (year, month, day) = (date.year(), date.month(), date.day());
    let fixed = matches!(
        (month, day),
        (Month::January, 1)
            | (Month::January, 6)
            | (Month::May, 1)
            | (Month::December, 6)
            | (Month::December, 24)
            | (Month::December, 25)
            | (Month::December, 26)
    );
    if fixed {
        return true;
    }
    let easter = easter_sunday(year);
    let from_easter = (date - easter).whole_days();
    if matches!(from_easter, -2 | 0 | 1 | 39 | 49) {
        return true;
    }
    let midsummer_eve =
        month == Month::June && (19..=25).contains(&day) && date.weekday() == Weekday::Friday;
    let midsummer_day =
        month == Month::June && (20..=26).contains(&day) && date.weekday() == Weekday::Saturday;
    let all_saints = date.weekday() == Weekday::Saturday
        && ((month == Month::October && day == 31) || (month == Month::November && day <= 6));
    midsummer_eve || midsummer_day || all_saints
}

/// Gregorian Easter Sunday (the anonymous "Meeus/Jones/Butcher" algorithm).
pub fn easter_sunday(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(month as u8).expect("March or April");
    Date::from_calendar_date(year, month, day as u8).expect("a real date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), date!(2024 - 03 - 31));
        assert_eq!(easter_sunday(2025), date!(2025 - 04 - 20));
        assert_eq!(easter_sunday(2026), date!(2026 - 04 - 05));
        assert_eq!(easter_sunday(2027), date!(2027 - 03 - 28));
        assert_eq!(easter_sunday(2028), date!(2028 - 04 - 16));
    }

    #[test]
    fn holidays_of_2026() {
        for holiday in [
            date!(2026 - 01 - 01),
            date!(2026 - 01 - 06),
            date!(2026 - 04 - 03), // Good Friday
            date!(2026 - 04 - 05), // Easter Sunday
            date!(2026 - 04 - 06), // Easter Monday
            date!(2026 - 05 - 01),
            date!(2026 - 05 - 14), // Ascension Day
            date!(2026 - 05 - 24), // Whit Sunday
            date!(2026 - 06 - 19), // Midsummer Eve
            date!(2026 - 06 - 20), // Midsummer Day
            date!(2026 - 10 - 31), // All Saints' Day
            date!(2026 - 12 - 06),
            date!(2026 - 12 - 24),
            date!(2026 - 12 - 25),
            date!(2026 - 12 - 26),
        ] {
            assert!(is_holiday(holiday), "{holiday}");
        }
        for ordinary in [
            date!(2026 - 04 - 02),
            date!(2026 - 04 - 07),
            date!(2026 - 06 - 18),
            date!(2026 - 11 - 02),
        ] {
            assert!(!is_holiday(ordinary), "{ordinary}");
        }
    }

    /// sent, channel, acknowledged, appeal days → deemed receipt, deadline, moved from.
    type Case = (
        Date,
        ServiceChannel,
        Option<Date>,
        i64,
        Date,
        Date,
        Option<Date>,
    );

    /// Each row checked by hand against a calendar (and against an independent script).
    #[test]
    fn legal_dates_table() {
        use ServiceChannel::{Electronic as E, Paper as P};
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Christmas and New Year 2026–27
            (date!(2026-12-18), E, None, 30, date!(2026-12-21), date!(2027-01-20), None),
            (date!(2026-12-18), P, None, 30, date!(2026-12-25), date!(2027-01-25), Some(date!(2027-01-24))), // Sun → Mon
            (date!(2026-11-24), E, None, 30, date!(2026-11-27), date!(2026-12-28), Some(date!(2026-12-27))), // Sun → Mon
            (date!(2026-11-21), E, None, 30, date!(2026-11-24), date!(2026-12-28), Some(date!(2026-12-24))), // Christmas Eve → Mon 28.12.
            (date!(2026-11-22), E, None, 30, date!(2026-11-25), date!(2026-12-28), Some(date!(2026-12-25))),
            (date!(2026-11-16), P, None, 30, date!(2026-11-23), date!(2026-12-23), None),
            (date!(2026-11-29), E, None, 30, date!(2026-12-02), date!(2027-01-04), Some(date!(2027-01-01))), // New Year's Day Fri → Mon 4.1.
            (date!(2026-12-04), E, None, 30, date!(2026-12-07), date!(2027-01-07), Some(date!(2027-01-06))), // Epiphany Wed → Thu
            (date!(2026-12-02), P, None, 14, date!(2026-12-09), date!(2026-12-23), None),
            (date!(2026-12-03), P, None, 14, date!(2026-12-10), date!(2026-12-28), Some(date!(2026-12-24))),
            (date!(2026-11-19), E, None, 14, date!(2026-11-22), date!(2026-12-07), Some(date!(2026-12-06))), // Independence Day (Sun) → Mon
            (date!(2027-11-19), E, None, 14, date!(2027-11-22), date!(2027-12-07), Some(date!(2027-12-06))), // Independence Day Mon → Tue
            // Easter 2026 (Good Friday 3.4., Easter Monday 6.4.)
            (date!(2026-02-28), E, None, 30, date!(2026-03-03), date!(2026-04-02), None),
            (date!(2026-03-01), E, None, 30, date!(2026-03-04), date!(2026-04-07), Some(date!(2026-04-03))),
            (date!(2026-03-02), E, None, 30, date!(2026-03-05), date!(2026-04-07), Some(date!(2026-04-04))),
            (date!(2026-03-04), E, None, 30, date!(2026-03-07), date!(2026-04-07), Some(date!(2026-04-06))),
            (date!(2026-03-06), P, None, 21, date!(2026-03-13), date!(2026-04-07), Some(date!(2026-04-03))),
            // Easter 2027 (Good Friday 26.3., Easter Monday 29.3.)
            (date!(2027-02-20), E, None, 30, date!(2027-02-23), date!(2027-03-25), None),
            (date!(2027-02-21), E, None, 30, date!(2027-02-24), date!(2027-03-30), Some(date!(2027-03-26))),
            // May Day and Ascension 2026
            (date!(2026-03-29), E, None, 30, date!(2026-04-01), date!(2026-05-04), Some(date!(2026-05-01))),
            (date!(2026-04-07), E, None, 30, date!(2026-04-10), date!(2026-05-11), Some(date!(2026-05-10))),
            (date!(2026-04-11), E, None, 30, date!(2026-04-14), date!(2026-05-15), Some(date!(2026-05-14))), // Ascension Thu → Fri
            // Midsummer 2026 (Eve Fri 19.6., Day Sat 20.6.)
            (date!(2026-05-17), E, None, 30, date!(2026-05-20), date!(2026-06-22), Some(date!(2026-06-19))),
            (date!(2026-05-18), E, None, 30, date!(2026-05-21), date!(2026-06-22), Some(date!(2026-06-20))),
            (date!(2026-05-16), E, None, 30, date!(2026-05-19), date!(2026-06-18), None),
            (date!(2026-05-13), P, None, 30, date!(2026-05-20), date!(2026-06-22), Some(date!(2026-06-19))),
            // Midsummer 2027 (Eve Fri 25.6.)
            (date!(2027-05-23), E, None, 30, date!(2027-05-26), date!(2027-06-28), Some(date!(2027-06-25))),
            // All Saints' Day 2026 (Sat 31.10.) and a Whit Sunday
            (date!(2026-09-28), E, None, 30, date!(2026-10-01), date!(2026-11-02), Some(date!(2026-10-31))),
            (date!(2026-04-21), E, None, 30, date!(2026-04-24), date!(2026-05-25), Some(date!(2026-05-24))),
            // Verifiable: the acknowledgement or receipt date is the receipt
            (date!(2026-12-18), E, Some(date!(2026-12-22)), 30, date!(2026-12-22), date!(2027-01-21), None),
            (date!(2026-12-18), P, Some(date!(2026-12-29)), 30, date!(2026-12-29), date!(2027-01-28), None),
            (date!(2026-03-01), E, Some(date!(2026-03-05)), 30, date!(2026-03-05), date!(2026-04-07), Some(date!(2026-04-04))),
            // Deemed receipt itself never moves, even onto a holiday
            (date!(2026-12-21), P, None, 30, date!(2026-12-28), date!(2027-01-27), None),
            (date!(2026-12-22), E, None, 30, date!(2026-12-25), date!(2027-01-25), Some(date!(2027-01-24))),
            // Leap day 2028
            (date!(2028-01-27), E, None, 30, date!(2028-01-30), date!(2028-02-29), None),
        ];
        assert!(cases.len() >= 30);
        for (sent, channel, acknowledged, days, receipt, deadline, moved_from) in cases {
            let dates = legal_dates(
                *sent,
                *channel,
                *acknowledged,
                *days,
                ReceiptRules::default(),
            );
            let case = format!("sent {sent} {channel:?} ack {acknowledged:?} {days} days");
            assert_eq!(dates.deemed_receipt, *receipt, "receipt: {case}");
            assert_eq!(dates.appeal_deadline, *deadline, "deadline: {case}");
            assert_eq!(dates.moved_from, *moved_from, "moved from: {case}");
        }
    }

    #[test]
    fn day_counts_are_configuration() {
        let rules = ReceiptRules {
            electronic_days: 1,
            paper_days: 5,
            print_lag_days: 0,
        };
        let electronic = legal_dates(
            date!(2026 - 12 - 01),
            ServiceChannel::Electronic,
            None,
            30,
            rules,
        );
        assert_eq!(electronic.deemed_receipt, date!(2026 - 12 - 02));
        assert!(electronic.rule.contains("day 1 after sending"));
        let paper = legal_dates(
            date!(2026 - 12 - 01),
            ServiceChannel::Paper,
            None,
            30,
            rules,
        );
        assert_eq!(paper.deemed_receipt, date!(2026 - 12 - 06));
    }
}
