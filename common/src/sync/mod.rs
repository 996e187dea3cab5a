//! The sync engine both taps run: what is the same in every database.
//!
//! ```text
//! selected streams ──▶ one at a time: FULL_TABLE │ INCREMENTAL   (stream.rs, full_table.rs, incremental.rs)
//!                  ──▶ then together: LOG_BASED, one log reader  (log_based.rs)
//! --shard K/N      ──▶ one key range of each FULL_TABLE stream    (shard.rs)
//! ```
//!
//! The engine owns the order of streams, `currently_syncing`, bookmarks, versions and
//! ACTIVATE_VERSION, checkpoints every `state_every_rows` rows, key bounds, counting and metrics.
//! A tap supplies what differs behind [`Source`]: the table's columns and their value kinds, how
//! to quote and write a literal or a key-range condition, and how to stream a query's rows.
//!
//! The interrupted stream (`currently_syncing` in the incoming state) goes first; each stream is
//! announced in STATE before its first message, timed as a `sync_duration` METRIC, and the run
//! ends with a STATE whose `currently_syncing` is null.

mod encode;
mod full_table;
mod incremental;
mod log_based;
mod shard;
mod stream;

pub use shard::{
    InvalidShard, Plan, ShardIndex, ShardPlan, ShardPlanError, ShardRun, StreamPlan,
    activate_streams, plan_streams, shard_plans,
};
pub use stream::schema_message;

use std::io::{self, Write};

use serde_json::Value;
use tracing::{info, warn};

pub use encode::{
    InvalidValue, Mismatch, NotText, RowEncoder, SourceRow, ValueEncoding, append_property,
};
pub use log_based::{
    DELETED_AT, LogEvent, LogReader, LogSender, NoLogReader, WriterGone, log_based_schema,
};

use crate::catalog::{Catalog, CatalogError, ReplicationMethod, StreamSelection};
use crate::config::TapConfig;
use crate::metrics::Timer;
use crate::retry;
use crate::state::LogPosition;
use crate::{MessageWriter, State};

/// What a tap tells the engine about its database.
pub trait Source {
    /// The program's name, for the SCHEMA's `x-source`.
    const PROGRAM: &'static str;
    /// How a column's text becomes JSON.
    type Kind: ValueEncoding + Clone;
    /// A row as [`Source::read_rows`] hands it over.
    type Row: SourceRow;
    type Error: std::error::Error + From<SyncError> + Send + 'static;
    /// The reader of the database's change log, for LOG_BASED streams.
    type LogReader: LogReader<Self::Error>;

    /// The table a stream reads, as it is now. `Ok(None)` when it no longer exists or cannot be
    /// read.
    fn open_table(
        &mut self,
        selection: &StreamSelection,
    ) -> Result<Option<SourceTable<Self::Kind>>, Self::Error>;

    /// An identifier quoted for this database's SQL.
    fn quote_identifier(name: &str) -> String;

    /// A bookmark value (as the tap emitted it) as a SQL literal comparable with `column`.
    fn literal(column: &SourceColumn<Self::Kind>, value: &Value) -> String;

    /// `keys` (quoted column, literal) compared with their bookmark in key order. Written out as
    /// `(a > 1) or (a = 1 and b > 2)`, which every server's index can serve; a database with row
    /// comparisons may say it shorter.
    fn key_condition(keys: &[(String, String)], bound: KeyBound) -> String {
        let alternatives: Vec<String> = (0..keys.len())
            .map(|position| {
                let mut terms: Vec<String> = keys[..position]
                    .iter()
                    .map(|(column, literal)| format!("{column} = {literal}"))
                    .collect();
                let (column, literal) = &keys[position];
                let operator = if position + 1 == keys.len() {
                    bound.operator()
                } else {
                    bound.strict_operator()
                };
                terms.push(format!("{column} {operator} {literal}"));
                format!("({})", terms.join(" and "))
            })
            .collect();
        format!("({})", alternatives.join(" or "))
    }

    /// Runs `query` and hands each row, in order, to `each`, without holding the result.
    fn read_rows<F>(&mut self, stream: &str, query: &str, each: F) -> Result<(), Self::Error>
    where
        F: FnMut(&Self::Row) -> Result<(), Self::Error>;

