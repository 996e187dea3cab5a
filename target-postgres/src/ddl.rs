//! DDL planning: the statements that make the warehouse's tables hold a stream's shape.
//!
//! [`Warehouse::plan_stream`] maps each table of a stream's shape onto a table of the model (found
//! by its comment, adopted by name, or new), decides every column, and returns the layout records
//! are written by with the DDL that brings the warehouse there. The model is updated as if the DDL
//! had run: the loader runs it before any batch planned against it.
//!
//! Nothing is ever dropped: a property that disappears keeps its column (loaded as NULL), and a
//! type change adds a suffixed column next to the old one (see `column_type`).

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::column_type::{ColumnType, Family, widening};
use crate::copy_format::CopyFormat;
use crate::denest::{Field, StreamShape, TableShape};
use crate::layout::{ColumnSource, LayoutColumn, StreamLayout, TableLayout};
use crate::naming::{
    canonical_name, literal, qualified, quote, quoted_list, unique_name, with_suffix,
};
use crate::system_column::SystemColumn;
use crate::warehouse::{TableComment, Warehouse, WarehouseTable};

/// PostgreSQL's limit on the columns of a table.
const MAX_COLUMNS: usize = 1600;

/// Why a stream cannot be mapped onto its tables.
#[derive(Debug, thiserror::Error)]
pub enum DdlError {
    #[error(
        "stream {stream}: table {table} is loaded from {loaded_from}, and this stream comes from \
         {now_from}: two sources in one schema would mark each other's rows deleted. Load each \
         source into its own schema (default_target_schema), or, if this source replaces the \
         other, drop the table to reload it"
    )]
    OtherSource {
        stream: String,
        table: String,
        loaded_from: String,
        now_from: String,
    },
    #[error(
        "stream {stream}: table {table} would need {columns} columns, and PostgreSQL allows at \
         most {MAX_COLUMNS}: keep nested objects whole with `nesting: \"jsonb\"` for this stream, \
         or select fewer properties"
    )]
    TooManyColumns {
        stream: String,
        table: String,
        columns: usize,
    },
    #[error(
        "stream {stream}: key properties changed from {old:?} to {new:?}; table {table} keeps its \
         primary key. Load into a new schema, or drop the table to reload it with the new key"
    )]
    KeyPropertiesChanged {
        stream: String,
        table: String,
        old: Vec<String>,
        new: Vec<String>,
    },
    #[error("stream {stream}: key property {key:?} {problem}")]
    BadKeyProperty {
        stream: String,
        key: String,
        problem: &'static str,
    },
    #[error(
        "stream {stream}: key property {key:?} changed type to {sql_type}; the key column {table}.{column} cannot change type"
    )]
    KeyTypeChanged {
        stream: String,
        key: String,
        table: String,
        column: String,
        sql_type: String,
    },
}

impl Warehouse {
    /// The statement that opens a stream's DDL transaction: a lock on its root table's name, so
    /// targets loading one stream at once (shards) change its tables one at a time, each seeing
    /// the other's committed work, and never lock its tables in opposite orders.
    pub fn lock_statement(&self, layout: &StreamLayout) -> Option<String> {
        let root = layout.tables.first()?;
        let name = literal(&qualified(&self.schema, &root.table));
        Some(format!("select pg_advisory_xact_lock(hashtext({name}))"))
    }

