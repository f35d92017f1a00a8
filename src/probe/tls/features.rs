//! The protocol checks (the ones sslyze runs): each sends the least that tells, and says what
//! it sent and what came back. A timeout or an answer that fits no rule is `inconclusive`, never
//! a yes or a no.
//!
//! TLS 1.2-and-older checks use the newest such version the server accepted, offering the
//! suites it accepted there; a server that speaks only TLS 1.3 cannot have those flaws, and the
//! detail says so.

use super::early;
use super::enumerate::Exchange;
use super::server::{Legacy, Server};
use super::session;
use super::wire::{ProbeError, ReadEnd, Wire};
use crate::outcome::{FeatureResult, FeatureValue};
use crate::tls::codec::{self, Answer, FlightEnd, Hello, ServerHello};
use crate::tls::{Feature, Version};
use futures_util::future::join_all;

/// Runs the checks in `wanted`, in parallel; results in [`Feature::ALL`] order.
pub async fn features(server: &Server<'_>, wanted: &[Feature]) -> Vec<FeatureResult> {
    let legacy = server.legacy();
    let checks = Feature::ALL.iter().filter(|f| wanted.contains(f)).map(|feature| {
        let legacy = legacy.clone();
        async move {
            let (value, detail) = match (feature, legacy) {
                (Feature::FallbackScsv, _) => fallback_scsv(server).await,
                (Feature::EarlyData, _) => early::early_data(server).await,
                (Feature::TicketResumption, None) => early::tls13_resumption(server).await,
                (_, None) => only_tls13(*feature),
                (Feature::Compression, Some(l)) => compression(server, &l).await,
                (Feature::SecureRenegotiation | Feature::ExtendedMasterSecret, Some(l)) => {
                    extension(server, &l, *feature).await
                }
                (Feature::Heartbleed, Some(l)) => heartbleed(server, &l).await,
                (Feature::CcsInjection, Some(l)) => ccs_injection(server, &l).await,
                (Feature::ClientRenegotiation, Some(l)) => session::renegotiation(server, &l).await,
                (Feature::SessionIdResumption, Some(l)) => session::resumption(server, &l, false).await,
                (Feature::TicketResumption, Some(l)) => session::resumption(server, &l, true).await,
            };
            FeatureResult {
                feature: *feature,
                value,
                detail,
            }
        }
    });
    join_all(checks).await
}

type Finding = (FeatureValue, String);

fn yes(detail: String) -> Finding {
    (FeatureValue::Yes, detail)
}

fn no(detail: String) -> Finding {
    (FeatureValue::No, detail)
}

fn inconclusive(detail: String) -> Finding {
    (FeatureValue::Inconclusive, detail)
}

/// What a server that speaks only TLS 1.3 shows for a check of older versions.
fn only_tls13(feature: Feature) -> Finding {
    let why = match feature {
        Feature::Compression => "TLS 1.3 has no compression",
        Feature::SecureRenegotiation => "TLS 1.3 has no renegotiation, so none is insecure",
        Feature::ClientRenegotiation => "TLS 1.3 has no renegotiation",
        Feature::ExtendedMasterSecret => "TLS 1.3's key schedule always binds the whole handshake",
        Feature::Heartbleed | Feature::CcsInjection => {
            "the flaw needs TLS 1.2 or older (OpenSSL 1.0.1/1.0.2 before 2014)"
        }
        Feature::SessionIdResumption => "TLS 1.3 has no session-ID resumption",
        Feature::FallbackScsv | Feature::EarlyData | Feature::TicketResumption => "",
    };
    let value = matches!(
        feature,
        Feature::SecureRenegotiation | Feature::ExtendedMasterSecret
    );
    (
        FeatureValue::from_bool(value),
        format!("the server speaks only TLSv1.3: {why}"),
    )
}

/// One hello, its ServerHello, or why there is none.
async fn server_hello(server: &Server<'_>, hello: &Hello<'_>) -> Result<ServerHello, (bool, String)> {
    match server.enumerator.exchange(hello).await {
        Exchange::Answered { received, closed } => match codec::parse_answer(&received) {
            Answer::ServerHello(h) => Ok(h),
            Answer::Alert { description, .. } => Err((true, codec::alert_name(description))),
            Answer::Incomplete if closed && received.is_empty() => {
                Err((true, "connection closed".to_owned()))
            }
            Answer::Incomplete => Err((false, "the answer was cut short".to_owned())),
            Answer::Unexpected(what) => Err((false, format!("not a TLS answer: {what}"))),
        },
        Exchange::Refused(detail) => Err((true, detail)),
        Exchange::Inconclusive(detail) => Err((false, detail)),
    }
}

