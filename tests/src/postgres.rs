//! Throwaway PostgreSQL: `initdb` + `pg_ctl` in a temporary directory, `wal_level=logical`.
//!
//! As root, the cluster belongs to the `postgres` system user and every server command runs
//! through `runuser -u postgres --` (PostgreSQL refuses to run as root).
//!
//! Two servers per test binary, each started on first use: [`Postgres::get`] takes plaintext TCP
//! logins as `postgres` without a password; [`Postgres::get_tls`] refuses plaintext TCP, so that
//! the programs' TLS settings are tested against a server that cannot be reached any other way:
//!
//! ```text
//! local    all  all                      trust          harness admin (unix socket)
//! hostnossl all all        0.0.0.0/0, ::/0 reject
//! hostssl  all  cert_user  127.0.0.1/32  cert           client certificate CN=cert_user
//! hostssl  all  all        127.0.0.1/32  scram-sha-256  tls_user / tls-secret-pw
//! ```
//!
//! Its certificates are [`TestCertificates`]; the harness itself reaches it over its unix socket.

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::certs::TestCertificates;
use crate::database::{Database, Server, Servers, Transport};
use crate::lifecycle::{on_exit, running_as_root, shell_quote, watchdog};
use crate::{Login, free_port, log_tail};

/// One test's database on PostgreSQL.
pub type PgDatabase = Database<Postgres>;

/// The TLS server's password login (superuser, `scram-sha-256`, TLS only).
pub const TLS_USER: &str = "tls_user";
/// [`TLS_USER`]'s password.
pub const TLS_PASSWORD: &str = "tls-secret-pw";
/// The TLS server's client-certificate login (superuser, no password): the CN of
/// [`TestCertificates::client_cert`].
pub const CERT_USER: &str = "cert_user";

/// The TLS server's `pg_hba.conf`: the unix socket trusts everyone, TCP needs TLS.
const TLS_HBA: &str = "\
local all all trust
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
hostssl all cert_user 127.0.0.1/32 cert
hostssl all all 127.0.0.1/32 scram-sha-256
";

/// A PostgreSQL server for this test binary: ours, or the one `TEST_PG_URL` names.
#[derive(Debug)]
pub struct Postgres {
    pub login: Login,
    /// Database to connect to for creating and dropping test databases.
    admin_database: String,
    /// The cluster directory when the server is ours.
    data_dir: Option<PathBuf>,
    /// The directory of the server's unix socket, when the harness connects through it rather
    /// than over TCP (the TLS server, which refuses plaintext TCP).
    socket_dir: Option<PathBuf>,
    /// [`version_num`](Self::version_num), once read.
    version_num: OnceLock<i32>,
}

/// The plaintext server takes TCP logins as `postgres` without a password (`trust`, initdb's
/// default). The TLS one has `ssl = on` with [`TestCertificates`] and refuses plaintext TCP
/// ([`TLS_HBA`]): logins over TCP only with TLS as `tls_user` (password `tls-secret-pw`, its
/// `login`) or `cert_user` (client certificate).
impl Server for Postgres {
    const SCHEME: &'static str = "postgres";
    const URL_VARIABLE: &'static str = "TEST_PG_URL";

