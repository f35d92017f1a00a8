//! Which certificate authorities a run trusts: the system's store by default, or exactly the ones
//! in `--ca-file` (that is how tests and air-gapped staging point reach at their own CA).
//!
//! Loaded once per run, before any probe (the system store only when some check may verify a
//! certificate), so a missing or empty CA file is a usage error.
//! Every TLS user (handshake facts, HTTP, endpoints) builds its rustls config from here, so all
//! agree on roots and on the crypto provider (ring).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
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
    pub source: TrustSource,
}

impl Default for Trust {
    /// No roots at all: nothing verifies. For runs that make no TLS connection, and tests; the
    /// others get [`Trust::system`] or [`Trust::from_pem_file`] (see `cmd::session`).
    fn default() -> Self {
        Trust {
            roots: Arc::new(RootCertStore::empty()),
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
        roots.add_parsable_certificates(found.certs);
        Trust {
            roots: Arc::new(roots),
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
        let (added, rejected) = roots.add_parsable_certificates(certs);
        if rejected > 0 {
            return Err(TrustError::Unusable { path: at(), rejected });
        }
        if added == 0 {
            return Err(TrustError::Empty { path: at() });
        }
        Ok(Trust {
            roots: Arc::new(roots),
            source: TrustSource::File(path.to_owned()),
        })
    }

    /// A rustls client config that verifies against these roots, with reach's crypto provider.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, rustls::Error> {
        Ok(rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(Arc::clone(&self.roots))
            .with_no_client_auth())
    }
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
