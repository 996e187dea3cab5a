//! tap-postgres sync: full table with versions and resume, incremental across runs with state,
//! column selection, and the order of messages a target relies on.

use std::collections::BTreeSet;

use common::{Message, State};
use serde_json::{Value, json};
use tests::bin::write_json;
use tests::singer::{catalog_entry, column_metadata, last_state, record_keys, records};
use tests::{PgDatabase, TapRun};

fn ids(records: &[&serde_json::Map<String, Value>]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[test]
fn full_table_sends_versioned_rows_between_activate_versions() {
    let db = PgDatabase::with_sql(
        "create table items (id bigint primary key, name text, secret text); \
             insert into items select g, 'n' || g, 's' || g from generate_series(1, 2500) g;",
    );
    let tap = TapRun::postgres(
        &db,
        json!({"select": ["public.items.*", "!public.items.secret"], "state_every_rows": 1000}),
    );
    let output = tap.run(None);
    let messages = output.messages();

    // STATE (currently_syncing), SCHEMA, ACTIVATE_VERSION, STATE (max key), RECORDs…
    let Message::State(first) = &messages[0] else {
        panic!("the run starts by naming the stream it syncs")
    };
    assert_eq!(first.value["currently_syncing"], "public-items");
    let Message::Schema(schema) = &messages[1] else {
        panic!("SCHEMA before any RECORD")
    };
    assert_eq!(schema.stream, "items");
    assert_eq!(schema.key_properties, ["id"]);
    let properties: Vec<&String> = schema.schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        properties,
        ["id", "name"],
        "the deselected column is not in the schema"
    );
    let Message::ActivateVersion(opening) = &messages[2] else {
        panic!("a first sync opens with ACTIVATE_VERSION")
    };
    let Some(Message::ActivateVersion(closing)) = messages.iter().rev().nth(1) else {
        panic!("the sync ends with ACTIVATE_VERSION before the final STATE")
    };
    assert_eq!(opening.version, closing.version);

    let rows = records(&messages);
    assert_eq!(ids(&rows), (1..=2500).collect::<Vec<_>>());
    for row in &rows {
        let id = row["id"].as_i64().unwrap();
        assert_eq!(row["name"], format!("n{id}"));
        assert!(!row.contains_key("secret"));
    }
    for message in &messages {
        if let Message::Record(record) = message {
            assert_eq!(record.version, Some(opening.version));
            assert!(record.time_extracted.as_deref().unwrap().ends_with('Z'));
        }
    }
    // Progress every 1000 rows.
    let progress: Vec<Value> = messages
        .iter()
        .filter_map(|m| match m {
            Message::State(s) => s.value["bookmarks"]["public-items"]["last_pk_fetched"]
                .get("id")
                .cloned(),
            _ => None,
        })
        .collect();
    assert_eq!(progress, [json!(1000), json!(2000)]);
    let state = last_state(&messages);
    assert_eq!(state["currently_syncing"], Value::Null);
    assert_eq!(
        state["bookmarks"]["public-items"],
        json!({"version": opening.version, "last_replication_method": "FULL_TABLE"})
    );
    assert!(
        output
            .stderr
            .contains(r#"INFO METRIC: {"type":"counter","metric":"record_count","value":2500"#),
        "{}",
        output.stderr
    );

    // The next full sync is a new version, without the opening ACTIVATE_VERSION.
    let again = tap.run(Some(&state)).messages();
    let versions: BTreeSet<u64> = again
        .iter()
        .filter_map(|m| match m {
            Message::ActivateVersion(a) => Some(a.version),
            _ => None,
        })
        .collect();
    assert_eq!(versions.len(), 1);
    assert!(versions.into_iter().next().unwrap() > opening.version);
    assert_eq!(records(&again).len(), 2500);
}

/// The `(region, seq)` key of every `events` RECORD, in order.
fn event_keys(messages: &[Message]) -> Vec<(String, i64)> {
    record_keys(messages, "region", "seq")
}

#[test]
fn an_interrupted_full_table_sync_resumes_where_it_stopped() {
    let db = PgDatabase::with_sql(
        "create table events (region text, seq integer, payload numeric, primary key (region, seq)); \
             insert into events select r, g, g * 1.5 from unnest(array['eu', 'us']) r, generate_series(1, 20000) g;",
    );
    let tap = TapRun::postgres(
        &db,
        json!({"select": ["public.events"], "state_every_rows": 1000}),
    );
    let full = tap.run(None).messages();
    let all = event_keys(&full);
    assert_eq!(all.len(), 40_000);

    // A real run, killed once it has printed its STATE after 2000 rows; what it printed up to
    // that line is what a target would have committed.
    let before = tap.run_until_killed(|m| {
        matches!(m, Message::State(s)
            if s.value["bookmarks"]["public-events"]["last_pk_fetched"]["seq"] == json!(2000))
    });
    let before = &before[..];
    let interrupted_state = last_state(before);
    assert_eq!(
        interrupted_state["bookmarks"]["public-events"]["last_pk_fetched"],
        json!({"region": "eu", "seq": 2000})
    );
    assert_eq!(
        interrupted_state["bookmarks"]["public-events"]["max_pk_values"],
        json!({"region": "us", "seq": 20000})
    );
    assert_eq!(interrupted_state["currently_syncing"], "public-events");

    // Rows added after the interrupted run started wait for the next full sync.
    db.execute("insert into events values ('zz', 1, 0)");
    let resumed = tap.run(Some(&interrupted_state)).messages();
    let sent_first = event_keys(before);
    let sent_after = event_keys(&resumed);
    assert_eq!(sent_first.len(), 2000);
    assert_eq!(sent_after.len(), 38_000, "exactly the remaining rows");
    let union: Vec<(String, i64)> = sent_first.into_iter().chain(sent_after).collect();
    assert_eq!(
        union, all,
        "together the runs cover the table once, in key order"
    );

    // The resumed run keeps the interrupted version and closes it.
    let version = interrupted_state["bookmarks"]["public-events"]["version"].as_u64();
    assert!(resumed.iter().all(|m| match m {
        Message::Record(r) => r.version == version,
        Message::ActivateVersion(a) => Some(a.version) == version,
        _ => true,
    }));
    assert!(matches!(
        resumed.iter().rev().nth(1),
        Some(Message::ActivateVersion(_))
    ));
    let end = last_state(&resumed);
    assert!(
        end["bookmarks"]["public-events"]
            .get("last_pk_fetched")
            .is_none()
    );
    assert!(
        end["bookmarks"]["public-events"]
            .get("max_pk_values")
            .is_none()
    );
}

#[test]
fn incremental_runs_send_changes_since_the_bookmark() {
    let db = PgDatabase::with_sql(
        "create table orders (id integer primary key, status text, updated_at timestamptz); \
             create index on orders (updated_at); \
             insert into orders select g, 'new', timestamptz '2026-01-01 00:00:00Z' + g * interval '1 minute' \
                 from generate_series(1, 50) g; \
             insert into orders values (51, 'tie', timestamptz '2026-01-01 00:50:00Z');",
    );
    let tap = TapRun::postgres(
        &db,
        json!({"select": [{"table": "public.orders", "replication_method": "INCREMENTAL",
                           "replication_key": "updated_at"}],
               "state_every_rows": 20}),
    );
    let first = tap.run(None).messages();
    let Some(Message::Schema(schema)) = first.iter().find(|m| matches!(m, Message::Schema(_)))
    else {
        panic!("no SCHEMA")
    };
    assert_eq!(
        schema.bookmark_properties.as_deref(),
        Some(&["updated_at".to_owned()][..])
    );
    assert_eq!(records(&first).len(), 51);
    assert!(
        !first
            .iter()
            .any(|m| matches!(m, Message::ActivateVersion(_)))
    );
    let state = last_state(&first);
    let bookmark = &state["bookmarks"]["public-orders"];
    assert_eq!(bookmark["replication_key"], "updated_at");
    assert_eq!(
        bookmark["replication_key_value"],
        "2026-01-01T00:50:00.000000Z"
    );

    // Between runs: an update, an insert, and a row sharing the bookmark value.
    db.execute("update orders set status = 'paid', updated_at = '2026-01-02 00:00:00Z' where id = 3; \
             insert into orders values (52, 'new', '2026-01-03 00:00:00Z'); \
             insert into orders values (53, 'late tie', '2026-01-01 00:50:00Z'); \
             update orders set status = 'old change', updated_at = '2025-06-01 00:00:00Z' where id = 4;");
    let second = tap.run(Some(&state)).messages();
    let rows = records(&second);
    let mut sent = ids(&rows);
    sent.sort();
    // 50, 51 and 53 share the bookmark value (>=); 3 and 52 changed after it. 4 moved backwards,
    // which key-based replication cannot see.
    assert_eq!(sent, [3, 50, 51, 52, 53]);
    let three = rows.iter().find(|r| r["id"] == 3).unwrap();
    assert_eq!(three["status"], "paid");
    let state = last_state(&second);
    assert_eq!(
        state["bookmarks"]["public-orders"]["replication_key_value"],
        "2026-01-03T00:00:00.000000Z"
    );
    let parsed = State::from_value(state).unwrap();
    assert_eq!(parsed.currently_syncing, None);
}

#[test]
fn incremental_keys_of_every_orderable_kind() {
    let db = PgDatabase::new();
    let cases = [
        ("bigint", "10", "20", json!(20)),
        (
            "numeric(30,10)",
            "1.5",
            "123456789012345678.0123456789",
            Value::Null,
        ),
        ("date", "'2026-01-01'", "'2026-02-01'", json!("2026-02-01")),
        ("text", "'apple'", "'banana'", json!("banana")),
        (
            "timestamp",
            "'2026-01-01 10:00'",
            "'2026-01-01 11:00'",
            json!("2026-01-01T11:00:00.000000Z"),
        ),
    ];
    for (index, (sql_type, low, high, expected)) in cases.into_iter().enumerate() {
        let table = format!("k{index}");
        db.execute(&format!(
            "create table {table} (id integer primary key, k {sql_type}); \
                 insert into {table} values (1, {low}), (2, {high});"
        ));
        let tap = TapRun::postgres(
            &db,
            json!({"select": [{"table": format!("public.{table}"), "replication_method": "INCREMENTAL",
                               "replication_key": "k"}]}),
        );
        let first = tap.run(None).messages();
        assert_eq!(records(&first).len(), 2, "{sql_type}");
        let state = last_state(&first);
        let value = &state["bookmarks"][format!("public-{table}")]["replication_key_value"];
        if expected.is_null() {
            assert_eq!(
                value.to_string(),
                "123456789012345678.0123456789",
                "exact digits"
            );
        } else {
            assert_eq!(value, &expected, "{sql_type}");
        }
        // The second run resends only the row at the bookmark.
        let second = tap.run(Some(&state)).messages();
        assert_eq!(ids(&records(&second)), [2], "{sql_type}");
    }
}

#[test]
fn an_interrupted_stream_is_synced_first_next_time() {
    let db = PgDatabase::with_sql(
        "create table a (id integer primary key); create table b (id integer primary key); \
             insert into a values (1); insert into b values (1);",
    );
    let tap = TapRun::postgres(&db, json!({"select": ["public.a", "public.b"]}));
    let state = json!({"currently_syncing": "public-b", "bookmarks": {}});
    let messages = tap.run(Some(&state)).messages();
    let order: Vec<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Schema(s) => Some(s.stream.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["b", "a"]);
}

#[test]
fn a_discovered_catalog_edited_by_the_user_drives_the_sync() {
    let db = PgDatabase::with_sql(
        "create table people (id integer primary key, name text, updated_at timestamptz); \
             insert into people values (1, 'ann', now()), (2, 'bob', now()); \
             create view people_names as select id, upper(name) as name from people; \
             create table log (line text); insert into log values ('a'), ('b'), ('c');",
    );
    let tap = TapRun::postgres(&db, json!({}));
    let mut catalog = tap.discover();
    for stream in catalog["streams"].as_array_mut().unwrap() {
        let is_view = stream["tap_stream_id"] == "public-people_names";
        let table = stream["metadata"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m["breadcrumb"] == json!([]))
            .unwrap();
        table["metadata"]["selected"] = json!(true);
        if is_view {
            table["metadata"]["view-key-properties"] = json!(["id"]);
        }
    }
    let catalog_path = write_json(tap.dir.path(), "catalog.json", &catalog);
    let output = tap.run_with(&["--catalog", &catalog_path]);
    output.assert_success();
    let messages = output.messages();
    let schemas: Vec<(&str, &[String])> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Schema(s) => Some((s.stream.as_str(), s.key_properties.as_slice())),
            _ => None,
        })
        .collect();
    assert_eq!(
        schemas,
        [
            ("log", &[][..]),
            ("people", &["id".to_owned()][..]),
            ("people_names", &["id".to_owned()][..]),
        ]
    );
    let names: Vec<&Value> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Record(r) if r.stream == "people_names" => Some(&r.record["name"]),
            _ => None,
        })
        .collect();
    assert_eq!(names, [&json!("ANN"), &json!("BOB")]);
    let lines: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Record(r) if r.stream == "log" => r.record["line"].as_str(),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        BTreeSet::from(["a", "b", "c"]),
        "a table without a key syncs whole"
    );
}

