//! Sync: every selected stream, one after another, by its replication method.
//!
//! Rows are read with one unbuffered text-protocol query per stream: the server streams them, the
//! tap encodes each straight into a RECORD ([`crate::value`]), and no table is ever held in
//! memory. `currently_syncing` names the stream in progress, so an interrupted run starts with it
//! next time.

mod full_table;
mod incremental;

use common::json_schema::with_source;
use std::io::Write;

use common::catalog::{Catalog, ReplicationMethod, StreamSelection};
use common::message::SchemaMessage;
use common::metrics::RecordCounter;
use common::streams::sync_selected;
use common::{MessageWriter, State};
use mysql::Conn;
use mysql::Value as MysqlValue;
use mysql::prelude::Queryable;
use serde_json::{Map, Value};
use tracing::warn;

use crate::column_type::{MysqlType, ValueKind};
use crate::discover::read_relations;
use crate::sql::{bookmark_literal, qualified_table, quote_identifier};
use crate::value::RowEncoder;
use crate::{Error, MysqlConfig};

/// Syncs every selected stream, writing messages to `out`; returns the final state.
pub fn sync_streams(
    conn: &mut Conn,
    config: &MysqlConfig,
    catalog: &Catalog,
    mut state: State,
    out: &mut MessageWriter<impl Write>,
) -> Result<State, Error> {
    let default_method = config.tap.default_replication_method;
    sync_selected(
        catalog,
        default_method,
        &mut state,
        out,
        |selection, state, out| {
            let mut stream = StreamSync::new(conn, config, selection, state, out)?;
            match selection.replication_method {
                ReplicationMethod::FullTable => stream.sync_full_table(),
                ReplicationMethod::Incremental => stream.sync_incremental(),
                ReplicationMethod::LogBased => Err(Error::LogBasedUnavailable {
                    stream: selection.tap_stream_id.clone(),
                }),
            }
        },
    )?;
    Ok(state)
}

/// One stream's sync in progress.
struct StreamSync<'a, W: Write> {
    conn: &'a mut Conn,
    selection: &'a StreamSelection,
    state: &'a mut State,
    out: &'a mut MessageWriter<W>,
    /// Selected columns with their types and kinds, in selection order.
    columns: Vec<(String, MysqlType, ValueKind)>,
    indexed: Vec<String>,
    database: String,
    state_every_rows: u64,
    /// When the stream's read began, RFC 3339.
    time_extracted: String,
}

impl<'a, W: Write> StreamSync<'a, W> {
    fn new(
        conn: &'a mut Conn,
        config: &MysqlConfig,
        selection: &'a StreamSelection,
        state: &'a mut State,
        out: &'a mut MessageWriter<W>,
    ) -> Result<Self, Error> {
        let missing_table = || Error::MissingTable {
            stream: selection.tap_stream_id.clone(),
        };
        let database = selection.namespace.clone().ok_or_else(missing_table)?;
        let relation = read_relations(
            conn,
            Some(std::slice::from_ref(&database)),
            Some(&selection.table_name),
        )?
        .into_values()
        .next()
        .ok_or_else(missing_table)?;
        let mut types = relation.columns;
        let columns = selection
            .columns
            .iter()
            .map(|name| {
                let position = types
                    .iter()
                    .position(|(column, _, _)| column == name)
                    .ok_or_else(|| Error::MissingColumn {
                        stream: selection.tap_stream_id.clone(),
                        column: name.clone(),
                    })?;
                let (name, column_type, _) = types.swap_remove(position);
                let kind = column_type.value_kind(config.tinyint1_as_boolean);
                Ok((name, column_type, kind))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            conn,
            selection,
            state,
            out,
            columns,
            indexed: relation.indexed.into_iter().collect(),
            database,
            state_every_rows: config.tap.state_every_rows.max(1),
            time_extracted: common::message::now_rfc3339(),
        })
    }

    fn write_schema(&mut self, bookmark_properties: Option<Vec<String>>) -> Result<(), Error> {
        self.out.write_schema(&SchemaMessage {
            stream: self.selection.stream.clone(),
            schema: with_source(&self.selection.schema, crate::NAME, &self.database),
            key_properties: self.selection.key_properties.clone(),
            bookmark_properties,
        })?;
        Ok(())
    }

