//! Alerts → Discord messages, built with serenity's builders and fitted to
//! Discord's limits ([`crate::limits`]).

use std::borrow::Cow;
use std::num::NonZeroU64;

use alert_core::fit::{self, FitReport, Measure, Part, Priority, truncate};
use alert_core::render::{self, escape_markdown, is_safe_link, sanitize, title_line};
use alert_core::{Alert, Severity, Status, Timestamp, annotation};
use serenity::builder::{
    CreateAllowedMentions, CreateEmbed, CreateEmbedFooter, EditWebhookMessage, ExecuteWebhook,
};
use serenity::model::id::RoleId;

use crate::limits;
use crate::{DiscordMentions, DiscordSeverityMap};

/// Discord counts JavaScript string units; counting UTF-16 is exact for that and
/// never less than counting characters.
const M: Measure = Measure::Utf16;

/// Longest single line of a list field (labels, details, annotations).
const ITEM_MAX: usize = 512;

/// Evidence shown as inline fields, in this order; other evidence values (details)
/// go to one "Details" field.
const KEY_EVIDENCE: [&str; 10] = [
    "metric",
    "observed",
    "threshold",
    "baseline",
    "test",
    "statistic",
    "p-value",
    "window",
    "samples",
    "segment",
];

/// Alert text made safe for Discord markdown (descriptions, field values, titles):
/// control characters and bidirectional overrides replaced, markdown escaped (so
/// `[x](url)`, `<@&id>`, `||spoiler||` show as typed), and `@everyone`/`@here`
/// broken with a zero-width space so they could not ping even without
/// `allowed_mentions`.
pub(crate) fn text(s: &str) -> String {
    neutralise(&escape_markdown(&plain(s)))
}

/// Alert text for places Discord shows as plain text (footers): control characters
/// and bidirectional overrides replaced, mentions broken.
pub(crate) fn plain(s: &str) -> String {
    neutralise(
        &sanitize(s)
            .chars()
            .map(|c| match c {
                '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
                c => c,
            })
            .collect::<String>(),
    )
}

fn neutralise(s: &str) -> String {
    s.replace("@everyone", "@\u{200B}everyone")
        .replace("@here", "@\u{200B}here")
}

fn cut(s: &str, max: usize) -> String {
    truncate(s, max, M).into_owned()
}

/// `items` joined by `sep`, as many as fit in `max` units, then "… and K more".
fn join_limited(items: &[String], sep: &str, max: usize) -> String {
    let items: Vec<String> = items.iter().map(|i| cut(i, ITEM_MAX)).collect();
    let reserve = M.len(&render::more_line(items.len())) + M.len(sep);
    let (n, more) = fit::take_fitting(&items, usize::MAX, max, reserve, |i| M.len(i) + M.len(sep));
    let mut out = items[..n].join(sep);
    if more > 0 {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&render::more_line(more));
    }
    cut(&out, max)
}

fn link_value(label: &str, url: &str) -> (String, bool) {
    if is_safe_link(url) {
        let url = url.replace('(', "%28").replace(')', "%29");
        let v = format!("[{label}]({url})");
        if M.len(&v) <= limits::FIELD_VALUE {
            (v, true)
        } else {
            (
                format!("(link too long to show: {} characters)", M.len(&url)),
                false,
            )
        }
    } else {
        // Not http(s): shown as text, never as a link.
        (cut(&text(url), limits::FIELD_VALUE), false)
    }
}

/// One embed field before fitting.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) inline: bool,
    pub(crate) priority: Priority,
    /// Kept whole or dropped (a link).
    pub(crate) whole: bool,
}

/// One embed before it becomes a serenity [`CreateEmbed`]: plain strings that can
/// be measured and fitted.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Draft {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) footer: String,
    pub(crate) colour: u32,
    pub(crate) timestamp: Option<Timestamp>,
    /// What was cut so far, by the per-item limits and by [`Draft::fit`].
    pub(crate) report: FitReport,
}

