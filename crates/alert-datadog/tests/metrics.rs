//! ML metrics against the Datadog fake: gzip bodies, the 512 KB split, 413 resplits
//! and partial failures.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::time::Duration;

use alert_core::{Retry, Timestamp};
use alert_datadog::fake::{FAKE_API_KEY, Failure, FakeDatadog};
use alert_datadog::{
    DatadogConfig, DatadogMetrics, DatadogNotifier, MAX_COMPRESSED_BYTES, MAX_DECOMPRESSED_BYTES,
    MetricKind, Series,
};
use serde_json::{Value, json};

const T0: i64 = 1_795_500_000;

fn at(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(s).expect("in range")
}

fn gunzip(body: &[u8]) -> Value {
    let mut s = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut s)
        .expect("a gzip body");
    serde_json::from_str(&s).expect("JSON inside")
}

async fn start() -> (FakeDatadog, DatadogMetrics) {
    let fake = FakeDatadog::start().await.expect("fake");
    let m = DatadogMetrics::new(&fake.config().with_host("trainer-1")).expect("valid");
    (fake, m)
}

/// A simple deterministic generator, so bodies are hard to compress.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }
    /// `n` random lower-case letters and digits.
    fn word(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(ALPHABET[((self.next() >> 30) % 36) as usize]))
            .collect()
    }
}

#[tokio::test]
async fn gzip_bodies_decompress_to_the_expected_series() {
    let (fake, m) = start().await;
    let report = m
        .submit(vec![
            Series::gauge("ml.accuracy", 0.81)
                .at(at(T0))
                .with_tag("model", "Bikes"),
            Series::count("ml.predictions", 12_000.0, Duration::from_secs(3600))
                .at(at(T0))
                .with_raw_tag("env:prod"),
            Series::new("ml.drift.psi", MetricKind::Gauge)
                .with_point(at(T0 - 60), 0.1)
                .with_point(at(T0), 0.31)
                .with_tag("feature", "age")
                .with_unit("fraction")
                .with_host("scorer-2"),
        ])
        .await
        .expect("accepted");
    assert_eq!((report.requests, report.series, report.points), (1, 3, 4));
    let reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/v2/series")
    );
    assert_eq!(r.header("dd-api-key"), Some(FAKE_API_KEY));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.body[..2], &[0x1f, 0x8b], "gzip magic");
    assert_eq!(report.compressed_bytes, r.body.len());
    let host = |h: &str| json!([{"name": h, "type": "host"}]);
    assert_eq!(
        gunzip(&r.body),
        json!({"series": [
            {"metric": "ml.accuracy", "type": 3, "points": [{"timestamp": T0, "value": 0.81}],
             "tags": ["model:bikes"], "resources": host("trainer-1")},
            {"metric": "ml.predictions", "type": 1, "points": [{"timestamp": T0, "value": 12000.0}],
             "tags": ["env:prod"], "interval": 3600, "resources": host("trainer-1")},
            {"metric": "ml.drift.psi", "type": 3,
             "points": [{"timestamp": T0 - 60, "value": 0.1}, {"timestamp": T0, "value": 0.31}],
             "tags": ["feature:age"], "unit": "fraction", "resources": host("scorer-2")},
        ]})
    );
    // The fake decoded the same thing.
    assert_eq!(fake.series().len(), 3);
    assert_eq!(
        fake.series_requests()[0].content_encoding.as_deref(),
        Some("gzip")
    );
}

fn noisy_series(n: usize, seed: u64) -> Vec<Series> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|i| {
            Series::gauge(
                format!("ml.feature_{}.drift", i % 50),
                ((rng.next() >> 20) % 1_000_000) as f64 / 997.0,
            )
            .at(at(T0))
            .with_tag("run", &rng.word(32))
            .with_tag("segment", &rng.word(32))
            .with_tag("batch", &rng.word(32))
        })
        .collect()
}

fn identity(v: &Value) -> (String, String, String) {
    (
        v["metric"].as_str().unwrap_or_default().to_owned(),
        v["tags"].to_string(),
        v["points"].to_string(),
    )
}

#[tokio::test]
async fn large_submissions_are_split_under_512_kb() {
    let (fake, m) = start().await;
    // About 1.6 MB of JSON that compresses poorly: over 512,000 bytes once gzipped.
    let input = noisy_series(8_000, 7);
    let want: BTreeSet<_> = input
        .iter()
        .map(|s| {
            let v = serde_json::json!({
                "metric": s.metric, "tags": s.tags,
                "points": [{"timestamp": s.points[0].timestamp, "value": s.points[0].value}],
            });
            identity(&v)
        })
        .collect();
    let report = m.submit(input).await.expect("accepted");
    let reqs = fake.series_requests();
    assert!(
        reqs.len() >= 2,
        "{} requests: {:?}",
        reqs.len(),
        reqs.iter()
            .map(|r| (r.compressed_bytes, r.decompressed_bytes))
            .collect::<Vec<_>>()
    );
    assert_eq!(report.requests, reqs.len());
    assert_eq!(report.resplits, 0, "split before sending, no 413");
    assert_eq!(fake.recorder().len(), reqs.len());
    for r in &reqs {
        assert!(
            r.compressed_bytes <= MAX_COMPRESSED_BYTES,
            "{}",
            r.compressed_bytes
        );
        assert!(
            r.decompressed_bytes < MAX_DECOMPRESSED_BYTES,
            "{}",
            r.decompressed_bytes
        );
    }
    let total: usize = reqs.iter().map(|r| r.compressed_bytes).sum();
    assert!(
        total > MAX_COMPRESSED_BYTES,
        "the input needed splitting: {total}"
    );
    let got: Vec<_> = fake.series().iter().map(identity).collect();
    assert_eq!(got.len(), 8_000, "each series exactly once");
    let got: BTreeSet<_> = got.into_iter().collect();
    let missing: Vec<_> = want.difference(&got).take(3).collect();
    let extra: Vec<_> = got.difference(&want).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
}

