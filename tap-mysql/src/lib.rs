//! `tap-mysql`: a Singer tap for MySQL and MariaDB.
//!
//! ```text
//! --discover:  information_schema ──discover──▶ Catalog (stdout)
//! sync:        Catalog + State ──common::sync──▶ source: unbuffered select ──value──▶
//!              RECORD/STATE (stdout)
//! ```
//!
//! The command line and the sync engine are `common::tap` and `common::sync`, shared with
//! tap-postgres; this crate says what is MySQL's: column types are classified once
//! ([`column_type`]), rows are read as the server's exact text over the text protocol
//! ([`source`]) and encoded straight into JSON ([`value`]), so decimals keep every digit and no
//! row is held longer than it takes to write it.

pub mod binlog;
pub mod column_type;
pub mod connection;
pub mod discover;
pub mod source;
pub mod sql;
pub mod value;

use common::catalog::Catalog;
use common::cli::Setting;
use common::config::TapConfig;
use common::sync::SyncError;
use common::tap::{Tap, TapError};
use serde::Deserialize;

use crate::source::MysqlSource;

pub const NAME: &str = "tap-mysql";

/// The config keys of tap-mysql alone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MysqlKeys {
    /// `tinyint(1)` columns as booleans (the MySQL convention) rather than integers.
    #[serde(default = "yes")]
    pub tinyint1_as_boolean: bool,
    /// The replica id LOG_BASED runs register with; distinct from every real replica's.
    #[serde(default = "default_server_id")]
    pub server_id: u32,
}

impl Default for MysqlKeys {
    fn default() -> Self {
        Self {
            tinyint1_as_boolean: yes(),
            server_id: default_server_id(),
        }
    }
}

/// A replica id far from the small numbers servers are usually given ("SING" in ASCII).
pub const DEFAULT_SERVER_ID: u32 = 0x5349_4e47;

fn default_server_id() -> u32 {
    DEFAULT_SERVER_ID
}

fn yes() -> bool {
    true
}

/// What can stop the tap.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tap(#[from] TapError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Connect(#[from] common::mysql::ConnectError),
    #[error(transparent)]
    Binlog(#[from] binlog::BinlogError),
    /// The driver's error is shown as a sentence (its own `Display` is a debug form).
    #[error("{what} failed: {}", common::mysql::describe(error))]
    Query { what: String, error: mysql::Error },
}

/// The tap, for `common::tap`.
#[derive(Debug)]
pub enum MysqlTap {}

impl Tap for MysqlTap {
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
    const DBNAME_REQUIRED: bool = false;
    const NAMESPACE_FILTER_KEY: &'static str = "filter_dbs";
    type OwnKeys = MysqlKeys;
    type Source = MysqlSource;

    fn own_settings() -> Vec<Setting> {
        vec![
            Setting::new(
                "filter_dbs",
                "array",
                "Databases to discover (all readable databases when absent); a list or a \
                 comma-separated string (alias `filter_schemas`).",
            ),
            Setting::new(
                "tinyint1_as_boolean",
                "boolean",
                "Read tinyint(1) columns as booleans; false keeps them integers.",
            )
            .default_value(true),
            Setting::new(
                "server_id",
                "integer",
                "The replica id a LOG_BASED run registers with to read the binlog; must differ \
                 from the server's and every other replica's.",
            )
            .default_value(DEFAULT_SERVER_ID),
        ]
    }

    fn connect(config: &TapConfig<MysqlKeys>) -> Result<MysqlSource, Error> {
        Ok(MysqlSource {
            conn: common::mysql::connect(&config.connection, &connection::SESSION_SETUP)?,
            connection: config.connection.clone(),
            tinyint1_as_boolean: config.own.tinyint1_as_boolean,
            server_id: config.own.server_id,
        })
    }

    fn discover(source: &mut MysqlSource, config: &TapConfig<MysqlKeys>) -> Result<Catalog, Error> {
        let filter = config.namespaces.as_ref().map(|list| list.0.as_slice());
        discover::discover_catalog(&mut source.conn, filter, source.tinyint1_as_boolean)
    }
}

#[cfg(test)]
mod about_tests {
    use super::*;

    #[test]
    fn about_lists_every_key_that_works_and_what_is_required() {
        let mismatches = common::tap::about_mismatches::<MysqlTap>();
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}
