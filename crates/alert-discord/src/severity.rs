//! Severity → embed colour, and severity → role to mention.

use std::fmt;

use alert_core::{Severity, Status};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The embed colour (the bar on the left of an embed) for each severity, and for
/// resolved alerts.
///
/// Colours are `0xRRGGBB` integers, as Discord's API takes them. In config files
/// they may also be written as `"#RRGGBB"` or `"0xRRGGBB"` strings.
///
/// | severity | default | |
/// |---|---|---|
/// | info | `0x3498DB` | blue |
/// | warning | `0xF1C40F` | yellow |
/// | error | `0xE67E22` | orange |
/// | critical | `0xE74C3C` | red |
/// | resolved (any severity) | `0x2ECC71` | green |
///
/// ```
/// use alert_core::{Severity, Status};
/// use alert_discord::DiscordSeverityMap;
/// let map: DiscordSeverityMap = serde_json::from_str(r##"{"critical": "#FF0000"}"##).unwrap();
/// assert_eq!(map.colour(Severity::Critical, Status::Firing), 0xFF0000);
/// assert_eq!(map.colour(Severity::Critical, Status::Resolved), 0x2ECC71);
/// assert_eq!(map.colour(Severity::Info, Status::Firing), 0x3498DB);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordSeverityMap {
    /// Colour for [`Severity::Info`].
    #[serde(deserialize_with = "colour")]
    pub info: u32,
    /// Colour for [`Severity::Warning`].
    #[serde(deserialize_with = "colour")]
    pub warning: u32,
    /// Colour for [`Severity::Error`].
    #[serde(deserialize_with = "colour")]
    pub error: u32,
    /// Colour for [`Severity::Critical`].
    #[serde(deserialize_with = "colour")]
    pub critical: u32,
    /// Colour for resolved alerts of any severity.
    #[serde(deserialize_with = "colour")]
    pub resolved: u32,
}

impl Default for DiscordSeverityMap {
    fn default() -> Self {
        DiscordSeverityMap {
            info: 0x3498DB,
            warning: 0xF1C40F,
            error: 0xE67E22,
            critical: 0xE74C3C,
            resolved: 0x2ECC71,
        }
    }
}

impl DiscordSeverityMap {
    /// The colour of an alert with this severity and status.
    pub fn colour(&self, severity: Severity, status: Status) -> u32 {
        if status == Status::Resolved {
            return self.resolved;
        }
        match severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Error => self.error,
            Severity::Critical => self.critical,
        }
    }

    /// The first colour above `0xFFFFFF`, as `(name, value)`, for validation.
    pub(crate) fn invalid(&self) -> Option<(&'static str, u32)> {
        [
            ("info", self.info),
            ("warning", self.warning),
            ("error", self.error),
            ("critical", self.critical),
            ("resolved", self.resolved),
        ]
        .into_iter()
        .find(|(_, c)| *c > 0xFF_FFFF)
    }
}

/// Parses `"#RRGGBB"`, `"0xRRGGBB"` or `"RRGGBB"` into a colour.
pub(crate) fn parse_colour(s: &str) -> Option<u32> {
    let t = s.trim();
    let hex = t
        .strip_prefix('#')
        .or_else(|| t.strip_prefix("0x"))
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if hex.len() != 6 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn colour<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a colour: an integer 0..=16777215 or a string \"#RRGGBB\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v)
                .ok()
                .filter(|c| *c <= 0xFF_FFFF)
                .ok_or_else(|| E::custom(format!("colour {v} is above 0xFFFFFF")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            u64::try_from(v)
                .map_err(|_| E::custom(format!("colour {v} is negative")))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
            parse_colour(v).ok_or_else(|| {
                E::custom(format!(
                    "invalid colour {v:?}: expected \"#RRGGBB\" (six hex digits)"
                ))
            })
        }
    }
    d.deserialize_any(V)
}

/// A Discord role to mention (ping) when an alert of a severity fires.
///
/// Mentions come only from here: text inside alerts never pings, because every
/// message carries `allowed_mentions` with an empty `parse` list, and when a role
/// is configured, `allowed_mentions.roles` lists exactly that role.
///
/// Role ids are snowflakes; in config files they may be strings or integers
/// (strings are safer: JSON tools round big integers).
///
/// ```
/// use alert_core::Severity;
/// use alert_discord::DiscordMentions;
/// let m: DiscordMentions = serde_json::from_str(r#"{"critical": "123456789012345678"}"#).unwrap();
/// assert_eq!(m.role(Severity::Critical), Some(123456789012345678));
/// assert_eq!(m.role(Severity::Error), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordMentions {
    /// Role to mention for [`Severity::Info`].
    #[serde(deserialize_with = "opt_snowflake")]
    pub info: Option<u64>,
    /// Role to mention for [`Severity::Warning`].
    #[serde(deserialize_with = "opt_snowflake")]
    pub warning: Option<u64>,
    /// Role to mention for [`Severity::Error`].
    #[serde(deserialize_with = "opt_snowflake")]
    pub error: Option<u64>,
    /// Role to mention for [`Severity::Critical`].
    #[serde(deserialize_with = "opt_snowflake")]
    pub critical: Option<u64>,
}

