//! Rows-event values → JSON exactly as the FULL_TABLE path writes them.
//!
//! A rows event holds binary values; the FULL_TABLE path reads the server's text. Rather than a
//! second set of JSON conversions, each binary value is first written as the text the server
//! would have sent for it over the text protocol (in the tap's UTC session), and that text goes
//! through the same [`RowEncoder`](common::sync::RowEncoder) and [`ValueKind`] encodings as a
//! FULL_TABLE row. What the binary form does not say is taken from the column's definition in
//! `information_schema`: signedness (MariaDB logs no signedness), ENUM and SET member names,
//! BINARY padding, TIME's fractional digits.
//!
//! Floating point text follows the server's own printing: FLOAT rounded to 6 significant digits,
//! DOUBLE the shortest digits that read back the same, positional from 1e-15 up to 1e15 (and
//! beyond while digits remain after the point), exponent form otherwise (`1e15`, `1.5e-16`).

use common::sync::{NotText, SourceRow};
use mysql::Value;
use mysql::binlog::value::BinlogValue;

use crate::column_type::{MysqlType, ValueKind};

/// A column as the binlog reader decodes it.
#[derive(Debug, Clone)]
pub struct BinlogColumn {
    pub name: String,
    pub sql: MysqlType,
    pub kind: ValueKind,
    pub nullable: bool,
    shape: Shape,
}

/// What the column's definition adds to the binary value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Integer {
        unsigned: bool,
    },
    Year,
    Decimal,
    Date,
    DateTime,
    /// UTC seconds in the binlog.
    Timestamp,
    Time {
        decimals: usize,
    },
    Enum(Vec<String>),
    Set(Vec<String>),
    /// `binary(n)`: padded with zero bytes to `n`, as the server sends it.
    FixedBinary(usize),
    /// Spatial values are WKB in the binlog, WKT in the FULL_TABLE path.
    Geometry,
    Other,
}

/// A value that is not what its column promises, or a form this reader cannot decode. Says
/// what, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub &'static str);

