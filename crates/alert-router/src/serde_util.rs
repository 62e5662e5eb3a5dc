//! Durations in config: `"30s"`, `"5m"`, `"1h30m"`, `"4h"` (humantime syntax).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn parse(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?}: {e} (expected e.g. \"30s\", \"5m\", \"1h30m\", \"4h\")")
    })
}

pub(crate) fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

pub(crate) mod duration {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod opt_duration {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format(*d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map(Some).map_err(serde::de::Error::custom)
    }
}

/// A retention: a duration, or `"off"` (keep everything) as `Duration::MAX`.
pub(crate) fn opt_retention<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(Some(Duration::MAX));
    }
    parse(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{e}, or \"off\" to keep everything")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_style_durations_parse() {
        for (s, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5400),
            ("4h", 14_400),
            ("1d", 86_400),
            ("0s", 0),
        ] {
            assert_eq!(parse(s).unwrap(), Duration::from_secs(secs), "{s}");
        }
        assert_eq!(parse("100ms").unwrap(), Duration::from_millis(100));
        assert!(parse("5 parsecs").unwrap_err().contains("expected e.g."));
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
    }
}
