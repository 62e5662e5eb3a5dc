//! The documentation is kept in sync with the code by these tests:
//!
//! * `docs/configuration.md` documents every key the config accepts: the keys are
//!   discovered from the config types themselves (an unknown key makes serde list
//!   the keys it accepts), recursively, and compared with the doc's key tables;
//!   enumerations' values too. The doc's full example must pass `alerts check`.
//! * `docs/openapi.json` documents every route of `api.rs`, and every documented
//!   operation is served by a running service.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alert_cli::config::ServiceConfig;

const PROBE: &str = "zz_probe";

fn repo_file(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A path in the config: `server.limits`, `receivers[].channels[type=slack]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    /// A table key.
    Key(String),
    /// An element of an array.
    Item,
    /// An element of an array of tables tagged `type = "..."`.
    Tagged(String),
}

fn render_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Item => s.push_str("[]"),
            Seg::Tagged(t) => s.push_str(&format!("[type={t}]")),
        }
    }
    s
}

/// TOML that puts `leaf` (an inline value) at `path`.
fn toml_at(path: &[Seg], leaf: &str) -> String {
    // Build inside out; the first segment is a top-level key.
    let mut value = leaf.to_owned();
    for (i, seg) in path.iter().enumerate().rev() {
        value = match seg {
            Seg::Key(k) if i == 0 => return format!("{k} = {value}\n"),
            Seg::Key(k) => format!("{{ {k} = {value} }}"),
            Seg::Item => format!("[{value}]"),
            Seg::Tagged(t) => {
                // `value` is `{ ... }` for the element: add the tag first.
                let inner = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .expect("a tagged element is a table");
                if inner.trim().is_empty() {
                    format!("[{{ type = \"{t}\" }}]")
                } else {
                    format!("[{{ type = \"{t}\",{inner}}}]")
                }
            }
        };
    }
    value
}

/// The error message `alerts` gives for `text` (None when it is accepted).
fn parse_error(text: &str) -> Option<String> {
    ServiceConfig::parse(text, "probe.toml", |_| Some("x".into()))
        .err()
        .map(|e| e.message)
}

/// The backticked names after "expected one of" / "expected" in a serde message.
fn expected_list(message: &str) -> Vec<String> {
    let Some(i) = message.find(", expected ") else {
        return Vec::new();
    };
    let rest = &message[i + ", expected ".len()..];
    let rest = rest.strip_prefix("one of ").unwrap_or(rest);
    let mut out = Vec::new();
    let mut it = rest.split('`');
    it.next();
    while let Some(name) = it.next() {
        out.push(name.to_owned());
        match it.next() {
            Some(sep) if sep == ", " || sep == " or " => {}
            _ => break,
        }
    }
    out
}

/// What the config accepts at a path.
#[derive(Debug, Default)]
struct Shape {
    /// Keys of the table at the path.
    keys: Vec<String>,
    /// Allowed values of enumerated keys (`format` -> `text`, `json`).
    values: BTreeMap<String, Vec<String>>,
}

