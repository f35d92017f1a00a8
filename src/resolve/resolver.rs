//! The run's resolver: `--resolve` overrides, `--dns-server` or the system's configuration, the
//! shared transports, and who is asked a question: one named server, or the run's servers (the
//! `--dns-server`, else resolv.conf's nameservers one after the other until one answers).

use super::error::{QueryError, ResolveError};
use super::exchange::Transports;
use super::overrides::ResolveOverride;
use super::system::{HostsFile, SystemConf, SystemConfError};
use super::wire::{Question, Reply};
use crate::dns::DnsProtocol;
use hickory_proto::op::ResponseCode;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::OnceCell;

/// One name's address lookup, shared by every check of the run that needs it.
pub(super) type SharedLookup = Arc<OnceCell<Result<Vec<IpAddr>, ResolveError>>>;

/// Resolves hosts for probes and records for `dns` checks.
#[derive(Default)]
pub struct Resolver {
    pub(super) overrides: Vec<ResolveOverride>,
    /// Whether each override answered a lookup, so that one that never did can be pointed out.
    pub(super) used: Vec<AtomicBool>,
    /// `--dns-server`: replaces the system configuration for the whole run.
    pub(super) dns_server: Option<SocketAddr>,
    pub(super) transports: Transports,
    /// Keyed by the checks' own shared name, so a lookup copies no string.
    pub(super) lookups: Mutex<HashMap<Arc<str>, SharedLookup>>,
    /// `/etc/hosts`, read on first use; only consulted when no `--dns-server` is given.
    hosts: OnceLock<HostsFile>,
    /// `/etc/resolv.conf`, read on first use; only when no `--dns-server` is given.
    system: OnceLock<Result<SystemConf, SystemConfError>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("overrides", &self.overrides)
            .field("dns_server", &self.dns_server)
            .finish_non_exhaustive()
    }
}

/// Who was asked a question, and what came of it.
pub struct Asked {
    /// Who answered (or, when nobody did, who was asked): `127.0.0.1:53`, `127.0.0.1:53/tcp`,
    /// `10.0.0.2:53 (system resolver)`.
    pub server: String,
    pub result: Result<Reply, QueryError>,
}

impl Resolver {
    pub fn new(overrides: Vec<ResolveOverride>) -> Self {
        Resolver {
            used: overrides.iter().map(|_| AtomicBool::default()).collect(),
            overrides,
            ..Resolver::default()
        }
    }

    /// The `--resolve` overrides that answered no lookup of the run so far.
    pub fn unused_overrides(&self) -> Vec<&ResolveOverride> {
        self.overrides
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !used.load(Ordering::Relaxed))
            .map(|(o, _)| o)
            .collect()
    }

    /// Sends every lookup of the run to `server` instead of the system's resolvers.
    #[must_use]
    pub fn with_dns_server(mut self, server: Option<SocketAddr>) -> Self {
        self.dns_server = server;
        self
    }

    pub(super) fn hosts(&self) -> &HostsFile {
        self.hosts.get_or_init(HostsFile::read)
    }

    pub(super) fn system(&self) -> &Result<SystemConf, SystemConfError> {
        self.system.get_or_init(SystemConf::read)
    }

    /// Asks `server`, or (`None`) the run's servers, for `question` until `deadline`.
    ///
    /// The system's nameservers are asked in resolv.conf's order, each for at most its
    /// `options timeout` and an equal share of the time left, in `options attempts` rounds
    /// when there are several; the first that gives an answer (records, NXDOMAIN or NODATA) is
    /// the one reported. A server that fails (silence, refusal, SERVFAIL) hands over to the
    /// next, as the C library's stub does.
    pub(super) async fn ask(
        &self,
        question: &Question,
        server: Option<SocketAddr>,
        protocol: DnsProtocol,
        deadline: Instant,
    ) -> Asked {
        if let Some(address) = server.or(self.dns_server) {
            return Asked {
                server: label(address, protocol),
                result: self.transports.ask(address, question, protocol, deadline).await,
            };
        }
        let conf = match self.system() {
            Ok(conf) => conf,
            Err(e) => {
                return Asked {
                    server: "system resolver".to_owned(),
                    result: Err(QueryError::NoServer { why: e.to_string() }),
                }
            }
        };
        let rounds = if conf.servers.len() > 1 { conf.attempts } else { 1 };
        let slots: Vec<SocketAddr> = (0..rounds).flat_map(|_| conf.servers.iter().copied()).collect();
        let mut failures: Vec<(SocketAddr, QueryError)> = Vec::new();
        for (index, &address) in slots.iter().enumerate() {
            let now = Instant::now();
            if now >= deadline && !failures.is_empty() {
                break;
            }
            let last = index + 1 == slots.len();
            let left = deadline.saturating_duration_since(now);
            let share = if last {
                left
            } else {
                let slots_left = u32::try_from(slots.len() - index).unwrap_or(u32::MAX);
                (left / slots_left).min(conf.timeout)
            };
            let result = self
                .transports
                .ask(address, question, protocol, now + share)
                .await;
            match result {
                Ok(reply) if matches!(reply.code, ResponseCode::NoError | ResponseCode::NXDomain) => {
                    return Asked {
                        server: format!("{} (system resolver)", label(address, protocol)),
                        result: Ok(reply),
                    };
                }
                Ok(reply) => failures.push((address, QueryError::Rcode(reply.code))),
                Err(e) => failures.push((address, e)),
            }
        }
        match failures.len() {
            1 => {
                let (address, e) = failures.remove(0);
                Asked {
                    server: format!("{} (system resolver)", label(address, protocol)),
                    result: Err(e),
                }
            }
            _ => Asked {
                server: "system resolver".to_owned(),
                result: Err(QueryError::NoneAnswered { failures }),
            },
        }
    }
}

/// How a server is named in reports.
fn label(address: SocketAddr, protocol: DnsProtocol) -> String {
    match protocol {
        DnsProtocol::Tcp => format!("{address}/tcp"),
        _ => address.to_string(),
    }
}
