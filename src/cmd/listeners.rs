//! `reach listeners`: an inventory of this host's listening sockets, plus one `listen` check per
//! `--internal` port (it must not listen on a wildcard address).

use super::args::{parse_transport_ports, ColorChoice, ConnectArgs, OutputArgs, TransportPortList};
use super::exit;
use super::session::{Environment, Session, View};
use crate::spec::command_line;
use clap::Args;

/// `reach listeners --help`.
pub const HELP: &str = "\
Exit codes:
  0  no --internal port listens on a wildcard address (or no --internal: an inventory)
  1  at least one --internal port listens on 0.0.0.0 or ::
  2  bad usage: nothing was read
  3  the socket tables could not be read, or the report could not be written
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too: see docs/exit-codes.md)

Examples:
  reach listeners
  sudo reach listeners --internal 5432,6379,udp/5353   (root: every socket's process)";

#[derive(Debug, Args)]
pub struct ListenersArgs {
    /// Ports that must not listen on a wildcard address (0.0.0.0 or ::): each one that does is a
    /// finding, a latent exposure that only the firewall protects. TCP unless the item says
    /// udp/PORT, e.g. 5432,6379,udp/5353.
    #[arg(long, value_name = "LIST", value_parser = parse_transport_ports)]
    pub internal: Option<TransportPortList>,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn execute(args: &ListenersArgs, color: ColorChoice) -> u8 {
    let internal = args.internal.as_ref().map_or(&[][..], |list| &list.0[..]);
    let plan = command_line::listeners(internal);
    match Session::new(
        &plan,
        ConnectArgs::default(),
        Environment::Isolated,
        &args.output,
        color,
    ) {
        Ok(session) => session.with_view(View::Listeners).execute(plan),
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            exit::USAGE
        }
    }
}
