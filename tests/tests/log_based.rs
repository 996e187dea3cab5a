//! LOG_BASED streams go through the engine's log phase, after every other stream. When that phase
//! cannot run (a tap without a log reader; a stream with no log position to start from), it stops
//! the run with a clear error, after the other streams were synced and their STATE written.

use common::Message;
use serde_json::{Value, json};
use tests::singer::records;
use tests::{MysqlDatabase, PgDatabase, RunOutput, TapRun};

const TABLES: &str = "create table plain (id integer primary key, v text); \
                      create table changing (id integer primary key, v text); \
                      insert into plain values (1, 'a'), (2, 'b'); \
                      insert into changing values (1, 'c');";

/// Both tables selected, `changing` LOG_BASED, listed first so the run meets it first.
fn select(namespace: &str) -> Value {
    json!({"select": [
        {"table": format!("{namespace}.changing"), "replication_method": "LOG_BASED"},
        format!("{namespace}.plain"),
    ], "default_replication_method": "FULL_TABLE"})
}

fn assert_log_phase_unavailable(output: &RunOutput, plain: &str, reason: &str) {
    output.assert_failure(&[reason]);
    let messages = output.messages();
    let ids: Vec<&Value> = records(&messages).iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [&json!(1), &json!(2)],
        "only the FULL_TABLE stream's rows"
    );
    let Some(Message::State(last)) = messages.last() else {
        panic!("the FULL_TABLE stream's STATE comes before the failure")
    };
    let bookmark = &last.value["bookmarks"][plain];
    assert_eq!(bookmark["last_replication_method"], "FULL_TABLE");
    assert!(bookmark["version"].is_u64(), "{bookmark}");
    assert!(
        bookmark.get("last_pk_fetched").is_none(),
        "the FULL_TABLE sync is finished: {bookmark}"
    );
    assert!(
        !messages
            .iter()
            .any(|m| matches!(m, Message::Record(r) if r.stream == "changing")),
        "nothing of the LOG_BASED stream is sent"
    );
}

#[test]
fn tap_postgres_syncs_other_streams_then_stops_at_the_log_phase() {
    let db = PgDatabase::with_sql(TABLES);
    let tap = TapRun::postgres(&db, select("public"));
    assert_log_phase_unavailable(
        &tap.run_with(&[]),
        "public-plain",
        "LOG_BASED replication is not available yet",
    );
}

#[test]
fn tap_mysql_syncs_other_streams_then_stops_at_a_stream_without_a_position() {
    let db = MysqlDatabase::with_sql(TABLES);
    let tap = TapRun::mysql(&db, select(&db.name));
    // Until the engine takes a snapshot first, a stream without a binlog position has nowhere
    // to start reading from.
    assert_log_phase_unavailable(
        &tap.run_with(&[]),
        &format!("{}-plain", db.name),
        "its bookmark has no binlog position",
    );
}
