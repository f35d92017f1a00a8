//! The broken deployment's mistake "TLS 1.0 enabled", without a TLS 1.0 stack: rustls has
//! none, so the demo's TLS port reads each ClientHello first, and answers one whose highest
//! version is TLS 1.0 with a TLS 1.0 ServerHello that picks a CBC suite, as an old OpenSSL would.
//! That is all a version-and-suite enumeration sees of a server; every other hello goes on to
//! rustls (TLS 1.2 and 1.3). Older hellos (SSLv3, TLS 1.1) get a protocol_version alert.

/// The suites the broken server "accepts" in TLS 1.0, in its order of preference:
/// ECDHE-ECDSA-AES128-SHA and ECDHE-ECDSA-AES256-SHA (the demo's key is ECDSA).
const LEGACY_SUITES: [u16; 2] = [0xC009, 0xC00A];
const TLS10: u16 = 0x0301;
const TLS12: u16 = 0x0303;
const SUPPORTED_VERSIONS: u16 = 0x002b;

/// What to do with a connection whose first bytes are `hello`.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Not a complete ClientHello yet: read more.
    NeedMore,
    /// A hello TLS 1.2 or later can answer: hand the connection to rustls.
    Modern,
    /// Send these bytes and close.
    Legacy(Vec<u8>),
}

/// Decides how the broken server answers the first bytes of a connection.
pub fn answer(hello: &[u8]) -> Reply {
    let Some(record_length) = hello
        .get(3..5)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    else {
        return Reply::NeedMore;
    };
    if hello[0] != 22 {
        return Reply::Modern;
    }
    let Some(body) = hello.get(5..5 + record_length) else {
        return Reply::NeedMore;
    };
    let Some(highest) = highest_version(body) else {
        return Reply::Modern;
    };
    if highest >= TLS12 {
        return Reply::Modern;
    }
    if highest != TLS10 {
        // A fatal protocol_version alert, in the record version the client spoke.
        return Reply::Legacy(vec![21, 0x03, (highest & 0xff) as u8, 0, 2, 2, 70]);
    }
    match offered_suites(body).and_then(|offered| LEGACY_SUITES.into_iter().find(|s| offered.contains(s))) {
        Some(suite) => Reply::Legacy(server_hello(suite)),
        // handshake_failure: no suite in common.
        None => Reply::Legacy(vec![21, 0x03, 0x01, 0, 2, 2, 40]),
    }
}

/// The highest version a ClientHello offers: its supported_versions, else its legacy version.
fn highest_version(body: &[u8]) -> Option<u16> {
    if body.first() != Some(&1) {
        return None;
    }
    let legacy = u16::from_be_bytes([*body.get(4)?, *body.get(5)?]);
    let extensions = extensions(body)?;
    let mut cursor = extensions;
    while cursor.len() >= 4 {
        let kind = u16::from_be_bytes([cursor[0], cursor[1]]);
        let length = usize::from(u16::from_be_bytes([cursor[2], cursor[3]]));
        let data = cursor.get(4..4 + length)?;
        if kind == SUPPORTED_VERSIONS {
            return data
                .get(1..)?
                .chunks_exact(2)
                .map(|v| u16::from_be_bytes([v[0], v[1]]))
                .filter(|v| v & 0x0f0f != 0x0a0a) // GREASE
                .max();
        }
        cursor = &cursor[4 + length..];
    }
    Some(legacy)
}

/// The body's fields after the version and random: session id, suites, compression, extensions.
fn after_random(body: &[u8]) -> Option<&[u8]> {
    // handshake type (1) + length (3) + version (2) + random (32)
    body.get(38..)
}

fn offered_suites(body: &[u8]) -> Option<Vec<u16>> {
    let rest = after_random(body)?;
    let session = usize::from(*rest.first()?);
    let rest = rest.get(1 + session..)?;
    let length = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    Some(
        rest.get(2..2 + length)?
            .chunks_exact(2)
            .map(|s| u16::from_be_bytes([s[0], s[1]]))
            .collect(),
    )
}

fn extensions(body: &[u8]) -> Option<&[u8]> {
    let rest = after_random(body)?;
    let session = usize::from(*rest.first()?);
    let rest = rest.get(1 + session..)?;
    let suites = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let rest = rest.get(2 + suites..)?;
    let compression = usize::from(*rest.first()?);
    let rest = rest.get(1 + compression..)?;
    if rest.len() < 2 {
        return Some(&[]);
    }
    let length = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    rest.get(2..2 + length)
}

/// A TLS 1.0 ServerHello record choosing `suite`, with no extensions.
fn server_hello(suite: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(38 + 4);
    body.extend_from_slice(&TLS10.to_be_bytes());
    // The random need not be random: nothing is ever encrypted on this connection.
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0); // no session id
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0); // no compression
    let mut handshake = vec![2, 0, 0, u8::try_from(body.len()).unwrap_or(0)];
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::codec::{self, Hello};
    use crate::tls::Version;

    fn hello(version: Version, suites: &[u16]) -> Vec<u8> {
        codec::client_hello(&Hello::new(version, suites, Some("shop.demo.test"), [7; 32]))
    }

    #[test]
    fn a_tls10_hello_gets_a_tls10_server_hello_that_reach_reads_as_accepted() {
        let Reply::Legacy(bytes) = answer(&hello(Version::Tls10, &[0x002F, 0xC00A, 0xC009])) else {
            panic!("a TLS 1.0 hello is answered by the legacy responder");
        };
        match codec::parse_answer(&bytes) {
            codec::Answer::ServerHello(server) => {
                assert_eq!(server.version, Version::Tls10.wire());
                assert_eq!(server.suite, 0xC009);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn modern_hellos_go_to_rustls_and_older_ones_are_refused() {
        assert_eq!(answer(&hello(Version::Tls12, &[0xC02B])), Reply::Modern);
        assert_eq!(answer(&hello(Version::Tls13, &[0x1301])), Reply::Modern);
        assert!(matches!(answer(&hello(Version::Tls11, &[0xC009])), Reply::Legacy(alert) if alert[0] == 21));
        let whole = hello(Version::Tls10, &[0xC009]);
        assert_eq!(answer(&whole[..20]), Reply::NeedMore);
    }
}
