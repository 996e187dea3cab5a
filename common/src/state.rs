//! Stream state: the bookmarks a tap resumes from.
//!
//! ```text
//! {"currently_syncing": "shop-orders",
//!  "bookmarks": {"shop-orders": {"version": 1732190000000, "replication_key": "updated_at", ...}}}
//! ```
//!
//! Keys this program does not know (another tool's, or a newer version's) are kept and written
//! back unchanged, so a state file survives being passed through any of our programs.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::ReplicationMethod;

/// The whole state of a tap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The stream a run was in the middle of; the next run starts with it.
    #[serde(default)]
    pub currently_syncing: Option<String>,
    /// Per `tap_stream_id`.
    #[serde(default)]
    pub bookmarks: IndexMap<String, Bookmark>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Where one stream stands. Keys a replication method does not use are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    /// The full-table version being written (RECORD `version`, ACTIVATE_VERSION).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The method the bookmark was written by; a different method next time starts over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_replication_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_key: Option<String>,
    /// The largest replication-key value sent, in its JSON form (exact numbers and timestamps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_key_value: Option<Value>,
    /// Primary key of the last row sent by an interrupted full-table sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pk_fetched: Option<Map<String, Value>>,
    /// The largest primary key when the full-table sync started: the sync stops there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pk_values: Option<Map<String, Value>>,
    /// PostgreSQL WAL position, as an integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsn: Option<u64>,
    /// MySQL binlog file and offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_pos: Option<u64>,
    /// MySQL/MariaDB GTID set, where GTIDs are used instead of file + offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// LOG_BASED: the columns the warehouse has every row's value of. A column selected later
    /// (or added at the source with a default) is not in the log's past changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// A shard run (`--shard K/N`): which shard, and the key range it reads, kept so that a
    /// resumed or repeated shard reads the range it started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRange>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The key range of one shard of a stream: from `lower` (inclusive; the first shard has none) to
/// `upper` (exclusive; the last has none). `empty` for a shard the table had no rows for when
/// the bounds were computed (fewer rows than shards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardRange {
    /// `K/N`.
    pub shard: String,
    pub lower: Option<Map<String, Value>>,
    pub upper: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty: bool,
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("could not read state file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path} is not valid JSON")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid state at `{path}`")]
    Invalid {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl State {
    /// Reads a state file. An empty file or `{}` is an empty state; a whole STATE message
    /// (`{"type":"STATE","value":{…}}`) and Meltano's `{"singer_state": {…}}` are accepted too.
    /// A file of several JSON values, such as a target's whole output (one committed state per
    /// line), resumes from the last one.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: shown.clone(),
            source,
        })?;
        let values = serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| StateError::Json {
                path: shown.clone(),
                source,
            })?;
        if values.len() > 1 {
            tracing::info!(
                path = %shown,
                values = values.len(),
                "the state file holds several states (a target's output?): resuming from the last"
            );
        }
        values
            .into_iter()
            .last()
            .map_or_else(|| Ok(Self::default()), Self::from_value)
    }

    /// Reads the `--state` file if one was given; no file is an empty state.
    pub fn load_optional(path: Option<&Path>) -> Result<Self, StateError> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    /// Reads a state from its JSON value, a whole STATE message, or Meltano's wrapped form.
    pub fn from_value(mut value: Value) -> Result<Self, StateError> {
        if value.get("type").and_then(Value::as_str) == Some("STATE") {
            value = value.get_mut("value").map(Value::take).unwrap_or_default();
        }
        // Meltano keeps a state as `{"singer_state": {…}}` (plus its own keys beside it).
        if value.get("bookmarks").is_none()
            && let Some(inner) = value.get_mut("singer_state")
        {
            value = inner.take();
        }
        if value.is_null() {
            return Ok(Self::default());
        }
        // Through the text rather than `from_value`, which may rewrite large numbers (`1e+62`):
        // a numeric replication-key value must come back digit for digit.
        let text = value.to_string();
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|err| StateError::Invalid {
            path: err.path().to_string(),
            source: err.into_inner(),
        })
    }

    pub fn bookmark(&self, tap_stream_id: &str) -> Option<&Bookmark> {
        self.bookmarks.get(tap_stream_id)
    }

    /// The bookmark of a stream, created empty if missing.
    pub fn bookmark_mut(&mut self, tap_stream_id: &str) -> &mut Bookmark {
        self.bookmarks.entry(tap_stream_id.to_owned()).or_default()
    }
}

