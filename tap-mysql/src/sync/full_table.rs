//! FULL_TABLE: the whole table, in primary-key order, resumable.
//!
//! ```text
//! new sync:  ACTIVATE_VERSION v · RECORD… (STATE last_pk_fetched every N rows) · ACTIVATE_VERSION v
//! resumed:   ACTIVATE_VERSION v · RECORD… where key > last_pk_fetched and key <= max_pk_values
//!            · ACTIVATE_VERSION v
//!
//! The first ACTIVATE_VERSION announces the version (a target must not sweep older rows yet: the
//! table is still being sent); the repeat after the records, or after none for an empty table,
//! tells the target that nothing more of it follows.
//! ```
//!
//! `max_pk_values` is read when the sync starts, so rows inserted meanwhile wait for the next
//! run. Tables and views without a key are read whole.

use std::io::Write;

use common::state::{FullTableStart, new_version};
use serde_json::Map;

use super::StreamSync;
use crate::Error;
use crate::sql::quote_identifier;

impl<W: Write> StreamSync<'_, W> {
    pub(super) fn sync_full_table(&mut self) -> Result<u64, Error> {
        let id = self.selection.tap_stream_id.clone();
        let FullTableStart {
            version,
            resume_after,
            max_pk_values,
        } = self.state.bookmark_mut(&id).start_full_table(new_version());

        self.write_schema(None)?;
        self.out
            .write_activate_version(&self.selection.stream, version)?;
        let keys = self.selection.key_properties.clone();
        let mut query = self.select_list();
        if !keys.is_empty() {
            let quoted: Vec<String> = keys.iter().map(|k| quote_identifier(k)).collect();
            let max = match max_pk_values {
                Some(max) => Some(max),
                None => {
                    let descending: Vec<String> =
                        quoted.iter().map(|k| format!("{k} desc")).collect();
                    let max_query = format!(
                        "select {} from {} order by {} limit 1",
                        quoted.join(", "),
                        self.table(),
                        descending.join(", ")
                    );
                    self.read_single_row(&max_query, &keys)?
                }
            };
            self.state.bookmark_mut(&id).max_pk_values = max.clone();
            let mut conditions = Vec::new();
            match &max {
                Some(max) => conditions.push(self.key_condition(&keys, max, "<", "<=")?),
                // The table was empty when the sync started.
                None => conditions.push("false".to_owned()),
            }
            if let Some(last) = &resume_after {
                conditions.push(self.key_condition(&keys, last, ">", ">")?);
            }
            query.push_str(&format!(
                " where {} order by {}",
                conditions.join(" and "),
                quoted.join(", ")
            ));
            self.out.write_state(self.state)?;
        }

        let key_indexes: Vec<usize> = keys.iter().map(|key| self.column_index(key)).collect();
        let rows = self.stream_records(&query, Some(version), |state, encoder, row| {
            if key_indexes.is_empty() || row.is_empty() {
                return Ok(());
            }
            let mut last = Map::new();
            for (key, index) in keys.iter().zip(&key_indexes) {
                let value = encoder.value(row, *index).map_err(|source| Error::Value {
                    stream: id.clone(),
                    source,
                })?;
                last.insert(key.clone(), value);
            }
            state.bookmark_mut(&id).last_pk_fetched = Some(last);
            Ok(())
        })?;

        self.out
            .write_activate_version(&self.selection.stream, version)?;
        self.state.bookmark_mut(&id).finish_full_table();
        Ok(rows)
    }
}
