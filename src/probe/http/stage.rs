//! How a connection or an exchange stops: the stage it stopped in and what that means for the
//! check. Shared by the http, websocket and endpoint probes.

use crate::outcome::{ErrorClass, Finding, HttpObservation, Observed, Stage, Timings, Verdict};
use crate::probe::attempt::Attempt;
use std::net::SocketAddr;

/// Why a connection or an exchange stopped, and what that means for the check.
#[derive(Debug, Clone)]
pub struct StageError {
    /// A fail when the target's network answered badly; an error when nothing could be observed.
    pub verdict: Verdict,
    pub inconclusive: bool,
    pub message: String,
    /// The stages that completed before this one.
    pub timings: Timings,
    pub address: Option<SocketAddr>,
}

impl StageError {
    pub fn fail(stage: Stage, class: ErrorClass, message: String) -> StageError {
        StageError {
            verdict: Verdict::Fail {
                stage,
                class: Some(class),
            },
            inconclusive: matches!(class, ErrorClass::Timeout | ErrorClass::ConnectionClosed),
            message,
            timings: Timings::default(),
            address: None,
        }
    }

    pub fn error(stage: Stage, class: ErrorClass, message: String) -> StageError {
        StageError {
            verdict: Verdict::Error { stage, class },
            ..StageError::fail(stage, class, message)
        }
    }

    pub fn stage(&self) -> Stage {
        self.verdict.stage()
    }

    /// The class of the failure (every stage error has one).
    pub fn class(&self) -> ErrorClass {
        self.verdict.class().unwrap_or(ErrorClass::Io)
    }

    /// The attempt of a check that could not get an answer to judge, with what it saw so far.
    pub fn into_attempt(self, mut observation: HttpObservation) -> Attempt {
        observation.address = observation.address.or(self.address);
        let summary = format!("{} at {}", self.class().as_str(), self.stage().as_str());
        Attempt {
            finding: Finding::new(self.verdict, summary)
                .message(self.message)
                .observed(Observed::Http(Box::new(observation)))
                .timings(self.timings),
            inconclusive: self.inconclusive,
        }
    }
}
