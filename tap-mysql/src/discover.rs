//! Discovery: `information_schema` → a Singer [`Catalog`].
//!
//! `TABLES`, `COLUMNS` and `STATISTICS` (what `SHOW KEYS` reads, for every table at once) describe
//! the tables and views of every database the user can read, except the system ones, with the
//! comments on tables and columns (which become JSON Schema `description`s); MariaDB's
//! `CHECK_CONSTRAINTS` tells its JSON columns (a `longtext` checked by `json_valid`) from text.

use std::collections::{BTreeMap, HashMap, HashSet};

use common::catalog::{Catalog, DiscoveredColumn, DiscoveredTable};
use mysql::Conn;
use mysql::prelude::Queryable;

use crate::Error;
use crate::column_type::MysqlType;
use crate::sql::quote_literal;

const SYSTEM_DATABASES: &str = "('information_schema', 'mysql', 'performance_schema', 'sys')";

/// A table or view as discovery sees it.
#[derive(Debug, Default)]
pub struct Relation {
    pub database: String,
    pub name: String,
    pub is_view: bool,
    pub row_count: u64,
    /// Name, type, nullable.
    pub columns: Vec<(String, MysqlType, bool)>,
    pub primary_key: Vec<String>,
    /// Columns that lead some index.
    pub indexed: HashSet<String>,
    /// The table's `COMMENT`.
    pub comment: Option<String>,
    /// Column name → its `COMMENT`, for the columns that have one.
    pub column_comments: HashMap<String, String>,
}

/// A comment as `information_schema` gives it: `''` is no comment, and so is a view's
/// `table_comment`, which reads `VIEW` (views take no comment).
fn comment(text: Option<String>, is_view: bool) -> Option<String> {
    text.filter(|text| !text.is_empty() && !is_view)
}

/// Reads every readable table and view, or those of `databases`, or the one `table`.
pub fn read_relations(
    conn: &mut Conn,
    databases: Option<&[String]>,
    table: Option<&str>,
) -> Result<BTreeMap<(String, String), Relation>, Error> {
    let mut filter = format!("table_schema not in {SYSTEM_DATABASES}");
    if let Some(databases) = databases {
        let list: Vec<String> = databases.iter().map(|d| quote_literal(d)).collect();
        filter.push_str(&format!(" and table_schema in ({})", list.join(", ")));
    }
    if let Some(table) = table {
        filter.push_str(&format!(" and table_name = {}", quote_literal(table)));
    }
    let query = |what: &'static str| {
        move |source| Error::Query {
            what: what.into(),
            error: source,
        }
    };

    let mut relations = BTreeMap::new();
    type TableRow = (String, String, String, Option<u64>, Option<String>);
    let tables: Vec<TableRow> = conn
        .query(format!(
            "select table_schema, table_name, table_type, table_rows, table_comment \
             from information_schema.tables where {filter}"
        ))
        .map_err(query("table discovery"))?;
    for (database, name, kind, rows, table_comment) in tables {
        let is_view = kind.eq_ignore_ascii_case("VIEW");
        relations.insert(
            (database.clone(), name.clone()),
            Relation {
                database,
                name,
                is_view,
                row_count: rows.unwrap_or(0),
                comment: comment(table_comment, is_view),
                ..Relation::default()
            },
        );
    }

    let json_columns = mariadb_json_columns(conn, &filter)?;
    type ColumnRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
    );
    let columns: Vec<ColumnRow> = conn
        .query(format!(
            "select table_schema, table_name, column_name, data_type, column_type, is_nullable, \
             column_comment \
             from information_schema.columns where {filter} \
             order by table_schema, table_name, ordinal_position"
        ))
        .map_err(query("column discovery"))?;
    for (database, table, column, data_type, column_type, nullable, column_comment) in columns {
        let is_json = json_columns.contains(&(database.clone(), table.clone(), column.clone()));
        if let Some(relation) = relations.get_mut(&(database, table)) {
            if let Some(text) = comment(column_comment, false) {
                relation.column_comments.insert(column.clone(), text);
            }
            let column_type = MysqlType {
                data_type: data_type.to_ascii_lowercase(),
                column_type,
                is_json,
            };
            relation
                .columns
                .push((column, column_type, nullable.eq_ignore_ascii_case("YES")));
        }
    }

    let keys: Vec<(String, String, String, u32, String)> = conn
        .query(format!(
            "select table_schema, table_name, index_name, seq_in_index, column_name \
             from information_schema.statistics where {filter} \
             order by table_schema, table_name, index_name, seq_in_index"
        ))
        .map_err(query("index discovery"))?;
    for (database, table, index, position, column) in keys {
        if let Some(relation) = relations.get_mut(&(database, table)) {
            if position == 1 {
                relation.indexed.insert(column.clone());
            }
            if index == "PRIMARY" {
                relation.primary_key.push(column);
            }
        }
    }
    Ok(relations)
}

