//! Whole pipelines, `tap | target-postgres`, checked type for type and value for value: what
//! arrives in the warehouse is what the source holds.

use mysql::prelude::Queryable;
use postgres::Client;
use serde_json::{Value, json};
use tests::fixtures::{PG_KINDS_ROWS, PG_KINDS_TABLE};
use tests::warehouse::{SCHEMA, assert_column_type, columns, emitted_states, query_text};
use tests::{MysqlDatabase, PgDatabase, TapRun, TargetRun};

/// Each column's warehouse type, and how to read source and warehouse values as comparable text.
const PG_EXPECTED: &[(&str, &str, &str)] = &[
    ("small", "smallint", "small::text"),
    ("big", "bigint", "big::text"),
    ("exact", "numeric(12,2)", "exact::text"),
    ("wide", "numeric", "wide::text"),
    ("dbl", "double precision", "dbl::text"),
    ("flt", "real", "flt::text"),
    ("flag", "boolean", "flag::text"),
    ("label", "text", "label"),
    ("code", "character varying(10)", "code::text"),
    // char(n) arrives as char(n): the column itself, padding included.
    ("initials", "character(3)", "initials"),
    ("uid", "uuid", "uid::text"),
    ("born", "date", "born::text"),
    ("alarm", "time without time zone", "alarm::text"),
    ("seen", "timestamp without time zone", "seen::text"),
    ("seen_tz", "timestamp with time zone", "seen_tz::text"),
    ("span", "interval", "span::text"),
    ("blob", "bytea", "blob::text"),
    ("doc", "jsonb", "doc::text"),
    ("raw_json", "jsonb", "raw_json::jsonb::text"),
    ("ints", "integer[]", "ints::text"),
    ("words", "text[]", "words::text"),
    ("feeling", "text", "feeling::text"),
    ("addr", "inet", "addr::text"),
    ("price", "numeric", "price::numeric::text"),
];

/// `tap | target-postgres` into a new warehouse, schema [`SCHEMA`]; both must succeed. Returns
/// the warehouse and the states the target printed.
fn load(tap: TapRun) -> (PgDatabase, Vec<Value>) {
    let warehouse = PgDatabase::new();
    let output = tap.run_into(&TargetRun::new(&warehouse, json!({})), None);
    output.assert_success();
    (warehouse, emitted_states(&output.target))
}

/// tap-postgres syncing `public.<table>` of `source`.
fn postgres_table(source: &PgDatabase, table: &str) -> TapRun {
    TapRun::with_config(
        "tap-postgres",
        &source.connection_config(json!({"select": [format!("public.{table}")]})),
    )
}

/// tap-mysql syncing `<table>` of `source`.
fn mysql_table(source: &MysqlDatabase, table: &str) -> TapRun {
    let select = format!("{}.{table}", source.name);
    TapRun::with_config(
        "tap-mysql",
        &source.connection_config(json!({"select": [select]})),
    )
}

/// The rows of `select <read> from <schema>.<table> order by id` in the source (schema `public`)
/// and in the warehouse ([`SCHEMA`]) must be the same; returns them.
fn assert_same_rows(
    source: &mut Client,
    warehouse: &mut Client,
    table: &str,
    read: &str,
) -> Vec<Vec<Option<String>>> {
    let query = |schema: &str| format!("select {read} from {schema}.{table} order by id");
    let expected = query_text(source, &query("public"));
    let arrived = query_text(warehouse, &query(SCHEMA));
    assert_eq!(arrived, expected, "values of {read}");
    expected
}

#[test]
fn postgres_to_postgres_type_for_type() {
    let source = PgDatabase::with_sql(&format!("{PG_KINDS_TABLE}{PG_KINDS_ROWS}"));
    let (warehouse, states) = load(postgres_table(&source, "kinds"));
    assert!(!states.is_empty());

    let mut warehouse_client = warehouse.client();
    let mut source_client = source.client();
    let types = columns(&mut warehouse_client, "kinds");
    for (column, sql_type, read) in PG_EXPECTED {
        assert_column_type(&types, column, sql_type);
        let read = format!("id, {read}");
        assert_same_rows(&mut source_client, &mut warehouse_client, "kinds", &read);
    }
}

