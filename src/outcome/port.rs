//! Port states and the evidence behind them, for one address (tcp checks) or a whole scan.

use super::verdict::ErrorClass;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// A TCP port's state, in nmap's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    /// The three-way handshake completed.
    Open,
    /// The target answered the SYN with a RST: nothing listens, or a firewall rejects with a
    /// reset (or, when reach cannot watch for ICMP, a refusal of either kind: see
    /// [`PortEvidence::Refused`]).
    Closed,
    /// No answer in time, or an ICMP unreachable (port-unreachable included): something dropped
    /// or rejected the probe on its way.
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
    /// RST received (the socket's error queue was watched and held no ICMP message).
    Reset,
    /// The connect was refused and this host could not tell how: a RST or an ICMP
    /// port-unreachable (the socket's error queue could not be watched).
    Refused,
    /// Nothing came back before the timeout, on every attempt.
    NoResponse,
    /// An ICMP host, network or administratively-prohibited unreachable came back.
    IcmpUnreachable,
    /// An ICMP port-unreachable came back: the default `iptables -j REJECT`, which nmap's SYN
    /// scan calls filtered.
    IcmpPortUnreachable,
}

impl PortEvidence {
    pub fn as_str(self) -> &'static str {
        match self {
            PortEvidence::SynAck => "syn-ack",
            PortEvidence::Reset => "reset",
            PortEvidence::Refused => "refused",
            PortEvidence::NoResponse => "no-response",
            PortEvidence::IcmpUnreachable => "icmp-unreachable",
            PortEvidence::IcmpPortUnreachable => "icmp-port-unreachable",
        }
    }

    /// Whether this answer came from the target itself, so that its delay measures the host's
    /// round trip (an ICMP host or network unreachable may come from a router on the way).
    pub fn measures_rtt(self) -> bool {
        matches!(
            self,
            PortEvidence::SynAck
                | PortEvidence::Reset
                | PortEvidence::Refused
                | PortEvidence::IcmpPortUnreachable
        )
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
    Error(ConnectError),
}

/// The observation for one address of a TCP target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressObservation {
    pub address: IpAddr,
    pub probe: AddressProbe,
    /// From the first connect to this address to its verdict.
    pub elapsed: Duration,
    /// Connects made (SYNs sent from fresh sockets): a silent port gets more than one.
    pub connects: u32,
    /// Every wait for an answer that ran out, in order: what a `filtered` verdict rests on.
    pub timeouts: Vec<ExpiredWait>,
}

/// A wait for an answer to a connect that ran out with no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredWait {
    /// How long the connect was waited for.
    pub timeout: Duration,
    pub basis: WaitBasis,
}

/// Where the length of a wait came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitBasis {
    /// What was left of the check's `timeout`: the host had not answered anything yet in this
    /// run, so there was no round trip to go by.
    CheckTimeout,
    /// The host's round-trip estimate, srtt + 4·rttvar (at least 100 ms).
    Rtt,
    /// Twice the estimate: the retry of a port that stayed silent.
    RttRetry,
    /// What was left of the check's `timeout`: the port stayed silent through its retries, but
    /// the host answered nothing else meanwhile either, so the silence proves nothing yet.
    HostSilent,
}

impl WaitBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitBasis::CheckTimeout => "check-timeout",
            WaitBasis::Rtt => "rtt",
            WaitBasis::RttRetry => "rtt-retry",
            WaitBasis::HostSilent => "host-silent",
        }
    }

    /// Whether a port silent through a wait of this kind is `filtered` for good. A wait that ran
    /// to the end of the check's timeout is not: the runner tries the check again (`retries`).
    pub fn settles(self) -> bool {
        matches!(self, WaitBasis::Rtt | WaitBasis::RttRetry)
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
    /// Ports never probed, in ascending order: the run's deadline cut the scan short.
    pub unprobed: Vec<u16>,
    /// When its first connect started, since the run began: with `elapsed`, shows which
    /// addresses were scanned side by side.
    pub started: Duration,
    pub elapsed: Duration,
}

