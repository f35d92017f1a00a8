//! `reach demo`: a real run with no setup. It opens one loopback listener (the "API") and picks a
//! loopback port where nothing listens (the "cache"), then runs the embedded example spec
//! `checks/examples/demo.toml` against them. No traffic leaves 127.0.0.1.

use super::args::{ColorChoice, ConnectArgs, OutputArgs};
use super::exit;
use super::session::{Environment, Session};
use crate::spec::{self, vars::Overrides, LoadOptions, Plan};
use clap::Args;
use std::collections::BTreeMap;
use std::net::TcpListener;

/// The example spec, embedded so the demo needs no files.
pub const SPEC: &str = include_str!("../../checks/examples/demo.toml");
const LABEL: &str = "checks/examples/demo.toml";

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn execute(args: &DemoArgs, color: ColorChoice) -> u8 {
    // The kernel completes handshakes into the listen backlog, so the listener needs no accept
    // loop for the few connections the demo makes; it only has to stay open during the run.
    let api = match TcpListener::bind("127.0.0.1:0").and_then(|l| Ok((l.local_addr()?.port(), l))) {
        Ok(bound) => bound,
        Err(e) => return fail(&format!("cannot open a loopback listener: {e}")),
    };
    let cache_port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        // Dropping the listener frees the port: nothing listens there during the run.
        Ok(address) => address.port(),
        Err(e) => return fail(&format!("cannot find a free loopback port: {e}")),
    };
    let cli = BTreeMap::from([
        ("host".to_owned(), "127.0.0.1".to_owned()),
        ("api_port".to_owned(), api.0.to_string()),
        ("cache_port".to_owned(), cache_port.to_string()),
    ]);
    let options = LoadOptions {
        // Only the demo's own values: no REACH_VAR_* from the environment may redirect it.
        overrides: Overrides::cli_only(cli),
        ..LoadOptions::default()
    };
    let checks = match spec::load_str(LABEL, SPEC, &options) {
        Ok(checks) => checks,
        Err(errors) => return fail(&spec::SpecErrors(errors).to_string()),
    };
    let plan = Plan {
        files: vec![LABEL.to_owned()],
        checks,
    };
    let code = match Session::new(
        &plan,
        ConnectArgs::default(),
        Environment::Isolated,
        &args.output,
        color,
    ) {
        Ok(session) => session.execute(plan),
        Err(e) => fail(&e.to_string()),
    };
    drop(api);
    code
}

fn fail(message: &str) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}
