//! What `reach scan` is pointed at: a host name, an address, a CIDR block, or a comma-separated
//! list of them. The total is bounded so that a typo (`/8` for `/28`) is refused before a single
//! packet is sent.

use crate::spec::Host;
use std::net::IpAddr;

/// The most addresses one scan accepts (a /24, or an IPv6 /120).
pub const MAX_HOSTS: usize = 256;

/// Expands a target list into hosts, keeping the written order and dropping repeats.
pub fn parse(text: &str) -> Result<Vec<Host>, String> {
    let mut hosts: Vec<Host> = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("`{text}` has an empty item in its host list"));
        }
        let expanded = match item.split_once('/') {
            Some((network, prefix)) => cidr(item, network, prefix)?,
            None => vec![Host::parse(item)?],
        };
        for host in expanded {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
            if hosts.len() > MAX_HOSTS {
                return Err(too_many(text));
            }
        }
    }
    Ok(hosts)
}

fn too_many(text: &str) -> String {
    format!(
        "`{text}` holds more than {MAX_HOSTS} hosts: reach scans at most {MAX_HOSTS} at once \
         (a /24, or an IPv6 /120); split the range"
    )
}

fn cidr(item: &str, network: &str, prefix: &str) -> Result<Vec<Host>, String> {
    let bare = network
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(network);
    let address: IpAddr = bare
        .parse()
        .map_err(|_| format!("`{item}`: `{network}` is not an IP address (CIDR blocks need one)"))?;
    let bits: u32 = match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix: u32 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= bits)
        .ok_or_else(|| format!("`{item}`: `{prefix}` is not a prefix length from 0 to {bits}"))?;
    let host_bits = bits - prefix;
    if host_bits > MAX_HOSTS.trailing_zeros() {
        return Err(too_many(item));
    }
    let count = 1u128 << host_bits;
    let hosts = match address {
        IpAddr::V4(v4) => {
            let base = u32::from(v4) & !((1u32 << host_bits) - 1);
            (0..count)
                .filter_map(|i| u32::try_from(i).ok())
                .map(|i| Host::Ip(IpAddr::V4((base | i).into())))
                .collect()
        }
        IpAddr::V6(v6) => {
            let base = u128::from(v6) & !((1u128 << host_bits) - 1);
            (0..count)
                .map(|i| Host::Ip(IpAddr::V6((base | i).into())))
                .collect()
        }
    };
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Host {
        Host::Ip(text.parse().unwrap())
    }

    #[test]
    fn names_addresses_and_blocks_expand_in_order() {
        assert_eq!(
            parse("db.test, 198.18.0.4/31,198.18.0.5").unwrap(),
            [Host::Name("db.test".into()), ip("198.18.0.4"), ip("198.18.0.5")]
        );
        assert_eq!(parse("198.18.0.7/30").unwrap()[0], ip("198.18.0.4"));
        assert_eq!(parse("2001:db8::/126").unwrap().len(), 4);
        assert_eq!(parse("198.18.0.0/24").unwrap().len(), 256);
    }

    #[test]
    fn huge_or_malformed_ranges_are_refused_with_the_value() {
        let error = parse("10.0.0.0/8").unwrap_err();
        assert!(
            error.contains("`10.0.0.0/8`") && error.contains("at most 256"),
            "{error}"
        );
        assert!(parse("2001:db8::/64").is_err());
        assert!(parse("198.18.0.0/23").is_err());
        assert!(parse("198.18.0.0/33").unwrap_err().contains("`33`"));
        assert!(parse("db.test/24").unwrap_err().contains("not an IP address"));
        assert!(parse("a,,b").is_err());
    }
}
