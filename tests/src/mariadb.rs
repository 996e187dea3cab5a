//! Throwaway MariaDB: `mariadb-install-db` + `mariadbd` in a temporary directory, with a row-based
//! binlog (`log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`, `server_id`).
//!
//! The server is a child process of the test binary. An init file creates the `harness` user
//! (password `harness`, all privileges) that tests connect as over TCP.
//!
//! Two servers per test binary, each started on first use: [`MariaDb::get`] takes plaintext TCP;
//! [`MariaDb::get_tls`] has `--ssl-ca`/`--ssl-cert`/`--ssl-key` from [`TestCertificates`] and
//! `--require-secure-transport=ON`, so TCP logins need TLS (`harness` with its password, or
//! `cert_user` with the client certificate `CN=cert_user` and no password), while the harness
//! itself connects over the unix socket, which that setting leaves open.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};

use crate::certs::TestCertificates;
use crate::database::{Database, Server, Servers, Transport};
use crate::lifecycle::{on_exit, running_as_root, shell_quote, watchdog};
use crate::{Login, free_port, log_tail};

/// One test's database on MariaDB.
pub type MysqlDatabase = Database<MariaDb>;

const USER: &str = "harness";
const PASSWORD: &str = "harness";
/// The TLS server's client-certificate login (all privileges, no password): the subject of
/// [`TestCertificates::client_cert`] is required.
pub const CERT_USER: &str = "cert_user";

/// A MariaDB (or MySQL) server for this test binary: ours, or the one `TEST_MYSQL_URL` names.
#[derive(Debug)]
pub struct MariaDb {
    pub login: Login,
    /// The server directory when the server is ours.
    dir: Option<PathBuf>,
    /// The unix socket, when the harness connects through it rather than over TCP (the TLS
    /// server, which refuses plaintext TCP).
    socket: Option<PathBuf>,
}

/// The TLS server has TLS with [`TestCertificates`] and `require_secure_transport`; its login is
/// `harness` (password `harness`) on `127.0.0.1`, and `cert_user` logs in with the client
/// certificate.
impl Server for MariaDb {
    const SCHEME: &'static str = "mysql";
    const URL_VARIABLE: &'static str = "TEST_MYSQL_URL";

    fn servers() -> &'static Servers<Self> {
        static SERVERS: Servers<MariaDb> = Servers::new();
        &SERVERS
    }

    fn existing(url: &str) -> Self {
        let opts = Opts::from_url(url)
            .unwrap_or_else(|err| panic!("TEST_MYSQL_URL is not a MySQL URL: {err}"));
        Self {
            login: Login {
                host: opts.get_ip_or_hostname().to_string(),
                port: opts.get_tcp_port(),
                user: opts.get_user().unwrap_or("root").to_owned(),
                password: opts.get_pass().map(str::to_owned),
            },
            dir: None,
            socket: None,
        }
    }

    fn start(transport: Transport) -> Self {
        let (install_db, server) = server_programs();
        let as_root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("singer-test-mariadb-")
            .tempdir()
            .expect("cannot create a temporary directory")
            .keep();
        let data = dir.join("data");
        let binlog = dir.join("binlog");
        std::fs::create_dir_all(&binlog).expect("cannot create the binlog directory");
        let as_user = as_root.then_some("--user=root");

        let install = Command::new(&install_db)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(as_user)
            .output()
            .expect("cannot run mariadb-install-db");
        assert!(
            install.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
        let init = dir.join("init.sql");
        let mut init_sql = format!(
            "create user if not exists '{USER}'@'%' identified by '{PASSWORD}';\n\
             grant all privileges on *.* to '{USER}'@'%' with grant option;\n"
        );
        let mut tls_args = Vec::new();
        let socket = dir.join("mysqld.sock");
        if transport == Transport::Tls {
            init_sql.push_str(&format!(
                "create user if not exists '{CERT_USER}'@'%' require subject '/CN={CERT_USER}';\n\
                 grant all privileges on *.* to '{CERT_USER}'@'%';\n"
            ));
            let certificates = TestCertificates::get();
            tls_args = vec![
                format!("--ssl-ca={}", certificates.ca.display()),
                format!("--ssl-cert={}", certificates.server_cert.display()),
                format!("--ssl-key={}", certificates.server_key.display()),
                "--require-secure-transport=ON".to_owned(),
            ];
        }
        std::fs::write(&init, init_sql).expect("cannot write init.sql");

        for _ in 0..3 {
            let port = free_port();
            let log = dir.join("error.log");
            let child = Command::new(&server)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--init-file={}", init.display()))
                .arg(format!("--log-bin={}", binlog.join("mysql-bin").display()))
                .arg(format!("--port={port}"))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--binlog-format=ROW",
                    "--binlog-row-image=FULL",
                    "--server-id=1",
                    "--character-set-server=utf8mb4",
                    "--collation-server=utf8mb4_unicode_ci",
                    "--innodb-buffer-pool-size=128M",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--sync-binlog=0",
                    "--max-connections=200",
                ])
                .args(&tls_args)
                .args(as_user)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot start mariadbd");
            let pid = child.id();
            let server = MariaDb {
                login: Login {
                    host: "127.0.0.1".to_owned(),
                    port,
                    user: USER.to_owned(),
                    password: Some(PASSWORD.to_owned()),
                },
                dir: Some(dir.clone()),
                socket: (transport == Transport::Tls).then(|| socket.clone()),
            };
            let dir_text = shell_quote(&dir.display().to_string());
            watchdog(&format!(
                "kill {pid} 2>/dev/null; for i in $(seq 30); do kill -0 {pid} 2>/dev/null || break; \
                 sleep 1; done; kill -9 {pid} 2>/dev/null; rm -rf {dir_text}"
            ));
            let child = Mutex::new(Some(child));
            match server.wait_until_ready(&child, &log) {
                Ok(()) => {
                    let dir = dir.clone();
                    on_exit(move || stop(&child, &dir));
                    if transport == Transport::Tls {
                        server.assert_tls_enabled();
                    }
                    return server;
                }
                Err(reason) => {
                    eprintln!(
                        "mariadbd did not start on port {port}: {reason}\n{}",
                        log_tail(&log)
                    );
                    stop_child(&child);
                }
            }
        }
        let _ignored = std::fs::remove_dir_all(&dir);
        panic!("MariaDB did not start; see the log above");
    }

    fn login(&self) -> &Login {
        &self.login
    }

    fn create_database(&self, name: &str) {
        self.admin_conn()
            .query_drop(format!(
                "create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci"
            ))
            .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
    }

    fn drop_database(&self, name: &str) -> Result<(), String> {
        self.admin_conn()
            .query_drop(format!("drop database if exists `{name}`"))
            .map_err(|err| err.to_string())
    }

    fn execute(&self, database: &str, sql: &str) {
        self.conn_to(database)
            .query_drop(sql)
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
}