/// `s` within `max` units; a cut is recorded under `name`.
fn capped(report: &mut FitReport, name: &str, s: String, max: usize) -> String {
    let n = M.len(&s);
    if n <= max {
        return s;
    }
    let c = cut(&s, max);
    report.cuts.push(fit::Cut {
        part: Cow::Owned(name.to_owned()),
        original: n,
        kept: M.len(&c),
    });
    c
}

/// [`join_limited`], recording a cut under `name` when items were left out.
fn listed(report: &mut FitReport, name: &str, items: &[String], sep: &str, max: usize) -> String {
    let out = join_limited(items, sep, max);
    let full: usize =
        items.iter().map(|i| M.len(i)).sum::<usize>() + M.len(sep) * items.len().saturating_sub(1);
    if full > M.len(&out) {
        report.cuts.push(fit::Cut {
            part: Cow::Owned(name.to_owned()),
            original: full,
            kept: M.len(&out),
        });
    }
    out
}

impl Draft {
    /// The embed of one alert, each part within its own limit.
    pub(crate) fn from_alert(alert: &Alert, colours: &DiscordSeverityMap) -> Draft {
        let mut report = FitReport::default();
        let title = capped(
            &mut report,
            "title",
            text(&title_line(alert)),
            limits::TITLE,
        );
        let mut desc = Vec::new();
        if !alert.message.trim().is_empty() {
            desc.push(text(alert.message.trim()));
        }
        if let Some(d) = alert
            .annotations
            .get(annotation::DESCRIPTION)
            .filter(|d| !d.trim().is_empty())
        {
            desc.push(text(d.trim()));
        }
        let description = capped(
            &mut report,
            "description",
            desc.join("\n\n"),
            limits::DESCRIPTION,
        );

        let mut fields = Vec::new();
        let mut details = Vec::new();
        for (k, v) in alert.evidence.fields() {
            if KEY_EVIDENCE.contains(&k.as_str()) {
                let value = capped(&mut report, &k, text(&v), limits::FIELD_VALUE);
                fields.push(Field {
                    name: k,
                    value,
                    inline: true,
                    priority: Priority::High,
                    whole: false,
                });
            } else {
                details.push(format!("{}: {}", text(&k), text(&v)));
            }
        }
        if !details.is_empty() {
            fields.push(Field {
                name: "Details".into(),
                value: listed(&mut report, "Details", &details, "\n", limits::FIELD_VALUE),
                inline: false,
                priority: Priority::Normal,
                whole: false,
            });
        }
        for (label, url, priority) in [
            ("Runbook", alert.runbook(), Priority::High),
            ("Dashboard", alert.dashboard(), Priority::Normal),
        ] {
            if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
                let (value, is_link) =
                    link_value(&format!("Open {}", label.to_lowercase()), url.trim());
                fields.push(Field {
                    name: label.into(),
                    value,
                    inline: false,
                    priority,
                    whole: is_link,
                });
            }
        }
        let others: Vec<String> = alert
            .annotations
            .iter()
            .filter(|(k, v)| {
                ![
                    annotation::RUNBOOK_URL,
                    annotation::DASHBOARD_URL,
                    annotation::DESCRIPTION,
                ]
                .contains(k)
                    && !v.trim().is_empty()
            })
            .map(|(k, v)| format!("**{}**: {}", text(k), text(v)))
            .collect();
        if !others.is_empty() {
            fields.push(Field {
                name: "Annotations".into(),
                value: listed(
                    &mut report,
                    "Annotations",
                    &others,
                    "\n",
                    limits::FIELD_VALUE,
                ),
                inline: false,
                priority: Priority::Low,
                whole: false,
            });
        }
        if !alert.labels.is_empty() {
            let labels: Vec<String> = alert
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", text(k), text(v)))
                .collect();
            fields.push(Field {
                name: "Labels".into(),
                value: listed(&mut report, "Labels", &labels, ", ", limits::FIELD_VALUE),
                inline: false,
                priority: Priority::Low,
                whole: false,
            });
        }
        fields.retain(|f| !f.value.trim().is_empty());
        fields.truncate(limits::FIELDS);

