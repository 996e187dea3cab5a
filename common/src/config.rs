//! Typed configuration, read from the JSON file given with `--config`.
//!
//! Singer configs in the wild write numbers and booleans as strings (`"port": "5432"`,
//! `"ssl": "true"`), so those fields accept both. Errors name the key at fault
//! (`ssh_tunnel.port: invalid digit found in string`); a secret is never part of an error or of
//! any `Debug`/`Display` output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::catalog::ReplicationMethod;

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read config file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid JSON")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("config file {path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
}

/// A config file's contents, checked. Errors are the key path at fault and what is wrong with it.
pub trait ConfigFile: Sized {
    fn from_json(value: Value) -> Result<Self, (String, String)>;
}

/// Reads and checks a config file into `T`.
pub fn load_config<T: ConfigFile>(path: &Path) -> Result<T, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| ConfigError::Json {
        path: shown.clone(),
        source,
    })?;
    T::from_json(value).map_err(|(key, message)| ConfigError::Invalid {
        path: shown,
        key,
        message,
    })
}

/// Deserializes a config, or a part of one, keeping the path of the key at fault. Structs read this
/// way must not use `#[serde(flatten)]`, which hides the path: read each part separately instead.
pub fn config_from_value<T: DeserializeOwned>(value: Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let key = match err.path().to_string() {
            path if path == "." => "config".to_owned(),
            path => path,
        };
        (key, err.into_inner().to_string())
    })
}

/// A password or passphrase. Shown as `********` everywhere; `expose` is the only way to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// Accepts a string or a number (an all-digit password written without quotes); the error for
    /// anything else never quotes the value.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Self(text)),
            Value::Number(number) => Ok(Self(number.to_string())),
            _ => Err(D::Error::custom("expected a string (value not shown)")),
        }
    }
}

/// `sslmode` as libpq spells it; MySQL maps these onto its own TLS settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// An SSH tunnel to reach a database that is not exposed directly.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshTunnel {
    pub host: String,
    #[serde(default = "default_ssh_port", deserialize_with = "lenient")]
    pub port: u16,
    pub username: String,
    pub private_key_path: PathBuf,
    #[serde(default)]
    pub private_key_passphrase: Option<Secret>,
}

fn default_ssh_port() -> u16 {
    22
}

/// How to reach a database: shared by the taps and the target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConnectionConfig {
    pub host: String,
    /// The database's default port when absent.
    #[serde(default, deserialize_with = "lenient_option")]
    pub port: Option<u16>,
    #[serde(alias = "username")]
    pub user: String,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Required for PostgreSQL; optional for MySQL, where it only sets the session's default.
    #[serde(default, alias = "database")]
    pub dbname: Option<String>,
    /// `true` asks for TLS (`sslmode` `require` when no `sslmode` is given).
    #[serde(default, deserialize_with = "lenient")]
    pub ssl: bool,
    #[serde(default)]
    pub sslmode: Option<SslMode>,
    /// CA certificate to verify the server with.
    #[serde(default, alias = "sslrootcert")]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate and key, for servers that authenticate clients by certificate.
    #[serde(default, alias = "sslcert")]
    pub ssl_cert: Option<PathBuf>,
    #[serde(default, alias = "sslkey")]
    pub ssl_key: Option<PathBuf>,
    #[serde(default)]
    pub ssh_tunnel: Option<SshTunnel>,
}

/// A way of reaching a database the programs cannot open yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedTransport {
    #[error("TLS connections are not supported yet: use sslmode `disable` or `prefer`")]
    Tls,
    #[error("SSH tunnels are not supported yet: open the tunnel outside the program")]
    Ssh,
}

impl ConnectionConfig {
    /// Refuses what cannot be honoured rather than silently connecting in the clear: `sslmode`
    /// `require` and stricter, and SSH tunnels.
    pub fn check_transport(&self) -> Result<(), UnsupportedTransport> {
        if matches!(
            self.ssl_mode(),
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        ) {
            return Err(UnsupportedTransport::Tls);
        }
        if self.ssh_tunnel.is_some() {
            return Err(UnsupportedTransport::Ssh);
        }
        Ok(())
    }

