//! The raw hello codec used for enumeration: builds a ClientHello for any version from SSLv3 to
//! TLS 1.3 offering any list of code points (including suites no modern library speaks), and reads
//! the first answer of a server (ServerHello, HelloRetryRequest or alert).
//!
//! reach never finishes these handshakes: the ServerHello already says which version and suite
//! the server picked. So key shares need only be well-formed (the X25519 share is arbitrary bytes,
//! the P-256 share is the curve's generator point, which every implementation accepts).

use super::version::Version;

const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
/// Signals secure renegotiation support without an extension (RFC 5746); never selected.
const RENEGOTIATION_SCSV: u16 = 0x00FF;

/// ServerHello.random of a HelloRetryRequest (RFC 8446, 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2,
    0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// The uncompressed generator point of P-256: a valid public key nobody holds the secret for.
const P256_GENERATOR: [u8; 65] = [
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4, 0x40, 0xF2,
    0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2, 0x96, 0x4F,
    0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E, 0x16, 0x2B, 0xCE,
    0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51, 0xF5,
];

/// Groups offered in supported_groups: the modern ones first, then older curves and FFDHE, so a
/// server never refuses a suite only for want of a common group.
const GROUPS: &[u16] = &[
    0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0016, 0x0015, 0x0014, 0x001A, 0x001B, 0x001C, 0x0100, 0x0101,
    0x0102, 0x0103, 0x0104,
];

/// Signature schemes offered (TLS 1.2 and 1.3), SHA-1 and DSA included: enumeration asks what the
/// server accepts, not what is good.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401, 0x0501,
    0x0601, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202, 0x0402, 0x0502, 0x0602,
];

/// What to put in one ClientHello.
#[derive(Debug, Clone)]
pub struct Hello<'a> {
    /// The only version offered.
    pub version: Version,
    pub suites: &'a [u16],
    /// server_name; left out for IP addresses, which SNI may not carry.
    pub sni: Option<&'a str>,
    /// ClientHello.random (any 32 bytes do).
    pub random: [u8; 32],
}

/// Builds the ClientHello record.
pub fn client_hello(hello: &Hello<'_>) -> Vec<u8> {
    let tls13 = hello.version == Version::Tls13;
    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, if tls13 { 0x0303 } else { hello.version.wire() });
    body.extend_from_slice(&hello.random);
    if tls13 {
        // A legacy session id keeps middleboxes that expect one quiet (RFC 8446, D.4).
        body.push(32);
        body.extend(hello.random.iter().rev());
    } else {
        body.push(0);
    }
    let mut suites: Vec<u16> = hello.suites.to_vec();
    if !tls13 {
        suites.push(RENEGOTIATION_SCSV);
    }
    put_u16(&mut body, (suites.len() * 2) as u16);
    for code in suites {
        put_u16(&mut body, code);
    }
    body.extend_from_slice(&[1, 0]);

    // SSLv3 servers may choke on extensions, and SSLv3 has no use for them.
    if hello.version != Version::Ssl3 {
        let mut extensions = extensions(hello);
        // Hellos of 256 to 511 bytes hang some load balancers (RFC 7685): pad them to 512.
        let unpadded = 4 + body.len() + 2 + extensions.len();
        if (256..512).contains(&unpadded) {
            let fill = (512 - unpadded).saturating_sub(4).max(1);
            put_extension(&mut extensions, 0x0015, &vec![0; fill]);
        }
        put_u16(&mut body, extensions.len() as u16);
        body.extend_from_slice(&extensions);
    }

    let mut handshake = Vec::with_capacity(body.len() + 4);
    handshake.push(CLIENT_HELLO);
    put_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);

    let mut record = Vec::with_capacity(handshake.len() + 5);
    record.push(HANDSHAKE);
    // TLS 1.0 in the record layer is what every client sends; SSLv3 servers want their own.
    put_u16(
        &mut record,
        if hello.version == Version::Ssl3 {
            0x0300
        } else {
            0x0301
        },
    );
    put_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

