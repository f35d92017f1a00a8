//! `kind = "dns"`: a name, a record type, the servers to ask, and what the answer must be.

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::host::Host;
use super::plan::{Check, DnsCheck, ProbeSpec};
use crate::dns::{self, DnsExpectation, DnsProtocol, DnsValue, RecordType};
use ipnet::IpNet;
use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// The name to look up (an address for `type = "PTR"`).
    pub host: Spanned<String>,
    #[serde(rename = "type")]
    pub record_type: Option<Spanned<String>>,
    pub server: Option<Spanned<String>>,
    pub servers: Option<Spanned<Vec<Spanned<String>>>>,
    pub protocol: Option<Spanned<String>>,
    pub resolves: Option<Spanned<bool>>,
    pub equals: Option<Spanned<Vec<Spanned<String>>>>,
    pub contains: Option<Spanned<Vec<Spanned<String>>>>,
    pub none_of: Option<Spanned<Vec<Spanned<String>>>>,
    pub within: Option<Spanned<OneOrManyNets>>,
    pub cname: Option<Spanned<String>>,
}

/// `within = "10.0.0.0/8"` or `within = ["10.0.0.0/8", "192.0.2.0/24"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a CIDR string or a list of them")]
pub enum OneOrManyNets {
    One(String),
    Many(Vec<String>),
}

