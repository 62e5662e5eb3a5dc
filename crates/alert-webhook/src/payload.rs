//! Private wire types: the native body (version 1) and Alertmanager's webhook
//! payload (version 4).

use alert_core::{Alert, Fingerprint, LabelMap, Status, Timestamp, annotation};
use serde::Serialize;

use crate::WebhookConfig;

/// The native schema version written in `version`.
pub(crate) const NATIVE_VERSION: &str = "1";
/// Alertmanager's webhook payload version.
pub(crate) const ALERTMANAGER_VERSION: &str = "4";
/// Alertmanager's "zero" time, sent as `endsAt` while an alert fires (upstream hides
/// the end of an alert that has not resolved) and for a time that is unknown.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn group_status(alerts: &[Alert]) -> &'static str {
    if alerts.iter().any(|a| a.status == Status::Firing) {
        "firing"
    } else {
        "resolved"
    }
}

/// One alert of the native body: the alert's own JSON plus its fingerprint.
#[derive(Debug, Serialize)]
pub(crate) struct NativeAlert<'a> {
    pub(crate) fingerprint: String,
    #[serde(flatten)]
    pub(crate) alert: &'a Alert,
}

/// The native body.
#[derive(Debug, Serialize)]
pub(crate) struct NativeMessage<'a> {
    pub(crate) version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) receiver: &'a str,
    pub(crate) status: &'static str,
    pub(crate) alerts: Vec<NativeAlert<'a>>,
    pub(crate) truncated_alerts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) replaces: Option<&'a str>,
}

impl<'a> NativeMessage<'a> {
    pub(crate) fn new(
        config: &'a WebhookConfig,
        kind: &'static str,
        alerts: &'a [Alert],
        replaces: Option<&'a str>,
    ) -> NativeMessage<'a> {
        let (kept, truncated) = truncate(alerts, config.max_alerts);
        NativeMessage {
            version: NATIVE_VERSION,
            kind,
            receiver: &config.receiver,
            status: group_status(alerts),
            alerts: kept
                .iter()
                .map(|a| NativeAlert {
                    fingerprint: a.fingerprint().to_string(),
                    alert: a,
                })
                .collect(),
            truncated_alerts: truncated,
            replaces,
        }
    }
}

fn truncate(alerts: &[Alert], max: usize) -> (&[Alert], usize) {
    if max != 0 && alerts.len() > max {
        (&alerts[..max], alerts.len() - max)
    } else {
        (alerts, 0)
    }
}

/// One alert of Alertmanager's payload (`template.Alert`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AmAlert {
    pub(crate) status: &'static str,
    pub(crate) labels: LabelMap,
    pub(crate) annotations: LabelMap,
    pub(crate) starts_at: String,
    pub(crate) ends_at: String,
    #[serde(rename = "generatorURL")]
    pub(crate) generator_url: String,
    pub(crate) fingerprint: String,
}

/// Alertmanager's webhook payload (`webhook.Message` embedding `template.Data`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AmMessage<'a> {
    pub(crate) version: &'static str,
    pub(crate) group_key: String,
    pub(crate) truncated_alerts: u64,
    pub(crate) status: &'static str,
    pub(crate) receiver: &'a str,
    pub(crate) group_labels: LabelMap,
    pub(crate) common_labels: LabelMap,
    pub(crate) common_annotations: LabelMap,
    #[serde(rename = "externalURL")]
    pub(crate) external_url: &'a str,
    pub(crate) alerts: Vec<AmAlert>,
}

fn time_or_zero(t: Option<Timestamp>) -> String {
    t.map_or_else(|| ZERO_TIME.to_owned(), |t| t.to_string())
}

fn am_alert(config: &WebhookConfig, a: &Alert) -> AmAlert {
    let mut labels = a.labels.clone();
    labels.insert("alertname".to_owned(), a.name.clone());
    labels.get_or_insert_with("severity".to_owned(), || {
        config.severity.label(a.severity).to_owned()
    });
    let mut annotations = a.annotations.clone();
    annotations.remove(annotation::GENERATOR_URL);
    if !a.summary.trim().is_empty() {
        annotations.get_or_insert_with("summary".to_owned(), || a.summary.clone());
    }
    if !a.message.trim().is_empty() {
        annotations.get_or_insert_with(annotation::DESCRIPTION.to_owned(), || a.message.clone());
    }
    // Alertmanager's `types.Alerts` zeroes the end of an alert that has not
    // resolved; a resolved alert carries its real end.
    let ends_at = match a.status {
        Status::Firing => ZERO_TIME.to_owned(),
        Status::Resolved => time_or_zero(a.ends_at),
    };
    // The fingerprint of the label set actually sent (Prometheus'
    // `LabelSet.Fingerprint()`), so a consumer that hashes `labels` gets `fingerprint`.
    // A LabelMap iterates in byte order of the names, as the hash requires.
    let fingerprint = Fingerprint::of_sorted_labels(labels.iter()).to_string();
    AmAlert {
        status: a.status.as_str(),
        labels,
        annotations,
        starts_at: time_or_zero(a.starts_at),
        ends_at,
        generator_url: a
            .annotations
            .get(annotation::GENERATOR_URL)
            .map(str::to_owned)
            .unwrap_or_default(),
        fingerprint,
    }
}

fn common(maps: impl Iterator<Item = LabelMap>) -> LabelMap {
    let mut out: Option<LabelMap> = None;
    for m in maps {
        out = Some(match out {
            None => m,
            Some(mut c) => {
                c.retain(|k, v| m.get(k) == Some(v.as_str()));
                c
            }
        });
    }
    out.unwrap_or_default()
}

/// `{k="v", ...}` as Alertmanager writes label sets in group keys (Go `%q` quoting
/// for the values).
fn label_set(labels: &LabelMap) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.to_owned())))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

impl<'a> AmMessage<'a> {
    /// As Alertmanager's webhook notifier builds it: the alerts are truncated to
    /// `max_alerts` first, and `status`, `commonLabels` and `commonAnnotations` are
    /// computed from the alerts sent. `groupLabels` (and `groupKey`) belong to the
    /// whole group, as the route's group labels do upstream.
    pub(crate) fn new(config: &'a WebhookConfig, alerts: &[Alert]) -> AmMessage<'a> {
        let all: Vec<AmAlert> = alerts.iter().map(|a| am_alert(config, a)).collect();
        let group_labels: LabelMap = common(all.iter().map(|a| a.labels.clone()))
            .into_iter()
            .filter(|(k, _)| config.group_by.iter().any(|g| g == k))
            .collect();
        let (kept, truncated) = truncate(alerts, config.max_alerts);
        let mut sent = all;
        sent.truncate(kept.len());
        let common_labels = common(sent.iter().map(|a| a.labels.clone()));
        let common_annotations = common(sent.iter().map(|a| a.annotations.clone()));
        AmMessage {
            version: ALERTMANAGER_VERSION,
            group_key: format!("{{}}:{}", label_set(&group_labels)),
            truncated_alerts: truncated as u64,
            status: group_status(kept),
            receiver: &config.receiver,
            group_labels,
            common_labels,
            common_annotations,
            external_url: &config.external_url,
            alerts: sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_quote_like_go() {
        let mut m = LabelMap::new();
        m.insert("alertname".to_owned(), "Disk \"full\"".to_owned());
        m.insert("job".to_owned(), "x".to_owned());
        assert_eq!(label_set(&m), r#"{alertname="Disk \"full\"", job="x"}"#);
        assert_eq!(label_set(&LabelMap::new()), "{}");
    }
}
