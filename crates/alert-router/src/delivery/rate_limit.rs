//! [`RateLimitLayer`]: a token bucket per destination key, shrunk by 429s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Layer, MAX_RETRY_AFTER, Notifier, NotifyError, Receipt, Result};
use async_trait::async_trait;
use tokio::time::Instant;

/// A token bucket's shape: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained sends per second.
    pub rate: f64,
    /// Sends allowed back to back after a quiet period (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// `rate` per second with bursts of `burst`.
    pub fn per_second(rate: f64, burst: u32) -> RateLimit {
        RateLimit {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                1.0
            },
            burst: burst.max(1),
        }
    }

    /// `n` sends per `period`, all of which may go at once.
    pub fn per(n: u32, period: Duration) -> RateLimit {
        RateLimit::per_second(f64::from(n.max(1)) / period.as_secs_f64().max(1e-3), n)
    }

    /// The default for a channel kind. Sources are the sections of the workspace's
    /// channel research (`CHANNELS.md`); where a provider documents no figure the
    /// table says so and the default is a conservative choice, with the provider's
    /// 429 answers (which [`RateLimitLayer`] obeys) as the real governor.
    ///
    /// | channel | default | source |
    /// |---|---|---|
    /// | `slack` | 1/s, burst 2 | Slack "Rate Limits": about one message per second per channel, short bursts tolerated, for the Web API and incoming webhooks (CHANNELS.md 1.3); the burst of 2 is our choice |
    /// | `discord` | 5 per 2 s (2.5/s, burst 5) | **no documented figure**: Discord does not document per-webhook limits and says not to hard-code them; only the global cap of 50 requests/s per IP for webhooks is documented (CHANNELS.md 2.3). 5 per 2 s is what webhook answers' `X-RateLimit-*` headers commonly announce, kept as a conservative default |
    /// | `statuspal` | 100 per 10 s (10/s, burst 100) | Statuspal's rate-limit page lists both "300 requests per 10 seconds" and "100 requests per 10 seconds" without saying which key type gets which (CHANNELS.md 4): the lower one |
    /// | `datadog` | 10/s, burst 20 | **not a provider figure**: Datadog documents 250,000 events per minute per organisation (CHANNELS.md 3.2) and announces its windows in `X-RateLimit-*` headers on 429 (3.6); 10/s is a conservative per-process default |
    /// | `desktop` | 2/s, burst 5 | not a provider limit: keeps a storm from covering the screen |
    /// | anything else (`webhook`, custom) | none | set one per receiver |
    ///
    /// Use the key function of [`RateLimitLayer::keyed`] to keep one bucket per
    /// Slack channel or Discord webhook when one notifier serves several.
    pub fn for_channel(kind: &str) -> Option<RateLimit> {
        match kind {
            "slack" => Some(RateLimit::per_second(1.0, 2)),
            "discord" => Some(RateLimit::per(5, Duration::from_secs(2))),
            "statuspal" => Some(RateLimit::per(100, Duration::from_secs(10))),
            "datadog" => Some(RateLimit::per_second(10.0, 20)),
            "desktop" => Some(RateLimit::per_second(2.0, 5)),
            _ => None,
        }
    }
}

/// How long a 429 without a server-given delay blocks the bucket.
pub const DEFAULT_PENALTY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// No token is handed out before this instant (a 429's delay).
    blocked_until: Option<Instant>,
    /// Until this instant the bucket runs shrunk: half the rate, burst 1.
    shrunk_until: Option<Instant>,
}

impl Bucket {
    fn new(limit: RateLimit, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(limit.burst),
            last: now,
            blocked_until: None,
            shrunk_until: None,
        }
    }

    fn shape(&self, limit: RateLimit, now: Instant) -> (f64, f64) {
        match self.shrunk_until {
            Some(t) if now < t => (limit.rate / 2.0, 1.0),
            _ => (limit.rate, f64::from(limit.burst)),
        }
    }

    /// Takes a token, or says how long to wait for one.
    fn try_take(&mut self, limit: RateLimit, now: Instant) -> std::result::Result<(), Duration> {
        if let Some(b) = self.blocked_until {
            if now < b {
                return Err(b - now);
            }
            // At the reset one send may go at once; the rest follow the (shrunk)
            // rate.
            self.blocked_until = None;
            self.last = now;
            self.tokens = self.tokens.max(1.0);
        }
        let (rate, burst) = self.shape(limit, now);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    fn penalise(&mut self, delay: Duration, now: Instant) {
        let until = now + delay;
        self.tokens = 0.0;
        self.last = until;
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
        let shrink = now + delay * 2;
        self.shrunk_until = Some(self.shrunk_until.map_or(shrink, |s| s.max(shrink)));
    }
}

