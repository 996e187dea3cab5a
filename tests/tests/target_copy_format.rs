//! target-postgres's two COPY formats store the same values: one input, loaded with
//! `copy_format: text` into one schema and with the default (binary) into another, compared
//! column by column as PostgreSQL prints them; first by direct COPY into new tables, then again
//! through the staging tables of a merge.

use postgres::Client;
use serde_json::{Value, json};
use tests::PgDatabase;
use tests::warehouse::{TargetRun, query_rows, target_config};

/// Every column type the target writes in binary, by the SCHEMA that makes it.
fn properties() -> Value {
    json!({
        "id": {"type": "integer"},
        "i2": {"type": ["null", "integer"], "x-sql-datatype": "smallint", "minimum": -32768, "maximum": 32767},
        "i4": {"type": ["null", "integer"], "x-sql-datatype": "integer", "minimum": -2147483648_i64, "maximum": 2147483647},
        "i8": {"type": ["null", "integer"]},
        "wide": {"type": ["null", "integer"], "minimum": 0, "maximum": 18446744073709551615_u64},
        "num": {"type": ["null", "number"]},
        "num_ps": {"type": ["null", "number"], "x-sql-datatype": "numeric(12,4)"},
        "dbl": {"type": ["null", "number"], "x-sql-datatype": "double precision"},
        "flag": {"type": ["null", "boolean"]},
        "txt": {"type": ["null", "string"]},
        "vc": {"type": ["null", "string"], "x-sql-datatype": "character varying(10)"},
        "ch": {"type": ["null", "string"], "x-sql-datatype": "character(5)"},
        "tstz": {"type": ["null", "string"], "format": "date-time"},
        "ts": {"type": ["null", "string"], "format": "date-time", "x-sql-datatype": "timestamp without time zone"},
        "d": {"type": ["null", "string"], "format": "date"},
        "t": {"type": ["null", "string"], "format": "time"},
        "doc": {},
        "bin": {"type": ["null", "string"], "contentEncoding": "base16"}
    })
}

/// The values, as JSON text: numbers exactly as written (`-0`, `1.5E-3`), which `serde_json`
/// values would not keep.
const ROWS: &[&str] = &[
    r#""i2": 0, "i4": 0, "i8": 0, "wide": 0, "num": 0, "num_ps": 0, "dbl": 0, "flag": false, "txt": "", "vc": "", "ch": "", "tstz": "2000-01-01T00:00:00Z", "ts": "2000-01-01T00:00:00Z", "d": "2000-01-01", "t": "00:00:00", "doc": {}, "bin": """#,
    r#""i2": -32768, "i4": -2147483648, "i8": -9223372036854775808, "wide": 18446744073709551615, "num": -0, "num_ps": -0.5, "dbl": -0, "flag": true, "txt": "tab\there, new\nline, cr\rx, back\\slash, \\N", "vc": "abcdefghij", "ch": "ab", "tstz": "1999-12-31T23:59:59.999999+05:30", "ts": "1999-12-31T23:59:59.999999+05:30", "d": "0001-01-01", "t": "23:59:59.999999", "doc": {"b": 1, "a": [true, null, "x"]}, "bin": "00ff10""#,
    r#""i2": 32767, "i4": 2147483647, "i8": 9223372036854775807, "wide": 9223372036854775808, "num": 1.5e3, "num_ps": 12345678.1234, "dbl": 1.7976931348623157e308, "txt": "ünïcödé ✓ 東京", "vc": "äöü", "ch": "abcde", "tstz": "9999-12-31T23:59:59.999999Z", "ts": "9999-12-31T23:59:59.999999Z", "d": "9999-12-31", "t": "24:00:00", "doc": "text", "bin": "DEADbeef""#,
    r#""num": 1.5E-3, "num_ps": 1e3, "dbl": 5e-324, "tstz": "0001-01-01T00:00:00Z", "ts": "0001-01-01 00:00:00", "d": "2024-02-29T00:00:00Z", "t": "12:34:56.5", "doc": 12.50"#,
    r#""num": -123456789012345678901234567890.123456789, "num_ps": 1.23400, "dbl": 0.1, "tstz": "2024-03-10 02:30:00", "ts": "2024-03-10 02:30:00", "doc": [1, 2.0, "three"]"#,
    r#""num": 0.000, "num_ps": -99999999.9999, "dbl": -2.5, "tstz": "2024-01-01T12:00:00.5-08:00", "ts": "2024-01-01T12:00:00.5-08:00", "doc": {"a": 1, "a": 2}"#,
    r#""num": 100000000, "dbl": 1e-310, "tstz": "2024-01-01 00:00:00.1230000+00", "ts": "2024-01-01 00:00:00.1230000+00", "doc": {"ü": "\u00e9\ud83d\ude00"}"#,
    r#""num": 100000001, "dbl": 123456789.123456789, "tstz": "2016-12-31T23:59:60Z", "ts": "2016-12-31T23:59:60Z""#,
    r#""num": 1e-20, "tstz": "2024-06-01T10:00:00+14:00", "ts": "2024-06-01T10:00:00+14:00""#,
    r#""num": 123.4500, "num_ps": 0.0001"#,
    r#""num": -0.0001"#,
    r#""num": 99999999999999999999e-5"#,
    r#""num": 1E+3"#,
    r#""txt": null, "doc": null"#,
];

