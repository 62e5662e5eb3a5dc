//! `alerts check` renders Statuspal templates with the channel's own renderer
//! (`alert_cli::templates::render`, over `StatuspalTemplate`) and then judges the
//! result against the channel's documented fallbacks and limits. This test holds
//! that judgement to the real channel: for templates and alerts of every kind (the
//! check's samples, and values the channel neutralises), what `render` gives, after
//! those fallbacks and limits, is exactly what `StatuspalNotifier` publishes to a
//! fake Statuspal.

use alert_cli::templates::{render, samples};
use alert_core::fit::{Measure, truncate};
use alert_core::{Alert, Notifier, Severity, Source, Status};
use alert_statuspal::fake::FakeStatuspal;
use alert_statuspal::{StatuspalNotifier, StatuspalTemplates};

/// The channel's title: one line, `Service issue` when empty, 255 characters.
fn title(template: &str, alert: &Alert) -> String {
    let t = render(template, alert)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let t = if t.is_empty() {
        "Service issue".to_owned()
    } else {
        t
    };
    truncate(&t, 255, Measure::Chars).into_owned()
}

/// The channel's update text: trimmed, the title when empty, at most `limit`
/// characters (10,000; the first update makes room for its `\n\n[ref:FP]`).
fn description(template: &str, title_template: &str, alert: &Alert, limit: usize) -> String {
    let d = render(template, alert).trim().to_owned();
    let d = if d.is_empty() {
        title(title_template, alert)
    } else {
        d
    };
    truncate(&d, limit, Measure::Chars).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_matches_what_the_statuspal_channel_publishes() {
    let templates = [
        "{summary}",
        "{model}",
        "  {label:team}  ",
        "{name} ({severity}) on {model}: {label:team}",
        "**Update**\n{summary}\n{{literal}} {label:missing}",
        "We are investigating: {summary} <b>{label:team}</b>",
    ];
    let mut alerts: Vec<Alert> = samples(Severity::Critical, Status::Firing, &["team".into()])
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    alerts.push(
        Alert::new(Severity::Critical, "Hostile")
            .with_summary("<script>x</script> [link](https://evil.example)\n\u{202e}line2\u{7}")
            .with_label("team", "  <ml>\tteam  ")
            .with_source(Source::model("bi\nkes")),
    );
    let mut failures = Vec::new();
    for (n, template) in templates.iter().enumerate() {
        let fake = FakeStatuspal::start().await.unwrap();
        fake.set_rate_limit(None);
        let mut cfg = fake.config();
        cfg.templates = StatuspalTemplates {
            title: (*template).to_owned(),
            created: (*template).to_owned(),
            resolved: (*template).to_owned(),
            ..StatuspalTemplates::default()
        };
        let channel = StatuspalNotifier::new(cfg).unwrap();
        for (i, alert) in alerts.iter().enumerate() {
            // A label makes each (template, alert) its own incident.
            let alert = alert.clone().with_label("case", format!("{n}-{i}"));
            channel.notify(&alert).await.unwrap();
            let resolved = alert.clone().with_status(Status::Resolved);
            channel.notify(&resolved).await.unwrap();
            let incidents = fake.incidents();
            assert_eq!(incidents.len(), 1, "template {template:?}, alert {i}");
            let incident = &incidents[0];
            if incident.title != title(template, &alert) {
                failures.push(format!(
                    "template {template:?}, alert {i}: title {:?}, rendered {:?}",
                    incident.title.chars().take(120).collect::<String>(),
                    title(template, &alert)
                        .chars()
                        .take(120)
                        .collect::<String>()
                ));
            }
            // The first update ends with the channel's lookup marker, `[ref:FP]`.
            let published: Vec<&str> = incident
                .updates
                .iter()
                .map(|u| {
                    let d = u.description.as_str();
                    d.rfind("\n\n[ref:").map_or(d, |i| &d[..i])
                })
                .collect();
            let expected = [
                description(
                    template,
                    template,
                    &alert,
                    10_000 - "\n\n[ref:0123456789abcdef]".len(),
                ),
                description(template, template, &resolved, 10_000),
            ];
            if published != expected {
                let short = |v: &[&str]| -> Vec<String> {
                    v.iter().map(|s| s.chars().take(120).collect()).collect()
                };
                failures.push(format!(
                    "template {template:?}, alert {i}:\n  published {:?}\n  rendered  {:?}",
                    short(&published),
                    short(&[expected[0].as_str(), expected[1].as_str()])
                ));
            }
            fake.delete_incident(incident.id);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
