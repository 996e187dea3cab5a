//! The harness itself: each server starts, answers, is configured for replication, gives each
//! test its own database, and is gone when the test binary ends, however it ends. The TLS servers
//! refuse plaintext and take verified TLS logins (checked with libpq's `psql`, the `mariadb`
//! client and rustls), and sshd lets each client key in, forwards ports, and cuts tunnels when
//! stopped.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{ClientIdentity, Conn, OptsBuilder, SslOpts};
use tests::{MariaDb, MysqlDatabase, PgDatabase, Postgres, Server, Sshd, TestCertificates};

#[test]
fn postgres_runs_with_logical_decoding() {
    let db = PgDatabase::new();
    let mut client = db.client();
    let wal_level: String = client.query_one("show wal_level", &[]).unwrap().get(0);
    assert_eq!(wal_level, "logical");
    let slots: String = client
        .query_one("show max_replication_slots", &[])
        .unwrap()
        .get(0);
    assert!(slots.parse::<u32>().unwrap() > 0, "{slots}");
    client
        .batch_execute("create table t (id bigint primary key, note text)")
        .unwrap();
    client
        .execute("insert into t values ($1, $2)", &[&7_i64, &"seven"])
        .unwrap();
    let row = client.query_one("select id, note from t", &[]).unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, String>(1)),
        (7, "seven".to_owned())
    );
    // A logical replication slot can be made with the built-in pgoutput plugin.
    client
        .batch_execute("select pg_create_logical_replication_slot('harness_slot', 'pgoutput')")
        .unwrap();
    client
        .batch_execute("select pg_drop_replication_slot('harness_slot')")
        .unwrap();
}

#[test]
fn mariadb_runs_with_a_row_based_binlog() {
    let db = MysqlDatabase::new();
    let mut conn = db.conn();
    let (log_bin, format, image, server_id): (u8, String, String, u32) = conn
        .query_first("select @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id")
        .unwrap()
        .unwrap();
    assert_eq!(
        (log_bin, format.as_str(), image.as_str()),
        (1, "ROW", "FULL")
    );
    assert!(server_id > 0);
    conn.query_drop("create table t (id bigint primary key, note varchar(10))")
        .unwrap();
    conn.exec_drop("insert into t values (?, ?)", (7, "sieben 🦀"))
        .unwrap();
    let row: (i64, String) = conn.query_first("select id, note from t").unwrap().unwrap();
    assert_eq!(row, (7, "sieben 🦀".to_owned()));
    let binlogs: Vec<(String, u64)> = conn
        .query_map("show binary logs", |row: mysql::Row| {
            (row.get(0).unwrap(), row.get(1).unwrap())
        })
        .unwrap();
    assert!(!binlogs.is_empty(), "no binary logs");
}

#[test]
fn parallel_tests_get_separate_databases() {
    let handles: Vec<_> = (0..4)
        .map(|n: i64| {
            std::thread::spawn(move || {
                let pg = PgDatabase::new();
                let my = MysqlDatabase::new();
                pg.client()
                    .batch_execute(&format!("create table t as select {n}::bigint as n"))
                    .unwrap();
                my.conn()
                    .query_drop(format!("create table t as select {n} as n"))
                    .unwrap();
                // Give the other threads time to do the same in their databases.
                std::thread::sleep(Duration::from_millis(200));
                let pg_rows: Vec<i64> = pg
                    .client()
                    .query("select n from t", &[])
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                let my_rows: Vec<i64> = my.conn().query("select n from t").unwrap();
                assert_eq!(pg_rows, [n]);
                assert_eq!(my_rows, [n]);
                (pg.name.clone(), my.name.clone())
            })
        })
        .collect();
    let mut names: Vec<(String, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "databases were shared: {names:?}");
}

#[test]
fn databases_are_dropped_with_their_handle() {
    let pg_name = PgDatabase::new().name.clone();
    let my_name = MysqlDatabase::new().name.clone();
    let pg_left: i64 = Postgres::get()
        .admin_client()
        .query_one(
            "select count(*) from pg_database where datname = $1",
            &[&pg_name],
        )
        .unwrap()
        .get(0);
    assert_eq!(pg_left, 0);
    let my_left: Option<i64> = MariaDb::get()
        .admin_conn()
        .exec_first(
            "select count(*) from information_schema.schemata where schema_name = ?",
            (&my_name,),
        )
        .unwrap();
    assert_eq!(my_left, Some(0));
}

