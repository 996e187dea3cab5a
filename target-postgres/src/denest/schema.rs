//! De-nesting a SCHEMA: the tables of a stream and the fields of each, from the structure the
//! SCHEMA declares.

use common::json_schema::{JsonType, PropertyTypes, properties, sql_datatype};
use serde_json::{Map, Value};

use crate::column_type::{ColumnType, column_types, column_types_where, is_native_array};
use crate::config::Nesting;
use crate::system_column::SystemColumn;

/// A stream's tables: the root first, every child after its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamShape {
    pub tables: Vec<TableShape>,
}

/// One table of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TableShape {
    /// Property names from the root record to this table's array (`["items", "discounts"]`);
    /// empty for the root. Names the table and identifies it in its comment.
    pub source_path: Vec<String>,
    pub parent: Option<usize>,
    /// Where this table's array sits in a row of the parent table.
    pub array_path: Vec<String>,
    /// Array levels above a row: 0 for the root, 1 for `orders__items`, 2 below that.
    pub level: usize,
    /// Columns from the data; a field with an empty path is the array element itself (`value`).
    pub fields: Vec<Field>,
    pub children: Vec<usize>,
    /// The source's comment on the table (the schema's `description`; an array's, for a child).
    pub description: Option<String>,
}

/// A scalar (or schemaless) value at `path` inside a table's row, and the column types it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub path: Vec<String>,
    pub types: Vec<ColumnType>,
    /// The source's comment on the column (the property's `description`).
    pub description: Option<String>,
}

/// A schema's `description`: the source's comment, as our taps carry it.
fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

impl StreamShape {
    /// Reads a stream's SCHEMA.
    pub fn from_schema(schema: &Value, nesting: Nesting) -> Self {
        let mut shape = Self {
            tables: vec![TableShape {
                source_path: Vec::new(),
                parent: None,
                array_path: Vec::new(),
                level: 0,
                fields: Vec::new(),
                children: Vec::new(),
                description: description(schema),
            }],
        };
        if let Some(root) = properties(schema) {
            shape.add_object(0, &[], root, nesting);
        }
        shape
    }

    /// Adds the properties of an object found at `prefix` inside rows of `table`.
    fn add_object(
        &mut self,
        table: usize,
        prefix: &[String],
        object: &Map<String, Value>,
        nesting: Nesting,
    ) {
        for (name, property) in object {
            if prefix.is_empty() && SystemColumn::is_system(name) {
                continue;
            }
            let path: Vec<String> = prefix.iter().cloned().chain([name.clone()]).collect();
            self.add_property(table, path, property, nesting);
        }
    }

    fn add_property(
        &mut self,
        table: usize,
        path: Vec<String>,
        property: &Value,
        nesting: Nesting,
    ) {
        let types = PropertyTypes::of(property);
        let denest = nesting == Nesting::Denest;
        let nested_object = denest
            && types.types.contains(&JsonType::Object)
            && properties(property).is_some_and(|p| !p.is_empty());
        let child_items = property
            .get("items")
            .filter(|_| denest && types.types.contains(&JsonType::Array))
            .filter(|_| !sql_datatype(property).is_some_and(is_native_array))
            .filter(|items| !PropertyTypes::of(items).types.is_empty());
        if let Some(object) = properties(property).filter(|_| nested_object) {
            self.add_object(table, &path, object, nesting);
        }
        if let Some(items) = child_items {
            self.add_child(table, path.clone(), property, items, nesting);
        }
        // The property's other types, if any, still need columns of their own.
        let handled = |t: JsonType| {
            (nested_object && t == JsonType::Object)
                || (child_items.is_some() && t == JsonType::Array)
        };
        let column_types = column_types_where(property, |t| !handled(t));
        if !column_types.is_empty() {
            self.tables[table].fields.push(Field {
                path,
                types: column_types,
                description: description(property),
            });
        }
    }

