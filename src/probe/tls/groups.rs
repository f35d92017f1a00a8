//! Key-exchange groups and DH primes, with raw hellos.
//!
//! TLS 1.3: offer every group in supported_groups with no key share; the server names the group
//! it picked in a HelloRetryRequest. TLS 1.2 and below: offer the version's accepted ECDHE suites
//! only, so the server must pick a curve, and read it from the ServerKeyExchange. Either way
//! remove the pick and offer the rest again until the server refuses: accepted + 1 hellos per
//! version. The server's preference is read as for suites: the same pick for a reversed offer is
//! the server's order. The DH prime comes from the ServerKeyExchange of a hello offering the
//! accepted DHE suites.

use super::enumerate::{Enumerator, Exchange};
use crate::outcome::{DhObservation, GroupResult, Preference, VersionResult, VersionState};
use crate::tls::codec::{self, Answer, FlightEnd, Hello, KeyExchange};
use crate::tls::{dh, Group, Kx, Suite, Version};
use futures_util::future::join_all;

/// Every accepted version's groups, oldest first (versions without ECDHE suites and SSLv3,
/// whose hellos carry no extensions, have none to report).
pub async fn groups(e: &Enumerator, versions: &[VersionResult]) -> Vec<GroupResult> {
    let probes = versions
        .iter()
        .filter(|v| v.state == VersionState::Accepted && v.version != Version::Ssl3)
        .filter_map(|v| {
            let suites: Vec<u16> = v
                .suites
                .iter()
                .filter(|s| v.version == Version::Tls13 || s.kx == Kx::Ecdhe)
                .map(|s| s.code)
                .collect();
            (!suites.is_empty()).then_some((v.version, suites))
        });
    join_all(probes.map(|(version, suites)| version_groups(e, version, suites))).await
}

async fn version_groups(e: &Enumerator, version: Version, suites: Vec<u16>) -> GroupResult {
    let offer: Vec<u16> = Group::all()
        .iter()
        .filter(|g| version == Version::Tls13 || g.family == crate::tls::groups::Family::Ec)
        .map(|g| g.code)
        .collect();
    let mut left = offer.clone();
    let mut picks = Vec::new();
    let mut trouble = None;
    while !left.is_empty() {
        match pick(e, version, &suites, &left).await {
            Pick::Group(code) => {
                picks.push(code);
                left.retain(|c| *c != code);
            }
            Pick::Refused => break,
            Pick::Inconclusive(detail) => {
                trouble = Some(detail);
                break;
            }
        }
    }
    let complete = trouble.is_none();
    let preference = if complete && picks.len() >= 2 {
        let mut reversed = picks.clone();
        reversed.sort_by_key(|code| offer.iter().position(|c| c == code));
        let table_first = reversed[0];
        reversed.reverse();
        match pick(e, version, &suites, &reversed).await {
            Pick::Group(code) if code == picks[0] => Preference::Server,
            Pick::Group(code) if code == reversed[0] && picks[0] == table_first => Preference::Client,
            _ => Preference::Unknown,
        }
    } else {
        Preference::Unknown
    };
    let mut groups: Vec<Group> = picks.iter().filter_map(|c| Group::by_code(*c)).collect();
    if preference != Preference::Server {
        groups.sort_by_key(|g| g.code);
    }
    GroupResult {
        version,
        groups,
        complete,
        preference,
        detail: trouble,
    }
}

enum Pick {
    Group(u16),
    Refused,
    Inconclusive(String),
}

/// One hello offering `groups`: which one the server picked.
async fn pick(e: &Enumerator, version: Version, suites: &[u16], groups: &[u16]) -> Pick {
    let mut hello = Hello::new(version, suites, e.sni.as_deref(), e.random());
    hello.groups = Some(groups);
    hello.key_shares = false;
    if version == Version::Tls13 {
        return match e.exchange(&hello).await {
            Exchange::Answered { received, closed } => match codec::parse_answer(&received) {
                Answer::ServerHello(h) => match h.group {
                    Some(g) if groups.contains(&g) && h.version == Version::Tls13.wire() => Pick::Group(g),
                    Some(g) => Pick::Inconclusive(format!(
                        "the server asked for {}, which was not offered",
                        codec::group_name(g)
                    )),
                    None if h.version < Version::Tls13.wire() => Pick::Refused,
                    None => Pick::Inconclusive("a TLSv1.3 ServerHello without a key share".to_owned()),
                },
                Answer::Alert { .. } => Pick::Refused,
                Answer::Incomplete if closed && received.is_empty() => Pick::Refused,
                Answer::Incomplete => Pick::Inconclusive("the answer was cut short".to_owned()),
                Answer::Unexpected(what) => Pick::Inconclusive(format!("not a TLS answer: {what}")),
            },
            Exchange::Refused(_) => Pick::Refused,
            Exchange::Inconclusive(detail) => Pick::Inconclusive(detail),
        };
    }
    match key_exchange(e, &hello, true).await {
        Ske::Params(KeyExchange::Ecdhe { group, .. }) if groups.contains(&group) => Pick::Group(group),
        Ske::Params(KeyExchange::Ecdhe { group, .. }) => Pick::Inconclusive(format!(
            "the server chose {}, which was not offered",
            codec::group_name(group)
        )),
        Ske::Params(_) => Pick::Inconclusive("the ServerKeyExchange is not ECDHE".to_owned()),
        Ske::Refused => Pick::Refused,
        Ske::Inconclusive(detail) => Pick::Inconclusive(detail),
    }
}

