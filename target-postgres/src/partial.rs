//! Partial records: absent means unchanged, `null` means NULL.
//!
//! A RECORD that lacks a top-level property of its stream's SCHEMA leaves what that property
//! fills (its columns in the root table, its child tables) as the warehouse has it for an existing
//! row; a new row gets NULL (and no child rows), as before. A property sent as JSON `null` sets
//! NULL. Log-based replication relies on it: PostgreSQL's pgoutput cannot send a TOASTed value an
//! UPDATE left unchanged, so the tap leaves the property out, and a delete carries only the key
//! and the old values the log holds. Key properties are always there (a record without one is
//! invalid) and `_sdc_*` metadata is always written. Under `hard_delete` a delete counts as
//! complete (the row and its child rows go, whatever it holds), and a stream without a key only
//! appends: neither has anything to leave unchanged.
//!
//! Only batches holding a partial record pay for it. Which properties a record lacks is worked
//! out only when its property names differ from the previous record's of the stream (mostly they
//! do not); a partial record adds one line, `_sdc_sequence` and the indices of what it lacks, to
//! its batch's `absent` rows, which the loader copies into one more staging table. The merge of
//! such a batch (`load::merge_statements`) then, for each property some record lacks:
//!
//! ```text
//!  fold        the newest record of a key lacks it, an older one of the batch has it:
//!              the newest takes the older's value (and child rows), as applying both in order would
//!  upsert      set c = case when <the winning record lacks it> then t.c else excluded.c end
//!  children    old child rows replaced only for keys whose winning record has the property
//! ```
//!
//! Complete batches merge with the same statements as ever.

use std::io::Write;

use crate::batch::TableBuffer;
use crate::denest::StreamShape;
use crate::json::Object;
use crate::layout::{ColumnSource, StreamLayout};

/// The top-level properties of a stream that a record may leave out: those that fill a column or
/// a child table, other than the key properties and `_sdc_*` metadata. A property is named by its
/// position here in the `absent` rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Omittable {
    names: Vec<String>,
}

impl Omittable {
    pub fn of(shape: &StreamShape, key_properties: &[String]) -> Self {
        let root_fields = shape.root().fields.iter().map(|field| &field.path);
        let child_tables = shape.tables[1..].iter().map(|table| &table.source_path);
        let mut names: Vec<String> = Vec::new();
        for name in root_fields
            .chain(child_tables)
            .filter_map(|path| path.first())
        {
            if !key_properties.contains(name) && !name.starts_with("_sdc_") && !names.contains(name)
            {
                names.push(name.clone());
            }
        }
        Self { names }
    }

    /// Sets `absent` to the positions of the properties `record` lacks.
    pub fn absent_from(&self, record: &Object<'_>, absent: &mut Vec<u32>) {
        absent.clear();
        absent.extend(
            (0..)
                .zip(&self.names)
                .filter(|(_, name)| record.get(name).is_none())
                .map(|(index, _)| index),
        );
    }

    /// What a record without any property lacks.
    pub fn all(&self) -> Vec<u32> {
        (0..self.names.len() as u32).collect()
    }

    /// What the property at `index` fills, by the stream's current tables.
    pub fn fills(&self, index: u32, shape: &StreamShape, layout: &StreamLayout) -> AbsentProperty {
        let name = &self.names[index as usize];
        let fields = &shape.root().fields;
        let columns = layout.tables[0]
            .columns
            .iter()
            .filter(|column| {
                matches!(column.source, ColumnSource::Field(field)
                    if fields[field].path.first() == Some(name))
            })
            .map(|column| column.name.clone())
            .collect();
        let tables = (1..shape.tables.len())
            .filter(|&table| shape.tables[table].source_path.first() == Some(name))
            .collect();
        AbsentProperty {
            index,
            columns,
            tables,
        }
    }
}

/// A property some record of a batch lacks, and what it fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsentProperty {
    /// Its position in the stream's [`Omittable`], as the `absent` rows name it.
    pub index: u32,
    /// Its columns in the root table.
    pub columns: Vec<String>,
    /// Its child tables, as positions in the stream's tables.
    pub tables: Vec<usize>,
}

