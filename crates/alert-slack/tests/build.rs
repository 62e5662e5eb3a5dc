//! `SlackNotifier::new`: eager validation with errors that name the key.

use alert_core::{BuildError, Severity};
use alert_slack::{SlackConfig, SlackNotifier, SlackSeverityMap, SlackTlsRoots};

const HOOK: &str = "https://hooks.slack.com/services/T0/B0/hookS3cretValue";
const TOKEN: &str = "xoxb-1-2-tokenS3cretValue";

fn err(config: SlackConfig) -> (String, String) {
    match SlackNotifier::new(config) {
        Err(BuildError::InvalidConfig { field, reason }) => (field, reason),
        Err(e) => panic!("expected InvalidConfig, got {e}"),
        Ok(n) => panic!("expected an error, built {n:?}"),
    }
}

fn parse(json: &str) -> SlackConfig {
    serde_json::from_str(json).expect("valid config JSON")
}

#[test]
fn both_modes_build() {
    let n = SlackNotifier::new(SlackConfig::webhook(HOOK)).expect("webhook");
    assert!(!n.is_web_api());
    let n = SlackNotifier::new(SlackConfig::bot(TOKEN, "C0123ABC")).expect("web api");
    assert!(n.is_web_api());
    let debug = format!("{n:?} {:?}", n.config());
    assert!(!debug.contains("S3cret"), "{debug}");
    let n = SlackNotifier::new(SlackConfig::webhook(HOOK)).expect("webhook");
    assert!(!format!("{n:?}").contains("S3cret"));
}

#[test]
fn exactly_one_mode() {
    let (field, reason) = err(parse(&format!(
        r#"{{"webhook_url":"{HOOK}","bot_token":"{TOKEN}","channel":"C1"}}"#
    )));
    assert_eq!(field, "webhook_url");
    assert!(reason.contains("not both"), "{reason}");
    let (field, reason) = err(parse("{}"));
    assert_eq!(field, "webhook_url");
    assert!(reason.contains("bot_token"), "{reason}");
    let (field, _) = err(parse(&format!(r#"{{"bot_token":"{TOKEN}"}}"#)));
    assert_eq!(field, "channel");
    let (field, _) = err(parse(&format!(
        r#"{{"bot_token":"{TOKEN}","channel":"  "}}"#
    )));
    assert_eq!(field, "channel");
    let (field, _) = err(SlackConfig::bot("xoxb-1 2", "C1"));
    assert_eq!(field, "bot_token");
}

#[test]
fn urls_are_checked_without_quoting_them() {
    for bad in [
        "ftp://hooks.slack.com/services/T0/B0/hookS3cretValue",
        "hooks.slack.com/services/T0/B0/hookS3cretValue",
        "https://exa mple.com/hookS3cretValue",
    ] {
        let (field, reason) = err(SlackConfig::webhook(bad));
        assert_eq!(field, "webhook_url", "{bad}");
        assert!(!reason.contains("S3cret"), "{reason}");
    }
    let (field, _) = err(SlackConfig::bot(TOKEN, "C1").with_api_base_url("slack.com/api"));
    assert_eq!(field, "api_base_url");
}

#[test]
fn other_settings_are_checked() {
    let (field, _) = err(parse(&format!(
        r#"{{"webhook_url":"{HOOK}","timeout_secs":0}}"#
    )));
    assert_eq!(field, "timeout_secs");
    for n in [0, 41] {
        let (field, reason) = err(SlackConfig::webhook(HOOK).with_digest_max_alerts(n));
        assert_eq!(field, "digest_max_alerts");
        assert!(reason.contains("between 1 and 40"), "{reason}");
    }
    let (field, reason) = err(
        SlackConfig::webhook(HOOK).with_severity_map(SlackSeverityMap {
            warning: "orange".into(),
            ..SlackSeverityMap::default()
        }),
    );
    assert_eq!(field, "severity.warning");
    assert!(reason.contains("orange"), "{reason}");
    let (field, reason) =
        err(SlackConfig::webhook(HOOK).with_mentions(Severity::Critical, ["@oncall"]));
    assert_eq!(field, "mentions.critical[0]");
    assert!(reason.contains("<!subteam^S"), "{reason}");
}

#[test]
fn trust_roots_can_be_chosen() {
    let webpki = SlackConfig::webhook(HOOK).with_tls_roots(SlackTlsRoots::Webpki);
    if cfg!(feature = "rustls") {
        SlackNotifier::new(webpki).expect("bundled roots");
        assert_eq!(SlackTlsRoots::default(), SlackTlsRoots::Webpki);
    } else {
        match SlackNotifier::new(webpki) {
            Err(BuildError::MissingFeature { feature, .. }) => assert_eq!(feature, "rustls"),
            other => panic!("expected MissingFeature, got {other:?}"),
        }
    }
    // The system store: builds where there is one, else a clear error.
    let native = SlackConfig::webhook(HOOK).with_tls_roots(SlackTlsRoots::Native);
    let has_system_store = std::path::Path::new("/etc/ssl/certs").is_dir();
    match SlackNotifier::new(native) {
        Ok(_) => {}
        Err(BuildError::InvalidConfig { field, reason }) if !has_system_store => {
            assert_eq!(field, "tls_roots");
            assert!(reason.contains("webpki"), "{reason}");
        }
        Err(e) => panic!("system store present but: {e}"),
    }
}