/// How a full-table sync starts, decided from the stream's bookmark.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTableStart {
    /// The version the sync writes: the interrupted one when resuming, else a new one.
    pub version: u64,
    /// An interrupted sync resumes after this primary key…
    pub resume_after: Option<Map<String, Value>>,
    /// …and stops at this one, read when it first started.
    pub max_pk_values: Option<Map<String, Value>>,
}

/// A new full-table version: milliseconds since the epoch.
pub fn new_version() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

impl Bookmark {
    /// Where a sync by `method` (with `replication_key` for INCREMENTAL) starts from this
    /// bookmark, as a user reads it at the start of a run.
    pub fn resume_point(&self, method: ReplicationMethod, replication_key: Option<&str>) -> String {
        if !self.written_by(method) {
            return format!(
                "bookmark of another method ({}): starting over",
                self.last_replication_method.as_deref().unwrap_or("?")
            );
        }
        match method {
            ReplicationMethod::Incremental => match &self.replication_key_value {
                Some(value) if self.replication_key.as_deref() == replication_key => format!(
                    "resuming at {} >= {value}",
                    replication_key.unwrap_or_default()
                ),
                Some(_) => "bookmark of another replication key: every row".to_owned(),
                None => "no bookmark: every row".to_owned(),
            },
            _ => match (&self.last_pk_fetched, self.version) {
                (Some(last), Some(version)) => format!(
                    "resuming an interrupted full-table sync (version {version}) after {}",
                    Value::Object(last.clone())
                ),
                (_, Some(_)) => "full sync (a new version)".to_owned(),
                _ => "no bookmark: full sync".to_owned(),
            },
        }
    }

    /// Whether the bookmark was written by `method` (or by nothing yet).
    fn written_by(&self, method: ReplicationMethod) -> bool {
        self.last_replication_method
            .as_deref()
            .is_none_or(|last| last == method.as_str())
    }

    /// Prepares the bookmark for a full-table sync. A bookmark of another method is dropped; an
    /// interrupted full-table sync (`last_pk_fetched` set) resumes with its version and bounds.
    pub fn start_full_table(&mut self, new_version: u64) -> FullTableStart {
        let method = ReplicationMethod::FullTable;
        if !self.written_by(method) {
            *self = Self::default();
        }
        let resuming = self.last_pk_fetched.is_some();
        let version = match self.version {
            Some(version) if resuming => version,
            _ => new_version,
        };
        if !resuming {
            self.max_pk_values = None;
        }
        self.version = Some(version);
        self.last_replication_method = Some(method.as_str().to_owned());
        self.replication_key = None;
        self.replication_key_value = None;
        FullTableStart {
            version,
            resume_after: self.last_pk_fetched.clone(),
            max_pk_values: self.max_pk_values.clone(),
        }
    }

    /// Prepares the bookmark for shard `shard` (`K/N`) of the run writing `version`: a bookmark of
    /// another shard or version starts over. Returns the shard's kept key range, if any (a shard
    /// resumed or repeated reads the range it started with).
    pub fn start_shard(&mut self, version: u64, shard: &str) -> Option<ShardRange> {
        let same = self.version == Some(version)
            && self.shard.as_ref().is_some_and(|kept| kept.shard == shard);
        if !same {
            self.last_pk_fetched = None;
            self.max_pk_values = None;
            self.shard = None;
        }
        self.shard.clone()
    }

    /// A full-table sync completed: nothing is left to resume.
    pub fn finish_full_table(&mut self) {
        self.last_pk_fetched = None;
        self.max_pk_values = None;
    }

    /// Prepares the bookmark for an incremental sync by `key` and returns the value to start at.
    /// A bookmark of another method or another key is dropped: its position means nothing here.
    pub fn start_incremental(&mut self, key: &str) -> Option<Value> {
        let method = ReplicationMethod::Incremental;
        if !self.written_by(method) || self.replication_key.as_deref() != Some(key) {
            *self = Self::default();
        }
        self.last_replication_method = Some(method.as_str().to_owned());
        self.replication_key = Some(key.to_owned());
        self.replication_key_value.clone()
    }

    /// Where the stream stands in the database's change log (LOG_BASED).
    pub fn log_position(&self) -> Option<LogPosition> {
        if let Some(lsn) = self.lsn {
            return Some(LogPosition::Wal(Lsn(lsn)));
        }
        match (&self.log_file, self.log_pos, &self.gtid) {
            (Some(file), Some(position), gtid) => Some(LogPosition::Binlog(BinlogPosition {
                file: file.clone(),
                position,
                gtid: gtid.clone(),
            })),
            // A GTID alone (file and offset removed after a failover to a promoted replica,
            // whose files differ): the reader resumes from the GTID.
            (_, _, Some(gtid)) => Some(LogPosition::Binlog(BinlogPosition {
                file: String::new(),
                position: 0,
                gtid: Some(gtid.clone()),
            })),
            _ => None,
        }
    }