fn extensions(hello: &Hello<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(name) = hello.sni.filter(|n| n.parse::<std::net::IpAddr>().is_err()) {
        let mut list = Vec::new();
        list.push(0);
        put_u16(&mut list, name.len() as u16);
        list.extend_from_slice(name.as_bytes());
        let mut data = Vec::new();
        put_u16(&mut data, list.len() as u16);
        data.extend_from_slice(&list);
        put_extension(&mut out, 0x0000, &data);
    }
    put_extension(&mut out, 0x000A, &u16_list(GROUPS));
    put_extension(&mut out, 0x000B, &[1, 0]);
    if hello.version >= Version::Tls12 {
        put_extension(&mut out, 0x000D, &u16_list(SIGNATURE_SCHEMES));
    }
    put_extension(&mut out, 0x0017, &[]);
    put_extension(&mut out, 0x0023, &[]);
    if hello.version == Version::Tls13 {
        put_extension(&mut out, 0x002B, &[2, 0x03, 0x04]);
        put_extension(&mut out, 0x002D, &[1, 1]);
        let mut shares = Vec::new();
        put_u16(&mut shares, 0x001D);
        put_u16(&mut shares, 32);
        shares.extend_from_slice(&hello.random);
        put_u16(&mut shares, 0x0017);
        put_u16(&mut shares, P256_GENERATOR.len() as u16);
        shares.extend_from_slice(&P256_GENERATOR);
        let mut data = Vec::new();
        put_u16(&mut data, shares.len() as u16);
        data.extend_from_slice(&shares);
        put_extension(&mut out, 0x0033, &data);
    }
    out
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut data = Vec::with_capacity(items.len() * 2 + 2);
    put_u16(&mut data, (items.len() * 2) as u16);
    for item in items {
        put_u16(&mut data, *item);
    }
    data
}

fn put_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(out, kind);
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u32).to_be_bytes()[1..]);
}

/// The fields of a ServerHello that enumeration needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions when present, else the legacy field.
    pub version: u16,
    pub suite: u16,
    /// The key-exchange group of a TLS 1.3 key_share (or the one a HelloRetryRequest asks for).
    pub group: Option<u16>,
    pub hello_retry: bool,
}

/// The server's first answer to a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    ServerHello(ServerHello),
    Alert {
        level: u8,
        description: u8,
    },
    /// More bytes are needed to tell.
    Incomplete,
    /// Bytes that are not a TLS answer to our hello, said in words (what the port seems to speak
    /// instead, when that can be told).
    Unexpected(String),
}

/// TLS record content types: change_cipher_spec (20) to heartbeat (24).
const RECORD_TYPES: std::ops::RangeInclusive<u8> = 20..=24;

/// Reads the server's answer from the bytes received so far.
pub fn parse_answer(received: &[u8]) -> Answer {
    if let Some(what) = not_tls(received) {
        return Answer::Unexpected(what);
    }
    let mut handshake = Vec::new();
    let mut rest = received;
    loop {
        if rest.len() < 5 {
            return if handshake.is_empty() && !rest.is_empty() && rest[0] & 0x80 != 0 {
                Answer::Unexpected("an SSLv2 answer, not TLS".to_owned())
            } else {
                handshake_or_incomplete(&handshake)
            };
        }
        let kind = rest[0];
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest[1] != 3 {
            return Answer::Unexpected(format!(
                "a TLS record of an unknown version (0x{:02x}{:02x})",
                rest[1], rest[2]
            ));
        }
        if rest.len() < 5 + length {
            return handshake_or_incomplete(&handshake);
        }
        let fragment = &rest[5..5 + length];
        rest = &rest[5 + length..];
        match kind {
            ALERT if handshake.is_empty() => {
                return match fragment {
                    [level, description, ..] => Answer::Alert {
                        level: *level,
                        description: *description,
                    },
                    _ => Answer::Unexpected("a truncated TLS alert".to_owned()),
                };
            }
            HANDSHAKE => {
                handshake.extend_from_slice(fragment);
                let answer = handshake_or_incomplete(&handshake);
                if answer != Answer::Incomplete {
                    return answer;
                }
            }
            other => {
                return Answer::Unexpected(format!(
                    "a TLS {} record before the ServerHello",
                    record_name(other)
                ))
            }
        }
    }
}

