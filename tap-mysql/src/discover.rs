//! Discovery: `information_schema` → a Singer [`Catalog`].
//!
//! `TABLES`, `COLUMNS` and `STATISTICS` (what `SHOW KEYS` reads, for every table at once) describe
//! the tables and views of every database the user can read, except the system ones; MariaDB's
//! `CHECK_CONSTRAINTS` tells its JSON columns (a `longtext` checked by `json_valid`) from text.

use std::collections::{BTreeMap, HashMap, HashSet};

use common::catalog::{Catalog, CatalogEntry, Metadata};
use common::json_schema::object_schema;
use mysql::Conn;
use mysql::prelude::Queryable;
use serde_json::{Map, json};

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
            source,
        }
    };

    let mut relations = BTreeMap::new();
    let tables: Vec<(String, String, String, Option<u64>)> = conn
        .query(format!(
            "select table_schema, table_name, table_type, table_rows \
             from information_schema.tables where {filter}"
        ))
        .map_err(query("table discovery"))?;
    for (database, name, kind, rows) in tables {
        relations.insert(
            (database.clone(), name.clone()),
            Relation {
                database,
                name,
                is_view: kind.eq_ignore_ascii_case("VIEW"),
                row_count: rows.unwrap_or(0),
                ..Relation::default()
            },
        );
    }

    let json_columns = mariadb_json_columns(conn, &filter);
    let columns: Vec<(String, String, String, String, String, String)> = conn
        .query(format!(
            "select table_schema, table_name, column_name, data_type, column_type, is_nullable \
             from information_schema.columns where {filter} \
             order by table_schema, table_name, ordinal_position"
        ))
        .map_err(query("column discovery"))?;
    for (database, table, column, data_type, column_type, nullable) in columns {
        let is_json = json_columns.contains(&(database.clone(), table.clone(), column.clone()));
        if let Some(relation) = relations.get_mut(&(database, table)) {
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

/// `(database, table, column)` of MariaDB's JSON columns. MySQL has a real `json` type and no
/// `table_name` in this view: the query fails there and nothing is returned, as it should be.
fn mariadb_json_columns(conn: &mut Conn, filter: &str) -> HashSet<(String, String, String)> {
    let filter = filter.replace("table_schema", "constraint_schema");
    let rows: Vec<(String, String, String)> = conn
        .query(format!(
            "select constraint_schema, table_name, check_clause \
             from information_schema.check_constraints \
             where {filter} and check_clause like 'json_valid(%'"
        ))
        .unwrap_or_default();
    rows.into_iter()
        .filter_map(|(database, table, clause)| {
            let column = clause
                .strip_prefix("json_valid(")?
                .strip_suffix(')')?
                .trim_matches('`')
                .replace("``", "`");
            Some((database, table, column))
        })
        .collect()
}

/// Lists every readable table and view as a catalog.
pub fn discover_catalog(
    conn: &mut Conn,
    filter_dbs: Option<&[String]>,
    tinyint1_as_boolean: bool,
) -> Result<Catalog, Error> {
    let relations = read_relations(conn, filter_dbs, None)?;
    // A table name found in two databases becomes `<db>_<table>` in both.
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for relation in relations.values() {
        *name_count.entry(relation.name.as_str()).or_default() += 1;
    }
    let streams = relations
        .values()
        .map(|relation| {
            let stream = if name_count[relation.name.as_str()] > 1 {
                format!("{}_{}", relation.database, relation.name)
            } else {
                relation.name.clone()
            };
            catalog_entry(relation, stream, tinyint1_as_boolean)
        })
        .collect();
    Ok(Catalog { streams })
}

fn catalog_entry(relation: &Relation, stream: String, tinyint1_as_boolean: bool) -> CatalogEntry {
    let mut metadata = Metadata::default();
    let mut valid_replication_keys = Vec::new();
    let mut properties = Vec::new();
    for (column, column_type, nullable) in &relation.columns {
        let kind = column_type.value_kind(tinyint1_as_boolean);
        if column_type.is_orderable(&kind) {
            valid_replication_keys.push(column.clone());
        }
        let is_key = relation.primary_key.contains(column);
        let breadcrumb = ["properties", column.as_str()];
        metadata.set(&breadcrumb, "sql-datatype", column_type.column_type.clone());
        metadata.set(
            &breadcrumb,
            "inclusion",
            if is_key { "automatic" } else { "available" },
        );
        metadata.set(&breadcrumb, "selected-by-default", true);
        properties.push((
            column.clone(),
            column_type.json_schema(&kind, *nullable && !is_key),
        ));
    }
    metadata.set(&[], "table-key-properties", json!(relation.primary_key));
    metadata.set(&[], "valid-replication-keys", json!(valid_replication_keys));
    metadata.set(&[], "database-name", relation.database.clone());
    metadata.set(&[], "is-view", relation.is_view);
    metadata.set(&[], "row-count", relation.row_count);
    metadata.set(&[], "selected-by-default", false);
    if relation.primary_key.is_empty() && valid_replication_keys.is_empty() {
        metadata.set(&[], "forced-replication-method", "FULL_TABLE");
    }
    // Table-level metadata first, as singer-io tap-mysql writes it.
    metadata.0.rotate_right(1);
    CatalogEntry {
        tap_stream_id: format!("{}-{}", relation.database, relation.name),
        table_name: Some(relation.name.clone()),
        stream,
        schema: object_schema(properties),
        metadata,
        key_properties: None,
        replication_method: None,
        replication_key: None,
        other: Map::new(),
    }
}
