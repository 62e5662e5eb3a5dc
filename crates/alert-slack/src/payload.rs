//! The Block Kit layout of alerts and groups (private).
//!
//! A message is:
//!
//! * top-level `text`: the notification fallback (mentions, the header line, the
//!   start of the message), always set;
//! * top-level `blocks`: a `header` (severity marker and title, at most 150
//!   characters) and, for firing alerts with configured mentions, a section holding
//!   them;
//! * one legacy attachment whose `color` draws the severity bar, holding the rest as
//!   blocks: the message section (at most 3,000 characters), a fields section (at
//!   most 10 fields of at most 2,000 characters: key evidence first, then labels), a
//!   details section (the evidence and labels that did not fit in fields, other
//!   annotations), the runbook and dashboard links, and a context block (model,
//!   version, environment, run; start and end times; fingerprint; what was trimmed).
//!
//! All alert text goes through [`escape`]: control characters are replaced and `&`,
//! `<` and `>` become entities, so alert text can never form a mention, a channel
//! link or a link. The only `<…>` sequences in a payload are the ones written here:
//! configured mentions, `<url|Runbook>` / `<url|Dashboard>` for `http(s)` links, and
//! `<!date^…>` times. Every `mrkdwn` text object is `verbatim`, so bare URLs,
//! `@here` or `#channel` in alert text are not parsed either.

use std::time::Duration;

use alert_core::fit::{self, Cut, FitReport, MARKER, Measure, Part, Priority};
use alert_core::render::{
    digest_order, group_header, group_severity, is_safe_link, more_line, sanitize, title_line,
};
use alert_core::{Alert, Status, Timestamp, annotation};
use slack_morphism::blocks::{
    SlackBlock, SlackBlockMarkDownText, SlackBlockPlainText, SlackBlockText, SlackContextBlock,
    SlackContextBlockElement, SlackHeaderBlock, SlackSectionBlock,
};
use slack_morphism::{SlackMessageAttachment, SlackMessageContent};

use crate::{SlackMentions, SlackSeverityMap};

/// Header block: `plain_text`, at most 150 characters.
pub(crate) const HEADER_LIMIT: usize = 150;
/// Section block `text`: at most 3,000 characters.
pub(crate) const SECTION_LIMIT: usize = 3000;
/// Section block `fields`: at most 10.
pub(crate) const MAX_FIELDS: usize = 10;
/// Each field: at most 2,000 characters.
pub(crate) const FIELD_LIMIT: usize = 2000;
/// Blocks in one message (top level and attachments together).
pub(crate) const MAX_BLOCKS: usize = 50;
/// Elements of a context block.
pub(crate) const MAX_CONTEXT_ELEMENTS: usize = 10;

/// What this crate allows a field, well under [`FIELD_LIMIT`], so ten fields stay
/// readable.
const FIELD_BUDGET: usize = 300;
const _: () = assert!(FIELD_BUDGET <= FIELD_LIMIT && CONTEXT_BUDGET <= SECTION_LIMIT);
/// What this crate allows a context element.
const CONTEXT_BUDGET: usize = 1000;
/// What this crate allows the notification text.
pub(crate) const FALLBACK_BUDGET: usize = 3000;
/// The start of the message that goes into the notification text.
const FALLBACK_MESSAGE: usize = 300;
/// What all the alerts of a digest share.
const DIGEST_BUDGET: usize = 24_000;
/// Lengths are counted in UTF-16 units: never fewer than characters, so limits hold
/// however Slack counts.
const MEASURE: Measure = Measure::Utf16;
/// The marker of resolved alerts (white heavy check mark).
const RESOLVED_EMOJI: &str = "\u{2705}";

