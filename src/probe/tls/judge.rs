//! A TLS policy's judgement of an observed server: every violation is listed, and what could not
//! be observed is listed apart, so an unanswered probe never passes for a refusal.

use crate::outcome::{
    DhObservation, ErrorClass, FeatureValue, Preference, TlsObservation, Verification, VersionState,
};
use crate::tls::groups::Family;
use crate::tls::policy::Policy;
use crate::tls::Version;

/// Judges an observation against a policy.
pub fn judge(policy: &Policy, seen: &TlsObservation) -> Judgement {
    let mut j = Judgement::default();
    versions(policy, seen, &mut j);
    min_protocol(policy, seen, &mut j);
    suites(policy, seen, &mut j);
    preference(policy, seen, &mut j);
    groups(policy, seen, &mut j);
    dh(policy, seen, &mut j);
    features(policy, seen, &mut j);
    certificate(policy, seen, &mut j);
    j
}

fn inconclusive(result: &crate::outcome::VersionResult) -> String {
    format!(
        "{} is inconclusive ({})",
        result.version,
        result.detail.as_deref().unwrap_or("no answer")
    )
}

fn min_protocol(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let Some(min) = policy.min_protocol else {
        return;
    };
    for result in &seen.versions {
        match result.state {
            VersionState::Accepted if result.version < min => j
                .violations
                .push(format!("{} is accepted (the minimum is {min})", result.version)),
            VersionState::Inconclusive if result.version < min => j.unknown.push(inconclusive(result)),
            _ => {}
        }
    }
    let at_least = |state| seen.versions.iter().any(|v| v.version >= min && v.state == state);
    if !at_least(VersionState::Accepted) {
        if at_least(VersionState::Inconclusive) {
            for result in seen.versions.iter().filter(|v| v.version >= min) {
                if result.state == VersionState::Inconclusive {
                    j.unknown.push(inconclusive(result));
                }
            }
        } else if !seen.versions.is_empty() {
            j.violations.push(format!("no version from {min} up is accepted"));
        }
    }
}

fn preference(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    if !policy.server_preference {
        return;
    }
    for result in seen.accepted().filter(|r| r.suites.len() >= 2 || !r.complete) {
        match result.preference {
            Preference::Server => {}
            Preference::Client => j.violations.push(format!(
                "{} follows the client's suite order (ssl_prefer_server_ciphers off?)",
                result.version
            )),
            Preference::Unknown => j.unknown.push(format!(
                "{}: whose suite order decides could not be observed",
                result.version
            )),
        }
    }
}

fn groups(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let rules = policy.groups.is_some()
        || policy.curves.is_some()
        || !policy.forbid_groups.is_empty()
        || policy.min_dh_bits.is_some()
        || policy.min_ecdh_bits.is_some();
    if !rules {
        return;
    }
    let Some(results) = &seen.groups else {
        if seen.accepted().next().is_some() {
            j.unknown
                .push("the key-exchange groups were not observed".to_owned());
        }
        return;
    };
    for result in results {
        let version = result.version;
        for group in &result.groups {
            let what = format!("{version} accepts group {} ({})", group.name, group.hex());
            if let Some(allowed) = &policy.groups {
                if !allowed.contains(group) {
                    j.violations.push(format!("{what}, which is not allowed"));
                    continue;
                }
            }
            if let Some(allowed) = &policy.curves {
                if group.family == Family::Ec && !allowed.contains(group) {
                    j.violations.push(format!("{what}, which is not allowed"));
                    continue;
                }
            }
            let classes: Vec<_> = policy
                .forbid_groups
                .iter()
                .filter(|c| group.has_class(**c))
                .map(|c| c.as_str())
                .collect();
            if !classes.is_empty() {
                j.violations
                    .push(format!("{what}, which is forbidden: {}", classes.join(", ")));
                continue;
            }
            let min = match group.family {
                Family::Ec => policy.min_ecdh_bits,
                Family::Ffdhe => policy.min_dh_bits,
                Family::Kem | Family::Hybrid => None,
            };
            if let Some(min) = min.filter(|min| u32::from(group.bits) < *min) {
                j.violations.push(format!(
                    "{what}, of {} bits (at least {min} required)",
                    group.bits
                ));
            }
        }
        if !result.complete {
            j.unknown.push(format!(
                "{version}: the groups were not fully enumerated ({})",
                result.detail.as_deref().unwrap_or("no answer")
            ));
        }
    }
    if let (true, Some(allowed)) = (policy.exact, &policy.groups) {
        if !results.is_empty() {
            for group in allowed {
                if !results.iter().any(|r| r.groups.contains(group)) {
                    j.violations
                        .push(format!("group {} ({}) is not accepted", group.name, group.hex()));
                }
            }
        }
    }
}

