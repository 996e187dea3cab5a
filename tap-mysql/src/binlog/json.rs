//! MySQL's binary JSON (the `JSON` type's storage, as rows events carry it) → the text MySQL
//! prints for the same value, which is what the FULL_TABLE path reads and sends.
//!
//! MySQL's printing (`Json_wrapper::to_string`): members in stored order (keys sorted by length,
//! then bytes), `", "` between elements and `": "` after keys; strings escaped for `"`, `\` and
//! the control characters (`\b \f \n \r \t`, others `\u00xx`); doubles as the server prints a
//! DOUBLE, with `.0` added when neither a point nor an exponent is there; decimals as numbers
//! with their scale; dates, times and datetimes as quoted strings (six fractional digits for
//! times); any other opaque value as `"base64:type<N>:<data>"`. MariaDB stores JSON as text, so
//! only MySQL sends these values.

use mysql::binlog::jsonb::{
    ComplexValue, JsonDom, JsonNumber, JsonScalar, Object, OpaqueValue, StorageFormat, Value,
};
use mysql::consts::ColumnType;

use super::values::{ValueError, double_text};

/// Appends MySQL's text for `value`.
pub fn write_json(value: &Value<'_>, out: &mut Vec<u8>) -> Result<(), ValueError> {
    const INVALID: ValueError = ValueError("a binary JSON value is malformed");
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::I16(n) => display(out, n),
        Value::U16(n) => display(out, n),
        Value::I32(n) => display(out, n),
        Value::U32(n) => display(out, n),
        Value::I64(n) => display(out, n),
        Value::U64(n) => display(out, n),
        Value::F64(n) => write_double(*n, out),
        Value::String(text) => quote(text.str_raw(), out),
        Value::SmallArray(array) => write_array(array.iter(), out)?,
        Value::LargeArray(array) => write_array(array.iter(), out)?,
        Value::SmallObject(object) => write_object(object, out)?,
        Value::LargeObject(object) => write_object(object, out)?,
        Value::Opaque(opaque) => write_opaque(opaque, out).map_err(|_| INVALID)?,
    }
    Ok(())
}

fn write_array<'a>(
    elements: impl Iterator<Item = std::io::Result<Value<'a>>>,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    out.push(b'[');
    for (index, element) in elements.enumerate() {
        if index > 0 {
            out.extend_from_slice(b", ");
        }
        let element = element.map_err(|_| ValueError("a binary JSON array is malformed"))?;
        write_json(&element, out)?;
    }
    out.push(b']');
    Ok(())
}

