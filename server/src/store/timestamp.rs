//! `Timestamp`: one UTC instant type for both databases.
//!
//! PostgreSQL stores it as `timestamptz`. SQLite has no time type, and sqlx's default text
//! for `OffsetDateTime` varies in width, which breaks `<` on text; we always write
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so text order is time order and SQL can compare instants.

use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

impl Timestamp {
    /// The current instant, truncated to microseconds (PostgreSQL's precision) so that a value
    /// read back equals the value written.
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    pub fn as_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    pub fn to_rfc3339(self) -> String {
        self.0
            .format(&Rfc3339)
            .expect("a UTC instant always formats")
    }

    fn to_sqlite_text(self) -> String {
        self.0
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
            ))
            .expect("a UTC instant always formats")
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        let utc = value.to_offset(UtcOffset::UTC);
        let micros = utc.microsecond();
        Self(
            utc.replace_nanosecond(micros * 1_000)
                .expect("microseconds fit"),
        )
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp::from(self.0 + rhs)
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp::from(self.0 - rhs)
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.to_sqlite_text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
        Ok(Self::from(OffsetDateTime::parse(text, &Rfc3339)?))
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from(
            <OffsetDateTime as Decode<'r, Postgres>>::decode(value)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sqlite_text_has_one_width_so_text_order_is_time_order() {
        let whole_second = Timestamp::from(datetime!(2026-11-25 09:00:00 UTC));
        let later = Timestamp::from(datetime!(2026-11-25 09:00:00.5 UTC));
        assert_eq!(whole_second.to_sqlite_text(), "2026-11-25T09:00:00.000000Z");
        assert_eq!(later.to_sqlite_text(), "2026-11-25T09:00:00.500000Z");
        assert!(whole_second.to_sqlite_text() < later.to_sqlite_text());
    }

    #[test]
    fn converts_other_offsets_to_utc_and_truncates_to_microseconds() {
        let helsinki = datetime!(2026-11-25 11:00:00.123456789 +2);
        let stored = Timestamp::from(helsinki);
        assert_eq!(stored.to_sqlite_text(), "2026-11-25T09:00:00.123456Z");
    }
}
