//! Throwaway OpenSSH servers, for the programs' SSH tunnels: a real `sshd` (Debian's
//! `openssh-server`) on a free loopback port, which lets the current OS user in with any of four
//! client keys and forwards TCP ports.
//!
//! Unlike the database servers there is no single server per test binary: [`Sshd::start`] starts
//! a new one on every call, because tests [`stop`](Sshd::stop) them mid-transfer to see a tunnel
//! die. Each has its own directory (config, ed25519 host key, `known_hosts`, authorized keys, log)
//! and is stopped when its [`Sshd`] is dropped, at exit, or by a watchdog if the binary is killed.
//! The client keys are made once per test binary and shared:
//!
//! ```text
//! ed25519_key  OpenSSH format, no passphrase
//! rsa_key      RSA 3072, OpenSSH format, passphrase "rsa-key-phrase"
//! rsa_pem_key  RSA 2048, PEM PKCS#1 ("BEGIN RSA PRIVATE KEY"), no passphrase
//! ecdsa_key    ECDSA nistp256, OpenSSH format, no passphrase
//! ```
//!
//! sshd forks a child per connection and puts it in a session of its own (`setsid`), so killing
//! the listener's process group would leave established tunnels up. [`Sshd::stop`] instead freezes
//! the listener and every process descending from it (SIGSTOP, level by level, so nothing forks
//! away unseen), then SIGKILLs them all: a tunnel dies mid-transfer, as when a bastion goes away.
//!
//! Where sshd knows it (OpenSSH 9.8 and later), `PerSourcePenalties no` keeps tests that fail logins
//! on purpose from getting 127.0.0.1 refused for a while.
//!
//! As root, sshd needs its privilege separation directory `/run/sshd`, made here when missing;
//! `PermitRootLogin prohibit-password` lets root in with a key. As another user, sshd runs
//! without privilege separation and only that user can log in, which is all the tests need.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::lifecycle::{on_exit, running_as_root, shell_quote, watchdog};
use crate::{free_port, log_tail};

/// The passphrase of [`Sshd::rsa_key`].
pub const RSA_PASSPHRASE: &str = "rsa-key-phrase";

/// A running `sshd` of this test binary.
#[derive(Debug)]
pub struct Sshd {
    /// `127.0.0.1`.
    pub host: String,
    pub port: u16,
    /// The current OS user, the one account the keys log in to.
    pub user: String,
    /// The host key's fingerprint as `ssh-keygen -l` prints it: `SHA256:<base64>`.
    pub host_key_fingerprint: String,
    /// The host's public key, `ssh-ed25519 <base64>`.
    pub host_public_key: String,
    /// A `known_hosts` file with the one line `[127.0.0.1]:<port> <host public key>`.
    pub known_hosts: PathBuf,
    /// Ed25519 client key, OpenSSH format, no passphrase.
    pub ed25519_key: PathBuf,
    /// RSA 3072 client key, OpenSSH format, encrypted with [`rsa_passphrase`](Self::rsa_passphrase).
    pub rsa_key: PathBuf,
    /// [`RSA_PASSPHRASE`].
    pub rsa_passphrase: String,
    /// RSA client key in PEM PKCS#1 format (`BEGIN RSA PRIVATE KEY`), no passphrase.
    pub rsa_pem_key: PathBuf,
    /// ECDSA nistp256 client key, OpenSSH format, no passphrase.
    pub ecdsa_key: PathBuf,
    /// This server's directory (config, host key, `known_hosts`, authorized keys, log).
    pub dir: PathBuf,
    /// sshd's log (`-E`, `LogLevel VERBOSE`): logins, refusals, forwards.
    pub log: PathBuf,
    /// The listener; `None` once stopped.
    child: Arc<Mutex<Option<Child>>>,
    pid: u32,
}

/// The client keys every server of this test binary accepts.
#[derive(Debug)]
struct ClientKeys {
    ed25519: PathBuf,
    rsa: PathBuf,
    rsa_pem: PathBuf,
    ecdsa: PathBuf,
    /// An `SSH_ASKPASS` program that prints [`RSA_PASSPHRASE`].
    askpass: PathBuf,
    /// Their public keys, one per line.
    authorized_keys: String,
}

