//! Opening a MySQL or MariaDB connection from a [`ConnectionConfig`], for tap-mysql.
//!
//! libpq's `sslmode` meanings on the `mysql` client: `prefer` tries TLS and falls back to plaintext
//! when the server has no TLS; `allow` tries plaintext and, as libpq, retries with TLS when the
//! server refuses the login; `require` and stricter insist on TLS. The client reads CA and client
//! certificates from files only, so PEM given as text is written to a private temporary file for
//! the handshake, and removed right after.
//!
//! The client checks the host name against the address it connects to. Through a tunnel that is
//! the loopback end, so for `verify-full` the name is checked by a probe of our own first (the
//! MySQL greeting, an SSL request, then a rustls handshake verifying chain and the database's
//! host name through the same tunnel), and the client's own connection verifies the chain.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use mysql::{ClientIdentity, Conn, DriverError, OptsBuilder, SslOpts};
use rustls::pki_types::ServerName;

use crate::config::{ConnectionConfig, PemSource, SslMode};
use crate::transport::{
    Endpoint, TransportError, Verification, explain_tls_failure, tunnel_failure, within_timeout,
};

/// MySQL's ER_SECURE_TRANSPORT_REQUIRED (also MariaDB's, from 10.5).
const SECURE_TRANSPORT_REQUIRED: u16 = 3159;
/// ER_ACCESS_DENIED_ERROR.
const ACCESS_DENIED: u16 = 1045;

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// `reason` is the driver's error as a sentence, or what a TLS or tunnel failure means.
    #[error("could not connect to {target}: {reason}")]
    Connect { target: String, reason: String },
}

/// Connects and runs `session_setup`, each statement as the connection's init commands.
pub fn connect(config: &ConnectionConfig, session_setup: &[&str]) -> Result<Conn, ConnectError> {
    connect_with_read_timeout(config, session_setup, None)
}

