use std::process::ExitCode;

use common::cli::{TapArgs, failure_exit_code};

fn main() -> ExitCode {
    common::logging::init();
    let args = TapArgs::parse_for(
        tap_postgres::NAME,
        tap_postgres::VERSION,
        tap_postgres::DESCRIPTION,
    );
    let result = args
        .into_command()
        .map_err(anyhow::Error::from)
        .and_then(|command| tap_postgres::run(command).map_err(anyhow::Error::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => failure_exit_code(err.as_ref()),
    }
}
