//! What the DNS servers of a `dns` check answered, and how an answer's alias chain is read.

use super::verdict::ErrorClass;
use crate::dns::RecordType;
use std::time::Duration;

/// What the servers of a `dns` check answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsObservation {
    /// The name asked about (canonical: lowercase, no trailing dot).
    pub name: String,
    pub record_type: RecordType,
    /// One per server, in the order the check lists them.
    pub answers: Vec<ServerAnswer>,
}

/// One server's answer to one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    /// Who answered: `127.0.0.1:53`, `127.0.0.1:53/tcp`, or `system (10.0.0.2:53)`.
    pub server: String,
    pub answer: DnsAnswer,
    pub elapsed: Duration,
}

/// What a DNS server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// NOERROR with records: the whole answer section, CNAME chain included, in order.
    Records(Vec<DnsRecord>),
    /// NXDOMAIN: `name` does not exist. It is the name asked, or the end of its alias chain
    /// when the resolver followed a CNAME to a name that does not exist. `negative_ttl` comes
    /// from the SOA when one was sent.
    NxDomain { name: String, negative_ttl: Option<u32> },
    /// NOERROR without records of the type: `name` exists, but not with this type.
    NoData { name: String, negative_ttl: Option<u32> },
    /// No usable answer: timeout, SERVFAIL, REFUSED, an unreachable server...
    Failed { class: ErrorClass, detail: String },
}

/// One resource record, its value in canonical form (see [`crate::dns::DnsValue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub name: String,
    /// The type mnemonic (`A`, `CNAME`...), also for types reach has no checks for.
    pub record_type: String,
    pub ttl: u32,
    pub value: String,
}

impl DnsAnswer {
    /// The alias chain from `name`: `[name, cname1, cname2...]` as the CNAME records lead,
    /// stopping at a loop.
    pub fn chain(&self, name: &str) -> Vec<String> {
        let mut chain = vec![name.to_owned()];
        let DnsAnswer::Records(records) = self else {
            return chain;
        };
        while let Some(next) = records
            .iter()
            .find(|r| r.record_type == "CNAME" && chain.last().is_some_and(|last| *last == r.name))
        {
            if chain.contains(&next.value) {
                break;
            }
            chain.push(next.value.clone());
        }
        chain
    }

    /// The name at which the alias chain from `name` loops back on itself, if it does: the
    /// last CNAME of the chain points at a name already in it.
    pub fn alias_loop(&self, name: &str) -> Option<String> {
        let DnsAnswer::Records(records) = self else {
            return None;
        };
        let chain = self.chain(name);
        let last = chain.last()?;
        records
            .iter()
            .find(|r| r.record_type == "CNAME" && r.name == *last && chain.contains(&r.value))
            .map(|r| r.value.clone())
    }

    /// The alias chain from `name`, ending with the name it loops back to when it loops
    /// (`[a, b, a]`), so that the loop shows.
    pub fn chain_with_loop(&self, name: &str) -> Vec<String> {
        let mut chain = self.chain(name);
        chain.extend(self.alias_loop(name));
        chain
    }

    /// The records of `record_type` that answer `name`: those at the end of its alias chain
    /// (for CNAME itself, the name's own CNAME record).
    pub fn final_records(&self, name: &str, record_type: RecordType) -> Vec<&DnsRecord> {
        let DnsAnswer::Records(records) = self else {
            return Vec::new();
        };
        let owner = if record_type == RecordType::Cname {
            name.to_owned()
        } else {
            self.chain(name).pop().unwrap_or_else(|| name.to_owned())
        };
        records
            .iter()
            .filter(|r| r.record_type == record_type.as_str() && r.name == owner)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cname(owner: &str, target: &str) -> DnsRecord {
        DnsRecord {
            name: owner.into(),
            record_type: "CNAME".into(),
            ttl: 300,
            value: target.into(),
        }
    }

    #[test]
    fn a_chain_that_loops_is_seen_and_shown() {
        let looping = DnsAnswer::Records(vec![cname("a.test", "b.test"), cname("b.test", "a.test")]);
        assert_eq!(looping.chain("a.test"), ["a.test", "b.test"]);
        assert_eq!(looping.alias_loop("a.test"), Some("a.test".into()));
        assert_eq!(looping.chain_with_loop("a.test"), ["a.test", "b.test", "a.test"]);
        let onto_itself = DnsAnswer::Records(vec![cname("a.test", "a.test")]);
        assert_eq!(onto_itself.chain_with_loop("a.test"), ["a.test", "a.test"]);
        let dangling = DnsAnswer::Records(vec![cname("a.test", "b.test")]);
        assert_eq!(dangling.alias_loop("a.test"), None);
    }
}
