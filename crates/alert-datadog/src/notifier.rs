use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use alert_core::fit::Measure;
use alert_core::render::{Style, digest_alert, group_header, render, render_group, title_line};
use alert_core::{
    Alert, BuildError, Fingerprint, Notifier, NotifyError, Receipt, Result, Timestamp, async_trait,
};

use crate::payload::{CheckRun, EventCreated, EventRequest};
use crate::severity::{CheckStatus, ServiceCheckStatusMap};
use crate::tags::{normalize_metric_name, normalize_tag};
use crate::text;
use crate::transport::{CHANNEL, Transport, classify, redact_userinfo};
use crate::{DatadogConfig, DatadogMetrics};

/// The events endpoint.
pub(crate) const EVENTS_PATH: &str = "/api/v1/events";
/// The service checks endpoint.
pub(crate) const CHECK_RUN_PATH: &str = "/api/v1/check_run";
/// The API key validation endpoint.
pub(crate) const VALIDATE_PATH: &str = "/api/v1/validate";

/// Longest `aggregation_key` Datadog accepts.
pub(crate) const AGGREGATION_KEY_LIMIT: usize = 100;
/// Most tags sent on one event or check (Datadog's v2 events limit; v1 documents none).
pub const MAX_TAGS: usize = 100;
/// Alerts shown in a group digest before "… and K more".
const GROUP_ITEMS: usize = 10;
/// Datadog refuses events older than 18 hours; older alert times are replaced by now,
/// with an hour of margin for clock skew.
const MAX_EVENT_AGE: Duration = Duration::from_secs(17 * 3600);

#[derive(Clone, Debug)]
struct CheckSetup {
    name: String,
    host: String,
    status: ServiceCheckStatusMap,
}

/// Sends alerts to Datadog as events (`POST /api/v1/events`), and optionally as
/// service checks (`POST /api/v1/check_run`).
///
/// * `notify` posts one event; with [`ServiceCheckConfig`](crate::ServiceCheckConfig)
///   set, it first posts the alert's check status (idempotent, so a retry after a
///   failed event repeats nothing harmful).
/// * `update` (a resolution) posts a new event with the same `aggregation_key` (the
///   alert's fingerprint), so Datadog folds firing and resolution together, and sets
///   `related_event_id` to the firing event's id from the receipt. Datadog events
///   cannot be edited.
/// * `notify_group` posts one digest event and one check per alert (all checks in
///   one request; on a 413 the checks are split in halves and resent).
///
/// The receipt's `id` is the event's `id_str` (ids exceed 2^53: never read `id` as
/// a float), its `url` the event's page; `meta["aggregation_key"]` holds the key and,
/// with checks, `meta["check_status"]` the status sent.
#[derive(Debug)]
pub struct DatadogNotifier {
    config: DatadogConfig,
    transport: Transport,
    tags: Vec<String>,
    check: Option<CheckSetup>,
}

