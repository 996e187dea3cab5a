//! Test certificates for the servers that refuse plaintext: a CA, a server certificate it signs,
//! a client certificate it signs, and an unrelated CA that signs nothing we trust.
//!
//! Made once per test binary with the `openssl` command line (RSA 2048, PKCS#8 PEM keys, x509 v3
//! with the extensions strict verifiers such as rustls and webpki insist on) in a temporary
//! directory removed when the binary exits.
//!
//! ```text
//! ca ─signs─▶ server_cert  CN=localhost, SAN DNS:localhost only, serverAuth
//!                          (no address: `127.0.0.1` is a wrong name for verify-full)
//!    └signs─▶ client_cert  CN=cert_user, clientAuth
//! other_ca    (self-signed, trusts nothing of ours: a wrong-CA test)
//! ```
//!
//! The directory and certificates are world-readable and the keys private to the current user:
//! PostgreSQL, which runs as the `postgres` user when the tests run as root, gets its own copies
//! (see [`crate::postgres`]); libpq refuses a client key others can read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::lifecycle::{on_exit, shell_quote, watchdog};

/// The files of this test binary's certificates, all PEM.
#[derive(Debug)]
pub struct TestCertificates {
    /// The directory holding every file below.
    pub dir: PathBuf,
    /// The CA that signs the server and client certificates: the root a client trusts.
    pub ca: PathBuf,
    /// Signed by [`ca`](Self::ca), for `localhost` and `127.0.0.1`.
    pub server_cert: PathBuf,
    /// The server certificate's key (PKCS#8).
    pub server_key: PathBuf,
    /// An unrelated self-signed CA: trusting it instead of [`ca`](Self::ca) must fail.
    pub other_ca: PathBuf,
    /// Signed by [`ca`](Self::ca), subject `CN=cert_user`, for client-certificate logins.
    pub client_cert: PathBuf,
    /// The client certificate's key (PKCS#8).
    pub client_key: PathBuf,
}

/// The x509 v3 extensions of each kind of certificate, and a minimal `req` section so that
/// `openssl req` never reads the system's `openssl.cnf`.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

impl TestCertificates {
    /// The certificates of this test binary, made on first use.
    pub fn get() -> &'static TestCertificates {
        static CERTIFICATES: OnceLock<TestCertificates> = OnceLock::new();
        CERTIFICATES.get_or_init(Self::generate)
    }

    /// The text of one of the files (a certificate or key), for configs that take PEM inline.
    pub fn pem(&self, path: impl AsRef<Path>) -> String {
        let path = path.as_ref();
        std::fs::read_to_string(path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
    }

    fn generate() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("singer-test-certs-")
            .tempdir()
            .expect("cannot create a temporary directory")
            .keep();
        let dir_text = shell_quote(&dir.display().to_string());
        watchdog(&format!("rm -rf {dir_text}"));
        let removed = dir.clone();
        on_exit(move || {
            let _ignored = std::fs::remove_dir_all(&removed);
        });
        // Readable by the `postgres` user (certificates only: keys stay 0600).
        set_mode(&dir, 0o755);
        let config = dir.join("openssl.cnf");
        std::fs::write(&config, OPENSSL_CONFIG).expect("cannot write openssl.cnf");

        let file = |name: &str| dir.join(name);
        let certificates = Self {
            ca: file("ca.crt"),
            server_cert: file("server.crt"),
            server_key: file("server.key"),
            other_ca: file("other-ca.crt"),
            client_cert: file("client.crt"),
            client_key: file("client.key"),
            dir: dir.clone(),
        };
        let ca_key = file("ca.key");
        let other_ca_key = file("other-ca.key");

        self_signed(&config, &ca_key, &certificates.ca, "singer test CA");
        self_signed(
            &config,
            &other_ca_key,
            &certificates.other_ca,
            "singer test other CA",
        );
        let ca = (certificates.ca.as_path(), ca_key.as_path());
        signed(
            &config,
            ca,
            (&certificates.server_key, &certificates.server_cert),
            "localhost",
            "server",
            2,
        );
        signed(
            &config,
            ca,
            (&certificates.client_key, &certificates.client_cert),
            "cert_user",
            "client",
            3,
        );
        for cert in [
            &certificates.ca,
            &certificates.other_ca,
            &certificates.server_cert,
            &certificates.client_cert,
        ] {
            set_mode(cert, 0o644);
        }
        for key in [
            &ca_key,
            &other_ca_key,
            &certificates.server_key,
            &certificates.client_key,
        ] {
            set_mode(key, 0o600);
        }
        certificates
    }
}

/// A new key at `key`, and a self-signed CA certificate for it at `cert`.
fn self_signed(config: &Path, key: &Path, cert: &Path, name: &str) {
    new_key(key);
    openssl(
        Command::new("openssl")
            .args(["req", "-new", "-x509", "-config"])
            .arg(config)
            .args(["-extensions", "ca", "-days", "3650", "-key"])
            .arg(key)
            .arg("-subj")
            .arg(format!("/CN={name}"))
            .arg("-out")
            .arg(cert),
    );
}

/// A new key and a certificate for it signed by `ca` (certificate, key), with the extensions of
/// section `extensions` of the config.
fn signed(
    config: &Path,
    (ca_cert, ca_key): (&Path, &Path),
    (key, cert): (&Path, &Path),
    common_name: &str,
    extensions: &str,
    serial: u32,
) {
    new_key(key);
    let request = cert.with_extension("csr");
    openssl(
        Command::new("openssl")
            .args(["req", "-new", "-config"])
            .arg(config)
            .arg("-key")
            .arg(key)
            .arg("-subj")
            .arg(format!("/CN={common_name}"))
            .arg("-out")
            .arg(&request),
    );
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "3650", "-in"])
            .arg(&request)
            .arg("-CA")
            .arg(ca_cert)
            .arg("-CAkey")
            .arg(ca_key)
            .arg("-set_serial")
            .arg(serial.to_string())
            .arg("-extfile")
            .arg(config)
            .args(["-extensions", extensions])
            .arg("-out")
            .arg(cert),
    );
}

/// An RSA 2048 key in PKCS#8 PEM (`BEGIN PRIVATE KEY`).
fn new_key(key: &Path) {
    openssl(
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(key),
    );
}

fn openssl(command: &mut Command) {
    let output = command.output().unwrap_or_else(|err| {
        panic!(
            "cannot run openssl ({err}): run `just deps` (installs the Debian `openssl` package)"
        )
    });
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|err| panic!("cannot chmod {}: {err}", path.display()));
}