/// Run in a child process by the lifecycle tests below: starts every server (both of each kind,
/// an sshd with a session logged in), reports where they live, then ends as `HARNESS_CHILD` says.
#[test]
fn lifecycle_child() {
    let Ok(mode) = std::env::var("HARNESS_CHILD") else {
        return;
    };
    let pg = Postgres::get();
    let my = MariaDb::get();
    let pg_tls = Postgres::get_tls();
    let my_tls = MariaDb::get_tls();
    let sshd = Sshd::start();
    // Never waited for: this binary ends (panics or is killed) with the session up, to see that
    // the session ends with its server.
    #[allow(clippy::zombie_processes)]
    let session = sshd.ssh(&sshd.ed25519_key).arg("-N").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&sshd.log)
        .unwrap_or_default()
        .contains("Accepted publickey")
    {
        assert!(Instant::now() < deadline, "the ssh session never logged in");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = std::io::stdout().lock();
    // A marker, because libtest may already have printed `test lifecycle_child ... ` on the line.
    writeln!(out).unwrap();
    for (port, dir) in [
        (pg.login.port, pg.data_dir().unwrap()),
        (my.login.port, my.dir().unwrap()),
        (pg_tls.login.port, pg_tls.data_dir().unwrap()),
        (my_tls.login.port, my_tls.dir().unwrap()),
        (sshd.port, &sshd.dir),
        (0, &TestCertificates::get().dir),
        (0, sshd.ed25519_key.parent().unwrap()),
    ] {
        writeln!(out, "SERVER {port} {}", dir.display()).unwrap();
    }
    // The session processes, and the ssh client, which ends when its server goes.
    for pid in children_of(sshd.pid()).into_iter().chain([session.id()]) {
        writeln!(out, "PROCESS {pid}").unwrap();
    }
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    drop(out);
    match mode.as_str() {
        "panic" => panic!("a failing test"),
        _ => std::thread::sleep(Duration::from_secs(600)),
    }
}

struct ChildServers {
    child: std::process::Child,
    /// Port (0: none) and directory of each server, or a directory alone.
    servers: Vec<(u16, String)>,
    processes: Vec<u32>,
}

fn start_child(mode: &str) -> ChildServers {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lifecycle_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HARNESS_CHILD", mode)
        .env_remove("TEST_PG_URL")
        .env_remove("TEST_MYSQL_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut servers = Vec::new();
    let mut processes = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("child ended before reporting its servers")
            .unwrap();
        if line == "READY" {
            break;
        } else if let Some(report) = line.strip_prefix("SERVER ") {
            let (port, dir) = report.split_once(' ').unwrap();
            servers.push((port.parse().unwrap(), dir.to_owned()));
        } else if let Some(pid) = line.strip_prefix("PROCESS ") {
            processes.push(pid.parse().unwrap());
        }
    }
    assert_eq!(servers.len(), 7, "{servers:?}");
    assert!(processes.len() >= 2, "no sshd session: {processes:?}");
    ChildServers {
        child,
        servers,
        processes,
    }
}

