//! `reach run FILE...`: load check files into one plan and run it.

use super::args::{
    parse_concurrency, parse_duration, parse_timeout, ColorChoice, ConnectArgs, OutputArgs, VarArgs,
};
use super::exit;
use super::session::{Environment, Session};
use crate::run::RunOptions;
use crate::spec::{self, vars::Overrides, LoadOptions};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// The exit codes of `reach run`, for its help and the top-level help (a literal, so that
/// `concat!` can put it into both).
macro_rules! run_exit_codes {
    () => {
        "  0    every check passed (checks skipped by --tag/--vantage do not count)
  1    at least one check failed
  2    nothing was checked: bad usage or a bad check file (nothing was probed), or every
       selected check was skipped
  3    at least one check could not be observed (error, or cut off by --deadline) and none
       failed, or the report could not be written, or another run held the lock of the -o
       file until --deadline
  130  interrupted by SIGINT (143: SIGTERM); no report is written
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too: see docs/exit-codes.md)
"
    };
}
pub(crate) use run_exit_codes;

/// `reach run --help`: what the exit code says, and a run to start from.
pub const HELP: &str = concat!(
    "Exit codes:\n",
    run_exit_codes!(),
    "
Examples:
  reach run checks/flowsync.toml --var host=flowsync.example.com --var server_ip=203.0.113.10
  reach run checks/*.toml --var host=app.example.com --tag core --vantage external \\
      --format json -o report.json"
);

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Check files (TOML) to run together; `-` reads one from stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Run only checks with this tag (repeatable: any of them); a TAG no check carries is an error.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// The vantage point this run is made from; checks bound to other vantage points are skipped.
    /// A NAME no check declares is an error.
    #[arg(long, value_name = "NAME")]
    pub vantage: Option<String>,

    /// Timeout of each attempt from start to end, replacing every check's own (e.g. 500ms, 3s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Extra attempts for inconclusive results (timeouts), replacing every check's own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: Option<u32>,

    /// How many checks may run at once.
    #[arg(long, value_name = "N", default_value_t = crate::run::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// Stop the whole run after this long; unfinished checks report what they had seen, or skip.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The `--var` values, over `REACH_VAR_*` from the environment.
pub fn overrides(vars: &VarArgs) -> Overrides {
    Overrides::from_process(vars.vars.iter().cloned().collect())
}

/// Warns about `--var` values that no file uses: a typo would otherwise go unnoticed.
pub fn warn_unused_vars(overrides: &Overrides) {
    for key in overrides.unused_cli_keys() {
        crate::cmd::stderr_line!("warning: --var {key} is not used by any check file");
    }
}

pub fn execute(args: RunArgs, color: ColorChoice) -> u8 {
    let options = LoadOptions {
        overrides: overrides(&args.vars),
        timeout: args.timeout,
        retries: args.retries,
    };
    let loaded = spec::load_files(&args.files, &options);
    warn_unused_vars(&options.overrides);
    let plan = match loaded {
        Ok(plan) => plan,
        Err(errors) => {
            crate::cmd::stderr_line!("{errors}");
            return exit::USAGE;
        }
    };
    let run_options = RunOptions {
        concurrency: args.concurrency,
        deadline: args.deadline,
        tags: args.tags,
        vantage: args.vantage,
    };
    match Session::new(&plan, args.connect, Environment::Process, &args.output, color) {
        Ok(session) => session
            .with_options(run_options)
            .with_inputs(args.files)
            .execute(plan),
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            exit::USAGE
        }
    }
}