impl BinlogColumn {
    pub fn new(name: String, sql: MysqlType, nullable: bool, tinyint1_as_boolean: bool) -> Self {
        let kind = sql.value_kind(tinyint1_as_boolean);
        let column_type = sql.column_type.to_ascii_lowercase();
        let shape = match sql.data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Shape::Integer {
                unsigned: column_type.contains("unsigned"),
            },
            "year" => Shape::Year,
            "decimal" | "numeric" => Shape::Decimal,
            "date" => Shape::Date,
            "datetime" => Shape::DateTime,
            "timestamp" => Shape::Timestamp,
            "time" => Shape::Time {
                decimals: length(&column_type).unwrap_or(0),
            },
            "enum" => Shape::Enum(members(&sql.column_type)),
            "set" => Shape::Set(members(&sql.column_type)),
            "binary" => Shape::FixedBinary(length(&column_type).unwrap_or(1)),
            _ if kind == ValueKind::Geometry => Shape::Geometry,
            _ => Shape::Other,
        };
        Self {
            name,
            sql,
            kind,
            nullable,
            shape,
        }
    }

    /// Why the binlog reader cannot give this column's values as the FULL_TABLE path does.
    pub fn unsupported(&self) -> Option<&'static str> {
        (self.shape == Shape::Geometry)
            .then_some("spatial values are not decoded from the binlog yet (deselect the column)")
    }

    /// Appends the server's text for `value`; `Ok(false)` for NULL (nothing appended).
    pub fn write_text(
        &self,
        value: &BinlogValue<'_>,
        out: &mut Vec<u8>,
    ) -> Result<bool, ValueError> {
        let value = match value {
            BinlogValue::Value(Value::NULL) => return Ok(false),
            BinlogValue::Value(value) => value,
            BinlogValue::Jsonb(json) => {
                super::json::write_json(json, out)?;
                return Ok(true);
            }
            BinlogValue::JsonDiff(_) => {
                return Err(ValueError(
                    "a partial JSON update (binlog_row_value_options = PARTIAL_JSON) has no whole \
                     value: set binlog_row_value_options = ''",
                ));
            }
        };
        match (&self.shape, value) {
            (Shape::Enum(members), Value::Int(index)) => {
                // 1-based; 0 is the empty string MySQL stores for a value it did not know.
                let member = usize::try_from(*index)
                    .ok()
                    .and_then(|index| index.checked_sub(1))
                    .and_then(|index| members.get(index));
                out.extend_from_slice(member.map_or("", String::as_str).as_bytes());
            }
            (Shape::Integer { unsigned: true }, Value::Int(signed)) => {
                write_display(out, self.unsigned(*signed));
            }
            (Shape::Integer { unsigned: false }, Value::Int(number))
                if self.sql.data_type == "mediumint" =>
            {
                // The driver reads a 3-byte integer without extending its sign.
                write_display(out, (((*number as u32) << 8) as i32) >> 8);
            }
            (Shape::Timestamp, Value::Int(number)) => {
                write_timestamp(out, *number, 0)?;
            }
            (_, Value::Int(number)) => write_display(out, number),
            (_, Value::UInt(number)) => write_display(out, number),
            (_, Value::Float(number)) => out.extend_from_slice(float_text(*number).as_bytes()),
            (_, Value::Double(number)) => out.extend_from_slice(double_text(*number).as_bytes()),
            (Shape::Date, Value::Date(year, month, day, ..)) => {
                out.extend_from_slice(format!("{year:04}-{month:02}-{day:02}").as_bytes());
            }
            (_, Value::Date(year, month, day, hour, minute, second, micros)) => {
                out.extend_from_slice(
                    format!(
                        "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}"
                    )
                    .as_bytes(),
                );
            }
            (shape, Value::Time(negative, days, hours, minutes, seconds, micros)) => {
                let decimals = match shape {
                    Shape::Time { decimals } => (*decimals).min(6),
                    _ => 0,
                };
                write_time(
                    out,
                    *negative,
                    u64::from(*days) * 24 + u64::from(*hours),
                    (*minutes, *seconds),
                    *micros,
                    decimals,
                );
            }
            (shape, Value::Bytes(bytes)) => self.write_bytes(shape, bytes, out)?,
            (_, Value::NULL) => return Ok(false),
        }
        Ok(true)
    }

    fn unsigned(&self, signed: i64) -> u64 {
        // The binlog's integer is read as signed when the event does not say otherwise; its
        // width is the column's.
        let bits = match self.sql.data_type.as_str() {
            "tinyint" => 8,
            "smallint" => 16,
            "mediumint" => 24,
            "int" | "integer" => 32,
            _ => 64,
        };
        if bits == 64 {
            signed as u64
        } else {
            (signed as u64) & ((1_u64 << bits) - 1)
        }
    }

    fn write_bytes(
        &self,
        shape: &Shape,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ValueError> {
        match shape {
            Shape::Year => {
                // The binlog's YEAR is years since 1900; the zero year reads as 1900.
                out.extend_from_slice(if bytes == b"1900" { b"0000" } else { bytes });
            }
            Shape::Decimal => {
                let text =
                    std::str::from_utf8(bytes).map_err(|_| ValueError("a decimal is not text"))?;
                out.extend_from_slice(decimal_text(text).as_bytes());
            }
            Shape::Timestamp => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| ValueError("a timestamp is not text"))?;
                let (seconds, micros) = text.split_once('.').unwrap_or((text, "0"));
                let seconds = seconds
                    .parse()
                    .map_err(|_| ValueError("a timestamp is not a number of seconds"))?;
                let micros = micros
                    .parse()
                    .map_err(|_| ValueError("a timestamp's fraction is not a number"))?;
                write_timestamp(out, seconds, micros)?;
            }
            Shape::Set(members) => {
                let mut first = true;
                for (index, member) in members.iter().enumerate() {
                    let set = bytes
                        .get(index / 8)
                        .is_some_and(|byte| byte & (1 << (index % 8)) != 0);
                    if set {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        out.extend_from_slice(member.as_bytes());
                    }
                }
            }
            Shape::FixedBinary(length) => {
                out.extend_from_slice(bytes);
                out.resize(out.len() + length.saturating_sub(bytes.len()), 0);
            }
            _ => out.extend_from_slice(bytes),
        }
        Ok(())
    }
}

