//! Alertmanager compatibility: the API v2 `postableAlerts` body that Prometheus,
//! Grafana and vmalert send (`POST /api/v2/alerts`), and the webhook payload (version
//! 4) an existing Alertmanager forwards (`POST /api/v1/alertmanager`).
//!
//! Mapping to [`Alert`] (documented in `docs/api.md`):
//!
//! | Alertmanager | Alert |
//! |---|---|
//! | `labels.alertname` | `name` (`unnamed` when absent) |
//! | other labels | `labels` (so the fingerprint equals Alertmanager's) |
//! | `labels.severity` | `severity` (lenient parse; `warning` when absent or unknown) |
//! | `annotations.summary` | `summary` |
//! | `annotations.description` (else `message`) | `message` |
//! | all annotations | `annotations` (`runbook_url`, `dashboard_url` recognised) |
//! | `generatorURL` | annotation `generator_url` |
//! | labels `model`, `model_version`/`version`, `env`/`environment`, `run_id` | `source` |
//! | `startsAt` / `endsAt` | `starts_at` / `ends_at`; resolved when `endsAt` is not after now |
//!
//! Unknown fields in these bodies are ignored, as Alertmanager ignores them, so any
//! sender that works with Alertmanager works here.
//!
//! The read side of API v2 is here too, for Grafana's Alertmanager data source and
//! `amtool`: `GET /api/v2/alerts` ([`gettable_alert`]), `GET /api/v2/silences`
//! ([`gettable_silence`]) and `GET /api/v2/status` ([`status`]), in Alertmanager's
//! own shapes (`gettableAlert`, `gettableSilence`, `alertmanagerStatus`).

use std::collections::BTreeMap;
use std::time::Duration;

use alert_core::{Alert, CompactString, LabelMap, Severity, Source, Status, Timestamp, annotation};
use alert_router::{AlertView, MatchOp, Matcher, SilenceState, SilenceView};
use serde::Deserialize;
use serde_json::{Value, json};

/// One alert of `POST /api/v2/alerts` (Alertmanager's `postableAlert`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Identifying labels; must not be empty.
    pub labels: LabelMap,
    /// Free annotations.
    #[serde(default, deserialize_with = "annotations")]
    pub annotations: LabelMap,
    /// When the alert started firing.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// When it ends (or ended).
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Link to the rule that generated it.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
}

/// Annotations with room for the `generatorURL` that every Alertmanager client
/// sends: it joins them (see [`build`]) without the vector growing again.
fn annotations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LabelMap, D::Error> {
    LabelMap::deserialize_with_room(d, 1)
}

/// The webhook payload (version 4) Alertmanager POSTs to receivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// Payload version; `"4"` today.
    #[serde(default)]
    pub version: String,
    /// The alerts of the group.
    pub alerts: Vec<WebhookAlert>,
    /// The receiver that sent it.
    #[serde(default)]
    pub receiver: String,
}

/// One alert of a [`WebhookMessage`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Labels.
    pub labels: LabelMap,
    /// Annotations.
    #[serde(default, deserialize_with = "annotations")]
    pub annotations: LabelMap,
    /// Start time.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// End time (`0001-01-01T00:00:00Z` while firing).
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Link to the rule.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's fingerprint (recomputed here; must agree).
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// A conversion failure naming the field (e.g. `[3].startsAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the bad field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Alertmanager's zero time, sent as `endsAt` for firing alerts.
fn is_zero_time(t: &Timestamp) -> bool {
    t.unix_seconds() < 0 && t.to_utc_fields().0 <= 1
}

/// Parses an optional time; `field` names it in the error (built only then).
fn parse_time(
    v: &Option<String>,
    field: impl FnOnce() -> String,
) -> Result<Option<Timestamp>, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<Timestamp>()
            .map(|t| (!is_zero_time(&t)).then_some(t))
            .map_err(|e| FieldError {
                field: field(),
                message: e.to_string(),
            }),
    }
}

/// The parts of an Alertmanager alert, whichever body it came in (moved into the
/// alert, not copied).
struct Raw {
    labels: LabelMap,
    annotations: LabelMap,
    generator_url: Option<String>,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    status: Option<Status>,
}