/// What the server's first flight says about its certificate (TLS 1.2 and below send it in the
/// clear right after the ServerHello).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flight {
    /// The Certificate message: the chain, leaf first, as DER.
    Certificates(Vec<Vec<u8>>),
    /// The flight ended (ServerHelloDone) or broke off without a Certificate message.
    NoCertificate,
    /// More bytes are needed.
    Incomplete,
}

/// Reads the certificate chain from the bytes a TLS 1.2-or-older server sent after a hello.
pub fn certificate_flight(received: &[u8]) -> Flight {
    const CERTIFICATE: u8 = 11;
    const SERVER_HELLO_DONE: u8 = 14;
    let mut handshake = Vec::new();
    let mut rest = received;
    while rest.len() >= 5 {
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + length {
            break;
        }
        match rest[0] {
            HANDSHAKE => handshake.extend_from_slice(&rest[5..5 + length]),
            _ => return Flight::NoCertificate,
        }
        rest = &rest[5 + length..];
    }
    let mut messages = Reader(&handshake);
    while messages.0.len() >= 4 {
        let kind = messages.0[0];
        let length = (usize::from(messages.0[1]) << 16)
            | (usize::from(messages.0[2]) << 8)
            | usize::from(messages.0[3]);
        if messages.0.len() < 4 + length {
            return Flight::Incomplete;
        }
        messages.take(4);
        let Some(body) = messages.take(length) else {
            return Flight::Incomplete;
        };
        match kind {
            CERTIFICATE => return certificates(body).map_or(Flight::NoCertificate, Flight::Certificates),
            SERVER_HELLO_DONE => return Flight::NoCertificate,
            _ => {}
        }
    }
    Flight::Incomplete
}

fn certificates(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader(body);
    let total = r.u24()?;
    let mut list = Reader(r.take(total)?);
    let mut chain = Vec::new();
    while !list.0.is_empty() {
        let length = list.u24()?;
        chain.push(list.take(length)?.to_vec());
    }
    Some(chain)
}

fn handshake_or_incomplete(handshake: &[u8]) -> Answer {
    if handshake.len() < 4 {
        return Answer::Incomplete;
    }
    if handshake[0] != SERVER_HELLO {
        return Answer::Unexpected(format!(
            "a TLS {} message instead of a ServerHello",
            handshake_name(handshake[0])
        ));
    }
    let length =
        (usize::from(handshake[1]) << 16) | (usize::from(handshake[2]) << 8) | usize::from(handshake[3]);
    if handshake.len() < 4 + length {
        return Answer::Incomplete;
    }
    parse_server_hello(&handshake[4..4 + length]).map_or_else(
        || Answer::Unexpected("a malformed ServerHello".to_owned()),
        Answer::ServerHello,
    )
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let session_id = usize::from(r.u8()?);
    r.take(session_id)?;
    let suite = r.u16()?;
    r.u8()?;
    let mut hello = ServerHello {
        version: legacy_version,
        suite,
        group: None,
        hello_retry: random == HELLO_RETRY_RANDOM,
    };
    if r.0.is_empty() {
        return Some(hello);
    }
    let length = usize::from(r.u16()?);
    let mut extensions = Reader(r.take(length)?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let size = usize::from(extensions.u16()?);
        let mut data = Reader(extensions.take(size)?);
        match kind {
            0x002B => hello.version = data.u16()?,
            0x0033 => hello.group = Some(data.u16()?),
            _ => {}
        }
    }
    Some(hello)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
}