    /// Where a LOG_BASED stream stands. Its snapshot is a full-table sync that starts from a log
    /// position taken first: while it runs, the bookmark says FULL_TABLE and holds that position
    /// (an interrupted snapshot resumes with it); once done, LOG_BASED.
    pub fn log_stage(&self) -> LogStage {
        match (self.last_replication_method.as_deref(), self.log_position()) {
            (Some("FULL_TABLE"), Some(position)) => LogStage::Snapshot(position),
            // A bookmark with a position and no method is another tap's log bookmark.
            (Some("LOG_BASED") | None, Some(position)) => LogStage::Log(position),
            _ => LogStage::New,
        }
    }

    /// A new snapshot of a LOG_BASED stream whose changes are read from `position` on.
    pub fn start_snapshot(&mut self, position: LogPosition) {
        *self = Self::default();
        self.set_log_position(position);
        self.last_replication_method = Some(ReplicationMethod::FullTable.as_str().to_owned());
    }

    /// The snapshot of `columns` is complete: the stream follows the log from its position.
    pub fn finish_snapshot(&mut self, columns: &[String]) {
        self.finish_full_table();
        self.columns = Some(columns.to_vec());
        self.last_replication_method = Some(ReplicationMethod::LogBased.as_str().to_owned());
    }

    pub fn set_log_position(&mut self, position: LogPosition) {
        match position {
            LogPosition::Wal(lsn) => self.lsn = Some(lsn.0),
            LogPosition::Binlog(position) => {
                let has_file = !position.file.is_empty();
                self.log_file = has_file.then_some(position.file);
                self.log_pos = has_file.then_some(position.position);
                self.gtid = position.gtid;
            }
        }
    }
}

/// Where a LOG_BASED stream stands, from its bookmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStage {
    /// No position: a snapshot is needed.
    New,
    /// A snapshot was interrupted; its changes start at this position.
    Snapshot(LogPosition),
    /// Snapshot done: changes after this position are next.
    Log(LogPosition),
}

impl LogStage {
    pub fn position(&self) -> Option<&LogPosition> {
        match self {
            Self::New => None,
            Self::Snapshot(position) | Self::Log(position) => Some(position),
        }
    }
}

/// A position in a database's change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPosition {
    /// PostgreSQL's write-ahead log.
    Wal(Lsn),
    /// MySQL's or MariaDB's binlog.
    Binlog(BinlogPosition),
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wal(lsn) => lsn.fmt(f),
            Self::Binlog(position) => position.fmt(f),
        }
    }
}

impl LogPosition {
    /// The position as `--log-position` takes it and `--plan` prints it: `16/B374D848` (WAL),
    /// `FILE:OFFSET`, `FILE:OFFSET@GTID` or `@GTID` (binlog).
    pub fn argument(&self) -> String {
        match self {
            Self::Wal(lsn) => lsn.to_string(),
            Self::Binlog(position) => {
                let mut text = if position.file.is_empty() {
                    String::new()
                } else {
                    format!("{}:{}", position.file, position.position)
                };
                if let Some(gtid) = &position.gtid {
                    text.push('@');
                    text.push_str(gtid);
                }
                text
            }
        }
    }
}

/// Text that is not a log position as [`LogPosition::argument`] writes one.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid log position {0:?}: expected 16/B374D848 (PostgreSQL), FILE:OFFSET, \
     FILE:OFFSET@GTID or @GTID (MySQL, MariaDB)"
)]
pub struct InvalidLogPosition(String);

impl FromStr for LogPosition {
    type Err = InvalidLogPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidLogPosition(text.to_owned());
        let (place, gtid) = match text.split_once('@') {
            Some((place, gtid)) if !gtid.is_empty() => (place, Some(gtid.to_owned())),
            Some(_) => return Err(invalid()),
            None => (text, None),
        };
        if gtid.is_none()
            && !place.contains(':')
            && let Ok(lsn) = place.parse::<Lsn>()
        {
            return Ok(Self::Wal(lsn));
        }
        let (file, position) = if place.is_empty() && gtid.is_some() {
            (String::new(), 0)
        } else {
            let (file, offset) = place.rsplit_once(':').ok_or_else(invalid)?;
            let offset = offset.parse::<u64>().map_err(|_| invalid())?;
            if file.is_empty() {
                return Err(invalid());
            }
            (file.to_owned(), offset)
        };
        Ok(Self::Binlog(BinlogPosition {
            file,
            position,
            gtid,
        }))
    }
}

