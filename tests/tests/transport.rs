//! Reaching databases as production users do: TLS with libpq's `sslmode` meanings against
//! PostgreSQL and MariaDB servers that refuse plaintext, client certificates, and SSH tunnels
//! through a real `sshd`, for all three programs. Every pipeline compares what arrived in the
//! warehouse with the source, value for value; no stderr may hold a password or a passphrase.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde_json::{Value, json};
use tempfile::TempDir;
use tests::bin::{RunOutput, run_binary, write_json};
use tests::certs::TestCertificates;
use tests::sshd::Sshd;
use tests::warehouse::{SCHEMA, emitted_states, query_text, target_config};
use tests::{MysqlDatabase, PgDatabase, TapRun, TargetRun, merged};

/// What no stderr may show: the TLS server's password, the RSA key's passphrase, key text.
const SECRETS: [&str; 4] = [
    "tls-secret-pw",
    "rsa-key-phrase",
    "BEGIN PRIVATE KEY",
    "BEGIN OPENSSH PRIVATE KEY",
];

fn assert_no_secrets(stderr: &str) {
    for secret in SECRETS {
        assert!(
            !stderr.contains(secret),
            "{secret} reached stderr:\n{stderr}"
        );
    }
}

/// Runs `program` with a config written from `config` and further arguments.
fn run_with_config(program: &str, config: &Value, args: &[&str]) -> RunOutput {
    let dir = TempDir::new().unwrap();
    let path = write_json(dir.path(), "config.json", config);
    let mut all = vec!["--config", path.as_str()];
    all.extend_from_slice(args);
    let output = run_binary(program, &all, b"");
    assert_no_secrets(&output.stderr);
    output
}

fn discover(program: &str, config: &Value) -> RunOutput {
    run_with_config(program, config, &["--discover"])
}

/// Discovery with `config` succeeds and finds the table `items`.
fn assert_discovers_items(program: &str, config: &Value) {
    let output = discover(program, config);
    assert!(output.status.success(), "{config}: {}", output.stderr);
    let catalog: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(catalog["streams"][0]["table_name"], "items", "{config}");
}

/// Discovery with `config` fails, its stderr naming each of `parts`; returns that stderr.
fn discovery_fails(program: &str, config: &Value, parts: &[&str]) -> String {
    let output = discover(program, config);
    output.assert_failure(parts);
    output.stderr
}

fn certs() -> &'static TestCertificates {
    TestCertificates::get()
}

fn path_text(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// A source table with values whose text must survive exactly.
const PG_ITEMS: &str = "create table items (id integer primary key, name text, \
     price numeric(12,2), seen timestamptz); \
     insert into items select g, 'item ' || g || ' ✓', g * 1.25, \
     timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' \
     from generate_series(1, 500) g";

const PG_ITEMS_QUERY: &str = "select id, name, price::text, \
     to_char(seen at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') from {schema}.items order by id";

fn pg_items(db: &PgDatabase, schema: &str) -> Vec<Vec<Option<String>>> {
    query_text(
        &mut db.client(),
        &PG_ITEMS_QUERY.replace("{schema}", schema),
    )
}

/// `tap --config tap | target-postgres --config target`, both configs written from values.
fn pipeline(tap: &'static str, tap_config: &Value, target: &Value) -> tests::PipelineOutput {
    let target = TargetRun::with_config(target.clone());
    let output = TapRun::with_config(tap, tap_config).run_into(&target, None);
    assert_no_secrets(&output.tap_stderr);
    assert_no_secrets(&output.target.stderr);
    output
}

// --- TLS against PostgreSQL -------------------------------------------------------------------

#[test]
fn every_sslmode_against_a_postgres_that_refuses_plaintext() {
    let db = PgDatabase::new_tls();
    db.execute(PG_ITEMS);
    let ca = path_text(&certs().ca);
    let other_ca = path_text(&certs().other_ca);
    let config = |extra: Value| db.connection_config(extra);

    let refused = discover("tap-postgres", &config(json!({"sslmode": "disable"})));
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("no encryption") || refused.stderr.contains("pg_hba"),
        "{}",
        refused.stderr
    );

    for extra in [
        json!({"sslmode": "allow"}),
        json!({}),
        json!({"sslmode": "prefer"}),
        json!({"sslmode": "require"}),
        json!({"ssl": true}),
        json!({"sslmode": "verify-ca", "sslrootcert": ca}),
        json!({"sslmode": "VERIFY_CA", "ssl_ca": ca}),
        json!({"sslmode": "verify-full", "sslrootcert": ca, "host": "localhost"}),
        json!({"ssl_mode": "verify-full", "ssl_certificate_authority": certs().pem(&certs().ca),
               "host": "localhost"}),
    ] {
        assert_discovers_items("tap-postgres", &config(extra));
    }

    discovery_fails(
        "tap-postgres",
        &config(json!({"sslmode": "verify-full", "sslrootcert": ca, "host": "127.0.0.1"})),
        &["not issued for the host name \"127.0.0.1\"", "verify-ca"],
    );
    discovery_fails(
        "tap-postgres",
        &config(json!({"sslmode": "verify-ca", "sslrootcert": other_ca})),
        &["unknown CA", "sslrootcert"],
    );

    // `require` with a CA verifies the chain, as libpq does.
    let require_with_other_ca = discover(
        "tap-postgres",
        &config(json!({"sslmode": "require", "sslrootcert": other_ca})),
    );
    assert!(!require_with_other_ca.status.success());

    let bad_mode = discover("tap-postgres", &config(json!({"sslmode": "verify"})));
    assert_eq!(bad_mode.status.code(), Some(1));
    assert!(
        bad_mode.stderr.contains("sslmode") && bad_mode.stderr.contains("verify-full"),
        "{}",
        bad_mode.stderr
    );
}

