//! A replication connection: PostgreSQL's wire protocol in `replication=database` mode, which
//! tokio-postgres does not speak (it has no CopyBoth). Blocking, on its own thread.
//!
//! ```text
//! TCP (or the SSH tunnel's loopback end) ─▶ SSLRequest → rustls (same verification as every
//! other connection) ─▶ StartupMessage (replication=database, output settings) ─▶ password / md5 /
//! SCRAM-SHA-256 ─▶ simple queries ─▶ START_REPLICATION: CopyData both ways
//! ```
//!
//! Message encoding and SCRAM come from `postgres-protocol`; the framing of what the server
//! sends is read here, one message at a time into a reused buffer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::config::{ConnectionConfig, SslMode};
use common::message::POSTGRES_EPOCH_UNIX_SECONDS;
use common::transport::{Endpoint, TransportError};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::frontend;
use rustls::pki_types::ServerName;

/// How long a read may wait before the caller gets control back (to send a status update).
const POLL: Duration = Duration::from_millis(500);
/// How long the rest of a message that has begun may take.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the replication connection failed. Server messages name objects, never row values.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("replication connection to {target}: {what}")]
    Io {
        target: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("replication connection to {target}: no answer within {seconds} s (connect_timeout)")]
    Timeout { target: String, seconds: u64 },
    #[error(
        "replication connection to {target}: the server refuses TLS, which sslmode {mode} requires"
    )]
    TlsRefused { target: String, mode: SslMode },
    #[error("replication connection to {target}: TLS failed")]
    Tls {
        target: String,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "replication connection to {target}: the server asks for {method} authentication, which is not supported"
    )]
    UnsupportedAuth { target: String, method: String },
    #[error("replication connection to {target}: a password is needed (config key `password`)")]
    PasswordNeeded { target: String },
    #[error("{severity} {code}: {message}{}", hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Server {
        severity: String,
        code: String,
        message: String,
        hint: Option<String>,
    },
    #[error("replication connection to {target}: unexpected {what}")]
    Protocol { target: String, what: String },
    #[error("replication connection to {target}: the server closed the connection")]
    Closed { target: String },
}

impl WireError {
    /// The SQLSTATE of a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// A lost connection or a server going away: a new connection may well work.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io { source, .. } => common::retry::is_lost_connection(source),
            Self::Closed { .. } | Self::Timeout { .. } => true,
            // 55006: the slot is still held by the walsender of a connection just lost.
            Self::Server { code, .. } => {
                code.starts_with("08")
                    || matches!(code.as_str(), "57P01" | "57P02" | "57P03" | "55006")
            }
            _ => false,
        }
    }
}

