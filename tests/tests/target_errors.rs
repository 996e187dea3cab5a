//! target-postgres when things go wrong: bad input (malformed JSON, a RECORD before its SCHEMA, a
//! schema violation, a NUL byte) stops the load after committing what came before it;
//! `invalid_records: "reject"` sends bad records to `_sdc_rejected` and loads the rest; schemas and
//! tables owned by other roles, or a missing `CREATE` grant, stop the load (and fail `--check`) with
//! the SQL that fixes them; and a target killed mid-load has printed no STATE whose records are not
//! committed.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use serde_json::{Value, json};
use tests::bin::{command, run_binary};
use tests::warehouse::{
    TargetRun, columns, emitted_states, lines, query_rows, record, schema, state, tables,
};
use tests::{PgDatabase, RunOutput};

// ---------------------------------------------------------------------------------------------
// Malformed input with invalid_records = fail

fn t_schema() -> Value {
    schema(
        "t",
        json!({"id": {"type": "integer"}, "name": {"type": ["null", "string"]},
               "n": {"type": ["null", "integer"]}}),
        &["id"],
    )
}

fn t_record(id: i64) -> Value {
    record(
        "t",
        json!({"id": id, "name": format!("name {id}"), "n": id * 10}),
    )
}

/// The rows [`t_record`] leaves in `warehouse.t` for `ids`: `id, name, n` as text.
fn t_rows(ids: impl IntoIterator<Item = i64>) -> Vec<Vec<String>> {
    ids.into_iter()
        .map(|id| vec![id.to_string(), format!("name {id}"), (id * 10).to_string()])
        .collect()
}

fn t_state(id: i64) -> Value {
    state(json!({"bookmarks": {"t": {"id": id}}}))
}

/// Runs the target over valid lines, then `bad` as line 6, then more valid lines (records, a STATE,
/// a new stream), and checks what every fatal input error must leave: a failed exit naming line 6,
/// the records of lines 2, 3 and 5 committed, the STATE of line 4 printed, nothing after line 6.
fn fails_at_line_6(bad: &str) -> RunOutput {
    fails_at_line_6_with(json!({}), bad)
}

/// [`fails_at_line_6`] with the target's config keys of `config`.
fn fails_at_line_6_with(config: Value, bad: &str) -> RunOutput {
    let (db, target) = TargetRun::with_new_database(config);
    let before = lines(&[
        t_schema(),
        t_record(1),
        t_record(2),
        t_state(2),
        t_record(3),
    ]);
    let after = lines(&[
        t_record(4),
        t_state(4),
        schema("later", json!({"id": {"type": "integer"}}), &["id"]),
        record("later", json!({"id": 1})),
        t_state(5),
    ]);
    let output = target.load_text(&format!("{before}{bad}\n{after}"));
    assert!(
        !output.status.success(),
        "the target accepted line 6 {bad:?}:\n{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("line 6"),
        "stderr does not name line 6:\n{}",
        output.stderr
    );
    assert_eq!(
        emitted_states(&output),
        [json!({"bookmarks": {"t": {"id": 2}}})],
        "exactly the STATE before the bad line is printed; stderr:\n{}",
        output.stderr
    );
    let mut client = db.client();
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name, n from warehouse.t order by id"
        ),
        t_rows(1..=3),
        "the records before the bad line are committed, none after; stderr:\n{}",
        output.stderr
    );
    assert_eq!(tables(&mut client), ["t"]);
    output
}

#[test]
fn a_line_past_max_record_bytes_stops_the_load_before_it_is_read_whole() {
    // 2 MB of one RECORD against a 4 KiB limit: refused by size, its content never quoted.
    let bad = record(
        "t",
        json!({"id": 9, "name": "secret-value ".repeat(160_000)}),
    )
    .to_string();
    let output = fails_at_line_6_with(json!({"max_record_bytes": 4096}), &bad);
    output.assert_stderr_has(&["line 6: longer than 4096 bytes (max_record_bytes)"]);
    assert!(!output.stderr.contains("secret-value"), "{}", output.stderr);
}

