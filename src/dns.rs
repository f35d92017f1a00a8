//! DNS vocabulary shared by the spec, the resolver, the `dns` probe and the reports: record
//! types, record values in one canonical text form, server addresses, and what a check expects.
//!
//! Values from a spec and values from an answer go through the same normalisation, so that
//! `2001:DB8:0::1`, `Mail.Example.test.` and `"v=spf1" " -all"` compare equal to what a server
//! sends, however either side spells them.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The port of a DNS server when none is written.
pub const DNS_PORT: u16 = 53;

/// The record types a `dns` check can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Caa,
    Srv,
    Ptr,
}

impl RecordType {
    pub const ALL: &'static [RecordType] = &[
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ns,
        RecordType::Caa,
        RecordType::Srv,
        RecordType::Ptr,
    ];

    /// The mnemonic, as in zone files.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
            RecordType::Caa => "CAA",
            RecordType::Srv => "SRV",
            RecordType::Ptr => "PTR",
        }
    }

    /// Parses a mnemonic, in any case.
    pub fn parse(text: &str) -> Option<RecordType> {
        RecordType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str().eq_ignore_ascii_case(text))
    }

    /// Whether records of this type hold addresses (and so can be checked against a CIDR).
    pub fn is_address(self) -> bool {
        matches!(self, RecordType::A | RecordType::Aaaa)
    }

    /// The form a value of this type is written in, for error messages.
    pub fn value_form(self) -> &'static str {
        match self {
            RecordType::A => "an IPv4 address",
            RecordType::Aaaa => "an IPv6 address",
            RecordType::Cname | RecordType::Ns | RecordType::Ptr => "a host name",
            RecordType::Mx => "\"PREFERENCE HOST\" or \"HOST\" (e.g. \"10 mail.example.com\")",
            RecordType::Txt => "a string",
            RecordType::Caa => "\"FLAGS TAG VALUE\" (e.g. '0 issue \"letsencrypt.org\"')",
            RecordType::Srv => "\"PRIORITY WEIGHT PORT TARGET\" (e.g. \"10 5 5060 sip.example.com\")",
        }
    }

    /// Normalises a value as written in a spec; the error says what form was expected.
    pub fn parse_value(self, text: &str) -> Result<DnsValue, String> {
        let bad = || {
            format!(
                "`{text}` is not a {} value: write {}",
                self.as_str(),
                self.value_form()
            )
        };
        let trimmed = text.trim();
        let canonical = match self {
            RecordType::A => trimmed.parse::<Ipv4Addr>().map_err(|_| bad())?.to_string(),
            RecordType::Aaaa => {
                let bare = trimmed
                    .strip_prefix('[')
                    .and_then(|t| t.strip_suffix(']'))
                    .unwrap_or(trimmed);
                bare.parse::<Ipv6Addr>().map_err(|_| bad())?.to_string()
            }
            RecordType::Cname | RecordType::Ns | RecordType::Ptr => {
                checked_name(trimmed).map_err(|_| bad())?
            }
            RecordType::Mx => match trimmed.split_once(char::is_whitespace) {
                Some((preference, host)) => {
                    let preference: u16 = preference.parse().map_err(|_| bad())?;
                    format!("{preference} {}", checked_name(host.trim()).map_err(|_| bad())?)
                }
                None => checked_name(trimmed).map_err(|_| bad())?,
            },
            RecordType::Txt => text.to_owned(),
            RecordType::Caa => {
                let mut parts = trimmed.splitn(3, char::is_whitespace);
                let (Some(flags), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad());
                };
                let flags: u8 = flags.parse().map_err(|_| bad())?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(bad());
                }
                caa_value(flags, tag, value)
            }
            RecordType::Srv => {
                let parts: Vec<&str> = trimmed.split_whitespace().collect();
                let [priority, weight, port, target] = parts.as_slice() else {
                    return Err(bad());
                };
                let number = |n: &str| n.parse::<u16>().map_err(|_| bad());
                format!(
                    "{} {} {} {}",
                    number(priority)?,
                    number(weight)?,
                    number(port)?,
                    checked_name(target).map_err(|_| bad())?
                )
            }
        };
        Ok(DnsValue(canonical))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record value in canonical text form: addresses as Rust prints them (IPv6 compressed),
/// names in lowercase without the trailing dot, TXT strings joined, CAA as `FLAGS TAG "VALUE"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsValue(pub String);

impl DnsValue {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether an observed value (canonical) satisfies this expected one. An MX written without
    /// a preference matches that host at any preference.
    pub fn matches(&self, record_type: RecordType, observed: &str) -> bool {
        if self.0 == observed {
            return true;
        }
        record_type == RecordType::Mx
            && !self.0.contains(' ')
            && observed.split_once(' ').is_some_and(|(_, host)| host == self.0)
    }
}

impl fmt::Display for DnsValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A CAA value in canonical form. The tag is case-insensitive (RFC 8659); so are the issuer
/// domain names of `issue` and `issuewild`.
pub fn caa_value(flags: u8, tag: &str, value: &str) -> String {
    let tag = tag.to_ascii_lowercase();
    let value = if tag == "issue" || tag == "issuewild" {
        // `issuer.example.` and `issuer.example` name the same CA.
        let value = value.to_ascii_lowercase();
        match value.split_once(';') {
            Some((issuer, parameters)) => format!("{};{parameters}", issuer.trim().trim_end_matches('.')),
            None => value.trim().trim_end_matches('.').to_owned(),
        }
    } else {
        value.to_owned()
    };
    format!("{flags} {tag} \"{value}\"")
}

/// A DNS name in canonical form: lowercase, no trailing dot.
pub fn canonical_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn checked_name(name: &str) -> Result<String, String> {
    validate_name(name)?;
    Ok(canonical_name(name))
}

