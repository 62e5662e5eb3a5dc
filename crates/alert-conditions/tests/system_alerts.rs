//! System conditions become alerts through threshold rules: the error rate over a
//! sliding window, latency quantiles, and process and host resource readings, each
//! with its window and sample size in the evidence.

use std::time::Duration;

use alert_conditions::rules::{Band, RuleSet, Sample, ThresholdRule, ThresholdSpec};
use alert_conditions::system::{ErrorRateWindow, LatencyWindow};
use alert_core::{Severity, Status, Timestamp};

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + s).unwrap()
}

#[test]
fn error_rate_fires_escalates_and_resolves_through_a_threshold_rule() {
    let mut window = ErrorRateWindow::new(Duration::from_secs(300));
    let mut rule = ThresholdRule::new(
        ThresholdSpec::new("HighErrorRate", "error_rate")
            .label("service", "scoring")
            .warning(Band::above(0.02))
            .critical(Band::above(0.05))
            .recovery(Band::above(0.01))
            .for_duration(Duration::from_secs(120)),
    )
    .unwrap();
    // Per-minute counters: errors out of 1000 requests each minute.
    let errors_per_minute = [5, 5, 40, 40, 40, 40, 120, 120, 0, 0, 0, 0, 0, 0, 0];
    let mut alerts = Vec::new();
    for (minute, errors) in errors_per_minute.into_iter().enumerate() {
        let now = t(60 * minute as i64);
        window.record(now, errors, 1000).unwrap();
        let sample = window.sample(now).unwrap();
        for a in rule.observe_sample(sample).unwrap() {
            alerts.push((minute, a));
        }
    }
    let seen: Vec<(usize, Status, Severity)> = alerts
        .iter()
        .map(|(m, a)| (*m, a.status, a.severity))
        .collect();
    // The 5-minute rate: minute 2 = 50/3000 (1.7%), 3 = 90/4000 (2.25%, breach
    // starts), 5 = 165/5000 (3.3%, breached for 2 minutes: warning), 6 = 280/5000
    // (5.6%: critical), ..., 11 = 120/5000 (2.4%), 12 = 0 (resolved).
    assert_eq!(
        seen,
        [
            (5, Status::Firing, Severity::Warning),
            (6, Status::Firing, Severity::Critical),
            (10, Status::Firing, Severity::Warning),
            (12, Status::Resolved, Severity::Warning),
        ]
    );
    let (_, warning) = &alerts[0];
    let e = &warning.evidence;
    assert_eq!(e.metric.as_deref(), Some("error_rate"));
    assert_eq!(e.observed, Some(165.0 / 5000.0));
    assert_eq!(e.threshold, Some(0.02));
    assert_eq!(e.window.as_deref(), Some("5m"));
    assert_eq!(e.sample_size, Some(5000));
    assert_eq!(warning.starts_at, Some(t(180)));
    let (_, resolved) = &alerts[3];
    assert_eq!(resolved.evidence.observed, Some(0.0));
    assert_eq!(resolved.fingerprint(), warning.fingerprint());
}

#[test]
fn latency_quantile_fires_through_a_rule_set() {
    let mut rules = RuleSet::from_specs([ThresholdSpec::new("HighLatencyP99", "latency_p99_ms")
        .label("service", "scoring")
        .warning(Band::above(250.0))
        .critical(Band::above(1000.0))])
    .unwrap();
    let mut window = LatencyWindow::new(Duration::from_secs(60));
    // 1..=100 ms: numpy.quantile(range(1, 101), 0.99) = 99.01, below the band.
    for ms in 1..=100 {
        window.record(t(0), f64::from(ms)).unwrap();
    }
    let p99 = window.quantile_sample(t(1), 0.99).unwrap().unwrap();
    assert_eq!((p99.value, p99.sample_size), (99.01, Some(100)));
    assert!(
        rules
            .observe_sample("latency_p99_ms", p99)
            .unwrap()
            .is_empty()
    );
    // A minute later, five slow requests among 100: p99 = 400 ms.
    let mut fresh = LatencyWindow::new(Duration::from_secs(60));
    for ms in std::iter::repeat_n(20.0, 95).chain([400.0; 5]) {
        fresh.record(t(60), ms).unwrap();
    }
    let p99 = fresh.quantile_sample(t(61), 0.99).unwrap().unwrap();
    let alerts = rules.observe_sample("latency_p99_ms", p99).unwrap();
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(
        (a.status, a.severity, a.name.as_str()),
        (Status::Firing, Severity::Warning, "HighLatencyP99")
    );
    assert_eq!(a.evidence.observed, Some(400.0));
    assert_eq!(a.evidence.threshold, Some(250.0));
    assert_eq!(a.evidence.window.as_deref(), Some("1m"));
    assert_eq!(a.evidence.sample_size, Some(100));
    // A minute later the slow requests have left the window: resolved.
    for ms in [20.0; 10] {
        fresh.record(t(130), ms).unwrap();
    }
    let p99 = fresh.quantile_sample(t(131), 0.99).unwrap().unwrap();
    assert_eq!((p99.value, p99.sample_size), (20.0, Some(10)));
    let alerts = rules.observe_sample("latency_p99_ms", p99).unwrap();
    assert_eq!(alerts[0].status, Status::Resolved);
}

