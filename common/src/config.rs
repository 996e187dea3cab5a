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

use crate::catalog::{ReplicationMethod, SelectPattern};
use crate::spelling::closest;

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

/// `sslmode` with libpq's six meanings, for PostgreSQL and MySQL alike. MySQL's own words
/// (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`) are accepted too, in any
/// case and with `-` or `_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// Plaintext first; TLS (unverified) if the server refuses plaintext.
    Allow,
    /// TLS (unverified) if the server offers it, else plaintext.
    Prefer,
    /// TLS; the certificate is not checked (unless `sslrootcert` is given: then as `verify-ca`).
    Require,
    /// TLS; the certificate chain must lead to a trusted CA.
    VerifyCa,
    /// TLS; the chain must be trusted and the certificate issued for the database's host name.
    VerifyFull,
}

impl SslMode {
    pub const EXPECTED: &str = "disable, allow, prefer, require, verify-ca or verify-full (or \
        MySQL's DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY)";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(
            match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" | "disabled" => Self::Disable,
                "allow" => Self::Allow,
                "prefer" | "preferred" => Self::Prefer,
                "require" | "required" => Self::Require,
                "verify-ca" => Self::VerifyCa,
                "verify-full" | "verify-identity" => Self::VerifyFull,
                _ => {
                    return Err(format!(
                        "unknown sslmode {text:?}: expected {}",
                        Self::EXPECTED
                    ));
                }
            },
        )
    }
}

impl<'de> Deserialize<'de> for SslMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(D::Error::custom)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate or key given in the config: the PEM text itself, or the path of a file holding it.
/// Text is never shown (a private key is a secret).
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    Path(PathBuf),
    Text(Secret),
}

impl PemSource {
    /// The PEM text, read from the file when a path was given.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            Self::Path(path) => std::fs::read_to_string(path),
            Self::Text(text) => Ok(text.expose().to_owned()),
        }
    }
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Text(_) => f.write_str("<PEM text>"),
        }
    }
}

impl fmt::Display for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'de> Deserialize<'de> for PemSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)
            .map_err(|_| D::Error::custom("expected PEM text or the path of a file"))?;
        Ok(if text.contains("-----BEGIN ") {
            Self::Text(Secret::new(text))
        } else {
            Self::Path(PathBuf::from(text.trim()))
        })
    }
}

/// An SSH tunnel through a bastion host, in the shape Meltano writes (`ssh_tunnel: {host, port,
/// username, private_key, private_key_password}`); present means enabled unless `enable: false`.
#[derive(Debug, Clone, PartialEq)]
pub struct SshTunnel {
    pub host: String,
    pub port: u16,
    pub username: String,
    /// The private key: OpenSSH or PEM text, or a path to it.
    pub private_key: PemSource,
    pub private_key_password: Option<Secret>,
    /// An OpenSSH `known_hosts` file to check the bastion's host key against.
    pub known_hosts: Option<PathBuf>,
    /// The bastion's host key, pinned as `ssh-keygen -l` prints it: `SHA256:…`.
    pub host_key_fingerprint: Option<String>,
}

/// `ssh_tunnel` as written: every key optional, so `{"enable": false}` alone is accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SshTunnelBlock {
    #[serde(default, deserialize_with = "lenient_option")]
    enable: Option<bool>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default, deserialize_with = "lenient_option")]
    port: Option<u16>,
    #[serde(default, alias = "user")]
    username: Option<String>,
    #[serde(default)]
    private_key: Option<PemSource>,
    #[serde(default)]
    private_key_path: Option<PathBuf>,
    #[serde(default, alias = "private_key_passphrase")]
    private_key_password: Option<Secret>,
    #[serde(default)]
    known_hosts: Option<PathBuf>,
    #[serde(default)]
    host_key_fingerprint: Option<String>,
}

