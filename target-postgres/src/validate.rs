//! Records checked against their stream's SCHEMA with the `jsonschema` crate, compiled once per
//! SCHEMA message.
//!
//! Formats (`date-time`, …) are not checked here: taps write timestamps many ways PostgreSQL
//! accepts, and the encoder checks each value against the column it goes to.

use jsonschema::{Draft, Validator};
use serde_json::Value;

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
        let validator = options.build(schema).map_err(|error| error.to_string())?;
        Ok(Self { validator })
    }

    pub fn check(&self, record: &Value) -> Result<(), Violation> {
        // A number beyond a double's range cannot be compared by the validator; the encoder checks
        // it against its column instead.
        if has_huge_number(record) {
            return Ok(());
        }
        match self.validator.validate(record) {
            Ok(()) => Ok(()),
            Err(error) => Err(Violation {
                path: error.instance_path.to_string(),
                message: error.to_string(),
            }),
        }
    }
}

fn has_huge_number(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.as_f64().is_none(),
        Value::Array(items) => items.iter().any(has_huge_number),
        Value::Object(object) => object.values().any(has_huge_number),
        _ => false,
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
        let huge: Value = serde_json::from_str(r#"{"id": 1e400}"#).unwrap();
        assert_eq!(validator.check(&huge), Ok(()));
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