#[test]
fn sample_context_is_typed_evidence() {
    let mut rule =
        ThresholdRule::new(ThresholdSpec::new("AccuracyLow", "accuracy").warning(Band::below(0.9)))
            .unwrap();
    let a = rule
        .observe_sample(
            Sample::new(t(0), 0.84)
                .window("1h")
                .sample_size(12_000)
                .segment("country=FR"),
        )
        .unwrap();
    let e = &a[0].evidence;
    assert_eq!(
        (
            e.observed,
            e.threshold,
            e.window.as_deref(),
            e.sample_size,
            e.segment.as_deref()
        ),
        (
            Some(0.84),
            Some(0.9),
            Some("1h"),
            Some(12_000),
            Some("country=FR")
        )
    );
    // A threshold on a value is no statistical test: no statistic, no p-value.
    assert_eq!(
        (e.test.as_deref(), e.statistic, e.p_value),
        (None, None, None)
    );
}

#[cfg(feature = "resources")]
mod resources {
    use alert_conditions::resources::{ResourceSample, ResourceSampler};
    use alert_conditions::rules::{Band, RuleSet, ThresholdSpec};
    use alert_core::{Severity, Status};

    use super::t;

    fn rules() -> RuleSet {
        RuleSet::from_specs([
            ThresholdSpec::new("HostMemoryHigh", "host_memory_ratio")
                .warning(Band::above(0.85))
                .critical(Band::above(0.95)),
            ThresholdSpec::new("ProcessCpuHigh", "process_cpu_percent").warning(Band::above(150.0)),
            ThresholdSpec::new("HostCpuHigh", "host_cpu_percent").warning(Band::above(90.0)),
        ])
        .unwrap()
    }

    fn reading(at: i64, memory_ratio: f64, process_cpu: f64) -> ResourceSample {
        ResourceSample {
            at: t(at),
            host_cpu_percent: Some(40.0),
            host_memory_used: (memory_ratio * 16e9) as u64,
            host_memory_total: 16_000_000_000,
            host_memory_ratio: memory_ratio,
            process_cpu_percent: Some(process_cpu),
            process_memory: Some(2_000_000_000),
        }
    }

    #[test]
    fn resource_readings_fire_and_resolve() {
        let mut set = rules();
        assert!(reading(0, 0.5, 20.0).observe(&mut set).unwrap().is_empty());
        let alerts = reading(10, 0.97, 180.0).observe(&mut set).unwrap();
        let fired: Vec<(&str, Severity, Option<f64>)> = alerts
            .iter()
            .map(|a| (a.name.as_str(), a.severity, a.evidence.observed))
            .collect();
        assert_eq!(
            fired,
            [
                ("HostMemoryHigh", Severity::Critical, Some(0.97)),
                ("ProcessCpuHigh", Severity::Warning, Some(180.0)),
            ]
        );
        let resolved = reading(20, 0.5, 20.0).observe(&mut set).unwrap();
        assert_eq!(resolved.len(), 2);
        assert!(resolved.iter().all(|a| a.status == Status::Resolved));
    }

    #[test]
    fn a_reading_of_this_machine_reaches_the_rules() {
        // Used host memory is never 0 on a running machine: the rule fires on the
        // real reading, whatever the machine.
        let mut set =
            RuleSet::from_specs([
                ThresholdSpec::new("HostMemoryUsed", "host_memory_used_bytes")
                    .warning(Band::above(0.0)),
            ])
            .unwrap();
        let mut sampler = ResourceSampler::new();
        let first = sampler.sample();
        let names: Vec<&str> = first.metrics().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"host_memory_ratio"), "{names:?}");
        assert!(!names.contains(&"host_cpu_percent"), "no CPU figure yet");
        let alerts = first.observe(&mut set).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alerts[0].evidence.observed,
            Some(first.host_memory_used as f64)
        );
    }
}
