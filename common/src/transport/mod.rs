//! Reaching a database: where to connect, with which TLS settings, through which tunnel.
//!
//! ```text
//! ConnectionConfig ──Endpoint::open──▶ Endpoint { dial: host:port, or the tunnel's 127.0.0.1:port
//!                                                server_name: the database host (TLS checks it)
//!                                                tls: sslmode + CA + client certificate }
//!                        │
//!                        └─ ssh_tunnel set: Tunnel::open (bastion login, host key check, forwarding)
//! ```
//!
//! Every program connects through an [`Endpoint`] (`common::postgres`, `common::mysql`), so TLS and
//! tunnels behave the same in tap-postgres, tap-mysql and target-postgres, `--check` included.

pub mod ssh;
pub mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use ssh::{Tunnel, tunnel_failure};
pub use tls::{TlsSettings, Verification, explain_tls_failure};

use crate::config::ConnectionConfig;

/// Why a database cannot be reached, before the database itself answers.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("config key {key}: {reason}")]
    Certificates { key: &'static str, reason: String },
    #[error("config key {key}: {reason}")]
    Config { key: &'static str, reason: String },
    #[error("TLS set-up failed")]
    TlsSetup {
        #[source]
        source: rustls::Error,
    },
    #[error("ssh tunnel through {bastion}: {reason}")]
    Ssh { bastion: String, reason: String },
}

/// Where and how to connect to one database.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Where the TCP connection goes: the database, or the tunnel's loopback end.
    pub dial_host: String,
    pub dial_port: u16,
    /// The database's own host name: what TLS verifies (also through a tunnel).
    pub server_name: String,
    pub tls: TlsSettings,
    pub connect_timeout: Duration,
    /// The bastion, when the connection is tunnelled.
    pub tunnel: Option<String>,
}

impl Endpoint {
    /// Reads the TLS material and, for `ssh_tunnel`, opens the tunnel (one per bastion and
    /// database for the whole process: later connections reuse it).
    pub fn open(config: &ConnectionConfig, default_port: u16) -> Result<Self, TransportError> {
        let tls = TlsSettings::from_config(config)?;
        let port = config.port.unwrap_or(default_port);
        let connect_timeout = config.connect_timeout();
        let (dial_host, dial_port, tunnel) = match &config.ssh_tunnel {
            None => (config.host.clone(), port, None),
            Some(settings) => {
                static TUNNELS: Mutex<Vec<(String, Arc<Tunnel>)>> = Mutex::new(Vec::new());
                let key = format!(
                    "{}@{}:{} -> {}:{port}",
                    settings.username, settings.host, settings.port, config.host
                );
                let mut tunnels = TUNNELS
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let tunnel = match tunnels.iter().find(|(open, _)| *open == key) {
                    Some((_, tunnel)) => tunnel.clone(),
                    None => {
                        let tunnel =
                            Arc::new(Tunnel::open(settings, &config.host, port, connect_timeout)?);
                        tunnels.push((key, tunnel.clone()));
                        tunnel
                    }
                };
                (
                    "127.0.0.1".to_owned(),
                    tunnel.local_port,
                    Some(format!("{}:{}", settings.host, settings.port)),
                )
            }
        };
        Ok(Self {
            dial_host,
            dial_port,
            server_name: config.host.clone(),
            tls,
            connect_timeout,
            tunnel,
        })
    }
}

/// Runs a blocking connect on its own thread and gives up after `timeout`, so a server that
/// accepts TCP and never answers (a half-dead host, a stalled proxy) cannot hang the program.
/// `None` when the time ran out; the abandoned thread ends with the process, which is about to
/// report the failure.
pub fn within_timeout<T: Send + 'static>(
    timeout: Duration,
    step: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("connect".into())
        .spawn(move || {
            let _receiver_gone = done.send(step());
        })
        .ok()?;
    result.recv_timeout(timeout).ok()
}
