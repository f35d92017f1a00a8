//! `--resolve HOST:PORT:ADDR[,ADDR...]`: names pinned to addresses, as curl's flag does.

use crate::spec::Host;
use std::net::IpAddr;

/// `--resolve HOST:PORT:ADDR[,ADDR...]`, as in curl; `*` as PORT matches every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    pub host: String,
    pub port: Option<u16>,
    pub addresses: Vec<IpAddr>,
}

impl std::str::FromStr for ResolveOverride {
    type Err = OverrideError;

    fn from_str(text: &str) -> Result<Self, OverrideError> {
        let usage = || {
            OverrideError(format!(
                "`{text}` is not HOST:PORT:ADDR (e.g. api.example.com:443:127.0.0.1)"
            ))
        };
        let (host, rest) = text.split_once(':').ok_or_else(usage)?;
        let (port, addresses) = rest.split_once(':').ok_or_else(usage)?;
        let host = match Host::parse(host).map_err(OverrideError)? {
            Host::Name(name) => name.to_string(),
            Host::Ip(_) => {
                return Err(OverrideError(format!(
                    "`{host}` is already an address: --resolve takes a name"
                )))
            }
        };
        let port = match port {
            "*" => None,
            port => Some(port.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
                OverrideError(format!("`{port}` in `{text}` is not a port (1-65535) or *"))
            })?),
        };
        let addresses = addresses
            .split(',')
            .map(|a| {
                let bare = a.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(a);
                bare.parse::<IpAddr>()
                    .map_err(|_| OverrideError(format!("`{a}` in `{text}` is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResolveOverride {
            host,
            port,
            addresses,
        })
    }
}

/// As typed: `HOST:PORT:ADDR[,ADDR...]`.
impl std::fmt::Display for ResolveOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let port = self.port.map_or_else(|| "*".to_owned(), |p| p.to_string());
        let addresses: Vec<String> = self
            .addresses
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            })
            .collect();
        write!(f, "{}:{port}:{}", self.host, addresses.join(","))
    }
}

/// A `--resolve` value that is not HOST:PORT:ADDR; the message names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OverrideError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_like_curl() {
        let o: ResolveOverride = "api.example.com:443:127.0.0.1,[::1]".parse().unwrap();
        assert_eq!(o.host, "api.example.com");
        assert_eq!(o.port, Some(443));
        assert_eq!(
            o.addresses,
            ["127.0.0.1".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]
        );
        let any: ResolveOverride = "a.b:*:127.0.0.2".parse().unwrap();
        assert_eq!(any.port, None);
        assert!("a.b:443".parse::<ResolveOverride>().is_err());
        assert!("a.b:0:127.0.0.1".parse::<ResolveOverride>().is_err());
        assert!("a.b:443:nope".parse::<ResolveOverride>().is_err());
        assert_eq!(o.to_string(), "api.example.com:443:127.0.0.1,[::1]");
        assert_eq!(any.to_string(), "a.b:*:127.0.0.2");
    }
}
