//! Records checked against their stream's SCHEMA, compiled once per SCHEMA message.
//!
//! The SCHEMAs taps write declare types, bounds and lengths: those are checked here on the
//! borrowed record (`TypedSchema`), at a fraction of the cost of building a `serde_json::Value`
//! for it. A SCHEMA using anything more (`enum`, `pattern`, `additionalProperties: false`, …)
//! goes to the `jsonschema` crate, on a `Value` of the record.
//!
//! A violation names the property and how its value breaks the SCHEMA (`a string of 300
//! characters is longer than the maxLength of 255`), never the value: it is logged, printed and
//! stored with a rejected record, and a record's values may be personal data. So the `jsonschema`
//! crate's messages, which quote the value, are not used: its violations are told here, by kind.
//!
//! Formats (`date-time`, …) are not checked here: taps write timestamps many ways PostgreSQL
//! accepts, and the encoder checks each value against the column it goes to. Neither is
//! `multipleOf`: checked in floating point it fails exact decimals (`-0.01` against `0.01`), and
//! the encoder checks decimals exactly against their `numeric(p,s)`.

use std::cmp::Ordering;

use common::json_schema::{JsonType, PropertyTypes};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{Map, Number, Value};

use crate::json::{Json, Kind, Object, describe_value};

/// A stream's compiled SCHEMA.
#[derive(Debug)]
pub enum RecordValidator {
    /// Types, bounds and lengths, checked on the borrowed record.
    Typed(Box<TypedSchema>),
    /// Any other SCHEMA, checked by `jsonschema` on a `Value` of the record.
    General(Box<Validator>),
}

/// The first way a record breaks its SCHEMA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the property at fault (`/items/0/sku`).
    pub path: String,
    /// What is wrong, without the value (see the module comment).
    pub message: String,
}

impl RecordValidator {
    /// Compiles a SCHEMA; the error says why it is not a usable JSON Schema.
    pub fn new(schema: &Value) -> Result<Self, String> {
        match TypedSchema::compile(schema) {
            Some(typed) => Ok(Self::Typed(Box::new(typed))),
            None => Self::general(schema),
        }
    }

    /// The `jsonschema` validator, whatever the SCHEMA.
    fn general(schema: &Value) -> Result<Self, String> {
        let mut options = jsonschema::options().should_validate_formats(false);
        if schema.get("$schema").is_none() {
            // What Singer taps write, whatever their age.
            options = options.with_draft(Draft::Draft7);
        }
        let validator = options
            .build(&without_multiple_of(schema))
            .map_err(|error| error.to_string())?;
        Ok(Self::General(Box::new(validator)))
    }

    pub fn check(&self, record: &Object<'_>) -> Result<(), Violation> {
        match self {
            Self::Typed(typed) => {
                typed.check_object(record).map_err(|failure| Violation {
                    // Segments were added on the way out, innermost first.
                    path: failure.path.iter().rev().map(|p| format!("/{p}")).collect(),
                    message: failure.message,
                })
            }
            Self::General(validator) => match record.to_value() {
                Ok(value) => check_value(validator, &value),
                // serde_json's words ("unexpected end of hex escape", "recursion limit
                // exceeded") name no value.
                Err(error) => Err(Violation {
                    path: String::new(),
                    message: format!("a value JSON text cannot hold here: {error}"),
                }),
            },
        }
    }
}

/// What a SCHEMA node requires of a value, when it requires nothing `TypedSchema` cannot check.
#[derive(Debug, Default)]
pub struct TypedSchema {
    /// Allowed types; empty allows any.
    types: Vec<JsonType>,
    nullable: bool,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    required: Vec<String>,
    properties: Vec<(String, TypedSchema)>,
    items: Option<Box<TypedSchema>>,
}

/// Keywords that constrain a value and that `TypedSchema` does not check: a SCHEMA using one goes
/// to `jsonschema`. Any other keyword is an annotation (`description`, `x-sql-datatype`, …).
const GENERAL_KEYWORDS: [&str; 24] = [
    "enum",
    "const",
    "pattern",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "allOf",
    "oneOf",
    "not",
    "if",
    "$ref",
    "unevaluatedProperties",
];

