//! target-postgres schema handling: how tables follow SCHEMA changes across runs and mid-stream
//! (added, removed, retyped and multi-type properties, numeric widening), canonical names and the
//! table comment that maps columns to source names, key properties that must not change, exact
//! types from `x-sql-datatype`, integers beyond 64 bits, and values of undeclared types when
//! records are not validated.

use postgres::Client;
use serde_json::{Value, json};
use tests::warehouse::{
    SCHEMA, TargetRun, columns, data_columns, emitted_states, lines, query_rows, record, schema,
    state, tables,
};

/// Name and type of each column, as `columns` returns them, from string slices.
fn typed(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, sql_type)| ((*name).to_owned(), (*sql_type).to_owned()))
        .collect()
}

/// The data columns of `table` with their types (system columns left out).
fn data_column_types(client: &mut Client, table: &str) -> Vec<(String, String)> {
    let data = data_columns(client, table);
    columns(client, table)
        .into_iter()
        .filter(|(name, _)| data.contains(name))
        .collect()
}

/// The table comment of a warehouse table, parsed as JSON.
fn table_comment(client: &mut Client, table: &str) -> Value {
    let rows = query_rows(
        client,
        &format!("select obj_description('{SCHEMA}.\"{table}\"'::regclass, 'pg_class')"),
    );
    serde_json::from_str(&rows[0][0])
        .unwrap_or_else(|err| panic!("comment of {table} is not JSON ({err}): {}", rows[0][0]))
}

/// Expected rows from string slices.
fn expect(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|v| (*v).to_owned()).collect())
        .collect()
}

/// One run of the target that must succeed: a SCHEMA of `stream` keyed by `id`, with
/// `properties`, then a RECORD of each of `records`.
fn load_run(target: &TargetRun, stream: &str, properties: Value, records: &[Value]) {
    let mut input = vec![schema(stream, properties, &["id"])];
    input.extend(records.iter().map(|r| record(stream, r.clone())));
    target.load(&input).assert_success();
}

/// Checks the data columns of `table`, name and type in order, and its rows by `id`: those
/// columns as text.
fn assert_table(client: &mut Client, table: &str, columns: &[(&str, &str)], rows: &[&[&str]]) {
    assert_eq!(data_column_types(client, table), typed(columns));
    let names: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let select = format!(
        "select {} from {SCHEMA}.\"{table}\" order by id",
        names.join(", ")
    );
    assert_eq!(query_rows(client, &select), expect(rows));
}

#[test]
fn an_added_property_becomes_a_nullable_column() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let v1 = json!({"id": {"type": "integer"}, "a": {"type": ["null", "string"]}});
    load_run(&target, "items", v1, &[json!({"id": 1, "a": "one"})]);
    let v2 = json!({"id": {"type": "integer"}, "a": {"type": ["null", "string"]},
                    "b": {"type": ["null", "integer"]}});
    load_run(
        &target,
        "items",
        v2,
        &[json!({"id": 2, "a": "two", "b": 22})],
    );

    let mut client = db.client();
    assert_table(
        &mut client,
        "items",
        &[("id", "bigint"), ("a", "text"), ("b", "bigint")],
        &[&["1", "one", "NULL"], &["2", "two", "22"]],
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select attnotnull::text from pg_attribute \
             where attrelid = 'warehouse.items'::regclass and attname = 'b'"
        ),
        expect(&[&["false"]])
    );
}

#[test]
fn integer_to_string_keeps_the_bigint_column_and_adds_st() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let codes = |code: &str| json!({"id": {"type": "integer"}, "code": {"type": ["null", code]}});
    load_run(
        &target,
        "codes",
        codes("integer"),
        &[
            json!({"id": 1, "code": 7}),
            json!({"id": 2, "code": -9_000_000_000_i64}),
        ],
    );
    load_run(
        &target,
        "codes",
        codes("string"),
        &[
            json!({"id": 3, "code": "A7"}),
            json!({"id": 4, "code": "007"}),
        ],
    );

    assert_table(
        &mut db.client(),
        "codes",
        &[("id", "bigint"), ("code", "bigint"), ("code__st", "text")],
        &[
            &["1", "7", "NULL"],
            &["2", "-9000000000", "NULL"],
            &["3", "NULL", "A7"],
            &["4", "NULL", "007"],
        ],
    );
}

