//! What every scan of a run shares: the socket budget and the port counters a progress bar reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

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
        ScanShared::new(crate::probe::limits::socket_budget())
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
