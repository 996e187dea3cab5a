//! FULL_TABLE: the whole table, in primary-key order, resumable.
//!
//! ```text
//! new sync:  ACTIVATE_VERSION v · RECORD… (STATE last_pk_fetched every N rows) · ACTIVATE_VERSION v
//! resumed:   ACTIVATE_VERSION v · RECORD… where key > last_pk_fetched and key <= max_pk_values
//!            · ACTIVATE_VERSION v
//! ```
//!
//! The first ACTIVATE_VERSION announces the version (a target must not sweep older rows yet: the
//! table is still being sent); the repeat after the records, or after none for an empty table,
//! tells the target that nothing more of it follows.
//!
//! `max_pk_values` is read when the sync starts, so rows inserted meanwhile wait for the next run
//! instead of keeping this one going. Tables and views without a key are read whole.
//!
//! A shard run (see `shard`) reads its key range only, at the run's shared version, and sends no
//! ACTIVATE_VERSION: the activation step does, once every shard is done. A table without a key
//! cannot be split: the first shard reads it whole, the others skip it.

use std::io::Write;

use serde_json::{Map, Value};

use super::stream::StreamSync;
use super::{KeyBound, Source, SyncError};
use crate::state::{FullTableStart, new_version};

impl<S: Source, W: Write> StreamSync<'_, S, W> {
    pub(super) fn sync_full_table(&mut self) -> Result<u64, S::Error> {
        let keys = self.selection.key_properties.clone();
        let shard = self.shard;
        let kept = match shard {
            Some(run) => self
                .bookmark()
                .start_shard(run.version, &run.shard.to_string()),
            None => None,
        };
        let FullTableStart {
            version,
            resume_after,
            max_pk_values,
        } = self
            .bookmark()
            .start_full_table(shard.map_or_else(new_version, |run| run.version));

        self.write_schema(None)?;
        let stream = self.selection.stream.clone();
        if shard.is_none() {
            self.out
                .write_activate_version(&stream, version)
                .map_err(SyncError::from)?;
        }
        let mut query = self.select(&self.table.columns);
        let mut conditions = Vec::new();
        if let Some(run) = shard {
            if keys.is_empty() {
                if run.shard.index > 0 {
                    conditions.push("false".to_owned());
                }
            } else {
                let range = super::shard::shard_range(
                    self.source,
                    self.selection,
                    &self.table,
                    run,
                    self.shard_plan.as_deref(),
                    kept,
                )?;
                if range.empty {
                    conditions.push("false".to_owned());
                }
                if let Some(lower) = range.lower.as_ref().filter(|_| resume_after.is_none()) {
                    conditions.push(self.key_condition(&keys, lower, KeyBound::From)?);
                }
                if let Some(upper) = &range.upper {
                    conditions.push(self.key_condition(&keys, upper, KeyBound::Before)?);
                }
                self.bookmark().shard = Some(range);
            }
        }
        if keys.is_empty() && !conditions.is_empty() {
            query.push_str(&format!(" where {}", conditions.join(" and ")));
        }
        if !keys.is_empty() {
            let max = match max_pk_values {
                Some(max) => Some(max),
                None => self.read_max_key(&keys)?,
            };
            self.bookmark().max_pk_values = max.clone();
            match &max {
                Some(max) => conditions.push(self.key_condition(&keys, max, KeyBound::UpTo)?),
                // The table was empty when the sync started.
                None => conditions.push("false".to_owned()),
            }
            if let Some(last) = &resume_after {
                conditions.push(self.key_condition(&keys, last, KeyBound::After)?);
            }
            let order: Vec<String> = keys.iter().map(|key| S::quote_identifier(key)).collect();
            query.push_str(&format!(
                " where {} order by {}",
                conditions.join(" and "),
                order.join(", ")
            ));
            self.out.write_state(self.state).map_err(SyncError::from)?;
        }

        let rows = self.stream_records(&query, Some(version), |bookmark, record| {
            if keys.is_empty() {
                return;
            }
            let last = keys
                .iter()
                .map(|key| (key.clone(), record.get(key).cloned().unwrap_or(Value::Null)))
                .collect();
            bookmark.last_pk_fetched = Some(last);
        })?;

        if shard.is_none() {
            self.out
                .write_activate_version(&stream, version)
                .map_err(SyncError::from)?;
        }
        self.bookmark().finish_full_table();
        Ok(rows)
    }

    /// The largest key now in the table, `None` when the table is empty.
    fn read_max_key(&mut self, keys: &[String]) -> Result<Option<Map<String, Value>>, S::Error> {
        let columns: Vec<_> = keys.iter().map(|key| self.column(key).clone()).collect();
        let descending: Vec<String> = keys
            .iter()
            .map(|key| format!("{} desc", S::quote_identifier(key)))
            .collect();
        let query = format!(
            "{} order by {} limit 1",
            self.select(&columns),
            descending.join(", ")
        );
        self.read_first_row(&query, &columns)
    }
}