/// Escapes alert text for Slack: control characters other than newline and tab
/// become U+FFFD, and `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's
/// "Escaping text" rules), so no alert text can form `<!here>`, `<@U…>`, `<#C…>` or
/// `<url|text>`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in sanitize(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Cuts escaped text to `max` units, never leaving half an entity (`&am…`).
fn cut(escaped: &str, max: usize) -> String {
    repair(fit::truncate(escaped, max, MEASURE).into_owned())
}

/// Removes an entity that truncation cut in half, just before the marker.
fn repair(text: String) -> String {
    let Some(body) = text.strip_suffix(MARKER) else {
        return text;
    };
    match body.rfind('&') {
        // Escaped text has no bare `&`: one with no `;` after it is a cut entity.
        Some(amp) if !body[amp..].contains(';') => {
            format!("{}{MARKER}", body[..amp].trim_end())
        }
        _ => text,
    }
}

fn record(report: &mut FitReport, part: &'static str, escaped: &str, kept: &str) {
    if kept != escaped {
        report.cuts.push(Cut {
            part: part.into(),
            original: MEASURE.len(escaped),
            kept: MEASURE.len(kept),
        });
    }
}

fn mrkdwn(text: String) -> SlackBlockText {
    SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text).with_verbatim(true))
}

fn section(text: String) -> SlackBlock {
    SlackSectionBlock::new().with_text(mrkdwn(text)).into()
}

fn context(elements: Vec<String>) -> SlackBlock {
    SlackContextBlock::new(
        elements
            .into_iter()
            .take(MAX_CONTEXT_ELEMENTS)
            .map(|t| {
                SlackContextBlockElement::MarkDown(
                    SlackBlockMarkDownText::new(t).with_verbatim(true),
                )
            })
            .collect(),
    )
    .into()
}

fn header(text: String) -> SlackBlock {
    SlackHeaderBlock::new(SlackBlockPlainText::new(text).into()).into()
}

/// A link we write ourselves: `<url|label>` for `http(s)` URLs, else the label and
/// the escaped text (not a link).
fn link(label: &str, url: &str) -> String {
    if is_safe_link(url) {
        format!(
            "<{}|{label}>",
            url.replace('&', "&amp;").replace('|', "%7C")
        )
    } else {
        format!("{label}: {}", escape(url))
    }
}

/// `<!date^…>`: shown in each reader's time zone, with the UTC time as fallback.
fn date(t: Timestamp) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{t}>",
        t.unix_seconds()
    )
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("*{}*: {}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The header line before escaping: the severity emoji (or a check mark once
/// resolved) and `[SEVERITY] title`.
fn header_line(alert: &Alert) -> String {
    let emoji = match alert.status {
        Status::Firing => alert.severity.emoji(),
        Status::Resolved => RESOLVED_EMOJI,
    };
    format!("{emoji} {}", title_line(alert))
}

/// The key evidence shown first, as in `alert_core::render`.
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

/// Builds messages from alerts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout<'a> {
    pub(crate) colors: &'a SlackSeverityMap,
    pub(crate) mentions: &'a SlackMentions,
    pub(crate) digest_max_alerts: usize,
}

/// Text, top-level blocks and the coloured attachment's blocks, before assembly.
struct Parts {
    text: String,
    top: Vec<SlackBlock>,
    color: String,
    blocks: Vec<SlackBlock>,
}

impl Parts {
    fn into_content(self) -> SlackMessageContent {
        debug_assert!(self.top.len() + self.blocks.len() <= MAX_BLOCKS);
        SlackMessageContent::new()
            .with_text(self.text)
            .with_blocks(self.top)
            .with_attachments(vec![
                SlackMessageAttachment::new()
                    .with_color(self.color)
                    .with_blocks(self.blocks),
            ])
    }
}

