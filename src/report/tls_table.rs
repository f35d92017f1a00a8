//! The human rendering of a TLS observation: one block per version with its accepted suites
//! (both names and the code point, weakness classes beside), the handshake, the certificate and
//! the policy's violations. Shown under a TLS check's row in the human report.

use super::escape::visible;
use crate::outcome::{DhObservation, FeatureValue, Preference, TlsObservation, Verification, VersionState};
use std::fmt::Write as _;

/// The block under a TLS check, every line indented by `indent`.
pub fn render(seen: &TlsObservation, violations: &[String], indent: &str) -> String {
    let mut out = String::new();
    let openssl_width = seen
        .versions
        .iter()
        .flat_map(|v| &v.suites)
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    for v in &seen.versions {
        let mut head = match v.state {
            VersionState::Accepted => {
                let plural = if v.suites.len() == 1 { "" } else { "s" };
                let order = match v.preference {
                    crate::outcome::Preference::Server => ", server order",
                    crate::outcome::Preference::Client => ", client order",
                    crate::outcome::Preference::Unknown => "",
                };
                format!("accepted   {} suite{plural}{order}", v.suites.len())
            }
            VersionState::Refused => "refused".to_owned(),
            VersionState::Inconclusive => "INCONCLUSIVE".to_owned(),
        };
        if let Some(detail) = &v.detail {
            let _ = write!(head, " ({})", visible(detail));
        }
        if v.state == VersionState::Accepted && !v.complete {
            head.push_str(", enumeration incomplete");
        }
        let _ = writeln!(out, "{indent}{:<8} {head}", v.version.as_str());
        for suite in &v.suites {
            let classes: Vec<_> = suite.classes().iter().map(|c| c.as_str()).collect();
            let classes = if classes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", classes.join(", "))
            };
            let iana = if suite.openssl().is_some_and(|o| o != suite.iana()) {
                suite.iana()
            } else {
                ""
            };
            let line = format!(
                "{indent}         {}  {:<openssl_width$}  {iana}{classes}",
                suite.hex(),
                suite.name(),
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    match &seen.handshake {
        Ok(h) => {
            let mut line = format!("{} {}", h.version, h.suite.name());
            if let Some(group) = &h.group {
                let _ = write!(line, ", {}", visible(group));
            }
            if let Some(alpn) = &h.alpn {
                let _ = write!(line, ", ALPN {}", visible(alpn));
            }
            if !h.complete {
                line.push_str(" (raw hello: rustls cannot speak with this server)");
            }
            let _ = writeln!(out, "{indent}handshake    {line}");
            if let Some(c) = &h.certificate {
                let sans = if c.sans.is_empty() {
                    "no SANs".to_owned()
                } else {
                    format!("SANs {}", visible(&c.sans.join(", ")))
                };
                let _ = writeln!(out, "{indent}certificate  {} · {sans}", visible(&c.subject));
                let _ = writeln!(out, "{indent}             issuer {}", visible(&c.issuer));
                let _ = writeln!(
                    out,
                    "{indent}             not after {} ({} days left) · {} {} bits · {}",
                    visible(&c.not_after),
                    c.days_left,
                    visible(&c.key_type),
                    c.key_bits,
                    visible(&c.signature_algorithm)
                );
            }
            let verdict = |v: &Verification| match v {
                Verification::Valid => "valid".to_owned(),
                Verification::Invalid { class, detail } => {
                    format!("{} ({})", class.as_str(), visible(detail))
                }
            };
            let ocsp = if h.ocsp_stapled {
                "OCSP stapled"
            } else {
                "no OCSP staple"
            };
            let _ = writeln!(
                out,
                "{indent}             chain {} · name {} · {} certificate(s) · {ocsp}",
                verdict(&h.chain),
                verdict(&h.hostname),
                h.chain_length
            );
        }
        Err(f) => {
            let _ = writeln!(
                out,
                "{indent}handshake    none: {} ({})",
                visible(&f.detail),
                f.class.as_str()
            );
        }
    }
    if let Some(groups) = &seen.groups {
        for (i, result) in groups.iter().enumerate() {
            let label = if i == 0 { "groups  " } else { "        " };
            let names: Vec<_> = result.groups.iter().map(|g| g.name).collect();
            let mut line = if names.is_empty() {
                "none accepted".to_owned()
            } else {
                names.join(", ")
            };
            if result.preference == Preference::Server {
                line.push_str(" (server order)");
            } else if result.preference == Preference::Client {
                line.push_str(" (client order)");
            }
            if let Some(detail) = &result.detail {
                let _ = write!(line, ", INCOMPLETE ({})", visible(detail));
            }
            let _ = writeln!(out, "{indent}{label} {:<8} {line}", result.version.as_str());
        }
    }
    match &seen.dh {
        Some(DhObservation::NoDhe) => {
            let _ = writeln!(out, "{indent}DH       no DHE suite accepted");
        }
        Some(DhObservation::Prime { bits, group, .. }) => {
            let group = group.map_or_else(|| "not a well-known group".to_owned(), str::to_owned);
            let _ = writeln!(out, "{indent}DH       {bits}-bit prime ({})", visible(&group));
        }
        Some(DhObservation::Inconclusive(why)) => {
            let _ = writeln!(out, "{indent}DH       INCONCLUSIVE ({})", visible(why));
        }
        None => {}
    }
    let width = seen
        .features
        .iter()
        .map(|f| f.feature.as_str().len())
        .max()
        .unwrap_or(0);
    for (i, result) in seen.features.iter().enumerate() {
        let label = if i == 0 { "checks  " } else { "        " };
        let value = match result.value {
            FeatureValue::Yes => "yes".to_owned(),
            FeatureValue::No => "no".to_owned(),
            FeatureValue::Inconclusive => format!("INCONCLUSIVE ({})", visible(&result.detail)),
        };
        let _ = writeln!(
            out,
            "{indent}{label} {:<width$}  {value}",
            result.feature.as_str()
        );
    }
    for violation in violations {
        let _ = writeln!(out, "{indent}✗ {}", visible(violation));
    }
    out
}