type KeyFn = Arc<dyn Fn(&[Alert]) -> String + Send + Sync>;

/// Spaces calls through the wrapped notifier with a token bucket per destination key.
///
/// * Each key (by default one for the whole notifier; see
///   [`keyed`](RateLimitLayer::keyed)) has a bucket of `burst` tokens refilled at
///   `rate` per second; a call waits for a token.
/// * A rate-limited answer (HTTP 429, [`NotifyError::RateLimited`]) **shrinks the
///   bucket until the reset**: no token is handed out during the server's delay (or
///   [`DEFAULT_PENALTY`] when it gave none), and for as long again after it the bucket
///   runs at half the rate with a burst of 1. The error is still returned, so the
///   retry layer above decides (and its retries wait for tokens too).
/// * The server's delay is **capped at [`MAX_RETRY_AFTER`]** (15 minutes), and a
///   capped delay is logged at `warn`: a bogus `Retry-After` (a billion seconds, a
///   date years ahead) cannot block the destination for longer. The wait for a
///   token happens before the call, outside any per-attempt timeout inside this
///   layer, so without the cap it would freeze the channel.
///
/// Per-channel defaults: [`RateLimit::for_channel`].
#[derive(Clone)]
pub struct RateLimitLayer {
    limit: RateLimit,
    key: Option<KeyFn>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limit", &self.limit)
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl RateLimitLayer {
    /// One bucket for the whole wrapped notifier.
    pub fn new(limit: RateLimit) -> RateLimitLayer {
        RateLimitLayer { limit, key: None }
    }

    /// One bucket per key, computed from the alerts of each call (e.g. the
    /// `channel` label that picks a Slack channel).
    pub fn keyed(
        limit: RateLimit,
        key: impl Fn(&[Alert]) -> String + Send + Sync + 'static,
    ) -> RateLimitLayer {
        RateLimitLayer {
            limit,
            key: Some(Arc::new(key)),
        }
    }
}

impl<N> Layer<N> for RateLimitLayer {
    type Notifier = RateLimited<N>;
    fn layer(&self, inner: N) -> RateLimited<N> {
        RateLimited {
            inner,
            limit: self.limit,
            key: self.key.clone(),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// A notifier wrapped by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimited<N> {
    inner: N,
    limit: RateLimit,
    key: Option<KeyFn>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl<N: fmt::Debug> fmt::Debug for RateLimited<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<N: Notifier> RateLimited<N> {
    fn key_of(&self, alerts: &[Alert]) -> String {
        match &self.key {
            Some(k) => k(alerts),
            None => String::new(),
        }
    }

    async fn acquire(&self, key: &str) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let b = buckets
                    .entry(key.to_owned())
                    .or_insert_with(|| Bucket::new(self.limit, now));
                match b.try_take(self.limit, now) {
                    Ok(()) => return,
                    Err(w) => w,
                }
            };
            tokio::time::sleep(wait.max(Duration::from_micros(100))).await;
        }
    }

    fn observe(&self, key: &str, result: &Result<Receipt>) {
        if let Err(NotifyError::RateLimited { retry_after, .. }) = result {
            let asked = retry_after.unwrap_or(DEFAULT_PENALTY);
            let delay = asked.min(MAX_RETRY_AFTER);
            if asked > MAX_RETRY_AFTER {
                tracing::warn!(
                    notifier = self.inner.name(),
                    key,
                    asked = ?asked,
                    cap = ?MAX_RETRY_AFTER,
                    "server-given rate-limit delay capped"
                );
            }
            tracing::info!(
                notifier = self.inner.name(),
                key,
                delay = ?delay,
                "rate limited by the provider: bucket shrunk until the reset"
            );
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            buckets
                .entry(key.to_owned())
                .or_insert_with(|| Bucket::new(self.limit, now))
                .penalise(delay, now);
        }
    }

    async fn limited(
        &self,
        alerts: &[Alert],
        call: impl Future<Output = Result<Receipt>>,
    ) -> Result<Receipt> {
        let key = self.key_of(alerts);
        self.acquire(&key).await;
        let r = call.await;
        self.observe(&key, &r);
        r
    }
}

#[async_trait]
impl<N: Notifier> Notifier for RateLimited<N> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.limited(std::slice::from_ref(alert), self.inner.notify(alert))
            .await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.limited(alerts, self.inner.notify_group(alerts)).await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.limited(
            std::slice::from_ref(alert),
            self.inner.update(alert, previous),
        )
        .await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}