impl Layout<'_> {
    fn mention_line(&self, alert_firing: bool, severity: alert_core::Severity) -> Option<String> {
        let m = self.mentions.for_severity(severity);
        (alert_firing && !m.is_empty()).then(|| m.join(" "))
    }

    fn fallback(&self, mentions: Option<&str>, header: &str, message: &str) -> String {
        let mut text = String::new();
        if let Some(m) = mentions {
            text.push_str(m);
            text.push(' ');
        }
        text.push_str(header);
        let message = message.trim();
        if !message.is_empty() {
            text.push('\n');
            text.push_str(&cut(&escape(message), FALLBACK_MESSAGE));
        }
        // Mentions are short and validated, the header is at most 150: the cut only
        // ever shortens the message excerpt.
        cut(&text, FALLBACK_BUDGET)
    }

    /// One alert as a message.
    pub(crate) fn alert(&self, alert: &Alert) -> SlackMessageContent {
        let mut report = FitReport::default();
        let firing = alert.status == Status::Firing;

        let escaped_header = escape(&header_line(alert).replace('\n', " "));
        let header_text = cut(&escaped_header, HEADER_LIMIT);
        record(&mut report, "title", &escaped_header, &header_text);

        let mentions = self.mention_line(firing, alert.severity);
        let mut top = vec![header(header_text.clone())];
        if let Some(m) = &mentions {
            top.push(section(m.clone()));
        }

        let mut blocks = Vec::new();
        // The message.
        let message = alert.message.trim();
        if !message.is_empty() {
            let escaped = escape(message);
            let text = cut(&escaped, SECTION_LIMIT);
            record(&mut report, "message", &escaped, &text);
            blocks.push(section(text));
        }

        // Fields: key evidence, then the rest of the evidence, then labels.
        let evidence = alert.evidence.fields();
        let (key, rest): (Vec<_>, Vec<_>) = evidence
            .into_iter()
            .partition(|(k, _)| KEY_EVIDENCE.contains(&k.as_str()));
        let labels: Vec<(String, String)> = alert
            .labels
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut candidates: Vec<(&str, &(String, String))> = key
            .iter()
            .chain(&rest)
            .map(|p| ("evidence", p))
            .chain(labels.iter().map(|p| ("labels", p)))
            .collect();
        let overflow = candidates.split_off(candidates.len().min(MAX_FIELDS));
        if !candidates.is_empty() {
            let fields = candidates
                .iter()
                .map(|(_, (k, v))| {
                    let k = if k.trim().is_empty() { "(empty)" } else { k };
                    let name = cut(&escape(&k.replace('\n', " ")), 80);
                    mrkdwn(cut(&format!("*{name}*\n{}", escape(v)), FIELD_BUDGET))
                })
                .collect();
            blocks.push(SlackSectionBlock::new().with_fields(fields).into());
        }

        // Details: what did not fit in fields, and other annotations.
        let mut details = Vec::new();
        let others: Vec<(String, String)> = alert
            .annotations
            .iter()
            .filter(|(k, _)| *k != annotation::RUNBOOK_URL && *k != annotation::DASHBOARD_URL)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if !others.is_empty() {
            details.push(Part::new("annotations", pairs(&others), Priority::Normal));
        }
        let more_evidence: Vec<(String, String)> = overflow
            .iter()
            .filter(|(kind, _)| *kind == "evidence")
            .map(|(_, p)| (*p).clone())
            .collect();
        if !more_evidence.is_empty() {
            details.push(Part::new(
                "evidence",
                format!("*More evidence*: {}", pairs(&more_evidence)),
                Priority::Normal,
            ));
        }
        let more_labels: Vec<String> = overflow
            .iter()
            .filter(|(kind, _)| *kind == "labels")
            .map(|(_, (k, v))| format!("{}={}", escape(k), escape(v)))
            .collect();
        if !more_labels.is_empty() {
            details.push(Part::new(
                "labels",
                format!("*More labels*: {}", more_labels.join(", ")),
                Priority::Low,
            ));
        }
        if !details.is_empty() {
            report.extend(fit::fit_parts(&mut details, SECTION_LIMIT, 1, MEASURE));
            for p in &mut details {
                p.text = repair(std::mem::take(&mut p.text));
            }
            let text = fit::join_parts(&details, "\n");
            if !text.is_empty() {
                blocks.push(section(text));
            }
        }

        // Links, whole or not at all.
        let mut links = Vec::new();
        if let Some(url) = alert.runbook() {
            links.push(Part::whole("runbook", link("Runbook", url), Priority::High));
        }
        if let Some(url) = alert.dashboard() {
            links.push(Part::whole(
                "dashboard",
                link("Dashboard", url),
                Priority::Normal,
            ));
        }
        if !links.is_empty() {
            report.extend(fit::fit_parts(&mut links, SECTION_LIMIT, 3, MEASURE));
            let text = fit::join_parts(&links, " · ");
            if !text.is_empty() {
                blocks.push(section(text));
            }
        }

        // Context: source, times, fingerprint, what was trimmed.
        let mut ctx = Vec::new();
        let source = alert
            .source
            .fields()
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", escape(v)))
            .collect::<Vec<_>>()
            .join(" · ");
        if !source.is_empty() {
            ctx.push(cut(&source, CONTEXT_BUDGET));
        }
        let mut times = Vec::new();
        if let Some(t) = alert.starts_at {
            times.push(format!("started {}", date(t)));
        }
        if let (Status::Resolved, Some(end)) = (alert.status, alert.ends_at) {
            times.push(format!("resolved {}", date(end)));
            if let Some(start) = alert.starts_at {
                times.push(format!(
                    "lasted {}",
                    human_duration(end.duration_since(start))
                ));
            }
        }
        if !times.is_empty() {
            ctx.push(times.join(" · "));
        }
        ctx.push(format!("fingerprint {}", alert.fingerprint()));
        if !report.is_empty() {
            ctx.push(cut(
                &escape(&format!("trimmed to fit Slack: {report}")),
                CONTEXT_BUDGET,
            ));
        }
        blocks.push(context(ctx));

        let color = if firing {
            self.colors.color(alert.severity)
        } else {
            &self.colors.resolved
        };
        Parts {
            text: self.fallback(mentions.as_deref(), &header_text, &alert.message),
            top,
            color: color.to_owned(),
            blocks,
        }
        .into_content()
    }

    /// One alert of a digest, as one section's text, fitted to `budget`.
    fn digest_item(&self, alert: &Alert, budget: usize) -> (String, FitReport) {
        let title = cut(
            &escape(&header_line(alert).replace('\n', " ")),
            HEADER_LIMIT,
        );
        let mut parts = vec![Part::new(
            "title",
            format!("*{title}*"),
            Priority::Essential,
        )];
        let message = alert.message.trim();
        if !message.is_empty() {
            parts.push(Part::new("message", escape(message), Priority::Normal).with_min(40));
        }
        let key: Vec<(String, String)> = alert
            .evidence
            .fields()
            .into_iter()
            .filter(|(k, _)| KEY_EVIDENCE.contains(&k.as_str()))
            .collect();
        if !key.is_empty() {
            parts.push(Part::new("evidence", pairs(&key), Priority::High));
        }
        let source = alert
            .source
            .fields()
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", escape(v)))
            .collect::<Vec<_>>()
            .join(" · ");
        if !source.is_empty() {
            parts.push(Part::new("source", source, Priority::Normal));
        }
        if let Some(url) = alert.runbook() {
            parts.push(Part::whole("runbook", link("Runbook", url), Priority::High));
        }
        if !alert.labels.is_empty() {
            let labels = alert
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(Part::new("labels", labels, Priority::Low));
        }
        let report = fit::fit_parts(&mut parts, budget, 1, MEASURE);
        for p in &mut parts {
            p.text = repair(std::mem::take(&mut p.text));
        }
        (fit::join_parts(&parts, "\n"), report)
    }

    /// A group as one digest message: the first alerts in full (in
    /// `alert_core::render::digest_order`), then "… and K more".
    pub(crate) fn group(&self, alerts: &[Alert]) -> SlackMessageContent {
        if let [one] = alerts {
            return self.alert(one);
        }
        let firing = alerts.iter().any(|a| a.status == Status::Firing);
        let severity = group_severity(alerts);
        let emoji = if firing {
            severity.emoji()
        } else {
            RESOLVED_EMOJI
        };
        let escaped_header = escape(&format!("{emoji} {}", group_header(alerts)));
        let header_text = cut(&escaped_header, HEADER_LIMIT);
        let mut report = FitReport::default();
        record(&mut report, "title", &escaped_header, &header_text);

        let mentions = self.mention_line(firing, severity);
        let mut top = vec![header(header_text.clone())];
        if let Some(m) = &mentions {
            top.push(section(m.clone()));
        }

        let max_items = self
            .digest_max_alerts
            .clamp(1, crate::config::MAX_DIGEST_ALERTS);
        let ordered = digest_order(alerts);
        let share = (DIGEST_BUDGET / max_items.min(ordered.len()).max(1)).min(SECTION_LIMIT);
        let rendered: Vec<(String, FitReport)> = ordered
            .iter()
            .take(max_items)
            .map(|a| self.digest_item(a, share))
            .collect();
        let reserve = MEASURE.len(&more_line(alerts.len())) + 1;
        let (n, _) = fit::take_fitting(&rendered, max_items, DIGEST_BUDGET, reserve, |r| {
            MEASURE.len(&r.0) + 1
        });
        let more = alerts.len() - n;

        let mut blocks = Vec::with_capacity(n + 2);
        for (text, r) in rendered.into_iter().take(n) {
            report.extend(r);
            blocks.push(section(text));
        }
        if more > 0 {
            report.cuts.push(Cut {
                part: "alerts".into(),
                original: alerts.len(),
                kept: n,
            });
            blocks.push(context(vec![more_line(more)]));
        }
        let mut ctx = Vec::new();
        if let Some(first) = alerts.iter().filter_map(|a| a.starts_at).min() {
            ctx.push(format!("first started {}", date(first)));
        }
        if !report.is_empty() {
            let cuts = report.cuts.len();
            ctx.push(format!(
                "trimmed to fit Slack: {cuts} cut{}",
                if cuts == 1 { "" } else { "s" }
            ));
        }
        if !ctx.is_empty() {
            blocks.push(context(ctx));
        }
        let color = if firing {
            self.colors.color(severity)
        } else {
            &self.colors.resolved
        };
        Parts {
            text: self.fallback(mentions.as_deref(), &header_text, ""),
            top,
            color: color.to_owned(),
            blocks,
        }
        .into_content()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_every_bracket_and_ampersand() {
        assert_eq!(
            escape("<!channel> & <@U1> <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;"
        );
        assert_eq!(escape("a\u{7}b\nc"), "a\u{fffd}b\nc");
    }

    #[test]
    fn cutting_never_leaves_half_an_entity() {
        let e = escape("abc<<<<<<<<<<");
        for max in 4..e.len() {
            let c = cut(&e, max);
            assert!(MEASURE.len(&c) <= max, "{c}");
            let body = c.trim_end_matches(MARKER);
            if let Some(i) = body.rfind('&') {
                assert!(body[i..].contains(';'), "{max}: {c}");
            }
        }
    }

    #[test]
    fn links_are_only_http() {
        assert_eq!(
            link("Runbook", "https://r.example/a?b=1&c=2|x"),
            "<https://r.example/a?b=1&amp;c=2%7Cx|Runbook>"
        );
        assert_eq!(
            link("Runbook", "javascript:alert(1)<x>"),
            "Runbook: javascript:alert(1)&lt;x&gt;"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(42)), "42s");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h 0m");
        assert_eq!(human_duration(Duration::from_secs(90_000)), "1d 1h");
    }
}
