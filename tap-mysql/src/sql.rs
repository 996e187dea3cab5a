//! Quoting for the SQL the tap builds. Identifiers and literals go through here and nowhere else.

use serde_json::Value;

use crate::column_type::ValueKind;

/// `` `name` ``, with embedded backticks doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `db`.`table` ``.
pub fn qualified_table(database: &str, table: &str) -> String {
    format!("{}.{}", quote_identifier(database), quote_identifier(table))
}

/// `'text'`, escaped for the session's `sql_mode` (backslash escapes on).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A bookmark value (as the tap emitted it) as a literal comparable with its column. Numbers stay
/// unquoted: MySQL compares an integer column with a string as a double, which loses digits.
pub fn bookmark_literal(value: &Value, kind: &ValueKind) -> String {
    match (value, kind) {
        (Value::Number(number), _) => number.to_string(),
        // Emitted as RFC 3339 in UTC; the session is in UTC.
        (Value::String(text), ValueKind::DateTime) => {
            quote_literal(&text.trim_end_matches('Z').replacen('T', " ", 1))
        }
        (Value::String(text), ValueKind::Binary) => format!("x{}", quote_literal(text)),
        (Value::String(text), _) => quote_literal(text),
        (Value::Bool(flag), _) => u8::from(*flag).to_string(),
        (other, _) => quote_literal(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting() {
        assert_eq!(quote_identifier("we`ird"), "`we``ird`");
        assert_eq!(qualified_table("shop", "order"), "`shop`.`order`");
        assert_eq!(quote_literal(r"O'Br\ien"), r"'O\'Br\\ien'");
        assert_eq!(
            bookmark_literal(&json!(18446744073709551615_u64), &ValueKind::Decimal),
            "18446744073709551615"
        );
        assert_eq!(
            bookmark_literal(&json!("2026-01-01T10:00:00.000000Z"), &ValueKind::DateTime),
            "'2026-01-01 10:00:00.000000'"
        );
        assert_eq!(
            bookmark_literal(&json!("dead"), &ValueKind::Binary),
            "x'dead'"
        );
    }
}
