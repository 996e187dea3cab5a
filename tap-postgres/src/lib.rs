//! `tap-postgres`: a Singer tap for PostgreSQL.
//!
//! ```text
//! --discover:  pg_catalog ──discover──▶ Catalog (stdout)
//! sync:        Catalog + State ──common::sync──▶ source: COPY (select …) TO STDOUT ──value──▶
//!              RECORD/STATE (stdout)
//! ```
//!
//! The sync engine is `common::sync`, shared with tap-mysql; this crate says what is
//! PostgreSQL's: column types are classified once ([`column_type`]), rows are read as PostgreSQL's
//! exact text through `COPY … TO STDOUT` ([`source`]) and encoded straight into JSON ([`value`]),
//! so numbers keep every digit and no row is held longer than it takes to write it.

pub mod column_type;
pub mod connection;
pub mod discover;
pub mod source;
pub mod sql;
pub mod value;

use std::io;

use common::catalog::{Catalog, CatalogError};
use common::cli::{About, Setting, TapCommand, tap_settings};
use common::config::{ConfigError, TapConfig, load_config};
use common::state::StateError;
use common::sync::{SyncError, SyncSettings, sync_streams};
use common::{MessageWriter, State};

use crate::source::PostgresSource;

pub const NAME: &str = "tap-postgres";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");
/// Whether config `dbname` is required (PostgreSQL connects to one database).
const DBNAME_REQUIRED: bool = true;

/// What can stop the tap.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Connect(#[from] common::postgres::ConnectError),
    #[error("{what} failed")]
    Query {
        what: String,
        #[source]
        source: postgres::Error,
    },
    #[error("stream {stream}: reading rows failed")]
    Read {
        stream: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("could not write to stdout")]
    Output(#[from] io::Error),
}

/// `--about`: name, version, capabilities and settings.
pub fn about() -> About {
    let mut settings = tap_settings(DBNAME_REQUIRED);
    settings.push(Setting::new(
        "filter_schemas",
        "array",
        "Schemas to discover (all readable schemas when absent); a list or a comma-separated \
         string (alias `filter_dbs`).",
    ));
    About {
        name: NAME,
        version: VERSION,
        description: DESCRIPTION,
        capabilities: vec![
            "about",
            "catalog",
            "discover",
            "state",
            "properties",
            "activate-version",
        ],
        settings,
    }
}

pub fn run(command: TapCommand) -> Result<(), Error> {
    match command {
        TapCommand::About(format) => Ok(about().print(format)?),
        TapCommand::Discover { config } => {
            let config: TapConfig = load_config(&config)?;
            Ok(discover(&config)?.print()?)
        }
        TapCommand::Sync {
            config,
            catalog,
            state,
        } => {
            let config: TapConfig = load_config(&config)?;
            let mut catalog = match catalog {
                Some(path) => Catalog::load(&path)?,
                None => discover(&config)?,
            };
            catalog.apply_select_patterns(&config.select)?;
            let state = State::load_optional(state.as_deref())?;
            let mut client = connection::connect(&config.connection)?;
            let mut source = PostgresSource {
                client: &mut client,
                database: config.connection.dbname.clone().unwrap_or_default(),
            };
            let settings = SyncSettings::from(&config);
            let mut out = MessageWriter::stdout();
            sync_streams(&mut source, &settings, &catalog, state, &mut out)?;
            Ok(())
        }
    }
}

/// Discovers the configured database's catalog.
pub fn discover(config: &TapConfig) -> Result<Catalog, Error> {
    let mut client = connection::connect(&config.connection)?;
    let database = config.connection.dbname.as_deref().unwrap_or_default();
    let filter = config.namespaces.as_ref().map(|list| list.0.as_slice());
    let catalog = discover::discover_catalog(&mut client, database, filter)?;
    catalog.check_namespaces("filter_schemas", filter.unwrap_or_default())?;
    Ok(catalog)
}

#[cfg(test)]
mod about_tests {
    use common::cli::settings_mismatches;
    use common::config::{ConnectionConfig, TapConfig, struct_fields};

    use super::*;

    #[test]
    fn about_lists_every_key_that_works_and_what_is_required() {
        let mismatches = settings_mismatches(
            &about().settings,
            &[
                struct_fields::<ConnectionConfig>(),
                struct_fields::<TapConfig>(),
            ],
            &["host", "user", "dbname"],
        );
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}
