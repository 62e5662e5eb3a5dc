//! The delivery layers, with Tokio's paused clock and scripted notifiers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Layer, Notifier, NotifyError, Receipt, Result, Severity, async_trait};
use alert_router::delivery::{
    BreakerConfig, BreakerState, DeliveryExt, FallbackLayer, FallbackOn, NotifierBuilder,
    RateLimit, RateLimitLayer, RetryDecision, RetryPolicy, is_circuit_open, is_disabled,
};
use alert_testkit::{MemoryNotifier, ScriptedNotifier, Step};
use tokio::time::Instant;

fn alert() -> Alert {
    Alert::new(Severity::Error, "AccuracyDrop").with_label("model", "bikes")
}

fn server_error() -> NotifyError {
    NotifyError::Server {
        channel: "s",
        status: Some(502),
        message: "bad gateway".into(),
        retry_after: None,
    }
}

fn rate_limited(secs: u64) -> NotifyError {
    NotifyError::RateLimited {
        channel: "s",
        retry_after: Some(Duration::from_secs(secs)),
    }
}

fn no_jitter(attempts: u32) -> RetryPolicy {
    RetryPolicy::none()
        .with_max_attempts(attempts)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(8))
        .with_jitter(0.0)
}

// ---------- retry ----------

#[tokio::test(start_paused = true)]
async fn retry_backs_off_exponentially_then_succeeds() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![
            Step::fail(server_error()),
            Step::fail(server_error()),
            Step::fail(server_error()),
        ],
    ));
    let r = n.clone().with_retry(no_jitter(5));
    let t0 = Instant::now();
    r.notify(&alert())
        .await
        .expect("delivered on the 4th attempt");
    assert_eq!(n.attempts(), 4);
    // 1 s + 2 s + 4 s of backoff.
    assert_eq!(t0.elapsed(), Duration::from_secs(7));
    assert_eq!(n.delivered().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_caps_backoff_and_stops_at_max_attempts() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        (0..10).map(|_| Step::fail(server_error())).collect(),
    ));
    let r = n.clone().with_retry(no_jitter(6));
    let t0 = Instant::now();
    let e = r.notify(&alert()).await.unwrap_err();
    assert_eq!(e.kind(), "server");
    assert_eq!(n.attempts(), 6);
    // 1 + 2 + 4 + 8 + 8 (capped at max_backoff).
    assert_eq!(t0.elapsed(), Duration::from_secs(23));
}

#[tokio::test(start_paused = true)]
async fn retry_never_retries_permanent_errors() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(NotifyError::Rejected {
            channel: "s",
            status: Some(400),
            message: "bad".into(),
        })],
    ));
    let t0 = Instant::now();
    let e = n
        .clone()
        .with_retry(no_jitter(5))
        .notify(&alert())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "rejected");
    assert_eq!(n.attempts(), 1);
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_honours_retry_after_and_caps_it() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(rate_limited(30)), Step::fail(rate_limited(7200))],
    ));
    let policy = no_jitter(5).with_max_retry_after(Duration::from_secs(60));
    let t0 = Instant::now();
    n.clone().with_retry(policy).notify(&alert()).await.unwrap();
    // 30 s as asked, then 7200 s capped to 60 s; no jitter on server delays.
    assert_eq!(t0.elapsed(), Duration::from_secs(90));
    assert_eq!(n.attempts(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_respects_the_deadline() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(rate_limited(20)), Step::fail(rate_limited(50))],
    ));
    let policy = no_jitter(10).with_deadline(Some(Duration::from_secs(60)));
    let t0 = Instant::now();
    let e = n
        .clone()
        .with_retry(policy)
        .notify(&alert())
        .await
        .unwrap_err();
    // Waited 20 s; the next wait (50 s) would end past the 60 s deadline.
    assert_eq!(t0.elapsed(), Duration::from_secs(20));
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(n.attempts(), 2);
}

