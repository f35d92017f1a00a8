//! A minimal TLS 1.2 client for the checks that need a finished handshake: client-initiated
//! renegotiation (rustls cannot renegotiate), and resumption by session ID or ticket (the
//! resumed ServerHello says it all, so reach sees exactly what the server decided).
//!
//! It speaks ECDHE (x25519, P-256, P-384) with AES-GCM or ChaCha20-Poly1305 only, all from ring,
//! and does not verify the server's certificate or signature: no data is exchanged, and the
//! real handshake (`handshake.rs`) judges the certificate. A server that accepts none of these
//! suites makes the checks inconclusive.

use super::server::{Legacy, Server};
use super::wire::{ProbeError, ReadEnd, Wire};
use crate::outcome::FeatureValue;
use crate::tls::codec::{self, FlightEnd, Hello};
use crate::tls::Version;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement;
use ring::digest;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

type Finding = (FeatureValue, String);

/// The suites this client completes, strongest first.
const SUITES: &[u16] = &[0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8];
const GROUPS: &[u16] = &[0x001D, 0x0017, 0x0018];

/// Client-initiated renegotiation: a new ClientHello inside the finished session.
pub async fn renegotiation(server: &Server<'_>, legacy: &Legacy) -> (FeatureValue, String) {
    let mut session = match Session::start(server, legacy, Ticket::None, &[]).await {
        Ok(Started::Full(session)) => session,
        Ok(Started::Resumed) => return inconclusive("a fresh session was resumed".to_owned()),
        Err(why) => return inconclusive(why.to_string()),
    };
    let random = match random_bytes() {
        Ok(r) => r,
        Err(why) => return inconclusive(why.to_string()),
    };
    let mut hello = Hello::new(
        Version::Tls12,
        &session.offered,
        server.enumerator.sni.as_deref(),
        random,
    );
    hello.groups = Some(GROUPS);
    hello.renegotiation_info = Some(&session.client_verify);
    hello.ticket = None;
    let message = codec::client_hello_message(&hello);
    if let Err(why) = session.send_encrypted(codec::HANDSHAKE, &message).await {
        return inconclusive(why.to_string());
    }
    match session.read_encrypted().await {
        Ok((codec::HANDSHAKE, plain)) if plain.first() == Some(&codec::SERVER_HELLO) => (
            FeatureValue::Yes,
            "the server answered a client-initiated TLSv1.2 renegotiation with a ServerHello".to_owned(),
        ),
        Ok((codec::ALERT, plain)) => (
            FeatureValue::No,
            format!(
                "the server refused a client-initiated TLSv1.2 renegotiation ({})",
                plain
                    .get(1)
                    .map_or("truncated alert".to_owned(), |d| codec::alert_name(*d))
            ),
        ),
        Ok((kind, _)) => inconclusive(format!(
            "the renegotiation hello was answered with a {} record",
            codec::record_name(kind)
        )),
        Err(ReadEnd::Closed | ReadEnd::Reset) => (
            FeatureValue::No,
            "the server closed the connection on a client-initiated TLSv1.2 renegotiation".to_owned(),
        ),
        Err(ReadEnd::TimedOut) => inconclusive(format!(
            "no answer to a client-initiated renegotiation ({})",
            session.wire.timed_out()
        )),
        Err(end) => inconclusive(format!("renegotiation: {end}")),
    }
}

/// Resumption of a finished TLS 1.2 session, by its ID or by its ticket.
pub async fn resumption(server: &Server<'_>, legacy: &Legacy, ticket: bool) -> (FeatureValue, String) {
    let how = if ticket { "ticket" } else { "session ID" };
    let first = match Session::start(
        server,
        legacy,
        if ticket { Ticket::Want } else { Ticket::None },
        &[],
    )
    .await
    {
        Ok(Started::Full(session)) => session,
        Ok(Started::Resumed) => return inconclusive("a fresh session was resumed".to_owned()),
        Err(why) => return inconclusive(why.to_string()),
    };
    let (offer, session_id) = if ticket {
        let Some(ticket) = first.ticket.clone() else {
            return (
                FeatureValue::No,
                "the server issued no session ticket for a TLSv1.2 session (the hello asked for one)"
                    .to_owned(),
            );
        };
        let id = match random_bytes() {
            Ok(id) => id.to_vec(),
            Err(why) => return inconclusive(why.to_string()),
        };
        (Ticket::Offer(ticket), id)
    } else {
        if first.session_id.is_empty() {
            return (
                FeatureValue::No,
                "the server gave the TLSv1.2 session no session ID".to_owned(),
            );
        }
        (Ticket::None, first.session_id.clone())
    };
    first.close().await;
    match Session::start(server, legacy, offer, &session_id).await {
        Ok(Started::Resumed) => (
            FeatureValue::Yes,
            format!("a second TLSv1.2 connection offering the first one's {how} was resumed"),
        ),
        Ok(Started::Full(_)) => (
            FeatureValue::No,
            format!("a second TLSv1.2 connection offering the first one's {how} got a full handshake"),
        ),
        Err(why) => inconclusive(format!("resuming: {why}")),
    }
}

