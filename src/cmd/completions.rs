//! `reach completions SHELL`: a completion script for bash, zsh, fish, elvish or PowerShell,
//! generated from the same definition that parses the command line, so it never drifts.

use super::exit;
use clap::Args;
use clap_complete::{Generator, Shell};
use std::io::{self, Write};

#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes:
  0  the script was written (or its reader closed the pipe)
  2  bad usage, or stdout could not be written

Examples (install):
  bash:  reach completions bash > ~/.local/share/bash-completion/completions/reach
  zsh:   reach completions zsh > ~/.zfunc/_reach   (with fpath+=(~/.zfunc) before compinit)
  fish:  reach completions fish > ~/.config/fish/completions/reach.fish")]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Writes the script for `command` (the whole `reach` command line) to stdout.
pub fn execute(args: &CompletionsArgs, mut command: clap::Command) -> u8 {
    command.set_bin_name("reach");
    command.build();
    let mut out = io::stdout().lock();
    // `generate` panics on a write error; `reach completions bash | head` must not.
    let written = args
        .shell
        .try_generate(&command, &mut out)
        .and_then(|()| out.flush());
    match written {
        Ok(()) => exit::PASS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::PASS,
        Err(e) => {
            crate::cmd::stderr_line!("error: cannot write to stdout: {e}");
            exit::USAGE
        }
    }
}