fn build(index: usize, raw: Raw, now: Timestamp) -> Result<Alert, FieldError> {
    let Raw {
        mut labels,
        mut annotations,
        generator_url,
        starts_at,
        ends_at,
        status,
    } = raw;
    if labels.is_empty() {
        return Err(FieldError {
            field: format!("[{index}].labels"),
            message: "labels must not be empty".to_owned(),
        });
    }
    if let Some((k, _)) = labels.iter().find(|(k, _)| k.is_empty()) {
        return Err(FieldError {
            field: format!("[{index}].labels"),
            message: format!("label names must not be empty ({k:?})"),
        });
    }
    let name = labels
        .remove("alertname")
        .map_or_else(|| "unnamed".to_owned(), String::from);
    let severity = labels
        .get("severity")
        .and_then(|s| s.parse::<Severity>().ok())
        .unwrap_or(Severity::Warning);
    let mut alert = Alert::new(severity, name);
    if let Some(s) = annotations.get("summary") {
        alert.summary = s.to_owned();
    }
    if let Some(d) = annotations
        .get("description")
        .or_else(|| annotations.get("message"))
    {
        alert.message = d.to_owned();
    }
    let runbook = if annotations.contains_key(annotation::RUNBOOK_URL) {
        None
    } else {
        annotations.get("runbook").map(CompactString::from)
    };
    let generator_url = generator_url.filter(|g| !g.is_empty());
    // The router keeps the alert: room for what is added here, and no more.
    annotations
        .reserve_exact(usize::from(runbook.is_some()) + usize::from(generator_url.is_some()));
    if let Some(r) = runbook {
        annotations.insert(annotation::RUNBOOK_URL.to_owned(), r);
    }
    if let Some(g) = generator_url {
        annotations.insert(annotation::GENERATOR_URL.to_owned(), g);
    }
    // The room made when parsing, if nothing took it.
    annotations.shrink_to_fit();
    let pick = |keys: &[&str]| keys.iter().find_map(|k| labels.get(*k).map(str::to_owned));
    let mut source = Source::default();
    source.model = pick(&["model", "model_name"]);
    source.version = pick(&["model_version", "version"]);
    source.environment = pick(&["env", "environment"]);
    source.run_id = pick(&["run_id", "job_id"]);
    alert.source = source.into();
    alert.labels = labels;
    alert.annotations = annotations;
    alert.starts_at = Some(starts_at.unwrap_or(now));
    alert.ends_at = ends_at;
    alert.status = status.unwrap_or(match ends_at {
        Some(end) if end <= now => Status::Resolved,
        _ => Status::Firing,
    });
    Ok(alert)
}

/// Converts an API v2 batch. `now` decides which alerts have already ended.
pub fn from_postable(batch: Vec<PostableAlert>, now: Timestamp) -> Result<Vec<Alert>, FieldError> {
    // Sized once (`collect` through `Result` would grow it by doubling).
    let mut out = Vec::with_capacity(batch.len());
    for (i, a) in batch.into_iter().enumerate() {
        let starts = parse_time(&a.starts_at, || format!("[{i}].startsAt"))?;
        let ends = parse_time(&a.ends_at, || format!("[{i}].endsAt"))?;
        let raw = Raw {
            labels: a.labels,
            annotations: a.annotations,
            generator_url: a.generator_url,
            starts_at: starts,
            ends_at: ends,
            status: None,
        };
        out.push(build(i, raw, now)?);
    }
    Ok(out)
}

/// Converts an Alertmanager webhook message.
pub fn from_webhook(msg: WebhookMessage, now: Timestamp) -> Result<Vec<Alert>, FieldError> {
    msg.alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let status = match a.status.as_str() {
                "firing" => Status::Firing,
                "resolved" => Status::Resolved,
                other => {
                    return Err(FieldError {
                        field: format!("alerts[{i}].status"),
                        message: format!("expected \"firing\" or \"resolved\", got {other:?}"),
                    });
                }
            };
            let starts = parse_time(&a.starts_at, || format!("alerts[{i}].startsAt"))?;
            let ends = parse_time(&a.ends_at, || format!("alerts[{i}].endsAt"))?;
            let raw = Raw {
                labels: a.labels,
                annotations: a.annotations,
                generator_url: a.generator_url,
                starts_at: starts,
                ends_at: ends,
                status: Some(status),
            };
            build(i, raw, now).map_err(|e| FieldError {
                field: format!("alerts{}", e.field),
                ..e
            })
        })
        .collect()
}

