//! tap-mysql LOG_BASED on a server that cannot serve it: a statement-format binlog, a user
//! without the replication grants, a purged position. Each stops the run with what to do.
//!
//! The checks change global settings and purge the binlog, so they run one after another in one
//! test, in a test binary (and so a server) of their own.

use mysql::prelude::Queryable;
use serde_json::{Value, json};
use tests::{MysqlDatabase, TapRun};

fn log_based(db: &MysqlDatabase, extra: Value) -> TapRun {
    let select = json!({"select": [{"table": format!("{}.t", db.name),
                                    "replication_method": "LOG_BASED"}]});
    TapRun::mysql(db, tests::merged(select, extra))
}

fn state_at_log_end(db: &MysqlDatabase) -> Value {
    let (file, position) = db.binlog_end();
    json!({"bookmarks": {format!("{}-t", db.name): {"log_file": file, "log_pos": position}}})
}

#[test]
fn a_server_that_cannot_serve_log_based_stops_the_run_with_the_fix() {
    let db = MysqlDatabase::with_sql("create table t (id int primary key)");
    let state = state_at_log_end(&db);
    let tap = log_based(&db, json!({}));
    let state_args = |state: &Value| {
        let path = tests::bin::write_json(tap.dir.path(), "state.json", state);
        vec!["--state".to_owned(), path]
    };
    let run = |tap: &TapRun, state: &Value| {
        let args = state_args(state);
        tap.run_with(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // Sanity: the server as the harness starts it serves LOG_BASED.
    run(&tap, &state).assert_success();

    let mut admin = db.conn();
    admin
        .query_drop("set global binlog_format = 'STATEMENT'")
        .unwrap();
    let output = run(&tap, &state);
    admin
        .query_drop("set global binlog_format = 'ROW'")
        .unwrap();
    output.assert_failure(&[
        "binlog_format is \"STATEMENT\"",
        "set global binlog_format = 'ROW'",
    ]);

    admin
        .query_drop("set global binlog_row_image = 'MINIMAL'")
        .unwrap();
    let output = run(&tap, &state);
    admin
        .query_drop("set global binlog_row_image = 'FULL'")
        .unwrap();
    output.assert_failure(&["set global binlog_row_image = 'FULL'"]);

    admin
        .query_drop(format!(
            "create user plain@'%' identified by 'plain'; grant select on `{}`.* to plain@'%'",
            db.name
        ))
        .unwrap();
    let plain = log_based(&db, json!({"user": "plain", "password": "plain"}));
    run(&plain, &state).assert_failure(&[
        "lacks replication slave and binlog monitor",
        "grant replication slave, binlog monitor on *.* to 'plain'@'%'",
    ]);

    // A position whose file was purged.
    admin
        .query_drop("flush binary logs; insert into t values (1); flush binary logs")
        .unwrap();
    let (current,): (String,) = admin
        .query_first("show master status")
        .unwrap()
        .map(|row: mysql::Row| (row.get(0).unwrap(),))
        .unwrap();
    admin
        .query_drop(format!("purge binary logs to '{current}'"))
        .unwrap();
    // The stream takes a new snapshot, with a warning, instead of failing for ever.
    let output = run(&tap, &state);
    output
        .assert_success()
        .assert_stderr_has(&["no longer holds this stream's position", "snapshot first"]);
    let messages = output.messages();
    let rows = tests::singer::records(&messages);
    assert_eq!(rows.len(), 1, "the table's one row, from the new snapshot");
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, common::Message::ActivateVersion(_))),
        "the new snapshot is a new version"
    );
}
