//! What every scan of a run shares: the connect engine and the port counters a progress bar reads.

use super::engine::Engine;
pub use super::progress::PortProgress;
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