    /// A child table for the array at `array_path` in rows of `parent`.
    fn add_child(
        &mut self,
        parent: usize,
        array_path: Vec<String>,
        array: &Value,
        items: &Value,
        nesting: Nesting,
    ) {
        let index = self.tables.len();
        let source_path = self.tables[parent]
            .source_path
            .iter()
            .chain(&array_path)
            .cloned()
            .collect();
        self.tables.push(TableShape {
            source_path,
            parent: Some(parent),
            array_path,
            level: self.tables[parent].level + 1,
            fields: Vec::new(),
            children: Vec::new(),
            description: description(array),
        });
        self.tables[parent].children.push(index);
        let item_types = PropertyTypes::of(items);
        let object_items = item_types.types.contains(&JsonType::Object)
            && properties(items).is_some_and(|p| !p.is_empty());
        match properties(items).filter(|_| object_items) {
            Some(object) => self.add_object(index, &[], object, nesting),
            None => {
                // Scalars (or arrays of arrays, kept whole): the element itself, in `value`.
                let types = column_types(items);
                self.tables[index].fields.push(Field {
                    path: Vec::new(),
                    types,
                    description: description(items),
                });
            }
        }
    }

    pub fn root(&self) -> &TableShape {
        &self.tables[0]
    }
}

impl TableShape {
    pub fn is_root(&self) -> bool {
        self.parent.is_none()
    }

    /// The field at `path`, if the table has one.
    pub fn field(&self, path: &[String]) -> Option<usize> {
        self.fields.iter().position(|field| field.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_schema() -> Value {
        json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "customer": {"type": ["null", "object"], "properties": {
                "name": {"type": "string"},
                "address": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string"},
                "discounts": {"type": "array", "items": {"type": "object", "properties": {
                    "pct": {"type": "number"}}}}}}},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            "attributes": {},
            "scores": {"type": "array", "items": {"type": "integer"}, "x-sql-datatype": "integer[]"},
            "_sdc_deleted_at": {"type": ["null", "string"], "format": "date-time"}
        }})
    }

    fn paths(table: &TableShape) -> Vec<String> {
        table.fields.iter().map(|f| f.path.join(".")).collect()
    }

    #[test]
    fn the_worked_example() {
        let shape = StreamShape::from_schema(&order_schema(), Nesting::Denest);
        let sources: Vec<String> = shape
            .tables
            .iter()
            .map(|t| t.source_path.join("/"))
            .collect();
        assert_eq!(sources, ["", "items", "items/discounts", "tags"]);
        assert_eq!(
            paths(shape.root()),
            [
                "id",
                "customer.name",
                "customer.address.city",
                "attributes",
                "scores"
            ]
        );
        assert_eq!(shape.root().fields[3].types[0].sql, "jsonb");
        assert_eq!(shape.root().fields[4].types[0].sql, "integer[]");
        let items = &shape.tables[1];
        assert_eq!((items.level, items.parent), (1, Some(0)));
        assert_eq!(paths(items), ["sku"]);
        let discounts = &shape.tables[2];
        assert_eq!((discounts.level, discounts.parent), (2, Some(1)));
        assert_eq!(discounts.array_path, ["discounts"]);
        let tags = &shape.tables[3];
        assert_eq!(paths(tags), [""]);
        assert_eq!(tags.fields[0].types[0].sql, "text");
    }

    #[test]
    fn jsonb_nesting_keeps_objects_and_arrays_whole() {
        let shape = StreamShape::from_schema(&order_schema(), Nesting::Jsonb);
        assert_eq!(shape.tables.len(), 1);
        assert_eq!(
            paths(shape.root()),
            ["id", "customer", "items", "tags", "attributes", "scores"]
        );
        let sql: Vec<&str> = shape
            .root()
            .fields
            .iter()
            .map(|f| f.types[0].sql.as_str())
            .collect();
        assert_eq!(
            sql,
            ["bigint", "jsonb", "jsonb", "jsonb", "jsonb", "integer[]"]
        );
    }

    #[test]
    fn mixed_types_keep_their_scalar_columns() {
        let schema = json!({"properties": {
            "note": {"type": ["string", "object"], "properties": {"text": {"type": "string"}}},
            "list": {"type": ["integer", "array"], "items": {"type": "integer"}}}});
        let shape = StreamShape::from_schema(&schema, Nesting::Denest);
        assert_eq!(paths(shape.root()), ["note.text", "note", "list"]);
        assert_eq!(shape.root().fields[1].types[0].sql, "text");
        assert_eq!(shape.root().fields[2].types[0].sql, "bigint");
        assert_eq!(shape.tables[1].source_path, ["list"]);
    }
}
