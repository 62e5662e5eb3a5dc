//! Bearer tokens with read and write scopes, from the config and the environment;
//! a non-loopback bind needs them.

use alert_webhook::fake::FakeWebhook;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Service, Start, Workdir, hook_config};

const READ: &str = "read-token-5b1e0f";
const WRITE: &str = "write-token-9c4d2a";
const ENV_WRITE: &str = "env-write-token-77aa01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_from_config_and_environment() {
    let sink = FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let config = hook_config(
        &sink.url(),
        r#"["alertname"]"#,
        "100ms",
        "\n[server.auth]\nread_tokens = [\"${READ_T}\"]\nwrite_tokens = [\"${WRITE_T}\"]\n\n[log]\nlevel = \"debug\"\nformat = \"json\"\n",
    );
    let svc = Service::start_with(
        &w,
        &config,
        Start {
            env: vec![
                ("READ_T", READ.to_owned()),
                ("WRITE_T", WRITE.to_owned()),
                (
                    "ALERTS_WRITE_TOKEN",
                    format!("{ENV_WRITE}, second-env-token"),
                ),
            ],
            ..Start::default()
        },
    )
    .await
    .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"));
    let alert = json!({"name": "X", "severity": "info"});

    let anon = |m: Method, p: &str| svc.request(m, p);
    let send = |r: reqwest::RequestBuilder| async move {
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json::<serde_json::Value>().await.unwrap_or_default())
    };

    // No token: 401 for the API and /metrics, health checks stay open.
    let (s, b) = send(anon(Method::POST, "/api/v1/alerts").json(&alert)).await;
    assert_eq!(s, 401);
    assert_eq!(
        b["error"]["message"],
        "missing `Authorization: Bearer <token>`"
    );
    // Refused before the body is even read.
    let (s, _) = send(anon(Method::POST, "/api/v1/alerts").body("{not json")).await;
    assert_eq!(s, 401);
    assert_eq!(send(anon(Method::GET, "/api/v1/alerts")).await.0, 401);
    assert_eq!(send(anon(Method::GET, "/metrics")).await.0, 401);
    assert_eq!(svc.get("/healthz").await.0, 200);
    assert_eq!(svc.get("/readyz").await.0, 200);
    // Another scheme, an unknown token.
    let (s, _) = send(anon(Method::GET, "/api/v1/alerts").basic_auth("u", Some(READ))).await;
    assert_eq!(s, 401);
    let (s, b) = send(anon(Method::GET, "/api/v1/alerts").bearer_auth("guess")).await;
    assert_eq!((s, &b["error"]["message"]), (401, &json!("unknown token")));
    // Wrong tokens of the same length as a real one (one byte off), shorter, and
    // longer (a real one with a suffix) are all refused, for reads and writes.
    let mut same_len = WRITE.to_owned();
    same_len.pop();
    same_len.push('b');
    assert_eq!(same_len.len(), WRITE.len());
    for wrong in [
        same_len.as_str(),
        &WRITE[..WRITE.len() - 1],
        &format!("{WRITE}0"),
        &format!("{READ}{READ}"),
    ] {
        let (s, b) = send(anon(Method::GET, "/api/v1/alerts").bearer_auth(wrong)).await;
        assert_eq!(
            (s, &b["error"]["message"]),
            (401, &json!("unknown token")),
            "{wrong}"
        );
        let (s, _) = send(
            anon(Method::POST, "/api/v1/alerts")
                .bearer_auth(wrong)
                .json(&alert),
        )
        .await;
        assert_eq!(s, 401, "{wrong}");
    }

    // A read token reads, and may not write.
    let (s, _) = send(anon(Method::GET, "/api/v1/alerts").bearer_auth(READ)).await;
    assert_eq!(s, 200);
    let (s, _) = send(anon(Method::GET, "/metrics").bearer_auth(READ)).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        anon(Method::POST, "/api/v1/alerts")
            .bearer_auth(READ)
            .json(&alert),
    )
    .await;
    assert_eq!(
        (s, &b["error"]["message"]),
        (403, &json!("this token may only read"))
    );
    let (s, _) = send(
        anon(Method::POST, "/api/v1/silences")
            .bearer_auth(READ)
            .json(&json!({"matchers": ["a=b"], "duration": "1h", "created_by": "x"})),
    )
    .await;
    assert_eq!(s, 403);

    // Write tokens, from the config and from the environment (a list), write and read.
    for token in [WRITE, ENV_WRITE, "second-env-token"] {
        let (s, b) = send(
            anon(Method::POST, "/api/v1/alerts")
                .bearer_auth(token)
                .json(&alert),
        )
        .await;
        assert_eq!(s, 202, "{token}: {b}");
        let (s, _) = send(anon(Method::GET, "/api/v1/status").bearer_auth(token)).await;
        assert_eq!(s, 200);
    }
    let svc = svc.with_token(READ);
    let (_, st) = svc.get("/api/v1/status").await;
    assert_eq!(st["auth"], true);
    assert_eq!(
        sink.wait_for_distinct(1, std::time::Duration::from_secs(15))
            .await,
        1
    );

    // The tokens never reach the logs. (The log is read from the service's standard
    // error by another thread: wait for the debug lines of the delivery there.)
    let log = crate::harness::eventually(
        std::time::Duration::from_secs(30),
        "debug JSON log lines",
        || async {
            let log = svc.log();
            log.contains("\"level\":\"DEBUG\"").then_some(log)
        },
    )
    .await;
    // JSON logs are JSON lines only: the banner is an event too.
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
    assert!(log.contains(&format!("listening on {}", svc.url)), "{log}");
    for secret in [READ, WRITE, ENV_WRITE, "second-env-token"] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the log:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bind_without_tokens_refuses_to_start() {
    let w = Workdir::new();
    let config = "[storage]\nbackend = \"memory\"\n[[receivers]]\nname = \"c\"\nchannels = [{ type = \"console\" }]\n";
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let (code, out) = Service::start_with(
            &w,
            config,
            Start {
                listen: Some(listen),
                ..Start::default()
            },
        )
        .await
        .map(|_| panic!("alerts serve started on {listen} without tokens"))
        .unwrap_err();
        assert_eq!(code, Some(2), "a config (or usage) error: {out}");
        assert!(
            out.contains(&format!(
                "alerts serve: refusing to listen on {listen} without authentication"
            )),
            "{out}"
        );
    }
    // The same from the config file, caught by `alerts check`; tokens make it valid.
    let bad = w.write(
        "public.toml",
        &format!("[server]\nlisten = \"0.0.0.0:9095\"\n{config}"),
    );
    let out = w
        .run(&["check", "-c", bad.to_str().unwrap()], None, &[])
        .await;
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("server.listen: refusing to listen on 0.0.0.0:9095 without authentication"),
        "{}",
        out.stderr
    );
    let good = w.write(
        "public-auth.toml",
        &format!(
            "[server]\nlisten = \"0.0.0.0:9095\"\n[server.auth]\nwrite_tokens = [\"${{T}}\"]\n{config}"
        ),
    );
    let out = w
        .run(
            &["check", "-c", good.to_str().unwrap()],
            None,
            &[("T", "t0ken")],
        )
        .await;
    out.expect_code(0);
    // A token in the environment is enough too.
    let out = w
        .run(
            &["check", "-c", bad.to_str().unwrap()],
            None,
            &[("ALERTS_READ_TOKEN", "r")],
        )
        .await;
    out.expect_code(0);
}
