//! LOG_BASED: one reader of the database's change log serves every LOG_BASED stream at once.
//!
//! ```text
//! log reader thread ──LogEvent──▶ bounded channel ──▶ writer (this thread): SCHEMA/RECORD/STATE
//! ```
//!
//! The reader runs on its own thread so that a slow target (a full pipe) never stalls it: it keeps
//! answering the server's keepalives while the channel is full ([`LogSender::send_waiting`]). The channel is bounded, so memory
//! stays flat however far the reader gets ahead. STATE is written only at a commit, for every
//! LOG_BASED stream at once: a bookmark never points inside a transaction.
//!
//! Each tap's reader (pgoutput, binlog) implements [`LogReader`]; until it has one, the tap keeps
//! [`NoLogReader`] and a LOG_BASED stream stops the run with a clear error.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use serde_json::{Value, json};
use tracing::{info, warn};

use super::{Source, SyncError, SyncSettings, schema_message};
use crate::catalog::StreamSelection;
use crate::message::SchemaMessage;
use crate::metrics::RecordCounter;
use crate::state::{LogPosition, LogStage, new_version};
use crate::{Bookmark, MessageWriter, State};

/// How many events the reader may be ahead of the writer.
const EVENTS_IN_FLIGHT: usize = 4096;

/// What a log reader hands to the writer, in the log's order.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// A stream's columns changed: its new SCHEMA, before the first record that carries them.
    Schema(SchemaMessage),
    /// A changed row, as a RECORD's JSON object (`_sdc_deleted_at` set for a delete). It carries
    /// the stream's table version, as the snapshot's records do.
    Record {
        stream: String,
        record: Vec<u8>,
        time_extracted: Option<String>,
    },
    /// A table was emptied (TRUNCATE): its warehouse rows are marked deleted.
    Truncate { stream: String },
    /// The stream's rows changed in a way the log does not show row by row (a column added with
    /// a default fills every existing row): its bookmark is dropped, so the next run takes a new
    /// snapshot. `reason` is said in the log.
    Resnapshot { stream: String, reason: String },
    /// A transaction committed: everything before it may be bookmarked at `position`.
    Commit(LogPosition),
}

/// Reads a database's change log for the LOG_BASED streams, until caught up with the position
/// the log had when the run started (or until `max_run_seconds`).
pub trait LogReader<E>: Send {
    /// Reads changes and sends them, in order, until caught up; stops early, without error, when
    /// the writer has gone ([`LogSender::send`] says so).
    fn read(self, events: LogSender) -> Result<(), E>;
}

/// The reader's end of the channel.
#[derive(Debug, Clone)]
pub struct LogSender(Sender<LogEvent>);

/// The writer stopped (its error is reported by the writer): the reader should stop too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

impl LogSender {
    /// Sends one event, waiting while the channel is full.
    pub fn send(&self, event: LogEvent) -> Result<(), WriterGone> {
        self.0.send(event).map_err(|_| WriterGone)
    }

    /// Sends one event; while the channel stays full (a slow target), calls `waiting` every
    /// `every`, so the reader keeps its server connection alive.
    pub fn send_waiting<E>(
        &self,
        mut event: LogEvent,
        every: Duration,
        mut waiting: impl FnMut() -> Result<(), E>,
    ) -> Result<Result<(), WriterGone>, E> {
        loop {
            match self.0.send_timeout(event, every) {
                Ok(()) => return Ok(Ok(())),
                Err(SendTimeoutError::Timeout(back)) => {
                    waiting()?;
                    event = back;
                }
                Err(SendTimeoutError::Disconnected(_)) => return Ok(Err(WriterGone)),
            }
        }
    }
}

/// The reader of a tap that has none yet: it cannot be made, see [`Source::log_reader`].
#[derive(Debug)]
pub enum NoLogReader {}

impl<E> LogReader<E> for NoLogReader {
    fn read(self, _: LogSender) -> Result<(), E> {
        match self {}
    }
}