enum Transport {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Transport {
    fn socket(&self) -> &TcpStream {
        match self {
            Self::Plain(socket) => socket,
            Self::Tls(tls) => tls.get_ref(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(socket) => socket.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}

/// A connection in replication mode.
pub struct ReplicationConnection {
    stream: BufReader<Transport>,
    body: Vec<u8>,
    out: BytesMut,
    /// `user@host:port/db`, for errors.
    target: String,
}

impl std::fmt::Debug for ReplicationConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationConnection")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Session settings of the walsender, which prints the values pgoutput sends: the same text as
/// the tap's other sessions ([`crate::connection::SESSION_SETUP`]).
const OUTPUT_SETTINGS: &str = "-c timezone=UTC -c datestyle=ISO,YMD -c intervalstyle=iso_8601 \
     -c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C";

impl ReplicationConnection {
    /// Connects as `config` says (TLS, tunnel, timeout) in `replication=database` mode.
    pub fn connect(config: &ConnectionConfig, application_name: &str) -> Result<Self, WireError> {
        let endpoint = Endpoint::open(config, 5432)?;
        let target = config.to_string();
        let first_tls = !matches!(endpoint.tls.mode, SslMode::Disable | SslMode::Allow);
        match Self::connect_once(config, &endpoint, application_name, first_tls) {
            // `allow`: the server refused plaintext; try again with TLS.
            Err(WireError::Server { .. }) if endpoint.tls.mode == SslMode::Allow => {
                Self::connect_once(config, &endpoint, application_name, true)
            }
            other => other,
        }
        .map_err(|error| match error {
            WireError::Io { source, .. } if is_timeout(&source) => WireError::Timeout {
                target: target.clone(),
                seconds: endpoint.connect_timeout.as_secs(),
            },
            other => other,
        })
    }

    fn connect_once(
        config: &ConnectionConfig,
        endpoint: &Endpoint,
        application_name: &str,
        tls: bool,
    ) -> Result<Self, WireError> {
        let target = config.to_string();
        let io_error = |what| {
            let target = target.clone();
            move |source| WireError::Io {
                target,
                what,
                source,
            }
        };
        let dial_host = if endpoint.tunnel.is_some() {
            "127.0.0.1"
        } else {
            endpoint.dial_host.as_str()
        };
        let addresses: Vec<SocketAddr> = (dial_host, endpoint.dial_port)
            .to_socket_addrs()
            .map_err(io_error("resolving the host"))?
            .collect();
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        let mut socket = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, endpoint.connect_timeout) {
                Ok(connected) => {
                    socket = Some(connected);
                    break;
                }
                Err(error) => last_error = error,
            }
        }
        let socket = socket.ok_or_else(|| io_error("connecting")(last_error))?;
        socket.set_nodelay(true).map_err(io_error("connecting"))?;
        // Every step of the handshake is bounded.
        socket
            .set_read_timeout(Some(endpoint.connect_timeout))
            .map_err(io_error("connecting"))?;
        socket
            .set_write_timeout(Some(endpoint.connect_timeout))
            .map_err(io_error("connecting"))?;
        let transport = if tls {
            Self::start_tls(socket, endpoint, &target)?
        } else {
            Transport::Plain(socket)
        };
        let mut connection = Self {
            stream: BufReader::with_capacity(1 << 16, transport),
            body: Vec::new(),
            out: BytesMut::new(),
            target: target.clone(),
        };
        let dbname = config.dbname.as_deref().unwrap_or_default();
        frontend::startup_message(
            [
                ("user", config.user.as_str()),
                ("database", dbname),
                ("replication", "database"),
                ("application_name", application_name),
                ("client_encoding", "UTF8"),
                ("options", OUTPUT_SETTINGS),
            ],
            &mut connection.out,
        )
        .map_err(io_error("starting up"))?;
        connection.send()?;
        connection.authenticate(config)?;
        connection.wait_until_ready()?;
        let socket = connection.stream.get_ref().socket();
        socket
            .set_read_timeout(Some(POLL))
            .map_err(io_error("connecting"))?;
        Ok(connection)
    }

    fn start_tls(
        mut socket: TcpStream,
        endpoint: &Endpoint,
        target: &str,
    ) -> Result<Transport, WireError> {
        let io_error = |what| {
            move |source| WireError::Io {
                target: target.to_owned(),
                what,
                source,
            }
        };
        let mut request = BytesMut::new();
        frontend::ssl_request(&mut request);
        socket
            .write_all(&request)
            .map_err(io_error("asking for TLS"))?;
        let mut answer = [0_u8; 1];
        socket
            .read_exact(&mut answer)
            .map_err(io_error("asking for TLS"))?;
        if answer[0] != b'S' {
            if endpoint.tls.mode == SslMode::Prefer {
                return Ok(Transport::Plain(socket));
            }
            return Err(WireError::TlsRefused {
                target: target.to_owned(),
                mode: endpoint.tls.mode,
            });
        }
        let config = Arc::new(endpoint.tls.client_config()?);
        let name = ServerName::try_from(endpoint.server_name.clone()).map_err(|_| {
            WireError::Protocol {
                target: target.to_owned(),
                what: "host name for TLS".into(),
            }
        })?;
        let mut tls =
            rustls::ClientConnection::new(config, name).map_err(|source| WireError::Tls {
                target: target.to_owned(),
                source,
            })?;
        while tls.is_handshaking() {
            tls.complete_io(&mut socket).map_err(|source| {
                match source
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    Some(tls_error) => WireError::Tls {
                        target: target.to_owned(),
                        source: tls_error.clone(),
                    },
                    None => io_error("the TLS handshake")(source),
                }
            })?;
        }
        Ok(Transport::Tls(Box::new(rustls::StreamOwned::new(
            tls, socket,
        ))))
    }

