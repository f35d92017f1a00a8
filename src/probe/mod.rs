//! Probes: one module per check kind. A probe observes the network and decides pass, fail or
//! error for one attempt; it never prints and never retries (the runner does).

pub mod client;
pub mod dns;
pub mod endpoint;
pub mod http;
pub mod listen;
pub mod scan;
pub mod tcp;
pub mod tls;
pub mod transport;
pub mod websocket;

use crate::outcome::Outcome;
use crate::resolve::Resolver;
use crate::scan::ScanShared;
use crate::spec::{Check, ProbeSpec};
use crate::trust::Trust;
use std::future::Future;

/// What every probe may use: shared, per-run state that tests replace with local servers.
#[derive(Debug, Default)]
pub struct Ctx {
    pub resolver: Resolver,
    /// Certificate authorities that TLS verification trusts.
    pub trust: Trust,
    /// Proxies, API keys and pooled connections of the HTTP-speaking kinds.
    pub http: client::HttpCtx,
    /// The socket budget and progress counters of port scans.
    pub scan: ScanShared,
}

/// The result of one attempt of one check.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub outcome: Outcome,
    /// True when another attempt could change the verdict (a timeout, a transient failure),
    /// as opposed to a definite answer such as a RST or a SYN-ACK.
    pub inconclusive: bool,
}

impl Attempt {
    /// The attempt of a check whose host did not resolve: an error at stage dns.
    pub fn unresolved(e: crate::resolve::ResolveError) -> Attempt {
        Attempt {
            inconclusive: e.is_transient(),
            outcome: Outcome::error(crate::outcome::Stage::Dns, e.class, e.message),
        }
    }
}

/// Runs one attempt of a check. The runner is generic over this, so its scheduling, retries and
/// deadlines are tested with scripted attempts and no network.
pub trait Executor: Send + Sync + 'static {
    fn attempt(&self, check: &Check) -> impl Future<Output = Attempt> + Send;
}

impl Executor for Ctx {
    async fn attempt(&self, check: &Check) -> Attempt {
        match &check.probe {
            ProbeSpec::Tcp(tcp) => tcp::attempt(self, tcp, check.timeout).await,
            ProbeSpec::Http(http) => http::attempt(self, http, check.timeout).await,
            ProbeSpec::Websocket(ws) => websocket::attempt(self, ws, check.timeout).await,
            ProbeSpec::Endpoint(endpoint) => endpoint::attempt(self, endpoint, check.timeout).await,
            ProbeSpec::Scan(scan) => scan::attempt(self, scan, check.timeout, check.retries).await,
            ProbeSpec::Listen(listen) => listen::attempt(listen).await,
            ProbeSpec::Tls(tls) => tls::attempt(self, tls, check.timeout).await,
            ProbeSpec::Dns(dns) => dns::attempt(self, dns, check.timeout).await,
        }
    }
}
