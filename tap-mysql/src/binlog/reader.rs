//! The binlog reader: one connection registered as a replica, reading from the earliest bookmark
//! of the LOG_BASED streams to the log's end as it was when the reader was made.
//!
//! Positions: every event's header holds the offset where it ends, which is where a reader
//! resumed after it starts. The position advances with each event that belongs to the file (the
//! server's artificial events, with offset 0, do not move it) and moves to a new file at ROTATE.
//! Transactions: a MariaDB group opens at its GTID event (or a `BEGIN` query) and closes at XID,
//! at a `COMMIT` query, or, for a standalone group (DDL), after its one statement. Only a closed
//! group moves a bookmark.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::catalog::StreamSelection;
use common::config::ConnectionConfig;
use common::message::now_rfc3339;
use common::state::{BinlogPosition, LogPosition};
use common::sync::{LogEvent, LogReader, LogSender};
use mysql::binlog::EventType;
use mysql::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql::prelude::Queryable;
use mysql::{BinlogDumpFlags, BinlogRequest, BinlogStream, Conn};
use tracing::{debug, info};

use super::BinlogError;
use super::gtid::{self, Gtid, GtidPosition};
use super::position::{FilePosition, Flavor, query};
use super::tables::{Mapping, TrackedTable};
use super::values::{BinlogColumn, TextRow};
use crate::Error;
use crate::discover::read_relations;

/// How long the server may stay silent before the read fails: events of the log's past come
/// back to back, and the dump ends when it reaches the log's end.
const READ_TIMEOUT: Duration = Duration::from_secs(300);

/// A transaction with no record for the streams still moves the bookmarks, but at most this often.
const IDLE_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// MariaDB's event types for compressed events (`log_bin_compress`).
const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 0xa4..=0xa9;

/// MySQL's "access denied; you need the … privilege" and MariaDB's equivalent.
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
const ER_ACCESS_DENIED: u16 = 1045;
/// MariaDB's "a slave with the same server_uuid/server_id is already connected".
const ER_SLAVE_SAME_ID: u16 = 4052;
/// The server cannot read the binlog from the requested position.
const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;

/// A reader of the binlog for the LOG_BASED streams, ready to run on its own thread.
pub struct BinlogReader {
    pub(crate) connection: ConnectionConfig,
    pub(crate) server_id: u32,
    pub(crate) flavor: Flavor,
    /// The server writes event checksums (`binlog_checksum` is not `NONE`).
    pub(crate) checksums: bool,
    pub(crate) tinyint1_as_boolean: bool,
    pub(crate) deadline: Option<Instant>,
    /// The earliest bookmark: where reading starts.
    pub(crate) start: BinlogPosition,
    /// The log's end when the reader was made: where it stops.
    pub(crate) end: FilePosition,
    /// `(database, table)` → the stream reading it.
    pub(crate) tables: HashMap<(String, String), TrackedTable>,
}

