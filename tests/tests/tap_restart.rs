//! tap-postgres rides out a source restart mid-read: a new session, and the stream resumed from
//! its last checkpoint in the same run, so every row arrives. The only test of its binary: it
//! restarts the binary's server.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use common::Message;
use common::message::ParsedLine;
use serde_json::json;
use tests::{PgDatabase, TapRun};

const ROWS: i64 = 200_000;

#[test]
fn a_source_restart_mid_read_is_ridden_out() {
    let db = PgDatabase::with_sql(&format!(
        "create table big (id bigint primary key, v text); \
         insert into big select g, 'value ' || g from generate_series(1, {ROWS}) g;"
    ));
    let tap = TapRun::postgres(
        &db,
        json!({"select": ["public.big"], "state_every_rows": 1000, "max_retries": 5}),
    );
    let mut child = tap
        .command(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tap-postgres starts");
    let mut stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ids = BTreeSet::new();
    // Notes a RECORD's id; returns a STATE's value.
    let mut read = |line: String| {
        let message = match Message::parse(&line, 0).unwrap() {
            ParsedLine::Message(message) => message,
            ParsedLine::Unknown { .. } => panic!("not a Singer message: {line}"),
        };
        match message {
            Message::Record(record) => {
                ids.insert(record.record["id"].as_i64().unwrap());
                None
            }
            Message::State(state) => Some(state.value),
            _ => None,
        }
    };
    // Read until the first checkpoint; the tap then waits on the full pipe, mid-read, while its
    // server restarts under it.
    loop {
        let line = lines.next().expect("a checkpoint comes").unwrap();
        if read(line)
            .is_some_and(|state| state["bookmarks"]["public-big"]["last_pk_fetched"].is_object())
        {
            break;
        }
    }
    db.server.restart();
    for line in lines {
        read(line.unwrap());
    }
    let status = child.wait().unwrap();
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    assert!(status.success(), "the tap failed:\n{log}");
    assert!(
        log.contains("transient failure of the source"),
        "the retry is logged with its cause:\n{log}"
    );
    assert_eq!(ids.len() as i64, ROWS, "every row arrives");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&ROWS));
}
