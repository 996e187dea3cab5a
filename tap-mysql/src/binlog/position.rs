//! Where the binlog stands: the server's current file and offset (with its GTID position), the
//! files it still has, and how two positions compare.
//!
//! A position is read with `SHOW BINARY LOG STATUS` (MySQL 8.2+) or `SHOW MASTER STATUS` (older
//! MySQL, MariaDB). Its GTID part is read separately, so the two reads are repeated until the GTID
//! position is the same before and after the file position: then no transaction committed in
//! between and the two describe the same point.

use std::cmp::Ordering;

use common::state::BinlogPosition;
use mysql::Conn;
use mysql::prelude::Queryable;

use super::BinlogError;
use super::gtid::GtidPosition;
use crate::Error;

/// MySQL's "you have an error in your SQL syntax" (a statement an older server does not know).
const ER_PARSE_ERROR: u16 = 1064;

/// Which server speaks: their GTIDs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    Mysql,
}

impl Flavor {
    pub fn of(conn: &mut Conn) -> Result<Self, Error> {
        let version: Option<String> = conn
            .query_first("select @@version")
            .map_err(query("reading the server version"))?;
        Ok(if version.unwrap_or_default().contains("MariaDB") {
            Self::MariaDb
        } else {
            Self::Mysql
        })
    }
}

pub(super) fn query(what: &'static str) -> impl Fn(mysql::Error) -> Error {
    move |error| Error::Query {
        what: what.into(),
        error,
    }
}

/// A file and an offset in it, ordered as the server writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePosition {
    pub file: String,
    pub offset: u64,
}

impl FilePosition {
    pub fn of(position: &BinlogPosition) -> Self {
        Self {
            file: position.file.clone(),
            offset: position.position,
        }
    }
}

impl Ord for FilePosition {
    /// Files by their numeric extension (`mysql-bin.000009` before `mysql-bin.000010`, and
    /// `.999999` before `.1000000`), then offsets.
    fn cmp(&self, other: &Self) -> Ordering {
        file_order(&self.file)
            .cmp(&file_order(&other.file))
            .then(self.offset.cmp(&other.offset))
    }
}

impl PartialOrd for FilePosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `(sequence number, name)`: the number after the last dot, when there is one.
fn file_order(file: &str) -> (u64, &str) {
    let number = file
        .rsplit_once('.')
        .and_then(|(_, extension)| extension.parse().ok())
        .unwrap_or(0);
    (number, file)
}

/// The binlog's current end: `SHOW BINARY LOG STATUS`, or `SHOW MASTER STATUS` before MySQL 8.2.
pub fn log_end(conn: &mut Conn) -> Result<FilePosition, Error> {
    let row: Option<mysql::Row> = match conn.query_first("show binary log status") {
        Err(mysql::Error::MySqlError(error)) if error.code == ER_PARSE_ERROR => conn
            .query_first("show master status")
            .map_err(query("show master status"))?,
        other => other.map_err(query("show binary log status"))?,
    };
    let row = row.ok_or(BinlogError::LogBinOff)?;
    let file: Option<String> = row.get(0);
    let offset: Option<u64> = row.get(1);
    match (file, offset) {
        (Some(file), Some(offset)) if !file.is_empty() => Ok(FilePosition { file, offset }),
        _ => Err(BinlogError::LogBinOff.into()),
    }
}

/// The GTID position, when the server has GTIDs: MariaDB's `@@gtid_binlog_pos` (always there;
/// empty before the first GTID), MySQL's `@@gtid_executed` when `gtid_mode` is on.
pub fn gtid_position(conn: &mut Conn, flavor: Flavor) -> Result<Option<String>, Error> {
    let text: Option<String> = match flavor {
        Flavor::MariaDb => conn
            .query_first("select @@global.gtid_binlog_pos")
            .map_err(query("reading @@gtid_binlog_pos"))?,
        Flavor::Mysql => {
            let mode: Option<String> = conn
                .query_first("select @@global.gtid_mode")
                .map_err(query("reading @@gtid_mode"))?;
            if mode.as_deref() == Some("ON") {
                conn.query_first("select @@global.gtid_executed")
                    .map_err(query("reading @@gtid_executed"))?
            } else {
                None
            }
        }
    };
    Ok(text
        .map(|text| text.replace(['\n', ' '], ""))
        .filter(|text| !text.is_empty()))
}

/// The current position with its GTID part, read so that both describe the same point.
pub fn current_position(conn: &mut Conn, flavor: Flavor) -> Result<BinlogPosition, Error> {
    let mut gtid = gtid_position(conn, flavor)?;
    loop {
        let end = log_end(conn)?;
        let after = gtid_position(conn, flavor)?;
        if after == gtid {
            return Ok(BinlogPosition {
                file: end.file,
                position: end.offset,
                gtid,
            });
        }
        // A transaction committed between the reads: read again.
        gtid = after;
    }
}

/// Whether the server writes a checksum after each event (`binlog_checksum` other than `NONE`).
pub fn writes_checksums(conn: &mut Conn) -> Result<bool, Error> {
    let setting: Option<String> = conn
        .query_first("select @@global.binlog_checksum")
        .map_err(query("reading @@binlog_checksum"))?;
    Ok(setting.is_some_and(|setting| !setting.eq_ignore_ascii_case("NONE")))
}

