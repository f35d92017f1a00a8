//! What one attempt of a probe hands back to the runner: the finding, and whether another
//! attempt could change it.

use crate::outcome::{Finding, Stage};
use crate::resolve::ResolveError;

/// The result of one attempt of one check.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub finding: Finding,
    /// True when another attempt could change the verdict (a timeout, a transient failure),
    /// as opposed to a definite answer such as a RST or a SYN-ACK.
    pub inconclusive: bool,
}

impl Attempt {
    /// A definite finding: another attempt would not change it.
    pub fn settled(finding: Finding) -> Attempt {
        Attempt {
            finding,
            inconclusive: false,
        }
    }

    /// The attempt of a check whose host did not resolve: an error at stage dns.
    pub fn unresolved(e: ResolveError) -> Attempt {
        Attempt {
            inconclusive: e.is_transient(),
            finding: Finding::error(Stage::Dns, e.class(), e.to_string()),
        }
    }
}
