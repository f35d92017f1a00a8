//! A TLS policy's judgement of an observed server: every violation is listed, and what could not
//! be observed is listed apart, so an unanswered probe never passes for a refusal.

use crate::outcome::{ErrorClass, TlsObservation, Verification, VersionState};
use crate::tls::policy::Policy;
use crate::tls::Version;

/// Judges an observation against a policy.
pub fn judge(policy: &Policy, seen: &TlsObservation) -> Judgement {
    let mut j = Judgement::default();
    versions(policy, seen, &mut j);
    suites(policy, seen, &mut j);
    certificate(policy, seen, &mut j);
    j
}

fn versions(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let Some(wanted) = &policy.protocols else {
        return;
    };
    for result in &seen.versions {
        let must = wanted.contains(&result.version);
        match (result.state, must) {
            (VersionState::Accepted, false) => j.violations.push(format!("{} is accepted", result.version)),
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

fn suites(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    // A version that never answered conclusively may accept any suite: a suite rule cannot
    // pass over it. (With `protocols`, judge_versions has already said so.)
    if policy.protocols.is_none() {
        for result in &seen.versions {
            let allowed = if result.version == Version::Tls13 {
                &policy.tls13_ciphers
            } else {
                &policy.ciphers
            };
            let rule_applies = allowed.is_some() || !policy.forbid.is_empty();
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
            &policy.tls13_ciphers
        } else {
            &policy.ciphers
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
            let classes: Vec<_> = policy
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
    if !policy.exact {
        return;
    }
    for (tls13, allowed) in [(false, &policy.ciphers), (true, &policy.tls13_ciphers)] {
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

fn certificate(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let rules = &policy.certificate;
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
        if let Verification::Invalid { class, detail } = &handshake.chain {
            j.violations.push(format!("certificate chain: {detail}"));
            j.class.get_or_insert(*class);
        }
    }
    if rules.hostname {
        if let Verification::Invalid { class, detail } = &handshake.hostname {
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
    use crate::outcome::{HandshakeFailure, Preference, VersionResult};
    use crate::tls::mozilla;
    use crate::tls::{Suite, WeakClass};

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
        assert_eq!(judge(&flowsync(false), &good), Judgement::default());
        let exact = judge(&flowsync(true), &good);
        assert_eq!(
            exact.violations,
            ["ECDHE-ECDSA-AES128-GCM-SHA256 (0xC02B) is not accepted"]
        );

        let bad = observation(&[
            (Version::Tls10, &["AES128-SHA"]),
            (Version::Tls12, &["ECDHE-RSA-AES128-GCM-SHA256", "DES-CBC3-SHA"]),
        ]);
        let j = judge(&flowsync(false), &bad);
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
            judge(&policy, &seen).violations,
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
        let j = judge(&forbid, &seen);
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
        let j = judge(&Policy::mozilla(mozilla::INTERMEDIATE), &seen);
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
