//! Time spent in each stage of one attempt.

use std::time::Duration;

/// Time spent in each stage of one check, of the attempt that decided the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    pub dns: Option<Duration>,
    /// TCP connect (to the proxy, through one; the longest over a host's addresses).
    pub tcp: Option<Duration>,
    /// The proxy's CONNECT tunnel or SOCKS5 handshake, after the TCP connect to it.
    pub proxy: Option<Duration>,
    /// TLS handshake.
    pub tls: Option<Duration>,
    /// From sending a request to its first response byte.
    pub ttfb: Option<Duration>,
}
