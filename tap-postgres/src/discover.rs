//! Discovery: the system catalog → a Singer [`Catalog`].
//!
//! One query over `pg_class`, `pg_attribute`, `pg_type` and `pg_namespace` lists the columns of
//! every ordinary and partitioned table (the parent, not each partition), view and materialized
//! view the user can read, outside the system schemas; a second reads primary keys and the
//! columns that lead an index (good replication keys).

use std::collections::{BTreeMap, HashMap, HashSet};

use common::catalog::{Catalog, CatalogEntry, Metadata};
use common::json_schema::object_schema;
use postgres::Client;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::column_type::PgType;

const COLUMNS: &str = "
    select n.nspname, c.relname, c.relkind::text, c.reltuples::float8,
           a.attname, a.attnotnull,
           format_type(a.atttypid, a.atttypmod),
           bt.typname, bt.typtype::text,
           et.typname, et.typtype::text
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    join pg_type t on t.oid = a.atttypid
    join pg_type bt on bt.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
    left join pg_type ebt on ebt.oid = bt.typelem and bt.typcategory = 'A'
    left join pg_type et
      on et.oid = case when ebt.typtype = 'd' then ebt.typbasetype else ebt.oid end
    where c.relkind in ('r', 'p', 'v', 'm')
      and not c.relispartition
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and has_schema_privilege(n.oid, 'USAGE')
      and has_table_privilege(c.oid, 'SELECT')
      and ($1::text[] is null or n.nspname = any($1))
      and ($2::text is null or c.relname = $2)
    order by n.nspname, c.relname, a.attnum";

/// Primary-key columns in key order, and the first column of every index.
const KEYS: &str = "
    select n.nspname, c.relname, a.attname, i.indisprimary, k.position
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, position)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where (i.indisprimary or k.position = 1)
      and n.nspname not in ('pg_catalog', 'information_schema')
    order by n.nspname, c.relname, k.position";

/// A table or view as discovery sees it.
#[derive(Debug)]
struct Relation {
    schema: String,
    name: String,
    is_view: bool,
    row_count: i64,
    columns: Vec<(String, PgType, bool)>,
}

/// Keys and indexes of one table.
#[derive(Debug, Default)]
pub struct TableKeys {
    pub primary_key: Vec<String>,
    /// Columns that lead some index.
    pub indexed: HashSet<String>,
}

/// Reads keys and index-leading columns of every table.
pub fn table_keys(client: &mut Client) -> Result<HashMap<(String, String), TableKeys>, Error> {
    let rows = client.query(KEYS, &[]).map_err(|source| Error::Query {
        what: "index discovery".into(),
        source,
    })?;
    let mut keys: HashMap<(String, String), TableKeys> = HashMap::new();
    for row in rows {
        let entry = keys.entry((row.get(0), row.get(1))).or_default();
        let column: String = row.get(2);
        let primary: bool = row.get(3);
        let position: i64 = row.get(4);
        if position == 1 {
            entry.indexed.insert(column.clone());
        }
        if primary {
            entry.primary_key.push(column);
        }
    }
    Ok(keys)
}

/// The columns of one table or view, in order, with their types.
pub fn table_columns(
    client: &mut Client,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, PgType)>, Error> {
    let relations = read_relations(client, Some(&[schema.to_owned()]), Some(table))?;
    Ok(relations
        .into_values()
        .next()
        .map(|relation| {
            relation
                .columns
                .into_iter()
                .map(|(name, pg_type, _)| (name, pg_type))
                .collect()
        })
        .unwrap_or_default())
}

