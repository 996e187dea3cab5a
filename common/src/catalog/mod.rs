//! The catalog: which streams a tap offers, and which of them (and which columns) the user selected.
//!
//! A tap's `--discover` prints a [`Catalog`]; the user (or Meltano, or config `select` patterns)
//! marks streams and columns `selected` in its metadata and picks a replication method; the tap's
//! sync resolves each selected entry into a [`StreamSelection`]. Metadata follows the Singer
//! breadcrumb convention: `[]` is the table, `["properties", "col"]` a column.
//!
//! Keys of other tools (Meltano SDK's stream-level `key_properties`, `replication_method`,
//! `replication_key`, legacy `selected` inside the schema) are kept on write and honoured where
//! the metadata is silent.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use wildmatch::WildMatch;

use crate::spelling::closest;

mod pattern;

use crate::json_schema::object_schema;
pub use pattern::{InvalidSelectPattern, SelectPattern};

/// How a stream is replicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplicationMethod {
    FullTable,
    Incremental,
    LogBased,
}

impl ReplicationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullTable => "FULL_TABLE",
            Self::Incremental => "INCREMENTAL",
            Self::LogBased => "LOG_BASED",
        }
    }
}

impl fmt::Display for ReplicationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A replication method name that is not one of `FULL_TABLE`, `INCREMENTAL`, `LOG_BASED`.
#[derive(Debug, thiserror::Error)]
#[error("unknown replication method {0:?}: expected FULL_TABLE, INCREMENTAL or LOG_BASED")]
pub struct UnknownReplicationMethod(String);

impl FromStr for ReplicationMethod {
    type Err = UnknownReplicationMethod;

    /// Case-insensitive; `-` and ` ` count as `_` (`full-table`, `log based`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normal = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        match normal.as_str() {
            "FULL_TABLE" => Ok(Self::FullTable),
            "INCREMENTAL" => Ok(Self::Incremental),
            "LOG_BASED" => Ok(Self::LogBased),
            _ => Err(UnknownReplicationMethod(text.to_owned())),
        }
    }
}

impl<'de> Deserialize<'de> for ReplicationMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A catalog that cannot be used for a sync.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("could not read catalog file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog file {path} is not a Singer catalog")]
    Invalid {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("stream {stream}")]
    UnknownMethod {
        stream: String,
        #[source]
        source: UnknownReplicationMethod,
    },
    #[error(
        "stream {stream}: INCREMENTAL replication needs a replication key: set `replication-key` \
         in the catalog's metadata, or `replication_key` in the config `select` entry; valid \
         keys: {valid}"
    )]
    MissingReplicationKey { stream: String, valid: String },
    #[error("stream {stream}: {key:?} cannot be the replication key; valid keys: {valid}")]
    UnknownReplicationKey {
        stream: String,
        key: String,
        valid: String,
    },
    #[error(
        "config {key}: no table this user can read in {}: check the spelling and the user's \
         privileges",
        names.join(", ")
    )]
    FilterMatchesNothing {
        key: &'static str,
        names: Vec<String>,
    },
    #[error("select pattern {pattern:?} matches no table{}", closest_hint(closest))]
    SelectMatchesNothing {
        pattern: String,
        closest: Option<String>,
    },
    #[error(
        "select pattern {pattern:?}: table {table} has no column {column:?}{}",
        did_you_mean(closest)
    )]
    SelectNoColumn {
        pattern: String,
        table: String,
        column: String,
        closest: Option<String>,
    },
    #[error(
        "stream {stream}: {chosen} was chosen but only {forced} works for it \
         (`forced-replication-method`)"
    )]
    ForcedMethod {
        stream: String,
        forced: ReplicationMethod,
        chosen: ReplicationMethod,
    },
    #[error("stream {stream}: key column {column:?} is not in the stream's schema")]
    UnknownKeyColumn { stream: String, column: String },
}

fn closest_hint(closest: &Option<String>) -> String {
    match closest {
        Some(_) => did_you_mean(closest),
        None => " (tables this user cannot read are not discovered)".to_owned(),
    }
}

fn did_you_mean(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map(|name| format!(" (did you mean {name}?)"))
        .unwrap_or_default()
}

/// What `--discover` prints and `--catalog` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub streams: Vec<CatalogEntry>,
}

/// One stream (a table or view) of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// `<schema-or-db>-<table>`: the key of the stream's bookmark.
    pub tap_stream_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    /// The name RECORDs carry, and so the target table's name.
    pub stream: String,
    /// JSON Schema of a row: one property per column.
    pub schema: Value,
    #[serde(default)]
    pub metadata: Metadata,
    /// Meltano SDK's stream-level key; metadata `table-key-properties` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_properties: Option<Vec<String>>,
    /// Meltano SDK's stream-level method (often `""`); metadata `replication-method` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_key: Option<String>,
    /// Any other key (`is_view`, `database_name`, `stream_alias`, …), kept as it was.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Singer metadata: a list of (breadcrumb, key-value map) entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metadata(pub Vec<MetadataEntry>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataEntry {
    pub breadcrumb: Vec<String>,
    pub metadata: Map<String, Value>,
}

