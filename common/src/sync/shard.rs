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
//! the first key of every tile, in one query that PostgreSQL and MariaDB run alike. Given the
//! plan `--plan N` printed (`--shard-plan FILE`, config `shard_plan`), every job reads its bounds
//! from it: all use the same bounds whatever the source does meanwhile, so no key falls between
//! two shards. Without one, every job computes them itself at its start; for a table not written
//! while the jobs start, all compute the same bounds, but a row inserted or deleted between two
//! jobs' starts can shift a bound and leave keys no shard reads. The first shard has no lower
//! bound and the last no upper one, so a key outside the planned range still belongs to exactly
//! one shard. A shard's bounds are kept in its bookmark: resumed or repeated, it reads the range
//! it started with.
//!
//! The shards of a run share one table version, given to each job (`--shard-version`, config
//! `shard_version`), and never sweep: rows of the previous version stay live until the activation
//! step, run once every shard has succeeded.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamPlan {
    pub tap_stream_id: String,
    pub stream: String,
    pub key_properties: Vec<String>,
    /// Rows when the bounds were computed.
    pub rows: u64,
    pub shards: Vec<ShardPlan>,
}

/// One shard of a stream: its key range and about how many rows it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    #[serde(flatten)]
    pub range: ShardRange,
    pub estimated_rows: u64,
}

/// What `--plan` prints, and what every shard of a run reads its bounds from (`--shard-plan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub shards: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// With LOG_BASED streams: the change log's position now, before any shard reads (the log
    /// readied first), for `--activate --log-position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_position: Option<String>,
    pub streams: Vec<StreamPlan>,
    /// The file it was read from, for errors.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// A plan file (`--shard-plan`) that cannot be used for this shard run.
#[derive(Debug, thiserror::Error)]
pub enum ShardPlanError {
    #[error("could not read shard plan {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("shard plan {path} is not a plan printed by --plan")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "shard plan {path} splits streams {planned} ways, but this is shard {shard}: run          --plan {count} for it"
    )]
    Count {
        path: String,
        planned: u32,
        shard: ShardIndex,
        count: u32,
    },
    #[error(
        "stream {stream}: not in shard plan {path} (planned with another catalog or selection?):          run --plan again with this one"
    )]
    MissingStream { stream: String, path: String },
    #[error(
        "stream {stream}: shard plan {path} splits it by key {planned:?}, the catalog's key is          {catalog:?}: run --plan again"
    )]
    Key {
        stream: String,
        path: String,
        planned: Vec<String>,
        catalog: Vec<String>,
    },
    #[error("stream {stream}: shard plan {path} has no range for shard {shard}")]
    MissingShard {
        stream: String,
        path: String,
        shard: ShardIndex,
    },
}

