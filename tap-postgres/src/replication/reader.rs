//! Reads the slot's changes for every LOG_BASED stream and hands them to the engine as events.
//!
//! A transaction's changes become RECORDs as they arrive (nothing of a transaction is held), its
//! COMMIT becomes the position the engine writes in STATE. The run ends when the stream has passed
//! the WAL position read at the start (a commit or a keepalive at or beyond it, outside a
//! transaction), or at `max_run_seconds`. Standby status updates keep the walsender alive and
//! confirm only the position the run started from.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::State;
use common::catalog::StreamSelection;
use common::message::rfc3339_from_postgres_micros;
use common::state::{LogPosition, Lsn};
use common::sync::{
    DELETED_AT, LogEvent, LogReader, LogSender, NotText, RowEncoder, Source, SourceRow,
    SyncSettings, WriterGone, append_property, schema_message,
};
use postgres::Client;
use serde_json::Value;
use tracing::{debug, info, warn};

use super::pgoutput::{Field, OldValues, PgOutput, Relation, StreamMessage, Tuple};
use super::wire::ReplicationConnection;
use super::{LogError, LogNames, current_position};
use crate::Error;
use crate::column_type::ValueKind;
use crate::discover::table_columns;
use crate::source::PostgresSource;
use crate::sql::{qualified_table, quote_identifier, string_literal};

/// The property with each change's WAL position.
pub const LSN_PROPERTY: &str = "_sdc_lsn";
/// Whether any of the columns `$2` of table `$1` has a default (existing rows were given it).
const FILLED_BY_DEFAULT: &str = "select exists (select from pg_attribute a \
     where a.attrelid = $1::text::regclass and a.attname = any($2) \
     and (a.atthasmissing or a.atthasdef))";
/// The type oids of `money` and `money[]`.
const MONEY: u32 = 790;
const MONEY_ARRAY: u32 = 791;
/// How often the walsender hears from an idle reader (each update makes it report its position).
const IDLE_STATUS_EVERY: Duration = Duration::from_secs(1);
/// How often it hears from a busy one (well within `wal_sender_timeout`).
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// A transaction with nothing for these streams is bookmarked at most this often.
const EMPTY_COMMITS_EVERY: Duration = Duration::from_secs(1);

/// The reader of one run: the replication connection and what it decodes into.
#[derive(Debug)]
pub struct WalReader {
    connection: ReplicationConnection,
    names: LogNames,
    /// Where reading starts: the oldest stream position.
    start: Lsn,
    /// What status updates confirm.
    confirmed: Lsn,
    decoder: Decoder,
    deadline: Option<Instant>,
}

