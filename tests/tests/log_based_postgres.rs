//! LOG_BASED from PostgreSQL: a snapshot, then the changes the slot holds (pgoutput), loaded by
//! target-postgres; the warehouse compared with the source value for value after every run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use serde_json::{Map, Value, json};
use tests::fixtures::{PG_KINDS_ROWS, PG_KINDS_TABLE};
use tests::singer::records;
use tests::warehouse::{SCHEMA, emitted_states, query_rows};
use tests::{PgDatabase, Pipeline, PipelineOutput, TapRun, TargetRun};

/// A source database, a warehouse, and the state the target printed last.
struct Cdc {
    source: PgDatabase,
    warehouse: PgDatabase,
    tap: TapRun,
    target: TargetRun,
    state: Option<Value>,
}

impl Cdc {
    /// `sql` run at the source; `tables` (of schema public) selected LOG_BASED.
    fn new(sql: &str, tables: &[&str], target: Value) -> Self {
        let source = PgDatabase::with_sql(sql);
        let select: Vec<Value> = tables
            .iter()
            .map(|table| json!({"table": format!("public.{table}"), "replication_method": "LOG_BASED"}))
            .collect();
        let tap = TapRun::postgres(&source, json!({"select": select}));
        let warehouse = PgDatabase::new();
        let target = TargetRun::new(&warehouse, target);
        Self {
            source,
            warehouse,
            tap,
            target,
            state: None,
        }
    }

    /// One `tap | target` run from the last state; panics unless both succeed.
    fn run(&mut self) -> PipelineOutput {
        let output = self.tap.run_into(&self.target, self.state.as_ref());
        output.assert_success();
        eprintln!("--- tap stderr\n{}", output.tap_stderr);
        eprintln!("--- target stdout\n{}", output.target.stdout_text());
        if let Some(state) = emitted_states(&output.target).pop() {
            self.state = Some(state);
        }
        output
    }

    /// `columns` of `table`'s rows at the source, by `id`.
    fn source_rows(&self, table: &str, columns: &str) -> Vec<Vec<String>> {
        query_rows(
            &mut self.source.client(),
            &format!("select {columns} from public.{table} order by id"),
        )
    }

    /// The same of the warehouse's live (not deleted) rows.
    fn warehouse_rows(&self, table: &str, columns: &str) -> Vec<Vec<String>> {
        query_rows(
            &mut self.warehouse.client(),
            &format!(
                "select {columns} from {SCHEMA}.{table} where _sdc_deleted_at is null order by id"
            ),
        )
    }

    fn assert_same(&self, table: &str, columns: &str) {
        assert_eq!(
            self.warehouse_rows(table, columns),
            self.source_rows(table, columns),
            "table {table}: warehouse and source differ"
        );
    }

    fn lsn(&self, stream: &str) -> u64 {
        self.state.as_ref().expect("a state")["bookmarks"][stream]["lsn"]
            .as_u64()
            .unwrap_or_else(|| panic!("no lsn for {stream}: {:?}", self.state))
    }
}

const SHOP: &str = "create table items (id integer primary key, name text, price numeric(10,2)); \
                    create table notes (id bigint primary key, body text); \
                    insert into items values (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'fig', 9.99); \
                    insert into notes values (10, 'first');";

#[test]
fn a_snapshot_then_changes_then_nothing() {
    let mut cdc = Cdc::new(SHOP, &["items", "notes"], json!({}));
    cdc.run();
    cdc.assert_same("items", "id, name, price");
    cdc.assert_same("notes", "id, body");
    let after_snapshot = cdc.lsn("public-items");
    assert_eq!(
        cdc.lsn("public-notes"),
        after_snapshot,
        "one slot, one position"
    );

    cdc.source.execute(
        "insert into items values (4, 'kiwi', 0.75); \
         update items set price = 1.75 where id = 1; \
         delete from items where id = 2; \
         begin; insert into notes values (11, 'second'); update notes set body = 'first, edited' \
         where id = 10; insert into items values (5, 'plum', 3.00); commit;",
    );
    cdc.run();
    cdc.assert_same("items", "id, name, price");
    cdc.assert_same("notes", "id, body");
    let deleted = query_rows(
        &mut cdc.warehouse.client(),
        &format!("select id, name, _sdc_deleted_at is not null from {SCHEMA}.items where id = 2"),
    );
    assert_eq!(
        deleted,
        [["2", "pear", "t"]],
        "a delete is marked, values kept"
    );
    let after_changes = cdc.lsn("public-items");
    assert!(after_changes > after_snapshot);

    // Nothing changed: the run ends at once, sends no row, and the position holds.
    cdc.run();
    assert!(cdc.lsn("public-items") >= after_changes);
    cdc.assert_same("items", "id, name, price");
}

