//! INCREMENTAL: rows whose replication key is at or past the bookmark, in key order.
//!
//! `>=` on purpose: rows sharing the last value are sent again rather than missed. The bookmark
//! moves with the rows (every `state_every_rows` rows and at the end), which is safe because rows
//! arrive in key order. Rows whose key is NULL are never selected by a `>=` comparison.

use std::io::Write;

use tracing::warn;

use super::Source;
use super::stream::StreamSync;

impl<S: Source, W: Write> StreamSync<'_, S, W> {
    pub(super) fn sync_incremental(&mut self) -> Result<u64, S::Error> {
        let key = self
            .selection
            .replication_key
            .clone()
            .expect("resolved INCREMENTAL streams have a replication key");
        let start = self.bookmark().start_incremental(&key);

        if !self.selection.is_view && !self.table.indexed.contains(&key) {
            warn!(
                stream = %self.tap_stream_id(),
                column = %key,
                "the replication key has no index: each sync scans the whole table"
            );
        }
        self.write_schema(Some(vec![key.clone()]))?;
        let quoted = S::quote_identifier(&key);
        let mut query = self.select(&self.table.columns);
        if let Some(start) = &start {
            let literal = S::literal(self.column(&key), start);
            query.push_str(&format!(" where {quoted} >= {literal}"));
        }
        query.push_str(&format!(" order by {quoted}"));

        self.stream_records(&query, None, |bookmark, mut record| {
            if let Some(value) = record.remove(&key)
                && !value.is_null()
            {
                bookmark.replication_key_value = Some(value);
            }
        })
    }
}
