//! A random kill/resume campaign (`just soak [TRIALS]`): each trial syncs a table of random size
//! from PostgreSQL or MariaDB through `tap | target-postgres`, SIGKILLs the tap or the target at a
//! random moment, may change the source, and resumes from the last STATE the target printed
//! until a run completes. After every run, each STATE the target printed must be covered by
//! committed rows; at the end, the warehouse's live rows must equal the source's, value for value,
//! once each.
//!
//! `SOAK_TRIALS` (default 10) sets the number of trials, `SOAK_SEED` the seed (default: the
//! clock, printed). Trial `n` of seed `s` always makes the same choices, so
//! `SOAK_SEED=s SOAK_TRIALS=n+1` replays a failure (the moment a delay kill lands may differ).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde_json::{Value, json};
use tests::warehouse::{SCHEMA, emitted_states, query_text};
use tests::{MysqlDatabase, PgDatabase, Pipeline, PipelineOutput, TapRun, TargetRun};

/// splitmix64: small, deterministic, and good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    FullTable,
    /// INCREMENTAL on `updated_at`.
    ByUpdatedAt,
    /// INCREMENTAL on `id`.
    ById,
}

/// A row as text: id, name, amount, qty, updated_at (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
type Row = Vec<Option<String>>;

/// A warehouse row: its data, `_sdc_table_version`, and whether it is live (not soft-deleted).
struct LoadedRow {
    data: Row,
    version: String,
    live: bool,
}

/// The source of one trial, on either server.
enum Source {
    Postgres(PgDatabase),
    Mysql(MysqlDatabase),
}

/// Seconds between change rounds' `updated_at` values, so each round's are above all before.
const ROUND_SECONDS: u64 = 1_000_000;

impl Source {
    fn new(mysql: bool) -> Self {
        if mysql {
            Source::Mysql(MysqlDatabase::with_sql(
                "create table t (id int primary key, name varchar(40), amount decimal(12,2), \
                 qty bigint, updated_at datetime(6), key (updated_at))",
            ))
        } else {
            Source::Postgres(PgDatabase::with_sql(
                "create table t (id integer primary key, name varchar(40), amount numeric(12,2), \
                 qty bigint, updated_at timestamp(6)); create index on t (updated_at)",
            ))
        }
    }

    fn tap(&self, method: Method, state_every_rows: u64) -> TapRun {
        let (method, key) = match method {
            Method::FullTable => ("FULL_TABLE", Value::Null),
            Method::ByUpdatedAt => ("INCREMENTAL", json!("updated_at")),
            Method::ById => ("INCREMENTAL", json!("id")),
        };
        let extra = |table: String| {
            json!({"select": [{"table": table, "replication_method": method,
                               "replication_key": key}],
                   "state_every_rows": state_every_rows})
        };
        match self {
            Source::Postgres(db) => TapRun::postgres(db, extra("public.t".into())),
            Source::Mysql(db) => TapRun::mysql(db, extra(format!("{}.t", db.name))),
        }
    }

    fn stream_id(&self) -> String {
        match self {
            Source::Postgres(_) => "public-t".into(),
            Source::Mysql(db) => format!("{}-t", db.name),
        }
    }

    fn execute(&self, sql: &str) {
        match self {
            Source::Postgres(db) => db.execute(sql),
            Source::Mysql(db) => db.execute(sql),
        }
    }

    /// `updated_at` of round `round` for the row `id` (SQL): three rows share each second.
    fn updated_at(&self, round: u64, id: &str) -> String {
        let seconds = round * ROUND_SECONDS;
        match self {
            Source::Postgres(_) => format!(
                "timestamp '2026-01-01' + interval '1 second' * ({seconds} + {id} / 3) \
                 + interval '1 microsecond' * ({id} % 7)"
            ),
            Source::Mysql(_) => format!(
                "timestamp '2026-01-01 00:00:00' + interval ({seconds} + {id} div 3) second \
                 + interval ({id} % 7) microsecond"
            ),
        }
    }

    /// Inserts the rows `first..=last`, with `updated_at` of `round`.
    fn insert(&self, first: u64, last: u64, round: u64, salt: u64) {
        let (id, from) = match self {
            Source::Postgres(_) => ("g", format!("generate_series({first}, {last}) g")),
            Source::Mysql(_) => ("seq", format!("seq_{first}_to_{last}")),
        };
        let concat = match self {
            Source::Postgres(_) => format!("'name ' || ({id} * {salt}) % 9973"),
            Source::Mysql(_) => format!("concat('name ', ({id} * {salt}) % 9973)"),
        };
        self.execute(&format!(
            "insert into t select {id}, case when {id} % 13 = 0 then null else {concat} end, \
             (({id} * 7919) % 10000000) / 100.0, {id} * {salt}, {} from {from}",
            self.updated_at(round, id)
        ));
    }

