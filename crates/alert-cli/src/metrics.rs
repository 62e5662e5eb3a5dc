//! `/metrics`: the service's own counters and histograms in the Prometheus text
//! format, through `prometheus-client`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `alerts_received_total` | counter | `endpoint` (`native`, `alertmanager_v2`, `alertmanager_webhook`, `metrics`) |
//! | `alerts_http_rejected_total` | counter | `status` |
//! | `alerts_router_received_total` | counter | |
//! | `alerts_active` | gauge | |
//! | `alerts_groups` | gauge | |
//! | `alerts_fired_total`, `alerts_resolved_total` | counter | |
//! | `alerts_suppressed_total` | counter | `reason` (`dedup`, `silenced`, `inhibited`, `flapping`, `muted`, ...) |
//! | `alerts_notifications_total` | counter | |
//! | `alerts_flaps_total`, `alerts_escalations_total`, `alerts_acks_total` | counter | |
//! | `alerts_actions_run_total`, `alerts_actions_failed_total` | counter | |
//! | `alerts_store_errors_total` | counter | |
//! | `alerts_outbox_queued`, `alerts_outbox_in_flight` | gauge | |
//! | `alerts_outbox_delivered_total`, `alerts_outbox_gave_up_total` (dead-lettered), `alerts_outbox_fell_back_total`, `alerts_outbox_breaker_refusals_total`, `alerts_outbox_failed_attempts_total` | counter | |
//! | `alerts_delivery_attempts_total` | counter | `receiver`, `channel`, `outcome` (`delivered`, `failed`, `gave_up`, `fell_back`) |
//! | `alerts_delivery_latency_seconds` | histogram | `channel` |
//! | `alerts_channel_breaker_open` | gauge | `receiver`, `channel` (1 while the breaker is open) |

use std::sync::{Arc, OnceLock, Weak};

use alert_router::Router;
use alert_router::delivery::BreakerState;
use alert_router::store::{ActionQuery, ActionRecord, AlertEvent};
use alert_router::store::{
    AttemptQuery, Change, DeadLetter, DeadLetterQuery, DeliveryAttempt, EventQuery, LogEntry,
    LogQuery, Notification, Prepared, PruneReport, ReceiptRecord, Retention, Snapshot, Store,
    StoreResult,
};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    received: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    attempts: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    router: Arc<OnceLock<Weak<Router>>>,
}

impl Metrics {
    /// Metrics without the router part (see [`Metrics::watch`]).
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("alerts");
        let received = Family::<Labels, Counter>::default();
        let rejected = Family::<Labels, Counter>::default();
        let attempts = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register(
            "received",
            "Alerts received over HTTP, by endpoint",
            received.clone(),
        );
        registry.register(
            "http_rejected",
            "Requests rejected, by HTTP status",
            rejected.clone(),
        );
        registry.register(
            "delivery_attempts",
            "Delivery attempts, by receiver, channel and outcome",
            attempts.clone(),
        );
        registry.register(
            "delivery_latency_seconds",
            "Delivery attempt latency, by channel",
            latency.clone(),
        );
        let router: Arc<OnceLock<Weak<Router>>> = Arc::default();
        registry.register_collector(Box::new(RouterCollector {
            router: router.clone(),
        }));
        Metrics {
            registry,
            received,
            rejected,
            attempts,
            latency,
            router,
        }
    }

    /// Adds the router's and the outbox's counters, read at every scrape.
    pub fn watch(&self, router: &Arc<Router>) {
        let _ = self.router.set(Arc::downgrade(router));
    }

    /// Counts `n` alerts received on `endpoint`.
    pub fn received(&self, endpoint: &str, n: usize) {
        self.received
            .get_or_create(&labels(&[("endpoint", endpoint)]))
            .inc_by(n as u64);
    }

    /// Counts a rejected request.
    pub fn rejected(&self, status: u16) {
        self.rejected
            .get_or_create(&labels(&[("status", &status.to_string())]))
            .inc();
    }

    fn attempt(&self, a: &DeliveryAttempt) {
        // The latency first: a scrape reads the counter before the histogram (the
        // order they are registered in), so one that sees the attempt counted also
        // finds its latency sample. The other order showed a counted attempt with
        // no sample.
        self.latency
            .get_or_create(&labels(&[("channel", &a.channel)]))
            .observe(a.latency.as_secs_f64());
        self.attempts
            .get_or_create(&labels(&[
                ("receiver", &a.receiver),
                ("channel", &a.channel),
                ("outcome", a.outcome.as_str()),
            ]))
            .inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[derive(Debug)]
struct RouterCollector {
    router: Arc<OnceLock<Weak<Router>>>,
}

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, ConstCounter::new(v).metric_type())?;
    ConstCounter::new(v).encode(m)
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: i64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, ConstGauge::new(v).metric_type())?;
    ConstGauge::new(v).encode(m)
}