#[test]
fn a_replication_key_without_an_index_is_warned_about() {
    let db = PgDatabase::with_sql(
        "create table t (id integer primary key, changed date); insert into t values (1, '2026-01-01');",
    );
    let tap = TapRun::postgres(
        &db,
        json!({"select": [{"table": "public.t", "replication_method": "INCREMENTAL", "replication_key": "changed"}]}),
    );
    let output = tap.run(None);
    assert!(
        output.stderr.contains("the replication key has no index"),
        "{}",
        output.stderr
    );
    db.execute("create index on t (changed)");
    let output = tap.run(None);
    assert!(!output.stderr.contains("has no index"), "{}", output.stderr);
}

/// Meltano hands state over wrapped (`{"singer_state": …}`); a user may pass a target's whole
/// output (one state per line). Both resume where the last run stopped, and the run says where
/// each stream resumes from and which bookmarks belong to streams it does not have.
#[test]
fn state_in_other_shapes_resumes_and_says_from_where() {
    let db = PgDatabase::with_sql(
        "create table orders (id integer primary key, updated_at timestamptz); \
             create index on orders (updated_at); \
             insert into orders select g, timestamptz '2026-01-01 00:00:00Z' + g * interval '1 minute' \
                 from generate_series(1, 30) g",
    );
    let tap = TapRun::postgres(
        &db,
        json!({"select": [{"table": "public.orders", "replication_method": "INCREMENTAL",
                           "replication_key": "updated_at"}]}),
    );
    let first = tap.run(None);
    assert!(first.stderr.contains("no bookmark"), "{}", first.stderr);
    assert_eq!(records(&first.messages()).len(), 30);
    let state = last_state(&first.messages());

    let mut foreign = state.clone();
    foreign["bookmarks"]["shop-orders"] =
        json!({"replication_key": "id", "replication_key_value": 9});
    let wrapped = tap.run(Some(&json!({"singer_state": foreign})));
    assert_eq!(
        ids(&records(&wrapped.messages())),
        [30],
        "{}",
        wrapped.stderr
    );
    wrapped.assert_stderr_has(&[
        "resuming at updated_at >= \"2026-01-01T00:30:00.000000Z\"",
        "not in the catalog",
        "shop-orders",
    ]);
    // The foreign bookmark is carried along untouched.
    assert_eq!(
        last_state(&wrapped.messages())["bookmarks"]["shop-orders"]["replication_key_value"],
        9
    );

    let target_output = tap.dir.path().join("target-output.jsonl");
    std::fs::write(
        &target_output,
        format!("{{\"bookmarks\": {{}}}}\n{state}\n"),
    )
    .unwrap();
    let output = tap.run_with(&["--state", target_output.to_str().unwrap()]);
    output.assert_success();
    assert_eq!(ids(&records(&output.messages())), [30], "{}", output.stderr);
}

