//! Enumeration of accepted versions and suites with raw ClientHello probes.
//!
//! Per version, offer every candidate suite, record the one the server picks, remove it and offer
//! the rest again, until the server refuses: accepted + 1 handshakes per version instead of one
//! per suite. Candidate lists longer than [`MAX_SUITES_PER_HELLO`] are split, since bigger hellos
//! upset some servers; the parts, and the versions, run in parallel under a per-host connection
//! cap. A timeout or an answer that is not TLS makes a result inconclusive, never a refusal.

use super::wire::{ProbeError, ReadEnd, Wire};
use crate::outcome::{Preference, VersionResult, VersionState};
use crate::tls::codec::{self, Answer, Hello, ServerHello};
use crate::tls::{Suite, Version};
use futures_util::future::join_all;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Hellos with more suites than this are split (some servers reject bigger ones).
pub const MAX_SUITES_PER_HELLO: usize = 128;
/// Connections reach keeps open to one host at a time during enumeration.
pub const CONNECTIONS_PER_HOST: usize = 8;

/// What one hello's connection saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// Bytes arrived: a complete first answer, or what came before the server closed.
    Answered {
        received: Vec<u8>,
        closed: bool,
    },
    /// The connection was reset: a refusal.
    Refused(String),
    Inconclusive(String),
}

/// The answer to one offer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Picked(ServerHello),
    /// An alert, a lower version, or a closed connection: the offer was declined.
    Refused(String),
    Inconclusive(String),
}

/// Probes one server.
pub struct Enumerator {
    pub address: SocketAddr,
    pub sni: Option<String>,
    /// The check's timeout; no connection outlives it.
    pub timeout: Duration,
    /// The end of the check's timeout: the whole enumeration (and the deep checks that use
    /// this enumerator's connections) ends by then, and what is not answered is inconclusive.
    pub deadline: Instant,
    limit: Semaphore,
    probes: AtomicUsize,
    random: RandomState,
}

impl Enumerator {
    pub fn new(
        address: SocketAddr,
        sni: Option<String>,
        timeout: Duration,
        deadline: Instant,
        connections: usize,
    ) -> Enumerator {
        Enumerator {
            address,
            sni,
            timeout,
            deadline,
            limit: Semaphore::new(connections.max(1)),
            probes: AtomicUsize::new(0),
            random: RandomState::new(),
        }
    }

    /// How many hellos were sent so far.
    pub fn probes(&self) -> usize {
        self.probes.load(Ordering::Relaxed)
    }

    /// Every version, in parallel; results oldest first.
    pub async fn all_versions(&self) -> Vec<VersionResult> {
        join_all(Version::ALL.into_iter().map(|v| self.version(v))).await
    }

    /// Enumerates one version.
    pub async fn version(&self, version: Version) -> VersionResult {
        let candidates: Vec<u16> = Suite::all()
            .iter()
            .filter(|s| s.is_tls13() == (version == Version::Tls13))
            .map(|s| s.code)
            .collect();
        let parts = join_all(
            candidates
                .chunks(MAX_SUITES_PER_HELLO)
                .map(|part| self.drain(version, part.to_vec())),
        )
        .await;
        let mut picks = Vec::new();
        let mut refusal = None;
        let mut trouble = None;
        let mut parts_with_picks = 0;
        for part in parts {
            if !part.picks.is_empty() {
                parts_with_picks += 1;
            }
            picks.extend(part.picks);
            match part.end {
                End::Exhausted => {}
                End::Refused(detail) => {
                    refusal.get_or_insert(detail);
                }
                End::Inconclusive(detail) => {
                    trouble.get_or_insert(detail);
                }
            }
        }
        let complete = trouble.is_none();
        let (state, detail) = match (picks.is_empty(), trouble) {
            (false, trouble) => (VersionState::Accepted, trouble),
            (true, Some(trouble)) => (VersionState::Inconclusive, Some(trouble)),
            (true, None) => (VersionState::Refused, refusal),
        };
        let (preference, order) = if complete && picks.len() >= 2 {
            self.preference(version, &picks, parts_with_picks == 1).await
        } else {
            (Preference::Unknown, picks)
        };
        VersionResult {
            version,
            state,
            suites: order.into_iter().filter_map(Suite::by_code).collect(),
            complete,
            preference,
            detail,
        }
    }

    /// Whose order decides, and the server's order when it has one. `picks` came from one offer
    /// list in table order when `one_part`, so their sequence already is the server's order if
    /// the server imposes one.
    async fn preference(&self, version: Version, picks: &[u16], one_part: bool) -> (Preference, Vec<u16>) {
        let mut table_order = picks.to_vec();
        table_order.sort_by_key(|code| Suite::all().iter().position(|s| s.code == *code));
        let mut reversed = table_order.clone();
        reversed.reverse();
        let forward = if one_part {
            Some(picks[0])
        } else {
            match self.offer_with_retry(version, &table_order).await {
                Reply::Picked(hello) => Some(hello.suite),
                _ => None,
            }
        };
        let backward = match self.offer_with_retry(version, &reversed).await {
            Reply::Picked(hello) => Some(hello.suite),
            _ => None,
        };
        match (forward, backward) {
            (Some(f), Some(b)) if f == b => {
                if one_part {
                    (Preference::Server, picks.to_vec())
                } else {
                    let again = self.drain(version, table_order.clone()).await;
                    if again.end == End::Exhausted || again.picks.len() == picks.len() {
                        (Preference::Server, again.picks)
                    } else {
                        (Preference::Unknown, table_order)
                    }
                }
            }
            (Some(f), Some(b)) if f == table_order[0] && Some(&b) == table_order.last() => {
                (Preference::Client, table_order)
            }
            _ => (Preference::Unknown, table_order),
        }
    }