impl Sshd {
    /// Starts a new sshd and waits until it sends its SSH banner. Panics with its log if it
    /// does not start.
    pub fn start() -> Sshd {
        let sshd = sshd_program();
        let keys = client_keys();
        let as_root = running_as_root();
        if as_root {
            // The privilege separation directory, which Debian's init scripts usually make.
            let privsep = Path::new("/run/sshd");
            std::fs::create_dir_all(privsep)
                .unwrap_or_else(|err| panic!("cannot create {}: {err}", privsep.display()));
            std::fs::set_permissions(privsep, std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|err| panic!("cannot chmod {}: {err}", privsep.display()));
        }
        let dir = tempfile::Builder::new()
            .prefix("singer-test-sshd-")
            .tempdir()
            .expect("cannot create a temporary directory")
            .keep();
        let removed = dir.clone();
        on_exit(move || {
            let _ignored = std::fs::remove_dir_all(&removed);
        });
        let host_key = dir.join("ssh_host_ed25519_key");
        ssh_keygen(&host_key, &["-t", "ed25519", "-N", ""]).wait();
        let host_public_key = read(&host_key.with_extension("pub"))
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let host_key_fingerprint = fingerprint(&host_key);
        let authorized_keys = dir.join("authorized_keys");
        write(&authorized_keys, &keys.authorized_keys);
        let config = dir.join("sshd_config");
        let log = dir.join("sshd.log");
        let config_text = shell_quote(&config.display().to_string());
        let dir_text = shell_quote(&dir.display().to_string());

        // A port found free can be taken before sshd binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            write(
                &config,
                &format!(
                    "Port {port}\n\
                     ListenAddress 127.0.0.1\n\
                     HostKey {host_key}\n\
                     PidFile {pid_file}\n\
                     AuthorizedKeysFile {authorized_keys}\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     AllowTcpForwarding yes\n\
                     PermitRootLogin prohibit-password\n\
                     PrintMotd no\n\
                     LogLevel VERBOSE\n{penalties}",
                    host_key = host_key.display(),
                    pid_file = dir.join("sshd.pid").display(),
                    authorized_keys = authorized_keys.display(),
                    penalties = penalties_off(&sshd, &host_key),
                ),
            );
            let _ignored = std::fs::remove_file(&log);
            let child = Command::new(&sshd)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start {}: {err}", sshd.display()));
            let pid = child.id();
            // The listener's command line names its config: a pid reused by another process
            // after the test binary is gone is left alone.
            watchdog(&format!(
                "if grep -qF -- {config_text} /proc/{pid}/cmdline 2>/dev/null; then {}; fi; \
                 rm -rf {dir_text}",
                kill_tree_script(pid)
            ));
            let child = Arc::new(Mutex::new(Some(child)));
            let stopped = Arc::clone(&child);
            on_exit(move || stop_tree(&stopped));
            let server = Sshd {
                host: "127.0.0.1".to_owned(),
                port,
                user: current_user(),
                host_key_fingerprint: host_key_fingerprint.clone(),
                host_public_key: host_public_key.clone(),
                known_hosts: dir.join("known_hosts"),
                ed25519_key: keys.ed25519.clone(),
                rsa_key: keys.rsa.clone(),
                rsa_passphrase: RSA_PASSPHRASE.to_owned(),
                rsa_pem_key: keys.rsa_pem.clone(),
                ecdsa_key: keys.ecdsa.clone(),
                dir: dir.clone(),
                log: log.clone(),
                child,
                pid,
            };
            write(
                &server.known_hosts,
                &format!("[127.0.0.1]:{port} {host_public_key}\n"),
            );
            match server.wait_until_ready() {
                Ok(()) => return server,
                Err(reason) => {
                    eprintln!(
                        "sshd did not start on port {port}: {reason}\n{}",
                        log_tail(&log)
                    );
                    server.stop();
                }
            }
        }
        panic!(
            "sshd did not start; its log ({}):\n{}",
            log.display(),
            log_tail(&log)
        );
    }

    fn wait_until_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(status) = self
                .child
                .lock()
                .ok()
                .and_then(|mut child| child.as_mut()?.try_wait().ok().flatten())
            {
                return Err(format!("exited with {status}"));
            }
            let banner =
                TcpStream::connect_timeout(&address, Duration::from_secs(1)).and_then(|stream| {
                    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                    let mut line = String::new();
                    BufReader::new(stream).read_line(&mut line)?;
                    Ok(line)
                });
            match banner {
                Ok(line) if line.starts_with("SSH-2.0-") => return Ok(()),
                Ok(line) if Instant::now() > deadline => {
                    return Err(format!("no SSH banner but {line:?}"));
                }
                Err(err) if Instant::now() > deadline => return Err(err.to_string()),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// The listener's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the listener and every session process (SIGKILL): established tunnels break at
    /// once, new connections are refused. Does nothing the second time.
    pub fn stop(&self) {
        stop_tree(&self.child);
    }

    /// The ssh client (`ssh`) logging in to this server with `key`, trusting only
    /// [`known_hosts`](Self::known_hosts), ignoring the user's ssh config and agent, never
    /// prompting (the passphrase of [`rsa_key`](Self::rsa_key) comes from an `SSH_ASKPASS`
    /// program). Append options and the remote command.
    pub fn ssh(&self, key: &Path) -> Command {
        let keys = client_keys();
        let mut command = Command::new("ssh");
        command
            .args(["-F", "/dev/null", "-p"])
            .arg(self.port.to_string())
            .arg("-i")
            .arg(key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "KbdInteractiveAuthentication=no",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
                "-l",
            ])
            .arg(&self.user)
            .stdin(Stdio::null());
        if key == keys.rsa {
            // BatchMode would refuse to ask for the passphrase at all.
            command
                .env("SSH_ASKPASS", &keys.askpass)
                .env("SSH_ASKPASS_REQUIRE", "force");
        } else {
            command.args(["-o", "BatchMode=yes"]);
        }
        command.arg(&self.host);
        command
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Freezes and kills the listener and its descendants, then reaps the listener.
fn stop_tree(child: &Mutex<Option<Child>>) {
    let Some(mut child) = child.lock().ok().and_then(|mut child| child.take()) else {
        return;
    };
    let _ignored = Command::new("sh")
        .arg("-c")
        .arg(kill_tree_script(child.id()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ignored = child.kill();
    let _ignored = child.wait();
}

/// A POSIX shell script that SIGSTOPs process `pid`, then its children, then theirs (read from
/// the parent pid field of `/proc/<pid>/stat`), and finally SIGKILLs all of them.
fn kill_tree_script(pid: u32) -> String {
    format!(
        "all=''; level={pid}; \
         while [ -n \"$level\" ]; do \
           kill -STOP $level 2>/dev/null; all=\"$all $level\"; next=''; \
           for stat in /proc/[0-9]*/stat; do \
             {{ read -r line < \"$stat\"; }} 2>/dev/null || continue; \
             set -- ${{line##*) }}; \
             case \" $level \" in *\" $2 \"*) p=${{stat#/proc/}}; next=\"$next ${{p%/stat}}\";; esac; \
           done; \
           level=$next; \
         done; \
         kill -KILL $all 2>/dev/null; true"
    )
}

/// The client keys, made on first use in a directory removed at exit.
fn client_keys() -> &'static ClientKeys {
    static KEYS: OnceLock<ClientKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("singer-test-ssh-keys-")
            .tempdir()
            .expect("cannot create a temporary directory")
            .keep();
        watchdog(&format!(
            "rm -rf {}",
            shell_quote(&dir.display().to_string())
        ));
        let removed = dir.clone();
        on_exit(move || {
            let _ignored = std::fs::remove_dir_all(&removed);
        });
        let keys = ClientKeys {
            ed25519: dir.join("id_ed25519"),
            rsa: dir.join("id_rsa"),
            rsa_pem: dir.join("id_rsa_pem"),
            ecdsa: dir.join("id_ecdsa"),
            askpass: dir.join("askpass"),
            authorized_keys: String::new(),
        };
        // RSA keys take a while: make the four at once.
        let running = [
            ssh_keygen(&keys.ed25519, &["-t", "ed25519", "-N", ""]),
            ssh_keygen(
                &keys.rsa,
                &["-t", "rsa", "-b", "3072", "-N", RSA_PASSPHRASE],
            ),
            ssh_keygen(
                &keys.rsa_pem,
                &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""],
            ),
            ssh_keygen(&keys.ecdsa, &["-t", "ecdsa", "-b", "256", "-N", ""]),
        ];
        running.into_iter().for_each(Keygen::wait);
        for (key, header) in [
            (&keys.ed25519, "-----BEGIN OPENSSH PRIVATE KEY-----"),
            (&keys.rsa, "-----BEGIN OPENSSH PRIVATE KEY-----"),
            (&keys.rsa_pem, "-----BEGIN RSA PRIVATE KEY-----"),
            (&keys.ecdsa, "-----BEGIN OPENSSH PRIVATE KEY-----"),
        ] {
            assert!(
                read(key).starts_with(header),
                "ssh-keygen wrote {} in an unexpected format (not {header})",
                key.display()
            );
        }
        write(
            &keys.askpass,
            &format!("#!/bin/sh\necho {}\n", shell_quote(RSA_PASSPHRASE)),
        );
        std::fs::set_permissions(&keys.askpass, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|err| panic!("cannot chmod {}: {err}", keys.askpass.display()));
        let authorized_keys = [&keys.ed25519, &keys.rsa, &keys.rsa_pem, &keys.ecdsa]
            .iter()
            .map(|key| read(&key.with_extension("pub")))
            .collect();
        ClientKeys {
            authorized_keys,
            ..keys
        }
    })
}

