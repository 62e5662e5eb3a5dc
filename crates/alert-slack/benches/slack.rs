//! Sending through `SlackNotifier` to `FakeSlack` on 127.0.0.1: layout, fitting,
//! serialisation and one HTTP round trip per message.
//!
//! `cargo bench -p alert-slack --features fake`

use alert_core::{Alert, Evidence, Notifier, Severity, Source};
use alert_slack::SlackNotifier;
use alert_slack::fake::FakeSlack;
use criterion::{Criterion, criterion_group, criterion_main};

fn typical() -> Alert {
    Alert::new(Severity::Critical, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("Nightly eval fell below threshold.")
        .with_label("model", "bikes")
        .with_runbook("https://runbooks.example/accuracy")
        .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.9))
        .with_source(Source::model("bikes").version("3").environment("prod"))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let slack = rt.block_on(FakeSlack::start()).expect("fake");
    let api = SlackNotifier::new(slack.api_config()).expect("api");
    let hook = SlackNotifier::new(slack.webhook_config()).expect("webhook");
    let huge = typical()
        .with_message("x".repeat(100 * 1024))
        .with_labels((0..1000).map(|i| (format!("label_{i:04}"), format!("value-{i}"))));
    let group: Vec<Alert> = (0..60)
        .map(|i| typical().with_label("feature", format!("f{i}")))
        .collect();

    let mut g = c.benchmark_group("slack");
    g.bench_function("notify_web_api_typical", |b| {
        b.to_async(&rt)
            .iter(|| async { api.notify(&typical()).await.expect("sent") });
    });
    g.bench_function("notify_webhook_typical", |b| {
        b.to_async(&rt)
            .iter(|| async { hook.notify(&typical()).await.expect("sent") });
    });
    g.bench_function("notify_webhook_100kb_1000_labels", |b| {
        b.to_async(&rt)
            .iter(|| async { hook.notify(&huge).await.expect("sent") });
    });
    g.bench_function("notify_group_60_digest", |b| {
        b.to_async(&rt)
            .iter(|| async { hook.notify_group(&group).await.expect("sent") });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
