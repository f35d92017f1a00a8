//! The `reach` binary: parse the command line, run, exit with the result's code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match reach::cli::parse() {
        Ok(cli) => ExitCode::from(reach::cli::run(cli)),
        Err(code) => ExitCode::from(code),
    }
}
