//! A test PKI generated at test time with rcgen (nothing committed): a CA, and leaf certificates
//! that are valid, expired, for the wrong host, or self-signed, with ECDSA P-256 or RSA keys.
//! ring cannot generate RSA keys, so RSA keys come from `openssl genpkey` (Debian's openssl is a
//! test dependency anyway, for the legacy-TLS server).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ecdsa,
    Rsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// Signed by the CA, names `localhost` and 127.0.0.1, valid for a year.
    Valid,
    /// Signed by the CA, ended in 2020.
    Expired,
    /// Signed by the CA, valid from 2090.
    NotYetValid,
    /// Signed by the CA, names only `other.test`.
    WrongHost,
    /// Signs itself; the CA file does not include it.
    SelfSigned,
}

/// A certificate chain and its key, ready for a rustls server or `openssl s_server`.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// Writes cert.pem and key.pem into `dir` for `openssl s_server`.
    pub fn write(&self, dir: &std::path::Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}-cert.pem"));
        let key = dir.join(format!("{stem}-key.pem"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// A CA (ECDSA P-256) that signs test leaves.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        Pki::named("reach test CA")
    }

    /// A CA with its own subject. Two CAs with the same subject would make a verifier pick the
    /// wrong one by name and report a bad signature rather than an unknown issuer.
    pub fn named(common_name: &str) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, ca_key).expect("CA certificate");
        Pki { ca }
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    pub fn leaf(&self, kind: LeafKind, key: KeyKind) -> Leaf {
        match kind {
            LeafKind::WrongHost => self.leaf_for(&["other.test"], kind, key),
            _ => self.leaf_for(&["localhost", "127.0.0.1"], kind, key),
        }
    }

    /// A leaf for `names` (DNS names, or IP addresses as text); `kind` only sets its validity
    /// and signer (a `WrongHost` leaf is whatever `names` says).
    pub fn leaf_for(&self, names: &[&str], kind: LeafKind, key: KeyKind) -> Leaf {
        let key_pair = match key {
            KeyKind::Ecdsa => KeyPair::generate().expect("ECDSA key"),
            KeyKind::Rsa => KeyPair::from_pem(&rsa_key_pem()).expect("RSA key"),
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = names
            .iter()
            .map(|name| match name.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().expect("a valid DNS name")),
            })
            .collect();
        params
            .distinguished_name
            .push(DnType::CommonName, "reach test server");
        match kind {
            LeafKind::Expired => {
                params.not_before = rcgen::date_time_ymd(2019, 1, 1);
                params.not_after = rcgen::date_time_ymd(2020, 1, 1);
            }
            LeafKind::NotYetValid => {
                params.not_before = rcgen::date_time_ymd(2090, 1, 1);
                params.not_after = rcgen::date_time_ymd(2091, 1, 1);
            }
            _ => {
                let now = time::OffsetDateTime::now_utc();
                params.not_before = now - time::Duration::days(1);
                params.not_after = now + time::Duration::days(365);
            }
        }
        let cert = match kind {
            LeafKind::SelfSigned => params.self_signed(&key_pair),
            _ => params.signed_by(&key_pair, &self.ca),
        }
        .expect("leaf certificate");
        Leaf {
            chain: vec![cert.der().clone()],
            key_der: key_pair.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key_pair.serialize_pem(),
        }
    }
}

/// A fresh 2048-bit RSA key in PKCS#8 PEM.
fn rsa_key_pem() -> String {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl (Debian package `openssl`) is needed for RSA test keys");
    assert!(out.status.success(), "openssl genpkey failed");
    String::from_utf8(out.stdout).unwrap()
}
