//! The rules a `tls` check (or `reach tls --policy`) holds a server to, and their judgement of an
//! observation: every violation is listed, and what could not be observed is listed apart, so an
//! unanswered probe never passes for a refusal.

use super::mozilla::Profile;
use super::observation::{TlsObservation, VersionState};
use super::suites::{Suite, WeakClass};
use super::Version;
use crate::outcome::ErrorClass;

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

    fn is_empty(&self) -> bool {
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

    /// Judges an observation.
    pub fn judge(&self, seen: &TlsObservation) -> Judgement {
        let mut j = Judgement::default();
        self.judge_versions(seen, &mut j);
        self.judge_suites(seen, &mut j);
        self.judge_certificate(seen, &mut j);
        j
    }

    fn judge_versions(&self, seen: &TlsObservation, j: &mut Judgement) {
        let Some(wanted) = &self.protocols else {
            return;
        };
        for result in &seen.versions {
            let must = wanted.contains(&result.version);
            match (result.state, must) {
                (VersionState::Accepted, false) => {
                    j.violations.push(format!("{} is accepted", result.version))
                }
                (VersionState::Refused, true) => j.violations.push(format!("{} is refused", result.version)),
                (VersionState::Inconclusive, _) => j.unknown.push(format!(
                    "{} is inconclusive ({})",
                    result.version,
                    result.detail.as_deref().unwrap_or("no answer")
                )),
                _ => {}
            }
        }
    }

    fn judge_suites(&self, seen: &TlsObservation, j: &mut Judgement) {
        // A version that never answered conclusively may accept any suite: a suite rule cannot
        // pass over it. (With `protocols`, judge_versions has already said so.)
        if self.protocols.is_none() {
            for result in &seen.versions {
                let allowed = if result.version == Version::Tls13 {
                    &self.tls13_ciphers
                } else {
                    &self.ciphers
                };
                let rule_applies = allowed.is_some() || !self.forbid.is_empty();
                if result.state == VersionState::Inconclusive && rule_applies {
                    j.unknown.push(format!(
                        "{} is inconclusive ({})",
                        result.version,
                        result.detail.as_deref().unwrap_or("no answer")
                    ));
                }
            }
        }
        for result in seen.accepted() {
            let allowed = if result.version == Version::Tls13 {
                &self.tls13_ciphers
            } else {
                &self.ciphers
            };
            for suite in &result.suites {
                if let Some(allowed) = allowed {
                    if !allowed.contains(suite) {
                        j.violations.push(format!(
                            "{} accepts {} ({}), which is not allowed",
                            result.version,
                            suite.name(),
                            suite.hex()
                        ));
                        continue;
                    }
                }
                let classes: Vec<_> = self
                    .forbid
                    .iter()
                    .filter(|c| suite.has_class(**c))
                    .map(|c| c.as_str())
                    .collect();
                if !classes.is_empty() {
                    j.violations.push(format!(
                        "{} accepts {} ({}), which is forbidden: {}",
                        result.version,
                        suite.name(),
                        suite.hex(),
                        classes.join(", ")
                    ));
                }
            }
            if !result.complete {
                j.unknown
                    .push(format!("{} was not fully enumerated", result.version));
            }
        }
        if !self.exact {
            return;
        }
        for (tls13, allowed) in [(false, &self.ciphers), (true, &self.tls13_ciphers)] {
            let Some(allowed) = allowed else { continue };
            for suite in allowed {
                let accepted = seen
                    .accepted()
                    .filter(|r| (r.version == Version::Tls13) == tls13)
                    .any(|r| r.suites.contains(suite));
                let any_version = seen.accepted().any(|r| (r.version == Version::Tls13) == tls13);
                if !accepted && any_version {
                    j.violations
                        .push(format!("{} ({}) is not accepted", suite.name(), suite.hex()));
                }
            }
        }
    }

    fn judge_certificate(&self, seen: &TlsObservation, j: &mut Judgement) {
        let rules = &self.certificate;
        if rules.is_empty() {
            return;
        }
        let handshake = match &seen.handshake {
            Ok(handshake) => handshake,
            Err(failure) => {
                j.unknown
                    .push(format!("no certificate observed: {}", failure.detail));
                j.class.get_or_insert(failure.class);
                return;
            }
        };
        if rules.chain {
            if let super::observation::Verification::Invalid { class, detail } = &handshake.chain {
                j.violations.push(format!("certificate chain: {detail}"));
                j.class.get_or_insert(*class);
            }
        }
        if rules.hostname {
            if let super::observation::Verification::Invalid { class, detail } = &handshake.hostname {
                j.violations.push(format!("certificate name: {detail}"));
                j.class.get_or_insert(*class);
            }
        }
        let Some(cert) = &handshake.certificate else {
            if rules.min_days.is_some() || rules.min_rsa_bits.is_some() {
                j.unknown.push("the certificate could not be parsed".to_owned());
            }
            return;
        };
        if let Some(min) = rules.min_days {
            if cert.days_left < i64::from(min) {
                j.violations.push(format!(
                    "certificate expires in {} days (at least {min} required)",
                    cert.days_left
                ));
            }
        }
        if let Some(min) = rules.min_rsa_bits {
            if cert.key_type == "RSA" && cert.key_bits < min {
                j.violations.push(format!(
                    "RSA key of {} bits (at least {min} required)",
                    cert.key_bits
                ));
            }
        }
    }
}

