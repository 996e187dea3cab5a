//! tap-mysql LOG_BASED: changes read from MariaDB's row-based binlog, from a state holding a
//! binlog position, piped into target-postgres and compared with the source value for value.
//!
//! Until the engine takes a snapshot first, a LOG_BASED stream whose bookmark has a binlog
//! position goes straight to the reader: each test reads the position (`show master status`)
//! after creating its table, makes its changes, and gives the tap a state with that position.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use common::Message;
use mysql::prelude::Queryable;
use serde_json::{Map, Value, json};
use tests::bin::write_json;
use tests::singer::{last_state, records, schema_message};
use tests::warehouse::{SCHEMA, emitted_states, query_text};
use tests::{MysqlDatabase, PgDatabase, TapRun, TargetRun};

/// `<db>.<table>` selected LOG_BASED (all columns), with the keys of `extra`, and a `server_id`
/// of its own: two readers with one id would cut each other off.
fn log_based(db: &MysqlDatabase, tables: &[&str], extra: Value) -> TapRun {
    static NEXT_SERVER_ID: AtomicU32 = AtomicU32::new(100);
    let server_id = NEXT_SERVER_ID.fetch_add(1, Ordering::Relaxed);
    let extra = tests::merged(json!({"server_id": server_id}), extra);
    let select: Vec<Value> = tables
        .iter()
        .map(|table| json!({"table": format!("{}.{table}", db.name), "replication_method": "LOG_BASED"}))
        .collect();
    TapRun::mysql(db, tests::merged(json!({"select": select}), extra))
}

/// The binlog's current end, as a bookmark.
fn binlog_position(db: &MysqlDatabase) -> Value {
    let (file, position) = db.binlog_end();
    json!({"log_file": file, "log_pos": position})
}

/// A state with every table of `tables` bookmarked at `position`.
fn state_at(db: &MysqlDatabase, tables: &[&str], position: &Value) -> Value {
    let bookmarks: Map<String, Value> = tables
        .iter()
        .map(|table| (format!("{}-{table}", db.name), position.clone()))
        .collect();
    json!({"bookmarks": bookmarks})
}

/// `select <columns> from <table> order by id` in the source, each value as MariaDB's text.
fn source_rows(db: &MysqlDatabase, sql: &str) -> Vec<Vec<Option<String>>> {
    db.conn()
        .query_map(sql, |row: mysql::Row| {
            (0..row.len())
                .map(|index| {
                    row.as_ref(index).and_then(|value| match value {
                        mysql::Value::NULL => None,
                        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into()),
                        other => Some(other.as_sql(true)),
                    })
                })
                .collect()
        })
        .unwrap()
}

fn run_pipeline(tap: &TapRun, target: &TargetRun, state: &Value) -> Vec<Value> {
    let output = tap.run_into(target, Some(state));
    output.assert_success();
    emitted_states(&output.target)
}

