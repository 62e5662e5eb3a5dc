//! Plain-text and Markdown renderings of an alert and of a group, fitted to a budget.
//!
//! Channels with structured payloads (Slack blocks, Discord embeds) use the pieces
//! ([`title_line`], [`alert_parts`], [`group_header`]); channels that take one text
//! (a desktop body, a Datadog event) use [`render`] and [`render_group`].
//!
//! All alert text is treated as untrusted: control characters are replaced, Markdown
//! renderings escape everything that could format or link, and only `http(s)` links
//! from annotations become links.

use std::collections::BTreeMap;

use crate::fit::{self, FitReport, Measure, Part, Priority};
use crate::{Alert, Severity, Status};

/// Which markup to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// Plain text.
    #[default]
    Text,
    /// CommonMark, with alert text escaped.
    Markdown,
}

/// A rendering and what fitting cut from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fitted {
    /// The text.
    pub text: String,
    /// What was cut to make it fit.
    pub report: FitReport,
}

/// Replaces control characters other than newline and tab with U+FFFD, so alert text
/// cannot move a terminal cursor, change colours or hide itself.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Escapes text for CommonMark: backslash-escapes every ASCII punctuation character
/// that can start formatting, a link, an HTML tag or a table cell, and a leading
/// list or quote marker on each line. Control characters are replaced as in
/// [`sanitize`].
///
/// ```
/// use alert_core::render::escape_markdown;
/// assert_eq!(escape_markdown("[click](http://x) *now*"), r"\[click\](http://x) \*now\*");
/// ```
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut line_start = true;
    for c in sanitize(s).chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if line_start => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

/// Whether `url` is an absolute `http` or `https` URL without white space or control
/// characters: the only links renderings turn into links.
pub fn is_safe_link(url: &str) -> bool {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && url.len() > 8
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
}

/// `[CRITICAL] title` while firing, `[RESOLVED] title` once resolved.
pub fn title_line(alert: &Alert) -> String {
    let marker = match alert.status {
        Status::Firing => alert.severity.marker(),
        Status::Resolved => "RESOLVED",
    };
    format!("[{marker}] {}", sanitize(alert.title()).replace('\n', " "))
}