/// Waits until every server's port refuses connections, its directory is gone, and every
/// process has ended.
fn assert_servers_gone(servers: &[(u16, String)], processes: &[u32], within: Duration) {
    let deadline = Instant::now() + within;
    for (port, dir) in servers {
        let dir = Path::new(dir);
        let listening = || *port != 0 && std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok();
        while (listening() || dir.exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(!listening(), "a server still listens on port {port}");
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
    for &pid in processes {
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(!alive(pid), "process {pid} was left running");
    }
}

#[test]
fn servers_stop_when_a_test_binary_fails() {
    let ChildServers {
        mut child,
        servers,
        processes,
    } = start_child("panic");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child's test should have failed");
    // The atexit cleanup has run by the time the child is gone.
    assert_servers_gone(&servers, &processes, Duration::from_secs(5));
}

#[test]
fn servers_stop_when_a_test_binary_is_killed() {
    let ChildServers {
        mut child,
        servers,
        processes,
    } = start_child("sleep");
    child.kill().unwrap();
    child.wait().unwrap();
    // The watchdog notices within a second, then stops the servers.
    assert_servers_gone(&servers, &processes, Duration::from_secs(60));
}

// Servers that refuse plaintext, and sshd.

/// Runs `psql` with the connection string `conninfo` (and `PGPASSWORD`), printing the unaligned
/// tuples of `sql`; its trimmed stdout, or stderr on failure.
fn psql(conninfo: &str, password: Option<&str>, sql: &str) -> Result<String, String> {
    let mut command = Command::new("psql");
    command
        .args(["-X", "-w", "-A", "-t", "-c", sql])
        .arg(conninfo)
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD")
        .env_remove("PGSSLMODE")
        .stdin(Stdio::null());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().expect("cannot run psql");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn tls_postgres_refuses_plaintext_tcp_and_serves_the_harness_over_its_socket() {
    let server = Postgres::get_tls();
    let login = &server.login;
    assert_eq!(
        (login.host.as_str(), login.user.as_str()),
        ("127.0.0.1", "tls_user")
    );
    let refused = postgres::Config::new()
        .host(&login.host)
        .port(login.port)
        .user(&login.user)
        .password(login.password.as_deref().unwrap())
        .dbname("postgres")
        .connect(postgres::NoTls);
    let Err(err) = refused else {
        panic!("the TLS server took a plaintext login");
    };
    let message = err
        .as_db_error()
        .map(|db| db.message().to_owned())
        .unwrap_or_else(|| err.to_string());
    assert!(
        message.contains("pg_hba.conf") && message.contains("no encryption"),
        "{message}"
    );

    let db = PgDatabase::new_tls();
    assert!(std::ptr::eq(db.server, server));
    let mut client = db.client();
    let row = client
        .query_one(
            "select current_user::text, inet_client_addr() is null, current_setting('ssl'), \
             (select ssl from pg_stat_ssl where pid = pg_backend_pid())",
            &[],
        )
        .unwrap();
    let (user, over_socket, ssl, this_ssl): (String, bool, String, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (user.as_str(), over_socket, ssl.as_str(), this_ssl),
        ("tls_user", true, "on", false)
    );
    client.batch_execute("create table t (id int)").unwrap();
    let config = db.connection_config(serde_json::json!({"sslmode": "verify-full"}));
    assert_eq!(
        config,
        serde_json::json!({
            "host": "127.0.0.1", "port": login.port, "user": "tls_user",
            "password": "tls-secret-pw", "dbname": db.name, "sslmode": "verify-full",
        })
    );
}

#[test]
fn tls_postgres_takes_verified_tls_logins_with_a_password_or_a_client_certificate() {
    let server = Postgres::get_tls();
    let certs = TestCertificates::get();
    let base = format!(
        "host=localhost port={} dbname=postgres sslmode=verify-full",
        server.login.port
    );
    let query = "select current_user || ' ' || version from pg_stat_ssl \
                 where pid = pg_backend_pid() and ssl";
    let with_password = format!("{base} user=tls_user sslrootcert={}", certs.ca.display());
    let answer = psql(&with_password, Some("tls-secret-pw"), query).unwrap();
    assert!(answer.starts_with("tls_user TLSv1."), "{answer}");
    let wrong_password = psql(&with_password, Some("not-it"), query).unwrap_err();
    assert!(
        wrong_password.contains("password authentication failed"),
        "{wrong_password}"
    );

    let with_certificate = format!(
        "{base} user=cert_user sslrootcert={} sslcert={} sslkey={}",
        certs.ca.display(),
        certs.client_cert.display(),
        certs.client_key.display()
    );
    let answer = psql(&with_certificate, None, query).unwrap();
    assert!(answer.starts_with("cert_user TLSv1."), "{answer}");
    let without_certificate = format!(
        "{base} user=cert_user sslrootcert={} sslcert=/nonexistent sslkey=/nonexistent",
        certs.ca.display()
    );
    let refused = psql(&without_certificate, None, query).unwrap_err();
    assert!(refused.contains("certificate"), "{refused}");

    // The server certificate is signed by `ca` only.
    let other_ca = format!(
        "{base} user=tls_user sslrootcert={}",
        certs.other_ca.display()
    );
    let unverified = psql(&other_ca, Some("tls-secret-pw"), query).unwrap_err();
    assert!(
        unverified.contains("certificate verify failed"),
        "{unverified}"
    );
    // PEM helpers, for configs that take certificates inline.
    assert!(
        certs
            .pem(&certs.ca)
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    for key in [&certs.server_key, &certs.client_key] {
        assert!(certs.pem(key).starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}

/// MariaDB options for the TLS server over TCP as `user`, trusting `ca` when given.
fn tls_mariadb_opts(user: &str, password: Option<&str>, ssl: Option<SslOpts>) -> OptsBuilder {
    let server = MariaDb::get_tls();
    OptsBuilder::new()
        // The name the server's certificate is issued for (it lists no address).
        .ip_or_hostname(Some("localhost"))
        .tcp_port(server.login.port)
        .user(Some(user))
        .pass(password)
        .prefer_socket(false)
        .ssl_opts(ssl)
}

#[test]
fn tls_mariadb_refuses_plaintext_tcp_and_serves_the_harness_over_its_socket() {
    let server = MariaDb::get_tls();
    let certs = TestCertificates::get();
    let Err(err) = Conn::new(tls_mariadb_opts("harness", Some("harness"), None)) else {
        panic!("the TLS server took a plaintext login");
    };
    eprintln!("plaintext login refused: {err}");

    let db = MysqlDatabase::new_tls();
    assert!(std::ptr::eq(db.server, server));
    let mut conn = db.conn();
    let (user, have_ssl, secure_transport): (String, String, u8) = conn
        .query_first("select user(), @@have_ssl, @@require_secure_transport")
        .unwrap()
        .unwrap();
    // `localhost`: the unix socket, not 127.0.0.1.
    assert_eq!(
        (user.as_str(), have_ssl.as_str(), secure_transport),
        ("harness@localhost", "YES", 1)
    );
    conn.query_drop("create table t (id int)").unwrap();

    // rustls (the mysql crate's TLS) accepts the certificates as they are.
    let verified = SslOpts::default().with_root_cert_path(Some(certs.ca.clone()));
    let mut conn = Conn::new(
        tls_mariadb_opts("harness", Some("harness"), Some(verified.clone()))
            .db_name(Some(&db.name)),
    )
    .unwrap();
    let (user, cipher): (String, String) = conn
        .query_first(
            "select user(), variable_value from information_schema.session_status \
             where variable_name = 'Ssl_cipher'",
        )
        .unwrap()
        .unwrap();
    assert_eq!(user, "harness@127.0.0.1");
    assert!(!cipher.is_empty(), "not encrypted");
    let identity = ClientIdentity::new(certs.client_cert.clone(), certs.client_key.clone());
    let mut conn = Conn::new(tls_mariadb_opts(
        "cert_user",
        None,
        Some(verified.clone().with_client_identity(Some(identity))),
    ))
    .unwrap();
    let user: Option<String> = conn.query_first("select current_user()").unwrap();
    assert_eq!(user.as_deref(), Some("cert_user@%"));
    assert!(Conn::new(tls_mariadb_opts("cert_user", None, Some(verified))).is_err());
    let other = SslOpts::default().with_root_cert_path(Some(certs.other_ca.clone()));
    assert!(Conn::new(tls_mariadb_opts("harness", Some("harness"), Some(other))).is_err());
}

#[test]
fn tls_mariadb_takes_verified_tls_logins_from_the_mariadb_client() {
    let server = MariaDb::get_tls();
    let certs = TestCertificates::get();
    let mariadb = |args: &[String]| {
        let mut client = Command::new("mariadb");
        client
            .args(["--no-defaults", "--protocol=tcp", "-h", "localhost", "-P"])
            .arg(server.login.port.to_string())
            .args(["--batch", "--skip-column-names", "--ssl-verify-server-cert"])
            .args(args)
            .args([
                "-e",
                "select concat(current_user(), ' ', variable_value) \
                 from information_schema.session_status where variable_name = 'Ssl_version'",
            ]);
        let output = tests::bin::run(client, &[], b"");
        output.assert_success();
        output.stdout_text().trim().to_owned()
    };
    let ca = format!("--ssl-ca={}", certs.ca.display());
    let answer = mariadb(&[
        ca.clone(),
        "-u".into(),
        "harness".into(),
        "-pharness".into(),
    ]);
    assert!(answer.starts_with("harness@% TLSv1."), "{answer}");
    let answer = mariadb(&[
        ca,
        format!("--ssl-cert={}", certs.client_cert.display()),
        format!("--ssl-key={}", certs.client_key.display()),
        "-u".into(),
        "cert_user".into(),
    ]);
    assert!(answer.starts_with("cert_user@% TLSv1."), "{answer}");
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent: u32 = stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()?;
            (parent == pid).then_some(child)
        })
        .collect()
}

/// Whether process `pid` still runs (a zombie does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| Some(stat.rsplit_once(") ")?.1.starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

#[test]
fn sshd_lets_each_client_key_in() {
    let sshd = Sshd::start();
    assert_eq!(sshd.host, "127.0.0.1");
    assert!(sshd.host_key_fingerprint.starts_with("SHA256:"));
    let known_hosts = std::fs::read_to_string(&sshd.known_hosts).unwrap();
    assert_eq!(
        known_hosts.trim(),
        format!("[127.0.0.1]:{} {}", sshd.port, sshd.host_public_key)
    );
    let header = |key: &Path| {
        std::fs::read_to_string(key)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header(&sshd.rsa_pem_key), "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(sshd.rsa_passphrase, "rsa-key-phrase");
    let keys = [
        &sshd.ed25519_key,
        &sshd.rsa_key,
        &sshd.rsa_pem_key,
        &sshd.ecdsa_key,
    ];
    let logins: Vec<_> = keys
        .iter()
        .map(|key| {
            let login = sshd.ssh(key).args(["echo", "in"]).output().unwrap();
            (key, login)
        })
        .collect();
    for (key, login) in logins {
        assert!(
            login.status.success() && String::from_utf8_lossy(&login.stdout).trim() == "in",
            "ssh with {} failed: {}\nsshd log:\n{}",
            key.display(),
            String::from_utf8_lossy(&login.stderr),
            std::fs::read_to_string(&sshd.log).unwrap_or_default()
        );
    }
    // The encrypted key needs its passphrase: without one, ssh cannot use it.
    let without_passphrase = sshd
        .ssh(&sshd.rsa_key)
        .env_remove("SSH_ASKPASS")
        .env_remove("SSH_ASKPASS_REQUIRE")
        .args(["-o", "BatchMode=yes", "true"])
        .output()
        .unwrap();
    assert!(!without_passphrase.status.success());
}

#[test]
fn sshd_forwards_a_port_until_it_is_stopped() {
    let sshd = Sshd::start();
    let pg = Postgres::get();
    let local = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut tunnel = sshd
        .ssh(&sshd.ed25519_key)
        .args(["-N", "-o", "ExitOnForwardFailure=yes", "-L"])
        .arg(format!(
            "127.0.0.1:{local}:{}:{}",
            pg.login.host, pg.login.port
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", local)).is_err() {
        assert!(
            tunnel.try_wait().unwrap().is_none(),
            "ssh -L exited; sshd log:\n{}",
            std::fs::read_to_string(&sshd.log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "the forward never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut config = postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(local)
        .user(&pg.login.user)
        .dbname("postgres");
    if let Some(password) = &pg.login.password {
        config.password(password);
    }
    let mut client = config.connect(postgres::NoTls).unwrap();
    let one: i32 = client.query_one("select 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    let sessions = children_of(sshd.pid());
    assert!(!sessions.is_empty(), "no sshd session process");

    // A query under way through the tunnel fails as soon as sshd is stopped.
    let started = Instant::now();
    let query = std::thread::spawn(move || client.query_one("select pg_sleep(5)", &[]).err());
    std::thread::sleep(Duration::from_millis(300));
    sshd.stop();
    let err = query.join().unwrap();
    assert!(err.is_some(), "the query survived sshd");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the tunnel outlived sshd: {:?}",
        started.elapsed()
    );
    for pid in sessions.iter().copied().chain([sshd.pid()]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(pid), "sshd process {pid} survived stop()");
    }
    assert!(std::net::TcpStream::connect(("127.0.0.1", sshd.port)).is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while tunnel.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "ssh -L outlived its server");
        std::thread::sleep(Duration::from_millis(50));
    }
}
