//! Fault injection against local fakes: 429 storms with Retry-After, 500s, slow
//! answers beyond the timeout, connection resets, garbage bodies, a server that is
//! down and comes back. Nothing is lost, delays are honoured, the breaker opens and
//! closes, other receivers are unaffected.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alert_core::{Alert, Severity, Timestamp};
use alert_router::delivery::{
    BreakerConfig, BreakerState, DeliveryExt, Outbox, RetryPolicy, new_notification_id,
};
use alert_router::store::{
    AttemptOutcome, AttemptQuery, MemoryStore, Notification, NotificationKind, Store,
};
use alert_webhook::fake::{FakeWebhook, Reply};
use alert_webhook::{WebhookConfig, WebhookNotifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn retry() -> RetryPolicy {
    RetryPolicy::none()
        .with_max_attempts(50)
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_jitter(0.0)
        .with_max_retry_after(Duration::from_secs(5))
}

fn notes(receiver: &str, channel: &str, n: usize) -> Vec<Notification> {
    (0..n)
        .map(|i| {
            let a = Alert::new(Severity::Error, "Drift")
                .with_label("receiver", receiver)
                .with_label("i", i.to_string());
            Notification::new(
                new_notification_id(),
                receiver,
                channel,
                format!("g{i}"),
                NotificationKind::Group,
                vec![a],
                Severity::Error,
                Timestamp::now(),
            )
        })
        .collect()
}

fn hook(url: &str) -> WebhookNotifier {
    WebhookNotifier::new(WebhookConfig::new(url.to_owned())).expect("valid")
}

async fn attempts(store: &MemoryStore) -> Vec<alert_router::store::DeliveryAttempt> {
    let mut v = store
        .query_attempts(&AttemptQuery::default())
        .await
        .unwrap();
    v.reverse();
    v
}

#[tokio::test]
async fn a_429_storm_with_retry_after_is_waited_out() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    sink.push_n(6, Reply::rate_limited(1));
    let store = Arc::new(MemoryStore::new());
    let outbox = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(hook(&sink.url())))
        .lane_concurrency(2)
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("team", "hook", 4)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(
        (sink.distinct(), sink.duplicates()),
        (4, 0),
        "all delivered once"
    );
    assert_eq!(sink.requests(), 10);
    // Every retry after a 429 came at least the advertised second later.
    let all = attempts(&store).await;
    let mut checked = 0;
    for a in all
        .iter()
        .filter(|a| a.error_kind.as_deref() == Some("rate_limited"))
    {
        let next = all
            .iter()
            .find(|b| b.notification_id == a.notification_id && b.attempt == a.attempt + 1)
            .expect("a retry followed");
        let gap = next.at.duration_since(a.at);
        assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

/// Waits (up to `limit`) until `cond` holds; event-free polling for states that,
/// once reached, last (so a slow machine cannot miss them).
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cond()
}

#[tokio::test]
async fn server_errors_open_the_breaker_which_closes_after_recovery() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    sink.push_n(8, Reply::text(500, "internal error"));
    let store = Arc::new(MemoryStore::new());
    // Cool-downs of 150 ms, doubling after each failed probe but at most 300 ms:
    // the five failed probes cost about 1.4 s of cool-downs, not 9.5 s.
    let guarded = hook(&sink.url()).with_circuit_breaker(
        BreakerConfig::default()
            .with_threshold(3)
            .with_cool_down(Duration::from_millis(150))
            .with_max_cool_down(Duration::from_millis(300)),
    );
    let breaker = guarded.handle();
    let outbox = Outbox::builder(store.clone())
        .channel_with_breaker("team", "hook", Arc::new(guarded), breaker.clone())
        .lane_concurrency(1)
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("team", "hook", 3)).await.unwrap();
    // Once open, the breaker stays open or half-open until the ninth request (the
    // first success): through five failed probes and their cool-downs. A poll
    // every 5 ms cannot miss that.
    assert!(
        eventually(Duration::from_secs(30), || !matches!(
            breaker.state(),
            BreakerState::Closed { .. }
        ))
        .await,
        "the breaker opened after 3 consecutive 500s"
    );
    assert!(matches!(
        outbox.channels()[0].breaker,
        Some(BreakerState::Open { .. }) | Some(BreakerState::HalfOpen)
    ));
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!((sink.distinct(), sink.duplicates()), (3, 0));
    assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    // The sink saw exactly the 8 scripted failures and the 3 deliveries: nothing
    // was sent while the circuit was open.
    assert_eq!(sink.requests(), 11);
    let all = attempts(&store).await;
    let summary: Vec<(AttemptOutcome, Option<&str>)> = all
        .iter()
        .map(|a| (a.outcome, a.error_kind.as_deref()))
        .collect();
    let failed = (AttemptOutcome::Failed, Some("server"));
    let delivered = (AttemptOutcome::Delivered, None);
    assert_eq!(
        summary,
        [vec![failed; 8], vec![delivered; 3]].concat(),
        "one history row per request; refusals by the open breaker are not attempts"
    );
    assert_eq!(outbox.stats().failed_attempts, 8);
}

