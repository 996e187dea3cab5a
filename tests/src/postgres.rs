//! Throwaway PostgreSQL: `initdb` + `pg_ctl` in a temporary directory, `wal_level=logical`.
//!
//! As root, the cluster belongs to the `postgres` system user and every server command runs
//! through `runuser -u postgres --` (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use postgres::{Client, NoTls};
use serde_json::Value;

use crate::lifecycle::{on_exit, running_as_root, shell_quote, watchdog};
use crate::{Login, free_port, log_tail, unique_database_name};

/// A PostgreSQL server for this test binary: ours, or the one `TEST_PG_URL` names.
#[derive(Debug)]
pub struct Postgres {
    pub login: Login,
    /// Database to connect to for creating and dropping test databases.
    admin_database: String,
    /// The cluster directory when the server is ours.
    data_dir: Option<PathBuf>,
}

impl Postgres {
    /// The server of this test binary, started on first use.
    pub fn get() -> &'static Postgres {
        static SERVER: OnceLock<Postgres> = OnceLock::new();
        SERVER.get_or_init(|| match std::env::var("TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Self::existing(&url),
            _ => Self::start(),
        })
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
        }
    }

    fn start() -> Self {
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

        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let settings = format!(
                "\n# test harness\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
                 unix_socket_directories = '{dir_text}'\nwal_level = logical\n\
                 max_replication_slots = 20\nmax_wal_senders = 20\nmax_connections = 200\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                 shared_buffers = 128MB\n"
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
                return Self {
                    login: Login {
                        host: "127.0.0.1".to_owned(),
                        port,
                        user: "postgres".to_owned(),
                        password: None,
                    },
                    admin_database: "postgres".to_owned(),
                    data_dir: Some(data),
                };
            }
            eprintln!("pg_ctl start failed on port {port}:\n{}", log_tail(&log));
        }
        panic!("PostgreSQL did not start; see the log above");
    }

    /// The cluster directory, when this harness started the server.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// A connection to the server's administrative database.
    pub fn admin_client(&self) -> Client {
        self.client_for(&self.admin_database)
    }

    fn client_for(&self, database: &str) -> Client {
        let login = &self.login;
        let mut config = postgres::Config::new();
        config
            .host(&login.host)
            .port(login.port)
            .user(&login.user)
            .dbname(database);
        if let Some(password) = &login.password {
            config.password(password);
        }
        config
            .connect(NoTls)
            .unwrap_or_else(|err| panic!("cannot connect to PostgreSQL database {database}: {err}"))
    }

    /// A new empty database for one test, dropped when the returned value is.
    pub fn fresh_database(&'static self) -> PgDatabase {
        let name = unique_database_name();
        self.admin_client()
            .batch_execute(&format!("create database \"{name}\""))
            .unwrap_or_else(|err| panic!("cannot create test database {name}: {err}"));
        PgDatabase { server: self, name }
    }
}

/// One test's database.
#[derive(Debug)]
pub struct PgDatabase {
    pub server: &'static Postgres,
    pub name: String,
}

impl PgDatabase {
    /// A new database on this test binary's server.
    pub fn new() -> Self {
        Postgres::get().fresh_database()
    }

    pub fn client(&self) -> Client {
        self.server.client_for(&self.name)
    }

    /// `postgres://user[:password]@host:port/name`.
    pub fn url(&self) -> String {
        self.server.login.url("postgres", &self.name)
    }

    /// The connection keys of a tap or target config file, plus those of `extra` (an object).
    pub fn connection_config(&self, extra: Value) -> Value {
        self.server.login.connection_config(&self.name, extra)
    }
}

impl Default for PgDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = self.server.admin_client().batch_execute(&format!(
            "drop database if exists \"{}\" with (force)",
            self.name
        ));
        if let Err(err) = dropped {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
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
