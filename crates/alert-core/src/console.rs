//! [`ConsoleNotifier`]: alerts as lines on a terminal or in a file.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::render::{group_header, sanitize};
use crate::{Alert, NotifyError, Receipt, Result};

/// How [`ConsoleNotifier`] writes an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConsoleFormat {
    /// `[app] title: message`, the seed's fallback line (message newlines become
    /// spaces, so one alert is one line).
    #[default]
    Line,
    /// `[app] CRITICAL firing AccuracyDrop fp=… title: message | k=v …`: the line
    /// with severity, status, name, fingerprint and labels.
    Detailed,
    /// One JSON object per line: the alert's own JSON plus `app` and `fingerprint`
    /// (feature `json`).
    #[cfg(feature = "json")]
    Json,
}

/// Writes alerts as lines to any writer: standard output, standard error, a file.
///
/// The fallback when no desktop is available, and the default channel of
/// `alerts serve`. Control characters in alert text are replaced, so an alert cannot
/// send escape sequences to the terminal.
///
/// ```
/// use alert_core::{ConsoleNotifier, NotifierExt};
/// # futures::executor::block_on(async {
/// let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let console = ConsoleNotifier::new("Bikes", SharedBuf(buf.clone()));
/// console.notify_text("Training Complete", "Model version: 3").await.unwrap();
/// assert_eq!(String::from_utf8(buf.lock().unwrap().clone()).unwrap(),
///            "[Bikes] Training Complete: Model version: 3\n");
/// # });
/// # struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
/// # impl std::io::Write for SharedBuf {
/// #   fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
/// #   fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// ```
pub struct ConsoleNotifier {
    app: String,
    format: ConsoleFormat,
    out: Mutex<Box<dyn Write + Send>>,
}

impl fmt::Debug for ConsoleNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleNotifier")
            .field("app", &self.app)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl ConsoleNotifier {
    /// Writes to `out`, prefixing lines with `[app]`.
    pub fn new(app: impl Into<String>, out: impl Write + Send + 'static) -> ConsoleNotifier {
        ConsoleNotifier {
            app: app.into(),
            format: ConsoleFormat::Line,
            out: Mutex::new(Box::new(out)),
        }
    }

    /// Writes to standard output.
    pub fn stdout(app: impl Into<String>) -> ConsoleNotifier {
        ConsoleNotifier::new(app, io::stdout())
    }

    /// Writes to standard error.
    pub fn stderr(app: impl Into<String>) -> ConsoleNotifier {
        ConsoleNotifier::new(app, io::stderr())
    }

    /// Sets the line format.
    pub fn with_format(mut self, format: ConsoleFormat) -> ConsoleNotifier {
        self.format = format;
        self
    }

    /// The line for one alert, without the trailing newline.
    pub fn line(&self, alert: &Alert) -> String {
        let one_line = |s: &str| sanitize(s).replace(['\n', '\r'], " ");
        let app = one_line(&self.app);
        match self.format {
            ConsoleFormat::Line => {
                let msg = one_line(alert.message.trim());
                if msg.is_empty() {
                    format!("[{app}] {}", one_line(alert.title()))
                } else {
                    format!("[{app}] {}: {msg}", one_line(alert.title()))
                }
            }
            ConsoleFormat::Detailed => {
                let mut s = format!(
                    "[{app}] {} {} {} fp={} {}",
                    alert.severity.marker(),
                    alert.status,
                    one_line(&alert.name),
                    alert.fingerprint(),
                    one_line(alert.title()),
                );
                let msg = one_line(alert.message.trim());
                if !msg.is_empty() {
                    s.push_str(": ");
                    s.push_str(&msg);
                }
                if !alert.labels.is_empty() {
                    s.push_str(" |");
                    for (k, v) in &alert.labels {
                        s.push_str(&format!(" {}={}", one_line(k), one_line(v)));
                    }
                }
                s
            }
            #[cfg(feature = "json")]
            ConsoleFormat::Json => {
                let mut v = serde_json::to_value(alert).unwrap_or(serde_json::Value::Null);
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("app".into(), self.app.clone().into());
                    obj.insert("fingerprint".into(), alert.fingerprint().to_string().into());
                }
                v.to_string()
            }
        }
    }

    fn write_lines(&self, lines: &[String]) -> Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| NotifyError::transport_msg("console", "output lock poisoned"))?;
        for l in lines {
            writeln!(out, "{l}").map_err(|e| NotifyError::transport("console", e))?;
        }
        out.flush()
            .map_err(|e| NotifyError::transport("console", e))
    }
}

#[async_trait]
impl crate::Notifier for ConsoleNotifier {
    fn name(&self) -> &str {
        "console"
    }

    async fn notify(&self, alert: &Alert) -> Result<Receipt> {
        self.write_lines(&[self.line(alert)])?;
        Ok(Receipt::new("console"))
    }

    /// Writes the group header (in `Line` format) and one line per alert.
    async fn notify_group(&self, alerts: &[Alert]) -> Result<Receipt> {
        let mut lines = Vec::with_capacity(alerts.len() + 1);
        if alerts.len() > 1 && self.format == ConsoleFormat::Line {
            lines.push(format!(
                "[{}] {}",
                sanitize(&self.app).replace('\n', " "),
                group_header(alerts)
            ));
        }
        lines.extend(
            crate::render::digest_order(alerts)
                .into_iter()
                .map(|a| self.line(a)),
        );
        self.write_lines(&lines)?;
        Ok(Receipt::new("console"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Notifier, Severity};
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn line_format_is_the_seed_format_on_one_line() {
        let buf = Buf::default();
        let c = ConsoleNotifier::new("Bikes", buf.clone());
        let a = Alert::new(Severity::Error, "TrainingFailed")
            .with_summary("Training failed")
            .with_message("OOM\nat epoch 3\u{1b}[31m");
        futures::executor::block_on(c.notify(&a)).unwrap();
        assert_eq!(
            buf.text(),
            "[Bikes] Training failed: OOM at epoch 3\u{fffd}[31m\n"
        );
    }

    #[test]
    fn detailed_and_group() {
        let buf = Buf::default();
        let c = ConsoleNotifier::new("svc", buf.clone()).with_format(ConsoleFormat::Detailed);
        let a = Alert::new(Severity::Critical, "ModelDown").with_label("model", "bikes");
        let b = Alert::new(Severity::Warning, "Drift");
        futures::executor::block_on(c.notify_group(&[b, a.clone()])).unwrap();
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            format!(
                "[svc] CRITICAL firing ModelDown fp={} ModelDown | model=bikes",
                a.fingerprint()
            )
        );
        assert!(lines[1].starts_with("[svc] WARNING firing Drift"));
    }

    #[test]
    fn write_failure_is_a_transport_error() {
        let c = ConsoleNotifier::new("x", Broken);
        let e =
            futures::executor::block_on(c.notify(&Alert::new(Severity::Info, "a"))).unwrap_err();
        assert_eq!(e.kind(), "transport");
        assert!(e.to_string().contains("pipe closed"));
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_lines() {
        let buf = Buf::default();
        let c = ConsoleNotifier::new("svc", buf.clone()).with_format(ConsoleFormat::Json);
        let a = Alert::new(Severity::Info, "Done").with_message("ok");
        futures::executor::block_on(c.notify(&a)).unwrap();
        let v: serde_json::Value = serde_json::from_str(buf.text().trim()).unwrap();
        assert_eq!(v["app"], "svc");
        assert_eq!(v["name"], "Done");
        assert_eq!(v["fingerprint"], a.fingerprint().to_string());
    }
}
