//! The orchestrator: what each Singer message does, and when buffered work goes to the loader.
//!
//! Runs on the main thread (fed by `input`): keeps each stream's shape, layout, validator and
//! buffered rows, and sends DDL, batches and STATEs to the loader thread (`load`) in the order
//! they must take effect. It plans DDL against its own model of the warehouse
//! (`warehouse::Warehouse`), so it never waits for the database except when the channel is full.
//! The loader runs commands in order, each committed before the next: a STATE sent after the
//! batches holding every record before it is printed only once they are committed.
//!
//! On bad input the target first sends everything valid it has buffered, with the STATEs that
//! covers, and the loader commits it before the run stops with the error.

use std::collections::{HashMap, HashSet};

use common::json_schema::X_SOURCE;
use common::json_schema::properties;
use common::message::{ActivateVersionMessage, SchemaMessage};
use common::progress::Progress;
use crossbeam_channel::Sender;
use serde_json::Value;
use tracing::{info, warn};

use crate::Error;
use crate::activation::Activation;
use crate::batch::{BufferPool, StreamBatch};
use crate::clock::Clock;
use crate::config::{CopyFormatSetting, InvalidRecords, TargetConfig};
use crate::denest::StreamShape;
use crate::denest::record::{EncodeError, RecordMeta, RecordWriter};
use crate::encode::{Timestamp, check_timestamp};
use crate::json::{Kind, Object};
use crate::layout::StreamLayout;
use crate::load::{ActivateVersion, Command, Load, LoadSummary, TableLoad};
use crate::partial::{Absent, Omittable};
use crate::reject::{REJECTED_TABLE, Rejects};
use crate::state::PendingStates;
use crate::system_column::DELETED_AT;
use crate::validate::RecordValidator;
use crate::warehouse::Warehouse;

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
    /// Where DDL, batches and STATEs go, in the order they must take effect; `None` once finished.
    commands: Option<Sender<Command>>,
    pool: BufferPool,
    clock: Clock,
    /// Per stream: the table versions of this run's records, and the last ACTIVATE_VERSION seen.
    activations: HashMap<String, Activation>,
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
    /// The properties a record may leave out, and those the last record checked lacks (the same
    /// for the same names).
    omittable: Omittable,
    last_absent: Vec<u32>,
    /// The last `time_extracted` found valid, and as parsed: taps repeat it for many records.
    last_extracted: Option<(String, Timestamp)>,
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
            self.omittable.absent_from(record, &mut self.last_absent);
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

impl Target {
    /// A target planning against `warehouse` and sending its work to `commands`.
    pub fn new(config: TargetConfig, warehouse: Warehouse, commands: Sender<Command>) -> Self {
        Self {
            config,
            warehouse,
            streams: HashMap::new(),
            rejects: Rejects::default(),
            states: PendingStates::default(),
            commands: Some(commands),
            pool: BufferPool::new(POOL_CAPACITY),
            clock: Clock::default(),
            activations: HashMap::new(),
        }
    }

    /// Where the loader returns the buffers it has loaded, to be filled again.
    pub fn buffer_pool(&self) -> BufferPool {
        self.pool.clone()
    }