#[test]
fn malformed_json_stops_after_committing_what_came_before() {
    let output = fails_at_line_6(r#"{"type": "RECORD", "stream": "t", "record": {"id": 99,"#);
    output.assert_failure(&["line 6: malformed JSON"]);
}

#[test]
fn a_record_before_its_schema_stops_after_committing_what_came_before() {
    let output = fails_at_line_6(r#"{"type": "RECORD", "stream": "u", "record": {"id": 99}}"#);
    output.assert_failure(&["line 6", "stream u", "before any SCHEMA"]);
}

#[test]
fn a_schema_violation_stops_after_committing_what_came_before() {
    let output = fails_at_line_6(
        r#"{"type": "RECORD", "stream": "t", "record": {"id": 99, "name": "x", "n": "abc"}}"#,
    );
    output.assert_failure(&["line 6", "stream t", "property n"]);
}

#[test]
fn a_nul_byte_stops_after_committing_what_came_before() {
    let output = fails_at_line_6(
        r#"{"type": "RECORD", "stream": "t", "record": {"id": 99, "name": "a\u0000b", "n": 1}}"#,
    );
    output.assert_failure(&["line 6", "stream t", "property name", "NUL"]);
}

// ---------------------------------------------------------------------------------------------
// invalid_records = reject

fn order(id: i64) -> Value {
    json!({"id": id, "name": format!("order {id}"), "at": "2026-03-01T10:00:00Z", "amount": 12.5,
           "qty": id, "items": [{"sku": format!("A{id}")}, {"sku": format!("B{id}")}]})
}

/// The rows a valid [`order`] leaves for each of `ids`: its root row (`id, name, at` in UTC,
/// `amount, qty`), and the rows of its two items (`_sdc_source_key_id, _sdc_level_0_id, sku`).
fn order_rows(ids: &[i64]) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let root = ids
        .iter()
        .map(|id| {
            let at = "2026-03-01 10:00:00";
            vec![
                id.to_string(),
                format!("order {id}"),
                at.into(),
                "12.50".into(),
                id.to_string(),
            ]
        })
        .collect();
    let items = ids
        .iter()
        .flat_map(|id| {
            [("0", "A"), ("1", "B")]
                .map(|(level, sku)| vec![id.to_string(), level.to_owned(), format!("{sku}{id}")])
        })
        .collect();
    (root, items)
}

fn with(mut record: Value, key: &str, value: Value) -> Value {
    record[key] = value;
    record
}

/// The first RECORD of a run may be the invalid one: it is stored like any other reject.
#[test]
fn a_run_whose_first_record_is_invalid_stores_the_reject() {
    let (db, target) = TargetRun::with_new_database(json!({"invalid_records": "reject"}));
    let states = target.load_states(&[
        t_schema(),
        record("t", json!({"id": 1, "name": "one", "n": "ten"})),
        t_record(2),
        t_state(2),
    ]);
    assert_eq!(states, [json!({"bookmarks": {"t": {"id": 2}}})]);
    let mut client = db.client();
    assert_eq!(
        query_rows(
            &mut client,
            "select stream, line, rejected_at <= now() from warehouse._sdc_rejected"
        ),
        [["t", "2", "t"]]
    );
    assert_eq!(
        query_rows(&mut client, "select id from warehouse.t"),
        [["2"]]
    );
}

#[test]
fn rejected_records_go_to_sdc_rejected_and_the_rest_loads() {
    let (db, target) = TargetRun::with_new_database(json!({"invalid_records": "reject"}));
    let orders_schema = schema(
        "orders",
        json!({
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"]},
            "at": {"type": ["null", "string"], "format": "date-time"},
            "amount": {"type": ["null", "number"], "x-sql-datatype": "numeric(5,2)"},
            "qty": {"type": ["null", "integer"]},
            "items": {"type": ["null", "array"], "items": {"type": "object", "properties": {
                "sku": {"type": "string"}}}}
        }),
        &["id"],
    );
    // (input line, record, property the reason must name)
    let rejected = [
        (4, with(order(2), "name", json!("a\u{0}b")), "name"),
        (5, with(order(3), "at", json!("infinity")), "at"),
        (7, with(order(5), "amount", json!(1234.5)), "amount"),
        (8, with(order(6), "qty", json!("seven")), "qty"),
        // The root row and the first child row are written before the NUL byte is met.
        (
            9,
            with(order(7), "items", json!([{"sku": "A7"}, {"sku": "B\u{0}"}])),
            "sku",
        ),
    ];
    let bad = |index: usize| record("orders", rejected[index].1.clone());
    let output = target.load(&[
        orders_schema,
        record("orders", order(1)),
        state(json!({"n": 1})),
        bad(0),
        bad(1),
        record("orders", order(4)),
        bad(2),
        bad(3),
        bad(4),
        state(json!({"n": 2})),
        record("orders", order(8)),
        state(json!({"n": 3})),
    ]);
    output.assert_success();
    let states = emitted_states(&output);
    assert_eq!(states.last(), Some(&json!({"n": 3})), "printed {states:?}");
    for printed in &states {
        assert!(
            [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})].contains(printed),
            "printed {printed}, never sent"
        );
    }

    let mut client = db.client();
    assert_eq!(
        columns(&mut client, "orders")
            .into_iter()
            .find(|(name, _)| name == "amount"),
        Some(("amount".into(), "numeric(5,2)".into()))
    );
    // Orders 1, 4 and 8 alone; no child rows of rejected records, in particular none of order
    // 7's first item.
    let (orders, items) = order_rows(&[1, 4, 8]);
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name, at at time zone 'UTC', amount, qty from warehouse.orders order by id"
        ),
        orders
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, _sdc_level_0_id, sku from warehouse.orders__items \
             order by 1, 2"
        ),
        items
    );

    let stored = query_rows(
        &mut client,
        "select stream, line, reason, record, rejected_at is not null \
         from warehouse._sdc_rejected order by line",
    );
    assert_eq!(
        stored.len(),
        rejected.len(),
        "rejected rows: {stored:?}\nstderr:\n{}",
        output.stderr
    );
    for (row, (line, original, property)) in stored.iter().zip(&rejected) {
        assert_eq!(row[0], "orders", "{row:?}");
        assert_eq!(row[1], line.to_string(), "{row:?}");
        assert!(
            row[2].contains(property),
            "line {line}: reason {:?} does not name {property}",
            row[2]
        );
        let parsed: Value = serde_json::from_str(&row[3])
            .unwrap_or_else(|err| panic!("line {line}: record {:?} is not JSON: {err}", row[3]));
        assert_eq!(&parsed, original, "line {line}");
        assert_eq!(row[4], "t", "{row:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Ownership and permissions

/// A fresh test database with two roles: `loader_<db>`, which the target logs in as, and
/// `other_<db>`, which owns what the loader must not use. The roles are dropped (with what they
/// own) before the database is.
struct Roles {
    db: PgDatabase,
    loader: String,
    other: String,
}

impl Roles {
    /// The database and both roles; the loader may connect (PUBLIC may) but has no `CREATE` yet.
    fn new() -> Self {
        let db = PgDatabase::new();
        let (loader, other) = (format!("loader_{}", db.name), format!("other_{}", db.name));
        db.execute(&format!(
            "create role \"{loader}\" login password 'pw'; create role \"{other}\""
        ));
        Self { db, loader, other }
    }

    fn grant_create(&self) {
        self.sql(&format!(
            "grant create on database \"{}\" to \"{}\"",
            self.db.name, self.loader
        ));
    }

    /// Runs SQL as the superuser in the test database.
    fn sql(&self, sql: &str) {
        self.db.execute(sql);
    }

    /// A target config logging in as the loader.
    fn target(&self) -> TargetRun {
        TargetRun::new(&self.db, json!({"user": self.loader, "password": "pw"}))
    }
}

impl std::fmt::Debug for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Roles({}, {})", self.loader, self.other)
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let names = format!("\"{}\", \"{}\"", self.loader, self.other);
        let dropped = self
            .db
            .client()
            .batch_execute(&format!("drop owned by {names} cascade"))
            .and_then(|()| {
                self.db
                    .server
                    .admin_client()
                    .batch_execute(&format!("drop role if exists {names}"))
            });
        if let Err(err) = dropped {
            eprintln!("could not drop roles {names}: {err}");
        }
    }
}

