//! The real-server test harness.
//!
//! Each test binary gets one throwaway PostgreSQL and one MariaDB server, started on first use in
//! a temporary directory on a free loopback port, and stopped (directory removed) when the binary
//! exits, whether its tests passed or panicked. Each test takes a fresh database of its own, so
//! tests run in parallel without seeing each other's tables.
//!
//! ```text
//! test binary ──first use──▶ initdb + pg_ctl start / mariadb-install-db + mariadbd
//!     │                        ▲
//!     ├─ atexit ───────────────┤ stop + remove dir (normal exit, failed tests)
//!     └─ watchdog process ─────┘ the same, if the binary is killed
//! ```
//!
//! `TEST_PG_URL` (`postgres://user:password@host:port/db`) and `TEST_MYSQL_URL`
//! (`mysql://user:password@host:port`) point the tests at existing servers instead; their user
//! needs the right to create databases. Without them, missing server binaries fail the test with
//! what to install: tests never skip silently.
//!
//! For the programs' transport settings there is more: [`Postgres::get_tls`] and
//! [`MariaDb::get_tls`] are a second server of each kind that refuses plaintext TCP, with
//! certificates from [`TestCertificates`] (made with `openssl` once per test binary), and
//! [`Sshd::start`] starts a real OpenSSH server to tunnel through. These are always ours, whatever
//! `TEST_PG_URL` and `TEST_MYSQL_URL` say.
//!
//! [`bin`] runs the workspace's built programs and pipes one into another, as a user would;
//! [`TapRun`] and [`TargetRun`] are a tap and the target configured for test databases, and
//! [`warehouse`] reads back what arrived, value by value.

pub mod bin;
pub mod certs;
pub mod database;
pub mod fixtures;
mod lifecycle;
pub mod mariadb;
pub mod postgres;
pub mod singer;
pub mod sshd;
pub mod tap;
pub mod warehouse;

pub use bin::{Pipeline, PipelineOutput, RunOutput, RunningPipeline, run_binary};
pub use certs::TestCertificates;
pub use database::{Database, Server};
pub use mariadb::{MariaDb, MysqlDatabase};
pub use postgres::{PgDatabase, Postgres};
pub use sshd::Sshd;
pub use tap::TapRun;
pub use warehouse::TargetRun;

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

/// Where a server listens and whom to log in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
}

impl Login {
    /// `scheme://user[:password]@host:port/database`.
    pub fn url(&self, scheme: &str, database: &str) -> String {
        let password = self
            .password
            .as_ref()
            .map(|password| format!(":{password}"))
            .unwrap_or_default();
        format!(
            "{scheme}://{}{password}@{}:{}/{database}",
            self.user, self.host, self.port
        )
    }

    /// The connection keys of a tap or target config file for `database`, plus the keys of
    /// `extra` (an object), which win.
    pub fn connection_config(&self, database: &str, extra: Value) -> Value {
        let config = json!({
            "host": self.host, "port": self.port, "user": self.user,
            "password": self.password.clone().unwrap_or_default(), "dbname": database,
        });
        merged(config, extra)
    }
}

/// `base` (an object) with the keys of `extra` (an object) added; those of `extra` win.
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// A database name unique across the test binaries sharing a server.
fn unique_database_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free loopback port")
}

/// The last lines of a server log, for a failure message.
fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