/// Lists every readable table and view as a catalog.
pub fn discover_catalog(
    client: &mut Client,
    database: &str,
    filter_schemas: Option<&[String]>,
) -> Result<Catalog, Error> {
    let relations = read_relations(client, filter_schemas, None)?;
    let keys = table_keys(client)?;

    // A table name found in two schemas becomes `<schema>_<table>` in both.
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for relation in relations.values() {
        *name_count.entry(relation.name.as_str()).or_default() += 1;
    }
    let no_keys = TableKeys::default();
    let streams = relations
        .values()
        .map(|relation| {
            let stream = if name_count[relation.name.as_str()] > 1 {
                format!("{}_{}", relation.schema, relation.name)
            } else {
                relation.name.clone()
            };
            let table_keys = keys
                .get(&(relation.schema.clone(), relation.name.clone()))
                .unwrap_or(&no_keys);
            catalog_entry(relation, stream, database, table_keys)
        })
        .collect();
    Ok(Catalog { streams })
}

fn read_relations(
    client: &mut Client,
    schemas: Option<&[String]>,
    table: Option<&str>,
) -> Result<BTreeMap<(String, String), Relation>, Error> {
    let schemas: Option<Vec<String>> = schemas.map(<[String]>::to_vec);
    let rows = client
        .query(COLUMNS, &[&schemas, &table])
        .map_err(|source| Error::Query {
            what: "catalog discovery".into(),
            source,
        })?;
    let mut relations: BTreeMap<(String, String), Relation> = BTreeMap::new();
    for row in rows {
        let schema: String = row.get(0);
        let name: String = row.get(1);
        let kind: String = row.get(2);
        let relation = relations
            .entry((schema.clone(), name.clone()))
            .or_insert_with(|| Relation {
                schema,
                name,
                is_view: kind == "v" || kind == "m",
                // The planner's estimate: -1 (never analysed) means unknown, shown as 0.
                row_count: row.get::<_, f64>(3).max(0.0) as i64,
                columns: Vec::new(),
            });
        let element: Option<String> = row.get(9);
        let element_kind: Option<String> = row.get(10);
        let pg_type = PgType {
            sql_type: row.get(6),
            base_name: row.get(7),
            base_kind: first_char(row.get(8)),
            element: element.map(|name| (name, first_char(element_kind.unwrap_or_default()))),
        };
        relation.columns.push((row.get(4), pg_type, row.get(5)));
    }
    Ok(relations)
}

fn first_char(text: String) -> char {
    text.chars().next().unwrap_or('b')
}

fn catalog_entry(
    relation: &Relation,
    stream: String,
    database: &str,
    keys: &TableKeys,
) -> CatalogEntry {
    let primary_key = &keys.primary_key;
    let mut metadata = Metadata::default();
    let valid_replication_keys: Vec<&str> = relation
        .columns
        .iter()
        .filter(|(_, pg_type, _)| pg_type.is_orderable())
        .map(|(name, _, _)| name.as_str())
        .collect();
    metadata.set(&[], "table-key-properties", json!(primary_key));
    metadata.set(&[], "valid-replication-keys", json!(valid_replication_keys));
    metadata.set(&[], "schema-name", relation.schema.clone());
    metadata.set(&[], "database-name", database);
    metadata.set(&[], "is-view", relation.is_view);
    metadata.set(&[], "row-count", relation.row_count);
    metadata.set(&[], "selected-by-default", false);
    if primary_key.is_empty() && valid_replication_keys.is_empty() {
        metadata.set(&[], "forced-replication-method", "FULL_TABLE");
    }
    let mut properties = Vec::new();
    for (column, pg_type, not_null) in &relation.columns {
        let is_key = primary_key.contains(column);
        let breadcrumb = ["properties", column.as_str()];
        metadata.set(&breadcrumb, "sql-datatype", pg_type.sql_type.clone());
        metadata.set(
            &breadcrumb,
            "inclusion",
            if is_key { "automatic" } else { "available" },
        );
        metadata.set(&breadcrumb, "selected-by-default", true);
        properties.push((column.clone(), pg_type.json_schema(!(is_key || *not_null))));
    }
    CatalogEntry {
        tap_stream_id: format!("{}-{}", relation.schema, relation.name),
        table_name: Some(relation.name.clone()),
        stream,
        schema: object_schema(properties),
        metadata,
        key_properties: None,
        replication_method: None,
        replication_key: None,
        other: Map::<String, Value>::new(),
    }
}
