//! Certificate times: UTCTime and GeneralizedTime as seconds since the epoch.
//!
//! ```text
//! Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
//! ```
//! ([RFC 5280 § 4.1.2.5](https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5))
//!
//! Accepted forms, all in UTC (`Z`; offsets are refused):
//! - UTCTime `YYMMDDHHMMSSZ`, and `YYMMDDHHMMZ` (BER); `YY` below 50 is
//!   20YY, otherwise 19YY.
//! - GeneralizedTime `YYYYMMDDHHMMSSZ`, with an optional fraction of a second
//!   (`.123`, truncated).
//!
//! There is no clock in `no_std`: callers pass "now" as a [`Time`].

use core::fmt;

use crate::ber::Tag;
use crate::ber::Tlv;
use crate::error::{Error, ErrorKind, Result};

/// A point in time: seconds since 1970-01-01T00:00:00Z (leap seconds not
/// counted, as in Unix time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

/// UTCTime's tag.
pub(crate) const UTC_TIME: Tag = Tag::universal(23, false);
/// GeneralizedTime's tag.
pub(crate) const GENERALIZED_TIME: Tag = Tag::universal(24, false);

impl Time {
    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// A calendar date and time of day in UTC; `None` if a field is out of
    /// range (month 1..=12, day within the month, hour 0..=23, minute 0..=59,
    /// second 0..=60; a leap second counts as the next second).
    pub fn from_civil(
        year: i64,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || !(-1_000_000..=1_000_000).contains(&year)
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(Self(
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second),
        ))
    }

    /// The calendar fields `(year, month, day, hour, minute, second)` in UTC.
    pub fn to_civil(self) -> (i64, u8, u8, u8, u8, u8) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        // secs < 86400: the narrowing casts cannot lose anything.
        let hour = u8::try_from(secs / 3600).unwrap_or(0);
        let minute = u8::try_from(secs % 3600 / 60).unwrap_or(0);
        let second = u8::try_from(secs % 60).unwrap_or(0);
        (y, m, d, hour, minute, second)
    }

    /// Parses the content octets of a UTCTime.
    pub fn from_utc_time(v: &[u8]) -> Result<Self> {
        let invalid = Error::new(ErrorKind::InvalidValue);
        let (digits, z) = v.split_at(v.len().checked_sub(1).ok_or(invalid)?);
        if z != b"Z" || !(digits.len() == 12 || digits.len() == 10) {
            return Err(invalid);
        }
        let yy = i64::from(two(digits, 0)?);
        let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
        let second = if digits.len() == 12 { two(digits, 10)? } else { 0 };
        Self::from_civil(
            year,
            two(digits, 2)?,
            two(digits, 4)?,
            two(digits, 6)?,
            two(digits, 8)?,
            second,
        )
        .ok_or(invalid)
    }

    /// Parses the content octets of a GeneralizedTime.
    pub fn from_generalized_time(v: &[u8]) -> Result<Self> {
        let invalid = Error::new(ErrorKind::InvalidValue);
        let (body, z) = v.split_at(v.len().checked_sub(1).ok_or(invalid)?);
        if z != b"Z" || body.len() < 14 {
            return Err(invalid);
        }
        let (digits, fraction) = body.split_at(14);
        match fraction {
            [] => {}
            [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {}
            _ => return Err(invalid),
        }
        let year = i64::from(two(digits, 0)?) * 100 + i64::from(two(digits, 2)?);
        Self::from_civil(
            year,
            two(digits, 4)?,
            two(digits, 6)?,
            two(digits, 8)?,
            two(digits, 10)?,
            two(digits, 12)?,
        )
        .ok_or(invalid)
    }

    /// Parses a `Time` element (UTCTime or GeneralizedTime).
    pub fn from_tlv(tlv: &Tlv<'_>) -> Result<Self> {
        if tlv.tag == UTC_TIME {
            Self::from_utc_time(tlv.value)
        } else if tlv.tag == GENERALIZED_TIME {
            Self::from_generalized_time(tlv.value)
        } else {
            Err(Error::new(ErrorKind::UnexpectedTag {
                expected: UTC_TIME.first_octet(),
                actual: tlv.tag.first_octet(),
            }))
        }
    }
}

