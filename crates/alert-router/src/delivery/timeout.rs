//! [`TimeoutLayer`]: a deadline per attempt.

use std::time::Duration;

use alert_core::{Alert, Layer, Notifier, NotifyError, Receipt, Result};
use async_trait::async_trait;

use super::util::intern;

/// Fails a call that takes longer than a duration with [`NotifyError::Timeout`]
/// (retryable with backoff). Placed inside the retry layer it bounds each attempt,
/// not the whole retry loop.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer {
    after: Duration,
}

impl TimeoutLayer {
    /// A layer that gives each call `after`.
    pub fn new(after: Duration) -> TimeoutLayer {
        TimeoutLayer { after }
    }
}

impl<N: Notifier> Layer<N> for TimeoutLayer {
    type Notifier = Timeout<N>;
    fn layer(&self, inner: N) -> Timeout<N> {
        Timeout {
            channel: intern(inner.name()),
            inner,
            after: self.after,
        }
    }
}

/// A notifier wrapped by [`TimeoutLayer`].
#[derive(Clone, Debug)]
pub struct Timeout<N> {
    inner: N,
    after: Duration,
    channel: &'static str,
}

impl<N> Timeout<N> {
    async fn bounded(&self, fut: impl Future<Output = Result<Receipt>>) -> Result<Receipt> {
        match tokio::time::timeout(self.after, fut).await {
            Ok(r) => r,
            Err(_) => Err(NotifyError::Timeout {
                channel: self.channel,
                after: self.after,
            }),
        }
    }
}

#[async_trait]
impl<N: Notifier> Notifier for Timeout<N> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.bounded(self.inner.notify(alert)).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.bounded(self.inner.notify_group(alerts)).await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.bounded(self.inner.update(alert, previous)).await
    }
    async fn flush(&self) -> Result<()> {
        match tokio::time::timeout(self.after, self.inner.flush()).await {
            Ok(r) => r,
            Err(_) => Err(NotifyError::Timeout {
                channel: self.channel,
                after: self.after,
            }),
        }
    }
}