#[test]
fn a_multi_type_property_gets_one_column_per_type() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    load_run(
        &target,
        "mixed",
        json!({"id": {"type": "integer"}, "x": {"type": ["null", "string", "integer"]}}),
        &[
            json!({"id": 1, "x": "abc"}),
            json!({"id": 2, "x": 42}),
            json!({"id": 3, "x": null}),
            json!({"id": 4, "x": "42"}),
        ],
    );

    assert_table(
        &mut db.client(),
        "mixed",
        &[("id", "bigint"), ("x__st", "text"), ("x__bi", "bigint")],
        &[
            &["1", "abc", "NULL"],
            &["2", "NULL", "42"],
            &["3", "NULL", "NULL"],
            &["4", "42", "NULL"],
        ],
    );
}

#[test]
fn a_removed_property_keeps_its_column() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let with_nickname = json!({"id": {"type": "integer"}, "name": {"type": "string"},
                               "nickname": {"type": ["null", "string"]}});
    load_run(
        &target,
        "people",
        with_nickname,
        &[json!({"id": 1, "name": "Ada", "nickname": "A"})],
    );
    let without = json!({"id": {"type": "integer"}, "name": {"type": "string"}});
    load_run(
        &target,
        "people",
        without,
        &[json!({"id": 2, "name": "Bob"})],
    );

    assert_table(
        &mut db.client(),
        "people",
        &[("id", "bigint"), ("name", "text"), ("nickname", "text")],
        &[&["1", "Ada", "A"], &["2", "Bob", "NULL"]],
    );
}

#[test]
fn numeric_precision_growing_widens_the_column_to_numeric() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let amount = |precision: u32| {
        json!({"id": {"type": "integer"},
               "amount": {"type": ["null", "number"],
                          "x-sql-datatype": format!("numeric({precision},2)")}})
    };
    load_run(
        &target,
        "payments",
        amount(12),
        &[
            json!({"id": 1, "amount": 1234567890.12}),
            json!({"id": 2, "amount": -0.5}),
        ],
    );
    let mut client = db.client();
    assert_eq!(
        data_column_types(&mut client, "payments"),
        typed(&[("id", "bigint"), ("amount", "numeric(12,2)")])
    );

    load_run(
        &target,
        "payments",
        amount(14),
        &[json!({"id": 3, "amount": 123456789012.34})],
    );
    assert_table(
        &mut client,
        "payments",
        &[("id", "bigint"), ("amount", "numeric")],
        &[
            &["1", "1234567890.12"],
            &["2", "-0.50"],
            &["3", "123456789012.34"],
        ],
    );
}

#[test]
fn a_schema_resent_mid_stream_with_a_new_property() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let v1 = json!({"id": {"type": "integer"}, "a": {"type": ["null", "string"]}});
    let v2 = json!({"id": {"type": "integer"}, "a": {"type": ["null", "string"]},
                    "added": {"type": ["null", "boolean"]}});
    let output = target.load(&[
        schema("events", v1, &["id"]),
        record("events", json!({"id": 1, "a": "before-1"})),
        record("events", json!({"id": 2, "a": "before-2"})),
        state(json!({"n": 2})),
        schema("events", v2, &["id"]),
        record("events", json!({"id": 3, "a": "after-3", "added": true})),
        record("events", json!({"id": 4, "a": "after-4", "added": false})),
        record("events", json!({"id": 1, "a": "after-1", "added": null})),
        state(json!({"n": 5})),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output).last(), Some(&json!({"n": 5})));

    assert_table(
        &mut db.client(),
        "events",
        &[("id", "bigint"), ("a", "text"), ("added", "boolean")],
        &[
            &["1", "after-1", "NULL"],
            &["2", "before-2", "NULL"],
            &["3", "after-3", "t"],
            &["4", "after-4", "f"],
        ],
    );
}