fn write_display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _infallible = write!(out, "{value}");
}

/// `0` is the zero timestamp (`0000-00-00 00:00:00`); other seconds are a UTC instant.
fn write_timestamp(out: &mut Vec<u8>, seconds: i64, micros: u32) -> Result<(), ValueError> {
    if seconds == 0 && micros == 0 {
        out.extend_from_slice(b"0000-00-00 00:00:00");
        return Ok(());
    }
    let instant = chrono::DateTime::from_timestamp(seconds, micros * 1000)
        .ok_or(ValueError("a timestamp is out of range"))?;
    write_display(out, instant.format("%Y-%m-%d %H:%M:%S%.6f"));
    Ok(())
}

/// `[-]HH:MM:SS[.fraction]`, hours beyond 24 (and up to 838) included, with the column's digits
/// of fraction.
fn write_time(
    out: &mut Vec<u8>,
    negative: bool,
    hours: u64,
    (minutes, seconds): (u8, u8),
    micros: u32,
    decimals: usize,
) {
    if negative {
        out.push(b'-');
    }
    write_display(out, format_args!("{hours:02}:{minutes:02}:{seconds:02}"));
    if decimals > 0 {
        let digits = format!("{micros:06}");
        out.push(b'.');
        out.extend_from_slice(&digits.as_bytes()[..decimals]);
    }
}

/// The digits in `type(n)`.
fn length(column_type: &str) -> Option<usize> {
    let inside = column_type.split_once('(')?.1.split_once(')')?.0;
    inside.trim().parse().ok()
}

/// The members of `enum('a','b')` or `set('a','b')`, quotes undone (`''` is one quote).
fn members(column_type: &str) -> Vec<String> {
    let Some((_, list)) = column_type.split_once('(') else {
        return Vec::new();
    };
    let mut members = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '\'') => quoted = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                current.push('\'');
            }
            (true, '\'') => {
                quoted = false;
                members.push(std::mem::take(&mut current));
            }
            (true, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (true, c) => current.push(c),
            (false, _) => {}
        }
    }
    members
}

/// A decimal's digits without the leading zeros of its whole part (`-000123.50` → `-123.50`).
fn decimal_text(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", text),
    };
    let trimmed = digits.trim_start_matches('0');
    let digits = if trimmed.is_empty() || trimmed.starts_with('.') {
        &digits[digits.len() - trimmed.len() - 1..]
    } else {
        trimmed
    };
    format!("{sign}{digits}")
}

/// A FLOAT as the server prints it: 6 significant digits (rounded half to even).
pub fn float_text(value: f32) -> String {
    real_text(&format!("{:.5e}", f64::from(value)))
}

/// A DOUBLE as the server prints it: the shortest digits that read back the same.
pub fn double_text(value: f64) -> String {
    let shortest = format!("{value:e}");
    // Of the shortest forms, the server prints the one nearest the exact value (ties to even);
    // Rust's may be the other one when two round-trip (1968780416481613.25 → …613.2, not .3).
    let digits = shortest.split('e').next().map_or(1, |mantissa| {
        mantissa.bytes().filter(u8::is_ascii_digit).count()
    });
    let nearest = format!("{value:.*e}", digits.saturating_sub(1));
    if nearest.parse::<f64>() == Ok(value) {
        real_text(&nearest)
    } else {
        real_text(&shortest)
    }
}

