//! Port states and the evidence behind them, for one address (tcp checks) or a whole scan.

use super::verdict::ErrorClass;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

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
