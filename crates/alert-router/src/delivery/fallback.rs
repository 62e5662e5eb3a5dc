//! [`FallbackLayer`]: when a receiver cannot deliver, another one does.

use std::sync::Arc;

use alert_core::{Alert, Layer, Notifier, NotifyError, Receipt, Result, Retry};
use async_trait::async_trait;

use super::breaker::is_circuit_open;

/// When the fallback takes over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackOn {
    /// When the primary's failure is final for now: a permanent error (including a
    /// disabled receiver or a destination that is gone) or an open circuit breaker.
    /// A retryable error is returned as is, so the retry layer or the outbox tries the
    /// primary again. The default.
    #[default]
    Unavailable,
    /// On any error of the primary (put the primary's retry layer inside it, so
    /// this means "after its retries").
    AnyError,
}

/// Sends to a fallback notifier when the wrapped (primary) one cannot deliver,
/// e.g. Slack down: desktop plus an e-mail webhook.
///
/// The receipt of a fallback delivery has `meta["fallback_from"]` set to the
/// primary's name and `meta["primary_error"]` to the primary error's kind. When the
/// fallback fails too, its error is returned.
#[derive(Clone, Debug)]
pub struct FallbackLayer {
    fallback: Arc<dyn Notifier>,
    on: FallbackOn,
}

impl FallbackLayer {
    /// Falls back to `fallback` when the primary is unavailable.
    pub fn new(fallback: Arc<dyn Notifier>) -> FallbackLayer {
        FallbackLayer {
            fallback,
            on: FallbackOn::Unavailable,
        }
    }

    /// Sets when the fallback takes over.
    pub fn on(mut self, on: FallbackOn) -> FallbackLayer {
        self.on = on;
        self
    }
}

impl<N> Layer<N> for FallbackLayer {
    type Notifier = Fallback<N>;
    fn layer(&self, inner: N) -> Fallback<N> {
        Fallback {
            primary: inner,
            fallback: self.fallback.clone(),
            on: self.on,
        }
    }
}

/// A notifier wrapped by [`FallbackLayer`].
#[derive(Clone, Debug)]
pub struct Fallback<N> {
    primary: N,
    fallback: Arc<dyn Notifier>,
    on: FallbackOn,
}

impl<N: Notifier> Fallback<N> {
    fn should_fall_back(&self, e: &NotifyError) -> bool {
        match self.on {
            FallbackOn::AnyError => true,
            FallbackOn::Unavailable => e.retryable() == Retry::Never || is_circuit_open(e),
        }
    }

    async fn run<F, Fut>(
        &self,
        primary: impl Future<Output = Result<Receipt>>,
        fallback: F,
    ) -> Result<Receipt>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Receipt>>,
    {
        match primary.await {
            Ok(r) => Ok(r),
            Err(e) if self.should_fall_back(&e) => {
                tracing::warn!(
                    primary = self.primary.name(),
                    fallback = self.fallback.name(),
                    error = %e,
                    "primary receiver unavailable, using the fallback"
                );
                let mut r = fallback().await?;
                r.meta
                    .insert("fallback_from".to_owned(), self.primary.name().to_owned());
                r.meta
                    .insert("primary_error".to_owned(), e.kind().to_owned());
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl<N: Notifier> Notifier for Fallback<N> {
    fn name(&self) -> &str {
        self.primary.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.run(self.primary.notify(alert), || self.fallback.notify(alert))
            .await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.run(self.primary.notify_group(alerts), || {
            self.fallback.notify_group(alerts)
        })
        .await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        // The fallback never saw the first message: it gets a plain notification.
        self.run(self.primary.update(alert, previous), || {
            self.fallback.notify(alert)
        })
        .await
    }
    async fn flush(&self) -> Result<()> {
        let a = self.primary.flush().await;
        let b = self.fallback.flush().await;
        a.and(b)
    }
}
