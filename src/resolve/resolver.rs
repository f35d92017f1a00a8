//! Addresses for every probe: `--resolve` overrides first, then `/etc/hosts` and the system's
//! resolv.conf servers, or the one `--dns-server` when given (then it answers every name of the
//! run). Lookups of the same name are shared across the checks of a run, so a profile with
//! fifty checks against one host asks the resolver once.

use super::clients::{build_client, fqdn, Client, ClientKey};
use super::overrides::ResolveOverride;
use crate::classify;
use crate::dns::DnsProtocol;
use crate::outcome::{DnsAnswer, ErrorClass};
use crate::spec::Host;
use hickory_resolver::proto::op::Query;
use hickory_resolver::proto::rr::RecordType as HickoryType;
use hickory_resolver::{Hosts, Name};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Why a name gave no address; `via` names who answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{name}` does not resolve: no such name (NXDOMAIN from {via})")]
    NxDomain { name: String, via: String },
    #[error("`{name}` exists but has no A or AAAA record (NODATA from {via})")]
    NoData { name: String, via: String },
    #[error("`{name}` could not be resolved by {via}: {detail}")]
    Failed {
        name: String,
        via: String,
        class: ErrorClass,
        detail: String,
    },
    #[error("`{name}` is not a name a resolver can look up: {reason}")]
    BadName { name: String, reason: String },
}

impl ResolveError {
    /// The error class a check reports.
    pub fn class(&self) -> ErrorClass {
        match self {
            ResolveError::NxDomain { .. } => ErrorClass::Nxdomain,
            ResolveError::NoData { .. } => ErrorClass::NoData,
            ResolveError::Failed { class, .. } => *class,
            ResolveError::BadName { .. } => ErrorClass::DnsError,
        }
    }

    /// A resolver that timed out or failed on its side may answer the next attempt.
    pub fn is_transient(&self) -> bool {
        matches!(self.class(), ErrorClass::Timeout | ErrorClass::Servfail)
    }
}

/// Addresses for one host, and how long it took to learn them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub addresses: Vec<IpAddr>,
    pub elapsed: Duration,
}

type Shared = Arc<OnceCell<Result<Vec<IpAddr>, ResolveError>>>;

/// Resolves hosts for probes and records for `dns` checks.
#[derive(Default)]
pub struct Resolver {
    overrides: Vec<ResolveOverride>,
    /// Whether each override answered a lookup, so that one that never did can be pointed out.
    used: Vec<std::sync::atomic::AtomicBool>,
    /// `--dns-server`: replaces the system configuration for the whole run.
    pub(super) dns_server: Option<SocketAddr>,
    cache: Mutex<HashMap<String, Shared>>,
    clients: Mutex<HashMap<ClientKey, Arc<Client>>>,
    /// `/etc/hosts`, read on first use; only consulted when no `--dns-server` is given.
    hosts: std::sync::OnceLock<Hosts>,
    /// The nameservers of resolv.conf, for `dns` checks that use the system's resolvers.
    pub(super) system_servers: std::sync::OnceLock<Result<Vec<SocketAddr>, SystemConfError>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("overrides", &self.overrides)
            .field("dns_server", &self.dns_server)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    pub fn new(overrides: Vec<ResolveOverride>) -> Self {
        Resolver {
            used: overrides.iter().map(|_| Default::default()).collect(),
            overrides,
            ..Resolver::default()
        }
    }

    /// The `--resolve` overrides that answered no lookup of the run so far.
    pub fn unused_overrides(&self) -> Vec<&ResolveOverride> {
        self.overrides
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !used.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(o, _)| o)
            .collect()
    }

    /// Sends every lookup of the run to `server` instead of the system's resolvers.
    #[must_use]
    pub fn with_dns_server(mut self, server: Option<SocketAddr>) -> Self {
        self.dns_server = server;
        self
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
        if let Some((found, used)) = self
            .overrides
            .iter()
            .zip(&self.used)
            .find(|(o, _)| o.host == *name && o.port.is_none_or(|p| p == port))
        {
            used.store(true, std::sync::atomic::Ordering::Relaxed);
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
        let found = cell
            .get_or_init(|| self.lookup_addresses(name, timeout))
            .await
            .clone();
        if let Err(e) = &found {
            if is_transient(e.class()) {
                // The next attempt of a check must ask again, not reread this failure.
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.get(name).is_some_and(|cached| Arc::ptr_eq(cached, &cell)) {
                    cache.remove(name);
                }
            }
        }
        let addresses = found?;
        Ok(Resolved {
            addresses,
            elapsed: started.elapsed(),
        })
    }

    async fn lookup_addresses(&self, name: &str, timeout: Duration) -> Result<Vec<IpAddr>, ResolveError> {
        let client = self.client(ClientKey {
            server: self.dns_server,
            protocol: DnsProtocol::Auto,
        });
        let query = match self.dns_server {
            // An explicit server answers for the name as written, with no search domains.
            Some(_) => fqdn(name),
            None => Name::from_ascii(name),
        };
        let query = query.map_err(|e| ResolveError::BadName {
            name: name.to_owned(),
            reason: e.to_string(),
        })?;
        if self.dns_server.is_none() {
            // Like the C library: a name in /etc/hosts is answered there, and only there.
            let hosts = self
                .hosts
                .get_or_init(|| Hosts::from_system().unwrap_or_default());
            let mut found = Vec::new();
            for rtype in [HickoryType::A, HickoryType::AAAA] {
                let query = Query::query(query.clone(), rtype);
                if let Some(lookup) = hosts.lookup_static_host(&query) {
                    found.extend(lookup.iter().filter_map(|data| data.ip_addr()));
                }
            }
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let looked_up = tokio::time::timeout(timeout, client.resolver.lookup_ip(query)).await;
        let answer = match looked_up {
            Err(_) => DnsAnswer::Failed {
                class: ErrorClass::Timeout,
                detail: format!("no answer within {}", crate::text::rounded(timeout)),
            },
            Ok(Err(e)) => classify::dns_error(&e),
            Ok(Ok(found)) => {
                let mut addresses: Vec<IpAddr> = Vec::new();
                for address in found.iter() {
                    if !addresses.contains(&address) {
                        addresses.push(address);
                    }
                }
                if !addresses.is_empty() {
                    return Ok(addresses);
                }
                DnsAnswer::NoData {
                    name: name.to_owned(),
                    negative_ttl: None,
                }
            }
        };
        let (name, via) = (name.to_owned(), client.label.clone());
        Err(match answer {
            DnsAnswer::NxDomain { .. } => ResolveError::NxDomain { name, via },
            DnsAnswer::NoData { .. } | DnsAnswer::Records(_) => ResolveError::NoData { name, via },
            DnsAnswer::Failed { class, detail } => ResolveError::Failed {
                name,
                via,
                class,
                detail,
            },
        })
    }

    pub(super) fn client(&self, key: ClientKey) -> Arc<Client> {
        // A poisoned lock only means another lookup panicked; the map itself is still sound.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(clients.entry(key).or_insert_with(|| Arc::new(build_client(key))))
    }
}

/// Failures that another attempt may not see.
fn is_transient(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout
            | ErrorClass::Servfail
            | ErrorClass::Io
            | ErrorClass::Unreachable
            | ErrorClass::Refused
    )
}

/// Why the system's DNS configuration could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SystemConfError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn overrides_that_answered_nothing_are_told_apart() {
        let resolver = Resolver::new(vec![
            "svc.test:8000:127.0.0.9".parse().unwrap(),
            "typo.test:*:127.0.0.9".parse().unwrap(),
        ]);
        assert_eq!(resolver.unused_overrides().len(), 2);
        let host = Host::Name("svc.test".into());
        resolver
            .resolve(&host, 8000, Duration::from_secs(1))
            .await
            .unwrap();
        let unused: Vec<&str> = resolver
            .unused_overrides()
            .iter()
            .map(|o| o.host.as_str())
            .collect();
        assert_eq!(unused, ["typo.test"]);
    }
}
