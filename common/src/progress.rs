//! Progress of a stream on stderr: a bar on a terminal, periodic log lines otherwise.
//!
//! On a terminal, an `indicatif` bar shows rows, rows/s and, when the total is known (discovery's
//! `row-count`), how far along the stream is. When stderr is a file or a pipe (cron, Meltano, CI)
//! a plain log line every [`LOG_INTERVAL`] (or `SINGER_PROGRESS_SECONDS`) says the same. Either way it costs a counter per row.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

/// How often the plain progress line is written, unless `SINGER_PROGRESS_SECONDS` says otherwise.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

fn log_interval() -> Duration {
    std::env::var("SINGER_PROGRESS_SECONDS")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map_or(LOG_INTERVAL, Duration::from_secs_f64)
}

/// Rows between clock reads in the plain mode.
const CHECK_EVERY: u64 = 4096;

/// One stream's progress.
#[derive(Debug)]
pub struct Progress {
    stream: String,
    what: &'static str,
    rows: u64,
    started: Instant,
    last_line: Instant,
    interval: Duration,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress of `stream`, counting `what` (`rows`, `records`), out of `total` when known.
    pub fn new(stream: &str, what: &'static str, total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let template = match total {
                Some(_) => "{prefix} [{bar:30}] {pos}/{len} {msg} ({per_sec}, {eta} left)",
                None => "{prefix} {spinner} {pos} {msg} ({per_sec})",
            };
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(stream.to_owned());
            bar.set_message(what);
            bar
        });
        let now = Instant::now();
        Self {
            stream: stream.to_owned(),
            what,
            rows: 0,
            started: now,
            last_line: now,
            interval: log_interval(),
            bar,
        }
    }

    pub fn add(&mut self, rows: u64) {
        let before = self.rows;
        self.rows += rows;
        match &self.bar {
            Some(bar) => bar.inc(rows),
            None if before / CHECK_EVERY != self.rows / CHECK_EVERY
                && self.last_line.elapsed() >= self.interval =>
            {
                self.last_line = Instant::now();
                let seconds = self.started.elapsed().as_secs_f64();
                info!(
                    stream = self.stream,
                    what = self.what,
                    count = self.rows,
                    per_second = (self.rows as f64 / seconds.max(1e-3)).round() as u64,
                    "progress"
                );
            }
            None => {}
        }
    }

    /// Clears the bar; the caller logs the stream's summary line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