#[test]
fn policy_decisions_and_jitter_bounds() {
    let p = RetryPolicy::recommended();
    assert_eq!(p, RetryPolicy::recommended());
    assert_eq!(RetryPolicy::default().max_attempts, 1);
    for attempt in 1..=12 {
        let d = p.backoff(attempt);
        let base = Duration::from_millis(500)
            .saturating_mul(1 << (attempt - 1))
            .min(Duration::from_secs(60));
        assert!(d <= base, "attempt {attempt}: {d:?} > {base:?}");
        assert!(
            d.as_secs_f64() >= base.as_secs_f64() * 0.75 - 1e-9,
            "attempt {attempt}: {d:?} below 75% of {base:?}"
        );
    }
    let none = RetryPolicy::none();
    assert!(matches!(
        none.decide(1, &server_error(), Duration::ZERO),
        RetryDecision::GiveUp(_)
    ));
    assert_eq!(
        no_jitter(3).decide(1, &rate_limited(3), Duration::ZERO),
        RetryDecision::RetryAfter(Duration::from_secs(3))
    );
}

// ---------- timeout ----------

#[tokio::test(start_paused = true)]
async fn timeout_is_per_attempt_inside_retry() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::Delay(Duration::from_secs(30)), Step::Ok],
    ));
    let stack = NotifierBuilder::new()
        .retry(no_jitter(3))
        .timeout(Duration::from_secs(5))
        .service(n.clone());
    let t0 = Instant::now();
    stack
        .notify(&alert())
        .await
        .expect("second attempt within its own timeout");
    // 5 s timeout, 1 s backoff, then an instant success.
    assert_eq!(t0.elapsed(), Duration::from_secs(6));
    assert_eq!(n.attempts(), 2);
    let e = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::Delay(Duration::from_secs(30))],
    ))
    .with_timeout(Duration::from_secs(2))
    .notify(&alert())
    .await
    .unwrap_err();
    assert!(
        matches!(e, NotifyError::Timeout { channel: "s", after } if after == Duration::from_secs(2))
    );
}

// ---------- rate limit ----------

#[tokio::test(start_paused = true)]
async fn rate_limit_spaces_calls_after_the_burst() {
    let mem = MemoryNotifier::new("m");
    let limited = mem.clone().with_rate_limit(RateLimit::per_second(2.0, 3));
    let t0 = Instant::now();
    let mut times = Vec::new();
    for _ in 0..7 {
        limited.notify(&alert()).await.unwrap();
        times.push(t0.elapsed());
    }
    // Three at once (the burst), then one every 500 ms.
    let ms: Vec<u128> = times.iter().map(|d| d.as_millis()).collect();
    assert_eq!(ms, vec![0, 0, 0, 500, 1000, 1500, 2000]);
    assert_eq!(mem.len(), 7);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_keeps_one_bucket_per_key() {
    let mem = MemoryNotifier::new("m");
    let layer = RateLimitLayer::keyed(RateLimit::per_second(1.0, 1), |alerts: &[Alert]| {
        alerts[0]
            .labels
            .get("channel")
            .unwrap_or_default()
            .to_owned()
    });
    let limited = layer.layer(mem.clone());
    let a = alert().with_label("channel", "#ml");
    let b = alert().with_label("channel", "#ops");
    let t0 = Instant::now();
    limited.notify(&a).await.unwrap();
    limited.notify(&b).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "different keys do not wait for each other"
    );
    limited.notify(&a).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(1),
        "same key waits for a token"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_shrinks_the_bucket_until_the_reset() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(rate_limited(10))],
    ));
    let limited = n.clone().with_rate_limit(RateLimit::per_second(10.0, 10));
    let t0 = Instant::now();
    assert_eq!(
        limited.notify(&alert()).await.unwrap_err().kind(),
        "rate_limited"
    );
    // Nothing goes out before the reset.
    limited.notify(&alert()).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    // Then, until as long again, half the rate and no burst: 200 ms apart.
    let t1 = Instant::now();
    for _ in 0..3 {
        limited.notify(&alert()).await.unwrap();
    }
    assert_eq!(t1.elapsed(), Duration::from_millis(600));
    // After the shrink period the full burst is available again.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let t2 = Instant::now();
    for _ in 0..10 {
        limited.notify(&alert()).await.unwrap();
    }
    assert_eq!(t2.elapsed(), Duration::ZERO);
}

