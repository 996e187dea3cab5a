//! MySQL/MariaDB column types → JSON Schema, and how each type's text is turned into JSON.
//!
//! A column is classified from `information_schema.COLUMNS` (`DATA_TYPE` and the full
//! `COLUMN_TYPE`, such as `bigint(20) unsigned` or `enum('a','b')`) into a [`ValueKind`]; the kind
//! decides the property's JSON Schema and how [`crate::value`] encodes the column's text. Every
//! property carries the full type as `x-sql-datatype`.

use common::json_schema::{X_SQL_DATATYPE, integer_property, typed_property};
use serde_json::{Value, json};

/// How a column's text becomes JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// Integer types and `year`: the digits.
    Integer { minimum: i128, maximum: i128 },
    /// `tinyint(1)` (unless configured otherwise): `0` is false, anything else true.
    TinyintBoolean,
    /// `bit(1)`: one byte, 0 or 1.
    BitBoolean,
    /// `bit(n)`: big-endian bytes as an unsigned integer.
    Bits,
    /// `decimal`: every digit.
    Decimal,
    /// `float`, `double`.
    Float,
    /// Character types and `enum`.
    Text,
    /// Binary types: lower-case hex.
    Binary,
    /// `date`: zero dates become null.
    Date,
    /// `datetime`, `timestamp`: RFC 3339 in UTC; zero dates become null.
    DateTime,
    /// `time`: kept as written, `-838:59:59` included.
    Time,
    /// `json`, and MariaDB's `longtext` checked by `json_valid`: the value itself.
    Json,
    /// `set`: an array of its members.
    Set,
    /// Spatial types, read as WKT text.
    Geometry,
}

/// What discovery knows of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlType {
    /// `DATA_TYPE`: `int`, `varchar`, `decimal`, …
    pub data_type: String,
    /// `COLUMN_TYPE`: `int(10) unsigned`, `decimal(65,30)`, `enum('a','b')`, …
    pub column_type: String,
    /// MariaDB's JSON: a `longtext` with a `json_valid` check.
    pub is_json: bool,
}

