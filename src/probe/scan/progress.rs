//! The port counters of every scan of a run, which a progress bar reads.

use std::sync::atomic::{AtomicU64, Ordering};

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
