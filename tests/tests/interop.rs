//! Interoperability with the real Python Singer tools, installed from PyPI: Meltano running our
//! three programs as custom plugins, singer-io tap-mysql and MeltanoLabs tap-postgres loading
//! through our target, and our taps feeding singer-io target-jsonl.
//!
//! The tools live in one virtualenv each under `.local/python/` (or `INTEROP_PYTHON_DIR`, an
//! absolute path), installed by `just interop-deps` (`tests/interop/install.sh`, pins in
//! `tests/interop/requirements-*.txt`). A missing or outdated venv fails these tests with that
//! command: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};
use tempfile::TempDir;
use tests::bin::{Pipeline, RunOutput, binary_path, run, run_binary, write_json};
use tests::warehouse::{SCHEMA, assert_column_type, columns, emitted_states, query_rows, tables};
use tests::{Login, MysqlDatabase, PgDatabase, TapRun, TargetRun, merged};

// ---------------------------------------------------------------------------------------------
// The Python tools

/// The program `program` of the venv `venv` (`.local/python/<venv>/bin/<program>`); panics with
/// the command that installs it when it is missing or was installed from other requirements.
fn python_tool(venv: &str, program: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace");
    let venvs = std::env::var_os("INTEROP_PYTHON_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".local/python"));
    let venv_dir = venvs.join(venv);
    let path = venv_dir.join("bin").join(program);
    let install = "run `just interop-deps` (tests/interop/install.sh) to install the Python \
                   Singer tools the interoperability tests use";
    assert!(
        path.is_file(),
        "{program} (Python, venv {venv}) not found at {}: {install}",
        path.display()
    );
    let wanted = root.join(format!("tests/interop/requirements-{venv}.txt"));
    let installed = venv_dir.join("installed-requirements.txt");
    let wanted_text = std::fs::read(&wanted)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", wanted.display()));
    assert!(
        std::fs::read(&installed).ok() == Some(wanted_text),
        "the venv {} was not installed from {} as it is now: {install}",
        venv_dir.display(),
        wanted.display()
    );
    path
}

fn singer_io_tap_mysql() -> Command {
    Command::new(python_tool("tap-mysql", "tap-mysql"))
}

fn meltanolabs_tap_postgres() -> Command {
    Command::new(python_tool("meltanolabs-tap-postgres", "tap-postgres"))
}

fn target_jsonl() -> Command {
    Command::new(python_tool("target-jsonl", "target-jsonl"))
}

/// Runs a command without input; panics with its stderr when it fails.
fn run_ok(command: Command, args: &[&str]) -> RunOutput {
    let what = format!("{command:?} {args:?}");
    let output = run(command, args, b"");
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{}\n{}",
        output.status,
        output.stderr,
        output.stdout_text()
    );
    output
}

/// Selects every stream of a catalog with `method`, and every column, singer-io style
/// (`selected: true` in the metadata at every breadcrumb).
fn select_all(catalog: &mut Value, method: &str) {
    for stream in catalog["streams"].as_array_mut().expect("a catalog") {
        for entry in stream["metadata"].as_array_mut().expect("metadata") {
            let table_level = entry["breadcrumb"] == json!([]);
            let metadata = entry["metadata"].as_object_mut().expect("an object");
            metadata.insert("selected".into(), json!(true));
            if table_level {
                metadata.insert("replication-method".into(), json!(method));
            }
        }
    }
}

/// A STATE value as a target printed it: Singer targets print the bare value; a whole
/// `{"type":"STATE","value":…}` message is unwrapped.
fn state_value(line: &Value) -> &Value {
    if line["type"] == "STATE" {
        &line["value"]
    } else {
        line
    }
}

/// Warehouse rows as text, in the UTC session time zone.
fn warehouse_rows(warehouse: &PgDatabase, sql: &str) -> Vec<Vec<String>> {
    let mut client = warehouse.client();
    client.batch_execute("set timezone = 'UTC'").unwrap();
    query_rows(&mut client, sql)
}

/// Checks each column's type and values: `(column, type, expression read, values by id)`.
fn assert_columns(warehouse: &PgDatabase, table: &str, expected: &[(&str, &str, &str, &[&str])]) {
    let mut client = warehouse.client();
    let types = columns(&mut client, table);
    for (column, sql_type, read, values) in expected {
        assert_column_type(&types, column, sql_type);
        let arrived: Vec<String> = warehouse_rows(
            warehouse,
            &format!("select {read} from {SCHEMA}.\"{table}\" order by id"),
        )
        .into_iter()
        .map(|mut row| row.remove(0))
        .collect();
        assert_eq!(arrived, *values, "values of {table}.{column}");
    }
}

// ---------------------------------------------------------------------------------------------
// Meltano

/// A Meltano project in a temporary directory: `meltano.yml` and its system database (SQLite,
/// `.meltano/meltano.db`) holding the state between runs.
struct MeltanoProject {
    dir: TempDir,
    /// The Meltano environment the commands run in.
    environment: String,
    /// Environment variables for every command (settings, `PATH`).
    env: Vec<(String, String)>,
}

impl MeltanoProject {
    /// A project with the extractor `tap` and our target loading into `warehouse`, `meltano.yml`
    /// written as JSON (which YAML reads).
    fn new(tap: Value, warehouse: &PgDatabase) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let project = json!({
            "default_environment": "test",
            "environments": [{"name": "test"}],
            "send_anonymous_usage_stats": false,
            "project_id": "singer-rs-interop-test",
            "plugins": {"extractors": [tap], "loaders": [meltano_target(warehouse)]},
        });
        write_json(dir.path(), "meltano.yml", &project);
        Self {
            dir,
            environment: "test".into(),
            env: Vec::new(),
        }
    }

    /// The example project we ship, [`shipped_meltano_yml`], copied as it is, in its default
    /// environment `prod`; its programs found on the `PATH` as a user's are, the connections of
    /// `tap` (its config `tap_config`) and of target-postgres (loading into `warehouse`) given
    /// as environment variables, as a user gives them.
    fn shipped(tap: &str, tap_config: &Value, warehouse: &PgDatabase) -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        std::fs::copy(shipped_meltano_yml(), dir.path().join("meltano.yml"))
            .expect("cannot copy the shipped meltano.yml");
        let bin_dir = binary_path("target-postgres")
            .parent()
            .expect("a directory")
            .to_owned();
        let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .expect("a PATH");
        let mut env = meltano_env(tap, tap_config);
        env.extend(meltano_env(
            "target-postgres",
            &warehouse.connection_config(json!({})),
        ));
        env.push(("PATH".into(), path.to_string_lossy().into_owned()));
        Self {
            dir,
            environment: "prod".into(),
            env,
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(python_tool("meltano", "meltano"));
        command
            .current_dir(self.dir.path())
            .env("MELTANO_PROJECT_ROOT", self.dir.path())
            .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
            .env("MELTANO_DISABLE_TRACKING", "true")
            .env("MELTANO_ENVIRONMENT", &self.environment)
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(key, value)| (key, value)));
        command
    }

    /// `meltano run tap target`; panics with Meltano's log when it fails.
    fn run(&self, tap: &str, target: &str) -> RunOutput {
        run_ok(self.command(), &["run", tap, target])
    }

    /// The Singer state Meltano saved for `tap` → `target`.
    fn state(&self, tap: &str, target: &str) -> Value {
        let id = format!("{}:{tap}-to-{target}", self.environment);
        let output = run_ok(self.command(), &["state", "get", &id]);
        let saved: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!("meltano state get {id}: {err}\n{}", output.stdout_text())
        });
        saved["singer_state"].clone()
    }

    /// Checks the replication key value Meltano saved for `stream` of `tap` → `target`.
    fn assert_saved_key_value(&self, tap: &str, target: &str, stream: &str, expected: &str) {
        let state = self.state(tap, target);
        assert_eq!(
            bookmark(&state, stream)["replication_key_value"],
            expected,
            "{state}"
        );
    }
}

