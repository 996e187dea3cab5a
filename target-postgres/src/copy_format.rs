//! COPY's two formats, and the rows written in them.
//!
//! A table is loaded with `COPY … (FORMAT binary)` when every column the target sends has a
//! binary writer here: the server then stores each value as it arrives instead of parsing
//! timestamps, numbers and escapes (its largest cost in a load). Any other table keeps the text
//! format. Values are checked once (`encode::check_value`) whatever the format, and each binary
//! value is written as its type's receive function reads it, so both formats store the same value.
//!
//! Binary rows: the number of fields (int16), then each field's length (int32, -1 for NULL) and
//! its bytes; the file has a header before the rows and a trailer after them.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::column_type::ColumnType;
use crate::encode::{Checked, InvalidValue, NULL, Timestamp, write_checked};
use crate::layout::{ColumnSource, LayoutColumn};
use crate::system_column::SystemColumn;

/// How a table's rows cross the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CopyFormat {
    #[default]
    Text,
    Binary,
}

/// The binary file header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary file trailer: a field count of -1.
const TRAILER: &[u8] = &[0xff, 0xff];

impl CopyFormat {
    /// Binary when every column the target sends (`columns`, those PostgreSQL fills left out)
    /// has a binary writer, unless the config asks for text.
    pub fn for_columns<'c>(
        columns: impl IntoIterator<Item = &'c LayoutColumn>,
        binary_allowed: bool,
    ) -> Self {
        let binary = binary_allowed
            && columns
                .into_iter()
                .filter(|column| !column.is_filled_by_database())
                .all(has_binary_writer);
        if binary { Self::Binary } else { Self::Text }
    }

    /// The COPY statement's options.
    pub fn options(self) -> &'static str {
        match self {
            Self::Text => "",
            Self::Binary => " (format binary)",
        }
    }

    /// What is sent before the rows.
    pub fn header(self) -> &'static [u8] {
        match self {
            Self::Text => b"",
            Self::Binary => HEADER,
        }
    }

    /// What is sent after the rows.
    pub fn trailer(self) -> &'static [u8] {
        match self {
            Self::Text => b"",
            Self::Binary => TRAILER,
        }
    }
}

/// How a column's values are written in binary: the types the target creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinaryType {
    Int2,
    Int4,
    Int8,
    Numeric,
    Float8,
    Bool,
    Text,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    Jsonb,
    Bytea,
}

impl BinaryType {
    fn of(column_type: &ColumnType) -> Option<Self> {
        Some(match column_type.sql.as_str() {
            "smallint" => Self::Int2,
            "integer" => Self::Int4,
            "bigint" => Self::Int8,
            "double precision" => Self::Float8,
            "boolean" => Self::Bool,
            "text" | "character varying" => Self::Text,
            "timestamp with time zone" => Self::Timestamptz,
            "timestamp without time zone" => Self::Timestamp,
            "date" => Self::Date,
            "time without time zone" => Self::Time,
            "jsonb" => Self::Jsonb,
            "bytea" => Self::Bytea,
            sql if sql == "numeric" || sql.starts_with("numeric(") => Self::Numeric,
            sql if sql.starts_with("character varying(") || sql.starts_with("character(") => {
                Self::Text
            }
            _ => return None,
        })
    }
}

/// Whether every value the target writes into `column` has a binary writer.
fn has_binary_writer(column: &LayoutColumn) -> bool {
    use BinaryType::*;
    let binary = BinaryType::of(&column.column_type);
    match column.source {
        ColumnSource::Unused => true,
        ColumnSource::Field(_) | ColumnSource::SourceKey(_) => binary.is_some(),
        ColumnSource::LevelId(_)
        | ColumnSource::System(SystemColumn::Sequence | SystemColumn::TableVersion) => {
            matches!(binary, Some(Int2 | Int4 | Int8 | Numeric | Text))
        }
        ColumnSource::System(_) => matches!(binary, Some(Timestamptz | Timestamp | Text)),
    }
}

/// Writes one row's fields into a table's buffer, in the table's format.
#[derive(Debug)]
pub struct RowFields<'b> {
    out: &'b mut Vec<u8>,
    format: CopyFormat,
    first: bool,
}

