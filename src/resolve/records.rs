//! The records of a name, as a `dns` check asks for them: one server (or the system's, in turn),
//! no hosts file, no search domains, no cache, so each check sees what the server says.

use super::clients::{fqdn, ClientKey};
use super::resolver::{Resolver, SystemConfError};
use crate::classify;
use crate::dns::{canonical_name, DnsProtocol, RecordType};
use crate::outcome::{DnsAnswer, DnsRecord, ErrorClass, ServerAnswer};
use hickory_resolver::proto::rr::{RData, Record, RecordType as HickoryType};
use hickory_resolver::Name;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

impl Resolver {
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
                .map_or_else(|| "it lists no nameserver".to_owned(), |e| e.to_string());
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
    fn system_servers(&self) -> Result<Vec<SocketAddr>, SystemConfError> {
        self.system_servers
            .get_or_init(|| {
                let (config, _) = hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| SystemConfError(e.to_string()))?;
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
