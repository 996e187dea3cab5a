//! Shards: one table read by N `tap --shard K/N | target-postgres` pipes at once, into one
//! warehouse table, then one activation step. The warehouse must equal the source value for
//! value; the previous version stays live until the activation; a shard killed and rerun alone
//! completes the run exactly. Shards given the plan file `--plan` printed leave no key unread
//! however the table is written between their starts; shards computing their own bounds can.
//!
//! The 400,000-row case runs once (PostgreSQL, a skewed integer key); the MariaDB, composite-key
//! and kill cases use smaller tables so that the debug build stays quick on a small machine.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tests::bin::write_json;
use tests::warehouse::{emitted_states, lines, query_text, record, schema, state};
use tests::{MysqlDatabase, PgDatabase, Pipeline, TapRun, TargetRun};

/// A version larger than any an ordinary run of the test made before (milliseconds since the
/// epoch, as the orchestrator would pass the run's start).
fn shard_version() -> u64 {
    common::state::new_version()
}

/// `tap --shard K/N --shard-version V [--state FILE] [--shard-plan FILE]`.
fn shard_command(
    tap: &TapRun,
    shard: u32,
    count: u32,
    version: u64,
    state: Option<&Value>,
    plan: Option<&Path>,
) -> Command {
    let mut args = vec![
        "--shard".to_owned(),
        format!("{shard}/{count}"),
        "--shard-version".to_owned(),
        version.to_string(),
    ];
    if let Some(plan) = plan {
        args.push("--shard-plan".to_owned());
        args.push(plan.display().to_string());
    }
    if let Some(state) = state {
        let name = format!("state-{shard}-of-{count}.json");
        args.push("--state".to_owned());
        args.push(write_json(tap.dir.path(), &name, state));
    }
    tap.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every shard of `count` at once, each `tap | target` its own pipe; the last state each target
/// printed.
fn run_shards(tap: &TapRun, target: &TargetRun, count: u32, version: u64) -> Vec<Value> {
    let running: Vec<_> = (0..count)
        .map(|shard| {
            Pipeline::of(
                shard_command(tap, shard, count, version, None, None),
                target.command(),
            )
            .start()
        })
        .collect();
    running
        .into_iter()
        .map(|pipe| {
            let output = pipe.finish();
            output.assert_success();
            assert!(
                !output.target.stderr.contains("rows of older versions"),
                "a shard swept older versions:\n{}",
                output.target.stderr
            );
            emitted_states(&output.target).pop().expect("a state")
        })
        .collect()
}

/// The activation step: `tap --activate | target`.
fn activate(tap: &TapRun, target: &TargetRun, version: u64) {
    let activation = tap.command(&["--activate", "--shard-version", &version.to_string()]);
    let output = Pipeline::of(activation, target.command()).run();
    output.assert_success();
}

fn rows_of(warehouse: &PgDatabase, sql: &str) -> Vec<Vec<Option<String>>> {
    query_text(&mut warehouse.client(), sql)
}

/// The warehouse's live `items` rows equal the source's `items`, value for value.
fn assert_live_items_equal_source(source: &PgDatabase, warehouse: &PgDatabase) {
    let columns = "id::text, name, n::text";
    let expected = rows_of(source, &format!("select {columns} from items order by id"));
    let loaded = rows_of(
        warehouse,
        &format!("select {columns} from warehouse.items where _sdc_deleted_at is null order by id"),
    );
    assert_eq!(loaded.len(), expected.len());
    assert!(loaded == expected, "the warehouse differs from the source");
}

fn count(warehouse: &PgDatabase, sql: &str) -> i64 {
    rows_of(warehouse, sql)[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

/// 400,000 rows, ids dense at the start and sparse after (a skewed key): 8 shards at once.
#[test]
fn eight_postgres_shards_load_one_table_at_once_and_activate_once() {
    let source = PgDatabase::with_sql(
        "create table items (id bigint primary key, name text, n integer); \
         insert into items select g, 'item ' || g, g % 1000 from generate_series(1, 2000) g; \
         insert into items select -g, 'gone ' || g, g from generate_series(1, 100) g",
    );
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({"batch_size_rows": 20000}));
    let tap = TapRun::postgres(
        &source,
        json!({"select": ["public.items"], "state_every_rows": 20000}),
    );
    // The previous version: an ordinary run.
    tap.run_into(&target, None).assert_success();
    assert_eq!(
        count(&warehouse, "select count(*) from warehouse.items"),
        2100
    );

    source.execute(
        "delete from items where id < 0; \
         update items set name = 'renamed ' || id where id % 500 = 0; \
         insert into items select g, 'item ' || g, g % 1000 from generate_series(2001, 300000) g; \
         insert into items select 1000000 + g * 10007, 'far ' || g, g % 7 \
           from generate_series(1, 100000) g",
    );

    // The plan: 8 contiguous ranges of about 50,000 rows, whatever the key's spread.
    let plan = tap.run_with(&["--plan", "8"]);
    plan.assert_success();
    let plan: Value = serde_json::from_slice(&plan.stdout).expect("the plan is JSON");
    let stream = &plan["streams"][0];
    assert_eq!(stream["rows"], 400_000);
    let shards = stream["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 8);
    assert_eq!(shards[0]["lower"], Value::Null);
    assert_eq!(shards[7]["upper"], Value::Null);
    for pair in shards.windows(2) {
        assert_eq!(pair[0]["upper"], pair[1]["lower"]);
        assert_eq!(pair[0]["estimated_rows"], 50_000);
    }
    // Rows 300,001 on are the sparse ones.
    assert_eq!(shards[6]["lower"], json!({"id": 1_000_000 + 10_007}));
    assert_eq!(
        shards[7]["lower"],
        json!({"id": 1_000_000 + 50_001 * 10_007})
    );

    let version = shard_version();
    let states = run_shards(&tap, &target, 8, version);
    for (shard, state) in states.iter().enumerate() {
        let bookmark = &state["bookmarks"]["public-items"];
        assert_eq!(bookmark["version"], version, "{state}");
        assert_eq!(bookmark["shard"]["shard"], format!("{shard}/8"), "{state}");
        assert!(bookmark.get("last_pk_fetched").is_none(), "{state}");
    }

    // Until the activation, the previous version stays live: the rows gone at the source too.
    let live = "select count(*) from warehouse.items where _sdc_deleted_at is null";
    assert_eq!(count(&warehouse, live), 400_100);
    activate(&tap, &target, version);
    assert_eq!(count(&warehouse, live), 400_000);
    let gone = rows_of(
        &warehouse,
        "select min(id), max(id), count(*) from warehouse.items where _sdc_deleted_at is not null",
    );
    assert_eq!(
        gone,
        [[Some("-100".into()), Some("-1".into()), Some("100".into())]]
    );

    assert_live_items_equal_source(&source, &warehouse);
    assert_eq!(
        count(
            &warehouse,
            &format!(
                "select count(*) from warehouse.items where _sdc_table_version <> {version} \
                 and _sdc_deleted_at is null"
            )
        ),
        0
    );
}

/// MariaDB, a composite key with most rows under one leading value, a target that deletes what
/// the source no longer has (`hard_delete`).
#[test]
fn mariadb_shards_of_a_composite_key_and_hard_delete() {
    let source = MysqlDatabase::with_sql(
        "create table parts (a integer, b varchar(20), n integer, primary key (a, b)); \
         insert into parts select 1, lpad(seq, 8, '0'), seq from seq_1_to_300; \
         insert into parts select -1, 'gone', 0",
    );
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(
        &warehouse,
        json!({"batch_size_rows": 5000, "hard_delete": true}),
    );
    let tap = TapRun::mysql(
        &source,
        json!({"select": [format!("{}.parts", source.name)], "state_every_rows": 5000}),
    );
    tap.run_into(&target, None).assert_success();
    assert_eq!(
        count(&warehouse, "select count(*) from warehouse.parts"),
        301
    );

    source.execute(
        "delete from parts where a = -1; \
         insert into parts select 1, lpad(seq, 8, '0'), seq from seq_301_to_30000; \
         insert into parts select seq, concat('x', seq), seq % 13 from seq_2_to_10001",
    );
    let version = shard_version();
    run_shards(&tap, &target, 8, version);
    // The row gone at the source stays until the activation, which deletes it.
    assert_eq!(
        count(&warehouse, "select count(*) from warehouse.parts"),
        40_001
    );
    activate(&tap, &target, version);

    let mut expected: Vec<Vec<Option<String>>> = {
        use mysql::prelude::Queryable;
        let rows: Vec<(i64, String, i64)> =
            source.conn().query("select a, b, n from parts").unwrap();
        rows.into_iter()
            .map(|(a, b, n)| vec![Some(a.to_string()), Some(b), Some(n.to_string())])
            .collect()
    };
    let mut loaded = rows_of(
        &warehouse,
        "select a::text, b, n::text from warehouse.parts",
    );
    expected.sort();
    loaded.sort();
    assert_eq!(loaded.len(), 40_000);
    assert!(loaded == expected, "the warehouse differs from the source");
}

/// A shard killed (SIGKILL) part way and rerun alone from the state its target printed: the
/// result is exact, and the rerun resumed instead of starting over.
#[test]
fn a_killed_shard_rerun_alone_completes_the_run() {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text); \
         insert into items select g, 'item ' || g from generate_series(1, 40000) g",
    );
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({"batch_size_rows": 1000}));
    let tap = TapRun::postgres(
        &source,
        json!({"select": ["public.items"], "state_every_rows": 1000}),
    );
    let version = shard_version();

    // Shard 1 of 4 is killed once its target has committed some of its rows.
    let mut killed = Pipeline::of(
        shard_command(&tap, 1, 4, version, None, None),
        target.command(),
    )
    .start();
    let mut reader = BufReader::new(killed.target.stdout.take().unwrap());
    let mut states = Vec::new();
    for line in reader.by_ref().lines() {
        let line = line.unwrap();
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["bookmarks"]["public-items"]["last_pk_fetched"].is_object() {
            states.push(value);
            break;
        }
    }
    killed.tap.kill().unwrap();
    for line in reader.lines() {
        states.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
    drop(killed.finish());
    let interrupted = states.pop().expect("a state before the kill");
    let resumed_after = interrupted["bookmarks"]["public-items"]["last_pk_fetched"]["id"]
        .as_i64()
        .expect("the shard was interrupted part way");
    assert!((10_001..20_000).contains(&resumed_after), "{interrupted}");

    // The other shards run; then shard 1 alone, from its own state.
    for shard in [0, 2, 3] {
        Pipeline::of(
            shard_command(&tap, shard, 4, version, None, None),
            target.command(),
        )
        .run()
        .assert_success();
    }
    let rerun = Pipeline::of(
        shard_command(&tap, 1, 4, version, Some(&interrupted), None),
        target.command(),
    )
    .run();
    rerun.assert_success();
    assert!(
        rerun.tap_stderr.contains(&format!(
            "resuming an interrupted full-table sync (version {version})"
        )),
        "{}",
        rerun.tap_stderr
    );
    activate(&tap, &target, version);

    let expected = rows_of(&source, "select id::text, name from items order by id");
    let loaded = rows_of(
        &warehouse,
        "select id::text, name from warehouse.items where _sdc_deleted_at is null order by id",
    );
    assert_eq!(loaded.len(), 40_000);
    assert!(loaded == expected, "the warehouse differs from the source");
}

/// Targets started together create the same new table, then add the same new column, at the
/// same moment: every one succeeds.
#[test]
fn targets_creating_the_same_table_and_column_at_once_all_succeed() {
    let (warehouse, target) = TargetRun::with_new_database(json!({}));
    let properties = json!({"id": {"type": "integer"}, "name": {"type": ["null", "string"]}});
    let first = lines(&[
        schema("t", properties.clone(), &["id"]),
        record("t", json!({"id": 1, "name": "a"})),
        state(json!({"n": 1})),
    ]);
    let mut wider = properties;
    wider["extra"] = json!({"type": ["null", "string"]});
    let second = lines(&[
        schema("t", wider, &["id"]),
        record("t", json!({"id": 2, "name": "b", "extra": "x"})),
        state(json!({"n": 2})),
    ]);
    for input in [first, second] {
        target.load_at_once(&input, 6);
    }
    assert_eq!(
        rows_of(
            &warehouse,
            "select id::text, name, extra from warehouse.t order by id"
        ),
        [
            [Some("1".into()), Some("a".into()), None],
            [Some("2".into()), Some("b".into()), Some("x".into())]
        ]
    );
}

/// A LOG_BASED table read by 4 shards at once while the source changes, then changed again,
/// then activated: one ordinary run from the activation's state follows the log from the slot's
/// position (no new snapshot: the same version, no full re-read) and the warehouse equals the
/// source, the deleted rows marked.
#[test]
fn postgres_log_based_shards_continue_into_the_log() {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text, n integer); \
         insert into items select g, 'item ' || g, g % 1000 from generate_series(1, 20000) g",
    );
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({"batch_size_rows": 2000}));
    let tap = TapRun::postgres(
        &source,
        json!({
            "select": [{"table": "public.items", "replication_method": "LOG_BASED"}],
            "state_every_rows": 2000
        }),
    );
    let version = shard_version();

    // Changes while the shards run (each shard prepares the slot before it reads)…
    let running: Vec<_> = (0..4)
        .map(|shard| {
            Pipeline::of(
                shard_command(&tap, shard, 4, version, None, None),
                target.command(),
            )
            .start()
        })
        .collect();
    // Updates only: every shard computes its bounds from the table as it is when it starts, so
    // keys inserted or deleted then could shift one shard's bounds against another's.
    for step in 0..10 {
        source.execute(&format!(
            "update items set name = 'during {step} ' || id, n = -id where id % 100 = {step}"
        ));
    }
    let states: Vec<Value> = running
        .into_iter()
        .map(|pipe| {
            let output = pipe.finish();
            output.assert_success();
            emitted_states(&output.target).pop().expect("a state")
        })
        .collect();
    for state in &states {
        let bookmark = &state["bookmarks"]["public-items"];
        assert_eq!(bookmark["version"], version, "{state}");
        assert_eq!(bookmark["last_replication_method"], "LOG_BASED", "{state}");
        assert!(bookmark["lsn"].as_u64().is_some(), "{state}");
    }
    // … and after they are done, before the activation.
    source.execute(
        "update items set name = 'after ' || id where id % 7 = 0; \
         delete from items where id between 15001 and 15050 or id % 1000 = 3; \
         insert into items select g, 'late ' || g, 1 from generate_series(40001, 40100) g",
    );

    let activation = tap.command(&["--activate", "--shard-version", &version.to_string()]);
    let output = Pipeline::of(activation, target.command()).run();
    output.assert_success();
    let activated = emitted_states(&output.target).pop().expect("a state");
    let bookmark = &activated["bookmarks"]["public-items"];
    assert_eq!(bookmark["version"], version, "{activated}");
    assert_eq!(
        bookmark["last_replication_method"], "LOG_BASED",
        "{activated}"
    );
    assert_eq!(
        bookmark["columns"],
        json!(["id", "name", "n"]),
        "{activated}"
    );
    let activated_at = bookmark["lsn"].as_u64().expect("a log position");
    for state in &states {
        let shard_started = state["bookmarks"]["public-items"]["lsn"].as_u64().unwrap();
        assert!(activated_at <= shard_started, "{activated} {state}");
    }

    // One ordinary LOG_BASED run: the log only.
    let ordinary = tap.run(Some(&activated));
    ordinary.assert_success();
    let records = ordinary
        .stdout_text()
        .lines()
        .filter(|line| line.contains(r#""type":"RECORD""#))
        .count();
    assert!(
        (1..10_000).contains(&records),
        "{records} records: a new snapshot was taken?"
    );
    assert!(
        !ordinary
            .stdout_text()
            .contains(r#""type":"ACTIVATE_VERSION""#),
        "a new snapshot was taken"
    );
    let states = emitted_states(&target.load_text(&ordinary.stdout_text()));
    let last = states.last().expect("a state");
    assert_eq!(last["bookmarks"]["public-items"]["version"], version);

    assert_live_items_equal_source(&source, &warehouse);
    // Rows every shard had read, deleted after: marked deleted.
    assert_eq!(
        count(
            &warehouse,
            "select count(*) from warehouse.items where id between 15001 and 15050 \
             and _sdc_deleted_at is not null"
        ),
        50
    );
    assert_eq!(
        count(
            &warehouse,
            &format!("select count(*) from warehouse.items where _sdc_table_version <> {version}")
        ),
        0
    );
}

/// A table of even ids 2 to 8,000, loaded once by an ordinary run, then `--plan 4` (bounds at ids
/// 2,002, 4,002 and 6,002), then rows inserted, deleted and updated around those bounds; then the
/// 4 shards one after another, with 1,500 rows inserted past the last bound after the first
/// shard (in a range no shard has read yet); then the activation. With `use_plan` every shard
/// is given the plan file. Returns the source, the warehouse, each shard's last state.
fn shards_while_the_table_is_written(use_plan: bool) -> (PgDatabase, PgDatabase, Vec<Value>) {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text, n integer); \
         insert into items select 2 * g, 'item ' || g, g % 97 from generate_series(1, 4000) g",
    );
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({"batch_size_rows": 1000}));
    let tap = TapRun::postgres(
        &source,
        json!({"select": ["public.items"], "state_every_rows": 1000}),
    );
    tap.run_into(&target, None).assert_success();

    let printed = tap.run_with(&["--plan", "4"]);
    printed.assert_success();
    let plan: Value = serde_json::from_slice(&printed.stdout).expect("the plan is JSON");
    let lowers: Vec<&Value> = plan["streams"][0]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|shard| &shard["lower"])
        .collect();
    assert_eq!(
        lowers,
        [
            &Value::Null,
            &json!({"id": 2002}),
            &json!({"id": 4002}),
            &json!({"id": 6002})
        ]
    );
    let plan_file: PathBuf = tap.dir.path().join("plan.json");
    std::fs::write(&plan_file, &printed.stdout).unwrap();
    let plan = use_plan.then_some(plan_file.as_path());

    // Around the plan's bounds: rows deleted, odd ids inserted, rows updated.
    source.execute(
        "delete from items where id between 1950 and 2050 or id between 6000 and 6004; \
         insert into items select g, 'new ' || g, -1 from generate_series(3901, 4101, 2) g; \
         insert into items select g, 'new ' || g, -2 from generate_series(5991, 6011, 2) g; \
         update items set name = 'changed ' || id where id % 50 = 0",
    );
    let version = shard_version();
    let mut states = Vec::new();
    for shard in 0..4 {
        let output = Pipeline::of(
            shard_command(&tap, shard, 4, version, None, plan),
            target.command(),
        )
        .run();
        output.assert_success();
        assert_eq!(
            output
                .tap_stderr
                .contains("shard bounds read from the plan"),
            use_plan,
            "{}",
            output.tap_stderr
        );
        states.push(emitted_states(&output.target).pop().expect("a state"));
        if shard == 0 {
            // Past every bound: a shard computing its bounds now puts them higher.
            source.execute(
                "insert into items select g, 'late ' || g, -3 from generate_series(8001, 9500) g",
            );
        }
    }
    activate(&tap, &target, version);
    (source, warehouse, states)
}

