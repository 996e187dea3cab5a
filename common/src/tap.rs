//! A tap from its command line to its last STATE: what tap-postgres and tap-mysql do the same way.
//!
//! ```text
//! main ──▶ --about │ --discover: connect ──Tap::discover──▶ catalog (stdout)
//!                  │ sync: catalog (file, or discovered + `select`) + state ──sync::sync_streams──▶ stdout
//!                  │ --plan N │ --activate: catalog ──sync::plan_streams │ activate_streams──▶ stdout
//! ```
//!
//! A tap names itself, its own config keys and settings, how to connect and how to discover
//! ([`Tap`]); its [`Source`] does the rest through [`crate::sync`].

use std::error::Error;
use std::fmt::Debug;
use std::io::{self, Write};
use std::process::ExitCode;

use serde::de::DeserializeOwned;

use crate::catalog::{Catalog, CatalogError};
use crate::cli::{
    About, CliError, Setting, Sharding, TapArgs, TapCommand, failure_exit_code, tap_settings,
};
use crate::config::{ConfigError, ConnectionConfig, TapConfig, load_config, struct_fields};
use crate::state::StateError;
use crate::sync::{
    Plan, ShardPlanError, ShardRun, Source, SyncSettings, activate_streams, plan_streams,
    sync_streams,
};
use crate::{MessageWriter, State};

/// What makes a tap itself.
pub trait Tap {
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;
    /// Whether config `dbname` is required (PostgreSQL connects to one database).
    const DBNAME_REQUIRED: bool;
    /// The config key that filters discovery, for its errors: `filter_schemas` or `filter_dbs`.
    const NAMESPACE_FILTER_KEY: &'static str;
    /// The config keys of this tap alone.
    type OwnKeys: DeserializeOwned + Default + Debug + Clone + PartialEq;
    /// The database; its error is the tap's.
    type Source: Source<Error: Error + 'static + From<TapError>>;

    /// `--about`'s settings of [`Tap::OwnKeys`] (and the filter key's description).
    fn own_settings() -> Vec<Setting>;

    /// Connects as configured.
    fn connect(config: &TapConfig<Self::OwnKeys>) -> Result<Self::Source, TapFailure<Self>>;

    /// Every readable table and view, or those of the configured namespaces.
    fn discover(
        source: &mut Self::Source,
        config: &TapConfig<Self::OwnKeys>,
    ) -> Result<Catalog, TapFailure<Self>>;
}

/// The error of tap `T`: its source's.
pub type TapFailure<T> = <<T as Tap>::Source as Source>::Error;

/// What stops any tap outside its database work.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    ShardPlan(#[from] ShardPlanError),
    #[error("could not write to stdout")]
    Output(#[from] io::Error),
}

/// A tap's `main`: logging, arguments, the run, and the exit code.
pub fn main<T: Tap>() -> ExitCode {
    crate::logging::init();
    let args = TapArgs::parse_for(T::Source::PROGRAM, T::VERSION, T::DESCRIPTION);
    match args
        .into_command()
        .map_err(|error| TapFailure::<T>::from(TapError::from(error)))
        .and_then(run::<T>)
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => failure_exit_code(&err),
    }
}