impl MariaDb {
    fn wait_until_ready(&self, child: &Mutex<Option<Child>>, log: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child
                .lock()
                .ok()
                .and_then(|mut child| child.as_mut()?.try_wait().ok().flatten())
            {
                return Err(format!("exited with {status}; log {}", log.display()));
            }
            match Conn::new(self.opts(None)) {
                Ok(_) => return Ok(()),
                Err(err) if Instant::now() > deadline => return Err(err.to_string()),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// A server without TLS (a build without it, or options it ignored) would pass every test
    /// of a plaintext refusal while testing nothing about TLS.
    fn assert_tls_enabled(&self) {
        let have_ssl: Option<(String, String)> = self
            .admin_conn()
            .query_first("show variables like 'have_ssl'")
            .unwrap_or_else(|err| panic!("cannot read have_ssl: {err}"));
        let have_ssl = have_ssl.map(|(_, value)| value).unwrap_or_default();
        assert_eq!(
            have_ssl,
            "YES",
            "the TLS MariaDB did not enable TLS (have_ssl = {have_ssl:?}); log {}",
            self.dir
                .as_deref()
                .map(|dir| dir.join("error.log").display().to_string())
                .unwrap_or_default()
        );
    }

    /// The server directory, when this harness started the server.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The server's unix socket, when the harness connects through it: the TLS server.
    pub fn socket(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// As [`login`](Self::login), over TCP, or over the unix socket when there is one (no TLS
    /// needed there).
    fn opts(&self, database: Option<&str>) -> OptsBuilder {
        let login = &self.login;
        let opts = OptsBuilder::new()
            .user(Some(login.user.clone()))
            .pass(login.password.clone())
            .db_name(database);
        match &self.socket {
            Some(socket) => opts
                .socket(Some(socket.display().to_string()))
                .prefer_socket(true),
            None => opts
                .ip_or_hostname(Some(login.host.clone()))
                .tcp_port(login.port)
                .prefer_socket(false),
        }
    }

    /// A connection without a default database.
    pub fn admin_conn(&self) -> Conn {
        Conn::new(self.opts(None)).unwrap_or_else(|err| panic!("cannot connect to MariaDB: {err}"))
    }

    /// A connection whose default database is `database`.
    fn conn_to(&self, database: &str) -> Conn {
        Conn::new(self.opts(Some(database)))
            .unwrap_or_else(|err| panic!("cannot connect to MariaDB database {database}: {err}"))
    }
}

impl MysqlDatabase {
    /// A connection whose default database is this one.
    pub fn conn(&self) -> Conn {
        self.server.conn_to(&self.name)
    }

    /// The server's binlog end (`show master status`), as a LOG_BASED bookmark's `log_file` and
    /// `log_pos`.
    pub fn binlog_end(&self) -> (String, u64) {
        let row: mysql::Row = self
            .conn()
            .query_first("show master status")
            .unwrap_or_else(|err| panic!("show master status: {err}"))
            .expect("the test server writes a binlog");
        let file = row.get(0).expect("a binlog file name");
        let position = row.get(1).expect("a binlog position");
        (file, position)
    }
}

fn stop(child: &Mutex<Option<Child>>, dir: &Path) {
    stop_child(child);
    let _ignored = std::fs::remove_dir_all(dir);
}

/// SIGTERM (a clean shutdown), then SIGKILL after 30 seconds.
fn stop_child(child: &Mutex<Option<Child>>) {
    let Some(mut child) = child.lock().ok().and_then(|mut child| child.take()) else {
        return;
    };
    let _ignored = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ignored = child.kill();
    let _ignored = child.wait();
}

/// `mariadb-install-db` and `mariadbd` (or their `mysql_install_db` / `mysqld` names), from
/// `MARIADB_BIN_DIR`, the `PATH`, or `/usr/sbin` and `/usr/bin`.
fn server_programs() -> (PathBuf, PathBuf) {
    let mut dirs: Vec<PathBuf> = std::env::var_os("MARIADB_BIN_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/mysql/bin"].map(PathBuf::from));
    let find = |names: &[&str]| {
        dirs.iter()
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|path| path.is_file())
    };
    match (
        find(&["mariadb-install-db", "mysql_install_db"]),
        find(&["mariadbd", "mysqld"]),
    ) {
        (Some(install_db), Some(server)) => (install_db, server),
        _ => panic!(
            "MariaDB server programs (mariadb-install-db, mariadbd) not found: run `just deps` \
             (installs the Debian `mariadb-server` package), set MARIADB_BIN_DIR to their \
             directory, or set TEST_MYSQL_URL to an existing server"
        ),
    }
}