/// The records a tap run sent, by id (the last one of each id), without `_sdc_lsn`.
fn records_by_id(output: &tests::RunOutput) -> BTreeMap<i64, Map<String, Value>> {
    let messages = output.messages();
    records(&messages)
        .into_iter()
        .map(|record| {
            let mut record = record.clone();
            record.remove("_sdc_lsn");
            (record["id"].as_i64().expect("an integer id"), record)
        })
        .collect()
}

fn last_tap_state(output: &tests::RunOutput) -> Value {
    tests::singer::last_state(&output.messages())
}

#[test]
fn every_type_family_arrives_through_the_wal_as_the_full_table_path_sends_it() {
    let source = PgDatabase::with_sql(PG_KINDS_TABLE);
    let log = TapRun::postgres(
        &source,
        json!({"select": [{"table": "public.kinds", "replication_method": "LOG_BASED"}]}),
    );
    let snapshot = log.run(None);
    assert!(records_by_id(&snapshot).is_empty(), "the table is empty");
    let state = last_tap_state(&snapshot);
    // Inserted, and updated in place, after the snapshot: both through the WAL.
    source.execute(PG_KINDS_ROWS);
    source.execute("update kinds set label = label where id = 2");
    let changes = records_by_id(&log.run(Some(&state)));
    let full_table = TapRun::postgres(&source, json!({"select": ["public.kinds"]})).run(None);
    let expected = records_by_id(&full_table);
    assert_eq!(expected.len(), 3);
    for (id, record) in &expected {
        assert_eq!(
            changes.get(id).map(|r| Value::Object(r.clone())),
            Some(Value::Object(record.clone())),
            "row {id}: the WAL's record differs from the query's"
        );
    }
}

#[test]
fn added_columns_truncates_and_a_stream_selected_later() {
    let mut cdc = Cdc::new(SHOP, &["items"], json!({}));
    cdc.run();
    cdc.source.execute(
        "alter table items add column stock integer default 7; \
         insert into items values (6, 'lime', 0.50, 12); \
         update items set stock = 1 where id = 1",
    );
    // The default filled every older row without a change in the log: a new snapshot.
    let output = cdc.run();
    assert!(
        output.tap_stderr.contains("taking a new snapshot"),
        "{}",
        output.tap_stderr
    );
    cdc.assert_same("items", "id, name, price, stock");
    // A column added without a default is empty in every older row, as in the warehouse: its
    // values arrive with the changes that set them.
    cdc.source.execute("alter table items add column note text");
    let output = cdc.run();
    cdc.source
        .execute("update items set note = 'n' where id = 6");
    let output_after = cdc.run();
    for run in [&output, &output_after] {
        assert!(
            !run.tap_stderr.contains("new snapshot"),
            "{}",
            run.tap_stderr
        );
    }
    cdc.assert_same("items", "id, name, price, stock, note");

    // notes joins the slot: its snapshot, then its changes with the others'.
    cdc.tap = TapRun::postgres(
        &cdc.source,
        json!({"select": [
            {"table": "public.items", "replication_method": "LOG_BASED"},
            {"table": "public.notes", "replication_method": "LOG_BASED"}]}),
    );
    cdc.source
        .execute("insert into notes values (12, 'before the snapshot')");
    cdc.run();
    cdc.assert_same("notes", "id, body");
    cdc.source.execute(
        "insert into notes values (13, 'after'); truncate items; \
         insert into items values (100, 'new', 1.00, 0)",
    );
    cdc.run();
    cdc.assert_same("notes", "id, body");
    cdc.assert_same("items", "id, name, price, stock");
    let retired = query_rows(
        &mut cdc.warehouse.client(),
        &format!("select count(*) from {SCHEMA}.items where _sdc_deleted_at is not null"),
    );
    assert_eq!(
        retired,
        [["4"]],
        "the four truncated rows are marked deleted"
    );
}

#[test]
fn a_dropped_slot_means_a_new_snapshot_with_a_warning() {
    let mut cdc = Cdc::new(SHOP, &["items"], json!({}));
    cdc.run();
    let slot = format!("singer_{}", cdc.source.name);
    cdc.source.drop_replication_slot(&slot);
    cdc.source
        .execute("delete from items where id = 3; insert into items values (7, 'date', 4.00)");
    let output = cdc.run();
    assert!(
        output
            .tap_stderr
            .contains("no longer holds this stream's position"),
        "{}",
        output.tap_stderr
    );
    cdc.assert_same("items", "id, name, price");
    let slots = query_rows(
        &mut cdc.source.client(),
        &format!("select count(*) from pg_replication_slots where slot_name = '{slot}'"),
    );
    assert_eq!(slots, [["1"]], "the slot is there again");
}