enum Ske {
    Params(KeyExchange),
    Refused,
    Inconclusive(String),
}

/// Sends `hello` and reads the server's flight up to its ServerKeyExchange.
async fn key_exchange(e: &Enumerator, hello: &Hello<'_>, ecdhe: bool) -> Ske {
    let mut wire = match e.wire().await {
        Ok(wire) => wire,
        Err(e) => return Ske::Inconclusive(e.to_string()),
    };
    if let Err(e) = wire.send(&codec::client_hello(hello)).await {
        return Ske::Inconclusive(e.to_string());
    }
    let done = |r: &[u8]| {
        let flight = codec::read_flight(r);
        flight.end != FlightEnd::Incomplete
            || flight.has(codec::SERVER_KEY_EXCHANGE)
            || flight.has(codec::SERVER_HELLO_DONE)
    };
    let end = wire.read_until(done).await;
    let flight = codec::read_flight(&wire.received);
    if let Some(body) = flight.message(codec::SERVER_KEY_EXCHANGE) {
        return codec::key_exchange(body, ecdhe).map_or_else(
            || Ske::Inconclusive("a malformed ServerKeyExchange".to_owned()),
            Ske::Params,
        );
    }
    match (flight.messages.first(), flight.end, end) {
        (Some((codec::SERVER_HELLO, body)), _, _) => match codec::parse_server_hello(body) {
            Some(h) if h.version < hello.version.wire() => Ske::Refused,
            _ => Ske::Inconclusive("the server's flight has no ServerKeyExchange".to_owned()),
        },
        (_, FlightEnd::Alert { .. }, _) => Ske::Refused,
        (_, FlightEnd::NotTls(what), _) => Ske::Inconclusive(format!("not a TLS answer: {what}")),
        (None, _, super::wire::ReadEnd::Closed | super::wire::ReadEnd::Reset) if wire.received.is_empty() => {
            Ske::Refused
        }
        (_, _, super::wire::ReadEnd::TimedOut) => Ske::Inconclusive(wire.timed_out()),
        _ => Ske::Inconclusive("the answer was cut short".to_owned()),
    }
}

/// The smallest DHE prime over the versions that accept DHE suites.
pub async fn dh(e: &Enumerator, versions: &[VersionResult]) -> DhObservation {
    let probes: Vec<(Version, Vec<u16>)> = versions
        .iter()
        .filter(|v| v.state == VersionState::Accepted && v.version != Version::Tls13)
        .filter_map(|v| {
            let suites: Vec<u16> = v
                .suites
                .iter()
                .filter(|s| s.kx == Kx::Dhe)
                .map(|s: &Suite| s.code)
                .collect();
            (!suites.is_empty()).then_some((v.version, suites))
        })
        .collect();
    if probes.is_empty() {
        return DhObservation::NoDhe;
    }
    let seen = join_all(probes.iter().map(|(version, suites)| async move {
        let hello = Hello::new(*version, suites, e.sni.as_deref(), e.random());
        (*version, key_exchange(e, &hello, false).await)
    }))
    .await;
    let mut smallest: Option<(u32, Option<&'static str>)> = None;
    let mut versions = Vec::new();
    let mut trouble = None;
    for (version, ske) in seen {
        match ske {
            Ske::Params(KeyExchange::Dhe { prime, .. }) => {
                let bits = dh::bits(&prime);
                versions.push(version);
                if smallest.is_none_or(|(b, _)| bits < b) {
                    smallest = Some((bits, dh::well_known(&prime)));
                }
            }
            Ske::Params(_) => {
                trouble.get_or_insert(format!("{version}: the ServerKeyExchange is not DHE"));
            }
            Ske::Refused => {
                trouble.get_or_insert(format!("{version}: the DHE suites were refused this time"));
            }
            Ske::Inconclusive(detail) => {
                trouble.get_or_insert(format!("{version}: {detail}"));
            }
        }
    }
    match (smallest, trouble) {
        (Some((bits, group)), None) => DhObservation::Prime {
            bits,
            group,
            versions,
        },
        (_, Some(trouble)) => DhObservation::Inconclusive(trouble),
        (None, None) => DhObservation::NoDhe,
    }
}