/// The MariaDB source table and, per column, the warehouse type and the source values as the
/// warehouse shows them (`::text`).
const MYSQL_SOURCE: &str = r#"
    create table kinds (
        id int primary key,
        tiny tinyint, flag tinyint(1), ubig bigint unsigned, exact decimal(12,2), dbl double,
        label varchar(20), body text, born date, seen datetime(6), stamp timestamp(6) null,
        span time, bin varbinary(8), doc json, colour enum('red','green'), tags set('a','b')
    );
    insert into kinds values
      (1, -128, 1, 18446744073709551615, 1234567890.12, 0.1, 'tab	x', 'naïve ☃ "q" \\ b',
       '2026-02-28', '2026-11-21 10:00:00.123456', '2026-11-21 10:00:00.5', '-838:59:59',
       x'00ff10', '{"a": [1, 2.5, null], "b": {"c": "ü"}}', 'green', 'a,b'),
      (2, 127, 0, 0, -0.01, -1.5e300, '', '', '1000-01-01', '1970-01-01 00:00:00',
       '1999-12-31 23:59:59', '12:30:00', x'', '[]', 'red', ''),
      (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)
"#;

const MYSQL_EXPECTED: &[(&str, &str, &[&str])] = &[
    ("tiny", "smallint", &["-128", "127"]),
    ("flag", "boolean", &["true", "false"]),
    ("ubig", "numeric(20,0)", &["18446744073709551615", "0"]),
    ("exact", "numeric(12,2)", &["1234567890.12", "-0.01"]),
    ("dbl", "double precision", &["0.1", "-1.5e+300"]),
    ("label", "character varying(20)", &["tab\tx", ""]),
    ("body", "text", &["naïve ☃ \"q\" \\ b", ""]),
    ("born", "date", &["2026-02-28", "1000-01-01"]),
    (
        "seen",
        "timestamp without time zone",
        &["2026-11-21 10:00:00.123456", "1970-01-01 00:00:00"],
    ),
    (
        "stamp",
        "timestamp with time zone",
        &["2026-11-21 10:00:00.5+00", "1999-12-31 23:59:59+00"],
    ),
    ("span", "interval", &["-838:59:59", "12:30:00"]),
    ("bin", "bytea", &["\\x00ff10", "\\x"]),
    (
        "doc",
        "jsonb",
        &[r#"{"a": [1, 2.5, null], "b": {"c": "ü"}}"#, "[]"],
    ),
    ("colour", "text", &["green", "red"]),
    ("tags", "text[]", &["{a,b}", "{}"]),
];

#[test]
fn mysql_to_postgres_type_for_type() {
    let source = MysqlDatabase::with_sql(MYSQL_SOURCE);
    let (warehouse, _) = load(mysql_table(&source, "kinds"));

    let mut client = warehouse.client();
    client.batch_execute("set timezone = 'UTC'").unwrap();
    let types = columns(&mut client, "kinds");
    for (column, sql_type, values) in MYSQL_EXPECTED {
        assert_column_type(&types, column, sql_type);
        let arrived = query_text(
            &mut client,
            &format!("select {column}::text from {SCHEMA}.kinds order by id"),
        );
        let mut expected: Vec<Vec<Option<String>>> =
            values.iter().map(|v| vec![Some(v.to_string())]).collect();
        expected.push(vec![None]);
        assert_eq!(arrived, expected, "values of {column}");
    }
}

/// Every MySQL integer type at both ends of its range, `char(5)` and `year`: the narrowest
/// PostgreSQL type that holds each source type, and every value as the source holds it.
const MYSQL_NARROW_SOURCE: &str = r#"
    create table narrow (
        id int primary key,
        ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
        mi mediumint, miu mediumint unsigned, i int, iu int unsigned,
        bi bigint, biu bigint unsigned, c char(5), y year
    ) default charset = utf8mb4;
    insert into narrow values
      (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, '', 1901),
      (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
       9223372036854775807, 18446744073709551615, 'abcde', 2155),
      (3, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 'ab   ', 2026),
      (4, -1, 128, -1, 32768, -1, 8388608, -1, 2147483648, -1, 9223372036854775808, '  a b',
       1970),
      (5, 1, 127, 1, 32767, 1, 8388607, 1, 2147483647, 1, 9223372036854775807, 'ü☃🦀 x',
       2000),
      (6, null, null, null, null, null, null, null, null, null, null, null, null)
"#;

/// Column, warehouse type, and how MariaDB shows the source value as text.
const MYSQL_NARROW_EXPECTED: &[(&str, &str, &str)] = &[
    ("id", "integer", "cast(id as char)"),
    ("ti", "smallint", "cast(ti as char)"),
    ("tiu", "smallint", "cast(tiu as char)"),
    ("si", "smallint", "cast(si as char)"),
    ("siu", "integer", "cast(siu as char)"),
    ("mi", "integer", "cast(mi as char)"),
    ("miu", "integer", "cast(miu as char)"),
    ("i", "integer", "cast(i as char)"),
    ("iu", "bigint", "cast(iu as char)"),
    ("bi", "bigint", "cast(bi as char)"),
    ("biu", "numeric(20,0)", "cast(biu as char)"),
    // MySQL strips a char's trailing spaces when it is read; `varchar(5)` keeps the value as read
    // (a PostgreSQL `char(5)` would pad it again).
    ("c", "character varying(5)", "c"),
    ("y", "smallint", "cast(y as char)"),
];

#[test]
fn mysql_integers_char_and_year_arrive_in_the_narrowest_exact_type() {
    let source = MysqlDatabase::with_sql(MYSQL_NARROW_SOURCE);
    let (warehouse, _) = load(mysql_table(&source, "narrow"));

    let mut client = warehouse.client();
    let types = columns(&mut client, "narrow");
    let mut conn = source.conn();
    for (column, sql_type, read) in MYSQL_NARROW_EXPECTED {
        assert_column_type(&types, column, sql_type);
        let expected: Vec<Vec<Option<String>>> = conn
            .query_map(format!("select {read} from narrow order by id"), |value| {
                vec![value]
            })
            .unwrap();
        assert_eq!(expected.len(), 6, "rows of {column}");
        let arrived = query_text(
            &mut client,
            &format!("select {column}::text from {SCHEMA}.narrow order by id"),
        );
        assert_eq!(arrived, expected, "values of {column}");
    }
    // The char values as MySQL reads them, trailing spaces stripped, leading ones kept.
    assert_eq!(
        query_text(
            &mut client,
            &format!(
                "select c, octet_length(c)::text from {SCHEMA}.narrow where id in (3, 4) order by id"
            )
        ),
        [
            [Some("ab".to_owned()), Some("2".to_owned())],
            [Some("  a b".to_owned()), Some("5".to_owned())]
        ]
    );
}

/// PostgreSQL's integers at both ends of their range and `char(n)` (`character(n)`), whose text
/// carries its padding.
const PG_NARROW_SOURCE: &str = r#"
    create table narrow (
        id integer primary key, s smallint, i integer, b bigint, c char(5), d character(1)
    );
    insert into narrow values
      (1, -32768, -2147483648, -9223372036854775808, '', 'x'),
      (2, 32767, 2147483647, 9223372036854775807, 'abcde', ' '),
      (3, 0, 0, 0, 'ab', null),
      (4, -1, -1, -1, '  a b', 'ü'),
      (5, 1, 1, 1, 'ü☃🦀 x', '🦀'),
      (6, null, null, null, null, null)
"#;

#[test]
fn postgres_integers_and_char_arrive_as_the_same_types() {
    let source = PgDatabase::with_sql(PG_NARROW_SOURCE);
    let (warehouse, _) = load(postgres_table(&source, "narrow"));

    let mut warehouse_client = warehouse.client();
    let mut source_client = source.client();
    let types = columns(&mut warehouse_client, "narrow");
    for (column, sql_type) in [
        ("id", "integer"),
        ("s", "smallint"),
        ("i", "integer"),
        ("b", "bigint"),
        ("c", "character(5)"),
        ("d", "character(1)"),
    ] {
        assert_column_type(&types, column, sql_type);
        // The columns themselves, as PostgreSQL writes them: a char's padding included.
        let rows = assert_same_rows(&mut source_client, &mut warehouse_client, "narrow", column);
        assert_eq!(rows.len(), 6, "rows of {column}");
    }
    assert_eq!(
        query_text(
            &mut warehouse_client,
            &format!("select c from {SCHEMA}.narrow where id in (1, 3) order by id")
        ),
        [[Some("     ".to_owned())], [Some("ab   ".to_owned())]]
    );
}
