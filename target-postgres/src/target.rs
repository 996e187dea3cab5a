//! The message loop: what each Singer message does to the warehouse.
//!
//! Runs on the main thread: reads stdin, keeps each stream's shape, layout, validator and buffered
//! rows, and sends DDL, batches and STATEs to the loader thread (`load`) in the order they must
//! take effect. It plans DDL against its own model of the warehouse (`ddl::Warehouse`), so it never
//! waits for the database except when the channel is full.
//!
//! On bad input the target first sends everything valid it has buffered, with the STATEs that
//! covers, waits for the loader to commit it, and only then stops with the error.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use common::Message;
use common::json_schema::X_SOURCE;
use common::json_schema::properties;
use common::message::{ActivateVersionMessage, MessageReader, ParsedLine, SchemaMessage};
use crossbeam_channel::{Sender, bounded};
use serde::Deserialize;
use serde_json::Value;
use tracing::{info, warn};

use crate::Error;
use crate::batch::{BufferPool, StreamBatch, TableBuffer, Versions};
use crate::check::check_permissions;
use crate::config::{InvalidRecords, TargetConfig};
use crate::connection::connect;
use crate::denest::StreamShape;
use crate::denest::record::{EncodeError, RecordMeta};
use crate::encode::{check_timestamp, shorten, write_text};
use crate::json::{Kind, Object, Text};
use crate::layout::StreamLayout;
use crate::load::{
    ActivateVersion, Command, Load, LoadSummary, Loader, LoaderConfig, TableLoad,
    retry_creation_race, state_table_ddl,
};
use crate::naming::{canonical_name, qualified, quote};
use crate::state::PendingStates;
use crate::system_column::DELETED_AT;
use crate::validate::RecordValidator;
use crate::warehouse::{Warehouse, read_warehouse};
use common::progress::Progress;

/// Where records that cannot be loaded go with `invalid_records: "reject"`.
pub const REJECTED_TABLE: &str = "_sdc_rejected";

const REJECTED_COLUMNS: [&str; 5] = ["stream", "line", "reason", "record", "rejected_at"];

/// Commands in flight between the threads: enough to overlap parsing with loading, few enough to
/// bound memory to a few batches.
const CHANNEL_CAPACITY: usize = 2;

/// Emptied buffers kept for reuse: enough for the batches in flight.
const POOL_CAPACITY: usize = 8;

/// The running target.
#[derive(Debug)]
pub struct Target {
    config: TargetConfig,
    warehouse: Warehouse,
    streams: HashMap<String, Stream>,
    rejects: Rejects,
    states: PendingStates,
    commands: Option<Sender<Command>>,
    loader: Option<JoinHandle<Result<LoadSummary, Error>>>,
    pool: BufferPool,
    clock: Clock,
    /// Per stream: the table versions of this run's records, and the last ACTIVATE_VERSION seen.
    activations: HashMap<String, Activation>,
}

/// When an ACTIVATE_VERSION may sweep older versions: only once nothing of its version can
/// follow. One that arrives before any record of its version (taps send one at the start of a
/// full-table sync) would mark every row deleted while the table is being re-sent, so it only
/// announces the version; the one repeated after the records (or after none: an empty table)
/// sweeps.
#[derive(Debug, Default)]
struct Activation {
    record_versions: Versions,
    announced: Option<u64>,
}

impl Activation {
    /// Whether an ACTIVATE_VERSION of `version` arriving now may sweep, and notes it.
    fn may_sweep(&mut self, version: u64) -> bool {
        let records_of_version = self
            .record_versions
            .lowest
            .zip(self.record_versions.highest)
            .is_some_and(|(lowest, highest)| (lowest..=highest).contains(&version));
        let repeated = self.announced == Some(version);
        self.announced = Some(version);
        records_of_version || repeated
    }
}

/// What the target knows of one stream.
#[derive(Debug)]
struct Stream {
    schema: Value,
    key_properties: Vec<String>,
    shape: StreamShape,
    layout: StreamLayout,
    validator: Option<RecordValidator>,
    batch: StreamBatch,
    records: u64,
    /// Record properties the SCHEMA does not declare, warned about once each.
    undeclared: HashSet<String>,
    /// The property names of the last record checked for undeclared ones: records of a stream
    /// mostly have the same, and comparing is cheaper than looking each one up.
    last_names: Vec<String>,
    last_names_distinct: bool,
    /// The last `time_extracted` found valid: taps repeat it for many records.
    last_extracted: String,
    progress: Progress,
}

