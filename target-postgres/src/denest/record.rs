//! De-nesting a record: one row of the stream's root table and one row per element of each array,
//! written straight into the COPY buffer of each table (in the table's format), by the stream's
//! layout: no intermediate row values. Objects inside a row are split once for all the columns they hold.

use crate::batch::TableBuffer;
use crate::column_type::ColumnType;
use crate::copy_format::RowFields;
use crate::denest::StreamShape;
use crate::encode::{InvalidValue, Timestamp, accepts, check_value, natural_family};
use crate::json::{Json, Kind, Object};
use crate::layout::{ColumnSource, StreamLayout};
use crate::system_column::SystemColumn;

/// What the target itself records about a row, the same for all rows of one record.
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta<'a> {
    pub line: u64,
    /// As sent, and as parsed when it was checked.
    pub extracted_at: Option<(&'a str, Timestamp)>,
    pub sequence: i64,
    pub version: Option<u64>,
    pub deleted_at: Option<(&'a str, Timestamp)>,
}

/// Why a record was not added.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodeError {
    /// A value that cannot be stored: the record is invalid.
    Invalid {
        path: Vec<String>,
        reason: InvalidValue,
    },
    /// A value none of its property's columns can hold (possible only without validation, or for
    /// integers beyond 64 bits): the table needs a column of `column_type` for `field`.
    NeedsColumn {
        table: usize,
        field: usize,
        column_type: ColumnType,
    },
}

/// What a stream's records are de-nested by: its shape, its tables' layout and its key properties.
#[derive(Debug, Clone, Copy)]
pub struct RecordWriter<'s> {
    pub shape: &'s StreamShape,
    pub layout: &'s StreamLayout,
    pub key_properties: &'s [String],
}

impl RecordWriter<'_> {
    /// Writes the rows of `record` into `buffers` (parallel to the stream's tables). On an error
    /// the buffers may hold part of the record: the caller cuts them back.
    pub fn write(
        &self,
        buffers: &mut [TableBuffer],
        record: &Object<'_>,
        meta: &RecordMeta<'_>,
    ) -> Result<(), EncodeError> {
        for key in self.key_properties {
            if record.get(key).is_none_or(Json::is_null) {
                return Err(EncodeError::Invalid {
                    path: vec![key.clone()],
                    reason: InvalidValue::NullKey,
                });
            }
        }
        let mut rows = RowWriter {
            stream: *self,
            record,
            meta,
            levels: Vec::new(),
        };
        rows.write_row(buffers, 0, Row::Object(record))
    }
}

