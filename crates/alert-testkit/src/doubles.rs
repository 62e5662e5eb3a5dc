//! Test notifiers: [`MemoryNotifier`] records, [`ScriptedNotifier`] fails on cue,
//! [`NoopNotifier`] does nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_core::{Alert, Notifier, NotifyError, Receipt, Result, async_trait};
use tokio::sync::Notify;

/// What a [`MemoryNotifier`] saw, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    /// `notify(alert)`.
    Notify(Alert),
    /// `notify_group(alerts)`.
    Group(Vec<Alert>),
    /// `update(alert, previous)`.
    Update(Alert, Receipt),
}

impl Call {
    /// The alerts in the call.
    pub fn alerts(&self) -> &[Alert] {
        match self {
            Call::Notify(a) | Call::Update(a, _) => std::slice::from_ref(a),
            Call::Group(v) => v,
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    calls: Mutex<Vec<Call>>,
    changed: Notify,
}

/// Records every call for assertions. Clones share the same record, so keep one
/// clone in the test and hand the other to the code under test.
///
/// Receipts carry ids `"1"`, `"2"`, ... in call order.
///
/// ```
/// use alert_core::{Alert, Notifier, Severity};
/// use alert_testkit::MemoryNotifier;
/// # tokio_test_block_on(async {
/// let mem = MemoryNotifier::new("mem");
/// mem.notify(&Alert::new(Severity::Info, "Done")).await.unwrap();
/// assert_eq!(mem.alerts()[0].name, "Done");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output { futures::executor::block_on(f) }
/// ```
#[derive(Clone, Debug)]
pub struct MemoryNotifier {
    name: String,
    shared: Arc<Shared>,
}

impl MemoryNotifier {
    /// A recorder called `name`.
    pub fn new(name: impl Into<String>) -> MemoryNotifier {
        MemoryNotifier {
            name: name.into(),
            shared: Arc::default(),
        }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().expect("poisoned").clone()
    }

    /// Every alert delivered so far, flattened over calls.
    pub fn alerts(&self) -> Vec<Alert> {
        self.calls()
            .iter()
            .flat_map(|c| c.alerts().to_vec())
            .collect()
    }

    /// How many calls were made.
    pub fn len(&self) -> usize {
        self.shared.calls.lock().expect("poisoned").len()
    }

    /// Whether no call was made.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        self.shared.calls.lock().expect("poisoned").clear();
    }

    /// Waits until at least `n` calls were made, or `timeout` passes; returns the
    /// calls either way (assert on them).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if self.len() >= n {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        self.calls()
    }

    fn record(&self, call: Call) -> Receipt {
        let id = {
            let mut calls = self.shared.calls.lock().expect("poisoned");
            calls.push(call);
            calls.len()
        };
        self.shared.changed.notify_waiters();
        Receipt::new(self.name.clone()).with_id(id.to_string())
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    fn name(&self) -> &str {
        &self.name
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        Ok(self.record(Call::Notify(alert.clone())))
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        Ok(self.record(Call::Group(alerts.to_vec())))
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        Ok(self.record(Call::Update(alert.clone(), previous.clone())))
    }
}

/// One step of a [`ScriptedNotifier`]'s script.
#[derive(Debug)]
pub enum Step {
    /// Fail the call with this error.
    Fail(NotifyError),
    /// Wait this long, then succeed.
    Delay(Duration),
    /// Wait this long, then fail with this error.
    DelayThenFail(Duration, NotifyError),
    /// Succeed.
    Ok,
}

impl Step {
    /// Fails with `err`.
    pub fn fail(err: NotifyError) -> Step {
        Step::Fail(err)
    }
}

/// Plays a script of failures and delays, one step per call, then succeeds (recording
/// what it delivered, like [`MemoryNotifier`]).
///
/// Use it to exercise retry, timeout and circuit-breaker layers.
///
/// ```
/// use alert_core::{Alert, Notifier, NotifyError, Severity};
/// use alert_testkit::{ScriptedNotifier, Step};
/// use std::time::Duration;
/// # futures::executor::block_on(async {
/// let n = ScriptedNotifier::new("flaky", vec![
///     Step::fail(NotifyError::RateLimited { channel: "flaky", retry_after: Some(Duration::from_secs(1)) }),
/// ]);
/// let a = Alert::new(Severity::Info, "x");
/// assert!(n.notify(&a).await.is_err());
/// assert!(n.notify(&a).await.is_ok());
/// assert_eq!(n.attempts(), 2);
/// # });
/// ```
#[derive(Debug)]
pub struct ScriptedNotifier {
    script: Mutex<VecDeque<Step>>,
    attempts: std::sync::atomic::AtomicUsize,
    delivered: MemoryNotifier,
}

impl ScriptedNotifier {
    /// A notifier called `name` that plays `script`.
    pub fn new(name: impl Into<String>, script: Vec<Step>) -> ScriptedNotifier {
        ScriptedNotifier {
            script: Mutex::new(script.into()),
            attempts: Default::default(),
            delivered: MemoryNotifier::new(name),
        }
    }

