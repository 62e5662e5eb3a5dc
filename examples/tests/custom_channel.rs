//! The custom channel of `examples/custom_channel` (Beacon, a made-up service)
//! against `alert-testkit`'s conformance suite and its local fake, as a test that
//! `cargo nextest run --workspace --all-features` runs.

#![allow(unreachable_pub)]

#[path = "../examples/custom_channel/channel.rs"]
mod channel;
#[path = "../examples/custom_channel/fake.rs"]
mod fake;

use alert_core::{Alert, Notifier, Severity, Status};
use alert_testkit::conformance::{Fault, assert_conformance};
use channel::{BeaconConfig, BeaconNotifier};
use fake::{BeaconHarness, FAKE_KEY, violations};
use serde_json::json;

#[tokio::test]
async fn beacon_passes_the_conformance_suite() {
    let harness = BeaconHarness::start().await.expect("fake starts");
    assert_conformance(&harness).await;
}

#[tokio::test]
async fn pages_and_resolutions_are_what_beacon_documents() {
    let h = BeaconHarness::start().await.expect("fake starts");
    let alert = Alert::new(Severity::Error, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("below 0.90 for 1h");
    let receipt = h.notifier.notify(&alert).await.expect("delivered");
    assert_eq!(receipt.id.as_deref(), Some("pg_1"));
    let sent = h.fake.recorder().take();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/v1/pages")
    );
    assert_eq!(sent[0].header("x-beacon-key"), Some(FAKE_KEY));
    assert_eq!(
        sent[0].json().expect("json"),
        json!({
            "title": "[ERROR] Accuracy fell to 0.81",
            "body": "[ERROR] Accuracy fell to 0.81\nbelow 0.90 for 1h",
            "urgency": "high",
            "dedup_key": alert.fingerprint().to_string(),
            "state": "open",
        })
    );

    let resolved = alert.clone().with_status(Status::Resolved);
    let again = h
        .notifier
        .update(&resolved, &receipt)
        .await
        .expect("updated");
    assert_eq!(again.id.as_deref(), Some("pg_1"), "the same page");
    let sent = h.fake.recorder().take();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("PATCH", "/v1/pages/pg_1")
    );
    assert_eq!(h.fake.pages()["pg_1"]["state"], "resolved");

    // A page Beacon no longer knows: a new page instead of an error.
    let unknown = alert_core::Receipt::new("beacon").with_id("pg_404");
    let fresh = h
        .notifier
        .update(&resolved, &unknown)
        .await
        .expect("new page");
    assert_eq!(fresh.id.as_deref(), Some("pg_2"));
    // Beacon's error body is quoted, its key never.
    assert!(h.fake.fail_next(Fault::BadRequest));
    let e = h
        .notifier
        .notify(&alert)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("invalid_page: title contains a banned word"),
        "{e}"
    );
    assert!(!e.contains(FAKE_KEY), "{e}");
}

#[test]
fn config_is_checked_and_the_key_never_printed() {
    let e = serde_json::from_value::<BeaconConfig>(
        json!({"base_url": "https://x", "api_key": "k", "api_kye": "k"}),
    )
    .expect_err("unknown key");
    assert!(e.to_string().contains("unknown field `api_kye`"), "{e}");
    for (config, field) in [
        (BeaconConfig::new("ftp://beacon", "k"), "base_url"),
        (BeaconConfig::new("https://beacon", " "), "api_key"),
    ] {
        let e = BeaconNotifier::new(config)
            .expect_err("invalid")
            .to_string();
        assert!(e.contains(field), "{e}");
    }
    let n = BeaconNotifier::new(BeaconConfig::new("https://beacon", FAKE_KEY)).expect("valid");
    assert!(!format!("{n:?}").contains(FAKE_KEY));
    assert!(violations(&json!({"title": ""})).len() >= 4);
}

/// The channel's doc comment says how long it is; keep that true, and under 150.
#[test]
fn the_channel_is_under_150_lines_as_its_doc_says() {
    let source = include_str!("../examples/custom_channel/channel.rs");
    let lines = source.lines().count();
    assert!(lines < 150, "channel.rs has {lines} lines");
    let first: Vec<&str> = source
        .lines()
        .take(4)
        .map(|l| l.trim_start_matches("//!").trim())
        .collect();
    let first = first.join(" ");
    assert!(
        first.contains(&format!(" {lines} lines, this comment included")),
        "channel.rs has {lines} lines; its doc comment says otherwise: {first}"
    );
}