    /// The TLS mode to use: `sslmode` if given, `require` if `ssl` is on, else `prefer`.
    pub fn ssl_mode(&self) -> SslMode {
        match (self.sslmode, self.ssl) {
            (Some(mode), _) => mode,
            (None, true) => SslMode::Require,
            (None, false) => SslMode::Prefer,
        }
    }
}

impl ConfigFile for ConnectionConfig {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        config_from_value(value)
    }
}

/// Safe to log: never shows the password.
impl fmt::Display for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(dbname) = &self.dbname {
            write!(f, "/{dbname}")?;
        }
        if let Some(tunnel) = &self.ssh_tunnel {
            write!(
                f,
                " via ssh {}@{}:{}",
                tunnel.username, tunnel.host, tunnel.port
            )?;
        }
        Ok(())
    }
}

/// Config of either tap: connection, what to discover, and how to sync.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TapConfig {
    /// Read from the same object by [`ConfigFile::from_json`].
    #[serde(skip)]
    pub connection: ConnectionConfig,
    /// PostgreSQL schemas to discover (all readable ones when absent).
    #[serde(default)]
    pub filter_schemas: Option<NameList>,
    /// MySQL databases to discover (all readable ones when absent).
    #[serde(default)]
    pub filter_dbs: Option<NameList>,
    /// Method for selected streams whose catalog names none.
    #[serde(default)]
    pub default_replication_method: Option<ReplicationMethod>,
    /// Rows fetched from the server per round trip.
    #[serde(default = "default_batch_size_rows", deserialize_with = "lenient")]
    pub batch_size_rows: u64,
    /// A STATE message every this many rows during a full-table or incremental sync.
    #[serde(default = "default_state_every_rows", deserialize_with = "lenient")]
    pub state_every_rows: u64,
    /// A log-based run stops after this long even if it has not caught up.
    #[serde(default, deserialize_with = "lenient_option")]
    pub max_run_seconds: Option<u64>,
    /// Command-line selection shortcut; the catalog wins where both speak.
    #[serde(default)]
    pub select: Vec<SelectPattern>,
}

impl ConfigFile for TapConfig {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        let connection = config_from_value(value.clone())?;
        Ok(Self {
            connection,
            ..config_from_value(value)?
        })
    }
}

fn default_batch_size_rows() -> u64 {
    10_000
}

fn default_state_every_rows() -> u64 {
    10_000
}

/// A list of names, written as a JSON list or as one comma-separated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameList(pub Vec<String>);

impl<'de> Deserialize<'de> for NameList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<String>),
            Text(String),
        }
        let names = match Form::deserialize(deserializer)
            .map_err(|_| D::Error::custom("expected a list of names or a comma-separated string"))?
        {
            Form::List(names) => names,
            Form::Text(text) => text.split(',').map(str::to_owned).collect(),
        };
        Ok(Self(
            names
                .into_iter()
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .collect(),
        ))
    }
}

/// One entry of config `select`: `shop.orders`, `shop.customers.*`, `!shop.customers.ssn`, or an
/// object that also sets the table's method: `{"table": "shop.orders", "replication_method":
/// "INCREMENTAL", "replication_key": "updated_at"}`. Each part may use `*` and `?` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectPattern {
    /// `!`: deselect what matches.
    pub negated: bool,
    /// Schema (PostgreSQL) or database (MySQL).
    pub namespace: String,
    pub table: String,
    /// `None` for a pattern naming the table alone; `Some("*")` for every column.
    pub column: Option<String>,
    pub replication_method: Option<ReplicationMethod>,
    pub replication_key: Option<String>,
}

/// A `select` entry that is not of the form `namespace.table[.column]`.
#[derive(Debug, thiserror::Error)]
#[error("invalid select pattern {pattern:?}: {reason}")]
pub struct InvalidSelectPattern {
    pattern: String,
    reason: &'static str,
}