    /// Plans `stream`'s tables: returns how to write them and the DDL (one statement per item)
    /// that brings the warehouse there. The model is updated as if the DDL had run.
    pub fn plan_stream(
        &mut self,
        stream: &str,
        shape: &StreamShape,
        key_properties: &[String],
        add_metadata_columns: bool,
        source: Option<&str>,
    ) -> Result<(StreamLayout, Vec<String>), DdlError> {
        let key_fields = key_fields(stream, shape.root(), key_properties)?;
        let mut statements = Vec::new();
        let mut layouts: Vec<TableLayout> = Vec::with_capacity(shape.tables.len());
        for table_shape in &shape.tables {
            let name = self.table_name(stream, table_shape, layouts.first());
            let root = layouts.first();
            let layout = self.plan_table(
                TablePlan {
                    stream,
                    name: &name,
                    shape: table_shape,
                    key_properties,
                    key_fields: &key_fields,
                    root,
                    add_metadata_columns,
                    source,
                },
                &mut statements,
            )?;
            layouts.push(layout);
        }
        Ok((
            StreamLayout {
                tables: layouts,
                has_key: !key_properties.is_empty(),
            },
            statements,
        ))
    }

    /// The table holding `shape`: found by its comment, else a new canonical name.
    fn table_name(&self, stream: &str, shape: &TableShape, root: Option<&TableLayout>) -> String {
        let ours = |table: &WarehouseTable| {
            table
                .comment
                .as_ref()
                .is_some_and(|c| c.stream == stream && c.path == shape.source_path)
        };
        if let Some(table) = self.tables.values().find(|t| ours(t)) {
            return table.name.clone();
        }
        let wanted = match root {
            None => canonical_name(stream),
            Some(root) => {
                canonical_name(&format!("{}__{}", root.table, shape.source_path.join("__")))
            }
        };
        // A table of that name without our comment (made by another loader) is adopted.
        if self
            .tables
            .get(&wanted)
            .is_some_and(|table| table.comment.is_none())
        {
            return wanted;
        }
        unique_name(&wanted, |name| {
            self.tables.contains_key(name) || self.reserved.iter().any(|r| r == name)
        })
    }

    /// Plans one table of a stream, step by step, appending its DDL to `statements`; the model
    /// takes the table as the DDL leaves it.
    fn plan_table(
        &mut self,
        plan: TablePlan<'_>,
        statements: &mut Vec<String>,
    ) -> Result<TableLayout, DdlError> {
        let qualified_name = qualified(&self.schema, plan.name);
        let existing = self.tables.get(plan.name);
        if let Some(made_for) = existing.and_then(|t| t.comment.as_ref())
            && plan.shape.is_root()
        {
            check_root_table_purpose(&plan, made_for, &qualified_name)?;
        }
        let mut draft = TableDraft::new(plan, qualified_name, existing);
        // Link columns first, then the data, then system columns: the order a new table's
        // columns are created in.
        if let Some(root) = plan.root {
            draft.link_to_root(root);
        }
        draft.map_fields();
        draft.add_system_columns();
        if plan.root.is_none() {
            draft.key_root_table()?;
        }
        draft.check_column_count()?;
        draft.write_table_ddl(statements);
        draft.write_comments(statements);
        let (table, layout) = draft.finish();
        self.tables.insert(plan.name.to_owned(), table);
        Ok(layout)
    }
}

/// Everything `plan_table` needs to know about one table of a stream.
#[derive(Clone, Copy)]
struct TablePlan<'a> {
    stream: &'a str,
    name: &'a str,
    shape: &'a TableShape,
    key_properties: &'a [String],
    /// The root shape's field index of each key property.
    key_fields: &'a [usize],
    /// The stream's root layout, when planning a child table.
    root: Option<&'a TableLayout>,
    add_metadata_columns: bool,
    /// The SCHEMA's source (`x-source`), when the tap names one.
    source: Option<&'a str>,
}

/// What a root table was made for stays: its key properties, and the source that loads it.
fn check_root_table_purpose(
    plan: &TablePlan<'_>,
    made_for: &TableComment,
    qualified_name: &str,
) -> Result<(), DdlError> {
    if made_for.key_properties != plan.key_properties {
        return Err(DdlError::KeyPropertiesChanged {
            stream: plan.stream.to_owned(),
            table: qualified_name.to_owned(),
            old: made_for.key_properties.clone(),
            new: plan.key_properties.to_vec(),
        });
    }
    if let (Some(loaded_from), Some(now_from)) = (made_for.source.as_deref(), plan.source)
        && loaded_from != now_from
    {
        return Err(DdlError::OtherSource {
            stream: plan.stream.to_owned(),
            table: qualified_name.to_owned(),
            loaded_from: loaded_from.to_owned(),
            now_from: now_from.to_owned(),
        });
    }
    Ok(())
}