    fn servers() -> &'static Servers<Self> {
        static SERVERS: Servers<Postgres> = Servers::new();
        &SERVERS
    }

    fn existing(url: &str) -> Self {
        let config: postgres::Config = url
            .parse()
            .unwrap_or_else(|err| panic!("TEST_PG_URL is not a PostgreSQL URL: {err}"));
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        Self {
            login: Login {
                host,
                port: config.get_ports().first().copied().unwrap_or(5432),
                user: config.get_user().unwrap_or("postgres").to_owned(),
                password: config
                    .get_password()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
            },
            admin_database: config.get_dbname().unwrap_or("postgres").to_owned(),
            data_dir: None,
            socket_dir: None,
            version_num: OnceLock::new(),
        }
    }

    fn start(transport: Transport) -> Self {
        let bin = server_bin_dir();
        let as_root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("singer-test-pg-")
            .tempdir()
            .expect("cannot create a temporary directory")
            .keep();
        if as_root {
            chown_to_postgres(&dir);
        }
        let data = dir.join("data");
        let dir_text = dir.display().to_string();
        let run = |program: &str| server_command(&bin, program, as_root);

        let init = run("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("cannot run initdb");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );

        let stop_script = format!(
            "{} -D {} -m immediate stop; rm -rf {}",
            shell_command(&bin, "pg_ctl", as_root),
            shell_quote(&data.display().to_string()),
            shell_quote(&dir_text)
        );
        watchdog(&stop_script);
        on_exit(move || {
            let _ignored = Command::new("sh").arg("-c").arg(&stop_script).output();
        });

        let tls_settings = match transport {
            Transport::Plain => String::new(),
            Transport::Tls => configure_tls(&dir, &data, as_root),
        };

        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let settings = format!(
                "\n# test harness\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
                 unix_socket_directories = '{dir_text}'\nwal_level = logical\n\
                 max_replication_slots = 50\nmax_wal_senders = 50\nmax_connections = 200\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 shared_buffers = 128MB\n{tls_settings}"
            );
            let conf = data.join("postgresql.auto.conf");
            std::fs::write(&conf, settings).expect("cannot write postgresql.auto.conf");
            if as_root {
                chown_to_postgres(&conf);
            }
            let log = dir.join("server.log");
            let started = run("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"])
                .output()
                .expect("cannot run pg_ctl");
            if started.status.success() {
                return match transport {
                    Transport::Plain => Self {
                        login: Login {
                            host: "127.0.0.1".to_owned(),
                            port,
                            user: "postgres".to_owned(),
                            password: None,
                        },
                        admin_database: "postgres".to_owned(),
                        data_dir: Some(data),
                        socket_dir: None,
                        version_num: OnceLock::new(),
                    },
                    Transport::Tls => {
                        create_tls_roles(&dir, port);
                        Self {
                            login: Login {
                                host: "127.0.0.1".to_owned(),
                                port,
                                user: TLS_USER.to_owned(),
                                password: Some(TLS_PASSWORD.to_owned()),
                            },
                            admin_database: "postgres".to_owned(),
                            data_dir: Some(data),
                            socket_dir: Some(dir),
                            version_num: OnceLock::new(),
                        }
                    }
                };
            }
            eprintln!("pg_ctl start failed on port {port}:\n{}", log_tail(&log));
        }
        panic!("PostgreSQL did not start; see the log above");
    }

    fn login(&self) -> &Login {
        &self.login
    }

    fn create_database(&self, name: &str) {
        self.admin_client()
            .batch_execute(&format!("create database \"{name}\""))
            .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
    }

    /// Drops the database's replication slots first: a database with one cannot be dropped.
    fn drop_database(&self, name: &str) -> Result<(), String> {
        let mut admin = self.admin_client();
        let literal = name.replace('\'', "''");
        let drop_slots = format!(
            "select pg_terminate_backend(active_pid) from pg_replication_slots \
             where database = '{literal}' and active_pid is not null; \
             select pg_drop_replication_slot(slot_name) from pg_replication_slots \
             where database = '{literal}' and not active"
        );
        for _ in 0..50 {
            admin
                .batch_execute(&drop_slots)
                .map_err(|err| err.to_string())?;
            let left: i64 = admin
                .query_one(
                    "select count(*) from pg_replication_slots where database = $1",
                    &[&name],
                )
                .map_err(|err| err.to_string())?
                .get(0);
            if left == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // `with (force)` (13+) ends the sessions still connected; before 13, end them first.
        let force = if self.version_num() >= 130_000 {
            " with (force)"
        } else {
            admin
                .execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity \
                     where datname = $1 and pid <> pg_backend_pid()",
                    &[&name],
                )
                .map_err(|err| err.to_string())?;
            ""
        };
        admin
            .batch_execute(&format!("drop database if exists \"{name}\"{force}"))
            .map_err(|err| err.to_string())
    }

    fn execute(&self, database: &str, sql: &str) {
        self.client_for(database)
            .batch_execute(sql)
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
}

impl Postgres {
    /// Restarts the server as an administrator would (`pg_ctl restart -m fast`: sessions are
    /// ended, the same port and settings after). Only for a server this harness started; a test
    /// that restarts its server should be the only test of its binary.
    pub fn restart(&self) {
        let data = self
            .data_dir()
            .expect("restarting needs a server of the harness's own: unset TEST_PG_URL");
        let log = data
            .parent()
            .expect("the data directory's parent")
            .join("server.log");
        let restarted = server_command(&server_bin_dir(), "pg_ctl", running_as_root())
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-m", "fast", "restart"])
            .output()
            .expect("cannot run pg_ctl");
        assert!(
            restarted.status.success(),
            "pg_ctl restart failed:\n{}",
            log_tail(&log)
        );
    }

    /// The server's `server_version_num` (`150004` for 15.4), read once: tests of types or
    /// features a major lacks check it.
    pub fn version_num(&self) -> i32 {
        *self.version_num.get_or_init(|| {
            self.admin_client()
                .query_one("select current_setting('server_version_num')::integer", &[])
                .unwrap_or_else(|err| panic!("cannot read the server version: {err}"))
                .get(0)
        })
    }

    /// The cluster directory, when this harness started the server.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// The directory of the server's unix socket (`.s.PGSQL.<port>`), when the harness reaches
    /// the server through it: the TLS server.
    pub fn socket_dir(&self) -> Option<&Path> {
        self.socket_dir.as_deref()
    }

    /// A connection to the server's administrative database.
    pub fn admin_client(&self) -> Client {
        self.client_for(&self.admin_database)
    }

