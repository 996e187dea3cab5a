//! JSON Schema property → warehouse column type, and how a type change is absorbed.
//!
//! Every column type belongs to a [`Family`]: the kind of JSON value it holds. A property gets one
//! column per family its schema allows. When a later SCHEMA asks for another family, the old
//! column stays and a new one is added with Stitch's suffix (`__st`, `__bi`, …); when it asks for
//! another type of the same family (`numeric(12,2)` → `numeric(14,2)`), the column is widened to
//! the family's general type, which holds both without loss.
//!
//! `x-sql-datatype`, where a tap gives it, picks the exact type when that type holds every value
//! losslessly: `numeric(12,2)`, `uuid`, `inet`, `timestamp without time zone`, `integer[]`,
//! `smallint`, `character(5)`, … Our taps spell PostgreSQL types as `format_type()` does and MySQL
//! types as `COLUMN_TYPE` does; the two spellings differ (`timestamp without time zone` vs
//! `datetime`, `character(5)` vs `char(5)`), which is how they are told apart.
//!
//! Integers get the narrowest of `smallint`, `integer`, `bigint` and `numeric(20,0)` that holds the
//! source type's whole range (`int` → `integer`, MySQL `int unsigned` → `bigint`, `tinyint` and
//! `year` → `smallint`). A column of the family meeting a wider integer type later is widened in
//! place (`integer` → `bigint`); a wider column than needed (a `bigint` made by an earlier version)
//! is kept as it is.

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

    /// `varchar(n)`'s and `char(n)`'s limit, which the encoder checks so a long value is rejected
    /// by name rather than failing the whole COPY (or, for excess spaces, being cut silently).
    pub fn max_chars(&self) -> Option<usize> {
        self.sql
            .strip_prefix("character varying(")
            .or_else(|| self.sql.strip_prefix("character("))?
            .strip_suffix(')')?
            .parse()
            .ok()
    }

    /// The range of `smallint` and `integer` (and `bigint`), for the encoder to check a value
    /// against its column (records that are not validated may go beyond the declared range).
    pub fn integer_range(&self) -> Option<(i64, i64)> {
        let (_, minimum, maximum) = INTEGER_TYPES
            .iter()
            .find(|(name, _, _)| *name == self.sql)?;
        Some((i64::try_from(*minimum).ok()?, i64::try_from(*maximum).ok()?))
    }

    /// `numeric(p,s)`'s precision and scale.
    pub fn numeric_limits(&self) -> Option<(u32, u32)> {
        let inner = self.sql.strip_prefix("numeric(")?.strip_suffix(')')?;
        let (precision, scale) = inner.split_once(',').unwrap_or((inner, "0"));
        Some((precision.trim().parse().ok()?, scale.trim().parse().ok()?))
    }

    /// Whether two values this type's `=` calls equal are the same value, as they read back.
    /// Not so for `numeric` of no fixed scale (`1.0 = 1.00`), `interval` (`'1 day' = '24 hours'`),
    /// floats (`-0 = 0`), `citext`, `json` (no `=` at all), geometric types (`=` compares areas)
    /// and anything not listed here: those are compared as text.
    pub fn equal_means_same(&self) -> bool {
        let element = self.sql.strip_suffix("[]").unwrap_or(&self.sql);
        matches!(
            element,
            "smallint"
                | "integer"
                | "bigint"
                | "boolean"
                | "text"
                | "uuid"
                | "date"
                | "timestamp with time zone"
                | "timestamp without time zone"
                | "time without time zone"
                | "jsonb"
                | "bytea"
        ) || element.starts_with("character varying")
            || element.starts_with("character(")
            || (element.starts_with("numeric(") && self.numeric_limits().is_some())
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

/// The PostgreSQL integer types, narrowest first, with the range each holds.
const INTEGER_TYPES: [(&str, i128, i128); 3] = [
    ("smallint", i16::MIN as i128, i16::MAX as i128),
    ("integer", i32::MIN as i128, i32::MAX as i128),
    ("bigint", i64::MIN as i128, i64::MAX as i128),
];

/// `numeric(20,0)` when the declared range (or the source type) goes beyond 64 bits; else the
/// narrowest integer type holding the whole range of the source integer type `x-sql-datatype`
/// names. The narrow type needs the SCHEMA's `minimum` and `maximum` too (our taps always declare
/// the source type's range): records are validated against them, so every value that reaches the
/// column fits it. Without them, or for any other source type (`oid`, a domain, `bit(n)`), `bigint`.
fn integer_type(property: &Value, hint: Option<&str>) -> ColumnType {
    let bound = |key: &str| property.get(key).and_then(Value::as_number);
    let beyond_bigint = |key: &str| bound(key).is_some_and(|bound| !bound.is_i64());
    let wide_hint = hint.is_some_and(|hint| {
        (hint.starts_with("bigint") && hint.contains("unsigned")) || hint == "bit(64)"
    });
    if beyond_bigint("maximum") || beyond_bigint("minimum") || wide_hint {
        return ColumnType::new("numeric(20,0)", Family::Numeric);
    }
    let declared = |key: &str| bound(key).and_then(|bound| bound.as_i64()).map(i128::from);
    if let Some((source_min, source_max)) = hint.and_then(integer_source_range)
        && let (Some(minimum), Some(maximum)) = (declared("minimum"), declared("maximum"))
    {
        // A declared range wider than the source type's (which our taps never write) wins.
        let (low, high) = (source_min.min(minimum), source_max.max(maximum));
        if let Some((sql, _, _)) = INTEGER_TYPES
            .iter()
            .find(|(_, min, max)| *min <= low && high <= *max)
        {
            return ColumnType::new(*sql, Family::BigInt);
        }
    }
    ColumnType::general(Family::BigInt)
}

/// The values an integer source type holds: PostgreSQL's `smallint`, `integer`, `bigint` and
/// MySQL's `tinyint` … `bigint`, signed or unsigned (`int(10) unsigned`, `tinyint(3) unsigned
/// zerofill`, `int unsigned`), and `year` (1901 to 2155, and 0).
fn integer_source_range(hint: &str) -> Option<(i128, i128)> {
    let hint = hint.trim();
    let name_end = hint.find(['(', ' ']).unwrap_or(hint.len());
    let (name, mut rest) = hint.split_at(name_end);
    if let Some(width) = rest.strip_prefix('(') {
        let (digits, after) = width.split_once(')')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest = after;
    }
    let mut unsigned = false;
    for word in rest.split_whitespace() {
        match word {
            // ZEROFILL implies UNSIGNED; MySQL writes both.
            "unsigned" | "zerofill" => unsigned = true,
            "signed" => {}
            _ => return None,
        }
    }
    let bits: u32 = match name {
        "year" if !unsigned => return Some((0, 2155)),
        "tinyint" | "int1" => 8,
        "smallint" | "int2" => 16,
        "mediumint" | "int3" => 24,
        "int" | "integer" | "int4" => 32,
        "bigint" | "int8" => 64,
        _ => return None,
    };
    Some(if unsigned {
        (0, (1_i128 << bits) - 1)
    } else {
        (-(1_i128 << (bits - 1)), (1_i128 << (bits - 1)) - 1)
    })
}

/// A rank for the integer types: which holds which.
fn integer_rank(sql: &str) -> Option<usize> {
    INTEGER_TYPES.iter().position(|(name, _, _)| *name == sql)
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
    const KEPT: [&str; 10] = [
        "uuid",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "interval",
        "xml",
        "time with time zone",
        "text",
        "bpchar",
    ];
    if KEPT.contains(&hint) {
        return Some(hint.to_owned());
    }
    let length = |prefix: &str| {
        hint.strip_prefix(prefix)
            .and_then(|a| a.strip_suffix(')'))
            .and_then(|length| length.parse::<u32>().ok())
            .filter(|n| (1..=10_485_760).contains(n))
    };
    // PostgreSQL's `char(n)` (`format_type()` writes `character(n)`): its text carries the
    // padding, which a `character(n)` column keeps, comparing as the source does.
    if let Some(length) = length("character(") {
        return Some(format!("character({length})"));
    }
    // PostgreSQL's and MySQL's `varchar(n)` both count characters. MySQL's `char(n)` is read
    // with its trailing spaces stripped: `varchar(n)` keeps that value as it is, where a
    // `character(n)` would pad it again.
    for prefix in ["character varying(", "varchar(", "char("] {
        if let Some(length) = length(prefix) {
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
/// is, or widened to the type returned: the wider of two integer types, else the family's general
/// type.
pub fn widening(existing: &str, wanted: &ColumnType) -> Option<ColumnType> {
    let general = ColumnType::general(wanted.family);
    if wanted.family == Family::BigInt
        && let (Some(existing), Some(wanted_rank)) =
            (integer_rank(existing), integer_rank(&wanted.sql))
    {
        // `bigint` holds `integer`'s values, which hold `smallint`'s.
        return (existing < wanted_rank).then(|| wanted.clone());
    }
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
        assert_eq!(hinted("string", "character(3)"), ["character(3)"]);
        assert_eq!(hinted("string", "char(3)"), ["character varying(3)"]);
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

    /// An integer property as our taps write it: the source type and its range.
    fn integer(hint: &str, minimum: i128, maximum: i128) -> Vec<String> {
        let bound = |n: i128| -> Value { serde_json::from_str(&n.to_string()).unwrap() };
        sql(
            json!({"type": ["null", "integer"], "minimum": bound(minimum),
                   "maximum": bound(maximum), "x-sql-datatype": hint}),
        )
    }

    #[test]
    fn integers_get_the_narrowest_type_holding_the_source_range() {
        let signed = |bits: u32| (-(1_i128 << (bits - 1)), (1_i128 << (bits - 1)) - 1);
        let unsigned = |bits: u32| (0, (1_i128 << bits) - 1);
        let cases = [
            // PostgreSQL, as `format_type()` writes them.
            ("smallint", signed(16), "smallint"),
            ("integer", signed(32), "integer"),
            ("bigint", signed(64), "bigint"),
            // MySQL 5.7 / MariaDB `COLUMN_TYPE`s, with display widths.
            ("tinyint(4)", signed(8), "smallint"),
            ("tinyint(3) unsigned", unsigned(8), "smallint"),
            ("tinyint(1)", signed(8), "smallint"),
            ("smallint(6)", signed(16), "smallint"),
            ("smallint(5) unsigned", unsigned(16), "integer"),
            ("mediumint(9)", signed(24), "integer"),
            ("mediumint(8) unsigned", unsigned(24), "integer"),
            ("int(11)", signed(32), "integer"),
            ("int(10) unsigned", unsigned(32), "bigint"),
            ("int(10) unsigned zerofill", unsigned(32), "bigint"),
            ("bigint(20)", signed(64), "bigint"),
            ("bigint(20) unsigned", unsigned(64), "numeric(20,0)"),
            ("year(4)", (0, 2155), "smallint"),
            // MySQL 8.0's, without.
            ("tinyint unsigned", unsigned(8), "smallint"),
            ("int", signed(32), "integer"),
            ("int unsigned", unsigned(32), "bigint"),
            ("bigint unsigned", unsigned(64), "numeric(20,0)"),
            ("year", (0, 2155), "smallint"),
            // Not an integer source type this knows: as before.
            ("oid", unsigned(32), "bigint"),
            ("positive", signed(32), "bigint"),
            ("bit(12)", (0, 4095), "bigint"),
            ("integer[]", signed(32), "bigint"),
        ];
        for (hint, (minimum, maximum), expected) in cases {
            assert_eq!(integer(hint, minimum, maximum), [expected], "{hint}");
        }
        // A declared range wider than the source type's wins.
        assert_eq!(integer("smallint", -1, 40_000), ["integer"]);
        // Without the declared range (that validation enforces), `bigint`.
        let hinted = |hint: &str| sql(json!({"type": "integer", "x-sql-datatype": hint}));
        assert_eq!(hinted("integer"), ["bigint"]);
        assert_eq!(hinted("smallint(6)"), ["bigint"]);
        assert_eq!(
            sql(json!({"type": "integer", "minimum": 0, "x-sql-datatype": "smallint"})),
            ["bigint"]
        );
        // Without `x-sql-datatype`, the range alone does not narrow.
        assert_eq!(
            sql(json!({"type": "integer", "minimum": 0, "maximum": 10})),
            ["bigint"]
        );
        // Malformed spellings are not guessed at.
        assert_eq!(integer("int(x)", 0, 10), ["bigint"]);
        assert_eq!(integer("int unsigned big", 0, 10), ["bigint"]);
        assert_eq!(integer("year unsigned", 0, 10), ["bigint"]);
    }

    #[test]
    fn char_types() {
        let hinted = |hint: &str| sql(json!({"type": ["null", "string"], "x-sql-datatype": hint}));
        // PostgreSQL's char(n) keeps its padding and its comparison.
        assert_eq!(hinted("character(5)"), ["character(5)"]);
        assert_eq!(hinted("bpchar"), ["bpchar"]);
        // MySQL's is read without trailing spaces: kept as read.
        assert_eq!(hinted("char(5)"), ["character varying(5)"]);
        assert_eq!(hinted("char(0)"), ["text"]);
        assert_eq!(hinted("character(0)"), ["text"]);
        assert_eq!(hinted("character(20000000)"), ["text"]);
        assert_eq!(hinted("enum('a','b')"), ["text"]);
        assert_eq!(
            ColumnType::new("character(5)", Family::Text).max_chars(),
            Some(5)
        );
        assert_eq!(ColumnType::new("bpchar", Family::Text).max_chars(), None);
        let char5 = ColumnType::new("character(5)", Family::Text);
        assert_eq!(widening("character(5)", &char5), None);
        // An earlier version's text column holds it as it is.
        assert_eq!(widening("text", &char5), None);
        assert_eq!(
            widening("character(3)", &char5).map(|t| t.sql),
            Some("text".into())
        );
    }

    #[test]
    fn integer_columns_widen_to_the_wider_type_and_never_narrow() {
        let int = |sql: &str| ColumnType::new(sql, Family::BigInt);
        // Columns of earlier versions, and wider ones, take narrower values as they are.
        assert_eq!(widening("bigint", &int("integer")), None);
        assert_eq!(widening("bigint", &int("smallint")), None);
        assert_eq!(widening("integer", &int("smallint")), None);
        assert_eq!(widening("integer", &int("integer")), None);
        // Narrower ones grow to what the source is now.
        assert_eq!(
            widening("smallint", &int("integer")).map(|t| t.sql),
            Some("integer".into())
        );
        assert_eq!(
            widening("integer", &int("bigint")).map(|t| t.sql),
            Some("bigint".into())
        );
        assert_eq!(
            widening("smallint", &ColumnType::general(Family::BigInt)).map(|t| t.sql),
            Some("bigint".into())
        );
        assert_eq!(int("smallint").integer_range(), Some((-32768, 32767)));
        assert_eq!(int("bigint").integer_range(), Some((i64::MIN, i64::MAX)));
        assert_eq!(Family::of_sql_type("smallint"), Family::BigInt);
        assert_eq!(Family::of_sql_type("character(5)"), Family::Text);
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
