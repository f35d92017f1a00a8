//! The command line, as the user types it (clap derive). Validation into run settings happens in
//! [`crate::app`]; clap itself rejects unknown flags and malformed values with exit code 2.

use crate::report::Format;
use crate::resolve::ResolveOverride;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed (checks skipped by --tag/--vantage do not count)
  1  at least one check failed
  2  bad usage or a bad check file: nothing was probed
  3  at least one check could not be observed (error, or cut off by --deadline) and none failed";

#[derive(Debug, Parser)]
#[command(
    name = "reach",
    version,
    about = "Network reachability tester: do this deployment's ports, names and endpoints match its requirements?",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour the human report.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run check files and report whether every requirement holds.
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Parse and check check files without touching the network.
    Validate(ValidateArgs),
    /// Start two loopback services and run a built-in example against them.
    Demo(DemoArgs),
    /// Print the JSON Schema of the JSON report.
    Schema,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Check files (TOML) to run together.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Run only checks with this tag (repeatable: any of them).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// The vantage point this run is made from; checks bound to other vantage points are skipped.
    #[arg(long, value_name = "NAME")]
    pub vantage: Option<String>,

    /// Timeout of each attempt, replacing every check's own (e.g. 500ms, 3s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Extra attempts for inconclusive results (timeouts), replacing every check's own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: Option<u32>,

    /// How many checks may run at once.
    #[arg(long, value_name = "N", default_value_t = crate::run::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// Stop the whole run after this long; unfinished checks are reported as skip.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

    /// Resolve HOST on PORT (or * for every port) to ADDR, like curl's flag (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<ResolveOverride>,

    /// Send every DNS lookup of the run to this server (ADDR or ADDR:PORT, UDP with TCP on
    /// truncation) instead of the system's resolv.conf servers; /etc/hosts is then not read.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = crate::dns::parse_server)]
    pub dns_server: Option<std::net::SocketAddr>,

    /// Trust exactly the certificate authorities in this PEM file instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VarArgs {
    /// Set a check-file variable, overriding REACH_VAR_<KEY> and the file's [vars] (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check files to validate.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = crate::spec::parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".to_owned());
    }
    Ok(duration)
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number from 1 to 100000")),
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    if !crate::spec::vars::is_var_name(key) {
        return Err(format!(
            "`{key}` is not a variable name: letters, digits, `_` and `-`"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn vars_split_at_the_first_equals_sign() {
        assert_eq!(parse_var("url=a=b"), Ok(("url".into(), "a=b".into())));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("1x=2").is_err());
    }
}