/// Runs the log phase for `streams`, every LOG_BASED stream selected: readies the log, takes the
/// snapshot of each stream that needs one (from a position taken first), then reads the log for
/// all of them together.
pub(super) fn sync_log_based<S: Source, W: Write>(
    source: &mut S,
    settings: &SyncSettings,
    streams: &[StreamSelection],
    state: &mut State,
    out: &mut MessageWriter<W>,
) -> Result<(), S::Error> {
    source.prepare_log(streams)?;
    for selection in streams {
        let id = &selection.tap_stream_id;
        let mut stage = state.bookmark(id).map_or(LogStage::New, |b| b.log_stage());
        if let Some(position) = stage.position()
            && !source.log_position_available(position)?
        {
            warn!(
                stream = %selection.stream,
                %position,
                "the change log no longer holds this stream's position (slot lost or dropped, \
                 log purged): taking a new snapshot"
            );
            stage = LogStage::New;
        }
        if let LogStage::Log(_) = stage
            && has_values_the_log_lacks(source, selection, state)?
        {
            stage = LogStage::New;
        }
        match stage {
            LogStage::Log(_) => continue,
            LogStage::Snapshot(position) => {
                info!(stream = %selection.stream, %position, "resuming the interrupted snapshot");
            }
            LogStage::New => {
                let position = source.log_position()?;
                info!(
                    stream = %selection.stream,
                    %position,
                    "snapshot first; changes from this log position follow it"
                );
                state.bookmark_mut(id).start_snapshot(position);
            }
        }
        super::sync_one(source, settings, selection, state, out)?;
        state.bookmark_mut(id).finish_snapshot(&selection.columns);
        state.currently_syncing = None;
        out.write_state(state).map_err(SyncError::from)?;
    }
    // Every stream's SCHEMA before its first change (the reader announces columns added later).
    for selection in streams {
        let table = source
            .open_table(selection)?
            .ok_or_else(|| SyncError::MissingTable {
                stream: selection.tap_stream_id.clone(),
            })?;
        out.write_schema(&schema_message::<S>(selection, &table.database))
            .map_err(SyncError::from)?;
    }
    // A lost connection resumes the log from the last commit written in STATE.
    let names: Vec<&str> = streams.iter().map(|s| s.stream.as_str()).collect();
    super::with_retries(source, settings, &names.join(", "), |source| {
        let reader = source.log_reader(streams, state, settings)?;
        run_reader(reader, streams, state, out)
    })
}

/// Whether columns selected since the stream's snapshot (selected later, or added at the source
/// since) hold values in rows the log will not send again: then only a new snapshot makes the
/// warehouse exact. A column added without a default is empty in every older row, as in the
/// warehouse.
fn has_values_the_log_lacks<S: Source>(
    source: &mut S,
    selection: &StreamSelection,
    state: &State,
) -> Result<bool, S::Error> {
    let Some(known) = state
        .bookmark(&selection.tap_stream_id)
        .and_then(|bookmark| bookmark.columns.as_ref())
    else {
        return Ok(false);
    };
    let new: Vec<&String> = selection
        .columns
        .iter()
        .filter(|column| !known.contains(column))
        .collect();
    if new.is_empty() {
        return Ok(false);
    }
    let Some(table) = source.open_table(selection)? else {
        return Ok(false);
    };
    let filled: Vec<String> = new
        .iter()
        .map(|column| format!("{} is not null", S::quote_identifier(column)))
        .collect();
    let query = format!(
        "select 1 from {} where {} limit 1",
        table.from,
        filled.join(" or ")
    );
    let mut rows = 0;
    source.read_rows(&selection.tap_stream_id, &query, |_| {
        rows += 1;
        Ok(())
    })?;
    if rows > 0 {
        let names: Vec<&str> = new.iter().map(|name| name.as_str()).collect();
        warn!(
            stream = %selection.stream,
            columns = %names.join(", "),
            "columns new to this stream hold values in rows the log will not send again: taking a \
             new snapshot"
        );
    }
    Ok(rows > 0)
}

/// The reader on its own thread, the writer on this one, a bounded channel between them.
fn run_reader<E, R, W>(
    reader: R,
    streams: &[StreamSelection],
    state: &mut State,
    out: &mut MessageWriter<W>,
) -> Result<(), E>
where
    E: From<SyncError> + Send,
    R: LogReader<E>,
    W: Write,
{
    let (sender, receiver) = crossbeam_channel::bounded(EVENTS_IN_FLIGHT);
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new()
            .name("log-reader".into())
            .spawn_scoped(scope, move || reader.read(LogSender(sender)))
            .map_err(SyncError::LogReaderThread)?;
        let written = write_events(receiver, streams, state, out);
        let read = reading.join().map_err(|_| SyncError::LogReaderPanicked)?;
        written?;
        read
    })
}