/// A running `ssh-keygen`, writing a key pair.
#[derive(Debug)]
struct Keygen {
    key: PathBuf,
    child: Child,
}

impl Keygen {
    fn wait(self) {
        let Self { key, child } = self;
        let output = child
            .wait_with_output()
            .unwrap_or_else(|err| panic!("ssh-keygen for {}: {err}", key.display()));
        assert!(
            output.status.success(),
            "ssh-keygen for {} failed: {}",
            key.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Starts `ssh-keygen -q -f key -C <file name> args…`.
fn ssh_keygen(key: &Path, args: &[&str]) -> Keygen {
    let comment = key
        .file_name()
        .map(|name| format!("singer-test-{}", name.to_string_lossy()))
        .unwrap_or_default();
    let child = Command::new("ssh-keygen")
        .arg("-q")
        .arg("-f")
        .arg(key)
        .arg("-C")
        .arg(comment)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "cannot run ssh-keygen ({err}): run `just deps` (installs the Debian \
                 `openssh-server` package, which brings `openssh-client`)"
            )
        });
    Keygen {
        key: key.to_owned(),
        child,
    }
}

/// `SHA256:<base64>` of the key pair at `key`.
fn fingerprint(key: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(key.with_extension("pub"))
        .output()
        .expect("cannot run ssh-keygen -l");
    let text = String::from_utf8_lossy(&output.stdout);
    // `256 SHA256:… comment (ED25519)`
    text.split_whitespace()
        .nth(1)
        .filter(|fingerprint| fingerprint.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("unexpected ssh-keygen -l output: {text:?}"))
        .to_owned()
}

