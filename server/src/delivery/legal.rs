//! Legal dates of one delivery, from what is known of it: the mode, whether the service is
//! verifiable, when Suomi.fi accepted it, and the events fetched since. Pure `assess`, and
//! `reassess`, which stores a new result with its history whenever the picture changes — a
//! late `Sent for printing` moves a letter's sending day, a multichannel message's channel is
//! known only from its first event.
//!
//! Days are Finnish calendar days: instants are turned into dates in Europe/Helsinki.

use std::sync::Arc;

use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use app::domain::channel::DeliveryMode;

use crate::dates::{legal_dates, ReceiptRules, ServiceChannel};
use crate::store::{Delivery, HistoryEntry, LegalDatesUpdate, Store, StoreError, StoredEvent};
use crate::suomifi::model::EventKind;

/// The calendar date in Finland at `instant`.
pub fn finnish_date(instant: OffsetDateTime) -> Date {
    static HELSINKI: std::sync::LazyLock<jiff::tz::TimeZone> = std::sync::LazyLock::new(|| {
        jiff::tz::TimeZone::get("Europe/Helsinki").expect("the bundled tzdb has Europe/Helsinki")
    });
    let timestamp =
        jiff::Timestamp::from_second(instant.unix_timestamp()).expect("an instant in jiff's range");
    let date = HELSINKI.to_datetime(timestamp).date();
    Date::from_calendar_date(
        i32::from(date.year()),
        time::Month::try_from(date.month() as u8).expect("a month"),
        date.day() as u8,
    )
    .expect("a valid date")
}

/// What `assess` concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub channel: Option<ServiceChannel>,
    pub deemed_receipt: Option<Date>,
    pub appeal_deadline: Option<Date>,
    pub moved_from: Option<Date>,
    /// The rule applied, or why there are no dates yet.
    pub rule: String,
}

pub struct Facts<'a> {
    pub decided_mode: &'a str,
    pub verifiable: bool,
    pub appeal_days: Option<i32>,
    pub submitted_at: Option<OffsetDateTime>,
    /// `(kind, time)`, in any order.
    pub events: &'a [(EventKind, OffsetDateTime)],
}

fn first(events: &[(EventKind, OffsetDateTime)], kind: EventKind) -> Option<OffsetDateTime> {
    events
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, at)| *at)
        .min()
}

/// The channel the delivery took: from the events when there are any that tell, otherwise
/// from the mode; `None` for a multichannel message before its first event.
fn channel(facts: &Facts) -> Option<ServiceChannel> {
    let paper_event = facts.events.iter().any(|(kind, _)| {
        matches!(
            kind,
            EventKind::PaperMailCreated
                | EventKind::SentForPrintingAndEnveloping
                | EventKind::PostiReceiptConfirmed
                | EventKind::PostiReturnedToSender
                | EventKind::PostiUnresolved
        )
    });
    let electronic_event = facts.events.iter().any(|(kind, _)| {
        matches!(
            kind,
            EventKind::ElectronicMessageCreated
                | EventKind::ElectronicMessageRead
                | EventKind::ReceiptConfirmed
        )
    });
    match (electronic_event, paper_event, facts.decided_mode) {
        (true, false, _) => Some(ServiceChannel::Electronic),
        (false, true, _) => Some(ServiceChannel::Paper),
        (_, _, mode) => match DeliveryMode::parse(mode)? {
            DeliveryMode::ElectronicOnly => Some(ServiceChannel::Electronic),
            DeliveryMode::PaperOnly | DeliveryMode::PaperWithoutId => Some(ServiceChannel::Paper),
            DeliveryMode::Multichannel => None,
        },
    }
}

