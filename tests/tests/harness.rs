//! The harness itself: each server starts, answers, is configured for replication, gives each
//! test its own database, and is gone when the test binary ends, however it ends.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use tests::{MariaDb, MysqlDatabase, PgDatabase, Postgres};

#[test]
fn postgres_runs_with_logical_decoding() {
    let db = PgDatabase::new();
    let mut client = db.client();
    let wal_level: String = client.query_one("show wal_level", &[]).unwrap().get(0);
    assert_eq!(wal_level, "logical");
    let slots: String = client
        .query_one("show max_replication_slots", &[])
        .unwrap()
        .get(0);
    assert!(slots.parse::<u32>().unwrap() > 0, "{slots}");
    client
        .batch_execute("create table t (id bigint primary key, note text)")
        .unwrap();
    client
        .execute("insert into t values ($1, $2)", &[&7_i64, &"seven"])
        .unwrap();
    let row = client.query_one("select id, note from t", &[]).unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, String>(1)),
        (7, "seven".to_owned())
    );
    // A logical replication slot can be made with the built-in pgoutput plugin.
    client
        .batch_execute("select pg_create_logical_replication_slot('harness_slot', 'pgoutput')")
        .unwrap();
    client
        .batch_execute("select pg_drop_replication_slot('harness_slot')")
        .unwrap();
}

#[test]
fn mariadb_runs_with_a_row_based_binlog() {
    let db = MysqlDatabase::new();
    let mut conn = db.conn();
    let (log_bin, format, image, server_id): (u8, String, String, u32) = conn
        .query_first("select @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id")
        .unwrap()
        .unwrap();
    assert_eq!(
        (log_bin, format.as_str(), image.as_str()),
        (1, "ROW", "FULL")
    );
    assert!(server_id > 0);
    conn.query_drop("create table t (id bigint primary key, note varchar(10))")
        .unwrap();
    conn.exec_drop("insert into t values (?, ?)", (7, "sieben 🦀"))
        .unwrap();
    let row: (i64, String) = conn.query_first("select id, note from t").unwrap().unwrap();
    assert_eq!(row, (7, "sieben 🦀".to_owned()));
    let binlogs: Vec<(String, u64)> = conn
        .query_map("show binary logs", |row: mysql::Row| {
            (row.get(0).unwrap(), row.get(1).unwrap())
        })
        .unwrap();
    assert!(!binlogs.is_empty(), "no binary logs");
}

#[test]
fn parallel_tests_get_separate_databases() {
    let handles: Vec<_> = (0..4)
        .map(|n: i64| {
            std::thread::spawn(move || {
                let pg = PgDatabase::new();
                let my = MysqlDatabase::new();
                pg.client()
                    .batch_execute(&format!("create table t as select {n}::bigint as n"))
                    .unwrap();
                my.conn()
                    .query_drop(format!("create table t as select {n} as n"))
                    .unwrap();
                // Give the other threads time to do the same in their databases.
                std::thread::sleep(Duration::from_millis(200));
                let pg_rows: Vec<i64> = pg
                    .client()
                    .query("select n from t", &[])
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                let my_rows: Vec<i64> = my.conn().query("select n from t").unwrap();
                assert_eq!(pg_rows, [n]);
                assert_eq!(my_rows, [n]);
                (pg.name.clone(), my.name.clone())
            })
        })
        .collect();
    let mut names: Vec<(String, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "databases were shared: {names:?}");
}

#[test]
fn databases_are_dropped_with_their_handle() {
    let pg_name = PgDatabase::new().name.clone();
    let my_name = MysqlDatabase::new().name.clone();
    let pg_left: i64 = Postgres::get()
        .admin_client()
        .query_one(
            "select count(*) from pg_database where datname = $1",
            &[&pg_name],
        )
        .unwrap()
        .get(0);
    assert_eq!(pg_left, 0);
    let my_left: Option<i64> = MariaDb::get()
        .admin_conn()
        .exec_first(
            "select count(*) from information_schema.schemata where schema_name = ?",
            (&my_name,),
        )
        .unwrap();
    assert_eq!(my_left, Some(0));
}

/// Run in a child process by the lifecycle tests below: starts both servers, reports where they
/// live, then ends as `HARNESS_CHILD` says.
#[test]
fn lifecycle_child() {
    let Ok(mode) = std::env::var("HARNESS_CHILD") else {
        return;
    };
    let pg = Postgres::get();
    let my = MariaDb::get();
    let mut out = std::io::stdout().lock();
    // A marker, because libtest may already have printed `test lifecycle_child ... ` on the line.
    writeln!(
        out,
        "\nSERVER {} {}",
        pg.login.port,
        pg.data_dir().unwrap().display()
    )
    .unwrap();
    writeln!(
        out,
        "SERVER {} {}",
        my.login.port,
        my.dir().unwrap().display()
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);
    match mode.as_str() {
        "panic" => panic!("a failing test"),
        _ => std::thread::sleep(Duration::from_secs(600)),
    }
}

struct ChildServers {
    child: std::process::Child,
    servers: Vec<(u16, String)>,
}

fn start_child(mode: &str) -> ChildServers {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lifecycle_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HARNESS_CHILD", mode)
        .env_remove("TEST_PG_URL")
        .env_remove("TEST_MYSQL_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut servers = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while servers.len() < 2 {
        let line = lines
            .next()
            .expect("child ended before reporting its servers")
            .unwrap();
        let Some(report) = line.strip_prefix("SERVER ") else {
            continue;
        };
        let (port, dir) = report.split_once(' ').unwrap();
        servers.push((port.parse().unwrap(), dir.to_owned()));
    }
    ChildServers { child, servers }
}

/// Waits until every server's port refuses connections and its directory is gone.
fn assert_servers_gone(servers: &[(u16, String)], within: Duration) {
    let deadline = Instant::now() + within;
    for (port, dir) in servers {
        let dir = Path::new(dir);
        let listening = || std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok();
        while (listening() || dir.exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(!listening(), "a server still listens on port {port}");
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
}

#[test]
fn servers_stop_when_a_test_binary_fails() {
    let ChildServers { mut child, servers } = start_child("panic");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child's test should have failed");
    // The atexit cleanup has run by the time the child is gone.
    assert_servers_gone(&servers, Duration::from_secs(5));
}

#[test]
fn servers_stop_when_a_test_binary_is_killed() {
    let ChildServers { mut child, servers } = start_child("sleep");
    child.kill().unwrap();
    child.wait().unwrap();
    // The watchdog notices within a second, then stops the servers.
    assert_servers_gone(&servers, Duration::from_secs(60));
}
