//! `target-postgres`: a Singer target loading a PostgreSQL warehouse.
//!
//! This version answers `--about` and checks its config; loading and `--check` are the next
//! capabilities to land, and until then they stop with a clear error without touching stdin.

use std::io;
use std::path::PathBuf;

use clap::Parser;
use common::cli::{About, AboutArgs, Setting, connection_settings};
use common::config::{ConfigError, ConnectionConfig, load_config};

pub const NAME: &str = "target-postgres";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const DESCRIPTION: &str = env!("CARGO_PKG_DESCRIPTION");

/// `target-postgres --config CONFIG [--check]`, `target-postgres --about [--format …]`.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
pub struct TargetArgs {
    /// JSON config file: warehouse connection and loading behaviour.
    #[arg(short, long, value_name = "FILE", required_unless_present = "about")]
    pub config: Option<PathBuf>,
    /// Test the connection and permissions, print the result, and exit.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub about: AboutArgs,
}

/// What can stop the target.
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
    let mut settings = connection_settings();
    settings.extend([
        Setting::new(
            "default_target_schema",
            "string",
            "Warehouse schema to load into, canonicalised (\"Stitch RDS\" becomes stitch_rds).",
        )
        .required(),
        Setting::new(
            "batch_size_rows",
            "integer",
            "Rows buffered per table before a flush.",
        ),
        Setting::new(
            "max_batch_bytes",
            "integer",
            "Bytes buffered per table before a flush.",
        ),
        Setting::new(
            "hard_delete",
            "boolean",
            "Delete rows instead of setting _sdc_deleted_at.",
        )
        .default_value(false),
        Setting::new(
            "add_metadata_columns",
            "boolean",
            "Add the _sdc_* system columns.",
        )
        .default_value(true),
        Setting::new(
            "validate_records",
            "boolean",
            "Validate records against their SCHEMA.",
        )
        .default_value(true),
        Setting::new(
            "invalid_records",
            "string",
            "fail (stop the load) or reject (to the _sdc_rejected table).",
        )
        .default_value("fail"),
        Setting::new(
            "state_table",
            "string",
            "Table keeping the last committed STATE inside the warehouse.",
        ),
        Setting::new("nesting", "string", "denest (child tables) or jsonb.")
            .default_value("denest"),
    ]);
    About {
        name: NAME,
        version: VERSION,
        description: DESCRIPTION,
        capabilities: vec!["about", "activate-version", "hard-delete"],
        settings,
    }
}

pub fn run(args: TargetArgs) -> Result<(), Error> {
    if args.about.about {
        return Ok(about().print(args.about.format)?);
    }
    if let Some(config) = &args.config {
        let _connection: ConnectionConfig = load_config(config)?;
    }
    Err(Error::NotAvailable {
        mode: if args.check { "--check" } else { "a load" },
    })
}
