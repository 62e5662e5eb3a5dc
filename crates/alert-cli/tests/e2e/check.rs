//! `alerts check` on good and broken configs: exit codes and the exact error text
//! (file, line, column, key, and the line as written).

use crate::harness::Workdir;

/// A config using every section and every channel type (nothing is sent).
const FULL: &str = r#"
resolve_timeout = "5m"
keep_firing_for = "1m"

[server]
listen = "127.0.0.1:9095"
shutdown_grace = "5s"
[server.auth]
write_tokens = ["${WRITE_TOKEN}"]
[server.limits]
max_body_bytes = 1048576

[storage]
backend = "sqlite"
retention = "7d"

[log]
format = "json"
level = "debug"

[[rules]]
name = "AccuracyLow"
metric = "accuracy"
warning = { lower = 0.8 }
critical = { lower = 0.7 }
for = "5m"

[route]
receiver = "team"
group_by = ["alertname", "model"]

[[route.routes]]
matchers = ["severity >= error"]
receiver = "oncall"
escalate = [{ after = "15m", receiver = "status" }]

[[receivers]]
name = "team"
channels = [
  { type = "console", format = "json" },
  { type = "webhook", url = "http://127.0.0.1:1/hook", format = "alertmanager" },
  { type = "desktop", app_name = "alerts" },
]

[[receivers]]
name = "oncall"
channels = [
  { type = "slack", webhook_url = "${SLACK_URL}" },
  { type = "discord", webhook_url = "https://discord.com/api/webhooks/123456789012345678/abc" },
  { type = "datadog", api_key = "${DD_KEY}", base_url = "http://127.0.0.1:1" },
]

[[receivers]]
name = "status"
channels = [{ type = "statuspal", api_key = "k", subdomain = "acme", templates = { title = "{name} on {model}" } }]

[[inhibit_rules]]
source_matchers = ["severity = critical"]
target_matchers = ["severity = warning"]
equal = ["model"]
"#;

const ENV: [(&str, &str); 3] = [
    ("WRITE_TOKEN", "w"),
    (
        "SLACK_URL",
        "https://hooks.slack.com/services/T000/B000/secretpart",
    ),
    ("DD_KEY", "0123456789abcdef0123456789abcdef"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_config_passes() {
    let w = Workdir::new();
    let p = w.write("full.toml", FULL);
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &ENV)
        .await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "{}: OK (3 receivers, 7 channels, 1 rule; 6 templates rendered 36 times)\n",
            p.display()
        )
    );
    // ALERTS_CONFIG names the file when --config is not given.
    let mut env = ENV.to_vec();
    let path = p.to_str().unwrap().to_owned();
    env.push(("ALERTS_CONFIG", &path));
    w.run(&["check"], None, &env).await.expect_code(0);
}

