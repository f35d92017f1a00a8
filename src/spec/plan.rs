//! The validated plan: every check ready to run, with nothing left to parse or look up.

pub use super::host::Host;
use super::request::{EndpointCheck, HttpCheck, WebsocketCheck};
use crate::outcome::Transport;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::dns::{DnsExpectation, DnsProtocol, DnsValue, RecordType};

/// All checks of one run, in the order they appear in their files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The check files the plan was loaded from, as the user named them.
    pub files: Vec<String>,
    pub checks: Vec<Check>,
}

/// One runnable check. A `[[check]]` table with several ports becomes one `Check` per port.
///
/// What many checks have in common (the profile, the file, tags, vantage points, a host name)
/// is shared behind an `Arc`, not copied into each: a plan of 100,000 checks holds one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable identifier: `profile.local-id`, plus `/port` when the table listed several ports.
    pub id: String,
    /// The check file's `profile` (`scan`, `tls` or `listeners` for those commands' checks):
    /// what reports group checks by (a JUnit classname, a Prometheus label).
    pub profile: Arc<str>,
    pub name: String,
    pub tags: Arc<[String]>,
    /// Vantage points this check belongs to; empty means "from anywhere".
    pub vantage: Arc<[String]>,
    pub source: Source,
    /// Deadline of one attempt.
    pub timeout: Duration,
    /// Extra attempts allowed when an attempt is inconclusive.
    pub retries: u32,
    pub probe: ProbeSpec,
}

impl Check {
    pub fn kind(&self) -> Kind {
        match self.probe {
            ProbeSpec::Tcp(_) => Kind::Tcp,
            ProbeSpec::Dns(_) => Kind::Dns,
            ProbeSpec::Tls(_) => Kind::Tls,
            ProbeSpec::Http(_) => Kind::Http,
            ProbeSpec::Websocket(_) => Kind::Websocket,
            ProbeSpec::Endpoint(_) => Kind::Endpoint,
            ProbeSpec::Scan(_) => Kind::Scan,
            ProbeSpec::Listen(_) => Kind::Listen,
        }
    }

    /// What is probed, as people write it: `host:port`, `[v6]:port`.
    pub fn target(&self) -> String {
        match &self.probe {
            ProbeSpec::Tcp(tcp) => tcp.host.with_port(tcp.port),
            ProbeSpec::Dns(dns) => dns.target(),
            ProbeSpec::Tls(tls) => tls.host.with_port(tls.port),
            ProbeSpec::Http(http) => format!("{} {}", http.request.method, http.request.url),
            ProbeSpec::Websocket(ws) => ws.url.to_string(),
            ProbeSpec::Endpoint(endpoint) => endpoint.url.to_string(),
            ProbeSpec::Scan(scan) => scan.host.to_string(),
            ProbeSpec::Listen(listen) => listen.target(),
        }
    }

    /// The requirement, in one short phrase.
    pub fn expected(&self) -> String {
        match &self.probe {
            ProbeSpec::Tcp(tcp) => tcp.expect.as_str().to_owned(),
            ProbeSpec::Dns(dns) => dns.expected(),
            ProbeSpec::Tls(tls) => tls.policy.describe(),
            ProbeSpec::Http(http) => http.expected(),
            ProbeSpec::Websocket(ws) => match ws.echo {
                Some(_) => "101, echo".to_owned(),
                None => "101".to_owned(),
            },
            ProbeSpec::Endpoint(endpoint) => match endpoint.auth {
                true => "reachable, key accepted".to_owned(),
                false => "reachable".to_owned(),
            },
            ProbeSpec::Scan(scan) => scan.expected(),
            ProbeSpec::Listen(listen) => listen
                .expect
                .map_or("inventory", ListenExpectation::as_str)
                .to_owned(),
        }
    }
}

/// Where a check was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: Arc<str>,
    pub line: usize,
}

