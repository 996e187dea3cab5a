//! Opening a PostgreSQL session from a [`ConnectionConfig`]: shared by tap-postgres and
//! target-postgres, which each then set up the session they need.

use postgres::{Client, NoTls};

use crate::config::{ConnectionConfig, UnsupportedTransport};

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("config key `dbname` is required: the PostgreSQL database to use")]
    MissingDatabase,
    #[error(transparent)]
    Transport(#[from] UnsupportedTransport),
    /// `target` is the redacted connection (`user@host:port/db`).
    #[error("could not connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: postgres::Error,
    },
    #[error("session setup failed")]
    Setup {
        #[source]
        source: postgres::Error,
    },
}

/// Connects as `application_name` and runs `session_setup` (statements separated by `;`).
pub fn connect(
    config: &ConnectionConfig,
    application_name: &str,
    session_setup: &str,
) -> Result<Client, ConnectError> {
    let dbname = config
        .dbname
        .as_deref()
        .ok_or(ConnectError::MissingDatabase)?;
    config.check_transport()?;
    let mut pg = postgres::Config::new();
    pg.host(&config.host)
        .port(config.port.unwrap_or(5432))
        .user(&config.user)
        .dbname(dbname)
        .application_name(application_name);
    if let Some(password) = &config.password {
        pg.password(password.expose());
    }
    let mut client = pg.connect(NoTls).map_err(|source| ConnectError::Connect {
        target: config.to_string(),
        source,
    })?;
    client
        .batch_execute(session_setup)
        .map_err(|source| ConnectError::Setup { source })?;
    Ok(client)
}