    /// Whether `error` is a lost connection or a server going away (not a wrong query, a missing
    /// grant or a bad value): the stream is then resumed from its last checkpoint on a new
    /// session.
    fn is_transient(error: &Self::Error) -> bool;

    /// A new session in place of one that failed.
    fn reconnect(&mut self) -> Result<(), Self::Error>;

    /// The property every LOG_BASED record of this source carries with its change's position
    /// in the log (`_sdc_lsn`), if any.
    const LOG_SEQUENCE_PROPERTY: Option<&'static str> = None;

    /// Readies the change log for `streams` (every LOG_BASED stream), before any snapshot:
    /// checks the server's settings and the user's rights, creates what the reader needs.
    fn prepare_log(&mut self, streams: &[StreamSelection]) -> Result<(), Self::Error> {
        let _ = streams;
        Err(SyncError::LogBasedUnavailable.into())
    }

    /// Whether the log still holds every change after `position`: when a slot was lost or a
    /// binlog purged, the stream takes a new snapshot.
    fn log_position_available(&mut self, position: &LogPosition) -> Result<bool, Self::Error> {
        let _ = position;
        Ok(true)
    }

    /// A position of the change log at or before now, taken before a LOG_BASED stream's
    /// snapshot: the changes after it are read once the snapshot is done.
    fn log_position(&mut self) -> Result<LogPosition, Self::Error> {
        Err(SyncError::LogBasedUnavailable.into())
    }

    /// At the activation of a sharded run (`--activate`), a position of the change log no later
    /// than the start of every shard's snapshot, if the source keeps one (PostgreSQL: the slot's
    /// confirmed position, which shard runs never advance). `None`: the next ordinary run takes
    /// a new snapshot, unless the position is given (`--log-position`).
    fn activation_log_position(&mut self) -> Result<Option<LogPosition>, Self::Error> {
        Ok(None)
    }

    /// A reader of the change log for `streams` (every LOG_BASED stream, snapshots done), each
    /// from its bookmark, until caught up with the log's position when it starts (or
    /// `settings.max_run_seconds`).
    fn log_reader(
        &mut self,
        streams: &[StreamSelection],
        state: &State,
        settings: &SyncSettings,
    ) -> Result<Self::LogReader, Self::Error> {
        let _ = (streams, state, settings);
        Err(SyncError::LogBasedUnavailable.into())
    }
}

/// One side of a key range: after the last key sent, or up to the largest key at the start; a
/// shard's range is from its lower bound and before its upper one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBound {
    After,
    UpTo,
    From,
    Before,
}

impl KeyBound {
    /// The comparison of whole keys: `(a, b) > (1, 2)`.
    pub fn operator(self) -> &'static str {
        match self {
            Self::After => ">",
            Self::UpTo => "<=",
            Self::From => ">=",
            Self::Before => "<",
        }
    }

    /// The comparison of a leading key column in the written-out form.
    fn strict_operator(self) -> &'static str {
        match self {
            Self::After | Self::From => ">",
            Self::UpTo | Self::Before => "<",
        }
    }
}

/// A table as a tap reads it.
#[derive(Debug, Clone)]
pub struct SourceTable<K> {
    /// The qualified, quoted name queries read `from`.
    pub from: String,
    /// The database it lives in, for the SCHEMA's `x-source`.
    pub database: String,
    /// Every column, in the table's order.
    pub columns: Vec<SourceColumn<K>>,
    /// Columns that lead an index (good replication keys).
    pub indexed: Vec<String>,
}

/// A column as a tap reads it.
#[derive(Debug, Clone)]
pub struct SourceColumn<K> {
    pub name: String,
    /// The select-list expression reading it: the quoted name, or an expression aliased to it.
    pub select: String,
    /// Its type as the database writes it (`numeric(40,10)`, `bigint unsigned`).
    pub sql_type: String,
    pub kind: K,
}

