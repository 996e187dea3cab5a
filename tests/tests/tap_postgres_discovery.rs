//! tap-postgres `--discover` against a schema with every kind of relation and awkward names.

use serde_json::{Value, json};
use tests::singer::{
    assert_descriptions, catalog_entry, column_metadata, property_names, schema_message,
    stream_ids, table_metadata,
};
use tests::{PgDatabase, TapRun};

fn discover(db: &PgDatabase, extra: Value) -> Value {
    TapRun::postgres(db, extra).discover()
}

const SCHEMA: &str = r#"
    create schema shop;
    create schema "Other Schema";
    create table shop.customers (
        id serial primary key,
        "Name" text not null,
        "first name" varchar(16),
        "select" integer,
        updated_at timestamptz,
        balance numeric(12,2),
        tags text[]
    );
    create table "Other Schema".customers (id integer primary key);
    create table shop.order_lines (
        order_id integer, line smallint, qty numeric, primary key (order_id, line));
    create table shop.events (payload jsonb, at timestamp);
    create table shop.documents (doc json, blob bytea);
    create view shop.customer_names as select id, "Name" from shop.customers;
    create materialized view shop.totals as select count(*) as n from shop.customers;
    create table shop.measurements (id bigint, taken date, v real, primary key (id, taken))
        partition by range (taken);
    create table shop.measurements_2026 partition of shop.measurements
        for values from ('2026-01-01') to ('2027-01-01');
    create index on shop.customers (updated_at);
    insert into shop.customers ("Name") select 'n' || g from generate_series(1, 100) g;
    analyze shop.customers;
"#;

#[test]
fn discovers_tables_views_and_partitioned_parents() {
    let db = PgDatabase::with_sql(SCHEMA);
    let catalog = discover(&db, json!({}));
    assert_eq!(
        stream_ids(&catalog),
        [
            "Other Schema-customers",
            "shop-customer_names",
            "shop-customers",
            "shop-documents",
            "shop-events",
            "shop-measurements",
            "shop-order_lines",
            "shop-totals",
        ],
        "partitions are not streams of their own"
    );

    let customers = catalog_entry(&catalog, "shop-customers");
    // `customers` exists in two schemas: both streams carry their schema in the name.
    assert_eq!(customers["stream"], "shop_customers");
    assert_eq!(
        catalog_entry(&catalog, "Other Schema-customers")["stream"],
        "Other Schema_customers"
    );
    assert_eq!(customers["table_name"], "customers");
    let table = table_metadata(customers);
    assert_eq!(table["table-key-properties"], json!(["id"]));
    assert_eq!(table["schema-name"], "shop");
    assert_eq!(table["database-name"], json!(db.name));
    assert_eq!(table["is-view"], false);
    assert_eq!(table["row-count"], 100);
    assert_eq!(table["selected-by-default"], false);
    assert_eq!(
        table["valid-replication-keys"],
        json!([
            "id",
            "Name",
            "first name",
            "select",
            "updated_at",
            "balance"
        ])
    );
    assert!(table.get("forced-replication-method").is_none());

    let id = column_metadata(customers, "id");
    assert_eq!(id["inclusion"], "automatic");
    assert_eq!(id["sql-datatype"], "integer");
    let first_name = column_metadata(customers, "first name");
    assert_eq!(first_name["inclusion"], "available");
    assert_eq!(first_name["selected-by-default"], true);
    assert_eq!(first_name["sql-datatype"], "character varying(16)");
    assert_eq!(
        column_metadata(customers, "updated_at")["sql-datatype"],
        "timestamp with time zone"
    );
    assert_eq!(column_metadata(customers, "tags")["sql-datatype"], "text[]");

    assert_eq!(
        property_names(&customers["schema"]),
        [
            "id",
            "Name",
            "first name",
            "select",
            "updated_at",
            "balance",
            "tags"
        ],
        "columns keep their table order"
    );
    let properties = &customers["schema"]["properties"];
    assert_eq!(
        properties["id"],
        json!({"type": ["integer"], "minimum": i32::MIN, "maximum": i32::MAX,
               "x-sql-datatype": "integer"})
    );
    assert_eq!(properties["Name"]["type"], json!(["string"]), "not null");
    assert_eq!(
        properties["balance"],
        json!({"type": ["null", "number"], "x-sql-datatype": "numeric(12,2)"})
    );
    assert_eq!(properties["updated_at"]["format"], "date-time");
    assert_eq!(
        properties["tags"]["items"]["type"],
        json!(["null", "string", "array"])
    );

    let lines = catalog_entry(&catalog, "shop-order_lines");
    assert_eq!(
        table_metadata(lines)["table-key-properties"],
        json!(["order_id", "line"])
    );
    assert_eq!(column_metadata(lines, "line")["inclusion"], "automatic");
    assert_eq!(column_metadata(lines, "qty")["sql-datatype"], "numeric");

    let view = catalog_entry(&catalog, "shop-customer_names");
    assert_eq!(table_metadata(view)["is-view"], true);
    assert_eq!(table_metadata(view)["table-key-properties"], json!([]));
    assert_eq!(
        table_metadata(catalog_entry(&catalog, "shop-totals"))["is-view"],
        true
    );

    let events = catalog_entry(&catalog, "shop-events");
    assert_eq!(table_metadata(events)["table-key-properties"], json!([]));
    assert_eq!(
        table_metadata(events)["valid-replication-keys"],
        json!(["at"])
    );
    assert_eq!(
        events["schema"]["properties"]["payload"],
        json!({"x-sql-datatype": "jsonb"})
    );
    // No key and nothing to order by: only FULL_TABLE works.
    let documents = catalog_entry(&catalog, "shop-documents");
    assert_eq!(
        table_metadata(documents)["forced-replication-method"],
        "FULL_TABLE"
    );

    let measurements = catalog_entry(&catalog, "shop-measurements");
    assert_eq!(
        table_metadata(measurements)["table-key-properties"],
        json!(["id", "taken"])
    );
}

