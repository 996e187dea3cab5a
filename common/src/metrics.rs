//! Singer metric lines on stderr, in singer-python's format, which Meltano parses:
//!
//! ```text
//! INFO METRIC: {"type": "counter", "metric": "record_count", "value": 1000, "tags": {"endpoint": "orders"}}
//! ```
//!
//! Written straight to stderr rather than through `tracing`, so the line has exactly this shape
//! whatever the log format.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

/// How often a [`RecordCounter`] reports while counting (singer-python's default).
pub const REPORT_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    Counter,
    Timer,
}

/// One metric observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    #[serde(rename = "type")]
    pub kind: MetricKind,
    pub metric: &'static str,
    pub value: Value,
    pub tags: Map<String, Value>,
}

impl Metric {
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"INFO METRIC: ")?;
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// Writes the line to stderr; a closed stderr is not worth failing a sync for.
    pub fn emit(&self) {
        let _ignored = self.write_to(&mut io::stderr().lock());
    }
}

fn tags(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
        .collect()
}

/// Counts records of one stream, reporting every [`REPORT_INTERVAL`] and when finished.
#[derive(Debug)]
pub struct RecordCounter {
    stream: String,
    /// Discovery's estimate of the stream's rows.
    total: Option<u64>,
    /// Made on the first row, once the total is known.
    progress: Option<crate::progress::Progress>,
    count: u64,
    reported: u64,
    last_report: Instant,
    interval: Duration,
}

impl RecordCounter {
    pub fn new(stream: &str) -> Self {
        Self::with_interval(stream, REPORT_INTERVAL)
    }

    pub fn with_interval(stream: &str, interval: Duration) -> Self {
        Self {
            stream: stream.to_owned(),
            total: None,
            progress: None,
            count: 0,
            reported: 0,
            last_report: Instant::now(),
            interval,
        }
    }

    /// Shows progress out of `total` rows (discovery's estimate).
    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }

    /// Adds `rows`; returns the metric to emit when a report is due.
    pub fn add(&mut self, rows: u64) -> Option<Metric> {
        self.count += rows;
        let (stream, total) = (&self.stream, self.total);
        self.progress
            .get_or_insert_with(|| crate::progress::Progress::new(stream, "rows", total))
            .add(rows);
        (self.last_report.elapsed() >= self.interval).then(|| self.report())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The final report: the rows counted since the last one (singer-python counts per interval).
    pub fn finish(mut self) -> Metric {
        let metric = self.report();
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        metric
    }

    fn report(&mut self) -> Metric {
        let value = self.count - self.reported;
        self.reported = self.count;
        self.last_report = Instant::now();
        Metric {
            kind: MetricKind::Counter,
            metric: "record_count",
            value: value.into(),
            tags: tags(&[("endpoint", &self.stream)]),
        }
    }
}

/// Times a job (a stream's sync), reported with its outcome.
#[derive(Debug)]
pub struct Timer {
    metric: &'static str,
    tags: Map<String, Value>,
    started: Instant,
}

impl Timer {
    /// `metric` such as `sync_duration`; `tags` such as `[("endpoint", "orders")]`.
    pub fn start(metric: &'static str, tag_pairs: &[(&str, &str)]) -> Self {
        Self {
            metric,
            tags: tags(tag_pairs),
            started: Instant::now(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The timer's metric, seconds as value, `status` `succeeded` or `failed`.
    pub fn finish(self, succeeded: bool) -> Metric {
        let mut tags = self.tags;
        let status = if succeeded { "succeeded" } else { "failed" };
        tags.insert("status".into(), status.into());
        let seconds = serde_json::Number::from_f64(self.started.elapsed().as_secs_f64())
            .map_or(Value::Null, Value::Number);
        Metric {
            kind: MetricKind::Timer,
            metric: self.metric,
            value: seconds,
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(metric: &Metric) -> String {
        let mut out = Vec::new();
        metric.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn counter_lines_have_singer_shape() {
        let mut counter = RecordCounter::with_interval("orders", Duration::from_secs(3600));
        assert!(counter.add(3).is_none());
        assert!(counter.add(4).is_none());
        assert_eq!(counter.count(), 7);
        assert_eq!(
            line(&counter.finish()),
            "INFO METRIC: {\"type\":\"counter\",\"metric\":\"record_count\",\"value\":7,\"tags\":{\"endpoint\":\"orders\"}}\n"
        );
    }

    #[test]
    fn counter_reports_per_interval() {
        let mut counter = RecordCounter::with_interval("s", Duration::ZERO);
        assert_eq!(counter.add(5).unwrap().value, json!(5));
        assert_eq!(counter.add(2).unwrap().value, json!(2));
        assert_eq!(counter.finish().value, json!(0));
    }

    #[test]
    fn timer_reports_seconds_and_status() {
        let timer = Timer::start("sync_duration", &[("endpoint", "orders")]);
        let metric = timer.finish(false);
        let text = line(&metric);
        let json: Value =
            serde_json::from_str(text.strip_prefix("INFO METRIC: ").unwrap()).unwrap();
        assert_eq!(json["type"], "timer");
        assert_eq!(
            json["tags"],
            json!({"endpoint": "orders", "status": "failed"})
        );
        assert!(json["value"].as_f64().unwrap() >= 0.0);
    }
}
