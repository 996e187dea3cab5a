//! TLS settings from the config: libpq's `sslmode` meanings, the CA bundle, the client certificate,
//! and the rustls client configuration that enforces them.
//!
//! One TLS stack (rustls on ring) serves PostgreSQL and MySQL. What each mode verifies:
//!
//! ```text
//! sslmode          TLS                     certificate chain          host name
//! disable          never                   -                          -
//! allow / prefer   if needed / if offered  only when sslrootcert set  -
//! require          always                  only when sslrootcert set  -
//! verify-ca        always                  yes                        -
//! verify-full      always                  yes                        yes
//! ```
//!
//! (libpq, too, verifies the chain in `require` when a root certificate is present.) Without
//! `sslrootcert`, `verify-ca` and `verify-full` trust the system's CA store, as libpq's
//! `sslrootcert=system` does.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::{ConnectionConfig, PemSource, SslMode};

use super::TransportError;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Encryption only: any certificate is accepted (its handshake signature is still checked).
    None,
    /// The chain must lead to a trusted CA; the name is not checked.
    Chain,
    /// The chain and the host name.
    ChainAndName,
}

/// What the config asks of TLS, with certificates and keys read and parsed up front, so a bad file
/// is reported before any connection is tried.
#[derive(Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `sslrootcert` as given (the MySQL client reads it from a file).
    pub root_source: Option<PemSource>,
    roots: Option<Vec<CertificateDer<'static>>>,
    /// `sslcert` + `sslkey` as given, and parsed.
    pub client_source: Option<(PemSource, PemSource)>,
    client: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mode", &self.mode)
            .field("root_source", &self.root_source)
            .field(
                "client_certificate",
                &self.client_source.as_ref().map(|c| &c.0),
            )
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    pub fn from_config(config: &ConnectionConfig) -> Result<Self, TransportError> {
        install_crypto_provider();
        let mode = config.ssl_mode();
        let roots = match &config.sslrootcert {
            Some(source) => Some(read_certificates(source, "sslrootcert")?),
            None => None,
        };
        let client = match (&config.sslcert, &config.sslkey) {
            (Some(cert), Some(key)) => Some((
                read_certificates(cert, "sslcert")?,
                Arc::new(read_private_key(key)?),
            )),
            _ => None,
        };
        Ok(Self {
            mode,
            root_source: config.sslrootcert.clone(),
            roots,
            client_source: config.sslcert.clone().zip(config.sslkey.clone()),
            client,
        })
    }

    /// What the mode (and a given CA) asks to verify.
    pub fn verification(&self) -> Verification {
        match self.mode {
            SslMode::VerifyFull => Verification::ChainAndName,
            SslMode::VerifyCa => Verification::Chain,
            _ if self.roots.is_some() => Verification::Chain,
            _ => Verification::None,
        }
    }

    /// A rustls client configuration enforcing [`TlsSettings::verification`].
    pub fn client_config(&self) -> Result<ClientConfig, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| TransportError::TlsSetup { source })?;
        let verification = self.verification();
        let chain = match verification {
            Verification::None => None,
            Verification::Chain | Verification::ChainAndName => Some(
                WebPkiServerVerifier::builder_with_provider(self.root_store()?, provider.clone())
                    .build()
                    .map_err(|err| TransportError::Certificates {
                        key: "sslrootcert",
                        reason: err.to_string(),
                    })?,
            ),
        };
        let verifier = Arc::new(ModeVerifier {
            chain,
            check_name: verification == Verification::ChainAndName,
            algorithms: provider.signature_verification_algorithms,
        });
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        match &self.client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|err| TransportError::Certificates {
                    key: "sslkey",
                    reason: format!("does not match sslcert or cannot be used: {err}"),
                }),
            None => Ok(builder.with_no_client_auth()),
        }
    }

    /// The given CA bundle, else the system's trusted CAs.
    fn root_store(&self) -> Result<Arc<RootCertStore>, TransportError> {
        let mut store = RootCertStore::empty();
        match &self.roots {
            Some(roots) => {
                let (added, _ignored) = store.add_parsable_certificates(roots.iter().cloned());
                if added == 0 {
                    return Err(TransportError::Certificates {
                        key: "sslrootcert",
                        reason: "holds no usable CA certificate".into(),
                    });
                }
            }
            None => {
                let system = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(system.certs);
                if store.is_empty() {
                    return Err(TransportError::Certificates {
                        key: "sslrootcert",
                        reason: format!(
                            "sslmode {} needs CA certificates and the system has none: set \
                             sslrootcert to the CA bundle that issued the server's certificate",
                            self.mode
                        ),
                    });
                }
            }
        }
        Ok(Arc::new(store))
    }
}

/// Makes ring the process's rustls provider, for clients (the MySQL driver's) that take the
/// process default; harmless when one is already installed.
pub fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

fn read_certificates(
    source: &PemSource,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let text = read_pem(source, key)?;
    let certificates = rustls_pemfile::certs(&mut text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TransportError::Certificates {
            key,
            reason: format!("is not valid PEM: {err}"),
        })?;
    if certificates.is_empty() {
        return Err(TransportError::Certificates {
            key,
            reason: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(certificates)
}

fn read_private_key(source: &PemSource) -> Result<PrivateKeyDer<'static>, TransportError> {
    let key = "sslkey";
    let text = read_pem(source, key)?;
    // The error of a malformed key is not shown: it could quote the key.
    rustls_pemfile::private_key(&mut text.as_bytes())
        .ok()
        .flatten()
        .ok_or_else(|| TransportError::Certificates {
            key,
            reason: "holds no usable private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC)".into(),
        })
}

fn read_pem(source: &PemSource, key: &'static str) -> Result<String, TransportError> {
    source.read().map_err(|err| TransportError::Certificates {
        key,
        reason: format!("cannot read {source}: {err}"),
    })
}

/// Checks what the mode asks: nothing (encryption only, as libpq's `require` without a CA), the
/// chain, or the chain and the name. Handshake signatures are always checked.
#[derive(Debug)]
struct ModeVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ModeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A sentence for a failed TLS handshake found anywhere in an error's chain: what did not match
/// and which key to set. `None` when the failure was not a certificate problem.
pub fn explain_tls_failure(
    err: &(dyn std::error::Error + 'static),
    server_name: &str,
) -> Option<String> {
    let mut current = Some(err);
    while let Some(err) = current {
        let found = err.downcast_ref::<rustls::Error>().or_else(|| {
            err.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(problem)) = found {
            return Some(explain_certificate(problem, server_name));
        }
        current = err.source();
    }
    None
}

fn explain_certificate(problem: &CertificateError, server_name: &str) -> String {
    match problem {
        CertificateError::UnknownIssuer => "the server's certificate is not issued by a trusted \
            CA (unknown CA): set sslrootcert to the CA bundle that issued it (for RDS, the RDS \
            global bundle)"
            .to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the server's certificate is not issued for the host name {server_name:?}: set \
                 host to a name the certificate lists, or use sslmode verify-ca (chain only)"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired: the server needs a new certificate".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet: check the clocks of this machine and the \
             server"
                .to_owned()
        }
        other => format!(
            "the server's certificate was refused ({other:?}): check sslrootcert and sslmode"
        ),
    }
}
