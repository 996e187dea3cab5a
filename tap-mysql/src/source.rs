//! What the sync engine needs from MySQL or MariaDB: the table, its literals, and its rows.
//!
//! Rows are read with one unbuffered text-protocol query per stream: the server streams them and
//! [`crate::value`] encodes each field from the server's exact text. LOG_BASED streams are read
//! from the binlog by [`crate::binlog`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::State;
use common::catalog::StreamSelection;
use common::config::ConnectionConfig;
use common::state::{BinlogPosition, LogPosition};
use common::sync::{Source, SourceColumn, SourceTable, SyncError, SyncSettings};
use mysql::Conn;
use mysql::prelude::Queryable;
use serde_json::Value;

use crate::Error;
use crate::binlog::gtid::GtidPosition;
use crate::binlog::position::{self, FilePosition, Flavor, Resume};
use crate::binlog::{BinlogError, BinlogReader, checks};
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
    /// The replica id the binlog reader registers with.
    pub server_id: u32,
}

impl MysqlSource {
    /// Whether the server still has the binlog from `position`: `false` when its file was
    /// purged (or the position is from another server, or is not a binlog position), and the
    /// stream holding it needs a new snapshot. A bookmark with a GTID position counts as
    /// available when the server can resume from that (see [`position::resume_point`]).
    pub fn position_available(&mut self, position: &LogPosition) -> Result<bool, Error> {
        let LogPosition::Binlog(position) = position else {
            return Ok(false);
        };
        let flavor = Flavor::of(&mut self.conn)?;
        let logs = position::binary_logs(&mut self.conn)?;
        Ok(position::resume_point(&mut self.conn, flavor, &logs, position)?.is_some())
    }

    /// Where the reader starts for every stream: the earliest file and offset when all
    /// streams resume from one; otherwise (a stream resumes by GTID) the earliest GTID position
    /// of all of them, domain by domain, with an empty file.
    fn start_of(
        &mut self,
        flavor: Flavor,
        resumes: Vec<(Resume, BinlogPosition)>,
    ) -> Result<BinlogPosition, Error> {
        let by_gtid = resumes
            .iter()
            .any(|(resume, _)| matches!(resume, Resume::Gtid(_)));
        if !by_gtid {
            return resumes
                .into_iter()
                .map(|(_, bookmark)| bookmark)
                .min_by(|a, b| FilePosition::of(a).cmp(&FilePosition::of(b)))
                .ok_or_else(|| SyncError::LogBasedUnavailable.into());
        }
        let mut start: Option<GtidPosition> = None;
        for (resume, bookmark) in resumes {
            let gtid = match resume {
                Resume::Gtid(gtid) => gtid,
                Resume::File(at) => position::gtid_at(&mut self.conn, &at.file, at.offset)?
                    .ok_or_else(|| BinlogError::Unreadable {
                        position: bookmark.to_string(),
                        reason: "the server has no GTID position for it, and another stream \
                                 resumes by GTID"
                            .into(),
                    })?,
            };
            start = Some(match start {
                Some(start) => start.earliest(&gtid),
                None => gtid,
            });
        }
        debug_assert_eq!(flavor, Flavor::MariaDb, "only MariaDB resumes by GTID");
        Ok(BinlogPosition {
            file: String::new(),
            position: 0,
            gtid: start.map(|gtid| gtid.to_string()),
        })
    }
}

impl Source for MysqlSource {
    const PROGRAM: &'static str = crate::NAME;
    type Kind = ValueKind;
    type Row = MysqlRow;
    type Error = Error;
    type LogReader = BinlogReader;

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

    /// Checks that the server can serve LOG_BASED replication at all (binlog on, row format,
    /// full row images, the grants), with the fix for what is missing.
    fn prepare_log(&mut self, _streams: &[StreamSelection]) -> Result<(), Error> {
        let flavor = Flavor::of(&mut self.conn)?;
        checks::check_server(&mut self.conn, flavor)
    }

    fn log_position_available(&mut self, position: &LogPosition) -> Result<bool, Error> {
        self.position_available(position)
    }

    /// The binlog's current file and offset, with the GTID position where GTIDs are on.
    fn log_position(&mut self) -> Result<LogPosition, Error> {
        let flavor = Flavor::of(&mut self.conn)?;
        Ok(LogPosition::Binlog(position::current_position(
            &mut self.conn,
            flavor,
        )?))
    }

    /// A reader from the earliest of the streams' bookmarks to the binlog's end as it is now.
    /// Every stream must have a binlog position the server still has
    /// ([`BinlogError::Purged`] otherwise: see [`MysqlSource::position_available`]).
    fn log_reader(
        &mut self,
        streams: &[StreamSelection],
        state: &State,
        settings: &SyncSettings,
    ) -> Result<BinlogReader, Error> {
        let flavor = Flavor::of(&mut self.conn)?;
        checks::check_server(&mut self.conn, flavor)?;
        let logs = position::binary_logs(&mut self.conn)?;
        let mut resumes = Vec::with_capacity(streams.len());
        let mut tables = HashMap::new();
        for selection in streams {
            let stream = || selection.tap_stream_id.clone();
            let bookmark = match state
                .bookmark(&selection.tap_stream_id)
                .and_then(common::Bookmark::log_position)
            {
                Some(LogPosition::Binlog(bookmark)) => bookmark,
                _ => return Err(BinlogError::NoBookmark { stream: stream() }.into()),
            };
            let Some(resume) = position::resume_point(&mut self.conn, flavor, &logs, &bookmark)?
            else {
                return Err(BinlogError::Purged {
                    stream: stream(),
                    position: bookmark,
                }
                .into());
            };
            let (database, columns) =
                BinlogReader::read_table(&mut self.conn, selection, self.tinyint1_as_boolean)?
                    .ok_or_else(|| SyncError::MissingTable { stream: stream() })?;
            if let Some(missing) = selection
                .columns
                .iter()
                .find(|name| !columns.iter().any(|column| &column.name == *name))
            {
                return Err(SyncError::MissingColumn {
                    stream: stream(),
                    column: missing.clone(),
                }
                .into());
            }
            // Events up to the bookmark are skipped for this stream; resumed by GTID, none
            // are (the server skips the groups before it; a change seen twice is harmless).
            let skip_to = match &resume {
                Resume::File(at) => at.clone(),
                Resume::Gtid(_) => FilePosition {
                    file: String::new(),
                    offset: 0,
                },
            };
            let table = crate::binlog::TrackedTable::new(
                selection.clone(),
                database.clone(),
                skip_to,
                columns,
            )?;
            tables.insert((database, selection.table_name.clone()), table);
            resumes.push((resume, bookmark));
        }
        let start = self.start_of(flavor, resumes)?;
        Ok(BinlogReader {
            connection: self.connection.clone(),
            server_id: self.server_id,
            flavor,
            checksums: position::writes_checksums(&mut self.conn)?,
            tinyint1_as_boolean: self.tinyint1_as_boolean,
            deadline: settings
                .max_run_seconds
                .map(|seconds| Instant::now() + Duration::from_secs(seconds)),
            start,
            end: position::log_end(&mut self.conn)?,
            tables,
        })
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
