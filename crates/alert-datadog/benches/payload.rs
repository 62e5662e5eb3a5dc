//! What building and sending Datadog payloads costs.
//!
//! * `event_body/*`: rendering, fitting, escaping and tagging one alert into the
//!   event JSON (no network).
//! * `series_encode/10k`: normalising, splitting and gzip-compressing 10,000 series.
//! * `notify_fake/sequential`: one `notify` round trip to the local fake
//!   (`FakeDatadog`), HTTP/1.1 keep-alive on 127.0.0.1.
//!
//! Run: `cargo bench -p alert-datadog --features fake --bench payload`.

use std::hint::black_box;

use alert_core::{Notifier, Timestamp};
use alert_datadog::fake::FakeDatadog;
use alert_datadog::{DatadogConfig, DatadogMetrics, DatadogNotifier, Series};
use alert_testkit::corpus;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn case(name: &str) -> alert_core::Alert {
    corpus::cases()
        .into_iter()
        .find(|c| c.name == name)
        .expect("corpus case")
        .alert
}

fn event_body(c: &mut Criterion) {
    let n =
        DatadogNotifier::new(DatadogConfig::new("bench-key").with_host("bench")).expect("valid");
    let mut g = c.benchmark_group("event_body");
    for name in [
        "severity-error",
        "full-evidence",
        "message-100kb",
        "labels-1000",
        "injection",
    ] {
        let alert = case(name);
        g.bench_function(name, |b| {
            b.iter(|| black_box(n.event_body(black_box(&alert))))
        });
    }
    g.finish();
}

fn series_encode(c: &mut Criterion) {
    let m =
        DatadogMetrics::new(&DatadogConfig::new("bench-key").with_host("bench")).expect("valid");
    let now = Timestamp::now();
    let series: Vec<Series> = (0..10_000)
        .map(|i| {
            Series::gauge(format!("ml.feature_{}.psi", i % 200), f64::from(i) * 0.001)
                .at(now)
                .with_tag("model", "bikes")
                .with_tag("segment", &format!("s{}", i % 37))
        })
        .collect();
    let mut g = c.benchmark_group("series_encode");
    g.throughput(Throughput::Elements(series.len() as u64));
    g.bench_function("10k", |b| {
        b.iter_batched(
            || series.clone(),
            |s| black_box(m.encode(s).expect("encodes")),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn notify_fake(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let fake = rt.block_on(FakeDatadog::start()).expect("fake");
    let n = DatadogNotifier::new(fake.config()).expect("valid");
    let alert = case("full-evidence");
    let mut g = c.benchmark_group("notify_fake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sequential", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(n.notify(&alert).await.expect("delivered"));
        })
    });
    g.finish();
    // Keep the fake's record from growing without bound across runs.
    drop(fake.take_events());
}

criterion_group!(benches, event_body, series_encode, notify_fake);
criterion_main!(benches);
