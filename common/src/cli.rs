//! The Singer command line shared by both taps, and `--about`.
//!
//! ```text
//! tap-x --config CONFIG --discover
//! tap-x --config CONFIG --catalog CATALOG [--state STATE]    (--properties is an alias)
//! tap-x --config CONFIG [--state STATE]                      (select by config `select` patterns)
//! tap-x --about [--format json|markdown]
//! tap-x --config CONFIG [--catalog CATALOG] --plan N [--shard-version V]      (shard bounds, JSON)
//! tap-x --config CONFIG [--catalog CATALOG] [--state STATE] --shard K/N --shard-version V
//!       [--shard-plan PLAN]                                   (PLAN: what --plan N printed)
//! tap-x --config CONFIG [--catalog CATALOG] --activate --shard-version V [--log-position P]
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::state::LogPosition;
use crate::sync::ShardIndex;

/// Arguments of a tap.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
pub struct TapArgs {
    /// JSON config file: connection, filters, selection shortcuts.
    #[arg(short, long, value_name = "FILE", required_unless_present = "about")]
    pub config: Option<PathBuf>,
    /// Print the catalog of every readable table and view, then exit. A `--state` given too is
    /// ignored (Meltano passes its saved state to discovery as well).
    #[arg(short, long, conflicts_with = "catalog")]
    pub discover: bool,
    /// Catalog with the streams and columns to sync, as printed by --discover and then edited.
    #[arg(long, visible_alias = "properties", short = 'p', value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// State from an earlier run (its last STATE value) to resume from.
    #[arg(short, long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Read only shard K of N (0 ≤ K < N) of each FULL_TABLE stream (and LOG_BASED snapshot):
    /// one job of N run at once, each with its own state. Config `shard`.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["discover", "plan", "activate"])]
    pub shard: Option<ShardIndex>,
    /// The table version every shard of a run writes and `--activate` activates (e.g. the run's
    /// start in milliseconds since the epoch; larger than any earlier version). Config
    /// `shard_version`.
    #[arg(long, value_name = "V")]
    pub shard_version: Option<u64>,
    /// With --shard: read the shard's bounds from this file, what `--plan N` printed (the same N)
    /// once for every shard of the run, so that all use the same bounds while the table is
    /// written. Config `shard_plan`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["discover", "plan", "activate"])]
    pub shard_plan: Option<PathBuf>,
    /// Print the key ranges of N shards of each selected stream, with estimated rows, as JSON,
    /// then exit.
    #[arg(long, value_name = "N", conflicts_with_all = ["discover", "activate"],
          value_parser = clap::value_parser!(u32).range(1..))]
    pub plan: Option<u32>,
    /// After every shard succeeded: SCHEMA and ACTIVATE_VERSION of `--shard-version` for each
    /// selected stream, so the target sweeps older versions.
    #[arg(long, conflicts_with = "discover")]
    pub activate: bool,
    /// With --activate: the change-log position LOG_BASED streams follow from, no later than the
    /// start of any shard's snapshot (the `log_position` --plan printed before the shards ran):
    /// `FILE:OFFSET[@GTID]` or `@GTID` (MySQL, MariaDB), `16/B374D848` (PostgreSQL, which
    /// otherwise uses its slot's confirmed position).
    #[arg(long, value_name = "POSITION", requires = "activate")]
    pub log_position: Option<LogPosition>,
    #[command(flatten)]
    pub about: AboutArgs,
}

/// `--about [--format json|markdown]`, shared by taps and the target.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AboutArgs {
    /// Print name, version, capabilities and settings, then exit.
    #[arg(long)]
    pub about: bool,
    /// Output format of --about.
    #[arg(long, value_enum, default_value_t = AboutFormat::Markdown, requires = "about")]
    pub format: AboutFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AboutFormat {
    Json,
    Markdown,
}

/// What a tap was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapCommand {
    About(AboutFormat),
    Discover {
        config: PathBuf,
    },
    /// Without a catalog, the tap discovers and applies config `select` patterns.
    Sync {
        config: PathBuf,
        catalog: Option<PathBuf>,
        state: Option<PathBuf>,
        shard: Sharding,
    },
    /// `--plan N`: the shards' key ranges.
    Plan {
        config: PathBuf,
        catalog: Option<PathBuf>,
        shards: u32,
        version: Option<u64>,
    },
    /// `--activate`: the shards' shared version made the live one.
    Activate {
        config: PathBuf,
        catalog: Option<PathBuf>,
        state: Option<PathBuf>,
        version: Option<u64>,
        log_position: Option<LogPosition>,
    },
}

