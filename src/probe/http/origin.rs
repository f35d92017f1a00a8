//! Where a request's connection goes (scheme security, host, port), and the facts about the
//! connection an exchange used.

use crate::outcome::TlsSession;
use crate::spec::Host;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use url::Url;

/// Where a URL's connection goes: scheme security, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub tls: bool,
    pub host: Host,
    pub port: u16,
}

impl Origin {
    /// The origin of an `http`, `https`, `ws` or `wss` URL.
    pub fn of(url: &Url) -> Result<Origin, OriginError> {
        let tls = matches!(url.scheme(), "https" | "wss");
        let host = url
            .host_str()
            .ok_or_else(|| OriginError::NoHost(url.to_string()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| OriginError::NoPort(url.to_string()))?;
        Ok(Origin {
            tls,
            host: Host::parse(host).map_err(OriginError::Host)?,
            port,
        })
    }
}

/// A URL that names no place to connect to (the spec's validation keeps these out of a plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("`{0}` names no host")]
    NoHost(String),
    #[error("`{0}` has no port")]
    NoPort(String),
    #[error("{0}")]
    Host(String),
}

/// Facts about the connection an exchange used (the first request's, for a reused one).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Tells the connections of a run apart.
    pub id: u64,
    pub address: SocketAddr,
    pub tls: Option<TlsSession>,
    /// The proxy, without credentials.
    pub proxy: Option<String>,
    /// Bytes of HTTP read from the connection so far (above TLS).
    pub read: Arc<AtomicU64>,
}

impl ConnInfo {
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}