/// The kinds of check reach knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Tcp,
    Dns,
    Tls,
    Http,
    Websocket,
    Endpoint,
    Scan,
    Listen,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Tcp,
        Kind::Dns,
        Kind::Tls,
        Kind::Http,
        Kind::Websocket,
        Kind::Endpoint,
        Kind::Scan,
        Kind::Listen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Dns => "dns",
            Kind::Tls => "tls",
            Kind::Http => "http",
            Kind::Websocket => "websocket",
            Kind::Endpoint => "endpoint",
            Kind::Scan => "scan",
            Kind::Listen => "listen",
        }
    }

    /// Whether checks of this kind may open TLS connections that verify a certificate.
    pub fn may_verify_certificates(self) -> bool {
        matches!(self, Kind::Tls | Kind::Http | Kind::Websocket | Kind::Endpoint)
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to probe and what to expect, kind by kind. The kinds with large plans are boxed, so
/// that a check is as small as a tcp check needs: a plan may hold 100,000 of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeSpec {
    Tcp(TcpCheck),
    Dns(Box<DnsCheck>),
    Tls(Box<TlsCheck>),
    Http(Box<HttpCheck>),
    Websocket(Box<WebsocketCheck>),
    Endpoint(Box<EndpointCheck>),
    Scan(ScanCheck),
    Listen(ListenCheck),
}

/// Concurrent connects per scan when nothing else says: enough to cover a 100 ms path at about
/// 10,000 ports a second, modest enough for stateful firewalls and conntrack tables on the way.
pub const DEFAULT_SCAN_CONCURRENCY: usize = 1024;

/// A port scan of every address of a host; open ports outside the allow list are findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCheck {
    pub host: Host,
    /// The ports to probe, in the order they are probed.
    pub ports: Vec<u16>,
    /// Ports allowed to be open; `None` makes the scan an inventory that only reports.
    pub allow: Option<Vec<u16>>,
    /// Connects in flight at once (bounded by the open-file limit at run time).
    pub concurrency: usize,
}

impl ScanCheck {
    fn expected(&self) -> String {
        match &self.allow {
            None => "inventory (no allow list)".to_owned(),
            Some(allow) if allow.is_empty() => "no port open".to_owned(),
            Some(allow) => format!("open only {}", port_ranges(allow)),
        }
    }
}

/// Ports as short as people write them: `22,80,8000-8010`.
pub fn port_ranges(ports: &[u16]) -> String {
    let mut sorted = ports.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while index < sorted.len() {
        let start = sorted[index];
        let mut end = start;
        while index + 1 < sorted.len() && sorted[index + 1] == end.wrapping_add(1) {
            index += 1;
            end = sorted[index];
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        index += 1;
    }
    parts.join(",")
}

/// A requirement on this host's listening sockets (the inside view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenCheck {
    /// `None`: TCP and UDP.
    pub transport: Option<Transport>,
    /// `None`: every port.
    pub port: Option<u16>,
    /// `None`: an inventory that only reports.
    pub expect: Option<ListenExpectation>,
}

impl ListenCheck {
    fn target(&self) -> String {
        let transport = self.transport.map_or("tcp+udp", Transport::as_str);
        match self.port {
            Some(port) => format!("{transport}/{port} on this host"),
            None => format!("{transport} on this host"),
        }
    }
}

/// How a port must (or must not) listen on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenExpectation {
    /// Some socket listens on the port, on any address.
    Listening,
    /// No socket listens on the port.
    NotListening,
    /// Nothing listens on 0.0.0.0 or `::` (loopback or one specific address is fine, and so is
    /// not listening at all): an internal port that only a firewall would protect is a finding.
    NotWildcard,
    /// If it listens, then on loopback addresses only.
    LoopbackOnly,
}

impl ListenExpectation {
    pub const ALL: &'static [ListenExpectation] = &[
        ListenExpectation::Listening,
        ListenExpectation::NotListening,
        ListenExpectation::NotWildcard,
        ListenExpectation::LoopbackOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListenExpectation::Listening => "listening",
            ListenExpectation::NotListening => "not-listening",
            ListenExpectation::NotWildcard => "not-wildcard",
            ListenExpectation::LoopbackOnly => "loopback-only",
        }
    }

    pub fn parse(text: &str) -> Option<ListenExpectation> {
        ListenExpectation::ALL
            .iter()
            .copied()
            .find(|e| e.as_str() == text)
    }
}

/// A TLS server that must accept exactly the required versions and suites and serve a valid
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsCheck {
    pub host: Host,
    pub port: u16,
    /// The name sent in SNI and verified against the certificate; the host's name when None.
    pub sni: Option<String>,
    pub policy: crate::tls::policy::Policy,
}

