//! `tap-postgres`: a Singer tap for PostgreSQL.
//!
//! ```text
//! --discover:  pg_catalog ──discover──▶ Catalog (stdout)
//! sync:        Catalog + State ──common::sync──▶ source: COPY (select …) TO STDOUT ──value──▶
//!              RECORD/STATE (stdout)
//! ```
//!
//! The command line and the sync engine are `common::tap` and `common::sync`, shared with
//! tap-mysql; this crate says what is PostgreSQL's: column types are classified once
//! ([`column_type`]), rows are read as PostgreSQL's exact text through `COPY … TO STDOUT`
//! ([`source`]) and encoded straight into JSON ([`value`]), so numbers keep every digit and no row
//! is held longer than it takes to write it.

pub mod column_type;
pub mod connection;
pub mod discover;
pub mod replication;
pub mod server;
pub mod source;
pub mod sql;
pub mod value;

use std::io;

use common::catalog::Catalog;
use common::cli::Setting;
use common::config::{ConnectionConfig, TapConfig};
use common::sync::SyncError;
use common::tap::{Tap, TapError};

use crate::replication::{LogError, LogKeys, LogNames};
use crate::server::ServerVersion;
use crate::source::PostgresSource;

pub const NAME: &str = "tap-postgres";

/// What can stop the tap.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tap(#[from] TapError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Connect(#[from] common::postgres::ConnectError),
    #[error("{what} failed")]
    Query {
        what: String,
        #[source]
        source: postgres::Error,
    },
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("stream {stream}: reading rows failed")]
    Read {
        stream: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Maps a failed query to [`Error::Query`], saying what was being done.
    pub(crate) fn query(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> Self {
        let what = what.into();
        move |source| Self::Query { what, source }
    }
}

/// The tap, for `common::tap`.
#[derive(Debug)]
pub enum PostgresTap {}

impl Tap for PostgresTap {
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");
    const DBNAME_REQUIRED: bool = true;
    const NAMESPACE_FILTER_KEY: &'static str = "filter_schemas";
    type OwnKeys = LogKeys;
    type Source = PostgresSource;

    fn own_settings() -> Vec<Setting> {
        vec![
            Setting::new(
                "filter_schemas",
                "array",
                "Schemas to discover (all readable schemas when absent); a list or a \
                 comma-separated string (alias `filter_dbs`).",
            ),
            Setting::new(
                "replication_slot",
                "string",
                "LOG_BASED: the logical replication slot (pgoutput), created when missing; \
                 default singer_<dbname>.",
            ),
            Setting::new(
                "publication",
                "string",
                "LOG_BASED: the publication of the LOG_BASED tables, created or extended when \
                 needed; default the slot's name.",
            ),
        ]
    }

    fn connect(config: &TapConfig<LogKeys>) -> Result<PostgresSource, Error> {
        let database = config.connection.dbname.clone().unwrap_or_default();
        let mut client = connect(&config.connection)?;
        Ok(PostgresSource {
            server: ServerVersion::read(&mut client)?,
            client,
            connection: config.connection.clone(),
            log_names: LogNames::new(&config.own, &database),
            log_confirmed: None,
            database,
        })
    }

    fn discover(
        source: &mut PostgresSource,
        config: &TapConfig<LogKeys>,
    ) -> Result<Catalog, Error> {
        let filter = config.namespaces.as_ref().map(|list| list.0.as_slice());
        discover::discover_catalog(&mut source.client, &source.database, filter)
    }
}

/// A session set up as the tap reads ([`connection::SESSION_SETUP`]).
fn connect(config: &ConnectionConfig) -> Result<postgres::Client, Error> {
    Ok(common::postgres::connect(
        config,
        NAME,
        connection::SESSION_SETUP,
    )?)
}

#[cfg(test)]
mod about_tests {
    use super::*;

    #[test]
    fn about_lists_every_key_that_works_and_what_is_required() {
        let mismatches = common::tap::about_mismatches::<PostgresTap>();
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}