/// A bogus `Retry-After` (a billion seconds, or a date far ahead) must not block
/// the destination for longer than `MAX_RETRY_AFTER` (15 minutes): the wait for a
/// token is outside the per-attempt timeout, so an uncapped delay would freeze the
/// channel.
#[tokio::test(start_paused = true)]
async fn a_429_with_a_huge_retry_after_blocks_the_bucket_for_at_most_15_minutes() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(NotifyError::RateLimited {
            channel: "s",
            retry_after: Some(Duration::from_secs(1_000_000_000)),
        })],
    ));
    let limited = n.clone().with_rate_limit(RateLimit::per_second(10.0, 10));
    let t0 = Instant::now();
    assert_eq!(
        limited.notify(&alert()).await.unwrap_err().kind(),
        "rate_limited"
    );
    limited.notify(&alert()).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(15 * 60));
    assert_eq!(n.attempts(), 2);
}

#[test]
fn per_channel_defaults_are_documented_values() {
    let shape = |kind: &str| RateLimit::for_channel(kind).map(|l| (l.rate, l.burst));
    assert_eq!(shape("slack"), Some((1.0, 2)));
    assert_eq!(shape("discord"), Some((2.5, 5)));
    assert_eq!(shape("statuspal"), Some((10.0, 100)));
    assert_eq!(shape("datadog"), Some((10.0, 20)));
    assert_eq!(shape("desktop"), Some((2.0, 5)));
    assert_eq!(shape("webhook"), None);
    assert_eq!(shape("my-custom-channel"), None);
}

// ---------- concurrency ----------

#[derive(Debug, Default)]
struct Gauge {
    now: Mutex<(usize, usize)>,
}

#[derive(Debug)]
struct Slow(Arc<Gauge>);

#[async_trait]
impl Notifier for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    async fn notify(&self, _: &Alert) -> Result<Receipt> {
        {
            let mut g = self.0.now.lock().unwrap();
            g.0 += 1;
            g.1 = g.1.max(g.0);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.now.lock().unwrap().0 -= 1;
        Ok(Receipt::new("slow"))
    }
}

