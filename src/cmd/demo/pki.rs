//! The demo's throw-away certificate authority, made anew at each run and never written
//! anywhere but a temporary file for `--ca-file`: a CA and one ECDSA P-256 leaf for every name
//! the demo serves, valid for 90 days (Mozilla's guideline allows at most 366).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and a leaf it signed, ready for a rustls server.
pub struct DemoPki {
    pub ca_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl DemoPki {
    /// A CA and a leaf for `names`.
    pub fn new(names: &[&str]) -> Result<DemoPki, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "reach demo CA (throw-away)");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("reach demo"));
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(90);
        let leaf = params.signed_by(&key, &ca)?;
        Ok(DemoPki {
            ca_pem: ca.pem(),
            chain: vec![leaf.der().clone(), ca.der().clone()],
            key_der: key.serialize_der(),
        })
    }

    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}
