//! tap-mysql: the exact JSON emitted for edge values of every type family, on MariaDB.

use mysql::prelude::Queryable;
use serde_json::{Value, json};
use tests::singer::records;
use tests::tap::{assert_emitted, one_column_table};
use tests::{MysqlDatabase, TapRun};

/// The tap selecting `t` alone, with the keys of `extra`.
fn tap(db: &MysqlDatabase, extra: Value) -> TapRun {
    let select = json!({"select": [format!("{}.t", db.name)]});
    TapRun::mysql(db, tests::merged(select, extra))
}

/// Runs the tap with the keys of `extra` over `t (id, v <column_type>)` holding `literals`, in a
/// database of its own; returns `v` of each RECORD, and the property schema of `v`.
fn emitted(column_type: &str, literals: &[&str], extra: Value) -> (Vec<Value>, Value) {
    let db = MysqlDatabase::with_sql(&one_column_table(column_type, literals));
    tap(&db, extra).emitted_values()
}

/// Checks the JSON text emitted for the literal of each case; returns the property schema.
fn assert_emits(column_type: &str, cases: &[(&str, &str)]) -> Value {
    let literals: Vec<&str> = cases.iter().map(|(literal, _)| *literal).collect();
    let (values, schema) = emitted(column_type, &literals, json!({}));
    assert_emitted(column_type, cases, &values);
    schema
}

#[test]
fn integers_signed_and_unsigned() {
    assert_emits(
        "tinyint",
        &[("-128", "-128"), ("127", "127"), ("null", "null")],
    );
    assert_emits("tinyint unsigned", &[("255", "255")]);
    // Padded by MySQL, written as JSON numbers.
    assert_emits("year", &[("0", "0"), ("2155", "2155")]);
    assert_emits("int(5) zerofill", &[("42", "42"), ("0", "0")]);
    assert_emits("decimal(6,2) zerofill", &[("1.5", "1.50")]);
    assert_emits("smallint", &[("-32768", "-32768")]);
    assert_emits("mediumint unsigned", &[("16777215", "16777215")]);
    assert_emits("int", &[("-2147483648", "-2147483648")]);
    assert_emits(
        "bigint",
        &[("-9223372036854775808", "-9223372036854775808")],
    );
    let schema = assert_emits(
        "bigint unsigned",
        &[("18446744073709551615", "18446744073709551615"), ("0", "0")],
    );
    assert_eq!(schema["maximum"].to_string(), "18446744073709551615");
    assert_eq!(schema["x-sql-datatype"], "bigint(20) unsigned");
    assert_emits("year", &[("2026", "2026"), ("1901", "1901")]);
}

#[test]
fn booleans_and_bits() {
    let schema = assert_emits(
        "tinyint(1)",
        &[("1", "true"), ("0", "false"), ("null", "null")],
    );
    assert_eq!(schema["type"], json!(["null", "boolean"]));
    assert_emits("bit(1)", &[("b'1'", "true"), ("b'0'", "false")]);
    assert_emits("bit(12)", &[("b'100000000001'", "2049")]);
    assert_emits(
        "bit(64)",
        &[("18446744073709551615", "18446744073709551615")],
    );
    // The config switch keeps tinyint(1) an integer.
    let (values, schema) = emitted("tinyint(1)", &["5"], json!({"tinyint1_as_boolean": false}));
    assert_eq!(values, [json!(5)]);
    assert_eq!(schema["type"], json!(["null", "integer"]));
}

#[test]
fn decimals_keep_every_digit_and_floats() {
    let digits35 = "12345678901234567890123456789012345";
    let fraction30 = "123456789012345678901234567890";
    let schema = assert_emits(
        "decimal(65,30)",
        &[
            (
                &format!("{digits35}.{fraction30}"),
                &format!("{digits35}.{fraction30}"),
            ),
            (
                &format!("-{digits35}.{fraction30}"),
                &format!("-{digits35}.{fraction30}"),
            ),
            ("0", "0.000000000000000000000000000000"),
        ],
    );
    assert_eq!(schema["x-sql-datatype"], "decimal(65,30)");
    assert_emits("decimal(12,2)", &[("1.1", "1.10")]);
    assert_emits(
        "double",
        &[
            ("0.1", "0.1"),
            ("-1.7976931348623157e308", "-1.7976931348623157e+308"),
        ],
    );
    assert_emits("float", &[("1.5", "1.5")]);
}