impl TypedSchema {
    fn compile(schema: &Value) -> Option<Self> {
        let Value::Object(node) = schema else {
            // `true` allows anything; `false` nothing, which jsonschema handles.
            return (schema == &Value::Bool(true)).then(Self::default);
        };
        let constrains = |keyword: &str| match node.get(keyword) {
            None => false,
            // The default.
            Some(Value::Bool(true)) => keyword != "additionalProperties",
            Some(_) => true,
        };
        if GENERAL_KEYWORDS.iter().any(|keyword| constrains(keyword)) {
            return None;
        }
        let types = PropertyTypes::of(schema);
        for branch in node
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // Branches that only name types are what `PropertyTypes` reads.
            let simple = branch.as_object().is_some_and(|b| {
                b.keys()
                    .all(|k| matches!(k.as_str(), "type" | "format" | "description" | "title"))
            });
            if !simple {
                return None;
            }
        }
        if matches!(node.get("type"), Some(v) if !v.is_string() && !v.is_array()) {
            return None;
        }
        let number = |key: &str| match node.get(key) {
            None => Some(None),
            Some(Value::Number(n)) => Some(Some(Bound::new(n))),
            Some(_) => None,
        };
        let length = |key: &str| match node.get(key) {
            None => Some(None),
            Some(value) => value.as_u64().map(Some),
        };
        let required = match node.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        let properties = match node.get("properties") {
            None => Vec::new(),
            Some(Value::Object(properties)) => properties
                .iter()
                .map(|(name, property)| Some((name.clone(), Self::compile(property)?)))
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        let items = match node.get("items") {
            None => None,
            Some(items @ (Value::Object(_) | Value::Bool(_))) => {
                Some(Box::new(Self::compile(items)?))
            }
            Some(_) => return None,
        };
        let nullable = types.nullable || types.types.is_empty();
        Some(Self {
            types: types.types,
            nullable,
            minimum: number("minimum")?,
            maximum: number("maximum")?,
            min_length: length("minLength")?,
            max_length: length("maxLength")?,
            required,
            properties,
            items,
        })
    }

    fn check_object(&self, object: &Object<'_>) -> Result<(), Failure> {
        for name in &self.required {
            if object.get(name).is_none() {
                return Err(required(name).into());
            }
        }
        for (name, property) in &self.properties {
            if let Some(value) = object.get(name) {
                property
                    .check(value)
                    .map_err(|failure| failure.inside(name))?;
            }
        }
        Ok(())
    }

