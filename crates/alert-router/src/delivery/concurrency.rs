//! [`ConcurrencyLimitLayer`]: at most N calls in flight through a notifier.

use std::sync::Arc;

use alert_core::{Alert, Layer, Notifier, Receipt, Result};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// Lets at most `max` calls run at once through the wrapped notifier; others wait
/// their turn (first come, first served). Clones of one wrapped notifier share the
/// limit; each [`layer`](Layer::layer) call makes a new one.
#[derive(Clone, Copy, Debug)]
pub struct ConcurrencyLimitLayer {
    max: usize,
}

impl ConcurrencyLimitLayer {
    /// A limit of `max` concurrent calls (at least 1).
    pub fn new(max: usize) -> ConcurrencyLimitLayer {
        ConcurrencyLimitLayer { max: max.max(1) }
    }
}

impl<N> Layer<N> for ConcurrencyLimitLayer {
    type Notifier = ConcurrencyLimit<N>;
    fn layer(&self, inner: N) -> ConcurrencyLimit<N> {
        ConcurrencyLimit {
            inner,
            permits: Arc::new(Semaphore::new(self.max)),
            max: self.max,
        }
    }
}

/// A notifier wrapped by [`ConcurrencyLimitLayer`].
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit<N> {
    inner: N,
    permits: Arc<Semaphore>,
    max: usize,
}

impl<N> ConcurrencyLimit<N> {
    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

macro_rules! limited {
    ($self:ident, $call:expr) => {{
        // The semaphore is never closed, so acquiring cannot fail; if it ever did,
        // sending without the permit is better than losing the alert.
        let _permit = $self.permits.acquire().await.ok();
        $call.await
    }};
}

#[async_trait]
impl<N: Notifier> Notifier for ConcurrencyLimit<N> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        limited!(self, self.inner.notify(alert))
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        limited!(self, self.inner.notify_group(alerts))
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        limited!(self, self.inner.update(alert, previous))
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}