#[test]
fn postgres_pipeline_over_tls_with_a_client_certificate_warehouse() {
    let source = PgDatabase::new_tls();
    source.execute(PG_ITEMS);
    let warehouse = PgDatabase::new_tls();
    let tap = source.connection_config(json!({
        "sslmode": "verify-full", "host": "localhost",
        "sslrootcert": certs().pem(&certs().ca), "select": ["public.items"]
    }));
    // The warehouse logs in by certificate alone: user cert_user, no password.
    let mut target = target_config(
        &warehouse,
        json!({"sslmode": "verify-full", "host": "localhost", "user": "cert_user",
               "sslrootcert": path_text(&certs().ca),
               "sslcert": path_text(&certs().client_cert),
               "ssl_key": certs().pem(&certs().client_key)}),
    );
    target.as_object_mut().unwrap().remove("password");
    pipeline("tap-postgres", &tap, &target).assert_success();
    let expected = pg_items(&source, "public");
    assert_eq!(expected.len(), 500);
    assert_eq!(pg_items(&warehouse, SCHEMA), expected);

    let check = run_with_config("target-postgres", &target, &["--check"]);
    assert!(check.status.success(), "{}", check.stderr);
    assert!(
        check.stdout_text().contains("ok"),
        "{}",
        check.stdout_text()
    );

    let mut without_key = target.clone();
    without_key.as_object_mut().unwrap().remove("ssl_key");
    let refused = run_with_config("target-postgres", &without_key, &["--check"]);
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("sslkey"), "{}", refused.stderr);
}

// --- TLS against MariaDB ----------------------------------------------------------------------

fn mysql_items(db: &MysqlDatabase) {
    let mut conn = db.conn();
    conn.query_drop(
        "create table items (id int primary key, name varchar(100), price decimal(12,2), \
         seen datetime(6))",
    )
    .unwrap();
    let rows: Vec<String> = (1..=300)
        .map(|id| {
            format!(
                "({id}, 'item {id} ✓', {id}.25, '2026-01-01 00:00:00.{id:06}' + interval {id} minute)"
            )
        })
        .collect();
    conn.query_drop(format!("insert into items values {}", rows.join(",")))
        .unwrap();
}

fn mysql_expected(db: &MysqlDatabase) -> Vec<Vec<Option<String>>> {
    let rows: Vec<(i64, String, String, String)> = db
        .conn()
        .query(
            "select id, name, cast(price as char), \
             date_format(seen, '%Y-%m-%d %H:%i:%s.%f') from items order by id",
        )
        .unwrap();
    rows.into_iter()
        .map(|(id, name, price, seen)| {
            vec![Some(id.to_string()), Some(name), Some(price), Some(seen)]
        })
        .collect()
}

fn mysql_arrived(warehouse: &PgDatabase) -> Vec<Vec<Option<String>>> {
    query_text(
        &mut warehouse.client(),
        "select id, name, price::text, to_char(seen, 'YYYY-MM-DD HH24:MI:SS.US') \
         from warehouse.items order by id",
    )
}

