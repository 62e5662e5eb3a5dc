//! ML metrics to Datadog: `POST /api/v2/series`, gzip-compressed, split to Datadog's
//! size limits.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::io::Write as _;
use std::time::Duration;

use alert_core::{BuildError, NotifyError, Retry, Timestamp};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::DatadogConfig;
use crate::payload::error_messages;
use crate::tags::{normalize_metric_name, normalize_raw_tag, normalize_tag};
use crate::transport::{CHANNEL, Transport, classify};

/// The series endpoint.
pub(crate) const SERIES_PATH: &str = "/api/v2/series";

/// Datadog's limit on a series request body as sent (compressed), in bytes:
/// "The maximum payload size is 500 kilobytes (512000 bytes)".
pub const MAX_COMPRESSED_BYTES: usize = 512_000;

/// Datadog's limit on a compressed body once decompressed: "Compressed payloads must
/// have a decompressed size of less than 5 megabytes (5242880 bytes)". Bodies are kept
/// strictly below it.
pub const MAX_DECOMPRESSED_BYTES: usize = 5_242_880;

/// `{"series":[` and `]}` around the series.
const ENVELOPE: usize = r#"{"series":[]}"#.len();

/// The kind of a metric, sent as Datadog's `type` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricKind {
    /// `0`: unspecified.
    #[default]
    Unspecified,
    /// `1`: a count over an interval (number of predictions, of errors).
    Count,
    /// `2`: a rate per second over an interval.
    Rate,
    /// `3`: a gauge, the value at a point in time (accuracy, drift score).
    Gauge,
}

impl MetricKind {
    /// The number Datadog expects.
    pub const fn code(self) -> u8 {
        match self {
            MetricKind::Unspecified => 0,
            MetricKind::Count => 1,
            MetricKind::Rate => 2,
            MetricKind::Gauge => 3,
        }
    }
}

/// One point of a series: POSIX seconds and a value.
///
/// Datadog accepts points up to 10 minutes in the future and 1 hour in the past.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// POSIX seconds.
    pub timestamp: i64,
    /// The value; NaN and infinities cannot be sent and are skipped.
    pub value: f64,
}

/// A metric series to submit: a name, a kind, points and tags.
///
/// ```
/// use alert_datadog::Series;
/// use std::time::Duration;
/// let acc = Series::gauge("ml.accuracy", 0.93).with_tag("model", "bikes");
/// let errs = Series::count("ml.prediction_errors", 12.0, Duration::from_secs(60))
///     .with_tag("model", "bikes");
/// assert_eq!(acc.tags, ["model:bikes"]);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The metric name (normalised on submission: see [`normalize_metric_name`]).
    pub metric: String,
    /// The kind.
    pub kind: MetricKind,
    /// The points.
    pub points: Vec<Point>,
    /// `key:value` tags (normalised on submission).
    pub tags: Vec<String>,
    /// The unit (`percent`, `second`, ...), when there is one.
    pub unit: Option<String>,
    /// For counts and rates: the interval the value covers, in seconds.
    pub interval: Option<i64>,
    /// The host the series is about (sent as a `host` resource); defaults to the
    /// configuration's `host`.
    pub host: Option<String>,
}

impl Series {
    /// A series with no points yet.
    pub fn new(metric: impl Into<String>, kind: MetricKind) -> Series {
        Series {
            metric: metric.into(),
            kind,
            points: Vec::new(),
            tags: Vec::new(),
            unit: None,
            interval: None,
            host: None,
        }
    }

    /// A gauge with one point now.
    pub fn gauge(metric: impl Into<String>, value: f64) -> Series {
        Series::new(metric, MetricKind::Gauge).with_point(Timestamp::now(), value)
    }

    /// A count of `value` over `interval`, with one point now.
    pub fn count(metric: impl Into<String>, value: f64, interval: Duration) -> Series {
        Series::new(metric, MetricKind::Count)
            .with_interval(interval)
            .with_point(Timestamp::now(), value)
    }