fn inconclusive(why: String) -> Finding {
    (FeatureValue::Inconclusive, why)
}

fn random_bytes() -> Result<[u8; 32], ProbeError> {
    let mut out = [0u8; 32];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| ProbeError::Local("no system randomness"))?;
    Ok(out)
}

/// What to do about session tickets.
enum Ticket {
    None,
    /// Ask for one (an empty session_ticket extension).
    Want,
    /// Present this one.
    Offer(Vec<u8>),
}

enum Started<'a> {
    Full(Box<Session<'a>>),
    /// The server resumed the offered session: its ServerHello echoed the session ID and it
    /// skipped the certificate.
    Resumed,
}

/// Record protection for one direction.
struct Keys {
    key: LessSafeKey,
    iv: Vec<u8>,
    seq: u64,
    /// AES-GCM carries 8 bytes of explicit nonce per record; ChaCha20-Poly1305 derives it.
    explicit: bool,
}

impl Keys {
    fn nonce(&self, explicit: Option<&[u8]>) -> Nonce {
        let mut bytes = [0u8; 12];
        if self.explicit {
            bytes[..4].copy_from_slice(&self.iv);
            match explicit {
                Some(e) => bytes[4..].copy_from_slice(e),
                None => bytes[4..].copy_from_slice(&self.seq.to_be_bytes()),
            }
        } else {
            bytes.copy_from_slice(&self.iv);
            for (b, s) in bytes[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                *b ^= s;
            }
        }
        Nonce::assume_unique_for_key(bytes)
    }

    fn aad(&self, kind: u8, length: usize) -> Aad<[u8; 13]> {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&self.seq.to_be_bytes());
        aad[8] = kind;
        aad[9..11].copy_from_slice(&0x0303u16.to_be_bytes());
        aad[11..].copy_from_slice(&(length as u16).to_be_bytes());
        Aad::from(aad)
    }
}

struct Session<'a> {
    wire: Wire<'a>,
    offered: Vec<u16>,
    session_id: Vec<u8>,
    ticket: Option<Vec<u8>>,
    client_verify: Vec<u8>,
    write: Keys,
    read: Keys,
    /// Bytes after the last record read.
    pending: Vec<u8>,
}