/// A typo in a selection or a discovery filter is an error naming it and the closest name, never
/// a sync of fewer columns or tables than the user asked for.
#[test]
fn selection_typos_are_errors_naming_the_closest_name() {
    let db =
        PgDatabase::with_sql("create table users (id integer primary key, email text, doc jsonb)");
    let fails = |extra: Value, parts: &[&str]| {
        let output = TapRun::postgres(&db, extra).run_with(&[]);
        assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
        assert!(output.stdout.is_empty(), "{}", output.stdout_text());
        for part in parts {
            assert!(output.stderr.contains(part), "{part}: {}", output.stderr);
        }
    };
    fails(
        json!({"select": ["public.users.emial"]}),
        &[
            "public.users.emial",
            "no column \"emial\"",
            "did you mean email?",
        ],
    );
    fails(
        json!({"select": ["public.user"]}),
        &["matches no table", "did you mean public.users?"],
    );
    fails(
        json!({"filter_schemas": ["pubic"], "select": ["public.users"]}),
        &["filter_schemas", "pubic"],
    );
    fails(
        json!({"select": [{"table": "public.users", "replication_method": "INCREMENTAL"}]}),
        &["needs a replication key", "valid keys: id, email"],
    );
    fails(
        json!({"select": [{"table": "public.users", "replication_method": "INCREMENTAL",
                           "replication_key": "doc"}]}),
        &["\"doc\" cannot be the replication key; valid keys: id, email"],
    );
}

