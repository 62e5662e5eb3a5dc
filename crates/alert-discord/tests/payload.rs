//! What alert-discord sends: the exact JSON per severity, for a group and for a
//! resolution (edit and fallback), `allowed_mentions` on every message, and
//! Discord's limits over the whole edge-case corpus.

use alert_core::{Alert, Evidence, Notifier, Receipt, Severity, Source, Status, Timestamp};
use alert_discord::fake::FakeDiscord;
use alert_discord::{DiscordConfig, DiscordMentions, DiscordNotifier, USER_AGENT, limits};
use alert_testkit::corpus;
use alert_testkit::fake::Recorded;
use serde_json::{Value, json};

const ROLE: u64 = 323_456_789_012_345_678;

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).expect("in range")
}

fn alert(sev: Severity) -> Alert {
    Alert::new(sev, "AccuracyDrop")
        .with_summary("Accuracy fell to 0.81")
        .with_message("Nightly eval on 12k rows.")
        .with_label("model", "bikes")
        .with_runbook("https://runbooks.example/acc")
        .with_evidence(Evidence::metric("accuracy").observed(0.81).threshold(0.9))
        .with_source(Source::model("bikes").version("3").environment("prod"))
        .with_starts_at(ts(1_795_500_000))
}

fn config(fake: &FakeDiscord) -> DiscordConfig {
    fake.config()
        .with_username("ml-alerts")
        .with_guild_id(fake.guild_id())
        .with_mentions(DiscordMentions {
            critical: Some(ROLE),
            ..DiscordMentions::default()
        })
}

async fn setup() -> (FakeDiscord, DiscordNotifier) {
    let fake = FakeDiscord::start().await.expect("fake starts");
    let notifier = DiscordNotifier::new(config(&fake)).expect("valid config");
    (fake, notifier)
}

fn one(fake: &FakeDiscord) -> Recorded {
    let mut reqs = fake.recorder().take();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    reqs.remove(0)
}

fn embed(colour: u32, title: &str) -> Value {
    json!({
        "type": "rich",
        "title": title,
        "description": "Nightly eval on 12k rows.",
        "color": colour,
        "fields": [
            {"name": "metric", "value": "accuracy", "inline": true},
            {"name": "observed", "value": "0.81", "inline": true},
            {"name": "threshold", "value": "0.9", "inline": true},
            {"name": "Runbook", "value": "[Open runbook](https://runbooks.example/acc)", "inline": false},
            {"name": "Labels", "value": "model=bikes", "inline": false},
        ],
        "footer": {"text": "model: bikes · version: 3 · env: prod"},
        "timestamp": "2026-11-24T06:00:00Z",
    })
}

#[tokio::test]
async fn exact_json_for_each_severity() {
    let (fake, notifier) = setup().await;
    let expected = [
        (Severity::Info, 0x3498DB, "INFO"),
        (Severity::Warning, 0xF1C40F, "WARNING"),
        (Severity::Error, 0xE67E22, "ERROR"),
        (Severity::Critical, 0xE74C3C, "CRITICAL"),
    ];
    for (sev, colour, marker) in expected {
        let receipt = notifier.notify(&alert(sev)).await.expect("delivered");
        let req = one(&fake);
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.path,
            format!(
                "/api/v10/webhooks/{}/{}",
                fake.webhook_id(),
                fake.webhook_token()
            )
        );
        assert_eq!(req.query.as_deref(), Some("wait=true"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("user-agent"), Some(USER_AGENT));
        assert_eq!(req.header("authorization"), None);
        let mut want = json!({
            "username": "ml-alerts",
            "tts": false,
            "embeds": [embed(colour, &format!("\\[{marker}\\] Accuracy fell to 0.81"))],
            "allowed_mentions": {"parse": [], "users": [], "roles": []},
            "attachments": [],
        });
        if sev == Severity::Critical {
            want["content"] = json!(format!("<@&{ROLE}>"));
            want["allowed_mentions"]["roles"] = json!([ROLE.to_string()]);
        }
        assert_eq!(req.json().expect("json"), want, "{sev}");

        // The receipt points at the stored message.
        let id = receipt.id.clone().expect("wait=true gives the message id");
        let stored = fake.message(&id).expect("stored");
        assert_eq!(receipt.meta("channel_id"), stored["channel_id"].as_str());
        assert_eq!(receipt.meta("kind"), Some("alert"));
        assert_eq!(
            receipt.url.as_deref(),
            Some(
                format!(
                    "https://discord.com/channels/{}/{}/{id}",
                    fake.guild_id(),
                    fake.channel_id()
                )
                .as_str()
            )
        );
        assert_eq!(receipt.meta("ratelimit_limit"), Some("5"));
        assert_eq!(
            stored["mention_roles"],
            if sev == Severity::Critical {
                json!([ROLE.to_string()])
            } else {
                json!([])
            }
        );
        assert_eq!(stored["mention_everyone"], false);
    }
}

