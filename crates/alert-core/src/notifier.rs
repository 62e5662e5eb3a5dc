//! The [`Notifier`] trait every channel implements, its [`Receipt`], the [`Layer`]
//! trait for middleware, and the [`NotifierExt`] conveniences.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::sync::Arc;

use async_trait::async_trait;

use crate::render::digest_alert;
use crate::{Alert, Result, Severity};

/// Proof of a delivery: which channel took it and the provider's id for it.
///
/// A later update or resolution of the same alert hands the receipt back to the
/// channel ([`Notifier::update`]), so the channel can edit or thread onto the same
/// message (Slack `ts`, Discord message id, desktop notification id, Statuspal
/// incident id).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Receipt {
    /// The channel that delivered (`slack`, `discord`, ...).
    pub channel: String,
    /// The provider's id for the message or incident, when it gives one.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub id: Option<String>,
    /// A link to the delivered message, when there is one (no secrets: never a
    /// webhook URL).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub url: Option<String>,
    /// Channel-specific values needed to target the message again (e.g. Slack's
    /// channel id next to the `ts`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "BTreeMap::is_empty"))]
    pub meta: BTreeMap<String, String>,
}

impl Receipt {
    /// A receipt from `channel` with no provider id.
    pub fn new(channel: impl Into<String>) -> Receipt {
        Receipt {
            channel: channel.into(),
            ..Receipt::default()
        }
    }
    /// Sets the provider id.
    pub fn with_id(mut self, id: impl Into<String>) -> Receipt {
        self.id = Some(id.into());
        self
    }
    /// Sets the link.
    pub fn with_url(mut self, url: impl Into<String>) -> Receipt {
        self.url = Some(url.into());
        self
    }
    /// Adds a channel-specific value.
    pub fn with_meta(mut self, k: impl Into<String>, v: impl Into<String>) -> Receipt {
        self.meta.insert(k.into(), v.into());
        self
    }
    /// Reads a channel-specific value.
    pub fn meta(&self, k: &str) -> Option<&str> {
        self.meta.get(k).map(String::as_str)
    }
}

/// A channel: something that delivers alerts somewhere.
///
/// The trait is tiny, takes `&self` (use interior mutability for state) and is
/// dyn-compatible, so a router holds channels as `Arc<dyn Notifier>`:
///
/// * [`notify`](Notifier::notify) delivers one alert (required);
/// * [`notify_group`](Notifier::notify_group) delivers a group as one message; the
///   default renders a digest ([`digest_alert`](crate::render::digest_alert)) and
///   sends it through `notify`;
/// * [`update`](Notifier::update) delivers a new state of an alert that was already
///   delivered (a resolution, an escalation) given the earlier [`Receipt`]; the
///   default sends a new message through `notify`;
/// * [`flush`](Notifier::flush) waits for anything buffered.
///
/// Channels must not retry by themselves: return a [`NotifyError`](crate::NotifyError)
/// whose [`retryable`](crate::NotifyError::retryable) says what to do, and let the
/// router's retry layer decide.
///
/// ```
/// use alert_core::{async_trait, Alert, Notifier, Receipt, Result};
///
/// #[derive(Debug)]
/// struct Stdout;
///
/// #[async_trait]
/// impl Notifier for Stdout {
///     fn name(&self) -> &str { "stdout" }
///     async fn notify(&self, alert: &Alert) -> Result<Receipt> {
///         let _line = alert_core::render::title_line(alert);
///         Ok(Receipt::new("stdout"))
///     }
/// }
/// let _boxed: Box<dyn Notifier> = Box::new(Stdout);
/// ```
#[async_trait]
pub trait Notifier: Send + Sync + Debug {
    /// A short name for logs and receipts: the channel kind (`slack`) or the
    /// instance name given in config.
    fn name(&self) -> &str;

    /// Delivers one alert.
    async fn notify(&self, alert: &Alert) -> Result<Receipt>;

    /// Delivers a group of alerts as one message. The default sends a digest alert
    /// (see [`digest_alert`](crate::render::digest_alert)) through
    /// [`notify`](Notifier::notify); a group of one is sent as is.
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match alerts {
            [one] => self.notify(one).await,
            _ => self.notify(&digest_alert(alerts)).await,
        }
    }

    /// Delivers a new state of an alert already delivered as `previous` (resolution,
    /// severity change). Channels that can edit or thread override this; the default
    /// sends a new message.
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        let _ = previous;
        self.notify(alert).await
    }

    /// Waits until anything the channel buffered has been sent.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

macro_rules! forward_notifier {
    ($($ty:ty),*) => {$(
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<N: Notifier + ?Sized> Notifier for $ty {
            fn name(&self) -> &str {
                (**self).name()
            }
            async fn notify(&self, alert: &Alert) -> Result<Receipt> {
                (**self).notify(alert).await
            }
            async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
                (**self).notify_group(alerts).await
            }
            async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
                (**self).update(alert, previous).await
            }
            async fn flush(&self) -> Result<()> {
                (**self).flush().await
            }
        }
    )*};
}

forward_notifier!(Arc<N>, Box<N>, &N);