/// What turns pgoutput messages into events.
struct Decoder {
    /// For re-reading a table whose columns changed.
    catalog: Client,
    database: String,
    streams: Vec<LogStream>,
    /// Relation id → the stream it is, if selected.
    relations: HashMap<u32, Option<usize>>,
    transaction: Option<Transaction>,
    /// Every change before this position has been sent.
    reached: Lsn,
    /// The last position sent as a commit.
    committed: Lsn,
    last_commit: Instant,
    /// The WAL's end when the run started: caught up once past it.
    end: Lsn,
    record: Vec<u8>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("reached", &self.reached)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

struct Transaction {
    final_lsn: Lsn,
    commit_time: String,
    /// Whether it had changes of the streams.
    has_changes: bool,
}

struct LogStream {
    selection: StreamSelection,
    /// Its changes up to here are in the warehouse already.
    position: Lsn,
    /// The selected columns, in record order.
    columns: Vec<(String, ValueKind)>,
    encoder: RowEncoder<ValueKind>,
    /// Per column of `columns`: its index in the relation as pgoutput last described it.
    in_relation: Vec<Option<usize>>,
    /// Per relation column: part of the replica identity.
    relation_keys: Vec<bool>,
    /// Per column of `columns`: a primary-key column.
    is_key: Vec<bool>,
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Caught up.
    Done,
    /// The writer stopped: nothing more is wanted.
    WriterGone,
}

impl WalReader {
    /// Opens the replication connection and a catalog connection, for `streams` each from its
    /// bookmark.
    pub fn open(
        source: &mut PostgresSource,
        streams: &[StreamSelection],
        state: &State,
        settings: &SyncSettings,
    ) -> Result<Self, Error> {
        let mut log_streams = Vec::new();
        for selection in streams {
            let position = match state
                .bookmark(&selection.tap_stream_id)
                .and_then(|bookmark| bookmark.log_position())
            {
                Some(LogPosition::Wal(lsn)) => lsn,
                _ => {
                    return Err(common::sync::SyncError::BadBookmark {
                        stream: selection.tap_stream_id.clone(),
                        reason: "no WAL position (lsn) after the snapshot".into(),
                    }
                    .into());
                }
            };
            let mut table = source.open_table(selection)?.ok_or_else(|| {
                common::sync::SyncError::MissingTable {
                    stream: selection.tap_stream_id.clone(),
                }
            })?;
            table.keep_selected(selection)?;
            let columns: Vec<(String, ValueKind)> = table
                .columns
                .into_iter()
                .map(|column| (column.name, column.kind))
                .collect();
            log_streams.push(LogStream {
                is_key: columns
                    .iter()
                    .map(|(name, _)| selection.key_properties.contains(name))
                    .collect(),
                encoder: RowEncoder::new(columns.clone()),
                in_relation: vec![None; columns.len()],
                relation_keys: Vec::new(),
                columns,
                selection: selection.clone(),
                position,
            });
        }
        let start = log_streams
            .iter()
            .map(|stream| stream.position)
            .min()
            .unwrap_or(Lsn(0));
        let end = current_position(&mut source.client)?;
        let confirmed = *source.log_confirmed.get_or_insert(start);
        let connection = ReplicationConnection::connect(&source.connection, crate::NAME)
            .map_err(LogError::from)?;
        let catalog = crate::connect(&source.connection)?;
        info!(
            slot = %source.log_names.slot,
            from = %start,
            to = %end,
            "reading the WAL"
        );
        Ok(Self {
            connection,
            names: source.log_names.clone(),
            start,
            confirmed,
            decoder: Decoder {
                catalog,
                database: source.database.clone(),
                streams: log_streams,
                relations: HashMap::new(),
                transaction: None,
                reached: start,
                committed: start,
                last_commit: Instant::now(),
                end,
                record: Vec::new(),
            },
            deadline: settings
                .max_run_seconds
                .map(|seconds| Instant::now() + Duration::from_secs(seconds)),
        })
    }

    fn stream(self, events: &LogSender) -> Result<(), Error> {
        let Self {
            connection,
            names,
            start,
            confirmed,
            mut decoder,
            deadline,
        } = self;
        let command = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {})",
            quote_identifier(&names.slot),
            start,
            string_literal(&quote_identifier(&names.publication)),
        );
        // Confirms the position the run started from: the warehouse has everything before it.
        let mut link = Link {
            connection,
            events: events.clone(),
            confirmed,
            last_status: Instant::now(),
        };
        link.connection
            .start_replication(&command)
            .map_err(LogError::from)?;
        link.status()?;
        if decoder.end <= start {
            info!("no WAL written since the last run: nothing to read");
            link.connection.close();
            return Ok(());
        }
        let mut message = Vec::new();
        loop {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline)
                && decoder.transaction.is_none()
            {
                info!(reached = %decoder.reached, "max_run_seconds reached: stopping");
                break;
            }
            // Copied out of the connection's buffer, which sends status updates meanwhile.
            match link.connection.next_copy_data().map_err(LogError::from)? {
                None => message.clear(),
                Some(payload) => {
                    message.clear();
                    message.extend_from_slice(payload);
                }
            }
            let flow = if message.is_empty() {
                Flow::Continue
            } else {
                let parsed = StreamMessage::parse(&message).map_err(|source| LogError::Decode {
                    position: decoder.reached,
                    source,
                })?;
                match parsed {
                    StreamMessage::Keepalive { wal_end, reply } => {
                        if reply {
                            link.status()?;
                        }
                        decoder.keepalive(Lsn(wal_end))
                    }
                    StreamMessage::XLogData { wal_start, data } => {
                        decoder.handle(Lsn(wal_start), data, &mut link)?
                    }
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Done => break,
                Flow::WriterGone => return Ok(()),
            }
            let due = if decoder.transaction.is_none() {
                IDLE_STATUS_EVERY
            } else {
                STATUS_EVERY
            };
            if link.last_status.elapsed() >= due {
                link.status()?;
            }
        }
        if decoder.finish(&mut link)? == Flow::WriterGone {
            return Ok(());
        }
        link.connection.close();
        Ok(())
    }
}

