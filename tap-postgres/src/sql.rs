//! Quoting for the SQL the tap builds. Identifiers and literals go through here and nowhere else.

use serde_json::Value;

use crate::column_type::ValueKind;

/// `"name"`, with embedded quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."table"`.
pub fn qualified_table(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_identifier(schema), quote_identifier(table))
}

/// A bookmark value (as the tap emitted it) as a typed SQL literal: `'2026-01-01T00:00:00Z'::date`.
/// `COPY (query)` takes no parameters, so bookmarks are written into the query, always quoted.
pub fn bookmark_literal(value: &Value, sql_type: &str, kind: &ValueKind) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let text = match kind {
        // Emitted as hex without PostgreSQL's `\x`.
        ValueKind::Bytea => format!("\\x{text}"),
        _ => text,
    };
    format!("{}::{sql_type}", string_literal(&text))
}

/// `text` as a SQL string literal.
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting() {
        assert_eq!(quote_identifier(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(qualified_table("Sales", "order"), r#""Sales"."order""#);
        assert_eq!(
            bookmark_literal(&json!("O'Brien"), "text", &ValueKind::Text),
            "'O''Brien'::text"
        );
        assert_eq!(
            bookmark_literal(
                &serde_json::from_str("1.5000000000000000000001").unwrap(),
                "numeric(40,10)",
                &ValueKind::Numeric
            ),
            "'1.5000000000000000000001'::numeric(40,10)"
        );
        assert_eq!(
            bookmark_literal(&json!("dead"), "bytea", &ValueKind::Bytea),
            r"'\xdead'::bytea"
        );
    }
}
