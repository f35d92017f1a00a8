//! Where a request's connection goes (scheme security, host, port), and the facts about the
//! connection an exchange used.

use crate::outcome::TlsSession;
use crate::spec::Host;
use std::net::SocketAddr;
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
    pub fn of(url: &Url) -> Result<Origin, String> {
        let tls = matches!(url.scheme(), "https" | "wss");
        let host = url.host_str().ok_or_else(|| format!("`{url}` names no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("`{url}` has no port"))?;
        Ok(Origin {
            tls,
            host: Host::parse(host)?,
            port,
        })
    }
}

/// Facts about the connection an exchange used (the first request's, for a reused one).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub address: SocketAddr,
    pub tls: Option<TlsSession>,
    /// The proxy, without credentials.
    pub proxy: Option<String>,
}