/// Finds the field of each key property: a top-level property of one scalar type.
fn key_fields(
    stream: &str,
    root: &TableShape,
    key_properties: &[String],
) -> Result<Vec<usize>, DdlError> {
    key_properties
        .iter()
        .map(|key| {
            let problem = |problem| DdlError::BadKeyProperty {
                stream: stream.to_owned(),
                key: key.clone(),
                problem,
            };
            let field = root
                .field(std::slice::from_ref(key))
                .ok_or_else(|| problem("is not a top-level property of the SCHEMA"))?;
            match root.fields[field].types.as_slice() {
                [only] if only.family != Family::Json => Ok(field),
                [_] => Err(problem("must be a scalar, not an object or array")),
                _ => Err(problem("must have a single type")),
            }
        })
        .collect()
}

/// One table while it is planned: its columns as they will be, and the changes that get there.
struct TableDraft<'a> {
    plan: TablePlan<'a>,
    qualified_name: String,
    /// The table as the model has it before the plan (a new one: no columns, `created_now`).
    table: WarehouseTable,
    exists: bool,
    /// The table's comment as it will be.
    comment: TableComment,
    /// The existing columns (filled by nothing until a step says otherwise), then new ones.
    columns: Vec<LayoutColumn>,
    /// Positions in `columns` of the columns to add.
    added: Vec<usize>,
    /// Columns changing type: name and new type.
    altered: Vec<(String, String)>,
    root_link: Vec<String>,
    primary_key: Vec<String>,
    field_columns: Vec<Vec<(Family, usize)>>,
}