impl<'a> Session<'a> {
    /// Connects and makes a full handshake up to the server's Finished, or sees the offered
    /// session resumed.
    async fn start(
        server: &'a Server<'_>,
        legacy: &Legacy,
        ticket: Ticket,
        session_id: &[u8],
    ) -> Result<Started<'a>, ProbeError> {
        if legacy.version != Version::Tls12 {
            return Err(ProbeError::Answer(format!(
                "reach completes handshakes in TLSv1.2 only, and the server's newest version before TLSv1.3 is {}",
                legacy.version
            )));
        }
        let offered: Vec<u16> = SUITES
            .iter()
            .copied()
            .filter(|s| legacy.suites.contains(s))
            .collect();
        if offered.is_empty() {
            return Err(ProbeError::Unsupported("reach completes TLSv1.2 handshakes with ECDHE and AES-GCM or ChaCha20-Poly1305 suites only, and the server accepts none of them"));
        }
        let client_random = random_bytes()?;
        let mut hello = Hello::new(
            Version::Tls12,
            &offered,
            server.enumerator.sni.as_deref(),
            client_random,
        );
        hello.groups = Some(GROUPS);
        hello.renegotiation_info = Some(&[]);
        hello.session_id = session_id;
        hello.ticket = match &ticket {
            Ticket::None => None,
            Ticket::Want => Some(&[]),
            Ticket::Offer(t) => Some(t),
        };
        let client_hello = codec::client_hello_message(&hello);
        let mut transcript = client_hello.clone();
        let mut wire = server.enumerator.wire().await?;
        wire.send(&codec::record(codec::HANDSHAKE, 0x0301, &client_hello))
            .await?;
        let end = wire
            .read_until(|r| {
                let flight = codec::read_flight(r);
                flight.has(codec::SERVER_HELLO_DONE)
                    || flight.end != FlightEnd::Incomplete
                    || (flight.has(codec::SERVER_HELLO)
                        && flight.messages.len() >= 2
                        && !flight.has(codec::CERTIFICATE)
                        && !flight.has(codec::SERVER_KEY_EXCHANGE))
            })
            .await;
        let flight = codec::read_flight(&wire.received);
        let Some((codec::SERVER_HELLO, body)) = flight.messages.first() else {
            return Err(match (flight.end, end) {
                (FlightEnd::Alert { description, .. }, _) => ProbeError::Answer(format!(
                    "the TLSv1.2 hello was refused ({})",
                    codec::alert_name(description)
                )),
                (_, ReadEnd::TimedOut) => ProbeError::NoAnswer(server.enumerator.timeout),
                _ => ProbeError::Answer("the TLSv1.2 hello got no ServerHello".to_owned()),
            });
        };
        let server_hello = codec::parse_server_hello(body)
            .ok_or_else(|| ProbeError::Answer("a malformed ServerHello".to_owned()))?;
        if server_hello.version != 0x0303 || !offered.contains(&server_hello.suite) {
            return Err(ProbeError::Answer(
                "the server answered the TLSv1.2 hello with another version or suite".to_owned(),
            ));
        }
        let resumed = !session_id.is_empty()
            && server_hello.session_id == session_id
            && !flight.has(codec::CERTIFICATE)
            && !flight.has(codec::SERVER_KEY_EXCHANGE);
        if resumed {
            return Ok(Started::Resumed);
        }
        if !flight.has(codec::SERVER_HELLO_DONE) {
            return Err(match end {
                ReadEnd::TimedOut => ProbeError::NoAnswer(server.enumerator.timeout),
                _ => ProbeError::Answer("the server's flight ended without a ServerHelloDone".to_owned()),
            });
        }
        let mut key_exchange = None;
        let mut certificate_requested = false;
        for (kind, body) in &flight.messages {
            transcript.extend(message(*kind, body));
            match *kind {
                codec::SERVER_KEY_EXCHANGE => key_exchange = codec::key_exchange(body, true),
                codec::CERTIFICATE_REQUEST => certificate_requested = true,
                _ => {}
            }
            if *kind == codec::SERVER_HELLO_DONE {
                break;
            }
        }
        let Some(codec::KeyExchange::Ecdhe { group, public }) = key_exchange else {
            return Err(ProbeError::Answer(
                "the ServerKeyExchange is missing or not ECDHE".to_owned(),
            ));
        };
        let algorithm = match group {
            0x001D => &agreement::X25519,
            0x0017 => &agreement::ECDH_P256,
            0x0018 => &agreement::ECDH_P384,
            other => {
                return Err(ProbeError::Answer(format!(
                    "the server chose {}, which was not offered",
                    codec::group_name(other)
                )))
            }
        };
        let rng = SystemRandom::new();
        let private = agreement::EphemeralPrivateKey::generate(algorithm, &rng)
            .map_err(|_| ProbeError::Local("cannot make a key share"))?;
        let ours = private
            .compute_public_key()
            .map_err(|_| ProbeError::Local("cannot make a key share"))?;
        let premaster = agreement::agree_ephemeral(
            private,
            &agreement::UnparsedPublicKey::new(algorithm, &public),
            |secret| secret.to_vec(),
        )
        .map_err(|_| ProbeError::Answer("the server's key share is not a valid point".to_owned()))?;

        let mut out = Vec::new();
        if certificate_requested {
            out.extend(message(codec::CERTIFICATE, &[0, 0, 0]));
        }
        let mut cke = vec![ours.as_ref().len() as u8];
        cke.extend_from_slice(ours.as_ref());
        out.extend(message(16, &cke));
        transcript.extend_from_slice(&out);

