//! The raw hello codec used for enumeration: builds a ClientHello for any version from SSLv3 to
//! TLS 1.3 offering any list of code points (including suites no modern library speaks), and reads
//! the first answer of a server (ServerHello, HelloRetryRequest or alert).
//!
//! reach never finishes these handshakes: the ServerHello already says which version and suite
//! the server picked. So key shares need only be well-formed (the X25519 share is arbitrary bytes,
//! the P-256 share is the curve's generator point, which every implementation accepts).

use super::version::Version;

pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;
pub const HEARTBEAT: u8 = 24;
const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const CERTIFICATE: u8 = 11;
pub const SERVER_KEY_EXCHANGE: u8 = 12;
pub const CERTIFICATE_REQUEST: u8 = 13;
pub const SERVER_HELLO_DONE: u8 = 14;
pub const FINISHED: u8 = 20;
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

/// Groups offered in supported_groups unless a probe names its own: the modern ones first, then
/// older curves and FFDHE, so a server never refuses a suite only for want of a common group.
pub const DEFAULT_GROUPS: &[u16] = &[
    0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x0016, 0x0015, 0x0014, 0x001A, 0x001B, 0x001C, 0x0100, 0x0101,
    0x0102, 0x0103, 0x0104,
];

/// Signature schemes offered (TLS 1.2 and 1.3), SHA-1 and DSA included: enumeration asks what the
/// server accepts, not what is good.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401, 0x0501,
    0x0601, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202, 0x0402, 0x0502, 0x0602,
];

/// What to put in one ClientHello. [`Hello::new`] gives what enumeration sends; the protocol
/// checks change single fields.
#[derive(Debug, Clone)]
pub struct Hello<'a> {
    /// The only version offered.
    pub version: Version,
    pub suites: &'a [u16],
    /// server_name; left out for IP addresses, which SNI may not carry.
    pub sni: Option<&'a str>,
    /// ClientHello.random (any 32 bytes do).
    pub random: [u8; 32],
    /// supported_groups: [`DEFAULT_GROUPS`] when None.
    pub groups: Option<&'a [u16]>,
    /// TLS 1.3: send the X25519 and P-256 key shares (else none, which asks the server to pick a
    /// group and say so in a HelloRetryRequest).
    pub key_shares: bool,
    /// Offer DEFLATE before null compression (TLS 1.2 and below).
    pub compression: bool,
    /// Add TLS_FALLBACK_SCSV (RFC 7507): "this is a retry at a lower version".
    pub fallback_scsv: bool,
    /// Offer the heartbeat extension (RFC 6520), peer allowed to send.
    pub heartbeat: bool,
    /// legacy_session_id for TLS 1.2 and below (TLS 1.3 hellos always carry 32 bytes).
    pub session_id: &'a [u8],
    /// The session_ticket extension's content (empty: "I take tickets"); None leaves it out.
    pub ticket: Option<&'a [u8]>,
    /// renegotiation_info with this content, instead of the signalling suite.
    pub renegotiation_info: Option<&'a [u8]>,
    pub extended_master_secret: bool,
}

impl<'a> Hello<'a> {
    pub fn new(version: Version, suites: &'a [u16], sni: Option<&'a str>, random: [u8; 32]) -> Hello<'a> {
        Hello {
            version,
            suites,
            sni,
            random,
            groups: None,
            key_shares: true,
            compression: false,
            fallback_scsv: false,
            heartbeat: false,
            session_id: &[],
            ticket: Some(&[]),
            renegotiation_info: None,
            extended_master_secret: true,
        }
    }
}

/// The code point of TLS_FALLBACK_SCSV.
pub const FALLBACK_SCSV: u16 = 0x5600;

/// Builds the ClientHello record.
pub fn client_hello(hello: &Hello<'_>) -> Vec<u8> {
    record(
        HANDSHAKE,
        // TLS 1.0 in the record layer is what every client sends; SSLv3 servers want their own.
        if hello.version == Version::Ssl3 {
            0x0300
        } else {
            0x0301
        },
        &client_hello_message(hello),
    )
}

/// The ClientHello handshake message alone (type, length, body), for a renegotiation inside an
/// encrypted connection.
pub fn client_hello_message(hello: &Hello<'_>) -> Vec<u8> {
    let tls13 = hello.version == Version::Tls13;
    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, if tls13 { 0x0303 } else { hello.version.wire() });
    body.extend_from_slice(&hello.random);
    if tls13 {
        // A legacy session id keeps middleboxes that expect one quiet (RFC 8446, D.4).
        body.push(32);
        body.extend(hello.random.iter().rev());
    } else {
        body.push(hello.session_id.len() as u8);
        body.extend_from_slice(hello.session_id);
    }
    let mut suites: Vec<u16> = hello.suites.to_vec();
    if !tls13 && hello.renegotiation_info.is_none() {
        suites.push(RENEGOTIATION_SCSV);
    }
    if hello.fallback_scsv {
        suites.push(FALLBACK_SCSV);
    }
    put_u16(&mut body, (suites.len() * 2) as u16);
    for code in suites {
        put_u16(&mut body, code);
    }
    if hello.compression && !tls13 {
        body.extend_from_slice(&[2, 1, 0]);
    } else {
        body.extend_from_slice(&[1, 0]);
    }

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
    handshake
}