impl Plan {
    /// Reads a plan file `--plan` printed.
    pub fn load(path: &Path) -> Result<Self, ShardPlanError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ShardPlanError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut plan: Self =
            serde_json::from_str(&text).map_err(|source| ShardPlanError::Json {
                path: shown,
                source,
            })?;
        plan.path = Some(path.to_owned());
        Ok(plan)
    }

    fn shown_path(&self) -> String {
        self.path
            .as_deref()
            .map_or_else(|| "(given)".to_owned(), |path| path.display().to_string())
    }

    /// The range of `shard` of a stream: planned for as many shards, for the same stream and
    /// key, else an error naming the stream.
    pub fn range(
        &self,
        selection: &StreamSelection,
        shard: ShardIndex,
    ) -> Result<&ShardPlan, ShardPlanError> {
        let path = self.shown_path();
        if self.shards != shard.count {
            return Err(ShardPlanError::Count {
                path,
                planned: self.shards,
                shard,
                count: shard.count,
            });
        }
        let stream = || selection.tap_stream_id.clone();
        let planned = self
            .streams
            .iter()
            .find(|planned| planned.tap_stream_id == selection.tap_stream_id)
            .ok_or_else(|| ShardPlanError::MissingStream {
                stream: stream(),
                path: path.clone(),
            })?;
        if planned.key_properties != selection.key_properties {
            return Err(ShardPlanError::Key {
                stream: stream(),
                path,
                planned: planned.key_properties.clone(),
                catalog: selection.key_properties.clone(),
            });
        }
        let name = shard.to_string();
        planned
            .shards
            .get(shard.index as usize)
            .filter(|plan| plan.range.shard == name && planned.shards.len() == shard.count as usize)
            .ok_or(ShardPlanError::MissingShard {
                stream: stream(),
                path,
                shard,
            })
    }
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
/// bookmark is of the same shard and version (a resumed or repeated shard), else the plan's, else
/// computed.
pub(super) fn shard_range<S: Source>(
    source: &mut S,
    selection: &StreamSelection,
    table: &SourceTable<S::Kind>,
    run: ShardRun,
    plan: Option<&Plan>,
    kept: Option<ShardRange>,
) -> Result<ShardRange, S::Error> {
    let name = run.shard.to_string();
    if let Some(kept) = kept.filter(|kept| kept.shard == name) {
        return Ok(kept);
    }
    if let Some(plan) = plan {
        let planned = plan.range(selection, run.shard).map_err(SyncError::from)?;
        info!(
            stream = %selection.stream,
            shard = %name,
            estimated_rows = planned.estimated_rows,
            "shard bounds read from the plan"
        );
        return Ok(planned.range.clone());
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
        path: None,
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

/// Every stream shard `run` reads has its range in `plan`: checked before anything is read.
pub(super) fn check_plan(
    plan: &Plan,
    selections: &[StreamSelection],
    run: ShardRun,
) -> Result<(), ShardPlanError> {
    if plan.version.is_some_and(|version| version != run.version) {
        warn!(
            planned = plan.version,
            version = run.version,
            "the shard plan was printed for another version; its bounds are used all the same"
        );
    }
    for selection in selections {
        plan.range(selection, run.shard)?;
    }
    Ok(())
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

    fn selection(id: &str, keys: &[&str]) -> StreamSelection {
        StreamSelection {
            tap_stream_id: id.into(),
            stream: id.into(),
            namespace: None,
            table_name: id.into(),
            columns: vec!["id".into()],
            key_properties: keys.iter().map(|&key| key.to_owned()).collect(),
            replication_method: ReplicationMethod::FullTable,
            replication_key: None,
            is_view: false,
            schema: json!({}),
            row_count: None,
        }
    }

    #[test]
    fn a_printed_plan_gives_every_shard_its_range_or_a_clear_error() {
        let printed = Plan {
            shards: 4,
            version: None,
            log_position: None,
            streams: vec![StreamPlan {
                tap_stream_id: "public-items".into(),
                stream: "items".into(),
                key_properties: vec!["id".into()],
                rows: 10,
                shards: shard_plans(4, &[key(10), key(20), key(30)], 10),
            }],
            path: None,
        };
        let text = serde_json::to_string_pretty(&printed).unwrap();
        let plan: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(plan, printed);

        let items = selection("public-items", &["id"]);
        for index in 0..4 {
            let shard = ShardIndex { index, count: 4 };
            let range = &plan.range(&items, shard).unwrap().range;
            assert_eq!(range, &printed.streams[0].shards[index as usize].range);
        }
        let third = ShardIndex { index: 2, count: 4 };
        assert_eq!(
            plan.range(&items, third).unwrap().range.lower,
            Some(key(20))
        );

        let error = |selection: &StreamSelection, shard| {
            plan.range(selection, shard).unwrap_err().to_string()
        };
        let other_count = error(&items, ShardIndex { index: 2, count: 8 });
        assert!(
            other_count.contains("4 ways") && other_count.contains("2/8"),
            "{other_count}"
        );
        let missing = error(&selection("public-other", &["id"]), third);
        assert!(
            missing.starts_with("stream public-other: not in shard plan"),
            "{missing}"
        );
        let other_key = error(&selection("public-items", &["id", "b"]), third);
        assert!(other_key.starts_with("stream public-items:"), "{other_key}");
        assert!(other_key.contains(r#"["id", "b"]"#), "{other_key}");

        let mut truncated = plan.clone();
        truncated.streams[0].shards.pop();
        let last = ShardIndex { index: 3, count: 4 };
        let short = truncated.range(&items, last).unwrap_err().to_string();
        assert!(short.contains("no range for shard 3/4"), "{short}");
    }
}