/// Meltano setting definitions for the keys of a config object.
fn settings_for(config: &Value) -> Value {
    let settings: Vec<Value> = config
        .as_object()
        .expect("a config object")
        .iter()
        .map(|(name, value)| {
            let kind = match (name.as_str(), value) {
                ("password", _) => "password",
                (_, Value::Number(_)) => "integer",
                (_, Value::Bool(_)) => "boolean",
                (_, Value::Array(_)) => "array",
                (_, Value::Object(_)) => "object",
                _ => "string",
            };
            json!({"name": name, "kind": kind})
        })
        .collect();
    Value::Array(settings)
}

/// A custom extractor: `executable` run as it is (no `pip_url`, nothing for Meltano to install).
fn meltano_extractor(name: &str, executable: &Path, config: Value, extra: Value) -> Value {
    let mut plugin = json!({
        "name": name,
        "namespace": format!("interop_{}", name.replace('-', "_")),
        "executable": executable,
        "capabilities": ["catalog", "discover", "state", "about"],
        "settings": settings_for(&config),
        "config": config,
    });
    if let (Some(plugin), Value::Object(extra)) = (plugin.as_object_mut(), extra) {
        plugin.extend(extra);
    }
    plugin
}

/// Our target-postgres as a custom loader, loading into `warehouse`.
fn meltano_target(warehouse: &PgDatabase) -> Value {
    let config = warehouse.connection_config(json!({"default_target_schema": SCHEMA}));
    json!({
        "name": "target-postgres",
        "namespace": "interop_target_postgres",
        "executable": binary_path("target-postgres"),
        "settings": settings_for(&config),
        "config": config,
    })
}

/// The bookmark of `stream` in a Singer state (a bare value, or a whole STATE message).
fn bookmark<'a>(state: &'a Value, stream: &str) -> &'a Value {
    let bookmark = &state_value(state)["bookmarks"][stream];
    assert!(bookmark.is_object(), "no bookmark for {stream} in {state}");
    bookmark
}

const ORDERS_COLUMNS: &str = "id, amount::text, note, updated_at::text";

/// The two orders the incremental Meltano tests start from. Every time is followed by `{at}`:
/// the zone a source needs and the warehouse shows (`+00`), or nothing.
const ORDERS: &str = "insert into orders values (1, 10.50, 'one', '2026-01-01 10:00:00{at}'),
                                                (2, -3.25, 'two', '2026-01-02 10:00:00.5{at}');";

/// A new order, a changed one, and a change that leaves the replication key alone, which an
/// incremental run does not see.
const ORDERS_CHANGES: &str = "
    insert into orders values (3, 99.99, 'three', '2026-01-03 10:00:00{at}');
    update orders set note = 'two, changed', amount = -4.00,
                      updated_at = '2026-01-04 10:00:00{at}' where id = 2;
    update orders set note = 'unseen' where id = 1;";

/// Checks the warehouse's orders after the first Meltano run of [`ORDERS`], or after the
/// second, incremental, run (`second`, whose log a failure shows) of [`ORDERS_CHANGES`].
fn assert_orders_loaded(warehouse: &PgDatabase, at: &str, second: Option<&RunOutput>) {
    let rows = warehouse_rows(
        warehouse,
        &format!("select {ORDERS_COLUMNS} from {SCHEMA}.orders order by id"),
    );
    let row = |values: [&str; 4]| values.map(|v| v.replace("{at}", at)).to_vec();
    let Some(second) = second else {
        assert_eq!(
            rows,
            [
                row(["1", "10.50", "one", "2026-01-01 10:00:00{at}"]),
                row(["2", "-3.25", "two", "2026-01-02 10:00:00.5{at}"]),
            ]
        );
        return;
    };
    assert_eq!(
        rows,
        [
            row(["1", "10.50", "one", "2026-01-01 10:00:00{at}"]),
            row(["2", "-4.00", "two, changed", "2026-01-04 10:00:00{at}"]),
            row(["3", "99.99", "three", "2026-01-03 10:00:00{at}"]),
        ],
        "the second run is not incremental from Meltano's state; its log:\n{}",
        second.stderr
    );
}

#[test]
fn meltano_runs_tap_mysql_into_target_postgres_incrementally() {
    let source = MysqlDatabase::with_sql(&format!(
        "create table orders (id int primary key, amount decimal(10,2), note varchar(50), \
         updated_at datetime(6) not null, key (updated_at)); {}",
        ORDERS.replace("{at}", "")
    ));
    let warehouse = PgDatabase::new();
    let stream = format!("{}-orders", source.name);
    // Selection and method the Meltano way: the `select` and `metadata` extras, which Meltano
    // writes into the catalog it hands the tap.
    let tap = meltano_extractor(
        "tap-mysql",
        &binary_path("tap-mysql"),
        source.connection_config(json!({"filter_dbs": source.name})),
        json!({
            "select": [format!("{stream}.*")],
            "metadata": {stream.clone(): {"replication-method": "INCREMENTAL",
                                          "replication-key": "updated_at"}},
        }),
    );
    let project = MeltanoProject::new(tap, &warehouse);

    project.run("tap-mysql", "target-postgres");
    assert_orders_loaded(&warehouse, "", None);
    let mut client = warehouse.client();
    let types = columns(&mut client, "orders");
    assert!(
        types.contains(&("amount".into(), "numeric(10,2)".into()))
            && types.contains(&("updated_at".into(), "timestamp without time zone".into())),
        "{types:?}"
    );
    project.assert_saved_key_value(
        "tap-mysql",
        "target-postgres",
        &stream,
        "2026-01-02T10:00:00.500000Z",
    );

    source.execute(&ORDERS_CHANGES.replace("{at}", ""));
    let second = project.run("tap-mysql", "target-postgres");
    assert_orders_loaded(&warehouse, "", Some(&second));
    project.assert_saved_key_value(
        "tap-mysql",
        "target-postgres",
        &stream,
        "2026-01-04T10:00:00.000000Z",
    );
}

