//! How a stream's records are written into its tables: for each table, its columns in order and
//! what fills each one (a property, a key of the root record, an array position, a system column).
//!
//! The DDL plan (`ddl`) makes a [`StreamLayout`] from the stream's shape and the tables as they
//! are; the encoder (`denest::record`) writes rows by it and the loader names its columns.

use crate::column_type::{ColumnType, Family};
use crate::copy_format::CopyFormat;
use crate::system_column::SystemColumn;

/// Where a column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSource {
    /// A field of the table's shape.
    Field(usize),
    /// The root record's i-th key property, in a child table.
    SourceKey(usize),
    /// The position in the i-th array level.
    LevelId(usize),
    System(SystemColumn),
    /// A column nothing fills any more (a removed property, an older type): NULL.
    Unused,
}

/// One column of a table, and what fills it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutColumn {
    pub name: String,
    pub column_type: ColumnType,
    pub source: ColumnSource,
}

impl LayoutColumn {
    /// Filled by PostgreSQL, not sent in COPY.
    pub fn is_filled_by_database(&self) -> bool {
        matches!(self.source, ColumnSource::System(system) if system.filled_by_database())
    }
}

/// How one table of a stream is written: its columns in order and where each value comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLayout {
    pub table: String,
    pub columns: Vec<LayoutColumn>,
    /// The primary key: the root's key columns; a child's source keys (or `_sdc_sequence`) and
    /// level ids.
    pub primary_key: Vec<String>,
    /// Columns linking rows to their root record: the root's key columns, or in a child table its
    /// `_sdc_source_key_*` columns. `_sdc_sequence` when the stream has no key.
    pub root_link: Vec<String>,
    /// For each field of the shape, its columns by family, in the order the schema lists types.
    pub field_columns: Vec<Vec<(Family, usize)>>,
    pub created_now: bool,
    /// How its rows are sent (see `copy_format`).
    pub format: CopyFormat,
}

impl TableLayout {
    /// The columns whose values tell whether a row the warehouse holds changed: what the stream
    /// sends and the row's deletion and version, not the key (equal on a conflict) nor the
    /// times and sequence of the load. With whether each must be compared as text (see
    /// [`ColumnType::equal_means_same`]).
    pub fn compared_columns(&self) -> Vec<(String, bool)> {
        self.columns
            .iter()
            .filter(|column| !self.primary_key.contains(&column.name))
            .filter(|column| match column.source {
                ColumnSource::Field(_) | ColumnSource::SourceKey(_) | ColumnSource::LevelId(_) => {
                    true
                }
                ColumnSource::System(system) => {
                    matches!(system, SystemColumn::DeletedAt | SystemColumn::TableVersion)
                }
                ColumnSource::Unused => false,
            })
            .map(|column| (column.name.clone(), !column.column_type.equal_means_same()))
            .collect()
    }
}

/// All tables of one stream, parallel to its shape's tables.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLayout {
    pub tables: Vec<TableLayout>,
    pub has_key: bool,
}

impl StreamLayout {
    /// Each table's COPY format: binary where the config allows it and every column has a binary
    /// writer.
    pub fn with_copy_format(mut self, binary_allowed: bool) -> Self {
        for table in &mut self.tables {
            table.format = CopyFormat::for_columns(&table.columns, binary_allowed);
        }
        self
    }
}
