//! `--allow-target`: what `/probe` may be pointed at. An exporter that probes whatever it is
//! told is an open scanner for anyone who can reach it, so off loopback the list is required.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// One `--allow-target` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// An address block (a single address is a /32 or /128).
    Network(IpNet),
    /// Exactly this host name (lower case, no trailing dot).
    Name(String),
    /// `*.example.com`: any name below `example.com` (not `example.com` itself), stored as
    /// `.example.com`.
    Suffix(String),
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Network(net) => write!(f, "{net}"),
            Allowed::Name(name) => f.write_str(name),
            Allowed::Suffix(suffix) => write!(f, "*{suffix}"),
        }
    }
}

/// Parses one `--allow-target` value: a CIDR block, an address, a host name or `*.suffix`.
pub fn parse(text: &str) -> Result<Allowed, String> {
    let trimmed = text.trim();
    if let Ok(net) = trimmed.parse::<IpNet>() {
        return Ok(Allowed::Network(net.trunc()));
    }
    if let Some(address) = ip_literal(trimmed) {
        return Ok(Allowed::Network(IpNet::from(address)));
    }
    let (suffix, name) = match trimmed.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let name = normalize(name);
    if !is_host_name(&name) {
        return Err(format!(
            "`{text}` is not a CIDR block, an address, a host name or a `*.suffix` pattern"
        ));
    }
    Ok(if suffix {
        Allowed::Suffix(format!(".{name}"))
    } else {
        Allowed::Name(name)
    })
}

/// The `--allow-target` entries of a server; empty means every target is allowed (only ever on
/// loopback: off loopback an empty list stops the server from starting).
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    entries: Vec<Allowed>,
}

impl AllowList {
    pub fn new(entries: Vec<Allowed>) -> AllowList {
        AllowList { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `value` (a host name or an address, as a request wrote it) may be probed.
    pub fn permits(&self, value: &str) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        if let Some(address) = ip_literal(value.trim()) {
            return self
                .entries
                .iter()
                .any(|e| matches!(e, Allowed::Network(net) if net.contains(&address)));
        }
        let name = normalize(value);
        self.entries.iter().any(|entry| match entry {
            Allowed::Network(_) => false,
            Allowed::Name(allowed) => *allowed == name,
            Allowed::Suffix(suffix) => name.len() > suffix.len() && name.ends_with(suffix.as_str()),
        })
    }

    /// The entries, for messages.
    pub fn describe(&self) -> String {
        let entries: Vec<String> = self.entries.iter().map(ToString::to_string).collect();
        entries.join(", ")
    }
}

/// The host a request value names, if it names one: an address, a dotted host name (or
/// `localhost`), `HOST:PORT`, or the host of a URL. A variable can point a check at a host as
/// well as the target can, so such values must match the allow-list too; other values (a port,
/// a path, a word) name no host.
pub fn host_in(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(address) = ip_literal(value) {
        return Some(address.to_string());
    }
    if value.contains("://") {
        return url::Url::parse(value)
            .ok()
            .and_then(|url| url.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
            .or_else(|| Some(value.to_owned()));
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => value,
    };
    if ip_literal(host).is_some() {
        return Some(host.trim_matches(['[', ']']).to_owned());
    }
    let name = normalize(host);
    let named = is_host_name(&name)
        && (name.contains('.') || name == "localhost")
        && name.chars().any(|c| c.is_ascii_alphabetic());
    named.then_some(name)
}

/// An address, also in brackets (`[::1]`).
fn ip_literal(text: &str) -> Option<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse().ok()
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1 to 63 characters.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(entries.iter().map(|e| parse(e).unwrap()).collect())
    }

    #[test]
    fn networks_match_addresses_and_nothing_else() {
        let allow = list(&["203.0.113.0/24", "::1", "10.1.2.3"]);
        assert!(allow.permits("203.0.113.20"));
        assert!(allow.permits("[::1]"));
        assert!(allow.permits("10.1.2.3"));
        assert!(!allow.permits("10.1.2.4"));
        assert!(!allow.permits("203.0.114.1"));
        assert!(!allow.permits("example.com"));
    }

    #[test]
    fn suffix_patterns_match_names_below_the_suffix_only() {
        let allow = list(&["*.example.com", "db.test"]);
        assert!(allow.permits("a.example.com"));
        assert!(allow.permits("A.B.Example.COM."));
        assert!(!allow.permits("example.com"));
        assert!(!allow.permits("badexample.com"));
        assert!(allow.permits("db.test"));
        assert!(!allow.permits("x.db.test"));
        assert!(!allow.permits("203.0.113.20"));
    }

    #[test]
    fn values_that_name_hosts_are_found_and_others_are_not() {
        assert_eq!(host_in("203.0.113.20").as_deref(), Some("203.0.113.20"));
        assert_eq!(host_in("db.example.com").as_deref(), Some("db.example.com"));
        assert_eq!(host_in("db.example.com:5432").as_deref(), Some("db.example.com"));
        assert_eq!(host_in("[::1]:80").as_deref(), Some("::1"));
        assert_eq!(
            host_in("http://api.svc.test:8000/health").as_deref(),
            Some("api.svc.test")
        );
        assert_eq!(host_in("localhost").as_deref(), Some("localhost"));
        assert_eq!(host_in("8443"), None);
        assert_eq!(host_in("/health"), None);
        assert_eq!(host_in("core"), None);
        assert_eq!(host_in("1.5"), None);
    }

    #[test]
    fn an_empty_list_permits_everything_and_bad_entries_are_refused() {
        assert!(AllowList::default().permits("anything.example"));
        assert!(parse("*.").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("10.0.0.0/33").is_err());
        assert_eq!(parse("10.0.0.7/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
