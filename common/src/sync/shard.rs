//! Shards: one table's primary-key range split N ways, each part read by its own job.
//!
//! ```text
//! --plan N          every job's bounds, printed once (JSON) for an orchestrator's template
//! --shard K/N       RECORDs of keys in [lower, upper) of shard K, version V, no ACTIVATE_VERSION
//!  … N jobs at once, each with its own state …
//! --activate        SCHEMA + ACTIVATE_VERSION V per stream: the target sweeps older versions
//! ```
//!
//! The bounds are key-range quantiles read from the source: `ntile(N) over (order by key)` and
//! the first key of every tile, in one query that PostgreSQL and MariaDB run alike. Every job
//! computes them itself, so there is nothing to share but `K/N` and the version; for a table not
//! written while the jobs plan, all compute the same bounds. The first shard has no lower bound and
//! the last no upper one, so a key outside the planned range still belongs to exactly one shard. A
//! shard's bounds are kept in its bookmark: resumed or repeated, it reads the range it started
//! with.
//!
//! The shards of a run share one table version, given to each job (`--shard-version`, config
//! `shard_version`), and never sweep: rows of the previous version stay live until the activation
//! step, run once every shard has succeeded.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use tracing::{info, warn};

use super::stream::{open_table, parse_record, schema_message};
use super::{RowEncoder, Source, SourceColumn, SourceRow, SourceTable, SyncError, SyncSettings};
use crate::catalog::{Catalog, ReplicationMethod, StreamSelection};
use crate::state::{LogPosition, LogStage, ShardRange};
use crate::{Bookmark, MessageWriter, State};

/// `K/N`: the K-th (from 0, as a Kubernetes indexed Job numbers its pods) of N key ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardIndex {
    pub index: u32,
    pub count: u32,
}

/// A `K/N` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shard {text:?}: {reason}")]
pub struct InvalidShard {
    text: String,
    reason: &'static str,
}

impl FromStr for ShardIndex {
    type Err = InvalidShard;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidShard {
            text: text.to_owned(),
            reason,
        };
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| invalid("expected K/N, such as 0/8"))?;
        let number = |part: &str| part.trim().parse::<u32>();
        let (Ok(index), Ok(count)) = (number(index), number(count)) else {
            return Err(invalid("K and N must be whole numbers, such as 0/8"));
        };
        if count == 0 {
            return Err(invalid("N must be at least 1"));
        }
        if index >= count {
            return Err(invalid("K counts from 0 and must be less than N"));
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for ShardIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl<'de> Deserialize<'de> for ShardIndex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A sharded run: which shard, and the table version every shard of the run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRun {
    pub shard: ShardIndex,
    pub version: u64,
}

/// One stream's shards, as `--plan` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamPlan {
    pub tap_stream_id: String,
    pub stream: String,
    pub key_properties: Vec<String>,
    /// Rows when the bounds were computed.
    pub rows: u64,
    pub shards: Vec<ShardPlan>,
}

/// One shard of a stream: its key range and about how many rows it reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardPlan {
    #[serde(flatten)]
    pub range: ShardRange,
    pub estimated_rows: u64,
}

/// What `--plan` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub shards: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// With LOG_BASED streams: the change log's position now, before any shard reads (the log
    /// readied first), for `--activate --log-position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_position: Option<String>,
    pub streams: Vec<StreamPlan>,
}

/// The shards of `count` from the first key of every tile but the first (`boundaries`, in key
/// order) and the table's rows: shard K reads `[boundaries[K-1], boundaries[K])`, the first
/// without a lower bound, the one of the last tile without an upper bound; shards past the last
/// tile (a table of fewer rows than shards) read nothing. `ntile` makes the first `rows % count`
/// tiles one row longer.
pub fn shard_plans(count: u32, boundaries: &[Map<String, Value>], rows: u64) -> Vec<ShardPlan> {
    let tiles = boundaries.len() + 1;
    (0..count as usize)
        .map(|index| {
            let range = ShardRange {
                shard: ShardIndex {
                    index: index as u32,
                    count,
                }
                .to_string(),
                lower: index
                    .checked_sub(1)
                    .and_then(|before| boundaries.get(before).cloned()),
                upper: boundaries.get(index).cloned(),
                empty: index >= tiles,
            };
            let estimated_rows =
                rows / u64::from(count) + u64::from((index as u64) < rows % u64::from(count));
            ShardPlan {
                range,
                estimated_rows,
            }
        })
        .collect()
}

