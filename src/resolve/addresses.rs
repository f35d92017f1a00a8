//! Addresses for every probe: `--resolve` overrides first; then, with `--dns-server`, that
//! server for the name as written; without it, `/etc/hosts`, then the system's resolvers with
//! resolv.conf's search domains, as the C library does. `localhost` names are loopback
//! (RFC 6761) whoever would be asked. A and AAAA are asked at once; lookups of the same name
//! are shared across the checks of a run, so fifty checks against one host ask once.

use super::answer::from_reply;
use super::error::ResolveError;
use super::resolver::Resolver;
use super::wire::Question;
use crate::dns::{canonical_name, DnsProtocol, RecordType};
use crate::outcome::{DnsAnswer, ErrorClass};
use crate::spec::Host;
use hickory_proto::rr::RecordType as WireType;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Addresses for one host, and how long it took to learn them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub addresses: Vec<IpAddr>,
    pub elapsed: Duration,
}

impl Resolver {
    /// Every address of `host` for a connection to `port`, in the resolver's order (IPv4 first).
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
            .find(|(o, _)| *o.host == **name && o.port.is_none_or(|p| p == port))
        {
            used.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Resolved {
                addresses: found.addresses.clone(),
                elapsed: Duration::ZERO,
            });
        }
        let cell = {
            // A poisoned lock only means another lookup panicked; the map itself is still sound.
            let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(lookups.entry(Arc::clone(name)).or_default())
        };
        let deadline = started + timeout;
        let found = cell
            .get_or_init(|| self.lookup_addresses(name, deadline))
            .await
            .clone();
        if let Err(e) = &found {
            if may_change(e.class()) {
                // The next attempt of a check must ask again, not reread this failure.
                let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
                if lookups.get(name).is_some_and(|shared| Arc::ptr_eq(shared, &cell)) {
                    lookups.remove(name);
                }
            }
        }
        Ok(Resolved {
            addresses: found?,
            elapsed: started.elapsed(),
        })
    }

    async fn lookup_addresses(&self, name: &str, deadline: Instant) -> Result<Vec<IpAddr>, ResolveError> {
        if let Err(source) = Question::new(name, WireType::A) {
            return Err(ResolveError::BadName {
                name: name.to_owned(),
                source,
            });
        }
        if self.dns_server.is_none() {
            // Like the C library: a name in /etc/hosts is answered there, and only there.
            if let Some(found) = self.hosts().lookup(name) {
                return Ok(found.to_vec());
            }
        }
        if is_localhost(name) {
            return Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        let candidates = match (self.dns_server, self.system()) {
            (None, Ok(conf)) => conf.candidates(name),
            // An explicit server answers for the name as written, with no search domains.
            _ => vec![name.trim_end_matches('.').to_owned()],
        };
        // The first candidate with an address wins. Otherwise a failure anywhere (the server may
        // answer next time) outweighs a negative answer, as in the C library.
        let mut failure: Option<ResolveError> = None;
        let mut negative: Option<ResolveError> = None;
        for candidate in &candidates {
            match self.lookup_name(name, candidate, deadline).await {
                Ok(addresses) => return Ok(addresses),
                Err(e @ (ResolveError::Failed { .. } | ResolveError::BadName { .. })) => {
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    // NODATA or a loop says more than NXDOMAIN: some candidate exists.
                    let better = matches!(
                        (&negative, &e),
                        (None, _)
                            | (
                                Some(ResolveError::NxDomain { .. }),
                                ResolveError::NoData { .. } | ResolveError::CnameLoop { .. },
                            )
                    );
                    if better {
                        negative = Some(e);
                    }
                }
            }
        }
        Err(failure.or(negative).unwrap_or_else(|| ResolveError::NxDomain {
            name: name.to_owned(),
            via: "nobody (no name to ask)".to_owned(),
        }))
    }

    /// Asks for the A and AAAA records of `candidate` at once; errors speak of `name`, as the
    /// check wrote it.
    async fn lookup_name(
        &self,
        name: &str,
        candidate: &str,
        deadline: Instant,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let families = [RecordType::A, RecordType::Aaaa].map(|family| async move {
            let wire = match family {
                RecordType::A => WireType::A,
                _ => WireType::AAAA,
            };
            let question = Question::new(candidate, wire).map_err(|source| ResolveError::BadName {
                name: name.to_owned(),
                source,
            })?;
            let asked = self.ask(&question, None, DnsProtocol::Auto, deadline).await;
            let answer = asked
                .result
                .and_then(|reply| from_reply(&canonical_name(candidate), &reply));
            Ok::<_, ResolveError>((family, asked.server, answer))
        });
        let [v4, v6] = futures_util::future::join_all(families)
            .await
            .try_into()
            .unwrap_or_else(|_| unreachable!("two families asked"));
        let (v4, v6) = (v4?, v6?);
        let owner = canonical_name(candidate);
        let mut addresses: Vec<IpAddr> = Vec::new();
        for (family, _, answer) in [&v4, &v6] {
            if let Ok(answer) = answer {
                for record in answer.final_records(&owner, *family) {
                    if let Ok(ip) = record.value.parse::<IpAddr>() {
                        if !addresses.contains(&ip) {
                            addresses.push(ip);
                        }
                    }
                }
            }
        }
        if !addresses.is_empty() {
            return Ok(addresses);
        }
        let name = name.to_owned();
        for (_, via, answer) in [&v4, &v6] {
            if let Err(source) = answer {
                return Err(ResolveError::Failed {
                    name,
                    via: via.clone(),
                    source: source.clone(),
                });
            }
        }
        let (_, via, answer) = v4;
        Err(match answer {
            Ok(answer @ DnsAnswer::Records(_)) if answer.alias_loop(&owner).is_some() => {
                ResolveError::CnameLoop {
                    name,
                    via,
                    chain: answer.chain_with_loop(&owner),
                }
            }
            Ok(DnsAnswer::NxDomain { .. }) if matches!(v6.2, Ok(DnsAnswer::NxDomain { .. })) => {
                ResolveError::NxDomain { name, via }
            }
            _ => ResolveError::NoData { name, via },
        })
    }
}

/// RFC 6761: `localhost` and the names under it are this host's loopback.
fn is_localhost(name: &str) -> bool {
    let name = canonical_name(name);
    name == "localhost" || name.ends_with(".localhost")
}

/// Failures that another attempt may not see.
fn may_change(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout
            | ErrorClass::Servfail
            | ErrorClass::Io
            | ErrorClass::Unreachable
            | ErrorClass::Refused
            | ErrorClass::DnsError
            | ErrorClass::ConnectionClosed
    )
}

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

    #[test]
    fn localhost_names_are_loopback() {
        assert!(is_localhost("LocalHost."));
        assert!(is_localhost("app.localhost"));
        assert!(!is_localhost("localhost.example"));
    }
}