/// The replication connection as the decoder sees it: where status updates go.
struct Link {
    connection: ReplicationConnection,
    events: LogSender,
    /// The position every status update confirms.
    confirmed: Lsn,
    last_status: Instant,
}

impl Link {
    /// A standby status update: keeps the walsender alive, confirms only `confirmed`.
    fn status(&mut self) -> Result<(), Error> {
        send_status(&mut self.connection, self.confirmed, &mut self.last_status)
    }

    /// Sends `event`, keeping the connection alive while a slow target keeps the channel full.
    fn send(&mut self, event: LogEvent) -> Result<Flow, Error> {
        let Self {
            connection,
            events,
            confirmed,
            last_status,
        } = self;
        let waiting = || send_status(connection, *confirmed, last_status);
        Ok(
            match events.send_waiting(event, IDLE_STATUS_EVERY, waiting)? {
                Ok(()) => Flow::Continue,
                Err(WriterGone) => Flow::WriterGone,
            },
        )
    }
}

fn send_status(
    connection: &mut ReplicationConnection,
    confirmed: Lsn,
    last_status: &mut Instant,
) -> Result<(), Error> {
    connection
        .send_status(confirmed.0, confirmed.0, confirmed.0)
        .map_err(LogError::from)?;
    *last_status = Instant::now();
    Ok(())
}

impl LogReader<Error> for WalReader {
    fn read(self, events: LogSender) -> Result<(), Error> {
        self.stream(&events)
    }
}

impl Decoder {
    fn keepalive(&mut self, wal_end: Lsn) -> Flow {
        debug!(%wal_end, in_transaction = self.transaction.is_some(), "keepalive");
        if self.transaction.is_some() {
            return Flow::Continue;
        }
        // Outside a transaction, every commit before the server's position has been sent.
        self.reached = self.reached.max(wal_end);
        if wal_end >= self.end {
            Flow::Done
        } else {
            Flow::Continue
        }
    }

    /// Caught up or stopped: the position reached is bookmarked if no commit said it yet.
    fn finish(&mut self, link: &mut Link) -> Result<Flow, Error> {
        if self.transaction.is_none() && self.reached > self.committed {
            return self.commit(self.reached, link);
        }
        Ok(Flow::Continue)
    }

    fn commit(&mut self, position: Lsn, link: &mut Link) -> Result<Flow, Error> {
        self.committed = position;
        self.last_commit = Instant::now();
        link.send(LogEvent::Commit(LogPosition::Wal(position)))
    }

    fn handle(&mut self, lsn: Lsn, data: &[u8], link: &mut Link) -> Result<Flow, Error> {
        let message = PgOutput::parse(data).map_err(|source| LogError::Decode {
            position: lsn,
            source,
        })?;
        match message {
            PgOutput::Begin {
                final_lsn,
                commit_time,
            } => {
                self.transaction = Some(Transaction {
                    final_lsn: Lsn(final_lsn),
                    commit_time: rfc3339_from_postgres_micros(commit_time),
                    has_changes: false,
                });
                Ok(Flow::Continue)
            }
            PgOutput::Commit { end_lsn } => {
                let end_lsn = Lsn(end_lsn);
                let had_changes = self
                    .transaction
                    .take()
                    .is_some_and(|transaction| transaction.has_changes);
                self.reached = self.reached.max(end_lsn);
                let caught_up = end_lsn >= self.end;
                let due = had_changes || caught_up;
                if (due || self.last_commit.elapsed() >= EMPTY_COMMITS_EVERY)
                    && self.commit(end_lsn, link)? == Flow::WriterGone
                {
                    return Ok(Flow::WriterGone);
                }
                Ok(if caught_up {
                    Flow::Done
                } else {
                    Flow::Continue
                })
            }
            PgOutput::Relation(relation) => self.relation(relation, link),
            PgOutput::Insert { relation, new } => {
                let Some(index) = self.changed_stream(relation) else {
                    return Ok(Flow::Continue);
                };
                self.send_row(index, lsn, data, &new, None, link)
            }
            PgOutput::Update { relation, old, new } => {
                let Some(index) = self.changed_stream(relation) else {
                    return Ok(Flow::Continue);
                };
                // A changed key: the row under the old key is gone.
                if let Some((kind, old)) = &old
                    && self.streams[index].key_changed(data, old, &new)
                {
                    let flow = self.send_row(index, lsn, data, old, Some(*kind), link)?;
                    if flow != Flow::Continue {
                        return Ok(flow);
                    }
                }
                self.send_row(index, lsn, data, &new, None, link)
            }
            PgOutput::Delete {
                relation,
                old: (kind, old),
            } => {
                let Some(index) = self.changed_stream(relation) else {
                    return Ok(Flow::Continue);
                };
                self.send_row(index, lsn, data, &old, Some(kind), link)
            }
            PgOutput::Truncate { relations } => {
                for relation in relations {
                    let Some(index) = self.changed_stream(relation) else {
                        continue;
                    };
                    let stream = self.streams[index].selection.stream.clone();
                    if link.send(LogEvent::Truncate { stream })? == Flow::WriterGone {
                        return Ok(Flow::WriterGone);
                    }
                }
                Ok(Flow::Continue)
            }
            PgOutput::Other => Ok(Flow::Continue),
        }
    }

