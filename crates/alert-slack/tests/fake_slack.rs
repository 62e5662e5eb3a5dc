//! alert-slack against `FakeSlack`: the exact payloads, digests, resolutions,
//! injection safety, limits and every error classification.

mod common;

use std::time::Duration;

use alert_core::{Alert, Evidence, Notifier, Receipt, Retry, Severity, Source, Timestamp};
use alert_slack::fake::{FAKE_CHANNEL, Failure, FakeSlack, RateLimit, Via, check_message};
use alert_slack::{
    KIND_ALERT, KIND_DIGEST, META_ALERTS, META_CHANNEL, META_FINGERPRINT, META_KIND, META_REPLY_TS,
    META_UPDATE_ERROR, SlackConfig, SlackNotifier,
};
use alert_testkit::corpus;
use serde_json::{Value, json};

const ONCALL: &str = "<!subteam^S0ONCALL>";
const STARTED: i64 = 1_795_500_000;
const STARTED_ISO: &str = "2026-11-24T06:00:00Z";

fn alert(severity: Severity) -> Alert {
    Alert::new(severity, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("Nightly eval fell below threshold.")
        .with_label("model", "bikes")
        .with_runbook("https://runbooks.example/accuracy")
        .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.9))
        .with_source(Source::model("bikes").version("3").environment("prod"))
        .with_starts_at(Timestamp::from_unix_seconds(STARTED).expect("in range"))
}

fn config(slack: &FakeSlack, web_api: bool) -> SlackConfig {
    let c = if web_api {
        slack.api_config()
    } else {
        slack.webhook_config()
    };
    c.with_mentions(Severity::Critical, [ONCALL])
}

async fn start(web_api: bool) -> (FakeSlack, SlackNotifier) {
    let slack = FakeSlack::start().await.expect("fake starts");
    let notifier = SlackNotifier::new(config(&slack, web_api)).expect("valid config");
    (slack, notifier)
}

fn md(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

/// The documented layout of [`alert`] at `severity`, firing.
fn expected(severity: Severity, fingerprint: &str) -> Value {
    let (emoji, marker, color) = match severity {
        Severity::Info => ("\u{2139}\u{fe0f}", "INFO", "#439FE0"),
        Severity::Warning => ("\u{26a0}\u{fe0f}", "WARNING", "#DAA038"),
        Severity::Error => ("\u{1f534}", "ERROR", "#E8590C"),
        Severity::Critical => ("\u{1f6a8}", "CRITICAL", "#D40E0D"),
    };
    let header = format!("{emoji} [{marker}] Accuracy fell to 0.81");
    let mut blocks =
        vec![json!({"type": "header", "text": {"type": "plain_text", "text": header}})];
    let mut text = format!("{header}\nNightly eval fell below threshold.");
    if severity == Severity::Critical {
        blocks.push(json!({"type": "section", "text": md(ONCALL)}));
        text = format!("{ONCALL} {text}");
    }
    json!({
        "text": text,
        "blocks": blocks,
        "attachments": [{
            "color": color,
            "blocks": [
                {"type": "section", "text": md("Nightly eval fell below threshold.")},
                {"type": "section", "fields": [
                    md("*metric*\naccuracy"),
                    md("*observed*\n0.81"),
                    md("*threshold*\n0.9"),
                    md("*model*\nbikes"),
                ]},
                {"type": "section", "text": md("<https://runbooks.example/accuracy|Runbook>")},
                {"type": "context", "elements": [
                    md("model: bikes · version: 3 · env: prod"),
                    md(&format!("started <!date^{STARTED}^{{date_short_pretty}} {{time}}|{STARTED_ISO}>")),
                    md(&format!("fingerprint {fingerprint}")),
                ]},
            ],
        }],
    })
}

fn with_api_fields(mut v: Value, channel: &str) -> Value {
    v["channel"] = json!(channel);
    v["unfurl_links"] = json!(false);
    v["unfurl_media"] = json!(false);
    v
}

#[tokio::test]
async fn web_api_sends_the_documented_json_for_each_severity() {
    let (slack, notifier) = start(true).await;
    for severity in Severity::ALL {
        let a = alert(severity);
        let receipt = notifier.notify(&a).await.expect("delivered");
        let sent = slack.take_requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].path, "/api/chat.postMessage");
        assert_eq!(
            sent[0].header("authorization"),
            Some(format!("Bearer {}", slack.token()).as_str())
        );
        assert_eq!(
            sent[0].header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let want = with_api_fields(
            expected(severity, &a.fingerprint().to_string()),
            FAKE_CHANNEL,
        );
        assert_eq!(sent[0].json().expect("json"), want, "{severity}");
        // The receipt targets the message: ts as id, channel ID in meta.
        let posted = slack.messages(FAKE_CHANNEL).pop().expect("stored");
        assert_eq!(receipt.channel, "slack");
        assert_eq!(receipt.id.as_deref(), Some(posted.ts.as_str()));
        assert_eq!(receipt.meta(META_CHANNEL), Some(FAKE_CHANNEL));
        assert_eq!(receipt.meta(META_KIND), Some("alert"));
        assert_eq!(
            receipt.meta(META_FINGERPRINT),
            Some(a.fingerprint().to_string().as_str())
        );
        assert_eq!(posted.via, Via::WebApi);
    }
}