    fn check(&self, value: Json<'_>) -> Result<(), Failure> {
        let kind = value.kind();
        if !self.allows(value, kind) {
            let names = self
                .types
                .iter()
                .map(|t| t.as_str())
                .chain(self.nullable.then_some("null"));
            return Err(not_of_types(&value.describe(), names).into());
        }
        match kind {
            Kind::Number => self.check_bounds(value.raw()),
            Kind::String if self.min_length.is_some() || self.max_length.is_some() => {
                let text = value.as_str().unwrap_or_default();
                let length = text.chars().count() as u64;
                if let Some(max) = self.max_length.filter(|max| length > *max) {
                    return Err(length_beyond(&value.describe(), Limit::Max, max).into());
                }
                if let Some(min) = self.min_length.filter(|min| length < *min) {
                    return Err(length_beyond(&value.describe(), Limit::Min, min).into());
                }
                Ok(())
            }
            Kind::Object if !self.properties.is_empty() || !self.required.is_empty() => {
                let object = value.as_object().unwrap_or_default();
                self.check_object(&object)
            }
            Kind::Array => {
                let Some(items) = self.items.as_deref().filter(|i| !i.is_trivial()) else {
                    return Ok(());
                };
                for (index, element) in value.as_array().unwrap_or_default().into_iter().enumerate()
                {
                    items
                        .check(element)
                        .map_err(|failure| failure.inside(&index.to_string()))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Allows any value: nothing to walk into.
    fn is_trivial(&self) -> bool {
        self.types.is_empty()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.required.is_empty()
            && self.properties.is_empty()
            && self.items.is_none()
    }

    fn allows(&self, value: Json<'_>, kind: Kind) -> bool {
        if self.types.is_empty() {
            return true;
        }
        let allowed = |t: JsonType| self.types.contains(&t);
        match kind {
            Kind::Null => self.nullable,
            Kind::Bool => allowed(JsonType::Boolean),
            Kind::String => allowed(JsonType::String),
            Kind::Array => allowed(JsonType::Array),
            Kind::Object => allowed(JsonType::Object),
            Kind::Number => {
                allowed(JsonType::Number) || (allowed(JsonType::Integer) && is_integer(value.raw()))
            }
        }
    }

    fn check_bounds(&self, number: &str) -> Result<(), Failure> {
        if let Some(minimum) = &self.minimum
            && minimum.compare(number) == Ordering::Greater
        {
            return Err(beyond_bound(Limit::Min, &minimum.text).into());
        }
        if let Some(maximum) = &self.maximum
            && maximum.compare(number) == Ordering::Less
        {
            return Err(beyond_bound(Limit::Max, &maximum.text).into());
        }
        Ok(())
    }
}

/// Why a value fails, and where: path segments are added as the failure travels out.
#[derive(Debug)]
struct Failure {
    /// Innermost segment first.
    path: Vec<String>,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self {
            path: Vec::new(),
            message,
        }
    }
}

impl Failure {
    fn inside(mut self, segment: &str) -> Self {
        self.path.push(segment.to_owned());
        self
    }
}

/// A `minimum` or `maximum`, read once.
#[derive(Debug)]
struct Bound {
    text: String,
    integer: Option<i128>,
    float: f64,
}

impl Bound {
    fn new(number: &Number) -> Self {
        let text = number.as_str().to_owned();
        Self {
            integer: text.parse().ok(),
            float: text.parse().unwrap_or(f64::NAN),
            text,
        }
    }

    /// The bound compared to `number`: exactly when both are integers of up to 128 bits, else as
    /// doubles.
    fn compare(&self, number: &str) -> Ordering {
        if let (Some(bound), Ok(number)) = (self.integer, number.parse::<i128>()) {
            return bound.cmp(&number);
        }
        match number.parse::<f64>() {
            Ok(number) => self.float.partial_cmp(&number).unwrap_or(Ordering::Equal),
            Err(_) => Ordering::Equal,
        }
    }
}

/// An integer as JSON Schema counts them: any number without a fraction (`1.0`, `1e3`).
fn is_integer(number: &str) -> bool {
    if !number.contains(['.', 'e', 'E']) {
        return true;
    }
    crate::encode::decimal_digits(number).1 == 0
}

fn check_value(validator: &Validator, record: &Value) -> Result<(), Violation> {
    // The validator reads numbers as i64, u64 or f64: a wider one would fail "integer" in a
    // type list, or could not be compared at all. It is checked in a stand-in of the same JSON
    // type; the encoder checks the real value against its column.
    let stand_in;
    let record = if has_wide_number(record) {
        stand_in = with_narrow_numbers(record);
        &stand_in
    } else {
        record
    };
    match validator.validate(record) {
        Ok(()) => Ok(()),
        Err(error) => Err(Violation {
            path: error.instance_path.to_string(),
            message: violation_message(&error),
        }),
    }
}

/// Which end of a range a value is beyond.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Min,
    Max,
}

/// The messages both validators give, so that a SCHEMA reads the same whichever checks it.
fn required(name: &str) -> String {
    format!("{name:?} is a required property")
}

fn not_of_types<'t>(found: &str, types: impl Iterator<Item = &'t str>) -> String {
    // Sorted: the two validators list a SCHEMA's types in different orders.
    let mut names: Vec<String> = types.map(|t| format!("{t:?}")).collect();
    names.sort();
    let plural = if names.len() > 1 { "s" } else { "" };
    format!("{found} is not of type{plural} {}", names.join(", "))
}

fn length_beyond(found: &str, limit: Limit, bound: u64) -> String {
    match limit {
        Limit::Min => format!("{found} is shorter than the minLength of {bound}"),
        Limit::Max => format!("{found} is longer than the maxLength of {bound}"),
    }
}

fn beyond_bound(limit: Limit, bound: &str) -> String {
    match limit {
        Limit::Min => format!("a number less than the minimum of {bound}"),
        Limit::Max => format!("a number greater than the maximum of {bound}"),
    }
}

/// What a `jsonschema` violation says, told without the value: the crate's own message quotes it.
/// Limits, types, patterns and property names come from the SCHEMA and are named.
fn violation_message(error: &ValidationError<'_>) -> String {
    let found = describe_value(&error.instance);
    let count = |keyword: &str, limit: Limit, bound: &dyn std::fmt::Display| {
        let (more, noun) = match limit {
            Limit::Min => ("fewer", "minimum"),
            Limit::Max => ("more", "maximum"),
        };
        format!("{found} has {more} than the {keyword} {noun} of {bound}")
    };
    match &error.kind {
        ValidationErrorKind::Type { kind } => {
            let types: Vec<String> = match kind {
                TypeKind::Single(single) => vec![single.to_string()],
                TypeKind::Multiple(types) => types.iter().map(|t| t.to_string()).collect(),
            };
            not_of_types(&found, types.iter().map(String::as_str))
        }
        ValidationErrorKind::Required { property } => {
            required(property.as_str().unwrap_or_default())
        }
        ValidationErrorKind::MaxLength { limit } => length_beyond(&found, Limit::Max, *limit),
        ValidationErrorKind::MinLength { limit } => length_beyond(&found, Limit::Min, *limit),
        ValidationErrorKind::Maximum { limit } => beyond_bound(Limit::Max, &limit.to_string()),
        ValidationErrorKind::Minimum { limit } => beyond_bound(Limit::Min, &limit.to_string()),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("a number not less than the exclusiveMaximum of {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("a number not greater than the exclusiveMinimum of {limit}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("a number that is not a multiple of {multiple_of}")
        }
        ValidationErrorKind::Enum { options } => {
            let allowed = options.as_array().map_or(1, Vec::len);
            format!("{found} is none of the {allowed} values its enum allows")
        }
        ValidationErrorKind::Constant { .. } => {
            format!("{found} is not the value its const requires")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{found} does not match the pattern {pattern:?}")
        }
        ValidationErrorKind::Format { format } => format!("{found} is not a valid {format}"),
        ValidationErrorKind::ContentEncoding { content_encoding } => {
            format!("{found} is not valid {content_encoding} content")
        }
        ValidationErrorKind::ContentMediaType { content_media_type } => {
            format!("{found} is not valid {content_media_type} content")
        }
        ValidationErrorKind::FromUtf8 { .. } => format!("{found} does not decode to UTF-8 text"),
        ValidationErrorKind::MaxItems { limit } => count("maxItems", Limit::Max, limit),
        ValidationErrorKind::MinItems { limit } => count("minItems", Limit::Min, limit),
        ValidationErrorKind::AdditionalItems { limit } => count("items", Limit::Max, limit),
        ValidationErrorKind::MaxProperties { limit } => count("maxProperties", Limit::Max, limit),
        ValidationErrorKind::MinProperties { limit } => count("minProperties", Limit::Min, limit),
        ValidationErrorKind::UniqueItems => format!("{found} has items that repeat"),
        ValidationErrorKind::Contains => format!("{found} has no item that its contains allows"),
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let names: Vec<String> = unexpected.iter().map(|name| format!("{name:?}")).collect();
            format!("properties the SCHEMA does not allow: {}", names.join(", "))
        }
        // `unexpected` holds the items themselves: only their number is told.
        ValidationErrorKind::UnevaluatedItems { unexpected } => {
            format!(
                "{found} has {} items the SCHEMA does not allow",
                unexpected.len()
            )
        }
        ValidationErrorKind::PropertyNames { error } => {
            format!(
                "a property name breaks propertyNames: {}",
                violation_message(error)
            )
        }
        ValidationErrorKind::AnyOf { .. } => {
            format!("{found} matches none of the schemas of its anyOf")
        }
        ValidationErrorKind::OneOfNotValid { .. } => {
            format!("{found} matches none of the schemas of its oneOf")
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!("{found} matches more than one of the schemas of its oneOf")
        }
        ValidationErrorKind::Not { .. } => format!("{found} matches the schema its not forbids"),
        // `additionalProperties: false` without `properties` reports the first property's value.
        ValidationErrorKind::FalseSchema
            if error
                .schema_path
                .to_string()
                .ends_with("/additionalProperties") =>
        {
            "properties the SCHEMA does not allow (additionalProperties is false)".to_owned()
        }
        ValidationErrorKind::FalseSchema => format!("{found} is not allowed here (schema false)"),
        ValidationErrorKind::Custom { .. } => format!("{found} breaks a custom keyword"),
        ValidationErrorKind::BacktrackLimitExceeded { .. } => {
            format!("{found} took too long to match against its pattern")
        }
        // About the SCHEMA (a `$ref` that does not resolve), not the value.
        ValidationErrorKind::Referencing(cause) => cause.to_string(),
    }
}