fn small_load() -> Vec<Value> {
    vec![t_schema(), t_record(1), t_state(1)]
}

fn assert_refused(output: &RunOutput, parts: &[&str]) {
    output
        .assert_failure(&["the target cannot load into schema"])
        .assert_failure(parts);
    assert!(
        output.stdout.is_empty(),
        "printed {:?}",
        output.stdout_text()
    );
}

#[test]
fn a_schema_owned_by_another_role_stops_the_load() {
    let roles = Roles::new();
    roles.grant_create();
    roles.sql(&format!(
        "create schema warehouse authorization \"{}\"",
        roles.other
    ));
    let output = roles.target().load(&small_load());
    assert_refused(
        &output,
        &[
            "schema \"warehouse\"",
            &format!("\"{}\"", roles.other),
            &format!("alter schema \"warehouse\" owner to \"{}\";", roles.loader),
        ],
    );
    assert_eq!(tables(&mut roles.db.client()), Vec::<String>::new());
}

#[test]
fn a_table_owned_by_another_role_stops_the_load() {
    let roles = Roles::new();
    roles.grant_create();
    roles.sql(&format!(
        "create schema warehouse authorization \"{loader}\";
         create table warehouse.t (id bigint);
         alter table warehouse.t owner to \"{other}\"",
        loader = roles.loader,
        other = roles.other
    ));
    let output = roles.target().load(&small_load());
    assert_refused(
        &output,
        &[
            "table \"warehouse\".\"t\"",
            &format!("\"{}\"", roles.other),
            &format!(
                "alter table \"warehouse\".\"t\" owner to \"{}\";",
                roles.loader
            ),
        ],
    );
    let mut client = roles.db.client();
    assert_eq!(tables(&mut client), ["t"]);
    assert_eq!(
        columns(&mut client, "t"),
        [("id".to_owned(), "bigint".to_owned())],
        "the table was changed"
    );
    assert_eq!(
        query_rows(&mut client, "select count(*) from warehouse.t"),
        [["0"]]
    );
}

