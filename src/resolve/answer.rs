//! A server's reply in reach's terms: the records of the answer section in canonical form, or
//! the negative answer (NXDOMAIN, NODATA) with its negative TTL, or the response code that
//! left the question unanswered.

use super::error::QueryError;
use super::wire::Reply;
use crate::dns::canonical_name;
use crate::outcome::{DnsAnswer, DnsRecord};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record};

/// What `reply` says about `name` (canonical), or why it says nothing.
pub fn from_reply(name: &str, reply: &Reply) -> Result<DnsAnswer, QueryError> {
    let records: Vec<DnsRecord> = reply.answers.iter().map(record).collect();
    match reply.code {
        ResponseCode::NoError if records.is_empty() => Ok(DnsAnswer::NoData {
            name: name.to_owned(),
            negative_ttl: negative_ttl(reply),
        }),
        ResponseCode::NoError => Ok(DnsAnswer::Records(records)),
        ResponseCode::NXDomain => {
            // RFC 6604: the code speaks of the last name of the alias chain the answer holds.
            let end = DnsAnswer::Records(records)
                .chain(name)
                .pop()
                .unwrap_or_else(|| name.to_owned());
            Ok(DnsAnswer::NxDomain {
                name: end,
                negative_ttl: negative_ttl(reply),
            })
        }
        code => Err(QueryError::Rcode(code)),
    }
}

/// RFC 2308: a negative answer may be cached for the smaller of the SOA's TTL and its minimum.
fn negative_ttl(reply: &Reply) -> Option<u32> {
    reply.authority.iter().find_map(|r| match r.data() {
        RData::SOA(soa) => Some(r.ttl().min(soa.minimum())),
        _ => None,
    })
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
    use hickory_proto::rr::rdata::{CNAME, SOA};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn reply(code: ResponseCode, answers: Vec<Record>, authority: Vec<Record>) -> Reply {
        Reply {
            code,
            truncated: false,
            answers,
            authority,
            edns: true,
        }
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let data = SOA::new(name("ns.test."), name("h.test."), 1, 3600, 600, 86400, minimum);
        Record::from_rdata(name("test."), ttl, RData::SOA(data))
    }

    #[test]
    fn negative_answers_carry_the_soa_ttl_and_the_end_of_the_chain() {
        let nodata = from_reply(
            "a.test",
            &reply(ResponseCode::NoError, vec![], vec![soa(300, 60)]),
        )
        .unwrap();
        assert_eq!(
            nodata,
            DnsAnswer::NoData {
                name: "a.test".into(),
                negative_ttl: Some(60)
            }
        );
        let alias = Record::from_rdata(name("a.test."), 300, RData::CNAME(CNAME(name("Gone.Test."))));
        let nx = from_reply(
            "a.test",
            &reply(ResponseCode::NXDomain, vec![alias], vec![soa(30, 60)]),
        )
        .unwrap();
        assert_eq!(
            nx,
            DnsAnswer::NxDomain {
                name: "gone.test".into(),
                negative_ttl: Some(30)
            }
        );
    }

    #[test]
    fn a_failing_code_is_an_error_with_its_class() {
        let err = from_reply("a.test", &reply(ResponseCode::ServFail, vec![], vec![])).unwrap_err();
        assert_eq!(err.class(), crate::outcome::ErrorClass::Servfail);
        let err = from_reply("a.test", &reply(ResponseCode::Refused, vec![], vec![])).unwrap_err();
        assert_eq!(err.class(), crate::outcome::ErrorClass::ResolverRefused);
    }
}