fn pairs_line(pairs: &[(String, String)], style: Style) -> String {
    pairs
        .iter()
        .map(|(k, v)| match style {
            Style::Text => format!("{}: {}", sanitize(k), sanitize(v)),
            Style::Markdown => format!("**{}**: {}", escape_markdown(k), escape_markdown(v)),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn link(label: &str, url: &str, style: Style) -> String {
    match style {
        Style::Text => format!("{label}: {}", sanitize(url)),
        Style::Markdown if is_safe_link(url) => {
            format!("[{label}]({})", url.replace('(', "%28").replace(')', "%29"))
        }
        Style::Markdown => format!("{label}: {}", escape_markdown(url)),
    }
}

/// The evidence fields shown first: the ones a reader needs to judge the alert.
const KEY_EVIDENCE: [&str; 8] = [
    "metric",
    "observed",
    "threshold",
    "baseline",
    "test",
    "statistic",
    "p-value",
    "segment",
];

/// The parts of an alert, in reading order, with their fitting priorities:
///
/// | part | priority | content |
/// |---|---|---|
/// | `title` | Essential | `[SEVERITY] title` |
/// | `message` | Normal | the body |
/// | `evidence` | High | metric, observed, threshold, baseline, test, statistic, p-value, segment |
/// | `context` | Normal | window, sample size, evidence details |
/// | `source` | Normal | model, version, environment, run |
/// | `runbook` | High | the runbook link, whole or not at all |
/// | `dashboard` | Normal | the dashboard link, whole or not at all |
/// | `annotations` | Low | other annotations |
/// | `labels` | Low | the labels |
pub fn alert_parts(alert: &Alert, style: Style) -> Vec<Part> {
    let esc = |s: &str| match style {
        Style::Text => sanitize(s),
        Style::Markdown => escape_markdown(s),
    };
    let mut parts = Vec::with_capacity(9);
    let title = title_line(alert);
    parts.push(Part::new(
        "title",
        match style {
            Style::Text => title,
            Style::Markdown => format!("**{}**", escape_markdown(&title)),
        },
        Priority::Essential,
    ));
    if !alert.message.trim().is_empty() {
        parts.push(Part::new("message", esc(alert.message.trim()), Priority::Normal).with_min(40));
    }
    let fields = alert.evidence.fields();
    let (key, rest): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|(k, _)| KEY_EVIDENCE.contains(&k.as_str()));
    if !key.is_empty() {
        parts.push(Part::new(
            "evidence",
            pairs_line(&key, style),
            Priority::High,
        ));
    }
    if !rest.is_empty() {
        parts.push(Part::new(
            "context",
            pairs_line(&rest, style),
            Priority::Normal,
        ));
    }
    let source: Vec<(String, String)> = alert
        .source
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if !source.is_empty() {
        parts.push(Part::new(
            "source",
            pairs_line(&source, style),
            Priority::Normal,
        ));
    }
    if let Some(url) = alert.runbook() {
        parts.push(Part::whole(
            "runbook",
            link("Runbook", url, style),
            Priority::High,
        ));
    }
    if let Some(url) = alert.dashboard() {
        parts.push(Part::whole(
            "dashboard",
            link("Dashboard", url, style),
            Priority::Normal,
        ));
    }
    let others: Vec<(String, String)> = alert
        .annotations
        .iter()
        .filter(|(k, _)| {
            *k != crate::annotation::RUNBOOK_URL && *k != crate::annotation::DASHBOARD_URL
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if !others.is_empty() {
        parts.push(Part::new(
            "annotations",
            pairs_line(&others, style),
            Priority::Low,
        ));
    }
    if !alert.labels.is_empty() {
        let labels = alert
            .labels
            .iter()
            .map(|(k, v)| match style {
                Style::Text => format!("{}={}", sanitize(k), sanitize(v)),
                Style::Markdown => format!("{}={}", escape_markdown(k), escape_markdown(v)),
            })
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(Part::new(
            "labels",
            format!("Labels: {labels}"),
            Priority::Low,
        ));
    }
    parts
}

/// Renders an alert in full (no budget).
pub fn render_full(alert: &Alert, style: Style) -> String {
    fit::join_parts(&alert_parts(alert, style), "\n")
}

/// How parts of a rendering in `style` are shortened: Markdown keeps its escapes and
/// `**` spans balanced ([`fit::truncate_markdown`]).
fn cutter(style: Style) -> for<'a> fn(&'a str, usize, Measure) -> std::borrow::Cow<'a, str> {
    match style {
        Style::Text => fit::truncate,
        Style::Markdown => fit::truncate_markdown,
    }
}

/// Renders an alert fitted to `budget` units of `measure`, cutting by structure.
///
/// The title is cut last and never dropped: in a budget too small for anything
/// else it is shortened (with the marker) to fit. Markdown stays balanced when cut.
///
/// ```
/// use alert_core::{Alert, Severity};
/// use alert_core::fit::Measure;
/// use alert_core::render::{render, Style};
/// let a = Alert::new(Severity::Error, "AccuracyDrop")
///     .with_message("x".repeat(10_000))
///     .with_runbook("https://runbooks.example/acc");
/// let f = render(&a, Style::Text, 200, Measure::Chars);
/// assert!(f.text.chars().count() <= 200);
/// assert!(f.text.contains("https://runbooks.example/acc"));
/// assert!(f.report.touched("message"));
/// ```
pub fn render(alert: &Alert, style: Style, budget: usize, measure: Measure) -> Fitted {
    let mut parts = alert_parts(alert, style);
    let report = fit::fit_parts_with(&mut parts, budget, 1, measure, cutter(style));
    Fitted {
        text: fit::join_parts(&parts, "\n"),
        report,
    }
}

/// Counts of a group by severity and status.
fn counts(alerts: &[Alert]) -> (usize, usize, BTreeMap<Severity, usize>) {
    let mut by_sev = BTreeMap::new();
    let mut firing = 0;
    for a in alerts {
        if a.status == Status::Firing {
            firing += 1;
            *by_sev.entry(a.severity).or_insert(0) += 1;
        }
    }
    (firing, alerts.len() - firing, by_sev)
}

/// The highest severity among the group's firing alerts (or among all when none fire).
pub fn group_severity(alerts: &[Alert]) -> Severity {
    alerts
        .iter()
        .filter(|a| a.status == Status::Firing)
        .map(|a| a.severity)
        .max()
        .or_else(|| alerts.iter().map(|a| a.severity).max())
        .unwrap_or_default()
}

/// A one-line header for a group:
/// `[CRITICAL] 3 firing (2 critical, 1 warning), 1 resolved: AccuracyDrop, DataDrift`.
pub fn group_header(alerts: &[Alert]) -> String {
    let (firing, resolved, by_sev) = counts(alerts);
    let marker = if firing > 0 {
        group_severity(alerts).marker()
    } else {
        "RESOLVED"
    };
    let mut s = format!("[{marker}] ");
    if firing > 0 {
        let sev: Vec<String> = by_sev
            .iter()
            .rev()
            .map(|(k, n)| format!("{n} {}", k.as_str()))
            .collect();
        s.push_str(&format!("{firing} firing ({})", sev.join(", ")));
        if resolved > 0 {
            s.push_str(&format!(", {resolved} resolved"));
        }
    } else {
        s.push_str(&format!("{resolved} resolved"));
    }
    let mut names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let shown: Vec<String> = names
        .iter()
        .take(5)
        .map(|n| sanitize(n).replace('\n', " "))
        .collect();
    s.push_str(": ");
    s.push_str(&shown.join(", "));
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

/// The group's alerts in digest order: firing before resolved, then by severity
/// (highest first), then by name; stable for equal keys.
pub fn digest_order(alerts: &[Alert]) -> Vec<&Alert> {
    let mut v: Vec<&Alert> = alerts.iter().collect();
    v.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(b.severity.cmp(&a.severity))
            .then(a.name.cmp(&b.name))
    });
    v
}

/// The text of the "and K more" line.
pub fn more_line(k: usize) -> String {
    format!("{MARKER} and {k} more", MARKER = fit::MARKER)
}

/// Renders a group as a digest: the header, then each alert (in [`digest_order`])
/// rendered and fitted to a per-alert share of the budget, as many as fit within
/// `max_items` and `budget`, then "… and K more" when that line fits too.
///
/// The header comes first and is shortened (never dropped, reported as a `header`
/// cut) when the budget is too small for it. Alerts left out are reported as an
/// `alerts` cut (`kept` of `original`).
pub fn render_group(
    alerts: &[Alert],
    style: Style,
    budget: usize,
    measure: Measure,
    max_items: usize,
) -> Fitted {
    let header = match style {
        Style::Text => group_header(alerts),
        Style::Markdown => format!("**{}**", escape_markdown(&group_header(alerts))),
    };
    let full_header = measure.len(&header);
    let header = cutter(style)(&header, budget, measure).into_owned();
    let mut report = FitReport::default();
    let ordered = digest_order(alerts);
    // Each alert gets an equal share of what is left, at least 160 units, so a few
    // alerts are shown well rather than many badly.
    let remaining = budget.saturating_sub(measure.len(&header) + 2);
    let reserve = measure.len(&more_line(alerts.len())) + 2;
    let shown_max = max_items.min(ordered.len()).max(1);
    let share = (remaining.saturating_sub(reserve) / shown_max).max(160.min(remaining));
    let rendered: Vec<Fitted> = ordered
        .iter()
        .map(|a| render(a, style, share.saturating_sub(2), measure))
        .collect();
    let (n, more) = fit::take_fitting(&rendered, max_items, remaining, reserve, |f| {
        measure.len(&f.text) + 2
    });
    let mut text = header;
    if measure.len(&text) < full_header {
        report.cuts.push(fit::Cut {
            part: "header".into(),
            original: full_header,
            kept: measure.len(&text),
        });
    }
    for f in &rendered[..n] {
        text.push_str("\n\n");
        text.push_str(&f.text);
        report.extend(f.report.clone());
    }
    if more > 0 {
        let line = format!("\n\n{}", more_line(more));
        if measure.len(&text) + measure.len(&line) <= budget {
            text.push_str(&line);
        }
        report.cuts.push(fit::Cut {
            part: "alerts".into(),
            original: alerts.len(),
            kept: n,
        });
    }
    Fitted { text, report }
}

/// One alert that stands for a whole group, for channels without a native group
/// rendering (the default [`Notifier::notify_group`](crate::Notifier::notify_group)).
///
/// Name: the common name, or `digest`. Severity: [`group_severity`]. Status: firing
/// while any alert fires. Summary: [`group_header`]. Message: the plain-text digest
/// of every alert, up to 40,000 characters. Labels: those all alerts share. Source:
/// the first alert's. Runbook: the common runbook when all alerts share one.
pub fn digest_alert(alerts: &[Alert]) -> Alert {
    if let [only] = alerts {
        return only.clone();
    }
    let mut names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    names.dedup();
    let name = if names.len() == 1 {
        names[0].to_owned()
    } else {
        "digest".to_owned()
    };
    let status = if alerts.iter().any(|a| a.status == Status::Firing) {
        Status::Firing
    } else {
        Status::Resolved
    };
    let mut common = alerts.first().map(|a| a.labels.clone()).unwrap_or_default();
    for a in alerts.iter().skip(1) {
        common.retain(|k, v| a.labels.get(k) == Some(v));
    }
    let body = render_group(alerts, Style::Text, 40_000, Measure::Chars, usize::MAX);
    let message = body
        .text
        .split_once("\n\n")
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    let mut digest = Alert::new(group_severity(alerts), name)
        .with_status(status)
        .with_summary(group_header(alerts))
        .with_message(message);
    digest.labels = common;
    if let Some(first) = alerts.first() {
        digest.source = first.source.clone();
        if let Some(rb) = first.runbook()
            && alerts.iter().all(|a| a.runbook() == Some(rb))
        {
            digest = digest.with_runbook(rb);
        }
        digest.starts_at = alerts.iter().filter_map(|a| a.starts_at).min();
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evidence, Source};

    fn sample() -> Alert {
        Alert::new(Severity::Critical, "AccuracyDrop")
            .with_summary("Accuracy fell to 0.81")
            .with_message("Nightly eval fell below threshold.")
            .with_label("model", "bikes")
            .with_runbook("https://runbooks.example/acc")
            .with_annotation("team", "ml-platform")
            .with_evidence(
                Evidence::metric("accuracy")
                    .observed(0.81)
                    .threshold(0.9)
                    .window("24h"),
            )
            .with_source(Source::model("bikes").version("3").environment("prod"))
    }

    #[test]
    fn full_text_rendering() {
        assert_eq!(
            render_full(&sample(), Style::Text),
            "[CRITICAL] Accuracy fell to 0.81\n\
             Nightly eval fell below threshold.\n\
             metric: accuracy · observed: 0.81 · threshold: 0.9\n\
             window: 24h\n\
             model: bikes · version: 3 · env: prod\n\
             Runbook: https://runbooks.example/acc\n\
             team: ml-platform\n\
             Labels: model=bikes"
        );
    }

    #[test]
    fn markdown_escapes_alert_text_but_links_runbooks() {
        let a = Alert::new(Severity::Warning, "X")
            .with_summary("see [this](http://evil.example) *now*")
            .with_message("<script>alert(1)</script>\n- item")
            .with_runbook("https://runbooks.example/a(b)");
        let md = render_full(&a, Style::Markdown);
        assert!(
            md.starts_with(r"**\[WARNING\] see \[this\](http://evil.example) \*now\***"),
            "{md}"
        );
        assert!(md.contains(r"\<script\>alert(1)\</script\>"), "{md}");
        assert!(md.contains("\n\\- item"), "{md}");
        assert!(
            md.contains("[Runbook](https://runbooks.example/a%28b%29)"),
            "{md}"
        );
        let bad = Alert::new(Severity::Warning, "X").with_runbook("javascript:alert(1)");
        assert!(render_full(&bad, Style::Markdown).contains("Runbook: javascript:alert(1)"));
    }

    #[test]
    fn resolved_title_and_controls() {
        let a = Alert::new(Severity::Error, "x\u{1b}[2Jy").with_status(Status::Resolved);
        assert_eq!(title_line(&a), "[RESOLVED] x\u{fffd}[2Jy");
    }

    #[test]
    fn group_digest_shows_first_then_more() {
        let alerts: Vec<Alert> = (0..30)
            .map(|i| {
                Alert::new(
                    if i % 3 == 0 {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    format!("A{i:02}"),
                )
                .with_message("m".repeat(300))
            })
            .collect();
        let f = render_group(&alerts, Style::Text, 2000, Measure::Chars, 10);
        assert!(f.text.chars().count() <= 2000, "{}", f.text.chars().count());
        assert!(
            f.text
                .starts_with("[CRITICAL] 30 firing (10 critical, 20 warning): A00, A01, A02")
        );
        let more = f.text.rsplit("\n\n").next().unwrap();
        assert!(
            more.starts_with("… and ") && more.ends_with(" more"),
            "{more}"
        );
        let shown = f.text.matches("\n\n[").count();
        assert_eq!(more, format!("… and {} more", 30 - shown));
        // Critical alerts come first.
        assert!(
            f.text
                .split("\n\n")
                .nth(1)
                .unwrap()
                .starts_with("[CRITICAL] A00")
        );
    }

    #[test]
    fn digest_alert_summarises() {
        let a = sample();
        let b = sample()
            .with_label("model", "cars")
            .with_severity(Severity::Warning)
            .with_status(Status::Resolved);
        let d = digest_alert(&[a.clone(), b]);
        assert_eq!(d.name, "AccuracyDrop");
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.status, Status::Firing);
        assert!(d.labels.is_empty());
        assert_eq!(d.runbook(), Some("https://runbooks.example/acc"));
        assert!(
            d.summary
                .starts_with("[CRITICAL] 1 firing (1 critical), 1 resolved")
        );
        assert!(d.message.contains("[RESOLVED] Accuracy fell to 0.81"));
        assert_eq!(digest_alert(std::slice::from_ref(&a)), a);
    }
}