        let sha384 = matches!(server_hello.suite, 0xC02C | 0xC030);
        let hash = if sha384 { &digest::SHA384 } else { &digest::SHA256 };
        let prf_alg = if sha384 {
            hmac::HMAC_SHA384
        } else {
            hmac::HMAC_SHA256
        };
        let master = if server_hello.has_extension(0x0017) {
            let session_hash = digest::digest(hash, &transcript);
            prf(
                prf_alg,
                &premaster,
                b"extended master secret",
                session_hash.as_ref(),
                48,
            )
        } else {
            let seed = [client_random.as_slice(), server_hello.random.as_slice()].concat();
            prf(prf_alg, &premaster, b"master secret", &seed, 48)
        };
        let (cipher, key_len, iv_len) = match server_hello.suite {
            0xC02B | 0xC02F => (&aead::AES_128_GCM, 16, 4),
            0xC02C | 0xC030 => (&aead::AES_256_GCM, 32, 4),
            _ => (&aead::CHACHA20_POLY1305, 32, 12),
        };
        let seed = [server_hello.random.as_slice(), client_random.as_slice()].concat();
        let block = prf(
            prf_alg,
            &master,
            b"key expansion",
            &seed,
            2 * key_len + 2 * iv_len,
        );
        let keys = |key: &[u8], iv: &[u8]| -> Result<Keys, ProbeError> {
            Ok(Keys {
                key: LessSafeKey::new(
                    UnboundKey::new(cipher, key).map_err(|_| ProbeError::Local("bad key length"))?,
                ),
                iv: iv.to_vec(),
                seq: 0,
                explicit: iv_len == 4,
            })
        };
        let write = keys(&block[..key_len], &block[2 * key_len..2 * key_len + iv_len])?;
        let read = keys(&block[key_len..2 * key_len], &block[2 * key_len + iv_len..])?;

        let client_verify = prf(
            prf_alg,
            &master,
            b"client finished",
            digest::digest(hash, &transcript).as_ref(),
            12,
        );
        let finished = message(codec::FINISHED, &client_verify);
        transcript.extend_from_slice(&finished);

        let mut flight_out = codec::record(codec::HANDSHAKE, 0x0303, &out);
        flight_out.extend(codec::record(codec::CHANGE_CIPHER_SPEC, 0x0303, &[1]));
        let consumed = records_length(&wire.received);
        let mut session = Session {
            pending: wire.received[consumed..].to_vec(),
            wire,
            offered,
            session_id: server_hello.session_id.clone(),
            ticket: None,
            client_verify,
            write,
            read,
        };
        session.wire.send(&flight_out).await?;
        session.send_encrypted(codec::HANDSHAKE, &finished).await?;