        let footer = alert
            .source
            .fields()
            .into_iter()
            .map(|(k, v)| format!("{k}: {}", plain(v).replace('\n', " ")))
            .collect::<Vec<_>>()
            .join(" · ");
        let footer = capped(&mut report, "footer", footer, limits::FOOTER);
        let timestamp = match alert.status {
            Status::Firing => alert.starts_at,
            Status::Resolved => alert.ends_at.or(alert.starts_at),
        };
        Draft {
            title,
            description,
            fields,
            footer,
            colour: colours.colour(alert.severity, alert.status),
            timestamp,
            report,
        }
    }

    /// The length Discord counts towards [`limits::TOTAL`] (before trimming, so
    /// never less than Discord's count).
    pub(crate) fn len(&self) -> usize {
        M.len(&self.title)
            + M.len(&self.description)
            + M.len(&self.footer)
            + self
                .fields
                .iter()
                .map(|f| M.len(&f.name) + M.len(&f.value))
                .sum::<usize>()
    }

    /// Cuts the embed to `budget` units (recording the cuts in `report`) by structure: labels and annotations first,
    /// then the message, details and footer, then key evidence and the runbook;
    /// the title last.
    pub(crate) fn fit(&mut self, budget: usize) {
        if self.len() <= budget {
            return;
        }
        let names: usize = self.fields.iter().map(|f| M.len(&f.name)).sum();
        let mut parts = Vec::with_capacity(self.fields.len() + 3);
        parts.push(Part::new(
            "title",
            std::mem::take(&mut self.title),
            Priority::Essential,
        ));
        parts.push(
            Part::new(
                "description",
                std::mem::take(&mut self.description),
                Priority::Normal,
            )
            .with_min(40),
        );
        for f in &mut self.fields {
            parts.push(Part {
                name: Cow::Owned(f.name.clone()),
                text: std::mem::take(&mut f.value),
                priority: f.priority,
                min: if f.whole { usize::MAX } else { 24 },
            });
        }
        parts.push(Part::new(
            "footer",
            std::mem::take(&mut self.footer),
            Priority::Normal,
        ));
        let report = fit::fit_parts(&mut parts, budget.saturating_sub(names), 0, M);
        let mut it = parts.into_iter();
        self.title = it.next().map(|p| p.text).unwrap_or_default();
        self.description = it.next().map(|p| p.text).unwrap_or_default();
        for f in &mut self.fields {
            f.value = it.next().map(|p| p.text).unwrap_or_default();
        }
        self.footer = it.next().map(|p| p.text).unwrap_or_default();
        self.fields.retain(|f| !f.value.trim().is_empty());
        for c in report.cuts {
            match self.report.cuts.iter_mut().find(|e| e.part == c.part) {
                Some(earlier) => earlier.kept = c.kept,
                None => self.report.cuts.push(c),
            }
        }
    }

    /// The serenity builder for this embed.
    pub(crate) fn into_embed(self) -> CreateEmbed {
        let mut e = CreateEmbed::new().colour(self.colour);
        if !self.title.trim().is_empty() {
            e = e.title(self.title);
        }
        if !self.description.trim().is_empty() {
            e = e.description(self.description);
        }
        for f in self.fields {
            e = e.field(f.name, f.value, f.inline);
        }
        if !self.footer.trim().is_empty() {
            e = e.footer(CreateEmbedFooter::new(self.footer));
        }
        if let Some(ts) = self.timestamp
            && let Ok(t) = serenity::model::Timestamp::from_millis(ts.unix_millis())
        {
            e = e.timestamp(t);
        }
        e
    }
}

/// Splits `budget` over items of lengths `lens` so that the shares sum to at most
/// `budget`: items shorter than an equal share keep their length, and the rest
/// share what is left equally (water filling).
pub(crate) fn allocate(lens: &[usize], budget: usize) -> Vec<usize> {
    if lens.iter().sum::<usize>() <= budget {
        return lens.to_vec();
    }
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|i| lens[*i]);
    let mut out = vec![0; lens.len()];
    let mut left = budget;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (lens.len() - k);
        let take = lens[i].min(share);
        out[i] = take;
        left -= take;
    }
    out
}

