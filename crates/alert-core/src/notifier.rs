//! The [`Notifier`] trait every channel implements, its [`Receipt`], the [`Layer`]
//! trait for middleware, and the [`NotifierExt`] conveniences.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::sync::Arc;

use async_trait::async_trait;

use crate::render::digest_alert;
use crate::{Alert, Result, Severity};

/// The receipt meta `skipped` of [`Notifier::notify_group`] given an empty group:
/// nothing was sent.
pub const EMPTY_GROUP: &str = "empty group";

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
    /// [`notify`](Notifier::notify); a group of one is sent as is. An empty group
    /// sends nothing and succeeds with a receipt whose meta `skipped` is
    /// `empty group` ([`EMPTY_GROUP`]): every channel of the workspace does the same,
    /// and the conformance suite checks it.
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        match alerts {
            [] => Ok(Receipt::new(self.name()).with_meta("skipped", EMPTY_GROUP)),
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;

    use super::*;
    use crate::NotifyError;

    /// What a [`Recorder`] saw, by method.
    #[derive(Debug, Default, PartialEq)]
    struct Calls {
        notify: Vec<String>,
        group: Vec<Vec<String>>,
        update: Vec<(String, Option<String>)>,
        flush: usize,
    }

    /// A notifier that overrides every method, so forwarding to a default is visible.
    #[derive(Debug)]
    struct Recorder {
        name: String,
        calls: Mutex<Calls>,
    }

    impl Recorder {
        fn new(name: &str) -> Recorder {
            Recorder {
                name: name.to_owned(),
                calls: Mutex::new(Calls::default()),
            }
        }
        fn take(&self) -> Calls {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }
    }

    #[async_trait]
    impl Notifier for Recorder {
        fn name(&self) -> &str {
            &self.name
        }
        async fn notify(&self, alert: &Alert) -> Result<Receipt> {
            self.calls.lock().unwrap().notify.push(alert.name.clone());
            Ok(Receipt::new(&self.name).with_id(format!("n:{}", alert.name)))
        }
        async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
            let names: Vec<String> = alerts.iter().map(|a| a.name.clone()).collect();
            let id = format!("g:{}", names.join(","));
            self.calls.lock().unwrap().group.push(names);
            Ok(Receipt::new(&self.name).with_id(id))
        }
        async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
            self.calls
                .lock()
                .unwrap()
                .update
                .push((alert.name.clone(), previous.id.clone()));
            Ok(Receipt::new(&self.name).with_id(format!("u:{}", alert.name)))
        }
        async fn flush(&self) -> Result<()> {
            self.calls.lock().unwrap().flush += 1;
            Ok(())
        }
    }

    fn alert(name: &str, severity: Severity) -> Alert {
        Alert::new(severity, name)
    }

    /// Checks `n` has the recorder's name, then [`assert_forwards_calls`].
    fn assert_forwards_everything(n: &dyn Notifier, rec: &Recorder) {
        assert_eq!(n.name(), rec.name);
        assert_forwards_calls(n, rec);
    }

    /// Exercises all four methods through `n` and checks each reached the recorder.
    fn assert_forwards_calls(n: &dyn Notifier, rec: &Recorder) {
        let a = alert("A", Severity::Error);
        let b = alert("B", Severity::Info);
        let prev = Receipt::new(&rec.name).with_id("first");
        let r = block_on(n.notify(&a)).unwrap();
        assert_eq!(r.id.as_deref(), Some("n:A"));
        let r = block_on(n.notify_group(&[a.clone(), b])).unwrap();
        assert_eq!(r.id.as_deref(), Some("g:A,B"));
        let r = block_on(n.update(&a, &prev)).unwrap();
        assert_eq!(r.id.as_deref(), Some("u:A"));
        block_on(n.flush()).unwrap();
        assert_eq!(
            rec.take(),
            Calls {
                notify: vec!["A".into()],
                group: vec![vec!["A".into(), "B".into()]],
                update: vec![("A".into(), Some("first".into()))],
                flush: 1,
            }
        );
    }

    /// A `Recorder` shared between the test and the notifier under test.
    #[derive(Debug, Clone)]
    struct Shared(Arc<Recorder>);

    #[async_trait]
    impl Notifier for Shared {
        fn name(&self) -> &str {
            self.0.name()
        }
        async fn notify(&self, alert: &Alert) -> Result<Receipt> {
            self.0.notify(alert).await
        }
        async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
            self.0.notify_group(alerts).await
        }
        async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
            self.0.update(alert, previous).await
        }
        async fn flush(&self) -> Result<()> {
            self.0.flush().await
        }
    }

    fn shared(name: &str) -> (Shared, Arc<Recorder>) {
        let rec = Arc::new(Recorder::new(name));
        (Shared(rec.clone()), rec)
    }

    #[test]
    fn boxed_forwards_every_method() {
        let (n, rec) = shared("boxed");
        let boxed: Box<dyn Notifier> = n.boxed();
        assert_forwards_everything(&boxed, &rec);
        // And through the `Box<N>` forwarding impl itself.
        assert_forwards_everything(&&boxed, &rec);
    }

    #[test]
    fn arced_forwards_every_method_and_shares_the_notifier() {
        let (n, rec) = shared("arced");
        let arced: Arc<dyn Notifier> = n.arced();
        let clone = Arc::clone(&arced);
        assert_forwards_everything(&arced, &rec);
        assert_forwards_everything(&clone, &rec);
    }

    #[test]
    fn notify_text_sends_an_info_alert_with_title_and_message() {
        #[derive(Debug, Default)]
        struct Keep(Mutex<Vec<Alert>>);
        #[async_trait]
        impl Notifier for Keep {
            fn name(&self) -> &str {
                "keep"
            }
            async fn notify(&self, alert: &Alert) -> Result<Receipt> {
                self.0.lock().unwrap().push(alert.clone());
                Ok(Receipt::new("keep"))
            }
        }
        let k = Keep::default();
        block_on(k.notify_text("Training Complete", "Model version: 3")).unwrap();
        let sent = k.0.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].severity, Severity::Info);
        assert_eq!(sent[0].name, "Training Complete");
        assert_eq!(sent[0].title(), "Training Complete");
        assert_eq!(sent[0].message, "Model version: 3");
    }

    #[test]
    fn default_group_sends_one_as_is_many_as_a_digest_and_refuses_none() {
        #[derive(Debug)]
        struct Keep {
            name: String,
            sent: Mutex<Vec<Alert>>,
        }
        #[async_trait]
        impl Notifier for Keep {
            fn name(&self) -> &str {
                &self.name
            }
            async fn notify(&self, alert: &Alert) -> Result<Receipt> {
                self.sent.lock().unwrap().push(alert.clone());
                Ok(Receipt::new("keep"))
            }
        }
        let k = Keep {
            name: format!("keep-{}", "runtime-name"),
            sent: Mutex::new(Vec::new()),
        };
        let r = block_on(k.notify_group(&[])).expect("an empty group is skipped");
        assert_eq!(r.channel, "keep-runtime-name");
        assert_eq!(r.meta("skipped"), Some(EMPTY_GROUP));
        assert_eq!(r.id, None);
        assert!(k.sent.lock().unwrap().is_empty(), "nothing was sent");

        let one = alert("Solo", Severity::Warning);
        block_on(k.notify_group(std::slice::from_ref(&one))).unwrap();
        block_on(k.notify_group(&[alert("A", Severity::Info), alert("B", Severity::Error)]))
            .unwrap();
        let sent = k.sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0], one);
        assert_eq!(sent[1].name, "digest");
        assert_eq!(sent[1].severity, Severity::Error);
    }

    /// A layer that prefixes the name and tags receipts, so nesting order is visible.
    #[derive(Debug, Clone)]
    struct Tag(&'static str);

    #[derive(Debug)]
    struct Tagged<N> {
        tag: &'static str,
        name: String,
        inner: N,
    }

    impl<N: Notifier> Layer<N> for Tag {
        type Notifier = Tagged<N>;
        fn layer(&self, inner: N) -> Tagged<N> {
            Tagged {
                tag: self.0,
                name: format!("{}({})", self.0, inner.name()),
                inner,
            }
        }
    }

    impl<N> Tagged<N> {
        fn mark(&self, r: Result<Receipt>) -> Result<Receipt> {
            r.map(|mut r| {
                let path = match r.meta("path") {
                    Some(p) => format!("{}>{p}", self.tag),
                    None => self.tag.to_owned(),
                };
                r.meta.insert("path".into(), path);
                r
            })
        }
    }

    #[async_trait]
    impl<N: Notifier> Notifier for Tagged<N> {
        fn name(&self) -> &str {
            &self.name
        }
        async fn notify(&self, alert: &Alert) -> Result<Receipt> {
            self.mark(self.inner.notify(alert).await)
        }
        async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
            self.mark(self.inner.notify_group(alerts).await)
        }
        async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
            self.mark(self.inner.update(alert, previous).await)
        }
        async fn flush(&self) -> Result<()> {
            self.inner.flush().await
        }
    }

    #[test]
    fn layer_wraps_and_the_last_layer_applied_is_outermost() {
        let (n, rec) = shared("ch");
        let layered = n.layer(Tag("inner")).layer(Tag("outer"));
        assert_eq!(layered.name(), "outer(inner(ch))");
        let r = block_on(layered.notify(&alert("A", Severity::Error))).unwrap();
        assert_eq!(r.meta("path"), Some("outer>inner"));
        assert_eq!(r.id.as_deref(), Some("n:A"));
        let r = block_on(layered.notify_group(&[alert("A", Severity::Error)])).unwrap();
        assert_eq!(r.meta("path"), Some("outer>inner"));
        assert_eq!(rec.take().group, vec![vec!["A".to_owned()]]);
    }

    #[test]
    fn some_layer_applies_and_none_passes_straight_through() {
        let (n, rec) = shared("ch");
        let on: Either<Tagged<Shared>, Shared> = n.clone().layer(Some(Tag("t")));
        assert!(matches!(on, Either::Left(_)));
        assert_eq!(on.name(), "t(ch)");
        let r = block_on(on.notify(&alert("A", Severity::Error))).unwrap();
        assert_eq!(r.meta("path"), Some("t"));
        rec.take();

        let off: Either<Tagged<Shared>, Shared> = n.layer(None::<Tag>);
        assert!(matches!(off, Either::Right(_)));
        assert_eq!(off.name(), "ch");
        let r = block_on(off.notify(&alert("A", Severity::Error))).unwrap();
        assert_eq!(r.meta("path"), None, "no layer ran");
        rec.take();

        // Either forwards every method on both arms (the layer renames its arm).
        assert_forwards_calls(&on, &rec);
        assert_forwards_everything(&off, &rec);
    }

    #[test]
    fn either_forwards_errors_from_the_active_arm() {
        #[derive(Debug)]
        struct Fails;
        #[async_trait]
        impl Notifier for Fails {
            fn name(&self) -> &str {
                "fails"
            }
            async fn notify(&self, _: &Alert) -> Result<Receipt> {
                Err(NotifyError::Rejected {
                    channel: "fails",
                    status: Some(400),
                    message: "no".into(),
                })
            }
        }
        let (n, _rec) = shared("ok");
        let left: Either<Fails, Shared> = Either::Left(Fails);
        let right: Either<Fails, Shared> = Either::Right(n);
        let a = alert("A", Severity::Error);
        assert!(block_on(left.notify(&a)).is_err());
        assert!(block_on(right.notify(&a)).is_ok());
    }

    fn errors_only(n: Shared) -> Filter<Shared, impl Fn(&Alert) -> bool + Send + Sync> {
        n.filter(|a| a.severity >= Severity::Error)
    }

    #[test]
    fn filter_sends_matching_alerts_and_marks_the_rest_skipped() {
        let (n, rec) = shared("ch");
        let f = errors_only(n);
        assert_eq!(f.name(), "ch");

        let r = block_on(f.notify(&alert("Bad", Severity::Critical))).unwrap();
        assert_eq!(r.id.as_deref(), Some("n:Bad"));
        assert_eq!(r.meta("skipped"), None);

        let r = block_on(f.notify(&alert("Meh", Severity::Info))).unwrap();
        assert_eq!(r.channel, "ch");
        assert_eq!(r.id, None);
        assert_eq!(r.meta("skipped"), Some("filtered"));

        assert_eq!(rec.take().notify, vec!["Bad".to_owned()]);
    }

    #[test]
    fn filter_applies_to_updates_and_forwards_flush() {
        let (n, rec) = shared("ch");
        let f = errors_only(n);
        let prev = Receipt::new("ch").with_id("m1");
        let r = block_on(f.update(&alert("Bad", Severity::Error), &prev)).unwrap();
        assert_eq!(r.id.as_deref(), Some("u:Bad"));
        let r = block_on(f.update(&alert("Meh", Severity::Warning), &prev)).unwrap();
        assert_eq!(r.meta("skipped"), Some("filtered"));
        block_on(f.flush()).unwrap();
        let calls = rec.take();
        assert_eq!(
            calls.update,
            vec![("Bad".to_owned(), Some("m1".to_owned()))]
        );
        assert_eq!(calls.flush, 1);
    }

    #[test]
    fn filter_sends_only_the_matching_part_of_a_group() {
        let (n, rec) = shared("ch");
        let f = errors_only(n);
        let group = [
            alert("A", Severity::Info),
            alert("B", Severity::Error),
            alert("C", Severity::Warning),
            alert("D", Severity::Critical),
        ];
        let r = block_on(f.notify_group(&group)).unwrap();
        assert_eq!(r.id.as_deref(), Some("g:B,D"));
        assert_eq!(r.meta("skipped"), None);
        assert_eq!(rec.take().group, vec![vec!["B".to_owned(), "D".to_owned()]]);

        let quiet = [alert("A", Severity::Info), alert("C", Severity::Warning)];
        let r = block_on(f.notify_group(&quiet)).unwrap();
        assert_eq!(r.channel, "ch");
        assert_eq!(r.meta("skipped"), Some("filtered"));
        assert_eq!(rec.take(), Calls::default(), "nothing reached the channel");
    }

    #[test]
    fn filter_debug_shows_the_inner_notifier() {
        let (n, _rec) = shared("inner-name");
        let f = errors_only(n);
        let s = format!("{f:?}");
        assert!(s.starts_with("Filter"), "{s}");
        assert!(s.contains("inner-name"), "{s}");
    }
}
