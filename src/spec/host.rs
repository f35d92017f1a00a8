//! A probe target as written: an address literal, or a name to resolve at run time.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// A probe target: an address literal, or a name to resolve at run time. A name is shared, not
/// copied, by the checks of a port list and by the tables of a file that name the same host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Name(Arc<str>),
}

impl Host {
    /// Parses a host as written in a spec or on the command line: a DNS name, an IPv4 address,
    /// or an IPv6 address with or without brackets.
    pub fn parse(text: &str) -> Result<Host, String> {
        let bare = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        if bare.len() != text.len() {
            return Err(format!("`{text}` is not an IPv6 address"));
        }
        crate::dns::validate_name(text)?;
        Ok(Host::Name(text.trim_end_matches('.').to_ascii_lowercase().into()))
    }

    /// `host:port`, bracketing IPv6 addresses.
    pub fn with_port(&self, port: u16) -> String {
        match self {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
            Host::Ip(ip) => format!("{ip}:{port}"),
            Host::Name(name) => format!("{name}:{port}"),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}
