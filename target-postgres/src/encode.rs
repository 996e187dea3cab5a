//! JSON values → PostgreSQL COPY text, checked on the way.
//!
//! COPY's text format is one line per row, columns separated by tabs, `\N` for NULL, and
//! backslash escapes for backslash, tab, newline and carriage return. Every value is checked before
//! it is written, so that a value PostgreSQL would refuse (a NUL byte, `infinity`, a number wider
//! than its `numeric(p,s)`) is caught here, named, and rejected alone, instead of failing the
//! whole COPY. Values PostgreSQL accepts are written as the tap sent them: the server does the
//! parsing, and numbers keep every digit.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use crate::column_type::{ColumnType, Family};
use crate::json::{Json, Kind};

/// COPY's NULL.
pub const NULL: &[u8] = b"\\N";

/// Why a value cannot be stored: what was expected and what kind of value was found, never the
/// value itself (it may be personal data, and the reason is logged and stored in `_sdc_rejected`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("text contains a NUL byte, which PostgreSQL cannot store")]
    NulByte,
    #[error("a key property must not be null")]
    NullKey,
    /// A string that is not what its column reads: `date-time`, `hex string`, ….
    #[error("not a valid {0}")]
    Malformed(&'static str),
    #[error("a number out of range for {0}")]
    NumberOutOfRange(String),
    /// `infinity`, year 0 or BC: a `date-time` or `date` PostgreSQL would not keep as sent.
    #[error("a {0} outside the years 1 to 9999")]
    YearOutOfRange(&'static str),
    /// A `date-time` or `time` that PostgreSQL would round.
    #[error("a {0} finer than PostgreSQL's microsecond precision")]
    FinerThanMicroseconds(&'static str),
    #[error("a string of {chars} characters is longer than {sql_type} allows")]
    TooLong { chars: usize, sql_type: String },
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
}

/// The column family a value naturally belongs to, for a property whose columns cannot hold it.
pub fn natural_family(value: Json<'_>) -> Option<Family> {
    Some(match value.kind() {
        Kind::Null => return None,
        Kind::Bool => Family::Boolean,
        Kind::Number if integer_i64(value.raw()).is_some() => Family::BigInt,
        Kind::Number => Family::Numeric,
        Kind::String => Family::Text,
        Kind::Array | Kind::Object => Family::Json,
    })
}

/// Which of a property's columns (by family, in order of preference) takes `value`.
pub fn accepts(family: Family, value: Json<'_>) -> bool {
    match (family, value.kind()) {
        (_, Kind::Null) => false,
        (Family::Json, _) => true,
        (Family::Boolean, Kind::Bool) => true,
        (Family::BigInt, Kind::Number) => integer_i64(value.raw()).is_some(),
        (Family::Numeric, Kind::Number) => true,
        (Family::Double, Kind::Number) => !is_wide_integer(value.raw()),
        (
            Family::Text | Family::Timestamp | Family::Date | Family::Time | Family::Bytes,
            Kind::String,
        ) => true,
        (Family::Array, Kind::Array) => true,
        _ => false,
    }
}

fn integer_i64(text: &str) -> Option<i64> {
    if text.contains(['.', 'e', 'E']) {
        return None;
    }
    text.parse().ok()
}

/// An integer beyond what a double holds exactly.
fn is_wide_integer(text: &str) -> bool {
    !text.contains(['.', 'e', 'E']) && text.trim_start_matches('-').len() > 15
}

/// A JSON string's text. A string whose escapes are not valid Unicode (a lone surrogate such as
/// `\ud800`, which UTF-8 cannot hold) is named as such, not as a type mismatch.
fn string_of(value: Json<'_>) -> Result<Cow<'_, str>, InvalidValue> {
    value.as_str().ok_or(InvalidValue::Malformed(
        "string: it holds an escape that is not Unicode text (a lone surrogate?)",
    ))
}

/// A value checked for its column: what COPY writes, in either format (text here, binary in
/// `binary`).
#[derive(Debug)]
pub enum Checked<'a> {
    Null,
    /// JSON text, without NUL.
    Json(&'a str),
    Bool(bool),
    /// A JSON number that fits the column.
    Number(&'a str),
    /// Text that fits the column (NUL is refused by the writers).
    Text(Cow<'a, str>),
    Timestamp(Cow<'a, str>, Timestamp),
    /// `YYYY-MM-DD`, the date part of the value.
    Date(Cow<'a, str>, NaiveDate),
    Time(Cow<'a, str>),
    Hex(Cow<'a, str>),
    /// An array literal.
    Array(String),
}

/// Checks `value` for a column of `column_type`.
pub fn check_value<'a>(
    column_type: &ColumnType,
    value: Json<'a>,
) -> Result<Checked<'a>, InvalidValue> {
    let wrong_type = || InvalidValue::WrongType {
        expected: expected_name(column_type.family),
        found: value.kind().name(),
    };
    Ok(match (column_type.family, value.kind()) {
        (_, Kind::Null) => Checked::Null,
        (Family::Json, _) => {
            if value.contains_nul() {
                return Err(InvalidValue::NulByte);
            }
            Checked::Json(value.raw())
        }
        (Family::Boolean, Kind::Bool) => Checked::Bool(value.as_bool() == Some(true)),
        (Family::BigInt | Family::Numeric | Family::Double, Kind::Number) => {
            let number = value.raw();
            check_number(number, column_type)?;
            Checked::Number(number)
        }
        (Family::Text, Kind::String) => {
            let text = string_of(value)?;
            if let Some(limit) = column_type.max_chars()
                // Bytes bound characters from above: count only when it could matter.
                && text.len() > limit
            {
                let chars = text.chars().count();
                if chars > limit {
                    return Err(InvalidValue::TooLong {
                        chars,
                        sql_type: column_type.sql.clone(),
                    });
                }
            }
            Checked::Text(text)
        }
        (Family::Timestamp, Kind::String) => {
            let text = string_of(value)?;
            let timestamp = check_timestamp(&text)?;
            Checked::Timestamp(text, timestamp)
        }
        (Family::Date, Kind::String) => {
            let text = string_of(value)?;
            let (date, parsed) = date_part(&text)?;
            let len = date.len();
            match text {
                Cow::Borrowed(text) => Checked::Date(Cow::Borrowed(&text[..len]), parsed),
                Cow::Owned(text) => Checked::Date(Cow::Owned(text[..len].to_owned()), parsed),
            }
        }
        (Family::Time, Kind::String) => {
            let text = string_of(value)?;
            check_time(&text)?;
            Checked::Time(text)
        }
        (Family::Bytes, Kind::String) => {
            let hex = string_of(value)?;
            if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(InvalidValue::Malformed("hex string"));
            }
            Checked::Hex(hex)
        }
        (Family::Array, Kind::Array) => {
            let element_type = column_type.sql.trim_end_matches("[]");
            let mut literal = String::new();
            write_array_literal(&mut literal, value, element_type)?;
            Checked::Array(literal)
        }
        _ => return Err(wrong_type()),
    })
}

/// Appends `value` as a COPY text field for a column of `column_type`.
pub fn write_value(
    out: &mut Vec<u8>,
    column_type: &ColumnType,
    value: Json<'_>,
) -> Result<(), InvalidValue> {
    write_checked(out, check_value(column_type, value)?)
}

/// Appends a checked value as a COPY text field.
pub fn write_checked(out: &mut Vec<u8>, value: Checked<'_>) -> Result<(), InvalidValue> {
    match value {
        Checked::Null => out.extend_from_slice(NULL),
        Checked::Json(text) | Checked::Time(Cow::Borrowed(text)) => write_text(out, text)?,
        Checked::Bool(value) => out.push(if value { b't' } else { b'f' }),
        Checked::Number(number) => out.extend_from_slice(number.as_bytes()),
        Checked::Text(text) | Checked::Timestamp(text, _) | Checked::Date(text, _) => {
            write_text(out, &text)?;
        }
        Checked::Time(Cow::Owned(text)) => write_text(out, &text)?,
        Checked::Hex(hex) => {
            // `\x` introduces bytea hex input; the backslash is doubled for COPY.
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex.as_bytes());
        }
        Checked::Array(literal) => write_text(out, &literal)?,
    }
    Ok(())
}

/// Appends `text` with COPY's escapes. A NUL byte is refused.
pub fn write_text(out: &mut Vec<u8>, text: &str) -> Result<(), InvalidValue> {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            0 => return Err(InvalidValue::NulByte),
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        out.extend_from_slice(escaped);
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    Ok(())
}

fn check_number(number: &str, column_type: &ColumnType) -> Result<(), InvalidValue> {
    let out_of_range = || InvalidValue::NumberOutOfRange(column_type.sql.clone());
    match column_type.family {
        Family::BigInt => {
            let value = integer_i64(number).ok_or_else(out_of_range)?;
            // A narrow column (smallint, integer) holds what the source type holds; a record the
            // SCHEMA's bounds did not check (validation off) must not fail the whole batch.
            if column_type.sql != "bigint"
                && let Some((minimum, maximum)) = column_type.integer_range()
                && !(minimum..=maximum).contains(&value)
            {
                return Err(out_of_range());
            }
        }
        Family::Double => {
            let parsed: f64 = number.parse().map_err(|_| out_of_range())?;
            let finite = if column_type.sql == "real" {
                (parsed as f32).is_finite()
            } else {
                parsed.is_finite()
            };
            if !finite {
                return Err(out_of_range());
            }
        }
        _ => {
            let (integer_digits, fraction_digits) = decimal_digits(number);
            let (max_integer, max_fraction) = match column_type.numeric_limits() {
                Some((precision, scale)) => (precision.saturating_sub(scale), scale),
                // PostgreSQL's own limits for an unconstrained numeric.
                None => (131_072, 16_383),
            };
            if integer_digits > max_integer || fraction_digits > max_fraction {
                return Err(out_of_range());
            }
        }
    }
    Ok(())
}

/// Significant digits before and after the decimal point of a JSON number, exponent applied.
pub(crate) fn decimal_digits(text: &str) -> (u32, u32) {
    let unsigned = text.trim_start_matches('-');
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().unwrap_or(i64::MAX)),
        None => (unsigned, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{integer}{fraction}");
    let leading_zeros = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0');
    if significant.is_empty() {
        return (0, 0);
    }
    // Position of the decimal point within `digits`, after the exponent moves it.
    let point = integer.len() as i64 + exponent;
    let first = leading_zeros as i64;
    let last = first + significant.len() as i64;
    let integer_digits = (point - first).clamp(0, i64::from(u32::MAX));
    let fraction_digits = (last - point).clamp(0, i64::from(u32::MAX));
    (integer_digits as u32, fraction_digits as u32)
}

/// A checked `date-time`: the date and time as written, and its offset from UTC when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub local: NaiveDateTime,
    pub offset_seconds: Option<i32>,
}

/// Accepts what PostgreSQL's `timestamptz` input accepts from taps: RFC 3339, with a space or `T`,
/// with or without a zone (UTC then). Refuses what it cannot store or would change: `infinity`,
/// year 0 and BC dates.
pub fn check_timestamp(text: &str) -> Result<Timestamp, InvalidValue> {
    if finer_than_microseconds(text, "YYYY-MM-DDTHH:MM:SS".len()) {
        return Err(InvalidValue::FinerThanMicroseconds("date-time"));
    }
    let with_offset = |t: DateTime<chrono::FixedOffset>| Timestamp {
        local: t.naive_local(),
        offset_seconds: Some(t.offset().local_minus_utc()),
    };
    let without_offset = |local| Timestamp {
        local,
        offset_seconds: None,
    };
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(with_offset)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z").map(with_offset))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(without_offset)
        })
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(without_offset)
        });
    match parsed {
        Ok(timestamp) if (1..=9999).contains(&chrono::Datelike::year(&timestamp.utc())) => {
            Ok(timestamp)
        }
        Ok(_) => Err(InvalidValue::YearOutOfRange("date-time")),
        Err(_) if text.contains("infinity") || text.ends_with(" BC") => {
            Err(InvalidValue::YearOutOfRange("date-time"))
        }
        Err(_) => Err(InvalidValue::Malformed("date-time")),
    }
}