/// `allowed_mentions` for every message: nothing is parsed from the text
/// (`"parse": []`), and only the configured `role` may be pinged.
pub(crate) fn allowed_mentions(role: Option<u64>) -> CreateAllowedMentions {
    let am = CreateAllowedMentions::new()
        .all_users(false)
        .all_roles(false)
        .everyone(false)
        .empty_users()
        .empty_roles();
    match role.and_then(NonZeroU64::new) {
        Some(r) => am.roles([RoleId::from(r)]),
        None => am,
    }
}

/// Builds the messages of one webhook from alerts.
#[derive(Clone, Debug)]
pub(crate) struct Composer {
    pub(crate) username: Option<String>,
    pub(crate) avatar_url: Option<String>,
    pub(crate) mentions: DiscordMentions,
    pub(crate) colours: DiscordSeverityMap,
}

impl Composer {
    fn role_for(&self, severity: Severity, status: Status) -> Option<u64> {
        match status {
            Status::Firing => self.mentions.role(severity),
            Status::Resolved => None,
        }
    }

    fn execute(
        &self,
        content: Vec<String>,
        embeds: Vec<CreateEmbed>,
        role: Option<u64>,
    ) -> ExecuteWebhook {
        let mut b = ExecuteWebhook::new()
            .embeds(embeds)
            .allowed_mentions(allowed_mentions(role));
        let content = content.join("\n");
        if !content.trim().is_empty() {
            b = b.content(cut(&content, limits::CONTENT));
        }
        if let Some(u) = &self.username {
            b = b.username(u.clone());
        }
        if let Some(a) = &self.avatar_url {
            b = b.avatar_url(a.clone());
        }
        b
    }

    /// One alert as one embed; `reference` is a first content line pointing at an
    /// earlier message (updates that could not edit it).
    pub(crate) fn alert(
        &self,
        alert: &Alert,
        reference: Option<String>,
    ) -> (ExecuteWebhook, FitReport) {
        let mut draft = Draft::from_alert(alert, &self.colours);
        draft.fit(limits::TOTAL);
        let report = std::mem::take(&mut draft.report);
        let role = self.role_for(alert.severity, alert.status);
        let mut content = Vec::new();
        if let Some(r) = role {
            content.push(format!("<@&{r}>"));
        }
        content.extend(reference);
        (
            self.execute(content, vec![draft.into_embed()], role),
            report,
        )
    }

    /// An edit of an earlier message to show `alert` (its resolution): the embed
    /// replaced, the content (a role mention) cleared, nothing pinged.
    pub(crate) fn edit(&self, alert: &Alert) -> (EditWebhookMessage, FitReport) {
        let mut draft = Draft::from_alert(alert, &self.colours);
        draft.fit(limits::TOTAL);
        let report = std::mem::take(&mut draft.report);
        (
            EditWebhookMessage::new()
                .content("")
                .embeds(vec![draft.into_embed()])
                .allowed_mentions(allowed_mentions(None)),
            report,
        )
    }

