//! Name resolution for every probe: `--resolve` overrides first, then the system resolver.
//!
//! Lookups of the same name are shared across the checks of a run, so a profile with fifty
//! checks against one host asks the resolver once.

use crate::classify;
use crate::outcome::ErrorClass;
use crate::spec::Host;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// `--resolve HOST:PORT:ADDR[,ADDR...]`, as in curl; `*` as PORT matches every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    pub host: String,
    pub port: Option<u16>,
    pub addresses: Vec<IpAddr>,
}

impl std::str::FromStr for ResolveOverride {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("`{text}` is not HOST:PORT:ADDR (e.g. api.example.com:443:127.0.0.1)");
        let (host, rest) = text.split_once(':').ok_or_else(usage)?;
        let (port, addresses) = rest.split_once(':').ok_or_else(usage)?;
        let host = match Host::parse(host)? {
            Host::Name(name) => name,
            Host::Ip(_) => return Err(format!("`{host}` is already an address: --resolve takes a name")),
        };
        let port = match port {
            "*" => None,
            port => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| format!("`{port}` in `{text}` is not a port (1-65535) or *"))?,
            ),
        };
        let addresses = addresses
            .split(',')
            .map(|a| {
                let bare = a.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(a);
                bare.parse::<IpAddr>()
                    .map_err(|_| format!("`{a}` in `{text}` is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResolveOverride {
            host,
            port,
            addresses,
        })
    }
}

/// Why a name gave no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    pub class: ErrorClass,
    pub message: String,
}

/// Addresses for one host, and how long it took to learn them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub addresses: Vec<IpAddr>,
    pub elapsed: Duration,
}

type Shared = Arc<OnceCell<Result<Vec<IpAddr>, ResolveError>>>;

/// Resolves hosts for probes.
#[derive(Debug, Default)]
pub struct Resolver {
    overrides: Vec<ResolveOverride>,
    cache: Mutex<HashMap<String, Shared>>,
}

impl Resolver {
    pub fn new(overrides: Vec<ResolveOverride>) -> Self {
        Resolver {
            overrides,
            cache: Mutex::default(),
        }
    }

    /// Every address of `host` for a connection to `port`, in the resolver's order.
    pub async fn resolve(&self, host: &Host, port: u16, timeout: Duration) -> Result<Resolved, ResolveError> {
        let started = Instant::now();
        let name = match host {
            Host::Ip(ip) => {
                return Ok(Resolved {
                    addresses: vec![*ip],
                    elapsed: Duration::ZERO,
                })
            }
            Host::Name(name) => name,
        };
        if let Some(found) = self
            .overrides
            .iter()
            .find(|o| o.host == *name && o.port.is_none_or(|p| p == port))
        {
            return Ok(Resolved {
                addresses: found.addresses.clone(),
                elapsed: Duration::ZERO,
            });
        }
        let cell = {
            // A poisoned lock only means another lookup panicked; the map itself is still sound.
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(cache.entry(name.clone()).or_default())
        };
        let addresses = cell
            .get_or_init(|| system_lookup(name.clone(), timeout))
            .await
            .clone()?;
        Ok(Resolved {
            addresses,
            elapsed: started.elapsed(),
        })
    }
}

async fn system_lookup(name: String, timeout: Duration) -> Result<Vec<IpAddr>, ResolveError> {
    // The port is irrelevant to getaddrinfo's answer; 0 keeps it from being looked up as a service.
    let lookup = tokio::net::lookup_host((name.as_str(), 0));
    let found = match tokio::time::timeout(timeout, lookup).await {
        Err(_) => {
            return Err(ResolveError {
                class: ErrorClass::Timeout,
                message: format!("the system resolver gave no answer for `{name}` within {timeout:?}"),
            })
        }
        Ok(Err(e)) => {
            let class = classify::system_resolver_error(&e);
            let message = match class {
                ErrorClass::Nxdomain => format!("`{name}` does not resolve: no such name (or no address)"),
                _ => format!("`{name}` could not be resolved: {e}"),
            };
            return Err(ResolveError { class, message });
        }
        Ok(Ok(found)) => found,
    };
    let mut addresses: Vec<IpAddr> = Vec::new();
    for address in found.map(|a| a.ip()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err(ResolveError {
            class: ErrorClass::NoData,
            message: format!("`{name}` resolved to no address"),
        });
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_like_curl() {
        let o: ResolveOverride = "api.example.com:443:127.0.0.1,[::1]".parse().unwrap();
        assert_eq!(o.host, "api.example.com");
        assert_eq!(o.port, Some(443));
        assert_eq!(
            o.addresses,
            ["127.0.0.1".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]
        );
        let any: ResolveOverride = "a.b:*:127.0.0.2".parse().unwrap();
        assert_eq!(any.port, None);
        assert!("a.b:443".parse::<ResolveOverride>().is_err());
        assert!("a.b:0:127.0.0.1".parse::<ResolveOverride>().is_err());
        assert!("a.b:443:nope".parse::<ResolveOverride>().is_err());
    }

    #[tokio::test]
    async fn overrides_apply_to_their_port_only_and_literals_need_no_lookup() {
        let resolver = Resolver::new(vec!["svc.test:8000:127.0.0.9".parse().unwrap()]);
        let host = Host::Name("svc.test".into());
        let found = resolver
            .resolve(&host, 8000, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(found.addresses, ["127.0.0.9".parse::<IpAddr>().unwrap()]);
        let literal = Host::Ip("::1".parse().unwrap());
        let found = resolver
            .resolve(&literal, 1, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(found.addresses, ["::1".parse::<IpAddr>().unwrap()]);
    }
}