impl Stream {
    /// Properties outside the SCHEMA are not loaded (there is no column type to give them); say so
    /// once per property rather than drop them silently. Records of a stream mostly have the same
    /// names in the same order: those are checked once, with whether any name repeats.
    fn check_names(&mut self, record: &Object<'_>, line: u64, name: &str) {
        let names = &record.properties;
        let same = names.len() == self.last_names.len()
            && names.iter().zip(&self.last_names).all(|((a, _), b)| a == b);
        if !same {
            self.last_names = names.iter().map(|(name, _)| name.to_string()).collect();
            self.last_names_distinct = record.has_distinct_names();
            self.warn_undeclared(record, line, name);
        }
        record.set_distinct(self.last_names_distinct);
    }

    fn warn_undeclared(&mut self, record: &Object<'_>, line: u64, name: &str) {
        let Some(declared) = properties(&self.schema) else {
            return;
        };
        for (property, _) in &record.properties {
            if !declared.contains_key(property.as_ref())
                && property != DELETED_AT
                && self.undeclared.insert(property.to_string())
            {
                warn!(
                    line,
                    stream = name,
                    property = property.as_ref(),
                    "property not in the SCHEMA: not loaded"
                );
            }
        }
    }
}

/// Rejected records waiting to be stored.
#[derive(Debug, Default)]
struct Rejects {
    buffer: TableBuffer,
    first_line: Option<u64>,
    count: u64,
}

impl Target {
    /// Connects, checks ownership and permissions, creates the schema, reads its tables and starts
    /// the loader thread.
    pub fn start(config: TargetConfig) -> Result<Self, Error> {
        let schema = config.schema();
        let mut client = connect(&config.connection)?;
        let report = check_permissions(&mut client, &schema)?;
        if !report.problems.is_empty() {
            return Err(Error::Permissions {
                schema,
                problems: report.problems,
            });
        }
        let state_table = config.state_table.as_deref().map(canonical_name);
        // `create schema if not exists` needs CREATE on the database even when the schema exists,
        // and a user owning (or a member of the owner of) an existing schema may lack it.
        let mut setup = Vec::new();
        if !report.schema_exists {
            setup.push(format!("create schema if not exists {}", quote(&schema)));
        }
        if config.invalid_records == InvalidRecords::Reject {
            setup.push(format!(
                "create table if not exists {} (stream text not null, line bigint, \
                 reason text not null, record text, rejected_at timestamp with time zone not null)",
                qualified(&schema, REJECTED_TABLE)
            ));
        }
        if let Some(table) = &state_table {
            setup.push(state_table_ddl(&schema, table));
        }
        retry_creation_race(&schema, || client.batch_execute(&setup.join(";\n"))).map_err(
            |source| Error::Database {
                what: format!("creating schema {}", quote(&schema)),
                source,
            },
        )?;
        let reserved = [Some(REJECTED_TABLE.to_owned()), state_table.clone()]
            .into_iter()
            .flatten()
            .collect();
        let warehouse =
            read_warehouse(&mut client, &schema, reserved).map_err(|source| Error::Database {
                what: "reading the warehouse tables".into(),
                source,
            })?;
        info!(
            warehouse = %config.connection,
            schema,
            tables = warehouse.tables.len(),
            "connected"
        );
        let pool = BufferPool::new(POOL_CAPACITY);
        let loader = Loader::new(
            client,
            LoaderConfig {
                schema,
                hard_delete: config.hard_delete,
                state_table,
            },
            pool.clone(),
        );
        let (sender, receiver) = bounded(CHANNEL_CAPACITY);
        let handle = std::thread::Builder::new()
            .name("loader".into())
            .spawn(move || loader.run(receiver))?;
        Ok(Self {
            config,
            warehouse,
            streams: HashMap::new(),
            rejects: Rejects::default(),
            states: PendingStates::default(),
            commands: Some(sender),
            loader: Some(handle),
            pool,
            clock: Clock::default(),
            activations: HashMap::new(),
        })
    }

