//! Rendering every template of a config against sample alerts, for `alerts check`
//! (and `alerts serve`, which refuses the same configs).
//!
//! The templates a config holds are Statuspal's customer-facing texts
//! (`templates.title`, `created`, `update`, `escalated`, `deescalated`, `resolved`
//! of a `statuspal` channel; the other channels have no user-written templates).
//! Building the channel already refuses a template that does not parse. Rendering
//! finds what parsing cannot:
//!
//! * a template that renders **empty** for an alert the channel publishes: one made
//!   only of placeholders that can be empty (`{model}`, `{label:NAME}`), or of
//!   nothing. Statuspal would then show a fallback (`Service issue` for a title, the
//!   title for an update) instead of the text meant;
//! * `{label:alertname}`, a label no alert carries: an alert's name is `{name}`
//!   (Prometheus', Alertmanager's and `alerts send`'s `alertname` becomes the name).
//!
//! Each template is rendered for every severity the channel publishes (impact other
//! than `none`), firing (`title`, `created`, `update`, `escalated`, `deescalated`) or
//! resolved (`resolved`), against three alerts: a minimal one (a name and nothing
//! else), a typical one (summary, model and every label the templates name) and a
//! huge one (100 KB summary, model and label values, which the channel cuts to its
//! limits). The rendering is the channel's own (`StatuspalTemplate`); a test
//! compares it, with the channel's documented fallbacks and limits, with what the
//! real channel publishes.

use alert_core::{Alert, Severity, Source, Status};
use alert_router::statuspal::{StatuspalConfig, StatuspalImpact, StatuspalTemplate};
use alert_router::{ChannelConfig, RouterConfig};

/// A template that renders badly, by key (`receivers[2].channels[0].templates.title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key of the template.
    pub key: String,
    /// What is wrong, and for which sample alert.
    pub message: String,
}

/// What rendering found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Templates rendered.
    pub templates: usize,
    /// Renderings done (templates × sample alerts).
    pub renders: usize,
    /// The first problem of each template that has one.
    pub problems: Vec<Problem>,
}

/// Renders `template` for `alert` as the Statuspal channel does before its
/// fallbacks and length limits: with the channel's own renderer
/// ([`StatuspalTemplate`]). A template that does not parse renders empty (building
/// the channel refuses it first, naming the field).
pub fn render(template: &str, alert: &Alert) -> String {
    StatuspalTemplate::parse("template", template)
        .map(|t| t.render(alert))
        .unwrap_or_default()
}

/// The size of the fields of the huge sample alert.
pub const HUGE: usize = 100_000;

/// The sample alerts for `severity` and `status`: (what it is, the alert). The
/// typical and huge ones carry every label in `labels`.
pub fn samples(severity: Severity, status: Status, labels: &[String]) -> Vec<(String, Alert)> {
    let with_status = |a: Alert| match status {
        Status::Resolved => a.with_status(Status::Resolved),
        _ => a,
    };
    let minimal = with_status(Alert::new(severity, "SampleAlert"));
    let mut typical = Alert::new(severity, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.71")
        .with_source(Source::model("bikes"));
    let big = "x".repeat(HUGE);
    let mut huge = Alert::new(severity, big.clone())
        .with_summary(big.clone())
        .with_source(Source::model(big.clone()));
    for l in labels.iter().filter(|l| *l != "alertname") {
        typical = typical.with_label(l.clone(), "value");
        huge = huge.with_label(l.clone(), big.clone());
    }
    let state = match status {
        Status::Resolved => "resolved",
        _ => "firing",
    };
    vec![
        (
            format!("a {state} {severity} alert with only a name (no summary, model or labels)"),
            minimal,
        ),
        (
            format!("a typical {state} {severity} alert"),
            with_status(typical),
        ),
        (
            format!("a {state} {severity} alert with {HUGE}-character fields"),
            with_status(huge),
        ),
    ]
}

/// What is empty in `template` for `alert`, to say why it renders empty.
fn why_empty(template: &StatuspalTemplate, alert: &Alert) -> String {
    let missing = template.empty_for(alert);
    if missing.is_empty() {
        "it has no text".to_owned()
    } else {
        format!("the alert has no {}", missing.join(" and no "))
    }
}

fn published(cfg: &StatuspalConfig) -> Vec<Severity> {
    let map = &cfg.severity;
    [
        (Severity::Info, map.info),
        (Severity::Warning, map.warning),
        (Severity::Error, map.error),
        (Severity::Critical, map.critical),
    ]
    .into_iter()
    .filter(|(_, i)| *i != StatuspalImpact::None)
    .map(|(s, _)| s)
    .collect()
}

/// Renders the templates of one Statuspal channel at `prefix`
/// (`receivers[2].channels[0]`).
fn check_statuspal(prefix: &str, cfg: &StatuspalConfig, report: &mut Report) {
    let t = &cfg.templates;
    let fields: [(&str, &str, Status); 6] = [
        ("title", &t.title, Status::Firing),
        ("created", &t.created, Status::Firing),
        ("update", &t.update, Status::Firing),
        ("escalated", &t.escalated, Status::Firing),
        ("deescalated", &t.deescalated, Status::Firing),
        ("resolved", &t.resolved, Status::Resolved),
    ];
    let mut parsed = Vec::with_capacity(fields.len());
    for (field, src, status) in fields {
        let key = format!("{prefix}.templates.{field}");
        report.templates += 1;
        match StatuspalTemplate::parse(&format!("templates.{field}"), src) {
            Ok(t) => parsed.push((field, key, t, status)),
            // Building the channel refuses it first; said here too in case.
            Err(e) => report.problems.push(Problem {
                key,
                message: e.to_string(),
            }),
        }
    }
    let labels: Vec<String> = parsed
        .iter()
        .flat_map(|(_, _, t, _)| t.labels().map(str::to_owned))
        .collect();
    let severities = published(cfg);
    for (field, key, template, status) in parsed {
        if template.labels().any(|l| l == "alertname") {
            report.problems.push(Problem {
                key,
                message: "`{label:alertname}` is always empty: an alert's name is not one of \
                          its labels (Prometheus' and Alertmanager's `alertname` becomes the \
                          name); use `{name}`"
                    .to_owned(),
            });
            continue;
        }
        let fallback = if field == "title" {
            "`Service issue`"
        } else {
            "the title"
        };
        'samples: for severity in &severities {
            for (what, alert) in samples(*severity, status, &labels) {
                report.renders += 1;
                let out = template.render(&alert);
                if out.trim().is_empty() {
                    report.problems.push(Problem {
                        key: key.clone(),
                        message: format!(
                            "renders empty for {what} ({}), so the status page would show {fallback} instead; \
                             add text outside the placeholders, or use {{summary}} or {{name}}",
                            why_empty(&template, &alert)
                        ),
                    });
                    break 'samples;
                }
            }
        }
    }
}