/// Writes what the reader sends until it is done. Dropping `events` on an error tells the
/// reader to stop.
fn write_events<W: Write>(
    events: Receiver<LogEvent>,
    streams: &[StreamSelection],
    state: &mut State,
    out: &mut MessageWriter<W>,
) -> Result<(), SyncError> {
    let tap_stream_ids: BTreeMap<&str, &str> = streams
        .iter()
        .map(|s| (s.stream.as_str(), s.tap_stream_id.as_str()))
        .collect();
    fn id_of<'a>(ids: &BTreeMap<&'a str, &'a str>, stream: &'a str) -> &'a str {
        ids.get(stream).copied().unwrap_or(stream)
    }
    let mut counters: BTreeMap<String, RecordCounter> = BTreeMap::new();
    // Streams whose bookmark was dropped: no commit moves it again in this run.
    let mut resnapshot: BTreeSet<String> = BTreeSet::new();
    // The columns each stream's records carry, as a commit bookmarks them.
    let mut columns: BTreeMap<&str, Vec<String>> = streams
        .iter()
        .map(|s| (s.tap_stream_id.as_str(), s.columns.clone()))
        .collect();
    for event in events {
        match event {
            LogEvent::Schema(schema) => {
                if let Some(id) = tap_stream_ids.get(schema.stream.as_str())
                    && let Some(Value::Object(properties)) = schema.schema.get("properties")
                {
                    let names = properties.keys().filter(|name| !name.starts_with("_sdc_"));
                    columns.insert(id, names.cloned().collect());
                }
                out.write_schema(&schema)?;
            }
            LogEvent::Record {
                stream,
                record,
                time_extracted,
            } => {
                let version = state
                    .bookmark(id_of(&tap_stream_ids, &stream))
                    .and_then(|b| b.version);
                out.write_record_json(&stream, &record, version, time_extracted.as_deref())?;
                let counter = counters
                    .entry(stream)
                    .or_insert_with_key(|stream| RecordCounter::new(stream));
                if let Some(metric) = counter.add(1) {
                    metric.emit();
                }
            }
            LogEvent::Truncate { stream } => {
                // A new version with no rows: activating it retires every row of the older ones.
                let bookmark = state.bookmark_mut(id_of(&tap_stream_ids, &stream));
                let version = new_version().max(bookmark.version.map_or(0, |v| v + 1));
                bookmark.version = Some(version);
                info!(
                    stream,
                    version, "table truncated at the source: its rows are retired"
                );
                out.write_activate_version(&stream, version)?;
                out.write_activate_version(&stream, version)?;
            }
            LogEvent::Resnapshot { stream, reason } => {
                let id = id_of(&tap_stream_ids, &stream);
                warn!(stream, "{reason}: the next run takes a new snapshot of it");
                *state.bookmark_mut(id) = Bookmark::default();
                resnapshot.insert(id.to_owned());
            }
            LogEvent::Commit(position) => {
                for stream in streams {
                    if resnapshot.contains(&stream.tap_stream_id) {
                        continue;
                    }
                    let bookmark = state.bookmark_mut(&stream.tap_stream_id);
                    bookmark.set_log_position(position.clone());
                    bookmark.columns = columns.get(stream.tap_stream_id.as_str()).cloned();
                }
                out.write_state(state)?;
            }
        }
    }
    for counter in counters.into_values() {
        counter.finish().emit();
    }
    Ok(())
}

/// A LOG_BASED stream's JSON Schema: its columns, `_sdc_deleted_at` (set on deletes) and the
/// source's log-sequence property (`_sdc_lsn`) when it has one.
pub fn log_based_schema(schema: &Value, sequence_property: Option<&str>) -> Value {
    let mut schema = schema.clone();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.insert(
            DELETED_AT.to_owned(),
            json!({"type": ["null", "string"], "format": "date-time"}),
        );
        if let Some(name) = sequence_property {
            properties.insert(name.to_owned(), json!({"type": ["null", "integer"]}));
        }
    }
    schema
}