    /// Every row, in id order.
    fn rows(&self) -> Vec<Row> {
        match self {
            Source::Postgres(db) => query_text(
                &mut db.client(),
                "select id::text, name, amount::text, qty::text, \
                 to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') from t order by t.id",
            ),
            Source::Mysql(db) => db
                .conn()
                .query_map(
                    "select cast(id as char), name, cast(amount as char), cast(qty as char), \
                     date_format(updated_at, '%Y-%m-%d %H:%i:%s.%f') from t order by id",
                    |row: mysql::Row| {
                        (0..row.len())
                            .map(|i| row.get::<Option<String>, _>(i).flatten())
                            .collect()
                    },
                )
                .expect("the source rows"),
        }
    }
}

/// Every warehouse row, by id, with its version and liveness; panics on a duplicate id.
fn loaded_rows(warehouse: &PgDatabase) -> BTreeMap<i64, LoadedRow> {
    let mut client = warehouse.client();
    client
        .simple_query("set time zone 'UTC'")
        .expect("set time zone");
    let exists = query_text(
        &mut client,
        &format!("select to_regclass('{SCHEMA}.t') is not null"),
    );
    if exists[0][0].as_deref() != Some("t") {
        return BTreeMap::new();
    }
    let mut rows = BTreeMap::new();
    for row in query_text(
        &mut client,
        &format!(
            "select id::text, name, amount::text, qty::text, \
             to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US'), _sdc_table_version::text, \
             (_sdc_deleted_at is null)::text from {SCHEMA}.t"
        ),
    ) {
        let id: i64 = row[0]
            .as_deref()
            .and_then(|id| id.parse().ok())
            .expect("an id");
        let loaded = LoadedRow {
            data: row[..5].to_vec(),
            version: row[5].clone().unwrap_or_default(),
            live: row[6].as_deref() == Some("true"),
        };
        assert!(
            rows.insert(id, loaded).is_none(),
            "id {id} is in the warehouse twice"
        );
    }
    rows
}

fn id_of(row: &Row) -> i64 {
    row[0]
        .as_deref()
        .and_then(|id| id.parse().ok())
        .expect("an id")
}

/// Checks that a committed STATE's bookmark is covered by what the warehouse holds: every
/// source row it claims as done is there (FULL_TABLE: with the state's version; INCREMENTAL: with
/// the source's values). Returns what is wrong.
fn uncovered(
    state: &Value,
    stream: &str,
    max_pks: &mut BTreeMap<String, i64>,
    method: Method,
    source: &[Row],
    loaded: &BTreeMap<i64, LoadedRow>,
) -> Option<String> {
    let bookmark = &state["bookmarks"][stream];
    let claimed_version = bookmark["version"].to_string();
    let missing = |claimed: Vec<&Row>, values: bool| {
        claimed
            .into_iter()
            .find(|row| match loaded.get(&id_of(row)) {
                None => true,
                Some(found) => {
                    if values {
                        !found.live || found.data != **row
                    } else {
                        found.version != claimed_version
                    }
                }
            })
            .map(|row| format!("row {row:?} claimed by {bookmark} is not committed as such"))
    };
    match method {
        Method::FullTable => {
            let version = bookmark.get("version")?.to_string();
            if let Some(max) = bookmark["max_pk_values"]["id"].as_i64() {
                max_pks.insert(version.clone(), max);
            }
            // Without `last_pk_fetched`, a version is done once nothing is syncing: every key up
            // to the largest it started with (rows inserted since wait for the next version).
            // While the stream syncs, it claims no row yet.
            let last = match bookmark["last_pk_fetched"]["id"].as_i64() {
                Some(last) => last,
                None if state["currently_syncing"].is_null() => {
                    max_pks.get(&version).copied().unwrap_or(i64::MAX)
                }
                None => return None,
            };
            missing(
                source.iter().filter(|row| id_of(row) <= last).collect(),
                false,
            )
        }
        Method::ByUpdatedAt => {
            // `2026-01-01T00:00:01.000002Z` as the rows' text: rows strictly before are done.
            let value = bookmark["replication_key_value"].as_str()?;
            let value = value.trim_end_matches('Z').replace('T', " ");
            missing(
                source
                    .iter()
                    .filter(|row| row[4].as_deref().is_some_and(|at| at < value.as_str()))
                    .collect(),
                true,
            )
        }
        Method::ById => {
            let value = bookmark["replication_key_value"].as_i64()?;
            missing(
                source.iter().filter(|row| id_of(row) < value).collect(),
                true,
            )
        }
    }
}

