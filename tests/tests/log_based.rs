//! The engine's LOG_BASED flow, the same for both taps: the other streams first; then each
//! LOG_BASED stream's snapshot (a versioned full-table sync from a log position taken first, its
//! bookmark saying FULL_TABLE until it is done), then the log for all of them, with STATE at
//! commits only; a second run reads only the changes, as records of the same version.

use common::Message;
use serde_json::{Value, json};
use tests::singer::records;
use tests::{MysqlDatabase, PgDatabase, RunOutput, TapRun};

const TABLES: &str = "create table plain (id integer primary key, v text); \
                      create table changing (id integer primary key, v text); \
                      insert into plain values (1, 'a'), (2, 'b'); \
                      insert into changing values (1, 'c');";

/// Both tables selected, `changing` LOG_BASED, listed first.
fn select(namespace: &str) -> Value {
    json!({"select": [
        {"table": format!("{namespace}.changing"), "replication_method": "LOG_BASED"},
        format!("{namespace}.plain"),
    ], "default_replication_method": "FULL_TABLE"})
}

/// The stream of each RECORD, and its id, in order.
fn sent(output: &RunOutput) -> Vec<(String, i64)> {
    output
        .messages()
        .iter()
        .filter_map(|message| match message {
            Message::Record(record) => {
                Some((record.stream.clone(), record.record["id"].as_i64().unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// Runs the flow on a database holding [`TABLES`]; `change` runs SQL at the source; `position`
/// names the bookmark keys of the log position.
fn snapshot_then_changes(tap: &TapRun, change: impl Fn(&str), changing: &str, position: &str) {
    let first = tap.run(None);
    assert_eq!(
        sent(&first),
        [
            ("plain".to_owned(), 1),
            ("plain".to_owned(), 2),
            ("changing".to_owned(), 1)
        ],
        "FULL_TABLE streams first, then the LOG_BASED stream's snapshot"
    );
    let messages = first.messages();
    let snapshot_states: Vec<&Value> = messages
        .iter()
        .filter_map(|message| match message {
            Message::State(state) => Some(&state.value["bookmarks"][changing]),
            _ => None,
        })
        .filter(|bookmark| bookmark["last_replication_method"] == "FULL_TABLE")
        .collect();
    assert!(
        snapshot_states
            .iter()
            .all(|bookmark| bookmark.get(position).is_some()),
        "the position is taken before the snapshot and kept while it runs: {snapshot_states:?}"
    );
    let state = tests::singer::last_state(&messages);
    let bookmark = &state["bookmarks"][changing];
    assert_eq!(bookmark["last_replication_method"], "LOG_BASED");
    assert!(bookmark.get(position).is_some(), "{bookmark}");
    let version = bookmark["version"]
        .as_u64()
        .expect("the snapshot's version");

    change("insert into changing values (2, 'd'); delete from changing where id = 1");
    let second = tap.run(Some(&state));
    let messages = second.messages();
    let log_records: Vec<&common::message::RecordMessage> = messages
        .iter()
        .filter_map(|message| match message {
            Message::Record(record) if record.stream == "changing" => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(
        log_records.len(),
        2,
        "only the changes: {:?}",
        records(&messages)
    );
    assert!(
        log_records
            .iter()
            .all(|record| record.version == Some(version)),
        "log records carry the snapshot's version"
    );
    assert_eq!(log_records[0].record["id"], json!(2));
    assert!(log_records[1].record["_sdc_deleted_at"].is_string());
    assert_eq!(
        sent(&second)
            .iter()
            .filter(|(stream, _)| stream == "plain")
            .count(),
        2,
        "the FULL_TABLE stream is read whole again"
    );
}

#[test]
fn tap_postgres_snapshots_then_follows_the_log() {
    let db = PgDatabase::with_sql(TABLES);
    let tap = TapRun::postgres(&db, select("public"));
    snapshot_then_changes(&tap, |sql| db.execute(sql), "public-changing", "lsn");
}

#[test]
fn tap_mysql_snapshots_then_follows_the_log() {
    let db = MysqlDatabase::with_sql(TABLES);
    let tap = TapRun::mysql(
        &db,
        json!({"select": select(&db.name)["select"], "default_replication_method": "FULL_TABLE",
               "server_id": 7001}),
    );
    snapshot_then_changes(
        &tap,
        |sql| db.execute(sql),
        &format!("{}-changing", db.name),
        "log_file",
    );
}