/// A selected stream, resolved: what to read and how.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSelection {
    pub tap_stream_id: String,
    pub stream: String,
    /// Schema (PostgreSQL) or database (MySQL) holding the table.
    pub namespace: Option<String>,
    pub table_name: String,
    /// Selected columns in schema order; key and replication-key columns always included.
    pub columns: Vec<String>,
    pub key_properties: Vec<String>,
    pub replication_method: ReplicationMethod,
    pub replication_key: Option<String>,
    pub is_view: bool,
    /// The entry's JSON Schema narrowed to the selected columns: what the SCHEMA message carries.
    pub schema: Value,
    /// Discovery's `row-count` estimate, for progress bars.
    pub row_count: Option<u64>,
}

/// A table or view as a tap's discovery found it: what a catalog entry is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredTable {
    /// Schema (PostgreSQL) or database (MySQL): the `tap_stream_id` prefix.
    pub namespace: String,
    pub name: String,
    /// Table-level metadata saying where the table lives: `schema-name`, `database-name`.
    pub location: Vec<(&'static str, String)>,
    pub primary_key: Vec<String>,
    pub is_view: bool,
    /// The database's estimate.
    pub row_count: u64,
    pub columns: Vec<DiscoveredColumn>,
    /// The table's comment at the source, as the schema's `description`; `None` for none.
    pub comment: Option<String>,
}

/// One column of a [`DiscoveredTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredColumn {
    pub name: String,
    /// The exact database type, as `sql-datatype` metadata.
    pub sql_datatype: String,
    /// The property's JSON Schema, `x-sql-datatype` included.
    pub schema: Value,
    /// Usable as a replication key (`where col >= v order by col`).
    pub orderable: bool,
    /// The column's comment at the source, as the property's `description`; `None` for none.
    pub comment: Option<String>,
}

/// A JSON Schema with the source's comment as its `description` (standard JSON Schema), which
/// the SCHEMA message carries to the target; no comment, no `description`.
fn with_description(mut schema: Value, comment: Option<String>) -> Value {
    if let (Some(comment), Some(object)) = (comment, schema.as_object_mut()) {
        object.insert("description".to_owned(), Value::String(comment));
    }
    schema
}

/// `["properties", column]`.
pub fn column_breadcrumb(column: &str) -> Vec<String> {
    vec!["properties".to_owned(), column.to_owned()]
}

impl Metadata {
    /// The key-value map at a breadcrumb.
    pub fn get(&self, breadcrumb: &[&str]) -> Option<&Map<String, Value>> {
        self.0
            .iter()
            .find(|entry| {
                entry
                    .breadcrumb
                    .iter()
                    .map(String::as_str)
                    .eq(breadcrumb.iter().copied())
            })
            .map(|entry| &entry.metadata)
    }

    /// The map at a breadcrumb, created empty if missing.
    pub fn get_mut(&mut self, breadcrumb: &[&str]) -> &mut Map<String, Value> {
        let position = self.0.iter().position(|entry| {
            entry
                .breadcrumb
                .iter()
                .map(String::as_str)
                .eq(breadcrumb.iter().copied())
        });
        let index = position.unwrap_or_else(|| {
            self.0.push(MetadataEntry {
                breadcrumb: breadcrumb.iter().map(|part| (*part).to_owned()).collect(),
                metadata: Map::new(),
            });
            self.0.len() - 1
        });
        &mut self.0[index].metadata
    }

    /// Sets one key at a breadcrumb.
    pub fn set(&mut self, breadcrumb: &[&str], key: &str, value: impl Into<Value>) {
        self.get_mut(breadcrumb)
            .insert(key.to_owned(), value.into());
    }

    /// Table-level metadata (breadcrumb `[]`).
    pub fn table(&self) -> Option<&Map<String, Value>> {
        self.get(&[])
    }

    pub fn column(&self, column: &str) -> Option<&Map<String, Value>> {
        self.get(&["properties", column])
    }

    /// A table-level value.
    pub fn table_value(&self, key: &str) -> Option<&Value> {
        self.table().and_then(|map| map.get(key))
    }

    /// A column-level value.
    pub fn column_value(&self, column: &str, key: &str) -> Option<&Value> {
        self.column(column).and_then(|map| map.get(key))
    }
}

impl Catalog {
    /// The catalog of discovered tables, in the order given. A table name found in two
    /// namespaces becomes `<namespace>_<table>` in both, so stream names stay unique.
    pub fn from_discovered(tables: Vec<DiscoveredTable>) -> Self {
        let mut name_count: HashMap<String, usize> = HashMap::new();
        for table in &tables {
            *name_count.entry(table.name.clone()).or_default() += 1;
        }
        let streams = tables
            .into_iter()
            .map(|table| {
                let stream = if name_count[&table.name] > 1 {
                    format!("{}_{}", table.namespace, table.name)
                } else {
                    table.name.clone()
                };
                CatalogEntry::discovered(table, stream)
            })
            .collect();
        Self { streams }
    }