#[test]
fn meltano_runs_tap_postgres_into_target_postgres_incrementally() {
    let source = PgDatabase::with_sql(&format!(
        "create table orders (id integer primary key, amount numeric(10,2), note text,
                              updated_at timestamptz not null);
         create index on orders (updated_at); {}",
        ORDERS.replace("{at}", "+00")
    ));
    let warehouse = PgDatabase::new();
    // Selection and method through the tap's own config `select`; Meltano's default selection
    // (`*.*`) marks the stream selected in the catalog, which names no method.
    let tap = meltano_extractor(
        "tap-postgres",
        &binary_path("tap-postgres"),
        source.connection_config(json!({
            "filter_schemas": ["public"],
            "select": [{"table": "public.orders", "replication_method": "INCREMENTAL",
                        "replication_key": "updated_at"}],
        })),
        json!({}),
    );
    let project = MeltanoProject::new(tap, &warehouse);

    project.run("tap-postgres", "target-postgres");
    assert_orders_loaded(&warehouse, "+00", None);
    project.assert_saved_key_value(
        "tap-postgres",
        "target-postgres",
        "public-orders",
        "2026-01-02T10:00:00.500000Z",
    );

    source.execute(&ORDERS_CHANGES.replace("{at}", "+00"));
    let second = project.run("tap-postgres", "target-postgres");
    assert_orders_loaded(&warehouse, "+00", Some(&second));
}

/// A Meltano SDK tap under Meltano feeds our target, and its next run starts from the state our
/// target printed, which Meltano saves as it is and hands back to the tap as `--state`.
#[test]
fn meltano_runs_meltanolabs_tap_postgres_into_our_target_incrementally() {
    let source = PgDatabase::with_sql(
        "create table orders (id integer primary key, amount numeric(10,2), note text,
                              updated_at timestamptz not null);
         insert into orders values (1, 10.50, 'one', '2026-01-01 10:00:00+00'),
                                   (2, -3.25, 'two', '2026-01-02 10:00:00+00');",
    );
    let warehouse = PgDatabase::new();
    let tap = meltano_extractor(
        "tap-postgres-sdk",
        &python_tool("meltanolabs-tap-postgres", "tap-postgres"),
        meltanolabs_config(&source),
        json!({
            "select": ["public-orders.*"],
            "metadata": {"public-orders": {"replication-method": "INCREMENTAL",
                                           "replication-key": "updated_at"}},
        }),
    );
    let project = MeltanoProject::new(tap, &warehouse);
    project.run("tap-postgres-sdk", "target-postgres");
    let query = format!("select {ORDERS_COLUMNS} from {SCHEMA}.public_orders order by id");
    assert_eq!(
        warehouse_rows(&warehouse, &query),
        [
            ["1", "10.50", "one", "2026-01-01 10:00:00+00"],
            ["2", "-3.25", "two", "2026-01-02 10:00:00+00"],
        ]
    );

    source.execute(
        "insert into orders values (3, 99.99, 'three', '2026-01-03 10:00:00+00');
         update orders set note = 'unseen' where id = 1;",
    );
    let second = project.run("tap-postgres-sdk", "target-postgres");
    let state = project.state("tap-postgres-sdk", "target-postgres");
    assert_eq!(
        warehouse_rows(&warehouse, &query),
        [
            ["1", "10.50", "one", "2026-01-01 10:00:00+00"],
            ["2", "-3.25", "two", "2026-01-02 10:00:00+00"],
            ["3", "99.99", "three", "2026-01-03 10:00:00+00"],
        ],
        "the second run re-read the whole table: the SDK tap found no bookmarks in the state \
         Meltano saved from our target's stdout, {state}; Singer targets print the bare state \
         value ({{\"bookmarks\": …}}), which Meltano hands to the tap as its state file. Its log:\n{}",
        second.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// The shipped meltano.yml

/// tests/interop/meltano.yml: the complete example project the README points to.
fn shipped_meltano_yml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/meltano.yml")
}

/// The shipped meltano.yml as JSON, read by the YAML parser of Meltano's venv.
fn shipped_meltano_project() -> Value {
    let path = shipped_meltano_yml();
    let output = run_ok(
        Command::new(python_tool("meltano", "python")),
        &[
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
            path.to_str().expect("a UTF-8 path"),
        ],
    );
    serde_json::from_slice(&output.stdout).expect("the YAML as JSON")
}

/// The connection keys of `config` as the environment variables Meltano reads for `plugin`'s
/// settings: `host` of `tap-postgres` is `TAP_POSTGRES_HOST`.
fn meltano_env(plugin: &str, config: &Value) -> Vec<(String, String)> {
    let prefix = plugin.to_uppercase().replace('-', "_");
    config
        .as_object()
        .expect("a config object")
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (format!("{prefix}_{}", key.to_uppercase()), value)
        })
        .collect()
}

/// The tables of a warehouse schema, sorted.
fn schema_tables(warehouse: &PgDatabase, schema: &str) -> Vec<String> {
    warehouse_rows(
        warehouse,
        &format!(
            "select table_name from information_schema.tables where table_schema = '{schema}' \
             order by table_name"
        ),
    )
    .into_iter()
    .map(|mut row| row.remove(0))
    .collect()
}

/// The columns of a warehouse table other than the `_sdc_` ones, in order.
fn source_columns(warehouse: &PgDatabase, schema: &str, table: &str) -> Vec<String> {
    warehouse_rows(
        warehouse,
        &format!(
            "select column_name from information_schema.columns where table_schema = '{schema}' \
             and table_name = '{table}' and column_name not like '\\_sdc\\_%' \
             order by ordinal_position"
        ),
    )
    .into_iter()
    .map(|mut row| row.remove(0))
    .collect()
}