/// What a port that answered a ClientHello with something other than TLS speaks, when its
/// first bytes tell: plain HTTP, SSH, or another plain-text protocol (SMTP, FTP, a banner).
fn not_tls(received: &[u8]) -> Option<String> {
    let first = *received.first()?;
    if RECORD_TYPES.contains(&first) || first & 0x80 != 0 {
        return None;
    }
    if received.starts_with(b"HTTP/") || b"HTTP/".starts_with(received) {
        return Some("this port answered in plain HTTP, not TLS".to_owned());
    }
    if received.starts_with(b"SSH-") {
        return Some("this port answered as an SSH server, not TLS".to_owned());
    }
    let line: String = received
        .iter()
        .take_while(|b| **b != b'\r' && **b != b'\n')
        .take(60)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    if received
        .iter()
        .take(16)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return Some(format!("this port answered in plain text, not TLS (`{line}`)"));
    }
    Some(format!(
        "this port answered with bytes that are not TLS (the first is 0x{first:02x})"
    ))
}

/// The name of a TLS record content type, for messages.
fn record_name(kind: u8) -> String {
    match kind {
        20 => "change_cipher_spec".to_owned(),
        21 => "alert".to_owned(),
        22 => "handshake".to_owned(),
        23 => "application_data".to_owned(),
        24 => "heartbeat".to_owned(),
        other => format!("type-{other}"),
    }
}

/// The name of a TLS handshake message type, for messages.
fn handshake_name(kind: u8) -> String {
    match kind {
        0 => "hello_request".to_owned(),
        1 => "client_hello".to_owned(),
        2 => "server_hello".to_owned(),
        4 => "new_session_ticket".to_owned(),
        8 => "encrypted_extensions".to_owned(),
        11 => "certificate".to_owned(),
        12 => "server_key_exchange".to_owned(),
        13 => "certificate_request".to_owned(),
        14 => "server_hello_done".to_owned(),
        15 => "certificate_verify".to_owned(),
        20 => "finished".to_owned(),
        other => format!("type-{other}"),
    }
}

/// The name of a TLS alert description, for messages.
pub fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        120 => "no_application_protocol",
        other => return format!("alert {other}"),
    };
    name.to_owned()
}

