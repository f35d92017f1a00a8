//! The `reach` binary: parse the command line, run, exit with the result's code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    reach::app::main(reach::cli::Cli::parse())
}
