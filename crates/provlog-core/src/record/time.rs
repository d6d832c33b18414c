//! [`Timestamp`]: RFC 3339 UTC times with exactly millisecond precision,
//! `YYYY-MM-DDTHH:MM:SS.sssZ`, converted to and from Unix milliseconds without a date crate
//! (Howard Hinnant's `days_from_civil` / `civil_from_days`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::RecordError;

const FIELD: &str = "received_at";
const MS_PER_DAY: i64 = 86_400_000;

/// A UTC instant with millisecond precision, between `0000-01-01T00:00:00.000Z` and
/// `9999-12-31T23:59:59.999Z`. Its only text form is `YYYY-MM-DDTHH:MM:SS.sssZ` (upper-case `T`
/// and `Z`, no offset, no leap second), so equal instants have equal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(i64);

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Timestamp {
    /// `0000-01-01T00:00:00.000Z`.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000);
    /// `9999-12-31T23:59:59.999Z`.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);

    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z (negative: before).
    pub fn from_unix_millis(millis: i64) -> Result<Self, RecordError> {
        if !(Self::MIN.0..=Self::MAX.0).contains(&millis) {
            return Err(RecordError::invalid(FIELD, "outside years 0000..=9999"));
        }
        Ok(Timestamp(millis))
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, ms) = (self.0.div_euclid(MS_PER_DAY), self.0.rem_euclid(MS_PER_DAY));
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

impl FromStr for Timestamp {
    type Err = RecordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "must be YYYY-MM-DDTHH:MM:SS.sssZ (UTC, milliseconds)";
        let b = s.as_bytes();
        if b.len() != 24 {
            return Err(RecordError::invalid(FIELD, SHAPE));
        }
        for (i, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ] {
            if b[i] != sep {
                return Err(RecordError::invalid(FIELD, SHAPE));
            }
        }
        let num = |from: usize, to: usize| -> Result<i64, RecordError> {
            b[from..to].iter().try_fold(0i64, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + i64::from(c - b'0'))
                } else {
                    Err(RecordError::invalid(FIELD, SHAPE))
                }
            })
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
        if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
            return Err(RecordError::invalid(FIELD, "no such date"));
        }
        if h > 23 || mi > 59 || sec > 59 {
            return Err(RecordError::invalid(
                FIELD,
                "no such time of day (leap seconds are not used)",
            ));
        }
        let days = days_from_civil(y, mo, d);
        Ok(Timestamp(
            days * MS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000 + ms,
        ))
    }
}

impl TryFrom<String> for Timestamp {
    type Error = RecordError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_instants() {
        for (millis, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (Timestamp::MIN.0, "0000-01-01T00:00:00.000Z"),
            (Timestamp::MAX.0, "9999-12-31T23:59:59.999Z"),
        ] {
            let t = Timestamp::from_unix_millis(millis).unwrap();
            assert_eq!(t.to_string(), text);
            assert_eq!(text.parse::<Timestamp>().unwrap().unix_millis(), millis);
        }
        assert!(Timestamp::from_unix_millis(Timestamp::MIN.0 - 1).is_err());
        assert!(Timestamp::from_unix_millis(Timestamp::MAX.0 + 1).is_err());
        assert!(Timestamp::from_unix_millis(i64::MIN).is_err());
        assert!(Timestamp::from_unix_millis(i64::MAX).is_err());
    }

    #[test]
    fn consecutive_dates_are_consecutive_days() {
        let mut expected = days_from_civil(0, 1, 1);
        for y in 0..=9999 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), expected, "{y}-{m}-{d}");
                    assert_eq!(civil_from_days(expected), (y, m, d));
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn refuses_other_shapes_and_impossible_values() {
        for bad in [
            "",
            "2024-02-29T12:34:56Z",
            "2024-02-29T12:34:56.78Z",
            "2024-02-29T12:34:56.7890Z",
            "2024-02-29t12:34:56.789Z",
            "2024-02-29T12:34:56.789z",
            "2024-02-29 12:34:56.789Z",
            "2024-02-29T12:34:56.789+00:00",
            "+2024-02-29T12:34:56.789Z",
            "2024-2-29T12:34:56.789ZZ",
            "2023-02-29T00:00:00.000Z",
            "2100-02-29T00:00:00.000Z",
            "2024-04-31T00:00:00.000Z",
            "2024-00-01T00:00:00.000Z",
            "2024-13-01T00:00:00.000Z",
            "2024-01-00T00:00:00.000Z",
            "2024-01-01T24:00:00.000Z",
            "2024-01-01T00:60:00.000Z",
            "2016-12-31T23:59:60.000Z",
            "2024-01-01T00:00:00.-00Z",
            "2024-01-01T00:00:00.0a0Z",
            "２０２４-01-01T00:00:00.000Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Timestamp>("\"2023-02-29T00:00:00.000Z\"").is_err());
    }

    proptest! {
        #[test]
        fn text_round_trips(millis in Timestamp::MIN.0..=Timestamp::MAX.0) {
            let t = Timestamp::from_unix_millis(millis).unwrap();
            let text = t.to_string();
            prop_assert_eq!(text.len(), 24);
            prop_assert_eq!(text.parse::<Timestamp>().unwrap(), t);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}", t in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z") {
            let _ = s.parse::<Timestamp>();
            if let Ok(ts) = t.parse::<Timestamp>() {
                prop_assert_eq!(ts.to_string(), t);
            }
        }
    }
}
