//! The tables the binlog reader follows: which binlog column is which catalog property, and
//! when a column added at the source must be announced with a new SCHEMA.
//!
//! A TABLE_MAP event names a table and lists its column types, positionally (MariaDB logs no
//! column names by default). The reader knows each table from `information_schema`, read when
//! the reader was made and again whenever a TABLE_MAP has more columns than the definition it
//! knows (an `ALTER TABLE … ADD COLUMN` since). A TABLE_MAP with fewer columns is an older
//! version of the table: its columns are the definition's first ones, as `ADD COLUMN` appends.
//!
//! Sent are the catalog's selected columns, plus the columns the table did not have at the first
//! TABLE_MAP of this run (added while this run's range of the log was written): those are new
//! to the catalog, announced with a SCHEMA carrying their property before the first record with
//! them. A column the catalog deselected is never sent.

use common::catalog::StreamSelection;
use common::json_schema::with_source;
use common::message::SchemaMessage;
use common::sync::{RowEncoder, log_based_schema};
use mysql::binlog::events::TableMapEvent;
use mysql::consts::ColumnType;
use serde_json::Value;

use super::BinlogError;
use super::position::FilePosition;
use super::values::BinlogColumn;
use crate::column_type::ValueKind;

/// A selected table as the reader follows it.
#[derive(Debug)]
pub(crate) struct TrackedTable {
    pub selection: StreamSelection,
    pub database: String,
    /// Changes at or before this position are in the stream's bookmark already.
    pub bookmark: FilePosition,
    /// The table's columns, in its order, as last read.
    columns: Vec<BinlogColumn>,
    /// The columns a record holds (indexes into `columns`), in the record's order.
    pub sent: Vec<usize>,
    pub encoder: RowEncoder<ValueKind>,
    /// How many columns the TABLE_MAP the mapping was made for had.
    mapped_count: Option<usize>,
    /// The column count of the first TABLE_MAP of this run.
    first_count: Option<usize>,
    /// The SCHEMA as last sent: the catalog's, plus announced columns.
    schema: Value,
}

/// What a TABLE_MAP asks of the reader.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Mapping {
    /// The mapping holds.
    Ready,
    /// The TABLE_MAP has columns the definition lacks: read the definition again.
    Stale,
}

impl TrackedTable {
    pub fn new(
        selection: StreamSelection,
        database: String,
        bookmark: FilePosition,
        columns: Vec<BinlogColumn>,
    ) -> Result<Self, BinlogError> {
        for column in columns
            .iter()
            .filter(|column| selection.columns.contains(&column.name))
        {
            if let Some(reason) = column.unsupported() {
                return Err(BinlogError::UnsupportedColumn {
                    stream: selection.tap_stream_id.clone(),
                    column: column.name.clone(),
                    reason,
                });
            }
        }
        let schema = selection.schema.clone();
        Ok(Self {
            selection,
            database,
            bookmark,
            columns,
            sent: Vec::new(),
            encoder: RowEncoder::new(Vec::new()),
            mapped_count: None,
            first_count: None,
            schema,
        })
    }

    /// The SCHEMA message as it stands.
    pub fn schema_message(&self) -> SchemaMessage {
        SchemaMessage {
            stream: self.selection.stream.clone(),
            schema: log_based_schema(
                &with_source(&self.schema, crate::NAME, &self.database),
                None,
            ),
            key_properties: self.selection.key_properties.clone(),
            bookmark_properties: None,
        }
    }

    /// The definition read again (after an ALTER TABLE).
    pub fn redefine(&mut self, columns: Vec<BinlogColumn>) {
        self.columns = columns;
        self.mapped_count = None;
    }

    pub fn column(&self, index: usize) -> &BinlogColumn {
        &self.columns[index]
    }

