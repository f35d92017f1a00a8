//! Flags that several commands share, as the user types them (clap derive), and their value
//! parsers. Validation into run settings happens in [`super::session`].

use crate::report::Format;
use crate::resolve::ResolveOverride;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// How a command reaches its targets: name overrides, the DNS server, the trusted CAs.
#[derive(Debug, Args, Default)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub names: NameArgs,

    /// Trust exactly the certificate authorities in this PEM file instead of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// How names are resolved: `--resolve` overrides and `--dns-server`.
#[derive(Debug, Args, Default)]
pub struct NameArgs {
    /// Resolve HOST on PORT (or * for every port) to ADDR, like curl's flag (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<ResolveOverride>,

    #[command(flatten)]
    pub dns: DnsServerArg,
}

/// `--dns-server`, shared by every command that resolves names.
#[derive(Debug, Args, Default)]
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

    /// Write the report to this file instead of stdout: a file is replaced atomically (through a
    /// symlink, its target), a FIFO or device is written through; an input of the run is refused.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,

    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// What a report says besides the run itself, and when it says nothing: for cron and CI.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print nothing when every check passes (cron mails only what needs attention); with -o,
    /// the file is still written, and the human report is printed when something did not pass.
    #[arg(short, long)]
    pub quiet: bool,

    /// Human report: list only the checks that did not pass (the summary still counts every
    /// one). Other formats are not changed by it.
    #[arg(long)]
    pub failures: bool,

    /// Human report: details for passes too: each port of a port list on its own row, what a
    /// pass observed, a passing TLS check's versions and suites. Other formats are not changed
    /// by it.
    #[arg(short, long)]
    pub verbose: bool,

    /// Compare with an earlier JSON report of this reach (same schema_version) and report what
    /// changed: ports, statuses, TLS versions and suites, certificates, DNS answers.
    #[arg(long, value_name = "PREV.json")]
    pub baseline: Option<PathBuf>,

    /// Exit 1 when anything changed since --baseline (Nagios: WARNING at least).
    #[arg(long, requires = "baseline")]
    pub fail_on_change: bool,

    /// Also write the same run's report in another format to a file (repeatable), e.g.
    /// prometheus=/var/lib/node_exporter/reach.prom beside --format json -o report.json.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = super::outputs::parse_also)]
    pub also: Vec<super::outputs::Also>,

    /// With --format nagios: a certificate that expires within N days, and is still valid, is a
    /// WARNING.
    #[arg(long, value_name = "N", default_value_t = crate::report::rendering::DEFAULT_WARN_CERT_DAYS,
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub warn_cert_days: u32,
}

#[derive(Debug, Args)]
pub struct VarArgs {
    /// Set a check-file variable, overriding REACH_VAR_<KEY> and the file's [vars] (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = crate::spec::parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".to_owned());
    }
    Ok(duration)
}

/// A `--timeout`: the same bounds as a check file's `timeout`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration > crate::spec::MAX_TIMEOUT {
        return Err("must be at most 1h".to_owned());
    }
    Ok(duration)
}

pub fn parse_concurrency(text: &str) -> Result<usize, String> {
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

/// A port list as typed: `22,80,8000-8010`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

pub fn parse_ports(text: &str) -> Result<PortList, String> {
    crate::spec::ports::parse_port_list(text).map(PortList)
}

/// Ports with their transport as typed: `udp/5353,tcp/22,80` (no prefix: TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportPortList(pub Vec<(crate::outcome::Transport, u16)>);

pub fn parse_transport_ports(text: &str) -> Result<TransportPortList, String> {
    crate::spec::ports::parse_transport_port_list(text, crate::outcome::Transport::Tcp).map(TransportPortList)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_split_at_the_first_equals_sign() {
        assert_eq!(parse_var("url=a=b"), Ok(("url".into(), "a=b".into())));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("1x=2").is_err());
    }
}
