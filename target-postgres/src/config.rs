//! The target's config: where the warehouse is and how to load it.
//!
//! Connection keys are the taps' ([`ConnectionConfig`]); the rest follow the Singer PostgreSQL
//! targets users already run (`default_target_schema`, `batch_size_rows`, `hard_delete`, …), with
//! numbers and booleans accepted as strings too.

use std::collections::BTreeMap;

use common::config::{ConfigFile, ConnectionConfig, lenient, read_program_config};
use serde::Deserialize;
use serde_json::Value;

use crate::naming::canonical_name;

/// The target's config file, checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TargetConfig {
    /// Read from the same object by [`ConfigFile::from_json`].
    #[serde(skip)]
    pub connection: ConnectionConfig,
    /// The warehouse schema, as written; [`TargetConfig::schema`] is its canonical name.
    pub default_target_schema: String,
    /// Rows of one stream buffered before a flush.
    #[serde(default = "default_batch_size_rows", deserialize_with = "lenient")]
    pub batch_size_rows: u64,
    /// COPY bytes of one stream buffered before a flush; bounds the target's memory.
    #[serde(default = "default_max_batch_bytes", deserialize_with = "lenient")]
    pub max_batch_bytes: u64,
    /// The longest input line (one message) read; a longer one stops the load with an error
    /// before it is read whole, so no input can exhaust memory.
    #[serde(default = "default_max_record_bytes", deserialize_with = "lenient")]
    pub max_record_bytes: u64,
    /// How many times a transaction is replayed, on a new session, after a transient failure of
    /// the warehouse (a lost connection, a restart, a deadlock); 0 stops at the first.
    #[serde(default = "default_max_retries", deserialize_with = "lenient")]
    pub max_retries: u32,
    /// Delete rows (ACTIVATE_VERSION, `_sdc_deleted_at`) instead of marking them.
    #[serde(default, deserialize_with = "lenient")]
    pub hard_delete: bool,
    /// `_sdc_extracted_at`, `_sdc_received_at` and `_sdc_batched_at` on every table.
    #[serde(default = "yes", deserialize_with = "lenient")]
    pub add_metadata_columns: bool,
    /// Check every record against its stream's SCHEMA.
    #[serde(default = "yes", deserialize_with = "lenient")]
    pub validate_records: bool,
    #[serde(default)]
    pub invalid_records: InvalidRecords,
    /// COPY's format: binary where every column has a binary writer, or always text.
    #[serde(default)]
    pub copy_format: CopyFormatSetting,
    /// A table in the target schema keeping the last committed STATE.
    #[serde(default)]
    pub state_table: Option<String>,
    #[serde(default)]
    pub nesting: NestingConfig,
}

impl ConfigFile for TargetConfig {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        let (connection, config) = read_program_config::<Self>(value, &[])?;
        if connection.dbname.is_none() {
            return Err(("dbname".into(), "the warehouse database is required".into()));
        }
        let config = Self {
            connection,
            ..config
        };
        if config.default_target_schema.trim().is_empty() {
            return Err(("default_target_schema".into(), "must not be empty".into()));
        }
        if config.batch_size_rows == 0
            || config.max_batch_bytes == 0
            || config.max_record_bytes == 0
        {
            return Err((
                "batch_size_rows".into(),
                "batch limits must be positive".into(),
            ));
        }
        Ok(config)
    }
}

impl TargetConfig {
    /// The warehouse schema's canonical name: "Stitch RDS" becomes `stitch_rds`.
    pub fn schema(&self) -> String {
        canonical_name(&self.default_target_schema)
    }

    /// How `stream`'s nested values are stored.
    pub fn nesting_for(&self, stream: &str) -> Nesting {
        match &self.nesting {
            NestingConfig::All(nesting) => *nesting,
            NestingConfig::PerStream(streams) => streams
                .get(stream)
                .or_else(|| streams.get("*"))
                .copied()
                .unwrap_or_default(),
        }
    }
}

fn default_batch_size_rows() -> u64 {
    100_000
}

fn default_max_batch_bytes() -> u64 {
    8 * 1024 * 1024
}

fn default_max_record_bytes() -> u64 {
    common::message::DEFAULT_MAX_LINE_BYTES
}

fn default_max_retries() -> u32 {
    5
}

fn yes() -> bool {
    true
}

/// What happens to a record that cannot be loaded as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvalidRecords {
    /// Commit what came before, then stop with an error naming the line.
    #[default]
    Fail,
    /// Store it in `_sdc_rejected` with the reason and go on.
    Reject,
}

/// The `copy_format` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyFormatSetting {
    /// Binary for the tables whose columns all have a binary writer, text for the others.
    #[default]
    Binary,
    Text,
}

/// Nested objects and arrays: de-nested into columns and child tables, or kept as `jsonb`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nesting {
    #[default]
    Denest,
    Jsonb,
}

/// `"nesting": "jsonb"` for every stream, or `{"orders": "jsonb", "*": "denest"}` per stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NestingConfig {
    All(Nesting),
    PerStream(BTreeMap<String, Nesting>),
}

impl Default for NestingConfig {
    fn default() -> Self {
        Self::All(Nesting::Denest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> Result<TargetConfig, (String, String)> {
        let mut value = json!({"host": "localhost", "user": "loader", "dbname": "warehouse",
                               "default_target_schema": "Stitch RDS"});
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        TargetConfig::from_json(value)
    }

    #[test]
    fn defaults_and_lenient_values() {
        let plain = config(json!({})).unwrap();
        assert_eq!(plain.schema(), "stitch_rds");
        assert!(plain.validate_records && plain.add_metadata_columns && !plain.hard_delete);
        assert_eq!(plain.invalid_records, InvalidRecords::Fail);
        assert_eq!(plain.nesting_for("orders"), Nesting::Denest);
        let strings = config(json!({"hard_delete": "true", "batch_size_rows": "500",
                                    "invalid_records": "reject"}))
        .unwrap();
        assert!(strings.hard_delete);
        assert_eq!(strings.batch_size_rows, 500);
        assert_eq!(strings.invalid_records, InvalidRecords::Reject);
    }

    #[test]
    fn nesting_per_stream() {
        let per_stream = config(json!({"nesting": {"events": "jsonb", "*": "denest"}})).unwrap();
        assert_eq!(per_stream.nesting_for("events"), Nesting::Jsonb);
        assert_eq!(per_stream.nesting_for("orders"), Nesting::Denest);
        let all = config(json!({"nesting": "jsonb"})).unwrap();
        assert_eq!(all.nesting_for("orders"), Nesting::Jsonb);
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            config(json!({"invalid_records": "skip"})).unwrap_err().0,
            "invalid_records"
        );
        let mut missing = json!({"host": "h", "user": "u", "default_target_schema": "s"});
        assert_eq!(
            TargetConfig::from_json(missing.take()).unwrap_err().0,
            "dbname"
        );
    }
}