#[tokio::test]
async fn slow_answers_beyond_the_timeout_are_retried_and_nothing_is_lost() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    // The first two requests are answered an hour later: far beyond the timeout, and
    // after the test, so they can never count as deliveries. The timeout is 5 s, so
    // a loaded machine answering the other requests slowly does not time them out.
    sink.push_n(2, Reply::ok().with_delay(Duration::from_secs(3600)));
    let store = Arc::new(MemoryStore::new());
    let outbox = Outbox::builder(store.clone())
        .channel(
            "team",
            "hook",
            Arc::new(hook(&sink.url()).with_timeout(Duration::from_secs(5))),
        )
        .lane_concurrency(2)
        .retry(retry())
        .start()
        .await
        .unwrap();
    let batch = notes("team", "hook", 3);
    outbox.submit_many(batch.clone()).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    let all = attempts(&store).await;
    let timed_out: Vec<&alert_router::store::DeliveryAttempt> = all
        .iter()
        .filter(|a| a.error_kind.as_deref() == Some("timeout"))
        .collect();
    assert_eq!(timed_out.len(), 2, "{all:?}");
    for a in &timed_out {
        // Ended by the timeout layer (the answer would have been a 200), and retried:
        // the same notification's next attempt was delivered.
        assert_eq!(a.outcome, AttemptOutcome::Failed);
        assert_eq!(
            a.error.as_deref(),
            Some("webhook: timed out after 5s"),
            "{a:?}"
        );
        let next = all
            .iter()
            .find(|b| b.notification_id == a.notification_id && b.attempt == a.attempt + 1)
            .expect("retried");
        assert_eq!(next.outcome, AttemptOutcome::Delivered);
    }
    assert_eq!(
        all.iter()
            .filter(|a| a.outcome == AttemptOutcome::Delivered)
            .count(),
        3
    );
    // Nothing lost, and no duplicate: the sink accepted each alert once, from the
    // retries. (A slow answer the server still completes after the timeout would be a
    // duplicate, at least once; these never complete.)
    assert_eq!(sink.requests(), 5, "3 first attempts and 2 retries");
    assert_eq!((sink.distinct(), sink.duplicates()), (3, 0));
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

/// A raw TCP server: the first `resets` connections are accepted and dropped at
/// once (a reset); later ones get a minimal `200` answer. Counts the answered ones.
async fn resetting_server(resets: u64) -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicU64::new(0));
    let count = answered.clone();
    tokio::spawn(async move {
        let mut seen = 0u64;
        while let Ok((mut sock, _)) = listener.accept().await {
            seen += 1;
            if seen <= resets {
                #[allow(deprecated)]
                let _ = sock.set_linger(Some(Duration::ZERO));
                drop(sock);
                continue;
            }
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, answered)
}

#[tokio::test]
async fn connection_resets_are_retried() {
    let (url, answered) = resetting_server(4).await;
    let store = Arc::new(MemoryStore::new());
    let outbox = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(hook(&url)))
        .lane_concurrency(1)
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("team", "hook", 3)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(answered.load(Ordering::SeqCst), 3);
    let all = attempts(&store).await;
    // One worker, so one connection per attempt: the four reset connections are
    // four failed attempts, each a transport error, each retried.
    let resets: Vec<(u32, AttemptOutcome)> = all
        .iter()
        .filter(|a| a.error_kind.as_deref() == Some("transport"))
        .map(|a| (a.attempt, a.outcome))
        .collect();
    assert_eq!(
        resets.len(),
        4,
        "every reset surfaced as a transport error: {all:?}"
    );
    assert!(
        resets.iter().all(|(_, o)| *o == AttemptOutcome::Failed),
        "{all:?}"
    );
    assert_eq!(all.len(), 7, "4 resets and 3 deliveries: {all:?}");
    assert_eq!(
        all.iter()
            .filter(|a| a.outcome == AttemptOutcome::Delivered)
            .count(),
        3
    );
}

