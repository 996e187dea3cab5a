//! One stream's sync in progress: its table, the query's rows streamed into RECORDs, checkpoints.

use std::io::Write;

use serde_json::{Map, Value};

use super::log_based_schema;
use super::{Source, SourceColumn, SourceTable, SyncError, SyncSettings};
use crate::catalog::{ReplicationMethod, StreamSelection};
use crate::json_schema::with_source;
use crate::message::SchemaMessage;
use crate::metrics::RecordCounter;
use crate::sync::RowEncoder;
use crate::{Bookmark, MessageWriter, State};

pub(super) struct StreamSync<'a, S: Source, W: Write> {
    pub(super) source: &'a mut S,
    pub(super) selection: &'a StreamSelection,
    pub(super) state: &'a mut State,
    pub(super) out: &'a mut MessageWriter<W>,
    /// The table, with only the selected columns, in selection order.
    pub(super) table: SourceTable<S::Kind>,
    state_every_rows: u64,
    /// The shard this run reads, if it is a shard run.
    pub(super) shard: Option<super::ShardRun>,
    /// The run's shard plan, if given.
    pub(super) shard_plan: Option<std::sync::Arc<super::Plan>>,
    /// When the stream's read began, RFC 3339.
    time_extracted: String,
}

impl<'a, S: Source, W: Write> StreamSync<'a, S, W> {
    /// Reads the stream's table as it is now and keeps the selected columns.
    pub(super) fn open(
        source: &'a mut S,
        settings: &SyncSettings,
        selection: &'a StreamSelection,
        state: &'a mut State,
        out: &'a mut MessageWriter<W>,
    ) -> Result<Self, S::Error> {
        let table = open_table(source, selection)?;
        Ok(Self {
            source,
            selection,
            state,
            out,
            table,
            state_every_rows: settings.state_every_rows.max(1),
            shard: settings.shard,
            shard_plan: settings.shard_plan.clone(),
            time_extracted: crate::message::now_rfc3339(),
        })
    }

    pub(super) fn tap_stream_id(&self) -> &str {
        &self.selection.tap_stream_id
    }

    pub(super) fn bookmark(&mut self) -> &mut Bookmark {
        self.state.bookmark_mut(&self.selection.tap_stream_id)
    }

    pub(super) fn write_schema(
        &mut self,
        bookmark_properties: Option<Vec<String>>,
    ) -> Result<(), SyncError> {
        let mut message = schema_message::<S>(self.selection, &self.table.database);
        message.bookmark_properties = bookmark_properties;
        Ok(self.out.write_schema(&message)?)
    }

    pub(super) fn column(&self, name: &str) -> &SourceColumn<S::Kind> {
        self.table
            .columns
            .iter()
            .find(|column| column.name == name)
            .expect("key columns are always selected")
    }

    /// `select <columns> from <table>`.
    pub(super) fn select(&self, columns: &[SourceColumn<S::Kind>]) -> String {
        let list: Vec<&str> = columns.iter().map(|c| c.select.as_str()).collect();
        format!("select {} from {}", list.join(", "), self.table.from)
    }

    /// `column <op> literal` for each of `columns`, with their values in `values`.
    pub(super) fn key_condition(
        &self,
        columns: &[String],
        values: &Map<String, Value>,
        bound: super::KeyBound,
    ) -> Result<String, SyncError> {
        let terms = columns
            .iter()
            .map(|name| {
                let value = values.get(name).ok_or_else(|| SyncError::BadBookmark {
                    stream: self.tap_stream_id().to_owned(),
                    reason: format!("the key bookmark has no value for {name:?}"),
                })?;
                Ok((
                    S::quote_identifier(name),
                    S::literal(self.column(name), value),
                ))
            })
            .collect::<Result<Vec<_>, SyncError>>()?;
        Ok(S::key_condition(&terms, bound))
    }