/// The shard range a shard's last state bookmarks: (lower id, upper id).
fn bookmarked_range(state: &Value) -> (Option<i64>, Option<i64>) {
    let range = &state["bookmarks"]["public-items"]["shard"];
    (range["lower"]["id"].as_i64(), range["upper"]["id"].as_i64())
}

const COLUMNS: &str = "id::text, name, n::text";

/// With the plan file, every shard reads the plan's range whatever the source did since: the
/// ranges meet, and the warehouse equals the source value for value, the rows deleted at the
/// source marked deleted.
#[test]
fn shards_given_the_plan_leave_no_gap_while_the_table_is_written() {
    let (source, warehouse, states) = shards_while_the_table_is_written(true);
    let ranges: Vec<_> = states.iter().map(bookmarked_range).collect();
    assert_eq!(
        ranges,
        [
            (None, Some(2002)),
            (Some(2002), Some(4002)),
            (Some(4002), Some(6002)),
            (Some(6002), None)
        ]
    );

    let expected = rows_of(&source, &format!("select {COLUMNS} from items order by id"));
    let loaded = rows_of(
        &warehouse,
        &format!("select {COLUMNS} from warehouse.items where _sdc_deleted_at is null order by id"),
    );
    assert_eq!(expected.len(), 4000 - 51 - 3 + 101 + 11 + 1500);
    assert_eq!(loaded.len(), expected.len());
    assert!(loaded == expected, "the warehouse differs from the source");
    let deleted = rows_of(
        &warehouse,
        "select id::text from warehouse.items where _sdc_deleted_at is not null order by id",
    );
    let gone: Vec<Vec<Option<String>>> = (1950..=2050)
        .chain(6000..=6004)
        .filter(|id| id % 2 == 0)
        .map(|id: i32| vec![Some(id.to_string())])
        .collect();
    assert_eq!(deleted, gone);
}