impl TlsCheck {
    /// The server name to send and verify: `sni`, else the host when it is a name.
    pub fn server_name(&self) -> Option<&str> {
        match (&self.sni, &self.host) {
            (Some(sni), _) => Some(sni),
            (None, Host::Name(name)) => Some(name),
            (None, Host::Ip(_)) => None,
        }
    }
}

/// A TCP port that must be in a given state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpCheck {
    pub host: Host,
    pub port: u16,
    pub expect: PortExpectation,
}

/// DNS records of one name that must be what the requirement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// The name queried: lowercase, without the trailing dot (a PTR check of an address holds
    /// its reverse name).
    pub name: String,
    pub record_type: RecordType,
    /// The servers to ask; empty means the run's resolver (`--dns-server`, else the system's).
    /// With several, they must all give the same answer.
    pub servers: Vec<SocketAddr>,
    pub protocol: DnsProtocol,
    pub expect: DnsExpectation,
}

impl DnsCheck {
    fn target(&self) -> String {
        let mut target = format!("{} {}", self.name, self.record_type);
        if !self.servers.is_empty() {
            let servers: Vec<String> = self.servers.iter().map(SocketAddr::to_string).collect();
            target.push_str(&format!(" @{}", servers.join(",")));
        }
        if self.protocol != DnsProtocol::Auto {
            target.push_str(&format!(" ({})", self.protocol.as_str()));
        }
        target
    }

    fn expected(&self) -> String {
        let expect = &self.expect;
        let rtype = self.record_type;
        if !expect.resolves {
            return format!("no {rtype} record");
        }
        let list = |values: &[DnsValue]| values.iter().map(DnsValue::as_str).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if let Some(target) = &expect.cname {
            parts.push(format!("CNAME {target}"));
        }
        if let Some(exactly) = &expect.equals {
            parts.push(format!("{rtype} = {}", list(exactly)));
        }
        if !expect.contains.is_empty() {
            parts.push(format!("{rtype} has {}", list(&expect.contains)));
        }
        if !expect.none_of.is_empty() {
            parts.push(format!("{rtype} not {}", list(&expect.none_of)));
        }
        if !expect.within.is_empty() {
            let nets: Vec<String> = expect.within.iter().map(ToString::to_string).collect();
            parts.push(format!("{rtype} in {}", nets.join(", ")));
        }
        if parts.is_empty() {
            parts.push(format!("{rtype} exists"));
        }
        parts.join("; ")
    }
}

/// The state a port must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortExpectation {
    Open,
    Closed,
    Filtered,
    /// Closed or filtered: anything but open.
    NotExposed,
}

impl PortExpectation {
    pub const ALL: &'static [PortExpectation] = &[
        PortExpectation::Open,
        PortExpectation::Closed,
        PortExpectation::Filtered,
        PortExpectation::NotExposed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PortExpectation::Open => "open",
            PortExpectation::Closed => "closed",
            PortExpectation::Filtered => "filtered",
            PortExpectation::NotExposed => "not-exposed",
        }
    }

    pub fn parse(text: &str) -> Option<PortExpectation> {
        PortExpectation::ALL.iter().copied().find(|e| e.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_names_and_both_address_families() {
        assert_eq!(
            Host::parse("127.0.0.1"),
            Ok(Host::Ip("127.0.0.1".parse().unwrap()))
        );
        assert_eq!(Host::parse("[::1]"), Ok(Host::Ip("::1".parse().unwrap())));
        assert_eq!(Host::parse("::1"), Ok(Host::Ip("::1".parse().unwrap())));
        assert_eq!(
            Host::parse("Db.Example.com."),
            Ok(Host::Name("db.example.com".into()))
        );
        assert!(Host::parse("[db.example.com]").is_err());
        assert!(Host::parse("bad host").is_err());
        assert!(Host::parse("-x.example").is_err());
        assert!(Host::parse("").is_err());
    }

    #[test]
    fn port_lists_collapse_into_ranges() {
        assert_eq!(
            port_ranges(&[443, 22, 80, 8000, 8001, 8002, 80]),
            "22,80,443,8000-8002"
        );
        assert_eq!(port_ranges(&[65_534, 65_535]), "65534-65535");
    }

    #[test]
    fn targets_bracket_ipv6() {
        assert_eq!(Host::parse("::1").unwrap().with_port(22), "[::1]:22");
        assert_eq!(Host::parse("a.b").unwrap().with_port(22), "a.b:22");
    }
}
