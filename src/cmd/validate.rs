//! `reach validate FILE...`: parse and check check files without touching the network.

use super::args::VarArgs;
use super::exit;
use super::run::{overrides, warn_unused_vars};
use super::session::print;
use crate::spec::{self, LoadOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check files to validate.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn execute(args: &ValidateArgs) -> u8 {
    let options = LoadOptions {
        overrides: overrides(&args.vars),
        ..LoadOptions::default()
    };
    let loaded = spec::load_files(&args.files, &options);
    warn_unused_vars(&options.overrides);
    match loaded {
        Ok(plan) => {
            let files = plan.files.len();
            let checks = plan.checks.len();
            let plural = if files == 1 { "" } else { "s" };
            print(&format!("ok: {checks} checks in {files} file{plural}\n"))
        }
        Err(errors) => {
            crate::cmd::stderr_line!("{errors}");
            exit::USAGE
        }
    }
}