/// The name of a named group (key exchange), for reports.
pub fn group_name(group: u16) -> String {
    let name = match group {
        0x0015 => "secp224r1",
        0x0016 => "secp256k1",
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001A => "brainpoolP256r1",
        0x001B => "brainpoolP384r1",
        0x001C => "brainpoolP512r1",
        0x001D => "x25519",
        0x001E => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x11EC => "X25519MLKEM768",
        other => return format!("0x{other:04X}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(version: Version, suites: &[u16]) -> Vec<u8> {
        client_hello(&Hello {
            version,
            suites,
            sni: Some("example.test"),
            random: [7; 32],
        })
    }

    #[test]
    fn hellos_are_well_formed_records() {
        for version in Version::ALL {
            let record = hello(version, &[0xC02F, 0x009C]);
            assert_eq!(record[0], HANDSHAKE);
            let length = usize::from(u16::from_be_bytes([record[3], record[4]]));
            assert_eq!(record.len(), 5 + length, "{version}");
            assert_eq!(record[5], CLIENT_HELLO);
            let body =
                (usize::from(record[6]) << 16) | (usize::from(record[7]) << 8) | usize::from(record[8]);
            assert_eq!(body + 4, length, "{version}");
        }
    }

    #[test]
    fn hellos_between_256_and_511_bytes_are_padded() {
        for count in 1..300 {
            let suites: Vec<u16> = (0..count).collect();
            let record = hello(Version::Tls12, &suites);
            let handshake = record.len() - 5;
            assert!(
                !(256..512).contains(&handshake),
                "{count} suites: {handshake} bytes"
            );
        }
    }

    fn server_hello(version: u16, suite: u16, extensions: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        put_u16(&mut body, 0x0303.min(version));
        body.extend_from_slice(&[1; 32]);
        body.push(0);
        put_u16(&mut body, suite);
        body.push(0);
        put_u16(&mut body, extensions.len() as u16);
        body.extend_from_slice(extensions);
        let mut handshake = vec![SERVER_HELLO];
        put_u24(&mut handshake, body.len());
        handshake.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE, 3, 3];
        put_u16(&mut record, handshake.len() as u16);
        record.extend_from_slice(&handshake);
        record
    }

    #[test]
    fn certificate_flights_yield_the_chain() {
        let mut flight = server_hello(0x0303, 0x002F, &[]);
        let mut body = Vec::new();
        put_u24(&mut body, 3 + 2 + 3 + 1);
        put_u24(&mut body, 2);
        body.extend_from_slice(&[0xAA, 0xBB]);
        put_u24(&mut body, 1);
        body.push(0xCC);
        let mut message = vec![11];
        put_u24(&mut message, body.len());
        message.extend_from_slice(&body);
        let mut record = vec![HANDSHAKE, 3, 3];
        put_u16(&mut record, message.len() as u16);
        record.extend_from_slice(&message);
        assert_eq!(certificate_flight(&flight), Flight::Incomplete);
        flight.extend_from_slice(&record);
        assert_eq!(
            certificate_flight(&flight[..flight.len() - 1]),
            Flight::Incomplete
        );
        assert_eq!(
            certificate_flight(&flight),
            Flight::Certificates(vec![vec![0xAA, 0xBB], vec![0xCC]])
        );
    }

    #[test]
    fn server_hellos_alerts_and_partial_answers_are_told_apart() {
        let tls12 = server_hello(0x0303, 0xC02F, &[]);
        assert_eq!(
            parse_answer(&tls12),
            Answer::ServerHello(ServerHello {
                version: 0x0303,
                suite: 0xC02F,
                group: None,
                hello_retry: false
            })
        );
        assert_eq!(parse_answer(&tls12[..20]), Answer::Incomplete);
        let mut ext = Vec::new();
        put_extension(&mut ext, 0x002B, &[0x03, 0x04]);
        put_extension(&mut ext, 0x0033, &[0x00, 0x1D, 0, 0]);
        let tls13 = server_hello(0x0304, 0x1301, &ext);
        match parse_answer(&tls13) {
            Answer::ServerHello(h) => assert_eq!((h.version, h.suite, h.group), (0x0304, 0x1301, Some(0x1D))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_answer(&[ALERT, 3, 1, 0, 2, 2, 40]),
            Answer::Alert {
                level: 2,
                description: 40
            }
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 400 Bad Request\r\n"),
            Answer::Unexpected("this port answered in plain HTTP, not TLS".to_owned())
        );
    }

    #[test]
    fn answers_that_are_not_tls_are_named_in_words() {
        let said = |bytes: &[u8]| match parse_answer(bytes) {
            Answer::Unexpected(what) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            said(b"SSH-2.0-OpenSSH_9.6\r\n"),
            "this port answered as an SSH server, not TLS"
        );
        assert_eq!(
            said(b"220 mail.example ESMTP\r\n"),
            "this port answered in plain text, not TLS (`220 mail.example ESMTP`)"
        );
        assert_eq!(
            said(&[0x00, 0x01, 0x02, 0x03, 0x04, 0x05]),
            "this port answered with bytes that are not TLS (the first is 0x00)"
        );
        assert_eq!(
            said(&[23, 3, 3, 0, 1, 0]),
            "a TLS application_data record before the ServerHello"
        );
        assert_eq!(
            said(&[22, 3, 3, 0, 4, 11, 0, 0, 0]),
            "a TLS certificate message instead of a ServerHello"
        );
        assert_eq!(
            said(&[22, 9, 9, 0, 0]),
            "a TLS record of an unknown version (0x0909)"
        );
        for text in [said(b"HTTP/1.1 400 Bad Request\r\n"), said(&[22, 9, 9, 0, 0])] {
            assert!(!text.contains("record version"), "{text}");
        }
    }
}
