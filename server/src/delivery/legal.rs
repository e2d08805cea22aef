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
use app::domain::legal_rule::{AppealBasis, LegalRule, ReceiptBasis, SentBasis};
use app::domain::lifecycle::{ForwardingMethod, HistoryKind, ManualService};

use crate::dates::{legal_dates, next_working_day, ReceiptRules, ServiceChannel};
use crate::store::{
    Delivery, HistoryEntry, LegalDatesUpdate, ServiceRecord, Store, StoreError, StoredEvent,
};
use crate::suomifi::model::EventKind;

pub use crate::local_time::finnish_date;

/// What `assess` concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub channel: Option<ServiceChannel>,
    pub deemed_receipt: Option<Date>,
    pub appeal_deadline: Option<Date>,
    pub moved_from: Option<Date>,
    /// The rule applied, or why there are no dates yet.
    pub basis: LegalRule,
    /// The same in English with its section of law (history, logs, the CLI).
    pub rule: String,
}

impl Assessment {
    fn without_dates(channel: Option<ServiceChannel>, basis: LegalRule) -> Self {
        Self {
            channel,
            deemed_receipt: None,
            appeal_deadline: None,
            moved_from: None,
            rule: basis.english(),
            basis,
        }
    }
}

/// Service staff made and recorded themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedService {
    /// A letter to the forwarding address (turvakielto), served onwards.
    Forwarding {
        method: ForwardingMethod,
        forwarded_on: Date,
        received_on: Option<Date>,
    },
    /// Substitute service (HL 61 §) or a public notice (HL 62 §).
    Manual { kind: ManualService, on: Date },
}

pub struct Facts<'a> {
    pub decided_mode: DeliveryMode,
    /// Paper goes to the organisation's forwarding address (turvakielto).
    pub forwarded: bool,
    pub verifiable: bool,
    pub appeal_days: Option<i32>,
    pub submitted_at: Option<OffsetDateTime>,
    /// `(kind, time)`, in any order.
    pub events: &'a [(EventKind, OffsetDateTime)],
    /// The latest forwarding record and the latest substitute service or public notice.
    pub recorded: &'a [RecordedService],
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
    match (electronic_event, paper_event) {
        (true, false) => Some(ServiceChannel::Electronic),
        (false, true) => Some(ServiceChannel::Paper),
        _ => match facts.decided_mode {
            DeliveryMode::ElectronicOnly => Some(ServiceChannel::Electronic),
            DeliveryMode::PaperOnly | DeliveryMode::PaperWithoutId => Some(ServiceChannel::Paper),
            DeliveryMode::Multichannel => None,
        },
    }
}

/// Dates from a day of receipt, with the appeal period when the notice has one.
fn from_receipt(
    channel: Option<ServiceChannel>,
    received: Date,
    appeal_days: Option<i32>,
    receipt: ReceiptBasis,
    sent: Option<SentBasis>,
) -> Assessment {
    let days = appeal_days.filter(|days| *days > 0);
    let (appeal_deadline, moved_from, appeal) = match days {
        None => (None, None, None),
        Some(days) => {
            let last_day = received + time::Duration::days(i64::from(days));
            let deadline = next_working_day(last_day);
            let moved_from = (deadline != last_day).then_some(last_day);
            let appeal = AppealBasis {
                days: i64::from(days),
                moved_from: moved_from.map(|d| d.to_string()),
            };
            (Some(deadline), moved_from, Some(appeal))
        }
    };
    let basis = LegalRule::Served {
        receipt,
        sent,
        appeal,
    };
    Assessment {
        channel,
        deemed_receipt: Some(received),
        appeal_deadline,
        moved_from,
        rule: basis.english(),
        basis,
    }
}

/// Substitute service or a public notice, recorded by staff after Posti failed.
fn manual_service(
    channel: Option<ServiceChannel>,
    kind: ManualService,
    on: Date,
    appeal_days: Option<i32>,
) -> Assessment {
    let (days, receipt) = match kind {
        ManualService::SubstituteService => (
            3,
            ReceiptBasis::SubstituteService {
                certificate_on: on.to_string(),
            },
        ),
        ManualService::PublicNotice => (
            7,
            ReceiptBasis::PublicNotice {
                published_on: on.to_string(),
            },
        ),
    };
    from_receipt(
        channel,
        on + time::Duration::days(days),
        appeal_days,
        receipt,
        None,
    )
}

