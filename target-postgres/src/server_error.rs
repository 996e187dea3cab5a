//! What the warehouse answered when a statement failed, told without the row values PostgreSQL
//! quotes in some answers (`invalid input syntax for type uuid: "…"`, `Key (id)=(…) already
//! exists`, `Failing row contains (…)`, a COPY context holding the field): errors are printed and
//! logged, and a record's values may be personal data.
//!
//! Those answers are the data exceptions (SQLSTATE class 22) and the integrity constraint
//! violations (class 23): they are told by condition, SQLSTATE and the column or constraint at
//! fault. Every other answer (a permission, a lost connection, DDL the server refused) is about
//! no row, and is passed on whole.

use std::error::Error as StdError;
use std::fmt;

use postgres::error::{DbError, SqlState};

/// A `postgres::Error` whose message holds no row value.
#[derive(Debug)]
pub struct ServerError(postgres::Error);

impl ServerError {
    /// The SQLSTATE, when the server answered.
    pub fn code(&self) -> Option<&SqlState> {
        self.0.code()
    }

    /// A lost session, a server going away, a transaction conflict: see
    /// [`common::postgres::is_transient`].
    pub fn is_transient(&self) -> bool {
        common::postgres::is_transient(&self.0)
    }

    /// The server's answer about a row's values, if this is one.
    fn refusal(&self) -> Option<&DbError> {
        self.0
            .as_db_error()
            .filter(|db| matches!(db.code().code().get(..2), Some("22" | "23")))
    }
}

impl From<postgres::Error> for ServerError {
    fn from(error: postgres::Error) -> Self {
        Self(error)
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(db) = self.refusal() else {
            return self.0.fmt(f);
        };
        let code = db.code().code();
        write!(f, "{}: {} (SQLSTATE {code}", db.severity(), condition(code))?;
        if let Some(column) = db.column().or_else(|| db.where_().and_then(copy_column)) {
            write!(f, ", column {column}")?;
        }
        if let Some(constraint) = db.constraint() {
            write!(f, ", constraint {constraint}")?;
        }
        f.write_str(")")
    }
}

impl StdError for ServerError {
    /// None for a refusal: the server's own message is the one that quotes values.
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self.refusal() {
            Some(_) => None,
            None => self.0.source(),
        }
    }
}

/// What a class 22 or 23 SQLSTATE means, in the words of a row being refused.
fn condition(code: &str) -> &'static str {
    match code {
        "22001" => "a value too long for its column",
        "22003" => "a number out of range for its column",
        "22007" => "a date or time in a form its column does not read",
        "22008" => "a date or time field out of range",
        "22021" => "bytes that are not text in the database's encoding",
        "22P02" => "a value that is not valid input for its column's type",
        "22P04" => "a row that COPY cannot read",
        "22P05" => "a character the database's encoding cannot hold",
        "23502" => "a null in a column that must not be null",
        "23503" => "a reference to a row that does not exist",
        "23505" => "a key that already exists",
        "23514" => "a row that breaks a check constraint",
        _ if code.starts_with("22") => "a value its column cannot hold",
        _ => "a row that breaks a constraint",
    }
}

/// The column in a COPY error's context, `COPY orders, line 3, column id: "…"`, without what
/// follows it (the field's text).
fn copy_column(context: &str) -> Option<&str> {
    // Up to the first `: `: a context without a column quotes the whole line after it.
    let head = context.strip_prefix("COPY ")?.split(": ").next()?;
    Some(&head[head.find(", column ")? + ", column ".len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_of_a_copy_context_without_its_field() {
        let column = |context| copy_column(context);
        assert_eq!(
            column("COPY orders, line 3, column uid: \"secret-value\""),
            Some("uid")
        );
        assert_eq!(
            column("COPY orders, line 3, column uid: null input"),
            Some("uid")
        );
        assert_eq!(
            column("COPY orders, line 3: \"secret, column x: value\""),
            None
        );
        assert_eq!(column("SQL statement \"…\""), None);
    }

    #[test]
    fn conditions_by_class() {
        assert_eq!(
            condition("22P02"),
            "a value that is not valid input for its column's type"
        );
        assert_eq!(condition("22012"), "a value its column cannot hold");
        assert_eq!(condition("23P01"), "a row that breaks a constraint");
    }
}