    /// Offers `offered`, removes the pick, repeats.
    async fn drain(&self, version: Version, mut offered: Vec<u16>) -> Drained {
        let mut picks = Vec::new();
        while !offered.is_empty() {
            match self.offer_with_retry(version, &offered).await {
                Reply::Picked(hello) => {
                    picks.push(hello.suite);
                    offered.retain(|code| *code != hello.suite);
                }
                Reply::Refused(detail) => {
                    return Drained {
                        picks,
                        end: End::Refused(detail),
                    }
                }
                Reply::Inconclusive(detail) => {
                    return Drained {
                        picks,
                        end: End::Inconclusive(detail),
                    }
                }
            }
        }
        Drained {
            picks,
            end: End::Exhausted,
        }
    }

    /// One offer, repeated once when the first answer was inconclusive (a lost packet, a server
    /// that was busy): a single stray timeout should not cost the whole version.
    async fn offer_with_retry(&self, version: Version, offered: &[u16]) -> Reply {
        match self.offer(version, offered).await {
            Reply::Inconclusive(_) => self.offer(version, offered).await,
            reply => reply,
        }
    }

    async fn offer(&self, version: Version, offered: &[u16]) -> Reply {
        let random = self.random_bytes();
        let hello = Hello::new(version, offered, self.sni.as_deref(), random);
        match self.exchange(&hello).await {
            Exchange::Answered { received, closed } => judge(version, offered, &received, closed),
            Exchange::Refused(detail) => Reply::Refused(detail),
            Exchange::Inconclusive(detail) => Reply::Inconclusive(detail),
        }
    }

    /// Opens a connection under the per-host cap (counted as a probe).
    pub async fn wire(&self) -> Result<Wire<'_>, ProbeError> {
        self.probes.fetch_add(1, Ordering::Relaxed);
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ProbeError::OutOfTime(self.timeout));
        }
        // Waiting for a connection slot is part of the check's time too.
        match tokio::time::timeout(left, Wire::open(&self.limit, self.address, left)).await {
            Ok(opened) => opened,
            Err(_) => Err(ProbeError::OutOfTime(self.timeout)),
        }
    }

    /// Sends one hello and reads until the server's first answer is complete.
    pub async fn exchange(&self, hello: &Hello<'_>) -> Exchange {
        let mut wire = match self.wire().await {
            Ok(wire) => wire,
            Err(e) => return Exchange::Inconclusive(e.to_string()),
        };
        if let Err(e) = wire.send(&codec::client_hello(hello)).await {
            return Exchange::Inconclusive(e.to_string());
        }
        let end = wire
            .read_until(|r| codec::parse_answer(r) != Answer::Incomplete)
            .await;
        let received = std::mem::take(&mut wire.received);
        match end {
            ReadEnd::Enough => Exchange::Answered {
                received,
                closed: false,
            },
            ReadEnd::Closed => Exchange::Answered {
                received,
                closed: true,
            },
            // Servers and their TLS stacks commonly refuse an offer by resetting the connection.
            // A RST on connect never gets here: that is a connect error.
            ReadEnd::Reset => Exchange::Refused("connection reset".to_owned()),
            ReadEnd::TimedOut => Exchange::Inconclusive(wire.timed_out()),
            ReadEnd::Failed(e) => Exchange::Inconclusive(e),
        }
    }

    /// Fresh ClientHello.random bytes for a probe.
    pub fn random(&self) -> [u8; 32] {
        self.random_bytes()
    }

    fn random_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in out.chunks_mut(8).enumerate() {
            let mut hasher = self.random.build_hasher();
            hasher.write_usize(self.probes());
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_be_bytes());
        }
        out
    }
}

/// What an offer's answer proves.
fn judge(version: Version, offered: &[u16], received: &[u8], closed: bool) -> Reply {
    match codec::parse_answer(received) {
        Answer::ServerHello(hello) => {
            if hello.version < version.wire() {
                let said = Version::from_wire(hello.version)
                    .map_or_else(|| format!("0x{:04X}", hello.version), |v| v.to_string());
                Reply::Refused(format!("the server answered with {said}"))
            } else if hello.version > version.wire() {
                Reply::Inconclusive(format!(
                    "the server answered 0x{:04X} to a {version} hello",
                    hello.version
                ))
            } else if !offered.contains(&hello.suite) {
                Reply::Inconclusive(format!(
                    "the server picked 0x{:04X}, which was not offered",
                    hello.suite
                ))
            } else {
                Reply::Picked(hello)
            }
        }
        Answer::Alert { description, .. } => Reply::Refused(codec::alert_name(description)),
        Answer::Incomplete if received.is_empty() && closed => Reply::Refused("connection closed".to_owned()),
        Answer::Incomplete => Reply::Inconclusive("the answer was cut short".to_owned()),
        Answer::Unexpected(what) => Reply::Inconclusive(what),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Every offered suite was picked.
    Exhausted,
    Refused(String),
    Inconclusive(String),
}

struct Drained {
    picks: Vec<u16>,
    end: End,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_replies() {
        let alert = [21, 3, 3, 0, 2, 2, 40];
        assert_eq!(
            judge(Version::Tls12, &[0xC02F], &alert, false),
            Reply::Refused("handshake_failure".into())
        );
        assert_eq!(
            judge(Version::Tls12, &[0xC02F], &[], true),
            Reply::Refused("connection closed".into())
        );
        assert!(matches!(
            judge(Version::Tls12, &[0xC02F], &[22, 3], true),
            Reply::Inconclusive(_)
        ));
        assert!(matches!(
            judge(Version::Tls12, &[0xC02F], b"SSH-2.0-OpenSSH\r\n", false),
            Reply::Inconclusive(_)
        ));
    }
}