/// The same run without the plan file: the second shard computes its bounds after rows were
/// inserted past them, so its lower bound is above the first shard's upper one, and the rows in
/// between, live at the source, are read by no shard and marked deleted by the activation.
#[test]
fn shards_computing_their_own_bounds_leave_a_gap_while_the_table_is_written() {
    let (source, warehouse, states) = shards_while_the_table_is_written(false);
    let (_, first_upper) = bookmarked_range(&states[0]);
    let (second_lower, _) = bookmarked_range(&states[1]);
    let (first_upper, second_lower) = (first_upper.unwrap(), second_lower.unwrap());
    assert!(first_upper < second_lower, "{states:?}");

    let live_in_gap = count(
        &source,
        &format!("select count(*) from items where id >= {first_upper} and id < {second_lower}"),
    );
    assert!(live_in_gap > 0);
    let lost = rows_of(
        &warehouse,
        &format!(
            "select id::text from warehouse.items where _sdc_deleted_at is not null \
             and id >= {first_upper} and id < {second_lower} order by id"
        ),
    );
    assert_eq!(lost.len() as i64, live_in_gap, "{lost:?}");
    let loaded = count(
        &warehouse,
        "select count(*) from warehouse.items where _sdc_deleted_at is null",
    );
    assert_eq!(
        loaded,
        count(&source, "select count(*) from items") - live_in_gap
    );
}