#[test]
fn traffic_of_another_database_still_lets_the_run_finish_and_advance() {
    let mut cdc = Cdc::new(SHOP, &["items"], json!({}));
    cdc.run();
    let before = cdc.lsn("public-items");
    let busy = PgDatabase::with_sql(
        "create table churn (id integer, v text); \
         insert into churn select g, repeat('x', 100) from generate_series(1, 20000) g",
    );
    busy.execute("update churn set v = v || 'y'");
    cdc.run();
    assert!(
        cdc.lsn("public-items") > before,
        "the bookmark moves past WAL that holds nothing for it"
    );
    // The next run confirms that position: the slot releases the other database's WAL.
    cdc.run();
    let confirmed = query_rows(
        &mut cdc.source.client(),
        &format!(
            "select (confirmed_flush_lsn - '0/0')::text from pg_replication_slots \
             where slot_name = 'singer_{}'",
            cdc.source.name
        ),
    );
    assert!(
        confirmed
            .iter()
            .any(|row| row[0].parse::<u64>().unwrap() > before),
        "{confirmed:?}"
    );
}

#[test]
fn missing_rights_are_answered_with_the_sql_to_run() {
    let source = PgDatabase::with_sql(&format!(
        "{SHOP}; create role limited login password 'pw'; grant select on items to limited"
    ));
    let tap = TapRun::postgres(
        &source,
        json!({"user": "limited", "password": "pw",
               "select": [{"table": "public.items", "replication_method": "LOG_BASED"}]}),
    );
    let output = tap.run_with(&[]);
    output.assert_failure(&["create publication", "for table \"public\".\"items\""]);
    source.execute(&format!(
        "create publication \"singer_{0}\" for table items",
        source.name
    ));
    let output = tap.run_with(&[]);
    output.assert_failure(&[
        "alter role \"limited\" replication",
        "pg_create_logical_replication_slot",
    ]);
}

#[test]
fn an_unchanged_toasted_value_survives_an_update_of_another_column() {
    // 200 kB of hex: too big, and too random, to stay in the row: stored out of line (TOAST).
    let mut cdc = Cdc::new(
        "create table docs (id integer primary key, status text, body text); \
         insert into docs select 1, 'draft', string_agg(md5(g::text), '') \
         from generate_series(1, 6250) g",
        &["docs"],
        json!({}),
    );
    cdc.run();
    cdc.source
        .execute("update docs set status = 'published' where id = 1");
    let log = TapRun::postgres(
        &cdc.source,
        json!({"select": [{"table": "public.docs", "replication_method": "LOG_BASED"}]}),
    );
    let sent = records_by_id(&log.run(cdc.state.as_ref()));
    assert!(
        !sent[&1].contains_key("body"),
        "the log leaves the unchanged value out: {:?}",
        sent[&1].keys().collect::<Vec<_>>()
    );
    cdc.run();
    cdc.assert_same("docs", "id, status, md5(body), length(body)");
}

/// 30,000 changes in 300 transactions after the snapshot: inserts, updates of a third of the rows,
/// deletes of a seventh.
const CHANGES: &str = "do $$ begin \
      for i in 0..99 loop \
        insert into events select g, 0, 'n' || g from generate_series(i * 200 + 1, i * 200 + 200) g; \
        commit; \
      end loop; \
      for i in 0..99 loop \
        update events set n = n + 1 where id % 3 = 0 and id between i * 200 + 1 and i * 200 + 200; \
        commit; \
        delete from events where id % 7 = 0 and id between i * 200 + 1 and i * 200 + 200; \
        commit; \
      end loop; \
    end $$";