fn dh(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let Some(min) = policy.min_dh_bits else {
        return;
    };
    match &seen.dh {
        Some(DhObservation::Prime { bits, group, .. }) if *bits < min => {
            let group = group.map_or(String::new(), |g| format!(" ({g})"));
            j.violations.push(format!(
                "DHE suites use a {bits}-bit prime{group} (at least {min} required)"
            ));
        }
        Some(DhObservation::Inconclusive(why)) => {
            j.unknown.push(format!("the DH prime could not be read: {why}"))
        }
        Some(_) => {}
        None if seen.accepted().next().is_some() => {
            j.unknown.push("the DH prime was not observed".to_owned());
        }
        None => {}
    }
}

fn features(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    for (list, wanted, verb) in [
        (&policy.require, FeatureValue::Yes, "is required"),
        (&policy.deny, FeatureValue::No, "must be off"),
    ] {
        for feature in list.iter().copied() {
            match seen.feature(feature) {
                Some(result) if result.value == wanted => {}
                Some(result) if result.value == FeatureValue::Inconclusive => j
                    .unknown
                    .push(format!("{feature} is inconclusive: {}", result.detail)),
                Some(result) => j.violations.push(format!("{feature} {verb}: {}", result.detail)),
                None if seen.accepted().next().is_some() => {
                    j.unknown.push(format!("{feature} was not checked"));
                }
                None => {}
            }
        }
    }
}

fn versions(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    let Some(wanted) = &policy.protocols else {
        return;
    };
    for result in &seen.versions {
        let must = wanted.contains(&result.version);
        match (result.state, must) {
            (VersionState::Accepted, false) => j.violations.push(format!("{} is accepted", result.version)),
            (VersionState::Refused, true) if !policy.protocols_at_most => {
                j.violations.push(format!("{} is refused", result.version));
            }
            (VersionState::Inconclusive, _) => j.unknown.push(inconclusive(result)),
            _ => {}
        }
    }
}