/// An alert as Alertmanager's `GET /api/v2/alerts` returns it (`gettableAlert`).
///
/// * `labels`: the alert's labels plus `alertname` (its name), the set its
///   fingerprint is computed over, as in Alertmanager;
/// * `annotations`: its annotations, plus `summary` and `description` from its
///   summary and message when it has no such annotation; `generator_url` becomes
///   `generatorURL`;
/// * `endsAt`: its end, else when it will resolve without news (`updatedAt` +
///   `resolve_timeout`), as Alertmanager reports;
/// * `status.state`: `suppressed` when silenced or inhibited, else `active`.
pub fn gettable_alert(v: &AlertView, resolve_timeout: Duration) -> Value {
    let a = &v.alert;
    let mut labels: BTreeMap<&str, &str> = a.labels.iter().collect();
    labels.insert("alertname", &a.name);
    let mut annotations = a.annotations.clone();
    let generator = annotations.remove(annotation::GENERATOR_URL);
    if !a.summary.is_empty() {
        annotations.get_or_insert_with("summary".to_owned(), || a.summary.clone());
    }
    if !a.message.is_empty() {
        annotations.get_or_insert_with("description".to_owned(), || a.message.clone());
    }
    let suppressed = !v.silenced_by.is_empty() || !v.inhibited_by.is_empty();
    let inhibited: Vec<String> = v.inhibited_by.iter().map(ToString::to_string).collect();
    let receivers: Vec<Value> = v.receivers.iter().map(|r| json!({ "name": r })).collect();
    let ends = a
        .ends_at
        .unwrap_or_else(|| v.updated_at.saturating_add(resolve_timeout));
    let mut out = json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": a.starts_at.unwrap_or(v.received_at),
        "endsAt": ends,
        "updatedAt": v.updated_at,
        "fingerprint": v.fingerprint.to_string(),
        "receivers": receivers,
        "status": {
            "state": if suppressed { "suppressed" } else { "active" },
            "silencedBy": v.silenced_by,
            "inhibitedBy": inhibited,
            "mutedBy": [],
        },
    });
    if let Some(g) = generator {
        out["generatorURL"] = Value::String(g.into());
    }
    out
}

/// A matcher as Alertmanager writes it (`name`, `value`, `isRegex`, `isEqual`). A
/// severity comparison (`severity >= error`), which Alertmanager does not have,
/// becomes the regex of the severities it matches (`severity =~ "error|critical"`).
pub fn am_matcher(m: &Matcher) -> Value {
    let (value, is_regex, is_equal) = match m.op() {
        MatchOp::Eq => (m.value().to_owned(), false, true),
        MatchOp::NotEq => (m.value().to_owned(), false, false),
        MatchOp::Re => (m.value().to_owned(), true, true),
        MatchOp::NotRe => (m.value().to_owned(), true, false),
        MatchOp::Ge | MatchOp::Gt | MatchOp::Le | MatchOp::Lt => {
            let all = [
                Severity::Info,
                Severity::Warning,
                Severity::Error,
                Severity::Critical,
            ];
            let matched: Vec<&str> = all
                .into_iter()
                .filter(|s| m.matches(&Alert::new(*s, "x")))
                .map(Severity::as_str)
                .collect();
            (matched.join("|"), true, true)
        }
    };
    json!({ "name": m.name(), "value": value, "isRegex": is_regex, "isEqual": is_equal })
}

/// A silence as Alertmanager's `GET /api/v2/silences` returns it
/// (`gettableSilence`).
pub fn gettable_silence(v: &SilenceView) -> Value {
    let s = &v.silence;
    let state = match v.state {
        SilenceState::Pending => "pending",
        SilenceState::Active => "active",
        SilenceState::Expired => "expired",
    };
    json!({
        "id": s.id,
        "status": { "state": state },
        "updatedAt": s.updated_at,
        "matchers": s.matchers.iter().map(am_matcher).collect::<Vec<_>>(),
        "startsAt": s.starts_at,
        "endsAt": s.ends_at,
        "createdBy": s.created_by,
        "comment": s.comment,
    })
}

/// Whether a silence passes the `filter` matchers of `GET /api/v2/silences`: for
/// each, the silence has a matcher on the same label whose value it matches.
pub fn silence_matches_filter(v: &SilenceView, filter: &[Matcher]) -> bool {
    filter.iter().all(|f| {
        v.silence
            .matchers
            .iter()
            .any(|m| m.name() == f.name() && f.matches_value(m.value()))
    })
}