    /// Prints the catalog on stdout, as `--discover` does.
    pub fn print(&self) -> std::io::Result<()> {
        let views = self.streams.iter().filter(|entry| entry.is_view()).count();
        tracing::info!(
            streams = self.streams.len(),
            tables = self.streams.len() - views,
            views,
            "discovered the streams this user can read"
        );
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, self)?;
        writeln!(out)?;
        out.flush()
    }

    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| CatalogError::Invalid {
            path: shown,
            source,
        })
    }

    /// Resolves every selected stream. `default_method` is config `default_replication_method`.
    pub fn selected_streams(
        &self,
        default_method: Option<ReplicationMethod>,
    ) -> Result<Vec<StreamSelection>, CatalogError> {
        self.streams
            .iter()
            .filter(|entry| entry.is_selected())
            .map(|entry| entry.resolve(default_method))
            .collect()
    }

    /// Applies config `select` patterns wherever the catalog itself says nothing: a `selected`,
    /// `replication-method` or `replication-key` already in the metadata is left alone.
    /// Every name of a discovery filter (`filter_schemas`, `filter_dbs`) must have found a
    /// table: a typo there would otherwise discover nothing, silently.
    pub fn check_namespaces(
        &self,
        key: &'static str,
        names: &[String],
    ) -> Result<(), CatalogError> {
        let missing: Vec<String> = names
            .iter()
            .filter(|name| {
                !self
                    .streams
                    .iter()
                    .any(|entry| entry.namespace() == Some(name.as_str()))
            })
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::FilterMatchesNothing {
                key,
                names: missing,
            })
        }
    }

    /// A pattern that names no table, or a column no table it names has, is an error naming the
    /// closest name: a typo must not silently select nothing, or leave a column in.
    pub fn apply_select_patterns(
        &mut self,
        patterns: &[SelectPattern],
    ) -> Result<(), CatalogError> {
        let patterns: Vec<ReadPattern> = patterns.iter().map(|p| self.read_pattern(p)).collect();
        for pattern in &patterns {
            self.check_pattern(pattern)?;
        }
        for entry in &mut self.streams {
            entry.apply_select_patterns(&patterns);
        }
        Ok(())
    }

    fn check_pattern(&self, pattern: &ReadPattern<'_>) -> Result<(), CatalogError> {
        let shown = pattern.pattern.to_string();
        let tables: Vec<&CatalogEntry> =
            self.streams.iter().filter(|e| pattern.matches(e)).collect();
        if tables.is_empty() {
            let names: Vec<String> = self
                .streams
                .iter()
                .map(CatalogEntry::qualified_name)
                .collect();
            let wanted = format!("{}.{}", pattern.pattern.namespace, pattern.pattern.table);
            return Err(CatalogError::SelectMatchesNothing {
                pattern: shown,
                closest: closest(&wanted, names.iter().map(String::as_str)).map(str::to_owned),
            });
        }
        let Some(column) = pattern
            .column()
            .filter(|column| !column.contains(['*', '?']))
        else {
            return Ok(());
        };
        if tables
            .iter()
            .any(|entry| entry.columns().any(|c| c == column))
        {
            return Ok(());
        }
        let entry = tables[0];
        Err(CatalogError::SelectNoColumn {
            pattern: shown,
            table: entry.qualified_name(),
            column: column.to_owned(),
            closest: closest(column, entry.columns()).map(str::to_owned),
        })
    }

    /// How `pattern` reads against this catalog. `a-b.c` is ambiguous: `namespace.table` (schema
    /// `a-b`, table `c`), or Meltano's `tap_stream_id.column` (stream `a-b`, our taps' id for
    /// schema `a`, table `b`; column `c`), the form of Meltano's `select` extra (`shop-users.*`,
    /// `!shop-users.ssn`). It is read as `namespace.table[.column]` whenever that names a table
    /// here; otherwise, when its first part has a `-` and matches a `tap_stream_id`, as
    /// `tap_stream_id.column`, the rest (`c`, or `c.d`) being the column. As in Meltano,
    /// `!stream.*` leaves the whole stream out.
    fn read_pattern<'a>(&self, pattern: &'a SelectPattern) -> ReadPattern<'a> {
        let as_table = ReadPattern {
            pattern,
            by_stream_id: false,
            column: pattern.column.clone(),
        };
        let names_a_table = self.streams.iter().any(|entry| as_table.matches(entry));
        let stream_id = WildMatch::new(&pattern.namespace);
        if names_a_table
            || !pattern.namespace.contains('-')
            || !self
                .streams
                .iter()
                .any(|entry| stream_id.matches(&entry.tap_stream_id))
        {
            return as_table;
        }
        let column = match &pattern.column {
            Some(rest) => format!("{}.{rest}", pattern.table),
            None => pattern.table.clone(),
        };
        ReadPattern {
            pattern,
            by_stream_id: true,
            column: (!(pattern.negated && column == "*")).then_some(column),
        }
    }

    pub fn entry(&self, tap_stream_id: &str) -> Option<&CatalogEntry> {
        self.streams
            .iter()
            .find(|entry| entry.tap_stream_id == tap_stream_id)
    }
}

impl CatalogEntry {
    /// The entry of a discovered table: Singer metadata with nothing selected yet, key columns
    /// `automatic`, and FULL_TABLE forced where there is neither a key nor a replication key.
    fn discovered(table: DiscoveredTable, stream: String) -> Self {
        let mut metadata = Metadata::default();
        let valid_replication_keys: Vec<&str> = table
            .columns
            .iter()
            .filter(|column| column.orderable)
            .map(|column| column.name.as_str())
            .collect();
        metadata.set(&[], "table-key-properties", json!(table.primary_key));
        metadata.set(&[], "valid-replication-keys", json!(valid_replication_keys));
        for (key, value) in &table.location {
            metadata.set(&[], key, value.clone());
        }
        metadata.set(&[], "is-view", table.is_view);
        metadata.set(&[], "row-count", table.row_count);
        metadata.set(&[], "selected-by-default", false);
        if table.primary_key.is_empty() && valid_replication_keys.is_empty() {
            metadata.set(&[], "forced-replication-method", "FULL_TABLE");
        }
        let mut properties = Map::new();
        for column in table.columns {
            let breadcrumb = ["properties", column.name.as_str()];
            let inclusion = if table.primary_key.contains(&column.name) {
                "automatic"
            } else {
                "available"
            };
            metadata.set(&breadcrumb, "sql-datatype", column.sql_datatype);
            metadata.set(&breadcrumb, "inclusion", inclusion);
            metadata.set(&breadcrumb, "selected-by-default", true);
            properties.insert(column.name, with_description(column.schema, column.comment));
        }
        Self {
            tap_stream_id: format!("{}-{}", table.namespace, table.name),
            table_name: Some(table.name),
            stream,
            schema: with_description(object_schema(properties), table.comment),
            metadata,
            key_properties: None,
            replication_method: None,
            replication_key: None,
            other: Map::new(),
        }
    }

