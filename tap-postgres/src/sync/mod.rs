//! Sync: every selected stream, one after another, by its replication method.
//!
//! Rows are read with `COPY (select …) TO STDOUT`: one streaming read, no cursor round trips, and
//! the text of every type exactly as PostgreSQL prints it; [`crate::value`] turns each row into a
//! RECORD's JSON. `currently_syncing` names the stream in progress, so an interrupted run starts
//! with it next time.

mod full_table;
mod incremental;

use common::json_schema::with_source;
use std::io::{BufRead, BufReader};

use common::catalog::{Catalog, ReplicationMethod, StreamSelection};
use common::config::TapConfig;
use common::message::SchemaMessage;
use common::metrics::RecordCounter;
use common::streams::sync_selected;
use common::{MessageWriter, State};
use postgres::Client;
use serde_json::Value;
use tracing::warn;

use crate::Error;
use crate::column_type::PgType;
use crate::discover::{table_columns, table_keys};
use crate::sql::{qualified_table, quote_identifier};
use crate::value::{CopyRow, RowEncoder};

/// Syncs every selected stream, writing messages to `out`; returns the final state.
pub fn sync_streams(
    client: &mut Client,
    config: &TapConfig,
    catalog: &Catalog,
    mut state: State,
    out: &mut MessageWriter<impl std::io::Write>,
) -> Result<State, Error> {
    let default_method = config.default_replication_method;
    sync_selected(
        catalog,
        default_method,
        &mut state,
        out,
        |selection, state, out| {
            let mut stream = StreamSync::new(client, config, selection, state, out)?;
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
struct StreamSync<'a, W: std::io::Write> {
    client: &'a mut Client,
    selection: &'a StreamSelection,
    state: &'a mut State,
    out: &'a mut MessageWriter<W>,
    /// Selected columns with their types, in selection order.
    columns: Vec<(String, PgType)>,
    state_every_rows: u64,
    /// When the stream's read began, RFC 3339.
    time_extracted: String,
    /// The database, for the SCHEMA's source.
    database: String,
}

impl<'a, W: std::io::Write> StreamSync<'a, W> {
    fn new(
        client: &'a mut Client,
        config: &TapConfig,
        selection: &'a StreamSelection,
        state: &'a mut State,
        out: &'a mut MessageWriter<W>,
    ) -> Result<Self, Error> {
        let schema = selection.namespace.as_deref().unwrap_or("public");
        let mut types = table_columns(client, schema, &selection.table_name)?;
        if types.is_empty() {
            return Err(Error::MissingTable {
                stream: selection.tap_stream_id.clone(),
            });
        }
        let columns = selection
            .columns
            .iter()
            .map(|name| {
                let position = types
                    .iter()
                    .position(|(column, _)| column == name)
                    .ok_or_else(|| Error::MissingColumn {
                        stream: selection.tap_stream_id.clone(),
                        column: name.clone(),
                    })?;
                Ok(types.swap_remove(position))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            client,
            selection,
            state,
            out,
            columns,
            state_every_rows: config.state_every_rows.max(1),
            time_extracted: common::message::now_rfc3339(),
            database: config.connection.dbname.clone().unwrap_or_default(),
        })
    }

    fn tap_stream_id(&self) -> &str {
        &self.selection.tap_stream_id
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

    fn column_type(&self, name: &str) -> &PgType {
        let (_, pg_type) = self
            .columns
            .iter()
            .find(|(column, _)| column == name)
            .expect("key columns are always selected");
        pg_type
    }

    fn column_index(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|(column, _)| column == name)
            .expect("key columns are always selected")
    }

    fn encoder(&self) -> RowEncoder {
        RowEncoder::new(
            self.columns
                .iter()
                .map(|(name, pg_type)| (name.clone(), pg_type.value_kind())),
        )
    }

    fn table(&self) -> String {
        qualified_table(
            self.selection.namespace.as_deref().unwrap_or("public"),
            &self.selection.table_name,
        )
    }

    /// `select <columns> from <table>`.
    fn select_list(&self) -> String {
        let expressions: Vec<String> = self
            .columns
            .iter()
            .map(|(name, pg_type)| {
                let quoted = quote_identifier(name);
                let expression = pg_type.select_expression(&quoted);
                if expression == quoted {
                    quoted
                } else {
                    format!("{expression} as {quoted}")
                }
            })
            .collect();
        format!("select {} from {}", expressions.join(", "), self.table())
    }

    /// Warns when a replication key leads no index: every run then reads the whole table.
    fn warn_unless_indexed(&mut self, column: &str) -> Result<(), Error> {
        let schema = self
            .selection
            .namespace
            .clone()
            .unwrap_or_else(|| "public".into());
        let keys = table_keys(self.client)?;
        let indexed = keys
            .get(&(schema, self.selection.table_name.clone()))
            .is_some_and(|keys| keys.indexed.contains(column));
        if !indexed && !self.selection.is_view {
            warn!(
                stream = %self.tap_stream_id(),
                column,
                "the replication key has no index: each sync scans the whole table"
            );
        }
        Ok(())
    }

    /// Streams `query` through COPY, writing a RECORD per row, and calls `checkpoint` with the
    /// row every `state_every_rows` rows (then writes STATE) and after the last one. Returns the
    /// number of rows.
    fn copy_records(
        &mut self,
        query: &str,
        version: Option<u64>,
        mut checkpoint: impl FnMut(&mut State, &mut RowEncoder, &CopyRow) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let mut encoder = self.encoder();
        let Self {
            client,
            selection,
            state,
            out,
            state_every_rows,
            time_extracted,
            ..
        } = self;
        let stream_error = |source| Error::Read {
            stream: selection.tap_stream_id.clone(),
            source,
        };
        let mut counter = RecordCounter::new(&selection.stream).with_total(selection.row_count);
        let mut row = CopyRow::default();
        let mut line = Vec::new();
        let mut record = Vec::new();
        let copy = format!("copy ({query}) to stdout");
        let reader = client
            .copy_out(copy.as_str())
            .map_err(|source| Error::Query {
                what: format!("reading {}", selection.tap_stream_id),
                source,
            })?;
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut rows = 0_u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(stream_error)? == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            row.parse(&line);
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
                checkpoint(state, &mut encoder, &row)?;
                out.write_state(state)?;
            }
        }
        if !rows.is_multiple_of(*state_every_rows) {
            checkpoint(state, &mut encoder, &row)?;
        }
        counter.finish().emit();
        Ok(rows)
    }

    /// Runs a query through COPY and returns its single row's values as JSON, `None` when empty.
    fn copy_single_row(
        &mut self,
        query: &str,
        columns: &[String],
    ) -> Result<Option<Vec<Value>>, Error> {
        let mut encoder = RowEncoder::new(
            columns
                .iter()
                .map(|name| (name.clone(), self.column_type(name).value_kind())),
        );
        let copy = format!("copy ({query}) to stdout");
        let mut reader = self
            .client
            .copy_out(copy.as_str())
            .map_err(|source| Error::Query {
                what: format!("reading {}", self.selection.tap_stream_id),
                source,
            })?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut text).map_err(|source| Error::Read {
            stream: self.selection.tap_stream_id.clone(),
            source,
        })?;
        let Some(line) = text.split(|&b| b == b'\n').next().filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let mut row = CopyRow::default();
        row.parse(line);
        let values = (0..columns.len())
            .map(|index| encoder.value(&row, index))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Value {
                stream: self.selection.tap_stream_id.clone(),
                source,
            })?;
        Ok(Some(values))
    }
}