    fn authenticate(&mut self, config: &ConnectionConfig) -> Result<(), WireError> {
        let target = self.target.clone();
        let password = || {
            config
                .password
                .as_ref()
                .map(|p| p.expose().as_bytes().to_vec())
                .ok_or_else(|| WireError::PasswordNeeded {
                    target: target.clone(),
                })
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let tag = self.read_message_waiting()?;
            if tag != b'R' {
                return Err(self.unexpected(tag));
            }
            let body = self.body.clone();
            let code = read_i32(&body, 0).unwrap_or(-1);
            match code {
                0 => return Ok(()),
                3 => {
                    frontend::password_message(&password()?, &mut self.out)
                        .map_err(self.io_error("authenticating"))?;
                }
                5 => {
                    let salt: [u8; 4] = body
                        .get(4..8)
                        .and_then(|salt| salt.try_into().ok())
                        .ok_or_else(|| self.protocol("md5 salt"))?;
                    let hash = md5_hash(config.user.as_bytes(), &password()?, salt);
                    frontend::password_message(hash.as_bytes(), &mut self.out)
                        .map_err(self.io_error("authenticating"))?;
                }
                10 => {
                    let mechanisms = body[4..]
                        .split(|&byte| byte == 0)
                        .any(|name| name == SCRAM_SHA_256.as_bytes());
                    if !mechanisms {
                        return Err(WireError::UnsupportedAuth {
                            target: self.target.clone(),
                            method: "SASL (without SCRAM-SHA-256)".into(),
                        });
                    }
                    let started = ScramSha256::new(&password()?, ChannelBinding::unsupported());
                    frontend::sasl_initial_response(
                        SCRAM_SHA_256,
                        started.message(),
                        &mut self.out,
                    )
                    .map_err(self.io_error("authenticating"))?;
                    scram = Some(started);
                }
                11 => {
                    let exchange = scram.as_mut().ok_or_else(|| self.protocol("SASL step"))?;
                    exchange
                        .update(&body[4..])
                        .map_err(self.io_error("authenticating"))?;
                    frontend::sasl_response(exchange.message(), &mut self.out)
                        .map_err(self.io_error("authenticating"))?;
                }
                12 => {
                    let mut exchange = scram.take().ok_or_else(|| self.protocol("SASL end"))?;
                    exchange
                        .finish(&body[4..])
                        .map_err(self.io_error("authenticating"))?;
                    continue;
                }
                other => {
                    return Err(WireError::UnsupportedAuth {
                        target: self.target.clone(),
                        method: format!("code {other}"),
                    });
                }
            }
            self.send()?;
        }
    }

    /// Skips the parameters and key data up to ReadyForQuery.
    fn wait_until_ready(&mut self) -> Result<(), WireError> {
        loop {
            let tag = self.read_message_waiting()?;
            match tag {
                b'Z' => return Ok(()),
                b'S' | b'K' | b'N' => {}
                _ => return Err(self.unexpected(tag)),
            }
        }
    }

    /// Runs a simple query and returns its rows as text (`None` for NULL).
    pub fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, WireError> {
        frontend::query(sql, &mut self.out).map_err(self.io_error("sending a query"))?;
        self.send()?;
        let mut rows = Vec::new();
        let mut failure = None;
        loop {
            let tag = self.read_message_waiting()?;
            match tag {
                b'D' => rows.push(parse_data_row(&self.body).ok_or_else(|| self.protocol("row"))?),
                b'E' => failure = Some(server_error(&self.body)),
                b'Z' => return failure.map_or(Ok(rows), Err),
                b'T' | b'C' | b'N' | b'S' | b'I' => {}
                _ => return Err(self.unexpected(tag)),
            }
        }
    }