/// As [`connect`], with every later read from the server bounded by `read_timeout` (and every
/// write too): for a connection that streams (a binlog reader), where a silent server must end
/// the read rather than hang it.
pub fn connect_with_read_timeout(
    config: &ConnectionConfig,
    session_setup: &[&str],
    read_timeout: Option<std::time::Duration>,
) -> Result<Conn, ConnectError> {
    let endpoint = Endpoint::open(config, 3306)?;
    let fail = |reason: String| ConnectError::Connect {
        target: config.to_string(),
        reason,
    };
    let files = TlsFiles::write(&endpoint)?;
    let plain = OptsBuilder::new()
        .ip_or_hostname(Some(endpoint.dial_host.clone()))
        .tcp_port(endpoint.dial_port)
        .user(Some(config.user.clone()))
        .pass(config.password.as_ref().map(|p| p.expose().to_owned()))
        .db_name(config.dbname.clone())
        .prefer_socket(false)
        .tcp_connect_timeout(Some(endpoint.connect_timeout))
        .tcp_keepalive_time_ms(Some(60_000))
        .read_timeout(read_timeout)
        .write_timeout(read_timeout)
        .init(session_setup.to_vec());
    let secure = plain.clone().ssl_opts(files.ssl_opts(&endpoint));
    if endpoint.tls.mode == SslMode::VerifyFull && endpoint.tunnel.is_some() {
        verify_server_name(&endpoint).map_err(fail)?;
    }
    let mode = endpoint.tls.mode;
    let attempts = move || match mode {
        SslMode::Disable => Conn::new(plain),
        // As libpq: when the plaintext attempt is refused, try again with TLS. (MariaDB refuses
        // plaintext under require_secure_transport with a plain "access denied".)
        SslMode::Allow => match Conn::new(plain) {
            Err(mysql::Error::MySqlError(_)) => Conn::new(secure),
            other => other,
        },
        SslMode::Prefer => match Conn::new(secure) {
            Err(mysql::Error::DriverError(DriverError::TlsNotSupported)) => Conn::new(plain),
            other => other,
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Conn::new(secure),
    };
    let connected = within_timeout(endpoint.connect_timeout, attempts).ok_or_else(|| {
        fail(format!(
            "no answer within {} s (connect_timeout)",
            endpoint.connect_timeout.as_secs()
        ))
    })?;
    drop(files);
    connected.map_err(|err| {
        let reason = io_error(&err)
            .and_then(|io| explain_tls_failure(io, &endpoint.server_name))
            .or_else(|| tls_required_hint(&err, endpoint.tls.mode))
            .or_else(tunnel_failure)
            .unwrap_or_else(|| describe(&err));
        fail(reason)
    })
}

fn tls_required_hint(err: &mysql::Error, mode: SslMode) -> Option<String> {
    match err {
        mysql::Error::DriverError(DriverError::TlsNotSupported) => Some(format!(
            "the server does not offer TLS, and sslmode {mode} requires it"
        )),
        mysql::Error::MySqlError(server) if server.code == SECURE_TRANSPORT_REQUIRED => {
            Some(format!(
                "the server requires TLS (require_secure_transport), and sslmode {mode} does not \
                 use it: set sslmode to require or verify-full"
            ))
        }
        // MariaDB answers a plaintext login under require_secure_transport this way.
        mysql::Error::MySqlError(server)
            if server.code == ACCESS_DENIED && mode == SslMode::Disable =>
        {
            Some(format!(
                "{}; if the server requires TLS (require_secure_transport), set sslmode to \
                 require or verify-full",
                describe(err)
            ))
        }
        _ => None,
    }
}

/// The driver's error as one sentence (its `Display` is a debug form for server errors).
pub fn describe(err: &mysql::Error) -> String {
    match err {
        mysql::Error::MySqlError(server) => {
            format!(
                "the server answered: {} (error {})",
                server.message, server.code
            )
        }
        mysql::Error::DriverError(driver) => driver.to_string(),
        other => io_error(other).map_or_else(|| other.to_string(), ToString::to_string),
    }
}

/// The I/O error inside a driver error (the driver implements only the deprecated `cause`, so
/// a walk of `source` does not find it).
fn io_error(err: &mysql::Error) -> Option<&std::io::Error> {
    match err {
        mysql::Error::IoError(io) => Some(io),
        mysql::Error::CodecError(codec) => std::error::Error::source(codec)?.downcast_ref(),
        _ => None,
    }
}

/// Certificates for the driver, which reads them from files: given paths as they are, PEM text
/// in private temporary files that live until the handshake is done.
struct TlsFiles {
    _dir: Option<tempfile::TempDir>,
    root: Option<std::path::PathBuf>,
    identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl TlsFiles {
    fn write(endpoint: &Endpoint) -> Result<Self, TransportError> {
        let needs_dir = endpoint.tls.root_source.iter().any(is_text)
            || endpoint
                .tls
                .client_source
                .iter()
                .any(|(cert, key)| is_text(cert) || is_text(key));
        let dir = if needs_dir {
            Some(tempfile::tempdir().map_err(|err| TransportError::Config {
                key: "sslrootcert",
                reason: format!("cannot write the certificates for the client: {err}"),
            })?)
        } else {
            None
        };
        let place = |source: &PemSource, name: &str, key: &'static str| match (source, &dir) {
            (PemSource::Path(path), _) => Ok(path.clone()),
            (PemSource::Text(text), Some(dir)) => {
                let path = dir.path().join(name);
                std::fs::write(&path, text.expose())
                    .map(|()| path)
                    .map_err(|err| TransportError::Config {
                        key,
                        reason: format!("cannot write it for the client: {err}"),
                    })
            }
            (PemSource::Text(_), None) => unreachable!("a directory is made for PEM text"),
        };
        let root = match &endpoint.tls.root_source {
            Some(source) => Some(place(source, "ca.pem", "sslrootcert")?),
            None => None,
        };
        let identity = match &endpoint.tls.client_source {
            Some((cert, key)) => Some((
                place(cert, "client.pem", "sslcert")?,
                place(key, "client.key", "sslkey")?,
            )),
            None => None,
        };
        Ok(Self {
            _dir: dir,
            root,
            identity,
        })
    }

    fn ssl_opts(&self, endpoint: &Endpoint) -> SslOpts {
        let verification = endpoint.tls.verification();
        SslOpts::default()
            .with_root_cert_path(self.root.clone())
            .with_client_identity(
                self.identity
                    .clone()
                    .map(|(cert, key)| ClientIdentity::new(cert, key)),
            )
            .with_danger_accept_invalid_certs(verification == Verification::None)
            // The name is checked by the driver only when it connects to the database's own name.
            .with_danger_skip_domain_validation(
                verification != Verification::ChainAndName || endpoint.tunnel.is_some(),
            )
    }
}

fn is_text(source: &PemSource) -> bool {
    matches!(source, PemSource::Text(_))
}

/// `verify-full` through a tunnel: a TLS handshake of our own through the tunnel, verifying the
/// chain and the database's host name, before the driver connects.
fn verify_server_name(endpoint: &Endpoint) -> Result<(), String> {
    let timeout = endpoint.connect_timeout;
    let address = (endpoint.dial_host.as_str(), endpoint.dial_port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| "the tunnel's local address cannot be resolved".to_owned())?;
    let mut tcp = TcpStream::connect_timeout(&address, timeout).map_err(|err| err.to_string())?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|err| err.to_string())?;
    let greeting = read_packet(&mut tcp).map_err(|err| format!("no server greeting: {err}"))?;
    if greeting.first() == Some(&0xff) {
        // An error packet: the driver's connection reports it properly.
        return Ok(());
    }
    if !offers_tls(&greeting) {
        return Err("the server does not offer TLS, and sslmode verify-full requires it".into());
    }
    tcp.write_all(&ssl_request())
        .map_err(|err| err.to_string())?;
    let config = endpoint
        .tls
        .client_config()
        .map_err(|err| err.to_string())?;
    let name = ServerName::try_from(endpoint.server_name.clone())
        .map_err(|_| format!("{:?} is not a valid host name", endpoint.server_name))?;
    let mut tls =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|err| err.to_string())?;
    while tls.is_handshaking() {
        if let Err(err) = tls.complete_io(&mut tcp) {
            return Err(explain_tls_failure(&err, &endpoint.server_name)
                .unwrap_or_else(|| format!("TLS handshake failed: {err}")));
        }
    }
    Ok(())
}