/// One record of `kind` around `fragment`.
pub fn record(kind: u8, version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(fragment.len() + 5);
    record.push(kind);
    put_u16(&mut record, version);
    put_u16(&mut record, fragment.len() as u16);
    record.extend_from_slice(fragment);
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
    put_extension(
        &mut out,
        0x000A,
        &u16_list(hello.groups.unwrap_or(DEFAULT_GROUPS)),
    );
    put_extension(&mut out, 0x000B, &[1, 0]);
    if hello.version >= Version::Tls12 {
        put_extension(&mut out, 0x000D, &u16_list(SIGNATURE_SCHEMES));
    }
    if hello.heartbeat {
        put_extension(&mut out, 0x000F, &[1]);
    }
    if hello.extended_master_secret {
        put_extension(&mut out, 0x0017, &[]);
    }
    if let Some(ticket) = hello.ticket {
        put_extension(&mut out, 0x0023, ticket);
    }
    if hello.version == Version::Tls13 {
        put_extension(&mut out, 0x002B, &[2, 0x03, 0x04]);
        put_extension(&mut out, 0x002D, &[1, 1]);
        let mut shares = Vec::new();
        if hello.key_shares {
            put_u16(&mut shares, 0x001D);
            put_u16(&mut shares, 32);
            shares.extend_from_slice(&hello.random);
            put_u16(&mut shares, 0x0017);
            put_u16(&mut shares, P256_GENERATOR.len() as u16);
            shares.extend_from_slice(&P256_GENERATOR);
        }
        let mut data = Vec::new();
        put_u16(&mut data, shares.len() as u16);
        data.extend_from_slice(&shares);
        put_extension(&mut out, 0x0033, &data);
    }
    if let Some(info) = hello.renegotiation_info {
        let mut data = vec![info.len() as u8];
        data.extend_from_slice(info);
        put_extension(&mut out, 0xFF01, &data);
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

/// The fields of a ServerHello that reach's probes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions when present, else the legacy field.
    pub version: u16,
    pub suite: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// The compression method (0: none, 1: DEFLATE).
    pub compression: u8,
    /// The key-exchange group of a TLS 1.3 key_share (or the one a HelloRetryRequest asks for).
    pub group: Option<u16>,
    pub hello_retry: bool,
    /// The extension types the server answered with, in its order.
    pub extensions: Vec<u16>,
}

impl ServerHello {
    pub fn has_extension(&self, kind: u16) -> bool {
        self.extensions.contains(&kind)
    }
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
    /// Bytes that are not a TLS answer to our hello, described for a reader.
    Unexpected(String),
}

/// Reads the server's answer from the bytes received so far.
pub fn parse_answer(received: &[u8]) -> Answer {
    let flight = read_flight(received);
    match flight.messages.first() {
        Some((SERVER_HELLO, body)) => parse_server_hello(body).map_or_else(
            || Answer::Unexpected("a malformed ServerHello".to_owned()),
            Answer::ServerHello,
        ),
        Some((other, _)) => Answer::Unexpected(format!(
            "a {} message instead of a ServerHello",
            handshake_name(*other)
        )),
        None => match flight.end {
            FlightEnd::Alert { level, description } => Answer::Alert { level, description },
            FlightEnd::NotTls(what) => Answer::Unexpected(what),
            FlightEnd::Record(kind) => Answer::Unexpected(format!("a {} record", record_name(kind))),
            FlightEnd::Incomplete => Answer::Incomplete,
        },
    }
}

/// The plaintext handshake messages a server sent (TLS 1.2 and below send their whole first
/// flight in the clear), and why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flight {
    /// (type, body) of every complete handshake message, in order.
    pub messages: Vec<(u8, Vec<u8>)>,
    pub end: FlightEnd,
}

impl Flight {
    pub fn message(&self, kind: u8) -> Option<&[u8]> {
        self.messages
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.as_slice())
    }

    pub fn has(&self, kind: u8) -> bool {
        self.message(kind).is_some()
    }
}

