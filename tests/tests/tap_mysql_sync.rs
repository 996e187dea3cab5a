//! tap-mysql sync on MariaDB: full table with versions and a resume after a kill, incremental
//! across runs with state, and column selection.

use common::Message;
use serde_json::{Value, json};
use tests::singer::{last_state, record_keys, records};
use tests::{MysqlDatabase, TapRun};

#[test]
fn full_table_resumes_after_a_kill_and_covers_the_table_once() {
    let db = MysqlDatabase::with_sql(
        "create table events (region varchar(8), seq int, payload decimal(20,5), secret text,
                              primary key (region, seq));
         insert into events
             select r.region, s.seq, s.seq * 1.5, 'x'
             from (select 'eu' as region union all select 'us') r
             cross join (select seq from seq_1_to_20000) s;",
    );
    let id = format!("{}-events", db.name);
    let tap = TapRun::mysql(
        &db,
        json!({"select": [format!("{}.events.*", db.name), format!("!{}.events.secret", db.name)],
               "state_every_rows": 1000}),
    );
    let keys = |messages: &[Message]| record_keys(messages, "region", "seq");
    let full = tap.run(None).messages();
    let all = keys(&full);
    assert_eq!(all.len(), 40_000);
    assert!(records(&full).iter().all(|r| !r.contains_key("secret")));
    assert_eq!(records(&full)[2]["payload"].to_string(), "4.50000");
    let Some(Message::ActivateVersion(opening)) = full
        .iter()
        .find(|m| matches!(m, Message::ActivateVersion(_)))
    else {
        panic!("a first sync opens with ACTIVATE_VERSION")
    };

    let before = tap.run_until_killed(|m| {
        matches!(m, Message::State(s) if s.value["bookmarks"][&id]["last_pk_fetched"]["seq"] == json!(2000))
    });
    let interrupted = last_state(&before);
    assert_eq!(
        interrupted["bookmarks"][&id]["last_pk_fetched"],
        json!({"region": "eu", "seq": 2000})
    );
    assert_eq!(
        interrupted["bookmarks"][&id]["max_pk_values"],
        json!({"region": "us", "seq": 20000})
    );
    db.execute("insert into events values ('zz', 1, 0, 'later')");
    let resumed = tap.run(Some(&interrupted)).messages();
    let first = keys(&before);
    let rest = keys(&resumed);
    assert_eq!((first.len(), rest.len()), (2000, 38_000));
    let union: Vec<(String, i64)> = first.into_iter().chain(rest).collect();
    assert_eq!(
        union, all,
        "the two runs cover the table once, in key order"
    );
    let version = interrupted["bookmarks"][&id]["version"].as_u64();
    assert!(version > Some(opening.version));
    assert!(resumed.iter().all(|m| match m {
        Message::Record(r) => r.version == version,
        _ => true,
    }));
    let end = last_state(&resumed);
    assert!(end["bookmarks"][&id].get("last_pk_fetched").is_none());
    assert_eq!(end["currently_syncing"], Value::Null);
}

#[test]
fn incremental_runs_send_changes_since_the_bookmark() {
    let db = MysqlDatabase::with_sql("create table orders (id int primary key, status varchar(16), updated_at datetime(6), key (updated_at));
         insert into orders select seq, 'new', '2026-01-01 00:00:00' + interval seq minute from seq_1_to_50;
         insert into orders values (51, 'tie', '2026-01-01 00:50:00');");
    let id = format!("{}-orders", db.name);
    let tap = TapRun::mysql(
        &db,
        json!({"select": [{"table": format!("{}.orders", db.name),
                           "replication_method": "INCREMENTAL", "replication_key": "updated_at"}],
               "state_every_rows": 20}),
    );
    let first = tap.run(None);
    assert!(!first.stderr.contains("has no index"), "{}", first.stderr);
    let first = first.messages();
    assert_eq!(records(&first).len(), 51);
    let state = last_state(&first);
    assert_eq!(
        state["bookmarks"][&id]["replication_key_value"],
        "2026-01-01T00:50:00.000000Z"
    );
    db.execute("update orders set status = 'paid', updated_at = '2026-01-02 00:00:00' where id = 3;
         insert into orders values (52, 'new', '2026-01-03 00:00:00'), (53, 'late tie', '2026-01-01 00:50:00');");
    let second = tap.run(Some(&state)).messages();
    let rows = records(&second);
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [3, 50, 51, 52, 53]);
    assert_eq!(
        rows.iter().find(|r| r["id"] == 3).unwrap()["status"],
        "paid"
    );
    assert_eq!(
        last_state(&second)["bookmarks"][&id]["replication_key_value"],
        "2026-01-03T00:00:00.000000Z"
    );
}

#[test]
fn incremental_keys_of_every_orderable_kind() {
    let db = MysqlDatabase::new();
    let cases = [
        (
            "bigint unsigned",
            "10",
            "18446744073709551615",
            "18446744073709551615",
        ),
        (
            "decimal(30,10)",
            "1.5",
            "123456789012345678.0123456789",
            "123456789012345678.0123456789",
        ),
        ("date", "'2026-01-01'", "'2026-02-01'", r#""2026-02-01""#),
        ("varchar(10)", "'apple'", "'banana'", r#""banana""#),
        (
            "timestamp(3) null",
            "'2026-01-01 10:00'",
            "'2026-01-01 11:00:00.5'",
            r#""2026-01-01T11:00:00.500000Z""#,
        ),
    ];
    for (index, (column_type, low, high, expected)) in cases.into_iter().enumerate() {
        let table = format!("k{index}");
        db.execute(&format!(
            "create table {table} (id int primary key, k {column_type});
             insert into {table} values (1, {low}), (2, {high});"
        ));
        let tap = TapRun::mysql(
            &db,
            json!({"select": [{"table": format!("{}.{table}", db.name),
                               "replication_method": "INCREMENTAL", "replication_key": "k"}]}),
        );
        let first = tap.run(None);
        assert!(first.stderr.contains("has no index"), "{}", first.stderr);
        let first = first.messages();
        assert_eq!(records(&first).len(), 2, "{column_type}");
        let state = last_state(&first);
        let value = &state["bookmarks"][format!("{}-{table}", db.name)]["replication_key_value"];
        assert_eq!(value.to_string(), expected, "{column_type}");
        let second = tap.run(Some(&state)).messages();
        let ids: Vec<i64> = records(&second)
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            ids,
            [2],
            "{column_type}: only the row at the bookmark again"
        );
    }
}