    /// Reads every message of `input`, then commits what is left and prints the last STATE.
    pub fn consume(mut self, input: impl BufRead) -> Result<(), Error> {
        let mut reader = MessageReader::new(input);
        while let Some(next) = reader.next_line() {
            let handled = next
                .map_err(Error::from)
                .and_then(|(line, text)| self.handle_line(line, text));
            match handled {
                Ok(None) => {}
                Ok(Some((line, message_type))) => reader.skip_unknown(line, message_type),
                Err(error) => return self.stop(Some(error)),
            }
        }
        self.stop(None)
    }

    /// RECORD lines, nearly all of the input, are read borrowed; the others as `Message`s. Returns
    /// the type of a message this program does not know, for the reader to skip.
    fn handle_line(&mut self, line: u64, text: &str) -> Result<Option<(u64, String)>, Error> {
        if let Ok(envelope) = serde_json::from_str::<Envelope>(text)
            && let (Some(Text(stream)), Some(record)) = (&envelope.stream, &envelope.record)
            && envelope.message_type.0 == "RECORD"
        {
            let time_extracted = envelope.time_extracted.as_ref().map(|t| t.0.as_ref());
            self.on_record(line, stream, record, envelope.version, time_extracted)?;
            return Ok(None);
        }
        match Message::parse(text, line)? {
            ParsedLine::Message(message) => self.handle(line, message).map(|()| None),
            ParsedLine::Unknown { message_type } => Ok(Some((line, message_type))),
        }
    }

    fn handle(&mut self, line: u64, message: Message) -> Result<(), Error> {
        match message {
            Message::Schema(schema) => self.on_schema(line, schema),
            Message::Record(record) => {
                // A RECORD the borrowed read did not take (it takes all that are valid): the
                // same path, through text.
                let text = Value::Object(record.record).to_string();
                let object: Object = serde_json::from_str(&text).expect("an object reads back");
                let extracted = record.time_extracted.as_deref();
                self.on_record(line, &record.stream, &object, record.version, extracted)
            }
            Message::State(state) => {
                self.states.push(line, state.value);
                self.flush(Vec::new())
            }
            Message::ActivateVersion(activate) => self.on_activate_version(line, activate),
        }
    }

    fn on_schema(&mut self, line: u64, message: SchemaMessage) -> Result<(), Error> {
        let SchemaMessage {
            stream: name,
            schema,
            key_properties,
            ..
        } = message;
        if let Some(stream) = self.streams.get(&name) {
            if stream.schema == schema && stream.key_properties == key_properties {
                return Ok(());
            }
            // Rows buffered so far were encoded for the old layout.
            self.flush(vec![name.clone()])?;
        }
        let shape = StreamShape::from_schema(&schema, self.config.nesting_for(&name));
        let validator = if self.config.validate_records {
            match RecordValidator::new(&schema) {
                Ok(validator) => Some(validator),
                Err(reason) => {
                    warn!(
                        stream = name,
                        reason, "SCHEMA is not a valid JSON Schema: records are not validated"
                    );
                    None
                }
            }
        } else {
            None
        };
        let source = schema
            .get(X_SOURCE)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let layout = self.plan(line, &name, &shape, &key_properties, source.as_deref())?;
        let tables = shape.tables.len();
        let (records, undeclared, progress) = match self.streams.remove(&name) {
            Some(old) => (old.records, old.undeclared, old.progress),
            None => (0, HashSet::new(), Progress::new(&name, "records", None)),
        };
        self.streams.insert(
            name,
            Stream {
                schema,
                key_properties,
                shape,
                layout,
                validator,
                batch: StreamBatch::new(tables),
                records,
                undeclared,
                last_names: Vec::new(),
                last_names_distinct: false,
                last_extracted: String::new(),
                progress,
            },
        );
        Ok(())
    }

    /// Plans a stream's tables and sends the DDL.
    fn plan(
        &mut self,
        line: u64,
        name: &str,
        shape: &StreamShape,
        key_properties: &[String],
        source: Option<&str>,
    ) -> Result<StreamLayout, Error> {
        let (layout, statements) = self
            .warehouse
            .plan_stream(
                name,
                shape,
                key_properties,
                self.config.add_metadata_columns,
                source,
            )
            .map_err(|source| Error::Schema {
                line,
                stream: name.to_owned(),
                source: Box::new(source),
            })?;
        if !statements.is_empty() {
            self.send(Command::Execute {
                stream: name.to_owned(),
                statements,
            })?;
        }
        Ok(layout)
    }