#[tokio::test(start_paused = true)]
async fn concurrency_limit_bounds_calls_in_flight() {
    let gauge = Arc::new(Gauge::default());
    let limited = Arc::new(Slow(gauge.clone()).with_concurrency_limit(3));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..9)
        .map(|_| {
            let l = limited.clone();
            tokio::spawn(async move { l.notify(&alert()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(gauge.now.lock().unwrap().1, 3, "never more than 3 at once");
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(3),
        "9 calls of 1 s, 3 at a time"
    );
}

// ---------- circuit breaker ----------

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_n_failures_then_probes_and_closes() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        (0..4).map(|_| Step::fail(server_error())).collect(),
    ));
    let cfg = BreakerConfig::default()
        .with_threshold(3)
        .with_cool_down(Duration::from_secs(30));
    let b = n.clone().with_circuit_breaker(cfg);
    let h = b.handle();
    for _ in 0..3 {
        assert_eq!(b.notify(&alert()).await.unwrap_err().kind(), "server");
    }
    assert!(
        matches!(h.state(), BreakerState::Open { .. }),
        "{:?}",
        h.state()
    );
    // While open, calls fail at once without reaching the channel, retryable after
    // the rest of the cool-down.
    let e = b.notify(&alert()).await.unwrap_err();
    assert!(is_circuit_open(&e), "{e}");
    assert_eq!(
        e.retryable(),
        alert_core::Retry::After(Duration::from_secs(30))
    );
    assert_eq!(n.attempts(), 3);
    // After the cool-down, one probe; it fails: open again for twice as long.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(h.state(), BreakerState::HalfOpen);
    assert_eq!(b.notify(&alert()).await.unwrap_err().kind(), "server");
    assert_eq!(n.attempts(), 4);
    let e = b.notify(&alert()).await.unwrap_err();
    assert_eq!(
        e.retryable(),
        alert_core::Retry::After(Duration::from_secs(60))
    );
    // The next probe succeeds and closes the circuit.
    tokio::time::sleep(Duration::from_secs(60)).await;
    b.notify(&alert()).await.expect("probe delivered");
    assert_eq!(h.state(), BreakerState::Closed { failures: 0 });
    b.notify(&alert()).await.expect("closed again");
    assert_eq!(n.delivered().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn rejected_messages_and_rate_limits_do_not_open_the_breaker() {
    let mut script: Vec<Step> = (0..5)
        .map(|_| {
            Step::fail(NotifyError::Rejected {
                channel: "s",
                status: Some(400),
                message: "bad".into(),
            })
        })
        .collect();
    script.extend((0..5).map(|_| Step::fail(rate_limited(1))));
    let n = Arc::new(ScriptedNotifier::new("s", script));
    let b = n
        .clone()
        .with_circuit_breaker(BreakerConfig::default().with_threshold(2));
    for _ in 0..10 {
        assert!(b.notify(&alert()).await.is_err());
    }
    assert!(matches!(b.handle().state(), BreakerState::Closed { .. }));
    assert_eq!(n.attempts(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_gone_destination_disables_the_receiver_until_enabled() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(NotifyError::Gone {
            channel: "s",
            status: Some(404),
            message: "Unknown Webhook".into(),
        })],
    ));
    let b = n.clone().with_circuit_breaker(BreakerConfig::default());
    let h = b.handle();
    assert_eq!(b.notify(&alert()).await.unwrap_err().kind(), "gone");
    match h.state() {
        BreakerState::Disabled { reason, .. } => {
            assert!(reason.contains("Unknown Webhook"), "{reason}")
        }
        other => panic!("expected disabled, got {other:?}"),
    }
    let e = b.notify(&alert()).await.unwrap_err();
    assert!(is_disabled(&e) && e.disables_destination(), "{e}");
    assert_eq!(n.attempts(), 1, "a disabled receiver is not called");
    let json = serde_json::to_value(h.state()).unwrap();
    assert_eq!(json["state"], "disabled");
    h.enable();
    b.notify(&alert()).await.expect("re-enabled");
    assert_eq!(n.attempts(), 2);
}

/// A channel that panics on its first `panics` calls, then succeeds.
#[derive(Debug, Default)]
struct Panicky {
    panics: usize,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Notifier for Panicky {
    fn name(&self) -> &str {
        "panicky"
    }
    async fn notify(&self, _: &Alert) -> Result<Receipt> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n < self.panics {
            panic!("panicky channel bug #{n}");
        }
        Ok(Receipt::new("panicky"))
    }
}

fn open_after_one(cool_down: u64) -> BreakerConfig {
    BreakerConfig::default()
        .with_threshold(1)
        .with_cool_down(Duration::from_secs(cool_down))
}

/// A half-open probe that is cancelled (its future dropped, as an outer timeout
/// does) must not leave the breaker waiting for it forever: the next call probes.
#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_lets_the_next_call_probe() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![
            Step::fail(server_error()),
            Step::Delay(Duration::from_secs(3600)),
        ],
    ));
    let b = n.clone().with_circuit_breaker(open_after_one(30));
    let h = b.handle();
    assert_eq!(b.notify(&alert()).await.unwrap_err().kind(), "server");
    assert!(matches!(h.state(), BreakerState::Open { .. }));
    tokio::time::sleep(Duration::from_secs(30)).await;
    // The probe hangs and is cancelled by a timeout outside the breaker.
    let probe = tokio::time::timeout(Duration::from_secs(5), b.notify(&alert())).await;
    assert!(
        probe.is_err(),
        "the probe was cancelled by the outer timeout"
    );
    assert_eq!(n.attempts(), 2);
    assert_eq!(h.state(), BreakerState::HalfOpen);
    // Before the drop guard this call was refused ("probe in flight") for ever; now
    // it is the new probe, and it is delivered.
    b.notify(&alert())
        .await
        .expect("the next call probes and is delivered");
    assert_eq!(h.state(), BreakerState::Closed { failures: 0 });
    assert_eq!(n.attempts(), 3);
}

