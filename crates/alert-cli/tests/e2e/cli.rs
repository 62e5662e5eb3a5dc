//! The client commands: `alerts send` (to the service and directly with `--to`),
//! `alerts test`, `silence`, `ack`, `history`, `report`, as tables and `--json`.

use std::time::Duration;

use alert_webhook::fake::{FakeWebhook, Reply};
use serde_json::json;

use crate::harness::{Out, Service, Start, Workdir, bodies, eventually, hook_config};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_the_service_exit_codes() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(
            &sink.url(),
            r#"["alertname"]"#,
            "100ms",
            "\n[server.limits]\nmax_value_bytes = 32\n",
        ),
    )
    .await;
    let server = svc.url.as_str();

    // Delivered: 0, and the flags end up in the alert.
    let out = w
        .run(
            &[
                "send",
                "--server",
                server,
                "--severity",
                "critical",
                "--name",
                "TrainingFailed",
                "--summary",
                "OOM at epoch 3",
                "-m",
                "the job died",
                "--label",
                "model=bikes",
                "-l",
                "team=ml",
                "--annotation",
                "dashboard_url=https://grafana/d/x",
                "--runbook",
                "https://runbooks/oom",
                "--metric",
                "accuracy",
                "--observed",
                "0.5",
                "--threshold",
                "0.8",
                "--model",
                "bikes",
                "--model-version",
                "3",
                "--env",
                "prod",
                "--run-id",
                "r42",
                "-v",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!("accepted by {server}: {{\"accepted\":1}}\n")
    );
    assert_eq!(sink.wait_for_distinct(1, WAIT).await, 1);
    let a = bodies(&sink)[0]["alerts"][0].clone();
    assert_eq!(a["name"], "TrainingFailed");
    assert_eq!(a["severity"], "critical");
    assert_eq!(a["summary"], "OOM at epoch 3");
    assert_eq!(a["message"], "the job died");
    assert_eq!(a["labels"], json!({"model": "bikes", "team": "ml"}));
    assert_eq!(a["annotations"]["runbook_url"], "https://runbooks/oom");
    assert_eq!(a["annotations"]["dashboard_url"], "https://grafana/d/x");
    assert_eq!(
        a["evidence"],
        json!({"metric": "accuracy", "observed": 0.5, "threshold": 0.8})
    );
    assert_eq!(
        a["source"],
        json!({"model": "bikes", "version": "3", "environment": "prod", "run_id": "r42"})
    );

    // --json from standard input, a batch; ALERTS_SERVER names the service.
    let input = br#"[{"name": "DataDrift", "severity": "warning", "labels": {"feature": "temp"}},
                    {"name": "Latency", "severity": "error"}]"#;
    let out = w
        .run(
            &["send", "--json"],
            Some(input),
            &[("ALERTS_SERVER", server)],
        )
        .await;
    out.expect_code(0);
    assert_eq!(sink.wait_for_distinct(3, WAIT).await, 3);

    // Bad input: 2, with the reason.
    let out = w
        .run(
            &["send", "--server", server, "--json"],
            Some(br#"{"name": "x", "severity": "sev9"}"#),
            &[],
        )
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.starts_with(
            "alerts send: invalid alert JSON on standard input at $.severity: unknown severity \"sev9\""
        ),
        "{}",
        out.stderr
    );
    let out = w
        .run(
            &["send", "--server", server, "--json"],
            Some(b"\xff\xfe"),
            &[],
        )
        .await;
    out.expect_code(2);
    assert!(out.stderr.contains("not valid UTF-8"), "{}", out.stderr);
    let out = w
        .run(&["send", "--server", server, "--json"], Some(b"[]"), &[])
        .await;
    out.expect_code(2);
    assert_eq!(out.stderr, "alerts send: no alert on standard input\n");
    let out = w
        .run(
            &[
                "send",
                "--server",
                server,
                "--name",
                "x",
                "--severity",
                "loud",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("invalid value 'loud' for '--severity"),
        "{}",
        out.stderr
    );
    let out = w
        .run(
            &[
                "send",
                "--server",
                server,
                "--name",
                "x",
                "--threshold",
                "1",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts send: --observed, --threshold and --baseline need --metric\n"
    );
    let out = w
        .run(
            &[
                "send", "--server", server, "--label", "novalue", "--name", "x",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    // The service refuses it (label longer than its limit): bad input, 2.
    let long = format!("model={}", "m".repeat(40));
    let out = w
        .run(
            &["send", "--server", server, "--name", "x", "-l", &long],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts send: the service answered 400: $[0].labels.model: name or value longer than 32 bytes\n"
    );

    // The service cannot be reached: 1, with a hint.
    let out = w
        .run(
            &["send", "--server", "http://127.0.0.1:9", "--name", "x"],
            None,
            &[],
        )
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("cannot reach the alerts service"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--to <receiver|channel>"),
        "{}",
        out.stderr
    );
    assert_eq!(sink.distinct(), 3, "nothing bad got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_with_tokens() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start_with(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
        Start {
            env: vec![
                ("ALERTS_WRITE_TOKEN", "writer".to_owned()),
                ("ALERTS_READ_TOKEN", "reader".to_owned()),
            ],
            ..Start::default()
        },
    )
    .await
    .unwrap();
    let server = svc.url.as_str();
    let out = w
        .run(&["send", "--server", server, "--name", "x"], None, &[])
        .await;
    out.expect_code(1);
    assert_eq!(
        out.stderr,
        "alerts send: the service answered 401: missing `Authorization: Bearer <token>`\n"
    );
    let out = w
        .run(
            &[
                "send", "--server", server, "--name", "x", "--token", "reader",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.contains("403: this token may only read"),
        "{}",
        out.stderr
    );
    w.run(
        &[
            "send", "--server", server, "--name", "x", "--token", "writer",
        ],
        None,
        &[],
    )
    .await
    .expect_code(0);
    w.run(
        &["send", "--server", server, "--name", "y"],
        None,
        &[("ALERTS_WRITE_TOKEN", "writer")],
    )
    .await
    .expect_code(0);
    // Read commands use the read token.
    let out = w
        .run(
            &["silence", "list", "--server", server, "--json"],
            None,
            &[("ALERTS_READ_TOKEN", "reader")],
        )
        .await;
    out.expect_code(0);
    assert_eq!(out.json(), json!([]));

    // --token-file: the token comes from a file, not the command line (where `ps`
    // shows it to every user of the machine); surrounding white space is ignored.
    let writer = w.write("writer.token", "writer\n");
    let reader = w.write("reader.token", "  reader \n");
    let empty = w.write("empty.token", " \n");
    w.run(
        &[
            "send",
            "--server",
            server,
            "--name",
            "z",
            "--token-file",
            writer.to_str().unwrap(),
        ],
        None,
        &[],
    )
    .await
    .expect_code(0);
    let out = w
        .run(
            &[
                "silence",
                "list",
                "--server",
                server,
                "--json",
                "--token-file",
                reader.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(0);
    assert_eq!(out.json(), json!([]));
    let out = w
        .run(
            &[
                "silence",
                "add",
                "model=x",
                "--comment",
                "c",
                "--server",
                server,
                "--token-file",
                reader.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(1);
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    // A file that cannot be read, or holds nothing: bad input, 2, nothing sent.
    let out = w
        .run(
            &[
                "send",
                "--server",
                server,
                "--name",
                "w",
                "--token-file",
                "missing.token",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts: --token-file missing.token: No such file or directory (os error 2)\n"
    );
    let out = w
        .run(
            &[
                "ack",
                "0123456789abcdef",
                "--server",
                server,
                "--token-file",
                empty.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "alerts: --token-file {}: the file is empty\n",
            empty.display()
        )
    );
    // Both at once: a usage error.
    let out = w
        .run(
            &[
                "send",
                "--server",
                server,
                "--name",
                "w",
                "--token",
                "writer",
                "--token-file",
                writer.to_str().unwrap(),
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("'--token <TOKEN>' cannot be used with '--token-file <PATH>'"),
        "{}",
        out.stderr
    );
    assert_eq!(sink.wait_for_distinct(3, WAIT).await, 3);
}

/// `--help` says what each exit status means, that `send` to the service means
/// accepted (not delivered), and that `--token` shows in `ps`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_documents_exit_statuses_and_token_exposure() {
    let w = Workdir::new();
    let top = w.run(&["--help"], None, &[]).await;
    top.expect_code(0);
    let send = w.run(&["send", "--help"], None, &[]).await;
    send.expect_code(0);
    let history = w.run(&["history", "--help"], None, &[]).await;
    history.expect_code(0);
    for (what, text) in [
        ("alerts --help", &top.stdout),
        ("alerts send --help", &send.stdout),
    ] {
        for needle in [
            "Exit status:",
            "0  success: `send --to` and `test` delivered",
            "`send` to the service: the service accepted the alert",
            "2  bad input",
            "any config error",
        ] {
            assert!(
                text.contains(needle),
                "{what}: {needle:?} missing from\n{text}"
            );
        }
    }
    for (what, text) in [("send", &send.stdout), ("history", &history.stdout)] {
        for needle in [
            "--token <TOKEN>",
            "can read it with `ps`",
            "--token-file <PATH>",
        ] {
            assert!(
                text.contains(needle),
                "{what}: {needle:?} missing from\n{text}"
            );
        }
    }
}

fn hook_receiver_config(url: &str) -> String {
    format!(
        "[[receivers]]\nname = \"hook\"\nchannels = [{{ type = \"webhook\", url = \"{url}/direct\" }}, {{ type = \"console\", format = \"line\" }}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_directly_to_receivers_and_channels() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let cfg = w.write("direct.toml", &hook_receiver_config(&sink.url()));
    let cfg = cfg.to_str().unwrap();

    // A receiver from the config: every channel gets it; -v prints receipts.
    let out = w
        .run(
            &[
                "send",
                "--to",
                "hook",
                "-c",
                cfg,
                "--name",
                "Direct",
                "--severity",
                "error",
                "-v",
            ],
            None,
            &[],
        )
        .await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "hook/webhook: delivered id=1\nhook/console: delivered\n"
    );
    assert!(
        out.stderr.contains("Direct"),
        "the console channel printed it: {}",
        out.stderr
    );
    let b = &bodies(&sink)[0];
    assert_eq!(b["alerts"][0]["name"], "Direct");
    assert_eq!(sink.recorded()[0].path, "/direct");

    // A batch from stdin goes out as one group.
    let out = w
        .run(
            &["send", "--to", "hook", "-c", cfg, "--json"],
            Some(br#"[{"name": "A", "severity": "info"}, {"name": "B", "severity": "info"}]"#),
            &[],
        )
        .await;
    out.expect_code(0);
    assert_eq!(bodies(&sink)[1]["alerts"].as_array().unwrap().len(), 2);

    // The channel fails: 1, with the channel's error (no retry in one-shot sends).
    sink.push(Reply::text(500, "boom"));
    let out = w
        .run(
            &["send", "--to", "hook", "-c", cfg, "--name", "X"],
            None,
            &[],
        )
        .await;
    out.expect_code(1);
    assert!(
        out.stderr.starts_with("alerts send: hook/webhook: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("500"), "{}", out.stderr);
    assert!(
        !out.stderr.contains(&sink.url()),
        "the URL is a secret: {}",
        out.stderr
    );

    // A channel type configured from the environment.
    let url = format!("{}/from-env", sink.url());
    let out = w
        .run(
            &["send", "--to", "webhook", "--name", "FromEnv"],
            None,
            &[("ALERT_WEBHOOK_URL", &url)],
        )
        .await;
    out.expect_code(0);
    assert_eq!(sink.recorded().last().unwrap().path, "/from-env");

    // Unknown receiver: bad input, with what exists.
    let out = w
        .run(
            &["send", "--to", "pager", "-c", cfg, "--name", "X"],
            None,
            &[],
        )
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts send: unknown receiver or channel `pager`: receivers in the config: [hook]; \
         channels from the environment: [console, desktop, slack, discord, datadog, statuspal, webhook]\n"
    );
    // A channel type without its environment: bad input naming the variable.
    let out = w
        .run(&["send", "--to", "slack", "--name", "X"], None, &[])
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("ALERT_SLACK_WEBHOOK_URL"),
        "{}",
        out.stderr
    );

    // `alerts test RECEIVER` from the config.
    let out = w.run(&["test", "hook", "-c", cfg], None, &[]).await;
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("hook/webhook: delivered, receipt {"),
        "{}",
        out.stdout
    );
    assert_eq!(
        bodies(&sink).last().unwrap()["alerts"][0]["name"],
        "AlertsTest"
    );
    let out = w
        .run(&["test", "hook", "-c", cfg, "--json"], None, &[])
        .await;
    let v = out.expect_code(0).json();
    assert_eq!(v["receiver"], "hook");
    assert_eq!(v["results"][0]["channel"], "hook/webhook");
    assert_eq!(v["results"][0]["ok"], true);
    assert_eq!(v["results"][1]["channel"], "hook/console");
    sink.push(Reply::text(400, "bad"));
    let out = w
        .run(&["test", "hook", "-c", cfg, "--json"], None, &[])
        .await;
    let v = out.expect_code(1).json();
    assert_eq!(v["results"][0]["ok"], false);
    assert_eq!(v["results"][0]["kind"], "rejected");
    assert_eq!(v["results"][1]["ok"], true, "other channels still get it");
    let out = w.run(&["test", "nobody", "-c", cfg], None, &[]).await;
    out.expect_code(2);
}

/// `alerts ARGS --server SERVER`.
async fn at(w: &Workdir, server: &str, args: &[&str]) -> Out {
    let mut a = args.to_vec();
    a.extend(["--server", server]);
    w.run(&a, None, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_ack_history_report_and_test_against_the_service() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;
    let server = svc.url.as_str();

    // Silences: add, list (table and JSON), expire.
    let out = at(
        &w,
        server,
        &[
            "silence",
            "add",
            "model=cars",
            "severity<=warning",
            "--duration",
            "2h",
            "--by",
            "ops",
            "--comment",
            "retraining cars",
        ],
    )
    .await;
    out.expect_code(0);
    let id = out
        .stdout
        .strip_prefix("created silence ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_owned();
    let out = at(&w, server, &["silence", "list"]).await;
    out.expect_code(0);
    let mut lines = out.stdout.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("STATE") && header.ends_with("COMMENT"),
        "{header}"
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with(&id), "{row}");
    assert!(
        row.contains("active") && row.contains("ops") && row.ends_with("retraining cars"),
        "{row}"
    );
    let out = at(&w, server, &["silence", "list", "--json"]).await;
    let list = out.expect_code(0).json();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["matchers"].as_array().unwrap().len(), 2);
    let out = at(&w, server, &["silence", "expire", &id]).await;
    out.expect_code(0);
    assert_eq!(out.stdout, format!("expired silence {id}\n"));
    let list = at(&w, server, &["silence", "list", "--json"]).await.json();
    assert_eq!(list[0]["state"], "expired");
    let out = at(&w, server, &["silence", "expire", "no-such-id"]).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts: the service answered 404: silence not found: no-such-id\n"
    );
    let out = at(
        &w,
        server,
        &["silence", "add", "model=~(", "--comment", "x"],
    )
    .await;
    out.expect_code(2);
    assert!(out.stderr.contains("400: $.matchers[0]"), "{}", out.stderr);

    // An alert, delivered; ack it.
    assert_eq!(
        svc.post(
            "/api/v1/alerts",
            &json!({"name": "ModelDown", "severity": "critical", "labels": {"model": "bikes"}})
        )
        .await
        .0,
        202
    );
    assert_eq!(sink.wait_for_distinct(1, WAIT).await, 1);
    let fp = bodies(&sink)[0]["alerts"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = at(
        &w,
        server,
        &["ack", &fp, "--by", "alice", "--comment", "on it"],
    )
    .await;
    out.expect_code(0);
    assert_eq!(out.stdout, format!("acknowledged {fp}\n"));
    let out = at(&w, server, &["ack", "0123456789abcdef", "--by", "alice"]).await;
    out.expect_code(2);
    assert!(out.stderr.contains("404"), "{}", out.stderr);

    // History: the delivery attempt, as a table and as JSON; filters are checked.
    let history = eventually(WAIT, "the attempt in the history", || async {
        let out = at(&w, server, &["history", "--json"]).await;
        let v = out.json();
        (v.as_array().map(Vec::len) == Some(1)).then_some(v)
    })
    .await;
    assert_eq!(history[0]["receiver"], "hook");
    assert_eq!(history[0]["channel"], "webhook");
    assert_eq!(history[0]["outcome"], "delivered");
    assert!(history[0]["latency_ms"].as_f64().is_some(), "{history}");
    assert_eq!(history[0]["fingerprints"], json!([fp]));
    let out = at(
        &w,
        server,
        &["history", "--receiver", "hook", "--outcome", "delivered"],
    )
    .await;
    out.expect_code(0);
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        [
            "AT", "RECEIVER", "CHANNEL", "ATTEMPT", "OUTCOME", "LATENCY", "ERROR/ID"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[1..5], ["hook", "webhook", "1", "delivered"], "{row:?}");
    assert!(row[5].ends_with("ms"), "{row:?}");
    assert_eq!(row[6], "1", "the receipt id the sink answered: {row:?}");
    assert_eq!(lines.next(), None);
    let out = at(&w, server, &["history", "--outcome", "gave_up", "--json"]).await;
    assert_eq!(out.expect_code(0).json(), json!([]));
    let out = at(
        &w,
        server,
        &["history", "--fingerprint", &fp, "--since", "1h", "--json"],
    )
    .await;
    assert_eq!(out.expect_code(0).json().as_array().unwrap().len(), 1);
    let out = at(&w, server, &["history", "--outcome", "won"]).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts: the service answered 400: outcome: expected delivered, failed, gave_up or fell_back, not \"won\"\n"
    );

    // Report: the alert fired once, one notification, acknowledged.
    let out = at(&w, server, &["report", "--json"]).await;
    let report = out.expect_code(0).json();
    let by_alert = report["by_alert"].as_array().expect("by_alert");
    let row = by_alert
        .iter()
        .find(|r| r["key"] == "ModelDown")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(row["fired"], 1, "{report}");
    assert_eq!(row["notifications"], 1, "{report}");
    let out = at(&w, server, &["report", "--since", "1d"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("Alert effectiveness from "),
        "{}",
        out.stdout
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header = lines.iter().position(|l| *l == "By alert name").unwrap() + 1;
    let columns: Vec<&str> = lines[header]
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        columns,
        [
            "KEY",
            "FIRED",
            "NOTIFIED",
            "DELIVERED",
            "FAILED",
            "SUPPRESSED",
            "FLAPS",
            "ACKED",
            "ACK p50",
            "RESOLVE p50",
            "RESOLVED UNACKED",
            "NEVER ACKED"
        ]
    );
    let model_down: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("ModelDown "))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .split_whitespace()
        .collect();
    // fired 1, notified 1, delivered 1, failed 0, suppressed 0, flaps 0, acked 1,
    // an ack time, no resolve time, 0, 0.
    assert_eq!(
        &model_down[1..8],
        ["1", "1", "1", "0", "0", "0", "1"],
        "{model_down:?}"
    );
    assert!(model_down[8].ends_with('s'), "{model_down:?}");
    assert_eq!(&model_down[9..], ["-", "0", "0"], "{model_down:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("total ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\nBy route\n"), "{}", out.stdout);

    // `alerts test` through the service.
    let out = at(&w, server, &["test", "hook"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("webhook: delivered, receipt {"),
        "{}",
        out.stdout
    );
    assert_eq!(
        bodies(&sink).last().unwrap()["alerts"][0]["name"],
        "AlertsTest"
    );
    let out = at(&w, server, &["test", "nobody"]).await;
    out.expect_code(2);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    sink.push(Reply::text(503, "down"));
    let out = at(&w, server, &["test", "hook"]).await;
    out.expect_code(1);
    assert!(
        out.stdout.starts_with("webhook: FAILED (server): "),
        "{}",
        out.stdout
    );
    let out = at(&w, server, &["test", "hook", "--json"]).await;
    let v = out.expect_code(0).json();
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    assert_eq!(v["results"][0]["receipt"]["channel"], "webhook", "{v}");

    // Nothing reachable: 1.
    let out = w
        .run(
            &["silence", "list", "--server", "http://127.0.0.1:9"],
            None,
            &[],
        )
        .await;
    out.expect_code(1);
}