fn input(version: u64) -> String {
    let schema = json!({"type": "SCHEMA", "stream": "types",
                        "schema": {"type": "object", "properties": properties()},
                        "key_properties": ["id"]});
    let mut text = format!("{schema}\n");
    for (id, fields) in ROWS.iter().enumerate() {
        text.push_str(&format!(
            r#"{{"type": "RECORD", "stream": "types", "version": {version}, "record": {{"id": {id}, {fields}}}}}"#
        ));
        text.push('\n');
    }
    text.push_str(&format!(
        "{}\n",
        json!({"type": "ACTIVATE_VERSION", "stream": "types", "version": version})
    ));
    text
}

/// Loads `input` into `schema` with `copy_format`; returns the target's log.
fn load(db: &PgDatabase, schema: &str, copy_format: &str, input: &str) -> String {
    let target = TargetRun::with_config(target_config(
        db,
        json!({"default_target_schema": schema, "copy_format": copy_format}),
    ));
    let output = tests::bin::run(
        {
            let mut command = target.command();
            command.env("RUST_LOG", "target_postgres=debug");
            command
        },
        &[],
        input.as_bytes(),
    );
    output.assert_success();
    output.stderr
}

/// The columns of `schema`.types and their types.
fn columns(client: &mut Client, schema: &str) -> Vec<Vec<String>> {
    query_rows(
        client,
        &format!(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute \
             where attrelid = '{schema}.types'::regclass and attnum > 0 and not attisdropped \
             order by attnum"
        ),
    )
}

/// Every column but the load's own times and sequence, as text, row by row.
fn table_text(client: &mut Client, schema: &str) -> Vec<Vec<String>> {
    let names: Vec<String> = columns(client, schema)
        .into_iter()
        .map(|column| column[0].clone())
        .filter(|name| {
            !matches!(
                name.as_str(),
                "_sdc_extracted_at" | "_sdc_received_at" | "_sdc_batched_at" | "_sdc_sequence"
            )
        })
        .collect();
    let list = names
        .iter()
        .map(|name| format!("{name}::text"))
        .collect::<Vec<_>>()
        .join(", ");
    query_rows(
        client,
        &format!("select {list} from {schema}.types order by id"),
    )
}

#[test]
fn binary_and_text_copy_store_the_same_values() {
    let db = PgDatabase::new();
    let mut client = db.client();
    client
        .batch_execute("set timezone = 'UTC'")
        .expect("set timezone");
    for (version, copied) in [(1, "copied into new tables"), (2, "merged through staging")] {
        let input = input(version);
        let text_log = load(&db, "as_text", "text", &input);
        let binary_log = load(&db, "as_binary", "binary", &input);
        assert!(
            binary_log.contains("format=Binary") && !binary_log.contains("format=Text"),
            "the binary run copied in binary: {binary_log}"
        );
        assert!(text_log.contains("format=Text") && !text_log.contains("format=Binary"));
        assert_eq!(
            columns(&mut client, "as_text"),
            columns(&mut client, "as_binary")
        );
        let text = table_text(&mut client, "as_text");
        assert_eq!(text.len(), ROWS.len());
        assert_eq!(table_text(&mut client, "as_binary"), text, "{copied}");
    }
    // A few values checked against what they must be, not only against each other.
    let rows = query_rows(
        &mut client,
        "select num::text, dbl::text, tstz::text, ts::text, t::text, ch, doc::text, \
         encode(bin, 'hex') from as_binary.types where id in (1, 2, 7) order by id",
    );
    assert_eq!(
        rows,
        [
            [
                "0",
                "-0",
                "1999-12-31 18:29:59.999999+00",
                "1999-12-31 23:59:59.999999",
                "23:59:59.999999",
                "ab   ",
                r#"{"a": [true, null, "x"], "b": 1}"#,
                "00ff10"
            ],
            [
                "1500",
                "1.7976931348623157e+308",
                "9999-12-31 23:59:59.999999+00",
                "9999-12-31 23:59:59.999999",
                "24:00:00",
                "abcde",
                r#""text""#,
                "deadbeef"
            ],
            [
                "100000001",
                "123456789.12345679",
                "2017-01-01 00:00:00+00",
                "2017-01-01 00:00:00",
                "NULL",
                "NULL",
                "NULL",
                "NULL"
            ]
        ]
    );
}