/// `GET /api/v2/status` (`alertmanagerStatus`): a single instance (`cluster.status`
/// `disabled`), this version, when it started. `config.original` is not an
/// Alertmanager configuration (there is none, and the service's own file may hold
/// secrets): it says so.
pub fn status(started: Timestamp) -> Value {
    json!({
        "cluster": { "status": "disabled", "peers": [] },
        "versionInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "none (alerts serve, Rust)",
        },
        "config": {
            "original": "# alerts serve is not configured by an Alertmanager file: see its TOML config and `alerts check`.\n",
        },
        "uptime": started,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn prometheus_batch_converts_with_alertmanager_fingerprint() {
        let body = r#"[{"labels":{"alertname":"HighErrorRate","severity":"critical","model":"bikes","env":"prod","instance":"a:9090"},
            "annotations":{"summary":"5xx above 5%","description":"errors rising","runbook_url":"https://rb/x"},
            "startsAt":"2026-11-24T11:00:00Z","endsAt":"2026-11-24T12:05:00Z","generatorURL":"http://prom/graph","extra":1},
            {"labels":{"alertname":"Done"},"endsAt":"2026-11-24T11:59:00Z"}]"#;
        let batch: Vec<PostableAlert> = serde_json::from_str(body).unwrap();
        let alerts = from_postable(batch, now()).unwrap();
        let a = &alerts[0];
        assert_eq!(a.name, "HighErrorRate");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.status, Status::Firing);
        assert_eq!(a.summary, "5xx above 5%");
        assert_eq!(a.message, "errors rising");
        assert_eq!(a.runbook(), Some("https://rb/x"));
        assert_eq!(&a.annotations["generator_url"], "http://prom/graph");
        assert_eq!(a.source.model.as_deref(), Some("bikes"));
        assert_eq!(a.source.environment.as_deref(), Some("prod"));
        // Alertmanager's fingerprint of the full label set (computed independently).
        let fp = alert_core::Fingerprint::of_sorted_labels([
            ("alertname", "HighErrorRate"),
            ("env", "prod"),
            ("instance", "a:9090"),
            ("model", "bikes"),
            ("severity", "critical"),
        ]);
        assert_eq!(a.fingerprint(), fp);
        assert_eq!(alerts[1].status, Status::Resolved);
        assert_eq!(alerts[1].severity, Severity::Warning);
    }

    #[test]
    fn bad_fields_are_named() {
        let batch: Vec<PostableAlert> = serde_json::from_str(
            r#"[{"labels":{"a":"b"}},{"labels":{"a":"b"},"startsAt":"yesterday"}]"#,
        )
        .unwrap();
        let e = from_postable(batch, now()).unwrap_err();
        assert_eq!(e.field, "[1].startsAt");
        assert!(e.message.contains("RFC 3339"));
        let batch: Vec<PostableAlert> = serde_json::from_str(r#"[{"labels":{}}]"#).unwrap();
        assert_eq!(from_postable(batch, now()).unwrap_err().field, "[0].labels");
    }

    #[test]
    fn webhook_v4_converts_and_keeps_status() {
        let body = r#"{"version":"4","groupKey":"{}:{}","status":"firing","receiver":"ml","groupLabels":{},
          "commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,
          "alerts":[{"status":"resolved","labels":{"alertname":"Drift","severity":"warning"},"annotations":{},
          "startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T11:00:00Z","generatorURL":"","fingerprint":"x"},
          {"status":"firing","labels":{"alertname":"Down"},"annotations":{},"startsAt":"2026-11-24T10:00:00Z",
          "endsAt":"0001-01-01T00:00:00Z"}]}"#;
        let msg: WebhookMessage = serde_json::from_str(body).unwrap();
        let alerts = from_webhook(msg, now()).unwrap();
        assert_eq!(alerts[0].status, Status::Resolved);
        assert_eq!(alerts[1].status, Status::Firing);
        assert_eq!(alerts[1].ends_at, None);
        let bad: WebhookMessage =
            serde_json::from_str(r#"{"alerts":[{"status":"weird","labels":{"a":"b"}}]}"#).unwrap();
        assert_eq!(
            from_webhook(bad, now()).unwrap_err().field,
            "alerts[0].status"
        );
    }

    #[test]
    fn matchers_in_alertmanager_shape() {
        let ms = alert_router::matcher::parse_matchers(
            r#"model = bikes, env != dev, service =~ "api|web", team !~ ml.*, severity >= error, severity < warning"#,
        )
        .unwrap();
        let got: Vec<Value> = ms.iter().map(am_matcher).collect();
        assert_eq!(
            got,
            [
                json!({"name": "model", "value": "bikes", "isRegex": false, "isEqual": true}),
                json!({"name": "env", "value": "dev", "isRegex": false, "isEqual": false}),
                json!({"name": "service", "value": "api|web", "isRegex": true, "isEqual": true}),
                json!({"name": "team", "value": "ml.*", "isRegex": true, "isEqual": false}),
                json!({"name": "severity", "value": "error|critical", "isRegex": true, "isEqual": true}),
                json!({"name": "severity", "value": "info", "isRegex": true, "isEqual": true}),
            ]
        );
    }
}