/// `schema` without `multipleOf` (see the module comment).
fn without_multiple_of(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| *key != "multipleOf")
                .map(|(key, value)| (key.clone(), without_multiple_of(value)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_multiple_of).collect()),
        other => other.clone(),
    }
}

fn is_wide(number: &Number) -> bool {
    let integral = !number.as_str().contains(['.', 'e', 'E']);
    (integral && !number.is_i64() && !number.is_u64()) || number.as_f64().is_none()
}

fn has_wide_number(value: &Value) -> bool {
    match value {
        Value::Number(number) => is_wide(number),
        Value::Array(items) => items.iter().any(has_wide_number),
        Value::Object(object) => object.values().any(has_wide_number),
        _ => false,
    }
}

/// `value` with every wide number replaced by the widest one of its kind the validator reads.
fn with_narrow_numbers(value: &Value) -> Value {
    match value {
        Value::Number(number) if is_wide(number) => {
            if number.as_str().contains(['.', 'e', 'E']) {
                Number::from_f64(f64::MAX).map_or(Value::Null, Value::Number)
            } else if number.as_str().starts_with('-') {
                Value::from(i64::MIN)
            } else {
                Value::from(u64::MAX)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(with_narrow_numbers).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| (key.clone(), with_narrow_numbers(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed and the general validator of `schema`: both must agree.
    fn both(schema: Value) -> [RecordValidator; 2] {
        let typed = RecordValidator::new(&schema).unwrap();
        assert!(matches!(typed, RecordValidator::Typed(_)), "{schema}");
        [typed, RecordValidator::general(&schema).unwrap()]
    }

    fn check(validator: &RecordValidator, text: &str) -> Result<(), Violation> {
        let object: Object = serde_json::from_str(text).unwrap();
        validator.check(&object)
    }

    #[test]
    fn violations_name_the_property() {
        for validator in both(json!({"type": "object", "properties": {
            "id": {"type": "integer", "minimum": -5, "maximum": 18446744073709551615_u64},
            "name": {"type": ["null", "string"], "maxLength": 3},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string"}}}}}}))
        {
            let ok = |text| assert_eq!(check(&validator, text), Ok(()), "{text}");
            let bad = |text, path: &str, words: &str| {
                let violation = check(&validator, text).expect_err(text);
                assert_eq!(violation.path, path, "{text}");
                assert!(violation.message.contains(words), "{}", violation.message);
            };
            ok(r#"{"id": 1, "items": [{"sku": "a"}], "other": "x"}"#);
            ok(r#"{"id": 1.0, "name": "äöü"}"#);
            ok(r#"{"id": 18446744073709551615, "name": null}"#);
            bad(r#"{"id": 1e400, "name": "a"}"#, "/id", "maximum");
            bad(
                r#"{"id": 1, "items": [{"sku": 5}]}"#,
                "/items/0/sku",
                "string",
            );
            bad(r#"{"id": "x"}"#, "/id", "integer");
            bad(r#"{"id": 1.5}"#, "/id", "integer");
            bad(r#"{"id": null}"#, "/id", "integer");
            bad(r#"{"id": -6}"#, "/id", "minimum");
            if matches!(validator, RecordValidator::Typed(_)) {
                // jsonschema compares through a 64-bit stand-in; the typed check is exact.
                bad(r#"{"id": 18446744073709551616}"#, "/id", "maximum");
            }
            bad(r#"{"id": 1, "name": "abcd"}"#, "/name", "longer");
            bad(r#"{"id": 1, "items": {"sku": "a"}}"#, "/items", "array");
        }
    }

    /// A violation is logged, printed and stored with a rejected record: it names the property
    /// and what is wrong, never the value (here every bad value holds `1234`).
    #[test]
    fn violations_never_hold_the_value() {
        for validator in both(json!({"properties": {
            "id": {"type": "integer", "maximum": 100},
            "low": {"type": "number", "minimum": 5},
            "name": {"type": ["null", "string"], "maxLength": 5},
            "code": {"type": "string", "minLength": 30}}}))
        {
            assert_violations(
                &validator,
                &[
                    (
                        r#"{"id": "secret-value-1234"}"#,
                        "/id",
                        r#"a string of 17 characters is not of type "integer""#,
                    ),
                    (
                        r#"{"id": 12341234}"#,
                        "/id",
                        "a number greater than the maximum of 100",
                    ),
                    (
                        r#"{"low": -1234.5}"#,
                        "/low",
                        "a number less than the minimum of 5",
                    ),
                    (
                        r#"{"name": "secret-value-1234"}"#,
                        "/name",
                        "a string of 17 characters is longer than the maxLength of 5",
                    ),
                    (
                        r#"{"name": ["secret-value-1234"]}"#,
                        "/name",
                        r#"an array of 1 item is not of types "null", "string""#,
                    ),
                    (
                        r#"{"code": "secret-value-1234"}"#,
                        "/code",
                        "a string of 17 characters is shorter than the minLength of 30",
                    ),
                ],
            );
        }
        let general = RecordValidator::new(&json!({"properties": {
            "code": {"type": "string", "pattern": "^[a-z]+$"},
            "status": {"enum": ["open", "closed"]},
            "kind": {"const": "a"},
            "score": {"type": "number", "exclusiveMaximum": 10},
            "tags": {"type": "array", "maxItems": 1},
            "unique": {"type": "array", "uniqueItems": true},
            "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
            "one": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
            "never": {"not": {"type": "string"}},
            "closed": {"type": "object", "additionalProperties": false},
            "declared": {"properties": {"b": {}}, "additionalProperties": false},
            "keys": {"propertyNames": {"maxLength": 3}}}}))
        .unwrap();
        assert!(matches!(general, RecordValidator::General(_)));
        assert_violations(
            &general,
            &[
                (
                    r#"{"code": "secret-value-1234"}"#,
                    "/code",
                    r#"a string of 17 characters does not match the pattern "^[a-z]+$""#,
                ),
                (
                    r#"{"status": "secret-value-1234"}"#,
                    "/status",
                    "a string of 17 characters is none of the 2 values its enum allows",
                ),
                (
                    r#"{"kind": "secret-value-1234"}"#,
                    "/kind",
                    "a string of 17 characters is not the value its const requires",
                ),
                (
                    r#"{"score": 1234}"#,
                    "/score",
                    "a number not less than the exclusiveMaximum of 10",
                ),
                (
                    r#"{"tags": ["secret-value-1234", "x"]}"#,
                    "/tags",
                    "an array of 2 items has more than the maxItems maximum of 1",
                ),
                (
                    r#"{"unique": ["secret-value-1234", "secret-value-1234"]}"#,
                    "/unique",
                    "an array of 2 items has items that repeat",
                ),
                (
                    r#"{"either": "secret-value-1234"}"#,
                    "/either",
                    "a string of 17 characters matches none of the schemas of its anyOf",
                ),
                (
                    r#"{"one": "secret-value-1234"}"#,
                    "/one",
                    "a string of 17 characters matches none of the schemas of its oneOf",
                ),
                (
                    r#"{"never": "secret-value-1234"}"#,
                    "/never",
                    "a string of 17 characters matches the schema its not forbids",
                ),
                (
                    r#"{"closed": {"a": "secret-value-1234"}}"#,
                    "/closed",
                    "properties the SCHEMA does not allow (additionalProperties is false)",
                ),
                (
                    r#"{"declared": {"a": "secret-value-1234"}}"#,
                    "/declared",
                    r#"properties the SCHEMA does not allow: "a""#,
                ),
                (
                    r#"{"keys": {"long": "secret-value-1234"}}"#,
                    "/keys",
                    "a property name breaks propertyNames: a string of 4 characters is longer \
                 than the maxLength of 3",
                ),
            ],
        );
    }

    /// Each record (text) breaks the SCHEMA at the path, with the message.
    fn assert_violations(validator: &RecordValidator, cases: &[(&str, &str, &str)]) {
        for (record, path, message) in cases {
            let violation = check(validator, record).expect_err(record);
            assert_eq!(violation.path, *path, "{record}");
            assert_eq!(violation.message, *message, "{record}");
        }
    }

    #[test]
    fn wide_numbers_are_numbers() {
        for validator in both(json!({"properties": {
            "n": {"type": ["null", "integer"]}, "x": {"type": "number"}}}))
        {
            // 1e400 is an integer, as JSON Schema counts them; its column decides where it goes.
            let wide = r#"{"n": 123456789012345678901234567890, "x": 1e400}"#;
            if matches!(validator, RecordValidator::Typed(_)) {
                assert_eq!(check(&validator, r#"{"n": 1e400}"#), Ok(()));
            }
            assert_eq!(check(&validator, wide), Ok(()));
            let negative = r#"{"n": -123456789012345678901234567890}"#;
            assert_eq!(check(&validator, negative), Ok(()));
            assert!(check(&validator, r#"{"n": "1e400"}"#).is_err());
        }
    }

    #[test]
    fn multiple_of_and_formats_are_left_to_the_encoder() {
        for validator in both(json!({"properties": {
            "amount": {"type": ["null", "number"], "multipleOf": 0.01},
            "at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}}}))
        {
            for amount in ["-0.01", "1070468.14", "0.5"] {
                let record = format!(r#"{{"amount": {amount}, "at": "2026-11-21 10:00:00"}}"#);
                assert_eq!(check(&validator, &record), Ok(()), "{amount}");
            }
        }
    }

    #[test]
    fn other_keywords_go_to_jsonschema() {
        let schema = json!({"properties": {"status": {"type": "string", "enum": ["a", "b"]}}});
        let validator = RecordValidator::new(&schema).unwrap();
        assert!(matches!(validator, RecordValidator::General(_)));
        assert_eq!(check(&validator, r#"{"status": "a"}"#), Ok(()));
        assert_eq!(
            check(&validator, r#"{"status": "c"}"#).unwrap_err().path,
            "/status"
        );
        let open = json!({"additionalProperties": true, "required": ["id"]});
        let validator = RecordValidator::new(&open).unwrap();
        assert!(matches!(validator, RecordValidator::Typed(_)));
        assert!(check(&validator, r#"{"x": 1}"#).is_err());
    }
}