    /// A rate (per second) over `interval`, with one point now.
    pub fn rate(metric: impl Into<String>, value: f64, interval: Duration) -> Series {
        Series::new(metric, MetricKind::Rate)
            .with_interval(interval)
            .with_point(Timestamp::now(), value)
    }

    /// Adds a point.
    pub fn with_point(mut self, at: Timestamp, value: f64) -> Series {
        self.points.push(Point {
            timestamp: at.unix_seconds(),
            value,
        });
        self
    }

    /// Moves every point to `at` (for a series built with one point "now").
    pub fn at(mut self, at: Timestamp) -> Series {
        for p in &mut self.points {
            p.timestamp = at.unix_seconds();
        }
        self
    }

    /// Adds a `key:value` tag, normalised with [`normalize_tag`].
    pub fn with_tag(mut self, key: &str, value: &str) -> Series {
        self.tags.push(normalize_tag(key, value));
        self
    }

    /// Adds a tag written as `key:value`.
    pub fn with_raw_tag(mut self, tag: impl Into<String>) -> Series {
        self.tags.push(tag.into());
        self
    }

    /// Sets the unit.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Series {
        self.unit = Some(unit.into());
        self
    }

    /// Sets the interval (counts and rates), in whole seconds.
    pub fn with_interval(mut self, interval: Duration) -> Series {
        self.interval = Some(i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1));
        self
    }

    /// Sets the host.
    pub fn with_host(mut self, host: impl Into<String>) -> Series {
        self.host = Some(host.into());
        self
    }
}

#[derive(Serialize)]
struct Resource<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct SeriesWire<'a> {
    metric: &'a str,
    #[serde(rename = "type")]
    kind: u8,
    points: &'a [Point],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource<'a>>,
}

fn encode_series(s: &Series) -> Vec<u8> {
    let wire = SeriesWire {
        metric: &s.metric,
        kind: s.kind.code(),
        points: &s.points,
        tags: &s.tags,
        unit: s.unit.as_deref(),
        interval: s.interval,
        resources: s
            .host
            .as_deref()
            .map(|h| {
                vec![Resource {
                    name: h,
                    kind: "host",
                }]
            })
            .unwrap_or_default(),
    };
    // Only strings, integers and finite floats: serialising cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

fn gzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(raw.len() / 4 + 64),
        Compression::default(),
    );
    enc.write_all(raw)?;
    enc.finish()
}

/// One request body ready to send: gzip-compressed JSON and the series in it.
#[derive(Clone, Debug)]
pub struct EncodedBatch {
    body: Vec<u8>,
    decompressed_len: usize,
    series: Vec<Series>,
}

impl EncodedBatch {
    /// The gzip body's size, at most [`MAX_COMPRESSED_BYTES`].
    pub fn compressed_len(&self) -> usize {
        self.body.len()
    }
    /// The JSON size, below [`MAX_DECOMPRESSED_BYTES`].
    pub fn decompressed_len(&self) -> usize {
        self.decompressed_len
    }
    /// The series in the request (after normalisation).
    pub fn series(&self) -> &[Series] {
        &self.series
    }
    /// The gzip body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What a submission sent.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsReport {
    /// Requests accepted (202).
    pub requests: usize,
    /// Series entries sent (a series split by points counts once per part).
    pub series: usize,
    /// Points sent.
    pub points: usize,
    /// Compressed bytes sent.
    pub compressed_bytes: usize,
    /// Non-finite points left out.
    pub skipped_points: usize,
    /// Requests split again after Datadog answered 413.
    pub resplits: usize,
    /// What Datadog or the client had to say (errors listed in a 202 answer, series
    /// left out because none of their points could be sent).
    pub warnings: Vec<String>,
}