    /// Sends `START_REPLICATION …` and waits for the server to start streaming.
    pub fn start_replication(&mut self, command: &str) -> Result<(), WireError> {
        frontend::query(command, &mut self.out).map_err(self.io_error("starting replication"))?;
        self.send()?;
        loop {
            let tag = self.read_message_waiting()?;
            match tag {
                b'W' => return Ok(()),
                b'N' | b'S' => {}
                b'E' => {
                    let error = server_error(&self.body);
                    // The server ends the failed command with ReadyForQuery.
                    let _ready = self.read_message_waiting();
                    return Err(error);
                }
                _ => return Err(self.unexpected(tag)),
            }
        }
    }

    /// The next CopyData's payload while streaming, `None` when nothing arrived within the poll
    /// interval. A server error or the end of the stream is an error.
    pub fn next_copy_data(&mut self) -> Result<Option<&[u8]>, WireError> {
        let Some(tag) = self.read_message()? else {
            return Ok(None);
        };
        match tag {
            b'd' => Ok(Some(&self.body)),
            b'c' => Err(WireError::Closed {
                target: self.target.clone(),
            }),
            _ => Err(self.unexpected(tag)),
        }
    }

    /// Sends a standby status update (`r`): positions received, flushed and applied. Only the
    /// flushed position is what a logical slot is confirmed (advanced) to.
    pub fn send_status(
        &mut self,
        written: u64,
        flushed: u64,
        applied: u64,
    ) -> Result<(), WireError> {
        let mut payload = Vec::with_capacity(34);
        payload.push(b'r');
        payload.extend_from_slice(&written.to_be_bytes());
        payload.extend_from_slice(&flushed.to_be_bytes());
        payload.extend_from_slice(&applied.to_be_bytes());
        payload.extend_from_slice(&postgres_now_micros().to_be_bytes());
        payload.push(0);
        self.out.extend_from_slice(b"d");
        self.out
            .extend_from_slice(&(payload.len() as i32 + 4).to_be_bytes());
        self.out.extend_from_slice(&payload);
        self.send()
    }

    /// Says goodbye (best effort: the connection is dropped anyway).
    pub fn close(mut self) {
        frontend::terminate(&mut self.out);
        let _best_effort = self.send();
    }

    fn send(&mut self) -> Result<(), WireError> {
        let out = std::mem::take(&mut self.out);
        let stream = self.stream.get_mut();
        stream
            .write_all(&out)
            .and_then(|()| stream.flush())
            .map_err(self.io_error("sending"))?;
        self.out = out;
        self.out.clear();
        Ok(())
    }

    /// A message, however long the server takes within [`MESSAGE_TIMEOUT`] (handshake, queries).
    fn read_message_waiting(&mut self) -> Result<u8, WireError> {
        let started = Instant::now();
        loop {
            if let Some(tag) = self.read_message()? {
                return Ok(tag);
            }
            if started.elapsed() > MESSAGE_TIMEOUT {
                return Err(self.io_error("waiting for the server")(
                    io::ErrorKind::TimedOut.into(),
                ));
            }
        }
    }

