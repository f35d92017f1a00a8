//! The result model: what a check observed and the verdict drawn from it.
//!
//! Every check ends in exactly one [`Status`]. Fail versus error is decided by the probe that
//! observed the network, never by a report: reports only render these types.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A duration for messages, rounded to the millisecond: `2s`, `1s 500ms`, not `1s 999ms 978us`.
pub fn rounded(duration: Duration) -> humantime::FormattedDuration {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_millis(millis))
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Observed, and it matches the requirement.
    Pass,
    /// Observed, and it contradicts the requirement.
    Fail,
    /// Could not observe; never reported as a pass or a fail.
    Error,
    /// Not run: filtered out, or the run's deadline ran out.
    Skip,
}

impl Status {
    /// The lowercase word used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stage of a check that decided its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Dns,
    Tcp,
    Tls,
    /// An HTTP proxy's CONNECT tunnel.
    Proxy,
    /// Waiting for the response's first byte (its status line and headers).
    Ttfb,
    Http,
    /// The comparison of what was observed with what was expected.
    Assert,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "dns",
            Stage::Tcp => "tcp",
            Stage::Tls => "tls",
            Stage::Proxy => "proxy",
            Stage::Ttfb => "ttfb",
            Stage::Http => "http",
            Stage::Assert => "assert",
        }
    }
}

/// Why a check could not observe, or how an observation went wrong, in reach's own vocabulary.
///
/// Library errors (io, resolver, TLS) are mapped into these in [`crate::classify`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The name does not exist.
    Nxdomain,
    /// The name exists but has no address of a usable family.
    NoData,
    /// The resolver answered with a failure (SERVFAIL, REFUSED, or a temporary failure).
    Servfail,
    /// No answer before the deadline.
    Timeout,
    /// The connection was refused (RST).
    Refused,
    /// An ICMP unreachable came back, or this host has no route to the target.
    Unreachable,
    /// This host's own policy (a local firewall, a missing address) stopped the probe.
    LocalPolicy,
    /// The run's deadline ran out before the check could finish.
    Deadline,
    /// The TLS peer sent an alert (it refused the handshake).
    TlsAlert,
    /// The TLS handshake broke in another way (bad message, incompatible peer).
    TlsHandshake,
    /// The certificate has expired.
    CertExpired,
    /// The certificate is not valid yet.
    CertNotYetValid,
    /// The chain does not lead to a trusted root (this includes self-signed certificates).
    CertUnknownIssuer,
    /// The chain ends in a certificate that signed itself and is not trusted.
    CertSelfSigned,
    /// The certificate does not name the host.
    CertWrongHost,
    /// The certificate was revoked.
    CertRevoked,
    /// The certificate is unusable for another reason (bad signature, bad encoding...).
    CertInvalid,
    /// The peer closed or reset the connection before answering.
    ConnectionClosed,
    /// The server answered with a 4xx status.
    Http4xx,
    /// The server answered with a 5xx status.
    Http5xx,
    /// The answer was not valid HTTP (or not the protocol that was expected).
    HttpProtocol,
    /// Redirects led back to a URL already visited.
    RedirectLoop,
    /// More redirects than reach follows.
    TooManyRedirects,
    /// The proxy refused to open a tunnel (403, 407...).
    ProxyRefused,
    /// The proxy could not reach the target (502, 503, 504 to CONNECT).
    ProxyUpstream,
    /// The API answered, and rejected the key (401/403).
    KeyRejected,
    /// A key had to be validated, and none was set in the environment.
    NoCredential,
    /// The server answered a WebSocket upgrade with something other than 101.
    UpgradeRefused,
    /// The DNS resolver refused the query (REFUSED): it will not answer for that name or client.
    ResolverRefused,
    /// The DNS resolver answered with another error code (FORMERR, NOTIMP...), or an answer
    /// that could not be used.
    DnsError,
    /// DNS servers that must agree gave different answers (split-horizon drift).
    DnsDrift,
    /// Anything else the operating system reported.
    Io,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Nxdomain => "nxdomain",
            ErrorClass::NoData => "nodata",
            ErrorClass::Servfail => "servfail",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Refused => "refused",
            ErrorClass::Unreachable => "unreachable",
            ErrorClass::LocalPolicy => "local-policy",
            ErrorClass::Deadline => "deadline",
            ErrorClass::TlsAlert => "tls-alert",
            ErrorClass::TlsHandshake => "tls-handshake",
            ErrorClass::CertExpired => "cert-expired",
            ErrorClass::CertNotYetValid => "cert-not-yet-valid",
            ErrorClass::CertUnknownIssuer => "cert-unknown-issuer",
            ErrorClass::CertSelfSigned => "cert-self-signed",
            ErrorClass::CertWrongHost => "cert-wrong-host",
            ErrorClass::CertRevoked => "cert-revoked",
            ErrorClass::CertInvalid => "cert-invalid",
            ErrorClass::ConnectionClosed => "connection-closed",
            ErrorClass::Http4xx => "http-4xx",
            ErrorClass::Http5xx => "http-5xx",
            ErrorClass::HttpProtocol => "http-protocol",
            ErrorClass::RedirectLoop => "redirect-loop",
            ErrorClass::TooManyRedirects => "too-many-redirects",
            ErrorClass::ProxyRefused => "proxy-refused",
            ErrorClass::ProxyUpstream => "proxy-upstream",
            ErrorClass::KeyRejected => "key-rejected",
            ErrorClass::NoCredential => "no-credential",
            ErrorClass::UpgradeRefused => "upgrade-refused",
            ErrorClass::ResolverRefused => "resolver-refused",
            ErrorClass::DnsError => "dns-error",
            ErrorClass::DnsDrift => "dns-drift",
            ErrorClass::Io => "io",
        }
    }
}

