//! Probes: one module per check kind. A probe observes the network and decides pass, fail or
//! error for one attempt; it never prints, never retries and never skips (the runner does).

pub mod attempt;
pub mod connect;
pub mod context;
pub mod dns;
pub mod endpoint;
pub mod http;
pub mod limits;
pub mod listen;
pub mod port_wait;
pub mod rtt;
pub mod scan;
pub mod tcp;
pub mod tls;
pub mod watch;
pub mod websocket;

pub use attempt::Attempt;
pub use context::Ctx;

use crate::spec::{Check, ProbeSpec};
use std::future::Future;

/// Runs one attempt of a check. The runner is generic over this, so its scheduling, retries and
/// deadlines are tested with scripted attempts and no network.
pub trait Executor: Send + Sync + 'static {
    fn attempt(&self, check: &Check) -> impl Future<Output = Attempt> + Send;
}

impl Executor for Ctx {
    async fn attempt(&self, check: &Check) -> Attempt {
        match &check.probe {
            ProbeSpec::Tcp(tcp) => tcp::attempt(self, tcp, check.timeout, check.retries).await,
            ProbeSpec::Http(http) => http::check::attempt(self, http, check.timeout).await,
            ProbeSpec::Websocket(ws) => websocket::attempt(self, ws, check.timeout).await,
            ProbeSpec::Endpoint(endpoint) => endpoint::attempt(self, endpoint, check.timeout).await,
            ProbeSpec::Scan(scan) => scan::attempt(self, scan, check.timeout, check.retries).await,
            ProbeSpec::Listen(listen) => listen::attempt(listen).await,
            ProbeSpec::Tls(tls) => tls::attempt(self, tls, check.timeout).await,
            ProbeSpec::Dns(dns) => dns::attempt(self, dns, check.timeout).await,
        }
    }
}
