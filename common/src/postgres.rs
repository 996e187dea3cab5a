//! Opening a PostgreSQL session from a [`ConnectionConfig`]: shared by tap-postgres and
//! target-postgres, which each then set up the session they need.
//!
//! tokio-postgres knows only `disable`, `prefer` and `require`; the other libpq modes are mapped
//! here: `allow` tries plaintext and retries with TLS when the server refuses it, and the
//! verification of `verify-ca` / `verify-full` (or `require` with a CA) is the rustls
//! configuration's ([`TlsSettings`](crate::transport::TlsSettings)). Through a tunnel, the TCP
//! connection goes to the tunnel (`hostaddr`) while TLS still checks the database's host name.

use std::error::Error as _;
use std::net::IpAddr;
use std::time::Duration;

use postgres::Client;
use postgres::config::SslMode as PgSslMode;
use postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{ConnectionConfig, SslMode};
use crate::transport::{
    Endpoint, TransportError, explain_tls_failure, tunnel_failure, within_timeout,
};

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("config key `dbname` is required: the PostgreSQL database to use")]
    MissingDatabase,
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// `target` is the redacted connection (`user@host:port/db`); `reason` explains a TLS or
    /// tunnel failure in a sentence when there is one.
    #[error("could not connect to {target}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Connect {
        target: String,
        reason: Option<String>,
        #[source]
        source: postgres::Error,
    },
    #[error("could not connect to {target}: no answer within {seconds} s (connect_timeout)")]
    Timeout { target: String, seconds: u64 },
    #[error("session setup failed")]
    Setup {
        #[source]
        source: postgres::Error,
    },
}

/// SQLSTATEs after which the same transaction, on a new session, may well succeed.
const TRANSIENT_STATES: [SqlState; 6] = [
    SqlState::ADMIN_SHUTDOWN,
    SqlState::CRASH_SHUTDOWN,
    SqlState::CANNOT_CONNECT_NOW,
    SqlState::T_R_SERIALIZATION_FAILURE,
    SqlState::T_R_DEADLOCK_DETECTED,
    SqlState::TOO_MANY_CONNECTIONS,
];

/// Whether `error` is a lost session, a server shutting down or refusing sessions for now, or a
/// transaction conflict: worth a new session and another try.
pub fn is_transient(error: &postgres::Error) -> bool {
    error.is_closed()
        || error.code().is_some_and(is_transient_state)
        || error
            .source()
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .is_some_and(crate::retry::is_lost_connection)
}

fn is_transient_state(code: &SqlState) -> bool {
    TRANSIENT_STATES.contains(code) || code.code().starts_with("08")
}

/// [`is_transient`] for one cause of an error chain: a `postgres::Error` (also as the payload of
/// the `io::Error` a COPY reader returns), the server's answer, a lost connection, or a connect
/// that timed out.
pub fn is_transient_cause(cause: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(error) = cause.downcast_ref::<postgres::Error>() {
        return is_transient(error);
    }
    if let Some(error) = cause.downcast_ref::<postgres::error::DbError>() {
        return is_transient_state(error.code());
    }
    if let Some(error) = cause.downcast_ref::<ConnectError>() {
        return matches!(error, ConnectError::Timeout { .. });
    }
    cause.downcast_ref::<std::io::Error>().is_some_and(|error| {
        crate::retry::is_lost_connection(error)
            || error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<postgres::Error>())
                .is_some_and(is_transient)
    })
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
    let endpoint = Endpoint::open(config, 5432)?;
    let mut pg = postgres::Config::new();
    pg.host(&endpoint.server_name)
        .port(endpoint.dial_port)
        .user(&config.user)
        .dbname(dbname)
        .application_name(application_name)
        .connect_timeout(endpoint.connect_timeout)
        // A dead peer (or tunnel) is noticed on long reads too.
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(60));
    if endpoint.tunnel.is_some() {
        let loopback: IpAddr = [127, 0, 0, 1].into();
        pg.hostaddr(loopback);
    }
    if let Some(password) = &config.password {
        pg.password(password.expose());
    }
    let tls = MakeRustlsConnect::new(endpoint.tls.client_config()?);
    let first_mode = match endpoint.tls.mode {
        SslMode::Disable | SslMode::Allow => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
    };
    let mode = endpoint.tls.mode;
    let attempts = move || match pg.ssl_mode(first_mode).connect(tls.clone()) {
        // `allow`: the server refused plaintext (pg_hba `hostssl` only); try again with TLS.
        Err(err) if mode == SslMode::Allow && err.as_db_error().is_some() => {
            pg.ssl_mode(PgSslMode::Require).connect(tls)
        }
        other => other,
    };
    let connected = within_timeout(endpoint.connect_timeout, attempts).ok_or_else(|| {
        ConnectError::Timeout {
            target: config.to_string(),
            seconds: endpoint.connect_timeout.as_secs(),
        }
    })?;
    let mut client = connected.map_err(|source| ConnectError::Connect {
        target: config.to_string(),
        reason: explain_tls_failure(&source, &endpoint.server_name).or_else(tunnel_failure),
        source,
    })?;
    client
        .batch_execute(session_setup)
        .map_err(|source| ConnectError::Setup { source })?;
    Ok(client)
}
