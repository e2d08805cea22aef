//! Times as Finnish caseworkers read them: local time in Europe/Helsinki, `25.11.2026 14.05`.

use crate::store::Timestamp;

static HELSINKI: std::sync::LazyLock<jiff::tz::TimeZone> = std::sync::LazyLock::new(|| {
    jiff::tz::TimeZone::get("Europe/Helsinki").expect("the bundled tzdb has Europe/Helsinki")
});

/// `25.11.2026 14.05` in Finland's time.
pub fn finnish_local(at: Timestamp) -> String {
    let instant = at.as_offset_date_time();
    let Ok(timestamp) = jiff::Timestamp::new(instant.unix_timestamp(), 0) else {
        return String::new();
    };
    let local = HELSINKI.to_datetime(timestamp);
    format!(
        "{}.{}.{} {:02}.{:02}",
        local.day(),
        local.month(),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// The calendar date in Finland at `instant`.
pub fn finnish_date(instant: time::OffsetDateTime) -> time::Date {
    let timestamp =
        jiff::Timestamp::from_second(instant.unix_timestamp()).expect("an instant in jiff's range");
    let date = HELSINKI.to_datetime(timestamp).date();
    time::Date::from_calendar_date(
        i32::from(date.year()),
        time::Month::try_from(date.month() as u8).expect("a month"),
        date.day() as u8,
    )
    .expect("a valid date")
}

/// The instant a Finnish calendar day begins (00.00 in Helsinki).
pub fn start_of_finnish_day(date: time::Date) -> Option<Timestamp> {
    let civil = jiff::civil::date(
        i16::try_from(date.year()).ok()?,
        i8::try_from(u8::from(date.month())).ok()?,
        i8::try_from(date.day()).ok()?,
    );
    let midnight = civil.to_datetime(jiff::civil::Time::midnight());
    let seconds = HELSINKI.to_timestamp(midnight).ok()?.as_second();
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .map(Timestamp::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_helsinki() {
        let winter = Timestamp::from(time::macros::datetime!(2026-11-25 12:05 UTC));
        assert_eq!(finnish_local(winter), "25.11.2026 14.05");
        let summer = Timestamp::from(time::macros::datetime!(2026-06-30 21:30 UTC));
        assert_eq!(finnish_local(summer), "1.7.2026 00.30");
    }

    #[test]
    fn a_finnish_day_starts_at_helsinki_midnight() {
        assert_eq!(
            start_of_finnish_day(time::macros::date!(2026 - 11 - 25)),
            Some(Timestamp::from(
                time::macros::datetime!(2026-11-24 22:00 UTC)
            ))
        );
        assert_eq!(
            start_of_finnish_day(time::macros::date!(2026 - 07 - 01)),
            Some(Timestamp::from(
                time::macros::datetime!(2026-06-30 21:00 UTC)
            ))
        );
    }
}
