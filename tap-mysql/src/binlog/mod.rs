//! LOG_BASED for MySQL and MariaDB: the row-based binary log.
//!
//! ```text
//! MysqlSource::log_position ──▶ checks (log_bin, ROW, FULL image, grants) ──▶ file:offset (+ GTIDs)
//! MysqlSource::log_reader   ──▶ BinlogReader { tables, from: min bookmark, to: the log's end now }
//!
//! reader thread: own connection, COM_BINLOG_DUMP (non-blocking) from the bookmark
//!   ROTATE/GTID/GTID_LIST ──▶ position    TABLE_MAP ──▶ tables (re-read on ALTER, new SCHEMA)
//!   WRITE/UPDATE/DELETE rows ──values: server text──▶ RowEncoder ──▶ LogEvent::Record
//!   XID / COMMIT / a standalone statement ──▶ LogEvent::Commit(file, end of event, GTIDs)
//! ```
//!
//! The reader stops when it has passed the log's end as it was when the reader was made, or at
//! `max_run_seconds`, and never inside a transaction: a bookmark always points at the end of a
//! committed transaction, where a resumed reader starts. Rows are decoded one event at a time, so
//! a transaction of any size passes with flat memory.

pub mod checks;
pub mod gtid;
mod json;
pub mod position;
mod reader;
mod tables;

pub(crate) use tables::TrackedTable;
pub mod values;

pub use reader::BinlogReader;

use common::state::BinlogPosition;

/// Why the binlog cannot be read. Messages name the setting, grant, stream, column or binlog
/// position at fault, never a row's values.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error(
        "the binary log is off (log_bin): LOG_BASED replication reads it. Start the server with \
         `log_bin` (and `server_id`) in its configuration; on RDS and Aurora, turn on automated \
         backups (and binlog for Aurora in the cluster parameter group)"
    )]
    LogBinOff,
    #[error(
        "{setting} is {value:?}, and LOG_BASED replication needs {wanted}: run `set global \
         {setting} = '{wanted}'` and set it in the server's configuration (my.cnf, or the RDS \
         parameter group) so that it survives a restart; sessions open before keep the old value"
    )]
    Setting {
        setting: &'static str,
        value: String,
        wanted: &'static str,
    },
    #[error("user {user} lacks {missing} to read the binary log: an administrator runs `{grant}`")]
    MissingGrant {
        user: String,
        missing: String,
        grant: String,
    },
    #[error(
        "the server refused to send its binary log to user {user}: it needs the replication \
         slave privilege: an administrator runs `grant replication slave on *.* to {user}` \
         ({reason})"
    )]
    DumpRefused { user: String, reason: String },
    #[error(
        "stream {stream}: its binlog position {position} is no longer on the server (the binlog \
         was purged, or the state is from another server): the stream needs a new snapshot"
    )]
    Purged {
        stream: String,
        position: BinlogPosition,
    },
    #[error(
        "another replica (or another tap run) reading the binary log has server_id {server_id}: \
         give each run that reads the binlog at the same time its own `server_id` in the tap's \
         config"
    )]
    DuplicateServerId { server_id: u32 },
    #[error("the server cannot send the binary log from {position}: {reason}")]
    Unreadable { position: String, reason: String },
    #[error(
        "stream {stream}: its bookmark has no binlog position (log_file, log_pos) to read changes \
         from"
    )]
    NoBookmark { stream: String },
    #[error("binlog event at {position}: {reason}")]
    Decode { position: String, reason: String },
    #[error(
        "binlog event at {position}: a compressed event (log_bin_compress): run `set global \
         log_bin_compress = off`; the events already compressed cannot be read by this tap"
    )]
    Compressed { position: String },
    #[error("stream {stream}, column {column:?}: {reason}")]
    UnsupportedColumn {
        stream: String,
        column: String,
        reason: &'static str,
    },
    #[error(
        "stream {stream}, binlog event at {position}: the table's binlog columns do not match \
         its definition ({reason}); a column was dropped or changed after these changes were \
         logged: the stream needs a new snapshot"
    )]
    TableChanged {
        stream: String,
        position: String,
        reason: String,
    },
    #[error("stream {stream}, column {column:?}, binlog event at {position}: {reason}")]
    Value {
        stream: String,
        column: String,
        position: String,
        reason: values::ValueError,
    },
}
