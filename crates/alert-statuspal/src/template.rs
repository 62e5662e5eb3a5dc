//! Customer-facing text: a tiny, safe template language (documented on
//! [`StatuspalTemplates`]).

use alert_core::{Alert, BuildError};
use serde::Deserialize;

/// The customer-facing texts (config key `templates`).
///
/// A status page is public. Alerts carry internal details (labels, evidence,
/// runbooks, messages meant for engineers), so the incident title and every update
/// description come from these templates, which say exactly what is published.
/// The language has five placeholders and nothing else:
///
/// | placeholder | value |
/// |---|---|
/// | `{summary}` | the alert's one-line summary (its name when it has none) |
/// | `{name}` | the alert's name (`AccuracyDrop`) |
/// | `{severity}` | `info`, `warning`, `error` or `critical` |
/// | `{model}` | the alert source's model name, or nothing |
/// | `{label:NAME}` | the value of label `NAME`, or nothing: an explicit opt-in per label |
///
/// `{{` and `}}` are literal braces. An unknown placeholder (`{labels}`,
/// `{message}`, `{evidence}`) or an unbalanced brace is a configuration error
/// reported by [`StatuspalNotifier::new`](crate::StatuspalNotifier::new), naming
/// the field.
///
/// Values (never the template's own text, which may use the page's formatting)
/// are neutralised before they are published: control and bidirectional-override
/// characters are removed, line breaks become spaces, `<` and `>` become `‹` and
/// `›` (no HTML tag or autolink survives) and `](` becomes `] (` (no Markdown link
/// or image survives). Titles are one line of at most 255 characters
/// ([`TITLE_MAX_CHARS`](crate::assumptions::TITLE_MAX_CHARS)); a title that renders
/// empty becomes `Service issue`.
///
/// Defaults publish the summary and nothing else:
///
/// | field | default |
/// |---|---|
/// | `title` | `{summary}` |
/// | `created` | `We are investigating an issue: {summary}` |
/// | `update` | `We are still working on this issue: {summary}` |
/// | `escalated` | `The impact of this issue has increased: {summary}` |
/// | `deescalated` | `The impact of this issue has decreased: {summary}` |
/// | `resolved` | `This issue has been resolved.` |
///
/// The first update of a new incident also ends with the marker
/// `[ref:<fingerprint>]`, appended outside the template (after a blank line): the
/// notifier finds its incidents again by it after a restart, so no template can
/// leave it out.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatuspalTemplates {
    /// The incident title.
    pub title: String,
    /// The first update of a new incident.
    pub created: String,
    /// The update posted when the same alert fires again.
    pub update: String,
    /// The update posted when the impact goes up (minor to major).
    pub escalated: String,
    /// The update posted when the impact goes down (major to minor).
    pub deescalated: String,
    /// The update posted when the alert resolves.
    pub resolved: String,
}

impl Default for StatuspalTemplates {
    fn default() -> Self {
        StatuspalTemplates {
            title: "{summary}".into(),
            created: "We are investigating an issue: {summary}".into(),
            update: "We are still working on this issue: {summary}".into(),
            escalated: "The impact of this issue has increased: {summary}".into(),
            deescalated: "The impact of this issue has decreased: {summary}".into(),
            resolved: "This issue has been resolved.".into(),
        }
    }
}

/// The title used when a template renders to nothing (an alert with no name and
/// no summary).
pub(crate) const FALLBACK_TITLE: &str = "Service issue";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Lit(String),
    Summary,
    Name,
    Severity,
    Model,
    Label(String),
}

/// One parsed template of the language documented on [`StatuspalTemplates`]
/// (exported as `StatuspalTemplate`): what the notifier renders, and what
/// `alerts check` renders against sample alerts, so the check can never drift
/// from the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Segment>);

const KNOWN: &str = "{summary}, {name}, {severity}, {model}, {label:NAME}";

impl Template {
    /// Parses `src`; an error names `field` (`templates.title`) and what is wrong
    /// (an unknown placeholder, an unbalanced brace).
    pub fn parse(field: &str, src: &str) -> Result<Template, BuildError> {
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut chars = src.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => {
                    return Err(BuildError::invalid(
                        field,
                        "unbalanced `}` (write `}}` for a literal brace)",
                    ));
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(BuildError::invalid(
                            field,
                            "unclosed `{` (write `{{` for a literal brace)",
                        ));
                    }
                    let seg = match name.as_str() {
                        "summary" => Segment::Summary,
                        "name" => Segment::Name,
                        "severity" => Segment::Severity,
                        "model" => Segment::Model,
                        other => match other.strip_prefix("label:") {
                            Some(l) if !l.is_empty() => Segment::Label(l.to_owned()),
                            _ => {
                                return Err(BuildError::invalid(
                                    field,
                                    format!(
                                        "unknown placeholder `{{{other}}}`; known placeholders: {KNOWN}"
                                    ),
                                ));
                            }
                        },
                    };
                    if !lit.is_empty() {
                        segs.push(Segment::Lit(std::mem::take(&mut lit)));
                    }
                    segs.push(seg);
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            segs.push(Segment::Lit(lit));
        }
        Ok(Template(segs))
    }

    /// The labels it names (`{label:NAME}`), in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|s| match s {
            Segment::Label(l) => Some(l.as_str()),
            _ => None,
        })
    }

    /// The placeholders that render nothing for `alert`: `model` when it has no
    /// model, ``label `NAME` `` for each named label it does not carry.
    pub fn empty_for(&self, alert: &Alert) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|s| match s {
                Segment::Model if alert.source.model.is_none() => Some("model".to_owned()),
                Segment::Label(l) if !alert.labels.contains_key(l) => Some(format!("label `{l}`")),
                _ => None,
            })
            .collect()
    }

    /// Renders the template for `alert`, neutralising every substituted value
    /// (before the notifier's fallbacks and length limits).
    pub fn render(&self, alert: &Alert) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Segment::Lit(l) => out.push_str(&strip_controls(l, true)),
                Segment::Summary => out.push_str(&neutralise(alert.title())),
                Segment::Name => out.push_str(&neutralise(&alert.name)),
                Segment::Severity => out.push_str(alert.severity.as_str()),
                Segment::Model => {
                    out.push_str(&neutralise(alert.source.model.as_deref().unwrap_or("")))
                }
                Segment::Label(l) => out.push_str(&neutralise(alert.labels.get(l).unwrap_or(""))),
            }
        }
        out
    }
}

