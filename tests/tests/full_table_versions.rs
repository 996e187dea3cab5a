//! A FULL_TABLE re-run never makes rows that are still at the source look deleted, not even for a
//! moment: the ACTIVATE_VERSION a tap sends before the records only announces the version, and
//! the one repeated after them sweeps what the source no longer has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tests::warehouse::{emitted_states, query_text};
use tests::{MysqlDatabase, PgDatabase, TapRun, TargetRun};

const ROWS: i64 = 60_000;

fn live_count(warehouse: &PgDatabase) -> i64 {
    let rows = query_text(
        &mut warehouse.client(),
        "select count(*) from warehouse.items where _sdc_deleted_at is null",
    );
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

/// One `tap-postgres | target-postgres` run, with `state` when given; returns the last state.
fn run(source: &PgDatabase, warehouse: &PgDatabase, state: Option<&Value>) -> Value {
    let tap = TapRun::postgres(
        source,
        json!({"select": ["public.items"], "state_every_rows": 5000}),
    );
    let target = TargetRun::new(warehouse, json!({"batch_size_rows": 5000}));
    let output = tap.run_into(&target, state);
    output.assert_success();
    emitted_states(&output.target).pop().expect("a state")
}

#[test]
fn a_rerun_without_state_never_empties_the_table() {
    let source = PgDatabase::with_sql(&format!(
        "create table items (id integer primary key, name text); \
         insert into items select g, 'item ' || g from generate_series(1, {ROWS}) g"
    ));
    let warehouse = PgDatabase::new();
    run(&source, &warehouse, None);
    assert_eq!(live_count(&warehouse), ROWS);

    // Ten rows go at the source; the state is lost; the table is synced again from scratch while
    // a reader watches the live rows.
    source.execute("delete from items where id % 6000 = 0");
    let watching = Arc::new(AtomicBool::new(true));
    let lowest = Arc::new(AtomicI64::new(i64::MAX));
    let reader = {
        let (watching, lowest) = (watching.clone(), lowest.clone());
        let mut client = warehouse.client();
        std::thread::spawn(move || {
            let mut polls = 0;
            while watching.load(Ordering::Relaxed) {
                let row = client
                    .query_one(
                        "select count(*) from warehouse.items where _sdc_deleted_at is null",
                        &[],
                    )
                    .unwrap();
                lowest.fetch_min(row.get(0), Ordering::Relaxed);
                polls += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            polls
        })
    };
    run(&source, &warehouse, None);
    watching.store(false, Ordering::Relaxed);
    let polls = reader.join().unwrap();
    assert!(polls > 5, "the reader hardly looked ({polls} polls)");
    assert!(
        lowest.load(Ordering::Relaxed) >= ROWS - 10,
        "live rows dipped to {} during the re-run",
        lowest.load(Ordering::Relaxed)
    );
    // Afterwards exactly the source's rows are live; the ten deleted ones are marked.
    assert_eq!(live_count(&warehouse), ROWS - 10);
    let marked = query_text(
        &mut warehouse.client(),
        "select id from warehouse.items where _sdc_deleted_at is not null order by id",
    );
    let marked: Vec<i64> = marked
        .iter()
        .map(|r| r[0].as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(marked, (1..=10).map(|n| n * 6000).collect::<Vec<_>>());
}

#[test]
fn an_emptied_source_table_is_swept_with_and_without_state() {
    let source = PgDatabase::with_sql(
        "create table items (id integer primary key, name text); \
         insert into items select g, 'item ' || g from generate_series(1, 100) g",
    );
    let warehouse = PgDatabase::new();
    let state = run(&source, &warehouse, None);
    assert_eq!(live_count(&warehouse), 100);

    // With the state of the last run: the repeated ACTIVATE_VERSION of an empty table sweeps.
    source.execute("delete from items");
    let state = run(&source, &warehouse, Some(&state));
    assert_eq!(live_count(&warehouse), 0);

    // Rows back, then gone again, and this time no state.
    source.execute("insert into items values (1, 'back')");
    run(&source, &warehouse, Some(&state));
    assert_eq!(live_count(&warehouse), 1);
    source.execute("delete from items");
    run(&source, &warehouse, None);
    assert_eq!(live_count(&warehouse), 0);
}

/// Two sources whose streams share a name, loaded into one schema, would sweep each other's rows
/// at every ACTIVATE_VERSION: the second is stopped before it loads, naming both sources.
#[test]
fn a_second_source_in_one_schema_is_stopped_before_it_loads() {
    let postgres = PgDatabase::with_sql(
        "create table items (id integer primary key, name text); \
         insert into items values (1, 'from postgres')",
    );
    let mysql = MysqlDatabase::with_sql(
        "create table items (id int primary key, name text); \
         insert into items values (1, 'from mysql'), (2, 'also mysql')",
    );
    let warehouse = PgDatabase::new();
    run(&postgres, &warehouse, None);

    let tap = TapRun::with_config(
        "tap-mysql",
        &mysql.connection_config(json!({"select": [format!("{}.items", mysql.name)]})),
    );
    let output = tap.run_into(&TargetRun::new(&warehouse, json!({})), None);
    assert!(!output.target.status.success());
    let stderr = &output.target.stderr;
    assert!(
        stderr.contains(&format!("is loaded from tap-postgres {}", postgres.name))
            && stderr.contains(&format!("comes from tap-mysql {}", mysql.name))
            && stderr.contains("default_target_schema"),
        "{stderr}"
    );
    // Nothing of the second source was loaded, and the first's rows are untouched.
    let rows = query_text(
        &mut warehouse.client(),
        "select id, name, _sdc_deleted_at is null from warehouse.items order by id",
    );
    assert_eq!(
        rows,
        [[
            Some("1".to_owned()),
            Some("from postgres".to_owned()),
            Some("t".to_owned())
        ]]
    );
    assert_eq!(live_count(&warehouse), 1);
}