    /// The schema (PostgreSQL) or database (MySQL) of the table.
    pub fn namespace(&self) -> Option<&str> {
        ["schema-name", "database-name"]
            .iter()
            .find_map(|key| self.metadata.table_value(key).and_then(Value::as_str))
            .or_else(|| {
                ["schema_name", "database_name"]
                    .iter()
                    .find_map(|key| self.other.get(*key).and_then(Value::as_str))
            })
    }

    pub fn table_name(&self) -> &str {
        self.table_name.as_deref().unwrap_or(&self.stream)
    }

    pub fn is_view(&self) -> bool {
        self.metadata
            .table_value("is-view")
            .or_else(|| self.other.get("is_view"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Column names, in schema order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|properties| properties.keys().map(String::as_str))
    }

    /// `namespace.table`, as select patterns name it.
    fn qualified_name(&self) -> String {
        format!(
            "{}.{}",
            self.namespace().unwrap_or_default(),
            self.table_name()
        )
    }

    /// Selected by table metadata, or by the legacy `selected` of the entry or its schema.
    pub fn is_selected(&self) -> bool {
        self.metadata
            .table_value("selected")
            .or_else(|| self.other.get("selected"))
            .or_else(|| self.schema.get("selected"))
            .and_then(flag)
            .unwrap_or(false)
    }

    /// Key columns: `table-key-properties`, else `view-key-properties` (views have no key of their
    /// own), else the SDK's stream-level `key_properties`.
    pub fn key_properties(&self) -> Vec<String> {
        let from_metadata = |key| {
            self.metadata
                .table_value(key)
                .and_then(Value::as_array)
                .filter(|names| !names.is_empty())
        };
        from_metadata("table-key-properties")
            .or_else(|| from_metadata("view-key-properties"))
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .or_else(|| self.key_properties.clone())
            .unwrap_or_default()
    }

    fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata
            .table_value(key)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    }

    fn parse_method(&self, text: &str) -> Result<ReplicationMethod, CatalogError> {
        text.parse().map_err(|source| CatalogError::UnknownMethod {
            stream: self.tap_stream_id.clone(),
            source,
        })
    }

    /// The method to sync with: metadata `replication-method`, else the SDK's stream-level one,
    /// else `forced-replication-method`, else `default_method`, else FULL_TABLE.
    pub fn replication_method(
        &self,
        default_method: Option<ReplicationMethod>,
    ) -> Result<ReplicationMethod, CatalogError> {
        let forced = self
            .metadata_str("forced-replication-method")
            .map(|text| self.parse_method(text))
            .transpose()?;
        let chosen = self
            .metadata_str("replication-method")
            .or(self.replication_method.as_deref().filter(|m| !m.is_empty()))
            .map(|text| self.parse_method(text))
            .transpose()?;
        match (chosen, forced) {
            (Some(chosen), Some(forced)) if chosen != forced => Err(CatalogError::ForcedMethod {
                stream: self.tap_stream_id.clone(),
                forced,
                chosen,
            }),
            (Some(method), _) | (None, Some(method)) => Ok(method),
            (None, None) => Ok(default_method.unwrap_or(ReplicationMethod::FullTable)),
        }
    }

    /// Whether a column is to be read, by the Singer rules: `automatic` always, `unsupported`
    /// never, else its `selected`, else its `selected-by-default`, else yes.
    pub fn is_column_selected(&self, column: &str) -> bool {
        let metadata = self.metadata.column(column);
        let property = self.schema.get("properties").and_then(|p| p.get(column));
        let lookup = |key: &str| {
            metadata
                .and_then(|map| map.get(key))
                .or_else(|| property.and_then(|p| p.get(key)))
        };
        match lookup("inclusion").and_then(Value::as_str) {
            Some("automatic") => return true,
            Some("unsupported") => return false,
            _ => {}
        }
        lookup("selected")
            .or_else(|| lookup("selected-by-default"))
            .and_then(flag)
            .unwrap_or(true)
    }