#[test]
fn inserts_updates_and_deletes_arrive_and_a_quiet_run_still_ends() {
    let db = MysqlDatabase::with_sql(
        "create table orders (id int primary key, item varchar(20), qty int); \
         create table other (id int primary key)",
    );
    let start = binlog_position(&db);
    db.execute(
        "insert into orders values (1, 'apple', 1), (2, 'pear', 2), (3, 'plum', 3); \
         update orders set qty = 20 where id = 2; \
         delete from orders where id = 3; \
         start transaction; \
         insert into orders values (4, 'fig', 4); update orders set item = 'APPLE' where id = 1; \
         insert into other values (1); \
         commit;",
    );
    let tap = log_based(&db, &["orders"], json!({}));
    let state = state_at(&db, &["orders"], &start);

    // The tap alone: records in commit order, the delete with the old row and a deletion time,
    // STATE only between transactions.
    let output = tap.run(Some(&state));
    let messages = output.messages();
    let rows: Vec<&Map<String, Value>> = records(&messages);
    let shown: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{}:{}{}",
                r["id"],
                r["item"],
                r["qty"],
                if r.contains_key("_sdc_deleted_at") {
                    ":deleted"
                } else {
                    ""
                }
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "1:\"apple\":1",
            "2:\"pear\":2",
            "3:\"plum\":3",
            "2:\"pear\":20",
            "3:\"plum\":3:deleted",
            "4:\"fig\":4",
            "1:\"APPLE\":1"
        ]
    );
    let deleted_at = rows[4]["_sdc_deleted_at"].as_str().unwrap();
    assert!(
        deleted_at.len() == 27 && deleted_at.ends_with(".000000Z") && deleted_at.contains('T'),
        "{deleted_at}"
    );
    // No STATE between the two records of the transaction.
    let kinds: Vec<&str> = messages
        .iter()
        .map(|m| match m {
            Message::Record(_) => "R",
            Message::State(_) => "S",
            Message::Schema(_) => "H",
            _ => "?",
        })
        .collect();
    let text = kinds.concat();
    let records_at: Vec<usize> = text.match_indices('R').map(|(at, _)| at).collect();
    assert_eq!(
        records_at[6],
        records_at[5] + 1,
        "a STATE inside the transaction: {text}"
    );
    assert!(text.ends_with('S'), "{text}");
    let committed = last_state(&messages);
    let bookmark = &committed["bookmarks"][format!("{}-orders", db.name)];
    assert_eq!(bookmark["log_file"], start["log_file"]);
    assert!(bookmark["log_pos"].as_u64() > start["log_pos"].as_u64());
    let gtid = bookmark["gtid"]
        .as_str()
        .expect("MariaDB positions carry GTIDs");
    assert!(gtid.split(',').all(|g| g.split('-').count() == 3), "{gtid}");

    // Into the warehouse: soft deletes by default.
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({}));
    let states = run_pipeline(&tap, &target, &state);
    let last = states.last().expect("the target printed states").clone();
    let mut client = warehouse.client();
    let arrived = query_text(
        &mut client,
        &format!(
            "select id::text, item, qty::text, (_sdc_deleted_at is not null)::text \
             from {SCHEMA}.orders order by id"
        ),
    );
    let live = source_rows(&db, "select id, item, qty, 'false' from orders order by id");
    let mut expected = live.clone();
    expected.insert(
        2,
        vec![
            Some("3".into()),
            Some("plum".into()),
            Some("3".into()),
            Some("true".into()),
        ],
    );
    assert_eq!(arrived, expected);

    // No change since: the run ends at once, the bookmark stays where it is.
    let quiet = tap.run(Some(&last));
    let quiet_messages = quiet.messages();
    assert!(records(&quiet_messages).is_empty());
    let quiet_state = last_state(&quiet_messages);
    assert_eq!(
        quiet_state["bookmarks"][format!("{}-orders", db.name)]["log_pos"],
        last["bookmarks"][format!("{}-orders", db.name)]["log_pos"]
    );

    // Changes to other tables only: the bookmark moves past them, no record is sent.
    db.execute("insert into other values (2), (3)");
    let moved = tap.run(Some(&last));
    let moved_messages = moved.messages();
    assert!(records(&moved_messages).is_empty());
    let moved_state = last_state(&moved_messages);
    assert!(
        moved_state["bookmarks"][format!("{}-orders", db.name)]["log_pos"].as_u64()
            > last["bookmarks"][format!("{}-orders", db.name)]["log_pos"].as_u64()
    );

    // Hard deletes: the row leaves the warehouse.
    db.execute("delete from orders where id = 4");
    let hard = TargetRun::new(&warehouse, json!({"hard_delete": true}));
    run_pipeline(&tap, &hard, &moved_state);
    let ids = query_text(
        &mut client,
        &format!("select id::text from {SCHEMA}.orders order by id"),
    );
    assert_eq!(
        ids,
        [
            [Some("1".to_owned())],
            [Some("2".to_owned())],
            [Some("3".to_owned())]
        ]
    );
}

#[test]
fn a_large_multi_row_delete_streams_through() {
    let db =
        MysqlDatabase::with_sql("create table events (id int primary key, payload varchar(200))");
    let start = binlog_position(&db);
    db.execute(
        "insert into events \
         select seq, repeat('x', 200) from seq_1_to_20000; \
         delete from events where id <= 15000",
    );
    let tap = log_based(&db, &["events"], json!({}));
    let state = state_at(&db, &["events"], &start);
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({"hard_delete": true}));
    let states = run_pipeline(&tap, &target, &state);
    assert!(!states.is_empty());
    let mut client = warehouse.client();
    let counts = query_text(
        &mut client,
        &format!("select count(*)::text, min(id)::text from {SCHEMA}.events"),
    );
    assert_eq!(
        counts,
        [[Some("5000".to_owned()), Some("15001".to_owned())]]
    );
}

