//! SSH tunnels through a bastion host, in-process (no `ssh` binary needed), as `ssh -L` does.
//!
//! ```text
//! database client ──TCP──▶ 127.0.0.1:<local port> ──direct-tcpip channel──▶ bastion ──▶ db host:port
//!                          (listener task)            (one SSH session, keepalives on)
//! ```
//!
//! The session runs on a small tokio runtime in its own thread, so the synchronous MySQL client and
//! the PostgreSQL clients alike just connect to a loopback port. The database host is resolved on
//! the bastion. Keepalives notice a dead bastion; when the session ends, the reason is logged and
//! kept ([`tunnel_failure`]) so the program's final error names the bastion, and the forwarded
//! connections close, so no client waits for ever.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{
    HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate, check_known_hosts_path,
};
use tokio::net::TcpListener;

use crate::config::SshTunnel;

use super::TransportError;

/// Keepalive period of the SSH session; three unanswered ones end it.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// The reason the last tunnel of this process failed, for the program's final error.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Why a tunnel of this process stopped working, if one did.
pub fn tunnel_failure() -> Option<String> {
    FAILURE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Logs a tunnel failure once and keeps it for the program's final error.
fn record_failure(message: String) {
    let mut failure = FAILURE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if failure.as_ref() != Some(&message) {
        tracing::error!("{message}");
        *failure = Some(message);
    }
}

/// An open tunnel: connections to `127.0.0.1:local_port` reach the database through the bastion.
/// It lives as long as the process (its thread ends with it).
#[derive(Debug)]
pub struct Tunnel {
    pub local_port: u16,
}

impl Tunnel {
    /// Connects and authenticates to the bastion, checks its host key, and starts forwarding a
    /// loopback port to `target_host:target_port` as the bastion resolves it.
    pub fn open(
        settings: &SshTunnel,
        target_host: &str,
        target_port: u16,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let key = load_private_key(settings)?;
        let bastion = bastion_name(settings);
        let settings = settings.clone();
        let target = (target_host.to_owned(), target_port);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("ssh-tunnel".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(ssh_error(
                            &settings,
                            format!("cannot start the tunnel's runtime: {err}"),
                        )));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = start(&settings, key, timeout).await;
                    let (session, listener) = match started {
                        Ok(started) => started,
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                            return;
                        }
                    };
                    let local_port = match listener.local_addr() {
                        Ok(address) => address.port(),
                        Err(err) => {
                            let _ = ready_tx.send(Err(ssh_error(
                                &settings,
                                format!("no local port to forward: {err}"),
                            )));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(local_port));
                    forward(&settings, session, listener, target, timeout).await;
                });
            })
            .map_err(|err| TransportError::Ssh {
                bastion: bastion.clone(),
                reason: format!("cannot start the tunnel thread: {err}"),
            })?;
        // The thread bounds every step by `timeout`; this only guards against a lost thread.
        let local_port = ready_rx
            .recv_timeout(timeout * 3 + Duration::from_secs(5))
            .map_err(|_| TransportError::Ssh {
                bastion,
                reason: "the tunnel did not start in time".into(),
            })??;
        Ok(Self { local_port })
    }
}

/// `user@host:port`, for messages.
fn bastion_name(settings: &SshTunnel) -> String {
    format!("{}@{}:{}", settings.username, settings.host, settings.port)
}

/// A tunnel failure, naming the bastion.
fn ssh_error(settings: &SshTunnel, reason: String) -> TransportError {
    TransportError::Ssh {
        bastion: bastion_name(settings),
        reason,
    }
}