/// How a run is to be interrupted.
#[derive(Debug, Clone, Copy)]
enum Kill {
    Never,
    /// SIGKILL the tap (or else the target) once the target has printed this many states.
    AfterStates {
        tap: bool,
        states: u64,
    },
    /// SIGKILL the tap (or else the target) after this many milliseconds.
    AfterDelay {
        tap: bool,
        millis: u64,
    },
}

/// What one run did.
struct Run {
    states: Vec<Value>,
    /// Which side died of our SIGKILL, if one did.
    killed: Option<&'static str>,
    output: PipelineOutput,
}

/// SIGKILL to a child not yet waited for, so the pid is still ours.
fn sigkill(pid: u32) {
    let _ignored = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// Runs `tap | target`, from `state`, interrupted as `kill` says.
fn run(tap: &TapRun, target: &TargetRun, state: Option<&Value>, kill: Kill) -> Run {
    let mut running = Pipeline::of(tap.sync_command(state), target.command()).start();
    let (tap_pid, target_pid) = (running.tap.id(), running.target.id());
    let victim = |tap: bool| if tap { tap_pid } else { target_pid };
    let (done, finished) = mpsc::channel::<()>();
    let timer = match kill {
        Kill::AfterDelay { tap, millis } => {
            let pid = victim(tap);
            Some(std::thread::spawn(move || {
                if finished
                    .recv_timeout(Duration::from_millis(millis))
                    .is_err()
                {
                    sigkill(pid);
                }
            }))
        }
        _ => None,
    };
    let mut stdout = Vec::new();
    let mut printed = 0;
    let reader = BufReader::new(running.target.stdout.take().expect("stdout is piped"));
    for line in reader.lines() {
        let line = line.expect("the target's stdout is UTF-8");
        stdout.extend_from_slice(line.as_bytes());
        stdout.push(b'\n');
        printed += 1;
        if let Kill::AfterStates { tap, states } = kill
            && printed == states
        {
            sigkill(victim(tap));
        }
    }
    let _ignored = done.send(());
    if let Some(timer) = timer {
        timer.join().expect("the kill timer");
    }
    let mut output = running.finish();
    output.target.stdout = stdout;
    let by_signal = |status: &std::process::ExitStatus| {
        std::os::unix::process::ExitStatusExt::signal(status) == Some(libc::SIGKILL)
    };
    let killed = if by_signal(&output.tap_status) {
        Some("tap")
    } else if by_signal(&output.target.status) {
        Some("target")
    } else {
        output.assert_success();
        None
    };
    Run {
        states: emitted_states(&output.target),
        killed,
        output,
    }
}

/// One trial; returns its report line and how many runs were killed.
fn trial(seed: u64, number: u64) -> (String, u64) {
    let started = Instant::now();
    let mut rng = Rng(seed ^ number.wrapping_mul(0xa076_1d64_78bd_642f));
    let mysql = rng.coin();
    let method = [Method::FullTable, Method::ByUpdatedAt, Method::ById][rng.range(0, 2) as usize];
    let size = rng.range(2_000, 20_000);
    let salt = rng.range(1, 1_000);
    let state_every_rows = rng.range(100, 500);
    let batch_size_rows = rng.range(100, 1_000);
    let source = Source::new(mysql);
    source.insert(1, size, 0, salt);
    let tap = source.tap(method, state_every_rows);
    let (warehouse, target) =
        TargetRun::with_new_database(json!({"batch_size_rows": batch_size_rows}));
    let stream = source.stream_id();
    let context = format!(
        "seed {seed} trial {number}: {} {method:?} rows {size} state_every_rows \
         {state_every_rows} batch_size_rows {batch_size_rows}",
        if mysql { "tap-mysql" } else { "tap-postgres" }
    );

    let mut state: Option<Value> = None;
    let mut last_id = size;
    let mut changed = false;
    let mut events = Vec::new();
    let mut kills = 0;
    let mut max_pks = BTreeMap::new();
    for round in 1.. {
        // Later runs are killed less often; the fifth and after never.
        let kill = if round > 4 || (round > 1 && rng.coin()) {
            Kill::Never
        } else if rng.coin() {
            Kill::AfterStates {
                tap: rng.coin(),
                states: rng.range(1, (size / batch_size_rows).max(1)),
            }
        } else {
            Kill::AfterDelay {
                tap: rng.coin(),
                millis: rng.range(5, 300),
            }
        };
        let source_rows = source.rows();
        let run_started = Instant::now();
        let done = run(&tap, &target, state.as_ref(), kill);
        let seconds = run_started.elapsed().as_secs_f64();
        let loaded = loaded_rows(&warehouse);
        for printed in &done.states {
            if let Some(problem) = uncovered(
                printed,
                &stream,
                &mut max_pks,
                method,
                &source_rows,
                &loaded,
            ) {
                panic!(
                    "{context}: run {round} ({kill:?}): {problem}\n--- tap stderr\n{}\n\
                     --- target stderr\n{}",
                    done.output.tap_stderr, done.output.target.stderr
                );
            }
        }
        if let Some(last) = done.states.last() {
            state = Some(last.clone());
        }
        let Some(side) = done.killed else {
            events.push(format!("run {round} completed in {seconds:.1} s"));
            break;
        };
        kills += 1;
        events.push(format!(
            "run {round} {side} killed ({kill:?}) after {} states, {seconds:.1} s",
            done.states.len()
        ));
        if rng.coin() {
            changed = true;
            let inserted = rng.range(1, 500);
            source.insert(last_id + 1, last_id + inserted, round, salt + round);
            last_id += inserted;
            let modulus = rng.range(5, 50);
            let remainder = rng.range(0, modulus - 1);
            let mut change = format!("+{inserted} rows");
            if method != Method::ById {
                source.execute(&format!(
                    "update t set name = 'changed {round}', qty = qty + 1, updated_at = {} \
                     where id % {modulus} = {remainder}",
                    source.updated_at(round, "id")
                ));
                change += &format!(", updated id%{modulus}={remainder}");
            }
            if method == Method::FullTable {
                let remainder = (remainder + 1) % modulus;
                source.execute(&format!("delete from t where id % {modulus} = {remainder}"));
                change += &format!(", deleted id%{modulus}={remainder}");
            }
            events.push(change);
        }
    }
    if method == Method::FullTable && changed {
        // A resumed version covers the keys it started with; the next sync brings the rest.
        let done = run(&tap, &target, state.as_ref(), Kill::Never);
        assert!(done.killed.is_none());
        events.push("a further full sync".into());
    }

    let expected = source.rows();
    let loaded = loaded_rows(&warehouse);
    let live: Vec<&Row> = loaded
        .values()
        .filter(|row| row.live)
        .map(|row| &row.data)
        .collect();
    let ids: HashSet<i64> = expected.iter().map(id_of).collect();
    assert_eq!(ids.len(), expected.len(), "{context}: source ids unique");
    if let Some(difference) =
        (0..expected.len().max(live.len())).find(|&i| expected.get(i) != live.get(i).copied())
    {
        panic!(
            "{context}: {}: the warehouse's live rows differ from the source's ({} against {}) \
             first at position {difference}: source {:?}, warehouse {:?}",
            events.join("; "),
            live.len(),
            expected.len(),
            expected.get(difference),
            live.get(difference)
        );
    }
    (
        format!(
            "{context}: {}: ok in {:.1} s",
            events.join("; "),
            started.elapsed().as_secs_f64()
        ),
        kills,
    )
}

#[test]
fn random_kills_and_resumes_leave_the_source_exactly() {
    let trials: u64 = std::env::var("SOAK_TRIALS")
        .ok()
        .map(|trials| trials.parse().expect("SOAK_TRIALS is a number"))
        .unwrap_or(10);
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .map(|seed| seed.parse().expect("SOAK_SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("soak: {trials} trials, SOAK_SEED={seed}");
    let started = Instant::now();
    let mut kills = 0;
    for number in 0..trials {
        let (line, killed) = trial(seed, number);
        kills += killed;
        eprintln!("{line}");
    }
    eprintln!(
        "soak: {trials} trials, {kills} kills, all consistent, {:.1} s (SOAK_SEED={seed})",
        started.elapsed().as_secs_f64()
    );
}