/// A property name of exactly 100 characters.
fn long_property_name() -> String {
    let name: String = "Quarterly Revenue Adjustment For Region "
        .chars()
        .cycle()
        .take(100)
        .collect();
    assert_eq!(name.chars().count(), 100);
    name
}

fn awkward_schema() -> Value {
    let mut properties = json!({
        "id": {"type": "integer"},
        "CamelCase": {"type": ["null", "string"]},
        "Full Name": {"type": ["null", "string"]},
        "a.b": {"type": ["null", "string"]},
        "größe": {"type": ["null", "string"]},
        "2fa": {"type": ["null", "boolean"]},
        "select": {"type": ["null", "string"]},
        "from": {"type": ["null", "integer"]},
    });
    let map = properties.as_object_mut().expect("an object");
    map.insert(long_property_name(), json!({"type": ["null", "string"]}));
    map.insert("Name".into(), json!({"type": ["null", "string"]}));
    map.insert("name".into(), json!({"type": ["null", "string"]}));
    schema("Sales Orders", properties, &["id"])
}

fn awkward_record(id: i64) -> Value {
    let mut fields = json!({
        "id": id,
        "CamelCase": format!("camel-{id}"),
        "Full Name": format!("full-{id}"),
        "a.b": format!("dot-{id}"),
        "größe": format!("size-{id}"),
        "2fa": id % 2 == 1,
        "select": format!("select-{id}"),
        "from": id * 100,
    });
    let map = fields.as_object_mut().expect("an object");
    map.insert(long_property_name(), json!(format!("long-{id}")));
    map.insert("Name".into(), json!(format!("Name-{id}")));
    map.insert("name".into(), json!(format!("name-{id}")));
    record("Sales Orders", fields)
}

/// The column holding the 100-character property: checked to be cut to 63 bytes with a hash.
fn long_column(client: &mut Client) -> String {
    let canonical_prefix: String = long_property_name()
        .to_lowercase()
        .replace(' ', "_")
        .chars()
        .take(54)
        .collect();
    let found: Vec<String> = data_columns(client, "sales_orders")
        .into_iter()
        .filter(|name| name.starts_with(&canonical_prefix))
        .collect();
    assert_eq!(found.len(), 1, "one column for the long name: {found:?}");
    let name = found[0].clone();
    assert_eq!(name.len(), 63, "{name}");
    let (_, tail) = name.split_at(54);
    assert!(
        tail.starts_with('_')
            && tail[1..].len() == 8
            && tail[1..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{name} should end with _ and 8 hex digits"
    );
    name
}

#[test]
fn awkward_names_are_canonicalised_and_recorded_in_the_comment() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[awkward_schema(), awkward_record(1)])
        .assert_success();

    let mut client = db.client();
    assert_eq!(tables(&mut client), ["sales_orders"]);
    let long = long_column(&mut client);
    assert_eq!(
        data_column_types(&mut client, "sales_orders"),
        typed(&[
            ("id", "bigint"),
            ("camelcase", "text"),
            ("full_name", "text"),
            ("a_b", "text"),
            ("gr__e", "text"),
            ("_2fa", "boolean"),
            ("select", "text"),
            ("from", "bigint"),
            (&long, "text"),
            ("name", "text"),
            ("name__2", "text"),
        ])
    );
    let select_all = format!(
        "select id, camelcase, full_name, a_b, gr__e, _2fa, \"select\", \"from\", \"{long}\", \
         name, name__2 from warehouse.sales_orders order by id"
    );
    let row = |id: &str, flag: &str, from: &str| {
        vec![
            id.to_owned(),
            format!("camel-{id}"),
            format!("full-{id}"),
            format!("dot-{id}"),
            format!("size-{id}"),
            flag.to_owned(),
            format!("select-{id}"),
            from.to_owned(),
            format!("long-{id}"),
            format!("Name-{id}"),
            format!("name-{id}"),
        ]
    };
    assert_eq!(query_rows(&mut client, &select_all), [row("1", "t", "100")]);

    let mut mapping = serde_json::Map::new();
    for (column, source) in [
        ("id", "id"),
        ("camelcase", "CamelCase"),
        ("full_name", "Full Name"),
        ("a_b", "a.b"),
        ("gr__e", "größe"),
        ("_2fa", "2fa"),
        ("select", "select"),
        ("from", "from"),
        (long.as_str(), long_property_name().as_str()),
        ("name", "Name"),
        ("name__2", "name"),
    ] {
        mapping.insert(column.to_owned(), json!([source]));
    }
    let expected_comment = json!({"stream": "Sales Orders", "path": [], "key_properties": ["id"],
                                  "columns": mapping});
    assert_eq!(table_comment(&mut client, "sales_orders"), expected_comment);

    // The same schema again: no column added, the mapping kept, values in the same columns.
    let before = columns(&mut client, "sales_orders");
    target
        .load(&[awkward_schema(), awkward_record(2)])
        .assert_success();
    assert_eq!(columns(&mut client, "sales_orders"), before);
    assert_eq!(tables(&mut client), ["sales_orders"]);
    assert_eq!(table_comment(&mut client, "sales_orders"), expected_comment);
    assert_eq!(
        query_rows(&mut client, &select_all),
        [row("1", "t", "100"), row("2", "f", "200")]
    );
}