/// A TCP port's state, in nmap's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    /// The three-way handshake completed.
    Open,
    /// The target answered the SYN with a RST: nothing listens, or a firewall rejects.
    Closed,
    /// No answer in time, or an ICMP unreachable: something dropped the probe.
    Filtered,
}

impl PortState {
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
        }
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The evidence behind a port state, so an auditor can tell a DROP from an ICMP reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortEvidence {
    /// SYN-ACK received: the handshake completed.
    SynAck,
    /// RST received.
    Reset,
    /// Nothing came back before the timeout, on every attempt.
    NoResponse,
    /// An ICMP host, network or administratively-prohibited unreachable came back.
    IcmpUnreachable,
}

impl PortEvidence {
    pub fn as_str(self) -> &'static str {
        match self {
            PortEvidence::SynAck => "syn-ack",
            PortEvidence::Reset => "reset",
            PortEvidence::NoResponse => "no-response",
            PortEvidence::IcmpUnreachable => "icmp-unreachable",
        }
    }
}

/// What one connection attempt to one address concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressProbe {
    /// The port's state was observed.
    State {
        state: PortState,
        evidence: PortEvidence,
    },
    /// The probe could not be sent or its answer not read (e.g. no local route).
    Error { class: ErrorClass, detail: String },
}

/// The observation for one address of a TCP target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressObservation {
    pub address: IpAddr,
    pub probe: AddressProbe,
    /// Time of the last connection attempt to this address.
    pub elapsed: Duration,
}

/// What a check saw, kind by kind. Reports render it; they never reinterpret it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Observed {
    /// Nothing was observed (skipped, or the check stopped before its first probe).
    #[default]
    Nothing,
    /// A TCP port on every address its host resolved to.
    Tcp { addresses: Vec<AddressObservation> },
    /// The answer of every DNS server asked.
    Dns(DnsObservation),
    /// A TLS server: versions, suites, handshake and certificate.
    Tls(Box<crate::tls::observation::TlsObservation>),
    /// An HTTP exchange (http, websocket and endpoint checks).
    Http(Box<HttpObservation>),
    /// A port scan of every address a host resolved to.
    Scan { addresses: Vec<AddressScan> },
    /// This host's listening sockets that the check looked at.
    Listen { sockets: Vec<ListeningSocket> },
}

