//! target-postgres loading semantics: upsert on the key, append-only streams, batches and the
//! STATEs they release, ACTIVATE_VERSION and `_sdc_deleted_at` record deletes (soft and hard), the
//! `state_table`, the system columns, and repeated STATEs printed once.

use postgres::Client;
use serde_json::{Value, json};
use tests::PgDatabase;
use tests::warehouse::{
    TargetRun, columns, data_columns, emitted_states, query_rows, record, schema, state, tables,
};

/// A client whose session shows timestamps in UTC, so expectations do not depend on the server.
fn utc_client(db: &PgDatabase) -> Client {
    let mut client = db.client();
    client
        .batch_execute("set timezone = 'UTC'")
        .expect("set timezone");
    client
}

/// A RECORD of a full-table `version`.
fn versioned(stream: &str, version: u64, value: Value) -> Value {
    json!({"type": "RECORD", "stream": stream, "record": value, "version": version})
}

fn activate_version(stream: &str, version: u64) -> Value {
    json!({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})
}

fn primary_key(client: &mut Client, table: &str) -> Vec<Vec<String>> {
    query_rows(
        client,
        &format!(
            "select pg_get_constraintdef(oid) from pg_constraint \
             where conrelid = 'warehouse.\"{table}\"'::regclass and contype = 'p'"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Upsert

fn customer_schema() -> Value {
    let properties = json!({"id": {"type": "integer"}, "name": {"type": ["null", "string"]},
                            "score": {"type": ["null", "number"]},
                            "active": {"type": ["null", "boolean"]}});
    schema("customers", properties, &["id"])
}

fn customer(id: i64, name: Value, score: Value, active: Value) -> Value {
    record(
        "customers",
        json!({"id": id, "name": name, "score": score, "active": active}),
    )
}

#[test]
fn a_second_run_updates_existing_keys_and_adds_new_ones() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[
            customer_schema(),
            customer(1, json!("Ada"), json!(1.5), json!(true)),
            customer(2, json!("Bob"), json!(2), json!(true)),
            customer(3, json!("Cy"), json!(null), json!(false)),
            state(json!({"run": 1})),
        ])
        .assert_success();
    let mut client = db.client();
    assert_eq!(
        data_columns(&mut client, "customers"),
        ["id", "name", "score", "active"]
    );
    assert_eq!(
        primary_key(&mut client, "customers"),
        [["PRIMARY KEY (id)"]]
    );
    let select = "select id, name, score, active from warehouse.customers order by id";
    assert_eq!(
        query_rows(&mut client, select),
        [
            ["1", "Ada", "1.5", "t"],
            ["2", "Bob", "2", "t"],
            ["3", "Cy", "NULL", "f"]
        ]
    );

    let output = target.load(&[
        customer_schema(),
        customer(2, json!("Bobby"), json!(null), json!(true)),
        customer(4, json!("Dee"), json!(4.25), json!(null)),
        customer(3, json!("Cy"), json!(30.125), json!(true)),
        customer(5, json!(null), json!(-5), json!(false)),
        state(json!({"run": 2})),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output), [json!({"run": 2})]);
    assert_eq!(
        query_rows(&mut client, select),
        [
            ["1", "Ada", "1.5", "t"],
            ["2", "Bobby", "NULL", "t"],
            ["3", "Cy", "30.125", "t"],
            ["4", "Dee", "4.25", "NULL"],
            ["5", "NULL", "-5", "f"]
        ]
    );
    assert_eq!(
        primary_key(&mut client, "customers"),
        [["PRIMARY KEY (id)"]]
    );
}

/// Each row's `xmin`: the transaction that last wrote it.
fn writers(client: &mut Client) -> Vec<Vec<String>> {
    query_rows(
        client,
        "select id, xmin::text from warehouse.customers order by id",
    )
}

#[test]
fn a_resync_writes_again_only_the_rows_that_changed() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let first = [
        customer(1, json!("Ada"), json!(1.5), json!(true)),
        customer(2, json!("Bob"), json!(2), json!(true)),
        customer(3, json!("Cy"), json!(3), json!(false)),
        customer(4, json!("Dee"), json!(4), json!(null)),
    ];
    let mut messages = vec![customer_schema()];
    messages.extend(first.iter().cloned());
    target.load(&messages).assert_success();
    let mut client = db.client();
    let before = writers(&mut client);

    // The same rows again, but: 2's name changed; 3's score is equal as a number and not the same
    // value (`3.0`: numeric keeps the scale it is given); 4 was deleted at the source.
    let mut deleted = customer(4, json!("Dee"), json!(4), json!(null));
    deleted["record"]["_sdc_deleted_at"] = json!("2026-01-02T03:04:05Z");
    target
        .load(&[
            customer_schema(),
            first[0].clone(),
            customer(2, json!("Bobby"), json!(2), json!(true)),
            customer(3, json!("Cy"), json!(3.0), json!(false)),
            deleted,
            state(json!({"run": 2})),
        ])
        .assert_success();
    let after = writers(&mut client);
    assert_eq!(after[0], before[0], "an unchanged row is not written again");
    for row in 1..4 {
        assert_ne!(after[row][1], before[row][1], "row {} changed", row + 1);
    }
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name, score::text, _sdc_deleted_at is not null \
             from warehouse.customers order by id"
        ),
        [
            ["1", "Ada", "1.5", "f"],
            ["2", "Bobby", "2", "f"],
            ["3", "Cy", "3.0", "f"],
            ["4", "Dee", "4", "t"]
        ]
    );
}