#[test]
fn changed_key_properties_stop_the_load_and_leave_the_table_alone() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let properties = json!({"id": {"type": "integer"}, "region": {"type": "string"},
                            "total": {"type": ["null", "integer"]}});
    target
        .load(&[
            schema("sales", properties.clone(), &["id"]),
            record("sales", json!({"id": 1, "region": "eu", "total": 10})),
            record("sales", json!({"id": 2, "region": "us", "total": 20})),
        ])
        .assert_success();

    let mut client = db.client();
    let select = "select id, region, total, _sdc_sequence from warehouse.sales order by id";
    let primary_key = "select pg_get_constraintdef(oid) from pg_constraint \
                       where conrelid = 'warehouse.sales'::regclass and contype = 'p'";
    let columns_before = columns(&mut client, "sales");
    let rows_before = query_rows(&mut client, select);
    let comment_before = table_comment(&mut client, "sales");
    assert_eq!(
        rows_before
            .iter()
            .map(|row| row[..3].to_vec())
            .collect::<Vec<_>>(),
        expect(&[&["1", "eu", "10"], &["2", "us", "20"]])
    );
    assert_eq!(
        query_rows(&mut client, primary_key),
        expect(&[&["PRIMARY KEY (id)"]])
    );

    let output = target.load(&[
        schema("sales", properties, &["id", "region"]),
        record("sales", json!({"id": 1, "region": "apac", "total": 99})),
        record("sales", json!({"id": 3, "region": "eu", "total": 30})),
        state(json!({"n": 1})),
    ]);
    // Refused, naming the stream and its key properties.
    output.assert_failure(&["sales", "key properties"]);
    assert_eq!(emitted_states(&output), Vec::<Value>::new());
    assert_eq!(columns(&mut client, "sales"), columns_before);
    assert_eq!(query_rows(&mut client, select), rows_before);
    assert_eq!(table_comment(&mut client, "sales"), comment_before);
    assert_eq!(
        query_rows(&mut client, primary_key),
        expect(&[&["PRIMARY KEY (id)"]])
    );
}