impl FromStr for SelectPattern {
    type Err = InvalidSelectPattern;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| InvalidSelectPattern {
            pattern: text.to_owned(),
            reason,
        };
        let trimmed = text.trim();
        let (negated, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        // Column names may contain dots; schema and table names here may not.
        let mut parts = body.splitn(3, '.');
        let namespace = parts.next().unwrap_or_default();
        let table = parts
            .next()
            .ok_or_else(|| invalid("expected `namespace.table` or `namespace.table.column`"))?;
        let column = parts.next();
        if namespace.is_empty() || table.is_empty() || column == Some("") {
            return Err(invalid("a part of the pattern is empty"));
        }
        Ok(Self {
            negated,
            namespace: namespace.to_owned(),
            table: table.to_owned(),
            column: column.map(str::to_owned),
            replication_method: None,
            replication_key: None,
        })
    }
}

impl<'de> Deserialize<'de> for SelectPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithMethod {
            table: String,
            #[serde(default)]
            replication_method: Option<ReplicationMethod>,
            #[serde(default)]
            replication_key: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Object(WithMethod),
        }
        let form = Form::deserialize(deserializer).map_err(|_| {
            D::Error::custom(
                "expected a pattern such as \"shop.orders\" or an object with `table`, \
                 `replication_method` and `replication_key`",
            )
        })?;
        match form {
            Form::Text(text) => text.parse().map_err(D::Error::custom),
            Form::Object(object) => {
                let mut pattern: SelectPattern = object.table.parse().map_err(D::Error::custom)?;
                if pattern.negated || pattern.column.is_some() {
                    return Err(D::Error::custom(
                        "a pattern with a replication method must name a table: `namespace.table`",
                    ));
                }
                pattern.replication_method = object.replication_method;
                pattern.replication_key = object.replication_key;
                Ok(pattern)
            }
        }
    }
}

/// Deserializes `T` from its JSON form or from a string holding it (`"5432"`, `"true"`).
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + FromStr,
    T::Err: fmt::Display,
{
    match Value::deserialize(deserializer)? {
        Value::String(text) => text.trim().parse().map_err(D::Error::custom),
        // Through the digits, so every integer type reports range errors the same way.
        Value::Number(number) => number.to_string().parse().map_err(D::Error::custom),
        other => serde_json::from_value(other).map_err(D::Error::custom),
    }
}

