//! `target-postgres`: a Singer target loading a PostgreSQL warehouse.
//!
//! It reads Singer messages on stdin, creates and owns the schema and tables it needs, de-nests
//! records into plain columns and child tables, loads them with COPY (merging on key properties),
//! and prints each STATE on stdout only once the data it covers is committed.
//!
//! ```text
//!  stdin ─▶ input ─▶ target: validate, de-nest, encode, plan DDL ──Command──▶ load: COPY, merge,
//!                    (per-stream buffers, held STATEs)          bounded channel  commit, print STATE
//! ```
//!
//! `startup` prepares the warehouse and starts the loader thread; `input` hands each line to the
//! `target`, which decides what goes to the loader and when.

pub mod activation;
pub mod batch;
pub mod check;
pub mod clock;
pub mod column_type;
pub mod config;
pub mod connection;
pub mod copy_format;
pub mod ddl;
pub mod denest;
pub mod encode;
pub mod input;
pub mod json;
pub mod layout;
pub mod load;
pub mod naming;
pub mod offline;
pub mod partial;
pub mod reject;
mod retry;
mod server_error;
pub mod startup;
pub mod state;
pub mod system_column;
pub mod target;
pub mod validate;
pub mod warehouse;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use clap::Parser;
use common::cli::{About, AboutArgs, Setting, connection_settings};
use common::config::{ConfigError, load_config};
use common::message::MessageError;