#[test]
fn filter_schemas_restricts_discovery() {
    let db = PgDatabase::with_sql(SCHEMA);
    let catalog = discover(&db, json!({"filter_schemas": "Other Schema"}));
    let streams = catalog["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    // Without a clash inside the discovered set, the stream is the plain table name.
    assert_eq!(streams[0]["stream"], "customers");
}

#[test]
fn unreadable_tables_are_not_offered() {
    let db = PgDatabase::new();
    let mut client = db.client();
    client.batch_execute(SCHEMA).unwrap();
    client
        .batch_execute(&format!(
            "create role reader_{0} login; grant usage on schema shop to reader_{0}; \
             grant select on shop.customers to reader_{0};",
            db.name
        ))
        .unwrap();
    let output = TapRun::postgres(&db, json!({"user": format!("reader_{}", db.name)}))
        .run_with(&["--discover"]);
    output.assert_success();
    // Discovery says what it found and what it had to leave out.
    assert!(
        output.stderr.contains("streams=1") && output.stderr.contains("shop.events"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("shop.customers"),
        "{}",
        output.stderr
    );
    let catalog: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids = stream_ids(&catalog);
    client
        .batch_execute(&format!(
            "drop owned by reader_{0}; drop role reader_{0};",
            db.name
        ))
        .unwrap();
    assert_eq!(ids, ["shop-customers"]);
}

/// A comment with a quote, a newline and an emoji: it must survive byte for byte.
const AWKWARD_COMMENT: &str = "The customer's \"display\" name,\nas typed 🎉";

#[test]
fn comments_become_descriptions_in_the_catalog_and_the_schema_message() {
    let quoted = AWKWARD_COMMENT.replace('\'', "''");
    let db = PgDatabase::with_sql(&format!(
        r#"
        create schema shop;
        create table shop.notes (id integer primary key, "Display Name" text, body text);
        comment on table shop.notes is 'Notes taken by support';
        comment on column shop.notes.id is 'Note number';
        comment on column shop.notes."Display Name" is '{quoted}';
        create table shop.plain (id integer primary key, v text);
        create view shop.note_ids as select id, body from shop.notes;
        comment on view shop.note_ids is 'Just the ids';
        comment on column shop.note_ids.body is 'The text';
        insert into shop.notes values (1, 'a', 'b');
        "#
    ));

    let catalog = discover(&db, json!({}));
    let notes = &catalog_entry(&catalog, "shop-notes")["schema"];
    let described = [
        ("id", Some("Note number")),
        ("Display Name", Some(AWKWARD_COMMENT)),
    ];
    assert_descriptions(notes, Some("Notes taken by support"), &described);
    assert_eq!(
        notes["properties"]["body"],
        json!({"type": ["null", "string"], "x-sql-datatype": "text"}),
        "no comment, no description"
    );
    assert_eq!(property_names(notes), ["id", "Display Name", "body"]);
    let plain = &catalog_entry(&catalog, "shop-plain")["schema"];
    assert_descriptions(plain, None, &[("v", None)]);
    let view = &catalog_entry(&catalog, "shop-note_ids")["schema"];
    assert_descriptions(
        view,
        Some("Just the ids"),
        &[("body", Some("The text")), ("id", None)],
    );

    // A sync's SCHEMA message carries them to the target.
    let messages = TapRun::postgres(&db, json!({"select": ["shop.notes"]}))
        .run(None)
        .messages();
    let schema = &schema_message(&messages, "notes").schema;
    assert_descriptions(schema, Some("Notes taken by support"), &described);
    assert!(schema["properties"]["body"].get("description").is_none());
}
