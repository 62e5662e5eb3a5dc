//! [`TimeInterval`]: calendar windows in a time zone (Alertmanager's `time_intervals`).
//!
//! Used by routes (`mute_time_intervals`, `active_time_intervals`) and by recurring
//! silences. Every field that is set must match; an empty field matches everything.
//!
//! | field | example | meaning |
//! |---|---|---|
//! | `times` | `[{ start_time = "02:00", end_time = "04:00" }]` | minutes of the day, start inclusive, end exclusive (`24:00` allowed) |
//! | `weekdays` | `["monday:friday", "sunday"]` | inclusive ranges of weekday names |
//! | `days_of_month` | `["1:5", "-1"]` | inclusive ranges; negative counts from the month's end (`-1` is the last day) |
//! | `months` | `["1:3", "december"]` | inclusive ranges, by number or name |
//! | `years` | `["2026:2027"]` | inclusive ranges |
//! | `location` | `"Europe/Paris"` | the IANA time zone the fields are read in (default UTC) |
//!
//! Time zones come from the IANA database bundled into the binary (jiff's
//! `tzdb-bundle-always`), so a window means the same on every machine whatever its
//! `/usr/share/zoneinfo` holds, and tests do not depend on the host. Wall-clock
//! fields follow daylight-saving changes: "Sunday 02:00-04:00 Europe/Paris" is
//! 01:00-03:00 UTC in winter, 00:00-02:00 UTC in summer, and 01:00-02:00 UTC on the
//! night the clocks go forward (02:00-03:00 local does not exist that night).

use std::fmt;

use alert_core::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A time-of-day range, as written in config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeSpec {
    /// `HH:MM`, inclusive.
    pub start_time: String,
    /// `HH:MM`, exclusive; `24:00` is the end of the day.
    pub end_time: String,
}

/// A [`TimeInterval`] as written in config (all strings); see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    /// Time-of-day ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRangeSpec>,
    /// Weekday ranges (`monday:friday`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// Day-of-month ranges (`1:5`, `-1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    /// Month ranges (`1:3`, `may:august`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
    /// Year ranges (`2026:2027`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<String>,
    /// IANA time zone name; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Why a time interval is invalid; the message names the field and the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid time interval `{field}` value {value:?}: {reason}")]
pub struct TimeIntervalError {
    /// The field (`times`, `weekdays`, ...).
    pub field: &'static str,
    /// The value as written.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

fn err(field: &'static str, value: &str, reason: impl Into<String>) -> TimeIntervalError {
    TimeIntervalError {
        field,
        value: value.chars().take(100).collect(),
        reason: reason.into(),
    }
}

/// A calendar window in a time zone; see the [module docs](self).
///
/// ```
/// use alert_router::TimeInterval;
/// let retrain = TimeInterval::weekly("sunday", "02:00", "04:00", "Europe/Paris").unwrap();
/// // 2026-11-29 is a Sunday; Paris is UTC+1 in November.
/// assert!(retrain.contains("2026-11-29T01:30:00Z".parse().unwrap()));
/// assert!(!retrain.contains("2026-11-29T03:00:00Z".parse().unwrap()));
/// ```
#[derive(Clone, PartialEq)]
pub struct TimeInterval {
    spec: TimeIntervalSpec,
    times: Vec<(u16, u16)>,
    weekdays: Vec<(i8, i8)>,
    days_of_month: Vec<(i8, i8)>,
    months: Vec<(i8, i8)>,
    years: Vec<(i16, i16)>,
    tz: TimeZone,
}

impl fmt::Debug for TimeInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeInterval").field(&self.spec).finish()
    }
}

impl Serialize for TimeInterval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.spec.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TimeInterval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TimeInterval::try_from(TimeIntervalSpec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn split_range(s: &str) -> (&str, &str) {
    match s.split_once(':') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    }
}

fn parse_named(
    field: &'static str,
    raw: &str,
    names: &[&str],
    first: i8,
) -> Result<(i8, i8), TimeIntervalError> {
    let (a, b) = split_range(raw);
    let one = |t: &str| -> Result<i8, TimeIntervalError> {
        let lower = t.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as i8 + first);
        }
        match t.parse::<i8>() {
            Ok(n) if field == "months" && (1..=12).contains(&n) => Ok(n),
            _ => Err(err(
                field,
                raw,
                format!(
                    "expected a name like `{}` or a range like `{}:{}`",
                    names[0],
                    names[0],
                    names[names.len() - 1]
                ),
            )),
        }
    };
    let (a, b) = (one(a)?, one(b)?);
    if a > b {
        return Err(err(field, raw, "the range starts after it ends"));
    }
    Ok((a, b))
}