fn ssh_tunnel_block<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SshTunnel>, D::Error> {
    let Some(block) = Option::<SshTunnelBlock>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if block.enable == Some(false) {
        return Ok(None);
    }
    let required = |value: Option<String>, key: &str| {
        value
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| D::Error::custom(format!("`{key}` is required for an SSH tunnel")))
    };
    let private_key = match (block.private_key, block.private_key_path) {
        (Some(key), None) => key,
        (None, Some(path)) => PemSource::Path(path),
        (None, None) => {
            return Err(D::Error::custom(
                "`private_key` (the key text or its path) is required for an SSH tunnel",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(D::Error::custom(
                "give `private_key` or `private_key_path`, not both",
            ));
        }
    };
    if let Some(pin) = &block.host_key_fingerprint
        && !pin.trim().starts_with("SHA256:")
    {
        return Err(D::Error::custom(
            "`host_key_fingerprint` must be a SHA256 fingerprint as `ssh-keygen -l` prints it: \
             SHA256:…",
        ));
    }
    Ok(Some(SshTunnel {
        host: required(block.host, "host")?,
        port: block.port.unwrap_or(22),
        username: required(block.username, "username")?,
        private_key,
        private_key_password: block.private_key_password,
        known_hosts: block.known_hosts,
        host_key_fingerprint: block.host_key_fingerprint.map(|pin| pin.trim().to_owned()),
    }))
}

/// Seconds every connect, handshake and tunnel step may take, when `connect_timeout` is absent.
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 30;

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
    #[serde(default, alias = "ssl_mode", deserialize_with = "lenient_option")]
    pub sslmode: Option<SslMode>,
    /// CA certificates to verify the server with (e.g. the RDS bundle); the system's when absent.
    #[serde(default, alias = "ssl_ca", alias = "ssl_certificate_authority")]
    pub sslrootcert: Option<PemSource>,
    /// Client certificate and key, for servers that authenticate clients by certificate.
    #[serde(default, alias = "ssl_cert", alias = "ssl_client_certificate")]
    pub sslcert: Option<PemSource>,
    #[serde(default, alias = "ssl_key", alias = "ssl_client_private_key")]
    pub sslkey: Option<PemSource>,
    /// Seconds each connect, handshake and tunnel step may take.
    #[serde(default, deserialize_with = "lenient_option")]
    pub connect_timeout: Option<u64>,
    #[serde(default, deserialize_with = "ssh_tunnel_block")]
    pub ssh_tunnel: Option<SshTunnel>,
}

impl ConnectionConfig {
    /// The TLS mode to use: `sslmode` if given, `require` if `ssl` is on, else `prefer`.
    pub fn ssl_mode(&self) -> SslMode {
        match (self.sslmode, self.ssl) {
            (Some(mode), _) => mode,
            (None, true) => SslMode::Require,
            (None, false) => SslMode::Prefer,
        }
    }

