//! JSON Schema property → warehouse column type, and how a type change is absorbed.
//!
//! Every column type belongs to a [`Family`]: the kind of JSON value it holds. A property gets one
//! column per family its schema allows. When a later SCHEMA asks for another family, the old
//! column stays and a new one is added with Stitch's suffix (`__st`, `__bi`, …); when it asks for
//! another type of the same family (`numeric(12,2)` → `numeric(14,2)`), the column is widened to
//! the family's general type, which holds both without loss.
//!
//! `x-sql-datatype`, where a tap gives it, picks the exact type when that type holds every value
//! losslessly: `numeric(12,2)`, `uuid`, `inet`, `timestamp without time zone`, `integer[]`, … Our
//! taps spell PostgreSQL types as `format_type()` does and MySQL types as `COLUMN_TYPE` does; the two
//! spellings differ (`timestamp without time zone` vs `datetime`), which is how they are told apart.

use common::json_schema::{JsonType, PropertyTypes, sql_datatype};
use serde_json::Value;

/// What kind of JSON value a column holds. The suffix names the column added when a property
/// changes to this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Text,
    BigInt,
    Numeric,
    Double,
    Boolean,
    Timestamp,
    Date,
    Time,
    Json,
    Array,
    Bytes,
}

impl Family {
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Text => "__st",
            Self::BigInt => "__bi",
            Self::Numeric => "__de",
            Self::Double => "__do",
            Self::Boolean => "__bo",
            Self::Timestamp => "__ti",
            Self::Date => "__da",
            Self::Time => "__tm",
            Self::Json => "__js",
            Self::Array => "__ar",
            Self::Bytes => "__by",
        }
    }

    /// The family's general type: what a column is widened to when two types of the family meet.
    fn general_type(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::BigInt => "bigint",
            Self::Numeric => "numeric",
            Self::Double => "double precision",
            Self::Boolean => "boolean",
            Self::Timestamp => "timestamp with time zone",
            Self::Date => "date",
            Self::Time => "time without time zone",
            Self::Json => "jsonb",
            Self::Array => "text[]",
            Self::Bytes => "bytea",
        }
    }

    /// The family of an existing column, from its `format_type()`.
    pub fn of_sql_type(sql_type: &str) -> Self {
        match sql_type {
            t if t.ends_with("[]") => Self::Array,
            "bigint" | "integer" | "smallint" => Self::BigInt,
            t if t.starts_with("numeric") => Self::Numeric,
            "double precision" | "real" => Self::Double,
            "boolean" => Self::Boolean,
            t if t.starts_with("timestamp") => Self::Timestamp,
            "date" => Self::Date,
            t if t.starts_with("time without time zone") => Self::Time,
            "jsonb" | "json" => Self::Json,
            "bytea" => Self::Bytes,
            _ => Self::Text,
        }
    }
}

/// A column type: its SQL spelling and family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub sql: String,
    pub family: Family,
}

impl ColumnType {
    pub fn new(sql: impl Into<String>, family: Family) -> Self {
        Self {
            sql: sql.into(),
            family,
        }
    }

    /// The family's general type.
    pub fn general(family: Family) -> Self {
        Self::new(family.general_type(), family)
    }

    /// `varchar(n)`'s limit, which the encoder checks so a long value is rejected by name rather
    /// than failing the whole COPY.
    pub fn max_chars(&self) -> Option<usize> {
        self.sql
            .strip_prefix("character varying(")?
            .strip_suffix(')')?
            .parse()
            .ok()
    }

    /// `numeric(p,s)`'s precision and scale.
    pub fn numeric_limits(&self) -> Option<(u32, u32)> {
        let inner = self.sql.strip_prefix("numeric(")?.strip_suffix(')')?;
        let (precision, scale) = inner.split_once(',').unwrap_or((inner, "0"));
        Some((precision.trim().parse().ok()?, scale.trim().parse().ok()?))
    }
}

/// The column types a property needs, one per non-null JSON type it allows (objects and arrays
/// that are de-nested never get here; see `denest`).
pub fn column_types(property: &Value) -> Vec<ColumnType> {
    column_types_where(property, |_| true)
}