fn load_private_key(settings: &SshTunnel) -> Result<russh::keys::PrivateKey, TransportError> {
    let text = settings
        .private_key
        .read()
        .map_err(|err| TransportError::Config {
            key: "ssh_tunnel.private_key",
            reason: format!("cannot read {}: {err}", settings.private_key),
        })?;
    let passphrase = settings
        .private_key_password
        .as_ref()
        .map(|secret| secret.expose());
    russh::keys::decode_secret_key(&text, passphrase).map_err(|err| {
        let reason = match err {
            russh::keys::Error::KeyIsEncrypted => {
                "the key is encrypted: set ssh_tunnel.private_key_password".to_owned()
            }
            _ if passphrase.is_some() => format!(
                "cannot decode the key (wrong private_key_password, or not an OpenSSH/PEM RSA, \
                 ECDSA or Ed25519 key): {err}"
            ),
            _ => format!("cannot decode the key (OpenSSH or PEM: RSA, ECDSA, Ed25519): {err}"),
        };
        TransportError::Config {
            key: "ssh_tunnel.private_key",
            reason,
        }
    })
}

/// The session's callbacks: the host key check, and noticing the session's end.
struct Session {
    settings: SshTunnel,
    /// Why the host key was refused, for the error the connect returns.
    refusal: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Session {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::new(certificate.public_key().clone(), "")
            }
        };
        let key = &key;
        let seen = key.fingerprint(HashAlg::Sha256).to_string();
        let settings = &self.settings;
        let refusal = if let Some(pinned) = &settings.host_key_fingerprint {
            (pinned != &seen).then(|| {
                format!(
                    "its host key is {seen}, not the pinned ssh_tunnel.host_key_fingerprint \
                     {pinned}: check that this is the right bastion, then update the pin"
                )
            })
        } else if let Some(known_hosts) = &settings.known_hosts {
            match check_known_hosts_path(&settings.host, settings.port, key, known_hosts) {
                Ok(true) => None,
                Ok(false) => Some(format!(
                    "its host key ({seen}) is not in ssh_tunnel.known_hosts ({}): add it with \
                     `ssh-keyscan -p {} {} >> {}` after checking the fingerprint",
                    known_hosts.display(),
                    settings.port,
                    settings.host,
                    known_hosts.display()
                )),
                Err(russh::keys::Error::KeyChanged { line }) => Some(format!(
                    "its host key ({seen}) differs from line {line} of ssh_tunnel.known_hosts ({}): \
                     the bastion's key changed, or this is not the bastion",
                    known_hosts.display()
                )),
                Err(err) => Some(format!(
                    "ssh_tunnel.known_hosts ({}) cannot be read: {err}",
                    known_hosts.display()
                )),
            }
        } else {
            tracing::warn!(
                bastion = %settings.host,
                fingerprint = %seen,
                "the bastion's host key is not checked: set ssh_tunnel.host_key_fingerprint to \
                 this fingerprint (after checking it) or ssh_tunnel.known_hosts"
            );
            None
        };
        let accepted = refusal.is_none();
        *self
            .refusal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = refusal;
        Ok(accepted)
    }
}

