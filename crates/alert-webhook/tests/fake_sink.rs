//! The `fake` feature's sink: counting, scripting, going down and coming back.

use std::time::Duration;

use alert_core::{Alert, Notifier, Severity};
use alert_webhook::fake::{FakeWebhook, Reply};
use alert_webhook::{WebhookConfig, WebhookFormat, WebhookNotifier};

#[tokio::test]
async fn counts_deliveries_per_fingerprint_in_both_formats() {
    let sink = FakeWebhook::start().await.unwrap();
    for format in [WebhookFormat::Native, WebhookFormat::Alertmanager] {
        let n = WebhookNotifier::new(WebhookConfig::new(sink.url()).with_format(format)).unwrap();
        let a = Alert::new(Severity::Info, "A");
        let b = Alert::new(Severity::Info, "B");
        n.notify(&a).await.unwrap();
        n.notify_group(&[a.clone(), b.clone()]).await.unwrap();
    }
    assert_eq!(sink.requests(), 4);
    assert_eq!(sink.accepted(), 4);
    // The native body carries the alert's identity ({alertname="A"}); the
    // Alertmanager body the fingerprint of the labels it sends, severity included
    // ({alertname="A", severity="info"}): four distinct fingerprints.
    let per = sink.per_fingerprint();
    assert_eq!(per["d2c6efc389df0927"], 2, "native A: {per:?}");
    assert_eq!(per["d2c2efc389db2050"], 1, "native B: {per:?}");
    assert_eq!(per["bd07bfea452f23ce"], 2, "Alertmanager A: {per:?}");
    assert_eq!(per["f8b576674afb3041"], 1, "Alertmanager B: {per:?}");
    assert_eq!(sink.distinct(), 4);
    assert_eq!(sink.duplicates(), 2); // each A delivered twice per format
    assert_eq!(sink.recorded().len(), 4);
}

#[tokio::test]
async fn scripted_failures_are_not_counted_as_deliveries() {
    let sink = FakeWebhook::start_counting().await.unwrap();
    sink.push(Reply::rate_limited(1));
    sink.push_n(2, Reply::text(500, "boom"));
    let n = WebhookNotifier::new(WebhookConfig::new(sink.url())).unwrap();
    let a = Alert::new(Severity::Info, "A");
    for _ in 0..3 {
        assert!(n.notify(&a).await.is_err());
    }
    let r = n.notify(&a).await.unwrap();
    assert_eq!(
        r.id.as_deref(),
        Some("4"),
        "default answer carries the request number"
    );
    assert_eq!(
        (sink.requests(), sink.accepted(), sink.duplicates()),
        (4, 1, 0)
    );
    assert!(
        sink.recorded().is_empty(),
        "a counting sink keeps no bodies"
    );
}

#[tokio::test]
async fn goes_down_and_comes_back_on_the_same_port() {
    let sink = FakeWebhook::start().await.unwrap();
    let n = WebhookNotifier::new(WebhookConfig::new(sink.url())).unwrap();
    let a = Alert::new(Severity::Info, "A");
    n.notify(&a).await.unwrap();
    let addr = sink.addr();
    sink.stop();
    // Give the server task a moment to close the listener.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the stopped sink still accepts connections");
    let e = WebhookNotifier::new(WebhookConfig::new(sink.url()))
        .unwrap()
        .notify(&a)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "transport");
    sink.restart().await.unwrap();
    assert_eq!(sink.addr(), addr);
    n.notify(&a).await.unwrap();
    assert_eq!(sink.accepted(), 2);
    assert_eq!(sink.wait_for_distinct(1, Duration::from_secs(1)).await, 1);
}
