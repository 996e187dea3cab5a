//! Driving a tap in tests: its config for one test database written to a temporary directory,
//! then syncs (from a state or not), discovery, a run killed part way, or a pipe into the target.

use std::process::Command;

use common::Message;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::bin::{Pipeline, PipelineOutput, RunOutput, command, run, write_json};
use crate::singer::{records, run_until_killed, schema_message};
use crate::warehouse::TargetRun;
use crate::{MysqlDatabase, PgDatabase, merged};

/// A tap and its config file.
#[derive(Debug)]
pub struct TapRun {
    pub program: &'static str,
    /// Holds the config, and the state files of [`run`](Self::run).
    pub dir: TempDir,
    pub config: String,
}

impl TapRun {
    /// tap-postgres reading `db`, with the keys of `extra` (an object).
    pub fn postgres(db: &PgDatabase, extra: Value) -> Self {
        Self::with_config("tap-postgres", &db.connection_config(extra))
    }

    /// tap-mysql reading `db` alone (`filter_dbs`), with the keys of `extra` (which win).
    pub fn mysql(db: &MysqlDatabase, extra: Value) -> Self {
        let config = db.connection_config(merged(json!({"filter_dbs": [db.name]}), extra));
        Self::with_config("tap-mysql", &config)
    }

    /// `program` with `config` written as given.
    pub fn with_config(program: &'static str, config: &Value) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let config = write_json(dir.path(), "config.json", config);
        Self {
            program,
            dir,
            config,
        }
    }

    /// The tap with `--config` and then `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut tap = command(self.program);
        tap.args(["--config", &self.config]).args(args);
        tap
    }

    /// Runs the tap with `args` after its config; does not check the exit code.
    pub fn run_with(&self, args: &[&str]) -> RunOutput {
        run(self.command(args), &[], b"")
    }

    /// A sync, from `state` when there is one; panics with stderr when the tap fails.
    pub fn run(&self, state: Option<&Value>) -> RunOutput {
        let state = self.state_args(state);
        let output = self.run_with(&state.iter().map(String::as_str).collect::<Vec<_>>());
        output.assert_success();
        output
    }

    /// The catalog `--discover` prints; panics with stderr when discovery fails.
    pub fn discover(&self) -> Value {
        let output = self.run_with(&["--discover"]);
        output.assert_success();
        serde_json::from_slice(&output.stdout).expect("the catalog is JSON")
    }

    /// A sync killed (SIGKILL) once `stop_at` matches one of its messages; what it printed up to
    /// that message.
    pub fn run_until_killed(&self, stop_at: impl Fn(&Message) -> bool) -> Vec<Message> {
        run_until_killed(self.command(&[]), stop_at)
    }

    /// `tap | target-postgres`, from `state` when there is one; does not check the exit codes.
    pub fn run_into(&self, target: &TargetRun, state: Option<&Value>) -> PipelineOutput {
        Pipeline::of(self.sync_command(state), target.command()).run()
    }

    /// The tap syncing from `state` when there is one, to run as the caller likes.
    pub fn sync_command(&self, state: Option<&Value>) -> Command {
        let state = self.state_args(state);
        self.command(&state.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Syncs the table of [`one_column_table`]: `v` of each RECORD, and the schema of `v`.
    pub fn emitted_values(&self) -> (Vec<Value>, Value) {
        let messages = self.run(None).messages();
        let values = records(&messages).iter().map(|r| r["v"].clone()).collect();
        let schema = &schema_message(&messages, "t").schema["properties"]["v"];
        (values, schema.clone())
    }

    /// `--state <file>` with `state` written beside the config, or nothing.
    fn state_args(&self, state: Option<&Value>) -> Vec<String> {
        state
            .map(|state| {
                let path = write_json(self.dir.path(), "state.json", state);
                vec!["--state".to_owned(), path]
            })
            .unwrap_or_default()
    }
}

/// SQL, the same for PostgreSQL and MariaDB, that makes `t (id integer primary key, v
/// <column_type>)` anew, holding `literals` (SQL) in id order from 0.
pub fn one_column_table(column_type: &str, literals: &[&str]) -> String {
    let inserts: String = literals
        .iter()
        .enumerate()
        .map(|(id, literal)| format!("insert into t values ({id}, {literal});\n"))
        .collect();
    format!(
        "drop table if exists t; create table t (id integer primary key, v {column_type});\n{inserts}"
    )
}

/// Checks one emitted value per case, each written as its case's JSON text: `(literal, text)`.
pub fn assert_emitted(column_type: &str, cases: &[(&str, &str)], values: &[Value]) {
    assert_eq!(
        values.len(),
        cases.len(),
        "{column_type}: one record per row"
    );
    for ((literal, expected), value) in cases.iter().zip(values) {
        assert_eq!(value.to_string(), *expected, "{column_type} {literal}");
    }
}
