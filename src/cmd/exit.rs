//! The process exit codes (DESIGN.md): 0 every check passed, 1 at least one failed, 2 bad usage
//! (nothing was probed) or nothing checked, 3 something could not be observed (or the report
//! could not be written) and nothing failed; 130 and 143 when SIGINT or SIGTERM ended the run.

use crate::outcome::Summary;

/// Every check passed (or, for a report-only command, it ran).
pub const PASS: u8 = 0;
/// At least one check failed: observed, and it contradicts the requirement.
pub const FAIL: u8 = 1;
/// Bad usage or a bad spec: nothing was probed.
pub const USAGE: u8 = 2;
/// At least one check could not be observed (an error, or cut off by the deadline), none failed;
/// or the checks ran and their report could not be written.
pub const UNOBSERVED: u8 = 3;
/// SIGINT ended the run (128 + 2, as a shell reports it); no report was written.
pub const INTERRUPTED: u8 = 130;
/// SIGTERM ended the run (128 + 15); no report was written.
pub const TERMINATED: u8 = 143;

/// The exit code of a run with these results: 1 on any fail; else 3 when anything could not be
/// observed (an error, or a check the deadline cut off); else 0.
pub fn of(summary: &Summary) -> u8 {
    if summary.fail > 0 {
        FAIL
    } else if summary.error > 0 || summary.skipped_by_deadline > 0 {
        UNOBSERVED
    } else {
        PASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ErrorClass, Finding, Outcome, SkipReason, Stage, Verdict};

    fn ran(verdict: Verdict) -> Outcome {
        Outcome::Ran {
            finding: Finding::new(verdict, ""),
            attempts: 1,
        }
    }

    fn pass() -> Outcome {
        ran(Verdict::Pass { stage: Stage::Tcp })
    }

    fn fail() -> Outcome {
        ran(Verdict::Fail {
            stage: Stage::Tcp,
            class: None,
        })
    }

    fn error() -> Outcome {
        ran(Verdict::Error {
            stage: Stage::Tcp,
            class: ErrorClass::Timeout,
        })
    }

    #[test]
    fn exit_code_prefers_fail_over_error() {
        assert_eq!(of(&Summary::of(&[error(), fail()])), 1);
    }

    #[test]
    fn exit_code_is_three_for_errors_without_fails() {
        assert_eq!(of(&Summary::of(&[pass(), error()])), 3);
    }

    #[test]
    fn filtered_out_skips_do_not_spoil_a_pass_but_deadline_skips_do() {
        let filtered = [pass(), Outcome::skipped(SkipReason::TagFilter, "")];
        assert_eq!(of(&Summary::of(&filtered)), 0);
        let cut_off = [pass(), Outcome::skipped(SkipReason::Deadline, "deadline")];
        let summary = Summary::of(&cut_off);
        assert_eq!((summary.skip, summary.skipped_by_deadline), (1, 1));
        assert_eq!(of(&summary), 3);
    }
}