    /// Streams `query`'s rows as RECORDs; every `state_every_rows` rows, and after the last one,
    /// `checkpoint` moves the bookmark with the last record sent (then STATE is written, except
    /// after the last row: the caller decides what follows). Returns the number of rows.
    pub(super) fn stream_records(
        &mut self,
        query: &str,
        version: Option<u64>,
        mut checkpoint: impl FnMut(&mut Bookmark, Map<String, Value>),
    ) -> Result<u64, S::Error> {
        let mut encoder = RowEncoder::new(
            self.table
                .columns
                .iter()
                .map(|column| (column.name.clone(), column.kind.clone())),
        );
        let Self {
            source,
            selection,
            state,
            out,
            state_every_rows,
            time_extracted,
            ..
        } = self;
        let id = &selection.tap_stream_id;
        let mut counter = RecordCounter::new(&selection.stream).with_total(selection.row_count);
        let mut record = Vec::new();
        let mut rows = 0_u64;
        source.read_rows(id, query, |row| {
            encoder
                .encode(row, &mut record)
                .map_err(|source| SyncError::Value {
                    stream: id.clone(),
                    row: rows + 1,
                    source,
                })?;
            out.write_record_json(&selection.stream, &record, version, Some(time_extracted))
                .map_err(SyncError::from)?;
            rows += 1;
            if let Some(metric) = counter.add(1) {
                metric.emit();
            }
            if rows.is_multiple_of(*state_every_rows) {
                checkpoint(state.bookmark_mut(id), parse_record(id, &record)?);
                out.write_state(state).map_err(SyncError::from)?;
            }
            Ok(())
        })?;
        if !rows.is_multiple_of(*state_every_rows) {
            checkpoint(state.bookmark_mut(id), parse_record(id, &record)?);
        }
        counter.finish().emit();
        Ok(rows)
    }

    /// The values of `columns` in the first row of `query`, `None` when it returns none.
    pub(super) fn read_first_row(
        &mut self,
        query: &str,
        columns: &[SourceColumn<S::Kind>],
    ) -> Result<Option<Map<String, Value>>, S::Error> {
        let mut encoder = RowEncoder::new(
            columns
                .iter()
                .map(|column| (column.name.clone(), column.kind.clone())),
        );
        let id = &self.selection.tap_stream_id;
        let mut first = None;
        self.source.read_rows(id, query, |row| {
            if first.is_none() {
                let mut record = Vec::new();
                encoder
                    .encode(row, &mut record)
                    .map_err(|source| SyncError::Value {
                        stream: id.clone(),
                        row: 1,
                        source,
                    })?;
                first = Some(parse_record(id, &record)?);
            }
            Ok(())
        })?;
        Ok(first)
    }
}

/// The table a stream reads, as it is now, with only the selected columns in selection order.
pub(super) fn open_table<S: Source>(
    source: &mut S,
    selection: &StreamSelection,
) -> Result<SourceTable<S::Kind>, S::Error> {
    let mut table = source
        .open_table(selection)?
        .ok_or_else(|| SyncError::MissingTable {
            stream: selection.tap_stream_id.clone(),
        })?;
    table.keep_selected(selection)?;
    Ok(table)
}

/// A stream's SCHEMA: the catalog's JSON Schema with its source, and for a LOG_BASED stream the
/// properties its changes carry ([`log_based_schema`]).
pub fn schema_message<S: Source>(selection: &StreamSelection, database: &str) -> SchemaMessage {
    let mut schema = with_source(&selection.schema, S::PROGRAM, database);
    if selection.replication_method == ReplicationMethod::LogBased {
        schema = log_based_schema(&schema, S::LOG_SEQUENCE_PROPERTY);
    }
    SchemaMessage {
        stream: selection.stream.clone(),
        schema,
        key_properties: selection.key_properties.clone(),
        bookmark_properties: None,
    }
}

impl<K> SourceTable<K> {
    /// Keeps only the selected columns, in selection order.
    pub fn keep_selected(&mut self, selection: &StreamSelection) -> Result<(), SyncError> {
        let mut columns = std::mem::take(&mut self.columns);
        self.columns = selection
            .columns
            .iter()
            .map(|name| {
                let position = columns
                    .iter()
                    .position(|column| &column.name == name)
                    .ok_or_else(|| SyncError::MissingColumn {
                        stream: selection.tap_stream_id.clone(),
                        column: name.clone(),
                    })?;
                Ok(columns.swap_remove(position))
            })
            .collect::<Result<_, SyncError>>()?;
        Ok(())
    }
}

/// A record the encoder wrote, read back for its bookmark values: bookmarks hold exactly what
/// was sent. Done once per checkpoint, not per row.
pub(super) fn parse_record(stream: &str, record: &[u8]) -> Result<Map<String, Value>, SyncError> {
    serde_json::from_slice(record).map_err(|_| SyncError::NotJson {
        stream: stream.to_owned(),
    })
}