/// A JSON document with a number written `2.50`, parsed keeping its digits.
fn document() -> Value {
    serde_json::from_str(r#"{"b": [1, 2.50, "x"], "a": {"nested": null}}"#).expect("valid JSON")
}

#[test]
fn x_sql_datatype_gives_the_exact_column_types() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let properties = json!({
        "id": {"type": "integer"},
        "amount": {"type": ["null", "number"], "x-sql-datatype": "numeric(12,2)"},
        "uid": {"type": ["null", "string"], "x-sql-datatype": "uuid"},
        "local_ts": {"type": ["null", "string"], "format": "date-time",
                     "x-sql-datatype": "timestamp without time zone"},
        "zoned_ts": {"type": ["null", "string"], "format": "date-time",
                     "x-sql-datatype": "timestamp with time zone"},
        "day": {"type": ["null", "string"], "format": "date", "x-sql-datatype": "date"},
        "clock": {"type": ["null", "string"], "format": "time",
                  "x-sql-datatype": "time without time zone"},
        "scores": {"type": ["null", "array"], "items": {"type": ["null", "integer"]},
                   "x-sql-datatype": "integer[]"},
        "doc": {"x-sql-datatype": "jsonb"},
        "code": {"type": ["null", "string"], "x-sql-datatype": "character varying(10)"},
        "blob": {"type": ["null", "string"], "contentEncoding": "base16",
                 "x-sql-datatype": "bytea"},
        "ratio": {"type": ["null", "number"], "x-sql-datatype": "double precision"},
        "flag": {"type": ["null", "boolean"], "x-sql-datatype": "boolean"},
        "big": {"type": ["null", "integer"], "x-sql-datatype": "bigint(20) unsigned"},
    });
    target
        .load(&[
            schema("typed", properties, &["id"]),
            record(
                "typed",
                json!({
                    "id": 1,
                    "amount": 1234.5,
                    "uid": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
                    "local_ts": "2024-03-01T12:34:56.789",
                    "zoned_ts": "2024-03-01T12:34:56+02:00",
                    "day": "2024-02-29",
                    "clock": "23:59:58.5",
                    "scores": [1, null, -3],
                    "doc": document(),
                    "code": "héllo wörl",
                    "blob": "DEADbeef00",
                    "ratio": 0.125,
                    "flag": true,
                    "big": 18446744073709551615_u64,
                }),
            ),
            record("typed", json!({"id": 2})),
        ])
        .assert_success();

    let mut client = db.client();
    client
        .batch_execute("set time zone 'UTC'")
        .expect("a session time zone");
    assert_table(
        &mut client,
        "typed",
        &[
            ("id", "bigint"),
            ("amount", "numeric(12,2)"),
            ("uid", "uuid"),
            ("local_ts", "timestamp without time zone"),
            ("zoned_ts", "timestamp with time zone"),
            ("day", "date"),
            ("clock", "time without time zone"),
            ("scores", "integer[]"),
            ("doc", "jsonb"),
            ("code", "character varying(10)"),
            ("blob", "bytea"),
            ("ratio", "double precision"),
            ("flag", "boolean"),
            ("big", "numeric(20,0)"),
        ],
        &[
            &[
                "1",
                "1234.50",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "2024-03-01 12:34:56.789",
                "2024-03-01 10:34:56+00",
                "2024-02-29",
                "23:59:58.5",
                "{1,NULL,-3}",
                r#"{"a": {"nested": null}, "b": [1, 2.50, "x"]}"#,
                "héllo wörl",
                "\\xdeadbeef00",
                "0.125",
                "t",
                "18446744073709551615",
            ],
            &[
                "2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL",
                "NULL", "NULL", "NULL", "NULL",
            ],
        ],
    );
    // The jsonb value is the document as sent, not a re-typed copy.
    assert_eq!(
        query_rows(
            &mut client,
            r#"select (doc = '{"b": [1, 2.50, "x"], "a": {"nested": null}}'::jsonb)::text, jsonb_typeof(doc->'a'->'nested') from warehouse.typed where id = 1"#
        ),
        expect(&[&["true", "null"]])
    );
}

/// Loads integers in and beyond 64 bits into a property declared as `n_schema`, and checks that
/// the ones beyond went to `n__de`, exactly, while the others stayed in the bigint column.
fn integers_beyond_64_bits(n_schema: Value) {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let input = [
        schema(
            "counters",
            json!({"id": {"type": "integer"}, "n": n_schema}),
            &["id"],
        ),
        record("counters", json!({"id": 1, "n": 5})),
        record("counters", json!({"id": 2, "n": i64::MIN})),
        record("counters", json!({"id": 3, "n": i64::MAX})),
    ];
    let mut text = lines(&input);
    // Numbers beyond i64 (and beyond u64), written as raw JSON text.
    text.push_str(
        r#"{"type": "RECORD", "stream": "counters", "record": {"id": 4, "n": 123456789012345678901234567890}}
{"type": "RECORD", "stream": "counters", "record": {"id": 5, "n": -9223372036854775809}}
{"type": "RECORD", "stream": "counters", "record": {"id": 6, "n": 9223372036854775808}}
{"type": "RECORD", "stream": "counters", "record": {"id": 7, "n": 17}}
"#,
    );
    target.load_text(&text).assert_success();

    assert_table(
        &mut db.client(),
        "counters",
        &[("id", "bigint"), ("n", "bigint"), ("n__de", "numeric")],
        &[
            &["1", "5", "NULL"],
            &["2", "-9223372036854775808", "NULL"],
            &["3", "9223372036854775807", "NULL"],
            &["4", "NULL", "123456789012345678901234567890"],
            &["5", "NULL", "-9223372036854775809"],
            &["6", "NULL", "9223372036854775808"],
            &["7", "17", "NULL"],
        ],
    );
}