    /// Maps the columns of `table_map` to the table's; `Ok(Some(schema))` when columns new to
    /// the catalog start being sent with it.
    pub fn map(
        &mut self,
        table_map: &TableMapEvent<'_>,
        position: &str,
    ) -> Result<(Mapping, Option<SchemaMessage>), BinlogError> {
        let count = usize::try_from(table_map.columns_count()).unwrap_or(usize::MAX);
        if count > self.columns.len() {
            return Ok((Mapping::Stale, None));
        }
        if self.mapped_count == Some(count) {
            return Ok((Mapping::Ready, None));
        }
        let first_count = *self.first_count.get_or_insert(count);
        for (index, column) in self.columns[..count].iter().enumerate() {
            let logged = table_map.get_column_type(index).ok().flatten();
            if let Some(logged) = logged
                && !logs_as(&column.sql.data_type, column.sql.is_json, logged)
            {
                return Err(BinlogError::TableChanged {
                    stream: self.selection.tap_stream_id.clone(),
                    position: position.to_owned(),
                    reason: format!(
                        "column {:?} is {} but the binlog has {logged:?} in its place",
                        column.name, column.sql.column_type
                    ),
                });
            }
        }
        let selected = &self.selection.columns;
        let mut sent: Vec<usize> = selected
            .iter()
            .filter_map(|name| {
                self.columns[..count]
                    .iter()
                    .position(|column| &column.name == name)
            })
            .collect();
        let mut announced = false;
        for index in first_count..count {
            let column = &self.columns[index];
            if selected.contains(&column.name) || column.unsupported().is_some() {
                continue;
            }
            sent.push(index);
            if let Value::Object(schema) = &mut self.schema
                && let Some(Value::Object(properties)) = schema.get_mut("properties")
                && !properties.contains_key(&column.name)
            {
                properties.insert(
                    column.name.clone(),
                    column.sql.json_schema(&column.kind, column.nullable),
                );
                announced = true;
            }
        }
        self.encoder = RowEncoder::new(sent.iter().map(|&index| {
            let column = &self.columns[index];
            (column.name.clone(), column.kind.clone())
        }));
        self.sent = sent;
        self.mapped_count = Some(count);
        Ok((Mapping::Ready, announced.then(|| self.schema_message())))
    }
}

/// Whether a column of `data_type` is logged as `logged`. Unknown types pass: the check is there
/// to catch a column list that shifted, not to judge types.
fn logs_as(data_type: &str, is_json: bool, logged: ColumnType) -> bool {
    use ColumnType::*;
    let blob = matches!(
        logged,
        MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB
    );
    let string = matches!(
        logged,
        MYSQL_TYPE_STRING | MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING
    );
    if is_json {
        return blob || logged == MYSQL_TYPE_JSON;
    }
    match data_type {
        "tinyint" => logged == MYSQL_TYPE_TINY,
        "smallint" => logged == MYSQL_TYPE_SHORT,
        "mediumint" => logged == MYSQL_TYPE_INT24,
        "int" | "integer" => logged == MYSQL_TYPE_LONG,
        "bigint" => logged == MYSQL_TYPE_LONGLONG,
        "float" => logged == MYSQL_TYPE_FLOAT,
        "double" | "real" => logged == MYSQL_TYPE_DOUBLE,
        "decimal" | "numeric" => matches!(logged, MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL),
        "date" => matches!(logged, MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE),
        "datetime" => matches!(logged, MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2),
        "timestamp" => matches!(logged, MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2),
        "time" => matches!(logged, MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2),
        "year" => logged == MYSQL_TYPE_YEAR,
        "bit" => logged == MYSQL_TYPE_BIT,
        "char" | "varchar" | "binary" | "varbinary" => string,
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob"
        | "longblob" => blob,
        "json" => logged == MYSQL_TYPE_JSON || blob,
        "enum" => logged == MYSQL_TYPE_ENUM || string,
        "set" => logged == MYSQL_TYPE_SET || string,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_column_list_is_caught() {
        assert!(logs_as("int", false, ColumnType::MYSQL_TYPE_LONG));
        assert!(!logs_as("int", false, ColumnType::MYSQL_TYPE_VARCHAR));
        assert!(logs_as("longtext", true, ColumnType::MYSQL_TYPE_BLOB));
        assert!(logs_as("enum", false, ColumnType::MYSQL_TYPE_ENUM));
        assert!(logs_as("point", false, ColumnType::MYSQL_TYPE_GEOMETRY));
    }
}
