//! Running the workspace's programs as a user does: with arguments, stdin, and shell-style pipes.
//!
//! Programs are found beside the test binary's build directory (`target/debug/`), or in
//! `SINGER_BIN_DIR`. Cargo builds only what a test links, not the workspace's other binaries, so
//! the first use in each test binary runs `cargo build --workspace --bins` for the same profile:
//! `cargo test` alone never runs a program older than its source (a no-op build when nothing
//! changed). With `SINGER_BIN_DIR`, the programs there are used as they are.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use common::Message;
use common::message::ParsedLine;

/// Writes `value` as JSON to `dir/name` and returns the path as text, for a program argument.
pub fn write_json(dir: &std::path::Path, name: &str, value: &serde_json::Value) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(value).expect("serialisable"),
    )
    .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}

/// The path of a workspace program such as `tap-postgres`.
pub fn binary_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("SINGER_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/debug/deps/<test binary> → target/debug
            let exe = std::env::current_exe().expect("cannot locate the test binary");
            let deps = exe.parent().expect("test binary has no directory");
            let dir = deps.parent().unwrap_or(deps).to_path_buf();
            build_programs_once(&dir);
            dir
        });
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "program {name} not found at {}: build it with `cargo build --bins` (`just test` does), \
         or set SINGER_BIN_DIR",
        path.display()
    );
    path
}

/// Builds the workspace's programs into `dir` (a Cargo profile directory), once per test binary.
fn build_programs_once(dir: &std::path::Path) {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = match dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") | None => "dev",
            Some(other) => other,
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests package sits in the workspace");
        let output = Command::new(cargo)
            .args([
                "build",
                "--workspace",
                "--bins",
                "--quiet",
                "--profile",
                profile,
            ])
            .current_dir(workspace)
            .output()
            .unwrap_or_else(|err| panic!("cannot run cargo to build the programs: {err}"));
        assert!(
            output.status.success(),
            "building the programs failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// A command for a workspace program.
pub fn command(name: &str) -> Command {
    Command::new(binary_path(name))
}

/// What a finished program left.
#[derive(Debug)]
pub struct RunOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl RunOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stdout parsed as Singer messages; panics, naming the line, on anything else.
    pub fn messages(&self) -> Vec<Message> {
        parse_messages(&self.stdout)
    }

    /// Panics with stderr when the program failed.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "program failed with {}:\n{}",
            self.status,
            self.stderr
        );
        self
    }

    /// Panics unless the program failed with each of `parts` in its stderr.
    pub fn assert_failure(&self, parts: &[&str]) -> &Self {
        assert!(
            !self.status.success(),
            "the program succeeded:\n{}",
            self.stderr
        );
        self.assert_stderr_has(parts)
    }

    /// Panics unless each of `parts` is in stderr.
    pub fn assert_stderr_has(&self, parts: &[&str]) -> &Self {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "stderr lacks {part:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// Parses Singer output, panicking with the line at fault.
pub fn parse_messages(stdout: &[u8]) -> Vec<Message> {
    String::from_utf8_lossy(stdout)
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .filter_map(
            |(index, line)| match Message::parse(line, index as u64 + 1) {
                Ok(ParsedLine::Message(message)) => Some(message),
                Ok(ParsedLine::Unknown { .. }) => None,
                Err(err) => panic!("{err}: {line}"),
            },
        )
        .collect()
}

/// Runs a workspace program to completion with `stdin` as its input.
pub fn run_binary(name: &str, args: &[&str], stdin: &[u8]) -> RunOutput {
    run(command(name), args, stdin)
}

/// Runs any command to completion with `stdin` as its input.
pub fn run(mut command: Command, args: &[&str], stdin: &[u8]) -> RunOutput {
    let mut child = spawn(command.args(args), Stdio::piped());
    let input = stdin.to_vec();
    let mut child_stdin = child.stdin.take().expect("stdin is piped");
    // A program may exit without reading all its input; that is its business, not an error here.
    let writer = std::thread::spawn(move || {
        let _ignored = child_stdin.write_all(&input);
    });
    let output = wait_for_output(&mut child);
    let _ignored = writer.join();
    output
}

/// `tap … | target …`: two commands joined by a pipe, as a shell joins them.
#[derive(Debug)]
pub struct Pipeline {
    pub tap: Command,
    pub target: Command,
}

/// Both sides of a finished pipe.
#[derive(Debug)]
pub struct PipelineOutput {
    pub tap_status: ExitStatus,
    pub tap_stderr: String,
    pub target: RunOutput,
}

impl PipelineOutput {
    /// Panics with both stderrs unless both sides succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.tap_status.success() && self.target.status.success(),
            "pipeline failed: tap {}, target {}\n--- tap stderr\n{}\n--- target stderr\n{}",
            self.tap_status,
            self.target.status,
            self.tap_stderr,
            self.target.stderr
        );
        self
    }
}

impl Pipeline {
    /// Workspace programs with their arguments.
    pub fn new(tap: &str, tap_args: &[&str], target: &str, target_args: &[&str]) -> Self {
        let mut tap = command(tap);
        tap.args(tap_args);
        let mut target = command(target);
        target.args(target_args);
        Self { tap, target }
    }

    /// Any two commands.
    pub fn of(tap: Command, target: Command) -> Self {
        Self { tap, target }
    }

    pub fn run(self) -> PipelineOutput {
        self.start().finish()
    }

    /// Starts both sides and returns at once; the caller may read `target.stdout` as it comes,
    /// or signal either side, before [`RunningPipeline::finish`].
    pub fn start(mut self) -> RunningPipeline {
        let mut tap = spawn(&mut self.tap, Stdio::null());
        let pipe = tap.stdout.take().expect("stdout is piped");
        let mut target = spawn(&mut self.target, Stdio::from(pipe));
        RunningPipeline {
            tap_stderr: read_in_background(tap.stderr.take()),
            target_stderr: read_in_background(target.stderr.take()),
            tap,
            target,
        }
    }
}

/// A started pipe: both programs running, their stderr read in the background.
#[derive(Debug)]
pub struct RunningPipeline {
    pub tap: Child,
    pub target: Child,
    tap_stderr: JoinHandle<Vec<u8>>,
    target_stderr: JoinHandle<Vec<u8>>,
}

impl RunningPipeline {
    /// Reads what is left of the target's stdout (nothing when the caller took it), and waits
    /// for both sides.
    pub fn finish(mut self) -> PipelineOutput {
        let mut stdout = Vec::new();
        if let Some(mut source) = self.target.stdout.take() {
            source.read_to_end(&mut stdout).expect("cannot read stdout");
        }
        let status = self.target.wait().expect("cannot wait for the target");
        let tap_status = self.tap.wait().expect("cannot wait for the tap");
        PipelineOutput {
            tap_status,
            tap_stderr: join_text(self.tap_stderr),
            target: RunOutput {
                status,
                stdout,
                stderr: join_text(self.target_stderr),
            },
        }
    }
}

/// Starts `command` reading `stdin`, its stdout and stderr piped.
fn spawn(command: &mut Command, stdin: Stdio) -> Child {
    command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"))
}

/// Reads a started program's stdout to its end and its stderr alongside, and waits for it.
fn wait_for_output(child: &mut Child) -> RunOutput {
    let stderr = read_in_background(child.stderr.take());
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut stdout)
        .expect("cannot read stdout");
    let status = child.wait().expect("cannot wait for the program");
    RunOutput {
        status,
        stdout,
        stderr: join_text(stderr),
    }
}

fn read_in_background(source: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut source) = source {
            let _ignored = source.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn join_text(handle: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&handle.join().unwrap_or_default()).into_owned()
}