/// A letter that went to the forwarding address: the organisation received it, so the dates
/// run only from the onward service staff recorded.
fn forwarded_service(facts: &Facts, rules: ReceiptRules) -> Assessment {
    let channel = Some(ServiceChannel::Paper);
    let forwarding = facts.recorded.iter().find_map(|recorded| match recorded {
        RecordedService::Forwarding {
            method,
            forwarded_on,
            received_on,
        } => Some((*method, *forwarded_on, *received_on)),
        RecordedService::Manual { .. } => None,
    });
    match forwarding {
        None => Assessment::without_dates(channel, LegalRule::ForwardingNotRecorded),
        Some((ForwardingMethod::OrdinaryLetter, forwarded_on, _)) => from_receipt(
            channel,
            forwarded_on + time::Duration::days(rules.paper_days),
            facts.appeal_days,
            ReceiptBasis::ForwardedByLetter {
                forwarded_on: forwarded_on.to_string(),
                days: rules.paper_days,
            },
            None,
        ),
        Some((method, forwarded_on, Some(received_on))) => from_receipt(
            channel,
            received_on,
            facts.appeal_days,
            match method {
                ForwardingMethod::InPerson => ReceiptBasis::HandedOver {
                    on: received_on.to_string(),
                },
                _ => ReceiptBasis::ForwardedAgainstReceipt {
                    forwarded_on: forwarded_on.to_string(),
                },
            },
            None,
        ),
        Some((_, _, None)) => {
            Assessment::without_dates(channel, LegalRule::ForwardingReceiptMissing)
        }
    }
}

pub fn assess(facts: &Facts, rules: ReceiptRules) -> Assessment {
    let Some(submitted_at) = facts.submitted_at else {
        return Assessment::without_dates(None, LegalRule::NotSentYet);
    };
    let channel = channel(facts);
    // Substitute service and public notice replace whatever the letter did.
    if let Some(RecordedService::Manual { kind, on }) = facts
        .recorded
        .iter()
        .find(|recorded| matches!(recorded, RecordedService::Manual { .. }))
    {
        return manual_service(channel, *kind, *on, facts.appeal_days);
    }
    let Some(channel) = channel else {
        return Assessment::without_dates(None, LegalRule::WaitingForChannel);
    };
    if channel == ServiceChannel::Paper && facts.forwarded {
        return forwarded_service(facts, rules);
    }
    // A letter Posti could not deliver shows it was not received: no presumption holds.
    let undelivered = [EventKind::PostiReturnedToSender, EventKind::PostiUnresolved];
    if let Some((kind, _)) = facts
        .events
        .iter()
        .find(|(kind, _)| undelivered.contains(kind))
    {
        let rule = match kind {
            EventKind::PostiReturnedToSender => LegalRule::ReturnedByPosti,
            _ => LegalRule::UndeliveredByPosti,
        };
        return Assessment::without_dates(Some(channel), rule);
    }
    let acknowledged = if facts.verifiable {
        let receipt = match channel {
            ServiceChannel::Electronic => first(facts.events, EventKind::ReceiptConfirmed),
            ServiceChannel::Paper => first(facts.events, EventKind::PostiReceiptConfirmed),
        };
        match receipt {
            Some(at) => Some(finnish_date(at)),
            None => {
                return Assessment::without_dates(Some(channel), LegalRule::AwaitingAcknowledgement)
            }
        }
    } else {
        None
    };
    // A letter is sent when it is posted: the day it went to print plus the print lag;
    // until that event, the day Suomi.fi took it.
    let (sent, sent_basis) = match channel {
        ServiceChannel::Electronic => (
            first(facts.events, EventKind::ElectronicMessageCreated)
                .map(finnish_date)
                .unwrap_or_else(|| finnish_date(submitted_at)),
            None,
        ),
        ServiceChannel::Paper => {
            match first(facts.events, EventKind::SentForPrintingAndEnveloping) {
                Some(printed) => (
                    finnish_date(printed) + time::Duration::days(rules.print_lag_days),
                    Some(SentBasis::Printed {
                        lag_days: rules.print_lag_days,
                    }),
                ),
                None => (
                    first(facts.events, EventKind::PaperMailCreated)
                        .map(finnish_date)
                        .unwrap_or_else(|| finnish_date(submitted_at)),
                    Some(SentBasis::NotPrintedYet),
                ),
            }
        }
    };
    let appeal_days = facts.appeal_days.unwrap_or(0).max(0) as i64;
    let dates = legal_dates(sent, channel, acknowledged, appeal_days, rules);
    let receipt = match (acknowledged, channel) {
        (Some(_), ServiceChannel::Electronic) => ReceiptBasis::VerifiableElectronic,
        (Some(_), ServiceChannel::Paper) => ReceiptBasis::VerifiableLetter,
        (None, ServiceChannel::Electronic) => ReceiptBasis::OrdinaryElectronic {
            days: rules.electronic_days,
        },
        (None, ServiceChannel::Paper) => ReceiptBasis::OrdinaryLetter {
            days: rules.paper_days,
        },
    };
    // How a letter's sending day was told matters only when receipt counts from it.
    let sent_basis = sent_basis.filter(|_| acknowledged.is_none());
    from_receipt(
        Some(channel),
        dates.deemed_receipt,
        facts.appeal_days,
        receipt,
        sent_basis,
    )
}