impl FileContext<'_> {
    /// One check per `[[check]]` table.
    pub(super) fn dns(&self, raw: RawDns, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let before = errors.len();
        let servers = self.servers(&raw, errors);
        let protocol = match &raw.protocol {
            None => DnsProtocol::Auto,
            Some(written) => DnsProtocol::parse(written.get_ref()).unwrap_or_else(|| {
                errors.push(self.locator.error(
                    written.span(),
                    format!(
                        "unknown DNS protocol `{}`: expected auto (UDP, TCP when truncated), udp or tcp",
                        written.get_ref()
                    ),
                ));
                DnsProtocol::Auto
            }),
        };
        let record_type = match &raw.record_type {
            None => Some(RecordType::A),
            Some(written) => self.text(written, errors).and_then(|text| {
                RecordType::parse(&text).or_else(|| {
                    let names: Vec<_> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
                    errors.push(self.locator.error(
                        written.span(),
                        format!(
                            "unknown record type `{text}`: expected one of {}",
                            names.join(", ")
                        ),
                    ));
                    None
                })
            }),
        };
        let Some(record_type) = record_type else {
            // The name and the expected values are judged by the type (an address is a PTR
            // target, a name is no A value): without one, only the host's own form is checked.
            let _ = self.host(&raw.host, errors);
            return Vec::new();
        };
        let name = self.query_name(&raw.host, record_type, errors);
        let expect = self.dns_expectation(&raw, record_type, base, errors);
        if errors.len() > before {
            return Vec::new();
        }
        let (Some(name), Some(expect)) = (name, expect) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || {
            format!(
                "dns-{}-{}",
                raw.host.get_ref(),
                record_type.as_str().to_ascii_lowercase()
            )
        });
        let probe = ProbeSpec::Dns(Box::new(DnsCheck {
            name: name.clone(),
            record_type,
            servers,
            protocol,
            expect,
        }));
        vec![self.build(base, &local_id, None, format!("{name} {record_type}"), probe)]
    }

    /// The name to query: a host name, or for PTR an address turned into its reverse name.
    fn query_name(
        &self,
        written: &Spanned<String>,
        record_type: RecordType,
        errors: &mut Vec<SpecError>,
    ) -> Option<String> {
        let host = self.host(written, errors)?;
        match (host, record_type) {
            (Host::Name(name), _) => Some(name.to_string()),
            (Host::Ip(address), RecordType::Ptr) => Some(dns::reverse_name(address)),
            (Host::Ip(address), _) => {
                errors.push(self.locator.error(
                    written.span(),
                    format!(
                        "`{address}` is an address: a {record_type} lookup needs a name (use type = \"PTR\" for reverse lookups)"
                    ),
                ));
                None
            }
        }
    }

    fn servers(&self, raw: &RawDns, errors: &mut Vec<SpecError>) -> Vec<std::net::SocketAddr> {
        let written: Vec<&Spanned<String>> = match (&raw.server, &raw.servers) {
            (Some(_), Some(many)) => {
                errors.push(
                    self.locator
                        .error(many.span(), "write either `server` or `servers`, not both"),
                );
                return Vec::new();
            }
            (Some(one), None) => vec![one],
            (None, Some(many)) => {
                if many.get_ref().is_empty() {
                    errors.push(self.locator.error(
                        many.span(),
                        "`servers` is empty: list servers, or leave it out to use the run's resolver",
                    ));
                }
                many.get_ref().iter().collect()
            }
            (None, None) => Vec::new(),
        };
        let mut servers = Vec::new();
        for server in written {
            let Some(text) = self.text(server, errors) else {
                continue;
            };
            match dns::parse_server(&text) {
                Ok(address) if servers.contains(&address) => errors.push(
                    self.locator
                        .error(server.span(), format!("server {address} is listed twice")),
                ),
                Ok(address) => servers.push(address),
                Err(e) => errors.push(self.locator.error(server.span(), e)),
            }
        }
        servers
    }

    fn values(
        &self,
        written: Option<&Spanned<Vec<Spanned<String>>>>,
        record_type: RecordType,
        errors: &mut Vec<SpecError>,
    ) -> Option<Vec<DnsValue>> {
        let written = written?;
        let mut values = Vec::new();
        for item in written.get_ref() {
            let Some(text) = self.text(item, errors) else {
                continue;
            };
            match record_type.parse_value(&text) {
                Ok(value) if !values.contains(&value) => values.push(value),
                Ok(_) => {}
                Err(e) => errors.push(self.locator.error(item.span(), e)),
            }
        }
        Some(values)
    }

    fn dns_expectation(
        &self,
        raw: &RawDns,
        record_type: RecordType,
        base: &Base<'_>,
        errors: &mut Vec<SpecError>,
    ) -> Option<DnsExpectation> {
        let resolves = raw.resolves.as_ref().is_none_or(|r| *r.get_ref());
        let equals = self.values(raw.equals.as_ref(), record_type, errors);
        if let Some(written) = &raw.equals {
            // What was written, not what parsed: a value left out for an error is no empty list.
            if written.get_ref().is_empty() {
                errors.push(self.locator.error(
                    written.span(),
                    "`equals` is empty: to require that the name has no such record, write `resolves = false`",
                ));
            }
        }
        let contains = self
            .values(raw.contains.as_ref(), record_type, errors)
            .unwrap_or_default();
        let none_of = self
            .values(raw.none_of.as_ref(), record_type, errors)
            .unwrap_or_default();
        let within = match &raw.within {
            None => Vec::new(),
            Some(written) => {
                if !record_type.is_address() {
                    errors.push(self.locator.error(
                        written.span(),
                        format!(
                            "`within` checks addresses: it needs type = \"A\" or \"AAAA\", not {record_type}"
                        ),
                    ));
                }
                let texts = match written.get_ref() {
                    OneOrManyNets::One(one) => vec![one.clone()],
                    OneOrManyNets::Many(many) => many.clone(),
                };
                let mut nets = Vec::new();
                for text in texts {
                    match self
                        .scope
                        .substitute(&text)
                        .and_then(|t| parse_net(&t, record_type).map_err(Into::into))
                    {
                        Ok(net) => nets.push(net),
                        Err(e) => errors.push(self.locator.error(written.span(), e)),
                    }
                }
                nets
            }
        };
        let cname = match &raw.cname {
            None => None,
            Some(written) => {
                if matches!(record_type, RecordType::Cname | RecordType::Ptr) {
                    errors.push(self.locator.error(
                        written.span(),
                        format!(
                            "`cname` follows an alias to its {{A, AAAA, MX...}} records; for type = \"{record_type}\" write `equals` instead"
                        ),
                    ));
                }
                self.text(written, errors)
                    .and_then(|text| match RecordType::Cname.parse_value(&text) {
                        Ok(value) => Some(value.0),
                        Err(e) => {
                            errors.push(self.locator.error(written.span(), e));
                            None
                        }
                    })
            }
        };
        let expect = DnsExpectation {
            resolves,
            equals,
            contains,
            none_of,
            within,
            cname,
        };
        if !resolves {
            // What was written: a value that could not be read still asks for more.
            let asks_more = raw.equals.is_some()
                || raw.contains.as_ref().is_some_and(|c| !c.get_ref().is_empty())
                || raw.none_of.as_ref().is_some_and(|n| !n.get_ref().is_empty())
                || raw.within.is_some()
                || raw.cname.is_some();
            if asks_more {
                let span = raw.resolves.as_ref().map_or(base.span.clone(), Spanned::span);
                errors.push(self.locator.error(
                    span,
                    "`resolves = false` requires that there is no record: it cannot be combined with equals, contains, none_of, within or cname",
                ));
                return None;
            }
        }
        Some(expect)
    }
}

fn parse_net(text: &str, record_type: RecordType) -> Result<IpNet, String> {
    let net: IpNet = text
        .trim()
        .parse()
        .or_else(|_| text.trim().parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not a network: write a CIDR like 10.0.0.0/8 or 2001:db8::/32"))?;
    let family_ok = match (record_type, net) {
        (RecordType::A, IpNet::V4(_)) | (RecordType::Aaaa, IpNet::V6(_)) => true,
        (RecordType::A | RecordType::Aaaa, _) => false,
        _ => true,
    };
    if !family_ok {
        return Err(format!(
            "`{text}` is not of the same address family as {record_type} records"
        ));
    }
    Ok(net.trunc())
}
