//! What the sync engine needs from MySQL or MariaDB: the table, its literals, and its rows.
//!
//! Rows are read with one unbuffered text-protocol query per stream: the server streams them and
//! [`crate::value`] encodes each field from the server's exact text.

use common::catalog::StreamSelection;
use common::config::ConnectionConfig;
use common::sync::{NoLogReader, Source, SourceColumn, SourceTable};
use mysql::Conn;
use mysql::prelude::Queryable;
use serde_json::Value;

use crate::Error;
use crate::column_type::ValueKind;
use crate::discover::read_relations;
use crate::sql::{bookmark_literal, qualified_table, quote_identifier};
use crate::value::MysqlRow;

/// A MySQL or MariaDB server as the engine reads it.
#[derive(Debug)]
pub struct MysqlSource {
    pub conn: Conn,
    /// For a new session after a transient failure.
    pub connection: ConnectionConfig,
    /// `tinyint(1)` columns as booleans.
    pub tinyint1_as_boolean: bool,
}

impl Source for MysqlSource {
    const PROGRAM: &'static str = crate::NAME;
    type Kind = ValueKind;
    type Row = MysqlRow;
    type Error = Error;
    type LogReader = NoLogReader;

    fn open_table(
        &mut self,
        selection: &StreamSelection,
    ) -> Result<Option<SourceTable<ValueKind>>, Error> {
        let Some(database) = selection.namespace.clone() else {
            return Ok(None);
        };
        let relation = read_relations(
            &mut self.conn,
            Some(std::slice::from_ref(&database)),
            Some(&selection.table_name),
        )?
        .into_values()
        .next();
        let Some(relation) = relation else {
            return Ok(None);
        };
        let columns = relation
            .columns
            .into_iter()
            .map(|(name, column_type, _)| {
                let kind = column_type.value_kind(self.tinyint1_as_boolean);
                SourceColumn {
                    select: column_type.select_expression(&quote_identifier(&name), &kind),
                    sql_type: column_type.column_type,
                    kind,
                    name,
                }
            })
            .collect();
        Ok(Some(SourceTable {
            from: qualified_table(&database, &selection.table_name),
            database,
            columns,
            indexed: relation.indexed.into_iter().collect(),
        }))
    }

    /// A lost connection, or one that cannot be opened again yet (a restarting server).
    fn is_transient(error: &Error) -> bool {
        match error {
            Error::Query { error, .. } => common::mysql::is_transient(error),
            Error::Connect(_) => true,
            _ => false,
        }
    }

    fn reconnect(&mut self) -> Result<(), Error> {
        self.conn = common::mysql::connect(&self.connection, &crate::connection::SESSION_SETUP)?;
        Ok(())
    }

    fn quote_identifier(name: &str) -> String {
        quote_identifier(name)
    }

    fn literal(column: &SourceColumn<ValueKind>, value: &Value) -> String {
        bookmark_literal(value, &column.kind)
    }

    fn read_rows<F>(&mut self, stream: &str, query: &str, mut each: F) -> Result<(), Error>
    where
        F: FnMut(&MysqlRow) -> Result<(), Error>,
    {
        let read_error = |error| Error::Query {
            what: format!("reading {stream}"),
            error,
        };
        let mut row = MysqlRow::default();
        for result in self.conn.query_iter(query).map_err(read_error)? {
            row.0 = result.map_err(read_error)?.unwrap();
            each(&row)?;
        }
        Ok(())
    }
}