#[tokio::test]
async fn webhook_sends_the_same_layout_without_channel() {
    let (slack, notifier) = start(false).await;
    for severity in Severity::ALL {
        let a = alert(severity);
        let receipt = notifier.notify(&a).await.expect("delivered");
        // No id (webhooks return no ts), but it says what the message showed.
        assert_eq!(
            receipt,
            Receipt::new("slack")
                .with_meta("kind", "alert")
                .with_meta("fingerprint", a.fingerprint().to_string())
        );
        let sent = slack.take_requests();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].path.starts_with("/services/"));
        assert_eq!(sent[0].header("authorization"), None);
        assert_eq!(
            sent[0].json().expect("json"),
            expected(severity, &a.fingerprint().to_string()),
            "{severity}"
        );
    }
    assert_eq!(slack.messages(FAKE_CHANNEL).len(), 4);
}

#[tokio::test]
async fn a_group_is_one_digest() {
    let (slack, notifier) = start(true).await;
    let t = Timestamp::from_unix_seconds(STARTED).expect("in range");
    let group = vec![
        Alert::new(Severity::Warning, "DataDrift")
            .with_summary("Feature age drifted")
            .with_label("feature", "age")
            .with_evidence(Evidence::metric("psi").observed(0.31).threshold(0.2)),
        Alert::new(Severity::Critical, "ModelDown")
            .with_message("No predictions for 10 minutes.")
            .with_runbook("https://runbooks.example/down")
            .with_starts_at(t),
        Alert::new(Severity::Error, "AccuracyDrop").with_status(alert_core::Status::Resolved),
    ];
    let receipt = notifier.notify_group(&group).await.expect("delivered");
    assert_eq!(receipt.meta(META_KIND), Some("digest"));
    assert_eq!(receipt.meta(META_ALERTS), Some("3"));
    assert_eq!(receipt.meta(META_FINGERPRINT), None);
    let sent = slack.take_requests();
    assert_eq!(sent.len(), 1);
    let header = "\u{1f6a8} [CRITICAL] 2 firing (1 critical, 1 warning), 1 resolved: AccuracyDrop, DataDrift, ModelDown";
    assert_eq!(
        sent[0].json().expect("json"),
        with_api_fields(
            json!({
                "text": format!("{ONCALL} {header}"),
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": header}},
                    {"type": "section", "text": md(ONCALL)},
                ],
                "attachments": [{
                    "color": "#D40E0D",
                    "blocks": [
                        {"type": "section", "text": md(
                            "*\u{1f6a8} [CRITICAL] ModelDown*\nNo predictions for 10 minutes.\n<https://runbooks.example/down|Runbook>"
                        )},
                        {"type": "section", "text": md(
                            "*\u{26a0}\u{fe0f} [WARNING] Feature age drifted*\n*metric*: psi · *observed*: 0.31 · *threshold*: 0.2\nfeature=age"
                        )},
                        {"type": "section", "text": md("*\u{2705} [RESOLVED] AccuracyDrop*")},
                        {"type": "context", "elements": [
                            md(&format!("first started <!date^{STARTED}^{{date_short_pretty}} {{time}}|{STARTED_ISO}>")),
                        ]},
                    ],
                }],
            }),
            FAKE_CHANNEL
        )
    );
}

