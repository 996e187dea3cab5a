//! Discovery: the system catalog → a Singer [`Catalog`].
//!
//! One query over `pg_class`, `pg_attribute`, `pg_type` and `pg_namespace` lists the columns of
//! every ordinary and partitioned table (the parent, not each partition), view and materialized
//! view the user can read, outside the system schemas, with the comments on them and their columns
//! (which become JSON Schema `description`s); a second reads primary keys and the columns that
//! lead an index (good replication keys).

use std::collections::{BTreeMap, HashMap};

use common::catalog::{Catalog, DiscoveredColumn, DiscoveredTable};
use postgres::types::ToSql;
use postgres::{Client, Row};

use crate::Error;
use crate::column_type::PgType;

const COLUMNS: &str = "
    select n.nspname, c.relname, c.relkind::text, c.reltuples::float8,
           a.attname, a.attnotnull,
           format_type(a.atttypid, a.atttypmod),
           bt.typname, bt.typtype::text,
           et.typname, et.typtype::text,
           obj_description(c.oid, 'pg_class'), col_description(c.oid, a.attnum)
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

/// Tables and views the user cannot read, for the discovery's warning.
const UNREADABLE: &str = "
    select n.nspname || '.' || c.relname
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm')
      and not c.relispartition
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and not (has_schema_privilege(n.oid, 'USAGE') and has_table_privilege(c.oid, 'SELECT'))
      and ($1::text[] is null or n.nspname = any($1))
    order by 1";

/// Primary-key columns in key order, and the first column of every index; of every table, or of
/// the one table named.
const KEYS: &str = "
    select n.nspname, c.relname, a.attname, i.indisprimary, k.position
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, position)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where (i.indisprimary or k.position = 1)
      and n.nspname not in ('pg_catalog', 'information_schema')
      and ($1::text is null or n.nspname = $1)
      and ($2::text is null or c.relname = $2)
    order by n.nspname, c.relname, k.position";

/// A table or view as discovery sees it.
#[derive(Debug)]
struct Relation {
    schema: String,
    name: String,
    is_view: bool,
    row_count: u64,
    /// `comment on table/view …`.
    comment: Option<String>,
    columns: Vec<Column>,
}

/// A column as discovery sees it.
#[derive(Debug)]
struct Column {
    name: String,
    pg_type: PgType,
    not_null: bool,
    /// `comment on column …`.
    comment: Option<String>,
}

/// Keys and indexes of one table.
#[derive(Debug, Default)]
struct TableKeys {
    primary_key: Vec<String>,
    /// Columns that lead some index.
    indexed: Vec<String>,
}

/// Runs one catalog query; `what` names it in the error.
fn query(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    what: &str,
) -> Result<Vec<Row>, Error> {
    client.query(sql, params).map_err(Error::query(what))
}

/// Reads keys and index-leading columns of every table, or of the one `table`.
fn table_keys(
    client: &mut Client,
    table: Option<(&str, &str)>,
) -> Result<HashMap<(String, String), TableKeys>, Error> {
    let (schema, name) = table.unzip();
    let rows = query(client, KEYS, &[&schema, &name], "index discovery")?;
    let mut keys: HashMap<(String, String), TableKeys> = HashMap::new();
    for row in rows {
        let entry = keys.entry((row.get(0), row.get(1))).or_default();
        let column: String = row.get(2);
        let primary: bool = row.get(3);
        let position: i64 = row.get(4);
        if position == 1 && !entry.indexed.contains(&column) {
            entry.indexed.push(column.clone());
        }
        if primary {
            entry.primary_key.push(column);
        }
    }
    Ok(keys)
}

/// The columns of `schema.table` that lead some index.
pub fn indexed_columns(
    client: &mut Client,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, Error> {
    Ok(table_keys(client, Some((schema, table)))?
        .into_values()
        .next()
        .map(|keys| keys.indexed)
        .unwrap_or_default())
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
                .map(|column| (column.name, column.pg_type))
                .collect()
        })
        .unwrap_or_default())
}

/// Says which tables discovery leaves out for lack of privileges: a missing table is otherwise a
/// mystery to the user.
fn warn_of_unreadable(client: &mut Client, filter_schemas: Option<&[String]>) -> Result<(), Error> {
    let filter = filter_schemas.map(<[String]>::to_vec);
    let unreadable: Vec<String> = query(
        client,
        UNREADABLE,
        &[&filter],
        "listing the tables this user cannot read",
    )?
    .iter()
    .map(|row| row.get(0))
    .collect();
    if !unreadable.is_empty() {
        tracing::warn!(
            tables = %unreadable.join(", "),
            "left out of discovery: this user lacks USAGE on their schema or SELECT on them"
        );
    }
    Ok(())
}

/// Lists every readable table and view as a catalog.
pub fn discover_catalog(
    client: &mut Client,
    database: &str,
    filter_schemas: Option<&[String]>,
) -> Result<Catalog, Error> {
    let relations = read_relations(client, filter_schemas, None)?;
    warn_of_unreadable(client, filter_schemas)?;
    let keys = table_keys(client, None)?;
    let tables = relations
        .into_values()
        .map(|relation| {
            let primary_key = keys
                .get(&(relation.schema.clone(), relation.name.clone()))
                .map(|keys| keys.primary_key.clone())
                .unwrap_or_default();
            discovered_table(relation, database, primary_key)
        })
        .collect();
    Ok(Catalog::from_discovered(tables))
}

fn read_relations(
    client: &mut Client,
    schemas: Option<&[String]>,
    table: Option<&str>,
) -> Result<BTreeMap<(String, String), Relation>, Error> {
    let schemas: Option<Vec<String>> = schemas.map(<[String]>::to_vec);
    let rows = query(client, COLUMNS, &[&schemas, &table], "catalog discovery")?;
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
                row_count: row.get::<_, f64>(3).max(0.0) as u64,
                comment: row.get(11),
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
        relation.columns.push(Column {
            name: row.get(4),
            pg_type,
            not_null: row.get(5),
            comment: row.get(12),
        });
    }
    Ok(relations)
}

fn first_char(text: String) -> char {
    text.chars().next().unwrap_or('b')
}

fn discovered_table(
    relation: Relation,
    database: &str,
    primary_key: Vec<String>,
) -> DiscoveredTable {
    let columns = relation
        .columns
        .into_iter()
        .map(|column| {
            let nullable = !(column.not_null || primary_key.contains(&column.name));
            DiscoveredColumn {
                sql_datatype: column.pg_type.sql_type.clone(),
                schema: column.pg_type.json_schema(nullable),
                orderable: column.pg_type.is_orderable(),
                name: column.name,
                comment: column.comment,
            }
        })
        .collect();
    DiscoveredTable {
        location: vec![
            ("schema-name", relation.schema.clone()),
            ("database-name", database.to_owned()),
        ],
        namespace: relation.schema,
        name: relation.name,
        primary_key,
        is_view: relation.is_view,
        row_count: relation.row_count,
        columns,
        comment: relation.comment,
    }
}
