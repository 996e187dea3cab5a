//! target-postgres de-nesting: the worked example of DESIGN.md, child rows replaced on upsert,
//! and `nesting: "jsonb"`.

use serde_json::{Value, json};
use tests::warehouse::{TargetRun, data_columns, query_rows, record, schema, state, tables};

fn order_schema() -> Value {
    schema(
        "orders",
        json!({
            "id": {"type": "integer"},
            "customer": {"type": ["null", "object"], "properties": {
                "name": {"type": ["null", "string"]},
                "geo": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            "items": {"type": ["null", "array"], "items": {"type": "object", "properties": {
                "sku": {"type": "string"},
                "qty": {"type": "integer"},
                "discounts": {"type": ["null", "array"], "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "pct": {"type": "number"}}}}}}},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            "attributes": {"x-sql-datatype": "jsonb"}
        }),
        &["id"],
    )
}

fn order(id: i64, items: Value) -> Value {
    record(
        "orders",
        json!({"id": id, "customer": {"name": format!("c{id}"), "geo": {"city": "Berlin"}},
               "items": items, "tags": ["new", "gift"], "attributes": {"color": "red", "n": [1, 2]}}),
    )
}

#[test]
fn the_worked_example_and_shrinking_arrays() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    let items = json!([
        {"sku": "A", "qty": 1, "discounts": [{"code": "X", "pct": 5.5}, {"code": "Y", "pct": 10}]},
        {"sku": "B", "qty": 2, "discounts": []},
        {"sku": "C", "qty": 3}
    ]);
    let states = target.load_states(&[
        order_schema(),
        order(1, items.clone()),
        order(2, items),
        state(json!({"bookmarks": {"orders": {"n": 1}}})),
    ]);
    assert_eq!(states, [json!({"bookmarks": {"orders": {"n": 1}}})]);

    let mut client = db.client();
    assert_eq!(
        tables(&mut client),
        [
            "orders",
            "orders__items",
            "orders__items__discounts",
            "orders__tags"
        ]
    );
    assert_eq!(
        data_columns(&mut client, "orders"),
        ["id", "customer__name", "customer__geo__city", "attributes"]
    );
    assert_eq!(
        data_columns(&mut client, "orders__items"),
        ["_sdc_source_key_id", "_sdc_level_0_id", "sku", "qty"]
    );
    assert_eq!(
        data_columns(&mut client, "orders__items__discounts"),
        [
            "_sdc_source_key_id",
            "_sdc_level_0_id",
            "_sdc_level_1_id",
            "code",
            "pct"
        ]
    );
    assert_eq!(
        data_columns(&mut client, "orders__tags"),
        ["_sdc_source_key_id", "_sdc_level_0_id", "value"]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select id, customer__name, customer__geo__city, attributes from warehouse.orders order by id"
        ),
        [
            ["1", "c1", "Berlin", r#"{"n": [1, 2], "color": "red"}"#],
            ["2", "c2", "Berlin", r#"{"n": [1, 2], "color": "red"}"#]
        ]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, _sdc_level_0_id, _sdc_level_1_id, code, pct \
             from warehouse.orders__items__discounts order by 1, 2, 3"
        ),
        [
            ["1", "0", "0", "X", "5.5"],
            ["1", "0", "1", "Y", "10"],
            ["2", "0", "0", "X", "5.5"],
            ["2", "0", "1", "Y", "10"]
        ]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, _sdc_level_0_id, value from warehouse.orders__tags order by 1, 2"
        ),
        [
            ["1", "0", "new"],
            ["1", "1", "gift"],
            ["2", "0", "new"],
            ["2", "1", "gift"]
        ]
    );
    // Primary keys: the source key plus the level ids.
    assert_eq!(
        query_rows(
            &mut client,
            "select pg_get_constraintdef(oid) from pg_constraint \
             where conrelid = 'warehouse.orders__items__discounts'::regclass and contype = 'p'"
        ),
        [["PRIMARY KEY (_sdc_source_key_id, _sdc_level_0_id, _sdc_level_1_id)"]]
    );

    // Order 1 again with one item and no discounts: its old child rows are gone, order 2's stay.
    target
        .load(&[
            order_schema(),
            order(1, json!([{"sku": "Z", "qty": 9}])),
            state(json!({"bookmarks": {"orders": {"n": 2}}})),
        ])
        .assert_success();
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, _sdc_level_0_id, sku, qty from warehouse.orders__items order by 1, 2"
        ),
        [
            ["1", "0", "Z", "9"],
            ["2", "0", "A", "1"],
            ["2", "1", "B", "2"],
            ["2", "2", "C", "3"]
        ]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, count(*) from warehouse.orders__items__discounts group by 1 order by 1"
        ),
        [["2", "2"]]
    );
    assert_eq!(
        query_rows(
            &mut client,
            "select count(*) from warehouse.orders__tags where _sdc_source_key_id = 1"
        ),
        [["2"]]
    );
}

#[test]
fn the_same_key_twice_in_one_batch_keeps_the_newest() {
    let (db, target) = TargetRun::with_new_database(json!({}));
    target
        .load(&[
            order_schema(),
            order(1, json!([{"sku": "old-1"}, {"sku": "old-2"}])),
            order(1, json!([{"sku": "new"}])),
        ])
        .assert_success();
    let mut client = db.client();
    assert_eq!(
        query_rows(
            &mut client,
            "select _sdc_source_key_id, sku from warehouse.orders__items"
        ),
        [["1", "new"]]
    );
    assert_eq!(
        query_rows(&mut client, "select count(*) from warehouse.orders"),
        [["1"]]
    );
}

#[test]
fn jsonb_nesting_keeps_objects_and_arrays_whole() {
    let (db, target) = TargetRun::with_new_database(json!({"nesting": {"orders": "jsonb"}}));
    target
        .load(&[order_schema(), order(1, json!([{"sku": "A", "qty": 1}]))])
        .assert_success();
    let mut client = db.client();
    assert_eq!(tables(&mut client), ["orders"]);
    assert_eq!(
        query_rows(
            &mut client,
            "select customer, items, tags from warehouse.orders"
        ),
        [[
            r#"{"geo": {"city": "Berlin"}, "name": "c1"}"#,
            r#"[{"qty": 1, "sku": "A"}]"#,
            r#"["new", "gift"]"#
        ]]
    );
}