async fn compression(server: &Server<'_>, legacy: &Legacy) -> Finding {
    let version = legacy.version;
    let mut hello = server.hello(legacy);
    hello.compression = true;
    match server_hello(server, &hello).await {
        Ok(h) if h.compression == 1 => yes(format!("the {version} ServerHello chose DEFLATE")),
        Ok(h) if h.compression == 0 => no(format!(
            "the {version} ServerHello chose no compression, with DEFLATE offered"
        )),
        Ok(h) => inconclusive(format!(
            "the {version} ServerHello chose compression method {}, which was not offered",
            h.compression
        )),
        Err((_, why)) => inconclusive(format!(
            "the {version} hello offering DEFLATE got no ServerHello: {why}"
        )),
    }
}

/// renegotiation_info and extended_master_secret: the extensions of a ServerHello.
async fn extension(server: &Server<'_>, legacy: &Legacy, feature: Feature) -> Finding {
    let version = legacy.version;
    let (kind, name) = if feature == Feature::SecureRenegotiation {
        (0xFF01, "renegotiation_info (RFC 5746)")
    } else {
        (0x0017, "extended_master_secret (RFC 7627)")
    };
    match server_hello(server, &server.hello(legacy)).await {
        Ok(h) if h.has_extension(kind) => yes(format!("the {version} ServerHello carries {name}")),
        Ok(_) => no(format!("the {version} ServerHello has no {name}")),
        Err((_, why)) => inconclusive(format!("the {version} hello got no ServerHello: {why}")),
    }
}

async fn fallback_scsv(server: &Server<'_>) -> Finding {
    let accepted = server.accepted();
    let (Some(highest), Some(lower)) = (accepted.last(), accepted.iter().rev().nth(1)) else {
        let only = accepted
            .first()
            .map_or("no version".to_owned(), |v| v.version.to_string());
        return yes(format!(
            "only {only} is accepted: there is no lower version to fall back to"
        ));
    };
    let legacy = Legacy {
        version: lower.version,
        suites: lower.suites.iter().map(|s| s.code).collect(),
    };
    let mut hello = server.hello(&legacy);
    hello.fallback_scsv = true;
    let (lower, highest) = (lower.version, highest.version);
    match server_hello(server, &hello).await {
        // A TLS 1.3 server marks a lower version's ServerHello (RFC 8446, 4.1.3), and a TLS 1.3
        // client that sees the mark refuses the downgrade: the protection the SCSV exists for.
        Ok(h) if h.version == lower.wire() && highest == Version::Tls13 && downgrade_sentinel(&h.random) => yes(format!(
            "a {lower} hello carrying TLS_FALLBACK_SCSV was accepted, but the ServerHello carries TLS 1.3's downgrade sentinel (RFC 8446), which TLS 1.3 clients refuse"
        )),
        Ok(h) if h.version == lower.wire() => no(format!(
            "the server accepted a {lower} hello carrying TLS_FALLBACK_SCSV although it speaks {highest}"
        )),
        Ok(h) => inconclusive(format!(
            "the server answered a {lower} hello carrying TLS_FALLBACK_SCSV with version 0x{:04X}",
            h.version
        )),
        Err((true, why)) => yes(format!(
            "the server refused a {lower} hello carrying TLS_FALLBACK_SCSV ({why}); it accepts {lower} without it"
        )),
        Err((false, why)) => inconclusive(format!("the {lower} hello carrying TLS_FALLBACK_SCSV: {why}")),
    }
}

/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2 ("DOWNGRD\x01") or
/// older ("DOWNGRD\x00").
fn downgrade_sentinel(random: &[u8; 32]) -> bool {
    random[24..31] == *b"DOWNGRD" && random[31] <= 1
}

/// Sends `hello` and reads the server's first flight to its ServerHelloDone.
async fn to_hello_done<'a>(server: &'a Server<'_>, hello: &Hello<'_>) -> Result<Wire<'a>, ProbeError> {
    let mut wire = server.enumerator.wire().await?;
    wire.send(&codec::client_hello(hello)).await?;
    let end = wire
        .read_until(|r| {
            let flight = codec::read_flight(r);
            flight.has(codec::SERVER_HELLO_DONE) || flight.end != FlightEnd::Incomplete
        })
        .await;
    let flight = codec::read_flight(&wire.received);
    if flight.has(codec::SERVER_HELLO_DONE) {
        return Ok(wire);
    }
    Err(match (flight.end, end) {
        (FlightEnd::Alert { description, .. }, _) => ProbeError::Answer(format!(
            "the hello was refused ({})",
            codec::alert_name(description)
        )),
        (FlightEnd::NotTls(what), _) => ProbeError::Answer(what),
        (_, ReadEnd::TimedOut) => ProbeError::NoAnswer(server.enumerator.timeout),
        (_, ReadEnd::Closed | ReadEnd::Reset) => {
            ProbeError::Answer("the server closed the connection before its ServerHelloDone".to_owned())
        }
        _ => ProbeError::Answer("the server's first flight ended without a ServerHelloDone".to_owned()),
    })
}