impl Timestamp {
    /// The instant, for `timestamptz`: a value without offset is UTC (the target's session zone).
    pub fn utc(&self) -> NaiveDateTime {
        let offset = chrono::TimeDelta::seconds(self.offset_seconds.unwrap_or(0).into());
        self.local - offset
    }
}

/// Whether the fraction of a second that starts at `seconds_end` has a non-zero digit beyond the
/// sixth: PostgreSQL would round it (`23:59:59.9999999` becomes the next day), which alters the
/// value, so it does not fit.
fn finer_than_microseconds(text: &str, seconds_end: usize) -> bool {
    let Some(fraction) = text
        .get(seconds_end..)
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return false;
    };
    let digits = fraction.len()
        - fraction
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    fraction[..digits]
        .bytes()
        .skip(6)
        .any(|digit| digit != b'0')
}

/// `YYYY-MM-DD`, also when sent as a midnight date-time (Singer taps often do): the date's text
/// and the date.
fn date_part(text: &str) -> Result<(&str, NaiveDate), InvalidValue> {
    let date = text.get(..10).unwrap_or(text);
    let rest = text.get(10..).unwrap_or("");
    let midnight = rest.is_empty()
        || (rest.len() > 9 && rest[1..].starts_with("00:00:00") && {
            let tail = rest[9..].trim_start_matches(['.', '0']);
            tail.is_empty() || tail == "Z" || tail.starts_with('+') || tail.starts_with('-')
        });
    match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(parsed) if midnight && (1..=9999).contains(&chrono::Datelike::year(&parsed)) => {
            Ok((date, parsed))
        }
        Ok(_) if midnight => Err(InvalidValue::YearOutOfRange("date")),
        _ if text.contains("infinity") || text.ends_with(" BC") => {
            Err(InvalidValue::YearOutOfRange("date"))
        }
        _ => Err(InvalidValue::Malformed("date")),
    }
}