/// Discovers every table of the config, starting at the root.
fn discover() -> (BTreeMap<String, Shape>, Vec<String>) {
    let mut found: BTreeMap<String, Shape> = BTreeMap::new();
    let mut problems = Vec::new();
    // The root: the router's keys plus the service's sections.
    let msg = parse_error(&format!("{PROBE} = 1\n")).expect("an unknown root key is an error");
    let mut root = expected_list(&msg);
    let also = msg
        .split("(the service also accepts ")
        .nth(1)
        .expect("the service's sections are named")
        .trim_end_matches(')');
    root.extend(also.split(", ").map(str::to_owned));
    // (path, its keys, the key lists of its ancestors)
    type Pending = (Vec<Seg>, Vec<String>, Vec<Vec<String>>);
    let mut queue: Vec<Pending> = vec![(Vec::new(), root, Vec::new())];
    while let Some((path, keys, ancestors)) = queue.pop() {
        let mut lineage = ancestors.clone();
        lineage.push(keys.clone());
        let name = render_path(&path);
        let mut shape = Shape {
            keys: keys.clone(),
            ..Shape::default()
        };
        for key in &keys {
            let mut p = path.clone();
            p.push(Seg::Key(key.clone()));
            // An enumeration: a string it does not know lists the values.
            if let Some(m) = parse_error(&toml_at(&p, &format!("\"{PROBE}\"")))
                && m.starts_with(&format!("unknown variant `{PROBE}`"))
            {
                shape.values.insert(key.clone(), expected_list(&m));
                continue;
            }
            // A table, or an array of tables, with its own keys.
            for (sub, leaf) in [
                (p.clone(), format!("{{ {PROBE} = 1 }}")),
                (
                    {
                        let mut q = p.clone();
                        q.push(Seg::Item);
                        q
                    },
                    format!("{{ {PROBE} = 1 }}"),
                ),
            ] {
                let Some(m) = parse_error(&toml_at(&sub, &leaf)) else {
                    continue;
                };
                if m.starts_with(&format!("unknown field `{PROBE}`")) {
                    let keys = expected_list(&m);
                    // A recursive type (routes of routes) is documented once.
                    if !lineage.contains(&keys) {
                        queue.push((sub, keys, lineage.clone()));
                    }
                    break;
                }
                if m.starts_with("missing field `type`") {
                    // An array of tables tagged by `type`: each variant is a table.
                    let mut tagged = sub.clone();
                    tagged.pop();
                    let m = parse_error(&toml_at(
                        &{
                            let mut q = tagged.clone();
                            q.push(Seg::Tagged(PROBE.into()));
                            q
                        },
                        "{}",
                    ))
                    .unwrap_or_default();
                    let variants = expected_list(&m);
                    if variants.is_empty() {
                        problems.push(format!("{}: no variant list in {m:?}", render_path(&sub)));
                    }
                    for v in variants {
                        let mut q = tagged.clone();
                        q.push(Seg::Tagged(v.clone()));
                        match parse_error(&toml_at(&q, &format!("{{ {PROBE} = 1 }}"))) {
                            Some(m) if m.starts_with(&format!("unknown field `{PROBE}`")) => {
                                let mut keys = expected_list(&m);
                                keys.retain(|k| k != "type");
                                queue.push((q, keys, lineage.clone()));
                            }
                            other => problems.push(format!(
                                "{}: unknown keys are not rejected ({other:?})",
                                render_path(&q)
                            )),
                        }
                    }
                    break;
                }
            }
        }
        found.insert(name, shape);
    }
    (found, problems)
}

/// One key table of the doc: the paths its marker names, and its rows (key, text).
#[derive(Debug)]
struct DocTable {
    paths: Vec<String>,
    rows: Vec<(String, String)>,
}

fn doc_tables(doc: &str) -> Vec<DocTable> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix("<!-- keys:") else {
            continue;
        };
        let paths: Vec<String> = rest
            .trim_end_matches("-->")
            .split_whitespace()
            .map(|p| {
                if p == "." {
                    String::new()
                } else {
                    p.to_owned()
                }
            })
            .collect();
        let table: Vec<&str> = lines[i + 1..]
            .iter()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .copied()
            .collect();
        assert!(table.len() > 2, "no key table after line {}: {line}", i + 1);
        let rows = table[2..]
            .iter()
            .map(|r| {
                let first = r.split('|').nth(1).unwrap_or("").trim();
                (first.trim_matches('`').to_owned(), (*r).to_owned())
            })
            .collect();
        out.push(DocTable { paths, rows });
    }
    out
}

