//! `tap-postgres`: a Singer tap for PostgreSQL.
//!
//! `run` takes a parsed [`TapCommand`]. This version answers `--about` and checks its config;
//! discovery and sync are the next capabilities to land, and until then they stop with a clear
//! error instead of printing anything on stdout.

use std::io;

use common::cli::{About, Setting, TapCommand, tap_settings};
use common::config::{ConfigError, TapConfig, load_config};

pub const NAME: &str = "tap-postgres";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");

/// What can stop the tap.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not write to stdout")]
    Output(#[from] io::Error),
    #[error("{NAME} {VERSION} cannot run {mode} yet: only --about is available in this version")]
    NotAvailable { mode: &'static str },
}

/// `--about`: name, version, capabilities and settings.
pub fn about() -> About {
    let mut settings = tap_settings();
    settings.push(Setting::new("filter_schemas", "array", "Schemas to discover (all readable schemas when absent); a list or a comma-separated string."));
    About {
        name: NAME,
        version: VERSION,
        description: DESCRIPTION,
        capabilities: vec![
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
            let _config: TapConfig = load_config(&config)?;
            Err(Error::NotAvailable { mode: "discovery" })
        }
        TapCommand::Sync { config, .. } => {
            let _config: TapConfig = load_config(&config)?;
            Err(Error::NotAvailable { mode: "a sync" })
        }
    }
}