    /// Resolves this entry for a sync. Call for selected entries.
    pub fn resolve(
        &self,
        default_method: Option<ReplicationMethod>,
    ) -> Result<StreamSelection, CatalogError> {
        let stream = &self.tap_stream_id;
        let replication_method = self.replication_method(default_method)?;
        let replication_key = self
            .metadata_str("replication-key")
            .or(self
                .replication_key
                .as_deref()
                .filter(|key| !key.is_empty()))
            .map(str::to_owned);
        let all_columns: Vec<&str> = self.columns().collect();
        let key_properties = self.key_properties();
        if let Some(column) = key_properties
            .iter()
            .find(|key| !all_columns.contains(&key.as_str()))
        {
            return Err(CatalogError::UnknownKeyColumn {
                stream: stream.clone(),
                column: column.clone(),
            });
        }
        // Discovery lists the orderable columns; catalogs without the list allow any column.
        let valid_keys: Vec<&str> = match self.metadata.table_value("valid-replication-keys") {
            Some(Value::Array(keys)) => keys.iter().filter_map(Value::as_str).collect(),
            _ => all_columns.clone(),
        };
        let valid = || match valid_keys.is_empty() {
            true => "none (no column of this table can order a sync)".to_owned(),
            false => valid_keys.join(", "),
        };
        match (&replication_key, replication_method) {
            (None, ReplicationMethod::Incremental) => {
                return Err(CatalogError::MissingReplicationKey {
                    stream: stream.clone(),
                    valid: valid(),
                });
            }
            (Some(key), method)
                if !all_columns.contains(&key.as_str())
                    || (method == ReplicationMethod::Incremental
                        && !valid_keys.contains(&key.as_str())) =>
            {
                return Err(CatalogError::UnknownReplicationKey {
                    stream: stream.clone(),
                    key: key.clone(),
                    valid: valid(),
                });
            }
            _ => {}
        }
        // The replication key only matters, and so is only forced in, for INCREMENTAL.
        let incremental_key = replication_key
            .as_deref()
            .filter(|_| replication_method == ReplicationMethod::Incremental);
        let columns: Vec<String> = all_columns
            .into_iter()
            .filter(|column| {
                key_properties.iter().any(|key| key == column)
                    || incremental_key == Some(*column)
                    || self.is_column_selected(column)
            })
            .map(str::to_owned)
            .collect();
        let mut schema = self.schema.clone();
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.retain(|name, _| columns.contains(name));
        }
        Ok(StreamSelection {
            tap_stream_id: stream.clone(),
            stream: self.stream.clone(),
            namespace: self.namespace().map(str::to_owned),
            table_name: self.table_name().to_owned(),
            columns,
            key_properties,
            replication_method,
            replication_key,
            is_view: self.is_view(),
            schema,
            row_count: self
                .metadata
                .table_value("row-count")
                .and_then(Value::as_u64),
        })
    }

    fn apply_select_patterns(&mut self, patterns: &[ReadPattern]) {
        let matching: Vec<&ReadPattern> = patterns.iter().filter(|p| p.matches(self)).collect();
        if matching.is_empty() {
            return;
        }
        let table_metadata = self.metadata.get_mut(&[]);
        let excluded = matching
            .iter()
            .any(|p| p.pattern.negated && p.column().is_none());
        let included = matching.iter().any(|p| !p.pattern.negated);
        if !table_metadata.contains_key("selected") && (excluded || included) {
            table_metadata.insert("selected".into(), Value::Bool(included && !excluded));
        }
        for pattern in matching.iter().map(|p| p.pattern).filter(|p| !p.negated) {
            if let Some(method) = pattern.replication_method {
                table_metadata
                    .entry("replication-method")
                    .or_insert_with(|| method.as_str().into());
            }
            if let Some(key) = &pattern.replication_key {
                table_metadata
                    .entry("replication-key")
                    .or_insert_with(|| key.clone().into());
            }
        }
        // Naming single columns without `db.table` or `db.table.*` selects just those columns.
        let only_named_columns = matching
            .iter()
            .all(|p| p.pattern.negated || p.column().is_some())
            && matching
                .iter()
                .all(|p| p.pattern.negated || p.column() != Some("*"));
        let columns: Vec<String> = self.columns().map(str::to_owned).collect();
        for column in columns {
            let matches = |p: &&&ReadPattern| {
                p.column()
                    .is_some_and(|c| WildMatch::new(c).matches(&column))
            };
            let decision = if matching
                .iter()
                .filter(|p| p.pattern.negated)
                .any(|p| matches(&p))
            {
                Some(false)
            } else if matching
                .iter()
                .filter(|p| !p.pattern.negated)
                .any(|p| matches(&p))
            {
                Some(true)
            } else if only_named_columns && included {
                Some(false)
            } else {
                None
            };
            if let Some(selected) = decision {
                self.metadata
                    .get_mut(&["properties", &column])
                    .entry("selected")
                    .or_insert(Value::Bool(selected));
            }
        }
    }
}

/// A config `select` pattern as [`Catalog::read_pattern`] reads it.
/// A selection flag: `true`, or the string `"true"` as some tools write it (never read as false).
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => text.trim().to_ascii_lowercase().parse().ok(),
        _ => None,
    }
}

struct ReadPattern<'a> {
    pattern: &'a SelectPattern,
    /// Read as `tap_stream_id.column`: `pattern.namespace` is the `tap_stream_id`.
    by_stream_id: bool,
    /// The column part: `None` for a pattern naming the table alone.
    column: Option<String>,
}

