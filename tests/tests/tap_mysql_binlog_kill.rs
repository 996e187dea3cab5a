//! tap-mysql LOG_BASED killed and resumed: after the snapshot, about 30,000 changes (inserts,
//! updates and deletes in 100 transactions) reach the binlog; `tap-mysql | target-postgres` reads
//! them and one side is SIGKILLed once the target has printed a few STATEs; the next run starts
//! from the last STATE the target printed. Then the warehouse's live rows equal the source's value
//! for value, each key once, and every deleted row is marked deleted: nothing skipped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use mysql::prelude::Queryable;
use serde_json::{Value, json};
use tests::warehouse::{SCHEMA, emitted_states, query_text};
use tests::{MysqlDatabase, PgDatabase, Pipeline, RunOutput, TapRun, TargetRun};

/// Rows in the table when the snapshot is taken.
const INITIAL_ROWS: u64 = 6_000;
/// Transactions after the snapshot, each about 100 inserts, 100 updates and 100 deletes.
const TRANSACTIONS: u64 = 100;

/// A row as text: id, name, amount, qty.
type Row = Vec<Option<String>>;

/// One transaction of about 310 changes: 100 rows inserted; 100 rows of the snapshot and 40 of
/// the transaction before updated; 20 rows of the snapshot, 30 of the transaction before and 20
/// inserted in this one deleted.
fn changes(round: u64) -> String {
    let first_new = INITIAL_ROWS + round * 100;
    let updated = round * 59;
    format!(
        "start transaction; \
         insert into t select {first_new} + seq, concat('new ', seq * {round}), seq / 100, seq \
           from seq_1_to_100; \
         update t set name = concat('changed ', {round}), amount = amount + 1.25, qty = qty * 2 \
           where id > {updated} and id <= {updated} + 100 \
              or id > {first_new} - 100 and id <= {first_new} - 60; \
         delete from t where id > {first_new} - 30 and id <= {first_new} + 20 \
              or id <= {INITIAL_ROWS} and id % 300 = {round}; \
         commit;"
    )
}

fn source_rows(db: &MysqlDatabase) -> Vec<Row> {
    db.conn()
        .query_map(
            "select cast(id as char), name, cast(amount as char), cast(qty as char) from t \
             order by id",
            |row: mysql::Row| {
                (0..row.len())
                    .map(|i| row.get::<Option<String>, _>(i).flatten())
                    .collect()
            },
        )
        .expect("the source rows")
}

/// The warehouse's rows by id, each with whether it is marked deleted; panics on a duplicate key.
fn warehouse_rows(warehouse: &PgDatabase) -> BTreeMap<i64, (Row, bool)> {
    let mut rows = BTreeMap::new();
    for row in query_text(
        &mut warehouse.client(),
        &format!(
            "select id::text, name, amount::text, qty::text, \
             (_sdc_deleted_at is not null)::text from {SCHEMA}.t"
        ),
    ) {
        let id = row[0]
            .as_deref()
            .and_then(|id| id.parse().ok())
            .expect("an id");
        let deleted = row[4].as_deref() == Some("true");
        assert!(
            rows.insert(id, (row[..4].to_vec(), deleted)).is_none(),
            "id {id} is in the warehouse twice"
        );
    }
    rows
}

