//! Criterion benchmarks of the hot paths every notification takes through
//! `alert-core`: the fingerprint, label lookups, rendering and fitting by structure
//! (single alerts and digests). Figures: docs/benchmarks.md.
//!
//! ```text
//! cargo bench -p alert-core --bench core
//! ```
#![allow(missing_docs)]

use std::hint::black_box;

use alert_core::fit::{Measure, truncate};
use alert_core::render::{Style, render, render_full, render_group};
use alert_core::{Alert, Evidence, Severity, Source};
use criterion::{Criterion, criterion_group, criterion_main};

/// A typical ML alert: 4 labels, summary, message, evidence, source, runbook.
fn typical() -> Alert {
    Alert::new(Severity::Critical, "AccuracyDrop")
        .with_summary("Accuracy of bikes v7 fell to 0.81 (threshold 0.90)")
        .with_message("Accuracy over the last hour is 0.81, below the 0.90 floor for 45 minutes.")
        .with_label("model", "bikes")
        .with_label("env", "prod")
        .with_label("region", "eu-west-1")
        .with_label("team", "forecasting")
        .with_runbook("https://runbooks.example/accuracy")
        .with_evidence(
            Evidence::metric("accuracy")
                .observed(0.81)
                .threshold(0.9)
                .baseline(0.93),
        )
        .with_source(Source::model("bikes").version("7"))
}

/// A hostile one: a 100 KB multi-byte message and 1,000 labels.
fn huge() -> Alert {
    typical()
        .with_message("précision ש 🚨 ".repeat(7_000))
        .with_labels((0..1000).map(|i| (format!("label_{i}"), "välue".to_owned())))
}

fn fingerprint(c: &mut Criterion) {
    let a = typical();
    let many = typical().with_labels((0..20).map(|i| (format!("l{i}"), format!("v{i}"))));
    c.bench_function("fingerprint/4_labels", |b| {
        b.iter(|| black_box(&a).fingerprint())
    });
    c.bench_function("fingerprint/24_labels", |b| {
        b.iter(|| black_box(&many).fingerprint())
    });
}

/// Label lookups as routing and grouping make them: every name of a small map (an
/// alert's usual labels, plus `alertname`), then a name it lacks; and the same in
/// a map of 24.
fn labels(c: &mut Criterion) {
    let mut small = typical().labels;
    small.insert("alertname", "AccuracyDrop");
    let probes = ["alertname", "env", "model", "region", "team", "severity"];
    let many = typical()
        .with_labels((0..20).map(|i| (format!("l{i}"), format!("v{i}"))))
        .labels;
    for (name, map) in [
        ("labels/get_5_labels_6_names", &small),
        ("labels/get_24_labels_6_names", &many),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                probes
                    .iter()
                    .filter(|k| black_box(map).get(*k).is_some())
                    .count()
            })
        });
    }
}

fn rendering(c: &mut Criterion) {
    let a = typical();
    let h = huge();
    c.bench_function("render/typical_text_unbounded", |b| {
        b.iter(|| render_full(black_box(&a), Style::Text))
    });
    c.bench_function("render/typical_markdown_fit_3000", |b| {
        b.iter(|| render(black_box(&a), Style::Markdown, 3000, Measure::Chars))
    });
    c.bench_function("render/huge_markdown_fit_3000", |b| {
        b.iter(|| render(black_box(&h), Style::Markdown, 3000, Measure::Chars))
    });
    c.bench_function("render/huge_text_fit_2000_utf16", |b| {
        b.iter(|| render(black_box(&h), Style::Text, 2000, Measure::Utf16))
    });
    let text = "précision ש 🚨 ".repeat(7_000);
    c.bench_function("truncate/100kb_to_4000_utf16", |b| {
        b.iter(|| truncate(black_box(&text), 4000, Measure::Utf16).len())
    });
    let group: Vec<Alert> = (0..50)
        .map(|i| typical().with_label("instance", format!("i-{i}")))
        .collect();
    c.bench_function("render_group/50_alerts_markdown_fit_4000", |b| {
        b.iter(|| render_group(black_box(&group), Style::Markdown, 4000, Measure::Chars, 10))
    });
}

criterion_group!(benches, fingerprint, labels, rendering);
criterion_main!(benches);
