//! Config `select`: selection patterns written on the command line's side of the catalog.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::ReplicationMethod;

/// One entry of config `select`: `shop.orders`, `shop.customers.*`, `!shop.customers.ssn`, or an
/// object that also sets the table's method: `{"table": "shop.orders", "replication_method":
/// "INCREMENTAL", "replication_key": "updated_at"}`. Each part may use `*` and `?` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectPattern {
    /// `!`: deselect what matches.
    pub negated: bool,
    /// Schema (PostgreSQL) or database (MySQL).
    pub namespace: String,
    pub table: String,
    /// `None` for a pattern naming the table alone; `Some("*")` for every column.
    pub column: Option<String>,
    pub replication_method: Option<ReplicationMethod>,
    pub replication_key: Option<String>,
}

/// As written: `!shop.customers.ssn`.
impl fmt::Display for SelectPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        write!(f, "{}.{}", self.namespace, self.table)?;
        if let Some(column) = &self.column {
            write!(f, ".{column}")?;
        }
        Ok(())
    }
}

/// A `select` entry that is not of the form `namespace.table[.column]`.
#[derive(Debug, thiserror::Error)]
#[error("invalid select pattern {pattern:?}: {reason}")]
pub struct InvalidSelectPattern {
    pattern: String,
    reason: &'static str,
}

impl FromStr for SelectPattern {
    type Err = InvalidSelectPattern;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidSelectPattern {
            pattern: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let (negated, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        // Column names may contain dots; schema and table names here may not.
        let mut parts = body.splitn(3, '.');
        let namespace = parts.next().unwrap_or_default();
        let table = parts
            .next()
            .ok_or_else(|| invalid("expected `namespace.table` or `namespace.table.column`"))?;
        let column = parts.next();
        if namespace.is_empty() || table.is_empty() || column == Some("") {
            return Err(invalid("a part of the pattern is empty"));
        }
        Ok(Self {
            negated,
            namespace: namespace.to_owned(),
            table: table.to_owned(),
            column: column.map(str::to_owned),
            replication_method: None,
            replication_key: None,
        })
    }
}

impl<'de> Deserialize<'de> for SelectPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithMethod {
            table: String,
            #[serde(default)]
            replication_method: Option<ReplicationMethod>,
            #[serde(default)]
            replication_key: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Object(WithMethod),
        }
        let form = Form::deserialize(deserializer).map_err(|_| {
            D::Error::custom(
                "expected a pattern such as \"shop.orders\" or an object with `table`, \
                 `replication_method` and `replication_key`",
            )
        })?;
        match form {
            Form::Text(text) => text.parse().map_err(D::Error::custom),
            Form::Object(object) => {
                let mut pattern: SelectPattern = object.table.parse().map_err(D::Error::custom)?;
                if pattern.negated || pattern.column.is_some() {
                    return Err(D::Error::custom(
                        "a pattern with a replication method must name a table: `namespace.table`",
                    ));
                }
                pattern.replication_method = object.replication_method;
                pattern.replication_key = object.replication_key;
                Ok(pattern)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_patterns_parse() {
        let select: Vec<SelectPattern> = serde_json::from_value(json!([
            "shop.orders", "shop.customers.*", "!shop.customers.ssn", "shop.t.a.b",
            {"table": "shop.events", "replication_method": "INCREMENTAL", "replication_key": "id"}
        ]))
        .unwrap();
        assert_eq!(select[0].column, None);
        assert_eq!(select[1].column.as_deref(), Some("*"));
        assert!(select[2].negated);
        assert_eq!(select[2].column.as_deref(), Some("ssn"));
        assert_eq!(select[3].column.as_deref(), Some("a.b"));
        assert_eq!(select[4].table, "events");
        assert_eq!(
            select[4].replication_method,
            Some(ReplicationMethod::Incremental)
        );
        assert!("shop".parse::<SelectPattern>().is_err());
        assert!("shop..x".parse::<SelectPattern>().is_err());
        assert!(
            serde_json::from_value::<SelectPattern>(
                json!({"table": "shop.t.c", "replication_method": "FULL_TABLE"})
            )
            .is_err()
        );
    }
}