/// As [`column_types`], for the JSON types `keep` accepts only (an object property that is
/// de-nested still needs a column for its string values, if it allows strings).
pub fn column_types_where(property: &Value, keep: impl Fn(JsonType) -> bool) -> Vec<ColumnType> {
    let types = PropertyTypes::of(property);
    let hint = sql_datatype(property).map(str::to_ascii_lowercase);
    let hint = hint.as_deref();
    if types.types.is_empty() {
        // No declared type: any JSON value, kept whole.
        return vec![ColumnType::general(Family::Json)];
    }
    let base16 = property.get("contentEncoding").and_then(Value::as_str) == Some("base16");
    let kept: Vec<JsonType> = types.types.iter().copied().filter(|t| keep(*t)).collect();
    // An object or array kept here has no structure to de-nest: with other types beside it (the
    // SDK's `json` columns allow every type) the value is one JSON document, stored whole.
    let schemaless = kept.iter().any(|t| {
        *t == JsonType::Object || (*t == JsonType::Array && array_type(hint).family == Family::Json)
    });
    if schemaless && kept.len() > 1 {
        return vec![ColumnType::general(Family::Json)];
    }
    kept.iter()
        .map(|json_type| match json_type {
            JsonType::Integer => integer_type(property, hint),
            JsonType::Number => number_type(hint),
            JsonType::Boolean => ColumnType::general(Family::Boolean),
            JsonType::String if base16 => ColumnType::general(Family::Bytes),
            JsonType::String => string_type(types.format.as_deref(), hint),
            JsonType::Array => array_type(hint),
            JsonType::Object | JsonType::Null => ColumnType::general(Family::Json),
        })
        .fold(Vec::new(), |mut found, column_type| {
            if !found
                .iter()
                .any(|t: &ColumnType| t.family == column_type.family)
            {
                found.push(column_type);
            }
            found
        })
}

/// `bigint`, or `numeric` when the declared range (or the source type) goes beyond 64 bits.
fn integer_type(property: &Value, hint: Option<&str>) -> ColumnType {
    let beyond_bigint = |key: &str| {
        property
            .get(key)
            .and_then(Value::as_number)
            .is_some_and(|bound| !bound.is_i64())
    };
    let wide_hint = hint.is_some_and(|hint| {
        (hint.starts_with("bigint") && hint.contains("unsigned")) || hint == "bit(64)"
    });
    if beyond_bigint("maximum") || beyond_bigint("minimum") || wide_hint {
        ColumnType::new("numeric(20,0)", Family::Numeric)
    } else {
        ColumnType::general(Family::BigInt)
    }
}

fn number_type(hint: Option<&str>) -> ColumnType {
    let Some(hint) = hint else {
        return ColumnType::general(Family::Numeric);
    };
    let hint = hint
        .trim_end_matches(" unsigned")
        .trim_end_matches(" zerofill");
    if hint == "real" || hint == "float" || hint.starts_with("float(") {
        return ColumnType::new("real", Family::Double);
    }
    if hint == "double precision" || hint == "double" || hint.starts_with("double(") {
        return ColumnType::general(Family::Double);
    }
    for prefix in ["numeric(", "decimal("] {
        if let Some(args) = hint.strip_prefix(prefix).and_then(|a| a.strip_suffix(')')) {
            let valid = args
                .split(',')
                .all(|part| part.trim().parse::<u32>().is_ok_and(|n| n <= 1000));
            if valid {
                return ColumnType::new(
                    format!("numeric({})", args.replace(' ', "")),
                    Family::Numeric,
                );
            }
        }
    }
    ColumnType::general(Family::Numeric)
}