/// Runs one command of a tap.
pub fn run<T: Tap>(command: TapCommand) -> Result<(), TapFailure<T>> {
    match command {
        TapCommand::About(format) => Ok(about::<T>().print(format).map_err(TapError::from)?),
        TapCommand::Discover { config } => {
            let config = load_config(&config).map_err(TapError::from)?;
            let mut source = T::connect(&config)?;
            let catalog = discover::<T>(&mut source, &config)?;
            Ok(catalog.print().map_err(TapError::from)?)
        }
        TapCommand::Sync {
            config,
            catalog,
            state,
            shard,
        } => {
            let config = load_config(&config).map_err(TapError::from)?;
            let mut settings = SyncSettings::from(&config);
            let plan = shard.plan.clone().or_else(|| config.shard_plan.clone());
            settings.shard = shard_run::<T>(shard, &config)?;
            match (plan, settings.shard) {
                (Some(path), Some(_)) => {
                    let plan = Plan::load(&path).map_err(TapError::from)?;
                    settings.shard_plan = Some(std::sync::Arc::new(plan));
                }
                (Some(path), None) => tracing::warn!(
                    plan = %path.display(),
                    "a shard plan without a shard (--shard or config `shard`) is ignored"
                ),
                (None, _) => {}
            }
            let state = State::load_optional(state.as_deref()).map_err(TapError::from)?;
            let (mut source, catalog) = connect_with_catalog::<T>(&config, catalog)?;
            let mut out = MessageWriter::stdout();
            sync_streams(&mut source, &settings, &catalog, state, &mut out)?;
            Ok(())
        }
        TapCommand::Plan {
            config,
            catalog,
            shards,
            version,
        } => {
            let config = load_config(&config).map_err(TapError::from)?;
            let settings = SyncSettings::from(&config);
            let (mut source, catalog) = connect_with_catalog::<T>(&config, catalog)?;
            let version = version.or(config.shard_version);
            let plan = plan_streams(&mut source, &settings, &catalog, shards, version)?;
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &plan)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
                .and_then(|()| out.flush())
                .map_err(TapError::from)?;
            Ok(())
        }
        TapCommand::Activate {
            config,
            catalog,
            state,
            version,
            log_position,
        } => {
            let config: TapConfig<T::OwnKeys> = load_config(&config).map_err(TapError::from)?;
            let version = version
                .or(config.shard_version)
                .ok_or(CliError::MissingShardVersion { what: "--activate" })
                .map_err(TapError::from)?;
            let settings = SyncSettings::from(&config);
            let state = State::load_optional(state.as_deref()).map_err(TapError::from)?;
            let (mut source, catalog) = connect_with_catalog::<T>(&config, catalog)?;
            let mut out = MessageWriter::stdout();
            activate_streams(
                &mut source,
                &settings,
                &catalog,
                version,
                log_position,
                state,
                &mut out,
            )?;
            Ok(())
        }
    }
}

/// The shard a sync reads, from the command line or else the config; a shard without a version
/// is refused before connecting.
fn shard_run<T: Tap>(
    sharding: Sharding,
    config: &TapConfig<T::OwnKeys>,
) -> Result<Option<ShardRun>, TapError> {
    let Some(shard) = sharding.shard.or(config.shard) else {
        return Ok(None);
    };
    let version =
        sharding
            .version
            .or(config.shard_version)
            .ok_or(CliError::MissingShardVersion {
                what: "a shard run",
            })?;
    Ok(Some(ShardRun { shard, version }))
}

/// Connects, and reads the catalog file or else discovers, with config `select` applied.
fn connect_with_catalog<T: Tap>(
    config: &TapConfig<T::OwnKeys>,
    catalog: Option<std::path::PathBuf>,
) -> Result<(T::Source, Catalog), TapFailure<T>> {
    let catalog = catalog
        .map(|path| Catalog::load(&path))
        .transpose()
        .map_err(TapError::from)?;
    let mut source = T::connect(config)?;
    let mut catalog = match catalog {
        Some(catalog) => catalog,
        None => discover::<T>(&mut source, config)?,
    };
    catalog
        .apply_select_patterns(&config.select)
        .map_err(TapError::from)?;
    Ok((source, catalog))
}

/// Discovery, with a filter that names nothing said to be an error rather than an empty catalog.
fn discover<T: Tap>(
    source: &mut T::Source,
    config: &TapConfig<T::OwnKeys>,
) -> Result<Catalog, TapFailure<T>> {
    let catalog = T::discover(source, config)?;
    let filter = config.namespaces.as_ref().map(|list| list.0.as_slice());
    catalog
        .check_namespaces(T::NAMESPACE_FILTER_KEY, filter.unwrap_or_default())
        .map_err(TapError::from)?;
    Ok(catalog)
}

/// `--about`: name, version, capabilities and settings.
pub fn about<T: Tap>() -> About {
    let mut settings = tap_settings(T::DBNAME_REQUIRED);
    settings.extend(T::own_settings());
    About {
        name: T::Source::PROGRAM,
        version: T::VERSION,
        description: T::DESCRIPTION,
        capabilities: vec![
            "about",
            "catalog",
            "discover",
            "state",
            "properties",
            "activate-version",
            "log-based",
        ],
        settings,
    }
}

/// Where `--about` and the config keys the tap reads disagree (see
/// [`settings_mismatches`](crate::cli::settings_mismatches)); empty when `--about` tells the
/// whole truth.
pub fn about_mismatches<T: Tap>() -> Vec<String> {
    let mut required = vec!["host", "user"];
    if T::DBNAME_REQUIRED {
        required.push("dbname");
    }
    crate::cli::settings_mismatches(
        &about::<T>().settings,
        &[
            struct_fields::<ConnectionConfig>(),
            struct_fields::<TapConfig<T::OwnKeys>>(),
            struct_fields::<T::OwnKeys>(),
        ],
        &required,
    )
}