/// A recipient served twice over (a verifiable electronic notice and its paper re-serve):
/// the first completed service counts, and only it has dates. `original` keeps them on a tie.
pub fn first_service_counts(original: &mut Assessment, reserve: &mut Assessment) {
    match (original.deemed_receipt, reserve.deemed_receipt) {
        (Some(first), Some(second)) if second < first => supersede(original, second),
        (Some(first), Some(_)) => supersede(reserve, first),
        _ => {}
    }
}

fn supersede(assessment: &mut Assessment, by: Date) {
    *assessment = Assessment::without_dates(
        assessment.channel,
        LegalRule::ServedByOther { on: by.to_string() },
    );
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

/// The latest record of each kind (forwarding; substitute service or public notice).
fn recorded_of(records: &[ServiceRecord]) -> Vec<RecordedService> {
    let date = |text: &str| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(text, &format).ok()
    };
    let latest = |kinds: &[&str]| {
        records
            .iter()
            .rev()
            .find(|r| kinds.contains(&r.kind.as_str()))
    };
    let mut recorded = Vec::new();
    if let Some(record) = latest(&["forwarding"]) {
        if let (Some(method), Some(forwarded_on)) = (
            record.method.as_deref().and_then(ForwardingMethod::parse),
            date(&record.served_on),
        ) {
            recorded.push(RecordedService::Forwarding {
                method,
                forwarded_on,
                received_on: record.receipt_on.as_deref().and_then(date),
            });
        }
    }
    if let Some(record) = latest(&["substitute_service", "public_notice"]) {
        if let (Some(kind), Some(on)) =
            (ManualService::parse(&record.kind), date(&record.served_on))
        {
            recorded.push(RecordedService::Manual { kind, on });
        }
    }
    recorded
}

/// Assesses the delivery again — with its re-serve or the delivery it re-serves, since one
/// recipient's service counts once — and, where the channel or a date changed, stores the
/// new values with a history entry naming what they were before. Two assessments racing
/// (the send job and the events poller) cannot overwrite a newer one: the store writes only
/// over the values the assessment started from, and the loser assesses again.
pub async fn reassess(
    store: &Arc<dyn Store>,
    delivery_id: Uuid,
    rules: ReceiptRules,
) -> Result<Option<Assessment>, StoreError> {
    'again: for _ in 0..5 {
        let Some(delivery) = store.delivery(delivery_id).await? else {
            return Ok(None);
        };
        let partner = match delivery.reserve_of {
            Some(original) => store.delivery(original).await?,
            None => store.reserve_of(delivery.id).await?,
        };
        let mine = assess_one(store, &delivery, rules).await?;
        let Some(partner) = partner else {
            return match record(store, &delivery, &mine).await? {
                true => Ok(Some(mine)),
                false => continue 'again,
            };
        };
        let mut theirs = assess_one(store, &partner, rules).await?;
        let mut mine = mine;
        if delivery.reserve_of.is_some() {
            first_service_counts(&mut theirs, &mut mine);
        } else {
            first_service_counts(&mut mine, &mut theirs);
        }
        if !record(store, &delivery, &mine).await? || !record(store, &partner, &theirs).await? {
            continue 'again;
        }
        return Ok(Some(mine));
    }
    Ok(None)
}