#[tokio::test]
async fn exact_json_for_a_group_and_k_more() {
    let (fake, notifier) = setup().await;
    let group = vec![
        Alert::new(Severity::Warning, "DataDrift")
            .with_summary("Feature age drifted")
            .with_evidence(Evidence::metric("feature:age").test("psi", 0.31))
            .with_starts_at(ts(1_795_500_000)),
        Alert::new(Severity::Critical, "ModelDown").with_starts_at(ts(1_795_500_060)),
        Alert::new(Severity::Error, "AccuracyDrop")
            .with_status(Status::Resolved)
            .with_ends_at(ts(1_795_503_600)),
    ];
    let receipt = notifier.notify_group(&group).await.expect("delivered");
    assert_eq!(receipt.meta("kind"), Some("group"));
    let req = one(&fake);
    assert_eq!(
        req.json().expect("json"),
        json!({
            "content": format!("<@&{ROLE}>\n**\\[CRITICAL\\] 2 firing (1 critical, 1 warning), 1 resolved: AccuracyDrop, DataDrift, ModelDown**"),
            "username": "ml-alerts",
            "tts": false,
            "embeds": [
                {"type": "rich", "title": "\\[CRITICAL\\] ModelDown", "color": 0xE74C3C, "timestamp": "2026-11-24T06:01:00Z"},
                {"type": "rich", "title": "\\[WARNING\\] Feature age drifted", "color": 0xF1C40F,
                 "fields": [
                    {"name": "metric", "value": "feature:age", "inline": true},
                    {"name": "test", "value": "psi", "inline": true},
                    {"name": "statistic", "value": "0.31", "inline": true},
                 ],
                 "timestamp": "2026-11-24T06:00:00Z"},
                {"type": "rich", "title": "\\[RESOLVED\\] AccuracyDrop", "color": 0x2ECC71, "timestamp": "2026-11-24T07:00:00Z"},
            ],
            "allowed_mentions": {"parse": [], "users": [], "roles": [ROLE.to_string()]},
            "attachments": [],
        })
    );

    // 25 alerts: 10 embeds, most severe first, then "… and 15 more".
    let many: Vec<Alert> = (0..25)
        .map(|i| {
            Alert::new(
                if i == 17 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                format!("Drift{i:02}"),
            )
            .with_message("m".repeat(2000))
        })
        .collect();
    notifier.notify_group(&many).await.expect("delivered");
    let body = one(&fake).json().expect("json");
    let embeds = body["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), 10);
    assert_eq!(embeds[0]["title"], "\\[CRITICAL\\] Drift17");
    assert_eq!(embeds[1]["title"], "\\[WARNING\\] Drift00");
    let content = body["content"].as_str().expect("content");
    assert!(content.ends_with("\n… and 15 more"), "{content}");
    assert!(
        limits::check(&body).is_empty(),
        "{:?}",
        limits::check(&body)
    );
    assert!(limits::embeds_total(&body) <= limits::TOTAL);
    // Each of the 10 got a fair share of the 6,000 (cut, not dropped).
    for e in embeds {
        let d = e["description"].as_str().expect("description kept");
        assert!(d.ends_with('…') && limits::len(d) > 400, "{d}");
    }
}

#[tokio::test]
async fn resolution_edits_the_original_message() {
    let (fake, notifier) = setup().await;
    let firing = alert(Severity::Critical);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    let _ = fake.recorder().take();
    let resolved = firing.clone().resolved_at(ts(1_795_503_600));
    let r = notifier.update(&resolved, &receipt).await.expect("edited");
    assert_eq!(r.id, receipt.id, "same message");
    assert_eq!(r.meta("edited"), Some("true"));
    let req = one(&fake);
    assert_eq!(req.method, "PATCH");
    let id = receipt.id.as_deref().expect("id");
    assert_eq!(
        req.path,
        format!(
            "/api/v10/webhooks/{}/{}/messages/{id}",
            fake.webhook_id(),
            fake.webhook_token()
        )
    );
    assert_eq!(req.query, None);
    let mut want_embed = embed(0x2ECC71, "\\[RESOLVED\\] Accuracy fell to 0.81");
    want_embed["timestamp"] = json!("2026-11-24T07:00:00Z");
    assert_eq!(
        req.json().expect("json"),
        json!({
            "content": "",
            "embeds": [want_embed],
            "allowed_mentions": {"parse": [], "users": [], "roles": []},
        })
    );
    let stored = fake.message(id).expect("still there");
    assert_eq!(stored["content"], "");
    assert_eq!(stored["embeds"][0]["color"], 0x2ECC71);
    assert!(stored["edited_timestamp"].is_string());
    assert_eq!(stored["mention_roles"], json!([]));
    assert_eq!(fake.messages().len(), 1, "no new message");
}

#[tokio::test]
async fn resolution_falls_back_to_a_new_message_that_refers_to_the_old_one() {
    let (fake, notifier) = setup().await;
    let firing = alert(Severity::Critical);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    let id = receipt.id.clone().expect("id");
    assert!(fake.delete_message(&id), "someone deleted it");
    let _ = fake.recorder().take();
    let resolved = firing.clone().resolved_at(ts(1_795_503_600));
    let r = notifier
        .update(&resolved, &receipt)
        .await
        .expect("fell back");
    let reqs = fake.recorder().take();
    assert_eq!(
        reqs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["PATCH", "POST"]
    );
    let body = reqs[1].json().expect("json");
    let link = format!(
        "https://discord.com/channels/{}/{}/{id}",
        fake.guild_id(),
        fake.channel_id()
    );
    assert_eq!(body["content"], format!("\u{21aa} Resolved: {link}"));
    assert_eq!(
        body["embeds"][0]["title"],
        "\\[RESOLVED\\] Accuracy fell to 0.81"
    );
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []}),
        "a resolution pings nobody"
    );
    assert_ne!(r.id, receipt.id);
    assert_eq!(r.meta("refers_to"), Some(id.as_str()));
    assert!(r.meta("edited").is_none());
}

