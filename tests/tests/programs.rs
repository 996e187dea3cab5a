//! The built programs run as users run them: `--about`, bad config, and a shell-style pipe.

use std::process::Command;

use serde_json::Value;
use tests::Pipeline;
use tests::bin::{command, run, run_binary};

const PROGRAMS: [&str; 3] = ["tap-postgres", "tap-mysql", "target-postgres"];

#[test]
fn every_program_describes_itself_like_an_sdk_plugin() {
    for program in PROGRAMS {
        let output = run_binary(program, &["--about", "--format", "json"], b"");
        output.assert_success();
        let about: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(about["name"], program);
        assert_eq!(about["version"], env!("CARGO_PKG_VERSION"));
        assert!(
            about["capabilities"].as_array().unwrap().len() >= 3,
            "{about}"
        );
        let settings = &about["settings"];
        assert_eq!(settings["type"], "object");
        for key in ["host", "port", "user", "password", "dbname", "ssh_tunnel"] {
            assert!(
                settings["properties"].get(key).is_some(),
                "{program} lacks {key}"
            );
        }
        assert_eq!(settings["properties"]["password"]["secret"], true);

        let markdown = run_binary(program, &["--about"], b"");
        markdown.assert_success();
        assert!(
            markdown
                .stdout_text()
                .starts_with(&format!("# `{program}`"))
        );
    }
}

#[test]
fn taps_declare_singer_capabilities() {
    for tap in ["tap-postgres", "tap-mysql"] {
        let output = run_binary(tap, &["--about", "--format", "json"], b"");
        let about: Value = serde_json::from_slice(&output.stdout).unwrap();
        for capability in ["catalog", "discover", "state", "properties", "log-based"] {
            assert!(
                about["capabilities"]
                    .as_array()
                    .unwrap()
                    .contains(&capability.into()),
                "{tap} lacks {capability}"
            );
        }
    }
}

#[test]
fn a_bad_config_names_the_key_and_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"host": "localhost", "user": "etl", "password": "hunter2-secret", "port": "five"}"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for tap in ["tap-postgres", "tap-mysql"] {
        let output = run_binary(tap, &["--config", config, "--discover"], b"");
        assert!(!output.status.success());
        assert!(output.stderr.contains("port"), "{}", output.stderr);
        assert!(!output.stderr.contains("hunter2"), "{}", output.stderr);
        assert!(
            output.stdout.is_empty(),
            "stdout is for Singer messages only"
        );
    }
    let output = run_binary("target-postgres", &["--config", config], b"");
    assert!(!output.status.success());
    assert!(output.stderr.contains("port"), "{}", output.stderr);
    assert!(!output.stderr.contains("hunter2"), "{}", output.stderr);
}

#[test]
fn missing_arguments_fail_with_usage() {
    let output = run_binary("tap-postgres", &["--discover"], b"");
    assert!(!output.status.success());
    assert!(output.stderr.contains("--config"), "{}", output.stderr);
    let output = run_binary("target-postgres", &[], b"");
    assert!(!output.status.success());
    assert!(output.stderr.contains("--config"), "{}", output.stderr);
}

#[test]
fn a_pipe_carries_one_program_into_another() {
    let mut tap = command("tap-mysql");
    tap.args(["--about", "--format", "json"]);
    let output = Pipeline::of(tap, Command::new("cat")).run();
    output.assert_success();
    let about: Value = serde_json::from_slice(&output.target.stdout).unwrap();
    assert_eq!(about["name"], "tap-mysql");
}

#[test]
fn a_failing_side_of_a_pipe_is_reported() {
    let mut failing = Command::new("sh");
    failing.args(["-c", "echo oops >&2; exit 3"]);
    let output = Pipeline::of(failing, Command::new("cat")).run();
    assert_eq!(output.tap_status.code(), Some(3));
    assert_eq!(output.tap_stderr, "oops\n");
    assert!(output.target.status.success());

    let input = concat!(
        r#"{"type":"SCHEMA","stream":"s","schema":{},"key_properties":[]}"#,
        "\n",
        r#"{"type":"RECORD","stream":"s","record":{"n":1.000000000000000000001}}"#,
        "\n"
    );
    let echoed = run(Command::new("cat"), &[], input.as_bytes());
    let messages = echoed.messages();
    assert_eq!(messages.len(), 2);
    let common::Message::Record(record) = &messages[1] else {
        panic!("expected a RECORD")
    };
    assert_eq!(record.record["n"].to_string(), "1.000000000000000000001");
}

/// Without a terminal, progress is a log line at the configured interval, for taps and target.
#[test]
fn progress_lines_when_stderr_is_not_a_terminal() {
    use tests::bin::Pipeline;
    let db = tests::PgDatabase::new();
    db.client()
        .batch_execute(
            "create table t (id integer primary key, name text); \
             insert into t select g, 'n' || g from generate_series(1, 20000) g",
        )
        .unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let tap = tests::bin::write_json(
        dir.path(),
        "tap.json",
        &db.connection_config(serde_json::json!({"select": ["public.t"]})),
    );
    let target = tests::bin::write_json(
        dir.path(),
        "target.json",
        &db.connection_config(serde_json::json!({"default_target_schema": "w"})),
    );
    let mut tap_command = command("tap-postgres");
    tap_command
        .args(["--config", &tap])
        .env("SINGER_PROGRESS_SECONDS", "0");
    let mut target_command = command("target-postgres");
    target_command
        .args(["--config", &target])
        .env("SINGER_PROGRESS_SECONDS", "0");
    let output = Pipeline::of(tap_command, target_command).run();
    output.assert_success();
    let counts = |stderr: &str, what: &str| -> Vec<u64> {
        stderr
            .lines()
            .filter(|line| {
                line.contains(" progress ") && line.contains(&format!("what=\"{what}\""))
            })
            .map(|line| {
                let count = line.split("count=").nth(1).expect("a count");
                count.split(' ').next().unwrap().parse().unwrap()
            })
            .collect()
    };
    // A line every 4,096 rows at interval 0: 4096, 8192, 12288, 16384 for 20,000 rows.
    assert_eq!(
        counts(&output.tap_stderr, "rows"),
        [4096, 8192, 12288, 16384]
    );
    assert_eq!(
        counts(&output.target.stderr, "records"),
        [4096, 8192, 12288, 16384]
    );
}

#[test]
fn a_missing_config_is_a_usage_error() {
    for program in PROGRAMS {
        for args in [&[][..], &["--discover"][..], &["--check"][..]] {
            if program.starts_with("tap") == args.contains(&"--check") {
                continue;
            }
            let output = run_binary(program, args, b"");
            assert_eq!(
                output.status.code(),
                Some(2),
                "{program} {args:?}: {}",
                output.stderr
            );
            assert!(output.stderr.contains("--config"), "{}", output.stderr);
        }
    }
}

#[test]
fn help_promises_only_what_works() {
    for program in PROGRAMS {
        let output = run_binary(program, &["--help"], b"");
        output.assert_success();
        let help = output.stdout_text().to_lowercase();
        assert!(
            !help.contains("log-based") && !help.contains("binlog"),
            "{program}: {help}"
        );
    }
}
