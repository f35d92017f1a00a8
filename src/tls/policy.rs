//! The rules a `tls` check (or `reach tls --policy`) holds a server to. Judging an observed
//! server against them is the probe's work (`probe::tls::judge`).

use super::feature::Feature;
use super::groups::{Group, GroupClass};
use super::mozilla::Profile;
use super::suite::{Suite, WeakClass};
use super::version::Version;

/// How a certificate field is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    /// The field contains this text (case-insensitively).
    Contains(String),
    /// The field is exactly this text (as reports print it, e.g. `CN=R11, O=Let's Encrypt, C=US`;
    /// spaces after commas do not matter).
    Equals(String),
}

impl TextMatch {
    pub fn matches(&self, field: &str) -> bool {
        match self {
            TextMatch::Contains(text) => field.to_lowercase().contains(&text.to_lowercase()),
            TextMatch::Equals(text) => normalise_dn(field) == normalise_dn(text),
        }
    }

    /// What the field must do, after "it must": `contain "x"`, `be "x"`.
    pub fn requirement(&self) -> String {
        match self {
            TextMatch::Contains(text) => format!("contain \"{text}\""),
            TextMatch::Equals(text) => format!("be \"{text}\""),
        }
    }
}

fn normalise_dn(text: &str) -> String {
    text.split(',').map(str::trim).collect::<Vec<_>>().join(",")
}

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
    /// The leaf's issuer (its distinguished name) must match.
    pub issuer: Option<TextMatch>,
    /// The leaf's key must be one of these types (`RSA`, `EC`, as reports name them).
    pub key_types: Option<Vec<&'static str>>,
    /// An EC key must be on one of these curves (`secp256r1`...).
    pub curves: Option<Vec<&'static str>>,
    /// The leaf's signature algorithm must be one of these (`sha256WithRSAEncryption`...).
    pub signatures: Option<Vec<&'static str>>,
    /// From not-before to not-after, at most this many days.
    pub max_lifespan_days: Option<u32>,
}

impl CertRules {
    /// What any TLS check asks unless told otherwise: a certificate that verifies.
    pub const VALID: CertRules = CertRules {
        chain: true,
        hostname: true,
        min_days: None,
        min_rsa_bits: None,
        issuer: None,
        key_types: None,
        curves: None,
        signatures: None,
        max_lifespan_days: None,
    };
    pub const NONE: CertRules = CertRules {
        chain: false,
        hostname: false,
        min_days: None,
        min_rsa_bits: None,
        issuer: None,
        key_types: None,
        curves: None,
        signatures: None,
        max_lifespan_days: None,
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
    /// Exactly these versions must be accepted (only these may be, with `protocols_at_most`).
    pub protocols: Option<Vec<Version>>,
    /// `protocols` lists what may be accepted, not what must be: Mozilla's `tls_versions`, as
    /// sslyze's compliance check reads it (a TLS 1.2-only server meets "intermediate").
    pub protocols_at_most: bool,
    /// TLS 1.2 and below: accepted suites must be among these.
    pub ciphers: Option<Vec<Suite>>,
    /// TLS 1.3: accepted suites must be among these.
    pub tls13_ciphers: Option<Vec<Suite>>,
    /// The accepted suites must be exactly `ciphers` / `tls13_ciphers`, not just among them.
    pub exact: bool,
    pub forbid: Vec<WeakClass>,
    /// Every version below this must be refused, and one at or above it accepted. Replaces
    /// `protocols` (a profile's included) when given.
    pub min_protocol: Option<Version>,
    /// Where a version accepts two or more suites, the server's order must decide.
    pub server_preference: bool,
    /// Accepted key-exchange groups (every family) must be among these (exactly these with
    /// `exact`).
    pub groups: Option<Vec<Group>>,
    /// Accepted elliptic curves must be among these (Mozilla's `tls_curves`: FFDHE groups and
    /// post-quantum hybrids are judged by size, not by this list).
    pub curves: Option<Vec<Group>>,
    pub forbid_groups: Vec<GroupClass>,
    /// DHE primes and FFDHE groups must have at least this many bits.
    pub min_dh_bits: Option<u32>,
    /// Elliptic curves must have at least this many bits (x25519 counts as 256).
    pub min_ecdh_bits: Option<u32>,
    /// Protocol behaviours the server must show.
    pub require: Vec<Feature>,
    /// Protocol behaviours the server must not show.
    pub deny: Vec<Feature>,
    pub certificate: CertRules,
}

impl Policy {
    /// No rules: observe and report only.
    pub fn report_only() -> Policy {
        Policy {
            profile: None,
            protocols: None,
            protocols_at_most: false,
            ciphers: None,
            tls13_ciphers: None,
            exact: false,
            forbid: Vec::new(),
            min_protocol: None,
            server_preference: false,
            groups: None,
            curves: None,
            forbid_groups: Vec::new(),
            min_dh_bits: None,
            min_ecdh_bits: None,
            require: Vec::new(),
            deny: Vec::new(),
            certificate: CertRules::NONE,
        }
    }