    fn on_record(
        &mut self,
        line: u64,
        name: &str,
        record: &Object<'_>,
        version: Option<u64>,
        time_extracted: Option<&str>,
    ) -> Result<(), Error> {
        let Some(stream) = self.streams.get_mut(name) else {
            return Err(Error::RecordBeforeSchema {
                line,
                stream: name.to_owned(),
            });
        };
        stream.check_names(record, line, name);
        if let Some(violation) = stream
            .validator
            .as_ref()
            .and_then(|v| v.check(record).err())
        {
            let property = violation.path.trim_start_matches('/').replace('/', ".");
            return self.invalid(line, name, record, property, violation.message);
        }
        let deleted_at = match record.get(DELETED_AT) {
            None => None,
            Some(value) => match (value.kind(), value.as_str()) {
                (Kind::Null, _) => None,
                (_, Some(text)) if check_timestamp(&text).is_ok() => Some(text),
                _ => {
                    let reason = format!("{} is not a date-time", shorten(value.raw()));
                    return self.invalid(line, name, record, DELETED_AT.into(), reason);
                }
            },
        };
        let extracted_at = time_extracted.filter(|text| {
            *text == stream.last_extracted || {
                let valid = check_timestamp(text).is_ok();
                if valid {
                    stream.last_extracted = (*text).to_owned();
                }
                valid
            }
        });
        let sequence = self.clock.tick();
        loop {
            let stream = self.streams.get_mut(name).expect("checked above");
            let meta = RecordMeta {
                line,
                extracted_at,
                sequence,
                version,
                deleted_at: deleted_at.as_deref(),
            };
            let added = stream.batch.add_record(
                &stream.shape,
                &stream.layout,
                &stream.key_properties,
                record,
                &meta,
            );
            match added {
                Ok(()) => {
                    stream.records += 1;
                    stream.progress.add(1);
                    break;
                }
                Err(EncodeError::Invalid { path, reason }) => {
                    return self.invalid(line, name, record, path.join("."), reason.to_string());
                }
                Err(EncodeError::NeedsColumn {
                    table,
                    field,
                    column_type,
                }) => self.add_column(line, name, table, field, column_type)?,
            }
        }
        let stream = &self.streams[name];
        if stream.batch.records >= self.config.batch_size_rows
            || stream.batch.bytes() as u64 >= self.config.max_batch_bytes
        {
            // With it go the other streams' rows a held STATE waits for.
            let mut names = vec![name.to_owned()];
            if let Some(newest) = self.states.newest_line() {
                names.extend(
                    self.streams
                        .iter()
                        .filter(|(other, s)| {
                            **other != name && s.batch.first_line.is_some_and(|l| l < newest)
                        })
                        .map(|(other, _)| other.clone()),
                );
            }
            self.flush(names)?;
        }
        Ok(())
    }

    /// A value none of its property's columns can hold: flush, then add a column of its type.
    fn add_column(
        &mut self,
        line: u64,
        name: &str,
        table: usize,
        field: usize,
        column_type: crate::column_type::ColumnType,
    ) -> Result<(), Error> {
        self.flush(vec![name.to_owned()])?;
        let stream = self.streams.get_mut(name).expect("the stream exists");
        let field = &mut stream.shape.tables[table].fields[field];
        info!(
            stream = name,
            property = field.path.join("."),
            sql_type = column_type.sql,
            "a value of another type: adding a column"
        );
        field.types.push(column_type);
        let shape = stream.shape.clone();
        let keys = stream.key_properties.clone();
        let source = stream
            .schema
            .get(X_SOURCE)
            .and_then(Value::as_str)
            .map(str::to_owned);
        let layout = self.plan(line, name, &shape, &keys, source.as_deref())?;
        self.streams
            .get_mut(name)
            .expect("the stream exists")
            .layout = layout;
        Ok(())
    }

