//! target-postgres and partial records: a RECORD that lacks a top-level property of its SCHEMA
//! leaves that property's columns and child rows unchanged in an existing row (NULL, no child rows,
//! in a new one), while a property sent as `null` sets NULL. This is how log-based replication
//! sends a TOASTed PostgreSQL value an UPDATE left alone, and a delete that carries only the key.

use postgres::Client;
use serde_json::{Value, json};
use tests::warehouse::{TargetRun, query_rows, record, schema};

/// A text far beyond PostgreSQL's TOAST threshold, different for each `name`.
fn big(name: &str) -> String {
    format!("{name}:{}", "lorem ipsum dolor sit amet ".repeat(4000))
}

fn doc_schema() -> Value {
    schema(
        "docs",
        json!({"id": {"type": "integer"}, "title": {"type": ["null", "string"]},
               "body": {"type": ["null", "string"]}, "note": {"type": ["null", "string"]},
               "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}}),
        &["id"],
    )
}

fn doc(record_value: Value) -> Value {
    record("docs", record_value)
}

/// `id, title, body, note, deleted` of every row of `docs`; a body made by [`big`] is shown by
/// its name (`big:b1`).
fn docs(client: &mut Client) -> Vec<Vec<String>> {
    let rows = query_rows(
        client,
        "select id, title, body, note, _sdc_deleted_at is not null from warehouse.docs order by id",
    );
    rows.into_iter()
        .map(|mut row| {
            if let Some((name, _)) = row[2].split_once(':')
                && row[2] == big(name)
            {
                row[2] = format!("big:{name}");
            }
            row
        })
        .collect()
}

/// Rows 1 to 3, complete.
fn load_docs(target: &TargetRun) {
    target
        .load(&[
            doc_schema(),
            doc(json!({"id": 1, "title": "one", "body": big("b1"), "note": "n1"})),
            doc(json!({"id": 2, "title": "two", "body": big("b2"), "note": "n2"})),
            doc(json!({"id": 3, "title": "three", "body": big("b3"), "note": "n3"})),
        ])
        .assert_success();
}

#[test]
fn an_absent_property_is_unchanged_and_a_null_one_is_null() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    load_docs(&target);
    target
        .load(&[
            doc_schema(),
            // An update that left the big value alone: the log does not carry it.
            doc(json!({"id": 1, "title": "one again", "note": "n1'"})),
            // An explicit null is a value.
            doc(json!({"id": 2, "title": "two again", "body": null, "note": null})),
            // A new row lacking properties: NULL.
            doc(json!({"id": 4, "title": "four"})),
            // Complete records as ever.
            doc(json!({"id": 5, "title": "five", "body": big("b5"), "note": "n5"})),
        ])
        .assert_success();
    assert_eq!(
        docs(&mut db.client()),
        [
            ["1", "one again", "big:b1", "n1'", "f"],
            ["2", "two again", "NULL", "NULL", "f"],
            ["3", "three", "big:b3", "n3", "f"],
            ["4", "four", "NULL", "NULL", "f"],
            ["5", "five", "big:b5", "n5", "f"],
        ]
    );
}

/// Records of one key within one batch come out as if applied one after the other.
fn records_of_one_key_in_one_batch() -> Vec<Value> {
    vec![
        doc_schema(),
        // Each lacks something the other has.
        doc(json!({"id": 1, "title": "1a", "body": big("b1a")})),
        doc(json!({"id": 1, "title": "1b", "note": "n1b"})),
        // A complete record, then one that lacks two properties.
        doc(json!({"id": 2, "title": "2a", "body": big("b2a"), "note": "n2a"})),
        doc(json!({"id": 2, "title": "2b"})),
        // Both lack the body: the warehouse's stays.
        doc(json!({"id": 3, "title": "3a", "note": "n3a"})),
        doc(json!({"id": 3, "title": "3b"})),
        // A new key, built up over three records; a null is a value.
        doc(json!({"id": 6, "body": big("b6"), "note": "n6"})),
        doc(json!({"id": 6, "title": "6b"})),
        doc(json!({"id": 6, "note": null})),
    ]
}

#[test]
fn records_of_one_key_in_one_batch_apply_in_order() {
    // Into existing rows, and into a new table: that batch goes in by COPY first, meets its
    // repeated keys, and is merged.
    for existing in [true, false] {
        let (db, target) = TargetRun::with_new_database(json!({}));
        if existing {
            load_docs(&target);
        }
        target
            .load(&records_of_one_key_in_one_batch())
            .assert_success();
        let body_3 = if existing { "big:b3" } else { "NULL" };
        assert_eq!(
            docs(&mut db.client()),
            [
                ["1", "1b", "big:b1a", "n1b", "f"],
                ["2", "2b", "big:b2a", "n2a", "f"],
                ["3", "3b", body_3, "n3a", "f"],
                ["6", "6b", "big:b6", "NULL", "f"],
            ],
            "existing rows: {existing}"
        );
    }
}

#[test]
fn a_delete_with_only_the_key_keeps_the_other_values() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    load_docs(&target);
    target
        .load(&[
            doc_schema(),
            doc(json!({"id": 2, "_sdc_deleted_at": "2024-05-01T12:30:00Z"})),
            // The log may hold some old values too.
            doc(json!({"id": 3, "title": "three", "_sdc_deleted_at": "2024-05-01T12:31:00Z"})),
        ])
        .assert_success();
    let mut client = db.client();
    assert_eq!(
        docs(&mut client),
        [
            ["1", "one", "big:b1", "n1", "f"],
            ["2", "two", "big:b2", "n2", "t"],
            ["3", "three", "big:b3", "n3", "t"],
        ]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select id, _sdc_deleted_at at time zone 'UTC' from warehouse.docs where id > 1 \
             order by id"
        ),
        [["2", "2024-05-01 12:30:00"], ["3", "2024-05-01 12:31:00"]]
    );
    // A later update of the deleted row (a new row with its key at the source) undeletes it.
    target
        .load(&[doc_schema(), doc(json!({"id": 2, "title": "two again"}))])
        .assert_success();
    assert_eq!(
        docs(&mut client)[1],
        ["2", "two again", "big:b2", "n2", "f"]
    );
}