    /// A Mozilla profile's rules: everything its guideline states about a TLS server.
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
            protocols_at_most: true,
            ciphers: Some(suites(profile.ciphers)),
            tls13_ciphers: Some(suites(profile.tls13_ciphers)),
            curves: Some(profile.curves.iter().filter_map(|n| Group::by_name(n)).collect()),
            min_dh_bits: profile.min_dh_bits,
            min_ecdh_bits: Some(profile.min_ecdh_bits),
            require: super::mozilla::REQUIRE.to_vec(),
            deny: super::mozilla::DENY.to_vec(),
            certificate: CertRules {
                min_rsa_bits: profile.min_rsa_bits,
                key_types: Some(profile.certificate_types.to_vec()),
                curves: Some(profile.certificate_curves.to_vec()),
                signatures: Some(profile.certificate_signatures.to_vec()),
                max_lifespan_days: Some(profile.max_cert_lifespan_days),
                ..CertRules::VALID
            },
            ..Policy::report_only()
        }
    }

    pub fn is_report_only(&self) -> bool {
        self.protocols.is_none()
            && self.ciphers.is_none()
            && self.tls13_ciphers.is_none()
            && self.forbid.is_empty()
            && self.min_protocol.is_none()
            && !self.server_preference
            && !self.judges_groups()
            && self.require.is_empty()
            && self.deny.is_empty()
            && self.certificate.is_empty()
    }

    /// True when a rule needs the accepted key-exchange groups or the DH prime.
    pub fn judges_groups(&self) -> bool {
        self.groups.is_some()
            || self.curves.is_some()
            || !self.forbid_groups.is_empty()
            || self.min_dh_bits.is_some()
            || self.min_ecdh_bits.is_some()
    }

    /// The protocol features a rule needs observed.
    pub fn features(&self) -> Vec<Feature> {
        let mut all: Vec<Feature> = self.require.iter().chain(&self.deny).copied().collect();
        all.sort();
        all.dedup();
        all
    }

    /// One short phrase for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(profile) = self.profile {
            parts.push(profile.to_owned());
        }
        if let Some(min) = self.min_protocol {
            parts.push(format!("{min}+"));
        } else if let (None, Some(protocols)) = (self.profile, &self.protocols) {
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
        if self.server_preference {
            parts.push("server order".to_owned());
        }
        if let (None, Some(groups)) = (self.profile, &self.groups) {
            let word = if self.exact { "exactly" } else { "at most" };
            parts.push(format!("{word} {} groups", groups.len()));
        }
        let forbidden: Vec<_> = self
            .forbid
            .iter()
            .map(|c| c.as_str())
            .chain(self.forbid_groups.iter().map(|c| c.as_str()))
            .collect();
        if !forbidden.is_empty() {
            parts.push(format!("no {}", forbidden.join("/")));
        }
        if let (None, Some(bits)) = (self.profile, self.min_dh_bits) {
            parts.push(format!("DH ≥{bits} bits"));
        }
        if self.profile.is_none() {
            if !self.require.is_empty() {
                let names: Vec<_> = self.require.iter().map(|f| f.as_str()).collect();
                parts.push(format!("requires {}", names.join("/")));
            }
            if !self.deny.is_empty() {
                let names: Vec<_> = self.deny.iter().map(|f| f.as_str()).collect();
                parts.push(format!("denies {}", names.join("/")));
            }
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
            && self.forbid.is_empty()
            && self.min_protocol.is_none()
            && !self.server_preference
            && !self.judges_groups()
            && self.require.is_empty()
            && self.deny.is_empty())
    }
}
