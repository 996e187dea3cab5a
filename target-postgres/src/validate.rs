//! Records checked against their stream's SCHEMA with the `jsonschema` crate, compiled once per
//! SCHEMA message.
//!
//! Formats (`date-time`, …) are not checked here: taps write timestamps many ways PostgreSQL
//! accepts, and the encoder checks each value against the column it goes to.

use jsonschema::{Draft, Validator};
use serde_json::{Number, Value};

/// A stream's compiled SCHEMA.
#[derive(Debug)]
pub struct RecordValidator {
    validator: Validator,
}

/// The first way a record breaks its SCHEMA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the property at fault (`/items/0/sku`).
    pub path: String,
    pub message: String,
}

impl RecordValidator {
    /// Compiles a SCHEMA; the error says why it is not a usable JSON Schema.
    pub fn new(schema: &Value) -> Result<Self, String> {
        let mut options = jsonschema::options().should_validate_formats(false);
        if schema.get("$schema").is_none() {
            // What Singer taps write, whatever their age.
            options = options.with_draft(Draft::Draft7);
        }
        let validator = options
            .build(&without_multiple_of(schema))
            .map_err(|error| error.to_string())?;
        Ok(Self { validator })
    }

    pub fn check(&self, record: &Value) -> Result<(), Violation> {
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
        match self.validator.validate(record) {
            Ok(()) => Ok(()),
            Err(error) => Err(Violation {
                path: error.instance_path.to_string(),
                message: error.to_string(),
            }),
        }
    }
}

/// `schema` without `multipleOf`: the validator checks it in floating point (`-0.01` fails
/// `multipleOf: 0.01`, as does `1070468.14`), and singer-io taps put it on every decimal. The
/// encoder checks decimals exactly against their `numeric(p,s)` instead.
fn without_multiple_of(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| *key != "multipleOf")
                .map(|(key, value)| (key.clone(), without_multiple_of(value)))
                .collect(),
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

    #[test]
    fn violations_name_the_property() {
        let validator = RecordValidator::new(&json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string"}}}}}}))
        .unwrap();
        assert_eq!(
            validator.check(&json!({"id": 1, "items": [{"sku": "a"}]})),
            Ok(())
        );
        let violation = validator
            .check(&json!({"id": 1, "items": [{"sku": 5}]}))
            .unwrap_err();
        assert_eq!(violation.path, "/items/0/sku");
        assert!(
            violation.message.contains("string"),
            "{}",
            violation.message
        );
        assert_eq!(
            validator.check(&json!({"id": "x"})).unwrap_err().path,
            "/id"
        );
        // 1e400 is an integer, as JSON Schema counts them; its column decides where it goes.
        let huge: Value = serde_json::from_str(r#"{"id": 1e400}"#).unwrap();
        assert_eq!(validator.check(&huge), Ok(()));
        let nullable = RecordValidator::new(&json!({"properties": {
            "n": {"type": ["null", "integer"]}, "x": {"type": "number"}}}))
        .unwrap();
        let wide: Value =
            serde_json::from_str(r#"{"n": 123456789012345678901234567890, "x": 1e400}"#).unwrap();
        assert_eq!(nullable.check(&wide), Ok(()));
        let negative: Value =
            serde_json::from_str(r#"{"n": -123456789012345678901234567890}"#).unwrap();
        assert_eq!(nullable.check(&negative), Ok(()));
        let wrong: Value = serde_json::from_str(r#"{"n": "1e400"}"#).unwrap();
        assert!(nullable.check(&wrong).is_err());
    }

    #[test]
    fn multiple_of_is_left_to_the_encoder() {
        let validator = RecordValidator::new(&json!({"properties": {
            "amount": {"type": ["null", "number"], "multipleOf": 0.01}}}))
        .unwrap();
        for amount in ["-0.01", "1070468.14", "0.5"] {
            let record: Value =
                serde_json::from_str(&format!(r#"{{"amount": {amount}}}"#)).unwrap();
            assert_eq!(validator.check(&record), Ok(()), "{amount}");
        }
    }

    #[test]
    fn formats_are_left_to_the_encoder() {
        let validator = RecordValidator::new(&json!({"properties": {
            "at": {"type": "string", "format": "date-time"}}}))
        .unwrap();
        assert_eq!(
            validator.check(&json!({"at": "2026-11-21 10:00:00"})),
            Ok(())
        );
    }
}