#[test]
fn a_missing_create_grant_stops_the_load() {
    let roles = Roles::new();
    let output = roles.target().load(&small_load());
    assert_refused(
        &output,
        &[&format!(
            "grant create on database \"{}\" to \"{}\";",
            roles.db.name, roles.loader
        )],
    );
    assert_eq!(
        query_rows(
            &mut roles.db.client(),
            "select count(*) from pg_namespace where nspname = 'warehouse'"
        ),
        [["0"]]
    );
}

#[test]
fn a_member_of_the_owning_role_loads() {
    let roles = Roles::new();
    roles.sql(&format!(
        "create schema warehouse authorization \"{other}\"; grant \"{other}\" to \"{loader}\"",
        other = roles.other,
        loader = roles.loader
    ));
    // The schema exists: no CREATE on the database is needed, and --check agrees.
    let target = roles.target();
    let checked = check(&target);
    assert!(
        checked.status.success() && checked.stdout_text().contains("ok: ready to load"),
        "{}",
        checked.stdout_text()
    );
    assert_eq!(
        target.load_states(&small_load()),
        [json!({"bookmarks": {"t": {"id": 1}}})]
    );
    assert_eq!(
        query_rows(
            &mut roles.db.client(),
            "select id, name, n from warehouse.t"
        ),
        t_rows([1])
    );
}

fn check(target: &TargetRun) -> RunOutput {
    run_binary(
        "target-postgres",
        &["--config", &target.config, "--check"],
        b"",
    )
}