use crate::check::{Problem, check_permissions};
use crate::config::TargetConfig;
use crate::ddl::DdlError;
use crate::server_error::ServerError;

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
    #[error("the warehouse")]
    Connect(#[from] common::postgres::ConnectError),
    #[error("{what} failed")]
    Database {
        what: String,
        #[source]
        source: ServerError,
    },
    /// The statement is logged at debug level, not shown: it can be the whole CREATE TABLE.
    #[error("stream {stream}: changing its tables failed")]
    Ddl {
        stream: String,
        #[source]
        source: ServerError,
    },
    #[error("{}stream {stream}: the warehouse refused a row of table {table}", line_prefix(*line))]
    Copy {
        stream: String,
        table: String,
        line: Option<u64>,
        #[source]
        source: ServerError,
    },
    /// The COPY writer failed under the rows (the connection, not a row, is at fault).
    #[error("stream {stream}: sending the rows of table {table} to the warehouse failed")]
    CopySend {
        stream: String,
        table: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the target cannot load into schema {schema}; nothing was loaded:\n{}",
        list(problems)
    )]
    Permissions {
        schema: String,
        problems: Vec<Problem>,
    },
    #[error("check failed: {0} problem(s)")]
    CheckFailed(usize),
    #[error(transparent)]
    Input(#[from] MessageError),
    #[error("line {line}: RECORD for stream {stream} before any SCHEMA for it")]
    RecordBeforeSchema { line: u64, stream: String },
    /// The stream is named by the cause, as every `DdlError` names it.
    #[error("line {line}: SCHEMA cannot be loaded")]
    Schema {
        line: u64,
        stream: String,
        #[source]
        source: Box<DdlError>,
    },
    #[error("line {line}: stream {stream}: property {property}: {reason}")]
    InvalidRecord {
        line: u64,
        stream: String,
        property: String,
        reason: String,
    },
    #[error("the loader thread stopped unexpectedly")]
    LoaderLost,
    #[error("could not start the loader thread")]
    LoaderSpawn(#[source] io::Error),
}

fn line_prefix(line: Option<u64>) -> String {
    line.map(|line| format!("line {line}: "))
        .unwrap_or_default()
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--about`: name, version, capabilities and settings.
pub fn about() -> About {
    let mut settings = connection_settings(true);
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
            "Records of one stream buffered before a flush.",
        )
        .default_value(100_000),
        Setting::new(
            "max_batch_bytes",
            "integer",
            "COPY bytes of one stream buffered before a flush.",
        )
        .default_value(8 * 1024 * 1024),
        Setting::new(
            "max_record_bytes",
            "integer",
            "The longest input line (one message); a longer one stops the load with an error.",
        )
        .default_value(common::message::DEFAULT_MAX_LINE_BYTES),
        Setting::new(
            "max_retries",
            "integer",
            "Replays of a transaction, on a new session, after a transient failure of the \
             warehouse (lost connection, restart, deadlock); pauses of 1, 2, 4 … 30 s.",
        )
        .default_value(5),
        Setting::new(
            "hard_delete",
            "boolean",
            "Delete rows instead of setting _sdc_deleted_at.",
        )
        .default_value(false),
        Setting::new(
            "add_metadata_columns",
            "boolean",
            "Add _sdc_extracted_at, _sdc_received_at and _sdc_batched_at.",
        )
        .default_value(true),
        Setting::new(
            "copy_format",
            "string",
            "binary (COPY's binary format for tables whose column types all have a binary writer) or text.",
        )
        .default_value("binary"),
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
        Setting::new(
            "nesting",
            "string",
            "denest (child tables) or jsonb; or an object per stream.",
        )
        .default_value("denest"),
    ]);
    About {
        name: NAME,
        version: VERSION,
        description: DESCRIPTION,
        capabilities: vec!["about", "activate-version", "hard-delete", "soft-delete"],
        settings,
    }
}

pub fn run(args: TargetArgs) -> Result<(), Error> {
    if args.about.about {
        return Ok(about().print(args.about.format)?);
    }
    let path = args.config.expect("clap requires --config without --about");
    let config: TargetConfig = load_config(&path)?;
    if args.check {
        return check(&config);
    }
    let stdin = io::stdin();
    // Large reads: the input is mostly long RECORD lines.
    load(config, io::BufReader::with_capacity(1 << 20, stdin.lock()))
}

/// `--check`: the connection and permission checks, printed.
fn check(config: &TargetConfig) -> Result<(), Error> {
    let mut client = connection::connect(&config.connection)?;
    let report = check_permissions(&mut client, &config.schema())?;
    let mut out = io::stdout().lock();
    report.write(&mut out)?;
    out.flush()?;
    match report.problems.len() {
        0 => Ok(()),
        problems => Err(Error::CheckFailed(problems)),
    }
}

/// Loads the messages of `input` as configured.
pub fn load(config: TargetConfig, input: impl BufRead) -> Result<(), Error> {
    let max_line_bytes = config.max_record_bytes;
    let (mut target, loader) = startup::start(config)?;
    let read = input::read_input(input, max_line_bytes, &mut target);
    // Whatever stopped the input, what was read before it is committed, with its STATEs.
    let sent = target.finish();
    // The loader's failure is the root cause when it stopped first.
    let summary = loader.wait()?;
    read?;
    sent?;
    target.log_summary(&summary);
    Ok(())
}

#[cfg(test)]
mod about_tests {
    use crate::config::TargetConfig;
    use common::cli::settings_mismatches;
    use common::config::{ConnectionConfig, struct_fields};

    use super::*;

    #[test]
    fn about_lists_every_key_that_works_and_what_is_required() {
        let mismatches = settings_mismatches(
            &about().settings,
            &[
                struct_fields::<ConnectionConfig>(),
                struct_fields::<TargetConfig>(),
            ],
            &["host", "user", "dbname", "default_target_schema"],
        );
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}

#[cfg(test)]
mod error_tests {
    use std::error::Error as _;

    use super::*;

    /// `main` prints the whole chain: a message that repeated its cause would print it twice.
    #[test]
    fn messages_leave_their_cause_to_the_chain() {
        let cause = || io::Error::other("the cause");
        let errors = [
            Error::Output(cause()),
            Error::LoaderSpawn(cause()),
            Error::CopySend {
                stream: "orders".into(),
                table: "orders".into(),
                source: cause(),
            },
            Error::Schema {
                line: 3,
                stream: "orders".into(),
                source: Box::new(DdlError::BadKeyProperty {
                    stream: "orders".into(),
                    key: "id".into(),
                    problem: "must have a single type",
                }),
            },
        ];
        for error in errors {
            let message = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                let text = cause.to_string();
                // Nor the context the cause opens with (`stream orders: …`).
                let context = text.split(':').next().unwrap_or_default();
                assert!(!message.contains(context), "{message}: {text}");
                source = cause.source();
            }
        }
    }
}
