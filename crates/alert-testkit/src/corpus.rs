//! Edge-case alerts every channel must survive.
//!
//! Each [`Case`] has a stable name, so a failing case is easy to find. The corpus
//! covers every severity, resolution, empty and huge text, huge label sets,
//! multi-byte, combining and right-to-left text, emoji, control characters,
//! non-finite evidence, and injection attempts against every markup the channels use.

use alert_core::{Alert, Evidence, Severity, Source, Status, Timestamp};

/// Injection strings: text that would ping, link, script or break out of markup if a
/// channel passed it through unescaped. No channel may let any of them produce a
/// mention, a link or markup the sender did not configure.
pub const INJECTIONS: &[&str] = &[
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<!subteam^S012345|@oncall>",
    "<#C024BE7LR>",
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<script>alert(1)</script>",
    "[click me](https://evil.example/phish)",
    "<https://evil.example|click me>",
    "![img](https://evil.example/x.png)",
    "%%%\n# fenced out\n%%%",
    "```\ncode block\n```",
    "{{ .Secret }} {{template \"x\"}} ${HOME} $(id)",
    "*bold* _italic_ ~strike~ `code` ||spoiler||",
    "&lt;!channel&gt; &amp;",
];

/// A named corpus alert.
#[derive(Clone, Debug)]
pub struct Case {
    /// A stable name for reports (`severity-critical`, `message-100kb`, ...).
    pub name: &'static str,
    /// The alert.
    pub alert: Alert,
}

fn base(sev: Severity, name: &str) -> Alert {
    Alert::new(sev, name)
        .with_summary(format!("{name} on bikes"))
        .with_message("The nightly evaluation crossed its threshold.")
        .with_label("model", "bikes")
        .with_source(
            Source::model("bikes")
                .version("3")
                .environment("prod")
                .run_id("run-42"),
        )
        .with_starts_at(Timestamp::from_unix_seconds(1_795_500_000).expect("in range"))
}