    fn column_index(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|(column, _, _)| column == name)
            .expect("key columns are always selected")
    }

    fn column_kind(&self, name: &str) -> &ValueKind {
        &self.columns[self.column_index(name)].2
    }

    fn table(&self) -> String {
        qualified_table(&self.database, &self.selection.table_name)
    }

    /// `select <columns> from <table>`.
    fn select_list(&self) -> String {
        let expressions: Vec<String> = self
            .columns
            .iter()
            .map(|(name, column_type, kind)| {
                column_type.select_expression(&quote_identifier(name), kind)
            })
            .collect();
        format!("select {} from {}", expressions.join(", "), self.table())
    }

    /// Warns when a replication key leads no index: every run then reads the whole table.
    fn warn_unless_indexed(&self, column: &str) {
        if !self.selection.is_view && !self.indexed.iter().any(|c| c == column) {
            warn!(
                stream = %self.selection.tap_stream_id,
                column,
                "the replication key has no index: each sync scans the whole table"
            );
        }
    }

    /// `keys <op> values` in lexicographic order, written out so that every server can use the
    /// primary key's index: `a > 1 or (a = 1 and b > 2)`.
    fn key_condition(
        &self,
        keys: &[String],
        values: &Map<String, Value>,
        strict: &str,
        last: &str,
    ) -> Result<String, Error> {
        let mut literals = Vec::new();
        for key in keys {
            let value = values.get(key).ok_or_else(|| Error::BadBookmark {
                stream: self.selection.tap_stream_id.clone(),
                reason: format!("the key bookmark has no value for {key:?}"),
            })?;
            literals.push((
                quote_identifier(key),
                bookmark_literal(value, self.column_kind(key)),
            ));
        }
        let alternatives: Vec<String> = (0..literals.len())
            .map(|position| {
                let mut terms: Vec<String> = literals[..position]
                    .iter()
                    .map(|(column, literal)| format!("{column} = {literal}"))
                    .collect();
                let (column, literal) = &literals[position];
                let op = if position + 1 == literals.len() {
                    last
                } else {
                    strict
                };
                terms.push(format!("{column} {op} {literal}"));
                format!("({})", terms.join(" and "))
            })
            .collect();
        Ok(format!("({})", alternatives.join(" or ")))
    }

    fn encoder(&self) -> RowEncoder {
        RowEncoder::new(
            self.columns
                .iter()
                .map(|(name, _, kind)| (name.clone(), kind.clone())),
        )
    }

    /// Streams `query`, writing a RECORD per row, and calls `checkpoint` with the row every
    /// `state_every_rows` rows (then writes STATE) and after the last one. Returns the row count.
    fn stream_records(
        &mut self,
        query: &str,
        version: Option<u64>,
        mut checkpoint: impl FnMut(&mut State, &RowEncoder, &[MysqlValue]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let mut encoder = self.encoder();
        let Self {
            conn,
            selection,
            state,
            out,
            state_every_rows,
            time_extracted,
            ..
        } = self;
        let read_error = |source| Error::Query {
            what: format!("reading {}", selection.tap_stream_id),
            error: source,
        };
        let mut counter = RecordCounter::new(&selection.stream).with_total(selection.row_count);
        let mut record = Vec::new();
        let mut last_row: Vec<MysqlValue> = Vec::new();
        let mut rows = 0_u64;
        let result = conn.query_iter(query).map_err(read_error)?;
        for row in result {
            let row = row.map_err(read_error)?.unwrap();
            encoder
                .encode(&row, &mut record)
                .map_err(|source| Error::Value {
                    stream: selection.tap_stream_id.clone(),
                    source,
                })?;
            out.write_record_json(&selection.stream, &record, version, Some(time_extracted))?;
            rows += 1;
            if let Some(metric) = counter.add(1) {
                metric.emit();
            }
            if rows.is_multiple_of(*state_every_rows) {
                checkpoint(state, &encoder, &row)?;
                out.write_state(state)?;
            }
            last_row = row;
        }
        if !rows.is_multiple_of(*state_every_rows) {
            checkpoint(state, &encoder, &last_row)?;
        }
        counter.finish().emit();
        Ok(rows)
    }

    /// The values of `columns` in the single row `query` returns, `None` when it returns none.
    fn read_single_row(
        &mut self,
        query: &str,
        columns: &[String],
    ) -> Result<Option<Map<String, Value>>, Error> {
        let encoder = RowEncoder::new(
            columns
                .iter()
                .map(|name| (name.clone(), self.column_kind(name).clone())),
        );
        let row: Option<mysql::Row> =
            self.conn
                .query_first(query)
                .map_err(|source| Error::Query {
                    what: format!("reading {}", self.selection.tap_stream_id),
                    error: source,
                })?;
        let Some(row) = row else {
            return Ok(None);
        };
        let values = row.unwrap();
        columns
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let value = encoder
                    .value(&values, index)
                    .map_err(|source| Error::Value {
                        stream: self.selection.tap_stream_id.clone(),
                        source,
                    })?;
                Ok((name.clone(), value))
            })
            .collect::<Result<Map<_, _>, Error>>()
            .map(Some)
    }
}