#[test]
fn text_binary_enum_and_set() {
    assert_emits(
        "varchar(64)",
        &[
            ("'Grüße 🦀'", r#""Grüße 🦀""#),
            ("''", r#""""#),
            (
                r"'tab\there\nnew line \\ \'q\''",
                r#""tab\there\nnew line \\ 'q'""#,
            ),
        ],
    );
    assert_emits("text", &[("repeat('x', 3)", r#""xxx""#)]);
    assert_emits("char(3)", &[("'ab'", r#""ab""#)]);
    let schema = assert_emits(
        "varbinary(8)",
        &[("x'deadbeef'", r#""deadbeef""#), ("''", r#""""#)],
    );
    assert_eq!(schema["contentEncoding"], "base16");
    assert_emits("blob", &[("x'00ff'", r#""00ff""#)]);
    assert_emits("binary(3)", &[("x'01'", r#""010000""#)]);
    let schema = assert_emits("enum('new','paid')", &[("'paid'", r#""paid""#)]);
    assert_eq!(schema["x-sql-datatype"], "enum('new','paid')");
    let schema = assert_emits(
        "set('a','b','c')",
        &[("'a,c'", r#"["a","c"]"#), ("''", "[]"), ("null", "null")],
    );
    assert_eq!(schema["type"], json!(["null", "array"]));
}

#[test]
fn dates_times_and_zero_dates() {
    let schema = assert_emits(
        "datetime(6)",
        &[
            (
                "'2026-11-21 10:00:00.123456'",
                r#""2026-11-21T10:00:00.123456Z""#,
            ),
            ("'1000-01-01 00:00:00'", r#""1000-01-01T00:00:00.000000Z""#),
            (
                "'9999-12-31 23:59:59.999999'",
                r#""9999-12-31T23:59:59.999999Z""#,
            ),
        ],
    );
    assert_eq!(schema["format"], "date-time");
    assert_emits("date", &[("'2026-11-21'", r#""2026-11-21""#)]);
    assert_emits(
        "time(6)",
        &[
            ("'-838:59:59'", r#""-838:59:59.000000""#),
            ("'838:59:59'", r#""838:59:59.000000""#),
            ("'12:00:00.5'", r#""12:00:00.500000""#),
        ],
    );

    // Legacy zero dates: null, with one warning for the column.
    let db = MysqlDatabase::new();
    db.conn().query_drop("set session sql_mode = ''").unwrap();
    let mut conn = db.conn();
    conn.query_drop("drop table if exists t; create table t (id integer primary key, v date)")
        .unwrap();
    conn.query_drop("set session sql_mode = ''; insert into t values (0, '0000-00-00'), (1, '2026-01-01'), (2, '0000-00-00')")
        .unwrap();
    let output = tap(&db, json!({})).run(None);
    let values: Vec<Value> = records(&output.messages())
        .iter()
        .map(|r| r["v"].clone())
        .collect();
    assert_eq!(values, [Value::Null, json!("2026-01-01"), Value::Null]);
    assert_eq!(
        output.stderr.matches("zero dates").count(),
        1,
        "{}",
        output.stderr
    );
}

#[test]
fn timestamps_are_utc_whatever_the_server_zone() {
    let db = MysqlDatabase::new();
    let mut conn = db.conn();
    conn.query_drop("set global time_zone = '+03:00'").unwrap();
    let mut conn = db.conn();
    conn.query_drop("create table t (id integer primary key, v timestamp(6) null)")
        .unwrap();
    // Written in a +03:00 session: 03:00 there is midnight UTC.
    conn.query_drop(
        "insert into t values (0, '2026-01-01 03:00:00'), (1, '2026-06-01 12:00:00.25')",
    )
    .unwrap();
    let output = tap(&db, json!({})).run_with(&[]);
    conn.query_drop("set global time_zone = 'SYSTEM'").unwrap();
    output.assert_success();
    let values: Vec<String> = records(&output.messages())
        .iter()
        .map(|r| r["v"].to_string())
        .collect();
    assert_eq!(
        values,
        [
            r#""2026-01-01T00:00:00.000000Z""#,
            r#""2026-06-01T09:00:00.250000Z""#
        ]
    );
}

#[test]
fn json_as_json_and_geometry_as_wkt() {
    let schema = assert_emits(
        "json",
        &[
            (
                r#"'{"a": [1, 2.50, null], "b": {"c": "🦀"}}'"#,
                r#"{"a":[1,2.50,null],"b":{"c":"🦀"}}"#,
            ),
            ("'[]'", "[]"),
            (
                "'12345678901234567890.123456789'",
                "12345678901234567890.123456789",
            ),
            ("'{\\n\"k\":\\n1}'", r#"{"k":1}"#),
        ],
    );
    assert_eq!(
        schema["x-sql-datatype"], "longtext",
        "MariaDB's JSON is longtext + json_valid"
    );
    assert!(schema.get("type").is_none(), "schemaless: any JSON value");
    assert_emits(
        "point",
        &[("ST_GeomFromText('POINT(1 2)')", r#""POINT(1 2)""#)],
    );
}
