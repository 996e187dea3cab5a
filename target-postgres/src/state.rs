//! STATE goes out only after every record received before it is committed.
//!
//! Each STATE is held with its input line. Buffered batches know the line of their first record;
//! a STATE can go once no buffer holds a record older than it. States are cumulative, so of the
//! ones that can go only the newest is sent, and one equal to the last sent is not sent again.

use std::collections::VecDeque;

use serde_json::Value;

/// States received and not yet released.
#[derive(Debug, Default)]
pub struct PendingStates {
    pending: VecDeque<(u64, Value)>,
    last_released: Option<Value>,
}

impl PendingStates {
    /// Holds the STATE read at `line`.
    pub fn push(&mut self, line: u64, value: Value) {
        let newest = self
            .pending
            .back()
            .map(|(_, value)| value)
            .or(self.last_released.as_ref());
        if newest != Some(&value) {
            self.pending.push_back((line, value));
        }
    }

    /// The line of the newest held STATE.
    pub fn newest_line(&self) -> Option<u64> {
        self.pending.back().map(|(line, _)| *line)
    }

    /// The newest STATE older than `oldest_buffered_line` (every buffered record's line is at least
    /// that; `None` when nothing is buffered), if there is one to send.
    pub fn release(&mut self, oldest_buffered_line: Option<u64>) -> Option<Value> {
        let mut released = None;
        while let Some((line, _)) = self.pending.front() {
            if oldest_buffered_line.is_some_and(|oldest| *line > oldest) {
                break;
            }
            released = self.pending.pop_front().map(|(_, value)| value);
        }
        let released = released?;
        if self.last_released.as_ref() == Some(&released) {
            return None;
        }
        self.last_released = Some(released.clone());
        Some(released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_wait_for_older_records() {
        let mut states = PendingStates::default();
        states.push(3, json!({"n": 1}));
        states.push(5, json!({"n": 2}));
        // A record from line 2 is still buffered: nothing may go.
        assert_eq!(states.release(Some(2)), None);
        // The oldest buffered record is from line 4: the state of line 3 covers only what is done.
        assert_eq!(states.release(Some(4)), Some(json!({"n": 1})));
        assert_eq!(states.newest_line(), Some(5));
        assert_eq!(states.release(None), Some(json!({"n": 2})));
        assert_eq!(states.release(None), None);
    }

    #[test]
    fn repeated_states_go_once() {
        let mut states = PendingStates::default();
        states.push(1, json!({"n": 1}));
        states.push(2, json!({"n": 1}));
        assert_eq!(states.release(None), Some(json!({"n": 1})));
        states.push(3, json!({"n": 1}));
        assert_eq!(states.newest_line(), None);
        assert_eq!(states.release(None), None);
        // Back where it was by the time anything can go: the reader already has it.
        states.push(4, json!({"n": 2}));
        states.push(5, json!({"n": 1}));
        assert_eq!(states.release(None), None);
    }
}
