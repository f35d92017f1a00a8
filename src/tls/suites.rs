//! The cipher suite table: every IANA-registered TLS suite (and the pre-standard ones servers
//! still speak) with its code point, IANA and OpenSSL names and properties, plus name lookup and
//! the weakness classes a policy can forbid.
//!
//! The table itself is generated (`fixtures/tls/gen-suites.py`) into `suite_table.rs`.

use super::suite_table::SUITES;
use super::Version;
use std::fmt;

/// Key exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kx {
    /// RSA key transport: no forward secrecy.
    Rsa,
    /// Ephemeral finite-field Diffie-Hellman (anonymous too, see [`Auth::Anon`]).
    Dhe,
    /// Ephemeral elliptic-curve Diffie-Hellman.
    Ecdhe,
    /// Static Diffie-Hellman from the certificate.
    Dh,
    /// Static elliptic-curve Diffie-Hellman from the certificate.
    Ecdh,
    Psk,
    DhePsk,
    EcdhePsk,
    RsaPsk,
    Srp,
    Krb5,
    Gost,
    Cecpq1,
    /// TLS 1.3: negotiated separately from the suite.
    Any,
    Null,
}

/// Server authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    Rsa,
    Dss,
    Ecdsa,
    Psk,
    Srp,
    Krb5,
    Gost,
    Dh,
    Ecdh,
    /// No authentication at all (OpenSSL's ADH/AECDH suites).
    Anon,
    /// TLS 1.3: negotiated separately from the suite.
    Any,
}

/// Bulk cipher (with its mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enc {
    Aes,
    AesGcm,
    AesCcm,
    AesCcm8,
    Aria,
    AriaGcm,
    Camellia,
    CamelliaGcm,
    ChaCha20Poly1305,
    Des,
    TripleDes,
    Idea,
    Rc2,
    Rc4,
    Seed,
    Gost,
    Null,
}

/// How the bulk cipher is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Cbc,
    Gcm,
    Ccm,
    /// ChaCha20-Poly1305.
    Poly1305,
    Stream,
    /// No encryption.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cbc => "CBC",
            Mode::Gcm => "GCM",
            Mode::Ccm => "CCM",
            Mode::Poly1305 => "POLY1305",
            Mode::Stream => "stream",
            Mode::None => "none",
        }
    }
}

/// Record MAC (AEAD suites have none of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mac {
    Aead,
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Gost,
    Null,
}

/// One cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suite {
    pub code: u16,
    iana: Option<&'static str>,
    openssl: Option<&'static str>,
    pub kx: Kx,
    pub auth: Auth,
    pub enc: Enc,
    /// Key size of the bulk cipher in bits (0 for none).
    pub bits: u16,
    pub mac: Mac,
    /// The first protocol version that defines the suite.
    pub since: Version,
    /// Export grade (40- or 56-bit keys, short key exchange).
    pub export: bool,
}

impl Suite {
    #[allow(clippy::too_many_arguments)] // the generated table's row constructor
    pub(super) const fn new(
        code: u16,
        iana: Option<&'static str>,
        openssl: Option<&'static str>,
        kx: Kx,
        auth: Auth,
        enc: Enc,
        bits: u16,
        mac: Mac,
        since: Version,
        export: bool,
    ) -> Suite {
        Suite {
            code,
            iana,
            openssl,
            kx,
            auth,
            enc,
            bits,
            mac,
            since,
            export,
        }
    }

