//! The target's clock: `_sdc_sequence` numbers and the current time as text.
//!
//! Sequence numbers are nanoseconds since the epoch, strictly increasing, so the newest row per
//! key wins a merge within a run and across runs. The time as text (for rejected records) is
//! formatted again only when the millisecond changes.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// `_sdc_sequence` values and the current time as text.
#[derive(Debug)]
pub struct Clock {
    /// When the run started, for the summary.
    pub started: Instant,
    last_sequence: i64,
    now_millis: i64,
    /// RFC 3339, refreshed when the millisecond changes.
    now: String,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            last_sequence: 0,
            now_millis: 0,
            now: String::new(),
        }
    }
}

impl Clock {
    /// The next sequence number: nanoseconds since the epoch, strictly increasing, so a later
    /// record always wins over an earlier one, within a run and across runs.
    pub fn tick(&mut self) -> i64 {
        let nanos = now_nanos();
        self.last_sequence = nanos.max(self.last_sequence + 1);
        self.refresh(nanos);
        self.last_sequence
    }

    /// The current time, RFC 3339, without taking a sequence number.
    pub fn now(&mut self) -> &str {
        self.refresh(now_nanos());
        &self.now
    }

    fn refresh(&mut self, nanos: i64) {
        let millis = nanos / 1_000_000;
        if millis != self.now_millis || self.now.is_empty() {
            self.now_millis = millis;
            self.now = DateTime::<Utc>::from_timestamp_nanos(nanos)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
        }
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}