/// MySQL's "unknown column" and "unknown table" errors.
const ER_BAD_FIELD_ERROR: u16 = 1054;
const ER_UNKNOWN_TABLE: u16 = 1109;

/// `(database, table, column)` of MariaDB's JSON columns. MySQL has a real `json` type and no
/// `table_name` in this view (or no view at all before 8.0.16): there the query fails as unknown
/// and nothing is returned, as it should be; any other failure is an error.
fn mariadb_json_columns(
    conn: &mut Conn,
    filter: &str,
) -> Result<HashSet<(String, String, String)>, Error> {
    let filter = filter.replace("table_schema", "constraint_schema");
    let rows: Vec<(String, String, String)> = match conn.query(format!(
        "select constraint_schema, table_name, check_clause \
         from information_schema.check_constraints \
         where {filter} and check_clause like 'json_valid(%'"
    )) {
        Ok(rows) => rows,
        Err(mysql::Error::MySqlError(error))
            if error.code == ER_BAD_FIELD_ERROR || error.code == ER_UNKNOWN_TABLE =>
        {
            Vec::new()
        }
        Err(error) => {
            return Err(Error::Query {
                what: "JSON column discovery".into(),
                error,
            });
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|(database, table, clause)| {
            let column = clause
                .strip_prefix("json_valid(")?
                .strip_suffix(')')?
                .trim_matches('`')
                .replace("``", "`");
            Some((database, table, column))
        })
        .collect())
}

/// Lists every readable table and view as a catalog.
pub fn discover_catalog(
    conn: &mut Conn,
    filter_dbs: Option<&[String]>,
    tinyint1_as_boolean: bool,
) -> Result<Catalog, Error> {
    let relations = read_relations(conn, filter_dbs, None)?;
    let tables = relations
        .into_values()
        .map(|relation| discovered_table(relation, tinyint1_as_boolean))
        .collect();
    Ok(Catalog::from_discovered(tables))
}

fn discovered_table(relation: Relation, tinyint1_as_boolean: bool) -> DiscoveredTable {
    let primary_key = relation.primary_key;
    let mut column_comments = relation.column_comments;
    let columns = relation
        .columns
        .into_iter()
        .map(|(name, column_type, nullable)| {
            let kind = column_type.value_kind(tinyint1_as_boolean);
            let nullable = nullable && !primary_key.contains(&name);
            DiscoveredColumn {
                sql_datatype: column_type.column_type.clone(),
                schema: column_type.json_schema(&kind, nullable),
                orderable: column_type.is_orderable(&kind),
                comment: column_comments.remove(&name),
                name,
            }
        })
        .collect();
    DiscoveredTable {
        location: vec![("database-name", relation.database.clone())],
        namespace: relation.database,
        name: relation.name,
        primary_key,
        is_view: relation.is_view,
        row_count: relation.row_count,
        columns,
        comment: relation.comment,
    }
}
