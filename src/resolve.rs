//! Name resolution for every probe and for the `dns` check kind, through hickory-resolver:
//! `--resolve` overrides first, then `/etc/hosts` and the system's resolv.conf servers, or the
//! one `--dns-server` when given (then it answers every name of the run).
//!
//! Address lookups of the same name are shared across the checks of a run, so a profile with
//! fifty checks against one host asks the resolver once. Record lookups of `dns` checks are
//! not cached: each check sees what the server says, with its TTLs.

use crate::classify;
use crate::dns::{canonical_name, DnsProtocol, RecordType};
use crate::outcome::{DnsAnswer, DnsRecord, ErrorClass, ServerAnswer};
use crate::spec::Host;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::Query;
use hickory_resolver::proto::rr::{RData, Record, RecordType as HickoryType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Hosts, Name, TokioResolver};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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

impl ResolveError {
    /// A resolver that timed out or failed on its side may answer the next attempt.
    pub fn is_transient(&self) -> bool {
        matches!(self.class, ErrorClass::Timeout | ErrorClass::Servfail)
    }
}

/// Addresses for one host, and how long it took to learn them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub addresses: Vec<IpAddr>,
    pub elapsed: Duration,
}

type Shared = Arc<OnceCell<Result<Vec<IpAddr>, ResolveError>>>;

/// Which hickory resolver answers: one per server and protocol, built on first
/// use and shared by the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey {
    /// `None`: the system configuration.
    server: Option<SocketAddr>,
    protocol: DnsProtocol,
}

struct Client {
    resolver: TokioResolver,
    /// Who answers, for reports.
    label: String,
}

/// Resolves hosts for probes and records for `dns` checks.
#[derive(Default)]
pub struct Resolver {
    overrides: Vec<ResolveOverride>,
    /// `--dns-server`: replaces the system configuration for the whole run.
    dns_server: Option<SocketAddr>,
    cache: Mutex<HashMap<String, Shared>>,
    clients: Mutex<HashMap<ClientKey, Arc<Client>>>,
    /// `/etc/hosts`, read on first use; only consulted when no `--dns-server` is given.
    hosts: std::sync::OnceLock<Hosts>,
    /// The nameservers of resolv.conf, for `dns` checks that use the system's resolvers.
    system_servers: std::sync::OnceLock<Result<Vec<SocketAddr>, String>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("overrides", &self.overrides)
            .field("dns_server", &self.dns_server)
            .finish_non_exhaustive()
    }
}

/// How long hickory itself waits; each lookup is cut off earlier by its check's own timeout.
const HICKORY_TIMEOUT: Duration = Duration::from_secs(60);