#[tokio::test]
async fn garbage_bodies_neither_panic_nor_lose_alerts() {
    let sink = FakeWebhook::start().await.unwrap();
    sink.push(Reply::text(500, "\u{0}\u{7f}<<<{{{\u{fffd}garbage"));
    sink.push(Reply::json(502, &serde_json::json!([1, {"nested": null}])));
    sink.push(Reply::text(200, "}}} not json at all"));
    let store = Arc::new(MemoryStore::new());
    let outbox = Outbox::builder(store.clone())
        .channel("team", "hook", Arc::new(hook(&sink.url())))
        .lane_concurrency(1)
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("team", "hook", 2)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!((sink.distinct(), sink.duplicates()), (2, 0));
    let all = attempts(&store).await;
    let errors: Vec<&str> = all.iter().filter_map(|a| a.error.as_deref()).collect();
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| !e.contains('\u{0}')), "{errors:?}");
    // A 400 with garbage is permanent: given up, recorded, visible.
    sink.push(Reply::text(400, "\u{1}\u{2}bad"));
    outbox.submit_many(notes("team", "hook", 1)).await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!(outbox.stats().gave_up, 1);
    // Given up, but kept: a dead letter with the error, not deleted.
    let dead = outbox
        .dead_letters(&alert_router::store::DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].reason.as_str(), dead[0].error_kind.as_deref()),
        ("permanent", Some("rejected"))
    );
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_server_that_is_down_then_back_gets_everything() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    sink.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let store = Arc::new(MemoryStore::new());
    let guarded = hook(&sink.url()).with_circuit_breaker(
        BreakerConfig::default()
            .with_threshold(2)
            .with_cool_down(Duration::from_millis(100))
            .with_max_cool_down(Duration::from_millis(200)),
    );
    let breaker = guarded.handle();
    let outbox = Outbox::builder(store.clone())
        .channel_with_breaker("team", "hook", Arc::new(guarded), breaker.clone())
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("team", "hook", 10)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.accepted(), 0);
    assert!(
        !matches!(breaker.state(), BreakerState::Closed { .. }),
        "the breaker is open while the server is down: {:?}",
        breaker.state()
    );
    // One read of the counters: each lane's queued and in-flight counts are taken
    // together, so a notification between attempts is counted once.
    let stats = outbox.stats();
    assert_eq!(stats.queued + stats.in_flight, 10, "all still pending");
    assert_eq!(store.pending_outbox(0).await.unwrap().len(), 10);
    sink.restart().await.unwrap();
    assert!(outbox.wait_idle(Duration::from_secs(60)).await);
    assert_eq!((sink.distinct(), sink.duplicates()), (10, 0));
    assert_eq!(breaker.state(), BreakerState::Closed { failures: 0 });
    assert!(store.pending_outbox(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_receiver_does_not_hold_up_the_others() {
    let slow = FakeWebhook::start_counting().await.unwrap();
    // Never answers within the test: its lane stays busy with its first two.
    slow.set_default(Some(Reply::ok().with_delay(Duration::from_secs(3600))));
    let broken = FakeWebhook::start_counting().await.unwrap();
    broken.set_default(Some(Reply::text(503, "maintenance")));
    let fast = FakeWebhook::start_counting().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let outbox = Outbox::builder(store.clone())
        .channel("slow", "hook", Arc::new(hook(&slow.url())))
        .channel("broken", "hook", Arc::new(hook(&broken.url())))
        .channel("fast", "hook", Arc::new(hook(&fast.url())))
        .lane_concurrency(2)
        .retry(retry())
        .start()
        .await
        .unwrap();
    outbox.submit_many(notes("slow", "hook", 20)).await.unwrap();
    outbox
        .submit_many(notes("broken", "hook", 20))
        .await
        .unwrap();
    outbox.submit_many(notes("fast", "hook", 20)).await.unwrap();
    let got = fast.wait_for_distinct(20, Duration::from_secs(30)).await;
    assert_eq!(got, 20, "the healthy receiver got everything");
    // ...while the slow one has answered nothing and the broken one delivered
    // nothing: they did not hold the healthy one up.
    assert_eq!(
        slow.accepted(),
        0,
        "the slow one is still on its first answers"
    );
    assert_eq!(
        slow.wait_for_requests(2, Duration::from_secs(30)).await,
        2,
        "both of its workers are stuck on their first request"
    );
    assert_eq!(broken.accepted(), 0);
    let load = || -> Vec<(String, usize)> {
        outbox
            .channels()
            .into_iter()
            .map(|c| (c.receiver, c.queued + c.in_flight))
            .collect()
    };
    // The last outcomes of the fast lane are being recorded; give it a moment.
    let mut by_receiver = load();
    for _ in 0..100 {
        if by_receiver[1].1 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        by_receiver = load();
    }
    assert_eq!(by_receiver[1], ("fast".to_owned(), 0));
    assert!(
        by_receiver[0].1 > 0 && by_receiver[2].1 > 0,
        "{by_receiver:?}"
    );
    outbox.shutdown(Duration::from_millis(100)).await;
    // What was not delivered is still pending in the store for the next start.
    let pending = store.pending_outbox(0).await.unwrap();
    assert!(pending.iter().all(|n| n.receiver != "fast"));
    assert!(pending.len() >= 20, "{}", pending.len());
}