async fn assess_one(
    store: &Arc<dyn Store>,
    delivery: &Delivery,
    rules: ReceiptRules,
) -> Result<Assessment, StoreError> {
    let Some(notice) = store
        .notice(delivery.organisation_id, delivery.notice_id)
        .await?
    else {
        return Ok(Assessment::without_dates(None, LegalRule::NotSentYet));
    };
    let events = events_of(&store.delivery_events(delivery.id).await?);
    let recorded = recorded_of(&store.service_records(delivery.id).await?);
    Ok(assess(
        &Facts {
            decided_mode: delivery.decided_mode,
            forwarded: delivery.forwarded(),
            // A paper re-serve of a verifiable notice is a letter against a receipt too.
            verifiable: notice.verifiable,
            appeal_days: notice.appeal_days,
            submitted_at: delivery.submitted_at.map(|at| at.as_offset_date_time()),
            events: &events,
            recorded: &recorded,
        },
        rules,
    ))
}

/// Stores the assessment when it differs from the delivery's current values; `false` when
/// someone else stored another meanwhile.
async fn record(
    store: &Arc<dyn Store>,
    delivery: &Delivery,
    assessment: &Assessment,
) -> Result<bool, StoreError> {
    // Nothing to say of a delivery Suomi.fi does not have yet (a re-serve waiting its turn).
    if delivery.submitted_at.is_none() && delivery.legal_rule.is_none() {
        return Ok(true);
    }
    match update_for(delivery, assessment) {
        None => Ok(true),
        Some(update) => store.record_legal_dates(delivery.id, &update).await,
    }
}

/// The first assessment of a delivery Suomi.fi accepted `at`, made from what the send job
/// already holds, so that it is stored in the same transaction as the send itself. `None`
/// for a re-serve: its partner's service may count first, which only `reassess` reads.
/// Nothing else can be known yet: events and service records need the message id that this
/// very transaction stores.
pub fn first_assessment(
    delivery: &Delivery,
    verifiable: bool,
    appeal_days: Option<i32>,
    at: OffsetDateTime,
    rules: ReceiptRules,
) -> Option<LegalDatesUpdate> {
    if delivery.reserve_of.is_some() {
        return None;
    }
    let assessment = assess(
        &Facts {
            decided_mode: delivery.decided_mode,
            forwarded: delivery.forwarded(),
            verifiable,
            appeal_days,
            submitted_at: Some(at),
            events: &[],
            recorded: &[],
        },
        rules,
    );
    update_for(delivery, &assessment)
}