#[test]
fn keys_equal_only_to_postgresql_still_keep_the_newest_record() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let schema = schema(
        "prices",
        json!({"id": {"type": "number"}, "name": {"type": ["null", "string"]}}),
        &["id"],
    );
    target
        .load(&[
            schema.clone(),
            record("prices", json!({"id": 1, "name": "first"})),
        ])
        .assert_success();
    // `1` and `1.0` are two texts, one numeric key: the later record wins (the key keeps its text).
    let input = format!(
        "{schema}\n{}\n{}\n",
        r#"{"type": "RECORD", "stream": "prices", "record": {"id": 1, "name": "older"}}"#,
        r#"{"type": "RECORD", "stream": "prices", "record": {"id": 1.0, "name": "newest"}}"#
    );
    target.load_text(&input).assert_success();
    assert_eq!(
        query_rows(
            &mut db.client(),
            "select id::text, name from warehouse.prices"
        ),
        [["1", "newest"]]
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Append-only

fn event_schema() -> Value {
    let properties = json!({"name": {"type": "string"}, "n": {"type": ["null", "integer"]},
                            "tags": {"type": ["null", "array"], "items": {"type": "string"}}});
    schema("events", properties, &[])
}

fn event(name: &str, n: i64, tags: Value) -> Value {
    record("events", json!({"name": name, "n": n, "tags": tags}))
}

#[test]
fn a_stream_without_key_appends_every_record_of_every_run() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[
            event_schema(),
            event("a", 1, json!(["x"])),
            event("b", 2, json!([])),
            event("a", 1, json!(["x"])),
        ])
        .assert_success();
    target
        .load(&[
            event_schema(),
            event("a", 1, json!(["x"])),
            event("c", 3, json!(["y", "z"])),
        ])
        .assert_success();

    let mut client = db.client();
    assert_eq!(tables(&mut client), ["events", "events__tags"]);
    assert_eq!(data_columns(&mut client, "events"), ["name", "n"]);
    assert!(
        primary_key(&mut client, "events").is_empty(),
        "an append-only table has no key to conflict on"
    );
    // Input order, duplicates and all.
    assert_eq!(
        query_rows(
            &mut client,
            "select name, n from warehouse.events order by _sdc_sequence"
        ),
        [["a", "1"], ["b", "2"], ["a", "1"], ["a", "1"], ["c", "3"]]
    );
    // Each element belongs to its own parent row, linked by `_sdc_sequence`.
    assert_eq!(
        query_rows(
            &mut client,
            "select e.name, t._sdc_level_0_id, t.value from warehouse.events__tags t \
             join warehouse.events e on e._sdc_sequence = t._sdc_sequence \
             order by e._sdc_sequence, t._sdc_level_0_id"
        ),
        [
            ["a", "0", "x"],
            ["a", "0", "x"],
            ["a", "0", "x"],
            ["c", "0", "y"],
            ["c", "1", "z"]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Batches

#[test]
fn small_batches_of_two_interleaved_streams_load_everything_and_release_states_in_order() {
    let (db, target) = TargetRun::with_new_database(json!({"batch_size_rows": 3}));
    let props = json!({"id": {"type": "integer"}, "v": {"type": "string"}});
    let a = |id: i64, v: &str| record("a", json!({"id": id, "v": v}));
    let b = |id: i64, v: &str| record("b", json!({"id": id, "v": v}));
    let states: Vec<Value> = (1..=4)
        .map(|n| json!({"bookmarks": {"a": n, "b": n * 10}}))
        .collect();
    let input = [
        schema("a", props.clone(), &["id"]),
        schema("b", props, &["id"]),
        a(1, "a1"),
        b(1, "b1"),
        a(2, "a2"),
        state(states[0].clone()),
        a(3, "a3"),
        b(2, "b2"),
        b(3, "b3"),
        state(states[1].clone()),
        a(4, "a4"),
        b(4, "b4"),
        state(states[2].clone()),
        a(5, "a5"),
        // Key 1 again, in a later batch than its first version: the newer one wins.
        a(1, "a1-new"),
        b(5, "b5"),
        state(states[3].clone()),
    ];
    let output = target.load(&input);
    output.assert_success();

    let mut client = db.client();
    assert_eq!(
        query_rows(&mut client, "select id, v from warehouse.a order by id"),
        [
            ["1", "a1-new"],
            ["2", "a2"],
            ["3", "a3"],
            ["4", "a4"],
            ["5", "a5"]
        ]
    );
    assert_eq!(
        query_rows(&mut client, "select id, v from warehouse.b order by id"),
        [
            ["1", "b1"],
            ["2", "b2"],
            ["3", "b3"],
            ["4", "b4"],
            ["5", "b5"]
        ]
    );

    let printed = emitted_states(&output);
    let positions: Vec<usize> = printed
        .iter()
        .map(|value| {
            states
                .iter()
                .position(|s| s == value)
                .unwrap_or_else(|| panic!("printed a STATE never sent: {value}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "STATEs printed out of input order (or twice): {printed:?}"
    );
    assert_eq!(printed.last(), states.last(), "printed: {printed:?}");
    assert!(
        printed.len() >= 2,
        "batches of 3 commit before the end of input and release the STATEs they cover: {printed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. ACTIVATE_VERSION

fn item_schema() -> Value {
    let properties = json!({"id": {"type": "integer"}, "name": {"type": "string"},
                            "parts": {"type": ["null", "array"], "items": {"type": "object",
                                      "properties": {"sku": {"type": "string"}}}}});
    schema("items", properties, &["id"])
}

/// A full-table sync of `version` of `items`, `(id, name, skus of its parts)` each, between two
/// ACTIVATE_VERSIONs, as a tap sends it.
fn load_version(target: &TargetRun, version: u64, items: &[(i64, &str, &[&str])]) {
    let mut input = vec![item_schema(), activate_version("items", version)];
    for (id, name, skus) in items {
        let parts: Vec<Value> = skus.iter().map(|sku| json!({"sku": sku})).collect();
        let item = json!({"id": id, "name": name, "parts": parts});
        input.push(versioned("items", version, item));
    }
    input.push(activate_version("items", version));
    target.load(&input).assert_success();
}

/// The rows of `items` and of `items__parts`, with their version and whether they are deleted.
fn items_and_parts(client: &mut Client) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let items = query_rows(
        client,
        "select id, name, _sdc_table_version, _sdc_deleted_at is not null \
         from warehouse.items order by id",
    );
    let parts = query_rows(
        client,
        "select _sdc_source_key_id, _sdc_level_0_id, sku, _sdc_table_version, \
         _sdc_deleted_at is not null from warehouse.items__parts order by 1, 2",
    );
    (items, parts)
}

/// Version 1 with items 1, 2, 3; then version 2 with items 1 and 3 only.
fn load_two_versions(target: &TargetRun, client: &mut Client) {
    load_version(
        target,
        1,
        &[
            (1, "one", &["1a", "1b"]),
            (2, "two", &["2a", "2b"]),
            (3, "three", &["3a"]),
        ],
    );
    // Nothing older than version 1: nothing deleted.
    let (items, parts) = items_and_parts(client);
    assert_eq!(
        items,
        [
            ["1", "one", "1", "f"],
            ["2", "two", "1", "f"],
            ["3", "three", "1", "f"]
        ]
    );
    assert_eq!(
        parts,
        [
            ["1", "0", "1a", "1", "f"],
            ["1", "1", "1b", "1", "f"],
            ["2", "0", "2a", "1", "f"],
            ["2", "1", "2b", "1", "f"],
            ["3", "0", "3a", "1", "f"]
        ]
    );
    load_version(
        target,
        2,
        &[(1, "one", &["1a", "1b"]), (3, "three v2", &["3a", "3b"])],
    );
}

#[test]
fn activate_version_soft_deletes_rows_only_in_older_versions() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let mut client = db.client();
    load_two_versions(&target, &mut client);
    let (items, parts) = items_and_parts(&mut client);
    assert_eq!(
        items,
        [
            ["1", "one", "2", "f"],
            ["2", "two", "1", "t"],
            ["3", "three v2", "2", "f"]
        ]
    );
    assert_eq!(
        parts,
        [
            ["1", "0", "1a", "2", "f"],
            ["1", "1", "1b", "2", "f"],
            ["2", "0", "2a", "1", "t"],
            ["2", "1", "2b", "1", "t"],
            ["3", "0", "3a", "2", "f"],
            ["3", "1", "3b", "2", "f"]
        ]
    );
}

#[test]
fn activate_version_with_hard_delete_removes_rows_only_in_older_versions() {
    let (db, target) = TargetRun::with_new_database(json!({"hard_delete": true}));
    let mut client = db.client();
    load_two_versions(&target, &mut client);
    let (items, parts) = items_and_parts(&mut client);
    assert_eq!(items, [["1", "one", "2", "f"], ["3", "three v2", "2", "f"]]);
    assert_eq!(
        parts,
        [
            ["1", "0", "1a", "2", "f"],
            ["1", "1", "1b", "2", "f"],
            ["3", "0", "3a", "2", "f"],
            ["3", "1", "3b", "2", "f"]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Record deletes

fn user_schema() -> Value {
    let properties = json!({"id": {"type": "integer"}, "name": {"type": ["null", "string"]},
                            "roles": {"type": ["null", "array"], "items": {"type": "object",
                                      "properties": {"role": {"type": "string"}}}},
                            "_sdc_deleted_at": {"type": ["null", "string"],
                                                "format": "date-time"}});
    schema("users", properties, &["id"])
}

fn user(id: i64, name: &str, roles: &[&str]) -> Value {
    let roles: Vec<Value> = roles.iter().map(|role| json!({"role": role})).collect();
    record("users", json!({"id": id, "name": name, "roles": roles}))
}

fn load_users(target: &TargetRun) {
    target
        .load(&[
            user_schema(),
            user(1, "ann", &["admin", "dev"]),
            user(2, "ben", &["dev", "ops"]),
            user(3, "cat", &["ops"]),
        ])
        .assert_success();
}

/// The rows of `users` (with when they were deleted) and of `users__roles`.
fn users_and_roles(client: &mut Client) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let users = query_rows(
        client,
        "select id, name, _sdc_deleted_at from warehouse.users order by id",
    );
    let roles = query_rows(
        client,
        "select _sdc_source_key_id, _sdc_level_0_id, role from warehouse.users__roles \
         order by 1, 2",
    );
    (users, roles)
}

#[test]
fn a_record_with_sdc_deleted_at_is_kept_and_marked_when_soft() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    load_users(&target);
    let mut deleted = user(2, "ben", &["dev", "ops"]);
    deleted["record"]["_sdc_deleted_at"] = json!("2024-05-01T12:30:00.250Z");
    target
        .load(&[user_schema(), deleted, user(3, "cat", &["ops", "dev"])])
        .assert_success();

    let mut client = utc_client(&db);
    assert_eq!(data_columns(&mut client, "users"), ["id", "name"]);
    let (users, roles) = users_and_roles(&mut client);
    assert_eq!(
        users,
        [
            ["1", "ann", "NULL"],
            ["2", "ben", "2024-05-01 12:30:00.25+00"],
            ["3", "cat", "NULL"]
        ]
    );
    assert_eq!(
        roles,
        [
            ["1", "0", "admin"],
            ["1", "1", "dev"],
            ["2", "0", "dev"],
            ["2", "1", "ops"],
            ["3", "0", "ops"],
            ["3", "1", "dev"]
        ]
    );
}

#[test]
fn a_record_with_sdc_deleted_at_is_removed_with_its_children_when_hard() {
    let (db, target) = TargetRun::with_new_database(json!({"hard_delete": true}));
    load_users(&target);
    // A tap's delete carries the key and the time; the children it had are gone with it.
    target
        .load(&[
            user_schema(),
            record(
                "users",
                json!({"id": 2, "_sdc_deleted_at": "2024-05-01T12:30:00Z"}),
            ),
            user(3, "cat", &["ops", "dev"]),
        ])
        .assert_success();

    let (users, roles) = users_and_roles(&mut db.client());
    assert_eq!(users, [["1", "ann", "NULL"], ["3", "cat", "NULL"]]);
    assert_eq!(
        roles,
        [
            ["1", "0", "admin"],
            ["1", "1", "dev"],
            ["3", "0", "ops"],
            ["3", "1", "dev"]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 6. state_table

fn state_table_rows(client: &mut Client) -> Vec<(String, Value)> {
    query_rows(
        client,
        "select id, value::text from warehouse.singer_state order by id",
    )
    .into_iter()
    .map(|row| {
        let value = serde_json::from_str(&row[1]).expect("the state table holds JSON");
        (row[0].clone(), value)
    })
    .collect()
}

#[test]
fn the_state_table_holds_the_last_state_printed() {
    let (db, target) = TargetRun::with_new_database(json!({"state_table": "singer_state"}));
    let first = json!({"bookmarks": {"customers": {"id": 1}}});
    let last = json!({"bookmarks": {"customers": {"id": 2, "note": "ünïcode \"quoted\""}},
                      "currently_syncing": null});
    let output = target.load(&[
        customer_schema(),
        customer(1, json!("Ada"), json!(1), json!(true)),
        state(first.clone()),
        customer(2, json!("Bob"), json!(2), json!(false)),
        state(last.clone()),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output).last(), Some(&last));

    let mut client = db.client();
    assert_eq!(
        columns(&mut client, "singer_state"),
        [
            ("id".to_owned(), "text".to_owned()),
            ("value".to_owned(), "jsonb".to_owned()),
            (
                "updated_at".to_owned(),
                "timestamp with time zone".to_owned()
            )
        ]
    );
    assert_eq!(
        primary_key(&mut client, "singer_state"),
        [["PRIMARY KEY (id)"]]
    );
    assert_eq!(state_table_rows(&mut client), [("state".to_owned(), last)]);
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name from warehouse.customers order by id"
        ),
        [["1", "Ada"], ["2", "Bob"]]
    );

    // A run with a STATE and no records replaces the stored one.
    let only = json!({"bookmarks": {"customers": {"id": 3}}});
    let output = target.load(&[state(only.clone())]);
    output.assert_success();
    assert_eq!(emitted_states(&output), std::slice::from_ref(&only));
    assert_eq!(state_table_rows(&mut client), [("state".to_owned(), only)]);
}

// ---------------------------------------------------------------------------------------------
// 7. System columns

fn tick_schema() -> Value {
    schema(
        "ticks",
        json!({"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}),
        &["id"],
    )
}

fn tick(id: i64, version: u64, extracted: &str) -> Value {
    json!({"type": "RECORD", "stream": "ticks", "record": {"id": id, "name": format!("t{id}")},
           "version": version, "time_extracted": extracted})
}

#[test]
fn system_columns_carry_version_extraction_time_and_input_order() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[
            tick_schema(),
            tick(30, 1_732_190_000_000, "2024-01-02T03:04:05.123456Z"),
            tick(10, 1_732_190_000_000, "2024-01-02T03:04:06Z"),
            tick(20, 1_732_190_000_001, "2023-12-31T23:59:59.5+02:00"),
        ])
        .assert_success();

    let mut client = utc_client(&db);
    assert_eq!(
        columns(&mut client, "ticks"),
        [
            ("id", "bigint"),
            ("name", "text"),
            ("_sdc_extracted_at", "timestamp with time zone"),
            ("_sdc_received_at", "timestamp with time zone"),
            ("_sdc_batched_at", "timestamp with time zone"),
            ("_sdc_deleted_at", "timestamp with time zone"),
            ("_sdc_sequence", "bigint"),
            ("_sdc_table_version", "bigint")
        ]
        .map(|(name, sql_type)| (name.to_owned(), sql_type.to_owned()))
    );
    // Ordered by `_sdc_sequence`: the input order, not the key order.
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name, _sdc_table_version, _sdc_extracted_at, _sdc_deleted_at, \
             _sdc_received_at is not null, _sdc_batched_at is not null \
             from warehouse.ticks order by _sdc_sequence"
        ),
        [
            [
                "30",
                "t30",
                "1732190000000",
                "2024-01-02 03:04:05.123456+00",
                "NULL",
                "t",
                "t"
            ],
            [
                "10",
                "t10",
                "1732190000000",
                "2024-01-02 03:04:06+00",
                "NULL",
                "t",
                "t"
            ],
            [
                "20",
                "t20",
                "1732190000001",
                "2023-12-31 21:59:59.5+00",
                "NULL",
                "t",
                "t"
            ]
        ]
    );
    // Strictly increasing, and a later run's records come after.
    target
        .load(&[tick_schema(), tick(5, 7, "2024-02-01T00:00:00Z")])
        .assert_success();
    assert_eq!(
        query_rows(
            &mut client,
            "select id from warehouse.ticks order by _sdc_sequence"
        ),
        [["30"], ["10"], ["20"], ["5"]]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select count(distinct _sdc_sequence) from warehouse.ticks"
        ),
        [["4"]]
    );
    // Received and batched: the time of the load that wrote the row, filled by PostgreSQL (also
    // in a table of an earlier version without the defaults) and moved on by an upsert.
    client
        .batch_execute(
            "alter table warehouse.ticks alter column _sdc_received_at drop default; \
             create table before as select _sdc_batched_at from warehouse.ticks where id = 30",
        )
        .unwrap();
    target
        .load(&[tick_schema(), tick(30, 7, "2024-02-01T00:00:00Z")])
        .assert_success();
    assert_eq!(
        query_rows(
            &mut client,
            "select t._sdc_batched_at > b._sdc_batched_at, t._sdc_received_at = t._sdc_batched_at, \
                    t._sdc_batched_at > now() - interval '1 minute' \
               from warehouse.ticks t, before b where t.id = 30"
        ),
        [["t", "t", "t"]]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select count(*) from pg_attribute where attrelid = 'warehouse.ticks'::regclass \
              and attname in ('_sdc_received_at', '_sdc_batched_at') and atthasdef"
        ),
        [["2"]]
    );
}

#[test]
fn without_metadata_columns_only_delete_sequence_and_version_remain() {
    let (db, target) = TargetRun::with_new_database(json!({"add_metadata_columns": false}));
    target
        .load(&[
            tick_schema(),
            tick(2, 9, "2024-01-02T03:04:05Z"),
            tick(1, 9, "2024-01-02T03:04:06Z"),
        ])
        .assert_success();
    let mut client = db.client();
    assert_eq!(
        columns(&mut client, "ticks")
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>(),
        [
            "id",
            "name",
            "_sdc_deleted_at",
            "_sdc_sequence",
            "_sdc_table_version"
        ]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name, _sdc_deleted_at, _sdc_table_version from warehouse.ticks \
             order by _sdc_sequence"
        ),
        [["2", "t2", "NULL", "9"], ["1", "t1", "NULL", "9"]]
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Repeated STATEs

#[test]
fn a_state_equal_to_the_last_printed_is_not_printed_again() {
    // Every record commits at once, so each STATE can go as soon as it arrives.
    let (db, target) = TargetRun::with_new_database(json!({"batch_size_rows": 1}));
    let a = json!({"bookmarks": {"customers": "a"}});
    let b = json!({"bookmarks": {"customers": "b"}});
    let output = target.load(&[
        customer_schema(),
        customer(1, json!("one"), json!(1), json!(true)),
        state(a.clone()),
        state(a.clone()),
        customer(2, json!("two"), json!(2), json!(true)),
        state(a.clone()),
        state(b.clone()),
        state(b.clone()),
        customer(3, json!("three"), json!(3), json!(false)),
        state(b.clone()),
        // Different from the last printed one (b): printed again.
        state(a.clone()),
        state(a.clone()),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output), [a.clone(), b, a]);
    let mut client = db.client();
    assert_eq!(
        query_rows(
            &mut client,
            "select id, name from warehouse.customers order by id"
        ),
        [["1", "one"], ["2", "two"], ["3", "three"]]
    );
}

#[test]
fn identical_states_around_a_record_are_printed_once() {
    let (_db, target) = TargetRun::with_new_database(json!({}));
    let only = json!({"bookmarks": {"customers": {"id": 1}}});
    let output = target.load(&[
        customer_schema(),
        state(only.clone()),
        customer(1, json!("one"), json!(1), json!(true)),
        state(only.clone()),
        state(only.clone()),
        state(only.clone()),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output), [only]);
}