impl<'a> TableDraft<'a> {
    fn new(plan: TablePlan<'a>, qualified_name: String, existing: Option<&WarehouseTable>) -> Self {
        let table = existing.cloned().unwrap_or_else(|| WarehouseTable {
            name: plan.name.to_owned(),
            owner: String::new(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            comment: None,
            created_now: true,
            defaults: Vec::new(),
            column_comments: BTreeMap::new(),
        });
        let mut comment = table.comment.clone().unwrap_or_else(|| TableComment {
            stream: plan.stream.to_owned(),
            path: plan.shape.source_path.clone(),
            key_properties: plan.key_properties.to_vec(),
            columns: IndexMap::new(),
            source: None,
            description: None,
            column_descriptions: BTreeMap::new(),
        });
        if let Some(source) = plan.source {
            comment.source = Some(source.to_owned());
        }
        let columns = table
            .columns
            .iter()
            .map(|(name, sql_type)| LayoutColumn {
                name: name.clone(),
                column_type: ColumnType::new(sql_type.clone(), Family::of_sql_type(sql_type)),
                source: ColumnSource::Unused,
            })
            .collect();
        Self {
            plan,
            qualified_name,
            table,
            exists: existing.is_some(),
            comment,
            columns,
            added: Vec::new(),
            altered: Vec::new(),
            root_link: Vec::new(),
            primary_key: Vec::new(),
            field_columns: Vec::with_capacity(plan.shape.fields.len()),
        }
    }

    /// Makes sure `name` is a column with `source`, adding it when missing.
    fn ensure_column(&mut self, name: &str, column_type: ColumnType, source: ColumnSource) {
        match self.columns.iter_mut().find(|c| c.name == name) {
            Some(column) => column.source = source,
            None => self.add_column(name.to_owned(), column_type, source),
        }
    }

    fn add_column(&mut self, name: String, column_type: ColumnType, source: ColumnSource) {
        self.columns.push(LayoutColumn {
            name,
            column_type,
            source,
        });
        self.added.push(self.columns.len() - 1);
    }

    /// A column that holds values of `wider` from now on.
    fn widen(&mut self, index: usize, wider: ColumnType) {
        let column = &mut self.columns[index];
        self.altered.push((column.name.clone(), wider.sql.clone()));
        column.column_type = wider;
    }

    /// A child table's link to its root record: a copy of each root key (`_sdc_source_key_*`;
    /// `_sdc_sequence` when the stream has no key), then the position in each array above its
    /// rows (`_sdc_level_*_id`). Together they are its primary key.
    fn link_to_root(&mut self, root: &TableLayout) {
        let plan = self.plan;
        if plan.key_fields.is_empty() {
            self.root_link
                .push(SystemColumn::Sequence.name().to_owned());
        }
        for (index, key) in plan.key_properties.iter().enumerate() {
            let root_column = &root.columns[root.field_columns[plan.key_fields[index]][0].1];
            // Canonical already; cut with a hash if the prefix made it too long.
            let name = canonical_name(&format!("_sdc_source_key_{}", canonical_name(key)));
            self.ensure_column(
                &name,
                root_column.column_type.clone(),
                ColumnSource::SourceKey(index),
            );
            // A root key column widened in place (`integer` → `bigint`) widens its copies.
            let copy = self.position(&name).expect("ensured above");
            let copy_type = &self.columns[copy].column_type;
            if copy_type.family == root_column.column_type.family
                && let Some(wider) = widening(&copy_type.sql, &root_column.column_type)
            {
                self.widen(copy, wider);
            }
            self.root_link.push(name);
        }
        self.primary_key.extend(self.root_link.iter().cloned());
        for level in 0..plan.shape.level {
            let name = format!("_sdc_level_{level}_id");
            self.ensure_column(
                &name,
                ColumnType::general(Family::BigInt),
                ColumnSource::LevelId(level),
            );
            self.primary_key.push(name);
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Gives each field of the shape one column per type it needs, in the order the schema lists
    /// the types: a column already holding it where there is one of the type's family (widened if
    /// need be), else a new one.
    fn map_fields(&mut self) {
        let shape = self.plan.shape;
        for (field_index, field) in shape.fields.iter().enumerate() {
            let base = if field.path.is_empty() {
                "value".to_owned()
            } else {
                canonical_name(&field.path.join("__"))
            };
            let holding = self.columns_holding(field, &base);
            let mut routes = Vec::with_capacity(field.types.len());
            for wanted in &field.types {
                let index = self.column_of_type(field, &base, &holding, wanted);
                self.columns[index].source = ColumnSource::Field(field_index);
                self.comment
                    .columns
                    .insert(self.columns[index].name.clone(), field.path.clone());
                routes.push((wanted.family, index));
            }
            self.field_columns.push(routes);
        }
    }

    /// Columns already holding `field`: from the comment, or by name in an adopted table.
    fn columns_holding(&self, field: &Field, base: &str) -> Vec<usize> {
        let by_name = |name: &str| {
            self.table.comment.is_none()
                && (name == base
                    || field
                        .types
                        .iter()
                        .any(|t| name == with_suffix(base, t.family.suffix())))
        };
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, column)| match self.comment.columns.get(&column.name) {
                Some(path) => *path == field.path,
                None => by_name(&column.name),
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The column for `field`'s values of `wanted`'s family: one of `holding` (widened if need
    /// be), else a new column, suffixed when the field has several or had others before.
    fn column_of_type(
        &mut self,
        field: &Field,
        base: &str,
        holding: &[usize],
        wanted: &ColumnType,
    ) -> usize {
        let found = holding
            .iter()
            .copied()
            .find(|&index| self.columns[index].column_type.family == wanted.family);
        if let Some(index) = found {
            if let Some(wider) = widening(&self.columns[index].column_type.sql, wanted) {
                self.widen(index, wider);
            }
            return index;
        }
        let wanted_name = if holding.is_empty() && field.types.len() == 1 {
            base.to_owned()
        } else {
            with_suffix(base, wanted.family.suffix())
        };
        let name = unique_name(&wanted_name, |name| {
            self.position(name).is_some() || SystemColumn::is_system(name)
        });
        self.add_column(name, wanted.clone(), ColumnSource::Unused);
        self.columns.len() - 1
    }

    fn add_system_columns(&mut self) {
        for system in SystemColumn::ALL {
            if system.included(self.plan.add_metadata_columns) {
                self.ensure_column(
                    system.name(),
                    system.column_type(),
                    ColumnSource::System(system),
                );
            }
        }
    }

    /// A root table's key: the columns of its key properties (`_sdc_sequence` links child rows
    /// when the stream has none). An existing table keeps the key it has.
    fn key_root_table(&mut self) -> Result<(), DdlError> {
        let plan = self.plan;
        self.root_link = plan
            .key_fields
            .iter()
            .map(|&field| self.columns[self.field_columns[field][0].1].name.clone())
            .collect();
        self.primary_key = self.root_link.clone();
        if self.root_link.is_empty() {
            self.root_link
                .push(SystemColumn::Sequence.name().to_owned());
        }
        // The first key whose column is not the table's key column as it was. An integer key
        // widened in place (`integer` → `bigint`) still is.
        let changed_key = plan
            .key_properties
            .iter()
            .zip(plan.key_fields)
            .map(|(key, &field)| (key, &self.columns[self.field_columns[field][0].1]))
            .find(|(_, column)| {
                !self.table.primary_key.contains(&column.name)
                    || (column.column_type.family != Family::BigInt
                        && self.altered.iter().any(|(name, _)| *name == column.name))
            });
        if !self.exists || (self.table.primary_key == self.primary_key && changed_key.is_none()) {
            return Ok(());
        }
        Err(match changed_key {
            Some((key, column))
                if !self.table.primary_key.is_empty() && self.table.comment.is_some() =>
            {
                DdlError::KeyTypeChanged {
                    stream: plan.stream.to_owned(),
                    key: key.clone(),
                    table: self.qualified_name.clone(),
                    column: column.name.clone(),
                    sql_type: column.column_type.sql.clone(),
                }
            }
            _ => DdlError::KeyPropertiesChanged {
                stream: plan.stream.to_owned(),
                table: self.qualified_name.clone(),
                old: self.table.primary_key.clone(),
                new: plan.key_properties.to_vec(),
            },
        })
    }

    fn check_column_count(&self) -> Result<(), DdlError> {
        if self.columns.len() > MAX_COLUMNS {
            return Err(DdlError::TooManyColumns {
                stream: self.plan.stream.to_owned(),
                table: self.qualified_name.clone(),
                columns: self.columns.len(),
            });
        }
        Ok(())
    }

    /// `create table` for a new table; else one `alter table` with every change, if any.
    fn write_table_ddl(&mut self, statements: &mut Vec<String>) {
        let qualified_name = &self.qualified_name;
        if !self.exists {
            let mut definitions: Vec<String> = self.columns.iter().map(column_definition).collect();
            if !self.primary_key.is_empty() {
                definitions.push(format!("primary key ({})", quoted_list(&self.primary_key)));
            }
            statements.push(format!(
                "create table if not exists {qualified_name} ({})",
                definitions.join(", ")
            ));
            self.table.primary_key = self.primary_key.clone();
            return;
        }
        let added = self.added.iter().map(|&i| {
            format!(
                "add column if not exists {}",
                column_definition(&self.columns[i])
            )
        });
        let altered = self
            .altered
            .iter()
            .map(|(name, sql_type)| format!("alter column {} type {sql_type}", quote(name)));
        // Tables of earlier versions, made before the database filled these.
        let defaults = self
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.is_filled_by_database()
                    && !self.added.contains(i)
                    && !self.table.defaults.contains(&c.name)
            })
            .map(|(_, c)| format!("alter column {} set default now()", quote(&c.name)));
        let changes: Vec<String> = added.chain(altered).chain(defaults).collect();
        if !changes.is_empty() {
            statements.push(format!(
                "alter table {qualified_name} {}",
                changes.join(", ")
            ));
        }
    }

    /// Column comments from the source's descriptions, then the table's comment if it changed.
    fn write_comments(&mut self, statements: &mut Vec<String>) {
        let plan = self.plan;
        self.comment.key_properties = plan.key_properties.to_vec();
        self.comment.description = plan.shape.description.clone();
        for (field, routes) in plan.shape.fields.iter().zip(&self.field_columns) {
            let Some(description) = &field.description else {
                continue;
            };
            for &(_, index) in routes {
                let column = &self.columns[index].name;
                let current = self.table.column_comments.get(column);
                if current == Some(description) {
                    self.comment
                        .column_descriptions
                        .insert(column.clone(), description.clone());
                    continue;
                }
                // A comment we did not write is the user's: kept, and said.
                if current.is_some() && current != self.comment.column_descriptions.get(column) {
                    tracing::warn!(
                        table = %self.qualified_name,
                        column = %column,
                        "the column's comment was set in the warehouse: kept, not replaced by \
                         the source's"
                    );
                    continue;
                }
                statements.push(format!(
                    "comment on column {}.{} is {}",
                    self.qualified_name,
                    quote(column),
                    literal(description)
                ));
                self.table
                    .column_comments
                    .insert(column.clone(), description.clone());
                self.comment
                    .column_descriptions
                    .insert(column.clone(), description.clone());
            }
        }
        if self.table.comment.as_ref() != Some(&self.comment) {
            let text = serde_json::to_string(&self.comment).expect("a comment serialises");
            statements.push(format!(
                "comment on table {} is {}",
                self.qualified_name,
                literal(&text)
            ));
        }
    }

    /// The table as the model has it once the DDL has run, and how records are written into it.
    fn finish(mut self) -> (WarehouseTable, TableLayout) {
        self.table.columns = self
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.column_type.sql.clone()))
            .collect();
        for column in self.columns.iter().filter(|c| c.is_filled_by_database()) {
            if !self.table.defaults.contains(&column.name) {
                self.table.defaults.push(column.name.clone());
            }
        }
        self.table.comment = Some(self.comment);
        let layout = TableLayout {
            table: self.plan.name.to_owned(),
            columns: self.columns,
            primary_key: self.primary_key,
            root_link: self.root_link,
            field_columns: self.field_columns,
            created_now: self.table.created_now,
            format: CopyFormat::default(),
        };
        (self.table, layout)
    }
}

/// `"name" type`, with its default when the database fills it.
fn column_definition(column: &LayoutColumn) -> String {
    let default = if column.is_filled_by_database() {
        " default now()"
    } else {
        ""
    };
    format!(
        "{} {}{default}",
        quote(&column.name),
        column.column_type.sql
    )
}

/// For tests: stream `orders` with `schema` (de-nested) and `keys`, planned into an empty schema.
#[cfg(test)]
pub(crate) fn planned_orders(
    schema: &serde_json::Value,
    keys: &[&str],
) -> (StreamShape, StreamLayout, Vec<String>) {
    let shape = StreamShape::from_schema(schema, crate::config::Nesting::Denest);
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let mut warehouse = Warehouse {
        schema: "s".into(),
        ..Warehouse::default()
    };
    let (layout, _) = warehouse
        .plan_stream("orders", &shape, &keys, false, None)
        .expect("a plannable schema");
    (shape, layout, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Nesting;
    use serde_json::{Value, json};

    fn plan(
        warehouse: &mut Warehouse,
        schema: Value,
        keys: &[&str],
    ) -> (StreamLayout, Vec<String>) {
        let shape = StreamShape::from_schema(&schema, Nesting::Denest);
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        warehouse
            .plan_stream("Orders", &shape, &keys, true, None)
            .unwrap()
    }

    fn names(layout: &TableLayout) -> Vec<&str> {
        layout.columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn warehouse() -> Warehouse {
        Warehouse {
            schema: "shop".into(),
            ..Warehouse::default()
        }
    }

    #[test]
    fn new_tables_for_a_nested_stream() {
        let mut warehouse = warehouse();
        let schema = json!({"properties": {
            "id": {"type": "integer"},
            "customer": {"type": "object", "properties": {"Name": {"type": "string"}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string"},
                "discounts": {"type": "array", "items": {"type": "object", "properties": {
                    "pct": {"type": "number"}}}}}}},
            "tags": {"type": "array", "items": {"type": "string"}}}});
        let (layout, statements) = plan(&mut warehouse, schema.clone(), &["id"]);
        let tables: Vec<&str> = layout.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(
            tables,
            [
                "orders",
                "orders__items",
                "orders__items__discounts",
                "orders__tags"
            ]
        );
        assert_eq!(names(&layout.tables[0])[..2], ["id", "customer__name"]);
        assert_eq!(
            names(&layout.tables[2])[..4],
            [
                "_sdc_source_key_id",
                "_sdc_level_0_id",
                "_sdc_level_1_id",
                "pct"
            ]
        );
        assert_eq!(
            names(&layout.tables[3])[..3],
            ["_sdc_source_key_id", "_sdc_level_0_id", "value"]
        );
        assert_eq!(
            layout.tables[2].primary_key,
            ["_sdc_source_key_id", "_sdc_level_0_id", "_sdc_level_1_id"]
        );
        assert_eq!(layout.tables[2].root_link, ["_sdc_source_key_id"]);
        assert!(statements[0].starts_with(
            r#"create table if not exists "shop"."orders" ("id" bigint, "customer__name" text"#
        ));
        assert!(statements[0].ends_with(r#"primary key ("id"))"#));
        assert!(statements[1].starts_with(r#"comment on table "shop"."orders" is '{"stream":"Orders","path":[],"key_properties":["id"],"columns":{"id":["id"],"customer__name":["customer","Name"]"#));
        // The same schema again: nothing to do.
        let (again, statements) = plan(&mut warehouse, schema, &["id"]);
        assert!(statements.is_empty(), "{statements:?}");
        assert_eq!(again.tables[0].columns, layout.tables[0].columns);
    }

    #[test]
    fn type_changes_add_suffixed_columns() {
        let mut warehouse = warehouse();
        plan(
            &mut warehouse,
            json!({"properties": {"id": {"type": "integer"},
            "code": {"type": "integer"}, "amount": {"type": "number", "x-sql-datatype": "numeric(12,2)"}}}),
            &["id"],
        );
        let (layout, statements) = plan(
            &mut warehouse,
            json!({"properties": {"id": {"type": "integer"},
            "code": {"type": "string"}, "amount": {"type": "number", "x-sql-datatype": "numeric(14,2)"},
            "multi": {"type": ["null", "string", "boolean"]}}}),
            &["id"],
        );
        let root = &layout.tables[0];
        assert_eq!(
            statements[0],
            r#"alter table "shop"."orders" add column if not exists "code__st" text, add column if not exists "multi__st" text, add column if not exists "multi__bo" boolean, alter column "amount" type numeric"#
        );
        let code = root.columns.iter().position(|c| c.name == "code").unwrap();
        assert_eq!(root.columns[code].source, ColumnSource::Unused);
        assert_eq!(
            root.field_columns[1],
            [(
                Family::Text,
                root.columns
                    .iter()
                    .position(|c| c.name == "code__st")
                    .unwrap()
            )]
        );
        // Back to integer: the original column is found again.
        let (layout, _) = plan(
            &mut warehouse,
            json!({"properties": {"id": {"type": "integer"},
            "code": {"type": "integer"}}}),
            &["id"],
        );
        assert_eq!(layout.tables[0].field_columns[1], [(Family::BigInt, code)]);
    }

    #[test]
    fn an_integer_key_widens_in_place_with_its_copies() {
        let mut warehouse = warehouse();
        let key = |sql_type: &str, minimum: i64, maximum: i64| {
            json!({"type": "integer", "x-sql-datatype": sql_type,
                   "minimum": minimum, "maximum": maximum})
        };
        let lines = json!({"type": "array", "items": {"type": "integer"}});
        let integer = key("integer", i32::MIN.into(), i32::MAX.into());
        let (_, statements) = plan(
            &mut warehouse,
            json!({"properties": {"id": integer, "lines": lines}}),
            &["id"],
        );
        assert!(
            statements[0]
                .starts_with(r#"create table if not exists "shop"."orders" ("id" integer"#)
        );
        let (_, statements) = plan(
            &mut warehouse,
            json!({"properties": {"id": key("bigint", i64::MIN, i64::MAX), "lines": lines}}),
            &["id"],
        );
        assert_eq!(
            statements,
            [
                r#"alter table "shop"."orders" alter column "id" type bigint"#,
                r#"alter table "shop"."orders__lines" alter column "_sdc_source_key_id" type bigint"#
            ]
        );
        // Narrower again: nothing to do.
        let smallint = key("smallint", i16::MIN.into(), i16::MAX.into());
        let (_, statements) = plan(
            &mut warehouse,
            json!({"properties": {"id": smallint, "lines": lines}}),
            &["id"],
        );
        assert!(statements.is_empty(), "{statements:?}");
    }

    #[test]
    fn keys_cannot_change() {
        let mut warehouse = warehouse();
        plan(
            &mut warehouse,
            json!({"properties": {"id": {"type": "integer"}, "b": {"type": "integer"}}}),
            &["id"],
        );
        let shape = StreamShape::from_schema(
            &json!({"properties": {"id": {"type": "integer"}, "b": {"type": "integer"}}}),
            Nesting::Denest,
        );
        let error = warehouse
            .plan_stream("Orders", &shape, &["id".into(), "b".into()], true, None)
            .unwrap_err();
        assert!(
            matches!(error, DdlError::KeyPropertiesChanged { .. }),
            "{error}"
        );
        let shape = StreamShape::from_schema(
            &json!({"properties": {"id": {"type": "string"}}}),
            Nesting::Denest,
        );
        let error = warehouse
            .plan_stream("Orders", &shape, &["id".into()], true, None)
            .unwrap_err();
        assert!(matches!(error, DdlError::KeyTypeChanged { .. }), "{error}");
        let error = warehouse
            .plan_stream("Orders", &shape, &["nope".into()], true, None)
            .unwrap_err();
        assert!(matches!(error, DdlError::BadKeyProperty { .. }), "{error}");
    }

    #[test]
    fn colliding_names() {
        let mut warehouse = warehouse();
        let (layout, _) = plan(
            &mut warehouse,
            json!({"properties": {"Name": {"type": "string"},
            "name": {"type": "string"}, "NAME": {"type": "integer"}}}),
            &[],
        );
        assert_eq!(
            names(&layout.tables[0])[..3],
            ["name", "name__2", "name__3"]
        );
        let other = StreamShape::from_schema(
            &json!({"properties": {"x": {"type": "string"}}}),
            Nesting::Denest,
        );
        let (layout, _) = warehouse
            .plan_stream("orders", &other, &[], true, None)
            .unwrap();
        assert_eq!(layout.tables[0].table, "orders__2");
    }
}