#[test]
fn every_sslmode_against_a_mariadb_that_refuses_plaintext() {
    let db = MysqlDatabase::new_tls();
    mysql_items(&db);
    let ca = path_text(&certs().ca);
    let config = |extra: Value| db.connection_config(merged(json!({"filter_dbs": db.name}), extra));

    discovery_fails(
        "tap-mysql",
        &config(json!({"sslmode": "DISABLED"})),
        &["require_secure_transport"],
    );

    for extra in [
        json!({"sslmode": "allow"}),
        json!({}),
        json!({"sslmode": "PREFERRED"}),
        json!({"sslmode": "REQUIRED"}),
        json!({"ssl": "true"}),
        json!({"sslmode": "verify-ca", "ssl_ca": ca}),
        json!({"sslmode": "VERIFY_IDENTITY", "sslrootcert": certs().pem(&certs().ca),
               "host": "localhost"}),
        // Login by client certificate alone, key and certificate given as PEM text.
        json!({"sslmode": "verify-ca", "sslrootcert": ca, "user": "cert_user", "password": "",
               "ssl_client_certificate": certs().pem(&certs().client_cert),
               "ssl_client_private_key": certs().pem(&certs().client_key)}),
    ] {
        assert_discovers_items("tap-mysql", &config(extra));
    }

    discovery_fails(
        "tap-mysql",
        &config(json!({"sslmode": "verify-full", "sslrootcert": ca, "host": "127.0.0.1"})),
        &["not issued for the host name"],
    );
    discovery_fails(
        "tap-mysql",
        &config(json!({"sslmode": "verify-ca", "sslrootcert": path_text(&certs().other_ca)})),
        &["unknown CA"],
    );
}

#[test]
fn mysql_pipeline_over_tls_arrives_value_for_value() {
    let source = MysqlDatabase::new_tls();
    mysql_items(&source);
    let warehouse = PgDatabase::new_tls();
    let tap = source.connection_config(json!({
        "sslmode": "verify-full", "host": "localhost", "sslrootcert": path_text(&certs().ca),
        "select": [format!("{}.items", source.name)]
    }));
    let target = target_config(
        &warehouse,
        json!({"sslmode": "verify-ca", "sslrootcert": path_text(&certs().ca)}),
    );
    pipeline("tap-mysql", &tap, &target).assert_success();
    let expected = mysql_expected(&source);
    assert_eq!(expected.len(), 300);
    assert_eq!(mysql_arrived(&warehouse), expected);
}

// --- SSH tunnels ------------------------------------------------------------------------------

fn tunnel(sshd: &Sshd, extra: Value) -> Value {
    merged(
        json!({"host": sshd.host, "port": sshd.port, "username": sshd.user,
               "known_hosts": path_text(&sshd.known_hosts)}),
        extra,
    )
}

#[test]
fn pipelines_with_both_sides_through_a_bastion() {
    let sshd = Sshd::start();
    let source = PgDatabase::new();
    source.execute(PG_ITEMS);
    let warehouse = PgDatabase::new();

    // Ed25519 key by path, host key in known_hosts; the database host resolved on the bastion.
    let ed25519 = tunnel(
        &sshd,
        json!({"private_key_path": path_text(&sshd.ed25519_key)}),
    );
    let tap = source.connection_config(json!({
        "host": "localhost", "ssh_tunnel": ed25519, "select": ["public.items"]
    }));
    // Passphrase-protected RSA key as text (rsa-sha2 signatures), host key pinned.
    let rsa = json!({"host": sshd.host, "port": sshd.port, "username": sshd.user,
        "private_key": std::fs::read_to_string(&sshd.rsa_key).unwrap(),
        "private_key_password": sshd.rsa_passphrase,
        "host_key_fingerprint": sshd.host_key_fingerprint});
    let target = target_config(&warehouse, json!({"ssh_tunnel": rsa}));
    let output = pipeline("tap-postgres", &tap, &target);
    output.assert_success();
    assert_eq!(pg_items(&warehouse, SCHEMA), pg_items(&source, "public"));
    assert!(
        !output.tap_stderr.contains("not checked"),
        "{}",
        output.tap_stderr
    );

    let check = run_with_config("target-postgres", &target, &["--check"]);
    assert!(check.status.success(), "{}", check.stderr);

    // MySQL through the bastion: a PEM RSA key and an ECDSA key; no host key check: a warning
    // that shows the fingerprint seen.
    let mysql = MysqlDatabase::new();
    mysql_items(&mysql);
    let mysql_warehouse = PgDatabase::new();
    let unchecked = json!({"host": sshd.host, "port": sshd.port, "username": sshd.user,
        "private_key": path_text(&sshd.rsa_pem_key)});
    let tap = mysql.connection_config(json!({
        "ssh_tunnel": unchecked, "select": [format!("{}.items", mysql.name)]
    }));
    let target = target_config(
        &mysql_warehouse,
        json!({"ssh_tunnel": tunnel(&sshd, json!({"private_key": path_text(&sshd.ecdsa_key)}))}),
    );
    let output = pipeline("tap-mysql", &tap, &target);
    output.assert_success();
    assert!(
        output.tap_stderr.contains("not checked")
            && output.tap_stderr.contains(&sshd.host_key_fingerprint),
        "{}",
        output.tap_stderr
    );
    assert_eq!(mysql_arrived(&mysql_warehouse), mysql_expected(&mysql));
}

