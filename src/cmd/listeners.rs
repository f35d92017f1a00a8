//! `reach listeners`: an inventory of this host's listening sockets, plus one `listen` check per
//! `--internal` port (it must not listen on a wildcard address).

use super::args::{parse_ports, ColorChoice, ConnectArgs, OutputArgs, PortList};
use super::exit;
use super::session::{Environment, Session, View};
use crate::spec::command_line;
use clap::Args;

#[derive(Debug, Args)]
pub struct ListenersArgs {
    /// Ports that must not listen on a wildcard address (0.0.0.0 or ::): each one that does is a
    /// finding, a latent exposure that only the firewall protects.
    #[arg(long, value_name = "LIST", value_parser = parse_ports)]
    pub internal: Option<PortList>,

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