#[test]
fn an_integer_beyond_64_bits_goes_to_a_numeric_de_column() {
    integers_beyond_64_bits(json!({"type": "integer"}));
}

#[test]
fn an_integer_beyond_64_bits_in_a_nullable_integer_goes_to_a_numeric_de_column() {
    integers_beyond_64_bits(json!({"type": ["null", "integer"]}));
}

#[test]
fn without_validation_a_string_for_an_integer_gets_an_st_column() {
    let (db, target) = TargetRun::with_new_database(json!({"validate_records": false}));
    let output = target.load(&[
        schema(
            "readings",
            json!({"id": {"type": "integer"}, "n": {"type": ["null", "integer"]}}),
            &["id"],
        ),
        record("readings", json!({"id": 1, "n": 10})),
        record("readings", json!({"id": 2, "n": "eleven"})),
        record("readings", json!({"id": 3, "n": 12})),
        state(json!({"n": 3})),
    ]);
    output.assert_success();
    assert_eq!(emitted_states(&output), [json!({"n": 3})]);

    assert_table(
        &mut db.client(),
        "readings",
        &[("id", "bigint"), ("n", "bigint"), ("n__st", "text")],
        &[
            &["1", "10", "NULL"],
            &["2", "NULL", "eleven"],
            &["3", "12", "NULL"],
        ],
    );
}

/// An integer property as our taps declare it: the source type and its range.
fn sql_integer(sql_type: &str, minimum: i64, maximum: i64) -> Value {
    json!({"type": ["null", "integer"], "minimum": minimum, "maximum": maximum,
           "x-sql-datatype": sql_type})
}

/// A key property as our taps declare it.
fn sql_key(sql_type: &str, minimum: i64, maximum: i64) -> Value {
    json!({"type": ["integer"], "minimum": minimum, "maximum": maximum,
           "x-sql-datatype": sql_type})
}

#[test]
fn bigint_and_text_columns_of_earlier_versions_take_narrower_source_types_unchanged() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    // What earlier versions made of every integer and char(n) source: bigint and text.
    let earlier = json!({
        "id": {"type": ["integer"]},
        "n": {"type": ["null", "integer"]},
        "code": {"type": ["null", "string"]},
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "q": {"type": ["null", "integer"]}}}},
    });
    target
        .load(&[
            schema("orders", earlier, &["id"]),
            record(
                "orders",
                json!({"id": 1, "n": 7, "code": "ab   ", "lines": [{"q": 1}]}),
            ),
        ])
        .assert_success();
    let mut client = db.client();
    let earlier_root = typed(&[("id", "bigint"), ("n", "bigint"), ("code", "text")]);
    assert_eq!(data_column_types(&mut client, "orders"), earlier_root);

    // The same sources, now declared with their exact types, and a property added since.
    let now = json!({
        "id": sql_key("integer", i32::MIN.into(), i32::MAX.into()),
        "n": sql_integer("smallint", i16::MIN.into(), i16::MAX.into()),
        "code": {"type": ["null", "string"], "x-sql-datatype": "character(5)"},
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "q": sql_integer("int(11)", i32::MIN.into(), i32::MAX.into())}}},
        "added": sql_integer("integer", i32::MIN.into(), i32::MAX.into()),
    });
    target
        .load(&[
            schema("orders", now, &["id"]),
            record(
                "orders",
                json!({"id": i32::MAX, "n": i16::MIN, "code": "abcde",
                       "lines": [{"q": i32::MIN}], "added": i32::MAX}),
            ),
            record(
                "orders",
                json!({"id": 1, "n": i16::MAX, "code": "x    ", "lines": [{"q": 2}, {"q": 3}],
                       "added": i32::MIN}),
            ),
        ])
        .assert_success();

    // No column changed type, none was added beside them; the new property is narrow.
    let mut now_root = earlier_root.clone();
    now_root.extend(typed(&[("added", "integer")]));
    assert_eq!(data_column_types(&mut client, "orders"), now_root);
    assert_eq!(
        data_column_types(&mut client, "orders__lines"),
        typed(&[
            ("_sdc_source_key_id", "bigint"),
            ("_sdc_level_0_id", "bigint"),
            ("q", "bigint")
        ])
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select id, n, code, added from warehouse.orders order by id"
        ),
        expect(&[
            &["1", "32767", "x    ", "-2147483648"],
            &["2147483647", "-32768", "abcde", "2147483647"],
        ])
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, _sdc_level_0_id, q from warehouse.orders__lines \
             order by 1, 2"
        ),
        expect(&[
            &["1", "0", "2"],
            &["1", "1", "3"],
            &["2147483647", "0", "-2147483648"]
        ])
    );
}

