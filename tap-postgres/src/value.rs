//! PostgreSQL text → JSON, written straight into the record's bytes.
//!
//! Rows arrive as `COPY … TO STDOUT` text: fields split by tabs, `\N` for NULL, backslash escapes.
//! Each field is encoded by its column's [`ValueKind`] without an intermediate `Value`: numbers keep
//! their digits, timestamps become RFC 3339 in UTC with microseconds, arrays become JSON arrays,
//! json stays JSON. `NaN` and `±Infinity`, which JSON cannot hold, become null with one warning per
//! column.

use std::ops::Range;

use common::json_text::{is_number, utc_timestamp, write_on_one_line, write_string};
use common::sync::{Mismatch, NotText, SourceRow, ValueEncoding};

use crate::column_type::ValueKind;

fn number(text: &str, out: &mut Vec<u8>) -> Result<(), ()> {
    if !is_number(text) {
        return Err(());
    }
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// One COPY text row, split and unescaped. Reused from row to row.
#[derive(Debug, Default)]
pub struct CopyRow {
    bytes: Vec<u8>,
    fields: Vec<Option<Range<usize>>>,
}

impl CopyRow {
    /// Splits `line` (without its newline) into fields.
    pub fn parse(&mut self, line: &[u8]) {
        self.bytes.clear();
        self.fields.clear();
        let mut rest = line;
        loop {
            // `\N` alone is NULL.
            if rest.starts_with(b"\\N") && matches!(rest.get(2), None | Some(b'\t')) {
                self.fields.push(None);
                match rest.get(2) {
                    None => return,
                    Some(_) => rest = &rest[3..],
                }
                continue;
            }
            let start = self.bytes.len();
            // Runs without escapes are copied whole; most fields have none.
            loop {
                match memchr::memchr2(b'\t', b'\\', rest) {
                    Some(at) if rest[at] == b'\\' => {
                        self.bytes.extend_from_slice(&rest[..at]);
                        self.bytes.push(match rest.get(at + 1) {
                            Some(b'n') => b'\n',
                            Some(b'r') => b'\r',
                            Some(b't') => b'\t',
                            Some(b'b') => 0x08,
                            Some(b'f') => 0x0c,
                            Some(b'v') => 0x0b,
                            Some(other) => *other,
                            None => b'\\',
                        });
                        rest = &rest[(at + 2).min(rest.len())..];
                    }
                    Some(at) => {
                        self.bytes.extend_from_slice(&rest[..at]);
                        self.fields.push(Some(start..self.bytes.len()));
                        rest = &rest[at + 1..];
                        break;
                    }
                    None => {
                        self.bytes.extend_from_slice(rest);
                        self.fields.push(Some(start..self.bytes.len()));
                        return;
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// A field's bytes; `None` for NULL.
    pub fn field(&self, index: usize) -> Option<&[u8]> {
        self.fields
            .get(index)
            .cloned()
            .flatten()
            .map(|range| &self.bytes[range])
    }
}

impl SourceRow for CopyRow {
    fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText> {
        Ok(CopyRow::field(self, index))
    }
}

impl ValueEncoding for ValueKind {
    fn encode(&self, text: &[u8], out: &mut Vec<u8>) -> Result<Option<&'static str>, Mismatch> {
        let text = std::str::from_utf8(text).map_err(|_| Mismatch)?;
        match encode_value(self, text, out) {
            Ok(true) => Ok(None),
            Ok(false) => Ok(Some("NaN or Infinity cannot be represented in JSON")),
            Err(()) => Err(Mismatch),
        }
    }
}

/// Encodes one non-null value. `Ok(false)`: encoded as null because JSON cannot hold it.
fn encode_value(kind: &ValueKind, text: &str, out: &mut Vec<u8>) -> Result<bool, ()> {
    match kind {
        ValueKind::Integer { .. } => {
            number(text, out)?;
        }
        ValueKind::Numeric | ValueKind::Float => {
            if matches!(text, "NaN" | "Infinity" | "-Infinity") {
                out.extend_from_slice(b"null");
                return Ok(false);
            }
            number(text, out)?;
        }
        ValueKind::Money => {
            let digits: String = text.chars().filter(|c| !matches!(c, '$' | ',')).collect();
            number(&digits, out)?;
        }
        ValueKind::Boolean => out.extend_from_slice(match text {
            "t" => b"true",
            "f" => b"false",
            _ => return Err(()),
        }),
        // `json` keeps the whitespace it was written with, line breaks included.
        ValueKind::Json => write_on_one_line(text.as_bytes(), out),
        ValueKind::Text | ValueKind::Date | ValueKind::Time | ValueKind::TimeTz => {
            write_string(text, out);
        }
        ValueKind::Timestamp | ValueKind::TimestampTz => match rfc3339_utc(text) {
            Some(instant) => write_string(&instant, out),
            // infinity, BC dates, years past 9999: sent as PostgreSQL wrote them.
            None => write_string(text, out),
        },
        ValueKind::Bytea => write_string(text.strip_prefix("\\x").unwrap_or(text), out),
        ValueKind::Array(element) => {
            let body = match text.find("={") {
                // `[0:2]={…}`: explicit bounds; the elements are what matter.
                Some(position) if text.starts_with('[') => &text[position + 1..],
                _ => text,
            };
            let mut parser = ArrayParser {
                text: body.as_bytes(),
                position: 0,
            };
            return parser.parse(element, out);
        }
    }
    Ok(true)
}

/// `2026-11-21 10:00:00.5+00` → `2026-11-21T10:00:00.500000Z`; `None` for what has no RFC 3339
/// form (`infinity`, BC, five-digit years) or a zone other than UTC.
fn rfc3339_utc(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[10] != b' ' || !bytes[0].is_ascii_digit() || text.ends_with(" BC")
    {
        return None;
    }
    let (date, rest) = (&text[..10], &text[11..]);
    let (time, zone) = match rest.find(['+', '-']) {
        Some(position) => rest.split_at(position),
        None => (rest, ""),
    };
    if !matches!(zone, "" | "+00" | "+00:00") {
        return None;
    }
    utc_timestamp(date, time)
}

/// Reads PostgreSQL's array text: `{1,2,NULL}`, `{{1,2},{3,4}}`, `{"a b","c\"d"}`.
struct ArrayParser<'a> {
    text: &'a [u8],
    position: usize,
}

impl ArrayParser<'_> {
    fn parse(&mut self, element: &ValueKind, out: &mut Vec<u8>) -> Result<bool, ()> {
        let exact = self.level(element, out)?;
        if self.position == self.text.len() {
            Ok(exact)
        } else {
            Err(())
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn level(&mut self, element: &ValueKind, out: &mut Vec<u8>) -> Result<bool, ()> {
        if self.peek() != Some(b'{') {
            return Err(());
        }
        self.position += 1;
        out.push(b'[');
        let mut exact = true;
        let mut first = true;
        loop {
            match self.peek() {
                Some(b'}') => {
                    self.position += 1;
                    out.push(b']');
                    return Ok(exact);
                }
                Some(b',') if !first => self.position += 1,
                Some(_) if first => {}
                _ => return Err(()),
            }
            if !first {
                out.push(b',');
            }
            first = false;
            exact &= match self.peek() {
                Some(b'{') => self.level(element, out)?,
                Some(b'"') => {
                    let text = self.quoted()?;
                    encode_value(element, &text, out)?
                }
                Some(_) => {
                    let text = self.unquoted()?;
                    if text.eq_ignore_ascii_case("NULL") {
                        out.extend_from_slice(b"null");
                        true
                    } else {
                        encode_value(element, text, out)?
                    }
                }
                None => return Err(()),
            };
        }
    }

    fn quoted(&mut self) -> Result<String, ()> {
        self.position += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.position += 1;
                    return String::from_utf8(bytes).map_err(|_| ());
                }
                Some(b'\\') => {
                    bytes.push(*self.text.get(self.position + 1).ok_or(())?);
                    self.position += 2;
                }
                Some(byte) => {
                    bytes.push(byte);
                    self.position += 1;
                }
                None => return Err(()),
            }
        }
    }

    fn unquoted(&mut self) -> Result<&str, ()> {
        let start = self.position;
        while let Some(byte) = self.peek() {
            if matches!(byte, b',' | b'}') {
                break;
            }
            self.position += 1;
        }
        std::str::from_utf8(&self.text[start..self.position])
            .map(str::trim)
            .map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(kind: ValueKind, text: &str) -> String {
        let mut out = Vec::new();
        encode_value(&kind, text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn copy_rows_split_and_unescape() {
        let mut row = CopyRow::default();
        row.parse(b"1\t\\N\ta\\tb\\nc\\\\d\t");
        assert_eq!(row.len(), 4);
        assert_eq!(row.field(0), Some(&b"1"[..]));
        assert_eq!(row.field(1), None);
        assert_eq!(row.field(2), Some(&b"a\tb\nc\\d"[..]));
        assert_eq!(row.field(3), Some(&b""[..]));
        // NULL last; `\\N` (an escaped backslash, then N) is text; a lone trailing backslash.
        row.parse(b"\\\\N\t\\N");
        assert_eq!(
            (row.len(), row.field(0), row.field(1)),
            (2, Some(&b"\\N"[..]), None)
        );
        row.parse(b"x\\");
        assert_eq!((row.len(), row.field(0)), (1, Some(&b"x\\"[..])));
        row.parse(b"");
        assert_eq!((row.len(), row.field(0)), (1, Some(&b""[..])));
    }

    #[test]
    fn timestamps_become_utc_microseconds() {
        assert_eq!(
            encode(ValueKind::TimestampTz, "2026-11-21 10:00:00.5+00"),
            r#""2026-11-21T10:00:00.500000Z""#
        );
        assert_eq!(
            encode(ValueKind::Timestamp, "1999-01-08 04:05:06"),
            r#""1999-01-08T04:05:06.000000Z""#
        );
        assert_eq!(encode(ValueKind::TimestampTz, "infinity"), r#""infinity""#);
        assert_eq!(
            encode(ValueKind::Timestamp, "0044-03-15 12:00:00 BC"),
            r#""0044-03-15 12:00:00 BC""#
        );
    }

    #[test]
    fn numbers_keep_digits_and_nan_is_null() {
        let digits = "1234567890123456789012345678901234567890.0123456789";
        assert_eq!(encode(ValueKind::Numeric, digits), digits);
        let mut out = Vec::new();
        assert_eq!(encode_value(&ValueKind::Float, "NaN", &mut out), Ok(false));
        assert_eq!(out, b"null");
        assert!(encode_value(&ValueKind::Numeric, "12abc", &mut Vec::new()).is_err());
        assert_eq!(encode(ValueKind::Money, "-$1,234,567.89"), "-1234567.89");
        assert!(encode_value(&ValueKind::Money, "12 EUR", &mut Vec::new()).is_err());
    }

    #[test]
    fn json_whitespace_never_breaks_the_line() {
        assert_eq!(
            encode(ValueKind::Json, "{\"a\":\r\n  [1,\n2], \"b\": \"x\\ny\"}"),
            "{\"a\":    [1, 2], \"b\": \"x\\ny\"}"
        );
    }

    #[test]
    fn arrays_of_every_shape() {
        let int = || ValueKind::Integer {
            minimum: 0,
            maximum: 1,
        };
        assert_eq!(
            encode(ValueKind::Array(Box::new(int())), "{1,2,NULL}"),
            "[1,2,null]"
        );
        assert_eq!(
            encode(ValueKind::Array(Box::new(int())), "{{1,2},{3,4}}"),
            "[[1,2],[3,4]]"
        );
        assert_eq!(
            encode(ValueKind::Array(Box::new(int())), "[0:1]={5,6}"),
            "[5,6]"
        );
        assert_eq!(encode(ValueKind::Array(Box::new(int())), "{}"), "[]");
        assert_eq!(
            encode(
                ValueKind::Array(Box::new(ValueKind::Text)),
                r#"{"a b","c\"d",NULL,"NULL",plain}"#
            ),
            r#"["a b","c\"d",null,"NULL","plain"]"#
        );
        assert_eq!(
            encode(
                ValueKind::Array(Box::new(ValueKind::Json)),
                r#"{"{\"k\": [1, 2]}",null}"#
            ),
            r#"[{"k": [1, 2]},null]"#
        );
    }
}