#[test]
fn a_column_added_during_the_run_is_announced_before_its_first_record() {
    let db = MysqlDatabase::with_sql("create table t (id int primary key, v varchar(10))");
    // The catalog as discovered now, before the column exists.
    let tap = log_based(&db, &["t"], json!({}));
    let mut catalog = tap.discover();
    for entry in catalog["streams"].as_array_mut().unwrap() {
        for metadata in entry["metadata"].as_array_mut().unwrap() {
            if metadata["breadcrumb"] == json!([]) {
                metadata["metadata"]["selected"] = json!(true);
                metadata["metadata"]["replication-method"] = json!("LOG_BASED");
            }
        }
    }
    let catalog_path = write_json(tap.dir.path(), "catalog.json", &catalog);
    let start = binlog_position(&db);
    db.execute(
        "insert into t values (1, 'a'); \
         alter table t add column note varchar(20) default 'none', add column n int; \
         insert into t values (2, 'b', 'added', 7); \
         update t set v = 'A' where id = 1",
    );
    let state = write_json(tap.dir.path(), "state.json", &state_at(&db, &["t"], &start));
    let output = tap.run_with(&["--catalog", &catalog_path, "--state", &state]);
    output.assert_success();
    let messages = output.messages();
    let order: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Schema(s) => Some(format!(
                "schema:{}",
                s.schema["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            Message::Record(r) => Some(format!(
                "record:{}",
                r.record.keys().cloned().collect::<Vec<_>>().join(",")
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            "schema:id,v,_sdc_deleted_at",
            "record:id,v",
            "schema:id,v,note,n,_sdc_deleted_at",
            "record:id,v,note,n",
            "record:id,v,note,n"
        ]
    );
    let schema = &schema_message(&messages, "t").schema;
    assert!(schema["properties"].get("id").is_some());
    let last = records(&messages)[2];
    assert_eq!(last["note"], json!("none"));
    let second = records(&messages)[1];
    assert_eq!(second["note"], json!("added"));
    assert_eq!(second["n"], json!(7));

    // Into the warehouse, and then a column added between runs (discovery sees it).
    let warehouse = PgDatabase::new();
    let target = TargetRun::new(&warehouse, json!({}));
    let output = pipeline_with_catalog(&tap, &target, &catalog_path, &state);
    let last_state = output.last().unwrap().clone();
    db.execute("alter table t add column extra int; insert into t values (3, 'c', 'x', 1, 9)");
    run_pipeline(&tap, &target, &last_state);
    let mut client = warehouse.client();
    let arrived = query_text(
        &mut client,
        &format!("select id::text, v, note, n::text, extra::text from {SCHEMA}.t order by id"),
    );
    assert_eq!(
        arrived,
        source_rows(&db, "select id, v, note, n, extra from t order by id")
    );
}

/// `tap --catalog … --state … | target`; the states the target printed.
fn pipeline_with_catalog(
    tap: &TapRun,
    target: &TargetRun,
    catalog: &str,
    state: &str,
) -> Vec<Value> {
    let output = tests::Pipeline::of(
        tap.command(&["--catalog", catalog, "--state", state]),
        target.command(),
    )
    .run();
    output.assert_success();
    emitted_states(&output.target)
}

/// One column per MySQL type family, edge values first.
const KINDS: &str = "create table kinds (
    id int primary key,
    ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned, mi mediumint,
    miu mediumint unsigned, i int, iu int unsigned, bi bigint, biu bigint unsigned,
    intz int(5) zerofill, flag tinyint(1), y year,
    d65 decimal(65,30), d12 decimal(12,2), dz decimal(6,2) zerofill, f float, d double,
    b1 bit(1), b12 bit(12), b64 bit(64),
    vc varchar(64), ch char(5), tx text, vb varbinary(8), bn binary(3), bl blob,
    dt date, dtm datetime(6), ts timestamp(6) null, tm time, tm6 time(6),
    e enum('new','it''s','paid'), s set('a','b','c'), j json
) default charset = utf8mb4";