/// What an HTTP-speaking check saw, as far as it got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpObservation {
    /// The URL of the last request made (after redirects).
    pub url: String,
    /// The address connected to (the proxy's, through a proxy).
    pub address: Option<std::net::SocketAddr>,
    /// The proxy used, without credentials; `None` when direct.
    pub proxy: Option<String>,
    /// True when the request went over a connection an earlier request had opened.
    pub reused_connection: bool,
    pub tls: Option<TlsSession>,
    /// The last response's status.
    pub status: Option<u16>,
    /// `HTTP/1.1`, ...
    pub version: Option<String>,
    /// Every redirect answered, in order.
    pub redirects: Vec<RedirectHop>,
    /// From the first byte of the request to the last byte of the response (one request).
    pub response_time: Option<Duration>,
    /// Response times over `samples` requests.
    pub latency: Option<LatencyStats>,
    pub body_bytes: Option<u64>,
    /// For WebSocket checks: whether the echo came back unchanged.
    pub echoed: Option<bool>,
}

/// The negotiated TLS session of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSession {
    /// `TLSv1.3`, ...
    pub version: String,
    /// IANA name of the cipher suite.
    pub cipher: String,
    pub alpn: Option<String>,
}

/// One redirect: a 3xx status and where it pointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectHop {
    pub url: String,
    pub status: u16,
    pub location: String,
}

/// Response times over several samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyStats {
    pub samples: u32,
    pub avg: Duration,
    pub p95: Duration,
    pub max: Duration,
}

impl LatencyStats {
    /// Nearest-rank statistics of `times` (`None` when empty).
    pub fn of(times: &[Duration]) -> Option<LatencyStats> {
        let mut sorted = times.to_vec();
        sorted.sort();
        let max = *sorted.last()?;
        let count = u32::try_from(sorted.len()).ok()?;
        let avg = sorted.iter().sum::<Duration>() / count;
        // Nearest rank: the smallest value with at least 95% of the samples at or below it.
        let rank = (sorted.len() * 95).div_ceil(100).max(1);
        Some(LatencyStats {
            samples: count,
            avg,
            p95: sorted[rank - 1],
            max,
        })
    }
}

/// The scan of one address: every port that was not closed, and how many were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressScan {
    pub address: IpAddr,
    /// Open, filtered and unprobeable ports, in ascending order.
    pub ports: Vec<ScannedPort>,
    /// Ports that answered with a RST (only counted: a full scan has tens of thousands).
    pub closed: usize,
    pub elapsed: Duration,
}

impl AddressScan {
    /// How many ports were probed.
    pub fn scanned(&self) -> usize {
        self.ports.len() + self.closed
    }

    /// How many ports are in `state`.
    pub fn count(&self, state: PortState) -> usize {
        if state == PortState::Closed {
            return self.closed;
        }
        self.ports
            .iter()
            .filter(|p| matches!(p.probe, AddressProbe::State { state: s, .. } if s == state))
            .count()
    }

    /// How many ports could not be probed.
    pub fn errors(&self) -> usize {
        self.ports
            .iter()
            .filter(|p| matches!(p.probe, AddressProbe::Error { .. }))
            .count()
    }
}

/// One port of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedPort {
    pub port: u16,
    pub probe: AddressProbe,
    /// Connects made (a silent port is tried again before it is called filtered).
    pub attempts: u32,
    /// The usual service on this port, if it is a well-known one.
    pub service: Option<&'static str>,
    /// Open although the allow list does not name it: a finding.
    pub unexpected: bool,
}

