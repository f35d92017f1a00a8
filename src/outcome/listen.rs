//! This host's listening sockets, as the inside view reads them.

use std::net::IpAddr;

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
