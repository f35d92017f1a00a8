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
    /// Firewall audit: scan a host's TCP ports from here and flag open ports outside --allow.
    #[command(after_help = SCAN_HELP)]
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
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
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

    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct TlsArgs {
    /// The server: HOST or HOST:PORT (443 by default); IPv6 as [::1]:443.
    #[arg(value_name = "HOST[:PORT]")]
    pub target: String,

    /// Judge the server: mozilla-intermediate, mozilla-modern, or a TOML file of tls policy keys.
    #[arg(long, value_name = "NAME|FILE")]
    pub policy: Option<String>,

    /// Server name to send in SNI and verify the certificate against (default: HOST).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Exactly these versions must be accepted (e.g. "TLSv1.2 TLSv1.3").
    #[arg(long, value_name = "LIST")]
    pub protocols: Option<String>,

    /// TLS 1.2 and below may accept only these suites (OpenSSL or IANA names, `:`-separated).
    #[arg(long, value_name = "LIST")]
    pub ciphers: Option<String>,

    /// TLS 1.3 may accept only these suites.
    #[arg(long = "tls13-ciphers", value_name = "LIST")]
    pub tls13_ciphers: Option<String>,

    /// The accepted suites must be exactly --ciphers / --tls13-ciphers.
    #[arg(long)]
    pub exact: bool,

    /// Suite classes that must not be accepted: cbc, rsa-kx, 3des, rc4, null, export, anon ...
    #[arg(long, value_name = "LIST")]
    pub forbid: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Timeout of each connection (e.g. 500ms, 3s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How a command reaches its targets: name overrides, the DNS server, the trusted CAs.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Resolve HOST on PORT (or * for every port) to ADDR, like curl's flag (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<ResolveOverride>,

    #[command(flatten)]
    pub dns: DnsServerArg,

    /// Trust exactly the certificate authorities in this PEM file instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// `--dns-server`, shared by every command that resolves names.
#[derive(Debug, Args)]
pub struct DnsServerArg {
    /// Send every DNS lookup of the run to this server (ADDR or ADDR:PORT, UDP with TCP on
    /// truncation) instead of the system's resolv.conf servers; /etc/hosts is then not read.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = crate::dns::parse_server)]
    pub dns_server: Option<std::net::SocketAddr>,
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

const SCAN_HELP: &str = "\
Port states (as nmap): open = the handshake completed; closed = a RST came back (nothing listens,
or a firewall rejects with tcp-reset); filtered = no answer after a retry with a doubled timeout
(a firewall drops), or an ICMP unreachable.

Exit codes:
  0  no open port outside --allow (or no --allow: an inventory)
  1  at least one open port is not in --allow
  2  bad usage: nothing was probed
  3  some ports could not be probed and no finding was made";

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
    #[arg(long, value_name = "N", default_value_t = crate::scan::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// Stop after this long; hosts not finished are reported as skip.
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

/// A port list as typed: `22,80,8000-8010`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

/// `--allow`: the ports that may be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(pub Vec<u16>);

#[derive(Debug, Args)]
pub struct ListenersArgs {
    /// Ports that must not listen on a wildcard address (0.0.0.0 or ::): each one that does is a
    /// finding, a latent exposure that only the firewall protects.
    #[arg(long, value_name = "LIST", value_parser = parse_ports)]
    pub internal: Option<PortList>,

    #[command(flatten)]
    pub output: OutputArgs,
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

/// A `--timeout`: the same bounds as a check file's `timeout`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration > crate::spec::MAX_TIMEOUT {
        return Err("must be at most 1h".to_owned());
    }
    Ok(duration)
}

fn parse_ports(text: &str) -> Result<PortList, String> {
    crate::spec::ports::parse_port_list(text).map(PortList)
}

fn parse_allow(text: &str) -> Result<AllowList, String> {
    if text.trim() == "none" {
        return Ok(AllowList(Vec::new()));
    }
    parse_ports(text).map(|list| AllowList(list.0))
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