/// A probe that panics counts as a failed probe (the circuit opens again, for
/// twice the cool-down), and does not leave the probe "in flight".
#[tokio::test(start_paused = true)]
async fn a_panicking_probe_reopens_the_circuit_and_is_not_left_in_flight() {
    let n = Arc::new(Panicky {
        panics: 2,
        ..Panicky::default()
    });
    let b = Arc::new(n.clone().with_circuit_breaker(open_after_one(30)));
    let h = b.handle();
    // First call: panics while closed, counted as a failure: open.
    let call = |b: Arc<alert_router::delivery::CircuitBreaker<Arc<Panicky>>>| async move {
        tokio::spawn(async move { b.notify(&alert()).await }).await
    };
    assert!(call(b.clone()).await.unwrap_err().is_panic());
    match h.state() {
        BreakerState::Open { last_error, .. } => {
            assert_eq!(last_error, "panicky: server error: the channel panicked")
        }
        other => panic!("expected open, got {other:?}"),
    }
    // The probe after the cool-down panics too: open again, for 60 s.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(call(b.clone()).await.unwrap_err().is_panic());
    let e = b.notify(&alert()).await.unwrap_err();
    assert!(is_circuit_open(&e), "{e}");
    assert_eq!(
        e.retryable(),
        alert_core::Retry::After(Duration::from_secs(60))
    );
    // The next probe goes through and closes the circuit.
    tokio::time::sleep(Duration::from_secs(60)).await;
    b.notify(&alert()).await.expect("delivered");
    assert_eq!(h.state(), BreakerState::Closed { failures: 0 });
    assert_eq!(n.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Refusals by an open breaker are not attempts for the retry layer: with 3
/// attempts and a breaker that opens after 2 failures, the third (real) attempt is
/// made after the cool-down, not used up by a refusal.
#[tokio::test(start_paused = true)]
async fn retry_does_not_count_breaker_refusals_as_attempts() {
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(server_error()), Step::fail(server_error())],
    ));
    let stack = NotifierBuilder::new()
        .retry(
            RetryPolicy::none()
                .with_max_attempts(3)
                .with_backoff(Duration::from_secs(1), Duration::from_secs(1))
                .with_jitter(0.0),
        )
        .circuit_breaker(
            BreakerConfig::default()
                .with_threshold(2)
                .with_cool_down(Duration::from_secs(30)),
        )
        .service(n.clone());
    let t0 = Instant::now();
    stack
        .notify(&alert())
        .await
        .expect("the third attempt, after the cool-down, is delivered");
    assert_eq!(n.attempts(), 3, "two failures and the probe");
    // Failure at 0 s, retry at 1 s fails and opens the circuit until 31 s; the
    // retry 1 s later is refused and waits the 29 s left.
    assert_eq!(t0.elapsed(), Duration::from_secs(31));
    // With a deadline shorter than the cool-down, the refusal gives up.
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(server_error()), Step::fail(server_error())],
    ));
    let stack = NotifierBuilder::new()
        .retry(
            RetryPolicy::none()
                .with_max_attempts(10)
                .with_backoff(Duration::from_secs(1), Duration::from_secs(1))
                .with_jitter(0.0)
                .with_deadline(Some(Duration::from_secs(10))),
        )
        .circuit_breaker(
            BreakerConfig::default()
                .with_threshold(2)
                .with_cool_down(Duration::from_secs(30)),
        )
        .service(n.clone());
    let e = stack.notify(&alert()).await.unwrap_err();
    assert!(is_circuit_open(&e), "{e}");
    assert_eq!(n.attempts(), 2);
}

// ---------- fallback ----------

