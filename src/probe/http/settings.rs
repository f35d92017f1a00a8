//! The run's HTTP settings, shared by every HTTP-speaking check: proxies and API keys from the
//! environment, the connection pool, and the client TLS configuration.

use super::keys::Keys;
use super::pool::Pool;
use super::proxy_env::{ProxyEnv, ProxyEnvError};
use crate::spec::request::HttpVersion;
use crate::trust::Trust;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The run's HTTP state, shared by every HTTP-speaking check.
#[derive(Default)]
pub struct HttpCtx {
    pub proxies: ProxyEnv,
    pub keys: Keys,
    /// Connections kept open between requests, and each origin's share of them.
    pub pool: Pool,
    /// One client configuration per ALPN offer: auto, 1.1, 2.
    tls: [OnceLock<Result<Arc<rustls::ClientConfig>, rustls::Error>>; 3],
}

impl fmt::Debug for HttpCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCtx")
            .field("proxies", &self.proxies)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl HttpCtx {
    /// Proxies and keys from the process environment. A proxy variable that cannot be parsed is
    /// a usage error, named with its value's credentials hidden.
    pub fn from_env() -> Result<HttpCtx, ProxyEnvError> {
        let get = |name: &str| std::env::var(name).ok();
        let key = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(HttpCtx {
            proxies: ProxyEnv::from_vars(get)?,
            keys: Keys::from_vars(key),
            ..HttpCtx::default()
        })
    }

    /// The client TLS configuration for `version` (the run's roots; ALPN offers h2 and
    /// http/1.1 for auto, one of them otherwise), built once per offer.
    pub fn tls_config(
        &self,
        trust: &Trust,
        version: HttpVersion,
    ) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
        let (slot, offer): (usize, &[&[u8]]) = match version {
            HttpVersion::Auto => (0, &[b"h2", b"http/1.1"]),
            HttpVersion::Http1 => (1, &[b"http/1.1"]),
            HttpVersion::Http2 => (2, &[b"h2"]),
        };
        self.tls[slot]
            .get_or_init(|| {
                trust.client_config().map(|mut config| {
                    config.alpn_protocols = offer.iter().map(|p| p.to_vec()).collect();
                    Arc::new(config)
                })
            })
            .clone()
    }
}