/// A submission that stopped: the error, what was sent before it, and every series
/// not sent (retry those alone).
#[non_exhaustive]
#[derive(Debug)]
pub struct MetricsError {
    /// Why it stopped (classified like every channel error).
    pub error: NotifyError,
    /// What was sent before the error.
    pub report: MetricsReport,
    /// The series not sent, including the failed request's, normalised; as given
    /// when a metric name had no letter (then nothing was sent).
    pub unsent: Vec<Series>,
}

impl MetricsError {
    /// Whether to retry the unsent series, and when.
    pub fn retryable(&self) -> Retry {
        self.error.retryable()
    }
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} series unsent; {} sent in {} requests)",
            self.error,
            self.unsent.len(),
            self.report.series,
            self.report.requests
        )
    }
}

impl std::error::Error for MetricsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Submits ML metrics (accuracy, drift scores, error rates) to Datadog with
/// `POST /api/v2/series`, so what conditions alert on can be graphed next to the
/// alerts.
///
/// Bodies are gzip-compressed and kept within Datadog's limits: at most
/// [`MAX_COMPRESSED_BYTES`] as sent and below [`MAX_DECOMPRESSED_BYTES`] once
/// decompressed. Larger submissions are split into several requests (by series, and
/// a series with many points by points); if Datadog still answers 413, that request
/// is split again. Metric submission is not rate limited by Datadog.
///
/// ```no_run
/// use alert_datadog::{DatadogConfig, DatadogMetrics, Series};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = DatadogMetrics::new(&DatadogConfig::from_env()?)?;
/// let report = metrics
///     .submit(vec![
///         Series::gauge("ml.accuracy", 0.91).with_tag("model", "bikes"),
///         Series::gauge("ml.drift.psi", 0.31).with_tag("feature", "age"),
///     ])
///     .await?;
/// assert_eq!(report.series, 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DatadogMetrics {
    transport: Transport,
    tags: Vec<String>,
    host: Option<String>,
    max_compressed: usize,
    max_decompressed: usize,
}

impl DatadogMetrics {
    /// Validates `config` and builds the HTTP client. The configuration's `host` and
    /// `tags` are added to every series.
    pub fn new(config: &DatadogConfig) -> Result<DatadogMetrics, BuildError> {
        let transport = Transport::new(config)?;
        let tags = config.normalized_tags()?;
        Ok(DatadogMetrics::from_parts(
            transport,
            tags,
            config.host.clone(),
        ))
    }