fn string_type(format: Option<&str>, hint: Option<&str>) -> ColumnType {
    match format {
        Some("date-time") => {
            let without_zone = hint.is_some_and(|hint| {
                hint == "timestamp without time zone" || hint.starts_with("datetime")
            });
            return if without_zone {
                ColumnType::new("timestamp without time zone", Family::Timestamp)
            } else {
                ColumnType::general(Family::Timestamp)
            };
        }
        Some("date") => return ColumnType::general(Family::Date),
        Some("time") if hint.is_none_or(|hint| hint.starts_with("time without")) => {
            return ColumnType::general(Family::Time);
        }
        _ => {}
    }
    let Some(hint) = hint else {
        return ColumnType::general(Family::Text);
    };
    match exact_text_type(hint) {
        Some(sql) => ColumnType::new(sql, Family::Text),
        // MySQL `time` spans -838:59:59 to 838:59:59: an interval holds it, `time` does not.
        None if hint == "time" || hint.starts_with("time(") => {
            ColumnType::new("interval", Family::Text)
        }
        None => ColumnType::general(Family::Text),
    }
}

/// PostgreSQL string-like types kept as they are: their text form is their input form.
fn exact_text_type(hint: &str) -> Option<String> {
    const KEPT: [&str; 9] = [
        "uuid",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "interval",
        "xml",
        "time with time zone",
        "text",
    ];
    if KEPT.contains(&hint) {
        return Some(hint.to_owned());
    }
    // PostgreSQL's and MySQL's `varchar(n)` both count characters.
    for prefix in ["character varying(", "varchar("] {
        if let Some(length) = hint.strip_prefix(prefix).and_then(|a| a.strip_suffix(')'))
            && length
                .parse::<u32>()
                .is_ok_and(|n| n > 0 && n <= 10_485_760)
        {
            return Some(format!("character varying({length})"));
        }
    }
    None
}

/// Whether an array property's source type is stored as a native array rather than de-nested:
/// PostgreSQL arrays (`integer[]`) and MySQL `set(…)`.
pub fn is_native_array(hint: &str) -> bool {
    let hint = hint.to_ascii_lowercase();
    hint.ends_with("[]") || hint.starts_with("set(")
}

/// A native array for a PostgreSQL array or MySQL set source, else `jsonb`.
fn array_type(hint: Option<&str>) -> ColumnType {
    if hint.is_some_and(|hint| hint.starts_with("set(")) {
        return ColumnType::new("text[]", Family::Array);
    }
    let Some(element) = hint.and_then(|hint| hint.strip_suffix("[]")) else {
        return ColumnType::general(Family::Json);
    };
    let element = element.trim_end_matches("[]");
    let known = matches!(
        element,
        "smallint"
            | "integer"
            | "bigint"
            | "real"
            | "double precision"
            | "boolean"
            | "text"
            | "uuid"
            | "date"
            | "timestamp with time zone"
            | "timestamp without time zone"
            | "time without time zone"
            | "interval"
            | "jsonb"
            | "inet"
            | "cidr"
            | "macaddr"
    ) || element == "numeric"
        || element.starts_with("numeric(")
        || element.starts_with("character varying(");
    let element = if known { element } else { "text" };
    ColumnType::new(format!("{element}[]"), Family::Array)
}

