//! tap-mysql LOG_BASED behind a slow target: the reader cannot read the binlog while the target
//! reads nothing, and the server must not end the dump meanwhile. The only test of its binary: it
//! lowers the server's `net_write_timeout` for every new session.

use serde_json::json;
use tests::{MysqlDatabase, Pipeline, TapRun};

#[test]
fn a_reader_waiting_on_a_slow_target_keeps_its_dump() {
    let db = MysqlDatabase::with_sql("create table t (id integer primary key, note text)");
    let tap = TapRun::mysql(
        &db,
        json!({"server_id": 7101,
               "select": [{"table": format!("{}.t", db.name), "replication_method": "LOG_BASED"}]}),
    );
    let snapshot = tap.run(None);
    let state = tests::singer::last_state(&snapshot.messages());
    // A server that gives up on a client not reading for 2 s; 30,000 rows to send.
    db.execute("set global net_write_timeout = 2");
    db.execute("insert into t select seq, repeat('x', 2000) from seq_1_to_30000");
    let mut slow = std::process::Command::new("sh");
    slow.args(["-c", "sleep 8; cat > /dev/null"]);
    let output = Pipeline::of(tap.sync_command(Some(&state)), slow).run();
    db.execute("set global net_write_timeout = 60");
    assert!(
        output.tap_status.success(),
        "the tap lost its binlog dump:\n{}",
        output.tap_stderr
    );
}