const KINDS_ROWS: &str = "
insert into kinds values
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615, 42, 1, 2155,
  12345678901234567890123456789012345.123456789012345678901234567890, 1.1, 1.5,
  123456789, 1.7976931348623157e308,
  b'1', b'100000000001', 18446744073709551615,
  'Grüße 🦀 \"q\" \\\\ tab\there', 'ab', repeat('long ', 50), x'deadbeef', x'01', x'00ff',
  '2026-11-21', '9999-12-31 23:59:59.999999', '2026-06-01 12:00:00.25', '-838:59:59',
  '838:59:59.5', 'paid', 'a,c', '{\"a\": [1, 2.5, null], \"b\": {\"c\": \"ü\"}}'),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0,
  9223372036854775807, 0, 0, 0, 1901,
  -12345678901234567890123456789012345.123456789012345678901234567890, -0.01, 0, -1.5e-10,
  2.5e-300, b'0', b'0', 0,
  '', '', '', x'', x'', x'',
  '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '00:00:00', '-00:00:00.5',
  'new', '', '[]'),
 (3, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0.1, 0.1, b'1', b'1', 1,
  'x', 'x', 'x', x'00', x'000000', x'00', '2026-01-01', '2026-01-01 00:00:00',
  '2026-01-01 03:00:00', '25:00:00', '100:00:00.000001', 'it''s', 'b', '\"text\"'),
 (4, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, null, null);
update kinds set f = 3.40282e38, d = 1e15, tx = 'updated ☃', j = '{\"k\": 1}' where id = 2;
update kinds set ts = '2038-01-19 03:14:07.999999', y = 1999, e = 'new' where id = 3;
insert into kinds (id, dt, dtm, ts) values (5, '0000-00-00', '0000-00-00 00:00:00', 0);
";

#[test]
fn values_from_the_binlog_equal_the_full_table_values_type_for_type() {
    let db = MysqlDatabase::with_sql(KINDS);
    let start = binlog_position(&db);
    // Written in a session three hours east of UTC: TIMESTAMP values are instants.
    let mut conn = db.conn();
    conn.query_drop("set session time_zone = '+03:00', session sql_mode = ''")
        .unwrap();
    conn.query_drop(KINDS_ROWS).unwrap();
    let mut floats = String::from("insert into kinds (id, f, d) values ");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for id in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let double = f64::from_bits(seed & !(0x7ff << 52) | ((seed % 700 + 700) << 52));
        let float = (seed % 1_000_000) as f32 / 7.0 * 10f32.powi((seed % 31) as i32 - 15);
        if id > 0 {
            floats.push(',');
        }
        floats.push_str(&format!("({}, {float:e}, {double:e})", 100 + id));
    }
    conn.query_drop(floats).unwrap();

    let binlog = log_based(&db, &["kinds"], json!({}));
    let full = TapRun::mysql(
        &db,
        json!({"select": [format!("{}.kinds", db.name)], "default_replication_method": "FULL_TABLE"}),
    );

    // The RECORDs: the last binlog record of each row equals its FULL_TABLE record, text for
    // text (numbers keep the digits they were written with).
    let state = state_at(&db, &["kinds"], &start);
    let from_binlog: BTreeMap<String, Map<String, Value>> =
        records(&binlog.run(Some(&state)).messages())
            .into_iter()
            .map(|r| (r["id"].to_string(), r.clone()))
            .collect();
    let from_table: BTreeMap<String, Map<String, Value>> = records(&full.run(None).messages())
        .into_iter()
        .map(|r| (r["id"].to_string(), r.clone()))
        .collect();
    assert_eq!(from_binlog.len(), from_table.len());
    for (id, expected) in &from_table {
        let arrived = &from_binlog[id];
        for (column, value) in expected {
            assert_eq!(
                arrived[column].to_string(),
                value.to_string(),
                "row {id}, column {column}"
            );
        }
        assert_eq!(arrived.len(), expected.len(), "row {id}");
    }

    // In the warehouse: the same table loaded both ways holds the same values.
    let warehouse = PgDatabase::new();
    run_pipeline(
        &binlog,
        &TargetRun::new(&warehouse, json!({"default_target_schema": "from_binlog"})),
        &state,
    );
    let output = full.run_into(
        &TargetRun::new(&warehouse, json!({"default_target_schema": "full_table"})),
        None,
    );
    output.assert_success();
    let mut client = warehouse.client();
    client.batch_execute("set timezone = 'UTC'").unwrap();
    let columns: Vec<String> = query_text(
        &mut client,
        "select column_name from information_schema.columns \
         where table_schema = 'full_table' and table_name = 'kinds' \
         and column_name not like '\\_sdc\\_%' order by ordinal_position",
    )
    .into_iter()
    .map(|row| row[0].clone().unwrap())
    .collect();
    assert!(columns.len() > 30, "{columns:?}");
    let list: Vec<String> = columns.iter().map(|c| format!("{c}::text")).collect();
    let mut read = |schema: &str| {
        query_text(
            &mut client,
            &format!("select {} from {schema}.kinds order by id", list.join(", ")),
        )
    };
    let expected = read("full_table");
    assert_eq!(read("from_binlog"), expected);
    let types = |schema: &str| {
        query_text(
            &mut warehouse.client(),
            &format!(
                "select column_name, data_type from information_schema.columns \
                 where table_schema = '{schema}' and table_name = 'kinds' \
                 and column_name not like '\\_sdc\\_%' order by column_name"
            ),
        )
    };
    assert_eq!(types("from_binlog"), types("full_table"));
}

