//! Sequential sends through `DiscordNotifier` to the local `FakeDiscord` (HTTP/1.1 on
//! loopback, keep-alive): the whole path of one notification (render, fit to
//! Discord's limits, serialise with serenity's builders, send, the fake's
//! validation, read the receipt).
//!
//! `cargo bench -p alert-discord --features fake --bench notify`
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use alert_core::{Alert, Evidence, Notifier, Severity, Source, Timestamp};
use alert_discord::DiscordNotifier;
use alert_discord::fake::FakeDiscord;
use alert_testkit::corpus;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn typical() -> Alert {
    Alert::new(Severity::Error, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81 (threshold 0.90)")
        .with_message("The nightly evaluation on 12k labelled rows fell below threshold.")
        .with_label("model", "bikes")
        .with_label("team", "ml-platform")
        .with_runbook("https://runbooks.example/accuracy")
        .with_evidence(
            Evidence::metric("accuracy")
                .observed(0.81)
                .threshold(0.9)
                .baseline(0.93)
                .window("24h"),
        )
        .with_source(Source::model("bikes").version("3").environment("prod"))
        .with_starts_at(Timestamp::from_unix_seconds(1_795_500_000).expect("in range"))
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fake = rt.block_on(FakeDiscord::start()).expect("fake starts");
    let notifier = DiscordNotifier::new(fake.config()).expect("valid config");
    let huge = corpus::cases()
        .into_iter()
        .find(|c| c.name == "message-100kb-multibyte")
        .expect("corpus case")
        .alert;
    let group = corpus::groups()
        .into_iter()
        .find(|(n, _)| *n == "group-60")
        .expect("corpus group")
        .1;

    let mut g = c.benchmark_group("discord");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    let a = typical();
    g.bench_function("notify_typical", |b| {
        b.iter(|| {
            rt.block_on(notifier.notify(black_box(&a)))
                .expect("delivered")
        })
    });
    g.bench_function("notify_100kb_multibyte", |b| {
        b.iter(|| {
            rt.block_on(notifier.notify(black_box(&huge)))
                .expect("delivered")
        })
    });
    g.bench_function("notify_group_60", |b| {
        b.iter(|| {
            rt.block_on(notifier.notify_group(black_box(&group)))
                .expect("delivered")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