/// The update that brings the delivery's stored legal facts to the assessment's, with the
/// history entry explaining it; `None` when they already agree.
fn update_for(delivery: &Delivery, assessment: &Assessment) -> Option<LegalDatesUpdate> {
    let channel_taken = assessment.channel.map(|c| channel_name(c).to_string());
    let deemed_receipt = assessment.deemed_receipt.map(|d| d.to_string());
    let appeal_deadline = assessment.appeal_deadline.map(|d| d.to_string());
    let unchanged = channel_taken == delivery.channel_taken
        && deemed_receipt == delivery.deemed_receipt
        && appeal_deadline == delivery.appeal_deadline
        && delivery.legal_rule.as_deref() == Some(assessment.rule.as_str())
        && delivery.legal_basis().as_ref() == Some(&assessment.basis);
    if unchanged {
        return None;
    }
    let history = HistoryEntry::new(
        delivery,
        HistoryKind::LegalDates,
        json!({
            "channel": channel_taken,
            "deemed_receipt": deemed_receipt,
            "appeal_deadline": appeal_deadline,
            "moved_from": assessment.moved_from.map(|d| d.to_string()),
            "rule": assessment.rule,
            "basis": assessment.basis,
            "previous": {
                "channel": delivery.channel_taken,
                "deemed_receipt": delivery.deemed_receipt,
                "appeal_deadline": delivery.appeal_deadline,
            },
        }),
    );
    Some(LegalDatesUpdate {
        previous: (
            delivery.channel_taken.clone(),
            delivery.deemed_receipt.clone(),
            delivery.appeal_deadline.clone(),
        ),
        previous_rule: delivery.legal_rule.clone(),
        channel_taken,
        deemed_receipt,
        appeal_deadline,
        legal_rule: Some(assessment.rule.clone()),
        legal_basis: serde_json::to_string(&assessment.basis).ok(),
        history,
    })
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
            decided_mode: DeliveryMode::parse(mode).expect("a mode"),
            forwarded: false,
            verifiable,
            appeal_days: Some(30),
            submitted_at: at(datetime!(2026-12-18 09:00 UTC)),
            events,
            recorded: &[],
        }
    }

    fn printed() -> [(EventKind, OffsetDateTime); 2] {
        [
            (EventKind::PaperMailCreated, datetime!(2026-12-18 09:00 UTC)),
            (
                EventKind::SentForPrintingAndEnveloping,
                datetime!(2026-12-18 12:00 UTC),
            ),
        ]
    }

    #[test]
    fn a_letter_to_the_forwarding_address_is_not_service() {
        let events = printed();
        let mut forwarded = facts("paper_only", false, &events);
        forwarded.forwarded = true;
        let pending = assess(&forwarded, ReceiptRules::default());
        assert_eq!(pending.deemed_receipt, None, "printing is not service");
        assert!(
            pending.rule.contains("forwarding address"),
            "{}",
            pending.rule
        );

        let ordinary = [RecordedService::Forwarding {
            method: ForwardingMethod::OrdinaryLetter,
            forwarded_on: date!(2026 - 12 - 28),
            received_on: None,
        }];
        forwarded.recorded = &ordinary;
        let served = assess(&forwarded, ReceiptRules::default());
        assert_eq!(served.deemed_receipt, Some(date!(2027 - 01 - 04)));
        assert!(served
            .rule
            .contains("forwarded by ordinary letter on 28.12.2026"));

        let in_person = [RecordedService::Forwarding {
            method: ForwardingMethod::InPerson,
            forwarded_on: date!(2026 - 12 - 29),
            received_on: Some(date!(2026 - 12 - 29)),
        }];
        forwarded.recorded = &in_person;
        let handed = assess(&forwarded, ReceiptRules::default());
        assert_eq!(handed.deemed_receipt, Some(date!(2026 - 12 - 29)));
        assert_eq!(handed.appeal_deadline, Some(date!(2027 - 01 - 28)));
    }

    #[test]
    fn substitute_service_and_public_notice_have_their_own_days() {
        let events = [
            (EventKind::PaperMailCreated, datetime!(2026-12-18 09:00 UTC)),
            (
                EventKind::PostiReturnedToSender,
                datetime!(2027-01-04 09:00 UTC),
            ),
        ];
        let mut returned = facts("paper_only", true, &events);
        assert_eq!(
            assess(&returned, ReceiptRules::default()).deemed_receipt,
            None
        );
        let substitute = [RecordedService::Manual {
            kind: ManualService::SubstituteService,
            on: date!(2027 - 01 - 11),
        }];
        returned.recorded = &substitute;
        let served = assess(&returned, ReceiptRules::default());
        assert_eq!(served.deemed_receipt, Some(date!(2027 - 01 - 14)));
        assert!(served.rule.contains("HL 61"));
        let public = [RecordedService::Manual {
            kind: ManualService::PublicNotice,
            on: date!(2027 - 01 - 15),
        }];
        returned.recorded = &public;
        let published = assess(&returned, ReceiptRules::default());
        assert_eq!(published.deemed_receipt, Some(date!(2027 - 01 - 22)));
        assert!(published.rule.contains("HL 62"));
    }

    #[test]
    fn the_print_lag_moves_a_letters_sending_day() {
        let events = printed();
        let rules = ReceiptRules {
            print_lag_days: 2,
            ..ReceiptRules::default()
        };
        let lagged = assess(&facts("paper_only", false, &events), rules);
        assert_eq!(lagged.deemed_receipt, Some(date!(2026 - 12 - 27)));
        assert!(
            lagged.rule.contains("print lag of 2 days"),
            "{}",
            lagged.rule
        );
        let prompt = assess(
            &facts("paper_only", false, &events),
            ReceiptRules::default(),
        );
        assert_eq!(prompt.deemed_receipt, Some(date!(2026 - 12 - 25)));
    }

    #[test]
    fn the_first_completed_service_counts_once() {
        let served = |on| Assessment {
            channel: Some(ServiceChannel::Paper),
            deemed_receipt: Some(on),
            appeal_deadline: Some(on + time::Duration::days(30)),
            moved_from: None,
            basis: LegalRule::NotSentYet,
            rule: "x".into(),
        };
        let (mut original, mut reserve) =
            (served(date!(2027 - 01 - 05)), served(date!(2027 - 01 - 03)));
        first_service_counts(&mut original, &mut reserve);
        assert_eq!(original.deemed_receipt, None);
        assert!(original.rule.contains("3.1.2027"));
        assert_eq!(reserve.deemed_receipt, Some(date!(2027 - 01 - 03)));

        let (mut original, mut reserve) =
            (served(date!(2027 - 01 - 03)), served(date!(2027 - 01 - 03)));
        first_service_counts(&mut original, &mut reserve);
        assert!(original.deemed_receipt.is_some());
        assert_eq!(reserve.appeal_deadline, None, "never two deadlines");
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