#[test]
fn a_hard_delete_with_only_the_key_removes_the_row() {
    let (db, target) = TargetRun::with_new_database(json!({"hard_delete": true}));
    load_docs(&target);
    target
        .load(&[
            doc_schema(),
            doc(json!({"id": 1, "title": "one again"})),
            doc(json!({"id": 2, "_sdc_deleted_at": "2024-05-01T12:30:00Z"})),
            // Deleted, then inserted again at the source: nothing of the old row is left.
            doc(json!({"id": 3, "_sdc_deleted_at": "2024-05-01T12:31:00Z"})),
            doc(json!({"id": 3, "title": "three again"})),
        ])
        .assert_success();
    assert_eq!(
        docs(&mut db.client()),
        [
            ["1", "one again", "big:b1", "n1", "f"],
            ["3", "three again", "NULL", "NULL", "f"],
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// De-nested properties

fn order_schema() -> Value {
    schema(
        "orders",
        json!({
            "id": {"type": "integer"},
            "status": {"type": ["null", "string"]},
            "customer": {"type": ["null", "object"], "properties": {
                "name": {"type": ["null", "string"]}, "city": {"type": ["null", "string"]}}},
            "items": {"type": ["null", "array"], "items": {"type": "object", "properties": {
                "sku": {"type": "string"},
                "parts": {"type": ["null", "array"], "items": {"type": "string"}}}}},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}
        }),
        &["id"],
    )
}

fn order(id: i64, status: &str, sku: &str) -> Value {
    record(
        "orders",
        json!({"id": id, "status": status, "customer": {"name": format!("c{id}"), "city": "Berlin"},
               "items": [{"sku": format!("{sku}1"), "parts": ["p1", "p2"]}, {"sku": format!("{sku}2")}],
               "tags": [format!("t{id}")]}),
    )
}

/// Every row of the orders tables, by table.
fn orders(client: &mut Client) -> [Vec<Vec<String>>; 4] {
    [
        query_rows(
            client,
            "select id, status, customer__name, customer__city, _sdc_deleted_at is not null \
             from warehouse.orders order by id",
        ),
        query_rows(
            client,
            "select _sdc_source_key_id, _sdc_level_0_id, sku from warehouse.orders__items \
             order by 1, 2",
        ),
        query_rows(
            client,
            "select _sdc_source_key_id, _sdc_level_0_id, _sdc_level_1_id, value \
             from warehouse.orders__items__parts order by 1, 2, 3",
        ),
        query_rows(
            client,
            "select _sdc_source_key_id, _sdc_level_0_id, value from warehouse.orders__tags \
             order by 1, 2",
        ),
    ]
}

#[test]
fn an_absent_nested_property_keeps_its_columns_and_child_rows() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[
            order_schema(),
            order(1, "new", "a"),
            order(2, "new", "b"),
            order(3, "new", "c"),
            order(4, "new", "d"),
            order(5, "new", "e"),
        ])
        .assert_success();
    let orders_record = |value: Value| record("orders", value);
    target
        .load(&[
            order_schema(),
            // Lacks the items (and their parts) and the customer: kept; tags replaced.
            orders_record(json!({"id": 1, "status": "paid", "tags": ["x"]})),
            // Null and empty arrays replace the child rows; a null object nulls its columns.
            orders_record(
                json!({"id": 2, "status": "paid", "customer": null, "items": null,
                                 "tags": []}),
            ),
            // Items sent in an older record of the batch, then a record without them.
            orders_record(json!({"id": 3, "status": "packed",
                                 "items": [{"sku": "z1", "parts": ["q"]}]})),
            orders_record(json!({"id": 3, "status": "sent"})),
            // Only the key and the delete time: marked, everything kept.
            orders_record(json!({"id": 4, "_sdc_deleted_at": "2024-05-01T12:30:00Z"})),
            // A new key without its arrays: none.
            orders_record(json!({"id": 6, "status": "new"})),
        ])
        .assert_success();
    let [roots, items, parts, tags] = orders(&mut db.client());
    assert_eq!(
        roots,
        [
            ["1", "paid", "c1", "Berlin", "f"],
            ["2", "paid", "NULL", "NULL", "f"],
            ["3", "sent", "c3", "Berlin", "f"],
            ["4", "new", "c4", "Berlin", "t"],
            ["5", "new", "c5", "Berlin", "f"],
            ["6", "new", "NULL", "NULL", "f"],
        ]
    );
    assert_eq!(
        items,
        [
            ["1", "0", "a1"],
            ["1", "1", "a2"],
            ["3", "0", "z1"],
            ["4", "0", "d1"],
            ["4", "1", "d2"],
            ["5", "0", "e1"],
            ["5", "1", "e2"],
        ]
    );
    assert_eq!(
        parts,
        [
            ["1", "0", "0", "p1"],
            ["1", "0", "1", "p2"],
            ["3", "0", "0", "q"],
            ["4", "0", "0", "p1"],
            ["4", "0", "1", "p2"],
            ["5", "0", "0", "p1"],
            ["5", "0", "1", "p2"],
        ]
    );
    assert_eq!(
        tags,
        [
            ["1", "0", "x"],
            ["3", "0", "t3"],
            ["4", "0", "t4"],
            ["5", "0", "t5"],
        ]
    );
}

#[test]
fn a_hard_delete_with_only_the_key_removes_the_child_rows_too() {
    let (db, target) = TargetRun::with_new_database(json!({"hard_delete": true}));
    target
        .load(&[order_schema(), order(1, "new", "a"), order(2, "new", "b")])
        .assert_success();
    target
        .load(&[
            order_schema(),
            record("orders", json!({"id": 1, "status": "paid"})),
            record(
                "orders",
                json!({"id": 2, "_sdc_deleted_at": "2024-05-01T12:30:00Z"}),
            ),
        ])
        .assert_success();
    let [roots, items, parts, tags] = orders(&mut db.client());
    assert_eq!(roots, [["1", "paid", "c1", "Berlin", "f"]]);
    assert_eq!(items, [["1", "0", "a1"], ["1", "1", "a2"]]);
    assert_eq!(parts, [["1", "0", "0", "p1"], ["1", "0", "1", "p2"]]);
    assert_eq!(tags, [["1", "0", "t1"]]);
}