/// Why [`read_flight`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlightEnd {
    /// The bytes ran out (more may come).
    Incomplete,
    Alert {
        level: u8,
        description: u8,
    },
    /// A record that is not a handshake or alert (ChangeCipherSpec, heartbeat...).
    Record(u8),
    /// The bytes are not TLS records at all.
    NotTls(String),
}

/// Splits the received bytes into handshake messages, up to the first alert, non-handshake
/// record or non-TLS byte.
pub fn read_flight(received: &[u8]) -> Flight {
    let mut handshake = Vec::new();
    let mut rest = received;
    let mut end = FlightEnd::Incomplete;
    while !rest.is_empty() {
        if rest[0] & 0x80 != 0 && handshake.is_empty() {
            end = FlightEnd::NotTls("an SSLv2 answer".to_owned());
            break;
        }
        if !matches!(rest[0], 20..=24) || rest.get(1).is_some_and(|major| *major != 3) {
            end = FlightEnd::NotTls(describe_not_tls(rest));
            break;
        }
        if rest.len() < 5 {
            break;
        }
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + length {
            break;
        }
        let fragment = &rest[5..5 + length];
        match rest[0] {
            HANDSHAKE => handshake.extend_from_slice(fragment),
            ALERT => {
                end = match fragment {
                    [level, description, ..] => FlightEnd::Alert {
                        level: *level,
                        description: *description,
                    },
                    _ => FlightEnd::NotTls("a truncated alert".to_owned()),
                };
                break;
            }
            other => {
                end = FlightEnd::Record(other);
                break;
            }
        }
        rest = &rest[5 + length..];
    }
    let mut messages = Vec::new();
    let mut r = Reader(&handshake);
    while r.0.len() >= 4 {
        let kind = r.0[0];
        let length = (usize::from(r.0[1]) << 16) | (usize::from(r.0[2]) << 8) | usize::from(r.0[3]);
        if r.0.len() < 4 + length {
            break;
        }
        r.take(4);
        if let Some(body) = r.take(length) {
            messages.push((kind, body.to_vec()));
        }
    }
    Flight { messages, end }
}

/// What the first bytes of an answer that is not TLS look like, in words: the protocol when it
/// is recognisable, else the bytes.
pub fn describe_not_tls(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
    let starts = |prefix: &str| text.to_ascii_uppercase().starts_with(prefix);
    if starts("HTTP/") || starts("<!DOCTYPE") || starts("<HTML") {
        return "this port answered in plain HTTP, not TLS".to_owned();
    }
    if starts("SSH-") {
        return "this port answered as an SSH server, not TLS".to_owned();
    }
    if starts("220") || starts("* OK") || starts("+OK") {
        let line = text.lines().next().unwrap_or("").trim();
        return format!(
            "this port answered with a plain-text greeting, not TLS: \"{}\"",
            printable(line)
        );
    }
    let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect();
    format!(
        "this port answered with bytes that are not TLS ({})",
        hex.join(" ")
    )
}

fn printable(text: &str) -> String {
    text.chars()
        .take(60)
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

/// The name of a record type, for messages.
pub fn record_name(kind: u8) -> String {
    match kind {
        CHANGE_CIPHER_SPEC => "ChangeCipherSpec".to_owned(),
        ALERT => "alert".to_owned(),
        HANDSHAKE => "handshake".to_owned(),
        APPLICATION_DATA => "application data".to_owned(),
        HEARTBEAT => "heartbeat".to_owned(),
        other => format!("type-{other}"),
    }
}

/// The name of a handshake message type, for messages.
pub fn handshake_name(kind: u8) -> String {
    let name = match kind {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        other => return format!("type-{other} handshake"),
    };
    name.to_owned()
}

/// What the server's first flight says about its certificate (TLS 1.2 and below send it in the
/// clear right after the ServerHello).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateFlight {
    /// The Certificate message: the chain, leaf first, as DER.
    Certificates(Vec<Vec<u8>>),
    /// The flight ended (ServerHelloDone) or broke off without a Certificate message.
    NoCertificate,
    /// More bytes are needed.
    Incomplete,
}

/// Reads the certificate chain from the bytes a TLS 1.2-or-older server sent after a hello.
pub fn certificate_flight(received: &[u8]) -> CertificateFlight {
    let flight = read_flight(received);
    if let Some(body) = flight.message(CERTIFICATE) {
        return certificates(body).map_or(CertificateFlight::NoCertificate, CertificateFlight::Certificates);
    }
    if flight.has(SERVER_HELLO_DONE) || flight.end != FlightEnd::Incomplete {
        CertificateFlight::NoCertificate
    } else {
        CertificateFlight::Incomplete
    }
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

/// The ephemeral key a TLS 1.2-or-older server sent in its ServerKeyExchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyExchange {
    /// ECDHE: the named curve and the server's public point.
    Ecdhe { group: u16, public: Vec<u8> },
    /// DHE: the prime, the generator and the server's public value.
    Dhe {
        prime: Vec<u8>,
        generator: Vec<u8>,
        public: Vec<u8>,
    },
}

