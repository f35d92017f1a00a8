//! The `reach` binary: parse the command line, run, exit with the result's code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(reach::cli::run(reach::cli::Cli::parse()))
}
