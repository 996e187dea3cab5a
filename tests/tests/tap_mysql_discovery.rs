//! tap-mysql `--discover` over two databases with tables, a view, odd names and every key shape.

use serde_json::json;
use tests::singer::{
    assert_descriptions, catalog_entry, column_metadata, property_names, schema_message,
    stream_ids, table_metadata,
};
use tests::{MysqlDatabase, TapRun};

#[test]
fn discovers_two_databases() {
    let shop = MysqlDatabase::with_sql(
        "create table customers (
             id bigint unsigned auto_increment primary key,
             `Full Name` varchar(100) not null,
             `select` int,
             balance decimal(12,2),
             active tinyint(1),
             updated_at datetime(6),
             key (updated_at));
         create table order_lines (
             order_id int, line smallint, qty decimal(65,30), tags set('a','b'),
             primary key (order_id, line));
         create table events (payload json, at timestamp null);
         create table blobs (data blob);
         create view customer_names as select id, `Full Name` from customers;
         insert into customers (`Full Name`) values ('a'), ('b'), ('c');",
    );
    let crm =
        MysqlDatabase::with_sql("create table customers (id int primary key, email varchar(255))");

    let catalog = TapRun::mysql(
        &shop,
        json!({"filter_dbs": format!("{}, {}", shop.name, crm.name)}),
    )
    .discover();
    let (s, c) = (&shop.name, &crm.name);
    let mut expected = vec![
        format!("{s}-blobs"),
        format!("{s}-customer_names"),
        format!("{s}-customers"),
        format!("{s}-events"),
        format!("{s}-order_lines"),
        format!("{c}-customers"),
    ];
    expected.sort();
    assert_eq!(stream_ids(&catalog), expected);

    let customers = catalog_entry(&catalog, &format!("{s}-customers"));
    assert_eq!(
        customers["stream"],
        format!("{s}_customers"),
        "the name clashes across databases"
    );
    assert_eq!(customers["table_name"], "customers");
    let table = table_metadata(customers);
    assert_eq!(table["database-name"], json!(s));
    assert_eq!(table["table-key-properties"], json!(["id"]));
    assert_eq!(table["is-view"], false);
    assert_eq!(table["selected-by-default"], false);
    assert!(table["row-count"].as_u64().is_some());
    assert_eq!(
        table["valid-replication-keys"],
        json!(["id", "Full Name", "select", "balance", "updated_at"])
    );
    let id = column_metadata(customers, "id");
    assert_eq!(id["inclusion"], "automatic");
    assert_eq!(id["sql-datatype"], "bigint(20) unsigned");
    assert_eq!(
        column_metadata(customers, "Full Name")["sql-datatype"],
        "varchar(100)"
    );
    assert_eq!(
        column_metadata(customers, "select")["inclusion"],
        "available"
    );
    assert_eq!(
        property_names(&customers["schema"]),
        [
            "id",
            "Full Name",
            "select",
            "balance",
            "active",
            "updated_at"
        ]
    );
    let properties = &customers["schema"]["properties"];
    assert_eq!(
        properties["id"]["maximum"].to_string(),
        "18446744073709551615"
    );
    assert_eq!(properties["Full Name"]["type"], json!(["string"]));
    assert_eq!(properties["active"]["type"], json!(["null", "boolean"]));
    assert_eq!(properties["updated_at"]["format"], "date-time");
    assert_eq!(properties["balance"]["x-sql-datatype"], "decimal(12,2)");

    let lines = catalog_entry(&catalog, &format!("{s}-order_lines"));
    assert_eq!(
        table_metadata(lines)["table-key-properties"],
        json!(["order_id", "line"])
    );
    assert_eq!(
        column_metadata(lines, "tags")["sql-datatype"],
        "set('a','b')"
    );

    let view = catalog_entry(&catalog, &format!("{s}-customer_names"));
    assert_eq!(table_metadata(view)["is-view"], true);
    assert_eq!(table_metadata(view)["table-key-properties"], json!([]));

    let events = catalog_entry(&catalog, &format!("{s}-events"));
    assert_eq!(
        table_metadata(events)["valid-replication-keys"],
        json!(["at"])
    );
    let blobs = catalog_entry(&catalog, &format!("{s}-blobs"));
    assert_eq!(
        table_metadata(blobs)["forced-replication-method"],
        "FULL_TABLE"
    );

    let crm_customers = catalog_entry(&catalog, &format!("{c}-customers"));
    assert_eq!(crm_customers["stream"], format!("{c}_customers"));
    assert_eq!(
        table_metadata(crm_customers)["table-key-properties"],
        json!(["id"])
    );
}

/// A comment with a quote, a newline and non-ASCII text: it must survive byte for byte. No emoji:
/// MariaDB keeps comments in utf8mb3 (`character_set_system`) and itself stores one as `?`, as
/// `SHOW CREATE TABLE` shows.
const AWKWARD_COMMENT: &str = "The customer's \"display\" name,\nas typed ✓ — café, 東京";

#[test]
fn comments_become_descriptions_in_the_catalog_and_the_schema_message() {
    let quoted = AWKWARD_COMMENT.replace('\'', "''");
    let db = MysqlDatabase::with_sql(&format!(
        "create table notes (
             id int primary key comment 'Note number',
             `Display Name` varchar(100) comment '{quoted}',
             body text) comment 'Notes taken by support';
         create table plain (id int primary key, v text);
         create view note_ids as select id, body from notes;
         insert into notes values (1, 'a', 'b');"
    ));

    let catalog = TapRun::mysql(&db, json!({"filter_dbs": db.name})).discover();
    let d = &db.name;
    let notes = &catalog_entry(&catalog, &format!("{d}-notes"))["schema"];
    // MySQL's '' is no comment.
    let described = [
        ("id", Some("Note number")),
        ("Display Name", Some(AWKWARD_COMMENT)),
        ("body", None),
    ];
    assert_descriptions(notes, Some("Notes taken by support"), &described);
    assert_eq!(property_names(notes), ["id", "Display Name", "body"]);
    let plain = &catalog_entry(&catalog, &format!("{d}-plain"))["schema"];
    assert_descriptions(plain, None, &[("v", None)]);
    // A view's table_comment 'VIEW' is no comment.
    let view = &catalog_entry(&catalog, &format!("{d}-note_ids"))["schema"];
    assert_descriptions(view, None, &[]);

    // A sync's SCHEMA message carries them to the target.
    let sync = TapRun::mysql(
        &db,
        json!({"filter_dbs": db.name, "select": [format!("{d}.notes")]}),
    );
    let messages = sync.run(None).messages();
    let schema = &schema_message(&messages, "notes").schema;
    assert_descriptions(schema, Some("Notes taken by support"), &described);
}