/// Connects, authenticates and binds the local listener.
async fn start(
    settings: &SshTunnel,
    key: russh::keys::PrivateKey,
    timeout: Duration,
) -> Result<(Handle<Session>, TcpListener), TransportError> {
    let bastion = bastion_name(settings);
    let fail = |reason: String| ssh_error(settings, reason);
    let config = Arc::new(client::Config {
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let handler = Session {
        settings: settings.clone(),
        refusal: refusal.clone(),
    };
    let address = (settings.host.as_str(), settings.port);
    let connected = tokio::time::timeout(timeout, client::connect(config, address, handler)).await;
    let mut session = match connected {
        Err(_) => {
            return Err(fail(format!(
                "no SSH handshake within {} s (connect_timeout)",
                timeout.as_secs()
            )));
        }
        Ok(Err(err)) => {
            let refused = refusal
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            return Err(fail(refused.unwrap_or_else(|| describe(&err))));
        }
        Ok(Ok(session)) => session,
    };
    let authenticated = tokio::time::timeout(timeout, async {
        let hash = if key.algorithm().is_rsa() {
            // rsa-sha2-512/256 where the server offers them: OpenSSH 8.8+ refuses SHA-1.
            session.best_supported_rsa_hash().await?.flatten()
        } else {
            None
        };
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        session
            .authenticate_publickey(settings.username.clone(), key)
            .await
    })
    .await;
    match authenticated {
        Err(_) => {
            return Err(fail(format!(
                "no answer to the key login within {} s (connect_timeout)",
                timeout.as_secs()
            )));
        }
        Ok(Err(err)) => return Err(fail(format!("key login failed: {}", describe(&err)))),
        Ok(Ok(AuthResult::Failure { .. })) => {
            return Err(fail(format!(
                "the bastion refused the key for user {}: its public key must be in \
                 ~{}/.ssh/authorized_keys on the bastion",
                settings.username, settings.username
            )));
        }
        Ok(Ok(AuthResult::Success)) => {}
    }
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|err| fail(format!("cannot listen on a loopback port: {err}")))?;
    tracing::info!(bastion = %bastion, "ssh tunnel open");
    Ok((session, listener))
}

/// Accepts local connections and forwards each over its own channel, until the session ends.
async fn forward(
    settings: &SshTunnel,
    session: Handle<Session>,
    listener: TcpListener,
    (host, port): (String, u16),
    timeout: Duration,
) {
    let bastion = bastion_name(settings);
    let session = Arc::new(session);
    let mut watch = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((local, peer)) = accepted else { continue };
                let _ = local.set_nodelay(true);
                let session = session.clone();
                let (host, bastion) = (host.clone(), bastion.clone());
                tokio::spawn(async move {
                    let channel = tokio::time::timeout(
                        timeout,
                        session.channel_open_direct_tcpip(
                            host.clone(), u32::from(port), peer.ip().to_string(),
                            u32::from(peer.port()),
                        ),
                    )
                    .await;
                    match channel {
                        Ok(Ok(channel)) => {
                            let remote = channel.into_stream();
                            relay(local, remote, &session, &bastion).await;
                        }
                        Ok(Err(err)) => record_failure(format!(
                            "ssh tunnel through {bastion}: the bastion could not connect to \
                             {host}:{port} ({}); check that the bastion can reach the database \
                             and that its sshd has AllowTcpForwarding yes",
                            describe(&err)
                        )),
                        Err(_) => record_failure(format!(
                            "ssh tunnel through {bastion}: no connection to {host}:{port} within \
                             {} s", timeout.as_secs()
                        )),
                    }
                });
            }
            _ = watch.tick() => {
                if session.is_closed() {
                    record_failure(format!(
                        "ssh tunnel through {bastion} closed: the bastion went away or stopped \
                         answering keepalives"
                    ));
                    // Dropping the listener refuses later connections at once.
                    return;
                }
            }
        }
    }
}

/// Copies both ways until one side ends. When the database side ends because the session died,
/// the failure is recorded before the client sees its connection close, so the client's error
/// can name the bastion.
async fn relay(
    mut local: tokio::net::TcpStream,
    remote: russh::ChannelStream<client::Msg>,
    session: &Handle<Session>,
    bastion: &str,
) {
    let (mut local_read, mut local_write) = local.split();
    let (mut remote_read, mut remote_write) = tokio::io::split(remote);
    tokio::select! {
        _ = tokio::io::copy(&mut local_read, &mut remote_write) => {}
        _ = tokio::io::copy(&mut remote_read, &mut local_write) => {
            // A dead session ends its channels just before it reports itself closed.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if session.is_closed() {
                record_failure(format!(
                    "ssh tunnel through {bastion} closed: the bastion went away or stopped \
                     answering keepalives"
                ));
            }
        }
    }
}

/// A russh error as a sentence (its `Debug` form is not one).
fn describe(err: &russh::Error) -> String {
    match err {
        russh::Error::IO(io) => io.to_string(),
        russh::Error::ChannelOpenFailure(reason) => format!("channel refused: {reason:?}"),
        other => other.to_string(),
    }
}
