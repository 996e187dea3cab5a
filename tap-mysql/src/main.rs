use std::process::ExitCode;

fn main() -> ExitCode {
    common::tap::main::<tap_mysql::MysqlTap>()
}