#[tokio::test(start_paused = true)]
async fn fallback_takes_over_when_the_primary_is_unavailable() {
    let primary = Arc::new(ScriptedNotifier::new(
        "slack",
        vec![
            Step::fail(NotifyError::Unauthorized {
                channel: "slack",
                status: Some(403),
                message: "invalid_token".into(),
            }),
            Step::fail(server_error()),
        ],
    ));
    let backup = MemoryNotifier::new("desktop");
    let stack = NotifierBuilder::new()
        .fallback(Arc::new(backup.clone()))
        .circuit_breaker(BreakerConfig::default())
        .service(primary.clone());
    let r = stack
        .notify(&alert())
        .await
        .expect("delivered by the fallback");
    assert_eq!(r.channel, "desktop");
    assert_eq!(r.meta("fallback_from"), Some("slack"));
    assert_eq!(r.meta("primary_error"), Some("unauthorized"));
    // The primary is now disabled: the fallback keeps taking notifications.
    let r = stack.notify(&alert()).await.unwrap();
    assert_eq!(r.meta("primary_error"), Some("unavailable"));
    assert_eq!(primary.attempts(), 1);
    assert_eq!(backup.len(), 2);

    // A retryable error is not a reason to fall back (the retry layer or the outbox
    // tries the primary again) unless asked.
    let flaky = Arc::new(ScriptedNotifier::new(
        "slack",
        vec![Step::fail(server_error())],
    ));
    let other = MemoryNotifier::new("email");
    let f = FallbackLayer::new(Arc::new(other.clone())).layer(flaky.clone());
    assert_eq!(f.notify(&alert()).await.unwrap_err().kind(), "server");
    assert!(other.is_empty());
    let flaky = Arc::new(ScriptedNotifier::new(
        "slack",
        vec![Step::fail(server_error())],
    ));
    let f = FallbackLayer::new(Arc::new(other.clone()))
        .on(FallbackOn::AnyError)
        .layer(flaky);
    assert_eq!(f.notify(&alert()).await.unwrap().channel, "email");
}

// ---------- composition order ----------

/// A layer that logs when a call enters and leaves it.
#[derive(Clone)]
struct Trace(&'static str, Arc<Mutex<Vec<String>>>);

#[derive(Debug)]
struct Traced<N>(N, &'static str, Arc<Mutex<Vec<String>>>);

impl<N> Layer<N> for Trace {
    type Notifier = Traced<N>;
    fn layer(&self, inner: N) -> Traced<N> {
        Traced(inner, self.0, self.1.clone())
    }
}

#[async_trait]
impl<N: Notifier> Notifier for Traced<N> {
    fn name(&self) -> &str {
        self.0.name()
    }
    async fn notify(&self, a: &Alert) -> Result<Receipt> {
        self.2.lock().unwrap().push(format!("enter {}", self.1));
        let r = self.0.notify(a).await;
        self.2.lock().unwrap().push(format!("leave {}", self.1));
        r
    }
}

#[tokio::test]
async fn builder_puts_the_first_layer_outermost() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let stack = NotifierBuilder::new()
        .layer(Trace("a", log.clone()))
        .layer(Trace("b", log.clone()))
        .layer(Trace("c", log.clone()))
        .service(MemoryNotifier::new("m"));
    stack.notify(&alert()).await.unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        [
            "enter a", "enter b", "enter c", "leave c", "leave b", "leave a"
        ]
    );
    // The extension methods wrap what they are called on: last call outermost.
    let log2 = Arc::new(Mutex::new(Vec::new()));
    let ext = Trace("inner", log2.clone())
        .layer(MemoryNotifier::new("m"))
        .with_timeout(Duration::from_secs(1));
    let ext = Trace("outer", log2.clone()).layer(ext);
    ext.notify(&alert()).await.unwrap();
    assert_eq!(log2.lock().unwrap()[0], "enter outer");
}

#[tokio::test(start_paused = true)]
async fn recommended_order_retries_count_against_the_rate_limit() {
    // concurrency → retry → breaker → rate limit → timeout → channel.
    let n = Arc::new(ScriptedNotifier::new(
        "s",
        vec![Step::fail(server_error()), Step::fail(server_error())],
    ));
    let stack = NotifierBuilder::new()
        .concurrency_limit(1)
        .retry(
            RetryPolicy::none()
                .with_max_attempts(5)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(10)),
        )
        .circuit_breaker(BreakerConfig::default())
        .rate_limit(RateLimit::per_second(1.0, 1))
        .timeout(Duration::from_secs(5))
        .service(n.clone());
    let t0 = Instant::now();
    stack.notify(&alert()).await.unwrap();
    // Three attempts, each needing a token at 1/s: the retries waited for the
    // bucket (about 2 s), not just the 10 ms backoff.
    assert_eq!(n.attempts(), 3);
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(
        t0.elapsed() < Duration::from_millis(2100),
        "{:?}",
        t0.elapsed()
    );
    // And the recommended stack for a kind builds and delivers.
    let mem = MemoryNotifier::new("slack");
    let rec = NotifierBuilder::recommended("slack").service(mem.clone());
    rec.notify(&alert()).await.unwrap();
    assert_eq!(mem.len(), 1);
}
