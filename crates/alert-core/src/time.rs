//! [`Timestamp`]: an instant in UTC with nanosecond precision, written as RFC 3339.
//!
//! `alert-core` keeps no date-time dependency: an alert only needs to carry instants
//! and print them. Calendar and time-zone work (silences, mute windows) lives in
//! `alert-router`, which converts with [`Timestamp::as_unix_nanos`].

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant in UTC: seconds since the Unix epoch plus nanoseconds.
///
/// Displayed and (with `serde`) serialised as RFC 3339 in UTC, e.g.
/// `2026-11-24T10:51:29.5Z`. Parsing accepts any RFC 3339 offset (`Z`, `+02:00`) and
/// up to nine fractional digits, and covers years 0001 to 9999, so Alertmanager's
/// "zero" time `0001-01-01T00:00:00Z` parses.
///
/// ```
/// use alert_core::Timestamp;
/// let t: Timestamp = "2026-11-24T11:51:29+01:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-11-24T10:51:29Z");
/// assert_eq!(t.unix_seconds(), 1_795_517_489);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: Nanos,
}

/// The sub-second part, kept with its top bit set so that it is never zero: the
/// spare value lets `Option<Timestamp>` take 16 bytes instead of 24 (an alert's state
/// holds several). Order, equality and hashing are those of the plain number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Nanos(NonZeroU32);

impl Nanos {
    const SET: u32 = 1 << 31;

    /// `n` below one second.
    const fn new(n: u32) -> Nanos {
        match NonZeroU32::new(n | Nanos::SET) {
            Some(v) => Nanos(v),
            None => unreachable!(),
        }
    }