/// ISO 8601: `2019-11-20T06:54:18Z`.
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// Two ASCII digits at `at`.
fn two(v: &[u8], at: usize) -> Result<u8> {
    match v.get(at..at + 2) {
        Some(&[a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => {
            Ok((a - b'0') * 10 + (b - b'0'))
        }
        _ => Err(Error::new(ErrorKind::InvalidValue)),
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // 1 <= d <= 31 and 1 <= m <= 12.
    (y, u8::try_from(m).unwrap_or(0), u8::try_from(d).unwrap_or(0))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core
)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn known_times() {
        let t = Time::from_utc_time(b"191120065418Z").unwrap();
        assert_eq!(t.unix(), 1_574_232_858);
        assert_eq!(t.to_string(), "2019-11-20T06:54:18Z");
        assert_eq!(
            Time::from_utc_time(b"500101000000Z").unwrap().to_string(),
            "1950-01-01T00:00:00Z"
        );
        assert_eq!(
            Time::from_utc_time(b"491231235959Z").unwrap().to_string(),
            "2049-12-31T23:59:59Z"
        );
        assert_eq!(Time::from_utc_time(b"7001010000Z").unwrap().unix(), 0);
        let g = Time::from_generalized_time(b"20520927065418Z").unwrap();
        assert_eq!(g.to_string(), "2052-09-27T06:54:18Z");
        assert_eq!(
            Time::from_generalized_time(b"99991231235959Z").unwrap().unix(),
            253_402_300_799
        );
        assert_eq!(Time::from_generalized_time(b"19691231235959.999Z").unwrap().unix(), -1);
        assert_eq!(
            Time::from_generalized_time(b"20000229120000Z").unwrap().to_string(),
            "2000-02-29T12:00:00Z"
        );
        assert_eq!(
            Time::from_generalized_time(b"00000101000000Z").unwrap().to_string(),
            "0000-01-01T00:00:00Z"
        );
        assert!(Time::from_unix(0) < t);
    }

    #[test]
    fn round_trip_civil() {
        for secs in
            [-86_401i64, -1, 0, 951_782_400, 4_102_444_800, 253_402_300_799, -62_167_219_200]
        {
            let t = Time::from_unix(secs);
            let (y, mo, d, h, mi, s) = t.to_civil();
            assert_eq!(Time::from_civil(y, mo, d, h, mi, s), Some(t), "{secs}");
        }
        // Every day of 1999..=2001 round-trips.
        let mut day = Time::from_civil(1999, 1, 1, 0, 0, 0).unwrap().unix();
        while day < Time::from_civil(2002, 1, 1, 0, 0, 0).unwrap().unix() {
            let (y, mo, d, ..) = Time::from_unix(day).to_civil();
            assert_eq!(Time::from_civil(y, mo, d, 0, 0, 0).unwrap().unix(), day);
            day += 86_400;
        }
    }

    #[test]
    fn bad_times() {
        for bad in [
            &b"191120065418"[..],
            b"191120065418+0100",
            b"1911200654Z18",
            b"19112006541Z",
            b"191320065418Z",
            b"190229065418Z",
            b"191131065418Z",
            b"191100065418Z",
            b"191120245418Z",
            b"191120066018Z",
            b"191120065461Z",
            b"1a1120065418Z",
            b"",
            b"Z",
        ] {
            assert!(Time::from_utc_time(bad).is_err(), "{:?}", core::str::from_utf8(bad));
        }
        for bad in [
            &b"2019112006541Z"[..],
            b"20191120065418.Z",
            b"20191120065418,5Z",
            b"201911200654Z",
            b"",
        ] {
            assert!(Time::from_generalized_time(bad).is_err(), "{:?}", core::str::from_utf8(bad));
        }
        assert!(Time::from_civil(2019, 2, 29, 0, 0, 0).is_none());
        assert!(Time::from_civil(2020, 2, 29, 0, 0, 0).is_some());
    }
}
