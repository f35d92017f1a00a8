//! `reach validate FILE...`: parse and check check files without touching the network.

use super::args::VarArgs;
use super::exit;
use super::run::{overrides, warn_unused_vars};
use super::session::print;
use crate::spec::{self, LoadOptions};
use clap::Args;
use std::path::PathBuf;

/// `reach validate --help`.
pub const HELP: &str = "\
A file whose required variables have no value is checked as far as it can be (keys, types, the
values that use no such variable) and the variables a run needs are listed; with --var, their
values are checked too.

Exit codes:
  0  every file is valid (as far as the values given allow)
  2  at least one error, each printed as FILE:LINE:COL, by line

Examples:
  reach validate checks/*.toml
  reach validate checks/flowsync.toml --var host=flowsync.example.com --var server_ip=203.0.113.10";

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
    let reports = spec::validate_files(&args.files, &options);
    warn_unused_vars(&options.overrides);
    let errors: Vec<spec::SpecError> = reports.iter().flat_map(|r| r.errors.clone()).collect();
    let text = summary(&reports);
    if !errors.is_empty() {
        crate::cmd::stderr_line!("{}", spec::SpecErrors(errors));
        print(&text);
        return exit::USAGE;
    }
    print(&text)
}

/// One line per file that needs variables, then the verdict (when nothing is wrong).
fn summary(reports: &[spec::FileReport]) -> String {
    let mut text = String::new();
    for report in reports
        .iter()
        .filter(|r| r.errors.is_empty() && !r.needs.is_empty())
    {
        let needs: Vec<&str> = report.needs.iter().map(String::as_str).collect();
        text.push_str(&format!(
            "{}: structure ok; needs variables: {}\n",
            report.file,
            needs.join(", ")
        ));
    }
    if reports.iter().any(|r| !r.errors.is_empty()) {
        return text;
    }
    let files = reports.len();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let needing = reports.iter().filter(|r| !r.needs.is_empty()).count();
    if needing == 0 {
        let checks: usize = reports.iter().map(|r| r.checks).sum();
        text.push_str(&format!("ok: {checks} checks in {files} file{}\n", plural(files)));
    } else {
        text.push_str(&format!(
            "ok: {files} file{} valid as far as values are given; pass --var NAME=VALUE to check the values of the variables above too\n",
            plural(files)
        ));
    }
    text
}