impl std::fmt::Debug for BinlogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinlogReader")
            .field("server_id", &self.server_id)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("streams", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl BinlogReader {
    /// `selection`'s table as it is now.
    pub(crate) fn read_table(
        conn: &mut Conn,
        selection: &StreamSelection,
        tinyint1_as_boolean: bool,
    ) -> Result<Option<(String, Vec<BinlogColumn>)>, Error> {
        let Some(database) = selection.namespace.clone() else {
            return Ok(None);
        };
        let relation = read_relations(
            conn,
            Some(std::slice::from_ref(&database)),
            Some(&selection.table_name),
        )?
        .into_values()
        .next();
        Ok(relation.map(|relation| {
            let columns = relation
                .columns
                .into_iter()
                .map(|(name, sql, nullable)| {
                    let nullable = nullable && !relation.primary_key.contains(&name);
                    BinlogColumn::new(name, sql, nullable, tinyint1_as_boolean)
                })
                .collect();
            (database, columns)
        }))
    }
}

impl LogReader<Error> for BinlogReader {
    fn read(self, events: LogSender) -> Result<(), Error> {
        let mut run = Run::new(self);
        match run.read(&events) {
            Err(Stop::WriterGone) | Ok(()) => Ok(()),
            Err(Stop::Failed(error)) => Err(error),
        }
    }
}

/// Why reading ended early.
enum Stop {
    WriterGone,
    Failed(Error),
}

impl<E: Into<Error>> From<E> for Stop {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

/// One run of the reader: where it is, what is open.
struct Run {
    reader: BinlogReader,
    /// Where the last event read ends.
    at: FilePosition,
    gtids: GtidPosition,
    /// The GTID of the open group.
    pending_gtid: Option<Gtid>,
    /// A group (transaction) is open: no bookmark may be written.
    in_transaction: bool,
    /// The open group is one statement (DDL): it closes after it.
    standalone: bool,
    /// Records were sent since the last commit.
    dirty: bool,
    last_commit: Option<(FilePosition, Instant)>,
    /// Table id of the binlog → the table's key in `reader.tables`.
    table_ids: HashMap<u64, (String, String)>,
    /// A connection for re-reading table definitions, opened when first needed.
    metadata: Option<Conn>,
    /// A FORMAT_DESCRIPTION event was read: the driver strips checksums from now on.
    format_seen: bool,
    row: TextRow,
    record: Vec<u8>,
    records: u64,
}

impl Run {
    fn new(reader: BinlogReader) -> Self {
        let gtids = reader
            .start
            .gtid
            .as_deref()
            .and_then(|text| text.parse().ok())
            .unwrap_or_default();
        Self {
            at: FilePosition::of(&reader.start),
            reader,
            gtids,
            pending_gtid: None,
            in_transaction: false,
            standalone: false,
            dirty: false,
            last_commit: None,
            table_ids: HashMap::new(),
            metadata: None,
            format_seen: false,
            row: TextRow::default(),
            record: Vec::new(),
            records: 0,
        }
    }

    fn read(&mut self, events: &LogSender) -> Result<(), Stop> {
        info!(
            from = %self.reader.start,
            to = %format!("{}:{}", self.reader.end.file, self.reader.end.offset),
            streams = self.reader.tables.len(),
            "reading the binlog"
        );
        if self.at < self.reader.end {
            let mut binlog = self.open_binlog()?;
            while let Some(event) = binlog.next() {
                let event = event.map_err(|error| self.read_error(error))?;
                self.handle(&binlog, &event, events)?;
                if !self.in_transaction
                    && (self.at >= self.reader.end
                        || self.reader.deadline.is_some_and(|at| Instant::now() >= at))
                {
                    break;
                }
            }
            if self.by_gtid().is_some() && !self.in_transaction && self.at < self.reader.end {
                // The dump ended before the end it was read up to: the server skipped the
                // groups up to the GTID position, all before that end, and sent nothing after.
                self.at = self.reader.end.clone();
            }
        }
        if self.in_transaction {
            // The dump ended inside a group (a server that stopped mid-write): what was read of
            // the group stays uncommitted.
            return Err(Stop::Failed(
                BinlogError::Unreadable {
                    position: self.position_text(),
                    reason: "the binlog ended inside a transaction".into(),
                }
                .into(),
            ));
        }
        self.commit(events, true)?;
        info!(records = self.records, at = %self.position_text(), "binlog read up to its end");
        Ok(())
    }

    /// A new connection registered as a replica, dumping from the start position.
    fn open_binlog(&mut self) -> Result<BinlogStream, Error> {
        let mut conn = common::mysql::connect_with_read_timeout(
            &self.reader.connection,
            &crate::connection::SESSION_SETUP,
            Some(READ_TIMEOUT),
        )?;
        // A slow target can keep the reader from reading for longer than the server's
        // net_write_timeout (60 s by default), after which the server would end the dump.
        conn.query_drop("set session net_write_timeout = 3600")
            .map_err(query("setting the dump's write timeout"))?;
        if self.reader.flavor == Flavor::MariaDb {
            // Without it MariaDB replaces GTID events with BEGIN queries.
            conn.query_drop("set @mariadb_slave_capability = 4")
                .map_err(query("announcing the replica's capabilities"))?;
        }
        let mut request = BinlogRequest::new(self.reader.server_id)
            .with_filename(self.reader.start.file.as_bytes().to_vec())
            .with_pos(self.reader.start.position)
            .with_flags(BinlogDumpFlags::BINLOG_DUMP_NON_BLOCK);
        if let Some(gtid) = self.by_gtid() {
            // MariaDB finds the file itself and skips the groups the position already holds;
            // the file name sent is then ignored.
            conn.exec_drop("set @slave_connect_state = ?", (gtid,))
                .map_err(query("setting the GTID position to read from"))?;
            request = request.with_filename(Vec::new()).with_pos(4_u64);
        }
        conn.get_binlog_stream(request)
            .map_err(|error| self.read_error(error))
    }

    /// The GTID position the reader starts from, when it starts from one (MariaDB, a bookmark
    /// resumed by GTID: its file is empty).
    fn by_gtid(&self) -> Option<&str> {
        let start = &self.reader.start;
        (self.reader.flavor == Flavor::MariaDb && start.file.is_empty())
            .then_some(start.gtid.as_deref())
            .flatten()
    }

    fn read_error(&self, error: mysql::Error) -> Error {
        let position = self.position_text();
        match &error {
            mysql::Error::MySqlError(server)
                if server.code == ER_SPECIFIC_ACCESS_DENIED || server.code == ER_ACCESS_DENIED =>
            {
                BinlogError::DumpRefused {
                    user: self.reader.connection.user.clone(),
                    reason: common::mysql::describe(&error),
                }
                .into()
            }
            mysql::Error::MySqlError(server)
                if server.code == ER_SLAVE_SAME_ID
                    || server.message.contains("same server_uuid/server_id") =>
            {
                BinlogError::DuplicateServerId {
                    server_id: self.reader.server_id,
                }
                .into()
            }
            mysql::Error::MySqlError(server)
                if server.code == ER_MASTER_FATAL_ERROR_READING_BINLOG =>
            {
                BinlogError::Unreadable {
                    position,
                    reason: common::mysql::describe(&error),
                }
                .into()
            }
            _ => Error::Query {
                what: format!("reading the binlog at {position}"),
                error,
            },
        }
    }

    fn position_text(&self) -> String {
        format!("{}:{}", self.at.file, self.at.offset)
    }

    fn decode_error(&self, reason: impl ToString) -> Error {
        BinlogError::Decode {
            position: self.position_text(),
            reason: reason.to_string(),
        }
        .into()
    }

    fn handle(
        &mut self,
        binlog: &BinlogStream,
        event: &Event,
        events: &LogSender,
    ) -> Result<(), Stop> {
        let header = event.header();
        let kind = header.event_type_raw();
        let ends_at = u64::from(header.log_pos());
        if MARIADB_COMPRESSED.contains(&kind) {
            return Err(Stop::Failed(
                BinlogError::Compressed {
                    position: self.position_text(),
                }
                .into(),
            ));
        }
        match kind {
            gtid::GTID_EVENT => {
                let decoded =
                    gtid::decode_gtid_event(event.data()).map_err(|e| self.decode_error(e))?;
                self.pending_gtid = Some(Gtid {
                    domain: decoded.domain,
                    server: header.server_id(),
                    sequence: decoded.sequence,
                });
                self.in_transaction = true;
                self.standalone = decoded.standalone;
                self.advance(ends_at);
                return Ok(());
            }
            gtid::GTID_LIST_EVENT => {
                let list =
                    gtid::decode_gtid_list(event.data()).map_err(|e| self.decode_error(e))?;
                self.gtids.merge(&list);
                self.advance(ends_at);
                return Ok(());
            }
            _ => {}
        }
        let data = event.read_data().map_err(|e| self.decode_error(e))?;
        match data {
            Some(EventData::RotateEvent(rotate)) => {
                let mut name = rotate.name_raw();
                if !self.format_seen && self.reader.checksums {
                    // The first (artificial) ROTATE comes before the FORMAT_DESCRIPTION that
                    // tells the driver about checksums: its last 4 bytes are the checksum.
                    name = &name[..name.len().saturating_sub(4)];
                }
                let file = String::from_utf8_lossy(name).into_owned();
                if !file.is_empty() {
                    self.at = FilePosition {
                        file,
                        offset: rotate.position(),
                    };
                }
            }
            Some(EventData::FormatDescriptionEvent(_)) => self.format_seen = true,
            Some(EventData::TableMapEvent(table_map)) => {
                self.advance(ends_at);
                self.map_table(&table_map, events)?;
            }
            Some(EventData::RowsEvent(rows)) => {
                self.advance(ends_at);
                self.send_rows(binlog, header.timestamp(), &rows, events)?;
            }
            Some(EventData::XidEvent(_)) => {
                self.advance(ends_at);
                self.end_group(events)?;
            }
            Some(EventData::QueryEvent(query)) => {
                self.advance(ends_at);
                let text = query.query();
                let statement = text.trim();
                if statement.eq_ignore_ascii_case("BEGIN") {
                    self.in_transaction = true;
                    self.standalone = false;
                } else if statement.eq_ignore_ascii_case("COMMIT")
                    || statement.eq_ignore_ascii_case("ROLLBACK")
                    || self.standalone
                    || !self.in_transaction
                {
                    self.end_group(events)?;
                }
            }
            _ => {
                if kind == EventType::HEARTBEAT_EVENT as u8 {
                    return Ok(());
                }
                self.advance(ends_at);
            }
        }
        Ok(())
    }

    /// The event ending at `ends_at` was read. Artificial events (offset 0) do not move the
    /// position.
    fn advance(&mut self, ends_at: u64) {
        if ends_at > self.at.offset {
            self.at.offset = ends_at;
        }
    }

    /// A group closed: its GTID is done, and the bookmarks may move to here.
    fn end_group(&mut self, events: &LogSender) -> Result<(), Stop> {
        if let Some(gtid) = self.pending_gtid.take() {
            self.gtids.commit(gtid);
        }
        self.in_transaction = false;
        self.standalone = false;
        self.commit(events, false)
    }

    /// Sends a commit at the current position: always when records were sent since the last
    /// one (or `finally`, if the position moved), otherwise at most every
    /// [`IDLE_COMMIT_INTERVAL`].
    fn commit(&mut self, events: &LogSender, finally: bool) -> Result<(), Stop> {
        let moved = self
            .last_commit
            .as_ref()
            .is_none_or(|(at, _)| *at != self.at);
        let idle_due = self
            .last_commit
            .as_ref()
            .is_none_or(|(_, when)| when.elapsed() >= IDLE_COMMIT_INTERVAL);
        if !(self.dirty || (moved && (finally || idle_due))) {
            return Ok(());
        }
        let position = BinlogPosition {
            file: self.at.file.clone(),
            position: self.at.offset,
            // MySQL's GTID set is not followed through the log yet: a set from the start would
            // not describe this point, so none is written (MySQL resumes by file and offset).
            gtid: if self.reader.flavor == Flavor::Mysql {
                None
            } else if self.gtids.is_empty() {
                self.reader.start.gtid.clone()
            } else {
                Some(self.gtids.to_string())
            },
        };
        send(events, LogEvent::Commit(LogPosition::Binlog(position)))?;
        self.dirty = false;
        self.last_commit = Some((self.at.clone(), Instant::now()));
        Ok(())
    }

    fn map_table(&mut self, table_map: &TableMapEvent<'_>, events: &LogSender) -> Result<(), Stop> {
        let key = (
            table_map.database_name().into_owned(),
            table_map.table_name().into_owned(),
        );
        if !self.reader.tables.contains_key(&key) {
            self.table_ids.remove(&table_map.table_id());
            return Ok(());
        }
        let position = self.position_text();
        let mut reread = false;
        loop {
            let table = self.reader.tables.get_mut(&key).expect("checked above");
            let (mapping, schema) = table.map(table_map, &position)?;
            match mapping {
                Mapping::Ready => {
                    if let Some(schema) = schema {
                        info!(stream = %table.selection.stream, at = %position,
                              "columns added at the source: sending a new schema");
                        send(events, LogEvent::Schema(schema))?;
                    }
                    break;
                }
                Mapping::Stale if reread => {
                    return Err(Stop::Failed(
                        BinlogError::TableChanged {
                            stream: table.selection.tap_stream_id.clone(),
                            position,
                            reason: format!(
                                "the binlog has {} columns, the table has fewer",
                                table_map.columns_count()
                            ),
                        }
                        .into(),
                    ));
                }
                Mapping::Stale => {
                    debug!(stream = %table.selection.stream, at = %position,
                           "the table has more columns than known: reading its definition");
                    let selection = table.selection.clone();
                    let tinyint1_as_boolean = self.reader.tinyint1_as_boolean;
                    let conn = self.metadata_connection()?;
                    let columns = BinlogReader::read_table(conn, &selection, tinyint1_as_boolean)?
                        .map(|(_, columns)| columns)
                        .unwrap_or_default();
                    let table = self.reader.tables.get_mut(&key).expect("checked above");
                    table.redefine(columns);
                    reread = true;
                }
            }
        }
        self.table_ids.insert(table_map.table_id(), key);
        Ok(())
    }

    fn metadata_connection(&mut self) -> Result<&mut Conn, Error> {
        if self.metadata.is_none() {
            self.metadata = Some(common::mysql::connect(
                &self.reader.connection,
                &crate::connection::SESSION_SETUP,
            )?);
        }
        Ok(self.metadata.as_mut().expect("opened above"))
    }

    fn send_rows(
        &mut self,
        binlog: &BinlogStream,
        timestamp: u32,
        rows: &RowsEventData<'_>,
        events: &LogSender,
    ) -> Result<(), Stop> {
        let Some(key) = self.table_ids.get(&rows.table_id()) else {
            return Ok(());
        };
        let table = self
            .reader
            .tables
            .get_mut(key)
            .expect("mapped tables are tracked");
        if self.at <= table.bookmark {
            return Ok(());
        }
        let position = format!("{}:{}", self.at.file, self.at.offset);
        let table_map = binlog
            .get_tme(rows.table_id())
            .ok_or_else(|| BinlogError::Decode {
                position: position.clone(),
                reason: "a rows event without its TABLE_MAP".into(),
            })?;
        let deleted_at = match rows {
            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => {
                Some(rfc3339_seconds(timestamp))
            }
            _ => None,
        };
        let time_extracted = Some(now_rfc3339());
        for row in rows.rows(table_map) {
            let (before, after) = row.map_err(|error| BinlogError::Decode {
                position: position.clone(),
                reason: error.to_string(),
            })?;
            let Some(image) = (if deleted_at.is_some() { before } else { after }) else {
                continue;
            };
            if image.len() != table_map.columns_count() as usize {
                return Err(Stop::Failed(
                    BinlogError::Setting {
                        setting: "binlog_row_image",
                        value: "not FULL for this event".into(),
                        wanted: "FULL",
                    }
                    .into(),
                ));
            }
            self.row.clear();
            for &index in &table.sent {
                let column = table.column(index);
                self.row
                    .push(column, image.as_ref(index))
                    .map_err(|reason| BinlogError::Value {
                        stream: table.selection.tap_stream_id.clone(),
                        column: column.name.clone(),
                        position: position.clone(),
                        reason,
                    })?;
            }
            table
                .encoder
                .encode(&self.row, &mut self.record)
                .map_err(|invalid| BinlogError::Decode {
                    position: position.clone(),
                    reason: format!("stream {}: {invalid}", table.selection.tap_stream_id),
                })?;
            if let Some(deleted_at) = &deleted_at {
                self.record.pop();
                if self.record.len() > 1 {
                    self.record.push(b',');
                }
                self.record.extend_from_slice(b"\"_sdc_deleted_at\":");
                common::json_text::write_string(deleted_at, &mut self.record);
                self.record.push(b'}');
            }
            send(
                events,
                LogEvent::Record {
                    stream: table.selection.stream.clone(),
                    record: self.record.clone(),
                    time_extracted: time_extracted.clone(),
                },
            )?;
            self.records += 1;
            self.dirty = true;
        }
        Ok(())
    }
}

fn send(events: &LogSender, event: LogEvent) -> Result<(), Stop> {
    events.send(event).map_err(|_| Stop::WriterGone)
}

/// Seconds since the epoch as RFC 3339 in UTC with microseconds, as records carry instants.
fn rfc3339_seconds(seconds: u32) -> String {
    chrono::DateTime::from_timestamp(i64::from(seconds), 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_times_are_rfc3339_utc_with_microseconds() {
        assert_eq!(
            rfc3339_seconds(1_796_540_400),
            "2026-12-06T07:00:00.000000Z"
        );
    }
}
