//! The model of the target schema's tables, and reading it from the warehouse.
//!
//! The target reads the tables of its schema once at start ([`read_warehouse`]), then keeps this
//! model up to date as it plans DDL (see `ddl`), so planning never waits for the database. Each
//! table's comment is a small JSON document ([`TableComment`]): the source stream, the array path
//! of a child table, the key properties, and which source property each column holds. Later runs
//! read it back to find the stream's tables and columns again, whatever renaming, collision or
//! type change happened.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A table of the target schema, as the model knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseTable {
    pub name: String,
    pub owner: String,
    /// Name and `format_type()` of each column, in order.
    pub columns: Vec<(String, String)>,
    pub primary_key: Vec<String>,
    pub comment: Option<TableComment>,
    /// Created by this run: nothing in it can conflict with what is loaded.
    pub created_now: bool,
    /// Columns with a default value.
    pub defaults: Vec<String>,
    /// Column comments as the warehouse has them (ours, or a user's).
    pub column_comments: BTreeMap<String, String>,
}

/// What a table's comment records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableComment {
    pub stream: String,
    /// Property names from the root record to a child table's array; empty for the root table.
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub key_properties: Vec<String>,
    /// Column → the source property path it holds.
    #[serde(default)]
    pub columns: IndexMap<String, Vec<String>>,
    /// The source that loads the table (`tap-mysql shop`), when its tap names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source's own comment on the table, readable beside our mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The column comments this target wrote from the source's, so a comment a user later sets
    /// in the warehouse is recognised as theirs and kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_descriptions: BTreeMap<String, String>,
}

impl TableComment {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// The target schema's tables.
#[derive(Debug, Clone, Default)]
pub struct Warehouse {
    pub schema: String,
    pub tables: BTreeMap<String, WarehouseTable>,
    /// Names the target uses for itself (`_sdc_rejected`, the state table).
    pub reserved: Vec<String>,
}

impl Warehouse {
    /// The model of a schema with no tables yet; `reserved`: names the target uses for itself.
    pub fn new(schema: &str, reserved: Vec<String>) -> Self {
        Self {
            schema: schema.to_owned(),
            tables: BTreeMap::new(),
            reserved,
        }
    }
}

/// Reads the tables of `schema` (none if it does not exist yet).
pub fn read_warehouse(
    client: &mut postgres::Client,
    schema: &str,
    reserved: Vec<String>,
) -> Result<Warehouse, postgres::Error> {
    let rows = client.query(
        "select c.relname::text, pg_get_userbyid(c.relowner)::text,
                obj_description(c.oid, 'pg_class'),
                coalesce((select json_agg(json_build_array(a.attname,
                                   format_type(a.atttypid, a.atttypmod)) order by a.attnum)
                            from pg_attribute a
                           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                         '[]')::text,
                coalesce((select json_agg(a.attname order by array_position(i.indkey::int2[], a.attnum))
                            from pg_index i
                            join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                           where i.indrelid = c.oid and i.indisprimary),
                         '[]')::text,
                coalesce((select json_agg(a.attname)
                            from pg_attribute a
                           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                             and a.atthasdef),
                         '[]')::text,
                coalesce((select json_object_agg(a.attname, d.description)
                            from pg_attribute a
                            join pg_description d on d.objoid = a.attrelid
                                 and d.classoid = 'pg_class'::regclass and d.objsubid = a.attnum
                           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                         '{}')::text
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relkind in ('r', 'p')",
        &[&schema],
    )?;
    let tables = rows
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let comment: Option<String> = row.get(2);
            let columns: String = row.get(3);
            let primary_key: String = row.get(4);
            let defaults: String = row.get(5);
            let column_comments: String = row.get(6);
            let table = WarehouseTable {
                name: name.clone(),
                owner: row.get(1),
                columns: serde_json::from_str(&columns).unwrap_or_default(),
                primary_key: serde_json::from_str(&primary_key).unwrap_or_default(),
                comment: comment.as_deref().and_then(TableComment::parse),
                created_now: false,
                defaults: serde_json::from_str(&defaults).unwrap_or_default(),
                column_comments: serde_json::from_str(&column_comments).unwrap_or_default(),
            };
            (name, table)
        })
        .collect();
    Ok(Warehouse {
        tables,
        ..Warehouse::new(schema, reserved)
    })
}