/// A PostgreSQL WAL position. Stored in state as an integer; shown the way PostgreSQL shows it,
/// `16/B374D848`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Text that is not an LSN of the form `hi/lo` in hexadecimal.
#[derive(Debug, thiserror::Error)]
#[error("invalid LSN {0:?}: expected two hexadecimal numbers such as 16/B374D848")]
pub struct InvalidLsn(String);

impl FromStr for Lsn {
    type Err = InvalidLsn;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidLsn(text.to_owned());
        let (high, low) = text.split_once('/').ok_or_else(invalid)?;
        let high = u32::from_str_radix(high, 16).map_err(|_| invalid())?;
        let low = u32::from_str_radix(low, 16).map_err(|_| invalid())?;
        Ok(Lsn((u64::from(high) << 32) | u64::from(low)))
    }
}

/// A position in the MySQL binlog: file and offset, and the GTID position where GTIDs are on.
/// An empty `file` means the GTID position alone (a bookmark without `log_file`/`log_pos`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
    pub gtid: Option<String>,
}

impl fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gtid {
            Some(gtid) if self.file.is_empty() => write!(f, "gtid {gtid}"),
            _ => write!(f, "{}:{}", self.file, self.position),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn design_example_round_trips_with_typed_fields() {
        let value = json!({"currently_syncing": "shop-orders",
            "bookmarks": {"shop-orders": {"version": 1732190000000u64,
                "replication_key": "updated_at",
                "replication_key_value": "2026-11-21T09:59:59.000000Z",
                "last_pk_fetched": {"id": 5000}, "max_pk_values": {"id": 90000},
                "lsn": 23974272, "log_file": "mysql-bin.000003", "log_pos": 4567}}});
        let state = State::from_value(value.clone()).unwrap();
        let bookmark = state.bookmark("shop-orders").unwrap();
        assert_eq!(state.currently_syncing.as_deref(), Some("shop-orders"));
        assert_eq!(bookmark.version, Some(1_732_190_000_000));
        assert_eq!(bookmark.log_position().unwrap().to_string(), "0/16DD180");
        let binlog = Bookmark {
            lsn: None,
            ..bookmark.clone()
        };
        assert_eq!(
            binlog.log_position().unwrap().to_string(),
            "mysql-bin.000003:4567"
        );
        // A GTID alone is a position too (the reader resumes from it), and is written back alone.
        let mut gtid_only = Bookmark {
            lsn: None,
            log_file: None,
            log_pos: None,
            gtid: Some("0-1-47".into()),
            ..Bookmark::default()
        };
        let position = gtid_only.log_position().unwrap();
        assert_eq!(position.to_string(), "gtid 0-1-47");
        gtid_only.set_log_position(position);
        assert_eq!((gtid_only.log_file, gtid_only.log_pos), (None, None));
        assert!(
            Bookmark {
                log_pos: None,
                gtid: None,
                ..binlog.clone()
            }
            .log_position()
            .is_none()
        );
        assert_eq!(
            bookmark.last_pk_fetched.as_ref().unwrap()["id"],
            json!(5000)
        );
        assert_eq!(serde_json::to_value(&state).unwrap(), value);
    }

    #[test]
    fn unknown_keys_survive_a_rewrite() {
        let text = r#"{"bookmarks":{"db-public-t":{"last_replication_method":"LOG_BASED","xmin":555,"lsn":10,"initial_full_table_complete":true,"progress_markers":{"Note":"x","replication_key_value":1.5000000000000000001}}},"currently_syncing":null,"something_else":[1,2]}"#;
        let mut state = State::from_value(serde_json::from_str(text).unwrap()).unwrap();
        state.bookmark_mut("db-public-t").lsn = Some(11);
        let written = serde_json::to_string(&state).unwrap();
        assert_eq!(
            written,
            r#"{"currently_syncing":null,"bookmarks":{"db-public-t":{"last_replication_method":"LOG_BASED","lsn":11,"xmin":555,"initial_full_table_complete":true,"progress_markers":{"Note":"x","replication_key_value":1.5000000000000000001}}},"something_else":[1,2]}"#
        );
    }