/// Each record of a run as `id:v`, deletes marked.
fn shown_records(output: &tests::RunOutput) -> Vec<String> {
    records(&output.messages())
        .iter()
        .map(|r| {
            let deleted = if r.contains_key("_sdc_deleted_at") {
                ":deleted"
            } else {
                ""
            };
            format!("{}:{}{deleted}", r["id"], r["v"].as_str().unwrap_or("null"))
        })
        .collect()
}

#[test]
fn a_run_resumes_from_a_mariadb_gtid_position_alone() {
    let db = MysqlDatabase::with_sql(
        "create table g (id int primary key, v varchar(10)); insert into g values (1, 'a')",
    );
    let stream = format!("{}-g", db.name);
    let tap = log_based(&db, &["g"], json!({}));
    let snapshot = tap.run(None);
    snapshot.assert_success();
    assert_eq!(shown_records(&snapshot), ["1:a"]);
    let state = last_state(&snapshot.messages());
    db.execute(
        "insert into g values (2, 'b'); update g set v = 'A' where id = 1; \
         start transaction; delete from g where id = 2; insert into g values (3, 'c'); commit",
    );
    let changes = ["2:b", "1:A", "2:b:deleted", "3:c"];

    // The state of a promoted replica's old primary: only the GTID position means anything.
    let mut gtid_only = state.clone();
    let bookmark = gtid_only["bookmarks"][&stream].as_object_mut().unwrap();
    assert!(bookmark["gtid"].is_string(), "{bookmark:?}");
    bookmark.remove("log_file");
    bookmark.remove("log_pos");
    let resumed = tap.run(Some(&gtid_only));
    resumed.assert_success();
    assert_eq!(shown_records(&resumed), changes, "{}", resumed.stderr);
    let after = last_state(&resumed.messages());
    let written = &after["bookmarks"][&stream];
    assert_eq!(written["last_replication_method"], "LOG_BASED");
    assert!(
        written["log_file"].is_string() && written["log_pos"].is_u64(),
        "{written}"
    );
    let quiet = tap.run(Some(&after));
    quiet.assert_success();
    assert!(
        shown_records(&quiet).is_empty(),
        "nothing after the resumed run's end"
    );
    assert_eq!(
        last_state(&quiet.messages())["bookmarks"][&stream]["gtid"],
        written["gtid"]
    );

    // A file and offset that are not this server's for the GTID position (another server's
    // file of the same name): the GTID position wins, not the earlier offset.
    let mut elsewhere = state.clone();
    elsewhere["bookmarks"][&stream]["log_pos"] = json!(4);
    let resumed = tap.run(Some(&elsewhere));
    resumed.assert_success();
    assert_eq!(shown_records(&resumed), changes, "{}", resumed.stderr);

    // Both present and consistent: file and offset, exactly the changes too.
    let resumed = tap.run(Some(&state));
    resumed.assert_success();
    assert_eq!(shown_records(&resumed), changes);

    // A GTID position the server has not reached: not this server's, a new snapshot.
    let mut ahead = gtid_only.clone();
    ahead["bookmarks"][&stream]["gtid"] = json!("0-1-999999999");
    let again = tap.run(Some(&ahead));
    again.assert_success();
    assert_eq!(shown_records(&again), ["1:A", "3:c"]);
    assert!(
        again.stderr.contains("taking a new snapshot"),
        "{}",
        again.stderr
    );
}