impl prometheus_client::collector::Collector for RouterCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(router) = self.router.get().and_then(Weak::upgrade) else {
            return Ok(());
        };
        let s = router.stats();
        counter(
            &mut enc,
            "router_received",
            "Alerts the router received (duplicates included)",
            s.received,
        )?;
        gauge(&mut enc, "active", "Active alerts", s.active_alerts as i64)?;
        gauge(&mut enc, "groups", "Aggregation groups", s.groups as i64)?;
        counter(&mut enc, "fired", "Alert episodes started", s.fired)?;
        counter(&mut enc, "resolved", "Alert episodes ended", s.resolved)?;
        {
            let m = enc.encode_descriptor(
                "suppressed",
                "Alerts held back, by reason",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            let mut m = m;
            for (reason, n) in &s.suppressed {
                let l = labels(&[("reason", reason)]);
                ConstCounter::new(*n).encode(m.encode_family(&l)?)?;
            }
        }
        counter(
            &mut enc,
            "notifications",
            "Notifications handed to delivery",
            s.notifications,
        )?;
        counter(&mut enc, "flaps", "Alerts that started flapping", s.flaps)?;
        counter(&mut enc, "escalations", "Escalation notices", s.escalations)?;
        counter(&mut enc, "acks", "Acknowledgements", s.acks)?;
        counter(
            &mut enc,
            "actions_run",
            "Automated actions run",
            s.actions_run,
        )?;
        counter(
            &mut enc,
            "actions_failed",
            "Automated actions that failed",
            s.actions_failed,
        )?;
        counter(
            &mut enc,
            "store_errors",
            "Store writes that failed and were retried",
            s.store_errors,
        )?;
        let o = router.outbox().stats();
        gauge(
            &mut enc,
            "outbox_queued",
            "Notifications waiting for delivery",
            o.queued as i64,
        )?;
        gauge(
            &mut enc,
            "outbox_in_flight",
            "Delivery attempts running",
            o.in_flight as i64,
        )?;
        counter(
            &mut enc,
            "outbox_delivered",
            "Notifications delivered",
            o.delivered,
        )?;
        counter(
            &mut enc,
            "outbox_gave_up",
            "Notifications given up by a receiver without a fallback, kept as dead letters",
            o.gave_up,
        )?;
        counter(
            &mut enc,
            "outbox_fell_back",
            "Notifications a receiver handed to its fallback receiver",
            o.fell_back,
        )?;
        counter(
            &mut enc,
            "outbox_breaker_refusals",
            "Calls refused by an open circuit breaker (nothing sent; not attempts)",
            o.breaker_refusals,
        )?;
        counter(
            &mut enc,
            "outbox_failed_attempts",
            "Failed delivery attempts",
            o.failed_attempts,
        )?;
        let channels = router.outbox().channels();
        let m = enc.encode_descriptor(
            "channel_breaker_open",
            "1 while a channel's circuit breaker is open",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        let mut m = m;
        for c in channels {
            let open = c
                .breaker
                .as_ref()
                .is_some_and(|b| !matches!(b, BreakerState::Closed { .. }));
            let l = labels(&[("receiver", &c.receiver), ("channel", &c.channel)]);
            ConstGauge::new(i64::from(open)).encode(m.encode_family(&l)?)?;
        }
        Ok(())
    }
}

/// A [`Store`] that counts delivery attempts into [`Metrics`] as they are written,
/// and forwards everything to the real store.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> MeteredStore {
        MeteredStore { inner, metrics }
    }

    /// Counts the delivery attempts of a written batch.
    fn count(&self, changes: &[Change]) {
        for c in changes {
            if let Change::Attempt(a) = c {
                self.metrics.attempt(a);
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for MeteredStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn apply(&self, changes: &[Change]) -> StoreResult<()> {
        self.inner.apply(changes).await?;
        self.count(changes);
        Ok(())
    }
    fn prepare(&self, changes: &[Change]) -> Option<Prepared> {
        self.inner.prepare(changes)
    }
    async fn apply_prepared(
        &self,
        changes: &[Change],
        parts: Vec<(usize, Prepared)>,
    ) -> StoreResult<()> {
        self.inner.apply_prepared(changes, parts).await?;
        self.count(changes);
        Ok(())
    }
    async fn load(&self) -> StoreResult<Snapshot> {
        self.inner.load().await
    }
    async fn last_notification(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<LogEntry>> {
        self.inner
            .last_notification(receiver, channel, group_key)
            .await
    }
    async fn last_notifications(
        &self,
        keys: &[(&str, &str, &str)],
    ) -> StoreResult<Vec<Option<LogEntry>>> {
        self.inner.last_notifications(keys).await
    }
    async fn receipt(
        &self,
        receiver: &str,
        channel: &str,
        group_key: &str,
    ) -> StoreResult<Option<ReceiptRecord>> {
        self.inner.receipt(receiver, channel, group_key).await
    }
    async fn query_log(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        self.inner.query_log(q).await
    }
    async fn pending_outbox(&self, limit: usize) -> StoreResult<Vec<Notification>> {
        self.inner.pending_outbox(limit).await
    }
    async fn pending_outbox_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        self.inner.pending_outbox_after(after, limit).await
    }
    async fn query_attempts(&self, q: &AttemptQuery) -> StoreResult<Vec<DeliveryAttempt>> {
        self.inner.query_attempts(q).await
    }
    async fn query_events(&self, q: &EventQuery) -> StoreResult<Vec<AlertEvent>> {
        self.inner.query_events(q).await
    }
    async fn query_actions(&self, q: &ActionQuery) -> StoreResult<Vec<ActionRecord>> {
        self.inner.query_actions(q).await
    }
    async fn prune(&self, r: &Retention) -> StoreResult<PruneReport> {
        self.inner.prune(r).await
    }
    async fn dead_letters(&self, q: &DeadLetterQuery) -> StoreResult<Vec<DeadLetter>> {
        self.inner.dead_letters(q).await
    }
    async fn outbox_entry(&self, id: &str) -> StoreResult<Option<Notification>> {
        self.inner.outbox_entry(id).await
    }
}