    /// Whether a message has started to arrive; `false` after a poll interval of silence.
    fn has_message_start(&mut self) -> Result<bool, WireError> {
        match self.stream.fill_buf() {
            Ok([]) => Err(WireError::Closed {
                target: self.target.clone(),
            }),
            Ok(_) => Ok(true),
            Err(error) if is_timeout(&error) => Ok(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(error) => Err(self.io_error("reading")(error)),
        }
    }

    /// One message's type (its body in `self.body`), or `None` after a poll interval of
    /// silence.
    fn read_message(&mut self) -> Result<Option<u8>, WireError> {
        if !self.has_message_start()? {
            return Ok(None);
        }
        let mut header = [0_u8; 5];
        self.read_patiently(&mut header)?;
        let length = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let length = usize::try_from(length)
            .ok()
            .and_then(|length| length.checked_sub(4))
            .ok_or_else(|| self.protocol("message length"))?;
        let mut body = std::mem::take(&mut self.body);
        body.resize(length, 0);
        let read = self.read_patiently(&mut body);
        self.body = body;
        read?;
        Ok(Some(header[0]))
    }

    /// Fills `buf`, waiting out poll timeouts up to [`MESSAGE_TIMEOUT`]: a message that has
    /// begun is read whole.
    fn read_patiently(&mut self, mut buf: &mut [u8]) -> Result<(), WireError> {
        let started = Instant::now();
        while !buf.is_empty() {
            match self.stream.read(buf) {
                Ok(0) => {
                    return Err(WireError::Closed {
                        target: self.target.clone(),
                    });
                }
                Ok(read) => buf = &mut buf[read..],
                Err(error)
                    if (is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted)
                        && started.elapsed() < MESSAGE_TIMEOUT => {}
                Err(error) => return Err(self.io_error("reading")(error)),
            }
        }
        Ok(())
    }

    fn io_error(&self, what: &'static str) -> impl FnOnce(io::Error) -> WireError + use<> {
        let target = self.target.clone();
        move |source| WireError::Io {
            target,
            what,
            source,
        }
    }

    fn protocol(&self, what: &str) -> WireError {
        WireError::Protocol {
            target: self.target.clone(),
            what: what.to_owned(),
        }
    }

    /// A message of type `tag` (body in `self.body`) where another was due.
    fn unexpected(&self, tag: u8) -> WireError {
        if tag == b'E' {
            return server_error(&self.body);
        }
        self.protocol(&format!("message {:?}", char::from(tag)))
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Now in microseconds since 2000-01-01 UTC, as the protocol counts.
fn postgres_now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_micros() as i64 - POSTGRES_EPOCH_UNIX_SECONDS * 1_000_000
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// A DataRow's fields as text.
fn parse_data_row(body: &[u8]) -> Option<Vec<Option<String>>> {
    let count = u16::from_be_bytes(body.get(0..2)?.try_into().ok()?);
    let mut at = 2;
    let mut fields = Vec::with_capacity(count.into());
    for _ in 0..count {
        let length = read_i32(body, at)?;
        at += 4;
        if length < 0 {
            fields.push(None);
            continue;
        }
        let end = at + length as usize;
        fields.push(Some(
            String::from_utf8_lossy(body.get(at..end)?).into_owned(),
        ));
        at = end;
    }
    Some(fields)
}

/// An ErrorResponse's severity, SQLSTATE, message and hint.
fn server_error(body: &[u8]) -> WireError {
    let mut severity = String::new();
    let mut code = String::new();
    let mut message = String::new();
    let mut hint = None;
    for field in body.split(|&byte| byte == 0) {
        let Some((&kind, text)) = field.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(text).into_owned();
        match kind {
            b'V' => severity = text,
            b'S' if severity.is_empty() => severity = text,
            b'C' => code = text,
            b'M' => message = text,
            b'H' => hint = Some(text),
            _ => {}
        }
    }
    WireError::Server {
        severity,
        code,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_keep_code_message_and_hint() {
        let body =
            b"SERROR\0VERROR\0C42704\0Mreplication slot \"x\" does not exist\0Hcreate it\0\0";
        let error = server_error(body);
        assert_eq!(error.code(), Some("42704"));
        assert_eq!(
            error.to_string(),
            "ERROR 42704: replication slot \"x\" does not exist (hint: create it)"
        );
        assert!(!error.is_transient());
    }

    #[test]
    fn data_rows_are_read_as_text_with_nulls() {
        let mut body = vec![0, 2];
        body.extend_from_slice(&3_i32.to_be_bytes());
        body.extend_from_slice(b"0/1");
        body.extend_from_slice(&(-1_i32).to_be_bytes());
        assert_eq!(
            parse_data_row(&body),
            Some(vec![Some("0/1".to_owned()), None])
        );
        assert_eq!(parse_data_row(&body[..5]), None);
    }
}
