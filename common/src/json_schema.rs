//! JSON Schema helpers shared by the taps (building a column's schema) and the target (reading
//! one back into a column type).
//!
//! Taps in the wild write a property's type several ways: `"type": "string"`,
//! `"type": ["null", "string"]`, or `"anyOf": [{"type": "string", "format": "date-time"},
//! {"type": "null"}]` (Meltano SDK). [`PropertyTypes`] reads them all into one shape.

use serde_json::{Map, Value, json};

/// The key under which our taps put the exact source type (`numeric(12,2)`, `bigint unsigned`).
pub const X_SQL_DATATYPE: &str = "x-sql-datatype";

/// The key under which our taps name a stream's source (`tap-mysql shop`) at the top of its
/// schema, so a target can tell two sources whose streams share a name apart.
pub const X_SOURCE: &str = "x-source";

/// `schema` with the source (`<tap> <database>`) recorded under [`X_SOURCE`].
pub fn with_source(schema: &Value, tap: &str, database: &str) -> Value {
    let mut schema = schema.clone();
    if let Value::Object(object) = &mut schema {
        object.insert(
            X_SOURCE.to_owned(),
            Value::String(format!("{tap} {database}")),
        );
    }
    schema
}

/// A JSON Schema primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Object,
    Array,
}

impl JsonType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "string" => Self::String,
            "object" => Self::Object,
            "array" => Self::Array,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::String => "string",
            Self::Object => "object",
            Self::Array => "array",
        }
    }
}

/// What a property allows, whichever way its schema spells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyTypes {
    /// Non-null types, in the order first declared, without repeats.
    pub types: Vec<JsonType>,
    pub nullable: bool,
    /// `format` of the string branch (`date-time`, `date`, `time`, …).
    pub format: Option<String>,
}

impl PropertyTypes {
    /// Reads `type`, `anyOf` / `oneOf` (recursively) and `format`. A property with none of these
    /// allows anything: it has no types and is nullable.
    pub fn of(property: &Value) -> Self {
        let mut found = Self::default();
        found.collect(property);
        if found.types.is_empty() {
            found.nullable = true;
        }
        found
    }

    fn collect(&mut self, property: &Value) {
        let declared: Vec<&str> = match property.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for json_type in declared.into_iter().filter_map(JsonType::parse) {
            if json_type == JsonType::Null {
                self.nullable = true;
            } else if !self.types.contains(&json_type) {
                self.types.push(json_type);
            }
            if json_type == JsonType::String && self.format.is_none() {
                self.format = property
                    .get("format")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
        for key in ["anyOf", "oneOf"] {
            for branch in property
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.collect(branch);
            }
        }
    }

    /// The one non-null type, if there is exactly one.
    pub fn single(&self) -> Option<JsonType> {
        match self.types.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// The source type our taps record on a property.
pub fn sql_datatype(property: &Value) -> Option<&str> {
    property.get(X_SQL_DATATYPE).and_then(Value::as_str)
}

/// The properties of an object schema, in declared order.
pub fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Builds a nullable property: `{"type": ["null", kind], "format": …, "x-sql-datatype": …}`.
pub fn nullable_property(kind: JsonType, format: Option<&str>, sql_datatype: &str) -> Value {
    let mut property = json!({"type": ["null", kind.as_str()]});
    if let Some(format) = format {
        property["format"] = format.into();
    }
    property[X_SQL_DATATYPE] = sql_datatype.into();
    property
}

/// `{"type": ["null", name]}`, or `{"type": [name]}` for a column that is never NULL: the start
/// of every property a tap's discovery writes.
pub fn typed_property(name: &str, nullable: bool) -> Value {
    if nullable {
        json!({"type": ["null", name]})
    } else {
        json!({"type": [name]})
    }
}

/// An integer property bounded by its column type's range ([`typed_property`] with `minimum` and
/// `maximum`). The bounds may lie beyond 64-bit signed integers (MySQL's `bigint unsigned`,
/// PostgreSQL's `xid8`): JSON numbers of any size.
pub fn integer_property(minimum: i128, maximum: i128, nullable: bool) -> Value {
    let bound = |value: i128| -> Value {
        match (i64::try_from(value), u64::try_from(value)) {
            (Ok(small), _) => small.into(),
            (_, Ok(unsigned)) => unsigned.into(),
            _ => value.to_string().into(),
        }
    };
    let mut property = typed_property("integer", nullable);
    property["minimum"] = bound(minimum);
    property["maximum"] = bound(maximum);
    property
}

/// An object schema from named properties, in order.
pub fn object_schema(properties: impl IntoIterator<Item = (String, Value)>) -> Value {
    json!({"type": "object", "properties": properties.into_iter().collect::<Map<_, _>>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_type_reads_the_same() {
        let plain = PropertyTypes::of(&json!({"type": "string", "format": "date-time"}));
        assert_eq!(plain.types, [JsonType::String]);
        assert!(!plain.nullable);
        assert_eq!(plain.format.as_deref(), Some("date-time"));

        let list = PropertyTypes::of(&json!({"type": ["null", "string"], "format": "date-time"}));
        let sdk = PropertyTypes::of(&json!({"anyOf": [
            {"type": "string", "format": "date-time"}, {"type": "null"}]}));
        assert_eq!(list, sdk);
        assert!(sdk.nullable);
        assert_eq!(sdk.single(), Some(JsonType::String));
    }

    #[test]
    fn multi_type_and_schemaless_properties() {
        let multi = PropertyTypes::of(&json!({"type": ["null", "integer", "string", "integer"]}));
        assert_eq!(multi.types, [JsonType::Integer, JsonType::String]);
        assert_eq!(multi.single(), None);
        let nested = PropertyTypes::of(&json!({"anyOf": [{"type": "number"},
            {"oneOf": [{"type": "boolean"}, {"type": "null"}]}]}));
        assert_eq!(nested.types, [JsonType::Number, JsonType::Boolean]);
        assert!(nested.nullable);
        let anything = PropertyTypes::of(&json!({}));
        assert!(anything.types.is_empty() && anything.nullable);
        // Unknown names are ignored rather than fatal.
        assert_eq!(
            PropertyTypes::of(&json!({"type": ["decimal", "number"]})).types,
            [JsonType::Number]
        );
    }

    #[test]
    fn built_properties_read_back() {
        let property = nullable_property(JsonType::String, Some("date"), "date");
        assert_eq!(sql_datatype(&property), Some("date"));
        let types = PropertyTypes::of(&property);
        assert_eq!(
            (types.single(), types.nullable),
            (Some(JsonType::String), true)
        );
        assert_eq!(types.format.as_deref(), Some("date"));
        let schema = object_schema([("id".to_owned(), property)]);
        assert_eq!(properties(&schema).unwrap().len(), 1);
    }
}