#[tokio::test]
async fn a_large_group_shows_the_first_ten_then_and_k_more() {
    let (slack, notifier) = start(false).await;
    let many: Vec<Alert> = (0..60)
        .map(|i| alert(Severity::Warning).with_label("feature", format!("f{i:02}")))
        .collect();
    notifier.notify_group(&many).await.expect("delivered");
    let body = slack.take_requests()[0].json().expect("json");
    check_message(&body).expect("within Slack's limits");
    let blocks = common::all_blocks(&body);
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    let sections: Vec<&Value> = body["attachments"][0]["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter(|b| b["type"] == "section")
        .collect();
    assert_eq!(sections.len(), 10);
    assert!(common::all_text(&body).contains("\u{2026} and 50 more"));

    // The cap is configurable up to 40 and the message still fits in 50 blocks.
    let notifier =
        SlackNotifier::new(slack.webhook_config().with_digest_max_alerts(40)).expect("valid");
    notifier.notify_group(&many).await.expect("delivered");
    let body = slack.take_requests()[0].json().expect("json");
    check_message(&body).expect("within Slack's limits");
    assert!(common::all_blocks(&body).len() <= 50);
    assert!(common::all_text(&body).contains("\u{2026} and 20 more"));
}

#[tokio::test]
async fn resolution_is_a_thread_reply_and_the_original_is_updated() {
    let (slack, notifier) = start(true).await;
    let firing = alert(Severity::Critical);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    let ts = receipt.id.clone().expect("ts");
    slack.take_requests();

    let ended = Timestamp::from_unix_seconds(STARTED + 3720).expect("in range");
    let resolved = firing.clone().resolved_at(ended);
    let after = notifier
        .update(&resolved, &receipt)
        .await
        .expect("delivered");

    // One thread reply, one chat.update, in that order.
    let sent = slack.take_requests();
    let paths: Vec<&str> = sent.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/api/chat.postMessage", "/api/chat.update"]);

    let header = "\u{2705} [RESOLVED] Accuracy fell to 0.81";
    let content = json!({
        "text": format!("{header}\nNightly eval fell below threshold."),
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": header}}],
        "attachments": [{
            "color": "#2EB67D",
            "blocks": [
                {"type": "section", "text": md("Nightly eval fell below threshold.")},
                {"type": "section", "fields": [
                    md("*metric*\naccuracy"),
                    md("*observed*\n0.81"),
                    md("*threshold*\n0.9"),
                    md("*model*\nbikes"),
                ]},
                {"type": "section", "text": md("<https://runbooks.example/accuracy|Runbook>")},
                {"type": "context", "elements": [
                    md("model: bikes · version: 3 · env: prod"),
                    md(&format!(
                        "started <!date^{STARTED}^{{date_short_pretty}} {{time}}|{STARTED_ISO}> · \
                         resolved <!date^{}^{{date_short_pretty}} {{time}}|2026-11-24T07:02:00Z> · lasted 1h 2m",
                        STARTED + 3720
                    )),
                    md(&format!("fingerprint {}", firing.fingerprint())),
                ]},
            ],
        }],
    });
    let mut reply = with_api_fields(content.clone(), FAKE_CHANNEL);
    reply["thread_ts"] = json!(ts);
    assert_eq!(sent[0].json().expect("json"), reply);
    let mut update = content;
    update["channel"] = json!(FAKE_CHANNEL);
    update["ts"] = json!(ts);
    assert_eq!(sent[1].json().expect("json"), update);

    // The fake's state: the original shows the resolution, the thread holds it.
    let original = slack.message(FAKE_CHANNEL, &ts).expect("original");
    assert!(original.edited());
    assert_eq!(original.header(), Some(header));
    assert_eq!(original.color(), Some("#2EB67D"));
    let thread = slack.thread(FAKE_CHANNEL, &ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].header(), Some(header));
    assert_eq!(
        slack.messages(FAKE_CHANNEL).len(),
        1,
        "no new top-level message"
    );

    // The receipt still targets the original, and names the reply.
    assert_eq!(after.id.as_deref(), Some(ts.as_str()));
    assert_eq!(after.meta(META_CHANNEL), Some(FAKE_CHANNEL));
    assert_eq!(after.meta(META_REPLY_TS), Some(thread[0].ts.as_str()));
    assert_eq!(after.meta(META_UPDATE_ERROR), None);

    // A second update threads under the same original, not under the reply.
    notifier.update(&resolved, &after).await.expect("delivered");
    assert_eq!(slack.thread(FAKE_CHANNEL, &ts).len(), 2);
}

/// The requests' paths since the last call.
fn paths(slack: &FakeSlack) -> Vec<String> {
    slack.take_requests().into_iter().map(|r| r.path).collect()
}

