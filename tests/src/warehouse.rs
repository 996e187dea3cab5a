//! Driving `target-postgres` in tests: a config for a test database, Singer input written as
//! JSON values, and what arrived in the warehouse read back as text, value by value.

use std::io::Write;
use std::process::{Command, Stdio};

use postgres::{Client, SimpleQueryMessage};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::bin::{RunOutput, command, run, write_json};
use crate::{PgDatabase, merged};

/// The schema tests load into unless they say otherwise.
pub const SCHEMA: &str = "warehouse";

/// A target config loading into `db`, schema [`SCHEMA`], with the keys of `extra` (which win).
pub fn target_config(db: &PgDatabase, extra: Value) -> Value {
    db.connection_config(merged(json!({"default_target_schema": SCHEMA}), extra))
}

/// A target config for one test database.
#[derive(Debug)]
pub struct TargetRun {
    pub dir: TempDir,
    pub config: String,
}

impl TargetRun {
    /// A config loading into `db`: [`target_config`].
    pub fn new(db: &PgDatabase, extra: Value) -> Self {
        Self::with_config(target_config(db, extra))
    }

    /// A new database of this test binary's server, and a config loading into it.
    pub fn with_new_database(extra: Value) -> (PgDatabase, Self) {
        let db = PgDatabase::new();
        let target = Self::new(&db, extra);
        (db, target)
    }

    /// A config written as given.
    pub fn with_config(config: Value) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let config = write_json(dir.path(), "target.json", &config);
        Self { dir, config }
    }

    /// Runs the target over `messages` (one JSON value per line); does not check the exit code.
    pub fn load(&self, messages: &[Value]) -> RunOutput {
        self.load_text(&lines(messages))
    }

    /// Runs the target over `messages`; panics with its stderr unless it succeeds. Returns the
    /// state values it printed ([`emitted_states`]).
    pub fn load_states(&self, messages: &[Value]) -> Vec<Value> {
        let output = self.load(messages);
        output.assert_success();
        emitted_states(&output)
    }

    /// Runs the target over raw input text.
    pub fn load_text(&self, input: &str) -> RunOutput {
        run(self.command(), &[], input.as_bytes())
    }

    /// `runs` targets over the same `input` at the same moment, as an orchestrator starts jobs
    /// together; panics with a stderr unless every one succeeds.
    pub fn load_at_once(&self, input: &str, runs: usize) {
        let children: Vec<_> = (0..runs)
            .map(|_| {
                let mut child = self
                    .command()
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("cannot start target-postgres");
                let mut stdin = child.stdin.take().expect("stdin is piped");
                let input = input.to_owned();
                std::thread::spawn(move || stdin.write_all(input.as_bytes()));
                child
            })
            .collect();
        for child in children {
            let output = child
                .wait_with_output()
                .expect("cannot wait for the target");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// `target-postgres --config <config>`, to run as the caller likes.
    pub fn command(&self) -> Command {
        let mut target = command("target-postgres");
        target.args(["--config", &self.config]);
        target
    }
}

/// Singer messages as input text, one per line.
pub fn lines(messages: &[Value]) -> String {
    messages.iter().map(|m| format!("{m}\n")).collect()
}

/// `{"type": "SCHEMA", …}`.
pub fn schema(stream: &str, properties: Value, keys: &[&str]) -> Value {
    json!({"type": "SCHEMA", "stream": stream,
           "schema": {"type": "object", "properties": properties}, "key_properties": keys})
}

/// `{"type": "RECORD", …}`.
pub fn record(stream: &str, record: Value) -> Value {
    json!({"type": "RECORD", "stream": stream, "record": record})
}

/// `{"type": "STATE", …}`.
pub fn state(value: Value) -> Value {
    json!({"type": "STATE", "value": value})
}

/// Rows of a query, every value as PostgreSQL's text (`None` for NULL).
pub fn query_text(client: &mut Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Rows of a query as strings, NULL shown as `NULL`: compact to compare with expectations.
pub fn query_rows(client: &mut Client, sql: &str) -> Vec<Vec<String>> {
    query_text(client, sql)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

/// Column names and types of a warehouse table, in order.
pub fn columns(client: &mut Client, table: &str) -> Vec<(String, String)> {
    query_text(
        client,
        &format!(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a \
             where a.attrelid = '{SCHEMA}.\"{table}\"'::regclass and a.attnum > 0 \
             and not a.attisdropped order by a.attnum"
        ),
    )
    .into_iter()
    .map(|row| (row[0].clone().unwrap(), row[1].clone().unwrap()))
    .collect()
}

/// Checks that `column` is among `columns` (a table's, as [`columns`] lists them) with type
/// `sql_type`.
pub fn assert_column_type(columns: &[(String, String)], column: &str, sql_type: &str) {
    let found = columns.iter().find(|(name, _)| name == column);
    assert_eq!(
        found.map(|(_, t)| t.as_str()),
        Some(sql_type),
        "type of {column}; the table has {columns:?}"
    );
}

/// Column names of a warehouse table without the `_sdc_` system columns other than links.
pub fn data_columns(client: &mut Client, table: &str) -> Vec<String> {
    columns(client, table)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            !matches!(
                name.as_str(),
                "_sdc_extracted_at"
                    | "_sdc_received_at"
                    | "_sdc_batched_at"
                    | "_sdc_deleted_at"
                    | "_sdc_sequence"
                    | "_sdc_table_version"
            )
        })
        .collect()
}

/// Tables of the warehouse schema, sorted.
pub fn tables(client: &mut Client) -> Vec<String> {
    query_text(
        client,
        &format!(
            "select tablename from pg_tables where schemaname = '{SCHEMA}' order by tablename"
        ),
    )
    .into_iter()
    .map(|row| row[0].clone().unwrap())
    .collect()
}

/// The state values a target printed.
pub fn emitted_states(output: &RunOutput) -> Vec<Value> {
    output
        .stdout_text()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            // Singer targets print the state value alone, one per line.
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("target printed a non-JSON line {line:?}: {err}"));
            assert!(value.is_object(), "target printed {line}");
            assert!(
                value.get("type").is_none(),
                "a bare state value, not a message: {line}"
            );
            value
        })
        .collect()
}