#[test]
fn check_reports_problems_with_their_fix_and_ok_once_fixed() {
    let roles = Roles::new();
    roles.grant_create();
    let target = roles.target();

    let output = check(&target);
    let text = output.stdout_text();
    assert!(
        output.status.success(),
        "check failed:\n{text}\n{}",
        output.stderr
    );
    assert!(text.starts_with("connected to database"), "{text}");
    assert!(text.contains("ok: ready to load"), "{text}");
    assert!(!text.contains("problem:"), "{text}");
    assert_eq!(
        query_rows(
            &mut roles.db.client(),
            "select count(*) from pg_namespace where nspname = 'warehouse'"
        ),
        [["0"]],
        "--check created the schema"
    );

    roles.sql(&format!(
        "create schema warehouse authorization \"{other}\";
         create table warehouse.t (id bigint);
         alter table warehouse.t owner to \"{other}\"",
        other = roles.other
    ));
    let output = check(&target);
    let text = output.stdout_text();
    assert!(!output.status.success(), "check passed:\n{text}");
    let problems: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("problem:"))
        .collect();
    assert_eq!(problems.len(), 2, "{text}");
    assert!(
        problems.iter().any(|p| p.contains(&format!(
            "alter schema \"warehouse\" owner to \"{}\";",
            roles.loader
        ))),
        "{text}"
    );
    assert!(
        problems.iter().any(|p| p.contains(&format!(
            "alter table \"warehouse\".\"t\" owner to \"{}\";",
            roles.loader
        ))),
        "{text}"
    );
    assert!(text.contains("failed: 2 problem(s)"), "{text}");

    // The SQL printed is what an admin runs: after it, the check passes.
    for problem in problems {
        let (_, fix) = problem
            .split_once("fix: ")
            .unwrap_or_else(|| panic!("no fix in {problem:?}"));
        roles.sql(fix);
    }
    let output = check(&target);
    let text = output.stdout_text();
    assert!(
        output.status.success(),
        "check failed after the fix:\n{text}"
    );
    assert!(text.contains("ok: ready to load"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// STATE ordering when the target is killed

const KILL_RECORDS: i64 = 200_000;

/// One stream `t` keyed by `id`, ids 1..=KILL_RECORDS, a STATE every 1,000 records.
fn kill_input() -> String {
    let mut input = lines(&[schema(
        "t",
        json!({"id": {"type": "integer"}, "name": {"type": "string"}, "n": {"type": "integer"}}),
        &["id"],
    )]);
    for id in 1..=KILL_RECORDS {
        input.push_str(&format!(
            "{{\"type\":\"RECORD\",\"stream\":\"t\",\"record\":{{\"id\":{id},\"name\":\"name {id}\",\"n\":{}}}}}\n",
            id * 3
        ));
        if id % 1000 == 0 {
            input.push_str(&format!(
                "{{\"type\":\"STATE\",\"value\":{{\"bookmarks\":{{\"t\":{{\"id\":{id}}}}}}}}}\n"
            ));
        }
    }
    input
}

fn state_id(line: &str) -> i64 {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|err| panic!("printed {line:?}: {err}"));
    value["bookmarks"]["t"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("printed a STATE never sent: {line}"))
}

#[test]
fn states_printed_before_a_kill_cover_only_committed_rows() {
    let (db, target) = TargetRun::with_new_database(json!({"batch_size_rows": 5000}));
    let input = kill_input();

    let mut child = command("target-postgres")
        .args(["--config", &target.config])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start target-postgres");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let bytes = input.clone().into_bytes();
    // Fails with a broken pipe once the target is killed: expected.
    let writer = std::thread::spawn(move || {
        let _ignored = stdin.write_all(&bytes);
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ignored = stderr.read_to_string(&mut text);
        text
    });
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut printed = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("cannot read the target's stdout");
        printed.push(state_id(&line));
        if printed.len() == 3 {
            child.kill().expect("cannot kill the target");
        }
    }
    let status = child.wait().expect("cannot wait for the target");
    let _ignored = writer.join();
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        printed.len() >= 3,
        "only {printed:?} printed, {status}:\n{stderr}"
    );
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the target was not killed mid-load (printed {printed:?}):\n{stderr}"
    );
    assert!(
        printed.windows(2).all(|pair| pair[0] < pair[1]),
        "STATEs out of order: {printed:?}"
    );

    let mut client = db.client();
    for &n in &printed {
        assert_eq!(
            query_rows(
                &mut client,
                &format!(
                    "select count(*) from warehouse.t \
                     where id <= {n} and name = 'name ' || id and n = id * 3"
                )
            ),
            [[n.to_string()]],
            "a STATE for id {n} was printed before ids 1..={n} were committed (printed {printed:?})"
        );
    }

    // A second run over the whole input leaves exactly the source.
    let output = target.load_text(&input);
    output.assert_success();
    assert_eq!(
        emitted_states(&output).last(),
        Some(&json!({"bookmarks": {"t": {"id": KILL_RECORDS}}}))
    );
    let rows = client
        .query("select id, name, n from warehouse.t order by id", &[])
        .expect("cannot read warehouse.t");
    assert_eq!(rows.len() as i64, KILL_RECORDS);
    for (row, id) in rows.iter().zip(1..) {
        let found: (i64, String, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(found, (id, format!("name {id}"), id * 3));
    }
}

