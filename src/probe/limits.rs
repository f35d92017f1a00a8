//! The open-file limit: every in-flight connect holds a socket, so it bounds how many checks run
//! at once and a scan's concurrency. The soft limit is raised towards the hard one when a run
//! needs it (allowed without privileges), and what is left after a reserve becomes the socket
//! budget: scans share it port by port, other checks by how many sockets each may hold.

use crate::spec::{Check, Host, ProbeSpec};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors kept for everything that is not a scan socket (stdio, the runtime, resolvers,
/// report files, other checks).
pub const RESERVE: u64 = 128;

/// What [`raise_nofile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// The soft limit already allowed what was wanted.
    Enough { soft: u64 },
    /// The soft limit was raised.
    Raised { from: u64, to: u64 },
    /// The soft limit is lower than wanted and could not be raised (the hard limit, or an error).
    Capped { soft: u64, hard: u64 },
}

impl Raise {
    /// The soft limit in force afterwards.
    pub fn soft(self) -> u64 {
        match self {
            Raise::Enough { soft } | Raise::Capped { soft, .. } => soft,
            Raise::Raised { to, .. } => to,
        }
    }
}

/// Raises the soft RLIMIT_NOFILE so that `sockets` scan sockets fit beside the reserve.
pub fn raise_nofile(sockets: usize) -> Raise {
    let wanted = u64::try_from(sockets).unwrap_or(u64::MAX).saturating_add(RESERVE);
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return Raise::Capped {
            soft: RESERVE * 2,
            hard: RESERVE * 2,
        };
    };
    if soft >= wanted {
        return Raise::Enough { soft };
    }
    let to = wanted.min(hard);
    if to > soft && setrlimit(Resource::RLIMIT_NOFILE, to, hard).is_ok() {
        if to == wanted {
            return Raise::Raised { from: soft, to };
        }
        return Raise::Capped { soft: to, hard };
    }
    Raise::Capped { soft, hard }
}

/// How many scan sockets the current soft limit allows at once.
pub fn socket_budget() -> usize {
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(soft.saturating_sub(RESERVE).max(16)).unwrap_or(usize::MAX)
}

/// Addresses a tcp check to a name is assumed to connect to at once (an A and an AAAA record).
const ADDRESSES_PER_NAME: usize = 2;

/// The most sockets one attempt of `check` holds at once.
pub fn sockets_per_check(check: &Check) -> usize {
    match &check.probe {
        ProbeSpec::Tcp(tcp) => match tcp.host {
            Host::Ip(_) => 1,
            Host::Name(_) => ADDRESSES_PER_NAME,
        },
        // One query per server, over UDP and then TCP when the answer is truncated.
        ProbeSpec::Dns(dns) => dns.servers.len().max(1) * 2,
        // The enumeration's hellos, the rustls handshake and the first connect.
        ProbeSpec::Tls(_) => super::tls::enumerate::CONNECTIONS_PER_HOST + 2,
        // A connection, and the lookup that precedes it.
        ProbeSpec::Http(_) | ProbeSpec::Websocket(_) | ProbeSpec::Endpoint(_) => 2,
        // Reads /proc one file at a time.
        ProbeSpec::Listen(_) => 1,
        // A scan's connects come out of the scan budget; the check itself holds its lookup.
        ProbeSpec::Scan(_) => 1,
    }
}

/// How many of `checks` may run at once, at most `wanted`: the soft limit is raised towards
/// what that many of the heaviest check need, and what the limit then allows is shared out.
/// Returns the concurrency and what was done to the limit.
pub fn check_concurrency<'a>(checks: impl IntoIterator<Item = &'a Check>, wanted: usize) -> (usize, Raise) {
    let heaviest = checks
        .into_iter()
        .map(sockets_per_check)
        .max()
        .unwrap_or(1)
        .max(1);
    let raise = raise_nofile(wanted.saturating_mul(heaviest));
    ((socket_budget() / heaviest).clamp(1, wanted.max(1)), raise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_the_reserve_free() {
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(socket_budget() as u64, soft.saturating_sub(RESERVE).max(16));
    }

    #[test]
    fn asking_for_no_more_than_the_limit_changes_nothing() {
        let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let small = usize::try_from(soft.saturating_sub(RESERVE)).unwrap();
        assert_eq!(raise_nofile(small), Raise::Enough { soft });
    }
}