impl ReadPattern<'_> {
    /// Whether the pattern names `entry`'s table.
    fn matches(&self, entry: &CatalogEntry) -> bool {
        let first = WildMatch::new(&self.pattern.namespace);
        if self.by_stream_id {
            return first.matches(&entry.tap_stream_id);
        }
        first.matches(entry.namespace().unwrap_or_default())
            && WildMatch::new(&self.pattern.table).matches(entry.table_name())
    }

    fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A discovered entry: `shop.<table>` with columns id (key), name, email, ssn, updated_at.
    fn entry(table: &str) -> CatalogEntry {
        let mut metadata = Metadata::default();
        metadata.set(&[], "database-name", "shop");
        metadata.set(&[], "table-key-properties", json!(["id"]));
        metadata.set(&[], "selected-by-default", false);
        for column in ["id", "name", "email", "ssn", "updated_at"] {
            let inclusion = if column == "id" {
                "automatic"
            } else {
                "available"
            };
            metadata.set(&["properties", column], "inclusion", inclusion);
            metadata.set(&["properties", column], "selected-by-default", true);
        }
        CatalogEntry {
            tap_stream_id: format!("shop-{table}"),
            table_name: Some(table.to_owned()),
            stream: table.to_owned(),
            schema: json!({"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": ["null", "string"]},
                "email": {"type": ["null", "string"]}, "ssn": {"type": ["null", "string"]},
                "updated_at": {"type": ["null", "string"], "format": "date-time"}}}),
            metadata,
            key_properties: None,
            replication_method: None,
            replication_key: None,
            other: Map::new(),
        }
    }

    fn catalog_selected_by(patterns: &[&str]) -> Catalog {
        try_select(patterns).unwrap()
    }

    fn try_select(patterns: &[&str]) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog {
            streams: vec![entry("customers"), entry("orders"), entry("events")],
        };
        let patterns: Vec<SelectPattern> = patterns.iter().map(|p| p.parse().unwrap()).collect();
        catalog.apply_select_patterns(&patterns)?;
        Ok(catalog)
    }

    #[test]
    fn patterns_that_name_nothing_are_errors_with_the_closest_name() {
        let message = |patterns: &[&str]| try_select(patterns).unwrap_err().to_string();
        assert_eq!(
            message(&["shop.custmers"]),
            "select pattern \"shop.custmers\" matches no table (did you mean shop.customers?)"
        );
        assert_eq!(
            message(&["shop.customers.emial"]),
            "select pattern \"shop.customers.emial\": table shop.customers has no column \"emial\" \
             (did you mean email?)"
        );
        // A typo in an exclusion would leave the column in: an error too.
        assert!(message(&["shop.customers.*", "!shop.customers.snn"]).contains("ssn"));
        assert!(message(&["crm.*"]).contains("cannot read"));
        assert!(message(&["shop-nothing.*"]).contains("matches no table"));
        // Wildcard columns and existing names pass.
        assert!(try_select(&["shop.*.e*", "shop-orders.email"]).is_ok());
    }

    #[test]
    fn selected_written_as_a_string_is_read_as_written() {
        let mut catalog = Catalog {
            streams: vec![entry("customers")],
        };
        catalog.streams[0].metadata.set(&[], "selected", "true");
        assert!(catalog.streams[0].is_selected());
        catalog.streams[0].metadata.set(&[], "selected", "False");
        assert!(!catalog.streams[0].is_selected());
    }

    #[test]
    fn an_incremental_key_must_be_a_valid_replication_key() {
        let mut customers = entry("customers");
        customers
            .metadata
            .set(&[], "valid-replication-keys", json!(["id", "updated_at"]));
        customers
            .metadata
            .set(&[], "replication-method", "INCREMENTAL");
        let err = customers.resolve(None).unwrap_err().to_string();
        assert!(
            err.contains("needs a replication key") && err.contains("id, updated_at"),
            "{err}"
        );
        customers.metadata.set(&[], "replication-key", "name");
        let err = customers.resolve(None).unwrap_err().to_string();
        assert!(
            err.contains("\"name\" cannot be the replication key; valid keys: id, updated_at"),
            "{err}"
        );
        customers.metadata.set(&[], "replication-key", "updated_at");
        assert!(customers.resolve(None).is_ok());
    }

    fn columns_of(catalog: &Catalog, stream: &str) -> Vec<String> {
        catalog
            .selected_streams(None)
            .unwrap()
            .into_iter()
            .find(|s| s.stream == stream)
            .map(|s| s.columns)
            .unwrap_or_default()
    }

    #[test]
    fn table_pattern_selects_the_table_with_default_columns() {
        let catalog = catalog_selected_by(&["shop.orders"]);
        let selected = catalog.selected_streams(None).unwrap();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].stream, "orders");
        assert_eq!(selected[0].columns.len(), 5);
    }

    #[test]
    fn negated_columns_are_left_out_and_keys_stay_in() {
        let catalog = catalog_selected_by(&[
            "shop.customers.*",
            "!shop.customers.ssn",
            "!shop.customers.id",
        ]);
        assert_eq!(
            columns_of(&catalog, "customers"),
            ["id", "name", "email", "updated_at"]
        );
    }

    #[test]
    fn naming_columns_alone_selects_only_those() {
        let catalog = catalog_selected_by(&["shop.customers.name", "shop.customers.e*"]);
        assert_eq!(columns_of(&catalog, "customers"), ["id", "name", "email"]);
    }

    fn selected_streams(catalog: &Catalog) -> Vec<String> {
        catalog
            .selected_streams(None)
            .unwrap()
            .into_iter()
            .map(|s| s.stream)
            .collect()
    }

    #[test]
    fn wildcards_match_tables_and_negation_removes_a_table() {
        let catalog = catalog_selected_by(&["shop.*", "!shop.events"]);
        assert_eq!(selected_streams(&catalog), ["customers", "orders"]);
    }

    #[test]
    fn meltano_tap_stream_id_patterns_select_streams_and_columns() {
        // There is no schema `shop-customers`: `shop-customers.*` is stream `shop-customers`,
        // every column.
        let catalog = catalog_selected_by(&["shop-customers.*", "!shop-customers.ssn"]);
        assert_eq!(selected_streams(&catalog), ["customers"]);
        assert_eq!(
            columns_of(&catalog, "customers"),
            ["id", "name", "email", "updated_at"]
        );
        // Naming columns alone selects only those (plus keys), as with `shop.orders.email`;
        // wildcards work in the stream id too.
        let catalog = catalog_selected_by(&["shop-ord*.email"]);
        assert_eq!(columns_of(&catalog, "orders"), ["id", "email"]);
        assert_eq!(catalog.selected_streams(None).unwrap().len(), 1);
        // As in Meltano, `!stream.*` leaves the stream out.
        let catalog = catalog_selected_by(&["shop-*.*", "!shop-events.*"]);
        assert_eq!(selected_streams(&catalog), ["customers", "orders"]);
    }

    #[test]
    fn a_pattern_naming_a_table_is_read_as_namespace_table() {
        // Tables shop.customers, shop.eu (stream `shop-eu`) and `shop-eu`.orders (stream
        // `shop-eu-orders`): `shop-eu.x` names a table when `shop-eu` has a table `x`, else it
        // is stream `shop-eu`, column `x`.
        let mut eu_orders = entry("orders");
        eu_orders.metadata.set(&[], "database-name", "shop-eu");
        eu_orders.tap_stream_id = "shop-eu-orders".into();
        let mut catalog = Catalog {
            streams: vec![entry("customers"), entry("eu"), eu_orders],
        };
        let patterns: Vec<SelectPattern> =
            ["shop-eu.orders", "shop-eu.name", "shop-customers.email"]
                .iter()
                .map(|p| p.parse().unwrap())
                .collect();
        catalog.apply_select_patterns(&patterns).unwrap();
        let selected: Vec<(String, Vec<String>)> = catalog
            .selected_streams(None)
            .unwrap()
            .into_iter()
            .map(|s| (s.tap_stream_id, s.columns))
            .collect();
        let all = ["id", "name", "email", "ssn", "updated_at"];
        assert_eq!(
            selected,
            [
                ("shop-customers".to_owned(), vec!["id", "email"]),
                ("shop-eu".to_owned(), vec!["id", "name"]),
                ("shop-eu-orders".to_owned(), all.to_vec()),
            ]
            .map(|(id, columns)| (id, columns.into_iter().map(str::to_owned).collect()))
        );
    }

    #[test]
    fn the_catalog_wins_where_both_speak() {
        let mut catalog = Catalog {
            streams: vec![entry("customers")],
        };
        let metadata = &mut catalog.streams[0].metadata;
        metadata.set(&[], "selected", false);
        metadata.set(&["properties", "ssn"], "selected", true);
        let patterns: Vec<SelectPattern> = ["shop.customers", "!shop.customers.ssn"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        catalog.apply_select_patterns(&patterns).unwrap();
        assert!(catalog.selected_streams(None).unwrap().is_empty());
        catalog.streams[0].metadata.set(&[], "selected", true);
        assert!(columns_of(&catalog, "customers").contains(&"ssn".to_owned()));
    }

    #[test]
    fn pattern_objects_set_method_and_key() {
        let mut catalog = Catalog {
            streams: vec![entry("orders")],
        };
        let pattern: SelectPattern = serde_json::from_value(json!({"table": "shop.orders",
            "replication_method": "INCREMENTAL", "replication_key": "updated_at"}))
        .unwrap();
        catalog.apply_select_patterns(&[pattern]).unwrap();
        let selected = catalog.selected_streams(None).unwrap();
        assert_eq!(
            selected[0].replication_method,
            ReplicationMethod::Incremental
        );
        assert_eq!(selected[0].replication_key.as_deref(), Some("updated_at"));
    }

    #[test]
    fn replication_key_is_always_read_for_incremental() {
        let mut catalog = catalog_selected_by(&["shop.orders.name"]);
        let metadata = &mut catalog.streams[1].metadata;
        metadata.set(&[], "replication-method", "INCREMENTAL");
        metadata.set(&[], "replication-key", "updated_at");
        assert_eq!(columns_of(&catalog, "orders"), ["id", "name", "updated_at"]);
    }

    #[test]
    fn unsupported_columns_are_never_read() {
        let mut catalog = catalog_selected_by(&["shop.orders.*"]);
        catalog.streams[1]
            .metadata
            .set(&["properties", "ssn"], "inclusion", "unsupported");
        assert!(!columns_of(&catalog, "orders").contains(&"ssn".to_owned()));
    }

    #[test]
    fn method_resolution_and_its_errors() {
        let mut orders = entry("orders");
        assert_eq!(
            orders.replication_method(None).unwrap(),
            ReplicationMethod::FullTable
        );
        assert_eq!(
            orders
                .replication_method(Some(ReplicationMethod::LogBased))
                .unwrap(),
            ReplicationMethod::LogBased
        );
        orders.replication_method = Some("log_based".into());
        assert_eq!(
            orders.replication_method(None).unwrap(),
            ReplicationMethod::LogBased
        );
        orders
            .metadata
            .set(&[], "forced-replication-method", "FULL_TABLE");
        let err = orders.resolve(None).unwrap_err();
        assert!(matches!(err, CatalogError::ForcedMethod { .. }), "{err}");
        orders.replication_method = None;
        orders.metadata.set(&[], "replication-method", "SOMETIMES");
        let err = orders.resolve(None).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(!err.to_string().contains("SOMETIMES"), "said twice: {err}");
        assert!(cause.contains("SOMETIMES"), "{cause}");
        orders.metadata.set(&[], "replication-method", "FULL_TABLE");
        orders.metadata.set(&[], "replication-key", "nope");
        assert!(matches!(
            orders.resolve(None),
            Err(CatalogError::UnknownReplicationKey { .. })
        ));
        orders.metadata.set(&[], "replication-key", "updated_at");
        orders
            .metadata
            .set(&[], "table-key-properties", json!(["missing"]));
        assert!(matches!(
            orders.resolve(None),
            Err(CatalogError::UnknownKeyColumn { .. })
        ));
    }

    #[test]
    fn views_use_view_key_properties() {
        let mut view = entry("order_totals");
        view.metadata.set(&[], "is-view", true);
        view.metadata.set(&[], "table-key-properties", json!([]));
        view.metadata
            .set(&[], "view-key-properties", json!(["name"]));
        let selection = view.resolve(None).unwrap();
        assert!(selection.is_view);
        assert_eq!(selection.key_properties, ["name"]);
    }

    #[test]
    fn discovered_tables_become_entries_with_unique_stream_names() {
        let table = |namespace: &str, name: &str, primary_key: Vec<String>| DiscoveredTable {
            namespace: namespace.into(),
            name: name.into(),
            location: vec![("database-name", namespace.into())],
            primary_key,
            is_view: false,
            row_count: 3,
            columns: vec![DiscoveredColumn {
                name: "doc".into(),
                sql_datatype: "json".into(),
                schema: json!({"x-sql-datatype": "json"}),
                orderable: false,
                comment: None,
            }],
            comment: None,
        };
        let catalog = Catalog::from_discovered(vec![
            table("shop", "orders", vec![]),
            table("crm", "orders", vec!["doc".into()]),
            table("shop", "items", vec![]),
        ]);
        let streams: Vec<&str> = catalog.streams.iter().map(|s| s.stream.as_str()).collect();
        assert_eq!(streams, ["shop_orders", "crm_orders", "items"]);
        let orders = catalog.entry("shop-orders").unwrap();
        assert_eq!(
            orders.metadata.0[0].breadcrumb,
            Vec::<String>::new(),
            "table level first"
        );
        assert_eq!(
            orders.metadata.table_value("database-name"),
            Some(&json!("shop"))
        );
        assert_eq!(orders.metadata.table_value("row-count"), Some(&json!(3)));
        assert_eq!(
            orders.metadata.table_value("forced-replication-method"),
            Some(&json!("FULL_TABLE"))
        );
        assert_eq!(
            orders.metadata.column_value("doc", "inclusion"),
            Some(&json!("available"))
        );
        let keyed = catalog.entry("crm-orders").unwrap();
        assert_eq!(
            keyed.metadata.column_value("doc", "inclusion"),
            Some(&json!("automatic"))
        );
        assert!(
            keyed
                .metadata
                .table_value("forced-replication-method")
                .is_none()
        );
        assert_eq!(
            keyed.schema["properties"]["doc"],
            json!({"x-sql-datatype": "json"})
        );
        assert!(!orders.is_selected());
    }

    #[test]
    fn source_comments_become_descriptions_and_no_comment_none() {
        let column = |name: &str, comment: Option<&str>| DiscoveredColumn {
            name: name.into(),
            sql_datatype: "text".into(),
            schema: json!({"type": ["null", "string"], "x-sql-datatype": "text"}),
            orderable: true,
            comment: comment.map(str::to_owned),
        };
        let awkward = "it's \"quoted\",\nover two lines 🎉";
        let table = |comment: Option<&str>| DiscoveredTable {
            namespace: "shop".into(),
            name: format!("t{}", comment.is_some()),
            location: vec![("database-name", "shop".into())],
            primary_key: vec![],
            is_view: false,
            row_count: 0,
            columns: vec![column("b", Some(awkward)), column("a", None)],
            comment: comment.map(str::to_owned),
        };
        let catalog = Catalog::from_discovered(vec![table(Some("Orders")), table(None)]);
        let commented = &catalog.entry("shop-ttrue").unwrap().schema;
        assert_eq!(
            *commented,
            json!({"type": "object", "properties": {
                "b": {"type": ["null", "string"], "x-sql-datatype": "text", "description": awkward},
                "a": {"type": ["null", "string"], "x-sql-datatype": "text"}},
                "description": "Orders"})
        );
        let keys: Vec<&String> = commented["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["b", "a"], "columns keep their order");
        let plain = &catalog.entry("shop-tfalse").unwrap().schema;
        assert!(plain.get("description").is_none());
        // The description reaches the SCHEMA of a sync: the selection's schema keeps it.
        let mut entry = catalog.entry("shop-ttrue").unwrap().clone();
        entry.metadata.set(&[], "selected", true);
        entry.metadata.set(&["properties", "a"], "selected", false);
        let selection = entry.resolve(None).unwrap();
        assert_eq!(selection.schema["description"], "Orders");
        assert_eq!(selection.schema["properties"]["b"]["description"], awkward);
    }

    #[test]
    fn metadata_is_found_and_set_by_breadcrumb() {
        let mut metadata = Metadata::default();
        metadata.set(&["properties", "a"], "selected", true);
        metadata.set(&["properties", "a"], "inclusion", "available");
        assert_eq!(metadata.0.len(), 1);
        assert_eq!(metadata.column_value("a", "selected"), Some(&json!(true)));
        assert!(metadata.table().is_none());
        assert_eq!(column_breadcrumb("a"), ["properties", "a"]);
    }
}