fn parse_minute(field: &'static str, raw: &str) -> Result<u16, TimeIntervalError> {
    let bad = || err(field, raw, "expected HH:MM between 00:00 and 24:00");
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl TryFrom<TimeIntervalSpec> for TimeInterval {
    type Error = TimeIntervalError;
    fn try_from(spec: TimeIntervalSpec) -> Result<TimeInterval, TimeIntervalError> {
        let mut times = Vec::new();
        for t in &spec.times {
            let s = parse_minute("times", &t.start_time)?;
            let e = parse_minute("times", &t.end_time)?;
            if s >= e {
                return Err(err(
                    "times",
                    &format!("{}-{}", t.start_time, t.end_time),
                    "start_time must be before end_time",
                ));
            }
            times.push((s, e));
        }
        let weekdays = spec
            .weekdays
            .iter()
            .map(|w| parse_named("weekdays", w, &WEEKDAYS, 0))
            .collect::<Result<_, _>>()?;
        let months = spec
            .months
            .iter()
            .map(|m| parse_named("months", m, &MONTHS, 1))
            .collect::<Result<_, _>>()?;
        let mut days_of_month = Vec::new();
        for d in &spec.days_of_month {
            let (a, b) = split_range(d);
            let p = |t: &str| -> Result<i8, TimeIntervalError> {
                match t.parse::<i8>() {
                    Ok(n) if (1..=31).contains(&n) || (-31..=-1).contains(&n) => Ok(n),
                    _ => Err(err(
                        "days_of_month",
                        d,
                        "expected a day 1..31 or -31..-1, or a range like 1:5",
                    )),
                }
            };
            let (a, b) = (p(a)?, p(b)?);
            if (a > 0) == (b > 0) && a > b {
                return Err(err("days_of_month", d, "the range starts after it ends"));
            }
            days_of_month.push((a, b));
        }
        let mut years = Vec::new();
        for y in &spec.years {
            let (a, b) = split_range(y);
            let p = |t: &str| -> Result<i16, TimeIntervalError> {
                t.parse::<i16>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| err("years", y, "expected a year or a range like 2026:2027"))
            };
            let (a, b) = (p(a)?, p(b)?);
            if a > b {
                return Err(err("years", y, "the range starts after it ends"));
            }
            years.push((a, b));
        }
        let tz = match spec.location.as_deref() {
            None | Some("UTC") => TimeZone::UTC,
            Some(name) => TimeZone::get(name).map_err(|e| {
                err(
                    "location",
                    name,
                    format!("unknown IANA time zone (e.g. Europe/Paris): {e}"),
                )
            })?,
        };
        Ok(TimeInterval {
            spec,
            times,
            weekdays,
            days_of_month,
            months,
            years,
            tz,
        })
    }
}

impl TimeInterval {
    /// A weekly window: `weekdays` (`sunday`, `monday:friday`), from `start` to `end`
    /// (`HH:MM`) in the IANA zone `location`.
    pub fn weekly(
        weekdays: &str,
        start: &str,
        end: &str,
        location: &str,
    ) -> Result<TimeInterval, TimeIntervalError> {
        TimeInterval::try_from(TimeIntervalSpec {
            times: vec![TimeRangeSpec {
                start_time: start.into(),
                end_time: end.into(),
            }],
            weekdays: vec![weekdays.into()],
            location: Some(location.into()),
            ..TimeIntervalSpec::default()
        })
    }

    /// The interval as written.
    pub fn spec(&self) -> &TimeIntervalSpec {
        &self.spec
    }