/// The policy's verdict on one observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    pub violations: Vec<String>,
    /// What the policy needed but could not observe.
    pub unknown: Vec<String>,
    /// The most telling error class (a certificate reason), if any.
    pub class: Option<ErrorClass>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::mozilla;
    use crate::tls::observation::{HandshakeFailure, Preference, VersionResult};

    fn observation(accepted: &[(Version, &[&str])]) -> TlsObservation {
        let versions = Version::ALL
            .into_iter()
            .map(|version| {
                let found = accepted.iter().find(|(v, _)| *v == version);
                VersionResult {
                    version,
                    state: if found.is_some() {
                        VersionState::Accepted
                    } else {
                        VersionState::Refused
                    },
                    suites: found
                        .map(|(_, names)| names.iter().map(|n| Suite::by_name(n).unwrap()).collect())
                        .unwrap_or_default(),
                    complete: true,
                    preference: Preference::Unknown,
                    detail: None,
                }
            })
            .collect();
        TlsObservation {
            address: "127.0.0.1:443".parse().unwrap(),
            sni: None,
            versions,
            handshake: Err(HandshakeFailure {
                class: ErrorClass::TlsHandshake,
                detail: "none".into(),
            }),
            probes: 0,
            violations: Vec::new(),
        }
    }

    const FLOWSYNC: &[&str] = &["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"];

    fn flowsync(exact: bool) -> Policy {
        Policy {
            protocols: Some(vec![Version::Tls12, Version::Tls13]),
            ciphers: Some(FLOWSYNC.iter().map(|n| Suite::by_name(n).unwrap()).collect()),
            exact,
            ..Policy::report_only()
        }
    }

    #[test]
    fn a_compliant_server_passes_and_extra_versions_or_suites_are_each_listed() {
        let good = observation(&[
            (Version::Tls12, &FLOWSYNC[1..]),
            (Version::Tls13, &["TLS_AES_128_GCM_SHA256"]),
        ]);
        assert_eq!(flowsync(false).judge(&good), Judgement::default());
        let exact = flowsync(true).judge(&good);
        assert_eq!(
            exact.violations,
            ["ECDHE-ECDSA-AES128-GCM-SHA256 (0xC02B) is not accepted"]
        );

        let bad = observation(&[
            (Version::Tls10, &["AES128-SHA"]),
            (Version::Tls12, &["ECDHE-RSA-AES128-GCM-SHA256", "DES-CBC3-SHA"]),
        ]);
        let j = flowsync(false).judge(&bad);
        assert_eq!(
            j.violations,
            [
                "TLSv1.0 is accepted",
                "TLSv1.3 is refused",
                "TLSv1.0 accepts AES128-SHA (0x002F), which is not allowed",
                "TLSv1.2 accepts DES-CBC3-SHA (0x000A), which is not allowed"
            ]
        );
    }

    #[test]
    fn forbidden_classes_name_the_suite_and_the_class() {
        let seen = observation(&[(Version::Tls12, &["AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256"])]);
        let policy = Policy {
            forbid: vec![WeakClass::Cbc, WeakClass::RsaKx],
            ..Policy::report_only()
        };
        assert_eq!(
            policy.judge(&seen).violations,
            ["TLSv1.2 accepts AES128-SHA (0x002F), which is forbidden: cbc, rsa-kx"]
        );
    }

    #[test]
    fn an_inconclusive_version_is_unknown_to_a_suite_rule_without_protocols() {
        let mut seen = observation(&[(Version::Tls12, &FLOWSYNC[..1])]);
        seen.versions[1].state = VersionState::Inconclusive;
        let forbid = Policy {
            forbid: vec![WeakClass::Cbc],
            ..Policy::report_only()
        };
        let j = forbid.judge(&seen);
        assert!(j.violations.is_empty(), "{j:?}");
        assert!(
            j.unknown.iter().any(|u| u.starts_with("TLSv1.0 is inconclusive")),
            "{j:?}"
        );
    }

    #[test]
    fn inconclusive_versions_and_missing_certificates_are_unknown_not_passes() {
        let mut seen = observation(&[(Version::Tls12, &FLOWSYNC[..1])]);
        seen.versions[1].state = VersionState::Inconclusive;
        let j = Policy::mozilla(mozilla::INTERMEDIATE).judge(&seen);
        assert!(j.violations.contains(&"TLSv1.3 is refused".to_owned()), "{j:?}");
        assert!(
            j.unknown.iter().any(|u| u.starts_with("TLSv1.0 is inconclusive")),
            "{j:?}"
        );
        assert!(
            j.unknown.iter().any(|u| u.starts_with("no certificate observed")),
            "{j:?}"
        );
    }
}
