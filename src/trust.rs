//! Which certificate authorities a run trusts: the system's store by default, or exactly the ones
//! in `--ca-file` (that is how tests and air-gapped staging point reach at their own CA).
//!
//! Loaded once per run, before any probe (the system store only when some check may verify a
//! certificate), so a missing or empty CA file is a usage error.
//! Every TLS user (handshake facts, HTTP, endpoints) builds its rustls config from here, so all
//! agree on roots and on the crypto provider (ring).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the trusted roots came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    System,
    File(PathBuf),
}

/// The trusted roots of a run.
#[derive(Debug, Clone)]
pub struct Trust {
    pub roots: Arc<RootCertStore>,
    /// The trusted certificates themselves: a server may present one of them as its own
    /// certificate (a self-signed one made with `openssl req -x509`), and curl trusts that.
    pub anchors: Arc<Vec<CertificateDer<'static>>>,
    pub source: TrustSource,
}

impl Default for Trust {
    /// No roots at all: nothing verifies. For runs that make no TLS connection, and tests; the
    /// others get [`Trust::system`] or [`Trust::from_pem_file`] (see `cmd::session`).
    fn default() -> Self {
        Trust {
            roots: Arc::new(RootCertStore::empty()),
            anchors: Arc::new(Vec::new()),
            source: TrustSource::System,
        }
    }
}

impl Trust {
    /// The operating system's store. Unreadable entries are skipped: a host with a partly broken
    /// store can still verify what its good roots cover, and failures then say "unknown issuer".
    pub fn system() -> Trust {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs.iter().cloned());
        Trust {
            roots: Arc::new(roots),
            anchors: Arc::new(found.certs),
            source: TrustSource::System,
        }
    }

    pub fn from_pem_file(path: &Path) -> Result<Trust, TrustError> {
        let at = || path.to_owned();
        let text = crate::input::read(path).map_err(|source| TrustError::Read { path: at(), source })?;
        let certs = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TrustError::Pem { path: at(), source })?;
        let mut roots = RootCertStore::empty();
        let (added, rejected) = roots.add_parsable_certificates(certs.iter().cloned());
        if rejected > 0 {
            return Err(TrustError::Unusable { path: at(), rejected });
        }
        if added == 0 {
            return Err(TrustError::Empty { path: at() });
        }
        Ok(Trust {
            roots: Arc::new(roots),
            anchors: Arc::new(certs),
            source: TrustSource::File(path.to_owned()),
        })
    }

    /// The verifier every TLS user of a run shares: webpki against these roots, and a server
    /// certificate that is itself one of the trusted certificates is trusted too.
    pub fn verifier(&self) -> Result<Arc<dyn ServerCertVerifier>, rustls::Error> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::clone(&self.roots), provider())
            .build()
            .map_err(|e| rustls::Error::General(format!("no usable trust anchors: {e}")))?;
        Ok(Arc::new(AnchorVerifier {
            inner,
            anchors: Arc::clone(&self.anchors),
        }))
    }

    /// A rustls client config that verifies against these roots, with reach's crypto provider.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        Ok(rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.verifier()?)
            .with_no_client_auth())
    }
}

/// webpki, plus curl's rule for a server certificate that is itself a trust anchor. webpki
/// refuses such a certificate when it says CA:TRUE (`openssl req -x509` makes exactly that);
/// curl, with OpenSSL, accepts it if it is in the CA file, in date, and names the server.
#[derive(Debug)]
struct AnchorVerifier {
    inner: Arc<WebPkiServerVerifier>,
    anchors: Arc<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for AnchorVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let error =
            match self
                .inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            {
                Ok(verified) => return Ok(verified),
                Err(error) => error,
            };
        let is_anchor = self.anchors.iter().any(|a| a.as_ref() == end_entity.as_ref());
        let used_as_leaf = matches!(
            &error,
            rustls::Error::InvalidCertificate(CertificateError::Other(other))
                if format!("{other:?}").contains("CaUsedAsEndEntity")
        );
        if !used_as_leaf {
            return Err(error);
        }
        if !is_anchor {
            // A CA certificate nobody trusts: for a self-signed one that is simply an unknown
            // issuer (reported as self-signed), not a misuse of a CA.
            return Err(if self_issued(end_entity) {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            } else {
                error
            });
        }
        check_dates(end_entity, now)?;
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn self_issued(der: &CertificateDer<'_>) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(der.as_ref())
        .is_ok_and(|(_, cert)| cert.subject().as_raw() == cert.issuer().as_raw())
}

fn check_dates(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = cert.validity();
    let at =
        |t: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(t).unwrap_or(0)));
    let now_time = at(now);
    if now < validity.not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYetContext {
                time: now_time,
                not_before: at(validity.not_before.timestamp()),
            },
        ));
    }
    if now > validity.not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext {
                time: now_time,
                not_after: at(validity.not_after.timestamp()),
            },
        ));
    }
    Ok(())
}

/// Why a `--ca-file` cannot be used; nothing is probed then.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("--ca-file: {source}")]
    Read {
        path: PathBuf,
        source: crate::input::InputError,
    },
    #[error("--ca-file {} is not valid PEM: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("--ca-file {}: {rejected} certificate(s) could not be used as trust anchors", path.display())]
    Unusable { path: PathBuf, rejected: usize },
    #[error("--ca-file {} holds no certificate", path.display())]
    Empty { path: PathBuf },
}

/// The one crypto provider reach uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_with_its_name() {
        let missing = Trust::from_pem_file(Path::new("/no/such/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/no/such/ca.pem"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let error = Trust::from_pem_file(&empty).unwrap_err().to_string();
        assert!(error.contains("holds no certificate"), "{error}");
    }
}