/// Kills one side of the pipe once the target has printed a few states, resumes from the last
/// one it printed, and checks the warehouse and the slot.
fn killed_part_way_then_resumed(kill_tap: bool) {
    let mut cdc = Cdc::new(
        "create table events (id integer primary key, n integer, note text)",
        &["events"],
        json!({"batch_size_rows": 500}),
    );
    cdc.run();
    cdc.source.execute(CHANGES);

    let mut running = Pipeline::of(
        cdc.tap.sync_command(cdc.state.as_ref()),
        cdc.target.command(),
    )
    .start();
    let stdout = running.target.stdout.take().expect("the target's stdout");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let state: Value = serde_json::from_str(&line.expect("a line")).expect("a state");
        printed.push(state);
        if printed.len() == 4 {
            break;
        }
    }
    let victim = if kill_tap {
        &mut running.tap
    } else {
        &mut running.target
    };
    victim.kill().expect("the kill");
    let output = running.finish();
    assert!(
        !output.tap_status.success() || !output.target.status.success(),
        "one side was killed"
    );
    // What the target printed, after the kill too (a killed tap lets it finish its input).
    printed.extend(emitted_states(&output.target));
    cdc.state = printed.pop();
    let resumed_from = cdc.lsn("public-events");
    assert!(
        slot_confirmed(&cdc) <= resumed_from,
        "the slot was confirmed past what the target printed"
    );

    let output = cdc.run();
    assert!(slot_confirmed(&cdc) <= cdc.lsn("public-events"));
    assert!(output.target.status.success());
    cdc.assert_same("events", "id, n, note");
    let deleted = query_rows(
        &mut cdc.warehouse.client(),
        &format!("select count(*) from {SCHEMA}.events where _sdc_deleted_at is not null"),
    );
    assert_eq!(
        deleted,
        [[(20_000 / 7).to_string()]],
        "every delete is marked"
    );
}

/// The slot's confirmed position.
fn slot_confirmed(cdc: &Cdc) -> u64 {
    let rows = query_rows(
        &mut cdc.source.client(),
        &format!(
            "select (confirmed_flush_lsn - '0/0')::text from pg_replication_slots \
             where slot_name = 'singer_{}'",
            cdc.source.name
        ),
    );
    rows[0][0].parse().expect("an LSN as a number")
}

#[test]
fn a_tap_killed_part_way_resumes_from_the_last_state_the_target_printed() {
    killed_part_way_then_resumed(true);
}

#[test]
fn a_target_killed_part_way_resumes_from_the_last_state_it_printed() {
    killed_part_way_then_resumed(false);
}

#[test]
fn a_partitioned_tables_changes_arrive_under_its_own_name() {
    const READINGS: &str = "create table readings (id integer primary key, v text) partition by range (id); \
         create table readings_low partition of readings for values from (0) to (1000); \
         create table readings_high partition of readings for values from (1000) to (2000); \
         insert into readings values (1, 'a'), (1500, 'b')";
    if PgDatabase::new().version_num() < 130_000 {
        // PostgreSQL 12 cannot put a partitioned table in a publication: the tap says so.
        let cdc = Cdc::new(READINGS, &["readings"], json!({}));
        let output = cdc.tap.run_into(&cdc.target, None);
        assert!(!output.tap_status.success());
        assert!(
            output
                .tap_stderr
                .contains("cannot publish a partitioned table"),
            "{}",
            output.tap_stderr
        );
        return;
    }
    let mut cdc = Cdc::new(READINGS, &["readings"], json!({}));
    cdc.run();
    cdc.source.execute(
        "insert into readings values (2, 'c'), (1600, 'd'); update readings set v = 'e' where id = 1; \
         delete from readings where id = 1500",
    );
    cdc.run();
    cdc.assert_same("readings", "id, v");
}

/// Identity and generated columns through the log: PostgreSQL 18 publishes stored generated
/// columns (the tap creates its publication with `publish_generated_columns = stored`), so the
/// warehouse follows their values; before 18 the log leaves them out, and on 18 it leaves out
/// virtual ones: the tap warns, and the warehouse keeps what the snapshot read while every other
/// column follows the source.
#[test]
fn identity_and_generated_columns_through_the_log() {
    let virtual_columns = PgDatabase::new().version_num() >= 180_000;
    let doubled = if virtual_columns {
        ", doubled integer generated always as (qty * 2) virtual"
    } else {
        ""
    };
    let mut cdc = Cdc::new(
        &format!(
            "create table orders (id integer generated always as identity primary key, \
                 ticket bigint generated by default as identity, qty integer, \
                 price numeric(10,2), total numeric generated always as (qty * price) stored\
                 {doubled}); \
             insert into orders (qty, price) values (2, 1.50), (3, 0.25);"
        ),
        &["orders"],
        json!({}),
    );
    cdc.run();
    cdc.assert_same("orders", "id, ticket, qty, price, total");
    if virtual_columns {
        cdc.assert_same("orders", "id, doubled");
    }
    cdc.source.execute(
        "insert into orders (ticket, qty, price) values (100, 1, 9.99); \
         update orders set qty = 4 where id = 1; delete from orders where id = 2;",
    );
    let output = cdc.run();
    // What the log leaves out: the virtual column on 18, the stored one before.
    let (followed, left_out, kept) = if virtual_columns {
        (
            "id, ticket, qty, price, total",
            "doubled",
            [["1", "4"], ["3", "NULL"]],
        )
    } else {
        (
            "id, ticket, qty, price",
            "total",
            [["1", "3.00"], ["3", "NULL"]],
        )
    };
    cdc.assert_same("orders", followed);
    assert_eq!(
        cdc.warehouse_rows("orders", &format!("id, {left_out}")),
        kept,
        "the snapshot's value, and none for a row inserted after it"
    );
    assert!(
        output.tap_stderr.contains("generated columns") && output.tap_stderr.contains(left_out),
        "{}",
        output.tap_stderr
    );
}

