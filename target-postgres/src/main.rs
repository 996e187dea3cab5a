use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use common::cli::failure_exit_code;
use target_postgres::TargetArgs;

fn main() -> ExitCode {
    common::logging::init();
    let matches = TargetArgs::command()
        .name(target_postgres::NAME)
        .version(target_postgres::VERSION)
        .about(target_postgres::DESCRIPTION)
        .get_matches();
    let args = TargetArgs::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match target_postgres::run(args).map_err(anyhow::Error::from) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => failure_exit_code(err.as_ref()),
    }
}