/// Rust's scientific form (`-1.2345e-7`) → the server's choice of positional or exponent form.
fn real_text(scientific: &str) -> String {
    let (negative, scientific) = match scientific.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, scientific),
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return "0".into();
    }
    let length = digits.len() as i32;
    let point = exponent + 1;
    let positional = exponent >= -15 && (exponent <= 14 || point < length);
    let mut text = String::with_capacity(digits.len() + 24);
    if negative {
        text.push('-');
    }
    if !positional {
        text.push_str(&digits[..1]);
        if length > 1 {
            text.push('.');
            text.push_str(&digits[1..]);
        }
        text.push('e');
        text.push_str(&exponent.to_string());
    } else if point <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', (-point) as usize));
        text.push_str(digits);
    } else if point < length {
        text.push_str(&digits[..point as usize]);
        text.push('.');
        text.push_str(&digits[point as usize..]);
    } else {
        text.push_str(digits);
        text.extend(std::iter::repeat_n('0', (point - length) as usize));
    }
    text
}

/// One rows-event row as the server's text, field by field, in the columns' order.
#[derive(Debug, Default)]
pub struct TextRow {
    bytes: Vec<u8>,
    fields: Vec<Option<(usize, usize)>>,
}

impl TextRow {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
    }

    /// Appends the next field: `value` written by `column`, or NULL for `None`.
    pub fn push(
        &mut self,
        column: &BinlogColumn,
        value: Option<&BinlogValue<'_>>,
    ) -> Result<(), ValueError> {
        let start = self.bytes.len();
        let field = match value {
            Some(value) if column.write_text(value, &mut self.bytes)? => {
                Some((start, self.bytes.len()))
            }
            _ => None,
        };
        self.fields.push(field);
        Ok(())
    }
}

