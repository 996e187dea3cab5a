//! INCREMENTAL: rows whose replication key is at or past the bookmark, in key order.
//!
//! `>=` on purpose: rows sharing the last value are sent again rather than missed. The bookmark
//! moves with the rows (every `state_every_rows` rows and at the end). Rows whose key is NULL are
//! never selected by a `>=` comparison.

use std::io::Write;

use super::StreamSync;
use crate::Error;
use crate::sql::{bookmark_literal, quote_identifier};

impl<W: Write> StreamSync<'_, W> {
    pub(super) fn sync_incremental(&mut self) -> Result<u64, Error> {
        let id = self.selection.tap_stream_id.clone();
        let key = self
            .selection
            .replication_key
            .clone()
            .expect("resolved INCREMENTAL streams have a replication key");
        let start = self.state.bookmark_mut(&id).start_incremental(&key);

        self.warn_unless_indexed(&key);
        self.write_schema(Some(vec![key.clone()]))?;
        let quoted = quote_identifier(&key);
        let mut query = self.select_list();
        if let Some(start) = &start {
            let literal = bookmark_literal(start, self.column_kind(&key));
            query.push_str(&format!(" where {quoted} >= {literal}"));
        }
        query.push_str(&format!(" order by {quoted}"));

        let key_index = self.column_index(&key);
        self.stream_records(&query, None, |state, encoder, row| {
            if row.is_empty() {
                return Ok(());
            }
            let value = encoder
                .value(row, key_index)
                .map_err(|source| Error::Value {
                    stream: id.clone(),
                    source,
                })?;
            if !value.is_null() {
                state.bookmark_mut(&id).replication_key_value = Some(value);
            }
            Ok(())
        })
    }
}
