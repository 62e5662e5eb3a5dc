//! The read side of Alertmanager API v2 (`GET /api/v2/alerts`, `/silences`,
//! `/status`), in Alertmanager's shapes, read by a real client: `amtool` (Debian
//! package `prometheus-alertmanager`, installed by `.ci/run`). Without `amtool` the
//! client half prints why and passes, except under CI (`ALERTS_CI=1`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Service, Start, Workdir, hook_config};

fn amtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("amtool"))
        .chain(std::iter::once(PathBuf::from("/usr/bin/amtool")))
        .find(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_v2_reads_for_grafana_and_amtool() {
    let sink = alert_webhook::fake::FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start_with(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
        Start {
            env: vec![
                ("ALERTS_WRITE_TOKEN", "w-token".to_owned()),
                ("ALERTS_READ_TOKEN", "r-token".to_owned()),
            ],
            ..Start::default()
        },
    )
    .await
    .unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"))
    .with_token("w-token");

    // A silence for cars, then three alerts: native, from Prometheus, silenced.
    let (status, created) = svc
        .post(
            "/api/v1/silences",
            &json!({"matchers": ["model = cars", "severity >= error"], "duration": "1h",
                    "created_by": "ops", "comment": "cars retraining"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let silence = created["id"].as_str().unwrap().to_owned();
    let native = json!([
        {"name": "ModelDown", "severity": "critical", "summary": "bikes is down",
         "message": "no predictions", "labels": {"model": "bikes"},
         "starts_at": "2026-01-01T00:00:00Z"},
        {"name": "ModelDown", "severity": "critical", "labels": {"model": "cars"}}
    ]);
    assert_eq!(svc.post("/api/v1/alerts", &native).await.0, 202);
    let prom = json!([{
        "labels": {"alertname": "HighLatency", "severity": "warning", "model": "bikes"},
        "annotations": {"summary": "p99 above 2s"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x"
    }]);
    assert_eq!(svc.post("/api/v2/alerts", &prom).await.0, 200);

    let (status, alerts) = svc.get("/api/v2/alerts").await;
    assert_eq!(status, 200, "{alerts}");
    let alerts = alerts.as_array().expect("array").clone();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    let find = |name: &str, model: &str| -> Value {
        alerts
            .iter()
            .find(|a| a["labels"]["alertname"] == name && a["labels"]["model"] == model)
            .unwrap_or_else(|| panic!("{name}/{model} not in {alerts:?}"))
            .clone()
    };
    let bikes = find("ModelDown", "bikes");
    let fp =
        alert_core::Fingerprint::of_sorted_labels([("alertname", "ModelDown"), ("model", "bikes")]);
    assert_eq!(bikes["fingerprint"], fp.to_string());
    assert_eq!(
        bikes["labels"],
        json!({"alertname": "ModelDown", "model": "bikes"})
    );
    assert_eq!(
        bikes["annotations"],
        json!({"summary": "bikes is down", "description": "no predictions"})
    );
    assert_eq!(bikes["startsAt"], "2026-01-01T00:00:00Z");
    assert_eq!(bikes["receivers"], json!([{"name": "hook"}]));
    assert_eq!(
        bikes["status"],
        json!({"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []})
    );
    // No end given: it ends resolve_timeout (5m) after it was last received.
    let updated: alert_core::Timestamp = bikes["updatedAt"].as_str().unwrap().parse().unwrap();
    let ends: alert_core::Timestamp = bikes["endsAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(ends, updated.saturating_add(Duration::from_secs(300)));
    let latency = find("HighLatency", "bikes");
    assert_eq!(
        latency["generatorURL"],
        "http://prometheus:9090/graph?g0.expr=x"
    );
    assert_eq!(latency["annotations"], json!({"summary": "p99 above 2s"}));
    assert_eq!(latency["endsAt"], "2099-01-01T00:00:00Z");
    assert_eq!(
        latency["labels"],
        json!({"alertname": "HighLatency", "model": "bikes", "severity": "warning"})
    );
    let cars = find("ModelDown", "cars");
    assert_eq!(
        cars["status"],
        json!({"state": "suppressed", "silencedBy": [silence], "inhibitedBy": [], "mutedBy": []})
    );

    // Alertmanager's query parameters.
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["labels"]["alertname"].as_str().unwrap(),
                    a["labels"]["model"].as_str().unwrap()
                )
            })
            .collect();
        n.sort();
        n
    };
    for (query, expected) in [
        (
            "?silenced=false",
            vec!["HighLatency/bikes", "ModelDown/bikes"],
        ),
        ("?active=false", vec!["ModelDown/cars"]),
        (
            "?filter=alertname%3D%22ModelDown%22",
            vec!["ModelDown/bikes", "ModelDown/cars"],
        ),
        (
            "?filter=alertname%3D%22ModelDown%22&filter=model%3D~%22b.*%22",
            vec!["ModelDown/bikes"],
        ),
        (
            "?receiver=ho.*",
            vec!["HighLatency/bikes", "ModelDown/bikes", "ModelDown/cars"],
        ),
        ("?receiver=nobody", vec![]),
    ] {
        let (status, v) = svc.get(&format!("/api/v2/alerts{query}")).await;
        assert_eq!(status, 200, "{query}: {v}");
        assert_eq!(names(&v), expected, "{query}");
    }
    let (status, v) = svc.get("/api/v2/alerts?filter=model%20~~%20x").await;
    assert_eq!(
        (status, &v["error"]["field"]),
        (400, &json!("filter")),
        "{v}"
    );
    let (status, v) = svc.get("/api/v2/alerts?activ=true").await;
    assert_eq!(
        (status, &v["error"]["field"]),
        (400, &json!("activ")),
        "{v}"
    );

    // Silences, with a severity comparison written as Alertmanager can read it.
    let (status, silences) = svc.get("/api/v2/silences").await;
    assert_eq!(status, 200);
    let s = &silences[0];
    assert_eq!(s["id"], silence.as_str());
    assert_eq!(s["status"], json!({"state": "active"}));
    assert_eq!(
        s["matchers"],
        json!([
            {"name": "model", "value": "cars", "isRegex": false, "isEqual": true},
            {"name": "severity", "value": "error|critical", "isRegex": true, "isEqual": true}
        ])
    );
    assert_eq!(
        (&s["createdBy"], &s["comment"]),
        (&json!("ops"), &json!("cars retraining"))
    );
    let (_, none) = svc.get("/api/v2/silences?filter=model%3Dbikes").await;
    assert_eq!(none, json!([]));

    let (status, st) = svc.get("/api/v2/status").await;
    assert_eq!(status, 200);
    assert_eq!(st["cluster"], json!({"status": "disabled", "peers": []}));
    assert_eq!(st["versionInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        st["uptime"].as_str().is_some_and(|u| u.starts_with("20")),
        "{st}"
    );

    // A read token reads; no token does not.
    let anon = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = anon
        .get(format!("{}/api/v2/alerts", svc.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = anon
        .get(format!("{}/api/v2/status", svc.url))
        .bearer_auth("r-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A real client.
    let Some(bin) = amtool() else {
        let msg = "amtool is not installed (Debian package `prometheus-alertmanager`)";
        if std::env::var("ALERTS_CI").as_deref() == Ok("1") {
            panic!("{msg}: ALERTS_CI=1 requires it");
        }
        println!("SKIPPED the amtool half: {msg}");
        return;
    };
    let http = w.write(
        "amtool-http.yml",
        "authorization:\n  credentials: r-token\n",
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&bin)
            .arg(format!("--alertmanager.url={}", svc.url))
            .arg(format!("--http.config.file={}", http.display()))
            .args(args)
            .env("HOME", w.path().join("home"))
            .output()
            .expect("run amtool");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["alert", "query", "-o", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        names(&v),
        ["HighLatency/bikes", "ModelDown/bikes"],
        "amtool hides silenced alerts by default"
    );
    let (code, out, err) = run(&[
        "alert",
        "query",
        "-o",
        "json",
        "--silenced",
        "alertname=ModelDown",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // `--silenced` alone asks for the silenced ones only (active=false&silenced=true).
    assert_eq!(names(&v), ["ModelDown/cars"]);
    let (code, out, err) = run(&[
        "alert",
        "query",
        "-o",
        "json",
        "-a",
        "-s",
        "alertname=ModelDown",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(names(&v), ["ModelDown/bikes", "ModelDown/cars"]);
    let (code, out, err) = run(&["silence", "query", "-o", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v[0]["id"], silence.as_str(), "{v}");
    assert_eq!(v[0]["matchers"][1]["value"], "error|critical", "{v}");
    let (code, out, err) = run(&["config", "show"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("not configured by an Alertmanager file"),
        "{out}"
    );
    // The same client without the token is refused.
    let out = std::process::Command::new(&bin)
        .arg(format!("--alertmanager.url={}", svc.url))
        .args(["alert", "query"])
        .env("HOME", w.path().join("home"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}
