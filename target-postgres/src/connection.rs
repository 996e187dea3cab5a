//! Connecting to the warehouse and setting up the session the loader relies on.

use common::config::{ConnectionConfig, SslMode};
use postgres::{Client, NoTls};

use crate::Error;

/// Every session runs in UTC (a timestamp without a zone is UTC) with ISO dates.
const SESSION_SETUP: &str = "\
    set timezone = 'UTC'; \
    set datestyle = 'ISO, YMD'; \
    set standard_conforming_strings = on; \
    set client_encoding = 'UTF8'";

/// Opens a session on the configured warehouse database.
pub fn connect(config: &ConnectionConfig) -> Result<Client, Error> {
    let dbname = config.dbname.as_deref().unwrap_or("postgres");
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
        .map_err(|source| Error::Database {
            what: "session setup".into(),
            source,
        })?;
    Ok(client)
}