impl SourceRow for TextRow {
    fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText> {
        Ok(self
            .fields
            .get(index)
            .copied()
            .flatten()
            .map(|(start, end)| &self.bytes[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(data_type: &str, column_type: &str) -> BinlogColumn {
        let sql = MysqlType {
            data_type: data_type.into(),
            column_type: column_type.into(),
            is_json: false,
        };
        BinlogColumn::new("c".into(), sql, true, true)
    }

    fn text(column: &BinlogColumn, value: Value) -> String {
        let mut out = Vec::new();
        assert!(
            column
                .write_text(&BinlogValue::Value(value), &mut out)
                .unwrap()
        );
        String::from_utf8(out).unwrap()
    }

    /// Each pair was read from MariaDB 10.11 (`select` of the stored value over the text
    /// protocol).
    #[test]
    #[allow(clippy::excessive_precision)] // The values as they were written to the server.
    fn doubles_print_as_the_server_prints_them() {
        let cases = [
            (0.1, "0.1"),
            (1e-15, "0.000000000000001"),
            (1e-16, "1e-16"),
            (1.5e-15, "0.0000000000000015"),
            (1.2345678901234567e-15, "0.0000000000000012345678901234568"),
            (1e14, "100000000000000"),
            (1e15, "1e15"),
            (1.5e15, "1.5e15"),
            (1234567890123456.0, "1.234567890123456e15"),
            (1234567890123456.5, "1234567890123456.5"),
            (1.2345678901234568e16, "1.2345678901234568e16"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (2.5e-300, "2.5e-300"),
            (-1e-15, "-0.000000000000001"),
            (-1e15, "-1e15"),
            (123456789.01234567, "123456789.01234567"),
            (0.0, "0"),
            (-0.0, "0"),
            (1968780416481613.25, "1968780416481613.2"),
        ];
        for (value, server) in cases {
            assert_eq!(double_text(value), server, "{value:e}");
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // The values as they were written to the server.
    fn floats_print_with_six_digits_as_the_server_prints_them() {
        let cases: [(f32, &str); 11] = [
            (123456789.0, "123457000"),
            (0.1, "0.1"),
            (1.17549e-38, "1.17549e-38"),
            (3.40282e38, "3.40282e38"),
            (1e-5, "0.00001"),
            (16777216.0, "16777200"),
            (0.000123456789, "0.000123457"),
            (-1.5e-10, "-0.00000000015"),
            (1234565.0, "1234560"),
            (1234575.0, "1234580"),
            (8388608.5, "8388610"),
        ];
        for (value, server) in cases {
            assert_eq!(float_text(value), server, "{value:e}");
        }
    }

    #[test]
    fn integers_take_their_signedness_from_the_column() {
        assert_eq!(
            text(&column("bigint", "bigint(20) unsigned"), Value::Int(-1)),
            "18446744073709551615"
        );
        assert_eq!(
            text(&column("tinyint", "tinyint(3) unsigned"), Value::Int(-1)),
            "255"
        );
        assert_eq!(
            text(
                &column("mediumint", "mediumint(8) unsigned"),
                Value::Int(-1)
            ),
            "16777215"
        );
        assert_eq!(text(&column("int", "int(11)"), Value::Int(-5)), "-5");
        let medium = column("mediumint", "mediumint(9)");
        assert_eq!(text(&medium, Value::Int(8_388_608)), "-8388608");
        assert_eq!(text(&medium, Value::Int(-1)), "-1");
        assert_eq!(text(&medium, Value::Int(8_388_607)), "8388607");
    }

    #[test]
    fn enums_sets_and_padding_come_from_the_definition() {
        let status = column("enum", "enum('new','it''s','paid')");
        assert_eq!(text(&status, Value::Int(2)), "it's");
        assert_eq!(text(&status, Value::Int(0)), "");
        let set = column("set", "set('a','b','c')");
        assert_eq!(text(&set, Value::Bytes(vec![0b101])), "a,c");
        assert_eq!(text(&set, Value::Bytes(vec![0])), "");
        let binary = column("binary", "binary(3)");
        assert_eq!(text(&binary, Value::Bytes(vec![b'a'])).as_bytes(), b"a\0\0");
        assert_eq!(
            text(&column("year", "year(4)"), Value::Bytes(b"1900".to_vec())),
            "0000"
        );
    }

    #[test]
    fn decimals_lose_only_leading_zeros() {
        assert_eq!(decimal_text("-000123.50"), "-123.50");
        assert_eq!(decimal_text("0000.000"), "0.000");
        assert_eq!(decimal_text("000"), "0");
        assert_eq!(decimal_text("12.5"), "12.5");
    }

    #[test]
    fn temporal_values() {
        let timestamp = column("timestamp", "timestamp(6)");
        assert_eq!(
            text(&timestamp, Value::Bytes(b"1767225600.250000".to_vec())),
            "2026-01-01 00:00:00.250000"
        );
        assert_eq!(
            text(&timestamp, Value::Bytes(b"0".to_vec())),
            "0000-00-00 00:00:00"
        );
        let time = column("time", "time(6)");
        assert_eq!(
            text(&time, Value::Time(true, 34, 22, 59, 59, 0)),
            "-838:59:59.000000"
        );
        assert_eq!(
            text(&column("time", "time"), Value::Time(false, 1, 2, 3, 4, 0)),
            "26:03:04"
        );
        assert_eq!(
            text(
                &column("time", "time(3)"),
                Value::Time(false, 0, 12, 0, 0, 500_000)
            ),
            "12:00:00.500"
        );
        assert_eq!(
            text(
                &column("datetime", "datetime(6)"),
                Value::Date(2026, 11, 21, 10, 0, 0, 123_456)
            ),
            "2026-11-21 10:00:00.123456"
        );
        assert_eq!(
            text(
                &column("date", "date"),
                Value::Date(2026, 11, 21, 0, 0, 0, 0)
            ),
            "2026-11-21"
        );
    }
}
