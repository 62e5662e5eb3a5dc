//! [`Severity`]: how urgent an alert is.

use std::fmt;
use std::str::FromStr;

/// How urgent an alert is, from [`Info`](Severity::Info) to [`Critical`](Severity::Critical).
///
/// Severities are totally ordered (`Info < Warning < Error < Critical`), so routes and
/// filters can say "`>= Error`".
///
/// The set is deliberately **closed** (not `#[non_exhaustive]`): every channel maps it
/// with an exhaustive `match`, so adding a level would be a visible, compile-checked
/// break rather than a silent fall-through.
///
/// Parsing is case-insensitive and accepts common spellings; see [`Severity::from_str`].
///
/// ```
/// use alert_core::Severity;
/// assert!(Severity::Critical > Severity::Warning);
/// assert_eq!("WARN".parse::<Severity>().unwrap(), Severity::Warning);
/// assert_eq!(Severity::Error.to_string(), "error");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Severity {
    /// Something worth knowing, nothing to do now (a training run finished).
    #[default]
    Info,
    /// Needs attention soon (mild drift, a slow rise in errors).
    Warning,
    /// Needs attention now (accuracy under threshold, an error burst).
    Error,
    /// Page someone (model down, predictions unusable).
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    /// The canonical lower-case name: `info`, `warning`, `error` or `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// The upper-case marker used in plain-text renderings: `INFO`, `WARNING`, ...
    pub const fn marker(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Critical => "CRITICAL",
        }
    }

    /// A small emoji that chat channels put in front of titles.
    pub const fn emoji(self) -> &'static str {
        match self {
            Severity::Info => "\u{2139}\u{fe0f}",    // information source
            Severity::Warning => "\u{26a0}\u{fe0f}", // warning sign
            Severity::Error => "\u{1f534}",          // red circle
            Severity::Critical => "\u{1f6a8}",       // rotating light
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error returned when a string names no severity.
///
/// Its message quotes the input and lists the accepted values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown severity {input:?}: expected one of info, warning, error, critical \
     (also accepted: information, informational, notice, low, warn, medium, err, high, \
     crit, fatal, emergency, page)"
)]
pub struct ParseSeverityError {
    input: String,
}

impl ParseSeverityError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses a severity, ignoring ASCII case and surrounding white space.
    ///
    /// | severity | accepted spellings |
    /// |---|---|
    /// | `Info` | `info`, `information`, `informational`, `notice`, `low` |
    /// | `Warning` | `warning`, `warn`, `medium` |
    /// | `Error` | `error`, `err`, `high` |
    /// | `Critical` | `critical`, `crit`, `fatal`, `emergency`, `page` |
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let eq = |w: &str| t.eq_ignore_ascii_case(w);
        if ["info", "information", "informational", "notice", "low"]
            .iter()
            .any(|w| eq(w))
        {
            Ok(Severity::Info)
        } else if ["warning", "warn", "medium"].iter().any(|w| eq(w)) {
            Ok(Severity::Warning)
        } else if ["error", "err", "high"].iter().any(|w| eq(w)) {
            Ok(Severity::Error)
        } else if ["critical", "crit", "fatal", "emergency", "page"]
            .iter()
            .any(|w| eq(w))
        {
            Ok(Severity::Critical)
        } else {
            Err(ParseSeverityError {
                input: s.to_owned(),
            })
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Severity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a severity: info, warning, error or critical")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Severity, E> {
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
    fn order_is_info_warning_error_critical() {
        let mut v = vec![
            Severity::Critical,
            Severity::Info,
            Severity::Error,
            Severity::Warning,
        ];
        v.sort();
        assert_eq!(v, Severity::ALL.to_vec());
    }

    #[test]
    fn parses_common_spellings_in_any_case() {
        for (s, want) in [
            ("info", Severity::Info),
            ("INFO", Severity::Info),
            (" Notice ", Severity::Info),
            ("warn", Severity::Warning),
            ("Warning", Severity::Warning),
            ("err", Severity::Error),
            ("ERROR", Severity::Error),
            ("crit", Severity::Critical),
            ("Fatal", Severity::Critical),
            ("page", Severity::Critical),
        ] {
            assert_eq!(s.parse::<Severity>().unwrap(), want, "{s}");
        }
    }

    #[test]
    fn unknown_spelling_names_input_and_accepted_values() {
        let e = "sev1".parse::<Severity>().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("\"sev1\""), "{msg}");
        assert!(msg.contains("info, warning, error, critical"), "{msg}");
        assert_eq!(e.input(), "sev1");
    }

    #[test]
    fn display_round_trips() {
        for s in Severity::ALL {
            assert_eq!(s.to_string().parse::<Severity>().unwrap(), s);
        }
        assert_eq!(format!("{:>8}", Severity::Info), "    info");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_uses_lowercase_and_accepts_aliases() {
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
        let s: Severity = serde_json::from_str("\"WARN\"").unwrap();
        assert_eq!(s, Severity::Warning);
        let e = serde_json::from_str::<Severity>("\"bad\"").unwrap_err();
        assert!(e.to_string().contains("unknown severity \"bad\""), "{e}");
    }
}
