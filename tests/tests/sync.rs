//! `just sync` (tests/sync/sync.sh): state kept across runs, saved atomically, also when a run dies
//! part way, so that the next run completes the table exactly.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;
use tests::bin::{binary_path, write_json};
use tests::warehouse::{SCHEMA, query_text, target_config};
use tests::{PgDatabase, TapRun, TargetRun};

fn sync_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sync/sync.sh")
}

/// The workspace, where the Justfile is.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_owned()
}

/// Runs `command` with the workspace's programs on `SINGER_BIN_DIR`; returns its exit status
/// and stderr. `missing` says what to do when it cannot start.
fn run_script(mut command: Command, missing: &str) -> (bool, String) {
    let bin_dir = binary_path("target-postgres").parent().unwrap().to_owned();
    let output = command
        .env("SINGER_BIN_DIR", bin_dir)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?} ({err}): {missing}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `just sync ARGS` as a user types it in `dir` (with the project's Justfile); returns its exit
/// status and stderr.
fn just_sync(dir: &Path, args: &[&str]) -> (bool, String) {
    let mut just = Command::new("just");
    just.arg("--justfile")
        .arg(project_root().join("Justfile"))
        .arg("sync")
        .args(args)
        .current_dir(dir);
    run_script(
        just,
        "install it (`pip install rust-just` or `cargo install just`)",
    )
}

/// Runs sync.sh; returns its exit status and stderr.
fn sync(tap: &str, tap_config: &str, target_config: &str, state: &Path) -> (bool, String) {
    let mut bash = Command::new("bash");
    bash.arg(sync_script())
        .args([tap, tap_config, "-", target_config])
        .arg(state);
    run_script(bash, "bash runs sync.sh")
}

/// Writes an executable shell script.
fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn a_run_killed_part_way_is_completed_exactly_by_the_next() {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text, price numeric(8,2)); \
         insert into items select g, 'item ' || g, g / 100.0 from generate_series(1, 30000) g",
    );
    let warehouse = PgDatabase::new();
    let dir = TempDir::new().unwrap();
    let tap = TapRun::postgres(
        &source,
        json!({"select": ["public.items"], "state_every_rows": 1000}),
    );
    let target = TargetRun::new(&warehouse, json!({"batch_size_rows": 2000}));
    let (tap_config, target_config) = (&tap.config, &target.config);
    let state = dir.path().join("state.json");

    // A tap that dies after 9,000 lines of output: what reached the target is committed and the
    // state it printed is saved; the failure is reported as the tap's.
    let dying_tap = dir.path().join("dying-tap");
    write_script(
        &dying_tap,
        &format!(
            "#!/usr/bin/env bash\n{} \"$@\" | head -n 9000\nexit 3\n",
            binary_path("tap-postgres").display()
        ),
    );
    let (succeeded, stderr) = sync(
        dying_tap.to_str().unwrap(),
        tap_config,
        target_config,
        &state,
    );
    assert!(!succeeded);
    assert!(stderr.contains("the tap"), "{stderr}");
    assert!(stderr.contains("exit code 3"), "{stderr}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let bookmark = &saved["bookmarks"]["public-items"];
    let resumed_after = bookmark["last_pk_fetched"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{saved}"));
    assert!((1000..30000).contains(&resumed_after), "{saved}");
    let mut client = warehouse.client();
    let loaded = query_text(&mut client, "select count(*) from warehouse.items");
    let loaded: i64 = loaded[0][0].as_deref().unwrap().parse().unwrap();
    assert!(
        loaded >= resumed_after,
        "every row the saved state covers is loaded"
    );

    // The next run resumes from the saved state and finishes the table.
    let (succeeded, stderr) = sync("tap-postgres", tap_config, target_config, &state);
    assert!(succeeded, "{stderr}");
    let query = "select id, name, price::text from {schema}.items order by id";
    let expected = query_text(&mut source.client(), &query.replace("{schema}", "public"));
    let arrived = query_text(
        &mut client,
        &query
            .replace("{schema}", SCHEMA)
            .replace("order by", "where _sdc_deleted_at is null order by"),
    );
    assert_eq!(arrived.len(), 30000);
    assert_eq!(arrived, expected);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        saved["bookmarks"]["public-items"]
            .get("last_pk_fetched")
            .is_none(),
        "{saved}"
    );
}

