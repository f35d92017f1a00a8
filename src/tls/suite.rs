//! One cipher suite and its properties (key exchange, authentication, cipher, MAC, the first
//! version that defines it), and the weakness classes a policy can forbid. The table of every
//! suite is `suite_table.rs`; looking suites up in it is `suites.rs`.

use super::version::Version;
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
    pub(super) iana: Option<&'static str>,
    pub(super) openssl: Option<&'static str>,
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