    /// A group: a header line, up to 10 embeds (most severe first), then
    /// "… and K more".
    pub(crate) fn group(&self, alerts: &[Alert]) -> (ExecuteWebhook, FitReport) {
        let ordered = render::digest_order(alerts);
        let shown = ordered.len().min(limits::EMBEDS);
        let more = ordered.len() - shown;
        let mut drafts: Vec<Draft> = ordered[..shown]
            .iter()
            .map(|a| Draft::from_alert(a, &self.colours))
            .collect();
        let lens: Vec<usize> = drafts.iter().map(Draft::len).collect();
        let shares = allocate(&lens, limits::TOTAL);
        let mut report = FitReport::default();
        for (d, share) in drafts.iter_mut().zip(shares) {
            d.fit(share);
            report.extend(std::mem::take(&mut d.report));
        }
        let firing = alerts.iter().any(|a| a.status == Status::Firing);
        let role = if firing {
            self.mentions.role(render::group_severity(alerts))
        } else {
            None
        };
        let mention = role.map(|r| format!("<@&{r}>"));
        let tail = (more > 0).then(|| render::more_line(more));
        let reserved = mention.as_ref().map_or(0, |m| M.len(m) + 1)
            + tail.as_ref().map_or(0, |t| M.len(t) + 1)
            + 4;
        let header = cut(
            &text(&render::group_header(alerts)),
            limits::CONTENT.saturating_sub(reserved),
        );
        let mut content: Vec<String> = mention.into_iter().collect();
        content.push(format!("**{header}**"));
        content.extend(tail);
        if more > 0 {
            report.cuts.push(fit::Cut {
                part: "alerts".into(),
                original: alerts.len(),
                kept: shown,
            });
        }
        let embeds = drafts.into_iter().map(Draft::into_embed).collect();
        (self.execute(content, embeds, role), report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::{Evidence, Source};

    #[test]
    fn text_neutralises_markup_and_pings() {
        assert_eq!(
            text("@everyone [x](https://e.example) <@&1> ||s|| \u{202e}exe"),
            "@\u{200B}everyone \\[x\\](https://e.example) \\<@\\&1\\> \\|\\|s\\|\\| \u{FFFD}exe"
        );
        assert_eq!(plain("@here *b*\u{1b}"), "@\u{200B}here *b*\u{FFFD}");
    }

    #[test]
    fn allocate_water_fills() {
        assert_eq!(allocate(&[10, 20], 100), [10, 20]);
        assert_eq!(allocate(&[10, 500, 900], 610), [10, 300, 300]);
        assert_eq!(allocate(&[1000; 3], 10), [3, 3, 4]);
        let a = allocate(&[7000, 100, 2000, 6000], 6000);
        assert!(a.iter().sum::<usize>() <= 6000, "{a:?}");
        assert_eq!(a[1], 100);
        assert!(allocate(&[], 10).is_empty());
    }

    #[test]
    fn join_limited_says_how_many_are_left_out() {
        let items: Vec<String> = (0..500).map(|i| format!("label_{i:03}=v")).collect();
        let s = join_limited(&items, ", ", 100);
        assert!(M.len(&s) <= 100, "{s}");
        let shown = s.matches("label_").count();
        assert!(s.ends_with(&format!("… and {} more", 500 - shown)), "{s}");
        assert_eq!(join_limited(&["a".into(), "b".into()], ", ", 100), "a, b");
    }

    #[test]
    fn fitting_cuts_labels_before_evidence_and_keeps_the_title() {
        let alert = Alert::new(Severity::Error, "Drift")
            .with_message("m".repeat(5000))
            .with_labels((0..300).map(|i| (format!("k{i}"), "v".repeat(20))))
            .with_annotation("a0", "x".repeat(200))
            .with_annotation("a1", "x".repeat(200))
            .with_annotation("a2", "x".repeat(200))
            .with_annotation("a3", "x".repeat(200))
            .with_annotation("a4", "x".repeat(200))
            .with_annotation("a5", "x".repeat(200))
            .with_runbook("https://runbooks.example/drift")
            .with_evidence(Evidence::metric("psi").observed(0.4).threshold(0.2))
            .with_source(Source::model("bikes").version("3"));
        let mut d = Draft::from_alert(&alert, &DiscordSeverityMap::default());
        assert_eq!(M.len(&d.description), limits::DESCRIPTION);
        assert!(
            d.fields
                .iter()
                .all(|f| M.len(&f.value) <= limits::FIELD_VALUE)
        );
        assert!(d.report.touched("description"), "{}", d.report);
        d.fit(limits::TOTAL);
        let r = &d.report;
        assert!(d.len() <= limits::TOTAL, "{}", d.len());
        assert!(r.touched("Labels") || r.dropped("Labels"), "{r}");
        let names: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
        assert!(
            names.contains(&"metric") && names.contains(&"Runbook"),
            "{names:?}"
        );
        assert_eq!(d.title, "\\[ERROR\\] Drift");
        let small = d.clone();
        let mut tiny = small;
        tiny.fit(600);
        assert!(tiny.len() <= 600);
        assert_eq!(tiny.title, "\\[ERROR\\] Drift");
    }
}