pub fn assess(facts: &Facts, rules: ReceiptRules) -> Assessment {
    let none = |channel, rule: &str| Assessment {
        channel,
        deemed_receipt: None,
        appeal_deadline: None,
        moved_from: None,
        rule: rule.to_string(),
    };
    let Some(submitted_at) = facts.submitted_at else {
        return none(None, "not sent yet");
    };
    let Some(channel) = channel(facts) else {
        return none(
            None,
            "multichannel: waiting for Suomi.fi to tell which channel it took",
        );
    };
    // A letter Posti could not deliver shows it was not received: no presumption holds.
    let undelivered = [EventKind::PostiReturnedToSender, EventKind::PostiUnresolved];
    if let Some((kind, _)) = facts
        .events
        .iter()
        .find(|(kind, _)| undelivered.contains(kind))
    {
        let rule = match kind {
            EventKind::PostiReturnedToSender => {
                "not served: Posti returned the letter to the sender"
            }
            _ => "not served: Posti could not deliver the letter",
        };
        return none(Some(channel), rule);
    }
    // A letter is sent when it goes to print; until that event, the day Suomi.fi took it.
    let sent_at = match channel {
        ServiceChannel::Electronic => first(facts.events, EventKind::ElectronicMessageCreated),
        ServiceChannel::Paper => first(facts.events, EventKind::SentForPrintingAndEnveloping)
            .or_else(|| first(facts.events, EventKind::PaperMailCreated)),
    }
    .unwrap_or(submitted_at);
    let acknowledged = if facts.verifiable {
        let receipt = match channel {
            ServiceChannel::Electronic => first(facts.events, EventKind::ReceiptConfirmed),
            ServiceChannel::Paper => first(facts.events, EventKind::PostiReceiptConfirmed),
        };
        match receipt {
            Some(at) => Some(finnish_date(at)),
            None => {
                return none(
                    Some(channel),
                    "verifiable service: received on acknowledgement, which has not come yet",
                )
            }
        }
    } else {
        None
    };
    let appeal_days = facts.appeal_days.unwrap_or(0).max(0) as i64;
    let dates = legal_dates(
        finnish_date(sent_at),
        channel,
        acknowledged,
        appeal_days,
        rules,
    );
    let has_appeal = facts.appeal_days.is_some_and(|days| days > 0);
    Assessment {
        channel: Some(channel),
        deemed_receipt: Some(dates.deemed_receipt),
        appeal_deadline: has_appeal.then_some(dates.appeal_deadline),
        moved_from: if has_appeal { dates.moved_from } else { None },
        rule: if has_appeal {
            dates.rule
        } else {
            dates
                .rule
                .split("; appeal period")
                .next()
                .unwrap_or_default()
                .to_string()
        },
    }
}

fn channel_name(channel: ServiceChannel) -> &'static str {
    match channel {
        ServiceChannel::Electronic => "electronic",
        ServiceChannel::Paper => "paper",
    }
}