fn check_time(text: &str) -> Result<(), InvalidValue> {
    if finer_than_microseconds(text, "HH:MM:SS".len()) {
        return Err(InvalidValue::FinerThanMicroseconds("time"));
    }
    if text == "24:00:00" || NaiveTime::parse_from_str(text, "%H:%M:%S%.f").is_ok() {
        Ok(())
    } else {
        Err(InvalidValue::Malformed("time"))
    }
}

/// A PostgreSQL array literal: `{1,NULL,"a \"b\""}`; nested arrays for more dimensions.
fn write_array_literal(
    out: &mut String,
    array: Json<'_>,
    element_type: &str,
) -> Result<(), InvalidValue> {
    out.push('{');
    for (index, element) in array.as_array().unwrap_or_default().into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        match element.kind() {
            Kind::Null => out.push_str("NULL"),
            Kind::Array if element_type != "jsonb" => {
                write_array_literal(out, element, element_type)?;
            }
            Kind::Bool => out.push_str(if element.as_bool() == Some(true) {
                "t"
            } else {
                "f"
            }),
            Kind::Number => out.push_str(element.raw()),
            Kind::String => {
                let text = element.as_str().unwrap_or_default();
                quote_array_element(out, &text)?;
            }
            Kind::Array | Kind::Object => {
                if element.contains_nul() {
                    return Err(InvalidValue::NulByte);
                }
                quote_array_element(out, element.raw())?;
            }
        }
    }
    out.push('}');
    Ok(())
}