/// The transport of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Which addresses a socket is bound to, which is what decides its exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindScope {
    /// 0.0.0.0 or `::`: every address of the host; only a firewall stands in front of it.
    Wildcard,
    /// 127.0.0.0/8 or ::1: this host only.
    Loopback,
    /// One particular address of the host.
    Specific,
}

impl BindScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BindScope::Wildcard => "wildcard",
            BindScope::Loopback => "loopback",
            BindScope::Specific => "specific",
        }
    }
}

/// A socket that accepts traffic on this host (a TCP listener, or a bound UDP socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListeningSocket {
    pub transport: Transport,
    pub address: IpAddr,
    pub port: u16,
    /// The process holding the socket, when this user may see it.
    pub process: Option<OwningProcess>,
}

impl ListeningSocket {
    pub fn scope(&self) -> BindScope {
        let address = self.address.to_canonical();
        if address.is_unspecified() {
            BindScope::Wildcard
        } else if address.is_loopback() {
            BindScope::Loopback
        } else {
            BindScope::Specific
        }
    }
}

/// A process that holds a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwningProcess {
    pub pid: u32,
    /// The command name (`/proc/PID/comm`).
    pub name: String,
}

/// What the servers of a `dns` check answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsObservation {
    /// The name asked about (canonical: lowercase, no trailing dot).
    pub name: String,
    pub record_type: crate::dns::RecordType,
    /// One per server, in the order the check lists them.
    pub answers: Vec<ServerAnswer>,
}

/// One server's answer to one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    /// Who answered: `127.0.0.1:53`, `127.0.0.1:53/tcp`, or `system (10.0.0.2:53)`.
    pub server: String,
    pub answer: DnsAnswer,
    pub elapsed: Duration,
}

/// What a DNS server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// NOERROR with records: the whole answer section, CNAME chain included, in order.
    Records(Vec<DnsRecord>),
    /// NXDOMAIN: `name` does not exist. It is the name asked, or the end of its alias chain
    /// when the resolver followed a CNAME to a name that does not exist. `negative_ttl` comes
    /// from the SOA when one was sent.
    NxDomain { name: String, negative_ttl: Option<u32> },
    /// NOERROR without records of the type: `name` exists, but not with this type.
    NoData { name: String, negative_ttl: Option<u32> },
    /// No usable answer: timeout, SERVFAIL, REFUSED, an unreachable server...
    Failed { class: ErrorClass, detail: String },
}

/// One resource record, its value in canonical form (see [`crate::dns::DnsValue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub name: String,
    /// The type mnemonic (`A`, `CNAME`...), also for types reach has no checks for.
    pub record_type: String,
    pub ttl: u32,
    pub value: String,
}

impl DnsAnswer {
    /// The alias chain from `name`: `[name, cname1, cname2...]` as the CNAME records lead,
    /// stopping at a loop.
    pub fn chain(&self, name: &str) -> Vec<String> {
        let mut chain = vec![name.to_owned()];
        let DnsAnswer::Records(records) = self else {
            return chain;
        };
        while let Some(next) = records
            .iter()
            .find(|r| r.record_type == "CNAME" && chain.last().is_some_and(|last| *last == r.name))
        {
            if chain.contains(&next.value) {
                break;
            }
            chain.push(next.value.clone());
        }
        chain
    }

    /// The records of `record_type` that answer `name`: those at the end of its alias chain
    /// (for CNAME itself, the name's own CNAME record).
    pub fn final_records(&self, name: &str, record_type: crate::dns::RecordType) -> Vec<&DnsRecord> {
        let DnsAnswer::Records(records) = self else {
            return Vec::new();
        };
        let owner = if record_type == crate::dns::RecordType::Cname {
            name.to_owned()
        } else {
            self.chain(name).pop().unwrap_or_else(|| name.to_owned())
        };
        records
            .iter()
            .filter(|r| r.record_type == record_type.as_str() && r.name == owner)
            .collect()
    }
}