#[test]
fn a_failing_target_is_named() {
    let source = PgDatabase::with_sql("create table t (id integer primary key)");
    let tap = TapRun::postgres(&source, json!({"select": ["public.t"]}));
    // A warehouse that refuses the connection.
    let target = TargetRun::with_config(
        json!({"host": "127.0.0.1", "port": 1, "user": "nobody", "dbname": "none",
               "default_target_schema": "w"}),
    );
    let state = target.dir.path().join("state.json");
    let (succeeded, stderr) = sync("tap-postgres", &tap.config, &target.config, &state);
    assert!(!succeeded);
    assert!(
        stderr.contains("the target (target-postgres) failed"),
        "{stderr}"
    );
    assert!(!state.exists(), "no state without a committed STATE");
}

/// `just` runs recipes in the project folder; `just sync`'s paths are still the caller's, the
/// programs get them absolute (so errors name the absolute path), and the state's temporary file
/// is written beside it.
#[test]
fn just_sync_takes_relative_paths_from_the_callers_directory() {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text, price numeric(8,2)); \
         insert into items values (1, 'one', 1.50), (2, 'two ü', -2.25), (3, null, null)",
    );
    let warehouse = PgDatabase::new();
    let caller = TempDir::new().unwrap();
    let etl = caller.path().join("etl");
    for dir in ["bin", "state"] {
        std::fs::create_dir_all(etl.join(dir)).unwrap();
    }
    // `select` in Meltano's form, tap_stream_id.column (`public.items` selects alike).
    write_json(
        &etl,
        "tap.json",
        &source.connection_config(json!({"select": ["public-items.*"]})),
    );
    write_json(&etl, "target.json", &target_config(&warehouse, json!({})));
    // A tap (named by a relative path) that says what it was given and what is beside the state
    // file while it runs, then runs tap-postgres.
    let tap = etl.join("bin/tap");
    write_script(
        &tap,
        &format!(
            "#!/usr/bin/env bash\necho \"tap args: $*\" >&2\n\
             echo \"beside the state: $(ls -A '{}')\" >&2\nexec {} \"$@\"\n",
            etl.join("state").display(),
            binary_path("tap-postgres").display()
        ),
    );

    let (succeeded, stderr) = just_sync(
        &etl,
        &["bin/tap", "tap.json", "-", "target.json", "state/pg.json"],
    );
    assert!(succeeded, "{stderr}");
    assert!(
        stderr.contains(&format!("tap args: --config {}/tap.json", etl.display())),
        "the tap was not given the absolute path of etl/tap.json:\n{stderr}"
    );
    assert!(
        stderr.contains("beside the state: pg.json.out."),
        "the temporary file is not beside the state file:\n{stderr}"
    );
    let state = etl.join("state/pg.json");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        saved["bookmarks"]["public-items"]["version"].is_u64(),
        "{saved}"
    );
    let left: Vec<String> = std::fs::read_dir(etl.join("state"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["pg.json"], "temporary files left beside the state");
    assert!(
        !project_root().join("state").exists(),
        "just sync wrote into the project folder"
    );
    let query = "select id::text, name, price::text from {schema}.items order by id";
    assert_eq!(
        query_text(&mut warehouse.client(), &query.replace("{schema}", SCHEMA)),
        query_text(&mut source.client(), &query.replace("{schema}", "public"))
    );

    // A file that is not there is named by its absolute path, and nothing runs.
    let (succeeded, stderr) = just_sync(
        &etl,
        &[
            "tap-postgres",
            "missing.json",
            "-",
            "target.json",
            "state/pg.json",
        ],
    );
    assert!(!succeeded);
    assert!(
        stderr.contains(&format!(
            "cannot read the tap config {}/missing.json",
            etl.display()
        )),
        "{stderr}"
    );
}