    /// The stream a change of `relation` belongs to, unless the stream already has the
    /// transaction (its snapshot or bookmark is past it).
    fn changed_stream(&mut self, relation: u32) -> Option<usize> {
        let index = match self.relations.get(&relation) {
            Some(index) => (*index)?,
            None => {
                warn!(
                    relation,
                    "a change of a table pgoutput did not describe: skipped"
                );
                return None;
            }
        };
        let transaction = self.transaction.as_mut()?;
        if transaction.final_lsn < self.streams[index].position {
            return None;
        }
        transaction.has_changes = true;
        Some(index)
    }

    /// Sends one row: the new row, or (`deleted`) the old values of a deleted row.
    fn send_row(
        &mut self,
        index: usize,
        lsn: Lsn,
        data: &[u8],
        tuple: &Tuple,
        deleted: Option<OldValues>,
        link: &mut Link,
    ) -> Result<Flow, Error> {
        let stream = &mut self.streams[index];
        let row = WalRow {
            data,
            tuple,
            in_relation: &stream.in_relation,
            // A key-only old row has nulls for every other column: they are not known.
            relation_keys: (deleted == Some(OldValues::Key)).then_some(&stream.relation_keys),
        };
        stream
            .encoder
            .encode(&row, &mut self.record)
            .map_err(|source| LogError::Value {
                stream: stream.selection.tap_stream_id.clone(),
                position: lsn,
                source,
            })?;
        append_property(&mut self.record, LSN_PROPERTY, lsn.0.to_string().as_bytes());
        let transaction = self.transaction.as_ref();
        let time = transaction.map(|t| t.commit_time.clone());
        if deleted.is_some() {
            let at = serde_json::to_vec(&time.clone().unwrap_or_default()).unwrap_or_default();
            append_property(&mut self.record, DELETED_AT, &at);
        }
        // The next record starts with room for one of this size.
        let next = Vec::with_capacity(self.record.len());
        let event = LogEvent::Record {
            stream: stream.selection.stream.clone(),
            record: std::mem::replace(&mut self.record, next),
            time_extracted: time,
        };
        link.send(event)
    }

