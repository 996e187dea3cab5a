//! Stopping the servers whatever way the test binary ends.
//!
//! Statics are never dropped, so servers are stopped by an `atexit` handler (normal exit, including
//! `exit(101)` after failed tests) and, if the binary is killed, by a watchdog: a small shell loop
//! in its own process group that waits for the binary to disappear, then runs the same cleanup.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};

type Cleanup = Box<dyn FnOnce() + Send>;

static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());

/// Runs `cleanup` when the process exits normally.
pub(crate) fn on_exit(cleanup: impl FnOnce() + Send + 'static) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(register_atexit);
    CLEANUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(Box::new(cleanup));
}

#[allow(unsafe_code)]
fn register_atexit() {
    // SAFETY: `run_cleanups` is an `extern "C"` function without arguments that never unwinds
    // across the FFI boundary (it catches panics); `atexit` only stores the pointer.
    let registered = unsafe { libc::atexit(run_cleanups) };
    assert_eq!(registered, 0, "atexit refused the server cleanup");
}

extern "C" fn run_cleanups() {
    let cleanups = std::mem::take(
        &mut *CLEANUPS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    for cleanup in cleanups.into_iter().rev() {
        let _ignored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(cleanup));
    }
}

/// Starts a watchdog that runs the shell `script` once this process has gone.
pub(crate) fn watchdog(script: &str) {
    let pid = std::process::id();
    let body = format!("while kill -0 {pid} 2>/dev/null; do sleep 1; done; {script}");
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(body)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C aimed at the tests must not stop the watchdog too.
        .process_group(0)
        .spawn();
    if let Err(err) = spawned {
        panic!("could not start the server watchdog: {err}");
    }
}

/// Quotes a path for a POSIX shell.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Whether this process runs as root (database servers then run as the `postgres` user or with
/// `--user=root`).
pub(crate) fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