/// The whole corpus.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut add = |name: &'static str, alert: Alert| v.push(Case { name, alert });

    for (name, sev) in [
        ("severity-info", Severity::Info),
        ("severity-warning", Severity::Warning),
        ("severity-error", Severity::Error),
        ("severity-critical", Severity::Critical),
    ] {
        add(name, base(sev, "AccuracyDrop"));
    }
    add(
        "resolved",
        base(Severity::Error, "AccuracyDrop")
            .resolved_at(Timestamp::from_unix_seconds(1_795_503_600).expect("in range")),
    );
    add(
        "full-evidence",
        base(Severity::Error, "DataDrift")
            .with_runbook("https://runbooks.example/data-drift")
            .with_dashboard("https://grafana.example/d/drift")
            .with_annotation("description", "Feature `age` drifted.")
            .with_evidence(
                Evidence::metric("feature:age")
                    .observed(0.31)
                    .threshold(0.2)
                    .baseline(0.02)
                    .test("psi", 0.31)
                    .p_value(1.2e-9)
                    .window("24h")
                    .sample_size(120_000)
                    .segment("country=FR")
                    .detail("psi:age", 0.31)
                    .detail("psi:income", 0.05),
            ),
    );
    add(
        "empty-message",
        Alert::new(Severity::Warning, "EmptyMessage"),
    );
    add(
        "empty-name",
        Alert::new(Severity::Warning, "").with_message("an alert with no name"),
    );
    add(
        "message-100kb",
        base(Severity::Error, "HugeMessage").with_message("x".repeat(100 * 1024)),
    );
    add(
        "message-100kb-multibyte",
        base(Severity::Error, "HugeMultibyte").with_message("é漢🚲".repeat(100 * 1024 / 9)),
    );
    add(
        "title-10k",
        base(Severity::Critical, "LongTitle").with_summary("T".repeat(10_000)),
    );
    add(
        "labels-1000",
        base(Severity::Warning, "ManyLabels")
            .with_labels((0..1000).map(|i| (format!("label_{i:04}"), format!("value-{i}")))),
    );
    add(
        "annotations-1000",
        (0..998).fold(
            base(Severity::Warning, "ManyAnnotations")
                .with_runbook("https://runbooks.example/many")
                .with_annotation("description", "d".repeat(5000)),
            |a, i| a.with_annotation(format!("note_{i:04}"), format!("context {i} ")),
        ),
    );
    add(
        "evidence-details-1000",
        base(Severity::Warning, "ManyColumnsDrifted").with_evidence(
            (0..1000).fold(Evidence::metric("dataset_drift").observed(0.8), |e, i| {
                e.detail(format!("column_{i:04}"), f64::from(i) / 1000.0)
            }),
        ),
    );
    add(
        "evidence-non-finite",
        base(Severity::Error, "NonFinite").with_evidence(
            Evidence::metric("loss")
                .observed(f64::NAN)
                .threshold(f64::INFINITY)
                .baseline(f64::NEG_INFINITY),
        ),
    );
    add(
        "multibyte",
        base(Severity::Error, "Précision")
            .with_summary("Précision en baisse: 0,81 — 漢字かな 한국어")
            .with_message("Ünïcödé everywhere: ß, ø, ł, 中文, 日本語, 한국어.")
            .with_label("région", "Île-de-France"),
    );
    add(
        "combining",
        base(Severity::Warning, "Combining")
            .with_summary(format!(
                "Z{}a{}l{}g{}o",
                "\u{336}".repeat(40),
                "\u{301}".repeat(40),
                "\u{317}".repeat(40),
                "\u{35c}".repeat(40)
            ))
            .with_message("e\u{301}te\u{301} cafe\u{301} n\u{303}".repeat(200)),
    );
    add(
        "right-to-left",
        base(Severity::Warning, "RightToLeft")
            .with_summary("انحراف البيانات في النموذج")
            .with_message("שגיאה בשרת \u{202e}gnp.exe\u{202c} مرحبا")
            .with_label("שפה", "עברית"),
    );
    add(
        "emoji",
        base(Severity::Critical, "Emoji")
            .with_summary("🚨 Model down 👩‍👩‍👧‍👦 🇫🇷 👍🏽")
            .with_message("🔥".repeat(3000)),
    );
    add(
        "control-characters",
        base(Severity::Error, "Control")
            .with_summary("bell\u{7} null\u{0} esc\u{1b}[31m red")
            .with_message("line1\r\nline2\u{8}\u{8}\u{1b}]0;title\u{7}\u{7f}")
            .with_label("ctl\u{1}", "v\u{2}"),
    );
    add(
        "injection",
        base(Severity::Critical, "Injection")
            .with_summary(INJECTIONS.join(" "))
            .with_message(INJECTIONS.join("\n"))
            .with_label("team", "<!channel> @everyone")
            .with_annotation("description", INJECTIONS.join(" | "))
            .with_evidence(
                Evidence::metric("<!here>")
                    .segment("@everyone")
                    .window("<@U1>"),
            ),
    );
    add(
        "hostile-links",
        base(Severity::Error, "HostileLinks")
            .with_runbook("javascript:alert(document.cookie)")
            .with_dashboard(format!("https://grafana.example/{}", "a".repeat(5000))),
    );
    add(
        "hostile-label-names",
        base(Severity::Warning, "HostileLabels")
            .with_label("Weird Key!!", "Value With Spaces")
            .with_label(":leading-colon", "x:y:z")
            .with_label("UPPER_case", "ÜNICODE")
            .with_label("", "empty-key")
            .with_label("k".repeat(300), "v".repeat(300)),
    );
    v
}

/// Groups to send through `notify_group`: a small mixed group and a large one.
pub fn groups() -> Vec<(&'static str, Vec<Alert>)> {
    let all: Vec<Alert> = cases().into_iter().map(|c| c.alert).collect();
    let mixed = vec![
        base(Severity::Critical, "ModelDown"),
        base(Severity::Warning, "DataDrift").with_label("feature", "age"),
        base(Severity::Error, "AccuracyDrop").with_status(Status::Resolved),
    ];
    let many: Vec<Alert> = (0..60)
        .map(|i| base(Severity::Warning, "DataDrift").with_label("feature", format!("f{i}")))
        .collect();
    vec![
        ("group-mixed", mixed),
        ("group-60", many),
        ("group-corpus", all),
    ]
}

/// Whether `text` contains any [`INJECTIONS`] string verbatim.
pub fn contains_injection(text: &str) -> Option<&'static str> {
    INJECTIONS.iter().copied().find(|i| text.contains(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_sizes_are_as_documented() {
        let cases = cases();
        let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        let get = |n: &str| cases.iter().find(|c| c.name == n).unwrap().alert.clone();
        assert_eq!(get("message-100kb").message.len(), 100 * 1024);
        assert!(get("message-100kb-multibyte").message.len() > 99 * 1024);
        assert_eq!(get("labels-1000").labels.len(), 1001);
        let many = get("annotations-1000");
        assert_eq!(many.annotations.len(), 1000);
        assert_eq!(many.runbook(), Some("https://runbooks.example/many"));
        assert_eq!(many.annotations["description"].len(), 5000);
        assert_eq!(&many.annotations["note_0997"], "context 997 ");
        assert_eq!(get("resolved").status, Status::Resolved);
        for s in Severity::ALL {
            assert!(cases.iter().any(|c| c.alert.severity == s));
        }
    }
}