    pub(crate) fn from_parts(
        transport: Transport,
        tags: Vec<String>,
        host: Option<String>,
    ) -> DatadogMetrics {
        DatadogMetrics {
            transport,
            tags,
            host: host.map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()),
            max_compressed: MAX_COMPRESSED_BYTES,
            max_decompressed: MAX_DECOMPRESSED_BYTES,
        }
    }

    /// Uses `client` for every request.
    pub fn with_http_client(mut self, client: reqwest::Client) -> DatadogMetrics {
        self.transport.set_client(client);
        self
    }

    /// Lowers the size limits (never above Datadog's), for proxies with smaller
    /// limits and for tests.
    pub fn with_max_payload(mut self, compressed: usize, decompressed: usize) -> DatadogMetrics {
        self.max_compressed = compressed.clamp(1024, MAX_COMPRESSED_BYTES);
        self.max_decompressed = decompressed.clamp(1024, MAX_DECOMPRESSED_BYTES);
        self
    }

    /// Normalises names and tags, drops non-finite points and empty series, and adds
    /// the configured host and tags. Returns the series, skipped points and warnings.
    fn prepare(
        &self,
        input: Vec<Series>,
    ) -> Result<(Vec<Series>, usize, Vec<String>), NotifyError> {
        let mut out = Vec::with_capacity(input.len());
        let mut skipped = 0;
        let mut warnings = Vec::new();
        for mut s in input {
            let Some(name) = normalize_metric_name(&s.metric) else {
                return Err(NotifyError::InvalidAlert {
                    channel: CHANNEL,
                    reason: format!(
                        "metric name {:?} has no ASCII letter: Datadog metric names start with a letter",
                        s.metric
                    ),
                });
            };
            s.metric = name;
            let before = s.points.len();
            s.points.retain(|p| p.value.is_finite());
            skipped += before - s.points.len();
            if s.points.is_empty() {
                if before > 0 {
                    warnings.push(format!(
                        "metric `{}`: no finite point, series not sent",
                        s.metric
                    ));
                } else {
                    warnings.push(format!("metric `{}`: no point, series not sent", s.metric));
                }
                continue;
            }
            let mut tags: Vec<String> = self.tags.clone();
            tags.extend(s.tags.iter().filter_map(|t| normalize_raw_tag(t)));
            let mut seen = HashSet::with_capacity(tags.len());
            tags.retain(|t| seen.insert(t.clone()));
            s.tags = tags;
            if s.host.as_deref().is_none_or(|h| h.trim().is_empty()) {
                s.host.clone_from(&self.host);
            }
            out.push(s);
        }
        Ok((out, skipped, warnings))
    }

    /// Splits `series` into gzip request bodies within the limits, without sending
    /// anything. [`submit`](Self::submit) sends exactly these.
    pub fn encode(&self, series: Vec<Series>) -> Result<Vec<EncodedBatch>, NotifyError> {
        let (prepared, _, _) = self.prepare(series)?;
        self.pack(prepared)
    }

    fn pack(&self, series: Vec<Series>) -> Result<Vec<EncodedBatch>, NotifyError> {
        let mut out = Vec::new();
        let mut chunk: Vec<(Series, Vec<u8>)> = Vec::new();
        let mut chunk_len = ENVELOPE;
        for s in series {
            let bytes = encode_series(&s);
            let add = bytes.len() + usize::from(!chunk.is_empty());
            if !chunk.is_empty() && chunk_len + add >= self.max_decompressed {
                self.fit(std::mem::take(&mut chunk), &mut out)?;
                chunk_len = ENVELOPE;
            }
            chunk_len += bytes.len() + usize::from(!chunk.is_empty());
            chunk.push((s, bytes));
        }
        if !chunk.is_empty() {
            self.fit(chunk, &mut out)?;
        }
        Ok(out)
    }

    /// Encodes `items` as one body, or splits them until every body fits.
    fn fit(
        &self,
        mut items: Vec<(Series, Vec<u8>)>,
        out: &mut Vec<EncodedBatch>,
    ) -> Result<(), NotifyError> {
        if items.is_empty() {
            return Ok(());
        }
        let raw_len =
            ENVELOPE + items.iter().map(|(_, b)| b.len()).sum::<usize>() + items.len() - 1;
        let mut parts = 2;
        if raw_len < self.max_decompressed {
            let mut raw = Vec::with_capacity(raw_len);
            raw.extend_from_slice(br#"{"series":["#);
            for (i, (_, b)) in items.iter().enumerate() {
                if i > 0 {
                    raw.push(b',');
                }
                raw.extend_from_slice(b);
            }
            raw.extend_from_slice(b"]}");
            let body = gzip(&raw).map_err(|e| NotifyError::InvalidAlert {
                channel: CHANNEL,
                reason: format!("gzip failed: {e}"),
            })?;
            if body.len() <= self.max_compressed {
                out.push(EncodedBatch {
                    body,
                    decompressed_len: raw.len(),
                    series: items.into_iter().map(|(s, _)| s).collect(),
                });
                return Ok(());
            }
            // Split in as many parts as the compression ratio says, with a margin.
            parts = (body.len() * 10 / (self.max_compressed * 9)).max(1) + 1;
        }
        if items.len() > 1 {
            let parts = parts.min(items.len());
            let per = items.len().div_ceil(parts);
            while !items.is_empty() {
                let rest = items.split_off(per.min(items.len()));
                let part = std::mem::replace(&mut items, rest);
                self.fit(part, out)?;
            }
            return Ok(());
        }
        let Some((series, _)) = items.pop() else {
            return Ok(());
        };
        if series.points.len() < 2 {
            return Err(NotifyError::InvalidAlert {
                channel: CHANNEL,
                reason: format!(
                    "metric `{}`: one point encodes to {raw_len} bytes, more than Datadog \
                     accepts in a request ({} compressed, {} decompressed); shorten its tags",
                    series.metric, self.max_compressed, self.max_decompressed
                ),
            });
        }
        for half in split_points(series) {
            let bytes = encode_series(&half);
            self.fit(vec![(half, bytes)], out)?;
        }
        Ok(())
    }

    /// Splits the series of a batch answered 413 into smaller batches; `None` when a
    /// single point cannot be split further.
    fn resplit(&self, series: &[Series]) -> Option<Vec<EncodedBatch>> {
        let halves: Vec<Vec<Series>> = match series {
            [] => return None,
            [one] if one.points.len() < 2 => return None,
            [one] => split_points(one.clone())
                .into_iter()
                .map(|s| vec![s])
                .collect(),
            many => {
                let (l, r) = many.split_at(many.len() / 2);
                vec![l.to_vec(), r.to_vec()]
            }
        };
        let mut out = Vec::new();
        for h in halves {
            let items = h
                .into_iter()
                .map(|s| {
                    let b = encode_series(&s);
                    (s, b)
                })
                .collect();
            self.fit(items, &mut out).ok()?;
        }
        Some(out)
    }

    /// Submits `series`: normalises them, splits them into requests within Datadog's
    /// limits, and sends the requests in order. Stops at the first failed request and
    /// returns what was not sent ([`MetricsError::unsent`]).
    pub async fn submit(&self, series: Vec<Series>) -> Result<MetricsReport, MetricsError> {
        let mut report = MetricsReport::default();
        let input = series.clone();
        let (prepared, skipped, warnings) = match self.prepare(series) {
            Ok(p) => p,
            Err(error) => {
                return Err(MetricsError {
                    error,
                    report,
                    unsent: input,
                });
            }
        };
        report.skipped_points = skipped;
        report.warnings = warnings;
        let batches = match self.pack(prepared.clone()) {
            Ok(b) => b,
            Err(error) => {
                return Err(MetricsError {
                    error,
                    report,
                    unsent: prepared,
                });
            }
        };
        let mut queue: VecDeque<EncodedBatch> = batches.into();
        while let Some(batch) = queue.pop_front() {
            match self.send(&batch).await {
                Ok(warnings) => {
                    report.requests += 1;
                    report.series += batch.series.len();
                    report.points += batch.series.iter().map(|s| s.points.len()).sum::<usize>();
                    report.compressed_bytes += batch.body.len();
                    report.warnings.extend(warnings);
                }
                Err(error) if error.status() == Some(413) => match self.resplit(&batch.series) {
                    Some(parts) => {
                        report.resplits += 1;
                        for p in parts.into_iter().rev() {
                            queue.push_front(p);
                        }
                    }
                    None => {
                        return Err(MetricsError {
                            error,
                            report,
                            unsent: unsent(batch, queue),
                        });
                    }
                },
                Err(error) => {
                    return Err(MetricsError {
                        error,
                        report,
                        unsent: unsent(batch, queue),
                    });
                }
            }
        }
        Ok(report)
    }

    async fn send(&self, batch: &EncodedBatch) -> Result<Vec<String>, NotifyError> {
        let answer = self
            .transport
            .post_json(SERIES_PATH, batch.body.clone(), true)
            .await?;
        if let Some(e) = classify(&answer, self.transport.api_key()) {
            return Err(e);
        }
        Ok(error_messages(&answer.body).unwrap_or_default())
    }
}

