//! Connecting to PostgreSQL and setting up a session whose text output is exact and stable.
//!
//! The session runs in UTC with ISO dates, ISO 8601 intervals, hex bytea and the shortest exact
//! float digits, so the text PostgreSQL sends (by queries and by `COPY … TO STDOUT`) can be turned
//! into JSON without depending on the server's or the user's settings.

use common::config::{ConnectionConfig, SslMode};
use postgres::{Client, NoTls};

use crate::Error;

/// Settings every session of the tap runs with.
const SESSION_SETUP: &str = "\
    set timezone = 'UTC'; \
    set datestyle = 'ISO, YMD'; \
    set intervalstyle = 'iso_8601'; \
    set extra_float_digits = 3; \
    set bytea_output = 'hex'; \
    set standard_conforming_strings = on; \
    set client_encoding = 'UTF8'";

/// Opens a session on the configured database.
pub fn connect(config: &ConnectionConfig) -> Result<Client, Error> {
    let dbname = config.dbname.as_deref().ok_or(Error::MissingDatabase)?;
    if matches!(
        config.ssl_mode(),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
    ) {
        return Err(Error::TlsUnavailable);
    }
    if config.ssh_tunnel.is_some() {
        return Err(Error::SshUnavailable);
    }
    let mut pg = postgres::Config::new();
    pg.host(&config.host)
        .port(config.port.unwrap_or(5432))
        .user(&config.user)
        .dbname(dbname)
        .application_name(crate::NAME);
    if let Some(password) = &config.password {
        pg.password(password.expose());
    }
    let mut client = pg.connect(NoTls).map_err(|source| Error::Connect {
        target: config.to_string(),
        source,
    })?;
    client
        .batch_execute(SESSION_SETUP)
        .map_err(|source| Error::Query {
            what: "session setup".into(),
            source,
        })?;
    Ok(client)
}