#[test]
fn max_run_seconds_ends_a_run_before_it_caught_up_and_the_next_run_goes_on() {
    let mut cdc = Cdc::new(SHOP, &["items"], json!({}));
    cdc.run();
    let before = cdc.lsn("public-items");
    cdc.source
        .execute("insert into items values (8, 'quince', 2.00), (9, 'lemon', 0.40)");
    let hurried = TapRun::postgres(
        &cdc.source,
        json!({"max_run_seconds": 0,
               "select": [{"table": "public.items", "replication_method": "LOG_BASED"}]}),
    );
    let output = hurried.run_into(&cdc.target, cdc.state.as_ref());
    output.assert_success();
    assert!(
        output.tap_stderr.contains("max_run_seconds reached"),
        "{}",
        output.tap_stderr
    );
    let state = emitted_states(&output.target).pop().expect("a state");
    assert_eq!(state["bookmarks"]["public-items"]["lsn"], json!(before));
    cdc.run();
    cdc.assert_same("items", "id, name, price");
}

#[test]
fn a_reader_waiting_on_a_slow_target_keeps_its_walsender() {
    // The walsender gives up on a client silent for 2 s; the target reads nothing for 6 s.
    let mut cdc = Cdc::new(
        "create table events (id integer primary key, n integer, note text); \
         create role patient login; grant select on events to patient; \
         alter role patient replication; alter role patient set wal_sender_timeout = '2s'",
        &["events"],
        json!({}),
    );
    cdc.tap = TapRun::postgres(
        &cdc.source,
        json!({"user": "patient",
               "select": [{"table": "public.events", "replication_method": "LOG_BASED"}]}),
    );
    let slot = format!("singer_{}", cdc.source.name);
    cdc.source
        .execute(&format!("create publication \"{slot}\" for table events"));
    // Alone: a slot cannot be made in a transaction that has written.
    cdc.source.execute(&format!(
        "select pg_create_logical_replication_slot('{slot}', 'pgoutput')"
    ));
    cdc.run();
    cdc.source.execute(CHANGES);
    let mut slow = std::process::Command::new("sh");
    slow.args(["-c", "sleep 6; cat > /dev/null"]);
    let output = Pipeline::of(cdc.tap.sync_command(cdc.state.as_ref()), slow).run();
    assert!(
        output.tap_status.success(),
        "the tap lost its walsender:\n{}",
        output.tap_stderr
    );
}

#[test]
fn a_lost_replication_connection_is_resumed_from_the_last_commit() {
    let mut cdc = Cdc::new(
        "create table events (id integer primary key, n integer, note text)",
        &["events"],
        json!({"batch_size_rows": 500}),
    );
    cdc.run();
    let started_from = cdc.lsn("public-events");
    cdc.source.execute(
        "do $$ begin for i in 0..199 loop \
           insert into events select g, i, repeat('x', 100) \
             from generate_series(i * 500 + 1, i * 500 + 500) g; \
           commit; \
         end loop; end $$",
    );
    let mut running = Pipeline::of(
        cdc.tap.sync_command(cdc.state.as_ref()),
        cdc.target.command(),
    )
    .start();
    let mut lines = BufReader::new(running.target.stdout.take().unwrap()).lines();
    let mut printed: Vec<Value> = Vec::new();
    while printed.len() < 3 {
        let line = lines.next().expect("the target prints states").unwrap();
        printed.push(serde_json::from_str(&line).unwrap());
    }
    // The walsender ends, as when a server restarts or a network drops the connection.
    cdc.source.execute(&format!(
        "select pg_terminate_backend(active_pid) from pg_replication_slots \
         where slot_name = 'singer_{}'",
        cdc.source.name
    ));
    for line in lines {
        printed.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
    let output = running.finish();
    output.assert_success();
    assert!(
        output
            .tap_stderr
            .contains("transient failure of the source"),
        "the retry is logged:\n{}",
        output.tap_stderr
    );
    assert_eq!(
        slot_confirmed(&cdc),
        started_from,
        "the new connection confirms only what the run started from"
    );
    cdc.state = printed.pop();
    cdc.assert_same("events", "id, n, note");
}