#[tokio::test]
async fn resolving_one_alert_of_a_digest_replies_and_leaves_the_digest() {
    let (slack, notifier) = start(true).await;
    let drift = Alert::new(Severity::Warning, "DataDrift").with_label("feature", "age");
    let down = Alert::new(Severity::Critical, "ModelDown").with_label("model", "bikes");
    let receipt = notifier
        .notify_group(&[drift.clone(), down.clone()])
        .await
        .expect("delivered");
    let ts = receipt.id.clone().expect("ts");
    let digest_before = slack.message(FAKE_CHANNEL, &ts).expect("digest");
    slack.take_requests();

    // ModelDown still fires; DataDrift resolves, with the group's receipt (what the
    // router passes).
    let resolved = drift.resolved_at(Timestamp::from_unix_seconds(STARTED + 60).expect("ok"));
    let after = notifier
        .update(&resolved, &receipt)
        .await
        .expect("delivered");

    // A thread reply only: no chat.update.
    assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    assert_eq!(slack.updates(), 0);
    let digest = slack.message(FAKE_CHANNEL, &ts).expect("digest");
    assert!(!digest.edited());
    assert_eq!(digest.body, digest_before.body);
    assert_eq!(
        digest.header(),
        Some("\u{1f6a8} [CRITICAL] 2 firing (1 critical, 1 warning): DataDrift, ModelDown")
    );
    let thread = slack.thread(FAKE_CHANNEL, &ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].header(), Some("\u{2705} [RESOLVED] DataDrift"));
    assert_eq!(
        slack.messages(FAKE_CHANNEL).len(),
        1,
        "no new top-level message"
    );

    // The receipt still describes the digest, so the next update is guarded too.
    assert_eq!(after.id.as_deref(), Some(ts.as_str()));
    assert_eq!(after.meta(META_KIND), Some(KIND_DIGEST));
    assert_eq!(after.meta(META_ALERTS), Some("2"));
    assert_eq!(after.meta(META_FINGERPRINT), None);
    assert_eq!(after.meta(META_REPLY_TS), Some(thread[0].ts.as_str()));
    assert_eq!(after.meta(META_UPDATE_ERROR), None);
    let down_resolved = down.resolved_at(Timestamp::from_unix_seconds(STARTED + 120).expect("ok"));
    notifier
        .update(&down_resolved, &after)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    assert_eq!(slack.thread(FAKE_CHANNEL, &ts).len(), 2);
    assert!(!slack.message(FAKE_CHANNEL, &ts).expect("digest").edited());
}

#[tokio::test]
async fn only_a_message_showing_exactly_this_alert_is_edited() {
    let (slack, notifier) = start(true).await;
    let at = Timestamp::from_unix_seconds(STARTED + 60).expect("ok");
    let bikes = alert(Severity::Error);
    let cars = alert(Severity::Error).with_label("model", "cars");
    let receipt = notifier.notify(&bikes).await.expect("delivered");
    let ts = receipt.id.clone().expect("ts");
    slack.take_requests();

    // Another alert's resolution with this receipt: a reply, the original kept.
    let after = notifier
        .update(&cars.clone().resolved_at(at), &receipt)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    assert!(!slack.message(FAKE_CHANNEL, &ts).expect("original").edited());
    assert_eq!(after.meta(META_KIND), Some(KIND_ALERT));
    assert_eq!(
        after.meta(META_FINGERPRINT),
        Some(bikes.fingerprint().to_string().as_str()),
        "the original still shows bikes"
    );

    // A receipt that does not say what it showed (written before receipts
    // recorded it): a reply, no edit.
    let bare = Receipt::new("slack")
        .with_id(ts.clone())
        .with_meta(META_CHANNEL, FAKE_CHANNEL);
    notifier
        .update(&bikes.clone().resolved_at(at), &bare)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    // Kind without a fingerprint, or a fingerprint without the kind: no edit.
    for partial in [
        bare.clone().with_meta(META_KIND, KIND_ALERT),
        bare.clone()
            .with_meta(META_FINGERPRINT, bikes.fingerprint().to_string()),
    ] {
        notifier
            .update(&bikes.clone().resolved_at(at), &partial)
            .await
            .expect("delivered");
        assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    }
    assert_eq!(slack.updates(), 0);
    assert_eq!(slack.thread(FAKE_CHANNEL, &ts).len(), 4);

    // A receipt from another channel: a new top-level message, nothing threaded.
    let foreign = Receipt::new("discord")
        .with_id(ts.clone())
        .with_meta(META_CHANNEL, FAKE_CHANNEL)
        .with_meta(META_KIND, KIND_ALERT)
        .with_meta(META_FINGERPRINT, bikes.fingerprint().to_string());
    notifier
        .update(&bikes.clone().resolved_at(at), &foreign)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage"]);
    assert_eq!(slack.messages(FAKE_CHANNEL).len(), 2);
    assert_eq!(slack.thread(FAKE_CHANNEL, &ts).len(), 4);

    // Its own receipt: reply, then edit.
    notifier
        .update(&bikes.clone().resolved_at(at), &receipt)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage", "/api/chat.update"]);
    assert_eq!(
        slack.message(FAKE_CHANNEL, &ts).expect("original").header(),
        Some("\u{2705} [RESOLVED] Accuracy fell to 0.81")
    );

    // A group of one is that alert's message, so it is edited too.
    let single = notifier
        .notify_group(std::slice::from_ref(&cars))
        .await
        .expect("delivered");
    assert_eq!(single.meta(META_KIND), Some(KIND_ALERT));
    slack.take_requests();
    notifier
        .update(&cars.resolved_at(at), &single)
        .await
        .expect("delivered");
    assert_eq!(paths(&slack), ["/api/chat.postMessage", "/api/chat.update"]);
}

