//! Rows → RECORD JSON, written straight into the record's bytes.
//!
//! Both taps read every value as the server's exact text (PostgreSQL's COPY text, MySQL's text
//! protocol), so one encoder serves both: the row gives each field's bytes, the column's kind
//! (the tap's [`ValueEncoding`]) writes them as JSON. No `Value` is built per row.

use tracing::warn;

use crate::json_text::object_key;

/// One row as a source delivers it.
pub trait SourceRow {
    /// The bytes of field `index` as the server's text; `Ok(None)` for NULL (and for a field the
    /// row does not have).
    fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText>;

    /// Whether field `index` is not known at all (a value the change log leaves out because it
    /// did not change): its property is left out of the record, which tells the target to keep
    /// the warehouse's value. Never the case for a row read by a query.
    fn is_absent(&self, _index: usize) -> bool {
        false
    }
}

/// Appends `"name":json` to a record the encoder wrote.
pub fn append_property(record: &mut Vec<u8>, name: &str, json: &[u8]) {
    let empty = record.as_slice() == b"{}";
    record.pop();
    if !empty {
        record.push(b',');
    }
    record.extend_from_slice(&object_key(name));
    record.extend_from_slice(json);
    record.push(b'}');
}

/// A field that did not arrive as text (a driver handing over a binary-protocol value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotText;

/// How a column's text becomes JSON: each tap's value kind.
pub trait ValueEncoding {
    /// Appends one non-NULL value as JSON. `Ok(Some(why))` when JSON cannot hold the value and
    /// `null` was written instead (NaN, a zero date): `why` is logged once per column.
    fn encode(&self, text: &[u8], out: &mut Vec<u8>) -> Result<Option<&'static str>, Mismatch>;
}

/// A value that is not what its column's type promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

/// A value the tap cannot encode. Names the column, never the value: rows may hold personal data.
#[derive(Debug, thiserror::Error)]
#[error("column {column:?}: a value is not what the column's type promises")]
pub struct InvalidValue {
    pub column: String,
}

/// Encodes the rows of one stream as JSON objects.
#[derive(Debug)]
pub struct RowEncoder<K> {
    columns: Vec<EncodedColumn<K>>,
}

#[derive(Debug)]
struct EncodedColumn<K> {
    name: String,
    /// `"name":`, encoded once.
    key: Vec<u8>,
    kind: K,
    /// Whether a lossy value of this column was already logged.
    warned: bool,
}

impl<K: ValueEncoding> RowEncoder<K> {
    /// Columns in the order the rows hold them.
    pub fn new(columns: impl IntoIterator<Item = (String, K)>) -> Self {
        let columns = columns
            .into_iter()
            .map(|(name, kind)| EncodedColumn {
                key: object_key(&name),
                name,
                kind,
                warned: false,
            })
            .collect();
        Self { columns }
    }

    /// Writes `row` as a JSON object into `out` (cleared first).
    pub fn encode(&mut self, row: &impl SourceRow, out: &mut Vec<u8>) -> Result<(), InvalidValue> {
        out.clear();
        out.push(b'{');
        let mut first = true;
        for (index, column) in self.columns.iter_mut().enumerate() {
            if row.is_absent(index) {
                continue;
            }
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            out.extend_from_slice(&column.key);
            let invalid = || InvalidValue {
                column: column.name.clone(),
            };
            let Some(text) = row.field(index).map_err(|NotText| invalid())? else {
                out.extend_from_slice(b"null");
                continue;
            };
            let lossy = column
                .kind
                .encode(text, out)
                .map_err(|Mismatch| invalid())?;
            if let Some(why) = lossy
                && !column.warned
            {
                column.warned = true;
                warn!(column = %column.name, "{why}: sent as null");
            }
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields as text, `None` for NULL, `Some("?")` for a value the row does not know.
    struct Row(Vec<Option<&'static str>>);

    impl SourceRow for Row {
        fn field(&self, index: usize) -> Result<Option<&[u8]>, NotText> {
            Ok(self.0.get(index).copied().flatten().map(str::as_bytes))
        }

        fn is_absent(&self, index: usize) -> bool {
            self.0.get(index) == Some(&Some("?"))
        }
    }

    #[test]
    fn absent_values_leave_their_property_out() {
        let mut encoder = RowEncoder::new([
            ("a".to_owned(), Digits),
            ("b".to_owned(), Digits),
            ("c".to_owned(), Digits),
        ]);
        let mut out = Vec::new();
        encoder
            .encode(&Row(vec![Some("?"), Some("2"), Some("?")]), &mut out)
            .unwrap();
        assert_eq!(out, br#"{"b":2}"#);
        append_property(&mut out, "_sdc_lsn", b"7");
        assert_eq!(out, br#"{"b":2,"_sdc_lsn":7}"#);
        encoder
            .encode(&Row(vec![Some("?"), Some("?"), Some("?")]), &mut out)
            .unwrap();
        append_property(&mut out, "_sdc_lsn", b"8");
        assert_eq!(out, br#"{"_sdc_lsn":8}"#);
    }

    /// Digits as numbers, `NaN` as a lossy null, anything else a mismatch.
    struct Digits;

    impl ValueEncoding for Digits {
        fn encode(&self, text: &[u8], out: &mut Vec<u8>) -> Result<Option<&'static str>, Mismatch> {
            match text {
                b"NaN" => {
                    out.extend_from_slice(b"null");
                    Ok(Some("NaN"))
                }
                digits if digits.iter().all(u8::is_ascii_digit) => {
                    out.extend_from_slice(digits);
                    Ok(None)
                }
                _ => Err(Mismatch),
            }
        }
    }

    #[test]
    fn rows_become_objects_and_errors_name_the_column_not_the_value() {
        let mut encoder = RowEncoder::new([("id".to_owned(), Digits), ("n\"".to_owned(), Digits)]);
        let mut out = Vec::new();
        encoder
            .encode(&Row(vec![Some("1"), None]), &mut out)
            .unwrap();
        assert_eq!(out, br#"{"id":1,"n\"":null}"#);
        encoder
            .encode(&Row(vec![Some("2"), Some("NaN")]), &mut out)
            .unwrap();
        assert_eq!(out, br#"{"id":2,"n\"":null}"#);
        let error = encoder
            .encode(&Row(vec![Some("secret@example.com")]), &mut out)
            .unwrap_err();
        assert_eq!(error.column, "id");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
