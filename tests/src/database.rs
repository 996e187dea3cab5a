//! The servers of a test binary, and one test's database on either kind of server.
//!
//! A test binary has up to two servers of each kind, each started on first use: a plaintext one
//! (or the existing server an environment variable names) and one that refuses plaintext TCP.
//! [`PgDatabase`](crate::PgDatabase) and [`MysqlDatabase`](crate::MysqlDatabase) are
//! [`Database`] on [`Postgres`](crate::Postgres) and [`MariaDb`](crate::MariaDb); what differs
//! between the kinds (starting a server, creating and dropping a database, running SQL in it) is
//! each server's [`Server`] implementation.

use std::sync::OnceLock;

use serde_json::Value;

use crate::{Login, unique_database_name};

/// Which of the two servers of a test binary to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plaintext TCP.
    Plain,
    /// TLS with [`TestCertificates`](crate::TestCertificates), plaintext TCP refused.
    Tls,
}

/// The two servers of one kind of a test binary, each started on first use.
#[derive(Debug)]
pub struct Servers<S> {
    plain: OnceLock<S>,
    tls: OnceLock<S>,
}

impl<S> Servers<S> {
    pub const fn new() -> Self {
        Self {
            plain: OnceLock::new(),
            tls: OnceLock::new(),
        }
    }
}

impl<S> Default for Servers<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// A kind of database server that gives each test a database of its own.
pub trait Server: Sized + Send + Sync + 'static {
    /// The URL scheme of [`Database::url`].
    const SCHEME: &'static str;
    /// Names an existing server (a URL) to use instead of starting the plaintext one.
    const URL_VARIABLE: &'static str;

    /// This kind's servers of this test binary (a `static`).
    fn servers() -> &'static Servers<Self>;
    /// The existing server `url` names.
    fn existing(url: &str) -> Self;
    /// Starts a server of ours; panics with its log when it does not start.
    fn start(transport: Transport) -> Self;
    /// Where the server listens and whom the programs log in as.
    fn login(&self) -> &Login;
    /// Creates the empty database `name`.
    fn create_database(&self, name: &str);
    /// Drops the database `name` with all it holds.
    fn drop_database(&self, name: &str) -> Result<(), String>;
    /// Runs `sql` (one statement or several) in the database `name` on a connection of its own;
    /// panics naming the SQL when it fails.
    fn execute(&self, database: &str, sql: &str);

    /// This test binary's server: the one [`URL_VARIABLE`](Self::URL_VARIABLE) names, else
    /// ours, started on first use.
    fn get() -> &'static Self {
        Self::servers()
            .plain
            .get_or_init(|| match std::env::var(Self::URL_VARIABLE) {
                Ok(url) if !url.is_empty() => Self::existing(&url),
                _ => Self::start(Transport::Plain),
            })
    }

    /// This test binary's second server, started on first use, which refuses plaintext TCP.
    /// Always ours, whatever [`URL_VARIABLE`](Self::URL_VARIABLE) says.
    fn get_tls() -> &'static Self {
        Self::servers()
            .tls
            .get_or_init(|| Self::start(Transport::Tls))
    }
}

/// One test's database, dropped when the value is.
#[derive(Debug)]
pub struct Database<S: Server> {
    pub server: &'static S,
    pub name: String,
}

impl<S: Server> Database<S> {
    /// A new database on this test binary's server.
    pub fn new() -> Self {
        Self::on(S::get())
    }

    /// A new database on this test binary's TLS server ([`Server::get_tls`]): its
    /// [`connection_config`](Self::connection_config) works only over TLS.
    pub fn new_tls() -> Self {
        Self::on(S::get_tls())
    }

    /// A new database on this test binary's server in which `sql` has run.
    pub fn with_sql(sql: &str) -> Self {
        let db = Self::new();
        db.execute(sql);
        db
    }

    /// A new empty database on `server`.
    pub fn on(server: &'static S) -> Self {
        let name = unique_database_name();
        server.create_database(&name);
        Self { server, name }
    }

    /// Runs `sql` (one statement or several) on a connection of its own; panics naming the SQL
    /// when it fails.
    pub fn execute(&self, sql: &str) {
        self.server.execute(&self.name, sql);
    }

    /// `scheme://user[:password]@host:port/name`.
    pub fn url(&self) -> String {
        self.server.login().url(S::SCHEME, &self.name)
    }

    /// The connection keys of a tap or target config file, plus those of `extra` (an object).
    pub fn connection_config(&self, extra: Value) -> Value {
        self.server.login().connection_config(&self.name, extra)
    }
}

impl<S: Server> Default for Database<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Server> Drop for Database<S> {
    fn drop(&mut self) {
        if let Err(err) = self.server.drop_database(&self.name) {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
}
