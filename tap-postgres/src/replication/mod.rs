//! LOG_BASED for PostgreSQL: logical decoding with the built-in `pgoutput` plugin.
//!
//! ```text
//! prepare:  wal_level = logical? · publication (created / tables added) · replica identities ·
//!           slot (created when missing)                                      (this module)
//! snapshot: each new stream from the slot's confirmed position (engine's FULL_TABLE path)
//! log:      START_REPLICATION on a replication connection (wire.rs) ─▶ pgoutput messages
//!           (pgoutput.rs) ─▶ RECORD / SCHEMA / TRUNCATE / COMMIT events (reader.rs)
//! ```
//!
//! One slot and one publication serve every LOG_BASED stream of the database. The slot is
//! confirmed only up to the oldest position of the state the run started with: the target
//! printed that state after committing, so WAL is released as fast as the warehouse proves it has
//! the data, and never faster. Where the user lacks a right, the error gives the exact SQL an
//! admin runs.

pub mod pgoutput;
pub mod reader;
pub mod wire;

use std::time::{Duration, Instant};

use common::catalog::StreamSelection;
use common::state::Lsn;
use postgres::Client;
use postgres::error::SqlState;
use tracing::{info, warn};

use crate::Error;
use crate::server::ServerVersion;
use crate::sql::{qualified_table, quote_identifier, string_literal};

/// The tap's own config keys for LOG_BASED.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct LogKeys {
    /// The logical replication slot (default `singer_<dbname>`).
    #[serde(default)]
    pub replication_slot: Option<String>,
    /// The publication of the LOG_BASED tables (default: the slot's name).
    #[serde(default)]
    pub publication: Option<String>,
}

/// The slot and publication a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogNames {
    pub slot: String,
    pub publication: String,
}

impl LogNames {
    pub fn new(keys: &LogKeys, dbname: &str) -> Self {
        let default: String = format!("singer_{dbname}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(63)
            .collect();
        let slot = keys.replication_slot.clone().unwrap_or(default);
        Self {
            publication: keys.publication.clone().unwrap_or_else(|| slot.clone()),
            slot,
        }
    }
}

/// What stops the log phase before it reads anything.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(
        "LOG_BASED needs wal_level = logical, and the server has {level}: run `alter system set \
         wal_level = logical` and restart the server (on RDS and Aurora: set \
         rds.logical_replication = 1 in the parameter group and reboot)"
    )]
    WalLevel { level: String },
    #[error("LOG_BASED: {what}; an administrator can run:\n    {sql}")]
    NeedsRight { what: String, sql: String },
    #[error(
        "stream {stream}: the table has no primary key and REPLICA IDENTITY {identity}, so \
         PostgreSQL cannot say which row an update or delete changed (and would refuse them once \
         the table is published); add a primary key, or run:\n    alter table {table} replica \
         identity full"
    )]
    NoReplicaIdentity {
        stream: String,
        table: String,
        identity: &'static str,
    },
    #[error(
        "replication slot {slot:?} exists for {plugin} in database {database}, not for pgoutput \
         in this database: set `replication_slot` to another name"
    )]
    ForeignSlot {
        slot: String,
        plugin: String,
        database: String,
    },
    #[error(
        "stream {stream}: PostgreSQL {major} cannot publish a partitioned table (13 and later \
         can); use FULL_TABLE or INCREMENTAL for it"
    )]
    PartitionedTable { stream: String, major: i32 },
    #[error(
        "stream {stream}: a view cannot be replicated LOG_BASED; use FULL_TABLE or INCREMENTAL"
    )]
    View { stream: String },
    #[error("the server reported an unreadable WAL position {text:?}")]
    Position { text: String },
    #[error(
        "the replication slot {slot:?}, created by another job, found no start position within \
         {seconds}s (a long transaction is running?)"
    )]
    SlotNotReady { slot: String, seconds: u64 },
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    #[error("reading the replication stream at {position}")]
    Decode {
        position: Lsn,
        #[source]
        source: pgoutput::DecodeError,
    },
    #[error("stream {stream}: a changed row (at {position})")]
    Value {
        stream: String,
        position: Lsn,
        #[source]
        source: common::sync::InvalidValue,
    },
}

