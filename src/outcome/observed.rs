//! The evidence a check gathered, kind by kind.

use super::dns::DnsObservation;
use super::http::HttpObservation;
use super::listen::ListeningSocket;
use super::port::{AddressObservation, AddressScan};
use super::tls::TlsObservation;

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
    Tls {
        observation: Box<TlsObservation>,
        /// What the check's policy found wrong, one line each; empty when all held.
        violations: Vec<String>,
    },
    /// An HTTP exchange (http, websocket and endpoint checks).
    Http(Box<HttpObservation>),
    /// A port scan of every address a host resolved to.
    Scan { addresses: Vec<AddressScan> },
    /// This host's listening sockets that the check looked at.
    Listen { sockets: Vec<ListeningSocket> },
}