/// A table's rows, in key order, dealt into tiles.
struct Tiles {
    /// The first key of every tile but the first.
    boundaries: Vec<Map<String, Value>>,
    rows: u64,
}

/// The table's rows dealt into `count` tiles. One read of every key (an index scan).
fn read_boundaries<S: Source>(
    source: &mut S,
    selection: &StreamSelection,
    table: &SourceTable<S::Kind>,
    count: u32,
) -> Result<Tiles, S::Error> {
    let id = &selection.tap_stream_id;
    let keys: Vec<&SourceColumn<S::Kind>> = selection
        .key_properties
        .iter()
        .map(|key| {
            table
                .columns
                .iter()
                .find(|column| &column.name == key)
                .ok_or_else(|| SyncError::MissingColumn {
                    stream: id.clone(),
                    column: key.clone(),
                })
        })
        .collect::<Result<_, _>>()?;
    let quoted: Vec<String> = keys.iter().map(|c| S::quote_identifier(&c.name)).collect();
    let quoted = quoted.join(", ");
    let tile = S::quote_identifier("_sdc_shard_tile");
    let previous = S::quote_identifier("_sdc_shard_previous_tile");
    let total = S::quote_identifier("_sdc_shard_rows");
    let selects: Vec<&str> = keys.iter().map(|c| c.select.as_str()).collect();
    let query = format!(
        "select {selects}, {tile}, {total} from (\
           select {quoted}, {tile}, {total}, lag({tile}) over (order by {quoted}) as {previous} \
           from (select {quoted}, ntile({count}) over (order by {quoted}) as {tile}, \
                 count(*) over () as {total} from {from}) as tiles\
         ) as firsts where {previous} is null or {previous} <> {tile} order by {quoted}",
        selects = selects.join(", "),
        from = table.from,
    );
    let mut encoder = RowEncoder::new(keys.iter().map(|c| (c.name.clone(), c.kind.clone())));
    let mut boundaries = Vec::new();
    let mut rows = 0;
    let mut record = Vec::new();
    source.read_rows(id, &query, |row| {
        let bad = |reason: &str| SyncError::BadShardPlan {
            stream: id.clone(),
            reason: reason.to_owned(),
        };
        encoder
            .encode(row, &mut record)
            .map_err(|source| SyncError::Value {
                stream: id.clone(),
                row: boundaries.len() as u64 + 1,
                source,
            })?;
        let number = |index| {
            row.field(index)
                .ok()
                .flatten()
                .and_then(|text| std::str::from_utf8(text).ok()?.parse::<u64>().ok())
        };
        let tile = number(keys.len()).ok_or_else(|| bad("the tile is not a number"))?;
        rows = number(keys.len() + 1).ok_or_else(|| bad("the row count is not a number"))?;
        if tile > 1 {
            boundaries.push(parse_record(id, &record)?);
        }
        Ok(())
    })?;
    Ok(Tiles { boundaries, rows })
}

/// Whether a stream is split into shards: a FULL_TABLE stream or a LOG_BASED stream's snapshot,
/// with a key. Said once per stream otherwise.
fn is_sharded(selection: &StreamSelection) -> bool {
    if selection.replication_method == ReplicationMethod::Incremental {
        warn!(
            stream = %selection.stream,
            "INCREMENTAL streams are not split into shards: skipped by a shard run (sync it in an \
             ordinary run)"
        );
        return false;
    }
    true
}

/// The key range shard `run` reads of a stream with keys: the one in its bookmark when the
/// bookmark is of the same shard and version (a resumed or repeated shard), else computed.
pub(super) fn shard_range<S: Source>(
    source: &mut S,
    selection: &StreamSelection,
    table: &SourceTable<S::Kind>,
    run: ShardRun,
    kept: Option<ShardRange>,
) -> Result<ShardRange, S::Error> {
    let name = run.shard.to_string();
    if let Some(kept) = kept.filter(|kept| kept.shard == name) {
        return Ok(kept);
    }
    let Tiles { boundaries, rows } = read_boundaries(source, selection, table, run.shard.count)?;
    let plan =
        shard_plans(run.shard.count, &boundaries, rows).swap_remove(run.shard.index as usize);
    info!(
        stream = %selection.stream,
        shard = %name,
        rows,
        estimated_rows = plan.estimated_rows,
        "shard bounds computed"
    );
    Ok(plan.range)
}

