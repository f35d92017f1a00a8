//! What an HTTP-speaking check (http, websocket, endpoint) saw.

use super::verdict::Verdict;
use std::net::SocketAddr;
use std::time::Duration;

/// What an HTTP-speaking check saw, as far as it got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpObservation {
    /// The URL of the last request made (after redirects).
    pub url: String,
    /// The address connected to (the proxy's, through a proxy).
    pub address: Option<SocketAddr>,
    /// The proxy used, without credentials; `None` when direct.
    pub proxy: Option<String>,
    /// True when the request went over a connection an earlier request had opened.
    pub reused_connection: bool,
    pub tls: Option<TlsSession>,
    /// The last response's status.
    pub status: Option<u16>,
    /// `HTTP/1.1`, `HTTP/2`: the version the answer came over.
    pub version: Option<String>,
    /// Every redirect answered, in order.
    pub redirects: Vec<RedirectHop>,
    /// From the first byte of the request to the last byte of the response (one request).
    pub response_time: Option<Duration>,
    /// Response times over `samples` requests.
    pub latency: Option<LatencyStats>,
    pub body_bytes: Option<u64>,
    /// The body was longer than what reach keeps (or reads): rules saw only its start.
    pub body_truncated: bool,
    /// For WebSocket checks: whether the echo came back unchanged.
    pub echoed: Option<bool>,
    /// `addresses = "all"`: what each address of the name answered, in resolver order.
    pub addresses: Vec<AddressExchange>,
}

/// What one address of an `addresses = "all"` check answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressExchange {
    pub address: SocketAddr,
    pub verdict: Verdict,
    /// The last response's status, when one came.
    pub status: Option<u16>,
    /// Why the verdict is what it is; empty for a pass.
    pub message: String,
    pub response_time: Option<Duration>,
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