#[tokio::test]
async fn a_failed_edit_keeps_the_reply_and_says_so() {
    let (slack, notifier) = start(true).await;
    let firing = alert(Severity::Error);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    let ts = receipt.id.clone().expect("ts");
    slack.fail_next(Failure::Delay(Duration::ZERO)); // the reply goes through
    slack.fail_next(Failure::Api("message_not_found".into())); // the edit fails
    let resolved = firing.resolved_at(Timestamp::from_unix_seconds(STARTED + 60).expect("ok"));
    let after = notifier
        .update(&resolved, &receipt)
        .await
        .expect("reply delivered");
    assert_eq!(slack.thread(FAKE_CHANNEL, &ts).len(), 1);
    let err = after
        .meta(META_UPDATE_ERROR)
        .expect("edit failure recorded");
    assert!(err.contains("chat.update: message_not_found"), "{err}");
    assert!(!slack.message(FAKE_CHANNEL, &ts).expect("original").edited());
}

#[tokio::test]
async fn update_without_a_usable_receipt_posts_a_new_message() {
    let (slack, notifier) = start(true).await;
    let resolved =
        alert(Severity::Error).resolved_at(Timestamp::from_unix_seconds(STARTED).expect("ok"));
    notifier
        .update(&resolved, &Receipt::new("slack"))
        .await
        .expect("delivered");
    let top = slack.messages(FAKE_CHANNEL);
    assert_eq!(top.len(), 1);
    assert_eq!(slack.updates(), 0);
    assert!(top[0].header().expect("header").contains("[RESOLVED]"));
}

#[tokio::test]
async fn webhook_resolution_is_a_new_resolved_message() {
    let (slack, notifier) = start(false).await;
    let firing = alert(Severity::Critical);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    let resolved = firing.resolved_at(Timestamp::from_unix_seconds(STARTED + 60).expect("ok"));
    notifier
        .update(&resolved, &receipt)
        .await
        .expect("delivered");
    let top = slack.messages(FAKE_CHANNEL);
    assert_eq!(top.len(), 2);
    assert_eq!(
        top[1].header(),
        Some("\u{2705} [RESOLVED] Accuracy fell to 0.81")
    );
    assert_eq!(top[1].color(), Some("#2EB67D"));
    // A resolution pings nobody, even for a critical alert.
    assert!(!common::all_text(&top[1].body).contains(ONCALL));
    assert!(common::all_text(&top[0].body).contains(ONCALL));
}

#[tokio::test]
async fn injection_corpus_never_becomes_markup() {
    let (slack, notifier) = start(true).await;
    let mut alerts: Vec<Alert> = corpus::cases()
        .into_iter()
        .filter(|c| {
            matches!(
                c.name,
                "injection" | "hostile-links" | "hostile-label-names"
            )
        })
        .map(|c| c.alert)
        .collect();
    for (i, s) in corpus::INJECTIONS.iter().enumerate() {
        alerts.push(
            Alert::new(Severity::Critical, *s)
                .with_summary(*s)
                .with_message(*s)
                .with_label(*s, *s)
                .with_label(format!("k{i}"), *s)
                .with_annotation("description", *s)
                .with_runbook(*s)
                .with_dashboard(format!("https://grafana.example/{s}"))
                .with_evidence(Evidence::metric(*s).segment(*s).window(*s))
                .with_source(Source::model(*s).version(*s).environment(*s).run_id(*s)),
        );
    }
    for a in &alerts {
        notifier.notify(a).await.expect("delivered");
    }
    notifier.notify_group(&alerts).await.expect("delivered");
    let sent = slack.take_requests();
    assert_eq!(sent.len(), alerts.len() + 1);
    for r in &sent {
        let body = r.json().expect("json");
        let v = common::markup_violations(&body, &[ONCALL]);
        assert!(v.is_empty(), "{v:#?}");
        // Nothing of the corpus survives verbatim, and nothing asks Slack to parse
        // names or unfurl.
        for (path, s) in {
            let mut all = Vec::new();
            common::strings(&body, "$", &mut all);
            all
        } {
            // Every markup-bearing injection is checked, not only the first found.
            let survivors: Vec<&str> = corpus::INJECTIONS
                .iter()
                .copied()
                .filter(|i| (i.contains('<') || i.contains('&')) && s.contains(i))
                .collect();
            assert!(survivors.is_empty(), "{path}: {survivors:?} in {s}");
        }
        assert_eq!(body.get("link_names"), None);
        assert_eq!(body.get("parse"), None);
        assert_eq!(body["unfurl_links"], false);
    }
    // The text is still there for people to read, escaped.
    let first = sent[0].json().expect("json");
    assert!(common::all_text(&first).contains("&lt;!channel&gt;"));
}