/// Checks `wal_level`, the streams' replica identities, and makes the publication cover every
/// stream and the slot exist.
pub fn prepare(
    client: &mut Client,
    server: ServerVersion,
    names: &LogNames,
    user: &str,
    streams: &[StreamSelection],
) -> Result<(), Error> {
    let level: String = query_one(client, "show wal_level", &[], "reading wal_level")?;
    if level != "logical" {
        return Err(LogError::WalLevel { level }.into());
    }
    let mut tables = Vec::new();
    for stream in streams {
        if stream.is_view {
            return Err(LogError::View {
                stream: stream.tap_stream_id.clone(),
            }
            .into());
        }
        let table = qualified_table(
            stream.namespace.as_deref().unwrap_or("public"),
            &stream.table_name,
        );
        check_table(client, server, stream, &table)?;
        tables.push((stream, table));
    }
    ensure_publication(client, server, names, &tables)?;
    ensure_slot(client, names, user)
}

/// Checks that the log can carry `stream`'s changes: a replica identity that names the row, and
/// a table this major can publish. Warns of the generated columns the log leaves out.
fn check_table(
    client: &mut Client,
    server: ServerVersion,
    stream: &StreamSelection,
    table: &str,
) -> Result<(), Error> {
    let row = client
        .query_one(
            "select c.relreplident::text, \
                    exists (select from pg_index i where i.indrelid = c.oid and i.indisprimary), \
                    c.relkind = 'p', \
                    array(select a.attname::text from pg_attribute a where a.attrelid = c.oid \
                          and a.attnum > 0 and not a.attisdropped and a.attgenerated <> '' \
                          and a.attgenerated::text <> all($2) order by a.attnum) \
             from pg_class c where c.oid = $1::text::regclass",
            &[&table, &server.logged_generated_kinds()],
        )
        .map_err(Error::query("reading the table's replica identity"))?;
    let identity: String = row.get(0);
    let has_primary_key: bool = row.get(1);
    let partitioned: bool = row.get(2);
    let generated: Vec<String> = row.get(3);
    if partitioned && !server.publishes_partitioned_tables() {
        return Err(LogError::PartitionedTable {
            stream: stream.tap_stream_id.clone(),
            major: server.major(),
        }
        .into());
    }
    if !generated.is_empty() {
        warn!(
            stream = %stream.tap_stream_id,
            columns = %generated.join(", "),
            major = server.major(),
            "the log leaves these generated columns out (stored ones before PostgreSQL 18, \
             virtual ones always): changes after the snapshot arrive without them, so the \
             warehouse keeps their snapshot values"
        );
    }
    let identity = match identity.as_str() {
        "n" => "NOTHING",
        "d" if !has_primary_key => "DEFAULT",
        _ => return Ok(()),
    };
    Err(LogError::NoReplicaIdentity {
        stream: stream.tap_stream_id.clone(),
        table: table.to_owned(),
        identity,
    }
    .into())
}

fn ensure_publication(
    client: &mut Client,
    server: ServerVersion,
    names: &LogNames,
    tables: &[(&StreamSelection, String)],
) -> Result<(), Error> {
    let publication = quote_identifier(&names.publication);
    let all_tables: Option<bool> = client
        .query_opt(
            "select puballtables from pg_publication where pubname = $1",
            &[&names.publication],
        )
        .map_err(Error::query("reading the publication"))?
        .map(|row| row.get(0));
    let missing: Vec<&String> = match all_tables {
        Some(true) => return Ok(()),
        Some(false) => {
            let mut missing = Vec::new();
            for (stream, table) in tables {
                let published: bool = query_one(
                    client,
                    "select exists (select from pg_publication_tables \
                     where pubname = $1 and schemaname = $2 and tablename = $3)",
                    &[
                        &names.publication,
                        &stream.namespace.as_deref().unwrap_or("public"),
                        &stream.table_name,
                    ],
                    "reading the publication's tables",
                )?;
                if !published {
                    missing.push(table);
                }
            }
            missing
        }
        None => {
            let list: Vec<&str> = tables.iter().map(|(_, table)| table.as_str()).collect();
            let mut sql = format!(
                "create publication {publication} for table {}",
                list.join(", ")
            );
            if let Some(options) = server.publication_options() {
                sql.push_str(&options);
            }
            info!(publication = %names.publication, "creating the publication");
            return run_or_explain(client, &sql, "the publication does not exist");
        }
    };
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<&str> = missing.iter().map(|table| table.as_str()).collect();
    let sql = format!(
        "alter publication {publication} add table {}",
        list.join(", ")
    );
    info!(publication = %names.publication, tables = %list.join(", "), "adding tables to the publication");
    run_or_explain(client, &sql, "the publication lacks tables")
}