/// The type and length of the next record, and an alert's description when it is one.
async fn next_record(wire: &mut Wire<'_>) -> Result<(u8, usize, Option<u8>), ReadEnd> {
    let header = wire.read_exact(5).await?;
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let alert = if header[0] == codec::ALERT && length >= 2 {
        Some(wire.read_exact(2).await?[1])
    } else {
        None
    };
    Ok((header[0], length, alert))
}

/// The length a heartbeat request claims while carrying no payload at all: small, so that a
/// vulnerable server leaks as little as it can while still answering with more than was sent.
const HEARTBEAT_CLAIM: u16 = 64;

async fn heartbleed(server: &Server<'_>, legacy: &Legacy) -> Finding {
    let version = legacy.version;
    let mut hello = server.hello(legacy);
    hello.heartbeat = true;
    let mut wire = match to_hello_done(server, &hello).await {
        Ok(wire) => wire,
        Err(why) => return inconclusive(format!("{version}: {why}")),
    };
    let record_version = version.wire();
    let [high, low] = HEARTBEAT_CLAIM.to_be_bytes();
    let mut probe = codec::record(codec::HEARTBEAT, record_version, &[1, high, low]);
    // A close_notify right behind it: records are handled in order, so an answer to it (or the
    // connection closing) proves the heartbeat was handled without an answer.
    probe.extend(codec::record(codec::ALERT, record_version, &[1, 0]));
    if let Err(why) = wire.send(&probe).await {
        return inconclusive(format!("{version}: {why}"));
    }
    match next_record(&mut wire).await {
        Ok((codec::HEARTBEAT, length, _)) if length >= 3 + usize::from(HEARTBEAT_CLAIM) => yes(format!(
            "a {version} heartbeat claiming {HEARTBEAT_CLAIM} bytes and carrying none was answered with a {length}-byte record: the server sends memory it was never given (only the record header was read)"
        )),
        Ok((codec::HEARTBEAT, length, _)) => no(format!(
            "a {version} heartbeat claiming {HEARTBEAT_CLAIM} bytes and carrying none was answered with only {length} bytes"
        )),
        Ok((codec::ALERT, _, description)) => no(format!(
            "a {version} heartbeat claiming {HEARTBEAT_CLAIM} bytes and carrying none got no heartbeat back, only an alert ({})",
            description.map_or("truncated".to_owned(), codec::alert_name)
        )),
        Ok((kind, _, _)) => inconclusive(format!(
            "the {version} heartbeat was followed by a {} record",
            codec::record_name(kind)
        )),
        Err(ReadEnd::Closed | ReadEnd::Reset) => no(format!(
            "a {version} heartbeat claiming {HEARTBEAT_CLAIM} bytes and carrying none got no heartbeat back: the server closed the connection"
        )),
        Err(ReadEnd::TimedOut) => inconclusive(format!(
            "{version}: neither the heartbeat nor the close_notify after it was answered ({})",
            wire.timed_out()
        )),
        Err(end) => inconclusive(format!("{version}: {end}")),
    }
}

async fn ccs_injection(server: &Server<'_>, legacy: &Legacy) -> Finding {
    let version = legacy.version;
    let mut wire = match to_hello_done(server, &server.hello(legacy)).await {
        Ok(wire) => wire,
        Err(why) => return inconclusive(format!("{version}: {why}")),
    };
    let record_version = version.wire();
    let mut probe = codec::record(codec::CHANGE_CIPHER_SPEC, record_version, &[1]);
    // What a server that took the early ChangeCipherSpec now tries to decrypt, and fails to.
    probe.extend(codec::record(codec::APPLICATION_DATA, record_version, &[0, 0]));
    if let Err(why) = wire.send(&probe).await {
        return inconclusive(format!("{version}: {why}"));
    }
    match next_record(&mut wire).await {
        Ok((codec::ALERT, _, Some(description @ (20 | 21)))) => yes(format!(
            "a {version} ChangeCipherSpec sent before the key exchange was taken: the record after it failed to decrypt ({}), CVE-2014-0224",
            codec::alert_name(description)
        )),
        Ok((codec::ALERT, _, description)) => no(format!(
            "a {version} ChangeCipherSpec sent before the key exchange was refused ({})",
            description.map_or("truncated alert".to_owned(), codec::alert_name)
        )),
        Ok((kind, _, _)) => inconclusive(format!(
            "an early {version} ChangeCipherSpec was answered with a {} record",
            codec::record_name(kind)
        )),
        Err(ReadEnd::Closed | ReadEnd::Reset) => no(format!(
            "the server closed the connection on a {version} ChangeCipherSpec sent before the key exchange"
        )),
        Err(ReadEnd::TimedOut) => inconclusive(format!(
            "{version}: no answer to an early ChangeCipherSpec ({})",
            wire.timed_out()
        )),
        Err(end) => inconclusive(format!("{version}: {end}")),
    }
}