#[test]
fn the_markup_checker_reports_every_occurrence() {
    let link = "<https://runbooks.example/a|Runbook>";
    // Clean text and the channel's own markup pass.
    assert_eq!(
        common::markup_in(&format!("a &lt;b&gt; &amp; {link} {ONCALL}"), &[ONCALL]),
        Vec::<String>::new()
    );
    // A `>` next to allowed markup is still bare: before, between and after it.
    let s = format!("x > {link} > {ONCALL} >");
    assert_eq!(
        common::markup_in(&s, &[ONCALL]),
        [
            format!("bare '>' at 2 in {s:?}"),
            format!("bare '>' at 41 in {s:?}"),
            format!("bare '>' at 63 in {s:?}"),
        ]
    );
    // Every foreign `<…>`, not only the first; every raw `&`.
    assert_eq!(
        common::markup_in("<!here> ok <!channel> & and & <", &[]),
        [
            "markup <!here> not written by the channel".to_owned(),
            "markup <!channel> not written by the channel".to_owned(),
            "unclosed '<' in \"<!here> ok <!channel> & and & <\"".to_owned(),
            "raw '&' at 22 in \"<!here> ok <!channel> & and & <\"".to_owned(),
            "raw '&' at 28 in \"<!here> ok <!channel> & and & <\"".to_owned(),
        ]
    );
    // Through a body: the path is named.
    let body = json!({"text": "fine", "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": format!("{link} >"), "verbatim": true}}]});
    assert_eq!(
        common::markup_violations(&body, &[]),
        [format!(
            "$.blocks[0].text.text: bare '>' at 37 in {:?}",
            format!("{link} >")
        )]
    );
}

#[tokio::test]
async fn huge_alerts_fit_every_limit() {
    let (slack, notifier) = start(true).await;
    let cases = corpus::cases();
    let get = |name: &str| {
        cases
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.alert.clone())
            .expect("corpus case")
    };
    for name in [
        "message-100kb",
        "message-100kb-multibyte",
        "labels-1000",
        "evidence-details-1000",
        "annotations-1000",
        "title-10k",
        "emoji",
        "combining",
    ] {
        let a = get(name)
            .with_runbook("https://runbooks.example/huge")
            .with_evidence(Evidence::metric("accuracy").observed(0.5).threshold(0.9));
        notifier
            .notify(&a)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let body = slack.take_requests()[0].json().expect("json");
        check_message(&body).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let header = body["blocks"][0]["text"]["text"].as_str().expect("header");
        assert!(header.encode_utf16().count() <= 150, "{name}");
        assert!(
            header.contains("[ERROR]")
                || header.contains("[WARNING]")
                || header.contains("[CRITICAL]"),
            "{name}: {header}"
        );
        let text = common::all_text(&body);
        // The runbook and the key evidence are kept, whatever was cut.
        assert!(
            text.contains("<https://runbooks.example/huge|Runbook>"),
            "{name}"
        );
        assert!(text.contains("*observed*\n0.5"), "{name}");
        assert!(body["text"].as_str().expect("text").chars().count() <= 3000);
        let json_len = body.to_string().len();
        assert!(json_len < 40_000, "{name}: {json_len} bytes");
        if matches!(name, "message-100kb" | "labels-1000" | "title-10k") {
            assert!(text.contains("trimmed to fit Slack"), "{name}");
        }
    }
    // 1,000 labels: ten fields at most, the rest listed (cut) in one section.
    let body = {
        notifier
            .notify(&get("labels-1000"))
            .await
            .expect("delivered");
        slack.take_requests()[0].json().expect("json")
    };
    let fields = body["attachments"][0]["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find_map(|b| b["fields"].as_array().cloned())
        .expect("fields");
    assert_eq!(fields.len(), 10);
    assert!(common::all_text(&body).contains("*More labels*: label_"));
    assert!(slack.rejections().is_empty(), "{:?}", slack.rejections());
}

