//! The result model: what a check observed and the verdict drawn from it.
//!
//! A probe turns one attempt into a [`Finding`]: a [`Verdict`] (pass, fail or error, each with
//! the stage that decided it) and the evidence. The runner turns the findings of a check's
//! attempts into its [`Outcome`], or skips it. Fail versus error is decided by the probe that
//! observed the network, never by a report: reports only render these types.

mod dns;
mod finding;
mod http;
mod listen;
mod observed;
mod port;
mod summary;
mod timings;
mod tls;
mod verdict;

pub use dns::{DnsAnswer, DnsObservation, DnsRecord, ServerAnswer};
pub use finding::{Finding, Outcome};
pub use http::{AddressExchange, HttpObservation, LatencyStats, RedirectHop, TlsSession};
pub use listen::{BindScope, ListeningSocket, OwningProcess, Transport};
pub use observed::Observed;
pub use port::{
    AddressObservation, AddressProbe, AddressScan, ConnectError, ExpiredWait, LocalCause, PortEvidence,
    PortState, ScannedPort, WaitBasis, NO_ANSWER_REASON,
};
pub use summary::Summary;
pub use timings::Timings;
pub use tls::{
    Certificate, DhObservation, FeatureResult, FeatureValue, GroupResult, Handshake, HandshakeFailure,
    Preference, TlsObservation, Verification, VersionResult, VersionState,
};
pub use verdict::{ErrorClass, SkipReason, Stage, Status, Verdict};
