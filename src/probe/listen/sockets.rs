//! The inside view: this host's listening sockets, read from `/proc/net/{tcp,tcp6,udp,udp6}` of
//! the network namespace reach runs in, with the owning process where `/proc/PID/fd` is readable
//! (all of them as root, one's own otherwise).

use crate::outcome::{ListeningSocket, OwningProcess, Transport};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// The kernel's TCP_LISTEN state.
const TCP_LISTEN: &str = "0A";
/// TCP_CLOSE, which the kernel shows for an unconnected (bound, receiving) UDP socket.
const UDP_UNCONNECTED: &str = "07";

/// Why the socket tables could not be read.
#[derive(Debug)]
pub struct ReadError {
    pub path: String,
    pub error: io::Error,
}

/// Every listening socket of these transports, sorted by transport, port and address, each
/// (transport, address, port) once.
pub fn read(transports: &[Transport]) -> Result<Vec<ListeningSocket>, ReadError> {
    read_from(Path::new("/proc"), transports)
}

fn read_from(proc: &Path, transports: &[Transport]) -> Result<Vec<ListeningSocket>, ReadError> {
    let mut found: Vec<(ListeningSocket, u64)> = Vec::new();
    for &transport in transports {
        let (name, state) = match transport {
            Transport::Tcp => ("tcp", TCP_LISTEN),
            Transport::Udp => ("udp", UDP_UNCONNECTED),
        };
        for (file, required) in [(name.to_owned(), true), (format!("{name}6"), false)] {
            let path = proc.join("net").join(&file);
            match std::fs::read_to_string(&path) {
                Ok(text) => found.extend(parse_table(&text, transport, state)),
                // A kernel without IPv6 has no tcp6/udp6 table: nothing listens there.
                Err(e) if !required && e.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(ReadError {
                        path: path.display().to_string(),
                        error,
                    })
                }
            }
        }
    }
    let owners = owners(
        proc,
        found
            .iter()
            .map(|(_, inode)| *inode)
            .filter(|i| *i != 0)
            .collect(),
    );
    let mut sockets: Vec<ListeningSocket> = found
        .into_iter()
        .map(|(mut socket, inode)| {
            socket.process = owners.get(&inode).cloned();
            socket
        })
        .collect();
    sockets.sort_by(|a, b| {
        (a.transport, a.port, a.address, a.process.is_none()).cmp(&(
            b.transport,
            b.port,
            b.address,
            b.process.is_none(),
        ))
    });
    sockets.dedup_by(|b, a| (a.transport, a.address, a.port) == (b.transport, b.address, b.port));
    Ok(sockets)
}

/// Parses one `/proc/net` socket table, keeping the rows in `state`, with their inodes.
fn parse_table(text: &str, transport: Transport, state: &str) -> Vec<(ListeningSocket, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&state) {
                return None;
            }
            let (address, port) = parse_endpoint(fields.get(1)?)?;
            let inode = fields.get(9).and_then(|i| i.parse().ok()).unwrap_or(0);
            Some((
                ListeningSocket {
                    transport,
                    address,
                    port,
                    process: None,
                },
                inode,
            ))
        })
        .collect()
}

/// `0100007F:1F90` -> 127.0.0.1:8080. The kernel prints each 32-bit word of the address as a
/// native-endian number, so the bytes come back with `to_ne_bytes`; the port is plain hex.
fn parse_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = address
        .as_bytes()
        .chunks(8)
        .map(|chunk| {
            std::str::from_utf8(chunk)
                .ok()
                .and_then(|w| u32::from_str_radix(w, 16).ok())
        })
        .collect::<Option<_>>()?;
    let address = match words.as_slice() {
        [word] => IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (slot, word) in bytes.chunks_mut(4).zip([a, b, c, d]) {
                slot.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((address, port))
}

/// Which process holds each socket inode, from the `socket:[INODE]` links in `/proc/PID/fd`.
/// Processes this user may not inspect are skipped: their sockets show no owner.
fn owners(proc: &Path, mut wanted: Vec<u64>) -> HashMap<u64, OwningProcess> {
    wanted.sort_unstable();
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir(proc) else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|i| i.parse::<u64>().ok());
            if let Some(inode) = inode.filter(|i| wanted.binary_search(i).is_ok()) {
                found.entry(inode).or_insert_with(|| OwningProcess {
                    pid,
                    name: std::fs::read_to_string(entry.path().join("comm"))
                        .map(|n| n.trim_end().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
        if found.len() == wanted.len() {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_decode_in_both_families() {
        let v4 = u32::from_ne_bytes([127, 0, 0, 1]);
        assert_eq!(
            parse_endpoint(&format!("{v4:08X}:1F90")),
            Some(("127.0.0.1".parse().unwrap(), 8080))
        );
        let v6: String = Ipv6Addr::LOCALHOST
            .octets()
            .chunks(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        assert_eq!(
            parse_endpoint(&format!("{v6}:0016")),
            Some(("::1".parse().unwrap(), 22))
        );
        assert_eq!(parse_endpoint("zz:1"), None);
    }

    #[test]
    fn only_rows_in_the_listening_state_are_kept() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0   0 4242 1\n   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   0   0 4243 1\n";
        let rows = parse_table(text, Transport::Tcp, TCP_LISTEN);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0.port, 5432);
        assert_eq!(rows[0].0.address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(rows[0].1, 4242);
    }

    #[test]
    fn this_process_is_named_as_the_owner_of_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = read(&[Transport::Tcp]).unwrap();
        let mine = sockets
            .iter()
            .find(|s| s.port == port && s.address == IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("our listener is listed");
        assert_eq!(mine.process.as_ref().map(|p| p.pid), Some(std::process::id()));
    }
}