async fn error_of(
    slack: &FakeSlack,
    notifier: &SlackNotifier,
    failure: Failure,
) -> alert_core::NotifyError {
    slack.fail_next(failure);
    notifier
        .notify(&alert(Severity::Error))
        .await
        .expect_err("the scripted failure")
}

#[tokio::test]
async fn webhook_errors_are_classified() {
    let (slack, notifier) = start(false).await;
    for (status, code, kind, retry, disables) in [
        (400, "invalid_payload", "rejected", Retry::Never, false),
        (400, "no_text", "rejected", Retry::Never, false),
        (403, "action_prohibited", "unauthorized", Retry::Never, true),
        (404, "channel_not_found", "gone", Retry::Never, true),
        (410, "channel_is_archived", "gone", Retry::Never, true),
        (500, "rollup_error", "server", Retry::Backoff, false),
        // Codes this crate does not know: the status decides (CHANNELS.md 1.1).
        (404, "webhook_disabled", "gone", Retry::Never, true),
        (410, "some_new_code", "gone", Retry::Never, true),
        (401, "some_new_code", "unauthorized", Retry::Never, true),
        (403, "some_new_code", "unauthorized", Retry::Never, true),
        (400, "some_new_code", "rejected", Retry::Never, false),
    ] {
        let e = error_of(&slack, &notifier, Failure::Webhook(status, code.into())).await;
        assert_eq!(
            (
                e.kind(),
                e.retryable(),
                e.disables_destination(),
                e.status()
            ),
            (kind, retry, disables, Some(status)),
            "{status} {code}: {e}"
        );
        assert!(e.to_string().contains(code), "{e}");
    }
    let e = error_of(&slack, &notifier, Failure::RateLimited(7)).await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(7)));
    let e = error_of(
        &slack,
        &notifier,
        Failure::Status(
            502,
            "<html><head><title>502 Bad Gateway</title></head></html>".into(),
        ),
    )
    .await;
    assert_eq!((e.kind(), e.retryable()), ("server", Retry::Backoff));
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");

    // Real state, not scripts: an archived channel, a revoked webhook.
    slack.archive_channel(FAKE_CHANNEL);
    let e = notifier
        .notify(&alert(Severity::Info))
        .await
        .expect_err("archived");
    assert_eq!((e.kind(), e.status()), ("gone", Some(410)));
    slack.revoke_webhook(&slack.webhook_url());
    let e = notifier
        .notify(&alert(Severity::Info))
        .await
        .expect_err("revoked");
    assert_eq!((e.kind(), e.status()), ("gone", Some(404)));
    assert!(e.to_string().contains("no_service"), "{e}");
    let text = format!("{e} {e:?}");
    assert!(!text.contains("S3cret"), "{text}");
}