fn unsent(failed: EncodedBatch, rest: VecDeque<EncodedBatch>) -> Vec<Series> {
    let mut v = failed.series;
    v.extend(rest.into_iter().flat_map(|b| b.series));
    v
}

/// Splits a series in two by its points.
fn split_points(mut s: Series) -> [Series; 2] {
    let right_points = s.points.split_off(s.points.len() / 2);
    let mut right = s.clone();
    right.points = right_points;
    [s, right]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn metrics() -> DatadogMetrics {
        DatadogMetrics::new(&DatadogConfig::new("k").with_host("h1").with_tag("team:ml")).unwrap()
    }

    fn gunzip(b: &[u8]) -> serde_json::Value {
        let mut s = String::new();
        flate2::read::GzDecoder::new(b)
            .read_to_string(&mut s)
            .unwrap();
        serde_json::from_str(&s).unwrap()
    }

    #[test]
    fn one_small_batch_with_host_and_tags() {
        let at = Timestamp::from_unix_seconds(1_795_500_000).unwrap();
        let batches = metrics()
            .encode(vec![
                Series::gauge("ml accuracy", 0.5)
                    .at(at)
                    .with_tag("Model", "Bikes")
                    .with_unit("fraction"),
                Series::count("ml.errors", 3.0, Duration::from_secs(60))
                    .at(at)
                    .with_host("h2"),
            ])
            .unwrap();
        assert_eq!(batches.len(), 1);
        assert_eq!(
            gunzip(batches[0].body()),
            serde_json::json!({"series": [
                {"metric": "ml_accuracy", "type": 3, "points": [{"timestamp": 1_795_500_000, "value": 0.5}],
                 "tags": ["team:ml", "model:bikes"], "unit": "fraction",
                 "resources": [{"name": "h1", "type": "host"}]},
                {"metric": "ml.errors", "type": 1, "points": [{"timestamp": 1_795_500_000, "value": 3.0}],
                 "tags": ["team:ml"], "interval": 60,
                 "resources": [{"name": "h2", "type": "host"}]},
            ]})
        );
        assert_eq!(batches[0].decompressed_len(), {
            let v = gunzip(batches[0].body());
            serde_json::to_vec(&v).unwrap().len()
        });
    }

    #[test]
    fn large_series_are_split_by_points_and_bad_names_refused() {
        let m = metrics().with_max_payload(4096, 8192);
        let mut s = Series::new("ml.loss", MetricKind::Gauge);
        for i in 0..5000 {
            // Pseudo-random values so gzip cannot shrink the body much.
            let v = ((i as f64) * 12.9898).sin() * 43_758.545_3;
            s.points.push(Point {
                timestamp: 1_795_500_000 + i,
                value: v,
            });
        }
        let batches = m.encode(vec![s]).unwrap();
        assert!(batches.len() > 2, "{}", batches.len());
        let total: usize = batches.iter().map(|b| b.series()[0].points.len()).sum();
        assert_eq!(total, 5000);
        for b in &batches {
            assert!(b.compressed_len() <= 4096);
            assert!(b.decompressed_len() < 8192);
        }
        let e = m.encode(vec![Series::gauge("42", 1.0)]).unwrap_err();
        assert!(e.to_string().contains("has no ASCII letter"), "{e}");
        let huge = Series::gauge("ml.x", 1.0).with_raw_tag(format!("k:{}", "v".repeat(150)));
        let many_tags = (0..100).fold(huge, |s, i| s.with_tag(&format!("k{i}"), &"v".repeat(150)));
        let e = m.encode(vec![many_tags]).unwrap_err();
        assert!(e.to_string().contains("one point encodes to"), "{e}");
    }

    #[test]
    fn non_finite_points_are_skipped_and_reported() {
        let m = metrics();
        let (series, skipped, warnings) = m
            .prepare(vec![
                Series::gauge("a", f64::NAN),
                Series::gauge("b", 1.0).with_point(Timestamp::now(), f64::INFINITY),
            ])
            .unwrap();
        assert_eq!(skipped, 2);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].metric, "b");
        assert_eq!(warnings, ["metric `a`: no finite point, series not sent"]);
    }
}