/// One MySQL packet's payload (3-byte length, sequence number, payload).
fn read_packet(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let length =
        usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0; length];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

/// Whether a protocol-10 greeting has the CLIENT_SSL capability.
fn offers_tls(greeting: &[u8]) -> bool {
    const CLIENT_SSL: u16 = 0x0800;
    // protocol version, server version (NUL-terminated), thread id (4), auth data (8), filler (1)
    let Some(version_end) = greeting.iter().skip(1).position(|&byte| byte == 0) else {
        return false;
    };
    let capabilities_at = 1 + version_end + 1 + 4 + 8 + 1;
    greeting
        .get(capabilities_at..capabilities_at + 2)
        .is_some_and(|bytes| u16::from_le_bytes([bytes[0], bytes[1]]) & CLIENT_SSL != 0)
}

/// An SSLRequest packet (sequence 1): capabilities, max packet size, utf8mb4, 23 zero bytes.
fn ssl_request() -> Vec<u8> {
    const CAPABILITIES: u32 = 0x0000_0001 | 0x0000_0200 | 0x0000_0800 | 0x0000_8000;
    let mut packet = vec![32, 0, 0, 1];
    packet.extend_from_slice(&CAPABILITIES.to_le_bytes());
    packet.extend_from_slice(&(16u32 << 20).to_le_bytes());
    packet.push(45);
    packet.extend_from_slice(&[0; 23]);
    packet
}

/// MySQL's "server shutdown in progress", "too many connections", "lock wait timeout" and
/// "deadlock" answers.
const TRANSIENT_CODES: [u16; 4] = [1053, 1040, 1205, 1213];

/// Whether `error` is a lost connection, a server shutting down or full, or a transaction
/// conflict: worth a new session and another try.
pub fn is_transient(error: &mysql::Error) -> bool {
    match error {
        mysql::Error::IoError(error) => crate::retry::is_lost_connection(error),
        mysql::Error::CodecError(_) => true,
        mysql::Error::DriverError(error) => matches!(
            error,
            DriverError::ConnectTimeout | DriverError::CouldNotConnect(_) | DriverError::Timeout
        ),
        mysql::Error::MySqlError(error) => TRANSIENT_CODES.contains(&error.code),
        _ => false,
    }
}