fn quote_array_element(out: &mut String, text: &str) -> Result<(), InvalidValue> {
    if text.contains('\0') {
        return Err(InvalidValue::NulByte);
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(())
}

fn expected_name(family: Family) -> &'static str {
    match family {
        Family::Boolean => "a boolean",
        Family::BigInt | Family::Numeric | Family::Double => "a number",
        Family::Array => "an array",
        Family::Json => "a JSON value",
        _ => "a string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;
    use serde_json::{Value, json};

    fn encode(sql: &str, value: Value) -> Result<String, InvalidValue> {
        let column_type = ColumnType::new(sql, Family::of_sql_type(sql));
        let raw = serde_json::value::to_raw_value(&value).unwrap();
        let mut out = Vec::new();
        write_value(&mut out, &column_type, Json::from(&*raw))?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn number(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn text_is_escaped_and_nul_refused() {
        assert_eq!(
            encode("text", json!("a\tb\nc\\d\re")).unwrap(),
            "a\\tb\\nc\\\\d\\re"
        );
        assert_eq!(encode("text", json!("naïve ☃")).unwrap(), "naïve ☃");
        assert_eq!(encode("text", json!("a\0b")), Err(InvalidValue::NulByte));
        assert_eq!(
            encode("jsonb", json!({"a": "x\0"})),
            Err(InvalidValue::NulByte)
        );
        assert_eq!(encode("text", Value::Null).unwrap(), "\\N");
        assert_eq!(
            encode("character varying(3)", json!("abcdé"))
                .unwrap_err()
                .to_string(),
            "a string of 5 characters is longer than character varying(3) allows"
        );
        assert_eq!(encode("character varying(3)", json!("äbc")).unwrap(), "äbc");
    }

    /// The reason is logged and stored: it says what the value is and what was expected, never
    /// what the value holds.
    #[test]
    fn reasons_never_hold_the_value() {
        let secret = "secret-value-1234";
        let cases = [
            ("character varying(5)", json!(secret)),
            ("timestamp with time zone", json!(secret)),
            (
                "timestamp with time zone",
                json!(format!("{secret} infinity")),
            ),
            ("date", json!(secret)),
            ("time without time zone", json!(secret)),
            ("bytea", json!(secret)),
            ("boolean", json!(secret)),
            ("smallint", number("12341234")),
            ("numeric(5,2)", number("12341234.5")),
        ];
        for (sql, value) in cases {
            let reason = encode(sql, value.clone()).expect_err(sql).to_string();
            assert!(!reason.contains("1234"), "{sql} {value}: {reason}");
        }
        assert_eq!(
            encode("timestamp with time zone", json!(secret))
                .unwrap_err()
                .to_string(),
            "not a valid date-time"
        );
        assert_eq!(
            encode("smallint", number("12341234"))
                .unwrap_err()
                .to_string(),
            "a number out of range for smallint"
        );
    }

    #[test]
    fn a_lone_surrogate_is_named() {
        // Valid JSON syntax, but no Unicode text: the borrowed reader passes it on as written.
        let raw = RawValue::from_string(r#""a\ud800b""#.to_owned()).unwrap();
        let mut out = Vec::new();
        let err = write_value(
            &mut out,
            &ColumnType::new("text", Family::Text),
            Json::from(&*raw),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not Unicode text"), "{err}");
    }

    #[test]
    fn time_finer_than_microseconds_does_not_fit() {
        assert!(check_timestamp("1969-12-31T23:59:59.999999Z").is_ok());
        assert!(check_timestamp("1969-12-31T23:59:59.999999000Z").is_ok());
        assert!(matches!(
            check_timestamp("1969-12-31T23:59:59.9999999Z"),
            Err(InvalidValue::FinerThanMicroseconds(_))
        ));
        assert!(matches!(
            check_timestamp("2026-01-01 00:00:00.1234567891+00:00"),
            Err(InvalidValue::FinerThanMicroseconds(_))
        ));
        assert!(check_time("10:00:00.5").is_ok());
        assert!(matches!(
            check_time("10:00:00.0000001"),
            Err(InvalidValue::FinerThanMicroseconds(_))
        ));
    }

    #[test]
    fn narrow_integer_columns_refuse_what_does_not_fit() {
        assert_eq!(encode("smallint", number("-32768")).unwrap(), "-32768");
        assert!(matches!(
            encode("smallint", number("32768")),
            Err(InvalidValue::NumberOutOfRange(_))
        ));
        assert!(matches!(
            encode("integer", number("2147483648")),
            Err(InvalidValue::NumberOutOfRange(_))
        ));
        assert_eq!(
            encode("bigint", number("9223372036854775807")).unwrap(),
            "9223372036854775807"
        );
    }

    #[test]
    fn numbers_keep_their_digits_and_must_fit() {
        assert_eq!(encode("numeric", number("1.10")).unwrap(), "1.10");
        assert_eq!(
            encode("numeric", number("123456789012345678901234567890.5")).unwrap(),
            "123456789012345678901234567890.5"
        );
        assert_eq!(
            encode("numeric(12,2)", number("9999999999.99")).unwrap(),
            "9999999999.99"
        );
        assert_eq!(encode("numeric(12,2)", number("1.50")).unwrap(), "1.50");
        assert!(encode("numeric(12,2)", number("99999999999.5")).is_err());
        assert!(encode("numeric(12,2)", number("1.005")).is_err());
        assert_eq!(encode("numeric(12,2)", number("1.2e3")).unwrap(), "1.2e+3");
        assert_eq!(
            encode("bigint", number("-9223372036854775808")).unwrap(),
            "-9223372036854775808"
        );
        assert!(encode("bigint", number("9223372036854775808")).is_err());
        assert!(encode("double precision", number("1e400")).is_err());
        assert!(encode("real", number("1e39")).is_err());
        assert_eq!(encode("double precision", number("0.1")).unwrap(), "0.1");
        assert_eq!(decimal_digits("0.00012"), (0, 5));
        assert_eq!(decimal_digits("1200"), (4, 0));
        assert_eq!(decimal_digits("1.5e-3"), (0, 4));
        assert_eq!(decimal_digits("0"), (0, 0));
    }

    #[test]
    fn temporal_values() {
        assert!(
            encode(
                "timestamp with time zone",
                json!("2026-11-21T10:00:00.123456Z")
            )
            .is_ok()
        );
        assert!(
            encode(
                "timestamp with time zone",
                json!("2026-11-21T10:00:00+05:30")
            )
            .is_ok()
        );
        assert!(encode("timestamp with time zone", json!("2026-11-21 10:00:00")).is_ok());
        assert!(matches!(
            encode("timestamp with time zone", json!("infinity")),
            Err(InvalidValue::YearOutOfRange("date-time"))
        ));
        assert!(matches!(
            encode("timestamp with time zone", json!("0000-01-01T00:00:00Z")),
            Err(InvalidValue::YearOutOfRange("date-time"))
        ));
        assert!(matches!(
            encode("timestamp with time zone", json!("yesterday")),
            Err(InvalidValue::Malformed(..))
        ));
        assert_eq!(encode("date", json!("2026-11-21")).unwrap(), "2026-11-21");
        assert_eq!(
            encode("date", json!("2026-11-21T00:00:00+00:00")).unwrap(),
            "2026-11-21"
        );
        assert!(encode("date", json!("2026-11-21T10:00:00Z")).is_err());
        assert!(encode("time without time zone", json!("23:59:59.5")).is_ok());
        assert!(encode("time without time zone", json!("25:00")).is_err());
    }

    #[test]
    fn other_types() {
        assert_eq!(encode("boolean", json!(true)).unwrap(), "t");
        assert_eq!(encode("bytea", json!("00ff")).unwrap(), "\\\\x00ff");
        assert!(encode("bytea", json!("0g")).is_err());
        assert_eq!(
            encode("jsonb", json!({"a": [1, "x\ty"]})).unwrap(),
            r#"{"a":[1,"x\\ty"]}"#
        );
        assert_eq!(
            encode("integer[]", json!([[1, 2], [null, 4]])).unwrap(),
            "{{1,2},{NULL,4}}"
        );
        assert_eq!(
            encode("text[]", json!(["a\"b", "c\\d"])).unwrap(),
            r#"{"a\\"b","c\\\\d"}"#
        );
        assert!(matches!(
            encode("boolean", json!("yes")),
            Err(InvalidValue::WrongType { .. })
        ));
    }

    #[test]
    fn routing() {
        let family = |text: &str| {
            let raw = RawValue::from_string(text.to_owned()).unwrap();
            natural_family(Json::from(&*raw))
        };
        let accepted = |family: Family, text: &str| {
            let raw = RawValue::from_string(text.to_owned()).unwrap();
            accepts(family, Json::from(&*raw))
        };
        assert!(accepted(Family::BigInt, "12"));
        assert!(!accepted(Family::BigInt, "12.5"));
        assert!(!accepted(Family::BigInt, "99999999999999999999"));
        assert!(accepted(Family::Numeric, "99999999999999999999"));
        assert_eq!(family("99999999999999999999"), Some(Family::Numeric));
        assert_eq!(family("\"x\""), Some(Family::Text));
        assert!(accepted(Family::Json, r#"{"a": 1}"#));
    }
}
