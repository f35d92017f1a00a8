//! Mozilla's server-side TLS recommendations (<https://wiki.mozilla.org/Security/Server_Side_TLS>),
//! shipped as data: the `modern` and `intermediate` profiles of guideline version 5.7.

/// The guideline version the profiles below transcribe.
pub const GUIDELINE_VERSION: &str = "5.7";

use super::feature::Feature;

/// One Mozilla profile, in OpenSSL's names: every rule of the guideline's JSON that concerns
/// the TLS server (HSTS and OCSP stapling are HTTP and deployment advice, judged elsewhere or not
/// at all, as sslyze's `--mozilla_config` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// `tls_versions`.
    pub protocols: &'static [&'static str],
    /// `ciphers.openssl`: TLS 1.2 and below, in the server's recommended order.
    pub ciphers: &'static [&'static str],
    /// `ciphersuites`.
    pub tls13_ciphers: &'static [&'static str],
    /// `tls_curves`.
    pub curves: &'static [&'static str],
    /// `dh_param_size`.
    pub min_dh_bits: Option<u32>,
    /// `ecdh_param_size`.
    pub min_ecdh_bits: u32,
    /// `certificate_types`, as reach names key types (`EC` for ecdsa, `RSA`).
    pub certificate_types: &'static [&'static str],
    /// `certificate_curves`.
    pub certificate_curves: &'static [&'static str],
    /// `certificate_signatures`.
    pub certificate_signatures: &'static [&'static str],
    /// `rsa_key_size`: smallest RSA key for the certificate.
    pub min_rsa_bits: Option<u32>,
    /// `maximum_certificate_lifespan`.
    pub max_cert_lifespan_days: u32,
}

const TLS13_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

const CURVES: &[&str] = &["x25519", "secp256r1", "secp384r1"];
const CERTIFICATE_CURVES: &[&str] = &["secp256r1", "secp384r1"];
const ECDSA_SIGNATURES: &[&str] = &["ecdsa-with-SHA256", "ecdsa-with-SHA384", "ecdsa-with-SHA512"];

pub const MODERN: Profile = Profile {
    name: "mozilla-modern",
    protocols: &["TLSv1.3"],
    ciphers: &[],
    tls13_ciphers: TLS13_CIPHERS,
    curves: CURVES,
    min_dh_bits: None,
    min_ecdh_bits: 256,
    certificate_types: &["EC"],
    certificate_curves: CERTIFICATE_CURVES,
    certificate_signatures: ECDSA_SIGNATURES,
    min_rsa_bits: None,
    max_cert_lifespan_days: 90,
};

pub const INTERMEDIATE: Profile = Profile {
    name: "mozilla-intermediate",
    protocols: &["TLSv1.2", "TLSv1.3"],
    ciphers: &[
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    ],
    tls13_ciphers: TLS13_CIPHERS,
    curves: CURVES,
    min_dh_bits: Some(2048),
    min_ecdh_bits: 256,
    certificate_types: &["EC", "RSA"],
    certificate_curves: CERTIFICATE_CURVES,
    certificate_signatures: &[
        "sha256WithRSAEncryption",
        "ecdsa-with-SHA256",
        "ecdsa-with-SHA384",
        "ecdsa-with-SHA512",
    ],
    min_rsa_bits: Some(2048),
    max_cert_lifespan_days: 366,
};

/// What every profile asks of the protocol, beyond the guideline's table: the vulnerabilities
/// and mechanisms sslyze's compliance check judges with it (ROBOT aside, which reach does not
/// probe).
pub const REQUIRE: &[Feature] = &[
    Feature::FallbackScsv,
    Feature::SecureRenegotiation,
    Feature::ExtendedMasterSecret,
];
pub const DENY: &[Feature] = &[Feature::Compression, Feature::Heartbleed, Feature::CcsInjection];

pub const ALL: &[Profile] = &[MODERN, INTERMEDIATE];

pub fn by_name(name: &str) -> Option<Profile> {
    ALL.iter().copied().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{Suite, Version};

    #[test]
    fn every_name_in_the_profiles_is_in_the_table() {
        for profile in ALL {
            for name in profile.ciphers.iter().chain(profile.tls13_ciphers) {
                assert!(Suite::by_name(name).is_some(), "{name}");
            }
            for version in profile.protocols {
                assert!(Version::parse(version).is_some(), "{version}");
            }
            for curve in profile.curves.iter().chain(profile.certificate_curves) {
                assert!(crate::tls::groups::Group::by_name(curve).is_some(), "{curve}");
            }
        }
    }
}
