//! Logging to stderr; stdout is the protocol.
//!
//! The level comes from `RUST_LOG` (for example `RUST_LOG=debug` or `RUST_LOG=tap_mysql=trace`),
//! `info` by default. Colours only when stderr is a terminal.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. Calling it twice (tests running `run()` in-process) is harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