/// How an existing column of `existing` SQL type takes values of `wanted` (same family): as it
/// is, or widened to the family's general type (returned).
pub fn widening(existing: &str, wanted: &ColumnType) -> Option<ColumnType> {
    let general = ColumnType::general(wanted.family);
    let keeps = existing == wanted.sql
        || existing == general.sql
        || match wanted.family {
            // Either holds the other's values: both are written as UTC instants.
            Family::Timestamp => true,
            Family::Double => existing == "double precision",
            _ => false,
        };
    (!keeps).then_some(general)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sql(property: Value) -> Vec<String> {
        column_types(&property).into_iter().map(|t| t.sql).collect()
    }

    #[test]
    fn plain_json_schema_types() {
        assert_eq!(sql(json!({"type": "integer"})), ["bigint"]);
        assert_eq!(sql(json!({"type": ["null", "number"]})), ["numeric"]);
        assert_eq!(sql(json!({"type": "string"})), ["text"]);
        assert_eq!(
            sql(json!({"type": "string", "format": "date-time"})),
            ["timestamp with time zone"]
        );
        assert_eq!(sql(json!({"type": "string", "format": "date"})), ["date"]);
        assert_eq!(
            sql(json!({"type": "string", "format": "time"})),
            ["time without time zone"]
        );
        assert_eq!(sql(json!({"type": "boolean"})), ["boolean"]);
        assert_eq!(sql(json!({})), ["jsonb"]);
        assert_eq!(sql(json!({"type": "object"})), ["jsonb"]);
        assert_eq!(
            sql(json!({"type": ["null", "string", "integer"]})),
            ["text", "bigint"]
        );
        assert_eq!(
            sql(json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})),
            ["bigint", "text"]
        );
        // The Meltano SDK's `json`/`jsonb` columns.
        assert_eq!(
            sql(
                json!({"type": ["string", "number", "integer", "array", "object", "boolean", "null"],
                       "additionalProperties": true})
            ),
            ["jsonb"]
        );
    }

    #[test]
    fn exact_source_types() {
        let hinted = |json_type: &str, hint: &str| {
            sql(json!({"type": ["null", json_type], "x-sql-datatype": hint}))
        };
        assert_eq!(hinted("number", "numeric(12,2)"), ["numeric(12,2)"]);
        assert_eq!(
            hinted("number", "decimal(65,30) unsigned"),
            ["numeric(65,30)"]
        );
        assert_eq!(hinted("number", "double precision"), ["double precision"]);
        assert_eq!(hinted("number", "float"), ["real"]);
        assert_eq!(hinted("integer", "bigint(20) unsigned"), ["numeric(20,0)"]);
        assert_eq!(hinted("integer", "int(11)"), ["bigint"]);
        assert_eq!(hinted("string", "uuid"), ["uuid"]);
        assert_eq!(hinted("string", "varchar(255)"), ["character varying(255)"]);
        assert_eq!(hinted("string", "character(3)"), ["text"]);
        assert_eq!(hinted("string", "time"), ["interval"]);
        assert_eq!(hinted("array", "integer[]"), ["integer[]"]);
        assert_eq!(hinted("array", "mood[]"), ["text[]"]);
        assert_eq!(hinted("array", "set('a','b')"), ["text[]"]);
        assert_eq!(hinted("array", "json"), ["jsonb"]);
        assert_eq!(
            sql(json!({"type": "string", "format": "date-time",
                       "x-sql-datatype": "timestamp without time zone"})),
            ["timestamp without time zone"]
        );
        assert_eq!(
            sql(json!({"type": "string", "format": "date-time", "x-sql-datatype": "datetime(6)"})),
            ["timestamp without time zone"]
        );
        assert_eq!(
            sql(json!({"type": "string", "contentEncoding": "base16", "x-sql-datatype": "bytea"})),
            ["bytea"]
        );
        let unsigned_max = json!({"type": "integer", "minimum": 0,
                                  "maximum": 18446744073709551615u64});
        assert_eq!(sql(unsigned_max), ["numeric(20,0)"]);
    }

    #[test]
    fn families_of_existing_columns_and_widening() {
        assert_eq!(Family::of_sql_type("numeric(12,2)"), Family::Numeric);
        assert_eq!(Family::of_sql_type("integer[]"), Family::Array);
        assert_eq!(Family::of_sql_type("character varying(20)"), Family::Text);
        assert_eq!(
            Family::of_sql_type("timestamp without time zone"),
            Family::Timestamp
        );
        let numeric_14 = ColumnType::new("numeric(14,2)", Family::Numeric);
        assert_eq!(
            widening("numeric(12,2)", &numeric_14).unwrap().sql,
            "numeric"
        );
        assert_eq!(widening("numeric", &numeric_14), None);
        assert_eq!(widening("numeric(14,2)", &numeric_14), None);
        assert_eq!(
            widening("text", &ColumnType::new("uuid", Family::Text)),
            None
        );
        assert_eq!(
            widening("uuid", &ColumnType::general(Family::Text))
                .unwrap()
                .sql,
            "text"
        );
        assert_eq!(
            widening("integer", &ColumnType::general(Family::BigInt))
                .unwrap()
                .sql,
            "bigint"
        );
        assert_eq!(
            ColumnType::new("numeric(12,2)", Family::Numeric).numeric_limits(),
            Some((12, 2))
        );
        assert_eq!(
            ColumnType::new("character varying(5)", Family::Text).max_chars(),
            Some(5)
        );
    }
}