#[tokio::test]
async fn group_receipts_and_escalations_post_new_messages() {
    let (fake, notifier) = setup().await;
    let group = vec![
        alert(Severity::Warning),
        alert(Severity::Error).with_label("x", "y"),
    ];
    let receipt = notifier.notify_group(&group).await.expect("delivered");
    let _ = fake.recorder().take();
    // A resolution of one member must not overwrite the whole group message.
    let resolved = group[0].clone().resolved_at(ts(1_795_503_600));
    notifier.update(&resolved, &receipt).await.expect("posted");
    let req = one(&fake);
    assert_eq!(req.method, "POST");
    assert!(
        req.json().expect("json")["content"]
            .as_str()
            .expect("content")
            .starts_with("\u{21aa} Resolved: https://discord.com/channels/")
    );
    // An escalation pings (it is a new message), and refers to the earlier one.
    let single = notifier
        .notify(&alert(Severity::Error))
        .await
        .expect("delivered");
    let _ = fake.recorder().take();
    let escalated = alert(Severity::Critical);
    notifier.update(&escalated, &single).await.expect("posted");
    let req = one(&fake);
    assert_eq!(req.method, "POST");
    let body = req.json().expect("json");
    let content = body["content"].as_str().expect("content");
    assert!(
        content.starts_with(&format!("<@&{ROLE}>\n\u{21aa} Update: https://")),
        "{content}"
    );
    assert_eq!(body["allowed_mentions"]["roles"], json!([ROLE.to_string()]));
    // A resolution of a different alert does not overwrite this one's message.
    let other = alert(Severity::Error)
        .with_label("model", "cars")
        .resolved_at(ts(1_795_503_600));
    notifier.update(&other, &single).await.expect("posted");
    assert_eq!(one(&fake).method, "POST");
    // A receipt from another channel is not edited.
    let foreign = Receipt::new("slack").with_id("123456789012345678");
    notifier.update(&resolved, &foreign).await.expect("posted");
    let req = one(&fake);
    assert_eq!(req.method, "POST");
    assert!(req.json().expect("json").get("content").is_none());
}