/// Time spent in each stage of one check, summed over attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    pub dns: Option<Duration>,
    /// TCP connect (the longest over a host's addresses).
    pub tcp: Option<Duration>,
    /// TLS handshake.
    pub tls: Option<Duration>,
    /// From sending a request to its first response byte.
    pub ttfb: Option<Duration>,
}

/// Why a check was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `--tag` selected other checks.
    TagFilter,
    /// `--vantage` selected another vantage point, or none was given for a vantage-bound check.
    VantageFilter,
    /// The run's deadline passed before the check started or finished.
    Deadline,
}

/// The result of running one check: its verdict and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// The stage that decided the status (absent for skips).
    pub stage: Option<Stage>,
    /// The error class, where one applies (always for `error`, sometimes for `fail`).
    pub error: Option<ErrorClass>,
    pub skip_reason: Option<SkipReason>,
    /// One line for people: what was observed, in words.
    pub observed_summary: String,
    /// Why the status is what it is; empty for a plain pass.
    pub message: String,
    pub observed: Observed,
    pub timings: Timings,
    /// How many times the probe ran (retries included); 0 when skipped.
    pub attempts: u32,
}

impl Outcome {
    /// A check that was never run.
    pub fn skipped(reason: SkipReason, message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Skip,
            stage: None,
            error: matches!(reason, SkipReason::Deadline).then_some(ErrorClass::Deadline),
            skip_reason: Some(reason),
            observed_summary: "not run".to_owned(),
            message: message.into(),
            observed: Observed::Nothing,
            timings: Timings::default(),
            attempts: 0,
        }
    }

    /// A check that could not observe what it needed to.
    pub fn error(stage: Stage, class: ErrorClass, message: impl Into<String>) -> Self {
        Outcome {
            status: Status::Error,
            stage: Some(stage),
            error: Some(class),
            skip_reason: None,
            observed_summary: class.as_str().to_owned(),
            message: message.into(),
            observed: Observed::Nothing,
            timings: Timings::default(),
            attempts: 0,
        }
    }
}

/// Counts of each status over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    /// Skips caused by the run's deadline: checks that were wanted but not observed.
    pub skipped_by_deadline: usize,
}

impl Summary {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut summary = Summary::default();
        for outcome in outcomes {
            summary.total += 1;
            match outcome.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => {
                    summary.skip += 1;
                    if outcome.skip_reason == Some(SkipReason::Deadline) {
                        summary.skipped_by_deadline += 1;
                    }
                }
            }
        }
        summary
    }

    /// The process exit code for a run with these results (DESIGN.md): 1 on any fail; else 3
    /// when anything could not be observed (an error, or a check the deadline cut off); else 0.
    pub fn exit_code(&self) -> u8 {
        if self.fail > 0 {
            1
        } else if self.error > 0 || self.skipped_by_deadline > 0 {
            3
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(status: Status) -> Outcome {
        Outcome {
            status,
            ..Outcome::skipped(SkipReason::TagFilter, "")
        }
    }

    #[test]
    fn exit_code_prefers_fail_over_error() {
        let outcomes = [with_status(Status::Error), with_status(Status::Fail)];
        assert_eq!(Summary::of(&outcomes).exit_code(), 1);
    }

    #[test]
    fn exit_code_is_three_for_errors_without_fails() {
        let outcomes = [with_status(Status::Pass), with_status(Status::Error)];
        assert_eq!(Summary::of(&outcomes).exit_code(), 3);
    }

    #[test]
    fn filtered_out_skips_do_not_spoil_a_pass_but_deadline_skips_do() {
        let filtered = [with_status(Status::Pass), with_status(Status::Skip)];
        assert_eq!(Summary::of(&filtered).exit_code(), 0);
        let cut_off = [
            with_status(Status::Pass),
            Outcome::skipped(SkipReason::Deadline, "deadline"),
        ];
        let summary = Summary::of(&cut_off);
        assert_eq!((summary.skip, summary.skipped_by_deadline), (1, 1));
        assert_eq!(summary.exit_code(), 3);
    }
}