/// A hardened warehouse: PUBLIC's default grants on the database revoked (no `TEMP`), the loader
/// given `CONNECT` and `CREATE` only, as Stitch's destination guide asks. Every load after the
/// first merges through staging tables; none may need more than the schema the target owns.
#[test]
fn loading_again_needs_only_connect_and_create_on_the_database() {
    let roles = Roles::new();
    roles.sql(&format!(
        "revoke all on database \"{0}\" from public; \
         grant connect, create on database \"{0}\" to \"{1}\"",
        roles.db.name, roles.loader
    ));
    let target = roles.target();
    let check = run_binary(
        "target-postgres",
        &["--config", &target.config, "--check"],
        b"",
    );
    assert!(check.status.success(), "{}", check.stderr);
    // The first load copies straight into the new table; the second and third merge.
    target.load(&small_load()).assert_success();
    let second = target.load(&[t_schema(), t_record(1), t_record(2), t_state(2)]);
    second.assert_success();
    // A normal run shows no PostgreSQL NOTICEs.
    assert!(!second.stderr.contains("NOTICE"), "{}", second.stderr);
    assert_eq!(
        emitted_states(&second),
        [json!({"bookmarks": {"t": {"id": 2}}})]
    );
    let mut third = vec![t_schema()];
    third.extend((1..=3).map(t_record));
    third.push(state(json!({"bookmarks": {"t": {"id": 3}}})));
    target.load(&third).assert_success();
    assert_eq!(
        query_rows(
            &mut roles.db.client(),
            "select id, name, n from warehouse.t where _sdc_deleted_at is null order by id"
        ),
        t_rows(1..=3)
    );
    // No staging table is left behind, and none was ever visible.
    assert_eq!(tables(&mut roles.db.client()), ["t"]);
}

/// A log line in the input (the tap's stderr piped in with `2>&1`) is named with its start and
/// the usual cause; a line that starts like JSON is not quoted (it may hold a record's values).
#[test]
fn a_log_line_in_the_input_is_named_with_a_hint() {
    let (_db, target) = TargetRun::with_new_database(json!({}));
    let output = target.load_text(&format!(
        "{}\n2026-12-06T01:00:00Z  INFO tap-postgres: stream synced\n",
        t_schema()
    ));
    output.assert_failure(&[
        "line 2: malformed JSON",
        "2026-12-06T01:00:00Z  INFO",
        "2>&1",
    ]);
    let output = target.load_text(&format!(
        "{}\n{{\"type\": \"RECORD\", \"stream\": \"t\", \"record\": {{\"name\": \"Ada Lovelace\"\n",
        t_schema()
    ));
    output.assert_failure(&["line 2: malformed JSON"]);
    assert!(!output.stderr.contains("Ada"), "{}", output.stderr);
}

/// More precision than PostgreSQL's microseconds would be rounded (into the next day, here):
/// the value does not fit, and is refused by name rather than altered.
#[test]
fn timestamps_finer_than_microseconds_are_refused_not_rounded() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let events = schema(
        "events",
        json!({"id": {"type": "integer"},
               "at": {"type": ["null", "string"], "format": "date-time"}}),
        &["id"],
    );
    let output = target.load(&[
        events,
        record(
            "events",
            json!({"id": 1, "at": "1969-12-31T23:59:59.999999Z"}),
        ),
        record(
            "events",
            json!({"id": 2, "at": "1969-12-31T23:59:59.9999999Z"}),
        ),
    ]);
    output.assert_failure(&["line 3", "stream events", "at", "microsecond precision"]);
    assert_eq!(
        query_rows(
            &mut db.client(),
            "select id, at::text from warehouse.events"
        ),
        [["1", "1969-12-31 23:59:59.999999+00"]]
    );
}

