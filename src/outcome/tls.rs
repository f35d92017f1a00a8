//! What a TLS check observed about one server: the versions and suites it accepts, the real
//! handshake, and the certificate. Reports render these; a check's policy judges them (the
//! judgement is kept beside the observation, in [`super::Observed::Tls`]).

use super::verdict::ErrorClass;
use crate::tls::{Feature, Group, Suite, Version};
use std::net::SocketAddr;

/// Everything one TLS check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsObservation {
    pub address: SocketAddr,
    /// The server name sent in SNI and verified against the certificate (None for a bare IP).
    pub sni: Option<String>,
    /// One entry per probed version, oldest first.
    pub versions: Vec<VersionResult>,
    pub handshake: Result<Handshake, HandshakeFailure>,
    /// Key-exchange groups per accepted version that has any (None: not probed).
    pub groups: Option<Vec<GroupResult>>,
    /// The DHE prime (None: not probed).
    pub dh: Option<DhObservation>,
    /// The protocol checks that were run, in [`Feature::ALL`] order.
    pub features: Vec<FeatureResult>,
    /// How many hellos enumeration sent.
    pub probes: usize,
}

impl TlsObservation {
    pub fn accepted(&self) -> impl Iterator<Item = &VersionResult> {
        self.versions.iter().filter(|v| v.state == VersionState::Accepted)
    }

    pub fn version(&self, version: Version) -> Option<&VersionResult> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub fn feature(&self, feature: Feature) -> Option<&FeatureResult> {
        self.features.iter().find(|f| f.feature == feature)
    }
}

/// The groups one version accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResult {
    pub version: Version,
    /// In the server's order when it imposes one, else in reach's (the registry's).
    pub groups: Vec<Group>,
    /// False when a probe was inconclusive part-way: more groups may be accepted.
    pub complete: bool,
    pub preference: Preference,
    /// Why the list may be incomplete.
    pub detail: Option<String>,
}

/// The finite-field Diffie-Hellman prime of the DHE suites (TLS 1.2 and below).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhObservation {
    /// No accepted suite uses DHE.
    NoDhe,
    /// The smallest prime seen, over every version that accepts DHE suites.
    Prime {
        bits: u32,
        /// The well-known group it is (`ffdhe2048`, `modp_2048`...), if any.
        group: Option<&'static str>,
        versions: Vec<Version>,
    },
    /// DHE suites are accepted but the prime could not be read.
    Inconclusive(String),
}

/// The outcome of one protocol check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureValue {
    Yes,
    No,
    /// Nothing conclusive was observed (the detail says why): never taken for yes or no.
    Inconclusive,
}

impl FeatureValue {
    pub fn from_bool(value: bool) -> FeatureValue {
        if value {
            FeatureValue::Yes
        } else {
            FeatureValue::No
        }
    }
}

/// One protocol check and what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureResult {
    pub feature: Feature,
    pub value: FeatureValue,
    /// What was sent and answered, in words.
    pub detail: String,
}

/// Whether a server accepts one protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// It answered with a ServerHello for this version.
    Accepted,
    /// It answered every offer with an alert, a lower version or a closed connection.
    Refused,
    /// A timeout or an answer that is not TLS: no verdict.
    Inconclusive,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Accepted => "accepted",
            VersionState::Refused => "refused",
            VersionState::Inconclusive => "inconclusive",
        }
    }
}

/// Whose order decides the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    Server,
    Client,
    /// Fewer than two suites accepted, or the probes to find out failed.
    Unknown,
}

impl Preference {
    pub fn as_str(self) -> &'static str {
        match self {
            Preference::Server => "server",
            Preference::Client => "client",
            Preference::Unknown => "unknown",
        }
    }
}

/// The enumeration of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionResult {
    pub version: Version,
    pub state: VersionState,
    /// Accepted suites: in the server's order when it imposes one, else in reach's table order.
    pub suites: Vec<Suite>,
    /// False when a probe was inconclusive part-way: more suites may be accepted.
    pub complete: bool,
    pub preference: Preference,
    /// Why the version is refused or inconclusive (the alert, the timeout).
    pub detail: Option<String>,
}

/// The real handshake made with rustls (TLS 1.2 and 1.3 only), or, for a server rustls cannot
/// speak with, what a raw hello's answer showed (version, suite, certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// False when the facts come from a raw hello because rustls could not handshake.
    pub complete: bool,
    pub version: Version,
    pub suite: Suite,
    pub group: Option<String>,
    pub alpn: Option<String>,
    pub certificate: Option<Certificate>,
    /// Certificates the server sent, leaf included.
    pub chain_length: usize,
    /// Chain verification against the trusted roots (the host name is judged apart).
    pub chain: Verification,
    /// Whether the leaf names the server (SNI, or the IP address).
    pub hostname: Verification,
    pub ocsp_stapled: bool,
}

/// Why no handshake facts are available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeFailure {
    pub class: ErrorClass,
    pub detail: String,
}

/// The result of one certificate verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Valid,
    Invalid { class: ErrorClass, detail: String },
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verification::Valid)
    }
}

/// Facts about the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub subject: String,
    pub sans: Vec<String>,
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
    /// Whole days until not-after (negative once expired).
    pub days_left: i64,
    /// `RSA`, `EC`, `Ed25519`...
    pub key_type: String,
    pub key_bits: u32,
    /// The named curve of an EC key (`secp256r1`...).
    pub curve: Option<String>,
    /// `sha256WithRSAEncryption`, `ecdsa-with-SHA256`...
    pub signature_algorithm: String,
    pub self_signed: bool,
    /// Whole days from not-before to not-after.
    pub lifespan_days: i64,
    /// The serial number, as lowercase hex bytes joined by `:`.
    pub serial: String,
    /// SHA-256 of the whole certificate (DER), lowercase hex: a renewal changes it.
    pub fingerprint_sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo (DER), lowercase hex: only a new key changes it.
    pub key_sha256: String,
}