#[test]
fn narrow_integer_columns_widen_in_place_when_the_source_type_grows() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let first = json!({
        "id": sql_key("integer", i32::MIN.into(), i32::MAX.into()),
        "n": sql_integer("smallint", i16::MIN.into(), i16::MAX.into()),
        "m": sql_integer("int(11)", i32::MIN.into(), i32::MAX.into()),
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "q": sql_integer("integer", i32::MIN.into(), i32::MAX.into())}}},
    });
    target
        .load(&[
            schema("orders", first, &["id"]),
            record(
                "orders",
                json!({"id": i32::MIN, "n": i16::MIN, "m": i32::MIN, "lines": [{"q": i32::MIN}]}),
            ),
            record(
                "orders",
                json!({"id": i32::MAX, "n": i16::MAX, "m": i32::MAX, "lines": [{"q": i32::MAX}]}),
            ),
        ])
        .assert_success();
    let mut client = db.client();
    assert_eq!(
        data_column_types(&mut client, "orders"),
        typed(&[("id", "integer"), ("n", "smallint"), ("m", "integer")])
    );
    assert_eq!(
        data_column_types(&mut client, "orders__lines"),
        typed(&[
            ("_sdc_source_key_id", "integer"),
            ("_sdc_level_0_id", "bigint"),
            ("q", "integer")
        ])
    );

    // The source's columns grew: `alter table … type bigint` (or `int`) there.
    let grown = json!({
        "id": sql_key("bigint", i64::MIN, i64::MAX),
        "n": sql_integer("int(11)", i32::MIN.into(), i32::MAX.into()),
        "m": sql_integer("bigint", i64::MIN, i64::MAX),
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "q": sql_integer("bigint(20)", i64::MIN, i64::MAX)}}},
    });
    target
        .load(&[
            schema("orders", grown, &["id"]),
            record(
                "orders",
                json!({"id": i64::MAX, "n": i32::MAX, "m": i64::MIN, "lines": [{"q": i64::MAX}]}),
            ),
            record(
                "orders",
                json!({"id": i32::MAX, "n": i32::MIN, "m": i64::MAX,
                       "lines": [{"q": 1}, {"q": i64::MIN}]}),
            ),
        ])
        .assert_success();
    // Widened in place: no `__bi` column, the old values kept.
    let widened_root = typed(&[("id", "bigint"), ("n", "integer"), ("m", "bigint")]);
    let widened_lines = typed(&[
        ("_sdc_source_key_id", "bigint"),
        ("_sdc_level_0_id", "bigint"),
        ("q", "bigint"),
    ]);
    assert_eq!(data_column_types(&mut client, "orders"), widened_root);
    assert_eq!(
        data_column_types(&mut client, "orders__lines"),
        widened_lines
    );
    let root_rows = expect(&[
        &["-2147483648", "-32768", "-2147483648"],
        &["2147483647", "-2147483648", "9223372036854775807"],
        &["9223372036854775807", "2147483647", "-9223372036854775808"],
    ]);
    let line_rows = expect(&[
        &["-2147483648", "0", "-2147483648"],
        &["2147483647", "0", "1"],
        &["2147483647", "1", "-9223372036854775808"],
        &["9223372036854775807", "0", "9223372036854775807"],
    ]);
    let root_query = "select id, n, m from warehouse.orders order by id";
    let lines_query = "select _sdc_source_key_id, _sdc_level_0_id, q from warehouse.orders__lines \
                       order by 1, 2";
    assert_eq!(query_rows(&mut client, root_query), root_rows);
    assert_eq!(query_rows(&mut client, lines_query), line_rows);

    // Back to the narrow types: the wider columns stay as they are and take the values.
    let narrow = json!({
        "id": sql_key("integer", i32::MIN.into(), i32::MAX.into()),
        "n": sql_integer("smallint", i16::MIN.into(), i16::MAX.into()),
        "m": sql_integer("tinyint(4)", -128, 127),
        "lines": {"type": ["null", "array"], "items": {"type": "object", "properties": {
            "q": sql_integer("smallint", i16::MIN.into(), i16::MAX.into())}}},
    });
    target
        .load(&[
            schema("orders", narrow, &["id"]),
            record(
                "orders",
                json!({"id": 5, "n": 5, "m": 5, "lines": [{"q": 5}]}),
            ),
        ])
        .assert_success();
    assert_eq!(data_column_types(&mut client, "orders"), widened_root);
    assert_eq!(
        data_column_types(&mut client, "orders__lines"),
        widened_lines
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select id, n, m from warehouse.orders where id = 5"
        ),
        expect(&[&["5", "5", "5"]])
    );
}

