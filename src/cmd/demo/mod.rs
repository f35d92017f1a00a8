//! `reach demo`: a real run with no setup. It stands up a small deployment in-process on
//! 127.0.0.1 ([`deployment`]), then runs the embedded `checks/examples/demo.toml` against it with
//! the deployment's DNS server and throw-away CA. No traffic leaves 127.0.0.1, and nothing from
//! the environment (REACH_VAR_*, proxies, API keys) reaches the run. `--broken` starts the same
//! deployment with three realistic mistakes.

mod deployment;
mod dns;
mod legacy_tls;
mod pki;
mod web;

use super::args::{ColorChoice, ConnectArgs, DnsServerArg, NameArgs, OutputArgs};
use super::exit;
use super::session::{Environment, Session};
use crate::spec::{self, vars::Overrides, LoadOptions, Plan};
use clap::Args;
use deployment::Deployment;
use std::collections::BTreeMap;
use std::io::Write;

/// The example spec, embedded so the demo needs no files.
pub const SPEC: &str = include_str!("../../../checks/examples/demo.toml");
const LABEL: &str = "checks/examples/demo.toml";

#[derive(Debug, Args)]
#[command(after_help = "\
The deployment: an HTTPS shop (shop.demo.test: a health endpoint, a WebSocket echo) with a
certificate from a throw-away CA, a plain-HTTP port that redirects to it, a DNS server with the
shop's A record and a www CNAME, a cache port that must stay closed, and stand-ins for the
OpenAI and Deepgram APIs that answer 401. All on 127.0.0.1, on ports picked at each run.

With --broken: the cache port is open, TLS 1.0 is enabled, and the redirect is missing.

Exit codes:
  0  every check passed (the usual result without --broken)
  1  at least one check failed (the result with --broken)
  2  bad usage, or the deployment could not start: nothing was probed
  3  a check could not be observed and none failed, or the report could not be written
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too: see docs/exit-codes.md)

Examples:
  reach demo
  reach demo --broken --format json")]
pub struct DemoArgs {
    /// Start the deployment with three mistakes (an internal port open, TLS 1.0, no redirect).
    #[arg(long)]
    pub broken: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn execute(args: &DemoArgs, color: ColorChoice) -> u8 {
    let deployment = match Deployment::start(args.broken) {
        Ok(deployment) => deployment,
        Err(e) => return fail(&e.to_string()),
    };
    let ports = deployment.ports;
    let vars = BTreeMap::from([
        ("https_port".to_owned(), ports.https.to_string()),
        ("http_port".to_owned(), ports.http.to_string()),
        ("internal_port".to_owned(), ports.internal.to_string()),
        ("openai_port".to_owned(), ports.openai.to_string()),
        ("deepgram_port".to_owned(), ports.deepgram.to_string()),
    ]);
    let options = LoadOptions {
        // Only the demo's own values: no REACH_VAR_* from the environment may redirect it.
        overrides: Overrides::cli_only(vars),
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
    // The run trusts exactly the throw-away CA, through the same --ca-file path users take.
    let ca_file = match tempfile::Builder::new()
        .prefix(".reach-demo-ca-")
        .suffix(".pem")
        .tempfile()
    {
        Ok(mut file) => match file.write_all(deployment.ca_pem.as_bytes()) {
            Ok(()) => file,
            Err(e) => return fail(&format!("cannot write the demo's CA: {e}")),
        },
        Err(e) => return fail(&format!("cannot write the demo's CA: {e}")),
    };
    let connect = ConnectArgs {
        names: NameArgs {
            resolve: Vec::new(),
            dns: DnsServerArg {
                dns_server: Some(ports.dns),
            },
        },
        ca_file: Some(ca_file.path().to_owned()),
    };
    let code = match Session::new(&plan, connect, Environment::Isolated, &args.output, color) {
        Ok(session) => session.execute(plan),
        Err(e) => fail(&e.to_string()),
    };
    deployment.stop();
    code
}

fn fail(message: &str) -> u8 {
    crate::cmd::stderr_line!("error: {message}");
    exit::USAGE
}
