//! Pins fingerprint values. These must never change: stored dedup state, silences and
//! notification logs are keyed by them. The expected values were computed outside
//! this crate (a Python FNV-1a, and Prometheus' own published test vector).

use alert_core::{Alert, Fingerprint, Severity};

#[test]
fn matches_prometheus_published_label_signature() {
    // prometheus/common model: LabelsToSignature({"name": "garland, briggs",
    // "fear": "love is not enough"}) == 5799056148416392346, {} == offset basis.
    let fp = Fingerprint::of_sorted_labels([
        ("fear", "love is not enough"),
        ("name", "garland, briggs"),
    ]);
    assert_eq!(fp.as_u64(), 5_799_056_148_416_392_346);
    assert_eq!(
        Fingerprint::of_sorted_labels([]).to_string(),
        "cbf29ce484222325"
    );
}

#[test]
fn pinned_alert_fingerprints() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        ("", &[], "6cc9940782f5f098"),
        ("AccuracyDrop", &[], "384066296a5f6e14"),
        (
            "AccuracyDrop",
            &[("model", "bikes"), ("env", "prod")],
            "9e6205493d1e722f",
        ),
        (
            "DataDrift",
            &[("a", "1"), ("zeta", "ζ")],
            "2bb81ac7a31a7477",
        ),
        (
            "Dérive",
            &[("modèle", "vélos 🚲"), ("région", "Île-de-France")],
            "beac5de7e61042e0",
        ),
    ];
    for (name, labels, want) in cases {
        let alert = Alert::new(Severity::Info, name).with_labels(labels.iter().copied());
        assert_eq!(alert.fingerprint().to_string(), want, "{name} {labels:?}");
    }
}

#[test]
fn identity_ignores_everything_but_name_and_labels() {
    let a = Alert::new(Severity::Warning, "X").with_label("model", "bikes");
    let b = a
        .clone()
        .with_severity(Severity::Critical)
        .with_summary("different")
        .with_message("different")
        .with_annotation("runbook_url", "https://x")
        .with_status(alert_core::Status::Resolved);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(
        a.fingerprint(),
        a.clone().with_label("model", "cars").fingerprint()
    );
    // An `alertname` smuggled into the label map directly is ignored: the name wins.
    let mut c = a.clone();
    c.labels.insert("alertname", "Other");
    assert_eq!(c.fingerprint(), a.fingerprint());
}

/// `Alert::fingerprint` merges `alertname` into the sorted labels as it hashes; the
/// same as sorting the identity label set first (the definition), wherever the
/// name falls among the labels.
#[test]
fn alertname_is_hashed_in_its_sorted_place() {
    for labels in [
        vec![],
        vec![("a", "1")],
        vec![("zz", "1")],
        vec![("a", "1"), ("alertnamf", "x"), ("b", "2")],
        vec![("alertnam", "1"), ("z", "2")],
        vec![("model", "bikes"), ("env", "prod"), ("instance", "i1")],
    ] {
        let a = Alert::new(Severity::Error, "HighLatency").with_labels(labels.clone());
        let mut identity: std::collections::BTreeMap<&str, &str> = labels.into_iter().collect();
        identity.insert("alertname", "HighLatency");
        assert_eq!(
            a.fingerprint(),
            Fingerprint::of_sorted_labels(identity.iter().map(|(k, v)| (*k, *v))),
            "{identity:?}"
        );
    }
}

#[test]
fn display_and_parse_round_trip() {
    let fp = Alert::new(Severity::Info, "AccuracyDrop").fingerprint();
    assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
    assert!("xyz".parse::<Fingerprint>().is_err());
    assert!("384066296a5f6e1".parse::<Fingerprint>().is_err());
    assert!("+84066296a5f6e14".parse::<Fingerprint>().is_err());
}
