//! Port lists as people write them: `22`, `"22,80,8000-8010"`, `[22, "8000-8010"]`, and for the
//! inside view with the transport in front: `"udp/5353,tcp/22,80"`.

use crate::outcome::Transport;

/// Parses one comma-separated list of ports and inclusive ranges, keeping the written order and
/// dropping repeats.
pub fn parse_port_list(text: &str) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("`{text}` has an empty item in its port list"));
        }
        push_item(&mut ports, item)?;
    }
    Ok(dedup(ports))
}

/// Appends one list item (a port or a `low-high` range) to `ports`.
pub fn push_item(ports: &mut Vec<u16>, item: &str) -> Result<(), String> {
    match item.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (parse_port(low.trim())?, parse_port(high.trim())?);
            if low > high {
                return Err(format!(
                    "port range `{item}` runs backwards: write `{high}-{low}`"
                ));
            }
            ports.extend(low..=high);
        }
        None => ports.push(parse_port(item)?),
    }
    Ok(())
}

/// Parses a comma-separated list whose items may name their transport (`udp/5353`,
/// `tcp/8000-8010`); an item without one is of `default`. Keeps the written order, drops repeats.
pub fn parse_transport_port_list(text: &str, default: Transport) -> Result<Vec<(Transport, u16)>, String> {
    let mut ports = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("`{text}` has an empty item in its port list"));
        }
        let (transport, rest) = split_transport(item, default)?;
        let mut numbers = Vec::new();
        push_item(&mut numbers, rest)?;
        ports.extend(numbers.into_iter().map(|port| (transport, port)));
    }
    Ok(dedup_transport_ports(ports))
}

/// `udp/53` -> (UDP, `53`); `53` -> (`default`, `53`).
fn split_transport(item: &str, default: Transport) -> Result<(Transport, &str), String> {
    match item.split_once('/') {
        None => Ok((default, item)),
        Some((name, rest)) => match name.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok((Transport::Tcp, rest.trim())),
            "udp" => Ok((Transport::Udp, rest.trim())),
            _ => Err(format!(
                "`{item}`: `{name}` is no transport: write tcp/PORT or udp/PORT"
            )),
        },
    }
}

/// Removes repeated (transport, port) pairs, keeping the first occurrence of each.
pub fn dedup_transport_ports(ports: Vec<(Transport, u16)>) -> Vec<(Transport, u16)> {
    let mut seen = std::collections::HashSet::new();
    ports.into_iter().filter(|pair| seen.insert(*pair)).collect()
}

/// Checks that a number taken from TOML is a valid port.
pub fn port_from_int(value: i64) -> Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|&port| port != 0)
        .ok_or_else(|| format!("port {value} is out of range: ports are 1 to 65535"))
}

fn parse_port(text: &str) -> Result<u16, String> {
    let value: i64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a port number"))?;
    port_from_int(value)
}

/// Removes repeated ports, keeping the first occurrence of each.
pub fn dedup(ports: Vec<u16>) -> Vec<u16> {
    let mut seen = vec![false; usize::from(u16::MAX) + 1];
    ports
        .into_iter()
        .filter(|&port| !std::mem::replace(&mut seen[usize::from(port)], true))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges_expand_in_order_without_repeats() {
        assert_eq!(parse_port_list("443, 80-82,80"), Ok(vec![443, 80, 81, 82]));
        assert_eq!(parse_port_list("65535"), Ok(vec![65535]));
    }

    #[test]
    fn items_may_name_their_transport() {
        use Transport::{Tcp, Udp};
        assert_eq!(
            parse_transport_port_list("udp/5353, tcp/22,80,UDP/5353,udp/53-54", Tcp),
            Ok(vec![(Udp, 5353), (Tcp, 22), (Tcp, 80), (Udp, 53), (Udp, 54)])
        );
        assert_eq!(parse_transport_port_list("53", Udp), Ok(vec![(Udp, 53)]));
        let error = parse_transport_port_list("sctp/9", Tcp).unwrap_err();
        assert!(error.contains("`sctp` is no transport"), "{error}");
        assert!(parse_transport_port_list("udp/0", Tcp)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_transport_port_list("udp/", Tcp).is_err());
    }

    #[test]
    fn bad_ports_are_rejected_with_the_offending_text() {
        assert!(parse_port_list("0")
            .unwrap_err()
            .contains("port 0 is out of range"));
        assert!(parse_port_list("65536").unwrap_err().contains("65536"));
        assert!(parse_port_list("90-80").unwrap_err().contains("backwards"));
        assert!(parse_port_list("http").unwrap_err().contains("`http`"));
        assert!(parse_port_list("22,,80").unwrap_err().contains("empty item"));
        assert!(parse_port_list("-5").is_err());
    }
}