fn ensure_slot(client: &mut Client, names: &LogNames, user: &str) -> Result<(), Error> {
    let existing = client
        .query_opt(
            "select plugin::text, database::text from pg_replication_slots where slot_name = $1",
            &[&names.slot],
        )
        .map_err(Error::query("reading the replication slot"))?;
    if let Some(row) = existing {
        let plugin: Option<String> = row.get(0);
        let database: Option<String> = row.get(1);
        let current: String = query_one(
            client,
            "select current_database()",
            &[],
            "reading the database",
        )?;
        if plugin.as_deref() != Some("pgoutput") || database.as_deref() != Some(&current) {
            return Err(LogError::ForeignSlot {
                slot: names.slot.clone(),
                plugin: plugin.unwrap_or_else(|| "physical replication".into()),
                database: database.unwrap_or_default(),
            }
            .into());
        }
        return await_consistent_slot(client, names);
    }
    info!(
        slot = %names.slot,
        "creating the replication slot (waits for transactions running now to end)"
    );
    let sql = format!(
        "select pg_create_logical_replication_slot({}, 'pgoutput')",
        string_literal(&names.slot)
    );
    match client.batch_execute(&sql) {
        Ok(()) => Ok(()),
        // Another job (a shard started at the same moment) created it.
        Err(error) if error.code() == Some(&SqlState::DUPLICATE_OBJECT) => {
            await_consistent_slot(client, names)
        }
        Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            Err(LogError::NeedsRight {
                what: format!(
                    "user {user} may not create replication slots (the slot {:?} does not exist)",
                    names.slot
                ),
                sql: format!(
                    "alter role {0} replication;   -- on RDS/Aurora: grant rds_replication to {0};\n    \
                     -- or create the slot for it:\n    {sql};",
                    quote_identifier(user)
                ),
            }
            .into())
        }
        Err(source) => Err(Error::query("creating the replication slot")(source)),
    }
}

/// Runs `sql`; lacking the right to, says what an admin runs.
/// How long a job waits for a slot another job is creating to reach its start position.
const SLOT_CREATION_TIMEOUT: Duration = Duration::from_secs(300);

/// A slot created by another job at the same moment has no confirmed position until it has
/// found its start (once the transactions running then end): a snapshot read before that could
/// miss changes the slot will not have. Waits for it.
fn await_consistent_slot(client: &mut Client, names: &LogNames) -> Result<(), Error> {
    let started = Instant::now();
    while confirmed_position(client, &names.slot)?.is_none() {
        if started.elapsed() > SLOT_CREATION_TIMEOUT {
            return Err(LogError::SlotNotReady {
                slot: names.slot.clone(),
                seconds: SLOT_CREATION_TIMEOUT.as_secs(),
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn run_or_explain(client: &mut Client, sql: &str, what: &str) -> Result<(), Error> {
    match client.batch_execute(sql) {
        Ok(()) => Ok(()),
        // Another job (a shard started at the same moment) made the same change.
        Err(error)
            if error.code() == Some(&SqlState::DUPLICATE_OBJECT)
                || error.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            info!("{what}: another job has just changed it the same way");
            Ok(())
        }
        Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
            Err(LogError::NeedsRight {
                what: format!("{what}, and this user may not change it"),
                sql: format!("{sql};"),
            }
            .into())
        }
        Err(source) => Err(Error::query("updating the publication")(source)),
    }
}

/// The slot's confirmed position: every change after it is still in the WAL. `None` when the
/// slot does not exist.
pub fn confirmed_position(client: &mut Client, slot: &str) -> Result<Option<Lsn>, Error> {
    let row = client
        .query_opt(
            "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = $1",
            &[&slot],
        )
        .map_err(Error::query("reading the replication slot"))?;
    Ok(row
        .and_then(|row| row.get::<_, Option<String>>(0))
        .and_then(|text| text.parse().ok()))
}

/// The WAL's current end: a log run ends once it has read this far.
pub fn current_position(client: &mut Client) -> Result<Lsn, Error> {
    let text: String = query_one(
        client,
        "select pg_current_wal_insert_lsn()::text",
        &[],
        "reading the WAL position",
    )?;
    text.parse().map_err(|_| LogError::Position { text }.into())
}

fn query_one<T: for<'a> postgres::types::FromSql<'a>>(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
    what: &str,
) -> Result<T, Error> {
    client
        .query_one(sql, params)
        .map(|row| row.get(0))
        .map_err(Error::query(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_valid_slot_names() {
        let names = LogNames::new(&LogKeys::default(), "Shop-DB");
        assert_eq!(names.slot, "singer_shop_db");
        assert_eq!(names.publication, "singer_shop_db");
        let chosen = LogNames::new(
            &LogKeys {
                replication_slot: Some("s".into()),
                publication: None,
            },
            "x",
        );
        assert_eq!(
            (chosen.slot.as_str(), chosen.publication.as_str()),
            ("s", "s")
        );
    }
}