/// `--plan N`: the shards of every selected stream that would be split.
pub fn plan_streams<S: Source>(
    source: &mut S,
    settings: &SyncSettings,
    catalog: &Catalog,
    count: u32,
    version: Option<u64>,
) -> Result<Plan, S::Error> {
    let selections = sharded_streams(selected(catalog, settings)?);
    let log_based: Vec<StreamSelection> = selections
        .iter()
        .filter(|s| s.replication_method == ReplicationMethod::LogBased)
        .cloned()
        .collect();
    let log_position = if log_based.is_empty() {
        None
    } else {
        source.prepare_log(&log_based)?;
        Some(source.log_position()?.argument())
    };
    let mut streams = Vec::new();
    for selection in selections {
        let table = open_table(source, &selection)?;
        let Tiles { boundaries, rows } = if selection.key_properties.is_empty() {
            Tiles {
                boundaries: Vec::new(),
                rows: 0,
            }
        } else {
            read_boundaries(source, &selection, &table, count)?
        };
        streams.push(StreamPlan {
            tap_stream_id: selection.tap_stream_id.clone(),
            stream: selection.stream.clone(),
            key_properties: selection.key_properties.clone(),
            rows,
            shards: shard_plans(count, &boundaries, rows),
        });
    }
    Ok(Plan {
        shards: count,
        version,
        log_position,
        streams,
    })
}

/// `--activate`: for every selected stream a shard run writes, its SCHEMA and ACTIVATE_VERSION of
/// `version`, sent twice as a full-table sync of an empty table ends (announced, then final): the
/// target sweeps older versions. The final STATE bookmarks each stream's version.
///
/// A LOG_BASED stream's bookmark is that of a finished snapshot of `version`: the next ordinary
/// run follows the log from `log_position` (given on the command line, or else the source's
/// [`Source::activation_log_position`]), a position no later than the start of any shard's
/// snapshot, so no change is lost (a change read twice is the same upsert twice). Without one,
/// the next run takes a new snapshot.
pub fn activate_streams<S: Source, W: Write>(
    source: &mut S,
    settings: &SyncSettings,
    catalog: &Catalog,
    version: u64,
    log_position: Option<LogPosition>,
    mut state: State,
    out: &mut MessageWriter<W>,
) -> Result<State, S::Error> {
    let mut log_position = log_position.map(Some);
    for selection in selected(catalog, settings)? {
        if !is_sharded(&selection) {
            continue;
        }
        let table = open_table(source, &selection)?;
        out.write_schema(&schema_message::<S>(&selection, &table.database))
            .map_err(SyncError::from)?;
        for _ in 0..2 {
            out.write_activate_version(&selection.stream, version)
                .map_err(SyncError::from)?;
        }
        let bookmark = state.bookmark_mut(&selection.tap_stream_id);
        if selection.replication_method != ReplicationMethod::LogBased {
            bookmark.version = Some(version);
            bookmark.shard = None;
            info!(stream = %selection.stream, version, "version activated");
            continue;
        }
        let position = match &log_position {
            Some(position) => position.clone(),
            None => {
                let position = source.activation_log_position()?;
                log_position = Some(position.clone());
                position
            }
        };
        let bookmark = state.bookmark_mut(&selection.tap_stream_id);
        *bookmark = Bookmark::default();
        match position {
            Some(position) => {
                bookmark.start_snapshot(position.clone());
                bookmark.version = Some(version);
                bookmark.finish_snapshot(&selection.columns);
                info!(
                    stream = %selection.stream,
                    version,
                    %position,
                    "version activated: the next run follows the log from this position"
                );
            }
            None => {
                bookmark.version = Some(version);
                warn!(
                    stream = %selection.stream,
                    version,
                    "version activated, but no log position is known that precedes every \
                     shard's snapshot (give the one --plan printed as --log-position): the next \
                     LOG_BASED run takes a new snapshot"
                );
            }
        }
    }
    state.currently_syncing = None;
    out.write_state(&state).map_err(SyncError::from)?;
    out.flush().map_err(SyncError::from)?;
    Ok(state)
}

