//! What every scan of a run shares: the connect engine and the port counters a progress bar reads.

use super::engine::Engine;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What every scan of a run shares: the connect engine, whose budget keeps the scans running
/// side by side within the open-file limit together, and the port counters a progress bar reads.
#[derive(Debug)]
pub struct ScanShared {
    pub engine: Engine,
    pub progress: Arc<PortProgress>,
}

impl ScanShared {
    /// A budget of `budget` connects in flight across all scans.
    pub fn new(budget: usize) -> Self {
        ScanShared {
            engine: Engine::new(budget),
            progress: Arc::default(),
        }
    }

    /// The most connects all scans together have in flight.
    pub fn budget(&self) -> usize {
        self.engine.budget()
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