/// Middleware that wraps a notifier in another, tower style.
///
/// `alert-router` provides retry, timeout, rate-limit and concurrency-limit layers;
/// `Option<L>` is a layer that does nothing when `None`.
pub trait Layer<N> {
    /// The wrapped notifier.
    type Notifier;
    /// Wraps `inner`.
    fn layer(&self, inner: N) -> Self::Notifier;
}

impl<N, L: Layer<N>> Layer<N> for Option<L> {
    type Notifier = Either<L::Notifier, N>;
    fn layer(&self, inner: N) -> Self::Notifier {
        match self {
            Some(l) => Either::Left(l.layer(inner)),
            None => Either::Right(inner),
        }
    }
}

/// One of two notifiers, for layers that may or may not apply.
#[derive(Clone, Debug)]
pub enum Either<A, B> {
    /// The first.
    Left(A),
    /// The second.
    Right(B),
}

#[async_trait]
impl<A: Notifier, B: Notifier> Notifier for Either<A, B> {
    fn name(&self) -> &str {
        match self {
            Either::Left(a) => a.name(),
            Either::Right(b) => b.name(),
        }
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        match self {
            Either::Left(a) => a.notify(alert).await,
            Either::Right(b) => b.notify(alert).await,
        }
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match self {
            Either::Left(a) => a.notify_group(alerts).await,
            Either::Right(b) => b.notify_group(alerts).await,
        }
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        match self {
            Either::Left(a) => a.update(alert, previous).await,
            Either::Right(b) => b.update(alert, previous).await,
        }
    }
    async fn flush(&self) -> Result<()> {
        match self {
            Either::Left(a) => a.flush().await,
            Either::Right(b) => b.flush().await,
        }
    }
}

/// Conveniences for every [`Notifier`]. Implemented for every notifier through a
/// blanket impl; do not implement it yourself.
#[async_trait]
pub trait NotifierExt: Notifier + private::Sealed {
    /// The seed's one-liner: an `Info` alert with a title and a message.
    ///
    /// ```no_run
    /// # async fn run(notifier: impl alert_core::Notifier) -> alert_core::Result<()> {
    /// use alert_core::NotifierExt;
    /// notifier.notify_text("Training Complete", "Model version: 3").await?;
    /// # Ok(()) }
    /// ```
    async fn notify_text(&self, title: &str, message: &str) -> Result<Receipt> {
        let alert = Alert::new(Severity::Info, title)
            .with_summary(title)
            .with_message(message);
        self.notify(&alert).await
    }

    /// Boxes the notifier as a trait object.
    fn boxed(self) -> Box<dyn Notifier>
    where
        Self: Sized + 'static,
    {
        Box::new(self)
    }

    /// Puts the notifier in an `Arc` as a trait object.
    fn arced(self) -> Arc<dyn Notifier>
    where
        Self: Sized + 'static,
    {
        Arc::new(self)
    }

    /// Wraps the notifier in a layer.
    fn layer<L: Layer<Self>>(self, layer: L) -> L::Notifier
    where
        Self: Sized,
    {
        layer.layer(self)
    }

    /// Sends only the alerts for which `pred` holds; others are acknowledged with a
    /// receipt whose `meta["skipped"]` is `"filtered"`.
    ///
    /// ```
    /// use alert_core::{NotifierExt, Severity, ConsoleNotifier};
    /// let errors_only = ConsoleNotifier::stderr("app")
    ///     .filter(|a| a.severity >= Severity::Error);
    /// ```
    fn filter<F>(self, pred: F) -> Filter<Self, F>
    where
        Self: Sized,
        F: Fn(&Alert) -> bool + Send + Sync,
    {
        Filter { inner: self, pred }
    }
}

impl<N: Notifier + ?Sized> NotifierExt for N {}

mod private {
    pub trait Sealed {}
    impl<N: super::Notifier + ?Sized> Sealed for N {}
}

/// A notifier that sends only alerts matching a predicate; see [`NotifierExt::filter`].
pub struct Filter<N, F> {
    inner: N,
    pred: F,
}

impl<N: Debug, F> Debug for Filter<N, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<N, F> Notifier for Filter<N, F>
where
    N: Notifier,
    F: Fn(&Alert) -> bool + Send + Sync,
{
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        if (self.pred)(alert) {
            self.inner.notify(alert).await
        } else {
            Ok(Receipt::new(self.inner.name()).with_meta("skipped", "filtered"))
        }
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        let kept: Vec<Alert> = alerts.iter().filter(|a| (self.pred)(a)).cloned().collect();
        if kept.is_empty() {
            Ok(Receipt::new(self.inner.name()).with_meta("skipped", "filtered"))
        } else {
            self.inner.notify_group(&kept).await
        }
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        if (self.pred)(alert) {
            self.inner.update(alert, previous).await
        } else {
            Ok(Receipt::new(self.inner.name()).with_meta("skipped", "filtered"))
        }
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
}

// Compile-time checks that the trait stays dyn-compatible.
const _: fn() = || {
    fn assert_dyn(_: Box<dyn Notifier>) {}
    fn assert_arc(_: Arc<dyn Notifier>) {}
    let _ = assert_dyn;
    let _ = assert_arc;
};