impl DatadogNotifier {
    /// Validates `config` (API key, base URL, tags, service-check settings) and
    /// builds the HTTP client.
    pub fn new(config: DatadogConfig) -> std::result::Result<DatadogNotifier, BuildError> {
        let transport = Transport::new(&config)?;
        let tags = config.normalized_tags()?;
        if let Some(h) = &config.host
            && h.trim().is_empty()
        {
            return Err(BuildError::invalid("host", "must not be empty when set"));
        }
        let check = match &config.service_check {
            None => None,
            Some(sc) => {
                let name = sc.check.trim();
                if normalize_metric_name(name).as_deref() != Some(name) {
                    return Err(BuildError::invalid(
                        "service_check.check",
                        format!(
                            "{name:?} is not a check name: start with a letter, then use ASCII \
                             letters, digits, `_` and `.` (at most 200 characters)"
                        ),
                    ));
                }
                let host = sc
                    .host_name
                    .as_deref()
                    .or(config.host.as_deref())
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| {
                        BuildError::invalid(
                            "service_check.host_name",
                            "Datadog requires a host name for service checks: set \
                             `service_check.host_name` or `host`",
                        )
                    })?;
                Some(CheckSetup {
                    name: name.to_owned(),
                    host: host.to_owned(),
                    status: sc.status.clone(),
                })
            }
        };
        Ok(DatadogNotifier {
            config,
            transport,
            tags,
            check,
        })
    }

    /// Uses `client` for every request instead of the one built from the config (its
    /// own timeouts then apply).
    pub fn with_http_client(mut self, client: reqwest::Client) -> DatadogNotifier {
        self.transport.set_client(client);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &DatadogConfig {
        &self.config
    }

    /// The events endpoint, e.g. `https://api.datadoghq.eu/api/v1/events`, for
    /// display: a user name and password in `base_url` are shown as `**REDACTED**`.
    pub fn events_url(&self) -> String {
        format!("{}{EVENTS_PATH}", redact_userinfo(self.transport.base()))
    }

    /// A metrics client sharing this notifier's HTTP client, key, host and tags.
    pub fn metrics(&self) -> DatadogMetrics {
        DatadogMetrics::from_parts(
            self.transport.clone(),
            self.tags.clone(),
            self.config.host.clone(),
        )
    }

    /// Checks the API key with `GET /api/v1/validate` (no event is created).
    pub async fn validate_api_key(&self) -> Result<()> {
        let answer = self.transport.get(VALIDATE_PATH).await?;
        match classify(&answer, self.transport.api_key()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The JSON body `notify` would post for `alert` now (for dry runs and tests).
    pub fn event_body(&self, alert: &Alert) -> String {
        let ev = self.event_for(alert, None, Timestamp::now());
        serde_json::to_string(&ev).unwrap_or_default()
    }

    /// The tags of `alert`: configured tags, `alertname`, (for events) `severity` and
    /// `status`, the source (`model`, `model_version`, `env`, `run_id`), then the
    /// labels; normalised, deduplicated, at most [`MAX_TAGS`].
    fn alert_tags(&self, alert: &Alert, with_state: bool) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.tags.len() + alert.labels.len() + 8);
        out.extend(self.tags.iter().cloned());
        if !alert.name.trim().is_empty() {
            out.push(normalize_tag("alertname", &alert.name));
        }
        if with_state {
            out.push(format!("severity:{}", alert.severity.as_str()));
            out.push(format!("status:{}", alert.status.as_str()));
        }
        for (k, v) in alert.source.fields() {
            let key = match k {
                "version" => "model_version",
                "run" => "run_id",
                other => other,
            };
            out.push(normalize_tag(key, v));
        }
        // A literal `alertname` label (the native JSON can carry one) is not a
        // second name: the alert's own is tagged above, as its fingerprint has it.
        for (k, v) in alert.labels.iter().filter(|(k, _)| *k != "alertname") {
            out.push(normalize_tag(k, v));
        }
        let mut seen = HashSet::with_capacity(out.len());
        out.retain(|t| seen.insert(t.clone()));
        out.truncate(MAX_TAGS);
        out
    }

    fn event_for(&self, alert: &Alert, related: Option<u64>, now: Timestamp) -> EventRequest<'_> {
        let level = self.config.severity.for_alert(alert);
        EventRequest {
            title: text::title(&title_line(alert)),
            text: text::fenced(|budget| {
                render(alert, Style::Markdown, budget, Measure::Chars).text
            }),
            alert_type: level.alert_type,
            priority: level.priority,
            tags: self.alert_tags(alert, true),
            aggregation_key: aggregation_key(alert.fingerprint()),
            source_type_name: self.source_type_name(),
            host: self.config.host.as_deref().map(str::trim),
            date_happened: event_time(alert, now),
            related_event_id: related,
        }
    }

    fn group_event(&self, alerts: &[Alert], now: Timestamp) -> EventRequest<'_> {
        let digest = digest_alert(alerts);
        let level = self.config.severity.for_alert(&digest);
        EventRequest {
            title: text::title(&group_header(alerts)),
            text: text::fenced(|budget| {
                render_group(alerts, Style::Markdown, budget, Measure::Chars, GROUP_ITEMS).text
            }),
            alert_type: level.alert_type,
            priority: level.priority,
            tags: self.alert_tags(&digest, true),
            aggregation_key: aggregation_key(digest.fingerprint()),
            source_type_name: self.source_type_name(),
            host: self.config.host.as_deref().map(str::trim),
            date_happened: now.unix_seconds(),
            related_event_id: None,
        }
    }

    fn source_type_name(&self) -> Option<&str> {
        let s = self.config.source_type_name.trim();
        (!s.is_empty()).then_some(s)
    }

    async fn send_event(&self, ev: &EventRequest<'_>) -> Result<Receipt> {
        let body = serde_json::to_vec(ev).map_err(|e| NotifyError::InvalidAlert {
            channel: CHANNEL,
            reason: format!("the event could not be encoded: {e}"),
        })?;
        let answer = self.transport.post_json(EVENTS_PATH, body, false).await?;
        if let Some(e) = classify(&answer, self.transport.api_key()) {
            return Err(e);
        }
        // 202 means Datadog took the event; an unexpected body must not turn that
        // into a failure (a retry would post it twice).
        let created: EventCreated = serde_json::from_str(&answer.body).unwrap_or_default();
        let mut receipt =
            Receipt::new(CHANNEL).with_meta("aggregation_key", ev.aggregation_key.clone());
        if let Some(event) = created.event {
            if let Some(id) = event.id_str {
                receipt = receipt.with_id(id);
            }
            if let Some(url) = event.url {
                receipt = receipt.with_url(url);
            }
        }
        Ok(receipt)
    }

    /// Posts the checks of `alerts` when checks are configured; returns the status
    /// of the last one.
    ///
    /// The checks go in one `check_run` array. When Datadog answers 413, a batch
    /// of more than one check is split in halves and each half sent again (in
    /// order, recursively), so only a single check too large on its own is refused
    /// (`Rejected`, permanent). A 413 means nothing of the batch was taken, so no
    /// check is sent twice; if a later half fails otherwise, the retry of the whole
    /// notification repeats the halves already taken, which is harmless (a check
    /// sets the state of its instance).
    async fn send_checks(&self, alerts: &[&Alert]) -> Result<Option<CheckStatus>> {
        let Some(setup) = &self.check else {
            return Ok(None);
        };
        if alerts.is_empty() {
            return Ok(None);
        }
        let mut last = None;
        let runs: Vec<CheckRun<'_>> = alerts
            .iter()
            .map(|a| {
                let status = setup.status.status(a);
                last = Some(status);
                CheckRun {
                    check: &setup.name,
                    host_name: &setup.host,
                    status: status.code(),
                    tags: self.alert_tags(a, false),
                    message: Some(text::title(&title_line(a))),
                }
            })
            .collect();
        let mut pending: VecDeque<&[CheckRun<'_>]> = VecDeque::from([runs.as_slice()]);
        while let Some(batch) = pending.pop_front() {
            let body = serde_json::to_vec(batch).map_err(|e| NotifyError::InvalidAlert {
                channel: CHANNEL,
                reason: format!("the service check could not be encoded: {e}"),
            })?;
            let answer = self
                .transport
                .post_json(CHECK_RUN_PATH, body, false)
                .await?;
            match classify(&answer, self.transport.api_key()) {
                None => {}
                Some(e) if e.status() == Some(413) && batch.len() > 1 => {
                    let (left, right) = batch.split_at(batch.len() / 2);
                    pending.push_front(right);
                    pending.push_front(left);
                }
                Some(e) => return Err(e),
            }
        }
        Ok(last)
    }

    async fn deliver(&self, alert: &Alert, related: Option<u64>) -> Result<Receipt> {
        let check = self.send_checks(&[alert]).await?;
        let ev = self.event_for(alert, related, Timestamp::now());
        let receipt = self.send_event(&ev).await?;
        Ok(match check {
            Some(s) => receipt.with_meta("check_status", s.as_str()),
            None => receipt,
        })
    }
}