    /// The IANA name, or OpenSSL's where IANA registered none (GOST suites).
    pub fn iana(&self) -> &'static str {
        self.iana.or(self.openssl).unwrap_or("UNKNOWN")
    }

    /// OpenSSL's name, if OpenSSL has one.
    pub fn openssl(&self) -> Option<&'static str> {
        self.openssl
    }

    /// The name people read first: OpenSSL's (as in nginx configs), else IANA's.
    pub fn name(&self) -> &'static str {
        self.openssl.unwrap_or_else(|| self.iana())
    }

    /// `0xC02F`.
    pub fn hex(&self) -> String {
        format!("0x{:04X}", self.code)
    }

    pub fn is_tls13(&self) -> bool {
        self.since == Version::Tls13
    }

    pub fn mode(&self) -> Mode {
        match self.enc {
            Enc::Aes
            | Enc::Aria
            | Enc::Camellia
            | Enc::Des
            | Enc::TripleDes
            | Enc::Idea
            | Enc::Rc2
            | Enc::Seed => Mode::Cbc,
            Enc::AesGcm | Enc::AriaGcm | Enc::CamelliaGcm => Mode::Gcm,
            Enc::AesCcm | Enc::AesCcm8 => Mode::Ccm,
            Enc::ChaCha20Poly1305 => Mode::Poly1305,
            Enc::Rc4 | Enc::Gost => Mode::Stream,
            Enc::Null => Mode::None,
        }
    }

    /// True when the suite belongs to `class`.
    pub fn has_class(&self, class: WeakClass) -> bool {
        match class {
            WeakClass::Cbc => self.mode() == Mode::Cbc,
            WeakClass::RsaKx => matches!(self.kx, Kx::Rsa | Kx::RsaPsk),
            WeakClass::TripleDes => self.enc == Enc::TripleDes,
            WeakClass::Des => self.enc == Enc::Des,
            WeakClass::Rc4 => self.enc == Enc::Rc4,
            WeakClass::Null => self.enc == Enc::Null,
            WeakClass::Export => self.export,
            WeakClass::Anon => self.auth == Auth::Anon,
            WeakClass::Md5 => self.mac == Mac::Md5,
            WeakClass::Sha1 => self.mac == Mac::Sha1,
            WeakClass::NoForwardSecrecy => {
                !matches!(self.kx, Kx::Dhe | Kx::Ecdhe | Kx::DhePsk | Kx::EcdhePsk | Kx::Any)
            }
            WeakClass::Dhe => matches!(self.kx, Kx::Dhe | Kx::DhePsk),
            WeakClass::Weak => {
                self.export
                    || self.bits < 128
                    || matches!(
                        self.enc,
                        Enc::Null | Enc::Rc4 | Enc::Des | Enc::TripleDes | Enc::Rc2
                    )
                    || self.auth == Auth::Anon
            }
        }
    }

    /// Every class the suite belongs to.
    pub fn classes(&self) -> Vec<WeakClass> {
        WeakClass::ALL
            .iter()
            .copied()
            .filter(|c| self.has_class(*c))
            .collect()
    }

    /// Looks a suite up by OpenSSL or IANA name (case-insensitive; `SSL_` for `TLS_` too) or by
    /// hex code point (`0xC02F`).
    pub fn by_name(name: &str) -> Option<Suite> {
        let name = name.trim();
        if let Some(hex) = name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
            return u16::from_str_radix(hex, 16).ok().and_then(Suite::by_code);
        }
        let as_tls = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("SSL_"))
            .map(|_| format!("TLS_{}", &name[4..]));
        SUITES.iter().copied().find(|s| {
            let matches = |candidate: &str| {
                s.openssl.is_some_and(|o| o.eq_ignore_ascii_case(candidate))
                    || s.iana.is_some_and(|i| i.eq_ignore_ascii_case(candidate))
            };
            matches(name) || as_tls.as_deref().is_some_and(matches)
        })
    }

    pub fn by_code(code: u16) -> Option<Suite> {
        SUITES.iter().copied().find(|s| s.code == code)
    }

    /// The whole table, strongest first (OpenSSL's order).
    pub fn all() -> &'static [Suite] {
        SUITES
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A family of weak suites that a policy can forbid by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeakClass {
    /// CBC-mode block ciphers (Lucky13, POODLE-TLS, BEAST).
    Cbc,
    /// RSA key transport (no forward secrecy, ROBOT).
    RsaKx,
    TripleDes,
    Des,
    Rc4,
    /// No encryption.
    Null,
    Export,
    /// No server authentication.
    Anon,
    Md5,
    Sha1,
    /// Any key exchange without forward secrecy.
    NoForwardSecrecy,
    /// Finite-field Diffie-Hellman.
    Dhe,
    /// Under 128-bit strength: export, NULL, RC4, DES, 3DES, RC2, anonymous.
    Weak,
}

impl WeakClass {
    pub const ALL: &'static [WeakClass] = &[
        WeakClass::Cbc,
        WeakClass::RsaKx,
        WeakClass::TripleDes,
        WeakClass::Des,
        WeakClass::Rc4,
        WeakClass::Null,
        WeakClass::Export,
        WeakClass::Anon,
        WeakClass::Md5,
        WeakClass::Sha1,
        WeakClass::NoForwardSecrecy,
        WeakClass::Dhe,
        WeakClass::Weak,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WeakClass::Cbc => "cbc",
            WeakClass::RsaKx => "rsa-kx",
            WeakClass::TripleDes => "3des",
            WeakClass::Des => "des",
            WeakClass::Rc4 => "rc4",
            WeakClass::Null => "null",
            WeakClass::Export => "export",
            WeakClass::Anon => "anon",
            WeakClass::Md5 => "md5",
            WeakClass::Sha1 => "sha1",
            WeakClass::NoForwardSecrecy => "no-pfs",
            WeakClass::Dhe => "dhe",
            WeakClass::Weak => "weak",
        }
    }

    /// Accepts the names above, case-insensitively, and a few common spellings (`RSA` for RSA
    /// key exchange, `aNULL`, `eNULL`).
    pub fn parse(text: &str) -> Option<WeakClass> {
        let lower = text.trim().to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "rsa" | "krsa" | "rsa-key-exchange" => "rsa-kx",
            "anull" | "adh" | "aecdh" => "anon",
            "enull" => "null",
            "exp" => "export",
            "triple-des" | "des3" | "des-cbc3" => "3des",
            "nopfs" | "no-forward-secrecy" => "no-pfs",
            other => other,
        };
        WeakClass::ALL.iter().copied().find(|c| c.as_str() == canonical)
    }
}