        // NewSessionTicket (in the clear), ChangeCipherSpec, then the encrypted Finished.
        let mut changed = false;
        loop {
            if changed {
                let (kind, plain) = session
                    .read_encrypted()
                    .await
                    .map_err(|e| describe(&session.wire, e))?;
                if kind == codec::ALERT {
                    return Err(ProbeError::Answer(format!(
                        "the server refused reach's Finished ({})",
                        plain.get(1).map_or("alert".to_owned(), |d| codec::alert_name(*d))
                    )));
                }
                let expected = prf(
                    prf_alg,
                    &master,
                    b"server finished",
                    digest::digest(hash, &transcript).as_ref(),
                    12,
                );
                if kind != codec::HANDSHAKE || plain != message(codec::FINISHED, &expected) {
                    return Err(ProbeError::Answer(
                        "the server's Finished does not verify".to_owned(),
                    ));
                }
                return Ok(Started::Full(Box::new(session)));
            }
            let (kind, fragment) = session
                .read_plain()
                .await
                .map_err(|e| describe(&session.wire, e))?;
            match kind {
                codec::CHANGE_CIPHER_SPEC => changed = true,
                codec::HANDSHAKE if fragment.first() == Some(&codec::NEW_SESSION_TICKET) => {
                    transcript.extend_from_slice(&fragment);
                    // lifetime (4), then the ticket with a 2-byte length.
                    session.ticket = fragment
                        .get(8..10)
                        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                        .and_then(|l| fragment.get(10..10 + l))
                        .map(<[u8]>::to_vec);
                }
                codec::ALERT => {
                    return Err(ProbeError::Answer(format!(
                        "the server refused reach's key exchange ({})",
                        fragment
                            .get(1)
                            .map_or("alert".to_owned(), |d| codec::alert_name(*d))
                    )))
                }
                other => {
                    return Err(ProbeError::Answer(format!(
                        "an unexpected {} record",
                        codec::record_name(other)
                    )))
                }
            }
        }
    }

    /// The next whole record, as it came.
    async fn read_record(&mut self) -> Result<(u8, Vec<u8>), ReadEnd> {
        loop {
            if self.pending.len() >= 5 {
                let length = usize::from(u16::from_be_bytes([self.pending[3], self.pending[4]]));
                if self.pending.len() >= 5 + length {
                    let kind = self.pending[0];
                    let fragment = self.pending[5..5 + length].to_vec();
                    self.pending.drain(..5 + length);
                    return Ok((kind, fragment));
                }
            }
            self.wire.received.clear();
            match self.wire.read_until(|r| !r.is_empty()).await {
                ReadEnd::Enough => {
                    let bytes = std::mem::take(&mut self.wire.received);
                    self.pending.extend(bytes);
                }
                end => return Err(end),
            }
        }
    }

    async fn read_plain(&mut self) -> Result<(u8, Vec<u8>), ReadEnd> {
        self.read_record().await
    }

    /// The next record, decrypted; a record that does not decrypt is an error.
    async fn read_encrypted(&mut self) -> Result<(u8, Vec<u8>), ReadEnd> {
        let (kind, mut fragment) = self.read_record().await?;
        let explicit_len = if self.read.explicit { 8 } else { 0 };
        if fragment.len() < explicit_len + 16 {
            return Err(ReadEnd::Failed("a record too short to decrypt".to_owned()));
        }
        let explicit = fragment[..explicit_len].to_vec();
        let mut body = fragment.split_off(explicit_len);
        let plain_len = body.len() - 16;
        let nonce = self
            .read
            .nonce((!explicit.is_empty()).then_some(explicit.as_slice()));
        let aad = self.read.aad(kind, plain_len);
        let plain = self
            .read
            .key
            .open_in_place(nonce, aad, &mut body)
            .map_err(|_| ReadEnd::Failed("a record that does not decrypt".to_owned()))?
            .to_vec();
        self.read.seq += 1;
        Ok((kind, plain))
    }

    async fn send_encrypted(&mut self, kind: u8, plain: &[u8]) -> Result<(), ProbeError> {
        let nonce = self.write.nonce(None);
        let aad = self.write.aad(kind, plain.len());
        let mut body = plain.to_vec();
        self.write
            .key
            .seal_in_place_append_tag(nonce, aad, &mut body)
            .map_err(|_| ProbeError::Local("cannot encrypt"))?;
        let mut fragment = Vec::with_capacity(body.len() + 8);
        if self.write.explicit {
            fragment.extend_from_slice(&self.write.seq.to_be_bytes());
        }
        fragment.extend_from_slice(&body);
        self.write.seq += 1;
        self.wire.send(&codec::record(kind, 0x0303, &fragment)).await
    }

    /// Ends the session cleanly (close_notify, and the server's close), so that servers which
    /// forget sessions closed without one keep this one.
    async fn close(mut self) {
        if self.send_encrypted(codec::ALERT, &[1, 0]).await.is_ok() {
            let _ = self.read_record().await;
        }
    }
}

fn describe(wire: &Wire<'_>, end: ReadEnd) -> ProbeError {
    match end {
        ReadEnd::TimedOut => ProbeError::NoAnswer(wire.timeout()),
        ReadEnd::Closed | ReadEnd::Reset => {
            ProbeError::Answer("the server closed the connection mid-handshake".to_owned())
        }
        end => ProbeError::Ended {
            what: "mid-handshake",
            end,
        },
    }
}

/// How many bytes of `received` are whole records.
fn records_length(received: &[u8]) -> usize {
    let mut at = 0;
    while received.len() >= at + 5 {
        let length = usize::from(u16::from_be_bytes([received[at + 3], received[at + 4]]));
        if received.len() < at + 5 + length {
            break;
        }
        at += 5 + length;
    }
    at
}

/// A handshake message: type, 3-byte length, body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// The TLS 1.2 PRF (RFC 5246, 5): P_hash(secret, label + seed).
fn prf(algorithm: hmac::Algorithm, secret: &[u8], label: &[u8], seed: &[u8], length: usize) -> Vec<u8> {
    let key = hmac::Key::new(algorithm, secret);
    let seed = [label, seed].concat();
    let mut a = hmac::sign(&key, &seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(length + 64);
    while out.len() < length {
        let mut input = a.clone();
        input.extend_from_slice(&seed);
        out.extend_from_slice(hmac::sign(&key, &input).as_ref());
        a = hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(length);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TLS 1.2 PRF test vector (SHA-256) published with the IETF TLS working group's
    /// test vectors.
    #[test]
    fn the_prf_matches_the_published_sha256_vector() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(hmac::HMAC_SHA256, &secret, b"test label", &seed, 100);
        assert_eq!(
            out,
            hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")
        );
    }
}
