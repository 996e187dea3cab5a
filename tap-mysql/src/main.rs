use std::process::ExitCode;

use common::cli::{TapArgs, exit_code};

fn main() -> ExitCode {
    common::logging::init();
    let args = TapArgs::parse_for(tap_mysql::NAME, tap_mysql::VERSION, tap_mysql::DESCRIPTION);
    let result = args
        .into_command()
        .map_err(anyhow::Error::from)
        .and_then(|command| tap_mysql::run(command).map_err(anyhow::Error::from));
    exit_code(result.as_ref().map_err(|err| err.as_ref() as _).copied())
}
