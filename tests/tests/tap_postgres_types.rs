//! tap-postgres: the exact JSON emitted for edge values of every type family.
//!
//! Each case creates a one-column table, inserts literals, runs the real tap with a config
//! `select` pattern, and compares every emitted value with the expected JSON text.

use serde_json::{Value, json};
use tests::tap::{assert_emitted, one_column_table};
use tests::{PgDatabase, TapRun};

/// Runs the tap over `public.t (id, v <sql_type>)` holding the literals of `cases` (SQL, in id
/// order) in a database of its own, checks the JSON text emitted for each, and returns the
/// property schema of `v`.
fn assert_emits(sql_type: &str, cases: &[(&str, &str)]) -> Value {
    assert_emits_in(&PgDatabase::new(), sql_type, cases)
}

/// [`assert_emits`] in `db`, whose types and settings the case needs.
fn assert_emits_in(db: &PgDatabase, sql_type: &str, cases: &[(&str, &str)]) -> Value {
    let literals: Vec<&str> = cases.iter().map(|(literal, _)| *literal).collect();
    db.execute(&one_column_table(sql_type, &literals));
    let (values, schema) = TapRun::postgres(db, json!({"select": ["public.t"]})).emitted_values();
    assert_emitted(sql_type, cases, &values);
    schema
}

#[test]
fn integers() {
    let schema = assert_emits(
        "smallint",
        &[
            ("-32768", "-32768"),
            ("32767", "32767"),
            ("0", "0"),
            ("null", "null"),
        ],
    );
    assert_eq!(schema["type"], json!(["null", "integer"]));
    assert_eq!(schema["x-sql-datatype"], "smallint");
    assert_emits(
        "integer",
        &[("-2147483648", "-2147483648"), ("2147483647", "2147483647")],
    );
    assert_emits(
        "bigint",
        &[
            ("-9223372036854775808", "-9223372036854775808"),
            ("9223372036854775807", "9223372036854775807"),
        ],
    );
}

#[test]
fn numerics_keep_every_digit() {
    let forty = "1234567890123456789012345678901234567890";
    let db = PgDatabase::new();
    let digits = format!("{forty}.0123456789");
    let mut cases = vec![
        (digits.as_str(), digits.as_str()),
        (
            "-0.000000000000000000000000000001",
            "-0.000000000000000000000000000001",
        ),
        ("1e-5", "0.00001"),
        ("'NaN'", "null"),
        ("null", "null"),
    ];
    if db.version_num() >= 140_000 {
        // numeric holds infinities from PostgreSQL 14.
        cases.extend([("'Infinity'", "null"), ("'-Infinity'", "null")]);
    }
    let schema = assert_emits_in(&db, "numeric", &cases);
    assert_eq!(schema["type"], json!(["null", "number"]));
    let schema = assert_emits(
        "numeric(12,2)",
        &[("1.1", "1.10"), ("-9999999999.99", "-9999999999.99")],
    );
    assert_eq!(schema["x-sql-datatype"], "numeric(12,2)");
    assert_emits("money", &[("1234.56", "1234.56"), ("-0.01", "-0.01")]);
}