impl AddressScan {
    /// How many ports were probed to the end.
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

    /// Some port answered: a SYN-ACK, a RST or an ICMP error came back from (or for) it.
    pub fn answered(&self) -> bool {
        self.closed > 0
            || self.ports.iter().any(|p| {
                matches!(
                    p.probe,
                    AddressProbe::State { evidence, .. } if evidence != PortEvidence::NoResponse
                )
            })
    }

    /// Every port was probed and none answered: no SYN-ACK, no RST, no ICMP error. The host is
    /// down or a firewall drops everything to it; a connect cannot tell which.
    pub fn no_answer(&self) -> bool {
        self.closed == 0
            && self.unprobed.is_empty()
            && !self.ports.is_empty()
            && self.ports.iter().all(|p| {
                matches!(
                    p.probe,
                    AddressProbe::State {
                        evidence: PortEvidence::NoResponse,
                        ..
                    }
                )
            })
    }

    /// How many ports could not be probed.
    pub fn errors(&self) -> usize {
        self.ports
            .iter()
            .filter(|p| matches!(p.probe, AddressProbe::Error(_)))
            .count()
    }
}

/// Why a scanned address whose ports all stayed silent is reported as one line: a connect
/// cannot tell a host that is down from one behind a firewall that drops everything.
pub const NO_ANSWER_REASON: &str = "no answer on any port: host down or fully filtered";

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

/// Why a connect proved nothing about the target: what on this host stopped it, and the
/// operating system's own error, kept until a message is rendered.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.cause.describe(self.source.as_deref()))]
pub struct ConnectError {
    pub cause: LocalCause,
    /// The error the operating system reported, when there was one.
    pub source: Option<Arc<io::Error>>,
}

impl ConnectError {
    pub fn new(cause: LocalCause, source: io::Error) -> ConnectError {
        ConnectError {
            cause,
            source: Some(Arc::new(source)),
        }
    }

    pub fn class(&self) -> ErrorClass {
        self.cause.class()
    }
}

impl PartialEq for ConnectError {
    fn eq(&self, other: &Self) -> bool {
        let os = |e: &Self| e.source.as_ref().map(|s| (s.kind(), s.raw_os_error()));
        self.cause == other.cause && os(self) == os(other)
    }
}

impl Eq for ConnectError {}

/// What on this host kept a connect from saying anything about the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalCause {
    /// No route to the target from here.
    NoRoute,
    /// No local address can reach the target.
    NoLocalAddress,
    /// This host's own firewall or policy refused the connect.
    LocalFirewall,
    /// This host cannot use the target's address family.
    AddressFamily,
    /// Out of file descriptors.
    OutOfDescriptors,
    /// The connect's worker stopped without an answer (a bug).
    Internal,
    /// Anything else the operating system reported.
    Other,
}

impl LocalCause {
    pub fn class(self) -> ErrorClass {
        match self {
            LocalCause::NoRoute | LocalCause::NoLocalAddress | LocalCause::AddressFamily => {
                ErrorClass::Unreachable
            }
            LocalCause::LocalFirewall | LocalCause::OutOfDescriptors => ErrorClass::LocalPolicy,
            LocalCause::Internal | LocalCause::Other => ErrorClass::Io,
        }
    }

    fn describe(self, source: Option<&io::Error>) -> String {
        let what = match self {
            LocalCause::NoRoute => "this host has no route to the target",
            LocalCause::NoLocalAddress => "no local address can reach the target",
            LocalCause::LocalFirewall => "this host's own firewall or policy blocked the probe",
            LocalCause::AddressFamily => "this host cannot use that address family",
            LocalCause::OutOfDescriptors => {
                "out of file descriptors: lower --concurrency or raise `ulimit -n`"
            }
            LocalCause::Internal => "internal error: the scan worker stopped unexpectedly",
            LocalCause::Other => "",
        };
        match (what, source) {
            ("", Some(e)) => e.to_string(),
            ("", None) => "the connect failed".to_owned(),
            (what, Some(e)) => format!("{what} ({e})"),
            (what, None) => what.to_owned(),
        }
    }
}
