//! The command line, as the user types it (clap derive): the subcommands and the flags they all
//! share. Each subcommand's own flags live with it in [`crate::cmd`]; clap itself rejects unknown
//! flags and malformed values with exit code 2.

use crate::cmd::exit;
use crate::cmd::{self, demo::DemoArgs, listeners::ListenersArgs, run::RunArgs, scan::ScanArgs};
use crate::cmd::{
    completions::CompletionsArgs, man::ManArgs, serve::ServeArgs, tls::TlsArgs, validate::ValidateArgs,
};
use crate::report::Format;
use clap::{CommandFactory, Parser, Subcommand};

const EXIT_CODES: &str = concat!(
    "Exit codes (of the commands that run checks; each command's --help lists its own):\n",
    cmd::run::run_exit_codes!(),
    "
Example:
  reach run checks/flowsync.toml --var host=flowsync.example.com --var server_ip=203.0.113.10"
);

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run check files and report whether every requirement holds.
    #[command(after_help = cmd::run::HELP)]
    Run(Box<RunArgs>),
    /// Parse and check check files without touching the network.
    #[command(after_help = cmd::validate::HELP)]
    Validate(ValidateArgs),
    /// Firewall audit: scan a host's TCP ports from here and flag open ports outside --allow.
    #[command(after_help = cmd::scan::HELP)]
    Scan(ScanArgs),
    /// The inside view: this host's listening sockets and the addresses they are bound to.
    #[command(after_help = cmd::listeners::HELP)]
    Listeners(ListenersArgs),
    /// Start two loopback services and run a built-in example against them.
    Demo(DemoArgs),
    /// Audit a TLS server: accepted versions and suites, the handshake, the certificate.
    #[command(after_help = cmd::tls::HELP)]
    Tls(TlsArgs),
    /// Prometheus exporter: /probe runs a check file against a target when asked, --every runs
    /// the files on a schedule, /metrics shows their latest results.
    Serve(Box<ServeArgs>),
    /// Print the JSON Schema of the JSON report.
    #[command(after_help = cmd::schema::HELP)]
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page of reach, or of one of its commands, in roff.
    Man(ManArgs),
}

/// Parses the command line. On a usage error clap prints the error and exits 2, except that a
/// Nagios plugin (`--format nagios`) must say UNKNOWN: then the error goes to stderr, a status
/// line to stdout, and the code to return is 3.
pub fn parse() -> Result<Cli, u8> {
    Cli::try_parse().or_else(|error| {
        if error.use_stderr() && nagios_requested(std::env::args_os().skip(1)) {
            let _ = error.print();
            crate::cmd::stdout_line!("{NAGIOS_USAGE}");
            Err(exit::UNOBSERVED)
        } else {
            error.exit()
        }
    })
}

/// The status line of a Nagios run that could not start.
const NAGIOS_USAGE: &str =
    "REACH UNKNOWN - bad usage or check file: nothing was probed (the reason is on stderr)";

/// Whether the raw arguments ask for `--format nagios` (they did not parse, so clap cannot say).
fn nagios_requested(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.collect();
    args.iter().enumerate().any(|(i, arg)| {
        arg == "--format=nagios"
            || (arg == "--format" && args.get(i + 1).is_some_and(|next| next == "nagios"))
    })
}

impl Command {
    /// The report format the command was asked for, for commands that run checks.
    fn format(&self) -> Option<Format> {
        match self {
            Command::Run(args) => Some(args.output.format),
            Command::Scan(args) => Some(args.output.format),
            Command::Listeners(args) => Some(args.output.format),
            Command::Demo(args) => Some(args.output.format),
            Command::Tls(args) => Some(args.output.format),
            _ => None,
        }
    }
}

/// Runs the command the user asked for and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let nagios = cli.command.format() == Some(Format::Nagios);
    let code = dispatch(cli);
    if nagios && code == exit::USAGE && !cmd::session::probed() {
        // Usage errors were printed on stderr; a Nagios plugin says UNKNOWN, never CRITICAL (2).
        crate::cmd::stdout_line!("{NAGIOS_USAGE}");
        return exit::UNOBSERVED;
    }
    code
}

fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Run(args) => {
            let color = args.output.color;
            cmd::run::execute(*args, color)
        }
        Command::Validate(args) => cmd::validate::execute(&args),
        Command::Scan(args) => {
            let color = args.output.color;
            cmd::scan::execute(args, color)
        }
        Command::Listeners(args) => cmd::listeners::execute(&args, args.output.color),
        Command::Demo(args) => cmd::demo::execute(&args, args.output.color),
        Command::Tls(args) => {
            let color = args.output.color;
            cmd::tls::execute(args, color)
        }
        Command::Serve(args) => cmd::serve::execute(*args),
        Command::Schema => cmd::schema::execute(),
        Command::Completions(args) => cmd::completions::execute(&args, Cli::command()),
        Command::Man(args) => cmd::man::execute(&args, Cli::command()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn nagios_is_recognised_in_arguments_that_do_not_parse() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert!(nagios_requested(args(&["run", "--format", "nagios", "--bogus"])));
        assert!(nagios_requested(args(&["run", "--format=nagios"])));
        assert!(!nagios_requested(args(&["run", "--format", "json", "nagios"])));
    }
}