    #[test]
    fn numeric_bookmarks_keep_every_digit() {
        let digits = format!("1{}", "0".repeat(62));
        let text = format!(
            r#"{{"currently_syncing":null,"bookmarks":{{"a":{{"replication_key_value":{digits}}}}}}}"#
        );
        let state = State::from_value(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(serde_json::to_string(&state).unwrap(), text);
    }

    #[test]
    fn empty_files_whole_messages_and_null_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(State::load(&path).unwrap(), State::default());
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(State::load(&path).unwrap(), State::default());
        std::fs::write(
            &path,
            r#"{"type":"STATE","value":{"bookmarks":{"a":{"version":2}}}}"#,
        )
        .unwrap();
        assert_eq!(
            State::load(&path).unwrap().bookmark("a").unwrap().version,
            Some(2)
        );
        assert_eq!(State::from_value(Value::Null).unwrap(), State::default());
    }

    #[test]
    fn invalid_state_names_the_key() {
        let err = State::from_value(json!({"bookmarks": {"a": {"log_pos": "x"}}})).unwrap_err();
        assert!(err.to_string().contains("bookmarks.a.log_pos"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Json { .. })));
    }

    #[test]
    fn full_table_starts_new_resumes_interrupted_and_drops_other_methods() {
        let mut bookmark = Bookmark::default();
        let start = bookmark.start_full_table(10);
        assert_eq!((start.version, start.resume_after), (10, None));

        // Interrupted: same version, resume after the last key, same bounds.
        bookmark.last_pk_fetched = Some(json!({"id": 5}).as_object().unwrap().clone());
        bookmark.max_pk_values = Some(json!({"id": 9}).as_object().unwrap().clone());
        let start = bookmark.start_full_table(20);
        assert_eq!(start.version, 10);
        assert_eq!(start.resume_after.unwrap()["id"], json!(5));
        assert_eq!(start.max_pk_values.unwrap()["id"], json!(9));

        // Completed: the next sync is a new version from the start.
        bookmark.finish_full_table();
        let start = bookmark.start_full_table(30);
        assert_eq!(start.version, 30);
        assert!(start.resume_after.is_none() && start.max_pk_values.is_none());

        // A bookmark of another method is not resumed.
        let mut incremental = Bookmark {
            version: Some(1),
            last_replication_method: Some("INCREMENTAL".into()),
            replication_key_value: Some(json!(3)),
            last_pk_fetched: Some(Map::new()),
            ..Bookmark::default()
        };
        let start = incremental.start_full_table(40);
        assert_eq!(start.version, 40);
        assert!(incremental.replication_key_value.is_none());
    }

    #[test]
    fn incremental_starts_at_its_own_key_only() {
        let mut bookmark = Bookmark::default();
        assert_eq!(bookmark.start_incremental("updated_at"), None);
        bookmark.replication_key_value = Some(json!("2026-01-01"));
        assert_eq!(
            bookmark.start_incremental("updated_at"),
            Some(json!("2026-01-01"))
        );
        assert_eq!(
            bookmark.start_incremental("id"),
            None,
            "another key starts over"
        );
        assert_eq!(bookmark.replication_key.as_deref(), Some("id"));
        bookmark.replication_key_value = Some(json!(7));
        bookmark.last_replication_method = Some("FULL_TABLE".into());
        assert_eq!(
            bookmark.start_incremental("id"),
            None,
            "another method starts over"
        );
    }

    #[test]
    fn log_positions_round_trip_as_arguments() {
        let positions = [
            LogPosition::Wal(Lsn(0x16_B374_D848)),
            LogPosition::Binlog(BinlogPosition {
                file: "mysql-bin.000003".into(),
                position: 1234,
                gtid: None,
            }),
            LogPosition::Binlog(BinlogPosition {
                file: "mysql-bin.000003".into(),
                position: 1234,
                gtid: Some("0-1-55,1-2-7".into()),
            }),
            LogPosition::Binlog(BinlogPosition {
                file: String::new(),
                position: 0,
                gtid: Some("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5".into()),
            }),
        ];
        for position in positions {
            let text = position.argument();
            assert_eq!(text.parse::<LogPosition>().unwrap(), position, "{text}");
        }
        assert_eq!(
            LogPosition::Wal(Lsn(0x16_B374_D848)).argument(),
            "16/B374D848"
        );
        for bad in ["", "@", "file:", ":12", "16/XYZ", "file:x@0-1-2"] {
            assert!(bad.parse::<LogPosition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lsn_parses_and_prints_postgres_form() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn.0, 0x16_B374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!("16-B3".parse::<Lsn>().is_err());
        assert!("x/1".parse::<Lsn>().is_err());
    }
}
