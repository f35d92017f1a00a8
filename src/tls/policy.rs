//! The rules a `tls` check (or `reach tls --policy`) holds a server to. Judging an observed
//! server against them is the probe's work (`probe::tls::judge`).

use super::mozilla::Profile;
use super::suite::{Suite, WeakClass};
use super::version::Version;

/// Certificate requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRules {
    /// The chain must verify against the trusted roots (not expired, known issuer...).
    pub chain: bool,
    /// The certificate must name the server.
    pub hostname: bool,
    /// At least this many days must be left before not-after.
    pub min_days: Option<u32>,
    /// RSA keys must have at least this many bits.
    pub min_rsa_bits: Option<u32>,
}

impl CertRules {
    /// What any TLS check asks unless told otherwise: a certificate that verifies.
    pub const VALID: CertRules = CertRules {
        chain: true,
        hostname: true,
        min_days: None,
        min_rsa_bits: None,
    };
    pub const NONE: CertRules = CertRules {
        chain: false,
        hostname: false,
        min_days: None,
        min_rsa_bits: None,
    };

    pub fn is_empty(&self) -> bool {
        *self == CertRules::NONE
    }
}

/// A set of TLS requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The Mozilla profile the rules came from, if any.
    pub profile: Option<&'static str>,
    /// Exactly these versions must be accepted.
    pub protocols: Option<Vec<Version>>,
    /// TLS 1.2 and below: accepted suites must be among these.
    pub ciphers: Option<Vec<Suite>>,
    /// TLS 1.3: accepted suites must be among these.
    pub tls13_ciphers: Option<Vec<Suite>>,
    /// The accepted suites must be exactly `ciphers` / `tls13_ciphers`, not just among them.
    pub exact: bool,
    pub forbid: Vec<WeakClass>,
    pub certificate: CertRules,
}

impl Policy {
    /// No rules: observe and report only.
    pub fn report_only() -> Policy {
        Policy {
            profile: None,
            protocols: None,
            ciphers: None,
            tls13_ciphers: None,
            exact: false,
            forbid: Vec::new(),
            certificate: CertRules::NONE,
        }
    }

    /// A Mozilla profile's rules.
    pub fn mozilla(profile: Profile) -> Policy {
        let suites = |names: &[&str]| names.iter().filter_map(|n| Suite::by_name(n)).collect::<Vec<_>>();
        Policy {
            profile: Some(profile.name),
            protocols: Some(
                profile
                    .protocols
                    .iter()
                    .filter_map(|v| Version::parse(v))
                    .collect(),
            ),
            ciphers: Some(suites(profile.ciphers)),
            tls13_ciphers: Some(suites(profile.tls13_ciphers)),
            exact: false,
            forbid: Vec::new(),
            certificate: CertRules {
                min_rsa_bits: Some(profile.min_rsa_bits),
                ..CertRules::VALID
            },
        }
    }

    pub fn is_report_only(&self) -> bool {
        self.protocols.is_none()
            && self.ciphers.is_none()
            && self.tls13_ciphers.is_none()
            && self.forbid.is_empty()
            && self.certificate.is_empty()
    }

    /// One short phrase for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(profile) = self.profile {
            parts.push(profile.to_owned());
        }
        if let (None, Some(protocols)) = (self.profile, &self.protocols) {
            let names: Vec<_> = protocols.iter().map(|v| v.as_str()).collect();
            parts.push(names.join("+"));
        }
        if self.profile.is_none() {
            let count =
                self.ciphers.as_ref().map_or(0, Vec::len) + self.tls13_ciphers.as_ref().map_or(0, Vec::len);
            if count > 0 {
                let word = if self.exact { "exactly" } else { "at most" };
                parts.push(format!("{word} {count} suites"));
            }
        }
        if !self.forbid.is_empty() {
            let names: Vec<_> = self.forbid.iter().map(|c| c.as_str()).collect();
            parts.push(format!("no {}", names.join("/")));
        }
        if self.certificate.chain || self.certificate.hostname {
            parts.push("valid certificate".to_owned());
        }
        if let Some(days) = self.certificate.min_days {
            parts.push(format!("≥{days} days left"));
        }
        if parts.is_empty() {
            "report".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Versions whose acceptance matters to this policy (all of them unless it has no rule
    /// about versions or suites).
    pub fn needs_enumeration(&self) -> bool {
        !(self.protocols.is_none()
            && self.ciphers.is_none()
            && self.tls13_ciphers.is_none()
            && self.forbid.is_empty())
    }
}
