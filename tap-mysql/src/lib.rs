//! `tap-mysql`: a Singer tap for MySQL and MariaDB.
//!
//! ```text
//! --discover:  information_schema ──discover──▶ Catalog (stdout)
//! sync:        Catalog + State ──common::sync──▶ source: unbuffered select ──value──▶
//!              RECORD/STATE (stdout)
//! ```
//!
//! The sync engine is `common::sync`, shared with tap-postgres; this crate says what is MySQL's:
//! column types are classified once ([`column_type`]), rows are read as the server's exact text
//! over the text protocol ([`source`]) and encoded straight into JSON ([`value`]), so decimals
//! keep every digit and no row is held longer than it takes to write it.

pub mod column_type;
pub mod connection;
pub mod discover;
pub mod source;
pub mod sql;
pub mod value;

use std::io;

use common::catalog::{Catalog, CatalogError};
use common::cli::{About, Setting, TapCommand, tap_settings};
use common::config::{
    ConfigError, ConfigFile, TapConfig, config_from_value, load_config, struct_fields,
};
use common::state::StateError;
use common::sync::{SyncError, SyncSettings, sync_streams};
use common::{MessageWriter, State};
use serde::Deserialize;
use serde_json::Value;

pub const NAME: &str = "tap-mysql";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");
/// Whether config `dbname` is required (PostgreSQL connects to one database).
const DBNAME_REQUIRED: bool = false;

/// The tap's config: the shared tap keys plus MySQL's own.
#[derive(Debug, Clone, PartialEq)]
pub struct MysqlConfig {
    pub tap: TapConfig,
    /// `tinyint(1)` columns as booleans (the MySQL convention) rather than integers.
    pub tinyint1_as_boolean: bool,
}

#[derive(Deserialize)]
struct MysqlOptions {
    #[serde(default = "yes")]
    tinyint1_as_boolean: bool,
}

fn yes() -> bool {
    true
}

impl ConfigFile for MysqlConfig {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        let tap = TapConfig::with_own_keys(value.clone(), struct_fields::<MysqlOptions>())?;
        let options: MysqlOptions = config_from_value(value)?;
        Ok(Self {
            tap,
            tinyint1_as_boolean: options.tinyint1_as_boolean,
        })
    }
}

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
    Connect(#[from] common::mysql::ConnectError),
    /// The driver's error is shown as a sentence (its own `Display` is a debug form).
    #[error("{what} failed: {}", common::mysql::describe(error))]
    Query { what: String, error: mysql::Error },
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("could not write to stdout")]
    Output(#[from] io::Error),
}

/// `--about`: name, version, capabilities and settings.
pub fn about() -> About {
    let mut settings = tap_settings(DBNAME_REQUIRED);
    settings.extend([
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
    ]);
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
            let config: MysqlConfig = load_config(&config)?;
            Ok(discover(&config)?.print()?)
        }
        TapCommand::Sync {
            config,
            catalog,
            state,
        } => {
            let config: MysqlConfig = load_config(&config)?;
            let mut catalog = match catalog {
                Some(path) => Catalog::load(&path)?,
                None => discover(&config)?,
            };
            catalog.apply_select_patterns(&config.tap.select)?;
            let state = State::load_optional(state.as_deref())?;
            let mut conn = connection::connect(&config.tap.connection)?;
            let mut source = source::MysqlSource {
                conn: &mut conn,
                tinyint1_as_boolean: config.tinyint1_as_boolean,
            };
            let settings = SyncSettings::from(&config.tap);
            let mut out = MessageWriter::stdout();
            sync_streams(&mut source, &settings, &catalog, state, &mut out)?;
            Ok(())
        }
    }
}

/// Discovers every readable database, or those of `filter_dbs`.
pub fn discover(config: &MysqlConfig) -> Result<Catalog, Error> {
    let mut conn = connection::connect(&config.tap.connection)?;
    let filter = config.tap.namespaces.as_ref().map(|list| list.0.as_slice());
    let catalog = discover::discover_catalog(&mut conn, filter, config.tinyint1_as_boolean)?;
    catalog.check_namespaces("filter_dbs", filter.unwrap_or_default())?;
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
                struct_fields::<MysqlOptions>(),
            ],
            &["host", "user"],
        );
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}