#[test]
fn tls_through_a_tunnel_still_verifies_the_database_name() {
    let sshd = Sshd::start();
    let ca = path_text(&certs().ca);
    let key = tunnel(&sshd, json!({"private_key": path_text(&sshd.ed25519_key)}));

    let pg = PgDatabase::new_tls();
    pg.execute(PG_ITEMS);
    let config = |host: &str| {
        pg.connection_config(json!({"host": host, "sslmode": "verify-full",
                                    "sslrootcert": ca, "ssh_tunnel": key}))
    };
    discover("tap-postgres", &config("localhost")).assert_success();
    discovery_fails(
        "tap-postgres",
        &config("127.0.0.1"),
        &["not issued for the host name"],
    );

    let my = MysqlDatabase::new_tls();
    mysql_items(&my);
    let config = |host: &str| {
        my.connection_config(
            json!({"host": host, "sslmode": "verify-full", "sslrootcert": ca,
                                    "ssh_tunnel": key, "filter_dbs": my.name}),
        )
    };
    discover("tap-mysql", &config("localhost")).assert_success();
    discovery_fails(
        "tap-mysql",
        &config("127.0.0.1"),
        &["not issued for the host name"],
    );
}

#[test]
fn bastion_problems_are_named() {
    let sshd = Sshd::start();
    let db = PgDatabase::new();
    let key = path_text(&sshd.ed25519_key);
    let bastion = format!("@127.0.0.1:{}", sshd.port);
    let run = |block: Value| {
        let config = db.connection_config(json!({"ssh_tunnel": block}));
        let started = Instant::now();
        let stderr = discovery_fails("tap-postgres", &config, &["ssh tunnel through ", &bastion]);
        assert!(started.elapsed() < Duration::from_secs(60), "{block}");
        stderr
    };

    let pinned = run(tunnel(
        &sshd,
        json!({"private_key": key, "known_hosts": null,
               "host_key_fingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    ));
    assert!(pinned.contains(&sshd.host_key_fingerprint), "{pinned}");

    let empty_known_hosts = TempDir::new().unwrap();
    let file = empty_known_hosts.path().join("known_hosts");
    std::fs::write(&file, "").unwrap();
    let unknown = run(tunnel(
        &sshd,
        json!({"private_key": key, "known_hosts": path_text(&file)}),
    ));
    assert!(unknown.contains("ssh-keyscan"), "{unknown}");

    // Key problems are the config's, found before any connection.
    let key_problem = |block: Value| {
        discovery_fails(
            "tap-postgres",
            &db.connection_config(json!({"ssh_tunnel": block})),
            &[],
        )
    };
    let locked = key_problem(tunnel(
        &sshd,
        json!({"private_key": path_text(&sshd.rsa_key)}),
    ));
    assert!(
        locked.contains(
            "ssh_tunnel.private_key: the key is encrypted: set ssh_tunnel.private_key_password"
        ),
        "{locked}"
    );
    let wrong_phrase = key_problem(tunnel(
        &sshd,
        json!({"private_key": path_text(&sshd.rsa_key), "private_key_password": "nope"}),
    ));
    assert!(
        wrong_phrase.contains("wrong private_key_password"),
        "{wrong_phrase}"
    );

    let wrong_user = run(tunnel(
        &sshd,
        json!({"private_key": key, "username": "nobody-here"}),
    ));
    assert!(wrong_user.contains("refused the key"), "{wrong_user}");

    // The bastion down: nothing listens on its port any more.
    sshd.stop();
    let down = run(tunnel(&sshd, json!({"private_key": key})));
    assert!(down.contains(&sshd.port.to_string()), "{down}");
}

#[test]
fn a_tunnel_killed_mid_load_is_completed_exactly_by_the_rerun() {
    let source = PgDatabase::with_sql(
        "create table events (id integer primary key, body text); \
         insert into events select g, repeat(md5(g::text), 4) from generate_series(1, 200000) g",
    );
    let warehouse = PgDatabase::new();
    let configs = |sshd: &Sshd| {
        let block = tunnel(sshd, json!({"private_key": path_text(&sshd.ed25519_key)}));
        let tap = TapRun::postgres(
            &source,
            json!({"ssh_tunnel": block, "select": ["public.events"], "state_every_rows": 2000}),
        );
        let target = TargetRun::new(
            &warehouse,
            json!({"ssh_tunnel": block, "batch_size_rows": 5000}),
        );
        (tap, target)
    };

    let sshd = Sshd::start();
    let (tap_run, target_run) = configs(&sshd);
    let mut tap = tap_run
        .command(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut target = target_run
        .command()
        .stdin(Stdio::from(tap.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let tap_stderr = tap.stderr.take().unwrap();
    let tap_stderr = std::thread::spawn(move || std::io::read_to_string(tap_stderr).unwrap());
    let target_stderr = target.stderr.take().unwrap();
    let target_stderr = std::thread::spawn(move || std::io::read_to_string(target_stderr).unwrap());
    let mut states = Vec::new();
    for line in BufReader::new(target.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // The first committed state that covers rows: kill the bastion and its tunnels now.
        if line.contains("last_pk_fetched")
            && !states
                .iter()
                .any(|s: &String| s.contains("last_pk_fetched"))
        {
            sshd.stop();
        }
        states.push(line);
    }
    let target_status = target.wait().unwrap();
    let tap_status = tap.wait().unwrap();
    let (tap_stderr, target_stderr) = (tap_stderr.join().unwrap(), target_stderr.join().unwrap());
    assert_no_secrets(&tap_stderr);
    assert_no_secrets(&target_stderr);
    assert!(
        !target_status.success() || !tap_status.success(),
        "the load survived a dead tunnel?\n{tap_stderr}\n{target_stderr}"
    );
    assert!(
        format!("{tap_stderr}{target_stderr}").contains("ssh tunnel through"),
        "the bastion is not named:\n--- tap\n{tap_stderr}\n--- target\n{target_stderr}"
    );

    // Every state printed is covered by committed rows.
    let last: Value =
        serde_json::from_str(states.last().expect("a state before the kill")).unwrap();
    let covered = last["bookmarks"]["public-events"]["last_pk_fetched"]["id"]
        .as_i64()
        .unwrap_or(200_000);
    let loaded = query_text(
        &mut warehouse.client(),
        "select count(*) from warehouse.events",
    );
    let loaded: i64 = loaded[0][0].as_deref().unwrap().parse().unwrap();
    assert!(
        loaded >= covered,
        "state covers {covered} rows, {loaded} loaded"
    );
    assert!(loaded < 200_000, "the kill came after the whole load");

    // A new bastion; the rerun from the last state completes the table exactly.
    let sshd = Sshd::start();
    let (tap, target) = configs(&sshd);
    let rerun = tap.run_into(&target, Some(&last));
    rerun.assert_success();
    let query = "select id, body from {schema}.events order by id";
    let expected = query_text(&mut source.client(), &query.replace("{schema}", "public"));
    let arrived = query_text(
        &mut warehouse.client(),
        &query
            .replace("{schema}", SCHEMA)
            .replace("order by", "where _sdc_deleted_at is null order by"),
    );
    assert_eq!(arrived.len(), 200_000);
    assert_eq!(arrived, expected);
    assert!(!emitted_states(&rerun.target).is_empty());
}

#[test]
fn config_keys_are_checked_before_connecting() {
    // A near miss stops the program before any connection: the port here is closed.
    let config = json!({"host": "127.0.0.1", "port": 1, "user": "u", "pasword": "x",
                        "dbname": "d"});
    for program in ["tap-postgres", "tap-mysql"] {
        let output = discover(program, &config);
        assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
        assert!(
            output.stderr.contains("pasword") && output.stderr.contains("`password`"),
            "{}",
            output.stderr
        );
    }
    let target = json!({"host": "127.0.0.1", "port": 1, "user": "u", "dbname": "d",
                        "default_target_shema": "x"});
    let output = run_with_config("target-postgres", &target, &["--check"]);
    assert!(
        output.stderr.contains("`default_target_schema`"),
        "{}",
        output.stderr
    );
    // Meltano's disabled tunnel block and unknown keys are accepted (the latter with a warning).
    let db = PgDatabase::new();
    let output = discover(
        "tap-postgres",
        &db.connection_config(json!({"ssh_tunnel": {"enable": false},
                                     "logical_poll_total_seconds": 10})),
    );
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stderr.contains("logical_poll_total_seconds"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_server_that_accepts_and_never_answers_is_given_up_on() {
    // The kernel completes the TCP handshake; nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let base = json!({"host": "127.0.0.1", "port": port, "user": "u", "dbname": "d",
                      "connect_timeout": 2});
    let bounded = |program: &str, config: &Value, args: &[&str]| {
        // The bound is the program's: its first use in a test binary may build the programs.
        tests::bin::binary_path(program);
        let started = Instant::now();
        let output = run_with_config(program, config, args);
        assert!(!output.status.success());
        assert!(started.elapsed() < Duration::from_secs(20), "{program}");
        output.stderr
    };
    for program in ["tap-postgres", "tap-mysql"] {
        let stderr = bounded(program, &base, &["--discover"]);
        assert!(
            stderr.contains("no answer within 2 s"),
            "{program}: {stderr}"
        );
    }
    let target = merged(base.clone(), json!({"default_target_schema": "s"}));
    let stderr = bounded("target-postgres", &target, &["--check"]);
    assert!(stderr.contains("no answer within 2 s"), "{stderr}");
    // A bastion that never speaks SSH.
    let sshd = Sshd::start();
    let tunnelled = merged(
        base,
        json!({"ssh_tunnel": {"host": "127.0.0.1", "port": port, "username": "u",
                              "private_key": path_text(&sshd.ed25519_key)}}),
    );
    let stderr = bounded("tap-postgres", &tunnelled, &["--discover"]);
    assert!(
        stderr.contains(&format!(
            "ssh tunnel through u@127.0.0.1:{port}: no SSH handshake within 2 s"
        )),
        "{stderr}"
    );
    drop(silent);
}

#[test]
fn a_refused_login_is_one_readable_sentence() {
    let db = MysqlDatabase::new();
    let output = discover(
        "tap-mysql",
        &db.connection_config(json!({"password": "wrong-password"})),
    );
    assert!(!output.status.success());
    assert!(
        output.stderr.contains("Access denied") && output.stderr.contains("(error 1045)"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("MySqlError {") && !output.stderr.contains("wrong-password"),
        "{}",
        output.stderr
    );
}

#[test]
fn log_based_replication_over_tls_through_a_bastion() {
    // The replication connection (our own wire protocol client) reaches a PostgreSQL that
    // refuses plaintext, through the tunnel, verifying the database's name.
    let sshd = Sshd::start();
    let source = PgDatabase::new_tls();
    source.execute(PG_ITEMS);
    let warehouse = PgDatabase::new();
    let tap = source.connection_config(json!({
        "host": "localhost", "sslmode": "verify-full", "sslrootcert": certs().pem(&certs().ca),
        "ssh_tunnel": tunnel(&sshd, json!({"private_key_path": path_text(&sshd.ed25519_key)})),
        "select": [{"table": "public.items", "replication_method": "LOG_BASED"}]
    }));
    let target = TargetRun::new(&warehouse, json!({}));
    let tap = TapRun::with_config("tap-postgres", &tap);
    let first = tap.run_into(&target, None);
    first.assert_success();
    let state = emitted_states(&first.target).pop().expect("a state");
    source.execute(
        "update items set price = price + 1 where id <= 100; delete from items where id > 400",
    );
    let second = tap.run_into(&target, Some(&state));
    second.assert_success();
    assert_no_secrets(&second.tap_stderr);
    let live = PG_ITEMS_QUERY.replace(
        "{schema}.items",
        "{schema}.items where _sdc_deleted_at is null",
    );
    let arrived = query_text(&mut warehouse.client(), &live.replace("{schema}", SCHEMA));
    let expected = query_text(
        &mut source.client(),
        &PG_ITEMS_QUERY.replace("{schema}", "public"),
    );
    assert_eq!(arrived.len(), 400);
    assert_eq!(arrived, expected);
}
