//! What a renderer needs besides the run itself: colour, the changes since a baseline, and the
//! thresholds that only some formats use.

use super::changes::Changes;

/// Settings of one rendering of a run.
#[derive(Debug, Clone, Copy)]
pub struct Rendering<'a> {
    /// Colour the human report.
    pub color: bool,
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
