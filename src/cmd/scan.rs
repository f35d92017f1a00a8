//! `reach scan HOST`: a firewall audit from here, one `scan` check per host, with a port
//! progress bar and a port table.

use super::args::{
    parse_concurrency, parse_duration, parse_ports, parse_timeout, ColorChoice, ConnectArgs, DnsServerArg,
    NameArgs, OutputArgs, PortList,
};
use super::exit;
use super::session::{Environment, Session, View};
use crate::resolve::ResolveOverride;
use crate::run::RunOptions;
use crate::spec::command_line::{self, ScanRequest};
use clap::Args;
use std::time::Duration;

pub const HELP: &str = "\
Port states (as nmap): open = the handshake completed; closed = a RST came back (nothing listens,
or a firewall rejects with tcp-reset); filtered = no answer after a retry with a doubled timeout
(a firewall drops), or an ICMP unreachable. A host none of whose ports answered is reported in
one line: \"no answer on any port: host down or fully filtered\" (a connect cannot tell which),
once 8 of its ports stayed silent through a wait of its own (1 s, or --timeout if shorter).
Hosts are scanned side by side, sharing the --concurrency budget.

Exit codes:
  0  no open port outside --allow (or no --allow: an inventory), hosts that answered nothing too
  1  at least one open port is not in --allow
  2  bad usage: nothing was probed
  3  some ports could not be probed (or the --deadline cut the scan short) and no finding was made,
     or the report could not be written
  130 interrupted by SIGINT (143: SIGTERM); no report is written
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too: see docs/exit-codes.md)

Examples:
  reach scan 198.18.0.1 --allow 22,80,443
  reach scan db.example.com --top 1000 --allow none --format json -o scan.json";

/// Hosts scanned side by side (a CIDR block holds at most 256).
const HOSTS_AT_ONCE: usize = 256;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// A host name, an address, a CIDR block (at most 256 addresses), or a comma-separated list.
    #[arg(value_name = "HOST")]
    pub hosts: String,

    /// Ports to scan: a list and ranges, e.g. 22,80,8000-8100 [default: 1-65535].
    #[arg(short, long, value_name = "LIST", value_parser = parse_ports, conflicts_with = "top")]
    pub ports: Option<PortList>,

    /// Scan the N highest-ranked well-known service ports instead.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub top: Option<u16>,

    /// Ports that may be open (a list and ranges, or `none`); every other open port is a finding.
    #[arg(long, value_name = "LIST", value_parser = parse_allow)]
    pub allow: Option<AllowList>,

    /// The longest one connect waits; the adaptive timeout (from measured round trips) stays below.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "2s")]
    pub timeout: Duration,

    /// Extra connects, each with a doubled timeout, before a silent port is called filtered.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Connects in flight at once (lowered to what the open-file limit allows).
    #[arg(long, value_name = "N", default_value_t = crate::spec::DEFAULT_SCAN_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// Stop after this long: a scan cut short reports the ports it probed (and its findings);
    /// hosts not started are reported as skip.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

    /// Resolve HOST to ADDR for the scan, e.g. db.example.test:*:198.18.0.1 (repeatable).
    #[arg(long, value_name = "HOST:*:ADDR")]
    pub resolve: Vec<ResolveOverride>,

    #[command(flatten)]
    pub dns: DnsServerArg,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--allow`: the ports that may be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(pub Vec<u16>);

fn parse_allow(text: &str) -> Result<AllowList, String> {
    if text.trim() == "none" {
        return Ok(AllowList(Vec::new()));
    }
    parse_ports(text).map(|list| AllowList(list.0))
}

pub fn execute(args: ScanArgs, color: ColorChoice) -> u8 {
    let ports: Vec<u16> = match (&args.ports, args.top) {
        (Some(ports), _) => ports.0.clone(),
        (None, Some(top)) => crate::services::top(usize::from(top)),
        (None, None) => (1..=u16::MAX).collect(),
    };
    let request = ScanRequest {
        hosts: &args.hosts,
        ports,
        allow: args.allow.map(|a| a.0),
        timeout: args.timeout,
        retries: args.retries,
        concurrency: args.concurrency,
    };
    // A scan connects to every port of its host, so only `HOST:*:ADDR` can pin it; a port-bound
    // override would silently leave the scan to the system's resolver.
    if let Some(bound) = args.resolve.iter().find(|o| o.port.is_some()) {
        crate::cmd::stderr_line!(
            "error: --resolve {bound} names a port, but a scan connects to every port: use {}:*:ADDR",
            bound.host
        );
        return exit::USAGE;
    }
    let plan = match command_line::scan(request) {
        Ok(plan) => plan,
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            return exit::USAGE;
        }
    };
    // A scan verifies no certificate: it takes the names of the connect flags, not --ca-file.
    let connect = ConnectArgs {
        names: NameArgs {
            resolve: args.resolve,
            dns: args.dns,
        },
        ca_file: None,
    };
    let options = RunOptions {
        // Hosts side by side: the scan engine spreads the one --concurrency budget over the
        // ports of all of them. Bounded, so that a larger target list keeps only this many
        // hosts' results in memory while they are scanned.
        concurrency: HOSTS_AT_ONCE,
        deadline: args.deadline,
        ..RunOptions::default()
    };
    match Session::new(&plan, connect, Environment::Process, &args.output, color) {
        Ok(session) => session.with_options(options).with_view(View::Scan).execute(plan),
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            exit::USAGE
        }
    }
}
