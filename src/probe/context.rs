//! What every probe may use: the run's resolver, trust, HTTP settings, scan budget and
//! round-trip estimates.

use super::http::settings::HttpCtx;
use super::rtt::RttTable;
use super::scan::shared::ScanShared;
use crate::resolve::Resolver;
use crate::trust::Trust;

/// Shared, per-run state that tests replace with local servers.
#[derive(Debug, Default)]
pub struct Ctx {
    pub resolver: Resolver,
    /// Certificate authorities that TLS verification trusts.
    pub trust: Trust,
    /// Proxies, API keys and pooled connections of the HTTP-speaking kinds.
    pub http: HttpCtx,
    /// The socket budget and progress counters of port scans.
    pub scan: ScanShared,
    /// The round-trip estimate of every host probed, shared by its scans and `tcp` checks.
    pub rtt: RttTable,
}