/// Parses a cipher list as written in nginx's `ssl_ciphers` (`A:B:C`, also `,` or spaces) or as
/// separate items. Every item must name one suite: OpenSSL's cipher-string keywords (`HIGH`,
/// `!aNULL`) are refused, since a requirement must name the exact suites.
pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<Suite>, String> {
    let mut suites: Vec<Suite> = Vec::new();
    for item in items {
        for name in item.split([':', ',', ' ']).filter(|n| !n.is_empty()) {
            let suite = Suite::by_name(name).ok_or_else(|| {
                format!("unknown cipher suite `{name}`: use an OpenSSL name (ECDHE-RSA-AES128-GCM-SHA256), an IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or a code point (0xC02F)")
            })?;
            if !suites.contains(&suite) {
                suites.push(suite);
            }
        }
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_table_covers_the_registry_with_unique_code_points() {
        let all = Suite::all();
        assert!(all.len() > 340, "{} suites", all.len());
        let mut seen = HashMap::new();
        for suite in all {
            assert!(seen.insert(suite.code, suite).is_none(), "{} twice", suite.hex());
        }
        assert_eq!(all.iter().filter(|s| s.is_tls13()).count(), 5);
    }

    #[test]
    fn names_round_trip_through_both_vocabularies() {
        for suite in Suite::all() {
            assert_eq!(Suite::by_code(suite.code), Some(*suite));
            assert_eq!(Suite::by_name(&suite.hex()), Some(*suite));
            if let Some(openssl) = suite.openssl() {
                assert_eq!(
                    Suite::by_name(openssl).map(|s| s.code),
                    Some(suite.code),
                    "{openssl}"
                );
            }
            // Two FIPS code points share one IANA name; the first wins.
            if !suite.iana().contains("FIPS") {
                assert_eq!(
                    Suite::by_name(suite.iana()).map(|s| s.code),
                    Some(suite.code),
                    "{}",
                    suite.iana()
                );
            }
        }
        let gcm = Suite::by_name("ECDHE-RSA-AES128-GCM-SHA256").unwrap();
        assert_eq!(
            (gcm.code, gcm.iana()),
            (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(
            Suite::by_name("ssl_rsa_with_3des_ede_cbc_sha").unwrap().code,
            0x000A
        );
        assert_eq!(Suite::by_name("DES-CBC3-SHA").unwrap().code, 0x000A);
    }

    #[test]
    fn classes_describe_the_classic_weaknesses() {
        let three_des = Suite::by_name("DES-CBC3-SHA").unwrap();
        for class in [
            WeakClass::TripleDes,
            WeakClass::Cbc,
            WeakClass::RsaKx,
            WeakClass::Sha1,
            WeakClass::Weak,
        ] {
            assert!(three_des.has_class(class), "{class:?}");
        }
        let gcm = Suite::by_name("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap();
        assert!(gcm.classes().is_empty(), "{:?}", gcm.classes());
        assert!(Suite::by_name("RC4-MD5").unwrap().has_class(WeakClass::Rc4));
        assert!(Suite::by_name("EXP-RC4-MD5")
            .unwrap()
            .has_class(WeakClass::Export));
        assert!(Suite::by_name("ADH-AES128-SHA")
            .unwrap()
            .has_class(WeakClass::Anon));
        assert!(Suite::by_name("NULL-SHA256").unwrap().has_class(WeakClass::Null));
        assert_eq!(WeakClass::parse("RSA"), Some(WeakClass::RsaKx));
        assert_eq!(WeakClass::parse("3DES"), Some(WeakClass::TripleDes));
    }

    #[test]
    fn lists_parse_like_nginx_and_name_the_bad_item() {
        let list = parse_list(["ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"]).unwrap();
        assert_eq!(list.iter().map(|s| s.code).collect::<Vec<_>>(), [0xC02B, 0xC02F]);
        let error = parse_list(["ECDHE-RSA-AES128-GCM-SHA256:HIGH"]).unwrap_err();
        assert!(error.contains("`HIGH`"), "{error}");
    }
}
