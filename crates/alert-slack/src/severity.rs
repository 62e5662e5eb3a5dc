//! [`SlackSeverityMap`] (colour bars) and [`SlackMentions`] (who is pinged).

use alert_core::{BuildError, Severity};
use serde::Deserialize;

/// The colour of the bar beside each message, per severity.
///
/// Slack draws the bar from a legacy attachment's `color`, which takes a hex colour
/// (`#36a64f`) or one of `good`, `warning`, `danger`.
///
/// | severity | default | |
/// |---|---|---|
/// | `info` | `#439FE0` | blue |
/// | `warning` | `#DAA038` | amber |
/// | `error` | `#E8590C` | orange-red |
/// | `critical` | `#D40E0D` | red |
/// | resolved (any severity) | `#2EB67D` | green |
///
/// Override any of them in config (`[severity] critical = "danger"`); values are
/// checked when the notifier is built.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackSeverityMap {
    /// Colour for [`Severity::Info`].
    pub info: String,
    /// Colour for [`Severity::Warning`].
    pub warning: String,
    /// Colour for [`Severity::Error`].
    pub error: String,
    /// Colour for [`Severity::Critical`].
    pub critical: String,
    /// Colour for resolved alerts, whatever their severity.
    pub resolved: String,
}

impl Default for SlackSeverityMap {
    fn default() -> Self {
        SlackSeverityMap {
            info: "#439FE0".into(),
            warning: "#DAA038".into(),
            error: "#E8590C".into(),
            critical: "#D40E0D".into(),
            resolved: "#2EB67D".into(),
        }
    }
}

impl SlackSeverityMap {
    /// The colour for a firing alert of `severity`.
    pub fn color(&self, severity: Severity) -> &str {
        match severity {
            Severity::Info => &self.info,
            Severity::Warning => &self.warning,
            Severity::Error => &self.error,
            Severity::Critical => &self.critical,
        }
    }

    /// Checks every colour: `#rgb`, `#rrggbb`, `good`, `warning` or `danger`.
    pub(crate) fn validate(&self) -> Result<(), BuildError> {
        for (name, v) in [
            ("info", &self.info),
            ("warning", &self.warning),
            ("error", &self.error),
            ("critical", &self.critical),
            ("resolved", &self.resolved),
        ] {
            if !is_color(v) {
                return Err(BuildError::invalid(
                    format!("severity.{name}"),
                    format!(
                        "{v:?} is not a Slack colour: use a hex colour such as \"#36a64f\", \
                         or good, warning or danger"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn is_color(v: &str) -> bool {
    if matches!(v, "good" | "warning" | "danger") {
        return true;
    }
    v.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Who is mentioned when an alert of each severity fires.
///
/// Mentions come **only** from here: alert text is escaped, so nothing in an alert
/// can ping anyone. Each entry is a Slack mention in its wire form:
///
/// | form | pings |
/// |---|---|
/// | `<@U024BE7LH>` (or `<@W…>`) | a user |
/// | `<!subteam^S0123ABC>` | a user group (e.g. the on-call team) |
/// | `<!here>`, `<!channel>`, `<!everyone>` | the channel's active members, all members, everyone |
///
/// Mentions go with firing alerts only (a resolution pings nobody), in a section
/// above the details and at the start of the notification text. Nothing is mentioned
/// by default.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let m: alert_slack::SlackMentions =
///     serde_json::from_str(r#"{"critical": ["<!subteam^S0123ABC>"]}"#)?;
/// assert_eq!(m.critical, ["<!subteam^S0123ABC>"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackMentions {
    /// Mentions for [`Severity::Info`].
    pub info: Vec<String>,
    /// Mentions for [`Severity::Warning`].
    pub warning: Vec<String>,
    /// Mentions for [`Severity::Error`].
    pub error: Vec<String>,
    /// Mentions for [`Severity::Critical`].
    pub critical: Vec<String>,
}

impl SlackMentions {
    /// The mentions for `severity`.
    pub fn for_severity(&self, severity: Severity) -> &[String] {
        match severity {
            Severity::Info => &self.info,
            Severity::Warning => &self.warning,
            Severity::Error => &self.error,
            Severity::Critical => &self.critical,
        }
    }

    /// Sets the mentions for `severity`.
    pub fn set(&mut self, severity: Severity, mentions: Vec<String>) {
        match severity {
            Severity::Info => self.info = mentions,
            Severity::Warning => self.warning = mentions,
            Severity::Error => self.error = mentions,
            Severity::Critical => self.critical = mentions,
        }
    }

    /// Checks every entry is a mention in one of the documented forms.
    pub(crate) fn validate(&self) -> Result<(), BuildError> {
        for sev in Severity::ALL {
            for (i, m) in self.for_severity(sev).iter().enumerate() {
                if !is_mention(m) {
                    return Err(BuildError::invalid(
                        format!("mentions.{}[{i}]", sev.as_str()),
                        format!(
                            "{m:?} is not a Slack mention: use <@U…> for a user, \
                             <!subteam^S…> for a user group, or <!here>, <!channel>, <!everyone>"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `m` is exactly one mention: `<@U…>`, `<@W…>`, `<!subteam^S…>` (with an
/// optional `|label`), `<!here>`, `<!channel>` or `<!everyone>`.
pub(crate) fn is_mention(m: &str) -> bool {
    let Some(inner) = m.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let id = |s: &str, first: &[char]| {
        s.len() >= 2
            && s.starts_with(first)
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if let Some(user) = inner.strip_prefix('@') {
        return id(user, &['U', 'W']);
    }
    if let Some(group) = inner.strip_prefix("!subteam^") {
        let (group, label) = group.split_once('|').unwrap_or((group, ""));
        return id(group, &['S'])
            && label
                .chars()
                .all(|c| !c.is_control() && !matches!(c, '<' | '>' | '&' | '|'));
    }
    matches!(inner, "!here" | "!channel" | "!everyone")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_checked() {
        assert!(SlackSeverityMap::default().validate().is_ok());
        for ok in ["#abc", "#A1B2C3", "good", "warning", "danger"] {
            assert!(is_color(ok), "{ok}");
        }
        for bad in ["red", "#12345", "#ggg", "", "#1234567"] {
            assert!(!is_color(bad), "{bad}");
        }
        let map = SlackSeverityMap {
            critical: "crimson".into(),
            ..SlackSeverityMap::default()
        };
        let e = map.validate().unwrap_err().to_string();
        assert!(
            e.contains("severity.critical") && e.contains("crimson"),
            "{e}"
        );
    }

    #[test]
    fn mentions_are_checked() {
        for ok in [
            "<@U024BE7LH>",
            "<@W0ABC>",
            "<!subteam^S012345>",
            "<!subteam^S012345|@oncall>",
            "<!here>",
            "<!channel>",
            "<!everyone>",
        ] {
            assert!(is_mention(ok), "{ok}");
        }
        for bad in [
            "@here",
            "<https://evil.example|x>",
            "<#C024BE7LR>",
            "<@u024>",
            "<@U>",
            "<!subteam^S1|<x>>",
            "<!date^1^x|y>",
            "<@U1> <@U2>",
            "",
        ] {
            assert!(!is_mention(bad), "{bad}");
        }
        let mut m = SlackMentions::default();
        m.set(Severity::Error, vec!["@oncall".into()]);
        let e = m.validate().unwrap_err().to_string();
        assert!(
            e.contains("mentions.error[0]") && e.contains("@oncall"),
            "{e}"
        );
    }
}