impl<'b> RowFields<'b> {
    /// Starts a row of `fields` fields.
    pub fn begin(out: &'b mut Vec<u8>, format: CopyFormat, fields: usize) -> Self {
        if format == CopyFormat::Binary {
            let fields =
                i16::try_from(fields).expect("PostgreSQL tables have at most 1600 columns");
            out.extend_from_slice(&fields.to_be_bytes());
        }
        Self {
            out,
            format,
            first: true,
        }
    }

    /// Ends the row.
    pub fn end(self) {
        if self.format == CopyFormat::Text {
            self.out.push(b'\n');
        }
    }

    pub fn null(&mut self) {
        self.separate();
        match self.format {
            CopyFormat::Text => self.out.extend_from_slice(NULL),
            CopyFormat::Binary => self.out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    /// A value checked for a column of `column_type`.
    pub fn value(
        &mut self,
        column_type: &ColumnType,
        value: Checked<'_>,
    ) -> Result<(), InvalidValue> {
        if matches!(value, Checked::Null) {
            self.null();
            return Ok(());
        }
        self.separate();
        match self.format {
            CopyFormat::Text => write_checked(self.out, value),
            CopyFormat::Binary => {
                let kind = BinaryType::of(column_type).expect("the table's format says so");
                self.binary_field(|out| write_binary(out, kind, value))
            }
        }
    }

    /// An integer the target makes (a sequence, a version, an array position).
    pub fn integer(&mut self, column_type: &ColumnType, value: i64) {
        if self.format == CopyFormat::Binary
            && BinaryType::of(column_type) == Some(BinaryType::Int8)
        {
            self.separate();
            self.out.extend_from_slice(&8i32.to_be_bytes());
            self.out.extend_from_slice(&value.to_be_bytes());
            return;
        }
        let text = value.to_string();
        self.value(column_type, Checked::Number(&text))
            .expect("the target's own integers fit their columns");
    }

    /// A `date-time` the target checked (`_sdc_extracted_at`, `_sdc_deleted_at`), as written and
    /// as parsed.
    pub fn timestamp(&mut self, column_type: &ColumnType, text: &str, parsed: Timestamp) {
        let checked = match (self.format, BinaryType::of(column_type)) {
            (CopyFormat::Binary, Some(BinaryType::Timestamptz | BinaryType::Timestamp)) => {
                Checked::Timestamp(text.into(), parsed)
            }
            _ => Checked::Text(text.into()),
        };
        self.value(column_type, checked)
            .expect("a checked timestamp has no NUL");
    }

    fn separate(&mut self) {
        if self.format == CopyFormat::Text && !self.first {
            self.out.push(b'\t');
        }
        self.first = false;
    }

    /// A binary field: its length, then what `write` appends.
    fn binary_field(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), InvalidValue>,
    ) -> Result<(), InvalidValue> {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        write(self.out)?;
        let len = i32::try_from(self.out.len() - start - 4)
            .map_err(|_| InvalidValue::Malformed("value: longer than PostgreSQL's 1 GB"))?;
        self.out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// Appends `value` as `kind`'s receive function reads it.
fn write_binary(
    out: &mut Vec<u8>,
    kind: BinaryType,
    value: Checked<'_>,
) -> Result<(), InvalidValue> {
    use BinaryType as B;
    match (kind, value) {
        (B::Int2 | B::Int4 | B::Int8, Checked::Number(number)) => {
            // Checked: an integer within the column's range.
            let value: i64 = number
                .parse()
                .map_err(|_| InvalidValue::NumberOutOfRange("an integer".into()))?;
            let out_of_range = |_| InvalidValue::NumberOutOfRange("its column".into());
            match kind {
                B::Int2 => out
                    .extend_from_slice(&i16::try_from(value).map_err(out_of_range)?.to_be_bytes()),
                B::Int4 => out
                    .extend_from_slice(&i32::try_from(value).map_err(out_of_range)?.to_be_bytes()),
                _ => out.extend_from_slice(&value.to_be_bytes()),
            }
        }
        (B::Numeric, Checked::Number(number)) => write_numeric(out, number)?,
        (B::Float8, Checked::Number(number)) => write_float8(out, number)?,
        (B::Text, Checked::Number(number)) => out.extend_from_slice(number.as_bytes()),
        (B::Bool, Checked::Bool(value)) => out.push(u8::from(value)),
        (B::Text, Checked::Text(text)) => {
            if text.as_bytes().contains(&0) {
                return Err(InvalidValue::NulByte);
            }
            out.extend_from_slice(text.as_bytes());
        }
        (B::Timestamptz, Checked::Timestamp(_, timestamp)) => {
            out.extend_from_slice(&instant_micros(timestamp).to_be_bytes());
        }
        (B::Timestamp, Checked::Timestamp(_, timestamp)) => {
            // `timestamp` input ignores an offset: the date and time as written.
            out.extend_from_slice(&micros_since_2000(timestamp.local).to_be_bytes());
        }
        (B::Date, Checked::Date(_, date)) => {
            let days = i32::try_from(date.signed_duration_since(epoch()).num_days())
                .expect("years 1 to 9999");
            out.extend_from_slice(&days.to_be_bytes());
        }
        (B::Time, Checked::Time(text)) => out.extend_from_slice(&time_micros(&text)?.to_be_bytes()),
        (B::Jsonb, Checked::Json(text)) => {
            // jsonb's binary format: a version byte, then the JSON text.
            out.push(1);
            out.extend_from_slice(text.as_bytes());
        }
        (B::Bytea, Checked::Hex(hex)) => {
            let digit = |byte: u8| (byte as char).to_digit(16).expect("checked hex") as u8;
            out.extend(
                hex.as_bytes()
                    .chunks_exact(2)
                    .map(|pair| digit(pair[0]) << 4 | digit(pair[1])),
            );
        }
        _ => {
            return Err(InvalidValue::Malformed(
                "value for its column's binary format",
            ));
        }
    }
    Ok(())
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date")
}

/// PostgreSQL's timestamps: microseconds since 2000-01-01 00:00:00. A leap second (`23:59:60`)
/// counts as the next minute's first, as PostgreSQL reads it.
fn micros_since_2000(local: NaiveDateTime) -> i64 {
    let days = local.date().signed_duration_since(epoch()).num_days();
    let time = local.time();
    days * 86_400_000_000
        + i64::from(time.num_seconds_from_midnight()) * 1_000_000
        + i64::from(time.nanosecond() / 1000)
}

/// A `timestamptz`: the instant; a value without offset is UTC, the target's session zone.
fn instant_micros(timestamp: Timestamp) -> i64 {
    micros_since_2000(timestamp.local)
        - i64::from(timestamp.offset_seconds.unwrap_or(0)) * 1_000_000
}

/// A checked `time`: microseconds since midnight; `24:00:00` is the day's end.
fn time_micros(text: &str) -> Result<i64, InvalidValue> {
    if text == "24:00:00" {
        return Ok(86_400_000_000);
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .map_err(|_| InvalidValue::Malformed("time"))?;
    Ok(i64::from(time.num_seconds_from_midnight()) * 1_000_000
        + i64::from(time.nanosecond() / 1000))
}

/// A `double precision`: Rust's parse rounds correctly, as `strtod` does. PostgreSQL refuses a
/// non-zero number that underflows to zero; so does this.
fn write_float8(out: &mut Vec<u8>, number: &str) -> Result<(), InvalidValue> {
    let out_of_range = || InvalidValue::NumberOutOfRange("double precision".into());
    let value: f64 = number.parse().map_err(|_| out_of_range())?;
    let mantissa = number.split(['e', 'E']).next().unwrap_or_default();
    if !value.is_finite() || (value == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'))) {
        return Err(out_of_range());
    }
    out.extend_from_slice(&value.to_bits().to_be_bytes());
    Ok(())
}

/// A `numeric`: base-10000 digits around the decimal point, with the display scale `numeric_in`
/// gives the same text (digits after the point, less the exponent). The column's typmod is
/// applied by the server, as for text.
fn write_numeric(out: &mut Vec<u8>, number: &str) -> Result<(), InvalidValue> {
    let out_of_range = || InvalidValue::NumberOutOfRange("numeric".into());
    let (negative, unsigned) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let exponent: i64 = exponent.parse().map_err(|_| out_of_range())?;
            (mantissa, exponent)
        }
        None => (unsigned, 0),
    };
    // numeric_in's own limit on exponents.
    if exponent.abs() > 1000 {
        return Err(out_of_range());
    }
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let scale = (fraction.len() as i64 - exponent).max(0);
    let scale = u16::try_from(scale)
        .ok()
        .filter(|scale| *scale <= 0x3FFF)
        .ok_or_else(out_of_range)?;
    // Each decimal digit's power of ten, grouped by four: group g holds 10^(4g) … 10^(4g+3).
    let point = integer.len() as i64 + exponent;
    let mut groups: Vec<(i64, i16)> = Vec::new();
    for (index, byte) in integer.bytes().chain(fraction.bytes()).enumerate() {
        let digit = i16::from(byte - b'0');
        let power = point - 1 - index as i64;
        let group = power.div_euclid(4);
        let weight = [1, 10, 100, 1000][power.rem_euclid(4) as usize];
        match groups.last_mut() {
            Some((last, value)) if *last == group => *value += digit * weight,
            _ => groups.push((group, digit * weight)),
        }
    }
    // Leading and trailing zero groups are not stored.
    while groups.last().is_some_and(|(_, value)| *value == 0) {
        groups.pop();
    }
    let first = groups
        .iter()
        .position(|(_, value)| *value != 0)
        .unwrap_or(groups.len());
    let groups = &groups[first..];
    let (weight, sign) = match groups.first() {
        None => (0, 0x0000u16),
        Some((group, _)) => (
            i16::try_from(*group).map_err(|_| out_of_range())?,
            if negative { 0x4000 } else { 0x0000 },
        ),
    };
    // Zero groups between the first and the last are stored: the digits are contiguous.
    let last = groups.last().map_or(0, |(group, _)| *group);
    let ndigits = groups.first().map_or(0, |(first, _)| first - last + 1);
    let ndigits = i16::try_from(ndigits).map_err(|_| out_of_range())?;
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&scale.to_be_bytes());
    let mut expected = i64::from(weight);
    for (group, value) in groups {
        while expected > *group {
            out.extend_from_slice(&0i16.to_be_bytes());
            expected -= 1;
        }
        out.extend_from_slice(&value.to_be_bytes());
        expected -= 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::check_timestamp;

    fn numeric(text: &str) -> Vec<i16> {
        let mut out = Vec::new();
        write_numeric(&mut out, text).unwrap();
        out.chunks(2)
            .map(|pair| i16::from_be_bytes([pair[0], pair[1]]))
            .collect()
    }

    #[test]
    fn numeric_groups_digits_by_four_around_the_point() {
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(numeric("0"), [0, 0, 0, 0]);
        assert_eq!(numeric("-0.00"), [0, 0, 0, 2]);
        assert_eq!(numeric("1"), [1, 0, 0, 0, 1]);
        assert_eq!(numeric("12345.678"), [3, 1, 0, 3, 1, 2345, 6780]);
        assert_eq!(numeric("-0.0001"), [1, -1, 0x4000, 4, 1]);
        assert_eq!(numeric("100000000"), [1, 2, 0, 0, 1]);
        assert_eq!(numeric("100000001"), [3, 2, 0, 0, 1, 0, 1]);
        assert_eq!(numeric("1.5e3"), [1, 0, 0, 0, 1500]);
        assert_eq!(numeric("1.5E-3"), [1, -1, 0, 4, 15]);
        assert_eq!(numeric("0012.50"), [2, 0, 0, 2, 12, 5000]);
        assert!(write_numeric(&mut Vec::new(), "1e1001").is_err());
    }

    #[test]
    fn timestamps_count_from_2000() {
        let parsed = |text| check_timestamp(text).unwrap();
        assert_eq!(instant_micros(parsed("2000-01-01T00:00:00Z")), 0);
        assert_eq!(instant_micros(parsed("2000-01-01T01:00:00+01:00")), 0);
        assert_eq!(instant_micros(parsed("1999-12-31 23:59:59.5")), -500_000);
        assert_eq!(
            micros_since_2000(parsed("2000-01-02T00:00:00+05:00").local),
            86_400_000_000
        );
        assert_eq!(time_micros("24:00:00").unwrap(), 86_400_000_000);
        assert_eq!(time_micros("00:00:01.25").unwrap(), 1_250_000);
    }

    #[test]
    fn floats_refuse_what_postgresql_refuses() {
        let mut out = Vec::new();
        assert!(write_float8(&mut out, "1e-400").is_err());
        assert!(write_float8(&mut out, "1e400").is_err());
        write_float8(&mut out, "0e-400").unwrap();
        write_float8(&mut out, "-0").unwrap();
        assert_eq!(out[8..], (-0.0f64).to_bits().to_be_bytes());
    }
}