impl MysqlType {
    pub fn value_kind(&self, tinyint1_as_boolean: bool) -> ValueKind {
        let column_type = self.column_type.to_ascii_lowercase();
        let unsigned = column_type.contains("unsigned");
        let integer = |bits: u32| {
            if unsigned {
                ValueKind::Integer {
                    minimum: 0,
                    maximum: (1_i128 << bits) - 1,
                }
            } else {
                ValueKind::Integer {
                    minimum: -(1_i128 << (bits - 1)),
                    maximum: (1_i128 << (bits - 1)) - 1,
                }
            }
        };
        if self.is_json {
            return ValueKind::Json;
        }
        match self.data_type.to_ascii_lowercase().as_str() {
            "tinyint" if tinyint1_as_boolean && column_type.starts_with("tinyint(1)") => {
                ValueKind::TinyintBoolean
            }
            "tinyint" => integer(8),
            "smallint" => integer(16),
            "mediumint" => integer(24),
            "int" | "integer" => integer(32),
            "bigint" => integer(64),
            "year" => ValueKind::Integer {
                minimum: 0,
                maximum: 2155,
            },
            "bit" if column_type == "bit(1)" => ValueKind::BitBoolean,
            "bit" => ValueKind::Bits,
            "decimal" | "numeric" => ValueKind::Decimal,
            "float" | "double" | "real" => ValueKind::Float,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                ValueKind::Binary
            }
            "date" => ValueKind::Date,
            "datetime" | "timestamp" => ValueKind::DateTime,
            "time" => ValueKind::Time,
            "json" => ValueKind::Json,
            "set" => ValueKind::Set,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" => ValueKind::Geometry,
            _ => ValueKind::Text,
        }
    }

    /// The select-list expression reading a column: spatial values as WKT text.
    pub fn select_expression(&self, quoted_column: &str, kind: &ValueKind) -> String {
        match kind {
            ValueKind::Geometry => format!("ST_AsText({quoted_column}) as {quoted_column}"),
            _ => quoted_column.to_owned(),
        }
    }

    pub fn json_schema(&self, kind: &ValueKind, nullable: bool) -> Value {
        let typed = |name: &str| typed_property(name, nullable);
        let mut schema = match kind {
            ValueKind::Integer { minimum, maximum } => {
                integer_property(*minimum, *maximum, nullable)
            }
            ValueKind::Bits => {
                let mut schema = typed("integer");
                schema["minimum"] = 0.into();
                schema
            }
            ValueKind::TinyintBoolean | ValueKind::BitBoolean => typed("boolean"),
            ValueKind::Decimal | ValueKind::Float => typed("number"),
            ValueKind::Text | ValueKind::Time | ValueKind::Geometry => typed("string"),
            ValueKind::Binary => {
                let mut schema = typed("string");
                schema["contentEncoding"] = "base16".into();
                schema
            }
            ValueKind::Date => {
                let mut schema = typed("string");
                schema["format"] = "date".into();
                schema
            }
            ValueKind::DateTime => {
                let mut schema = typed("string");
                schema["format"] = "date-time".into();
                schema
            }
            ValueKind::Json => json!({}),
            ValueKind::Set => {
                let mut schema = typed("array");
                schema["items"] = json!({"type": "string"});
                schema
            }
        };
        schema[X_SQL_DATATYPE] = self.column_type.clone().into();
        schema
    }

    /// Whether the column can serve as a replication key (`where col >= v order by col`).
    pub fn is_orderable(&self, kind: &ValueKind) -> bool {
        matches!(
            kind,
            ValueKind::Integer { .. }
                | ValueKind::Decimal
                | ValueKind::Float
                | ValueKind::Date
                | ValueKind::DateTime
                | ValueKind::Time
        ) || (matches!(kind, ValueKind::Text)
            && matches!(self.data_type.as_str(), "char" | "varchar"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(data_type: &str, column_type: &str) -> MysqlType {
        MysqlType {
            data_type: data_type.into(),
            column_type: column_type.into(),
            is_json: false,
        }
    }

    #[test]
    fn integers_signed_and_unsigned() {
        let big = column("bigint", "bigint(20) unsigned");
        let kind = big.value_kind(true);
        assert_eq!(
            big.json_schema(&kind, false),
            json!({"type": ["integer"], "minimum": 0, "maximum": 18446744073709551615_u64,
                   "x-sql-datatype": "bigint(20) unsigned"})
        );
        let tiny = column("tinyint", "tinyint(4)");
        assert_eq!(
            tiny.value_kind(true),
            ValueKind::Integer {
                minimum: -128,
                maximum: 127
            }
        );
        assert_eq!(
            column("tinyint", "tinyint(1)").value_kind(true),
            ValueKind::TinyintBoolean
        );
        assert!(matches!(
            column("tinyint", "tinyint(1)").value_kind(false),
            ValueKind::Integer { .. }
        ));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            column("bit", "bit(1)").value_kind(true),
            ValueKind::BitBoolean
        );
        assert_eq!(column("bit", "bit(12)").value_kind(true), ValueKind::Bits);
        assert_eq!(
            column("set", "set('a','b')").value_kind(true),
            ValueKind::Set
        );
        let json = MysqlType {
            is_json: true,
            ..column("longtext", "longtext")
        };
        assert_eq!(json.value_kind(true), ValueKind::Json);
        let point = column("point", "point");
        let kind = point.value_kind(true);
        assert_eq!(
            point.select_expression("`p`", &kind),
            "ST_AsText(`p`) as `p`"
        );
        let decimal = column("decimal", "decimal(65,30)");
        assert_eq!(
            decimal.json_schema(&decimal.value_kind(true), true),
            json!({"type": ["null", "number"], "x-sql-datatype": "decimal(65,30)"})
        );
    }
}