/// The binlog files the server still has, with their sizes (`SHOW BINARY LOGS`).
pub fn binary_logs(conn: &mut Conn) -> Result<Vec<(String, u64)>, Error> {
    let rows: Vec<mysql::Row> = conn
        .query("show binary logs")
        .map_err(query("show binary logs"))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.get::<String, _>(0)?, row.get::<u64, _>(1)?)))
        .collect())
}

/// Whether the server can still send the binlog from `position`: its file is listed and the
/// offset lies within it.
pub fn is_available(logs: &[(String, u64)], position: &BinlogPosition) -> bool {
    logs.iter()
        .any(|(file, size)| *file == position.file && position.position <= *size)
}

/// Where a reader resumes for one bookmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// From the bookmark's file and offset, on this server.
    File(FilePosition),
    /// From the bookmark's GTID position (MariaDB): the file and offset are absent, or are not
    /// this server's for that GTID position (a promoted replica writes its own files).
    Gtid(GtidPosition),
}

/// Where the reader resumes for `bookmark`, or `None` when the server no longer has (or never
/// had) what follows it: the stream needs a new snapshot.
///
/// The file and offset win when the bookmark has both and they are this server's: the tap
/// wrote them at the same point as the GTID, they name one exact event boundary, and every
/// server flavor resumes from them. On MariaDB, "this server's" means
/// `binlog_gtid_pos(file, offset)` gives the bookmark's GTID position back; when it does not
/// (the state is from the old primary of a promoted replica) or the bookmark has a GTID
/// position alone, the GTID position is used, if the server's binlog still has what follows it.
/// MySQL resumes from a file and offset only.
pub fn resume_point(
    conn: &mut Conn,
    flavor: Flavor,
    logs: &[(String, u64)],
    bookmark: &BinlogPosition,
) -> Result<Option<Resume>, Error> {
    let file_listed = !bookmark.file.is_empty() && is_available(logs, bookmark);
    let gtid = match (flavor, bookmark.gtid.as_deref()) {
        (Flavor::MariaDb, Some(text)) => text.parse::<GtidPosition>().ok(),
        _ => None,
    };
    let Some(gtid) = gtid.filter(|gtid| !gtid.is_empty()) else {
        return Ok(file_listed.then(|| Resume::File(FilePosition::of(bookmark))));
    };
    if file_listed && gtid_at(conn, &bookmark.file, bookmark.position)?.as_ref() == Some(&gtid) {
        return Ok(Some(Resume::File(FilePosition::of(bookmark))));
    }
    Ok(gtid_available(conn, logs, &gtid)?.then_some(Resume::Gtid(gtid)))
}

/// MariaDB's GTID position at `file:offset` of its binlog (`binlog_gtid_pos`); `None` where
/// the server cannot tell (not an event boundary, not its file).
pub fn gtid_at(conn: &mut Conn, file: &str, offset: u64) -> Result<Option<GtidPosition>, Error> {
    let text: Option<Option<String>> = conn
        .exec_first("select binlog_gtid_pos(?, ?)", (file, offset))
        .map_err(query("reading binlog_gtid_pos"))?;
    Ok(text.flatten().and_then(|text| text.parse().ok()))
}

/// Whether MariaDB's binlog still holds every group after `gtid`: the oldest file starts at or
/// before it in every domain, and the server has reached it in every domain it names.
fn gtid_available(
    conn: &mut Conn,
    logs: &[(String, u64)],
    gtid: &GtidPosition,
) -> Result<bool, Error> {
    let Some((oldest, _)) = logs.first() else {
        return Ok(false);
    };
    let Some(first) = gtid_at(conn, oldest, 4)? else {
        return Ok(false);
    };
    let now: Option<String> = conn
        .query_first("select @@global.gtid_binlog_pos")
        .map_err(query("reading @@gtid_binlog_pos"))?;
    let now: GtidPosition = now.unwrap_or_default().parse().unwrap_or_default();
    Ok(first.covered_by(gtid) && gtid.covered_by(&now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, offset: u64) -> FilePosition {
        FilePosition {
            file: file.into(),
            offset,
        }
    }

    #[test]
    fn positions_order_by_file_number_then_offset() {
        assert!(at("mysql-bin.000009", 900) < at("mysql-bin.000010", 4));
        assert!(at("mysql-bin.999999", 900) < at("mysql-bin.1000000", 4));
        assert!(at("mysql-bin.000010", 4) < at("mysql-bin.000010", 5));
        assert_eq!(
            at("mysql-bin.000010", 5).cmp(&at("mysql-bin.000010", 5)),
            Ordering::Equal
        );
    }

    #[test]
    fn a_position_is_available_while_its_file_is_listed() {
        let logs = vec![("mysql-bin.000002".to_owned(), 500)];
        let position = |file: &str, offset| BinlogPosition {
            file: file.into(),
            position: offset,
            gtid: None,
        };
        assert!(is_available(&logs, &position("mysql-bin.000002", 400)));
        assert!(is_available(&logs, &position("mysql-bin.000002", 500)));
        assert!(!is_available(&logs, &position("mysql-bin.000002", 501)));
        assert!(!is_available(&logs, &position("mysql-bin.000001", 4)));
    }
}