    /// Whether the instant `t` falls inside the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        let Ok(ts) = jiff::Timestamp::from_nanosecond(t.as_unix_nanos()) else {
            return false;
        };
        let z = ts.to_zoned_datetime(self.tz.clone());
        if !self.times.is_empty() {
            let minute = z.hour() as u16 * 60 + z.minute() as u16;
            if !self.times.iter().any(|(s, e)| (*s..*e).contains(&minute)) {
                return false;
            }
        }
        if !self.weekdays.is_empty() {
            let wd = z.weekday().to_monday_zero_offset();
            if !self.weekdays.iter().any(|(a, b)| (*a..=*b).contains(&wd)) {
                return false;
            }
        }
        if !self.days_of_month.is_empty() {
            let day = z.day();
            let len = z.days_in_month();
            let abs = |d: i8| if d < 0 { len + 1 + d } else { d };
            if !self
                .days_of_month
                .iter()
                .any(|(a, b)| (abs(*a)..=abs(*b)).contains(&day))
            {
                return false;
            }
        }
        if !self.months.is_empty() {
            let m = z.month();
            if !self.months.iter().any(|(a, b)| (*a..=*b).contains(&m)) {
                return false;
            }
        }
        if !self.years.is_empty() {
            let y = z.year();
            if !self.years.iter().any(|(a, b)| (*a..=*b).contains(&y)) {
                return false;
            }
        }
        true
    }
}

/// Whether any interval of the list contains `t`.
pub fn any_contains(intervals: &[TimeInterval], t: Timestamp) -> bool {
    intervals.iter().any(|i| i.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_window_follows_daylight_saving() {
        let w = TimeInterval::weekly("sunday", "02:00", "04:00", "Europe/Paris").unwrap();
        // Winter (UTC+1): 01:00-03:00Z on Sunday 2026-03-22.
        assert!(!w.contains(ts("2026-03-22T00:59:59Z")));
        assert!(w.contains(ts("2026-03-22T01:00:00Z")));
        assert!(w.contains(ts("2026-03-22T02:59:59Z")));
        assert!(!w.contains(ts("2026-03-22T03:00:00Z")));
        // Change night 2026-03-29: 02:00 local jumps to 03:00; window is 01:00-02:00Z.
        assert!(!w.contains(ts("2026-03-29T00:30:00Z")));
        assert!(w.contains(ts("2026-03-29T01:00:00Z")));
        assert!(w.contains(ts("2026-03-29T01:59:00Z")));
        assert!(!w.contains(ts("2026-03-29T02:00:00Z")));
        // Summer (UTC+2): 00:00-02:00Z on Sunday 2026-04-05.
        assert!(w.contains(ts("2026-04-05T00:00:00Z")));
        assert!(!w.contains(ts("2026-04-05T02:00:00Z")));
        // Not on a Monday.
        assert!(!w.contains(ts("2026-04-06T00:30:00Z")));
    }

    #[test]
    fn all_fields_must_match() {
        let spec = TimeIntervalSpec {
            days_of_month: vec!["-1".into()],
            months: vec!["february".into()],
            years: vec!["2028".into()],
            ..Default::default()
        };
        let i = TimeInterval::try_from(spec).unwrap();
        assert!(i.contains(ts("2028-02-29T12:00:00Z")), "leap-year last day");
        assert!(!i.contains(ts("2028-02-28T12:00:00Z")));
        assert!(!i.contains(ts("2027-02-28T12:00:00Z")), "wrong year");
        let weekdays = TimeInterval::try_from(TimeIntervalSpec {
            weekdays: vec!["Monday:Friday".into()],
            times: vec![TimeRangeSpec {
                start_time: "17:00".into(),
                end_time: "24:00".into(),
            }],
            ..Default::default()
        })
        .unwrap();
        // 2026-11-27 is a Friday, 2026-11-28 a Saturday.
        assert!(weekdays.contains(ts("2026-11-27T23:59:00Z")));
        assert!(!weekdays.contains(ts("2026-11-27T16:59:00Z")));
        assert!(!weekdays.contains(ts("2026-11-28T18:00:00Z")));
    }

    #[test]
    fn errors_name_field_and_value() {
        for (spec, field) in [
            (
                TimeIntervalSpec {
                    weekdays: vec!["funday".into()],
                    ..Default::default()
                },
                "weekdays",
            ),
            (
                TimeIntervalSpec {
                    times: vec![TimeRangeSpec {
                        start_time: "04:00".into(),
                        end_time: "02:00".into(),
                    }],
                    ..Default::default()
                },
                "times",
            ),
            (
                TimeIntervalSpec {
                    days_of_month: vec!["0".into()],
                    ..Default::default()
                },
                "days_of_month",
            ),
            (
                TimeIntervalSpec {
                    location: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                "location",
            ),
        ] {
            let e = TimeInterval::try_from(spec).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
    }
}
