//! PostgreSQL column types → JSON Schema, and how each type's text is turned into JSON.
//!
//! A column is classified by its base type (domains resolved to the type they are over) into a
//! [`ValueKind`]; the kind decides both the JSON Schema of the property and how
//! [`crate::value`] encodes the column's text. Every property also carries the exact source type
//! as `x-sql-datatype` (`numeric(12,2)`, `character varying(16)`, `integer[]`, an enum's name) so
//! the target can create the same type.

use common::json_schema::{X_SQL_DATATYPE, integer_property, typed_property};
use serde_json::{Value, json};

/// How a column's text becomes JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// `smallint`, `integer`, `bigint`, `oid`, `xid`, `xid8`: the digits as a JSON integer.
    Integer {
        minimum: i128,
        maximum: i128,
    },
    /// `numeric` (and `money`, read as numeric): every digit kept; `NaN`/`±Infinity` become null.
    Numeric,
    /// `real`, `double precision`: shortest exact digits; `NaN`/`±Infinity` become null.
    Float,
    /// `money` as the replication stream prints it (`-$1,234.56`, `lc_monetary = C`): its
    /// digits, as `Numeric`. Queries read money as numeric instead.
    Money,
    Boolean,
    /// Anything read as its PostgreSQL text: character types, uuid, inet, xml, ranges, …
    Text,
    /// `json`, `jsonb`: the value itself, not a string.
    Json,
    Date,
    Time,
    /// `time with time zone`: kept with its offset.
    TimeTz,
    /// `timestamp without time zone`: taken as UTC.
    Timestamp,
    TimestampTz,
    /// `bytea`: lower-case hex.
    Bytea,
    /// An array of any of these, of any number of dimensions.
    Array(Box<ValueKind>),
}

/// What the system catalog says of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgType {
    /// `format_type()`: the type as written in SQL, `numeric(12,2)`, `integer[]`, `mood`.
    pub sql_type: String,
    /// `pg_type.typname` of the base type (domains resolved).
    pub base_name: String,
    /// `pg_type.typtype` of the base type: `b` base, `e` enum, `r` range, `c` composite, …
    pub base_kind: char,
    /// For arrays: the element's base `typname` and `typtype`.
    pub element: Option<(String, char)>,
}

impl PgType {
    /// The kind of a column of this type.
    pub fn value_kind(&self) -> ValueKind {
        match &self.element {
            Some((name, kind)) => ValueKind::Array(Box::new(scalar_kind(name, *kind))),
            None => scalar_kind(&self.base_name, self.base_kind),
        }
    }

    /// The select-list expression reading a column of this type: money is read as numeric so
    /// that its text does not depend on `lc_monetary`.
    pub fn select_expression(&self, quoted_column: &str) -> String {
        match (&self.element, self.base_name.as_str()) {
            (None, "money") => format!("{quoted_column}::numeric"),
            (Some((element, _)), _) if element == "money" => format!("{quoted_column}::numeric[]"),
            _ => quoted_column.to_owned(),
        }
    }

    /// The JSON Schema of a property of this type, `x-sql-datatype` included.
    pub fn json_schema(&self, nullable: bool) -> Value {
        let mut schema = kind_schema(&self.value_kind(), nullable);
        schema[X_SQL_DATATYPE] = self.sql_type.clone().into();
        schema
    }

    /// Whether `where col >= $value order by col` works and makes sense for a replication key.
    pub fn is_orderable(&self) -> bool {
        self.element.is_none()
            && (matches!(
                self.value_kind(),
                ValueKind::Integer { .. }
                    | ValueKind::Numeric
                    | ValueKind::Float
                    | ValueKind::Date
                    | ValueKind::Time
                    | ValueKind::Timestamp
                    | ValueKind::TimestampTz
            ) || matches!(
                self.base_name.as_str(),
                "text" | "varchar" | "bpchar" | "name" | "citext" | "uuid"
            ))
    }
}