#[tokio::test]
async fn bodies_are_kept_under_the_decompressed_limit() {
    let (fake, m) = start().await;
    // Compresses very well, but is more than 5 MB of JSON (5,242,880 bytes).
    let input: Vec<Series> = (0..40_000)
        .map(|i| {
            Series::gauge("ml.requests.latency_bucket", 1.0)
                .at(at(T0 + i % 60))
                .with_tag("model", "bikes")
        })
        .collect();
    let report = m.submit(input).await.expect("accepted");
    let reqs = fake.series_requests();
    assert!(reqs.len() >= 2);
    assert_eq!(report.series, 40_000);
    for r in &reqs {
        assert!(r.decompressed_bytes < MAX_DECOMPRESSED_BYTES);
        assert!(r.compressed_bytes <= MAX_COMPRESSED_BYTES);
    }
    assert_eq!(fake.series().len(), 40_000);
}

#[tokio::test]
async fn a_413_splits_the_request_and_resends() {
    let (fake, m) = start().await;
    // A proxy (here: the fake) with a smaller limit than Datadog's.
    fake.set_series_limits(20_000, 1_000_000);
    let input = noisy_series(1_500, 3);
    let report = m.submit(input).await.expect("accepted after splitting");
    assert!(report.resplits >= 1, "{report:?}");
    assert_eq!(report.series, 1_500);
    assert_eq!(fake.series().len(), 1_500);
    for r in fake.series_requests() {
        assert!(r.compressed_bytes <= 20_000);
    }
    // One point that cannot be split any more: permanent.
    fake.fail_next(Failure::PayloadTooLarge);
    let e = m
        .submit(vec![Series::gauge("ml.one", 1.0)])
        .await
        .expect_err("cannot split one point");
    assert_eq!(
        (e.error.kind(), e.error.status(), e.retryable()),
        ("rejected", Some(413), Retry::Never)
    );
    assert_eq!(e.unsent.len(), 1);
    assert_eq!(e.unsent[0].metric, "ml.one");
}

#[tokio::test]
async fn a_failed_request_returns_exactly_what_was_not_sent() {
    let (fake, m) = start().await;
    let m = m.with_max_payload(8_000, 60_000);
    let input = noisy_series(600, 11);
    let batches = m.encode(input.clone()).expect("encodes");
    assert!(batches.len() >= 3, "{}", batches.len());
    fake.pass_next();
    fake.fail_next(Failure::ServerError {
        status: 503,
        retry_after: None,
    });
    let e = m.submit(input).await.expect_err("second request fails");
    assert_eq!(e.retryable(), Retry::Backoff);
    assert_eq!(e.report.requests, 1);
    assert_eq!(e.report.series, batches[0].series().len());
    assert_eq!(e.unsent.len(), 600 - batches[0].series().len());
    assert!(
        e.to_string()
            .starts_with("datadog: server error (HTTP 503)"),
        "{e}"
    );
    // Retrying the unsent series completes the submission, nothing twice.
    let report = m.submit(e.unsent).await.expect("retry accepted");
    assert_eq!(report.series + e.report.series, 600);
    assert_eq!(fake.series().len(), 600);
}

#[tokio::test]
async fn refused_keys_and_bad_values() {
    let fake = FakeDatadog::start().await.expect("fake");
    let m = DatadogMetrics::new(&DatadogConfig::new("not-the-key-0000").with_base_url(fake.url()))
        .expect("valid");
    let e = m
        .submit(vec![Series::gauge("ml.x", 1.0)])
        .await
        .expect_err("refused");
    assert_eq!(e.error.kind(), "unauthorized");
    assert!(e.error.disables_destination());
    assert!(!format!("{e} {e:?}").contains("not-the-key-0000"));

    let n = DatadogNotifier::new(fake.config()).expect("valid");
    let m = n.metrics();
    let report = m
        .submit(vec![
            Series::gauge("ml.nan", f64::NAN),
            Series::gauge("ml.ok", 2.0).with_point(Timestamp::now(), f64::INFINITY),
        ])
        .await
        .expect("accepted");
    assert_eq!(
        (report.series, report.points, report.skipped_points),
        (1, 1, 2)
    );
    assert_eq!(
        report.warnings,
        ["metric `ml.nan`: no finite point, series not sent"]
    );
    let e = m
        .submit(vec![Series::gauge("1234", 1.0)])
        .await
        .expect_err("bad name");
    assert_eq!(e.error.kind(), "invalid_alert");
    assert!(e.error.to_string().contains("\"1234\""), "{}", e.error);
    assert_eq!(fake.series().len(), 1);
}