/// `PerSourcePenalties no` when sshd knows the option (OpenSSH 9.8 and later), else nothing:
/// tests that fail logins on purpose would otherwise get 127.0.0.1 refused for a while.
fn penalties_off(sshd: &Path, host_key: &Path) -> &'static str {
    static KNOWN: OnceLock<bool> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        Command::new(sshd)
            .args(["-t", "-f", "/dev/null", "-o", "PerSourcePenalties=no", "-h"])
            .arg(host_key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    if *known {
        "PerSourcePenalties no\n"
    } else {
        ""
    }
}

/// The name of the user this process runs as.
fn current_user() -> String {
    let output = Command::new("id")
        .arg("-un")
        .output()
        .expect("cannot run id -un");
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success() && !name.is_empty(),
        "id -un found no user name: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    name
}

/// `sshd` by absolute path (it refuses to run otherwise): `SSHD`, the `PATH`, or `/usr/sbin`.
fn sshd_program() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("SSHD")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("sshd")));
    }
    candidates.push(PathBuf::from("/usr/sbin/sshd"));
    candidates
        .into_iter()
        .find(|path| path.is_absolute() && path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "sshd not found: run `just deps` (installs the Debian `openssh-server` package) \
                 or set SSHD to its absolute path"
            )
        })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
}