/// A lone surrogate (`\ud800`) is valid JSON syntax but no Unicode text: named as such.
#[test]
fn a_lone_surrogate_is_named_not_called_a_type_mismatch() {
    let (_db, target) = TargetRun::with_new_database(json!({}));
    let output = target.load_text(&format!(
        "{}\n{}\n",
        t_schema(),
        r#"{"type": "RECORD", "stream": "t", "record": {"id": 1, "name": "a\ud800b"}}"#
    ));
    output.assert_failure(&["line 2", "stream t", "name", "not Unicode text"]);
    assert!(
        !output.stderr.contains("found a string"),
        "{}",
        output.stderr
    );
}

/// A SCHEMA wider than PostgreSQL's 1,600 columns is named with its line, stream and the limit,
/// not answered with the whole CREATE TABLE.
#[test]
fn a_schema_beyond_the_column_limit_is_named_with_the_limit() {
    let (_db, target) = TargetRun::with_new_database(json!({}));
    let mut properties = serde_json::Map::new();
    properties.insert("id".into(), json!({"type": "integer"}));
    for n in 0..2000 {
        properties.insert(format!("p{n}"), json!({"type": ["null", "string"]}));
    }
    let output = target.load(&[
        t_schema(),
        t_record(1),
        t_state(1),
        schema("wide", Value::Object(properties), &["id"]),
    ]);
    output.assert_failure(&[
        "line 4",
        "stream wide",
        "2007 columns",
        "at most 1600",
        "nesting",
    ]);
    assert!(!output.stderr.contains("create table"), "{}", output.stderr);
    assert!(output.stderr.len() < 4000, "{}", output.stderr.len());
    // What came before is committed and its state printed.
    assert_eq!(
        emitted_states(&output),
        [json!({"bookmarks": {"t": {"id": 1}}})]
    );
}

/// Orchestrators start jobs at the same moment: targets creating the same new schema, table and
/// columns at once all succeed (PostgreSQL's `if not exists` alone is not race-free).
#[test]
fn targets_creating_the_same_schema_and_table_at_once_all_succeed() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let input = lines(&[t_schema(), t_record(1), t_record(2), t_state(2)]);
    target.load_at_once(&input, 8);
    assert_eq!(
        query_rows(
            &mut db.client(),
            "select id, name from warehouse.t order by id"
        ),
        [["1", "name 1"], ["2", "name 2"]]
    );
}

// ---------------------------------------------------------------------------------------------
// Values never quoted

/// In every bad value below (a record's values may be personal data); long enough not to turn up
/// in a timestamp, port or database name.
const SECRET: &str = "secret-value-1234";
const SECRET_NUMBER: u64 = 73_737_373_737;

/// A stream whose SCHEMA the target checks itself (types, bounds, lengths) and one that goes to
/// full JSON Schema validation (`pattern`, `enum`).
fn secret_schemas() -> [Value; 2] {
    [
        schema(
            "people",
            json!({"id": {"type": "integer"},
                   "name": {"type": ["null", "string"], "maxLength": 10},
                   "age": {"type": ["null", "integer"], "maximum": 150},
                   "code": {"type": ["null", "string"], "x-sql-datatype": "character varying(5)"},
                   "born": {"type": ["null", "string"], "format": "date-time"},
                   "n": {"type": ["null", "integer"]}}),
            &["id"],
        ),
        schema(
            "tickets",
            json!({"id": {"type": "integer"},
                   "ref": {"type": ["null", "string"], "pattern": "^[0-9]+$"},
                   "status": {"type": ["null", "string"], "enum": ["open", "closed"]}}),
            &["id"],
        ),
    ]
}

fn holds_secret(text: &str) -> bool {
    text.contains("secret-value") || text.contains(&SECRET_NUMBER.to_string())
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!holds_secret(text), "{what} quotes a value:\n{text}");
}

