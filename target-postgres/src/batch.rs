//! Per-stream buffers of COPY rows, and the pool that recycles them.
//!
//! A record is de-nested into the buffers of its stream's tables (`denest::record`) all or
//! nothing: if any of its values cannot be stored, every buffer is cut back to where the record
//! began, so a rejected record leaves no orphan child rows behind. A record that lacks some of
//! its stream's properties is noted in the batch's `absent` rows (see `partial`).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::denest::record::{EncodeError, RecordMeta, RecordWriter};
use crate::json::Object;
use crate::partial::AbsentRows;

/// One table's buffered rows.
#[derive(Debug, Default)]
pub struct TableBuffer {
    pub data: Vec<u8>,
    pub rows: u64,
    /// The input line of each row, to name the line when the database refuses a row.
    pub lines: Vec<u64>,
}

impl TableBuffer {
    fn clear(&mut self) {
        self.data.clear();
        self.rows = 0;
        self.lines.clear();
    }

    fn mark(&self) -> (usize, u64) {
        (self.data.len(), self.rows)
    }

    fn reset_to(&mut self, (len, rows): (usize, u64)) {
        self.data.truncate(len);
        self.rows = rows;
        self.lines.truncate(rows as usize);
    }

    /// Starts a row: the line it came from.
    pub fn begin_row(&mut self, line: u64) {
        self.lines.push(line);
    }

    /// Ends a row, once its writer has written all of it (text rows end with a newline).
    pub fn end_row(&mut self) {
        self.rows += 1;
    }
}

/// The rows of one stream waiting to be loaded.
#[derive(Debug, Default)]
pub struct StreamBatch {
    /// Parallel to the stream's tables.
    pub tables: Vec<TableBuffer>,
    pub records: u64,
    /// Input line of the first record: a STATE after it must wait for this batch.
    pub first_line: Option<u64>,
    /// Some record marks a deletion.
    pub has_deletes: bool,
    pub versions: Versions,
    /// The records that lack some of the stream's properties.
    pub absent: AbsentRows,
    /// Some key may come twice (two records of one key, or two keys of one hash): the merge
    /// must keep each key's newest record rather than take every row as it is.
    pub repeats_a_key: bool,
    /// Hashes of the keys so far, while none repeats.
    key_hashes: HashSet<u64>,
    marks: Vec<(usize, u64)>,
}

/// The `_sdc_table_version`s a batch's records carry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub lowest: Option<u64>,
    pub highest: Option<u64>,
    /// Some record has no version.
    pub unversioned: bool,
}

impl Versions {
    pub fn add(&mut self, version: Option<u64>) {
        match version {
            None => self.unversioned = true,
            Some(version) => {
                self.lowest = Some(self.lowest.map_or(version, |v| v.min(version)));
                self.highest = Some(self.highest.map_or(version, |v| v.max(version)));
            }
        }
    }

    pub fn merge(&mut self, other: Versions) {
        for version in [other.lowest, other.highest].into_iter().flatten() {
            self.add(Some(version));
        }
        self.unversioned |= other.unversioned;
    }

    /// Every record had `version` (or there were none).
    pub fn only(&self, version: u64) -> bool {
        !self.unversioned
            && self.lowest.is_none_or(|v| v == version)
            && self.highest.is_none_or(|v| v == version)
    }
}