/// The comments of the source's columns.
fn column_comments(client: &mut Client, table: &str) -> Vec<Vec<String>> {
    query_rows(
        client,
        &format!(
            "select a.attname::text, coalesce(col_description(a.attrelid, a.attnum), '<none>') \
             from pg_attribute a where a.attrelid = '{SCHEMA}.\"{table}\"'::regclass \
             and a.attnum > 0 and a.attname not like '\\_sdc\\_%' order by a.attnum"
        ),
    )
}

/// Source comments (JSON Schema `description`) become column comments and a readable part of
/// the table comment; a comment a user set in the warehouse is kept, with a warning.
#[test]
fn source_comments_become_column_comments_and_users_comments_are_kept() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let mut client = db.client();
    let with_descriptions = |id_text: &str, name_text: &str| {
        json!({"type": "SCHEMA", "stream": "people", "key_properties": ["id"],
               "schema": {"type": "object", "description": "People we know, \"quoted\"\nand 🎉",
                          "properties": {
                              "id": {"type": "integer", "description": id_text},
                              "name": {"type": ["null", "string"], "description": name_text},
                              "age": {"type": ["null", "integer"]}}}})
    };
    let row = record("people", json!({"id": 1, "name": "Ada", "age": 36}));
    target
        .load(&[
            with_descriptions("the key", "full name, 'as given'"),
            row.clone(),
        ])
        .assert_success();
    assert_eq!(
        column_comments(&mut client, "people"),
        expect(&[
            &["id", "the key"],
            &["name", "full name, 'as given'"],
            &["age", "<none>"]
        ])
    );
    assert_eq!(
        table_comment(&mut client, "people")["description"],
        "People we know, \"quoted\"\nand 🎉"
    );

    // A user documents `name` in the warehouse; the source changes both comments.
    client
        .batch_execute(&format!(
            "comment on column {SCHEMA}.people.name is 'curated by the analytics team'"
        ))
        .unwrap();
    let output = target.load(&[
        with_descriptions("the key, renamed", "the new source text"),
        row,
    ]);
    output.assert_success();
    assert!(
        output.stderr.contains("comment was set in the warehouse")
            && output.stderr.contains("name"),
        "{}",
        output.stderr
    );
    assert_eq!(
        column_comments(&mut client, "people"),
        expect(&[
            &["id", "the key, renamed"],
            &["name", "curated by the analytics team"],
            &["age", "<none>"]
        ])
    );
}
