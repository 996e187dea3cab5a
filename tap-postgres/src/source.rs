//! What the sync engine needs from PostgreSQL: the table, its literals, and its rows.
//!
//! Rows are read with `COPY (select …) TO STDOUT`: one streaming read, no cursor round trips, and
//! the text of every type exactly as PostgreSQL prints it; [`crate::value`] encodes each field.

use std::io::{BufRead, BufReader};

use common::State;
use common::catalog::StreamSelection;
use common::config::ConnectionConfig;
use common::state::{LogPosition, Lsn};
use common::sync::{KeyBound, Source, SourceColumn, SourceTable, SyncSettings};
use postgres::Client;
use serde_json::Value;

use crate::Error;
use crate::column_type::ValueKind;
use crate::discover::{indexed_columns, table_columns};
use crate::replication::reader::{LSN_PROPERTY, WalReader};
use crate::replication::{LogNames, confirmed_position};
use crate::server::ServerVersion;
use crate::sql::{bookmark_literal, qualified_table, quote_identifier};
use crate::value::CopyRow;

/// A PostgreSQL database as the engine reads it.
pub struct PostgresSource {
    pub client: Client,
    /// What the server's major allows, read at connect time.
    pub server: ServerVersion,
    /// For a new session after a transient failure.
    pub connection: ConnectionConfig,
    /// The database, for the SCHEMA's source.
    pub database: String,
    /// The slot and publication of LOG_BASED streams.
    pub log_names: LogNames,
    /// The position the slot is confirmed to: the oldest of the state the run started with,
    /// fixed at the first log reader (a reader opened again after a lost connection must not
    /// confirm what the target has not committed yet).
    pub log_confirmed: Option<Lsn>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Source for PostgresSource {
    const PROGRAM: &'static str = crate::NAME;
    type Kind = ValueKind;
    type Row = CopyRow;
    type Error = Error;
    type LogReader = WalReader;
    const LOG_SEQUENCE_PROPERTY: Option<&'static str> = Some(LSN_PROPERTY);

    fn open_table(
        &mut self,
        selection: &StreamSelection,
    ) -> Result<Option<SourceTable<ValueKind>>, Error> {
        let schema = selection.namespace.as_deref().unwrap_or("public");
        let table = &selection.table_name;
        let types = table_columns(&mut self.client, schema, table)?;
        if types.is_empty() {
            return Ok(None);
        }
        let columns = types
            .into_iter()
            .map(|(name, pg_type)| {
                let quoted = quote_identifier(&name);
                let expression = pg_type.select_expression(&quoted);
                SourceColumn {
                    select: if expression == quoted {
                        quoted
                    } else {
                        format!("{expression} as {quoted}")
                    },
                    kind: pg_type.value_kind(),
                    sql_type: pg_type.sql_type,
                    name,
                }
            })
            .collect();
        Ok(Some(SourceTable {
            from: qualified_table(schema, table),
            database: self.database.clone(),
            columns,
            indexed: indexed_columns(&mut self.client, schema, table)?,
        }))
    }

    /// Only the database's errors: a closed stdout (the target stopped) is a broken pipe too,
    /// and is never worth a retry.
    fn is_transient(error: &Error) -> bool {
        match error {
            Error::Connect(_) | Error::Query { .. } | Error::Read { .. } => {
                common::retry::any_cause(error, common::postgres::is_transient_cause)
            }
            Error::Log(crate::replication::LogError::Wire(error)) => error.is_transient(),
            Error::Tap(_) | Error::Sync(_) | Error::Log(_) => false,
        }
    }

    fn prepare_log(&mut self, streams: &[StreamSelection]) -> Result<(), Error> {
        let user = self.connection.user.clone();
        crate::replication::prepare(
            &mut self.client,
            self.server,
            &self.log_names,
            &user,
            streams,
        )
    }

    /// Changes after `position` are still in the WAL while the slot's confirmed position is not
    /// past it.
    fn log_position_available(&mut self, position: &LogPosition) -> Result<bool, Error> {
        let confirmed = confirmed_position(&mut self.client, &self.log_names.slot)?;
        Ok(match position {
            LogPosition::Wal(lsn) => confirmed.is_some_and(|confirmed| *lsn >= confirmed),
            LogPosition::Binlog(_) => false,
        })
    }

    /// The slot's confirmed position: a snapshot taken after it misses nothing the slot has.
    fn log_position(&mut self) -> Result<LogPosition, Error> {
        let confirmed = confirmed_position(&mut self.client, &self.log_names.slot)?;
        Ok(LogPosition::Wal(confirmed.unwrap_or(Lsn(0))))
    }

    /// The slot's confirmed position: shard runs never confirm the slot, so it is no later than
    /// the start of any shard's snapshot as long as no ordinary LOG_BASED run of the slot ran
    /// since the first shard started.
    fn activation_log_position(&mut self) -> Result<Option<LogPosition>, Error> {
        let confirmed = confirmed_position(&mut self.client, &self.log_names.slot)?;
        Ok(confirmed.map(LogPosition::Wal))
    }

    fn log_reader(
        &mut self,
        streams: &[StreamSelection],
        state: &State,
        settings: &SyncSettings,
    ) -> Result<WalReader, Error> {
        WalReader::open(self, streams, state, settings)
    }

    fn reconnect(&mut self) -> Result<(), Error> {
        self.client = crate::connect(&self.connection)?;
        Ok(())
    }

    fn quote_identifier(name: &str) -> String {
        quote_identifier(name)
    }

    fn literal(column: &SourceColumn<ValueKind>, value: &Value) -> String {
        bookmark_literal(value, &column.sql_type, &column.kind)
    }

    /// PostgreSQL compares rows in order and serves `(a, b) > (1, 2)` from the key's index.
    fn key_condition(keys: &[(String, String)], bound: KeyBound) -> String {
        let (columns, literals): (Vec<&str>, Vec<&str>) = keys
            .iter()
            .map(|(column, literal)| (column.as_str(), literal.as_str()))
            .unzip();
        format!(
            "({}) {} ({})",
            columns.join(", "),
            bound.operator(),
            literals.join(", ")
        )
    }

    fn read_rows<F>(&mut self, stream: &str, query: &str, mut each: F) -> Result<(), Error>
    where
        F: FnMut(&CopyRow) -> Result<(), Error>,
    {
        let copy = format!("copy ({query}) to stdout");
        let reader = self
            .client
            .copy_out(copy.as_str())
            .map_err(Error::query(format!("reading {stream}")))?;
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut row = CopyRow::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|source| Error::Read {
                    stream: stream.to_owned(),
                    source,
                })?;
            if read == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            row.parse(&line);
            each(&row)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_lost_session_is_transient_and_a_closed_stdout_is_not() {
        let reset = Error::Read {
            stream: "s".into(),
            source: io::ErrorKind::ConnectionReset.into(),
        };
        assert!(PostgresSource::is_transient(&reset));
        let stdout_closed = Error::Sync(common::sync::SyncError::Output(
            io::ErrorKind::BrokenPipe.into(),
        ));
        assert!(!PostgresSource::is_transient(&stdout_closed));
    }
}