fn events_of(stored: &[StoredEvent]) -> Vec<(EventKind, OffsetDateTime)> {
    stored
        .iter()
        .filter_map(|event| {
            let at = OffsetDateTime::parse(
                &event.event_time,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()?;
            Some((EventKind::from_wire(&event.event_type), at))
        })
        .collect()
}

/// Assesses the delivery again and, when the channel or a date changed, stores the new
/// values with a history entry naming what they were before. Two assessments racing (the
/// send job and the events poller) cannot overwrite a newer one: the store writes only over
/// the values the assessment started from, and the loser assesses again.
pub async fn reassess(
    store: &Arc<dyn Store>,
    delivery_id: Uuid,
    rules: ReceiptRules,
) -> Result<Option<Assessment>, StoreError> {
    for _ in 0..5 {
        let Some(delivery) = store.delivery(delivery_id).await? else {
            return Ok(None);
        };
        match assess_and_record(store, &delivery, rules).await? {
            Recorded::Unchanged(assessment) | Recorded::Stored(assessment) => {
                return Ok(Some(assessment))
            }
            Recorded::Raced => continue,
        }
    }
    Ok(None)
}

enum Recorded {
    Unchanged(Assessment),
    Stored(Assessment),
    Raced,
}

async fn assess_and_record(
    store: &Arc<dyn Store>,
    delivery: &Delivery,
    rules: ReceiptRules,
) -> Result<Recorded, StoreError> {
    let Some(notice) = store
        .notice(delivery.organisation_id, delivery.notice_id)
        .await?
    else {
        return Ok(Recorded::Unchanged(none_yet()));
    };
    let events = events_of(&store.delivery_events(delivery.id).await?);
    let assessment = assess(
        &Facts {
            decided_mode: &delivery.decided_mode,
            // A paper re-serve of a verifiable notice is a letter against a receipt too.
            verifiable: notice.verifiable,
            appeal_days: notice.appeal_days,
            submitted_at: delivery.submitted_at.map(|at| at.as_offset_date_time()),
            events: &events,
        },
        rules,
    );
    let channel_taken = assessment.channel.map(|c| channel_name(c).to_string());
    let deemed_receipt = assessment.deemed_receipt.map(|d| d.to_string());
    let appeal_deadline = assessment.appeal_deadline.map(|d| d.to_string());
    let unchanged = channel_taken == delivery.channel_taken
        && deemed_receipt == delivery.deemed_receipt
        && appeal_deadline == delivery.appeal_deadline
        && delivery.legal_rule.as_deref() == Some(assessment.rule.as_str());
    if unchanged {
        return Ok(Recorded::Unchanged(assessment));
    }
    let history = HistoryEntry::new(
        delivery,
        "legal_dates",
        json!({
            "channel": channel_taken,
            "deemed_receipt": deemed_receipt,
            "appeal_deadline": appeal_deadline,
            "moved_from": assessment.moved_from.map(|d| d.to_string()),
            "rule": assessment.rule,
            "previous": {
                "channel": delivery.channel_taken,
                "deemed_receipt": delivery.deemed_receipt,
                "appeal_deadline": delivery.appeal_deadline,
            },
        }),
    );
    let stored = store
        .record_legal_dates(
            delivery.id,
            &LegalDatesUpdate {
                previous: (
                    delivery.channel_taken.clone(),
                    delivery.deemed_receipt.clone(),
                    delivery.appeal_deadline.clone(),
                ),
                channel_taken,
                deemed_receipt,
                appeal_deadline,
                legal_rule: Some(assessment.rule.clone()),
                history,
            },
        )
        .await?;
    Ok(if stored {
        Recorded::Stored(assessment)
    } else {
        Recorded::Raced
    })
}

fn none_yet() -> Assessment {
    Assessment {
        channel: None,
        deemed_receipt: None,
        appeal_deadline: None,
        moved_from: None,
        rule: "not sent yet".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn at(instant: OffsetDateTime) -> Option<OffsetDateTime> {
        Some(instant)
    }

    fn facts<'a>(
        mode: &'a str,
        verifiable: bool,
        events: &'a [(EventKind, OffsetDateTime)],
    ) -> Facts<'a> {
        Facts {
            decided_mode: mode,
            verifiable,
            appeal_days: Some(30),
            submitted_at: at(datetime!(2026-12-18 09:00 UTC)),
            events,
        }
    }

    #[test]
    fn finnish_dates_follow_helsinki_time_across_daylight_saving() {
        // 22:30 UTC is already the next day in Finland: 00:30 in winter (UTC+2)…
        assert_eq!(
            finnish_date(datetime!(2026-12-18 22:30 UTC)),
            date!(2026 - 12 - 19)
        );
        assert_eq!(
            finnish_date(datetime!(2026-12-18 21:59 UTC)),
            date!(2026 - 12 - 18)
        );
        // …and 01:30 in summer (UTC+3); 21:30 UTC is still the same day in both seasons.
        assert_eq!(
            finnish_date(datetime!(2026-07-01 21:30 UTC)),
            date!(2026 - 07 - 02)
        );
        assert_eq!(
            finnish_date(datetime!(2026-07-01 20:59 UTC)),
            date!(2026 - 07 - 01)
        );
    }

    #[test]
    fn ordinary_electronic_counts_from_the_message_created_event() {
        let events = [(
            EventKind::ElectronicMessageCreated,
            datetime!(2026-12-18 09:00:05 UTC),
        )];
        let result = assess(
            &facts("electronic_only", false, &events),
            ReceiptRules::default(),
        );
        assert_eq!(result.channel, Some(ServiceChannel::Electronic));
        assert_eq!(result.deemed_receipt, Some(date!(2026 - 12 - 21)));
        // 21.12. + 30 = 20.1.2027, a Wednesday.
        assert_eq!(result.appeal_deadline, Some(date!(2027 - 01 - 20)));
    }

    #[test]
    fn multichannel_waits_for_the_channel_then_follows_it() {
        let none = assess(&facts("multichannel", false, &[]), ReceiptRules::default());
        assert_eq!(none.channel, None);
        assert_eq!(none.deemed_receipt, None);

        let paper = [(EventKind::PaperMailCreated, datetime!(2026-12-18 09:00 UTC))];
        let result = assess(
            &facts("multichannel", false, &paper),
            ReceiptRules::default(),
        );
        assert_eq!(result.channel, Some(ServiceChannel::Paper));
        assert_eq!(result.deemed_receipt, Some(date!(2026 - 12 - 25)));
    }

    #[test]
    fn a_late_printing_event_moves_a_letters_sending_day() {
        let before = assess(&facts("paper_only", false, &[]), ReceiptRules::default());
        assert_eq!(before.deemed_receipt, Some(date!(2026 - 12 - 25)));
        let events = [
            (EventKind::PaperMailCreated, datetime!(2026-12-18 09:00 UTC)),
            (
                EventKind::SentForPrintingAndEnveloping,
                datetime!(2026-12-21 07:00 UTC),
            ),
        ];
        let after = assess(
            &facts("paper_only", false, &events),
            ReceiptRules::default(),
        );
        assert_eq!(after.deemed_receipt, Some(date!(2026 - 12 - 28)));
    }

    #[test]
    fn verifiable_service_waits_for_the_acknowledgement() {
        let created = (
            EventKind::ElectronicMessageCreated,
            datetime!(2026-12-18 09:00 UTC),
        );
        let pending = assess(
            &facts("electronic_only", true, std::slice::from_ref(&created)),
            ReceiptRules::default(),
        );
        assert_eq!(pending.channel, Some(ServiceChannel::Electronic));
        assert_eq!(pending.deemed_receipt, None);
        assert!(pending.rule.contains("acknowledgement"));

        let events = [
            created,
            (EventKind::ReceiptConfirmed, datetime!(2026-12-29 23:10 UTC)),
        ];
        let done = assess(
            &facts("electronic_only", true, &events),
            ReceiptRules::default(),
        );
        // 23:10 UTC on the 29th is the 30th in Finland.
        assert_eq!(done.deemed_receipt, Some(date!(2026 - 12 - 30)));

        let letter = [(
            EventKind::PostiReceiptConfirmed,
            datetime!(2027-01-05 10:00 UTC),
        )];
        let signed = assess(&facts("paper_only", true, &letter), ReceiptRules::default());
        assert_eq!(signed.deemed_receipt, Some(date!(2027 - 01 - 05)));
    }

    #[test]
    fn without_an_appeal_period_only_the_receipt_is_computed() {
        let events = [(
            EventKind::ElectronicMessageCreated,
            datetime!(2026-12-18 09:00 UTC),
        )];
        let mut without = facts("electronic_only", false, &events);
        without.appeal_days = None;
        let result = assess(&without, ReceiptRules::default());
        assert_eq!(result.deemed_receipt, Some(date!(2026 - 12 - 21)));
        assert_eq!(result.appeal_deadline, None);
        assert!(!result.rule.contains("appeal"));
    }

    #[test]
    fn a_returned_letter_was_not_served() {
        let events = [
            (EventKind::PaperMailCreated, datetime!(2026-12-18 09:00 UTC)),
            (
                EventKind::PostiReturnedToSender,
                datetime!(2027-01-04 09:00 UTC),
            ),
        ];
        let result = assess(
            &facts("paper_only", false, &events),
            ReceiptRules::default(),
        );
        assert_eq!(result.channel, Some(ServiceChannel::Paper));
        assert_eq!(result.deemed_receipt, None);
        assert_eq!(result.appeal_deadline, None);
        assert!(result.rule.contains("returned"));
    }

    #[test]
    fn nothing_is_computed_before_sending() {
        let mut unsent = facts("electronic_only", false, &[]);
        unsent.submitted_at = None;
        assert_eq!(
            assess(&unsent, ReceiptRules::default()).deemed_receipt,
            None
        );
    }
}