impl StreamBatch {
    pub fn new(tables: usize) -> Self {
        Self {
            tables: (0..tables).map(|_| TableBuffer::default()).collect(),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub fn bytes(&self) -> usize {
        self.tables.iter().map(|t| t.data.len()).sum()
    }

    /// Encodes `record`, which lacks the properties `absent` (see `partial::Omittable`), into the
    /// buffers, or leaves them as they were.
    pub fn add_record(
        &mut self,
        writer: &RecordWriter<'_>,
        record: &Object<'_>,
        meta: &RecordMeta<'_>,
        absent: &[u32],
    ) -> Result<(), EncodeError> {
        self.marks.clear();
        self.marks.extend(self.tables.iter().map(TableBuffer::mark));
        let written = writer.write(&mut self.tables, record, meta);
        match written {
            Ok(()) => {
                self.records += 1;
                self.first_line.get_or_insert(meta.line);
                self.has_deletes |= meta.deleted_at.is_some();
                self.versions.add(meta.version);
                self.absent.add(meta.line, meta.sequence, absent);
                self.note_key(writer.key_properties, record);
                Ok(())
            }
            Err(error) => {
                for (table, mark) in self.tables.iter_mut().zip(&self.marks) {
                    table.reset_to(*mark);
                }
                Err(error)
            }
        }
    }

    fn note_key(&mut self, key_properties: &[String], record: &Object<'_>) {
        if self.repeats_a_key || key_properties.is_empty() {
            return;
        }
        let mut hasher = DefaultHasher::new();
        for key in key_properties {
            match record.get(key) {
                // Strings by their text: `"a"` and `"\u0061"` are one key.
                Some(value) => match value.as_str() {
                    Some(text) => text.hash(&mut hasher),
                    None => value.raw().hash(&mut hasher),
                },
                None => 0u8.hash(&mut hasher),
            }
        }
        if !self.key_hashes.insert(hasher.finish()) {
            self.repeats_a_key = true;
            self.key_hashes = HashSet::new();
        }
    }

    /// Hands the buffers over, leaving empty ones (from `pool`) for the next batch.
    pub fn take(&mut self, pool: &BufferPool) -> Self {
        let empty = Self {
            tables: self.tables.iter().map(|_| pool.get()).collect(),
            ..Self::default()
        };
        std::mem::replace(self, empty)
    }
}

/// Buffers the loader is done with, travelling back to be filled again: the same few allocations
/// serve the whole run, so memory stays flat and the allocator does not fragment.
#[derive(Debug, Clone)]
pub struct BufferPool {
    sender: Sender<TableBuffer>,
    receiver: Receiver<TableBuffer>,
}

impl BufferPool {
    /// A pool keeping at most `capacity` buffers; more are freed.
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = bounded(capacity);
        Self { sender, receiver }
    }

    pub fn get(&self) -> TableBuffer {
        self.receiver.try_recv().unwrap_or_default()
    }

    pub fn put(&self, mut buffer: TableBuffer) {
        buffer.clear();
        // A full pool frees the buffer.
        let _ = self.sender.try_send(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::planned_orders;
    use crate::denest::StreamShape;
    use crate::encode::InvalidValue;
    use crate::layout::StreamLayout;
    use serde_json::{Value, json};

    fn meta(line: u64) -> RecordMeta<'static> {
        RecordMeta {
            line,
            extracted_at: Some((
                "2026-11-21T10:00:00Z",
                crate::encode::check_timestamp("2026-11-21T10:00:00Z").unwrap(),
            )),
            sequence: 7,
            version: Some(3),
            deleted_at: None,
        }
    }

    fn setup(schema: Value, keys: &[&str]) -> (StreamShape, StreamLayout, Vec<String>) {
        planned_orders(&schema, keys)
    }

    /// Adds `record` as the target reads it: from its JSON text.
    fn add(
        batch: &mut StreamBatch,
        (shape, layout, keys): &(StreamShape, StreamLayout, Vec<String>),
        record: &Value,
        meta: &RecordMeta<'_>,
    ) -> Result<(), EncodeError> {
        let text = record.to_string();
        let object: Object = serde_json::from_str(&text).unwrap();
        let writer = RecordWriter {
            shape,
            layout,
            key_properties: keys,
        };
        batch.add_record(&writer, &object, meta, &[])
    }

    fn text(buffer: &TableBuffer) -> String {
        String::from_utf8(buffer.data.clone()).unwrap()
    }

    #[test]
    fn a_record_with_children() {
        let setup = setup(
            json!({"properties": {"id": {"type": "integer"},
                "customer": {"type": "object", "properties": {"name": {"type": "string"}}},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "sku": {"type": "string"},
                    "discounts": {"type": "array", "items": {"type": "number"}}}}},
                "tags": {"type": "array", "items": {"type": "string"}}}}),
            &["id"],
        );
        let mut batch = StreamBatch::new(setup.0.tables.len());
        let record = json!({"id": 1, "customer": {"name": "Ada"},
            "items": [{"sku": "A", "discounts": [5, 2.5]}, {"sku": "B"}], "tags": ["x"]});
        add(&mut batch, &setup, &record, &meta(4)).unwrap();
        // Root: id, customer__name, _sdc_deleted_at, _sdc_sequence, _sdc_table_version.
        assert_eq!(text(&batch.tables[0]), "1\tAda\t\\N\t7\t3\n");
        assert_eq!(
            text(&batch.tables[1]),
            "1\t0\tA\t\\N\t7\t3\n1\t1\tB\t\\N\t7\t3\n"
        );
        assert_eq!(
            text(&batch.tables[2]),
            "1\t0\t0\t5\t\\N\t7\t3\n1\t0\t1\t2.5\t\\N\t7\t3\n"
        );
        assert_eq!(text(&batch.tables[3]), "1\t0\tx\t\\N\t7\t3\n");
        assert_eq!(batch.tables[1].lines, [4, 4]);
        assert_eq!((batch.records, batch.first_line), (1, Some(4)));

        // A bad value deep inside leaves nothing behind.
        let bad = json!({"id": 2, "items": [{"sku": "C"}, {"sku": "bad\0"}]});
        let error = add(&mut batch, &setup, &bad, &meta(5)).unwrap_err();
        assert_eq!(
            error,
            EncodeError::Invalid {
                path: vec!["items".into(), "sku".into()],
                reason: InvalidValue::NulByte
            }
        );
        assert_eq!(batch.tables[1].rows, 2);
        assert_eq!(batch.tables[1].lines.len(), 2);
        assert_eq!(text(&batch.tables[0]), "1\tAda\t\\N\t7\t3\n");
        let null_key = json!({"id": null});
        assert!(matches!(
            add(&mut batch, &setup, &null_key, &meta(6)),
            Err(EncodeError::Invalid {
                reason: InvalidValue::NullKey,
                ..
            })
        ));
    }

    #[test]
    fn versions_of_a_batch() {
        let mut versions = Versions::default();
        assert!(versions.only(5));
        versions.add(Some(5));
        assert!(versions.only(5) && !versions.only(6));
        let mut other = Versions::default();
        other.add(Some(3));
        versions.merge(other);
        assert!(!versions.only(5));
        assert_eq!((versions.lowest, versions.highest), (Some(3), Some(5)));
        let mut unversioned = Versions::default();
        unversioned.add(None);
        assert!(!unversioned.only(5));
    }

    #[test]
    fn values_outside_the_declared_types_ask_for_a_column() {
        let setup = setup(json!({"properties": {"n": {"type": "integer"}}}), &[]);
        let mut batch = StreamBatch::new(1);
        let wide: Value = serde_json::from_str(r#"{"n": 123456789012345678901234567890}"#).unwrap();
        let error = add(&mut batch, &setup, &wide, &meta(1)).unwrap_err();
        assert!(
            matches!(error, EncodeError::NeedsColumn { table: 0, field: 0, ref column_type }
            if column_type.sql == "numeric")
        );
        assert!(batch.is_empty());
    }
}
