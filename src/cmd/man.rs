//! `reach man [COMMAND]`: the manual page of reach, or of one of its commands, in roff, generated
//! from the same definition that parses the command line.

use super::exit;
use clap::Args;
use std::io::{self, Write};

#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes:
  0  the page was written (or its reader closed the pipe)
  2  bad usage (no such command), or stdout could not be written

Examples: read it with `reach man | man -l -`, or install the pages:
  reach man > /usr/local/share/man/man1/reach.1
  reach man run > /usr/local/share/man/man1/reach-run.1")]
pub struct ManArgs {
    /// A command whose page to print (run, scan, tls...); without one, the page of reach itself.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

pub fn execute(args: &ManArgs, command: clap::Command) -> u8 {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone().version(env!("CARGO_PKG_VERSION")),
            None => {
                let names: Vec<_> = command
                    .get_subcommands()
                    .map(|c| c.get_name().to_owned())
                    .collect();
                crate::cmd::stderr_line!(
                    "error: no command `{name}`: the commands are {}",
                    names.join(", ")
                );
                return exit::USAGE;
            }
        },
    };
    let mut out = io::stdout().lock();
    match clap_mangen::Man::new(page)
        .render(&mut out)
        .and_then(|()| out.flush())
    {
        Ok(()) => exit::PASS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::PASS,
        Err(e) => {
            crate::cmd::stderr_line!("error: cannot write to stdout: {e}");
            exit::USAGE
        }
    }
}