/// `--shard`, `--shard-version` and `--shard-plan` as given (config keys may fill in what is
/// absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sharding {
    pub shard: Option<ShardIndex>,
    pub version: Option<u64>,
    pub plan: Option<PathBuf>,
}

/// Arguments that parse but do not make a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("--config is required (except with --about)")]
    MissingConfig,
    #[error(
        "{what} needs --shard-version (or config `shard_version`): every shard of a run writes \
         the same table version, and the activation step activates it"
    )]
    MissingShardVersion { what: &'static str },
}

impl TapArgs {
    /// Parses the process's arguments under the program's own name and version.
    pub fn parse_for(name: &'static str, version: &'static str, about: &'static str) -> Self {
        let matches = Self::command()
            .name(name)
            .bin_name(name)
            .version(version)
            .about(about)
            .get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
    }

    pub fn into_command(self) -> Result<TapCommand, CliError> {
        if self.about.about {
            return Ok(TapCommand::About(self.about.format));
        }
        let config = self.config.ok_or(CliError::MissingConfig)?;
        Ok(if self.discover {
            TapCommand::Discover { config }
        } else if let Some(shards) = self.plan {
            TapCommand::Plan {
                config,
                catalog: self.catalog,
                shards,
                version: self.shard_version,
            }
        } else if self.activate {
            TapCommand::Activate {
                config,
                catalog: self.catalog,
                state: self.state,
                version: self.shard_version,
                log_position: self.log_position,
            }
        } else {
            TapCommand::Sync {
                config,
                catalog: self.catalog,
                state: self.state,
                shard: Sharding {
                    shard: self.shard,
                    version: self.shard_version,
                    plan: self.shard_plan,
                },
            }
        })
    }
}