/// The aggregation key of an alert: its fingerprint (16 hex digits, well within
/// Datadog's 100 characters), so every event of one alert folds together.
fn aggregation_key(fp: Fingerprint) -> String {
    let mut key = fp.to_string();
    key.truncate(AGGREGATION_KEY_LIMIT);
    key
}

/// When the event happened: the alert's start (or, once resolved, its end), unless
/// that is unknown, in the future, or older than Datadog accepts; then now.
fn event_time(alert: &Alert, now: Timestamp) -> i64 {
    let at = if alert.is_resolved() {
        alert.ends_at
    } else {
        alert.starts_at
    };
    match at {
        Some(t) if t <= now && now.duration_since(t) <= MAX_EVENT_AGE => t.unix_seconds(),
        _ => now.unix_seconds(),
    }
}

#[async_trait]
impl Notifier for DatadogNotifier {
    fn name(&self) -> &str {
        CHANNEL
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.deliver(alert, None).await
    }

    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match alerts {
            [] => Ok(Receipt::new(CHANNEL).with_meta("skipped", alert_core::EMPTY_GROUP)),
            [one] => self.notify(one).await,
            _ => {
                let refs: Vec<&Alert> = alerts.iter().collect();
                let check = self.send_checks(&refs).await?;
                let ev = self.group_event(alerts, Timestamp::now());
                let receipt = self.send_event(&ev).await?;
                Ok(match check {
                    Some(s) => receipt.with_meta("check_status", s.as_str()),
                    None => receipt,
                })
            }
        }
    }

    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let related = (previous.channel == CHANNEL)
            .then(|| previous.id.as_deref()?.parse::<u64>().ok())
            .flatten();
        self.deliver(alert, related).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Severity;

    #[test]
    fn event_time_uses_the_alert_time_when_datadog_accepts_it() {
        let now = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
        let hour = Duration::from_secs(3600);
        let a = Alert::new(Severity::Error, "x").with_starts_at(now.saturating_sub(hour));
        assert_eq!(event_time(&a, now), 1_800_000_000 - 3600);
        let old = Alert::new(Severity::Error, "x").with_starts_at(now.saturating_sub(hour * 18));
        assert_eq!(event_time(&old, now), 1_800_000_000);
        let future = Alert::new(Severity::Error, "x").with_starts_at(now.saturating_add(hour));
        assert_eq!(event_time(&future, now), 1_800_000_000);
        let resolved = a.clone().resolved_at(now.saturating_sub(hour / 2));
        assert_eq!(event_time(&resolved, now), 1_800_000_000 - 1800);
        assert_eq!(
            event_time(&Alert::new(Severity::Info, "x"), now),
            1_800_000_000
        );
    }

    #[test]
    fn tags_are_normalised_deduplicated_and_capped() {
        let n = DatadogNotifier::new(DatadogConfig::new("k").with_tag("Team:ML")).unwrap();
        let a = Alert::new(Severity::Critical, "Accuracy Drop")
            .with_label("model", "bikes")
            .with_label("Team", "ML")
            .with_source(
                alert_core::Source::model("bikes")
                    .version("3")
                    .environment("prod"),
            );
        assert_eq!(
            n.alert_tags(&a, true),
            [
                "team:ml",
                "alertname:accuracy_drop",
                "severity:critical",
                "status:firing",
                "model:bikes",
                "model_version:3",
                "env:prod",
            ]
        );
        assert_eq!(
            n.alert_tags(&a, false),
            [
                "team:ml",
                "alertname:accuracy_drop",
                "model:bikes",
                "model_version:3",
                "env:prod",
            ]
        );
        let mut literal = a.clone();
        literal.labels.insert("alertname", "Stale");
        assert_eq!(n.alert_tags(&literal, false), n.alert_tags(&a, false));
        let many = Alert::new(Severity::Info, "x")
            .with_labels((0..500).map(|i| (format!("l{i:03}"), "v")));
        assert_eq!(n.alert_tags(&many, true).len(), MAX_TAGS);
    }

    #[test]
    fn construction_validates_eagerly() {
        let e = DatadogNotifier::new(DatadogConfig::new("  ")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration for `api_key`: must not be empty"
        );
        let e = DatadogNotifier::new(DatadogConfig::new("k").with_base_url("ftp://x")).unwrap_err();
        assert!(e.to_string().contains("`base_url`"), "{e}");
        let e = DatadogNotifier::new(DatadogConfig::new("k\nx")).unwrap_err();
        assert!(e.to_string().contains("HTTP header"), "{e}");
        let e = DatadogNotifier::new(
            DatadogConfig::new("k").with_service_check(crate::ServiceCheckConfig::default()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`service_check.host_name`"), "{e}");
        let e = DatadogNotifier::new(
            DatadogConfig::new("k")
                .with_host("h")
                .with_service_check(crate::ServiceCheckConfig::new("bad check!")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`service_check.check`"), "{e}");
        let n = DatadogNotifier::new(
            DatadogConfig::new("k")
                .with_site(crate::DatadogSite::Eu1)
                .with_host("h")
                .with_service_check(crate::ServiceCheckConfig::default()),
        )
        .unwrap();
        assert_eq!(n.events_url(), "https://api.datadoghq.eu/api/v1/events");
    }
}