/// The source tables of the shipped meltano.yml's example: `customers` (whose email its `select`
/// leaves out), `orders` (INCREMENTAL on updated_at) and `audit_log` (not selected).
const SHIPPED_EXAMPLE_TABLES: &str = "
    create table customers (id integer primary key, name varchar(40), email varchar(80));
    create table orders (id integer primary key, customer_id integer, amount numeric(10,2),
                         note varchar(40), updated_at {timestamp} not null);
    create table audit_log (id integer primary key, what varchar(40));
    insert into customers values (1, 'Ada', 'ada@example.com'), (2, 'Grace ü', null);
    insert into orders values (1, 1, 10.50, 'one', '2026-01-01 10:00:00'),
                              (2, 2, -3.25, null, '2026-01-02 10:00:00.5');
    insert into audit_log values (1, 'not selected');";

/// New rows and changes after the first run: an incremental run sees the new order and the
/// changed one, not the change that leaves updated_at alone; a full-table run sees all.
const SHIPPED_EXAMPLE_CHANGES: &str = "
    insert into orders values (3, 1, 99.99, 'three', '2026-01-03 10:00:00');
    update orders set note = 'two, changed', amount = -4.00, updated_at = '2026-01-04 10:00:00'
        where id = 2;
    update orders set note = 'unseen' where id = 1;
    insert into customers values (3, 'Alan', 'alan@example.com');";

/// Checks what the shipped example loaded into `schema` after its first run (`second` false) or
/// its second; `at` is how the warehouse prints a source `updated_at` given without zone.
fn assert_shipped_example_loaded(warehouse: &PgDatabase, schema: &str, second: bool, at: &str) {
    assert_eq!(schema_tables(warehouse, schema), ["customers", "orders"]);
    assert_eq!(
        source_columns(warehouse, schema, "customers"),
        ["id", "name"],
        "the select `!…-customers.email` left email out"
    );
    assert_eq!(
        source_columns(warehouse, schema, "orders"),
        ["id", "customer_id", "amount", "note", "updated_at"]
    );
    let customers = warehouse_rows(
        warehouse,
        &format!(
            "select id, name from {schema}.customers where _sdc_deleted_at is null order by id"
        ),
    );
    let orders = warehouse_rows(
        warehouse,
        &format!(
            "select id, customer_id, amount::text, note, updated_at::text from {schema}.orders \
             order by id"
        ),
    );
    let row = |values: &[&str]| values.iter().map(|v| v.replace("{at}", at)).collect();
    if !second {
        assert_eq!(customers, [["1", "Ada"], ["2", "Grace ü"]]);
        assert_eq!(
            orders,
            [
                row(&["1", "1", "10.50", "one", "2026-01-01 10:00:00{at}"]),
                row(&["2", "2", "-3.25", "NULL", "2026-01-02 10:00:00.5{at}"]),
            ] as [Vec<String>; 2]
        );
    } else {
        assert_eq!(customers, [["1", "Ada"], ["2", "Grace ü"], ["3", "Alan"]]);
        assert_eq!(
            orders,
            [
                row(&["1", "1", "10.50", "one", "2026-01-01 10:00:00{at}"]),
                row(&["2", "2", "-4.00", "two, changed", "2026-01-04 10:00:00{at}"]),
                row(&["3", "1", "99.99", "three", "2026-01-03 10:00:00{at}"]),
            ] as [Vec<String>; 3],
            "the second run is not incremental from Meltano's state"
        );
    }
}