/// The name a PTR query for `address` asks about: `10.2.0.192.in-addr.arpa`, or the nibbles
/// under `ip6.arpa`.
pub fn reverse_name(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut labels = Vec::with_capacity(33);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push("ip6.arpa".to_owned());
            labels.join(".")
        }
    }
}

/// Parses `ADDR[:PORT]` (`127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353`); the port is 53
/// when not written.
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        if address.port() == 0 {
            return Err(format!("`{text}`: port 0 is not a DNS server port"));
        }
        return Ok(address);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| {
            format!("`{text}` is not a DNS server address: write ADDR or ADDR:PORT (e.g. 10.0.0.2, 10.0.0.2:5353, [fd00::2]:53)")
        })
}

/// How a `dns` check talks to its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DnsProtocol {
    /// UDP, and TCP when the UDP answer is truncated (what stub resolvers do).
    #[default]
    Auto,
    /// UDP only: a truncated answer is reported as it came.
    Udp,
    /// TCP only.
    Tcp,
}

impl DnsProtocol {
    pub const ALL: &'static [DnsProtocol] = &[DnsProtocol::Auto, DnsProtocol::Udp, DnsProtocol::Tcp];

    pub fn as_str(self) -> &'static str {
        match self {
            DnsProtocol::Auto => "auto",
            DnsProtocol::Udp => "udp",
            DnsProtocol::Tcp => "tcp",
        }
    }

    pub fn parse(text: &str) -> Option<DnsProtocol> {
        DnsProtocol::ALL
            .iter()
            .copied()
            .find(|p| p.as_str().eq_ignore_ascii_case(text))
    }
}

/// What the answer of a `dns` check must be. All the parts given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsExpectation {
    /// False: the name must not have records of the type (NXDOMAIN or NODATA). Nothing else
    /// may be asked then.
    pub resolves: bool,
    /// The answer is exactly this set.
    pub equals: Option<Vec<DnsValue>>,
    /// The answer holds at least these.
    pub contains: Vec<DnsValue>,
    /// The answer holds none of these.
    pub none_of: Vec<DnsValue>,
    /// Every address of the answer falls in one of these networks.
    pub within: Vec<IpNet>,
    /// The name is an alias whose CNAME points at this name (first hop of the chain).
    pub cname: Option<String>,
}

impl Default for DnsExpectation {
    fn default() -> Self {
        DnsExpectation {
            resolves: true,
            equals: None,
            contains: Vec::new(),
            none_of: Vec::new(),
            within: Vec::new(),
            cname: None,
        }
    }
}

/// Checks a host name: labels of letters, digits, `-` and `_`, at most 63 characters each and
/// 253 in all.
pub fn validate_name(name: &str) -> Result<(), String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if trimmed.len() > 253 {
        return Err(format!("`{name}` is longer than 253 characters"));
    }
    for label in trimmed.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!("`{name}` is neither an IP address nor a valid host name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(rtype: RecordType, text: &str) -> String {
        rtype.parse_value(text).unwrap().0
    }

    #[test]
    fn values_are_normalised() {
        assert_eq!(value(RecordType::Aaaa, "2001:DB8:0:0::1"), "2001:db8::1");
        assert_eq!(value(RecordType::Aaaa, "[::1]"), "::1");
        assert_eq!(value(RecordType::Cname, "Web.Example.TEST."), "web.example.test");
        assert_eq!(
            value(RecordType::Mx, "10   Mail.example.test."),
            "10 mail.example.test"
        );
        assert_eq!(
            value(RecordType::Caa, "0 ISSUE \"LetsEncrypt.org\""),
            "0 issue \"letsencrypt.org\""
        );
        assert_eq!(
            value(RecordType::Caa, "128 iodef mailto:a@b.test"),
            "128 iodef \"mailto:a@b.test\""
        );
        assert_eq!(
            value(RecordType::Srv, "10 5 5060 SIP.example.test"),
            "10 5 5060 sip.example.test"
        );
        assert_eq!(value(RecordType::Txt, "v=spf1 -all"), "v=spf1 -all");
    }

    #[test]
    fn bad_values_name_the_form_expected() {
        assert!(RecordType::A.parse_value("::1").unwrap_err().contains("IPv4"));
        assert!(RecordType::Aaaa.parse_value("10.0.0.1").is_err());
        assert!(RecordType::Mx.parse_value("high mail.test").is_err());
        assert!(RecordType::Srv.parse_value("1 2 3").is_err());
        assert!(RecordType::Caa.parse_value("0 issue").is_err());
        assert!(RecordType::Cname.parse_value("not a name").is_err());
    }

    #[test]
    fn an_mx_without_preference_matches_any_preference() {
        let any = RecordType::Mx.parse_value("mail.test").unwrap();
        assert!(any.matches(RecordType::Mx, "10 mail.test"));
        let exact = RecordType::Mx.parse_value("20 mail.test").unwrap();
        assert!(!exact.matches(RecordType::Mx, "10 mail.test"));
    }

    #[test]
    fn reverse_names_and_servers() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa"
        );
        assert!(reverse_name("2001:db8::1".parse().unwrap())
            .starts_with("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"));
        assert_eq!(parse_server("127.0.0.1").unwrap().to_string(), "127.0.0.1:53");
        assert_eq!(parse_server("[::1]:5353").unwrap().to_string(), "[::1]:5353");
        assert_eq!(parse_server("::1").unwrap().to_string(), "[::1]:53");
        assert!(parse_server("dns.test").is_err());
        assert!(parse_server("127.0.0.1:0").is_err());
        assert_eq!(RecordType::parse("aaaa"), Some(RecordType::Aaaa));
    }
}