fn suites(policy: &Policy, seen: &TlsObservation, j: &mut Judgement) {
    // A version that never answered conclusively may accept any suite: a suite rule cannot
    // pass over it. (With `protocols` or `min_protocol`, that is said already.)
    if policy.protocols.is_none() && policy.min_protocol.is_none() {
        for result in &seen.versions {
            let allowed = if result.version == Version::Tls13 {
                &policy.tls13_ciphers
            } else {
                &policy.ciphers
            };
            let rule_applies = allowed.is_some() || !policy.forbid.is_empty();
            if result.state == VersionState::Inconclusive && rule_applies {
                j.unknown.push(inconclusive(result));
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
        let facts = rules.min_days.is_some()
            || rules.min_rsa_bits.is_some()
            || rules.issuer.is_some()
            || rules.key_types.is_some()
            || rules.curves.is_some()
            || rules.signatures.is_some()
            || rules.max_lifespan_days.is_some();
        if facts {
            j.unknown.push("the certificate could not be parsed".to_owned());
        }
        return;
    };
    if let Some(issuer) = &rules.issuer {
        if !issuer.matches(&cert.issuer) {
            j.violations.push(format!(
                "certificate issuer \"{}\" does not match: it must {}",
                cert.issuer,
                issuer.requirement()
            ));
        }
    }
    if let Some(types) = &rules.key_types {
        if !types.contains(&cert.key_type.as_str()) {
            j.violations.push(format!(
                "certificate key type {} is not allowed (allowed: {})",
                cert.key_type,
                types.join(", ")
            ));
        }
    }
    if let (Some(curves), "EC") = (&rules.curves, cert.key_type.as_str()) {
        let curve = cert.curve.as_deref().unwrap_or("an unnamed curve");
        if !curves.contains(&curve) {
            j.violations.push(format!(
                "certificate key is on {curve}, not one of {}",
                curves.join(", ")
            ));
        }
    }
    if let Some(signatures) = &rules.signatures {
        if !signatures.contains(&cert.signature_algorithm.as_str()) {
            j.violations.push(format!(
                "certificate is signed with {}, not one of {}",
                cert.signature_algorithm,
                signatures.join(", ")
            ));
        }
    }
    if let Some(max) = rules.max_lifespan_days {
        if cert.lifespan_days > i64::from(max) {
            j.violations.push(format!(
                "certificate lifespan is {} days (at most {max} allowed)",
                cert.lifespan_days
            ));
        }
    }
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
            groups: None,
            dh: None,
            features: Vec::new(),
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
        // Mozilla's versions are the ones allowed: TLS 1.2 alone meets intermediate.
        assert!(!j.violations.iter().any(|v| v.contains("TLSv1.3")), "{j:?}");
        assert!(
            j.unknown.iter().any(|u| u.starts_with("TLSv1.0 is inconclusive")),
            "{j:?}"
        );
        assert!(
            j.unknown.iter().any(|u| u.starts_with("no certificate observed")),
            "{j:?}"
        );
    }

    fn with_preference(preference: Preference, suites: &[&str]) -> TlsObservation {
        let mut seen = observation(&[(Version::Tls12, suites)]);
        seen.versions[3].preference = preference;
        seen
    }

    #[test]
    fn server_preference_fails_client_order_and_cannot_pass_an_unseen_one() {
        let policy = Policy {
            server_preference: true,
            ..Policy::report_only()
        };
        let two = FLOWSYNC;
        assert_eq!(
            judge(&policy, &with_preference(Preference::Server, two)),
            Judgement::default()
        );
        assert_eq!(
            judge(&policy, &with_preference(Preference::Client, two)).violations,
            ["TLSv1.2 follows the client's suite order (ssl_prefer_server_ciphers off?)"]
        );
        let unknown = judge(&policy, &with_preference(Preference::Unknown, two));
        assert!(
            unknown.violations.is_empty() && unknown.unknown.len() == 1,
            "{unknown:?}"
        );
        // One suite: no order to observe.
        assert_eq!(
            judge(&policy, &with_preference(Preference::Unknown, &two[..1])),
            Judgement::default()
        );
    }

    #[test]
    fn min_protocol_passes_newer_only_servers_and_names_older_versions() {
        let policy = Policy {
            min_protocol: Some(Version::Tls12),
            ..Policy::report_only()
        };
        let tls13 = observation(&[(Version::Tls13, &["TLS_AES_128_GCM_SHA256"])]);
        assert_eq!(judge(&policy, &tls13), Judgement::default());
        let old = observation(&[
            (Version::Tls11, &["AES128-SHA"]),
            (Version::Tls12, &FLOWSYNC[..1]),
        ]);
        assert_eq!(
            judge(&policy, &old).violations,
            ["TLSv1.1 is accepted (the minimum is TLSv1.2)"]
        );
        let mut silent = observation(&[(Version::Tls11, &["AES128-SHA"])]);
        silent.versions[3].state = VersionState::Inconclusive;
        let j = judge(&policy, &silent);
        assert!(
            j.unknown.iter().any(|u| u.starts_with("TLSv1.2 is inconclusive")),
            "{j:?}"
        );
    }

    #[test]
    fn group_rules_judge_each_group_by_its_first_broken_rule() {
        use crate::outcome::GroupResult;
        use crate::tls::{Group, GroupClass};
        let mut seen = observation(&[(Version::Tls13, &["TLS_AES_128_GCM_SHA256"])]);
        let names = ["x25519", "secp192r1", "x448", "ffdhe2048"];
        seen.groups = Some(vec![GroupResult {
            version: Version::Tls13,
            groups: names.iter().map(|n| Group::by_name(n).unwrap()).collect(),
            complete: true,
            preference: Preference::Unknown,
            detail: None,
        }]);
        let mozilla = judge(&Policy::mozilla(mozilla::INTERMEDIATE), &seen);
        let groups: Vec<_> = mozilla
            .violations
            .iter()
            .filter(|v| v.contains("group"))
            .collect();
        assert_eq!(
            groups,
            [
                "TLSv1.3 accepts group secp192r1 (0x0013), which is not allowed",
                "TLSv1.3 accepts group x448 (0x001E), which is not allowed"
            ]
        );
        let classes = Policy {
            forbid_groups: vec![GroupClass::WeakGroup, GroupClass::FfdheSmall],
            ..Policy::report_only()
        };
        assert_eq!(
            judge(&classes, &seen).violations,
            [
                "TLSv1.3 accepts group secp192r1 (0x0013), which is forbidden: weak-group",
                "TLSv1.3 accepts group ffdhe2048 (0x0100), which is forbidden: ffdhe-small"
            ]
        );
        seen.groups.as_mut().unwrap()[0].complete = false;
        assert!(!judge(&classes, &seen).unknown.is_empty());
    }

    #[test]
    fn required_and_denied_features_fail_on_the_wrong_value_and_never_pass_unknown() {
        use crate::outcome::{FeatureResult, FeatureValue};
        use crate::tls::Feature;
        let mut seen = observation(&[(Version::Tls12, &FLOWSYNC[..1])]);
        let result = |feature, value| FeatureResult {
            feature,
            value,
            detail: "seen".into(),
        };
        seen.features = vec![
            result(Feature::Compression, FeatureValue::Yes),
            result(Feature::FallbackScsv, FeatureValue::Inconclusive),
            result(Feature::SecureRenegotiation, FeatureValue::Yes),
        ];
        let policy = Policy {
            require: vec![Feature::FallbackScsv, Feature::SecureRenegotiation],
            deny: vec![Feature::Compression, Feature::Heartbleed],
            ..Policy::report_only()
        };
        let j = judge(&policy, &seen);
        assert_eq!(j.violations, ["compression must be off: seen"]);
        assert_eq!(
            j.unknown,
            [
                "fallback_scsv is inconclusive: seen",
                "heartbleed was not checked"
            ]
        );
    }
}