/// Runs `tap | target` from `state`; with `kill_tap` set, SIGKILLs the tap (`Some(true)`) or
/// the target (`Some(false)`) once the target has printed `after` lines. Returns the target's
/// output and whether the kill landed before the run ended.
fn run(
    tap: &TapRun,
    target: &TargetRun,
    state: Option<&Value>,
    kill_tap: Option<bool>,
    after: usize,
) -> (RunOutput, bool) {
    let mut running = Pipeline::of(tap.sync_command(state), target.command()).start();
    let victim = match kill_tap {
        Some(true) => Some(running.tap.id()),
        Some(false) => Some(running.target.id()),
        None => None,
    };
    let mut stdout = Vec::new();
    let lines = BufReader::new(running.target.stdout.take().expect("stdout is piped")).lines();
    for (printed, line) in lines.enumerate() {
        stdout.extend_from_slice(line.expect("the target's stdout is UTF-8").as_bytes());
        stdout.push(b'\n');
        if let Some(pid) = victim
            && printed + 1 == after
        {
            // Still our child: it is waited for only in `finish`.
            let _ignored = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
    let mut output = running.finish();
    output.target.stdout = stdout;
    let killed = [&output.tap_status, &output.target.status]
        .iter()
        .any(|status| std::os::unix::process::ExitStatusExt::signal(*status) == Some(9));
    if !killed {
        output.assert_success();
    }
    (output.target, killed)
}

/// Snapshot, changes, a run killed part way, resumed runs until one completes; then the
/// warehouse is checked against the source.
fn killed_and_resumed(kill_tap: bool, server_id: u32) {
    let db = MysqlDatabase::with_sql(&format!(
        "create table t (id int primary key, name varchar(40), amount decimal(12,2), qty bigint); \
         insert into t select seq, concat('name ', seq), seq / 7, seq from seq_1_to_{INITIAL_ROWS}"
    ));
    let tap = TapRun::mysql(
        &db,
        json!({"select": [{"table": format!("{}.t", db.name), "replication_method": "LOG_BASED"}],
               "server_id": server_id}),
    );
    let (warehouse, target) = TargetRun::with_new_database(json!({"batch_size_rows": 1000}));

    let (snapshot, killed) = run(&tap, &target, None, None, 0);
    assert!(!killed);
    let mut state = emitted_states(&snapshot)
        .pop()
        .expect("the snapshot's state");
    let ids_before: Vec<i64> = warehouse_rows(&warehouse).into_keys().collect();
    assert_eq!(ids_before.len() as u64, INITIAL_ROWS);

    let script: String = (0..TRANSACTIONS).map(changes).collect();
    db.execute(&script);
    let mut ever: std::collections::BTreeSet<i64> = ids_before.into_iter().collect();
    ever.extend((1..=TRANSACTIONS * 100).map(|n| (INITIAL_ROWS + n) as i64));

    let side = if kill_tap { "tap" } else { "target" };
    let mut kills = 0;
    for attempt in 0.. {
        assert!(attempt < 10, "no run completed after {attempt} attempts");
        // The first two runs are killed after a few states; the next runs complete.
        let kill = (attempt < 2).then_some(kill_tap);
        let (output, killed) = run(&tap, &target, Some(&state), kill, 3);
        if let Some(last) = emitted_states(&output).pop() {
            state = last;
        }
        if !killed {
            break;
        }
        kills += 1;
    }
    assert!(kills >= 1, "the {side} was never killed part way");

    let source = source_rows(&db);
    let loaded = warehouse_rows(&warehouse);
    let live: Vec<&Row> = loaded
        .values()
        .filter(|(_, deleted)| !deleted)
        .map(|(row, _)| row)
        .collect();
    if let Some(at) =
        (0..source.len().max(live.len())).find(|&i| source.get(i) != live.get(i).copied())
    {
        panic!(
            "{side} killed: the warehouse's live rows differ from the source's ({} against {}), \
             first at position {at}: source {:?}, warehouse {:?}",
            live.len(),
            source.len(),
            source.get(at),
            live.get(at)
        );
    }
    // Every row that ever existed is there; those gone from the source are marked deleted.
    let loaded_ids: std::collections::BTreeSet<i64> = loaded.keys().copied().collect();
    assert_eq!(
        loaded_ids, ever,
        "{side} killed: rows missing from the warehouse"
    );
    let deleted = loaded.values().filter(|(_, deleted)| *deleted).count();
    assert_eq!(deleted, ever.len() - source.len(), "{side} killed");
}

#[test]
fn the_tap_killed_during_30000_changes_resumes_from_the_last_state() {
    killed_and_resumed(true, 301);
}

#[test]
fn the_target_killed_during_30000_changes_resumes_from_the_last_state() {
    killed_and_resumed(false, 302);
}