/// Rejected records: the warning names the line, stream and property and what is wrong, the
/// `_sdc_rejected` reason too; neither quotes the value (the record itself is kept as it came).
#[test]
fn rejected_values_are_named_never_quoted() {
    let db = PgDatabase::new();
    let target = TargetRun::new(&db, json!({"invalid_records": "reject"}));
    let [people, tickets] = secret_schemas();
    let long = format!("{SECRET} and more");
    // (stream, record, property, what the reason says)
    let rejected = [
        (
            "people",
            json!({"id": 1, "name": long}),
            "name",
            "a string of 26 characters is longer than the maxLength of 10",
        ),
        (
            "people",
            json!({"id": 2, "age": SECRET_NUMBER}),
            "age",
            "a number greater than the maximum of 150",
        ),
        (
            "people",
            json!({"id": 3, "code": SECRET}),
            "code",
            "a string of 17 characters is longer than character varying(5) allows",
        ),
        (
            "people",
            json!({"id": 4, "born": SECRET}),
            "born",
            "not a valid date-time",
        ),
        (
            "people",
            json!({"id": 5, "n": SECRET}),
            "n",
            "a string of 17 characters is not of types \"integer\", \"null\"",
        ),
        (
            "people",
            json!({"id": 6, "_sdc_deleted_at": SECRET}),
            "_sdc_deleted_at",
            "not a valid date-time",
        ),
        (
            "tickets",
            json!({"id": 1, "ref": SECRET}),
            "ref",
            "does not match the pattern",
        ),
        (
            "tickets",
            json!({"id": 2, "status": SECRET}),
            "status",
            "none of the 2 values its enum allows",
        ),
        (
            "tickets",
            json!({"id": 3, "ref": SECRET_NUMBER}),
            "ref",
            "a number is not of types \"null\", \"string\"",
        ),
    ];
    let mut input = vec![people, tickets];
    input.extend(
        rejected
            .iter()
            .map(|(stream, values, ..)| record(stream, values.clone())),
    );
    input.push(record("people", json!({"id": 7, "name": "Ada"})));
    let output = target.load(&input);
    output.assert_success();
    assert_no_secret("stderr", &output.stderr);
    let stored = query_rows(
        &mut db.client(),
        "select line, stream, reason, record from warehouse._sdc_rejected order by line",
    );
    assert_eq!(
        stored.len(),
        rejected.len(),
        "{stored:?}\n{}",
        output.stderr
    );
    for (row, (line, (stream, _, property, what))) in stored.iter().zip((3..).zip(&rejected)) {
        assert_eq!(row[..2], [line.to_string(), stream.to_string()], "{row:?}");
        assert!(
            row[2].starts_with(&format!("{property}: ")) && row[2].contains(what),
            "line {line}: reason {:?}, expected {property}: …{what}…",
            row[2]
        );
        assert_no_secret("the reason", &row[2]);
        assert!(
            holds_secret(&row[3]),
            "the record is kept as it came: {row:?}"
        );
        output.assert_stderr_has(&[&format!(
            "line={line} stream=\"{stream}\" property=\"{property}\""
        )]);
    }
}

/// A bad value that stops the load: the error names the line, stream and property (or table and
/// column, when the warehouse refuses the value) and never quotes it.
#[test]
fn a_bad_value_that_stops_the_load_is_named_never_quoted() {
    let db = PgDatabase::new();
    let target = TargetRun::new(&db, json!({}));
    let [people, tickets] = secret_schemas();
    let accounts = schema(
        "accounts",
        json!({"id": {"type": "integer"},
               "uid": {"type": ["null", "string"], "x-sql-datatype": "uuid"}}),
        &["id"],
    );
    let version = format!(
        r#"{{"type": "RECORD", "stream": "people", "record": {{"id": 1}}, "version": "{SECRET}"}}"#
    );
    let cases = [
        (
            lines(&[
                people.clone(),
                record("people", json!({"id": 1, "name": SECRET})),
            ]),
            vec![
                "line 2",
                "stream people",
                "property name",
                "longer than the maxLength of 10",
            ],
        ),
        (
            lines(&[
                tickets,
                record("tickets", json!({"id": 1, "status": SECRET})),
            ]),
            vec!["line 2", "stream tickets", "property status", "enum"],
        ),
        (
            lines(&[
                accounts,
                record("accounts", json!({"id": 1, "uid": SECRET})),
            ]),
            vec![
                "line 2",
                "stream accounts",
                "table accounts",
                "column uid",
                "22P02",
            ],
        ),
        (
            format!("{}{version}\n", lines(&[people])),
            vec!["line 2", "invalid RECORD message", "a string, expected u64"],
        ),
    ];
    for (input, parts) in cases {
        let output = target.load_text(&input);
        assert!(!output.status.success(), "{input}\n{}", output.stderr);
        assert_no_secret("stderr", &output.stderr);
        output.assert_stderr_has(&parts);
    }
}
