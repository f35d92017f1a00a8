//! The records of a name, as a `dns` check asks for them: one server (or the run's), no hosts
//! file, no search domains, no cache, so each check sees what the server says.

use super::answer::from_reply;
use super::resolver::Resolver;
use super::wire::Question;
use crate::dns::{canonical_name, DnsProtocol, RecordType};
use crate::outcome::{DnsAnswer, ServerAnswer};
use hickory_proto::rr::RecordType as WireType;
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
        let question = match Question::new(name, wire_type(record_type)) {
            Ok(question) => question,
            Err(e) => {
                return ServerAnswer {
                    server: server
                        .or(self.dns_server)
                        .map_or_else(|| "system resolver".to_owned(), |s| s.to_string()),
                    answer: DnsAnswer::Failed {
                        class: crate::outcome::ErrorClass::DnsError,
                        detail: format!("`{name}` is not a name a resolver can look up: {e}"),
                    },
                    elapsed: started.elapsed(),
                }
            }
        };
        let asked = self.ask(&question, server, protocol, started + timeout).await;
        let answer = asked
            .result
            .and_then(|reply| from_reply(&canonical_name(name), &reply))
            .unwrap_or_else(|e| DnsAnswer::Failed {
                class: e.class(),
                detail: e.to_string(),
            });
        ServerAnswer {
            server: asked.server,
            answer,
            elapsed: started.elapsed(),
        }
    }
}

fn wire_type(record_type: RecordType) -> WireType {
    match record_type {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
        RecordType::Caa => WireType::CAA,
        RecordType::Srv => WireType::SRV,
        RecordType::Ptr => WireType::PTR,
    }
}