    /// A record that cannot be loaded: rejected, or the end of the run.
    fn invalid(
        &mut self,
        line: u64,
        stream: &str,
        record: &Object<'_>,
        property: String,
        reason: String,
    ) -> Result<(), Error> {
        if self.config.invalid_records == InvalidRecords::Fail {
            return Err(Error::InvalidRecord {
                line,
                stream: stream.to_owned(),
                property,
                reason,
            });
        }
        warn!(line, stream, property, reason, "record rejected");
        let rejected_at = self.clock.now().to_owned();
        let rejects = &mut self.rejects;
        let buffer = &mut rejects.buffer;
        buffer.begin_row(line);
        let reason = format!("{property}: {reason}").replace('\0', "\\0");
        let fields = [
            stream.replace('\0', "\\0"),
            line.to_string(),
            reason,
            record.to_json(),
            rejected_at,
        ];
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                buffer.data.push(b'\t');
            }
            write_text(&mut buffer.data, field).expect("NUL bytes were replaced");
        }
        buffer.end_row();
        rejects.first_line.get_or_insert(line);
        rejects.count += 1;
        Ok(())
    }

    fn on_activate_version(
        &mut self,
        line: u64,
        message: ActivateVersionMessage,
    ) -> Result<(), Error> {
        let Some(stream) = self.streams.get(&message.stream) else {
            warn!(
                line,
                stream = message.stream,
                "ACTIVATE_VERSION for a stream without SCHEMA: ignored"
            );
            return Ok(());
        };
        let tables = stream
            .layout
            .tables
            .iter()
            .map(|t| t.table.clone())
            .collect();
        let created_now = stream.layout.tables.first().is_some_and(|t| t.created_now);
        self.flush(vec![message.stream.clone()])?;
        let activation = self.activations.entry(message.stream.clone()).or_default();
        if !activation.may_sweep(message.version) {
            info!(
                line,
                stream = message.stream,
                version = message.version,
                "ACTIVATE_VERSION before any record of its version: older rows stay live until \
                 it is repeated after the records"
            );
            return Ok(());
        }
        self.send(Command::ActivateVersion(ActivateVersion {
            stream: message.stream,
            tables,
            version: message.version,
            created_now,
        }))
    }

    /// Sends the named streams' batches (and any rejects) to the loader, with the newest STATE
    /// that no longer waits for a buffered record. With no batches, sends that STATE alone.
    fn flush(&mut self, names: Vec<String>) -> Result<(), Error> {
        let mut loads: Vec<Load> = Vec::new();
        if self.rejects.count > 0 {
            loads.push(self.take_rejects());
        }
        for name in names {
            if let Some(load) = self.take_batch(&name) {
                loads.push(load);
            }
        }
        let oldest = self
            .streams
            .values()
            .filter_map(|s| s.batch.first_line)
            .chain(self.rejects.first_line)
            .min();
        let state = self.states.release(oldest);
        match loads.last_mut() {
            Some(last) => last.state = state,
            None => {
                if let Some(state) = state {
                    self.send(Command::EmitState(state))?;
                }
            }
        }
        for load in loads {
            self.send(Command::Load(load))?;
        }
        Ok(())
    }

    fn take_batch(&mut self, name: &str) -> Option<Load> {
        let stream = self.streams.get_mut(name)?;
        if stream.batch.is_empty() {
            return None;
        }
        let batch = stream.batch.take(&self.pool);
        self.activations
            .entry(name.to_owned())
            .or_default()
            .record_versions
            .merge(batch.versions);
        let tables = stream
            .layout
            .tables
            .iter()
            .zip(batch.tables)
            .map(|(layout, buffer)| TableLoad {
                table: layout.table.clone(),
                columns: layout
                    .columns
                    .iter()
                    .filter(|c| !c.is_filled_by_database())
                    .map(|c| c.name.clone())
                    .collect(),
                filled_by_database: layout
                    .columns
                    .iter()
                    .filter(|c| c.is_filled_by_database())
                    .map(|c| c.name.clone())
                    .collect(),
                primary_key: layout.primary_key.clone(),
                root_link: layout.root_link.clone(),
                created_now: layout.created_now,
                buffer,
            })
            .collect();
        Some(Load {
            stream: name.to_owned(),
            tables,
            has_key: stream.layout.has_key,
            has_deletes: batch.has_deletes,
            versions: batch.versions,
            state: None,
        })
    }

    fn take_rejects(&mut self) -> Load {
        let rejects = std::mem::take(&mut self.rejects);
        Load {
            stream: REJECTED_TABLE.into(),
            tables: vec![TableLoad {
                table: REJECTED_TABLE.into(),
                columns: REJECTED_COLUMNS.map(str::to_owned).to_vec(),
                filled_by_database: Vec::new(),
                primary_key: Vec::new(),
                root_link: Vec::new(),
                created_now: false,
                buffer: rejects.buffer,
            }],
            has_key: false,
            has_deletes: false,
            versions: Versions::default(),
            state: None,
        }
    }

    fn send(&mut self, command: Command) -> Result<(), Error> {
        let sender = self.commands.as_ref().ok_or(Error::LoaderLost)?;
        // A closed channel means the loader stopped on an error, which `stop` reports.
        sender.send(command).map_err(|_| Error::LoaderLost)
    }

    /// Sends what is buffered, waits for the loader, and reports the first failure: the loader's
    /// (the root cause when it stopped first), else `error`.
    fn stop(mut self, error: Option<Error>) -> Result<(), Error> {
        let names: Vec<String> = self.streams.keys().cloned().collect();
        let flushed = self.flush(names);
        self.commands = None;
        let loaded = match self.loader.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) | None => Err(Error::LoaderLost),
        };
        // The loader's failure is the root cause when it stopped first.
        let summary = loaded?;
        if let Some(error) = error {
            return Err(error);
        }
        flushed?;
        let seconds = self.clock.started.elapsed().as_secs_f64();
        for stream in self.streams.values() {
            stream.progress.finish();
        }
        let mut names: Vec<&String> = self.streams.keys().collect();
        names.sort();
        for name in names {
            let stream = &self.streams[name];
            let tables: Vec<String> = stream
                .layout
                .tables
                .iter()
                .map(|t| {
                    format!(
                        "{}={}",
                        t.table,
                        summary.get(&t.table).copied().unwrap_or(0)
                    )
                })
                .collect();
            info!(
                stream = name,
                records = stream.records,
                tables = tables.join(","),
                seconds = (seconds * 100.0).round() / 100.0,
                "stream loaded"
            );
        }
        if let Some(rejected) = summary.get(REJECTED_TABLE) {
            warn!(rejected, table = REJECTED_TABLE, "records rejected");
        }
        Ok(())
    }
}