fn write_object<T: StorageFormat>(
    object: &ComplexValue<'_, T, Object>,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    out.push(b'{');
    for (index, member) in object.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(b", ");
        }
        let (key, value) = member.map_err(|_| ValueError("a binary JSON object is malformed"))?;
        quote(key.value_raw(), out);
        out.extend_from_slice(b": ");
        write_json(&value, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// A double as MySQL prints it inside JSON: `1.0`, not `1`.
fn write_double(value: f64, out: &mut Vec<u8>) {
    let text = double_text(value);
    out.extend_from_slice(text.as_bytes());
    if !text.contains(['.', 'e']) {
        out.extend_from_slice(b".0");
    }
}

fn write_opaque(opaque: &OpaqueValue<'_>, out: &mut Vec<u8>) -> std::io::Result<()> {
    match opaque.value_type() {
        // A string kept as opaque is printed as a string.
        ColumnType::MYSQL_TYPE_VAR_STRING => quote(opaque.data_raw(), out),
        ColumnType::MYSQL_TYPE_NEWDECIMAL
        | ColumnType::MYSQL_TYPE_DATE
        | ColumnType::MYSQL_TYPE_TIME
        | ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_TIMESTAMP => match Value::Opaque(opaque.clone()).parse()? {
            // The decimal's digits with its scale (`9.00`), unquoted.
            JsonDom::Scalar(JsonScalar::Number(JsonNumber::Decimal(decimal))) => {
                display(out, decimal);
            }
            // Dates alone; times and datetimes with six fractional digits.
            JsonDom::Scalar(JsonScalar::DateTime(time)) => {
                quote(format!("{time:.6}").as_bytes(), out);
            }
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        },
        other => {
            let mut text = format!("base64:type{}:", other as u8).into_bytes();
            base64(opaque.data_raw(), &mut text);
            quote(&text, out);
        }
    }
    Ok(())
}

/// `text` in double quotes, escaped as MySQL escapes JSON strings.
fn quote(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &byte in text {
        match byte {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

/// Standard base64 with padding, as MySQL's `base64_encode` writes it (no line breaks for
/// the short values opaque JSON holds).
fn base64(data: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[((group >> (18 - 6 * index)) & 0x3f) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

fn display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _infallible = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use mysql_common::binlog::BinlogFile;
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::EventData;
    use mysql_common::binlog::value::BinlogValue;

    use super::*;

    /// A MySQL 8.0 binlog with one JSON column, one row an insert, holding the opaque values
    /// (a BIT, a date, a datetime, a time, decimals) that only MySQL's binary JSON has. From
    /// the test data of the `mysql_common` crate (github.com/blackbeam/rust_mysql_common,
    /// `test-data/binlogs/json-opaque.binlog`, MIT or Apache-2.0).
    const JSON_OPAQUE: &[u8] = include_bytes!("fixtures/mysql8-json-opaque.binlog");

    fn text(value: &Value<'_>) -> String {
        let mut out = Vec::new();
        write_json(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn mysql8_opaque_json_values_print_as_mysql_prints_them() {
        let mut file = BinlogFile::new(BinlogVersion::Version4, JSON_OPAQUE).unwrap();
        let mut printed = Vec::new();
        while let Some(event) = file.next() {
            let event = event.unwrap();
            let Some(EventData::RowsEvent(rows)) = event.read_data().unwrap() else {
                continue;
            };
            let table_map = file.reader().get_tme(rows.table_id()).unwrap();
            for row in rows.rows(table_map) {
                let (_, after) = row.unwrap();
                let after = after.unwrap();
                let Some(BinlogValue::Jsonb(json)) = after.as_ref(after.len() - 1) else {
                    panic!("a JSON column");
                };
                printed.push(text(json));
            }
        }
        assert_eq!(
            printed,
            [
                r#"{"a": "base64:type15:VQ=="}"#,
                r#"{"b": "2012-03-18"}"#,
                r#"{"c": "2012-03-18 11:30:45.000000"}"#,
                r#"{"c": "87:31:46.654321"}"#,
                r#"{"d": 123.456}"#,
                r#"{"e": 9.00}"#,
                r#"{"e": [0, 1, true, false]}"#,
                r#"{"e": null}"#,
            ]
        );
    }

    #[test]
    fn scalars_print_as_mysql_prints_them() {
        assert_eq!(text(&Value::F64(1.0)), "1.0");
        assert_eq!(text(&Value::F64(-0.5)), "-0.5");
        assert_eq!(text(&Value::F64(1e100)), "1e100");
        assert_eq!(text(&Value::U64(u64::MAX)), "18446744073709551615");
        assert_eq!(text(&Value::I64(i64::MIN)), "-9223372036854775808");
        assert_eq!(text(&Value::Bool(false)), "false");
        let mut out = Vec::new();
        quote("a\"b\\c\nd\te\u{1}f\u{1f}é😀".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\"b\\c\nd\te\u0001f\u001fé😀""#
        );
        for (data, encoded) in [
            (&b""[..], ""),
            (b"U", "VQ=="),
            (b"Ma", "TWE="),
            (b"Man", "TWFu"),
        ] {
            let mut out = Vec::new();
            base64(data, &mut out);
            assert_eq!(out, encoded.as_bytes());
        }
    }
}
