//! target-postgres rides out a warehouse restart mid-load: the lost session is replaced and the
//! batch it was loading is loaded again, so the run ends as if nothing happened. The only test of
//! its binary: it restarts the binary's server.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use serde_json::{Value, json};
use tests::warehouse::{TargetRun, lines, query_rows, record, schema, state};

const BATCHES: i64 = 6;
const ROWS_PER_BATCH: i64 = 2000;

fn batch(number: i64) -> String {
    let first = number * ROWS_PER_BATCH;
    let mut messages: Vec<Value> = (first..first + ROWS_PER_BATCH)
        .map(|id| record("t", json!({"id": id, "name": format!("name {id}")})))
        .collect();
    messages.push(state(json!({"batch": number})));
    lines(&messages)
}

#[test]
fn a_warehouse_restart_mid_load_is_ridden_out() {
    let (db, target) =
        TargetRun::with_new_database(json!({"batch_size_rows": ROWS_PER_BATCH, "max_retries": 5}));
    let mut child = target
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("target-postgres starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let schema = schema(
        "t",
        json!({"id": {"type": "integer"}, "name": {"type": "string"}}),
        &["id"],
    );
    write!(stdin, "{}{}", lines(&[schema]), batch(0)).unwrap();
    stdin.flush().unwrap();
    // The first batch is committed when its STATE comes out; then the server goes away under
    // the session the target holds, and comes back.
    let mut first_state = String::new();
    stdout.read_line(&mut first_state).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&first_state).unwrap(),
        json!({"batch": 0})
    );
    db.server.restart();
    for number in 1..BATCHES {
        stdin.write_all(batch(number).as_bytes()).unwrap();
    }
    drop(stdin);
    let later: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the target failed:\n{stderr}");
    assert!(
        stderr.contains("transient failure of the warehouse"),
        "the retry is logged with its cause:\n{stderr}"
    );
    let states: Vec<Value> = later
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<Value> = (1..BATCHES).map(|n| json!({"batch": n})).collect();
    assert_eq!(states, expected, "every later STATE, once, in order");
    let rows = query_rows(
        &mut db.client(),
        "select t.id::text, t.name from warehouse.t t order by t.id",
    );
    let wanted: Vec<Vec<String>> = (0..BATCHES * ROWS_PER_BATCH)
        .map(|id| vec![id.to_string(), format!("name {id}")])
        .collect();
    assert_eq!(rows.len(), wanted.len(), "every row exactly once");
    let first_difference = rows.iter().zip(&wanted).position(|(row, want)| row != want);
    assert_eq!(first_difference, None, "every value as sent");
}
