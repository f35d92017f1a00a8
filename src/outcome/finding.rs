//! What one attempt of a check found, and what became of the check in the run.

use super::observed::Observed;
use super::timings::Timings;
use super::verdict::{ErrorClass, SkipReason, Stage, Status, Verdict};

/// What one attempt of a check found: the verdict and the evidence for it. Probes make these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    /// One line for people: what was observed, in words.
    pub summary: String,
    /// Why the verdict is what it is; empty for a plain pass.
    pub message: String,
    pub observed: Observed,
    pub timings: Timings,
}

impl Finding {
    /// A finding with nothing but its verdict and summary; add the rest with the builders below.
    pub fn new(verdict: Verdict, summary: impl Into<String>) -> Finding {
        Finding {
            verdict,
            summary: summary.into(),
            message: String::new(),
            observed: Observed::Nothing,
            timings: Timings::default(),
        }
    }

    /// A check that could not observe what it needed to: the class is its summary.
    pub fn error(stage: Stage, class: ErrorClass, message: impl Into<String>) -> Finding {
        Finding::new(Verdict::Error { stage, class }, class.as_str()).message(message)
    }

    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Finding {
        self.message = message.into();
        self
    }

    #[must_use]
    pub fn observed(mut self, observed: Observed) -> Finding {
        self.observed = observed;
        self
    }

    #[must_use]
    pub fn timings(mut self, timings: Timings) -> Finding {
        self.timings = timings;
        self
    }
}

/// What became of one check in a run: it ran (the runner made `attempts` attempts, and the
/// last one's finding stands), or it was skipped and observed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ran { finding: Finding, attempts: u32 },
    Skipped { reason: SkipReason, message: String },
}

/// What a skipped check observed.
static NOTHING: Observed = Observed::Nothing;

impl Outcome {
    /// A check that was never run.
    pub fn skipped(reason: SkipReason, message: impl Into<String>) -> Self {
        Outcome::Skipped {
            reason,
            message: message.into(),
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Outcome::Ran { finding, .. } => finding.verdict.status(),
            Outcome::Skipped { .. } => Status::Skip,
        }
    }

    /// The stage that decided the status (none for skips).
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Outcome::Ran { finding, .. } => Some(finding.verdict.stage()),
            Outcome::Skipped { .. } => None,
        }
    }

    /// The error class, where one applies: always for `error`, sometimes for `fail`, and
    /// `deadline` for a check the run's deadline cut off.
    pub fn error(&self) -> Option<ErrorClass> {
        match self {
            Outcome::Ran { finding, .. } => finding.verdict.class(),
            Outcome::Skipped { reason, .. } => {
                matches!(reason, SkipReason::Deadline).then_some(ErrorClass::Deadline)
            }
        }
    }

    pub fn skip_reason(&self) -> Option<SkipReason> {
        match self {
            Outcome::Ran { .. } => None,
            Outcome::Skipped { reason, .. } => Some(*reason),
        }
    }

    /// One line for people: what was observed.
    pub fn summary(&self) -> &str {
        match self {
            Outcome::Ran { finding, .. } => &finding.summary,
            Outcome::Skipped { .. } => "not run",
        }
    }

    /// Why the status is what it is; empty for a plain pass.
    pub fn message(&self) -> &str {
        match self {
            Outcome::Ran { finding, .. } => &finding.message,
            Outcome::Skipped { message, .. } => message,
        }
    }

    pub fn observed(&self) -> &Observed {
        match self {
            Outcome::Ran { finding, .. } => &finding.observed,
            Outcome::Skipped { .. } => &NOTHING,
        }
    }

    pub fn timings(&self) -> Timings {
        match self {
            Outcome::Ran { finding, .. } => finding.timings,
            Outcome::Skipped { .. } => Timings::default(),
        }
    }

    /// How many times the probe ran, retries included; 0 when skipped.
    pub fn attempts(&self) -> u32 {
        match self {
            Outcome::Ran { attempts, .. } => *attempts,
            Outcome::Skipped { .. } => 0,
        }
    }
}