/// Renders every template of `cfg` against the sample alerts.
pub fn check(cfg: &RouterConfig) -> Report {
    let mut report = Report::default();
    for (i, r) in cfg.receivers.iter().enumerate() {
        for (j, ch) in r.channels.iter().enumerate() {
            if let ChannelConfig::Statuspal(sp) = ch {
                check_statuspal(&format!("receivers[{i}].channels[{j}]"), sp, &mut report);
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert::new(Severity::Critical, "AccuracyDrop")
            .with_summary("Checkout <b>failing</b> [x](http://e)")
            .with_label("service", "checkout")
            .with_source(Source::model("bikes"))
    }

    #[test]
    fn renders_the_statuspal_language() {
        assert_eq!(
            render(
                "{{x}} {summary} / {name} / {severity} / {model} / {label:service} / {label:none}.",
                &alert()
            ),
            "{x} Checkout \u{2039}b\u{203a}failing\u{2039}/b\u{203a} [x] (http://e) / AccuracyDrop / critical / bikes / checkout / ."
        );
        assert_eq!(
            render("{summary}", &Alert::new(Severity::Info, "OnlyName")),
            "OnlyName"
        );
        let t = StatuspalTemplate::parse("t", "{label:a} {name} {label:b}").unwrap();
        assert_eq!(t.labels().collect::<Vec<_>>(), ["a", "b"]);
    }

    fn statuspal(templates: &str, severity: &str) -> RouterConfig {
        let text = format!(
            "[[receivers]]\nname = \"s\"\nchannels = [{{ type = \"statuspal\", api_key = \"k\", subdomain = \"acme\", templates = {templates}, severity = {severity} }}]\n"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn defaults_render_for_every_sample() {
        let r = check(&statuspal("{}", "{}"));
        assert_eq!(r.problems, []);
        assert_eq!(r.templates, 6);
        // error and critical are published by default: 2 severities × 3 samples × 6.
        assert_eq!(r.renders, 36);
    }

    #[test]
    fn empty_renderings_and_alertname_are_found() {
        let r = check(&statuspal(
            r#"{ title = "{model}", created = "{label:customer_text}", resolved = " ", update = "{label:alertname} fired" }"#,
            "{}",
        ));
        let keys: Vec<(&str, &str)> = r
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.message.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "receivers[0].channels[0].templates.title",
                    "renders empty for a firing error alert with only a name (no summary, model or labels) (the alert has no model), so the status page would show `Service issue` instead; add text outside the placeholders, or use {summary} or {name}"
                ),
                (
                    "receivers[0].channels[0].templates.created",
                    "renders empty for a firing error alert with only a name (no summary, model or labels) (the alert has no label `customer_text`), so the status page would show the title instead; add text outside the placeholders, or use {summary} or {name}"
                ),
                (
                    "receivers[0].channels[0].templates.update",
                    "`{label:alertname}` is always empty: an alert's name is not one of its labels (Prometheus' and Alertmanager's `alertname` becomes the name); use `{name}`"
                ),
                (
                    "receivers[0].channels[0].templates.resolved",
                    "renders empty for a resolved error alert with only a name (no summary, model or labels) (it has no text), so the status page would show the title instead; add text outside the placeholders, or use {summary} or {name}"
                ),
            ]
        );
        // Text around the placeholder is enough.
        let r = check(&statuspal(r#"{ title = "Model {model} degraded" }"#, "{}"));
        assert_eq!(r.problems, []);
    }

    #[test]
    fn only_published_severities_are_rendered() {
        // Nothing is published: no template is ever used, nothing can render empty.
        let none = r#"{ error = "none", critical = "none" }"#;
        let r = check(&statuspal(r#"{ title = "{model}" }"#, none));
        assert_eq!((r.renders, r.problems.len()), (0, 0));
        let info = r#"{ info = "minor", error = "none", critical = "none" }"#;
        let r = check(&statuspal(r#"{ title = "{model}" }"#, info));
        assert!(r.problems[0].message.contains("firing info alert"), "{r:?}");
    }

    #[test]
    fn samples_cover_empty_and_huge_fields() {
        let s = samples(Severity::Warning, Status::Resolved, &["team".into()]);
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|(_, a)| a.status == Status::Resolved));
        assert!(s[0].1.summary.is_empty() && s[0].1.labels.is_empty());
        assert_eq!(&s[1].1.labels["team"], "value");
        assert_eq!(s[2].1.summary.len(), HUGE);
        assert_eq!(s[2].1.labels["team"].len(), HUGE);
    }
}