/// The exit code for a failed program, after logging the failure's whole cause chain to stderr.
/// A closed stdout (the downstream program stopped) ends the program quietly and successfully:
/// the program downstream reports its own failure.
pub fn failure_exit_code(err: &(dyn Error + 'static)) -> ExitCode {
    if is_broken_pipe(err) {
        tracing::debug!("stdout closed by the reader; stopping");
        return ExitCode::SUCCESS;
    }
    let mut message = error_chain(err);
    // A dropped tunnel shows up as a lost connection; say where it was lost.
    if let Some(tunnel) = crate::transport::tunnel_failure()
        && !message.contains(&tunnel)
    {
        message.push_str(&format!(" ({tunnel})"));
    }
    tracing::error!("{message}");
    ExitCode::FAILURE
}

/// An error and its causes, as one line: `a: b: c`.
pub fn error_chain(err: &(dyn Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Whether an error was caused by writing to a closed pipe.
pub fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    crate::retry::any_cause(err, |cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// One config key, as `--about` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub name: &'static str,
    /// JSON Schema type: `string`, `integer`, `boolean`, `array`, `object`.
    pub kind: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub secret: bool,
    pub default: Option<Value>,
}

impl Setting {
    pub const fn new(name: &'static str, kind: &'static str, description: &'static str) -> Self {
        Self {
            name,
            kind,
            description,
            required: false,
            secret: false,
            default: None,
        }
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub fn default_value(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// What `--about` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub capabilities: Vec<&'static str>,
    pub settings: Vec<Setting>,
}

#[derive(Serialize)]
struct AboutJson<'a> {
    name: &'a str,
    description: &'a str,
    version: &'a str,
    capabilities: &'a [&'static str],
    settings: Value,
}

impl About {
    /// The settings as a JSON Schema, the shape Meltano SDK plugins print.
    pub fn settings_schema(&self) -> Value {
        let mut properties = Map::new();
        for setting in &self.settings {
            let mut property = json!({"type": [setting.kind], "description": setting.description});
            if setting.secret {
                property["secret"] = Value::Bool(true);
                property["writeOnly"] = Value::Bool(true);
            }
            if let Some(default) = &setting.default {
                property["default"] = default.clone();
            }
            properties.insert(setting.name.to_owned(), property);
        }
        let required: Vec<&str> = self
            .settings
            .iter()
            .filter(|s| s.required)
            .map(|s| s.name)
            .collect();
        json!({"type": "object", "properties": properties, "required": required})
    }

    /// Prints to stdout.
    pub fn print(&self, format: AboutFormat) -> io::Result<()> {
        let mut out = io::stdout().lock();
        self.write(format, &mut out)?;
        out.flush()
    }

    pub fn write(&self, format: AboutFormat, out: &mut impl Write) -> io::Result<()> {
        match format {
            AboutFormat::Json => {
                let about = AboutJson {
                    name: self.name,
                    description: self.description,
                    version: self.version,
                    capabilities: &self.capabilities,
                    settings: self.settings_schema(),
                };
                serde_json::to_writer_pretty(&mut *out, &about)?;
                writeln!(out)
            }
            AboutFormat::Markdown => self.write_markdown(out),
        }
    }

    fn write_markdown(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "# `{}`\n\n{}\n\nVersion {}.\n",
            self.name, self.description, self.version
        )?;
        writeln!(out, "## Capabilities\n")?;
        for capability in &self.capabilities {
            writeln!(out, "* `{capability}`")?;
        }
        writeln!(out, "\n## Settings\n")?;
        writeln!(out, "| Setting | Required | Default | Description |")?;
        writeln!(out, "|:--------|:--------:|:-------:|:------------|")?;
        for setting in &self.settings {
            let default = setting
                .default
                .as_ref()
                .map_or_else(|| "None".to_owned(), Value::to_string);
            let required = if setting.required { "True" } else { "False" };
            let secret = if setting.secret { " (secret)" } else { "" };
            writeln!(
                out,
                "| {} | {required} | {default} | {}{secret} |",
                setting.name, setting.description
            )?;
        }
        Ok(())
    }
}

/// Where a program's `--about` settings disagree with the config keys it reads (`known`, aliases
/// included, as [`struct_fields`](crate::config::struct_fields) gives them) or with the keys it
/// requires: a listed setting no config struct reads, a key that is neither listed nor named
/// (`` `key` ``) as an alias in a setting's description, or a different list of required keys.
/// Empty when `--about` tells the whole truth.
pub fn settings_mismatches(
    settings: &[Setting],
    known: &[&[&str]],
    required: &[&str],
) -> Vec<String> {
    let known: Vec<&str> = known.iter().flat_map(|keys| keys.iter().copied()).collect();
    let listed = |key: &str| {
        settings
            .iter()
            .any(|setting| setting.name == key || setting.description.contains(&format!("`{key}`")))
    };
    let mut mismatches: Vec<String> = settings
        .iter()
        .filter(|setting| !known.contains(&setting.name))
        .map(|setting| format!("`{}` is listed but no config reads it", setting.name))
        .collect();
    mismatches.extend(
        known
            .iter()
            .filter(|key| !listed(key))
            .map(|key| format!("`{key}` is read but not listed")),
    );
    let marked: Vec<&str> = settings
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name)
        .collect();
    if marked != required {
        mismatches.push(format!(
            "required keys are {required:?}, --about marks {marked:?}"
        ));
    }
    mismatches
}

/// Connection settings shared by every program; `dbname` is required by the PostgreSQL programs.
pub fn connection_settings(dbname_required: bool) -> Vec<Setting> {
    let dbname = Setting::new(
        "dbname",
        "string",
        "Database to connect to (alias `database`).",
    );
    vec![
        Setting::new("host", "string", "Database host name or address.").required(),
        Setting::new(
            "port",
            "integer",
            "Database port (the database's default when absent).",
        ),
        Setting::new("user", "string", "User to connect as (alias `username`).").required(),
        Setting::new("password", "string", "Password of the user.").secret(),
        if dbname_required {
            dbname.required()
        } else {
            dbname
        },
        Setting::new(
            "sslmode",
            "string",
            "disable, allow, prefer, require, verify-ca or verify-full, as libpq means them \
             (MySQL's DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY too; alias \
             `ssl_mode`).",
        )
        .default_value("prefer"),
        Setting::new("ssl", "boolean", "Require TLS (sslmode `require`).").default_value(false),
        Setting::new(
            "sslrootcert",
            "string",
            "CA bundle to verify the server with (e.g. the RDS bundle): PEM text or a file path \
             (aliases `ssl_ca`, `ssl_certificate_authority`). The system's CAs when absent.",
        ),
        Setting::new(
            "sslcert",
            "string",
            "Client certificate, PEM text or a file path (aliases `ssl_cert`, \
             `ssl_client_certificate`).",
        ),
        Setting::new(
            "sslkey",
            "string",
            "The client certificate's private key, PEM text or a file path (aliases `ssl_key`, \
             `ssl_client_private_key`).",
        )
        .secret(),
        Setting::new(
            "connect_timeout",
            "integer",
            "Seconds each connect, TLS and SSH step may take.",
        )
        .default_value(crate::config::DEFAULT_CONNECT_TIMEOUT_SECONDS),
        Setting::new(
            "ssh_tunnel",
            "object",
            "SSH tunnel through a bastion: host, port (22), username, private_key (text or path; \
             or private_key_path), private_key_password, known_hosts, host_key_fingerprint \
             (SHA256:…), enable.",
        ),
    ]
}

/// Connection plus the sync behaviour settings every tap has.
pub fn tap_settings(dbname_required: bool) -> Vec<Setting> {
    let mut settings = connection_settings(dbname_required);
    settings.extend([
        Setting::new(
            "default_replication_method",
            "string",
            "FULL_TABLE, INCREMENTAL or LOG_BASED, for selected streams whose catalog names none.",
        ),
        Setting::new(
            "batch_size_rows",
            "integer",
            "Rows fetched from the server per round trip.",
        )
        .default_value(10_000),
        Setting::new(
            "state_every_rows",
            "integer",
            "Emit STATE every this many rows.",
        )
        .default_value(10_000),
        Setting::new(
            "max_run_seconds",
            "integer",
            "A log-based run stops after this many seconds even if not caught up.",
        ),
        Setting::new(
            "max_retries",
            "integer",
            "Resumes of a stream from its last checkpoint, on a new session, after a transient \
             failure of the source (lost connection, restart); pauses of 1, 2, 4 … 30 s.",
        )
        .default_value(5),
        Setting::new(
            "select",
            "array",
            "Selection patterns such as `shop.orders`, `shop.customers.*`, `!shop.customers.ssn`.",
        ),
        Setting::new(
            "shard",
            "string",
            "`K/N`: read only shard K (from 0) of N key ranges of each FULL_TABLE stream (and \
             LOG_BASED snapshot); `--shard` wins.",
        ),
        Setting::new(
            "shard_version",
            "integer",
            "The table version every shard of a run writes and the activation step activates; \
             `--shard-version` wins.",
        ),
        Setting::new(
            "shard_plan",
            "string",
            "Path of the plan `--plan N` printed once for the run: every shard reads its key \
             range from it, so that all use the same bounds while the table is written; \
             `--shard-plan` wins.",
        ),
    ]);
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<TapCommand, String> {
        let matches = TapArgs::command()
            .try_get_matches_from(std::iter::once("tap-x").chain(args.iter().copied()))
            .map_err(|err| err.to_string())?;
        TapArgs::from_arg_matches(&matches)
            .map_err(|err| err.to_string())?
            .into_command()
            .map_err(|err| err.to_string())
    }

    #[test]
    fn singer_command_lines() {
        assert_eq!(
            parse(&["--config", "c.json", "--discover"]),
            Ok(TapCommand::Discover {
                config: "c.json".into()
            })
        );
        let sync = TapCommand::Sync {
            config: "c.json".into(),
            catalog: Some("cat.json".into()),
            state: Some("s.json".into()),
            shard: Sharding::default(),
        };
        assert_eq!(
            parse(&[
                "--config",
                "c.json",
                "--catalog",
                "cat.json",
                "--state",
                "s.json"
            ]),
            Ok(sync.clone())
        );
        assert_eq!(
            parse(&["-c", "c.json", "--properties", "cat.json", "-s", "s.json"]),
            Ok(sync)
        );
        assert_eq!(
            parse(&["--config", "c.json", "--discover", "--state", "s.json"]),
            Ok(TapCommand::Discover {
                config: "c.json".into()
            })
        );
        assert_eq!(
            parse(&["--config", "c.json"]),
            Ok(TapCommand::Sync {
                config: "c.json".into(),
                catalog: None,
                state: None,
                shard: Sharding::default(),
            })
        );
        assert_eq!(
            parse(&[
                "--config",
                "c.json",
                "--shard",
                "3/8",
                "--shard-version",
                "17",
                "--shard-plan",
                "plan.json"
            ]),
            Ok(TapCommand::Sync {
                config: "c.json".into(),
                catalog: None,
                state: None,
                shard: Sharding {
                    shard: Some(ShardIndex { index: 3, count: 8 }),
                    version: Some(17),
                    plan: Some("plan.json".into()),
                },
            })
        );
        assert_eq!(
            parse(&["--config", "c.json", "--plan", "8"]),
            Ok(TapCommand::Plan {
                config: "c.json".into(),
                catalog: None,
                shards: 8,
                version: None,
            })
        );
        assert_eq!(
            parse(&["--config", "c.json", "--activate", "--shard-version", "17"]),
            Ok(TapCommand::Activate {
                config: "c.json".into(),
                catalog: None,
                state: None,
                version: Some(17),
                log_position: None,
            })
        );
        assert_eq!(
            parse(&["--about"]),
            Ok(TapCommand::About(AboutFormat::Markdown))
        );
        assert_eq!(
            parse(&["--about", "--format", "json"]),
            Ok(TapCommand::About(AboutFormat::Json))
        );
    }

    #[test]
    fn bad_command_lines_are_refused() {
        // Missing --config is a usage error (exit code 2), as every other bad argument.
        assert!(
            parse(&["--discover"])
                .unwrap_err()
                .contains("--config <FILE>")
        );
        assert!(parse(&[]).unwrap_err().contains("--config <FILE>"));
        assert!(parse(&["--config", "c", "--discover", "--catalog", "x"]).is_err());
        assert!(parse(&["--format", "json"]).is_err());
        assert!(parse(&["--about", "--format", "yaml"]).is_err());
        let error = parse(&["--config", "c", "--shard", "8/8"]).unwrap_err();
        assert!(error.contains("K counts from 0"), "{error}");
        assert!(parse(&["--config", "c", "--plan", "0"]).is_err());
        assert!(parse(&["--config", "c", "--shard", "1/2", "--activate"]).is_err());
        assert!(parse(&["--config", "c", "--plan", "2", "--shard-plan", "p"]).is_err());
    }

    #[test]
    fn broken_pipe_is_found_anywhere_in_the_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("writing records")]
        struct Outer(#[source] io::Error);
        let pipe = Outer(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&pipe));
        assert_eq!(failure_exit_code(&pipe), ExitCode::SUCCESS);
        let other = Outer(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(!is_broken_pipe(&other));
        assert_eq!(failure_exit_code(&other), ExitCode::FAILURE);
    }

    #[test]
    fn about_prints_sdk_shaped_json_and_markdown() {
        let about = About {
            name: "tap-x",
            version: "1.2.3",
            description: "A tap.",
            capabilities: vec!["catalog", "discover"],
            settings: tap_settings(true),
        };
        let mut out = Vec::new();
        about.write(AboutFormat::Json, &mut out).unwrap();
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["name"], "tap-x");
        assert_eq!(json["version"], "1.2.3");
        assert_eq!(json["capabilities"], json!(["catalog", "discover"]));
        assert_eq!(json["settings"]["properties"]["password"]["secret"], true);
        assert_eq!(
            json["settings"]["properties"]["port"]["type"],
            json!(["integer"])
        );
        assert_eq!(
            json["settings"]["required"],
            json!(["host", "user", "dbname"])
        );
        assert_eq!(
            json["settings"]["properties"]["batch_size_rows"]["default"],
            10_000
        );

        let mut out = Vec::new();
        about.write(AboutFormat::Markdown, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("# `tap-x`\n"), "{text}");
        assert!(text.contains("* `discover`\n"));
        assert!(text.contains("| host | True | None | Database host name or address. |"));
        assert!(text.contains("| password | False | None | Password of the user. (secret) |"));
    }
}
