//! MySQL text-protocol values → JSON, written straight into the record's bytes.
//!
//! Over the text protocol every value arrives as the server's text (or NULL), which is exact:
//! decimals keep their digits, `bigint unsigned` its full range. Zero dates (`0000-00-00`), which
//! no JSON date can hold, become null with one warning per column.

use common::json_text::{is_number, utc_timestamp, write_on_one_line, write_string};
use common::sync::{Mismatch, NotText, SourceRow, ValueEncoding};
use mysql::Value as MysqlValue;

use crate::column_type::ValueKind;

/// A row of the text protocol.
#[derive(Debug, Default)]
pub struct MysqlRow(pub Vec<MysqlValue>);

impl SourceRow for MysqlRow {
    fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText> {
        match self.0.get(index) {
            None | Some(MysqlValue::NULL) => Ok(None),
            Some(MysqlValue::Bytes(bytes)) => Ok(Some(bytes)),
            // The text protocol sends text; other variants would mean a binary-protocol read.
            Some(_) => Err(NotText),
        }
    }
}

/// Why a zero date is sent as null.
const ZERO_DATE: &str = "zero dates (0000-00-00) have no JSON date";

impl ValueEncoding for ValueKind {
    fn encode(&self, text: &[u8], out: &mut Vec<u8>) -> Result<Option<&'static str>, Mismatch> {
        encode_value(self, text, out).map_err(|()| Mismatch)
    }
}

/// Encodes one non-NULL value; `Ok(Some(why))` when it was sent as null because JSON cannot
/// hold it.
fn encode_value(
    kind: &ValueKind,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'static str>, ()> {
    let text = || std::str::from_utf8(bytes).map_err(|_| ());
    match kind {
        ValueKind::Integer { .. } | ValueKind::Decimal | ValueKind::Float => {
            let text = text()?;
            if !is_number(text) {
                return Err(());
            }
            out.extend_from_slice(without_leading_zeros(text).as_bytes());
        }
        ValueKind::TinyintBoolean => {
            out.extend_from_slice(if text()? == "0" { b"false" } else { b"true" });
        }
        ValueKind::BitBoolean => {
            out.extend_from_slice(if bytes.iter().all(|&b| b == 0) {
                b"false"
            } else {
                b"true"
            });
        }
        ValueKind::Bits => {
            if bytes.len() > 8 {
                return Err(());
            }
            let number = bytes
                .iter()
                .fold(0_u64, |acc, &b| (acc << 8) | u64::from(b));
            out.extend_from_slice(number.to_string().as_bytes());
        }
        ValueKind::Text | ValueKind::Time | ValueKind::Geometry => write_string(text()?, out),
        ValueKind::Binary => {
            out.push(b'"');
            for byte in bytes {
                out.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
            out.push(b'"');
        }
        ValueKind::Date => {
            let text = text()?;
            if is_zero_date(text) {
                out.extend_from_slice(b"null");
                return Ok(Some(ZERO_DATE));
            }
            write_string(text, out);
        }
        ValueKind::DateTime => {
            let text = text()?;
            if is_zero_date(text) {
                out.extend_from_slice(b"null");
                return Ok(Some(ZERO_DATE));
            }
            match rfc3339_utc(text) {
                Some(instant) => write_string(&instant, out),
                None => return Err(()),
            }
        }
        // MariaDB's JSON is text as written, line breaks included.
        ValueKind::Json => write_on_one_line(bytes, out),
        ValueKind::Set => {
            let text = text()?;
            out.push(b'[');
            for (position, member) in text.split(',').filter(|m| !m.is_empty()).enumerate() {
                if position > 0 {
                    out.push(b',');
                }
                write_string(member, out);
            }
            out.push(b']');
        }
    }
    Ok(None)
}

/// `0000-00-00`, or a date with a zero month or day, which MySQL allows in legacy modes.
fn is_zero_date(text: &str) -> bool {
    let date = text.get(..10).unwrap_or(text);
    date.starts_with("0000-") || date.get(5..7) == Some("00") || date.get(8..10) == Some("00")
}

/// `2026-11-21 10:00:00.5` → `2026-11-21T10:00:00.500000Z` (the session is in UTC).
fn rfc3339_utc(text: &str) -> Option<String> {
    let (date, time) = text.split_once(' ')?;
    utc_timestamp(date, time)
}

/// MySQL pads YEAR's zero (`0000`) and ZEROFILL columns (`00042`, `001.50`) with leading zeros,
/// which a JSON number may not have.
fn without_leading_zeros(text: &str) -> &str {
    let digits = text.trim_start_matches('0');
    match digits.chars().next() {
        None => "0",
        Some('.' | 'e' | 'E') => &text[text.len() - digits.len() - 1..],
        Some(_) => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_numbers_become_json_numbers() {
        assert_eq!(without_leading_zeros("0000"), "0");
        assert_eq!(without_leading_zeros("00042"), "42");
        assert_eq!(without_leading_zeros("001.50"), "1.50");
        assert_eq!(without_leading_zeros("0.5"), "0.5");
        assert_eq!(without_leading_zeros("-7"), "-7");
        assert_eq!(without_leading_zeros("100"), "100");
    }

    fn encode(kind: ValueKind, text: &[u8]) -> String {
        let mut out = Vec::new();
        encode_value(&kind, text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_encode_exactly() {
        assert_eq!(
            encode(ValueKind::Decimal, b"-12345.678900"),
            "-12345.678900"
        );
        assert_eq!(encode(ValueKind::TinyintBoolean, b"0"), "false");
        assert_eq!(encode(ValueKind::BitBoolean, &[1]), "true");
        assert_eq!(encode(ValueKind::Bits, &[1, 2]), "258");
        assert_eq!(encode(ValueKind::Binary, &[0xde, 0xad]), r#""dead""#);
        assert_eq!(
            encode(ValueKind::DateTime, b"2026-11-21 10:00:00.5"),
            r#""2026-11-21T10:00:00.500000Z""#
        );
        assert_eq!(encode(ValueKind::DateTime, b"0000-00-00 00:00:00"), "null");
        assert_eq!(encode(ValueKind::Date, b"2026-00-15"), "null");
        assert_eq!(encode(ValueKind::Set, b"a,b"), r#"["a","b"]"#);
        assert_eq!(encode(ValueKind::Set, b""), "[]");
        assert_eq!(encode(ValueKind::Time, b"-838:59:59"), r#""-838:59:59""#);
        assert_eq!(encode(ValueKind::Json, b"{\"a\":\n1}"), "{\"a\": 1}");
    }
}