#[tokio::test]
async fn web_api_errors_are_classified_including_200_with_error() {
    let (slack, notifier) = start(true).await;
    for (code, kind, retry, disables) in [
        ("ratelimited", "rate_limited", Retry::Backoff, false),
        ("internal_error", "server", Retry::Backoff, false),
        ("fatal_error", "server", Retry::Backoff, false),
        ("request_timeout", "server", Retry::Backoff, false),
        ("channel_not_found", "gone", Retry::Never, true),
        ("is_archived", "gone", Retry::Never, true),
        ("not_in_channel", "unauthorized", Retry::Never, true),
        ("invalid_auth", "unauthorized", Retry::Never, true),
        ("token_revoked", "unauthorized", Retry::Never, true),
        ("account_inactive", "unauthorized", Retry::Never, true),
        ("missing_scope", "unauthorized", Retry::Never, true),
        ("msg_too_long", "rejected", Retry::Never, false),
        ("invalid_blocks", "rejected", Retry::Never, false),
        ("too_many_attachments", "rejected", Retry::Never, false),
        ("no_text", "rejected", Retry::Never, false),
    ] {
        let e = error_of(&slack, &notifier, Failure::Api(code.into())).await;
        assert_eq!(
            (e.kind(), e.retryable(), e.disables_destination()),
            (kind, retry, disables),
            "{code}: {e}"
        );
        if kind != "rate_limited" {
            assert!(
                e.to_string().contains(&format!("chat.postMessage: {code}")),
                "{e}"
            );
        }
    }
    // 429 with a JSON body and Retry-After in whole seconds.
    let e = error_of(&slack, &notifier, Failure::RateLimited(3)).await;
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(3)));
    // A 5xx from the edge, HTML body.
    let e = error_of(
        &slack,
        &notifier,
        Failure::Status(503, "<html>down</html>".into()),
    )
    .await;
    assert_eq!((e.kind(), e.retryable()), ("server", Retry::Backoff));
    // A 200 that is not the JSON Slack sends: the message may have been posted, so
    // back off rather than drop it.
    let e = error_of(
        &slack,
        &notifier,
        Failure::Status(200, "<html>portal</html>".into()),
    )
    .await;
    assert_eq!((e.kind(), e.retryable()), ("server", Retry::Backoff));

    // Real state: an unknown channel, an archived one, a wrong or revoked token.
    let other = SlackNotifier::new(
        SlackConfig::bot(slack.token(), "C0NOSUCH").with_api_base_url(slack.api_url()),
    )
    .expect("valid");
    let e = other
        .notify(&alert(Severity::Info))
        .await
        .expect_err("unknown");
    assert_eq!(e.kind(), "gone");
    let wrong = SlackNotifier::new(
        SlackConfig::bot("xoxb-wrong-token-value", FAKE_CHANNEL).with_api_base_url(slack.api_url()),
    )
    .expect("valid");
    let e = wrong
        .notify(&alert(Severity::Info))
        .await
        .expect_err("wrong token");
    assert_eq!(e.kind(), "unauthorized");
    assert!(!format!("{e} {e:?}").contains("xoxb-wrong-token-value"));
    slack.archive_channel(FAKE_CHANNEL);
    let e = notifier
        .notify(&alert(Severity::Info))
        .await
        .expect_err("archived");
    assert_eq!(e.kind(), "gone");
    slack.revoke_token();
    let e = notifier
        .notify(&alert(Severity::Info))
        .await
        .expect_err("revoked");
    assert_eq!(e.kind(), "unauthorized");
    assert!(e.to_string().contains("token_revoked"), "{e}");
    let text = format!("{e} {e:?} {notifier:?}");
    assert!(!text.contains(&slack.token()), "{text}");
}

#[tokio::test]
async fn the_fake_rate_limits_per_channel_like_slack() {
    let (slack, notifier) = start(true).await;
    slack.add_channel("C0OTHER", "other");
    let other = SlackNotifier::new(
        SlackConfig::bot(slack.token(), "#other").with_api_base_url(slack.api_url()),
    )
    .expect("valid");
    slack.set_rate_limit(Some(RateLimit::SLACK));
    notifier
        .notify(&alert(Severity::Info))
        .await
        .expect("first is free");
    let e = notifier
        .notify(&alert(Severity::Info))
        .await
        .expect_err("second within a second");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(1)));
    // Another channel has its own budget; a channel name resolves to its ID.
    let r = other
        .notify(&alert(Severity::Info))
        .await
        .expect("other channel");
    assert_eq!(r.meta(META_CHANNEL), Some("C0OTHER"));
    assert_eq!(slack.rate_limited(), 1);
    let last = slack.take_requests().pop().expect("requests");
    assert_eq!(last.json().expect("json")["channel"], "#other");

    // Webhooks too: 429, plain text, Retry-After.
    let hook =
        SlackNotifier::new(SlackConfig::webhook(slack.add_webhook("C0OTHER"))).expect("valid");
    let e = hook
        .notify(&alert(Severity::Info))
        .await
        .expect_err("same channel, same second");
    assert_eq!(e.retryable(), Retry::After(Duration::from_secs(1)));
    slack.set_rate_limit(None);
    hook.notify(&alert(Severity::Info))
        .await
        .expect("limit off");
}

#[tokio::test]
async fn transport_failures_and_timeouts_back_off() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/services/T0/B0/refusedS3cret");
    let n = SlackNotifier::new(SlackConfig::webhook(url.clone())).expect("valid");
    let e = n
        .notify(&alert(Severity::Error))
        .await
        .expect_err("refused");
    assert_eq!((e.kind(), e.retryable()), ("transport", Retry::Backoff));
    let text = format!("{e} {e:?}");
    assert!(!text.contains("refusedS3cret"), "{text}");

    let slack = FakeSlack::start().await.expect("fake");
    let n =
        SlackNotifier::new(slack.api_config().with_timeout(Duration::from_secs(1))).expect("valid");
    slack.fail_next(Failure::Delay(Duration::from_secs(3)));
    let e = n.notify(&alert(Severity::Error)).await.expect_err("slow");
    assert_eq!((e.kind(), e.retryable()), ("timeout", Retry::Backoff));
}
