//! What a renderer needs besides the run itself: colour and width, the changes since a baseline,
//! and the settings that only some formats use. Only the human report reads `width`,
//! `failures_only` and `verbose`: the machine formats say the same whatever they are.

use super::changes::Changes;

/// Settings of one rendering of a run.
#[derive(Debug, Clone, Copy)]
pub struct Rendering<'a> {
    /// Colour the human report.
    pub color: bool,
    /// The human report's lines are at most this many columns wide.
    pub width: usize,
    /// `--failures`: the human report lists only the checks that did not pass.
    pub failures_only: bool,
    /// `-v`: the human report details passes too (one row per port, a passing TLS check's
    /// table).
    pub verbose: bool,
    /// With `--baseline`: what changed since it.
    pub changes: Option<&'a Changes>,
    /// Nagios: a certificate that expires within this many days (and is still valid) is a WARNING.
    pub warn_cert_days: u32,
    /// `--fail-on-change`: any change is a finding (exit 1, Nagios WARNING at least).
    pub fail_on_change: bool,
}

/// `--warn-cert-days` when not given: three weeks, time for a renewal that needs people.
pub const DEFAULT_WARN_CERT_DAYS: u32 = 21;

impl Default for Rendering<'_> {
    fn default() -> Self {
        Rendering {
            color: false,
            width: super::layout::PIPE_WIDTH,
            failures_only: false,
            verbose: false,
            changes: None,
            warn_cert_days: DEFAULT_WARN_CERT_DAYS,
            fail_on_change: false,
        }
    }
}

impl Rendering<'_> {
    /// Whether `--fail-on-change` applies and something changed.
    pub fn changed_and_fails(&self) -> bool {
        self.fail_on_change && self.changes.is_some_and(|c| !c.is_empty())
    }
}