    /// As [`login`](Self::login)'s user, over TCP, or over the unix socket when there is one
    /// (`trust` there: no password, no TLS).
    fn client_for(&self, database: &str) -> Client {
        let login = &self.login;
        let mut config = postgres::Config::new();
        config.port(login.port).user(&login.user).dbname(database);
        match &self.socket_dir {
            Some(socket_dir) => {
                config.host_path(socket_dir);
            }
            None => {
                config.host(&login.host);
                if let Some(password) = &login.password {
                    config.password(password);
                }
            }
        }
        config
            .connect(NoTls)
            .unwrap_or_else(|err| panic!("cannot connect to PostgreSQL database {database}: {err}"))
    }
}

impl PgDatabase {
    pub fn client(&self) -> Client {
        self.server.client_for(&self.name)
    }

    /// Drops the replication slot `slot` as an administrator would, once it is idle: the slot of
    /// a run that just ended stays active until its walsender has noticed the client is gone.
    pub fn drop_replication_slot(&self, slot: &str) {
        let mut client = self.client();
        for _ in 0..200 {
            let active: Option<bool> = client
                .query_opt(
                    "select active from pg_replication_slots where slot_name = $1",
                    &[&slot],
                )
                .unwrap_or_else(|err| panic!("cannot read replication slot {slot}: {err}"))
                .map(|row| row.get(0));
            match active {
                None => panic!("there is no replication slot {slot}"),
                Some(false) => {
                    client
                        .execute("select pg_drop_replication_slot($1)", &[&slot])
                        .unwrap_or_else(|err| panic!("cannot drop replication slot {slot}: {err}"));
                    return;
                }
                Some(true) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
        panic!("replication slot {slot} is still active after 10 s");
    }

    /// The server's `server_version_num`: [`Postgres::version_num`].
    pub fn version_num(&self) -> i32 {
        self.server.version_num()
    }
}

/// Copies the server certificate, its key and the CA into the server directory `dir` (PostgreSQL
/// wants its key owned by the server's user, mode 0600), writes [`TLS_HBA`], and returns the
/// `postgresql.auto.conf` lines that turn TLS on.
fn configure_tls(dir: &Path, data: &Path, as_root: bool) -> String {
    use std::os::unix::fs::PermissionsExt;

    let certificates = TestCertificates::get();
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).expect("cannot create the server's tls directory");
    let copy = |from: &Path, name: &str, mode: u32| -> PathBuf {
        let to = tls.join(name);
        std::fs::copy(from, &to)
            .unwrap_or_else(|err| panic!("cannot copy {} to {}: {err}", from.display(), name));
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|err| panic!("cannot chmod {}: {err}", to.display()));
        if as_root {
            chown_to_postgres(&to);
        }
        to
    };
    let cert = copy(&certificates.server_cert, "server.crt", 0o644);
    let key = copy(&certificates.server_key, "server.key", 0o600);
    let ca = copy(&certificates.ca, "ca.crt", 0o644);
    if as_root {
        chown_to_postgres(&tls);
    }
    let hba = data.join("pg_hba.conf");
    std::fs::write(&hba, TLS_HBA).expect("cannot write pg_hba.conf");
    if as_root {
        chown_to_postgres(&hba);
    }
    format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n",
        cert.display(),
        key.display(),
        ca.display()
    )
}

/// Creates the TLS server's logins, as `postgres` over the unix socket in `dir`.
fn create_tls_roles(dir: &Path, port: u16) {
    let mut client = postgres::Config::new()
        .host_path(dir)
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect(NoTls)
        .unwrap_or_else(|err| panic!("cannot connect to the TLS PostgreSQL's socket: {err}"));
    client
        .batch_execute(&format!(
            "set password_encryption = 'scram-sha-256';\n\
             create role {TLS_USER} login superuser password '{TLS_PASSWORD}';\n\
             create role {CERT_USER} login superuser;"
        ))
        .unwrap_or_else(|err| panic!("cannot create the TLS PostgreSQL's roles: {err}"));
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN_DIR`, else the `PATH`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout, not on the `PATH`).
fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if let Some(dir) = on_path {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server programs (initdb, pg_ctl) not found: run `just deps` (installs the \
             Debian `postgresql` package), set PG_BIN_DIR to their directory, or set TEST_PG_URL \
             to an existing server"
        )
    })
}

fn server_command(bin: &Path, program: &str, as_root: bool) -> Command {
    let path = bin.join(program);
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn shell_command(bin: &Path, program: &str, as_root: bool) -> String {
    let path = shell_quote(&bin.join(program).display().to_string());
    if as_root {
        format!("runuser -u postgres -- {path}")
    } else {
        path
    }
}

fn chown_to_postgres(path: &Path) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("cannot run id");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| {
                panic!(
                    "running as root needs a `postgres` system user to run PostgreSQL: install \
                     the Debian `postgresql` package (`just deps`) or create the user"
                )
            })
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g")))
        .unwrap_or_else(|err| panic!("cannot chown {} to postgres: {err}", path.display()));
}