/// tests/interop/meltano.yml as it is: `meltano run tap-postgres target-postgres`, then the job
/// `postgres-to-warehouse` resuming from the state Meltano kept; its schedules are readable.
#[test]
fn shipped_meltano_yml_runs_tap_postgres_into_target_postgres() {
    let source =
        PgDatabase::with_sql(&SHIPPED_EXAMPLE_TABLES.replace("{timestamp}", "timestamptz"));
    let warehouse = PgDatabase::new();
    let project = MeltanoProject::shipped(
        "tap-postgres",
        &source.connection_config(json!({})),
        &warehouse,
    );
    let saved = |expected: &str| {
        project.assert_saved_key_value(
            "tap-postgres",
            "target-postgres",
            "public-orders",
            expected,
        );
    };

    project.run("tap-postgres", "target-postgres");
    assert_shipped_example_loaded(&warehouse, "from_postgres", false, "+00");
    saved("2026-01-02T10:00:00.500000Z");

    source.execute(&SHIPPED_EXAMPLE_CHANGES.replace("10:00:00'", "10:00:00+00'"));
    run_ok(project.command(), &["run", "postgres-to-warehouse"]);
    assert_shipped_example_loaded(&warehouse, "from_postgres", true, "+00");
    saved("2026-01-04T10:00:00.000000Z");

    let schedules = run_ok(project.command(), &["schedule", "list", "--format", "json"]);
    let schedules: Value = serde_json::from_slice(&schedules.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", schedules.stdout_text()));
    let text = schedules.to_string();
    for name in [
        "postgres-to-warehouse-every-30-minutes",
        "mysql-to-warehouse-hourly",
    ] {
        assert!(text.contains(name), "schedule {name} missing: {text}");
    }
}

/// The shipped meltano.yml's tap-mysql, the database chosen by `TAP_MYSQL_FILTER_DBS`.
#[test]
fn shipped_meltano_yml_runs_tap_mysql_into_target_postgres() {
    let source =
        MysqlDatabase::with_sql(&SHIPPED_EXAMPLE_TABLES.replace("{timestamp}", "datetime(6)"));
    let warehouse = PgDatabase::new();
    let project = MeltanoProject::shipped(
        "tap-mysql",
        &source.connection_config(json!({"filter_dbs": [source.name]})),
        &warehouse,
    );

    project.run("tap-mysql", "target-postgres");
    assert_shipped_example_loaded(&warehouse, "from_mysql", false, "");
    source.execute(SHIPPED_EXAMPLE_CHANGES);
    run_ok(project.command(), &["run", "mysql-to-warehouse"]);
    assert_shipped_example_loaded(&warehouse, "from_mysql", true, "");
    project.assert_saved_key_value(
        "tap-mysql",
        "target-postgres",
        &format!("{}-orders", source.name),
        "2026-01-04T10:00:00.000000Z",
    );
}

/// The plugin definitions of the shipped meltano.yml are what each program's `--about` says:
/// the same capabilities, every setting with the kind of its type, secrets `sensitive`.
#[test]
fn shipped_meltano_yml_declares_what_about_lists() {
    let project = shipped_meltano_project();
    let plugins = &project["plugins"];
    for (kind, program) in [
        ("extractors", "tap-postgres"),
        ("extractors", "tap-mysql"),
        ("loaders", "target-postgres"),
    ] {
        let plugin = plugins[kind]
            .as_array()
            .and_then(|list| list.iter().find(|p| p["name"] == program))
            .unwrap_or_else(|| panic!("no {program} among the {kind}: {plugins}"));
        let about = our_about(program);
        assert_eq!(plugin["executable"], program, "found on the PATH");
        assert!(plugin["namespace"].is_string(), "{program}: no namespace");
        assert_eq!(
            plugin["capabilities"], about["capabilities"],
            "{program}: capabilities"
        );
        let properties = about["settings"]["properties"]
            .as_object()
            .expect("properties");
        let settings = plugin["settings"].as_array().expect("settings");
        let declared: Vec<&str> = settings
            .iter()
            .map(|s| s["name"].as_str().expect("a setting name"))
            .collect();
        assert_eq!(
            declared,
            properties.keys().map(String::as_str).collect::<Vec<_>>(),
            "{program}: settings"
        );
        for setting in settings {
            let name = setting["name"].as_str().unwrap();
            let property = &properties[name];
            let types: Vec<&str> = match &property["type"] {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                other => panic!("{program} setting {name}: type {other}"),
            };
            let kind = if name == "password" {
                "password"
            } else {
                types
                    .iter()
                    .copied()
                    .find(|t| *t != "null")
                    .expect("a type")
            };
            assert_eq!(setting["kind"], kind, "{program} setting {name}");
            let sensitive = property["secret"] == true || name == "ssh_tunnel";
            assert_eq!(
                setting["sensitive"] == true,
                sensitive,
                "{program} setting {name}: sensitive"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// singer-io tap-mysql | target-postgres

/// A Python tap's config: the login keys they share (`host`, `port`, `user`, `password`) and
/// those of `extra`.
fn python_tap_config(login: &Login, extra: Value) -> Value {
    let keys = json!({"host": login.host, "port": login.port, "user": login.user,
                      "password": login.password.clone().unwrap_or_default()});
    merged(keys, extra)
}

/// Discovery with the Python tap, every stream selected with `FULL_TABLE`, then the tap piped
/// into our target.
fn singer_io_tap_mysql_into_target(source: &MysqlDatabase, warehouse: &PgDatabase) -> RunOutput {
    let config = python_tap_config(&source.server.login, json!({"filter_dbs": source.name}));
    python_tap_into_target(singer_io_tap_mysql, &config, warehouse)
}

/// Discovery with a Python tap, every stream selected with `FULL_TABLE`, then the tap piped into
/// our target.
fn python_tap_into_target(
    tap: fn() -> Command,
    config: &Value,
    warehouse: &PgDatabase,
) -> RunOutput {
    let dir = TempDir::new().unwrap();
    let config = write_json(dir.path(), "tap.json", config);
    let discovered = run_ok(tap(), &["--config", &config, "--discover"]);
    let mut catalog: Value = serde_json::from_slice(&discovered.stdout).expect("a catalog");
    select_all(&mut catalog, "FULL_TABLE");
    let catalog = write_json(dir.path(), "catalog.json", &catalog);
    let mut tap = tap();
    tap.args(["--config", &config, "--catalog", &catalog]);
    let target = TargetRun::new(warehouse, json!({}));
    let output = Pipeline::of(tap, target.command()).run();
    output.assert_success();
    output.target
}

#[test]
fn singer_io_tap_mysql_loads_through_our_target() {
    let source = MysqlDatabase::with_sql(
        r#"create table kinds (
                 id int primary key, tiny tinyint, flag tinyint(1), ubig bigint unsigned,
                 exact decimal(12,2), dbl double, label varchar(20), body text, born date,
                 seen datetime(6), stamp timestamp(6) null, doc json,
                 colour enum('red','green'), bin varbinary(8)
               );
               insert into kinds values
                 (1, -128, 1, 18446744073709551615, 1234567890.12, 0.1, 'tab	x',
                  'naïve ☃ "q" \\ b', '2026-02-28', '2026-11-21 10:00:00.123456',
                  '2026-11-21 10:00:00.5', '{"a": [1, 2.5, null]}', 'green', x'00ff'),
                 (2, 127, 0, 0, 0.07, -1.5e300, '', '', '1000-01-01', '1970-01-01 00:00:00',
                  '1999-12-31 23:59:59', '[]', 'red', x''),
                 (3, null, null, null, null, null, null, null, null, null, null, null, null,
                  null)"#,
    );
    let warehouse = PgDatabase::new();
    let output = singer_io_tap_mysql_into_target(&source, &warehouse);

    // singer-io's SCHEMA has no source types: JSON Schema types only, dates as date-time, JSON as
    // text, and no varbinary (it calls the column unsupported and leaves it out).
    assert_columns(
        &warehouse,
        "kinds",
        &[
            ("id", "bigint", "id::text", &["1", "2", "3"]),
            ("tiny", "bigint", "tiny::text", &["-128", "127", "NULL"]),
            ("flag", "boolean", "flag::text", &["true", "false", "NULL"]),
            (
                "ubig",
                "numeric(20,0)",
                "ubig::text",
                &["18446744073709551615", "0", "NULL"],
            ),
            (
                "exact",
                "numeric",
                "exact::text",
                &["1234567890.12", "0.07", "NULL"],
            ),
            (
                "dbl",
                "numeric",
                "dbl::float8::text",
                &["0.1", "-1.5e+300", "NULL"],
            ),
            ("label", "text", "label", &["tab\tx", "", "NULL"]),
            ("body", "text", "body", &["naïve ☃ \"q\" \\ b", "", "NULL"]),
            (
                "born",
                "timestamp with time zone",
                "born::text",
                &["2026-02-28 00:00:00+00", "1000-01-01 00:00:00+00", "NULL"],
            ),
            (
                "seen",
                "timestamp with time zone",
                "seen::text",
                &[
                    "2026-11-21 10:00:00.123456+00",
                    "1970-01-01 00:00:00+00",
                    "NULL",
                ],
            ),
            (
                "stamp",
                "timestamp with time zone",
                "stamp::text",
                &["2026-11-21 10:00:00.5+00", "1999-12-31 23:59:59+00", "NULL"],
            ),
            (
                "doc",
                "text",
                "doc",
                &[r#"{"a": [1, 2.5, null]}"#, "[]", "NULL"],
            ),
            ("colour", "text", "colour", &["green", "red", "NULL"]),
        ],
    );
    let mut client = warehouse.client();
    assert!(
        !columns(&mut client, "kinds")
            .iter()
            .any(|(name, _)| name == "bin"),
        "an unsupported column got a warehouse column"
    );
    // ACTIVATE_VERSION came through: every row carries the version, none is deleted.
    assert_eq!(
        warehouse_rows(
            &warehouse,
            &format!(
                "select count(*), count(distinct _sdc_table_version), count(_sdc_deleted_at) \
                 from {SCHEMA}.kinds"
            )
        ),
        [["3", "1", "0"]]
    );
    let states = emitted_states(&output);
    let last = states.last().expect("the target printed no STATE");
    assert_eq!(last["currently_syncing"], Value::Null, "{last}");
    assert_eq!(
        bookmark(last, &format!("{}-kinds", source.name))["initial_full_table_complete"],
        true,
        "{last}"
    );
}

/// singer-io tap-mysql gives every `decimal(p,s)` property `multipleOf: 10^-s`; negative values
/// and values a float cannot divide exactly are still multiples.
#[test]
fn singer_io_tap_mysql_decimals_load_whatever_their_sign() {
    let source = MysqlDatabase::with_sql(
        "create table prices (id int primary key, amount decimal(12,2));
             insert into prices values (1, -0.01), (2, -5.00), (3, 1070468.14), (4, 19.99);",
    );
    let warehouse = PgDatabase::new();
    singer_io_tap_mysql_into_target(&source, &warehouse);
    assert_eq!(
        warehouse_rows(
            &warehouse,
            &format!("select id, amount::text from {SCHEMA}.prices order by id")
        ),
        [
            ["1", "-0.01"],
            ["2", "-5.00"],
            ["3", "1070468.14"],
            ["4", "19.99"]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// MeltanoLabs tap-postgres | target-postgres

fn meltanolabs_config(source: &PgDatabase) -> Value {
    python_tap_config(
        &source.server.login,
        json!({"database": source.name, "filter_schemas": ["public"]}),
    )
}

/// Discovery with the SDK tap, every stream selected with `FULL_TABLE`, then the tap piped into
/// our target.
fn meltanolabs_tap_postgres_into_target(source: &PgDatabase, warehouse: &PgDatabase) -> RunOutput {
    python_tap_into_target(
        meltanolabs_tap_postgres,
        &meltanolabs_config(source),
        warehouse,
    )
}

#[test]
fn meltanolabs_tap_postgres_loads_through_our_target() {
    let source = PgDatabase::with_sql(
        r#"create table kinds (
                 id integer primary key, small smallint, big bigint, exact numeric(12,2),
                 wide numeric, dbl double precision, flag boolean, label text, code varchar(10),
                 uid uuid, born date, alarm time, seen timestamp, seen_tz timestamptz,
                 blob bytea, ints integer[], words text[], addr inet
               );
               insert into kinds values
                 (1, -32768, -9223372036854775808, 1234567890.12,
                  123456789012345678901234567890.123456789, 0.1, true, 'tab	and "quote" ü',
                  'short', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-02-28',
                  '23:59:59.999999', '2026-11-21 10:00:00.123456', '2026-11-21 10:00:00+02',
                  '\xdeadbeef00', '{1,2,3}', '{"a b","c,d"}', '192.168.0.1/24'),
                 (2, 32767, 9223372036854775807, -0.01, 0, -1.5e300, false, '', 'ten chars!',
                  '00000000-0000-0000-0000-000000000000', '1900-01-01', '00:00:00',
                  '1970-01-01 00:00:00', '1999-12-31 23:59:59.5-08', '\x', '{}', '{}', '::1'),
                 (3, null, null, null, null, null, null, null, null, null, null, null, null,
                  null, null, null, null, null)"#,
    );
    let warehouse = PgDatabase::new();
    let output = meltanolabs_tap_postgres_into_target(&source, &warehouse);

    // The SDK names the stream `public-kinds`; its SCHEMA has JSON Schema types and formats only
    // (no source types), timestamps with `+00:00`, bytea as hex text.
    let mut client = warehouse.client();
    assert_eq!(
        tables(&mut client),
        ["public_kinds", "public_kinds__ints", "public_kinds__words"]
    );
    assert_columns(
        &warehouse,
        "public_kinds",
        &[
            ("id", "bigint", "id::text", &["1", "2", "3"]),
            (
                "small",
                "bigint",
                "small::text",
                &["-32768", "32767", "NULL"],
            ),
            (
                "big",
                "bigint",
                "big::text",
                &["-9223372036854775808", "9223372036854775807", "NULL"],
            ),
            (
                "exact",
                "numeric",
                "exact::text",
                &["1234567890.12", "-0.01", "NULL"],
            ),
            (
                "wide",
                "numeric",
                "wide::text",
                &["123456789012345678901234567890.123456789", "0", "NULL"],
            ),
            (
                "dbl",
                "numeric",
                "dbl::float8::text",
                &["0.1", "-1.5e+300", "NULL"],
            ),
            ("flag", "boolean", "flag::text", &["true", "false", "NULL"]),
            (
                "label",
                "text",
                "label",
                &["tab\tand \"quote\" ü", "", "NULL"],
            ),
            ("code", "text", "code", &["short", "ten chars!", "NULL"]),
            (
                "uid",
                "text",
                "uid",
                &[
                    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                    "00000000-0000-0000-0000-000000000000",
                    "NULL",
                ],
            ),
            (
                "born",
                "date",
                "born::text",
                &["2026-02-28", "1900-01-01", "NULL"],
            ),
            (
                "alarm",
                "time without time zone",
                "alarm::text",
                &["23:59:59.999999", "00:00:00", "NULL"],
            ),
            (
                "seen",
                "timestamp with time zone",
                "seen::text",
                &[
                    "2026-11-21 10:00:00.123456+00",
                    "1970-01-01 00:00:00+00",
                    "NULL",
                ],
            ),
            (
                "seen_tz",
                "timestamp with time zone",
                "seen_tz::text",
                &["2026-11-21 08:00:00+00", "2000-01-01 07:59:59.5+00", "NULL"],
            ),
            ("blob", "text", "blob", &["deadbeef00", "", "NULL"]),
            ("addr", "text", "addr", &["192.168.0.1/24", "::1", "NULL"]),
        ],
    );
    assert_eq!(
        warehouse_rows(
            &warehouse,
            &format!(
                "select _sdc_source_key_id, _sdc_level_0_id, value::text \
                 from {SCHEMA}.public_kinds__ints order by 1, 2"
            )
        ),
        [["1", "0", "1"], ["1", "1", "2"], ["1", "2", "3"]]
    );
    assert_eq!(
        warehouse_rows(
            &warehouse,
            &format!(
                "select _sdc_source_key_id, _sdc_level_0_id, value \
                 from {SCHEMA}.public_kinds__words order by 1, 2"
            )
        ),
        [["1", "0", "a b"], ["1", "1", "c,d"]]
    );
    let states = emitted_states(&output);
    let last = states.last().expect("the target printed no STATE");
    assert!(
        last["bookmarks"].get("public-kinds").is_some(),
        "the tap's last STATE did not come through: {last}"
    );
}

/// The SDK types a `json`/`jsonb` column as any JSON value (every type, no declared structure):
/// a schemaless value, which the target keeps whole in one `jsonb` column.
#[test]
fn meltanolabs_tap_postgres_json_columns_arrive_whole_in_jsonb() {
    let source = PgDatabase::with_sql(
        r#"create table docs (id integer primary key, doc jsonb, raw json);
               insert into docs values
                 (1, '{"a": {"b": [1, 2.50, null]}, "u": "ü"}', '{"k":  1}'),
                 (2, '[]', '"text"'),
                 (3, '7', 'true'),
                 (4, null, null)"#,
    );
    let warehouse = PgDatabase::new();
    meltanolabs_tap_postgres_into_target(&source, &warehouse);
    let mut client = warehouse.client();
    let types = columns(&mut client, "public_docs");
    for column in ["doc", "raw"] {
        assert!(
            types.contains(&(column.into(), "jsonb".into())),
            "{column} is not one jsonb column: {types:?}"
        );
    }
    assert_eq!(
        warehouse_rows(
            &warehouse,
            &format!("select id, doc::text, raw::text from {SCHEMA}.public_docs order by id")
        ),
        [
            [
                "1",
                r#"{"a": {"b": [1, 2.50, null]}, "u": "ü"}"#,
                r#"{"k": 1}"#
            ],
            ["2", "[]", r#""text""#],
            ["3", "7", "true"],
            ["4", "NULL", "NULL"],
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Our taps | singer-io target-jsonl

/// Our tap (config `select`) piped into target-jsonl writing `<dir>/out/<stream>.jsonl`; returns
/// the records of `stream` and the state target-jsonl printed.
fn our_tap_into_target_jsonl(
    tap: &'static str,
    tap_config: Value,
    stream: &str,
) -> (Vec<Value>, Value) {
    let tap = TapRun::with_config(tap, &tap_config);
    let dir = &tap.dir;
    let out = dir.path().join("out");
    let target_config = write_json(
        dir.path(),
        "target.json",
        &json!({"destination_path": out, "do_timestamp_file": false}),
    );
    let mut target = target_jsonl();
    target.args(["--config", &target_config]);
    let output = Pipeline::of(tap.command(&[]), target).run();
    output.assert_success();
    assert!(
        !output.target.stderr.contains("ERROR") && !output.target.stderr.contains("Traceback"),
        "target-jsonl complained:\n{}",
        output.target.stderr
    );
    let path = out.join(format!("{stream}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("target-jsonl wrote no {}: {err}", path.display()));
    let records = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let state_line = output
        .target
        .stdout_text()
        .lines()
        .last()
        .map(str::to_owned)
        .expect("target-jsonl printed no state");
    let state = serde_json::from_str(&state_line).expect("a JSON state");
    (records, state)
}

/// An expected record, numbers as [`exact_numbers`] writes them.
fn expected_record(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"));
    exact_numbers(&value)
}

/// `value` with every number replaced by a string of its exact decimal value, so that numbers
/// written differently compare equal when they are equal (Python's `Decimal` prints
/// `-0.000000001` as `-1E-9`), and only then: no digit may be lost.
fn exact_numbers(value: &Value) -> Value {
    let mut value = value.clone();
    replace_numbers(&mut value);
    value
}

/// [`exact_numbers`] in place.
fn replace_numbers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            let exact = format!("number {}", exact_decimal(number.as_str()));
            *value = Value::String(exact);
        }
        Value::Array(items) => items.iter_mut().for_each(replace_numbers),
        Value::Object(object) => object.values_mut().for_each(replace_numbers),
        _ => {}
    }
}

/// A JSON number's decimal value as `[-]DIGITSeEXP`, with no leading or trailing zero digit.
fn exact_decimal(text: &str) -> String {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().expect("a JSON exponent")),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return "0".to_owned();
    }
    let exponent = exponent - fraction.len() as i64 + (digits.len() - significant.len()) as i64;
    format!(
        "{}{significant}e{exponent}",
        if negative { "-" } else { "" }
    )
}

#[test]
fn tap_postgres_feeds_target_jsonl() {
    let source = PgDatabase::with_sql(
        r#"create table events (
                 id integer primary key, amount numeric(40,9), ratio double precision,
                 label text, at timestamptz, on_day date, doc jsonb, tags text[], ints int[],
                 blob bytea, flag boolean, uid uuid
               );
               insert into events values
                 (1, 123456789012345678901234567890.123456789, 0.1, 'tab	"q" ü ☃',
                  '2026-11-21 10:00:00.123456+02', '2026-02-28',
                  '{"a": {"b": [1, 2.50, null]}}', '{"x y",NULL}', '{1,NULL,3}',
                  '\xdeadbeef00', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
                 (2, -0.000000001, -2.5, '', '1970-01-01 00:00:00+00', '1900-01-01', '[]', '{}',
                  '{}', '\x', false, null),
                 (3, null, null, null, null, null, null, null, null, null, null, null)"#,
    );
    let (records, state) = our_tap_into_target_jsonl(
        "tap-postgres",
        source.connection_config(json!({"select": ["public.events"]})),
        "events",
    );
    assert_eq!(
        records.iter().map(exact_numbers).collect::<Vec<_>>(),
        [
            expected_record(
                r#"{"id": 1, "amount": 123456789012345678901234567890.123456789, "ratio": 0.1,
                    "label": "tab\t\"q\" ü ☃", "at": "2026-11-21T08:00:00.123456Z",
                    "on_day": "2026-02-28", "doc": {"a": {"b": [1, 2.50, null]}},
                    "tags": ["x y", null], "ints": [1, null, 3], "blob": "deadbeef00",
                    "flag": true, "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}"#
            ),
            expected_record(
                r#"{"id": 2, "amount": -0.000000001, "ratio": -2.5, "label": "",
                    "at": "1970-01-01T00:00:00.000000Z", "on_day": "1900-01-01", "doc": [],
                    "tags": [], "ints": [], "blob": "", "flag": false, "uid": null}"#
            ),
            expected_record(
                r#"{"id": 3, "amount": null, "ratio": null, "label": null, "at": null,
                    "on_day": null, "doc": null, "tags": null, "ints": null, "blob": null,
                    "flag": null, "uid": null}"#
            ),
        ]
    );
    assert!(
        bookmark(&state, "public-events")["version"].is_u64(),
        "target-jsonl did not print our tap's last state: {state}"
    );
}

#[test]
fn tap_mysql_feeds_target_jsonl() {
    let source = MysqlDatabase::with_sql(
        r#"create table events (
                 id int primary key, amount decimal(65,30), ubig bigint unsigned,
                 label varchar(20), at datetime(6), on_day date, doc json, tags set('a','b'),
                 bin varbinary(8), flag tinyint(1), colour enum('red','green'), yr year
               );
               insert into events values
                 (1, 12345678901234567890.123456789012345678901234567890, 18446744073709551615,
                  'tab	"q" ü', '2026-11-21 10:00:00.123456', '2026-02-28',
                  '{"a": [1, 2.5, null]}', 'a,b', x'00ff10', 1, 'green', 2026),
                 (2, -0.5, 0, '', '1970-01-01 00:00:00', '1000-01-01', '[]', '', x'', 0, 'red',
                  1999),
                 (3, null, null, null, null, null, null, null, null, null, null, null)"#,
    );
    let (records, state) = our_tap_into_target_jsonl(
        "tap-mysql",
        source.connection_config(json!({"select": [format!("{}.events", source.name)]})),
        "events",
    );
    assert_eq!(
        records.iter().map(exact_numbers).collect::<Vec<_>>(),
        [
            expected_record(
                r#"{"id": 1, "amount": 12345678901234567890.123456789012345678901234567890,
                    "ubig": 18446744073709551615, "label": "tab\t\"q\" ü",
                    "at": "2026-11-21T10:00:00.123456Z", "on_day": "2026-02-28",
                    "doc": {"a": [1, 2.5, null]}, "tags": ["a", "b"], "bin": "00ff10",
                    "flag": true, "colour": "green", "yr": 2026}"#
            ),
            expected_record(
                r#"{"id": 2, "amount": -0.500000000000000000000000000000, "ubig": 0,
                    "label": "", "at": "1970-01-01T00:00:00.000000Z", "on_day": "1000-01-01",
                    "doc": [], "tags": [], "bin": "", "flag": false, "colour": "red",
                    "yr": 1999}"#
            ),
            expected_record(
                r#"{"id": 3, "amount": null, "ubig": null, "label": null, "at": null,
                    "on_day": null, "doc": null, "tags": null, "bin": null, "flag": null,
                    "colour": null, "yr": null}"#
            ),
        ]
    );
    assert!(
        bookmark(&state, &format!("{}-events", source.name))["version"].is_u64(),
        "target-jsonl did not print our tap's last state: {state}"
    );
}

// ---------------------------------------------------------------------------------------------
// --about, compared with a Meltano SDK tap's

/// What the MeltanoLabs tap prints for `--about --format json`.
fn sdk_about() -> Map<String, Value> {
    let output = run_ok(meltanolabs_tap_postgres(), &["--about", "--format", "json"]);
    serde_json::from_slice(&output.stdout).expect("the SDK tap's --about is JSON")
}

fn our_about(program: &str) -> Map<String, Value> {
    let output = run_binary(program, &["--about", "--format", "json"], b"");
    output.assert_success();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{program} --about --format json: {err}"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn about_has_the_shape_of_a_meltano_sdk_plugin() {
    let sdk = sdk_about();
    // Keys only the SDK itself can fill in.
    let sdk_only = ["sdk_version", "supported_python_versions"];
    let sdk_settings = sdk["settings"].as_object().expect("SDK settings");
    let sdk_property_keys: Vec<&String> = sdk_settings["properties"]
        .as_object()
        .expect("SDK setting properties")
        .values()
        .flat_map(|property| property.as_object().expect("a property").keys())
        .collect();
    for program in ["tap-postgres", "tap-mysql", "target-postgres"] {
        let ours = our_about(program);
        for (key, value) in sdk
            .iter()
            .filter(|(key, _)| !sdk_only.contains(&key.as_str()))
        {
            assert_eq!(
                ours.get(key).map(json_type),
                Some(json_type(value)),
                "{program} --about: {key} (the SDK prints {value})"
            );
        }
        assert_eq!(ours["name"], program);
        let capabilities = ours["capabilities"].as_array().expect("capabilities");
        assert!(
            capabilities.iter().all(Value::is_string),
            "{capabilities:?}"
        );
        let settings = ours["settings"].as_object().expect("settings");
        assert_eq!(settings["type"], sdk_settings["type"], "{program}");
        let properties = settings["properties"].as_object().expect("properties");
        assert!(!properties.is_empty(), "{program} declares no settings");
        for (name, property) in properties {
            let types: Vec<&str> = match &property["type"] {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                other => panic!("{program} setting {name}: type {other}"),
            };
            assert!(
                !types.is_empty()
                    && types.iter().all(|t| {
                        [
                            "string", "integer", "number", "boolean", "array", "object", "null",
                        ]
                        .contains(t)
                    }),
                "{program} setting {name}: type {}",
                property["type"]
            );
            assert!(
                property["description"].is_string(),
                "{program} setting {name} has no description"
            );
        }
        // The SDK marks secrets `secret` and `writeOnly`; Meltano hides them by it.
        let password = &properties["password"];
        for key in ["secret", "writeOnly"] {
            assert!(
                sdk_property_keys.iter().any(|k| k.as_str() == key),
                "the SDK no longer uses {key}"
            );
            assert_eq!(password[key], true, "{program} password {key}");
        }
        if let Some(required) = settings.get("required") {
            for name in required.as_array().expect("required is a list") {
                let name = name.as_str().expect("required names");
                assert!(
                    properties.contains_key(name),
                    "{program}: required {name} undeclared"
                );
            }
        }
    }
}

/// Every SDK plugin lists `about` among its capabilities; Meltano reads the list.
#[test]
fn about_lists_the_about_capability_like_sdk_plugins() {
    let sdk = sdk_about();
    assert!(
        sdk["capabilities"]
            .as_array()
            .expect("SDK capabilities")
            .contains(&json!("about"))
    );
    for program in ["tap-postgres", "tap-mysql", "target-postgres"] {
        let ours = our_about(program);
        assert!(
            ours["capabilities"]
                .as_array()
                .expect("capabilities")
                .contains(&json!("about")),
            "{program} supports --about but does not list `about` in its capabilities: {}",
            ours["capabilities"]
        );
    }
}
