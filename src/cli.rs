//! The command line, as the user types it (clap derive): the subcommands and the flags they all
//! share. Each subcommand's own flags live with it in [`crate::cmd`]; clap itself rejects unknown
//! flags and malformed values with exit code 2.

use crate::cmd::args::ColorChoice;
use crate::cmd::{self, demo::DemoArgs, listeners::ListenersArgs, run::RunArgs, scan::ScanArgs};
use crate::cmd::{completions::CompletionsArgs, man::ManArgs, tls::TlsArgs, validate::ValidateArgs};
use clap::{CommandFactory, Parser, Subcommand};

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
    /// Firewall audit: scan a host's TCP ports from here and flag open ports outside --allow.
    #[command(after_help = cmd::scan::HELP)]
    Scan(ScanArgs),
    /// The inside view: this host's listening sockets and the addresses they are bound to.
    Listeners(ListenersArgs),
    /// Start two loopback services and run a built-in example against them.
    Demo(DemoArgs),
    /// Audit a TLS server: accepted versions and suites, the handshake, the certificate.
    #[command(after_help = EXIT_CODES)]
    Tls(TlsArgs),
    /// Print the JSON Schema of the JSON report.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page of reach, or of one of its commands, in roff.
    Man(ManArgs),
}

/// Runs the command the user asked for and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let color = cli.color;
    match cli.command {
        Command::Run(args) => cmd::run::execute(*args, color),
        Command::Validate(args) => cmd::validate::execute(&args),
        Command::Scan(args) => cmd::scan::execute(args, color),
        Command::Listeners(args) => cmd::listeners::execute(&args, color),
        Command::Demo(args) => cmd::demo::execute(&args, color),
        Command::Tls(args) => cmd::tls::execute(args, color),
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
}