    /// How long one connect, handshake or tunnel step may take.
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.connect_timeout
                .filter(|seconds| *seconds > 0)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECONDS),
        )
    }

    /// Checks what can be checked before connecting: a client certificate needs its key.
    fn validate(&self) -> Result<(), (String, String)> {
        match (&self.sslcert, &self.sslkey) {
            (Some(_), None) => Err((
                "sslkey".into(),
                "a client certificate (sslcert) needs its private key".into(),
            )),
            (None, Some(_)) => Err((
                "sslcert".into(),
                "a client key (sslkey) needs its certificate".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl ConfigFile for ConnectionConfig {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        check_keys(&value, &[struct_fields::<ConnectionConfig>()])?;
        let config: Self = config_from_value(value)?;
        config.validate()?;
        Ok(config)
    }
}

/// Reads a program's config object: the connection keys every program shares, and the program's
/// own (`T`), with every key checked against both and against `other_keys` (read elsewhere).
pub fn read_program_config<T: DeserializeOwned>(
    value: Value,
    other_keys: &[&str],
) -> Result<(ConnectionConfig, T), (String, String)> {
    check_keys(
        &value,
        &[
            struct_fields::<ConnectionConfig>(),
            struct_fields::<T>(),
            other_keys,
        ],
    )?;
    let connection: ConnectionConfig = config_from_value(value.clone())?;
    connection.validate()?;
    Ok((connection, config_from_value(value)?))
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

/// The top-level keys serde knows for `T` (aliases included), read from its derived
/// `Deserialize`, so the list of keys a program accepts can never drift from what it reads.
pub fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{Visitor, value::Error as FieldsError};
    struct FieldsOf(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut FieldsOf {
        type Error = FieldsError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, FieldsError> {
            Err(FieldsError::custom("only structs"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, FieldsError> {
            self.0 = Some(fields);
            Err(FieldsError::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields = FieldsOf(None);
    let _read_fields_only = T::deserialize(&mut fields);
    fields.0.unwrap_or_default()
}

/// Checks a config object's top-level keys against the fields of its parts: a near miss of a
/// known key (`pasword`) is an error naming both; any other unknown key is warned about once.
pub fn check_keys(value: &Value, parts: &[&[&str]]) -> Result<(), (String, String)> {
    let Value::Object(object) = value else {
        return Err(("config".into(), "expected a JSON object".into()));
    };
    let known = || parts.iter().flat_map(|fields| fields.iter().copied());
    for key in object.keys() {
        if known().any(|field| field == key) {
            continue;
        }
        match closest(key, known()) {
            Some(field) => {
                return Err((key.clone(), format!("unknown key: did you mean `{field}`?")));
            }
            None => tracing::warn!(key = %key, "config key is not used by this program; ignored"),
        }
    }
    Ok(())
}

/// Config of a tap: connection, what to discover, how to sync, and the tap's own keys (`O`), all
/// read from one object with every key checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TapConfig<O: Default = NoOwnKeys> {
    /// Read from the same object by [`ConfigFile::from_json`].
    #[serde(skip)]
    pub connection: ConnectionConfig,
    /// The PostgreSQL schemas or MySQL databases to discover (all readable ones when absent):
    /// `filter_schemas` or `filter_dbs`, either name in either tap.
    #[serde(default, rename = "filter_schemas", alias = "filter_dbs")]
    pub namespaces: Option<NameList>,
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
    /// How many times a stream is resumed, on a new session, after transient failures.
    #[serde(default = "default_max_retries", deserialize_with = "lenient")]
    pub max_retries: u32,
    /// Command-line selection shortcut; the catalog wins where both speak.
    #[serde(default)]
    pub select: Vec<SelectPattern>,
    /// `K/N`: read only shard K of N of each FULL_TABLE stream (`--shard` wins).
    #[serde(default)]
    pub shard: Option<crate::sync::ShardIndex>,
    /// The table version every shard of a run writes, and the activation step activates
    /// (`--shard-version` wins).
    #[serde(default, deserialize_with = "lenient_option")]
    pub shard_version: Option<u64>,
    /// The plan file (`--plan N`'s output) every shard reads its bounds from (`--shard-plan`
    /// wins).
    #[serde(default)]
    pub shard_plan: Option<PathBuf>,
    /// The tap's own keys. Read from the same object by [`ConfigFile::from_json`].
    #[serde(skip)]
    pub own: O,
}

/// The own keys of a tap that has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NoOwnKeys {}

impl<O: DeserializeOwned + Default> ConfigFile for TapConfig<O> {
    fn from_json(value: Value) -> Result<Self, (String, String)> {
        let own_keys = struct_fields::<O>();
        let (connection, config) = read_program_config::<Self>(value.clone(), own_keys)?;
        Ok(Self {
            connection,
            own: config_from_value(value)?,
            ..config
        })
    }
}

fn default_batch_size_rows() -> u64 {
    10_000
}

fn default_max_retries() -> u32 {
    5
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
        assert_eq!(config.namespaces.unwrap().0, ["shop", "crm"]);
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
        assert_eq!(
            connection.sslrootcert,
            Some(PemSource::Path("/etc/ca.pem".into()))
        );
        assert_eq!(connection.ssh_tunnel.as_ref().unwrap().port, 22);
        assert_eq!(config.namespaces.unwrap().0, ["public", "sales"]);
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
            "sslkey": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END PRIVATE KEY-----",
            "sslcert": "/c.pem",
            "ssh_tunnel": {"host": "b", "username": "t", "private_key_path": "/k",
                           "private_key_passphrase": "s3cret-phrase"}
        }))
        .unwrap();
        let shown = format!("{config:?} {config:#?} {}", config.connection);
        assert!(
            !shown.contains("hunter2")
                && !shown.contains("s3cret-phrase")
                && !shown.contains("c2VjcmV0LWtleQ"),
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
    fn sslmode_takes_libpq_and_mysql_words() {
        let mode = |word: &str| {
            tap_config(json!({"host": "h", "user": "u", "sslmode": word}))
                .map(|config| config.connection.ssl_mode())
        };
        for (word, expected) in [
            ("disable", SslMode::Disable),
            ("DISABLED", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("PREFERRED", SslMode::Prefer),
            ("require", SslMode::Require),
            ("REQUIRED", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("VERIFY_CA", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
            ("VERIFY_IDENTITY", SslMode::VerifyFull),
        ] {
            assert_eq!(mode(word), Ok(expected), "{word}");
        }
        let (key, message) = mode("verify").unwrap_err();
        assert_eq!(key, "sslmode");
        assert!(message.contains("verify-full"), "{message}");
        let alias = tap_config(json!({"host": "h", "user": "u", "ssl_mode": "require",
            "ssl_ca": "/ca.pem", "ssl_client_certificate": "/c.pem", "ssl_client_private_key": "/k"}))
        .unwrap();
        assert_eq!(alias.connection.ssl_mode(), SslMode::Require);
        assert_eq!(
            alias.connection.sslcert,
            Some(PemSource::Path("/c.pem".into()))
        );
        let (key, _) =
            tap_config(json!({"host": "h", "user": "u", "sslcert": "/c.pem"})).unwrap_err();
        assert_eq!(key, "sslkey");
    }

    #[test]
    fn ssh_tunnel_in_meltano_shape() {
        let tunnel = |block: Value| {
            tap_config(json!({"host": "h", "user": "u", "ssh_tunnel": block}))
                .map(|config| config.connection.ssh_tunnel)
        };
        assert_eq!(tunnel(json!({"enable": false})), Ok(None));
        assert_eq!(tunnel(json!({"enable": "false", "host": "b"})), Ok(None));
        let open = tunnel(json!({"enable": true, "host": "bastion", "port": "2222",
            "username": "etl", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
            "private_key_password": "phrase", "host_key_fingerprint": "SHA256:abc"}))
        .unwrap()
        .unwrap();
        assert_eq!(open.port, 2222);
        assert!(matches!(open.private_key, PemSource::Text(_)));
        assert_eq!(open.private_key_password.unwrap().expose(), "phrase");
        let (key, message) = tunnel(json!({"host": "b", "username": "u"})).unwrap_err();
        assert_eq!(key, "ssh_tunnel");
        assert!(message.contains("private_key"), "{message}");
        let (_, message) = tunnel(json!({"host": "b", "username": "u", "private_key": "/k",
            "host_key_fingerprint": "MD5:aa"}))
        .unwrap_err();
        assert!(message.contains("SHA256"), "{message}");
        assert!(
            tunnel(json!({"host": "b", "username": "u", "private_key": "/k", "hots": 1})).is_err()
        );
    }

    #[test]
    fn near_misses_of_known_keys_stop_the_program() {
        let (key, message) =
            tap_config(json!({"host": "h", "user": "u", "pasword": "x"})).unwrap_err();
        assert_eq!(key, "pasword");
        assert!(message.contains("`password`"), "{message}");
        let (key, message) =
            tap_config(json!({"host": "h", "user": "u", "batch_size_row": 5})).unwrap_err();
        assert_eq!(key, "batch_size_row");
        assert!(message.contains("`batch_size_rows`"), "{message}");
        // Aliases are known keys; an unrelated key is only warned about.
        assert!(
            tap_config(json!({"host": "h", "username": "u", "database": "d",
                "ssl_certificate_authority": "/ca", "logical_poll_total_seconds": 5}))
            .is_ok()
        );
        assert!(struct_fields::<ConnectionConfig>().contains(&"ssl_ca"));
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