impl DiscordMentions {
    /// The role to mention for `severity`, if any.
    pub fn role(&self, severity: Severity) -> Option<u64> {
        match severity {
            Severity::Info => self.info,
            Severity::Warning => self.warning,
            Severity::Error => self.error,
            Severity::Critical => self.critical,
        }
    }
}

/// Deserialises an optional Discord snowflake id from a string (`"123"`, or a role
/// mention `"<@&123>"`), an integer, or null.
pub(crate) fn opt_snowflake<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Discord id (a snowflake, as a string or an integer)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<u64>, E> {
            if v == 0 {
                Err(E::custom("id 0 is not a Discord snowflake"))
            } else {
                Ok(Some(v))
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<u64>, E> {
            u64::try_from(v)
                .map_err(|_| E::custom(format!("id {v} is negative")))
                .and_then(|v| self.visit_u64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u64>, E> {
            let t = v.trim();
            // Accept the mention syntax people copy from Discord, `<@&id>`.
            let t = t
                .strip_prefix("<@&")
                .and_then(|r| r.strip_suffix('>'))
                .unwrap_or(t);
            crate::webhook::parse_snowflake(t).map(Some).ok_or_else(|| {
                E::custom(format!(
                    "invalid id {v:?}: expected a Discord snowflake (up to 20 digits)"
                ))
            })
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_option(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_by_severity_and_status() {
        let m = DiscordSeverityMap::default();
        let got: Vec<u32> = Severity::ALL
            .iter()
            .map(|s| m.colour(*s, Status::Firing))
            .collect();
        assert_eq!(got, [0x3498DB, 0xF1C40F, 0xE67E22, 0xE74C3C]);
        for s in Severity::ALL {
            assert_eq!(m.colour(s, Status::Resolved), 0x2ECC71);
        }
        assert_eq!(m.invalid(), None);
        let bad = DiscordSeverityMap {
            error: 0x1000000,
            ..m
        };
        assert_eq!(bad.invalid(), Some(("error", 0x1000000)));
    }

    #[test]
    fn colour_config_forms() {
        let m: DiscordSeverityMap = serde_json::from_str(
            r##"{"info": 255, "warning": "#00ff00", "error": "0xABCDEF", "critical": "123456"}"##,
        )
        .unwrap();
        assert_eq!(
            (m.info, m.warning, m.error, m.critical, m.resolved),
            (255, 0x00FF00, 0xABCDEF, 0x123456, 0x2ECC71)
        );
        for (bad, want) in [
            (r#"{"info": 16777216}"#, "above 0xFFFFFF"),
            (r#"{"info": -1}"#, "negative"),
            (r#"{"info": "red"}"#, "invalid colour \"red\""),
            (r##"{"info": "#12345"}"##, "six hex digits"),
            (r#"{"infos": 1}"#, "unknown field `infos`"),
        ] {
            let e = serde_json::from_str::<DiscordSeverityMap>(bad).unwrap_err();
            assert!(e.to_string().contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn role_config_forms() {
        let m: DiscordMentions = serde_json::from_str(
            r#"{"info": null, "warning": 123456789012345678, "error": "<@&223456789012345678>", "critical": " 323456789012345678 "}"#,
        )
        .unwrap();
        assert_eq!(m.role(Severity::Info), None);
        assert_eq!(m.role(Severity::Warning), Some(123_456_789_012_345_678));
        assert_eq!(m.role(Severity::Error), Some(223_456_789_012_345_678));
        assert_eq!(m.role(Severity::Critical), Some(323_456_789_012_345_678));
        for (bad, want) in [
            (r#"{"info": "@everyone"}"#, "invalid id \"@everyone\""),
            (r#"{"info": 0}"#, "not a Discord snowflake"),
            (r#"{"info": -5}"#, "negative"),
            (r#"{"page": "1"}"#, "unknown field `page`"),
        ] {
            let e = serde_json::from_str::<DiscordMentions>(bad).unwrap_err();
            assert!(e.to_string().contains(want), "{bad}: {e}");
        }
    }
}