/// Whether `c` reorders or hides text (bidirectional controls and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Removes control and bidi characters; keeps `\n` when `keep_newlines`, turns
/// tabs (and newlines otherwise) into spaces.
fn strip_controls(s: &str, keep_newlines: bool) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' if keep_newlines => Some('\n'),
            '\n' | '\t' | '\r' => Some(' '),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Neutralises a value for a public page: one line, no control or bidi characters,
/// no HTML tag, autolink, Markdown link or image.
pub(crate) fn neutralise(value: &str) -> String {
    strip_controls(value, false)
        .replace('<', "\u{2039}")
        .replace('>', "\u{203a}")
        .replace("](", "] (")
        .trim()
        .to_owned()
}

/// Collapses every run of white space to one space (titles are one line).
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The compiled templates of a notifier.
#[derive(Clone, Debug)]
pub(crate) struct Compiled {
    pub(crate) title: Template,
    pub(crate) created: Template,
    pub(crate) update: Template,
    pub(crate) escalated: Template,
    pub(crate) deescalated: Template,
    pub(crate) resolved: Template,
}

impl Compiled {
    pub(crate) fn new(t: &StatuspalTemplates) -> Result<Compiled, BuildError> {
        if t.title.trim().is_empty() {
            return Err(BuildError::invalid("templates.title", "must not be empty"));
        }
        Ok(Compiled {
            title: Template::parse("templates.title", &t.title)?,
            created: Template::parse("templates.created", &t.created)?,
            update: Template::parse("templates.update", &t.update)?,
            escalated: Template::parse("templates.escalated", &t.escalated)?,
            deescalated: Template::parse("templates.deescalated", &t.deescalated)?,
            resolved: Template::parse("templates.resolved", &t.resolved)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::{Evidence, Severity, Source};

    fn alert() -> Alert {
        Alert::new(Severity::Critical, "AccuracyDrop")
            .with_summary("Checkout predictions are failing")
            .with_message("internal: node ml-7 OOM")
            .with_label("service", "checkout")
            .with_label("pod", "ml-7-secret-pod")
            .with_evidence(
                Evidence::metric("accuracy")
                    .observed(0.42)
                    .segment("country=FR"),
            )
            .with_source(Source::model("bikes").version("3"))
    }

    #[test]
    fn placeholders_render_and_braces_escape() {
        let t = Template::parse(
            "t",
            "{{x}} {summary} / {name} / {severity} / {model} / {label:service} / {label:none}.",
        )
        .unwrap();
        assert_eq!(
            t.render(&alert()),
            "{x} Checkout predictions are failing / AccuracyDrop / critical / bikes / checkout / ."
        );
    }

    #[test]
    fn defaults_publish_no_label_evidence_or_message() {
        let c = Compiled::new(&StatuspalTemplates::default()).unwrap();
        let a = alert();
        let all = [
            c.title.render(&a),
            c.created.render(&a),
            c.update.render(&a),
            c.escalated.render(&a),
            c.deescalated.render(&a),
            c.resolved.render(&a),
        ]
        .join("\n");
        for leak in [
            "ml-7",
            "secret-pod",
            "country=FR",
            "0.42",
            "accuracy",
            "OOM",
            "bikes",
        ] {
            assert!(!all.contains(leak), "{leak} leaked: {all}");
        }
        assert!(all.contains("Checkout predictions are failing"));
    }

    #[test]
    fn errors_name_the_field_and_the_placeholder() {
        let e = Template::parse("templates.title", "{summary} {labels}").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("templates.title"), "{s}");
        assert!(s.contains("`{labels}`"), "{s}");
        assert!(s.contains("{summary}, {name}"), "{s}");
        for bad in ["{summary", "x } y", "{label:}", "{evidence}", "{message}"] {
            assert!(Template::parse("f", bad).is_err(), "{bad}");
        }
        let e = Compiled::new(&StatuspalTemplates {
            title: "  ".into(),
            ..StatuspalTemplates::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("templates.title"));
    }

    #[test]
    fn values_are_neutralised_but_template_text_is_kept() {
        let a = Alert::new(Severity::Error, "x").with_summary(
            "<script>alert(1)</script> [click](https://evil.example) \u{202e}gnp.exe\u{202c}\nline2\u{7}",
        );
        let t = Template::parse("t", "**Update**\n{summary}").unwrap();
        let out = t.render(&a);
        assert_eq!(
            out,
            "**Update**\n\u{2039}script\u{203a}alert(1)\u{2039}/script\u{203a} [click] (https://evil.example) gnp.exe line2"
        );
        assert!(!out.contains('<') && !out.contains("]("));
        assert_eq!(one_line(" a \n b\t c "), "a b c");
    }
}
