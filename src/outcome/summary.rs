//! Counts of each status over a run.

use super::finding::Outcome;
use super::verdict::{SkipReason, Status};

/// Counts of each status over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    /// Skips caused by the run's deadline: checks that were wanted but not observed.
    pub skipped_by_deadline: usize,
}

impl Summary {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut summary = Summary::default();
        for outcome in outcomes {
            summary.total += 1;
            match outcome.status() {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Error => summary.error += 1,
                Status::Skip => {
                    summary.skip += 1;
                    if outcome.skip_reason() == Some(SkipReason::Deadline) {
                        summary.skipped_by_deadline += 1;
                    }
                }
            }
        }
        summary
    }
}