fn scalar_kind(name: &str, kind: char) -> ValueKind {
    if kind != 'b' {
        // Enums, ranges, composites, multiranges: their text form is exact.
        return ValueKind::Text;
    }
    match name {
        "int2" => ValueKind::Integer {
            minimum: i16::MIN.into(),
            maximum: i16::MAX.into(),
        },
        "int4" => ValueKind::Integer {
            minimum: i32::MIN.into(),
            maximum: i32::MAX.into(),
        },
        "int8" => ValueKind::Integer {
            minimum: i64::MIN.into(),
            maximum: i64::MAX.into(),
        },
        "oid" | "xid" | "cid" => ValueKind::Integer {
            minimum: 0,
            maximum: u32::MAX.into(),
        },
        // A transaction id with its epoch (13+).
        "xid8" => ValueKind::Integer {
            minimum: 0,
            maximum: u64::MAX.into(),
        },
        "numeric" | "money" => ValueKind::Numeric,
        "float4" | "float8" => ValueKind::Float,
        "bool" => ValueKind::Boolean,
        "json" | "jsonb" => ValueKind::Json,
        "date" => ValueKind::Date,
        "time" => ValueKind::Time,
        "timetz" => ValueKind::TimeTz,
        "timestamp" => ValueKind::Timestamp,
        "timestamptz" => ValueKind::TimestampTz,
        "bytea" => ValueKind::Bytea,
        _ => ValueKind::Text,
    }
}

fn kind_schema(kind: &ValueKind, nullable: bool) -> Value {
    let typed = |name: &str| typed_property(name, nullable);
    let mut schema = match kind {
        ValueKind::Integer { minimum, maximum } => integer_property(*minimum, *maximum, nullable),
        ValueKind::Numeric | ValueKind::Float | ValueKind::Money => typed("number"),
        ValueKind::Boolean => typed("boolean"),
        ValueKind::Text | ValueKind::TimeTz => typed("string"),
        // Schemaless: any JSON value, stored whole by the target.
        ValueKind::Json => json!({}),
        ValueKind::Date => with_format(typed("string"), "date"),
        ValueKind::Time => with_format(typed("string"), "time"),
        ValueKind::Timestamp | ValueKind::TimestampTz => with_format(typed("string"), "date-time"),
        ValueKind::Bytea => {
            let mut schema = typed("string");
            schema["contentEncoding"] = "base16".into();
            schema
        }
        ValueKind::Array(element) => {
            let mut schema = typed("array");
            // Elements may be NULL, and multi-dimensional arrays nest.
            schema["items"] = kind_schema(element, true);
            schema
        }
    };
    if let (ValueKind::Array(_), Some(items)) = (kind, schema.get_mut("items"))
        && let Some(Value::Array(types)) = items.get_mut("type")
    {
        types.push("array".into());
    }
    schema
}

fn with_format(mut schema: Value, format: &str) -> Value {
    schema["format"] = format.into();
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(sql_type: &str, base_name: &str) -> PgType {
        PgType {
            sql_type: sql_type.into(),
            base_name: base_name.into(),
            base_kind: 'b',
            element: None,
        }
    }

    #[test]
    fn schemas_carry_the_exact_type() {
        assert_eq!(
            scalar("numeric(12,2)", "numeric").json_schema(true),
            json!({"type": ["null", "number"], "x-sql-datatype": "numeric(12,2)"})
        );
        assert_eq!(
            scalar("bigint", "int8").json_schema(false),
            json!({"type": ["integer"], "minimum": i64::MIN, "maximum": i64::MAX,
                   "x-sql-datatype": "bigint"})
        );
        assert_eq!(
            scalar("timestamp with time zone", "timestamptz").json_schema(true),
            json!({"type": ["null", "string"], "format": "date-time",
                   "x-sql-datatype": "timestamp with time zone"})
        );
        assert_eq!(
            scalar("jsonb", "jsonb").json_schema(true),
            json!({"x-sql-datatype": "jsonb"})
        );
    }

    #[test]
    fn arrays_enums_and_money() {
        let array = PgType {
            sql_type: "integer[]".into(),
            base_name: "_int4".into(),
            base_kind: 'b',
            element: Some(("int4".into(), 'b')),
        };
        assert_eq!(
            array.json_schema(true),
            json!({"type": ["null", "array"], "items": {"type": ["null", "integer", "array"],
                   "minimum": i32::MIN, "maximum": i32::MAX}, "x-sql-datatype": "integer[]"})
        );
        assert!(!array.is_orderable());
        let mood = PgType {
            sql_type: "mood".into(),
            base_name: "mood".into(),
            base_kind: 'e',
            element: None,
        };
        assert_eq!(mood.value_kind(), ValueKind::Text);
        let money = scalar("money", "money");
        assert_eq!(money.value_kind(), ValueKind::Numeric);
        assert_eq!(money.select_expression("\"m\""), "\"m\"::numeric");
        assert!(scalar("text", "text").is_orderable());
        assert!(!scalar("jsonb", "jsonb").is_orderable());
    }
}