    /// A SCHEMA: the stream's tables are planned and their DDL sent ahead of its records, which
    /// are validated against it from now on.
    pub fn on_schema(&mut self, line: u64, message: SchemaMessage) -> Result<(), Error> {
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
        let omittable = Omittable::of(&shape, &key_properties);
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
                // What a record of no names lacks, as `last_names` says.
                last_absent: omittable.all(),
                omittable,
                last_extracted: None,
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
        let (layout, statements): (_, Vec<String>) = self
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
            let statements = self
                .warehouse
                .lock_statement(&layout)
                .into_iter()
                .chain(statements)
                .collect();
            self.send(Command::Execute {
                stream: name.to_owned(),
                statements,
            })?;
        }
        let binary_allowed = self.config.copy_format == CopyFormatSetting::Binary;
        Ok(layout.with_copy_format(binary_allowed))
    }

    /// A RECORD: checked, then de-nested into its stream's buffers; a full batch is flushed.
    pub fn on_record(
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
                (_, Some(text)) => match check_timestamp(&text) {
                    Ok(parsed) => Some((text, parsed)),
                    Err(reason) => {
                        let reason = reason.to_string();
                        return self.invalid(line, name, record, DELETED_AT.into(), reason);
                    }
                },
                _ => {
                    let reason = format!("{} is not a date-time", value.describe());
                    return self.invalid(line, name, record, DELETED_AT.into(), reason);
                }
            },
        };
        // Checked once per distinct value: a run's records mostly share it.
        let extracted_at = time_extracted.and_then(|text| match &stream.last_extracted {
            Some((last, parsed)) if last == text => Some((text, *parsed)),
            _ => {
                let parsed = check_timestamp(text).ok()?;
                stream.last_extracted = Some((text.to_owned(), parsed));
                Some((text, parsed))
            }
        });
        let sequence = self.clock.tick();
        // Under `hard_delete` a delete takes the row and its child rows whatever the record
        // holds: it counts as complete, so a later record of its key in the batch starts from
        // nothing, as it does at the source.
        let hard_delete = deleted_at.is_some() && self.config.hard_delete;
        loop {
            let stream = self.streams.get_mut(name).expect("checked above");
            let meta = RecordMeta {
                line,
                extracted_at,
                sequence,
                version,
                deleted_at: deleted_at
                    .as_ref()
                    .map(|(text, parsed)| (text.as_ref(), *parsed)),
            };
            let writer = RecordWriter {
                shape: &stream.shape,
                layout: &stream.layout,
                key_properties: &stream.key_properties,
            };
            // A stream without a key only appends: nothing to leave unchanged.
            let absent = if hard_delete || !stream.layout.has_key {
                &[][..]
            } else {
                &stream.last_absent
            };
            let added = stream.batch.add_record(&writer, record, &meta, absent);
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
        let rejected_at = self.clock.now();
        self.rejects
            .add(line, stream, record, &property, &reason, rejected_at);
        Ok(())
    }

    /// A STATE: held until every record read before it is committed (see `state`).
    pub fn on_state(&mut self, line: u64, value: Value) -> Result<(), Error> {
        self.states.push(line, value);
        self.flush(Vec::new())
    }

    /// An ACTIVATE_VERSION: the stream's buffered rows go first; older versions are swept once
    /// nothing of this version can follow (see `activation`).
    pub fn on_activate_version(
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
        loads.extend(self.rejects.take());
        for name in names {
            if let Some(load) = self.take_batch(&name) {
                loads.push(load);
            }
        }
        let oldest = self
            .streams
            .values()
            .filter_map(|s| s.batch.first_line)
            .chain(self.rejects.first_line())
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
                compared: layout.compared_columns(),
                format: layout.format,
                created_now: layout.created_now,
                buffer,
            })
            .collect();
        let absent = (!batch.absent.is_empty()).then(|| Absent {
            properties: batch
                .absent
                .indices
                .iter()
                .map(|&index| stream.omittable.fills(index, &stream.shape, &stream.layout))
                .collect(),
            rows: batch.absent.rows,
        });
        Some(Load {
            stream: name.to_owned(),
            tables,
            absent,
            has_key: stream.layout.has_key,
            has_deletes: batch.has_deletes,
            repeats_a_key: batch.repeats_a_key,
            versions: batch.versions,
            state: None,
        })
    }

    fn send(&mut self, command: Command) -> Result<(), Error> {
        let sender = self.commands.as_ref().ok_or(Error::LoaderLost)?;
        // A closed channel means the loader stopped on an error, which `LoaderThread::wait`
        // reports.
        sender.send(command).map_err(|_| Error::LoaderLost)
    }

    /// Sends everything buffered, with the STATEs it covers, and closes the channel: the loader
    /// stops once it has done what it was sent.
    pub fn finish(&mut self) -> Result<(), Error> {
        let names: Vec<String> = self.streams.keys().cloned().collect();
        let flushed = self.flush(names);
        self.commands = None;
        flushed
    }

    /// Logs what each stream loaded, by table, from the loader's `summary`.
    pub fn log_summary(&self, summary: &LoadSummary) {
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
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use common::config::ConfigFile;
    use crossbeam_channel::{Receiver, unbounded};
    use serde_json::json;

    use super::*;
    use crate::input::read_input;

    /// A target loading into an empty schema, and the channel a loader would read.
    fn target(settings: Value) -> (Target, Receiver<Command>) {
        let mut config = json!({"host": "localhost", "user": "loader", "dbname": "warehouse",
                                "default_target_schema": "shop"});
        let extra = settings
            .as_object()
            .expect("settings are an object")
            .clone();
        config.as_object_mut().expect("an object").extend(extra);
        let config = TargetConfig::from_json(config).expect("a valid config");
        let warehouse = Warehouse::new(&config.schema(), vec![REJECTED_TABLE.into()]);
        // Unbounded: no loader drains it while the target runs.
        let (sender, receiver) = unbounded();
        (Target::new(config, warehouse, sender), receiver)
    }

    fn schema(stream: &str) -> String {
        json!({"type": "SCHEMA", "stream": stream, "key_properties": ["id"],
               "schema": {"properties": {"id": {"type": "integer"}}}})
        .to_string()
    }

    fn record(stream: &str, id: Value) -> String {
        json!({"type": "RECORD", "stream": stream, "record": {"id": id}}).to_string()
    }

    /// A STATE that says which line it was read from.
    fn state(line: u64) -> String {
        json!({"type": "STATE", "value": {"line": line}}).to_string()
    }

    /// What the loader does, in the order it does it.
    #[derive(Debug)]
    enum Step {
        /// A batch committed: the input lines of its rows.
        Committed(Vec<u64>),
        /// A STATE printed on stdout.
        Printed(Value),
    }

    /// Runs the commands as the loader does: in the order they were sent, each committed before
    /// the next, a batch's STATE printed once the batch is committed.
    fn run_loader(commands: &Receiver<Command>) -> Vec<Step> {
        let mut steps = Vec::new();
        for command in commands.try_iter() {
            match command {
                Command::Load(load) => {
                    let lines = load.tables.iter().flat_map(|t| t.buffer.lines.clone());
                    steps.push(Step::Committed(lines.collect()));
                    steps.extend(load.state.map(Step::Printed));
                }
                Command::EmitState(state) => steps.push(Step::Printed(state)),
                Command::Execute { .. } | Command::ActivateVersion(_) => {}
            }
        }
        steps
    }

    /// The lines of the STATEs printed, in order, after checking that each was printed only once
    /// every RECORD read before it was committed, and after the STATE printed before it.
    fn printed_states(input: &[String], steps: &[Step]) -> Vec<u64> {
        let records: Vec<u64> = (1..)
            .zip(input)
            .filter(|(_, text)| text.contains(r#""type":"RECORD""#))
            .map(|(line, _)| line)
            .collect();
        let mut committed = BTreeSet::new();
        let mut printed = Vec::new();
        for step in steps {
            match step {
                Step::Committed(lines) => committed.extend(lines.iter().copied()),
                Step::Printed(state) => {
                    let line = state["line"].as_u64().expect("states name their line");
                    let uncommitted: Vec<&u64> = records
                        .iter()
                        .filter(|record| **record < line && !committed.contains(*record))
                        .collect();
                    assert!(
                        uncommitted.is_empty(),
                        "the STATE of line {line} was printed before the records of lines \
                         {uncommitted:?} were committed: {steps:?}"
                    );
                    assert!(
                        printed.last().is_none_or(|last| *last < line),
                        "the STATE of line {line} was printed after a later one: {steps:?}"
                    );
                    printed.push(line);
                }
            }
        }
        printed
    }

    fn lines(input: &[String]) -> String {
        input.join("\n") + "\n"
    }

    #[test]
    fn a_state_is_printed_once_the_records_before_it_are_committed() {
        let (mut target, commands) = target(json!({"batch_size_rows": 2}));
        let input = [
            schema("a"),
            schema("b"),
            record("a", json!(1)),
            state(4), // waits for line 3
            record("b", json!(1)),
            state(6),              // waits for lines 3 and 5
            record("b", json!(2)), // b is full: flushed, and a with it, which state 6 waits for
            record("a", json!(2)),
            state(9),              // waits for line 8
            record("a", json!(3)), // a is full: flushed
            state(11),             // nothing buffered: printed at once
            record("b", json!(3)),
            state(13), // waits for line 12, sent at the end
        ];
        read_input(lines(&input).as_bytes(), u64::MAX, &mut target).unwrap();
        target.finish().unwrap();
        let steps = run_loader(&commands);
        assert_eq!(printed_states(&input, &steps), [6, 9, 11, 13], "{steps:?}");
    }

    #[test]
    fn on_bad_input_what_came_before_is_committed_and_its_state_printed() {
        let (mut target, commands) = target(json!({}));
        let input = [
            schema("a"),
            record("a", json!(1)),
            state(3),
            record("a", json!(2)),
            record("unknown", json!(1)),
            state(6),
        ];
        let error = read_input(lines(&input).as_bytes(), u64::MAX, &mut target).unwrap_err();
        assert!(
            matches!(error, Error::RecordBeforeSchema { line: 5, .. }),
            "{error}"
        );
        target.finish().unwrap();
        let steps = run_loader(&commands);
        assert_eq!(printed_states(&input, &steps), [3], "{steps:?}");
        let committed: Vec<u64> = steps
            .iter()
            .flat_map(|step| match step {
                Step::Committed(lines) => lines.clone(),
                Step::Printed(_) => Vec::new(),
            })
            .collect();
        assert_eq!(committed, [2, 4], "nothing after the bad line: {steps:?}");
    }

    #[test]
    fn a_state_after_a_rejected_record_waits_until_the_reject_is_stored() {
        let (mut target, commands) = target(json!({"invalid_records": "reject"}));
        let input = [
            schema("a"),
            record("a", json!("not an integer")),
            state(3), // waits for the reject of line 2 to be stored
            record("a", json!(4)),
            record("a", json!("not an integer")),
            state(6), // waits for line 4 (sent at the end) and the reject of line 5
        ];
        read_input(lines(&input).as_bytes(), u64::MAX, &mut target).unwrap();
        target.finish().unwrap();
        let steps = run_loader(&commands);
        assert_eq!(printed_states(&input, &steps), [3, 6], "{steps:?}");
    }
}