#[tokio::test]
async fn a_dead_webhook_is_reported_not_worked_around() {
    let (fake, notifier) = setup().await;
    let firing = alert(Severity::Error);
    let receipt = notifier.notify(&firing).await.expect("delivered");
    fake.delete_webhook(fake.webhook_id());
    let _ = fake.recorder().take();
    let e = notifier
        .update(&firing.clone().with_status(Status::Resolved), &receipt)
        .await
        .expect_err("webhook gone");
    assert_eq!(e.kind(), "gone");
    assert!(e.disables_destination());
    assert_eq!(
        fake.recorder().take().len(),
        1,
        "no fallback post after 10015"
    );
}

fn check_request(r: &Recorded, role: Option<u64>) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(body) = r.json() else {
        return vec!["body is not JSON".into()];
    };
    let am = &body["allowed_mentions"];
    if am["parse"] != json!([]) {
        problems.push(format!(
            "allowed_mentions.parse is {} (want [])",
            am["parse"]
        ));
    }
    let roles = am["roles"].as_array().cloned().unwrap_or_default();
    let ok_roles: Vec<Value> = role.map(|r| json!(r.to_string())).into_iter().collect();
    if !(roles.is_empty() || roles == ok_roles) || am["users"] != json!([]) {
        problems.push(format!("allowed_mentions lets through {am}"));
    }
    for v in limits::check(&body) {
        problems.push(v.to_string());
    }
    problems
}

#[tokio::test]
async fn every_message_limits_mentions_over_the_corpus() {
    let (fake, notifier) = setup().await;
    for case in corpus::cases() {
        let receipt = notifier
            .notify(&case.alert)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let req = one(&fake);
        let problems = check_request(&req, Some(ROLE));
        assert!(problems.is_empty(), "{}: {problems:?}", case.name);
        let body = req.json().expect("json");
        let embed = &body["embeds"][0];
        assert!(
            limits::len(embed["title"].as_str().unwrap_or("")) > 0,
            "{}: no title",
            case.name
        );
        // Fitting keeps what matters: the runbook link survives huge alerts.
        if let Some(rb) = case.alert.runbook().filter(|u| u.starts_with("https://")) {
            let fields = embed["fields"].as_array().expect("fields");
            assert!(
                fields
                    .iter()
                    .any(|f| f["value"].as_str().unwrap_or("").contains(rb)),
                "{}: runbook lost",
                case.name
            );
        }
        // Nothing from the alert text pings or turns into markup.
        let text = body.to_string();
        for inj in corpus::INJECTIONS {
            if inj.starts_with("{{") || inj.starts_with("&lt;") {
                continue; // a template string and an HTML entity: not Discord markup
            }
            let encoded = serde_json::to_string(inj).expect("string");
            let encoded = &encoded[1..encoded.len() - 1];
            assert!(
                !text.contains(encoded),
                "{}: {inj:?} sent verbatim",
                case.name
            );
        }
        let stored = fake
            .message(receipt.id.as_deref().expect("id"))
            .expect("stored");
        assert_eq!(stored["mention_everyone"], false, "{}", case.name);
        // The receipt says when the limits shortened the alert.
        if case.name.starts_with("message-100kb") || case.name == "labels-1000" {
            let cut = receipt
                .meta("cut")
                .unwrap_or_else(|| panic!("{}: no cut noted", case.name));
            assert!(!cut.is_empty(), "{}", case.name);
        }
        if case.name.starts_with("severity-") {
            assert_eq!(receipt.meta("cut"), None, "{}", case.name);
        }
    }
    for (name, group) in corpus::groups() {
        notifier
            .notify_group(&group)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let req = one(&fake);
        let problems = check_request(&req, Some(ROLE));
        assert!(problems.is_empty(), "{name}: {problems:?}");
        let body = req.json().expect("json");
        let n = body["embeds"].as_array().map_or(0, Vec::len);
        assert_eq!(n, group.len().min(10), "{name}");
        if group.len() > 10 {
            let content = body["content"].as_str().expect("content");
            assert!(
                content.ends_with(&format!("… and {} more", group.len() - 10)),
                "{name}: {content}"
            );
        }
    }
    for m in fake.messages() {
        assert_eq!(m["mention_everyone"], false);
        let roles = m["mention_roles"].as_array().expect("roles");
        assert!(
            roles.iter().all(|r| r == &json!(ROLE.to_string())),
            "{roles:?}"
        );
    }
}