/// The lines errors show with a secret redacted (the Discord webhook URL and the
/// Statuspal key are written in the file, and must not reach standard error).
const REDACTED_LINES: [(&str, &str); 4] = [
    (
        "channel that does not build",
        "  { type = \"discord\", webhook_url = \"**REDACTED**\" },",
    ),
    (
        "template that renders empty",
        "channels = [{ type = \"statuspal\", api_key = \"**REDACTED**\", subdomain = \"acme\", templates = { title = \"{model}\" } }]",
    ),
    (
        "template naming alertname as a label",
        "channels = [{ type = \"statuspal\", api_key = \"**REDACTED**\", subdomain = \"acme\", templates = { title = \"{label:alertname} on {model}\" } }]",
    ),
    (
        "bad template",
        "channels = [{ type = \"statuspal\", api_key = \"**REDACTED**\", subdomain = \"acme\", templates = { title = \"{name} on {labels}\" } }]",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_configs_name_file_line_column_and_key() {
    let w = Workdir::new();
    // (what, change FULL from, to; where the error points (the first occurrence of
    // this text in the changed file), the message: "KEY: why"). The line shown is
    // the anchor's line as written, except where a secret on it is redacted
    // (`REDACTED_LINES`).
    let cases: [(&str, &str, &str, &str, &str); 14] = [
        (
            "misspelt key",
            "name = \"team\"\nchannels",
            "name = \"team\"\nchanels",
            "chanels",
            "receivers[0].chanels: unknown field `chanels`, expected one of `name`, `send_resolved`, `channels`, `fallback`",
        ),
        (
            "misspelt section",
            "[log]",
            "[logging]",
            "[logging]",
            "logging: unknown field `logging`, expected one of `route`, `receivers`, `inhibit_rules`, `time_intervals`, `flap_detection`, `keep_firing_for`, `resolve_timeout`, `retention`, `actions` (the service also accepts server, storage, log, rules, delivery)",
        ),
        (
            "TOML syntax",
            "[route]",
            "[route",
            "[route\n",
            "unclosed table, expected `]`",
        ),
        (
            "bad duration",
            "shutdown_grace = \"5s\"",
            "shutdown_grace = \"soon\"",
            "\"soon\"",
            "server.shutdown_grace: invalid duration \"soon\": expected number at 0 (e.g. \"10s\", \"5m\")",
        ),
        (
            "unknown channel type",
            "type = \"desktop\"",
            "type = \"pager\"",
            "\"pager\"",
            "receivers[0].channels[2].type: unknown variant `pager`, expected one of `console`, `custom`, `desktop`, `slack`, `discord`, `datadog`, `statuspal`, `webhook`",
        ),
        (
            "channel that does not build",
            "https://discord.com/api",
            "https://example.com/api",
            "\"https://example.com/api",
            "receivers[1].channels[1].webhook_url: host `example.com` is not a Discord host (expected one of discord.com, canary.discord.com, ptb.discord.com, discordapp.com, canary.discordapp.com, ptb.discordapp.com)",
        ),
        (
            "bad template",
            "{name} on {model}",
            "{name} on {labels}",
            "\"{name} on {labels}\"",
            "receivers[2].channels[0].templates.title: unknown placeholder `{labels}`; known placeholders: {summary}, {name}, {severity}, {model}, {label:NAME}",
        ),
        (
            "template that renders empty",
            "{name} on {model}",
            "{model}",
            "\"{model}\"",
            "receivers[2].channels[0].templates.title: renders empty for a firing error alert with only a name (no summary, model or labels) (the alert has no model), so the status page would show `Service issue` instead; add text outside the placeholders, or use {summary} or {name}",
        ),
        (
            "template naming alertname as a label",
            "{name} on {model}",
            "{label:alertname} on {model}",
            "\"{label:alertname} on {model}\"",
            "receivers[2].channels[0].templates.title: `{label:alertname}` is always empty: an alert's name is not one of its labels (Prometheus' and Alertmanager's `alertname` becomes the name); use `{name}`",
        ),
        (
            "route to an unknown receiver",
            "receiver = \"oncall\"",
            "receiver = \"on-call\"",
            "\"on-call\"",
            "route.routes[0].receiver: no receiver named `on-call`",
        ),
        (
            "bad matcher",
            "\"severity >= error\"",
            "\"severity >= urgent\"",
            "[\"severity >= urgent\"]",
            "route.routes[0].matchers[0]: invalid matcher \"severity >= urgent\": unknown severity \"urgent\": expected one of info, warning, error, critical (also accepted: information, informational, notice, low, warn, medium, err, high, crit, fatal, emergency, page)",
        ),
        (
            "inconsistent rule",
            "critical = { lower = 0.7 }",
            "critical = { lower = 0.9 }",
            "[[rules]]",
            "rules[0]: invalid parameter `rules[0] (AccuracyLow).critical`: the critical band must lie outside the warning band (a critical breach is also a warning breach)",
        ),
        (
            "unset variable",
            "${DD_KEY}",
            "${DATADOG_KEY}",
            "${DATADOG_KEY}",
            "environment variable `DATADOG_KEY` is not set",
        ),
        (
            "bad log level",
            "level = \"debug\"",
            "level = \"loud\"",
            "\"loud\"",
            "log.level: expected one of error, warn, info, debug, trace, not \"loud\"",
        ),
    ];
    let mut failures = Vec::new();
    for (what, from, to, anchor, message) in cases {
        assert!(FULL.contains(from), "{what}: {from:?} not in FULL");
        let text = FULL.replacen(from, to, 1);
        let p = w.write("broken.toml", &text);
        let out = w
            .run(&["check", "-c", p.to_str().unwrap()], None, &ENV)
            .await;
        // Line and column (1-based, in characters) of the anchor, computed here; an
        // anchor ending in a newline points at that end of line.
        let mut at = text.find(anchor).expect("anchor");
        if anchor.ends_with('\n') {
            at += anchor.len() - 1;
        }
        let line = text[..at].matches('\n').count() + 1;
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..at].chars().count() + 1;
        let as_written = text[line_start..].lines().next().unwrap();
        let snippet = REDACTED_LINES
            .iter()
            .find(|(w, _)| *w == what)
            .map_or(as_written, |(_, line)| line);
        let expected = format!(
            "alerts check: {}:{line}:{column}: {message}\n    | {}\n",
            p.display(),
            snippet.trim_end()
        );
        if out.code != 2 || out.stderr != expected || !out.stdout.is_empty() {
            failures.push(format!(
                "{what}: exit {}\n  expected: {expected:?}\n  got:      {:?}",
                out.code, out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_check_errors() {
    let w = Workdir::new();
    // A Slack webhook URL that is not a URL: the error must not quote it.
    let p = w.write("s.toml", FULL);
    let env = [
        ("WRITE_TOKEN", "w"),
        ("SLACK_URL", "hooks-topsecretvalue"),
        ("DD_KEY", "0123456789abcdef0123456789abcdef"),
    ];
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &env)
        .await;
    out.expect_code(2);
    assert!(
        out.stderr.contains("receivers[1].channels[0].webhook_url"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("topsecretvalue"), "{}", out.stderr);

    // Secrets written in the file itself are redacted from the line an error shows,
    // and from its message.
    let literal = FULL
        .replace("api_key = \"k\"", "api_key = \"literal-statuspal-key\"")
        .replace("{name} on {model}", "{name} on {labels}")
        .replace(
            "${SLACK_URL}",
            "https://hooks.slack.com/services/T0/B0/literal-slack-token",
        );
    let p = w.write("literal.toml", &literal);
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &ENV)
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "alerts check: {}:55:112: receivers[2].channels[0].templates.title: unknown placeholder `{{labels}}`; known placeholders: {{summary}}, {{name}}, {{severity}}, {{model}}, {{label:NAME}}\n    \
             | channels = [{{ type = \"statuspal\", api_key = \"**REDACTED**\", subdomain = \"acme\", templates = {{ title = \"{{name}} on {{labels}}\" }} }}]\n",
            p.display()
        )
    );
    // A TOML syntax error on the line of a literal Slack URL (its string is never
    // closed).
    let broken = literal
        .replace("{name} on {labels}", "{name} on {model}")
        .replace("literal-slack-token\" }", "literal-slack-token }");
    let p = w.write("broken-literal.toml", &broken);
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &ENV)
        .await;
    out.expect_code(2);
    // The parser stops on the next line, shown as written (its URL redacted).
    assert_eq!(
        out.stderr,
        format!(
            "alerts check: {}:49:3: missing key for inline table element, expected `,`\n    \
             |   {{ type = \"discord\", webhook_url = \"**REDACTED**\" }},\n",
            p.display()
        )
    );
    for secret in ["literal-slack-token", "literal-statuspal-key", "T0/B0"] {
        assert!(!out.stderr.contains(secret), "{}", out.stderr);
    }

    // Interpolated values may hold quotes, backslashes and newlines: they are
    // escaped for the string they stand in, and the config is valid.
    let p = w.path().join("s.toml");
    let out = w
        .run(
            &["check", "-c", p.to_str().unwrap()],
            None,
            &[("WRITE_TOKEN", "a\"b\\c\nd"), ENV[1], ENV[2]],
        )
        .await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "{}: OK (3 receivers, 7 channels, 1 rule; 6 templates rendered 36 times)\n",
            p.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_and_missing_configs() {
    let w = Workdir::new();
    let p = w.path().join("latin1.toml");
    std::fs::write(&p, b"[log]\nlevel = \"caf\xe9\"\n").unwrap();
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &[])
        .await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        format!(
            "alerts check: {}:2:13: the file is not valid UTF-8\n",
            p.display()
        )
    );
    let out = w.run(&["check", "-c", "nope.toml"], None, &[]).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts check: nope.toml: cannot read the file: No such file or directory (os error 2)\n"
    );
    let out = w.run(&["check"], None, &[]).await;
    out.expect_code(2);
    assert_eq!(
        out.stderr,
        "alerts check: no config file (give --config FILE or set ALERTS_CONFIG)\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_broken_config_with_the_same_errors() {
    use crate::harness::{Service, Start};
    let w = Workdir::new();
    let text = "[storage]\nbackend = \"memory\"\n[route]\nreceiver = \"nobody\"\n[[receivers]]\nname = \"team\"\nchanels = []\n";
    let (code, out) = Service::start_with(&w, text, Start::default())
        .await
        .map(|_| panic!("started with a broken config"))
        .unwrap_err();
    let file = w.path().join("config.toml");
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.starts_with(&format!(
            "alerts serve: {}:7:1: receivers[0].chanels: unknown field `chanels`",
            file.display()
        )),
        "{out}"
    );
    let text = text.replace("chanels = []\n", "");
    let (code, out) = Service::start_with(&w, &text, Start::default())
        .await
        .map(|_| panic!("started with a route to nowhere"))
        .unwrap_err();
    // A config that parses but does not build is a config error too: 2.
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        out,
        format!(
            "alerts serve: cannot start the router: {}:4:12: route.receiver: no receiver named `nobody`\n    | receiver = \"nobody\"\n",
            file.display()
        )
    );
    // So is a template that renders empty, which `alerts check` refuses too.
    let template = "[storage]\nbackend = \"memory\"\n[[receivers]]\nname = \"status\"\n\
                    channels = [{ type = \"statuspal\", api_key = \"${SP}\", subdomain = \"acme\", templates = { created = \"{label:customer_text}\" } }]\n";
    let (code, out) = Service::start_with(
        &w,
        template,
        Start {
            env: vec![("SP", "k".to_owned())],
            ..Start::default()
        },
    )
    .await
    .map(|_| panic!("started with a template that renders empty"))
    .unwrap_err();
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.starts_with(&format!(
            "alerts serve: {}:5:98: receivers[0].channels[0].templates.created: renders empty for a firing error alert",
            file.display()
        )),
        "{out}"
    );
}