impl Resolver {
    pub fn new(overrides: Vec<ResolveOverride>) -> Self {
        Resolver {
            overrides,
            ..Resolver::default()
        }
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
        let found = cell
            .get_or_init(|| self.lookup_addresses(name, timeout))
            .await
            .clone();
        if let Err(e) = &found {
            if is_transient(e.class) {
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
        let query = query.map_err(|e| ResolveError {
            class: ErrorClass::DnsError,
            message: format!("`{name}` is not a name a resolver can look up: {e}"),
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
        let via = &client.label;
        Err(match answer {
            DnsAnswer::NxDomain { .. } => ResolveError {
                class: ErrorClass::Nxdomain,
                message: format!("`{name}` does not resolve: no such name (NXDOMAIN from {via})"),
            },
            DnsAnswer::NoData { .. } | DnsAnswer::Records(_) => ResolveError {
                class: ErrorClass::NoData,
                message: format!("`{name}` exists but has no A or AAAA record (NODATA from {via})"),
            },
            DnsAnswer::Failed { class, detail } => ResolveError {
                class,
                message: format!("`{name}` could not be resolved by {via}: {detail}"),
            },
        })
    }

    /// Asks one server (`None`: the run's resolver) for the records of `name`, as a `dns`
    /// check does: no hosts file, no search domains, no cache.
    ///
    /// The system's resolvers are asked one after the other, as resolv.conf says, until one
    /// gives an answer; the report names the one that did.
    pub async fn query(
        &self,
        name: &str,
        record_type: RecordType,
        server: Option<SocketAddr>,
        protocol: DnsProtocol,
        timeout: Duration,
    ) -> ServerAnswer {
        let started = Instant::now();
        if let Some(address) = server.or(self.dns_server) {
            return self
                .ask(name, record_type, address, protocol, timeout, started)
                .await;
        }
        let servers = self.system_servers();
        let Some((&last, earlier)) = servers.as_deref().unwrap_or_default().split_last() else {
            let why = servers
                .err()
                .unwrap_or_else(|| "it lists no nameserver".to_owned());
            return ServerAnswer {
                server: "system resolver".to_owned(),
                answer: DnsAnswer::Failed {
                    class: ErrorClass::DnsError,
                    detail: format!("no DNS server to ask (/etc/resolv.conf: {why}): pass --dns-server"),
                },
                elapsed: started.elapsed(),
            };
        };
        let deadline = started + timeout;
        let mut failures = Vec::new();
        for (index, &address) in earlier.iter().enumerate() {
            // Each server gets an equal share of the time left, as a stub resolver moves on.
            let left = u32::try_from(earlier.len() + 1 - index).unwrap_or(1);
            let share = deadline.saturating_duration_since(Instant::now()) / left;
            let answer = self
                .ask_system(name, record_type, address, protocol, share, started)
                .await;
            match &answer.answer {
                DnsAnswer::Failed { detail, .. } => failures.push(format!("{address}: {detail}")),
                _ => return answer,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let mut answer = self
            .ask_system(name, record_type, last, protocol, left, started)
            .await;
        if let DnsAnswer::Failed { class, detail } = &answer.answer {
            if !failures.is_empty() {
                failures.push(format!("{last}: {detail}"));
                answer.answer = DnsAnswer::Failed {
                    class: *class,
                    detail: format!("no system resolver answered ({})", failures.join("; ")),
                };
            }
        }
        answer
    }

    /// [`Resolver::ask`], labelled as one of the system's resolvers.
    async fn ask_system(
        &self,
        name: &str,
        record_type: RecordType,
        address: SocketAddr,
        protocol: DnsProtocol,
        timeout: Duration,
        started: Instant,
    ) -> ServerAnswer {
        let mut answer = self
            .ask(name, record_type, address, protocol, timeout, started)
            .await;
        answer.server = format!("{} (system resolver)", answer.server);
        answer
    }

    async fn ask(
        &self,
        name: &str,
        record_type: RecordType,
        address: SocketAddr,
        protocol: DnsProtocol,
        timeout: Duration,
        started: Instant,
    ) -> ServerAnswer {
        let client = self.client(ClientKey {
            server: Some(address),
            protocol,
        });
        let answer = match fqdn(name) {
            Err(e) => DnsAnswer::Failed {
                class: ErrorClass::DnsError,
                detail: format!("`{name}` is not a name a resolver can look up: {e}"),
            },
            Ok(query) => {
                match tokio::time::timeout(timeout, client.resolver.lookup(query, hickory_type(record_type)))
                    .await
                {
                    Err(_) => DnsAnswer::Failed {
                        class: ErrorClass::Timeout,
                        detail: format!(
                            "the server did not answer within {}",
                            crate::text::rounded(timeout)
                        ),
                    },
                    Ok(Err(e)) => classify::dns_error(&e),
                    Ok(Ok(lookup)) => DnsAnswer::Records(lookup.records().iter().map(record).collect()),
                }
            }
        };
        ServerAnswer {
            server: client.label.clone(),
            answer,
            elapsed: started.elapsed(),
        }
    }

    /// The nameservers of /etc/resolv.conf, read once.
    fn system_servers(&self) -> Result<Vec<SocketAddr>, String> {
        self.system_servers
            .get_or_init(|| {
                let (config, _) =
                    hickory_resolver::system_conf::read_system_conf().map_err(|e| e.to_string())?;
                let mut servers: Vec<SocketAddr> = Vec::new();
                for server in config.name_servers() {
                    if !servers.contains(&server.socket_addr) {
                        servers.push(server.socket_addr);
                    }
                }
                Ok(servers)
            })
            .clone()
    }

    fn client(&self, key: ClientKey) -> Arc<Client> {
        // A poisoned lock only means another lookup panicked; the map itself is still sound.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(clients.entry(key).or_insert_with(|| Arc::new(build_client(key))))
    }
}

fn build_client(key: ClientKey) -> Client {
    let (config, mut options, label) = match key.server {
        Some(address) => {
            let protocols: &[Protocol] = match key.protocol {
                DnsProtocol::Auto => &[Protocol::Udp, Protocol::Tcp],
                DnsProtocol::Udp => &[Protocol::Udp],
                DnsProtocol::Tcp => &[Protocol::Tcp],
            };
            let mut group = NameServerConfigGroup::new();
            for &protocol in protocols {
                group.push(NameServerConfig::new(address, protocol));
            }
            let label = match key.protocol {
                DnsProtocol::Tcp => format!("{address}/tcp"),
                _ => address.to_string(),
            };
            (
                ResolverConfig::from_parts(None, Vec::new(), group),
                ResolverOpts::default(),
                label,
            )
        }
        None => match hickory_resolver::system_conf::read_system_conf() {
            Ok((config, options)) => {
                let servers: Vec<String> = config
                    .name_servers()
                    .iter()
                    .filter(|s| s.protocol == Protocol::Udp)
                    .map(|s| s.socket_addr.to_string())
                    .collect();
                let label = format!("system resolver ({})", servers.join(", "));
                (config, options, label)
            }
            // Never a built-in public resolver: with no configuration, only /etc/hosts answers.
            Err(e) => (
                ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::new()),
                ResolverOpts::default(),
                format!("system resolver (unconfigured: {e})"),
            ),
        },
    };
    options.timeout = HICKORY_TIMEOUT;
    // The runner retries inconclusive attempts itself, with backoff and a deadline.
    options.attempts = 0;
    options.cache_size = 0;
    options.preserve_intermediates = true;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    // /etc/hosts is read by `Resolver::lookup_addresses` itself, so that a name found there
    // is not also sent to a DNS server for its other address family.
    options.use_hosts_file = ResolveHosts::Never;
    // Several servers are tried in the order given, so the one reported is the one asked first.
    options.server_ordering_strategy = hickory_resolver::config::ServerOrderingStrategy::UserProvidedOrder;
    if key.protocol == DnsProtocol::Udp {
        options.try_tcp_on_error = false;
    }
    let mut builder = TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
    *builder.options_mut() = options;
    Client {
        resolver: builder.build(),
        label,
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

fn fqdn(name: &str) -> Result<Name, hickory_resolver::proto::ProtoError> {
    let mut name = Name::from_ascii(name)?;
    name.set_fqdn(true);
    Ok(name)
}

fn hickory_type(record_type: RecordType) -> HickoryType {
    use HickoryType as H;
    match record_type {
        RecordType::A => H::A,
        RecordType::Aaaa => H::AAAA,
        RecordType::Cname => H::CNAME,
        RecordType::Mx => H::MX,
        RecordType::Txt => H::TXT,
        RecordType::Ns => H::NS,
        RecordType::Caa => H::CAA,
        RecordType::Srv => H::SRV,
        RecordType::Ptr => H::PTR,
    }
}

/// One record in reach's canonical form (see [`crate::dns::DnsValue`]).
fn record(record: &Record) -> DnsRecord {
    let name = |n: &Name| canonical_name(&n.to_ascii());
    let value = match record.data() {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(target) => name(&target.0),
        RData::NS(target) => name(&target.0),
        RData::PTR(target) => name(&target.0),
        RData::MX(mx) => format!("{} {}", mx.preference(), name(mx.exchange())),
        RData::TXT(txt) => txt
            .txt_data()
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect::<String>(),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority(),
            srv.weight(),
            srv.port(),
            name(srv.target())
        ),
        RData::CAA(caa) => crate::dns::caa_value(
            caa.flags(),
            caa.tag().as_str(),
            &String::from_utf8_lossy(caa.raw_value()),
        ),
        other => other.to_string(),
    };
    DnsRecord {
        name: name(record.name()),
        record_type: record.record_type().to_string(),
        ttl: record.ttl(),
        value,
    }
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