    /// Appends steps to the script.
    pub fn push(&self, step: Step) {
        self.script.lock().expect("poisoned").push_back(step);
    }

    /// How many calls were made (failed or not).
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The record of successful deliveries.
    pub fn delivered(&self) -> &MemoryNotifier {
        &self.delivered
    }

    async fn play(&self) -> Result<()> {
        self.attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let step = self.script.lock().expect("poisoned").pop_front();
        match step {
            None | Some(Step::Ok) => Ok(()),
            Some(Step::Fail(e)) => Err(e),
            Some(Step::Delay(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
            Some(Step::DelayThenFail(d, e)) => {
                tokio::time::sleep(d).await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Notifier for ScriptedNotifier {
    fn name(&self) -> &str {
        self.delivered.name()
    }
    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.play().await?;
        self.delivered.notify(alert).await
    }
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        self.play().await?;
        self.delivered.notify_group(alerts).await
    }
    async fn update(&self, alert: &Alert, previous: &Receipt) -> Result<Receipt> {
        self.play().await?;
        self.delivered.update(alert, previous).await
    }
}

/// Accepts everything and does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopNotifier;

#[async_trait]
impl Notifier for NoopNotifier {
    fn name(&self) -> &str {
        "noop"
    }
    async fn notify(&self, _alert: &Alert) -> Result<Receipt> {
        Ok(Receipt::new("noop"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert_core::Severity;

    #[tokio::test]
    async fn memory_waits_for_calls() {
        let mem = MemoryNotifier::new("m");
        let m2 = mem.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            m2.notify(&Alert::new(Severity::Info, "a")).await.unwrap();
            m2.notify_group(&[
                Alert::new(Severity::Info, "b"),
                Alert::new(Severity::Info, "c"),
            ])
            .await
            .unwrap();
        });
        let calls = mem.wait_for(2, Duration::from_secs(5)).await;
        assert_eq!(calls.len(), 2);
        assert_eq!(mem.alerts().len(), 3);
        let r = mem
            .update(
                &Alert::new(Severity::Info, "a"),
                &Receipt::new("m").with_id("1"),
            )
            .await
            .unwrap();
        assert_eq!(r.id.as_deref(), Some("3"));
    }

    #[tokio::test(start_paused = true)]
    async fn scripted_plays_in_order() {
        let n = ScriptedNotifier::new(
            "s",
            vec![
                Step::fail(NotifyError::Timeout {
                    channel: "s",
                    after: Duration::from_secs(1),
                }),
                Step::Delay(Duration::from_secs(10)),
            ],
        );
        let a = Alert::new(Severity::Info, "x");
        assert_eq!(n.notify(&a).await.unwrap_err().kind(), "timeout");
        let t0 = tokio::time::Instant::now();
        n.notify(&a).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
        n.notify(&a).await.unwrap();
        assert_eq!(n.attempts(), 3);
        assert_eq!(n.delivered().len(), 2);
    }
}