/// What stops a sync, whatever the database.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("could not write to stdout")]
    Output(#[from] io::Error),
    #[error("stream {stream}: the table no longer exists or cannot be read")]
    MissingTable { stream: String },
    #[error("stream {stream}: column {column:?} no longer exists")]
    MissingColumn { stream: String, column: String },
    #[error("stream {stream}: unusable bookmark: {reason}")]
    BadBookmark { stream: String, reason: String },
    /// `row` names the row by its position in the read (never by its values).
    #[error("stream {stream}, row {row} of this run")]
    Value {
        stream: String,
        row: u64,
        #[source]
        source: InvalidValue,
    },
    #[error("stream {stream}: a row was encoded as something that is not JSON")]
    NotJson { stream: String },
    #[error("stream {stream}: could not compute the shards' key ranges: {reason}")]
    BadShardPlan { stream: String, reason: String },
    #[error(transparent)]
    ShardPlan(#[from] ShardPlanError),
    #[error("LOG_BASED replication is not available yet in this tap")]
    LogBasedUnavailable,
    #[error("could not start the log reader's thread")]
    LogReaderThread(#[source] io::Error),
    #[error("the log reader stopped unexpectedly")]
    LogReaderPanicked,
}

/// The settings of a run that the engine reads from the tap's config.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub default_replication_method: Option<ReplicationMethod>,
    /// A STATE every this many rows (at least 1).
    pub state_every_rows: u64,
    /// A LOG_BASED run stops after this long even if it has not caught up.
    pub max_run_seconds: Option<u64>,
    /// How many times a stream is resumed on a new session after transient failures.
    pub max_retries: u32,
    /// A shard run (`--shard K/N`): only that key range of each FULL_TABLE stream (and LOG_BASED
    /// snapshot), at the run's shared version, never sweeping older versions.
    pub shard: Option<ShardRun>,
    /// The bounds every shard of the run reads (`--shard-plan`); without it, each shard computes
    /// its own.
    pub shard_plan: Option<std::sync::Arc<Plan>>,
}

impl<O: Default> From<&TapConfig<O>> for SyncSettings {
    fn from(config: &TapConfig<O>) -> Self {
        Self {
            default_replication_method: config.default_replication_method,
            state_every_rows: config.state_every_rows.max(1),
            max_run_seconds: config.max_run_seconds,
            max_retries: config.max_retries,
            shard: None,
            shard_plan: None,
        }
    }
}

/// Syncs every selected stream of `catalog` from `source`, writing messages to `out`; returns the
/// final state.
pub fn sync_streams<S: Source, W: Write>(
    source: &mut S,
    settings: &SyncSettings,
    catalog: &Catalog,
    mut state: State,
    out: &mut MessageWriter<W>,
) -> Result<State, S::Error> {
    let mut selections = catalog
        .selected_streams(settings.default_replication_method)
        .map_err(SyncError::from)?;
    if selections.is_empty() {
        warn!("no stream is selected: nothing to sync");
    }
    warn_of_foreign_bookmarks(catalog, &state);
    if let Some(current) = &state.currently_syncing
        && let Some(position) = selections.iter().position(|s| &s.tap_stream_id == current)
    {
        let interrupted = selections.remove(position);
        selections.insert(0, interrupted);
    }
    if let Some(run) = settings.shard {
        // A LOG_BASED stream's snapshot is sharded; its log is followed by ordinary runs, from
        // the position the activation step bookmarks.
        let selections = shard::sharded_streams(selections);
        if let Some(plan) = &settings.shard_plan {
            shard::check_plan(plan, &selections, run).map_err(SyncError::from)?;
        }
        let log_based: Vec<StreamSelection> = selections
            .iter()
            .filter(|s| s.replication_method == ReplicationMethod::LogBased)
            .cloned()
            .collect();
        if !log_based.is_empty() {
            source.prepare_log(&log_based)?;
        }
        for selection in &selections {
            if selection.replication_method == ReplicationMethod::LogBased {
                shard::sync_log_based_shard(source, settings, selection, run, &mut state, out)?;
            } else {
                sync_one(source, settings, selection, &mut state, out)?;
            }
        }
        info!(shard = %run.shard, version = run.version, "shard done: activate the version once every shard is");
        state.currently_syncing = None;
        out.write_state(&state).map_err(SyncError::from)?;
        out.flush().map_err(SyncError::from)?;
        return Ok(state);
    }
    let (log_based, one_by_one): (Vec<_>, Vec<_>) = selections
        .into_iter()
        .partition(|s| s.replication_method == ReplicationMethod::LogBased);
    for selection in &one_by_one {
        sync_one(source, settings, selection, &mut state, out)?;
    }
    if !log_based.is_empty() {
        // What the streams before have finished is said before the log phase can fail.
        state.currently_syncing = None;
        out.write_state(&state).map_err(SyncError::from)?;
        log_based::sync_log_based(source, settings, &log_based, &mut state, out)?;
    }
    state.currently_syncing = None;
    out.write_state(&state).map_err(SyncError::from)?;
    out.flush().map_err(SyncError::from)?;
    Ok(state)
}

/// One FULL_TABLE or INCREMENTAL stream (or a LOG_BASED stream's snapshot), announced, timed
/// and logged.
pub(super) fn sync_one<S: Source, W: Write>(
    source: &mut S,
    settings: &SyncSettings,
    selection: &StreamSelection,
    state: &mut State,
    out: &mut MessageWriter<W>,
) -> Result<(), S::Error> {
    let resume = state.bookmark(&selection.tap_stream_id).map_or_else(
        || "no bookmark: full sync".to_owned(),
        |bookmark| {
            // A LOG_BASED stream gets here for its snapshot, a full-table sync.
            let method = match selection.replication_method {
                ReplicationMethod::LogBased => ReplicationMethod::FullTable,
                method => method,
            };
            bookmark.resume_point(method, selection.replication_key.as_deref())
        },
    );
    info!(stream = %selection.stream, method = %selection.replication_method, "{resume}");
    state.currently_syncing = Some(selection.tap_stream_id.clone());
    out.write_state(state).map_err(SyncError::from)?;
    let timer = Timer::start("sync_duration", &[("endpoint", &selection.stream)]);
    let result = with_retries(source, settings, &selection.stream, |source| {
        stream::StreamSync::open(source, settings, selection, state, out).and_then(|mut stream| {
            match selection.replication_method {
                ReplicationMethod::Incremental => stream.sync_incremental(),
                _ => stream.sync_full_table(),
            }
        })
    });
    let seconds = timer.elapsed().as_secs_f64();
    timer.finish(result.is_ok()).emit();
    let rows = result?;
    info!(
        stream = %selection.stream,
        method = %selection.replication_method,
        rows,
        seconds = (seconds * 100.0).round() / 100.0,
        rows_per_second = (rows as f64 / seconds.max(1e-3)).round() as u64,
        "stream synced"
    );
    Ok(())
}

/// [`retry::with_retries`] for the source: a transient failure means a new session, and the
/// attempt resumes from the last checkpoint in the state, so nothing is lost or skipped.
pub(super) fn with_retries<S: Source, T>(
    source: &mut S,
    settings: &SyncSettings,
    stream: &str,
    attempt: impl FnMut(&mut S) -> Result<T, S::Error>,
) -> Result<T, S::Error> {
    let message = format!(
        "stream {stream}: transient failure of the source: reconnecting, then resuming the \
         stream from its last checkpoint"
    );
    retry::with_retries(
        source,
        settings.max_retries,
        &message,
        S::is_transient,
        attempt,
        S::reconnect,
    )
}

/// Bookmarks of streams the catalog does not have are kept untouched, but said once: a state from
/// another tap or database would otherwise be carried along silently.
fn warn_of_foreign_bookmarks(catalog: &Catalog, state: &State) {
    let foreign: Vec<&str> = state
        .bookmarks
        .keys()
        .filter(|id| {
            !catalog
                .streams
                .iter()
                .any(|entry| &entry.tap_stream_id == *id)
        })
        .map(String::as_str)
        .collect();
    if !foreign.is_empty() {
        warn!(
            streams = %foreign.join(", "),
            "the state has bookmarks for streams that are not in the catalog (a state of another \
             tap or database?): kept unchanged"
        );
    }
}
