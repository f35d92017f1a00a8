//! Mozilla's server-side TLS recommendations (<https://wiki.mozilla.org/Security/Server_Side_TLS>),
//! shipped as data: the `modern` and `intermediate` profiles of guideline version 5.7.

/// The guideline version the profiles below transcribe.
pub const GUIDELINE_VERSION: &str = "5.7";

/// One Mozilla profile, in OpenSSL's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub protocols: &'static [&'static str],
    /// TLS 1.2 and below, in the server's recommended order.
    pub ciphers: &'static [&'static str],
    pub tls13_ciphers: &'static [&'static str],
    /// Smallest RSA key for the certificate.
    pub min_rsa_bits: u32,
    /// Longest certificate lifespan the profile recommends.
    pub max_cert_lifespan_days: u32,
}

const TLS13_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

pub const MODERN: Profile = Profile {
    name: "mozilla-modern",
    protocols: &["TLSv1.3"],
    ciphers: &[],
    tls13_ciphers: TLS13_CIPHERS,
    min_rsa_bits: 2048,
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
    min_rsa_bits: 2048,
    max_cert_lifespan_days: 366,
};

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
        }
    }
}