/// Identity and generated columns: discovered as columns like any other (the identity key
/// `automatic`, the rest `available`), and read by FULL_TABLE with the values the server assigned
/// and computed: stored generated columns (12+) and virtual ones (18+).
#[test]
fn identity_and_generated_columns_arrive_with_their_values() {
    let db = PgDatabase::new();
    let virtual_columns = db.version_num() >= 180_000;
    let doubled = if virtual_columns {
        ", doubled integer generated always as (qty * 2) virtual"
    } else {
        ""
    };
    db.execute(&format!(
        "create table orders (id integer generated always as identity primary key, \
             ticket bigint generated by default as identity, qty integer, price numeric(10,2), \
             total numeric generated always as (qty * price) stored{doubled}); \
         insert into orders (qty, price) values (2, 1.50), (3, 0.25); \
         insert into orders (ticket, qty, price) values (100, 1, 9.99);"
    ));
    let tap = TapRun::postgres(&db, json!({"select": ["public.orders"]}));
    let catalog = tap.discover();
    let entry = catalog_entry(&catalog, "public-orders");
    assert_eq!(column_metadata(entry, "id")["inclusion"], "automatic");
    for column in ["ticket", "total"] {
        assert_eq!(column_metadata(entry, column)["inclusion"], "available");
    }
    assert_eq!(column_metadata(entry, "total")["sql-datatype"], "numeric");

    let messages = tap.run(None).messages();
    let rows: Vec<String> = records(&messages)
        .into_iter()
        .map(|record| Value::Object(record.clone()).to_string())
        .collect();
    let mut expected = vec![
        r#"{"id":1,"ticket":1,"qty":2,"price":1.50,"total":3.00"#.to_owned(),
        r#"{"id":2,"ticket":2,"qty":3,"price":0.25,"total":0.75"#.to_owned(),
        r#"{"id":3,"ticket":100,"qty":1,"price":9.99,"total":9.99"#.to_owned(),
    ];
    for (row, doubled) in expected.iter_mut().zip([4, 6, 2]) {
        if virtual_columns {
            row.push_str(&format!(r#","doubled":{doubled}"#));
        }
        row.push('}');
    }
    assert_eq!(rows, expected);
}