/// Reads the parameters of a ServerKeyExchange body for an ECDHE or DHE suite (the signature
/// that follows is not checked: reach only reports the parameters).
pub fn key_exchange(body: &[u8], ecdhe: bool) -> Option<KeyExchange> {
    let mut r = Reader(body);
    if ecdhe {
        // 3: named_curve; explicit curves are long gone.
        if r.u8()? != 3 {
            return None;
        }
        let group = r.u16()?;
        let length = usize::from(r.u8()?);
        let public = r.take(length)?.to_vec();
        Some(KeyExchange::Ecdhe { group, public })
    } else {
        let mut vector = || -> Option<Vec<u8>> {
            let length = usize::from(r.u16()?);
            Some(r.take(length)?.to_vec())
        };
        let prime = vector()?;
        let generator = vector()?;
        let public = vector()?;
        Some(KeyExchange::Dhe {
            prime,
            generator,
            public,
        })
    }
}

/// Reads a ServerHello body (without its handshake header).
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    let session_id = usize::from(r.u8()?);
    let session_id = r.take(session_id)?.to_vec();
    let suite = r.u16()?;
    let compression = r.u8()?;
    let mut hello = ServerHello {
        version: legacy_version,
        suite,
        random,
        session_id,
        compression,
        group: None,
        hello_retry: random == HELLO_RETRY_RANDOM,
        extensions: Vec::new(),
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
        hello.extensions.push(kind);
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

/// The name of a TLS alert description, for messages.
pub fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
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
    super::groups::name(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(version: Version, suites: &[u16]) -> Vec<u8> {
        client_hello(&Hello::new(version, suites, Some("example.test"), [7; 32]))
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
        assert_eq!(certificate_flight(&flight), CertificateFlight::Incomplete);
        flight.extend_from_slice(&record);
        assert_eq!(
            certificate_flight(&flight[..flight.len() - 1]),
            CertificateFlight::Incomplete
        );
        assert_eq!(
            certificate_flight(&flight),
            CertificateFlight::Certificates(vec![vec![0xAA, 0xBB], vec![0xCC]])
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
                random: [1; 32],
                session_id: Vec::new(),
                compression: 0,
                group: None,
                hello_retry: false,
                extensions: Vec::new(),
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
        assert_eq!(
            parse_answer(b"SSH-2.0-OpenSSH_9.2\r\n"),
            Answer::Unexpected("this port answered as an SSH server, not TLS".to_owned())
        );
        match parse_answer(&[0x00, 0x01, 0x02, 0x03, 0x04, 0x05]) {
            Answer::Unexpected(text) => assert!(text.ends_with("(00 01 02 03 04 05)"), "{text}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flights_yield_key_exchange_parameters() {
        let mut ske = vec![3, 0x00, 0x1D, 4, 9, 9, 9, 9];
        ske.extend_from_slice(&[0, 0]);
        assert_eq!(
            key_exchange(&ske, true),
            Some(KeyExchange::Ecdhe {
                group: 0x1D,
                public: vec![9; 4]
            })
        );
        let dhe = [0, 2, 0xFF, 0xFB, 0, 1, 2, 0, 1, 7];
        assert_eq!(
            key_exchange(&dhe, false),
            Some(KeyExchange::Dhe {
                prime: vec![0xFF, 0xFB],
                generator: vec![2],
                public: vec![7]
            })
        );
        assert_eq!(key_exchange(&[0, 2, 0xFF], false), None);
    }

    #[test]
    fn hellos_carry_the_options_the_checks_set() {
        let mut hello = Hello::new(Version::Tls12, &[0xC02F], None, [3; 32]);
        hello.fallback_scsv = true;
        hello.compression = true;
        hello.heartbeat = true;
        hello.session_id = &[5; 32];
        let record = client_hello(&hello);
        let bytes = |needle: &[u8]| record.windows(needle.len()).any(|w| w == needle);
        assert!(bytes(&[0x56, 0x00]), "fallback SCSV");
        assert!(bytes(&[2, 1, 0]), "DEFLATE offered");
        assert!(bytes(&[0x00, 0x0F, 0, 1, 1]), "heartbeat");
        assert!(bytes(&[32, 5, 5, 5]), "session id");
        let mut empty = Hello::new(Version::Tls13, &[0x1301], None, [3; 32]);
        empty.key_shares = false;
        assert!(client_hello(&empty)
            .windows(6)
            .any(|w| w == [0x00, 0x33, 0, 2, 0, 0]));
    }
}