/// The property that marks a deleted row.
pub const DELETED_AT: &str = "_sdc_deleted_at";

#[cfg(test)]
mod tests {
    use std::io;

    use serde_json::json;

    use super::*;
    use crate::message::{Message, MessageReader};
    use crate::state::Lsn;

    /// A reader that sends fixed events, then fails or not.
    struct Script {
        events: Vec<LogEvent>,
        fail: bool,
    }

    #[derive(Debug, PartialEq)]
    enum Failed {
        Reader,
        Sync(String),
    }

    impl From<SyncError> for Failed {
        fn from(error: SyncError) -> Self {
            Self::Sync(error.to_string())
        }
    }

    impl LogReader<Failed> for Script {
        fn read(self, events: LogSender) -> Result<(), Failed> {
            for event in self.events {
                if events.send(event).is_err() {
                    return Ok(());
                }
            }
            if self.fail {
                Err(Failed::Reader)
            } else {
                Ok(())
            }
        }
    }

    fn selection(id: &str) -> StreamSelection {
        StreamSelection {
            tap_stream_id: id.into(),
            stream: id.into(),
            namespace: None,
            table_name: id.into(),
            columns: vec!["id".into()],
            key_properties: vec!["id".into()],
            replication_method: crate::ReplicationMethod::LogBased,
            replication_key: None,
            is_view: false,
            schema: json!({}),
            row_count: None,
        }
    }

    fn record(stream: &str, id: u64) -> LogEvent {
        LogEvent::Record {
            stream: stream.into(),
            record: format!(r#"{{"id":{id}}}"#).into_bytes(),
            time_extracted: None,
        }
    }

    fn run(script: Script, out: impl Write) -> (Result<(), Failed>, State) {
        let streams = [selection("a"), selection("b")];
        let mut state = State::default();
        let mut out = MessageWriter::new(out);
        let result = run_reader(script, &streams, &mut state, &mut out);
        (result, state)
    }

    #[test]
    fn state_is_written_at_commits_only_for_every_log_stream() {
        let script = Script {
            events: vec![
                record("a", 1),
                record("b", 2),
                LogEvent::Commit(LogPosition::Wal(Lsn(10))),
                record("a", 3),
            ],
            fail: false,
        };
        let mut written = Vec::new();
        let (result, state) = run(script, &mut written);
        result.unwrap();
        let messages: Vec<Message> = MessageReader::new(written.as_slice())
            .map(|line| line.unwrap().1)
            .collect();
        let kinds: Vec<&str> = messages
            .iter()
            .map(|message| match message {
                Message::Record(_) => "RECORD",
                Message::State(_) => "STATE",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["RECORD", "RECORD", "STATE", "RECORD"]);
        let Message::State(committed) = &messages[2] else {
            unreachable!()
        };
        assert_eq!(committed.value["bookmarks"]["a"]["lsn"], json!(10));
        assert_eq!(committed.value["bookmarks"]["b"]["lsn"], json!(10));
        assert_eq!(state.bookmark("b").unwrap().lsn, Some(10));
    }

    #[test]
    fn a_reader_error_ends_the_run_after_what_was_committed() {
        let script = Script {
            events: vec![
                record("a", 1),
                LogEvent::Commit(LogPosition::Wal(Lsn(7))),
                record("a", 2),
            ],
            fail: true,
        };
        let (result, state) = run(script, io::sink());
        assert_eq!(result, Err(Failed::Reader));
        assert_eq!(state.bookmark("a").unwrap().lsn, Some(7));
    }

    /// Accepts a few bytes, then fails as a closed pipe does.
    struct ClosedPipe(usize);

    impl Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_writer_error_stops_a_reader_that_is_far_ahead() {
        // More events than the channel holds: the reader blocks on a full channel until the
        // writer's failure releases it.
        let mut events: Vec<LogEvent> = (0..EVENTS_IN_FLIGHT as u64 * 3)
            .map(|id| record("a", id))
            .collect();
        events.push(LogEvent::Commit(LogPosition::Wal(Lsn(1))));
        let (result, state) = run(
            Script {
                events,
                fail: false,
            },
            ClosedPipe(0),
        );
        assert_eq!(
            result,
            Err(Failed::Sync("could not write to stdout".into()))
        );
        assert_eq!(state.bookmark("a"), None);
    }
}