    /// pgoutput describes a table before its first change and again after its columns change:
    /// maps its columns, and announces columns added at the source with a new SCHEMA.
    fn relation(&mut self, relation: Relation, link: &mut Link) -> Result<Flow, Error> {
        let index = self.streams.iter().position(|stream| {
            stream.selection.namespace.as_deref().unwrap_or("public") == relation.namespace
                && stream.selection.table_name == relation.name
        });
        self.relations.insert(relation.id, index);
        let Some(index) = index else {
            return Ok(Flow::Continue);
        };
        let stream = &mut self.streams[index];
        let known = stream
            .selection
            .schema
            .get("properties")
            .and_then(Value::as_object);
        let added: Vec<&str> = relation
            .columns
            .iter()
            .map(|column| column.name.as_str())
            .filter(|name| known.is_none_or(|known| !known.contains_key(*name)))
            .collect();
        let mut flow = Flow::Continue;
        if !added.is_empty() {
            let types = table_columns(&mut self.catalog, &relation.namespace, &relation.name)?;
            let mut announced = Vec::new();
            for name in added {
                let Some((_, pg_type)) = types.iter().find(|(column, _)| column == name) else {
                    continue;
                };
                if let Some(Value::Object(properties)) =
                    stream.selection.schema.get_mut("properties")
                {
                    properties.insert(name.to_owned(), pg_type.json_schema(true));
                }
                stream.selection.columns.push(name.to_owned());
                stream.columns.push((name.to_owned(), pg_type.value_kind()));
                stream.is_key.push(false);
                announced.push(name);
            }
            if !announced.is_empty() {
                info!(
                    stream = %stream.selection.stream,
                    columns = %announced.join(", "),
                    "columns added at the source: a new SCHEMA"
                );
                stream.encoder = RowEncoder::new(stream.columns.clone());
                let schema = schema_message::<PostgresSource>(&stream.selection, &self.database);
                flow = link.send(LogEvent::Schema(schema))?;
                let table = qualified_table(&relation.namespace, &relation.name);
                let names: Vec<String> = announced.iter().map(|name| (*name).to_owned()).collect();
                let filled: bool = self
                    .catalog
                    .query_one(FILLED_BY_DEFAULT, &[&table, &names])
                    .map_err(Error::query("reading the added columns' defaults"))?
                    .get(0);
                if filled && flow == Flow::Continue {
                    let reason = format!(
                        "columns {} were added with a default, which fills every existing row \
                         without a change in the log",
                        announced.join(", ")
                    );
                    let event = LogEvent::Resnapshot {
                        stream: stream.selection.stream.clone(),
                        reason,
                    };
                    flow = link.send(event)?;
                }
            }
        }
        stream.in_relation = stream
            .columns
            .iter()
            .map(|(name, _)| relation.columns.iter().position(|c| &c.name == name))
            .collect();
        // money arrives as text with its currency sign, not as the numeric queries read.
        let mut money = false;
        for ((_, kind), at) in stream.columns.iter_mut().zip(&stream.in_relation) {
            let oid = at.map(|at| relation.columns[at].type_oid);
            let money_kind = match oid {
                Some(MONEY) => ValueKind::Money,
                Some(MONEY_ARRAY) => ValueKind::Array(Box::new(ValueKind::Money)),
                _ => continue,
            };
            money |= *kind != money_kind;
            *kind = money_kind;
        }
        if money {
            stream.encoder = RowEncoder::new(stream.columns.clone());
        }
        stream.relation_keys = relation.columns.iter().map(|c| c.is_key).collect();
        debug!(stream = %stream.selection.stream, "relation mapped");
        Ok(flow)
    }
}

impl LogStream {
    /// Whether an update's old key differs from its new one.
    fn key_changed(&self, data: &[u8], old: &Tuple, new: &Tuple) -> bool {
        self.in_relation
            .iter()
            .zip(&self.is_key)
            .filter(|(_, is_key)| **is_key)
            .filter_map(|(at, _)| *at)
            .any(|at| match (old.fields.get(at), new.fields.get(at)) {
                (Some(Field::Text(old)), Some(Field::Text(new))) => {
                    data[old.clone()] != data[new.clone()]
                }
                _ => false,
            })
    }
}

/// A pgoutput row as the engine's encoder reads it.
struct WalRow<'a> {
    data: &'a [u8],
    tuple: &'a Tuple,
    in_relation: &'a [Option<usize>],
    /// For a key-only old row: which relation columns it holds.
    relation_keys: Option<&'a Vec<bool>>,
}

impl WalRow<'_> {
    fn field_of(&self, index: usize) -> Option<(usize, &Field)> {
        let at = (*self.in_relation.get(index)?)?;
        Some((at, self.tuple.fields.get(at)?))
    }
}

impl SourceRow for WalRow<'_> {
    fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText> {
        Ok(match self.field_of(index) {
            Some((_, Field::Text(range))) => Some(&self.data[range.clone()]),
            _ => None,
        })
    }

    fn is_absent(&self, index: usize) -> bool {
        match self.field_of(index) {
            None | Some((_, Field::Unchanged)) => true,
            Some((at, _)) => self
                .relation_keys
                .is_some_and(|keys| !keys.get(at).copied().unwrap_or(false)),
        }
    }
}