/// The partial records of one batch.
#[derive(Debug, Default)]
pub struct AbsentRows {
    /// COPY rows `_sdc_sequence \t {index,…}`, one per partial record.
    pub rows: TableBuffer,
    /// Every index that some row holds, ascending.
    pub indices: Vec<u32>,
}

impl AbsentRows {
    pub fn is_empty(&self) -> bool {
        self.rows.rows == 0
    }

    /// Notes that the record of `sequence` (input `line`) lacks the properties `absent`.
    pub fn add(&mut self, line: u64, sequence: i64, absent: &[u32]) {
        if absent.is_empty() {
            return;
        }
        self.rows.begin_row(line);
        let out = &mut self.rows.data;
        write!(out, "{sequence}\t{{").expect("writing to a Vec");
        for (position, index) in absent.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            write!(out, "{index}").expect("writing to a Vec");
        }
        out.extend_from_slice(b"}\n");
        self.rows.end_row();
        for index in absent {
            if let Err(at) = self.indices.binary_search(index) {
                self.indices.insert(at, *index);
            }
        }
    }
}

/// What the loader needs to merge a batch with partial records.
#[derive(Debug)]
pub struct Absent {
    pub rows: TableBuffer,
    pub properties: Vec<AbsentProperty>,
}

/// The columns of the staging table of `absent` rows.
pub fn absent_columns() -> Vec<String> {
    vec!["_sdc_sequence".into(), "absent".into()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ddl::planned_orders;

    #[test]
    fn what_a_record_lacks_and_what_that_fills() {
        let (shape, layout, keys) = planned_orders(
            &json!({"properties": {
                "id": {"type": "integer"},
                "body": {"type": ["null", "string"]},
                "code": {"type": ["string", "integer"]},
                "customer": {"type": "object", "properties": {
                    "name": {"type": "string"}, "city": {"type": "string"}}},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "sku": {"type": "string"},
                    "parts": {"type": "array", "items": {"type": "string"}}}}},
                "_sdc_lsn": {"type": "integer"},
                "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}}),
            &["id"],
        );
        let omittable = Omittable::of(&shape, &keys);
        assert_eq!(omittable.names, ["body", "code", "customer", "items"]);
        let record: Object =
            serde_json::from_str(r#"{"id": 1, "body": null, "x": 2, "code": 3}"#).unwrap();
        let mut absent = vec![7];
        omittable.absent_from(&record, &mut absent);
        assert_eq!(absent, [2, 3]);
        assert_eq!(omittable.all(), [0, 1, 2, 3]);
        let complete: Object = serde_json::from_str(
            r#"{"items": [], "id": 1, "customer": {}, "body": "b", "code": "c"}"#,
        )
        .unwrap();
        omittable.absent_from(&complete, &mut absent);
        assert!(absent.is_empty());

        // One column per type.
        assert_eq!(omittable.fills(1, &shape, &layout).columns.len(), 2);
        assert_eq!(
            omittable.fills(2, &shape, &layout),
            AbsentProperty {
                index: 2,
                columns: vec!["customer__name".into(), "customer__city".into()],
                tables: Vec::new(),
            }
        );
        assert_eq!(
            omittable.fills(3, &shape, &layout),
            AbsentProperty {
                index: 3,
                columns: Vec::new(),
                tables: vec![1, 2],
            }
        );
    }

    #[test]
    fn absent_rows() {
        let mut rows = AbsentRows::default();
        rows.add(3, 70, &[]);
        assert!(rows.is_empty());
        rows.add(4, 71, &[2]);
        rows.add(6, 72, &[0, 2]);
        assert_eq!(
            String::from_utf8(rows.rows.data.clone()).unwrap(),
            "71\t{2}\n72\t{0,2}\n"
        );
        assert_eq!(rows.rows.lines, [4, 6]);
        assert_eq!(rows.indices, [0, 2]);
    }
}