/// What the target reads of every line: a RECORD's fields, borrowed from the line.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    message_type: Text<'a>,
    #[serde(borrow)]
    stream: Option<Text<'a>>,
    #[serde(borrow)]
    record: Option<Object<'a>>,
    version: Option<u64>,
    #[serde(borrow)]
    time_extracted: Option<Text<'a>>,
}

/// `_sdc_sequence` values and the current time as text.
#[derive(Debug)]
struct Clock {
    started: Instant,
    last_sequence: i64,
    now_millis: i64,
    /// RFC 3339, refreshed when the millisecond changes.
    now: String,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            last_sequence: 0,
            now_millis: 0,
            now: String::new(),
        }
    }
}

impl Clock {
    /// The next sequence number: nanoseconds since the epoch, strictly increasing, so a later
    /// record always wins over an earlier one, within a run and across runs.
    fn tick(&mut self) -> i64 {
        let nanos = now_nanos();
        self.last_sequence = nanos.max(self.last_sequence + 1);
        self.refresh(nanos);
        self.last_sequence
    }

    /// The current time, RFC 3339, without taking a sequence number.
    fn now(&mut self) -> &str {
        self.refresh(now_nanos());
        &self.now
    }

    fn refresh(&mut self, nanos: i64) {
        let millis = nanos / 1_000_000;
        if millis != self.now_millis || self.now.is_empty() {
            self.now_millis = millis;
            self.now = DateTime::<Utc>::from_timestamp_nanos(nanos)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
        }
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activate_version_sweeps_only_when_nothing_of_its_version_follows() {
        // A full-table sync: announced, records, repeated.
        let mut sync = Activation::default();
        assert!(!sync.may_sweep(7), "the announcement before the records");
        sync.record_versions.add(Some(7));
        assert!(sync.may_sweep(7), "the repeat after the records");
        // An empty table: announced, then repeated with nothing between.
        let mut empty = Activation::default();
        assert!(!empty.may_sweep(8));
        assert!(empty.may_sweep(8));
        // Records of an older version do not make a new version's announcement final.
        let mut next = Activation::default();
        next.record_versions.add(Some(7));
        assert!(!next.may_sweep(9));
        // A lone ACTIVATE_VERSION after records of its version (taps that send one at the end).
        let mut end_only = Activation::default();
        end_only.record_versions.add(Some(10));
        assert!(end_only.may_sweep(10));
    }
}