#[test]
fn configuration_md_documents_every_key() {
    let doc = repo_file("docs/configuration.md");
    let tables = doc_tables(&doc);
    let (found, problems) = discover();
    let mut failures: Vec<String> = Vec::new();

    // Every table rejects unknown keys.
    if !problems.is_empty() {
        failures.push(format!("tables accepting unknown keys: {problems:#?}"));
    }

    let mut documented: BTreeMap<String, &DocTable> = BTreeMap::new();
    for t in &tables {
        for p in &t.paths {
            if documented.insert(p.clone(), t).is_some() {
                failures.push(format!("`{p}` is documented twice"));
            }
        }
    }
    for (path, shape) in &found {
        let shown = if path.is_empty() { "." } else { path };
        let Some(t) = documented.get(path) else {
            failures.push(format!(
                "`{shown}` (keys {:?}) has no `<!-- keys: {shown} -->` table",
                shape.keys
            ));
            continue;
        };
        let doc_keys: Vec<&str> = t.rows.iter().map(|(k, _)| k.as_str()).collect();
        for k in &shape.keys {
            if !doc_keys.contains(&k.as_str()) {
                failures.push(format!("`{shown}`: key `{k}` is not documented"));
            }
        }
        for k in &doc_keys {
            if !shape.keys.iter().any(|a| a == k) {
                failures.push(format!("`{shown}`: documented key `{k}` is not accepted"));
            }
        }
        for (key, values) in &shape.values {
            let Some((_, row)) = t.rows.iter().find(|(k, _)| k == key) else {
                continue;
            };
            let row = row.to_lowercase();
            for v in values {
                if !row.contains(&format!("`{}`", v.to_lowercase())) {
                    failures.push(format!("`{shown}.{key}`: value `{v}` is not documented"));
                }
            }
        }
    }
    for path in documented.keys() {
        if !found.contains_key(path) {
            failures.push(format!(
                "`{path}` is documented but is not a table of the config"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "docs/configuration.md is out of date:\n  {}",
        failures.join("\n  ")
    );
}

/// Every key the reference types as a secret (`secret`, `array of secrets`, `table
/// of secrets`) is one whose values `alert_cli::redact` hides from error messages,
/// and every key it hides is typed as a secret there. And in the complete example,
/// every `${VAR}` value lands in a `Secret` of the config types (their `Debug` does
/// not show it) at such a key.
#[test]
fn every_secret_key_is_redacted_from_errors() {
    use alert_cli::redact::is_secret_key_in;
    let doc = repo_file("docs/configuration.md");
    let mut failures = Vec::new();
    for t in doc_tables(&doc) {
        for path in &t.paths {
            let root = path.split(['.', '[']).next().unwrap_or("");
            for (key, row) in &t.rows {
                let ty = row.split('|').nth(2).unwrap_or("").trim();
                let typed_secret = ty.contains("secret");
                // Keys of a secret table (`headers`, `env`) are names, not values.
                let under_secret = path
                    .split(['.', '[', ']'])
                    .filter(|s| !s.is_empty())
                    .any(|s| is_secret_key_in(root, s));
                if under_secret {
                    continue;
                }
                let root = if root.is_empty() { key.as_str() } else { root };
                if typed_secret != is_secret_key_in(root, key) {
                    failures.push(format!(
                        "`{path}.{key}`: typed {ty:?} in the doc, but redacted: {}",
                        is_secret_key_in(root, key)
                    ));
                }
            }
        }
    }
    // Values held as `Secret` in the example (Debug prints them redacted).
    let example = full_example(&doc);
    let cfg = ServiceConfig::parse(&example, "example.toml", |v| Some(format!("{v}-value")))
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{:?}{:?}", cfg.router, cfg.server);
    let doc_value: toml::Table = toml::from_str(&example).unwrap();
    let mut stack: Vec<(String, String, &toml::Value)> = doc_value
        .iter()
        .map(|(k, v)| (k.clone(), k.clone(), v))
        .collect();
    let mut secrets_seen = 0;
    while let Some((root, key, v)) = stack.pop() {
        match v {
            toml::Value::Table(t) => {
                for (k, x) in t {
                    let under = if is_secret_key_in(&root, &key) {
                        key.clone()
                    } else {
                        k.clone()
                    };
                    stack.push((root.clone(), under, x));
                }
            }
            toml::Value::Array(a) => {
                for x in a {
                    stack.push((root.clone(), key.clone(), x));
                }
            }
            // The example takes every secret from the environment: each `${VAR}`
            // must land in a `Secret` (not shown by `Debug`), at a redacted key.
            toml::Value::String(s) if s.contains("${") => {
                let value = s.replace("${", "").replace('}', "-value");
                let held_secret = !shown.contains(&value);
                secrets_seen += usize::from(held_secret);
                if held_secret != is_secret_key_in(&root, &key) {
                    failures.push(format!(
                        "`{key}` (under `{root}`): held as a Secret: {held_secret}, redacted \
                         from errors: {}",
                        is_secret_key_in(&root, &key)
                    ));
                }
            }
            _ => {}
        }
    }
    assert!(
        secrets_seen >= 6,
        "the example holds secrets: {secrets_seen}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The complete example of docs/configuration.md.
fn full_example(doc: &str) -> String {
    let start = doc
        .find("<!-- example: full -->")
        .expect("the full example marker");
    let rest = &doc[start..];
    let body = &rest[rest.find("```toml\n").expect("a toml block") + "```toml\n".len()..];
    body[..body.find("```").expect("end of the block")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_md_example_passes_check() {
    let doc = repo_file("docs/configuration.md");
    let w = crate::harness::Workdir::new();
    let p = w.write("example.toml", &full_example(&doc));
    let env = [
        ("ALERTS_READ_TOKEN_GRAFANA", "r"),
        ("ALERTS_WRITE_TOKEN_CI", "w"),
        (
            "DISCORD_WEBHOOK_URL",
            "https://discord.com/api/webhooks/123456789012345678/token",
        ),
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T000/B000/XXXX",
        ),
        ("DD_API_KEY", "0123456789abcdef0123456789abcdef"),
        ("HOOK_TOKEN", "t"),
        ("MLFLOW_TOKEN", "m"),
        ("STATUSPAL_API_KEY", "k"),
    ];
    let out = w
        .run(&["check", "-c", p.to_str().unwrap()], None, &env)
        .await;
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "{}: OK (3 receivers, 7 channels, 1 rule; 6 templates rendered 36 times)\n",
            p.display()
        )
    );
    // Every section of the reference appears in the example.
    let example = full_example(&doc);
    for section in [
        "[server]",
        "[server.auth]",
        "[server.limits]",
        "[storage]",
        "[log]",
        "[delivery]",
        "[[rules]]",
        "[route]",
        "[[route.routes]]",
        "[[receivers]]",
        "[[inhibit_rules]]",
        "[[time_intervals]]",
        "[flap_detection]",
        "[[actions]]",
    ] {
        assert!(example.contains(section), "the example has no {section}");
    }
}

/// `(METHOD, path, handler)` of every route in `api.rs`'s `app()`, read from the
/// source so that a route added there without documentation fails this test.
fn code_routes() -> Vec<(String, String, String)> {
    let src = repo_file("crates/alert-cli/src/api.rs");
    let app = &src[src.find("pub fn app(").expect("api::app")..];
    let mut out = Vec::new();
    let mut rest = app;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        // The call's text, up to its closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .expect("closing parenthesis")
            .0;
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a path literal").to_owned();
        let methods = &call[call.rfind('"').unwrap() + 1..];
        for m in ["get", "post", "put", "patch", "delete"] {
            let mut s = methods;
            while let Some(j) = s.find(&format!("{m}(")) {
                let before = s[..j].chars().last();
                s = &s[j + m.len() + 1..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let handler = s[..s.find(')').unwrap()].trim().to_owned();
                out.push((m.to_uppercase(), path.clone(), handler));
            }
        }
    }
    assert!(out.len() > 10, "routes not found in api.rs: {out:?}");
    out
}

/// The scope a handler asks for (`read`, `write`, `none`), from its body in api.rs.
fn handler_scope(handler: &str) -> &'static str {
    let src = repo_file("crates/alert-cli/src/api.rs");
    let start = src
        .find(&format!("async fn {handler}("))
        .unwrap_or_else(|| panic!("handler {handler} not found"));
    let body = &src[start..];
    let body = &body[..body[1..].find("\nasync fn ").map_or(body.len(), |i| i + 1)];
    let body = &body[..body.find("\n/// ").unwrap_or(body.len())];
    if body.contains("Scope::Write") {
        "write"
    } else if body.contains("Scope::Read") {
        "read"
    } else {
        "none"
    }
}

fn openapi() -> serde_json::Value {
    serde_json::from_str(&repo_file("docs/openapi.json")).expect("docs/openapi.json is JSON")
}

/// Every `$ref` in `v` resolves in `root`.
fn check_refs(root: &serde_json::Value, v: &serde_json::Value, failures: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                let pointer = r.trim_start_matches('#');
                if root.pointer(pointer).is_none() {
                    failures.push(format!("unresolved $ref {r}"));
                }
            }
            for x in m.values() {
                check_refs(root, x, failures);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| check_refs(root, x, failures)),
        _ => {}
    }
}

#[test]
fn openapi_and_api_md_document_every_route() {
    let spec = openapi();
    let api_md = repo_file("docs/api.md");
    let mut failures = Vec::new();
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    check_refs(&spec, &spec, &mut failures);
    let code = code_routes();
    let mut documented = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            documented.push((method.to_uppercase(), path.clone()));
            if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
                failures.push(format!("{method} {path}: no responses"));
            }
            if let Some((_, _, handler)) = code
                .iter()
                .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path)
            {
                let scope = handler_scope(handler);
                if op["x-scope"] != scope {
                    failures.push(format!(
                        "{method} {path}: x-scope {} but the handler needs {scope}",
                        op["x-scope"]
                    ));
                }
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                if secured != (scope != "none") {
                    failures.push(format!(
                        "{method} {path}: security does not match scope {scope}"
                    ));
                }
                for status in ["401", "403"] {
                    let has = op["responses"].get(status).is_some();
                    let needs = scope == "write"
                        || (scope == "read" && status == "401")
                        || (scope == "read" && status == "403");
                    if has != needs {
                        failures.push(format!(
                            "{method} {path}: response {status} documented: {has}, expected {needs}"
                        ));
                    }
                }
                let row = format!("`{} {path}`", method.to_uppercase());
                if !api_md.contains(&row) {
                    failures.push(format!("docs/api.md does not mention {row}"));
                }
                let scope_cell = format!("{row}](#");
                if let Some(line) = api_md.lines().find(|l| l.contains(&scope_cell)) {
                    let want = if scope == "none" {
                        "| none |"
                    } else {
                        &format!("| {scope} |")
                    };
                    if !line.contains(want) {
                        failures.push(format!(
                            "docs/api.md: {row} should say scope {scope}: {line}"
                        ));
                    }
                } else {
                    failures.push(format!("docs/api.md: {row} is not in the endpoint table"));
                }
            }
        }
    }
    for (m, p, _) in &code {
        if !documented.iter().any(|(dm, dp)| dm == m && dp == p) {
            failures.push(format!("{m} {p} is served but not in docs/openapi.json"));
        }
    }
    for (m, p) in &documented {
        if !code.iter().any(|(cm, cp, _)| cm == m && cp == p) {
            failures.push(format!("{m} {p} is in docs/openapi.json but not served"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A request for a documented operation: path parameters filled in, `{}` as body.
fn probe_path(path: &str) -> String {
    path.replace("{fingerprint}", "0123456789abcdef")
        .replace("{id}", "no-such-silence")
        .replace("{name}", "no-such-receiver")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_service_answers_only_documented_statuses() {
    use crate::harness::{Service, Start, Workdir, hook_config};
    let sink = alert_webhook::fake::FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start_with(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
        Start {
            env: vec![
                ("ALERTS_WRITE_TOKEN", "w".to_owned()),
                ("ALERTS_READ_TOKEN", "r".to_owned()),
            ],
            ..Start::default()
        },
    )
    .await
    .unwrap();
    let spec = openapi();
    let mut failures = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            for token in [None, Some("r"), Some("w")] {
                let mut r = svc.request(m.clone(), &probe_path(path));
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                if m == reqwest::Method::POST {
                    r = r.header("content-type", "application/json").body("{}");
                }
                let resp = r.send().await.unwrap();
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap();
                if body.contains("no such endpoint") || status == 405 {
                    failures.push(format!("{method} {path}: not served ({status} {body})"));
                }
                if op["responses"].get(status.to_string()).is_none() {
                    failures.push(format!(
                        "{method} {path} (token {token:?}): {status} is not documented ({body})"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_md_documents_every_metric_series() {
    use crate::harness::{Service, Workdir, hook_config};
    let sink = alert_webhook::fake::FakeWebhook::start().await.unwrap();
    let w = Workdir::new();
    let svc = Service::start(
        &w,
        &hook_config(&sink.url(), r#"["alertname"]"#, "100ms", ""),
    )
    .await;
    // Traffic, so that every labelled family has a sample.
    assert_eq!(
        svc.post(
            "/api/v1/alerts",
            &serde_json::json!({"name": "X", "severity": "info"})
        )
        .await
        .0,
        202
    );
    assert_eq!(
        svc.post("/api/v1/alerts", &serde_json::json!({})).await.0,
        400
    );
    assert_eq!(
        sink.wait_for_requests(1, std::time::Duration::from_secs(15))
            .await,
        1
    );
    let live = crate::harness::eventually(
        std::time::Duration::from_secs(10),
        "a recorded delivery",
        || async {
            // The sink sees the request before the outbox records its outcome; the
            // latency histogram has its first sample only once the outcome is in.
            let m = svc.metrics().await;
            (m.contains(r#"outcome="delivered"} 1"#)
                && m.contains("alerts_delivery_latency_seconds_count"))
            .then_some(m)
        },
    )
    .await;
    // (documented name, type) from the table after `<!-- metrics -->`.
    let doc = repo_file("docs/api.md");
    let table = &doc[doc.find("<!-- metrics -->").expect("metrics marker")..];
    let documented: Vec<(String, String)> = table
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect();
    // (exposed name, type) from `# TYPE` lines; counters are exposed as `_total`.
    let exposed: Vec<(String, String)> = live
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next().unwrap().to_owned();
            let kind = it.next().unwrap().to_owned();
            let name = if kind == "counter" {
                format!("{name}_total")
            } else {
                name
            };
            (name, kind)
        })
        .collect();
    let mut failures = Vec::new();
    for (name, kind) in &exposed {
        if !documented.iter().any(|(n, k)| n == name && k == kind) {
            failures.push(format!("exposed {name} ({kind}) is not documented as such"));
        }
        if !live.lines().any(|l| l.starts_with(name.as_str())) {
            failures.push(format!("{name} has no sample"));
        }
    }
    for (name, _) in &documented {
        if !exposed.iter().any(|(n, _)| n == name) {
            failures.push(format!("documented {name} is not exposed"));
        }
    }
    assert!(failures.is_empty(), "{}\n{live}", failures.join("\n"));
}
