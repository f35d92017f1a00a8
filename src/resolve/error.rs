//! Why a question got no usable answer ([`QueryError`]: the operating system's error, or what
//! the server sent instead) and why a host has no address ([`ResolveError`]); `class()` gives
//! the error class a check reports.

use super::wire::Unusable;
use crate::classify;
use crate::outcome::ErrorClass;
use crate::text::rounded;
use hickory_proto::op::ResponseCode;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The transport a query went over, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn port(self) -> &'static str {
        match self {
            Transport::Udp => "UDP port",
            Transport::Tcp => "TCP port",
        }
    }
}

/// What the server sent that was not the answer, for a query that ended without one.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The first few, as seen.
    pub first: Vec<Unusable>,
    /// How many in all.
    pub count: usize,
}

impl Evidence {
    const KEPT: usize = 3;

    pub fn push(&mut self, unusable: Unusable) {
        self.count += 1;
        // The same message twice says nothing more (a stray answer is evidence for every query
        // that asked the same question).
        let seen = self
            .first
            .iter()
            .any(|kept| kept.to_string() == unusable.to_string());
        if self.first.len() < Self::KEPT && !seen {
            self.first.push(unusable);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<String> = self.first.iter().map(ToString::to_string).collect();
        write!(f, "{}", shown.join("; "))?;
        if self.count > self.first.len() {
            write!(f, " ({} such messages in all)", self.count)?;
        }
        Ok(())
    }
}

/// Why a question to one server has no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    #[error("the server did not answer within {} ({sent} {} sent)", rounded(*.waited), queries(*.sent))]
    Timeout { waited: Duration, sent: u32 },
    #[error("no query could be sent within {}: the server left the queries before it unanswered", rounded(*.waited))]
    NotSent { waited: Duration },
    #[error("in {}, the server sent only messages that are not the answer: {evidence}", rounded(*.waited))]
    NoUsableAnswer { waited: Duration, evidence: Evidence },
    #[error("the server answered with {0}")]
    Unusable(#[source] Unusable),
    #[error("nothing listens on the server's {}: it refused the query ({source})", .transport.port())]
    PortRefused {
        transport: Transport,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("the server is unreachable ({source})")]
    Unreachable {
        #[source]
        source: Arc<io::Error>,
    },
    #[error("cannot ask the server over {}: {source}", match .transport { Transport::Udp => "UDP", Transport::Tcp => "TCP" })]
    Io {
        transport: Transport,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("the server closed the TCP connection without answering")]
    Closed,
    #[error("{}", classify::dns_rcode_text(*.0))]
    Rcode(ResponseCode),
    #[error("the answer was truncated (TC) and protocol = \"udp\" does not ask again over TCP")]
    Truncated,
    #[error("no DNS server to ask (/etc/resolv.conf: {why}): pass --dns-server")]
    NoServer { why: String },
    #[error("the query could not be encoded: {0}")]
    Encode(#[source] hickory_proto::ProtoError),
    #[error("no system resolver answered ({})", .failures.iter().map(|(server, e)| format!("{server}: {e}")).collect::<Vec<_>>().join("; "))]
    NoneAnswered { failures: Vec<(SocketAddr, QueryError)> },
}

fn queries(sent: u32) -> &'static str {
    if sent == 1 {
        "query"
    } else {
        "queries"
    }
}

impl QueryError {
    /// A failure of the operating system while asking over `transport`.
    pub fn from_io(transport: Transport, error: io::Error) -> QueryError {
        let source = Arc::new(error);
        match classify::dns_transport_error(&source) {
            ErrorClass::Refused => QueryError::PortRefused { transport, source },
            ErrorClass::Unreachable => QueryError::Unreachable { source },
            _ => QueryError::Io { transport, source },
        }
    }

    /// The error class a check reports.
    pub fn class(&self) -> ErrorClass {
        match self {
            QueryError::Timeout { .. } | QueryError::NotSent { .. } => ErrorClass::Timeout,
            QueryError::PortRefused { .. } => ErrorClass::Refused,
            QueryError::Unreachable { .. } => ErrorClass::Unreachable,
            QueryError::Io { source, .. } => classify::dns_transport_error(source),
            QueryError::Closed => ErrorClass::ConnectionClosed,
            QueryError::Rcode(code) => classify::dns_rcode(*code),
            // The last server's failure: what the run ended on.
            QueryError::NoneAnswered { failures } => {
                failures.last().map_or(ErrorClass::DnsError, |(_, e)| e.class())
            }
            QueryError::NoUsableAnswer { .. }
            | QueryError::Unusable(_)
            | QueryError::Truncated
            | QueryError::NoServer { .. }
            | QueryError::Encode(_) => ErrorClass::DnsError,
        }
    }
}

/// Why a name gave no address; `via` names who answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("`{name}` does not resolve: no such name (NXDOMAIN from {via})")]
    NxDomain { name: String, via: String },
    #[error("`{name}` exists but has no A or AAAA record (NODATA from {via})")]
    NoData { name: String, via: String },
    #[error("`{name}` is an alias chain that loops ({}; from {via})", .chain.join(" -> "))]
    CnameLoop {
        name: String,
        via: String,
        /// The chain, ending with the name that repeats.
        chain: Vec<String>,
    },
    #[error("`{name}` could not be resolved by {via}: {source}")]
    Failed {
        name: String,
        via: String,
        #[source]
        source: QueryError,
    },
    #[error("`{name}` is not a name a resolver can look up: {source}")]
    BadName {
        name: String,
        #[source]
        source: hickory_proto::ProtoError,
    },
}

impl ResolveError {
    /// The error class a check reports.
    pub fn class(&self) -> ErrorClass {
        match self {
            ResolveError::NxDomain { .. } => ErrorClass::Nxdomain,
            ResolveError::NoData { .. } => ErrorClass::NoData,
            ResolveError::CnameLoop { .. } => ErrorClass::CnameLoop,
            ResolveError::Failed { source, .. } => source.class(),
            ResolveError::BadName { .. } => ErrorClass::DnsError,
        }
    }

    /// A resolver that timed out or failed on its side may answer the next attempt.
    pub fn is_transient(&self) -> bool {
        matches!(self.class(), ErrorClass::Timeout | ErrorClass::Servfail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_a_few_distinct_messages_and_counts_them_all() {
        let mut evidence = Evidence::default();
        for got in [2, 2, 3, 4, 5] {
            evidence.push(Unusable::WrongId { got, want: 1 });
        }
        assert_eq!(
            evidence.to_string(),
            "a response with id 0x0002, not the query's 0x0001; a response with id 0x0003, not \
             the query's 0x0001; a response with id 0x0004, not the query's 0x0001 (5 such \
             messages in all)"
        );
    }
}