#[test]
fn floats_are_exact_and_nan_is_null() {
    assert_emits(
        "double precision",
        &[
            ("0.1", "0.1"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("'NaN'", "null"),
            ("'Infinity'", "null"),
            ("'-Infinity'", "null"),
        ],
    );
    assert_emits("real", &[("3.4028235e38", "3.4028235e+38"), ("1.5", "1.5")]);
}

#[test]
fn text_and_booleans() {
    assert_emits(
        "text",
        &[
            ("'Grüße 🦀'", r#""Grüße 🦀""#),
            ("''", r#""""#),
            (
                r#"E'tab\there\nnewline \\ back\\slash "quote"'"#,
                r#""tab\there\nnewline \\ back\\slash \"quote\"""#,
            ),
            ("'O''Brien'", r#""O'Brien""#),
            ("null", "null"),
        ],
    );
    assert_emits("char(3)", &[("'ab'", r#""ab ""#)]);
    let schema = assert_emits("varchar(16)", &[("'x'", r#""x""#)]);
    assert_eq!(schema["x-sql-datatype"], "character varying(16)");
    assert_emits(
        "boolean",
        &[("true", "true"), ("false", "false"), ("null", "null")],
    );
    assert_emits(
        "bytea",
        &[(r"'\xdeadbeef'", r#""deadbeef""#), ("''", r#""""#)],
    );
}

#[test]
fn dates_and_times_in_utc_whatever_the_server_zone() {
    let db = PgDatabase::new();
    // The tap must not depend on the server's or database's time zone.
    db.execute(&format!(
        "alter database \"{}\" set timezone = 'Asia/Kolkata'",
        db.name
    ));
    let schema = assert_emits_in(
        &db,
        "timestamptz",
        &[
            (
                "'2026-01-01 00:00:00+05:30'",
                r#""2025-12-31T18:30:00.000000Z""#,
            ),
            (
                "'2026-11-21 10:00:00.123456Z'",
                r#""2026-11-21T10:00:00.123456Z""#,
            ),
            ("'1900-01-01 00:00:00Z'", r#""1900-01-01T00:00:00.000000Z""#),
            ("'infinity'", r#""infinity""#),
            ("'-infinity'", r#""-infinity""#),
        ],
    );
    assert_eq!(schema["format"], "date-time");
    assert_emits_in(
        &db,
        "timestamp",
        &[
            (
                "'2026-11-21 10:00:00.5'",
                r#""2026-11-21T10:00:00.500000Z""#,
            ),
            (
                "'9999-12-31 23:59:59.999999'",
                r#""9999-12-31T23:59:59.999999Z""#,
            ),
        ],
    );
    let schema = assert_emits_in(
        &db,
        "date",
        &[
            ("'2026-11-21'", r#""2026-11-21""#),
            ("'0001-01-01'", r#""0001-01-01""#),
        ],
    );
    assert_eq!(schema["format"], "date");
    assert_emits_in(
        &db,
        "time",
        &[("'23:59:59.999999'", r#""23:59:59.999999""#)],
    );
    assert_emits_in(&db, "timetz", &[("'10:00:00+02'", r#""10:00:00+02""#)]);
    assert_emits_in(
        &db,
        "interval",
        &[(
            "'1 year 2 months 3 days 04:05:06.789'",
            r#""P1Y2M3DT4H5M6.789S""#,
        )],
    );
}

#[test]
fn json_stays_json() {
    let schema = assert_emits(
        "jsonb",
        &[
            (
                r#"'{"b": 1, "a": [1, 2.50, null, "x"]}'"#,
                r#"{"a":[1,2.50,null,"x"],"b":1}"#,
            ),
            ("'[]'", "[]"),
            ("'\"text\"'", r#""text""#),
            (
                "'12345678901234567890.123456789'",
                "12345678901234567890.123456789",
            ),
        ],
    );
    assert_eq!(schema, json!({"x-sql-datatype": "jsonb"}));
    assert_emits(
        "json",
        &[
            (r#"'{"k": {"deep": true}}'"#, r#"{"k":{"deep":true}}"#),
            // json keeps its line breaks; the RECORD must still be one line.
            ("E'{\\n  \"a\": [1,\\n 2]\\n}'", r#"{"a":[1,2]}"#),
        ],
    );
}

#[test]
fn network_uuid_bits_and_other_text_forms() {
    let cases: [(&str, &str, &str); 12] = [
        (
            "uuid",
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ),
        ("inet", "'2001:db8::1/64'", "2001:db8::1/64"),
        ("cidr", "'192.168.100.128/25'", "192.168.100.128/25"),
        ("macaddr", "'08:00:2b:01:02:03'", "08:00:2b:01:02:03"),
        ("bit(4)", "B'1010'", "1010"),
        ("varbit", "B'10'", "10"),
        ("xml", "'<a>x</a>'", "<a>x</a>"),
        ("tsvector", "'a fat cat'", "'a' 'cat' 'fat'"),
        ("point", "'(1,2)'", "(1,2)"),
        ("int4range", "'[1,5)'", "[1,5)"),
        (
            "tstzrange",
            "'[2026-01-01,)'",
            "[\"2026-01-01 00:00:00+00\",)",
        ),
        ("pg_lsn", "'16/B374D848'", "16/B374D848"),
    ];
    for (sql_type, literal, text) in cases {
        let expected = Value::String(text.to_owned()).to_string();
        assert_emits(sql_type, &[(literal, &expected)]);
    }
}

#[test]
fn arrays_of_any_shape() {
    let schema = assert_emits(
        "integer[]",
        &[
            ("'{1,NULL,3}'", "[1,null,3]"),
            ("'{{1,2},{3,4}}'", "[[1,2],[3,4]]"),
            ("'{}'", "[]"),
        ],
    );
    assert_eq!(schema["x-sql-datatype"], "integer[]");
    assert_eq!(schema["type"], json!(["null", "array"]));
    assert_emits(
        "text[]",
        &[(
            r#"'{"a,b","c\"d",NULL,"NULL",plain}'"#,
            r#"["a,b","c\"d",null,"NULL","plain"]"#,
        )],
    );
    assert_emits("numeric[]", &[("'{1.10,NaN}'", "[1.10,null]")]);
    assert_emits(
        "timestamptz[]",
        &[(
            "array['2026-01-01 00:00:00Z'::timestamptz]",
            r#"["2026-01-01T00:00:00.000000Z"]"#,
        )],
    );
    assert_emits("jsonb[]", &[(r#"array['{"a":1}'::jsonb]"#, r#"[{"a":1}]"#)]);
}

#[test]
fn enums_domains_and_composites() {
    let db = PgDatabase::new();
    db.execute(
        "create type mood as enum ('sad', 'happy'); \
         create domain positive as integer check (value > 0); \
         create type pair as (a integer, b text);",
    );
    let schema = assert_emits_in(&db, "mood", &[("'happy'", r#""happy""#)]);
    assert_eq!(schema["x-sql-datatype"], "mood");
    let schema = assert_emits_in(&db, "positive", &[("5", "5")]);
    assert_eq!(
        schema["type"],
        json!(["null", "integer"]),
        "a domain is its base type"
    );
    assert_eq!(schema["x-sql-datatype"], "positive");
    assert_emits_in(&db, "pair", &[("row(1, 'x y')", r#""(1,\"x y\")""#)]);
    assert_emits_in(&db, "mood[]", &[("'{sad,happy}'", r#"["sad","happy"]"#)]);
}

/// Types the newer majors add, on the servers that have them: `xid8` (13+), a 64-bit unsigned
/// integer that stays a JSON integer, and multiranges (14+), kept as their text.
#[test]
fn types_of_newer_majors() {
    let db = PgDatabase::new();
    if db.version_num() >= 130_000 {
        let schema = assert_emits_in(
            &db,
            "xid8",
            &[
                ("'0'", "0"),
                ("'18446744073709551615'", "18446744073709551615"),
            ],
        );
        assert_eq!(schema["type"], json!(["null", "integer"]));
        assert_eq!(schema["minimum"], 0);
        assert_eq!(schema["maximum"], json!(18_446_744_073_709_551_615_u64));
        assert_eq!(schema["x-sql-datatype"], "xid8");
    }
    if db.version_num() >= 140_000 {
        let schema = assert_emits_in(
            &db,
            "int4multirange",
            &[
                ("'{[1,3), [5,8)}'", r#""{[1,3),[5,8)}""#),
                ("'{}'", r#""{}""#),
            ],
        );
        assert_eq!(schema["type"], json!(["null", "string"]));
        assert_eq!(schema["x-sql-datatype"], "int4multirange");
        assert_emits_in(
            &db,
            "tstzmultirange",
            &[(
                "'{[2026-01-01,2026-02-01)}'",
                r#""{[\"2026-01-01 00:00:00+00\",\"2026-02-01 00:00:00+00\")}""#,
            )],
        );
        assert_emits_in(
            &db,
            "nummultirange",
            &[("'{[1.10,2.200]}'", r#""{[1.10,2.200]}""#)],
        );
    }
}