/// Shard `run` of a LOG_BASED stream's snapshot, from a log position taken first, as an unsharded
/// snapshot starts: the shard's bookmark keeps it, and the columns read, once done. A shard
/// interrupted part way resumes with its position, range and version.
pub(super) fn sync_log_based_shard<S: Source, W: Write>(
    source: &mut S,
    settings: &SyncSettings,
    selection: &StreamSelection,
    run: ShardRun,
    state: &mut State,
    out: &mut MessageWriter<W>,
) -> Result<(), S::Error> {
    let id = &selection.tap_stream_id;
    let name = run.shard.to_string();
    let kept = state
        .bookmark(id)
        .filter(|bookmark| {
            bookmark.version == Some(run.version)
                && bookmark
                    .shard
                    .as_ref()
                    .is_some_and(|kept| kept.shard == name)
        })
        .cloned();
    let resuming = kept
        .as_ref()
        .is_some_and(|bookmark| matches!(bookmark.log_stage(), LogStage::Snapshot(_)));
    if !resuming {
        let position = source.log_position()?;
        info!(
            stream = %selection.stream,
            shard = %name,
            %position,
            "shard of a LOG_BASED snapshot; changes from this log position follow it once the \
             version is activated"
        );
        let bookmark = state.bookmark_mut(id);
        bookmark.start_snapshot(position);
        bookmark.version = Some(run.version);
        bookmark.shard = kept.and_then(|kept| kept.shard);
    }
    super::sync_one(source, settings, selection, state, out)?;
    state.bookmark_mut(id).finish_snapshot(&selection.columns);
    Ok(())
}

/// The selected streams a shard run skips, said once each; the rest.
pub(super) fn sharded_streams(selections: Vec<StreamSelection>) -> Vec<StreamSelection> {
    selections.into_iter().filter(is_sharded).collect()
}

fn selected(catalog: &Catalog, settings: &SyncSettings) -> Result<Vec<StreamSelection>, SyncError> {
    Ok(catalog.selected_streams(settings.default_replication_method)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(id: i64) -> Map<String, Value> {
        json!({ "id": id }).as_object().cloned().unwrap()
    }

    type Range = (Option<Map<String, Value>>, Option<Map<String, Value>>, bool);

    fn ranges(plans: &[ShardPlan]) -> Vec<Range> {
        plans
            .iter()
            .map(|p| (p.range.lower.clone(), p.range.upper.clone(), p.range.empty))
            .collect()
    }

    #[test]
    fn shard_indexes_parse_as_kubernetes_numbers_them() {
        assert_eq!(
            "3/8".parse::<ShardIndex>(),
            Ok(ShardIndex { index: 3, count: 8 })
        );
        assert_eq!("0/1".parse::<ShardIndex>().unwrap().to_string(), "0/1");
        for bad in ["8/8", "1/0", "3", "a/8", "-1/8", ""] {
            let error = bad.parse::<ShardIndex>().unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn every_key_belongs_to_exactly_one_shard() {
        let plans = shard_plans(4, &[key(10), key(20), key(30)], 10);
        assert_eq!(
            ranges(&plans),
            [
                (None, Some(key(10)), false),
                (Some(key(10)), Some(key(20)), false),
                (Some(key(20)), Some(key(30)), false),
                (Some(key(30)), None, false),
            ]
        );
        let estimates: Vec<u64> = plans.iter().map(|p| p.estimated_rows).collect();
        assert_eq!(estimates, [3, 3, 2, 2]);
        assert_eq!(plans[2].range.shard, "2/4");
    }

    #[test]
    fn fewer_rows_than_shards_leave_the_last_shards_empty() {
        assert_eq!(
            ranges(&shard_plans(4, &[key(5)], 2)),
            [
                (None, Some(key(5)), false),
                (Some(key(5)), None, false),
                (None, None, true),
                (None, None, true),
            ]
        );
        // An empty table: the first shard reads whatever is there when it runs.
        let empty = shard_plans(3, &[], 0);
        assert!(!empty[0].range.empty && empty[0].range.lower.is_none());
        assert!(empty[1].range.empty && empty[2].range.empty);
    }
}
