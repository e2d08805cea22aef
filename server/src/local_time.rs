//! Times as Finnish caseworkers read them: local time in Europe/Helsinki, `25.11.2026 14.05`.

use crate::store::Timestamp;

/// `25.11.2026 14.05` in Finland's time.
pub fn finnish_local(at: Timestamp) -> String {
    static HELSINKI: std::sync::LazyLock<jiff::tz::TimeZone> = std::sync::LazyLock::new(|| {
        jiff::tz::TimeZone::get("Europe/Helsinki").expect("the bundled tzdb has Europe/Helsinki")
    });
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
}