/// What one row is written from: the record itself, or an element of one of its arrays.
#[derive(Clone, Copy)]
enum Row<'r, 'a> {
    Object(&'r Object<'a>),
    Element(Json<'a>),
}

/// Writes the rows of one record.
struct RowWriter<'r, 'a> {
    stream: RecordWriter<'r>,
    record: &'r Object<'a>,
    meta: &'r RecordMeta<'r>,
    /// Positions in the arrays above the row being written.
    levels: Vec<u64>,
}

impl<'a> RowWriter<'_, 'a> {
    fn write_row(
        &mut self,
        buffers: &mut [TableBuffer],
        table: usize,
        row: Row<'_, 'a>,
    ) -> Result<(), EncodeError> {
        // An element object is split into its properties once for all of its columns.
        let element_object;
        let (element, object) = match row {
            Row::Object(object) => (None, Some(object)),
            Row::Element(element) => {
                element_object = element.as_object();
                (Some(element), element_object.as_ref())
            }
        };
        let shape = &self.stream.shape.tables[table];
        // Objects this table's columns and arrays lie inside (`customer` for `customer__name`),
        // split once for all of them rather than once per column.
        let mut inner: Vec<(&str, Option<Object<'a>>)> = Vec::new();
        let nested_paths = shape.fields.iter().map(|f| f.path.as_slice());
        let array_paths = shape
            .children
            .iter()
            .map(|&c| self.stream.shape.tables[c].array_path.as_slice());
        for path in nested_paths.chain(array_paths) {
            if let [first, _, ..] = path
                && !inner.iter().any(|(name, _)| name == first)
            {
                let parsed = object.and_then(|o| o.get(first)).and_then(Json::as_object);
                inner.push((first, parsed));
            }
        }
        let value_at = |path: &[String]| match path {
            [] => element,
            [name] => object?.get(name),
            [first, rest @ ..] => {
                let (_, parsed) = inner.iter().find(|(name, _)| name == first)?;
                parsed.as_ref()?.at(rest)
            }
        };
        let layout = &self.stream.layout.tables[table];
        let buffer = &mut buffers[table];
        buffer.begin_row(self.meta.line);
        let sent = layout
            .columns
            .iter()
            .filter(|c| !c.is_filled_by_database())
            .count();
        let mut out = RowFields::begin(&mut buffer.data, layout.format, sent);
        for (index, column) in layout.columns.iter().enumerate() {
            if column.is_filled_by_database() {
                continue;
            }
            let column_type = &column.column_type;
            match column.source {
                ColumnSource::Field(field) => {
                    let path = &shape.fields[field].path;
                    let value = value_at(path).filter(|v| !v.is_null());
                    let Some(value) = value else {
                        out.null();
                        continue;
                    };
                    let routes = &layout.field_columns[field];
                    match routes.iter().find(|(family, _)| accepts(*family, value)) {
                        Some((_, target)) if *target == index => {
                            check_value(column_type, value)
                                .and_then(|checked| out.value(column_type, checked))
                                .map_err(|reason| EncodeError::Invalid {
                                    path: self.full_path(table, path),
                                    reason,
                                })?;
                        }
                        Some(_) => out.null(),
                        None => {
                            let family = natural_family(value).expect("null was handled");
                            return Err(EncodeError::NeedsColumn {
                                table,
                                field,
                                column_type: ColumnType::general(family),
                            });
                        }
                    }
                }
                ColumnSource::SourceKey(key) => {
                    let value = self
                        .record
                        .get(&self.stream.key_properties[key])
                        .expect("key properties were checked");
                    check_value(column_type, value)
                        .and_then(|checked| out.value(column_type, checked))
                        .map_err(|reason| EncodeError::Invalid {
                            path: vec![self.stream.key_properties[key].clone()],
                            reason,
                        })?;
                }
                ColumnSource::LevelId(level) => {
                    let position = i64::try_from(self.levels[level]).expect("an array position");
                    out.integer(column_type, position);
                }
                ColumnSource::System(system) => self.write_system(&mut out, column_type, system),
                ColumnSource::Unused => out.null(),
            }
        }
        out.end();
        buffer.end_row();
        for &child in &shape.children {
            let array_path = &self.stream.shape.tables[child].array_path;
            let array = value_at(array_path);
            match array.map(Json::kind) {
                None | Some(Kind::Null) => {}
                Some(Kind::Array) => {
                    let elements = array.and_then(Json::as_array).unwrap_or_default();
                    for (position, element) in elements.into_iter().enumerate() {
                        self.levels.push(position as u64);
                        self.write_row(buffers, child, Row::Element(element))?;
                        self.levels.pop();
                    }
                }
                Some(_) => {
                    let other = array.expect("not None");
                    return Err(EncodeError::Invalid {
                        path: self.full_path(table, array_path),
                        reason: InvalidValue::WrongType {
                            expected: "an array",
                            found: other.kind().name(),
                        },
                    });
                }
            }
        }
        Ok(())
    }

    fn write_system(
        &self,
        out: &mut RowFields<'_>,
        column_type: &ColumnType,
        system: SystemColumn,
    ) {
        let text = match system {
            SystemColumn::ExtractedAt => self.meta.extracted_at,
            // Not sent: PostgreSQL fills them.
            SystemColumn::ReceivedAt | SystemColumn::BatchedAt => return,
            SystemColumn::DeletedAt => self.meta.deleted_at,
            SystemColumn::Sequence => {
                out.integer(column_type, self.meta.sequence);
                return;
            }
            SystemColumn::TableVersion => {
                match self
                    .meta
                    .version
                    .and_then(|version| i64::try_from(version).ok())
                {
                    Some(version) => out.integer(column_type, version),
                    None => out.null(),
                }
                return;
            }
        };
        match text {
            // Checked by the caller.
            Some((text, parsed)) => out.timestamp(column_type, text, parsed),
            None => out.null(),
        }
    }

    /// A field's path from the root record, for errors: `items[2].sku`.
    fn full_path(&self, table: usize, path: &[String]) -> Vec<String> {
        let mut full = self.stream.shape.tables[table].source_path.clone();
        full.extend(path.iter().cloned());
        full
    }
}
