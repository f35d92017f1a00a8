//! The firewall-audit scanner behind `reach scan` and the `scan` check kind: which TCP ports of
//! an address answer, told apart as open, closed and filtered with the same per-port truth as a
//! `tcp` check ([`crate::probe::tcp::connect`]), but tens of thousands of ports at a time.
//!
//! [`engine`] drives the connects, [`rtt`] adapts their timeouts, [`limits`] sizes the socket
//! budget from the open-file limit, [`targets`] expands host lists and CIDR blocks, and
//! [`services`] names well-known ports; [`command`] is `reach scan`.

pub mod command;
pub mod engine;
pub mod limits;
pub mod rtt;
pub mod services;
pub mod targets;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Concurrent connects per scan when nothing else says: enough to cover a 100 ms path at about
/// 10,000 ports a second, modest enough for stateful firewalls and conntrack tables on the way.
pub const DEFAULT_CONCURRENCY: usize = 1024;

/// What every scan of a run shares: the socket budget (so scans running side by side never
/// exceed the open-file limit together) and the port counters a progress bar reads.
#[derive(Debug)]
pub struct ScanShared {
    sockets: Arc<Semaphore>,
    budget: usize,
    pub progress: Arc<PortProgress>,
}

impl ScanShared {
    /// A budget of `budget` sockets in flight across all scans.
    pub fn new(budget: usize) -> Self {
        let budget = budget.clamp(1, Semaphore::MAX_PERMITS);
        ScanShared {
            sockets: Arc::new(Semaphore::new(budget)),
            budget,
            progress: Arc::default(),
        }
    }

    /// The most sockets all scans together may hold.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Reserves up to `wanted` sockets for one scan, waiting while other scans hold them.
    /// Returns the permit and how many sockets it grants.
    pub async fn reserve(&self, wanted: usize) -> Option<(tokio::sync::OwnedSemaphorePermit, usize)> {
        let granted = wanted.clamp(1, self.budget);
        let count = u32::try_from(granted).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.sockets).acquire_many_owned(count).await.ok()?;
        Some((permit, granted))
    }
}

impl Default for ScanShared {
    /// Sized by the open-file limit as it stands (raising it is the command's decision).
    fn default() -> Self {
        ScanShared::new(limits::socket_budget())
    }
}

/// Ports to probe and ports probed so far, over every scan of a run.
#[derive(Debug, Default)]
pub struct PortProgress {
    total: AtomicU64,
    done: AtomicU64,
    open: AtomicU64,
}

impl PortProgress {
    pub fn add_total(&self, ports: usize) {
        self.total.fetch_add(ports as u64, Ordering::Relaxed);
    }

    pub fn port_done(&self, open: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if open {
            self.open.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (done, total, open so far).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.open.load(Ordering::Relaxed),
        )
    }
}