    const fn get(self) -> u32 {
        self.0.get() & !Nanos::SET
    }
}

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
const MIN_SECS: i64 = -62_135_596_800;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z.
const MAX_SECS: i64 = 253_402_300_799;

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp {
        secs: 0,
        nanos: Nanos::new(0),
    };

    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// An instant `secs` seconds after the epoch (negative: before), with `nanos`
    /// (clamped to below one second). Returns `None` outside years 0001..=9999.
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Timestamp> {
        if !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return None;
        }
        Some(Timestamp {
            secs,
            nanos: Nanos::new(nanos.min(999_999_999)),
        })
    }

    /// An instant from whole seconds since the epoch; `None` outside years 0001..=9999.
    pub fn from_unix_seconds(secs: i64) -> Option<Timestamp> {
        Timestamp::from_unix(secs, 0)
    }

    /// An instant from milliseconds since the epoch; `None` outside years 0001..=9999.
    pub fn from_unix_millis(ms: i64) -> Option<Timestamp> {
        Timestamp::from_unix(
            ms.div_euclid(1000),
            (ms.rem_euclid(1000) as u32) * 1_000_000,
        )
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// The sub-second part, in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos.get()
    }

    /// Milliseconds since the epoch.
    pub fn unix_millis(self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos.get() / 1_000_000)
    }

    /// Nanoseconds since the epoch.
    pub fn as_unix_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos.get())
    }

    /// The later instant `d` after this one, saturating at year 9999.
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let total = self
            .as_unix_nanos()
            .saturating_add(d.as_nanos().min(i128::MAX as u128) as i128);
        Timestamp::from_nanos_clamped(total)
    }

    /// The earlier instant `d` before this one, saturating at year 0001.
    pub fn saturating_sub(self, d: Duration) -> Timestamp {
        let total = self
            .as_unix_nanos()
            .saturating_sub(d.as_nanos().min(i128::MAX as u128) as i128);
        Timestamp::from_nanos_clamped(total)
    }

    /// How long after `earlier` this instant is; `Duration::ZERO` if it is not later.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        let d = self.as_unix_nanos() - earlier.as_unix_nanos();
        if d <= 0 {
            Duration::ZERO
        } else {
            Duration::new((d / 1_000_000_000) as u64, (d % 1_000_000_000) as u32)
        }
    }

    fn from_nanos_clamped(total: i128) -> Timestamp {
        let secs = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000) as u32;
        if secs < i128::from(MIN_SECS) {
            Timestamp {
                secs: MIN_SECS,
                nanos: Nanos::new(0),
            }
        } else if secs > i128::from(MAX_SECS) {
            Timestamp {
                secs: MAX_SECS,
                nanos: Nanos::new(999_999_999),
            }
        } else {
            Timestamp {
                secs: secs as i64,
                nanos: Nanos::new(nanos),
            }
        }
    }

    /// Breaks the instant into UTC calendar fields:
    /// `(year, month, day, hour, minute, second)`.
    pub fn to_utc_fields(self) -> (i32, u8, u8, u8, u8, u8) {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (sod / 3600) as u8,
            (sod % 3600 / 60) as u8,
            (sod % 60) as u8,
        )
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::UNIX_EPOCH.saturating_add(d),
            Err(e) => Timestamp::UNIX_EPOCH.saturating_sub(e.duration()),
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> SystemTime {
        if t.secs >= 0 {
            UNIX_EPOCH + Duration::new(t.secs as u64, t.nanos.get())
        } else {
            UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs())
                + Duration::from_nanos(u64::from(t.nanos.get()))
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// A proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// The RFC 3339 text ([`Display`](fmt::Display)'s), written into `buf`.
    fn rfc3339(self, buf: &mut [u8; 30]) -> &str {
        let (y, mo, d, h, mi, s) = self.to_utc_fields();
        // Every timestamp lies in years 0001..=9999 (the constructors keep `secs`
        // between MIN_SECS and MAX_SECS), so the year has four digits.
        let year = u32::try_from(y).unwrap_or(0);
        // Every record the store writes carries timestamps: formatted on the stack,
        // without the formatting machinery.
        let mut put = |at: usize, v: u32, width: usize| {
            let mut v = v;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year, 4);
        put(5, u32::from(mo), 2);
        put(8, u32::from(d), 2);
        put(11, u32::from(h), 2);
        put(14, u32::from(mi), 2);
        put(17, u32::from(s), 2);
        let mut len = 19;
        if self.nanos.get() != 0 {
            put(20, self.nanos.get(), 9);
            buf[19] = b'.';
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[4] = b'-';
        buf[7] = b'-';
        buf[10] = b'T';
        buf[13] = b':';
        buf[16] = b':';
        buf[len] = b'Z';
        // Only ASCII digits and separators were written.
        std::str::from_utf8(&buf[..=len]).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc3339(&mut [0u8; 30]))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error returned for text that is not an RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {input:?}: {reason} (expected RFC 3339, e.g. 2026-11-24T10:51:29Z)")]
pub struct ParseTimestampError {
    input: String,
    reason: &'static str,
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Timestamp, ParseTimestampError> {
        let err = |reason| ParseTimestampError {
            input: s.chars().take(64).collect(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, ParseTimestampError> {
            let part = &b[r];
            if part.iter().all(u8::is_ascii_digit) {
                Ok(part.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0')))
            } else {
                Err(err("expected digits"))
            }
        };
        let year = num(0..4)?;
        if b[4] != b'-' || b[7] != b'-' {
            return Err(err("expected YYYY-MM-DD"));
        }
        let month = num(5..7)?;
        let day = num(8..10)?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(err("expected 'T' between date and time"));
        }
        let hour = num(11..13)?;
        if b[13] != b':' || b[16] != b':' {
            return Err(err("expected hh:mm:ss"));
        }
        let minute = num(14..16)?;
        // RFC 3339 allows a leap second (60); it is folded into the next second.
        let second = num(17..19)?;
        if year == 0 || !(1..=12).contains(&month) {
            return Err(err("year or month out of range"));
        }
        if day == 0 || day > days_in_month(i64::from(year), month) {
            return Err(err("day out of range for the month"));
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err("time of day out of range"));
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &b[start..i];
            if digits.is_empty() {
                return Err(err("empty fraction of a second"));
            }
            for (k, c) in digits.iter().take(9).enumerate() {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
            }
        }
        let offset_secs: i64 = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(err("offset out of range"));
                }
                let o = i64::from(oh * 3600 + om * 60);
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err(err("expected 'Z' or an offset like +02:00 at the end")),
        };
        let days = days_from_civil(i64::from(year), month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
                - offset_secs;
        // Offsets can move year-0001 or year-9999 instants just outside the range.
        Ok(Timestamp::from_nanos_clamped(
            i128::from(secs) * 1_000_000_000 + i128::from(nanos),
        ))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One string, not `collect_str`'s pieces through the formatter.
        s.serialize_str(self.rfc3339(&mut [0u8; 30]))
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_round_trip() {
        for (text, secs, nanos) in [
            ("1970-01-01T00:00:00Z", 0, 0),
            ("2000-02-29T12:34:56Z", 951_827_696, 0),
            ("2026-11-24T10:51:29.5Z", 1_795_517_489, 500_000_000),
            ("1969-12-31T23:59:59.999999999Z", -1, 999_999_999),
            ("0001-01-01T00:00:00Z", MIN_SECS, 0),
            ("9999-12-31T23:59:59Z", MAX_SECS, 0),
        ] {
            let t: Timestamp = text.parse().unwrap();
            assert_eq!(
                (t.unix_seconds(), t.subsec_nanos()),
                (secs, nanos),
                "{text}"
            );
            assert_eq!(t.to_string(), text);
        }
    }

    /// The stack formatter writes exactly what `format!` does, and what it writes
    /// parses back to the same instant, across the whole range.
    #[test]
    fn display_matches_the_general_format_and_round_trips() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let span = (MAX_SECS - MIN_SECS) as u64;
        for i in 0..20_000u32 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let secs = MIN_SECS + ((x >> 11) % (span + 1)) as i64;
            let nanos = match i % 4 {
                0 => 0,
                1 => (x % 1_000) as u32 * 1_000_000,
                _ => (x >> 7) as u32 % 1_000_000_000,
            };
            let t = Timestamp::from_unix(secs, nanos).unwrap();
            let fast = t.to_string();
            let (y, mo, d, h, mi, s) = t.to_utc_fields();
            let mut general = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            if nanos != 0 {
                let frac = format!("{nanos:09}");
                general.push('.');
                general.push_str(frac.trim_end_matches('0'));
            }
            general.push('Z');
            assert_eq!(fast, general, "{secs} {nanos}");
            assert_eq!(fast.parse::<Timestamp>().unwrap(), t, "{fast}");
            #[cfg(feature = "serde")]
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{general}\""),
                "serialised as its text"
            );
        }
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t: Timestamp = "2026-03-29T03:30:00+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-03-29T01:30:00Z");
        let t: Timestamp = "2026-03-28T20:30:00.123-05:30".parse().unwrap();
        assert_eq!(t.to_string(), "2026-03-29T02:00:00.123Z");
    }

    #[test]
    fn rejects_bad_text_with_a_reason() {
        for bad in [
            "",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-24T25:00:00Z",
            "2026-11-24T10:00:00",
            "2026-11-24T10:00:00+0200",
            "2026-11-24T10:00:00.Z",
            "２０２６-11-24T10:00:00Z",
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert!(e.to_string().contains("RFC 3339"), "{bad}: {e}");
        }
    }

    #[test]
    fn arithmetic_saturates_and_measures() {
        let t = Timestamp::from_unix_seconds(100).unwrap();
        let later = t.saturating_add(Duration::from_millis(1500));
        assert_eq!(later.unix_millis(), 101_500);
        assert_eq!(later.duration_since(t), Duration::from_millis(1500));
        assert_eq!(t.duration_since(later), Duration::ZERO);
        let far = t.saturating_add(Duration::from_secs(u64::MAX));
        assert_eq!(far.unix_seconds(), MAX_SECS);
        assert_eq!(
            Timestamp::from_unix_millis(-1).unwrap().to_string(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn system_time_round_trips() {
        let now = SystemTime::now();
        let t = Timestamp::from(now);
        assert_eq!(SystemTime::from(t), now);
    }

    #[test]
    fn an_optional_timestamp_takes_no_more_room_than_a_timestamp() {
        assert_eq!(size_of::<Option<Timestamp>>(), size_of::<Timestamp>());
        assert_eq!(size_of::<Timestamp>(), 16);
        // The stored bit changes neither order nor the value read back.
        let a = Timestamp::from_unix(5, 999_999_999).unwrap();
        let b = Timestamp::from_unix(6, 0).unwrap();
        assert!(a < b);
        assert_eq!((a.subsec_nanos(), b.subsec_nanos()), (999_999_999, 0));
        assert!(Timestamp::from_unix(5, 1).unwrap() > Timestamp::from_unix(5, 0).unwrap());
    }
}
