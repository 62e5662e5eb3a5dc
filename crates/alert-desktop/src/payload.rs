//! What a notification shows: summary, body, icon, urgency, expiry and action,
//! computed the same way on every platform.

use alert_core::fit::{self, Measure, truncate};
use alert_core::render::{Style, alert_parts, is_safe_link, sanitize, title_line};
use alert_core::{Alert, Severity, Status};

use crate::{DesktopConfig, DesktopLevel, Expire};

/// Longest summary sent, in characters. Servers show one or two lines of it.
pub(crate) const SUMMARY_LIMIT: usize = 120;
/// Longest body sent, in characters (before markup escaping). Pop-ups show a few
/// lines; the rest is context a person reads elsewhere.
pub(crate) const BODY_LIMIT: usize = 1000;
/// The action key of the runbook button.
pub(crate) const RUNBOOK_ACTION: &str = "runbook";
/// The label of the runbook button.
pub(crate) const RUNBOOK_LABEL: &str = "Open runbook";
/// The summary of an alert with neither a summary nor a name.
pub(crate) const UNTITLED: &str = "(untitled alert)";

/// A notification, ready for any backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) summary: String,
    /// Plain text; backends escape it for servers that parse markup.
    pub(crate) body: String,
    pub(crate) icon: String,
    pub(crate) level: DesktopLevel,
    /// `expire_timeout` in milliseconds: -1 server default, 0 never.
    pub(crate) expire_ms: i32,
    /// The runbook link, when it is safe to open (`http(s)` only).
    pub(crate) runbook: Option<String>,
}

impl Content {
    pub(crate) fn new(alert: &Alert, config: &DesktopConfig) -> Content {
        let level = config.severity.for_alert(alert);
        Content {
            summary: summary(alert),
            body: body(alert),
            icon: config.icons.for_alert(alert).to_owned(),
            level,
            expire_ms: expire_ms(level.expire, config.timeout),
            runbook: alert
                .runbook()
                .filter(|u| !alert.is_resolved() && is_safe_link(u))
                .map(str::to_owned),
        }
    }
}

/// The one-line summary: the bare title for a firing `Info` alert (the seed's
/// "Training Complete"), `[SEVERITY] title` for the others, `[RESOLVED] title` once
/// resolved. Control characters are replaced and the result fits [`SUMMARY_LIMIT`].
pub(crate) fn summary(alert: &Alert) -> String {
    let line = if alert.severity == Severity::Info && alert.status == Status::Firing {
        sanitize(alert.title()).replace(['\n', '\r', '\t'], " ")
    } else if alert.title().trim().is_empty() {
        String::new()
    } else {
        title_line(alert).replace(['\r', '\t'], " ")
    };
    let line = line.trim();
    if line.is_empty() {
        return UNTITLED.to_owned();
    }
    truncate(line, SUMMARY_LIMIT, Measure::Chars).into_owned()
}

/// The body: message, evidence, source, links, annotations and labels as plain
/// text, cut by structure to [`BODY_LIMIT`] (the title is the summary, not repeated).
pub(crate) fn body(alert: &Alert) -> String {
    let mut parts: Vec<fit::Part> = alert_parts(alert, Style::Text)
        .into_iter()
        .filter(|p| p.name != "title")
        .collect();
    fit::fit_parts(&mut parts, BODY_LIMIT, 1, Measure::Chars);
    fit::join_parts(&parts, "\n")
}

/// `expire_timeout` for `expire` with a timeout of `timeout_secs` (already validated
/// to fit an `i32` of milliseconds).
pub(crate) fn expire_ms(expire: Expire, timeout_secs: u32) -> i32 {
    match expire {
        Expire::Timeout => i32::try_from(u64::from(timeout_secs) * 1000).unwrap_or(i32::MAX),
        Expire::Never => 0,
        Expire::Default => -1,
    }
}

/// Escapes text for servers that advertise `body-markup` (a subset of XML):
/// `&`, `<` and `>` become entities, so alert text can neither format nor link.
pub(crate) fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DesktopUrgency;
    use alert_core::{Evidence, Timestamp};

    #[test]
    fn seed_case_is_a_bare_title_and_the_message() {
        let a = Alert::new(Severity::Info, "TrainingComplete")
            .with_summary("Training Complete")
            .with_message("Model version: 3");
        let c = Content::new(&a, &DesktopConfig::new("Bikes"));
        assert_eq!(c.summary, "Training Complete");
        assert_eq!(c.body, "Model version: 3");
        assert_eq!(c.icon, "dialog-information");
        assert_eq!(c.level.urgency, DesktopUrgency::Low);
        assert_eq!(c.expire_ms, 5000);
        assert_eq!(c.runbook, None);
    }

    #[test]
    fn severities_resolution_and_links() {
        let a = Alert::new(Severity::Critical, "ModelDown")
            .with_summary("Model down")
            .with_message("no answers")
            .with_runbook("https://runbooks.example/down")
            .with_evidence(Evidence::metric("error_rate").observed(1.0));
        let cfg = DesktopConfig::new("svc").with_timeout(7);
        let c = Content::new(&a, &cfg);
        assert_eq!(c.summary, "[CRITICAL] Model down");
        assert_eq!(
            c.body,
            "no answers\nmetric: error_rate · observed: 1\nRunbook: https://runbooks.example/down"
        );
        assert_eq!((c.level.urgency.byte(), c.expire_ms), (2, 0));
        assert_eq!(c.runbook.as_deref(), Some("https://runbooks.example/down"));

        let r = a
            .clone()
            .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).unwrap());
        let c = Content::new(&r, &cfg);
        assert_eq!(c.summary, "[RESOLVED] Model down");
        assert_eq!((c.level.urgency.byte(), c.expire_ms), (0, 7000));
        assert_eq!(c.icon, "emblem-default");
        assert_eq!(c.runbook, None, "no button on a resolution");

        let hostile = a.with_runbook("javascript:alert(1)");
        assert_eq!(Content::new(&hostile, &cfg).runbook, None);
    }

    #[test]
    fn limits_control_characters_and_empty_titles() {
        let a = Alert::new(Severity::Error, "x")
            .with_summary(format!("bell\u{7} {}", "T".repeat(500)))
            .with_message("m".repeat(100_000));
        let c = Content::new(&a, &DesktopConfig::default());
        assert!(c.summary.chars().count() <= SUMMARY_LIMIT);
        assert!(c.summary.starts_with("[ERROR] bell\u{fffd} TTT"));
        assert!(c.body.chars().count() <= BODY_LIMIT);
        let empty = Alert::new(Severity::Warning, "");
        assert_eq!(summary(&empty), UNTITLED);
        assert_eq!(summary(&Alert::new(Severity::Info, " ")), UNTITLED);
        assert_eq!(body(&empty), "");
    }

    #[test]
    fn expiry_and_markup() {
        assert_eq!(expire_ms(Expire::Timeout, 0), 0);
        assert_eq!(expire_ms(Expire::Timeout, 5), 5000);
        assert_eq!(
            expire_ms(Expire::Timeout, crate::MAX_TIMEOUT_SECS),
            2_147_483_000
        );
        assert_eq!(expire_ms(Expire::Default, 5), -1);
        assert_eq!(expire_ms(Expire::Never, 5), 0);
        assert_eq!(
            escape_markup("<b>a</b> & <a href=\"x\">"),
            "&lt;b&gt;a&lt;/b&gt; &amp; &lt;a href=\"x\"&gt;"
        );
    }
}