/// As [`lenient`], with `null` and `""` meaning absent.
pub fn lenient_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + FromStr,
    T::Err: fmt::Display,
{
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        other => lenient(other).map(Some).map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tap_config(value: Value) -> Result<TapConfig, (String, String)> {
        TapConfig::from_json(value)
    }

    #[test]
    fn singer_style_strings_are_accepted() {
        let config = tap_config(json!({
            "host": "db.internal", "port": "3306", "user": "etl", "password": "hunter2",
            "ssl": "true", "filter_dbs": "shop, crm", "batch_size_rows": "500",
            "default_replication_method": "INCREMENTAL"
        }))
        .unwrap();
        assert_eq!(config.connection.port, Some(3306));
        assert!(config.connection.ssl);
        assert_eq!(config.connection.ssl_mode(), SslMode::Require);
        assert_eq!(config.filter_dbs.unwrap().0, ["shop", "crm"]);
        assert_eq!(config.batch_size_rows, 500);
        assert_eq!(config.state_every_rows, 10_000);
        assert_eq!(
            config.default_replication_method,
            Some(ReplicationMethod::Incremental)
        );
        assert_eq!(config.connection.password.unwrap().expose(), "hunter2");
    }

    #[test]
    fn meltano_style_types_and_aliases_are_accepted() {
        let config = tap_config(json!({
            "host": "localhost", "port": 5432, "username": "etl", "password": 123456,
            "database": "shop", "filter_schemas": ["public", "sales"], "sslmode": "verify-full",
            "sslrootcert": "/etc/ca.pem",
            "ssh_tunnel": {"host": "bastion", "username": "me", "private_key_path": "/k"}
        }))
        .unwrap();
        let connection = &config.connection;
        assert_eq!(connection.user, "etl");
        assert_eq!(connection.dbname.as_deref(), Some("shop"));
        assert_eq!(connection.password.as_ref().unwrap().expose(), "123456");
        assert_eq!(connection.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(connection.ssl_ca.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert_eq!(connection.ssh_tunnel.as_ref().unwrap().port, 22);
        assert_eq!(config.filter_schemas.unwrap().0, ["public", "sales"]);
    }

    #[test]
    fn errors_name_the_key() {
        let (key, message) = tap_config(json!({"port": 1, "user": "u"})).unwrap_err();
        assert_eq!(key, "config");
        assert!(message.contains("missing field `host`"), "{message}");

        let (key, message) =
            tap_config(json!({"host": "h", "user": "u", "port": "x"})).unwrap_err();
        assert_eq!(key, "port");
        assert!(message.contains("invalid digit"), "{message}");

        let (key, _) = tap_config(json!({"host": "h", "user": "u",
            "ssh_tunnel": {"host": "b", "username": "u", "private_key_path": "/k", "port": "ssh"}}))
        .unwrap_err();
        assert_eq!(key, "ssh_tunnel.port");

        let (key, _) =
            tap_config(json!({"host": "h", "user": "u", "select": ["shop"]})).unwrap_err();
        assert_eq!(key, "select[0]");
    }

    #[test]
    fn secrets_never_show() {
        let config = tap_config(json!({
            "host": "h", "user": "u", "password": "hunter2", "port": 1, "dbname": "d",
            "ssh_tunnel": {"host": "b", "username": "t", "private_key_path": "/k",
                           "private_key_passphrase": "s3cret-phrase"}
        }))
        .unwrap();
        let shown = format!("{config:?} {config:#?} {}", config.connection);
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret-phrase"),
            "{shown}"
        );
        assert!(shown.contains("********"));
        assert_eq!(config.connection.to_string(), "u@h:1/d via ssh t@b:22");

        let (key, message) =
            tap_config(json!({"host": "h", "user": "u", "password": ["hunter2"]})).unwrap_err();
        assert_eq!(key, "password");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn select_patterns_parse() {
        let config = tap_config(json!({"host": "h", "user": "u", "select": [
            "shop.orders", "shop.customers.*", "!shop.customers.ssn", "shop.t.a.b",
            {"table": "shop.events", "replication_method": "INCREMENTAL", "replication_key": "id"}
        ]}))
        .unwrap();
        let select = config.select;
        assert_eq!(select[0].column, None);
        assert_eq!(select[1].column.as_deref(), Some("*"));
        assert!(select[2].negated);
        assert_eq!(select[2].column.as_deref(), Some("ssn"));
        assert_eq!(select[3].column.as_deref(), Some("a.b"));
        assert_eq!(select[4].table, "events");
        assert_eq!(
            select[4].replication_method,
            Some(ReplicationMethod::Incremental)
        );
        assert!("shop".parse::<SelectPattern>().is_err());
        assert!("shop..x".parse::<SelectPattern>().is_err());
        assert!(
            tap_config(json!({"host": "h", "user": "u", "select": [
                {"table": "shop.t.c", "replication_method": "FULL_TABLE"}]}))
            .is_err()
        );
    }

    #[test]
    fn load_reports_file_problems() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        assert!(matches!(
            load_config::<TapConfig>(&path),
            Err(ConfigError::Read { .. })
        ));
        std::fs::write(&path, "{\"host\": ").unwrap();
        assert!(matches!(
            load_config::<TapConfig>(&path),
            Err(ConfigError::Json { .. })
        ));
        std::fs::write(&path, r#"{"host": "h", "user": "u", "port": 70000}"#).unwrap();
        let err = load_config::<TapConfig>(&path).unwrap_err();
        assert!(
            err.to_string()
                .ends_with(": port: number too large to fit in target type"),
            "{err}"
        );
    }
}
