//! TLS 1.3 resumption and 0-RTT, with rustls: one connection to receive a session ticket, a
//! second that resumes from it and offers early data (none is sent: the offer and the server's
//! answer in its EncryptedExtensions are what count).

use super::server::{Server, Tls13Seen as Seen};
use super::wire::ProbeError;
use crate::outcome::FeatureValue;
use crate::tls::Version;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, HandshakeKind, NamedGroup, SignatureScheme};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

type Finding = (FeatureValue, String);

pub async fn early_data(server: &Server<'_>) -> Finding {
    if !server.speaks(Version::Tls13) {
        return (
            FeatureValue::No,
            "0-RTT needs TLSv1.3, which the server does not accept".to_owned(),
        );
    }
    match server.tls13.get_or_init(|| probe(server)).await {
        Err(why) => (FeatureValue::Inconclusive, why.to_string()),
        Ok(seen) if seen.tickets == 0 => (
            FeatureValue::No,
            "the server issued no TLSv1.3 session ticket, and 0-RTT needs one".to_owned(),
        ),
        Ok(seen) if seen.max_early_data == 0 => (
            FeatureValue::No,
            "the server's TLSv1.3 tickets allow no early data (max_early_data_size 0)".to_owned(),
        ),
        Ok(seen) if seen.early_accepted => (
            FeatureValue::Yes,
            format!(
                "a TLSv1.3 connection resumed from a ticket offered 0-RTT data and the server accepted it (tickets allow {} bytes)",
                seen.max_early_data
            ),
        ),
        Ok(_) => (
            FeatureValue::No,
            "a TLSv1.3 connection resumed from a ticket offered 0-RTT data and the server declined".to_owned(),
        ),
    }
}

/// Ticket resumption in TLS 1.3, for a server that speaks no older version.
pub async fn tls13_resumption(server: &Server<'_>) -> Finding {
    if !server.speaks(Version::Tls13) {
        return (FeatureValue::Inconclusive, "no version accepted".to_owned());
    }
    match server.tls13.get_or_init(|| probe(server)).await {
        Err(why) => (FeatureValue::Inconclusive, why.to_string()),
        Ok(seen) if seen.tickets == 0 => (
            FeatureValue::No,
            "the server issued no TLSv1.3 session ticket".to_owned(),
        ),
        Ok(seen) => (
            FeatureValue::from_bool(seen.resumed),
            if seen.resumed {
                "a second TLSv1.3 connection offering the first one's ticket was resumed".to_owned()
            } else {
                "a second TLSv1.3 connection offering the first one's ticket got a full handshake".to_owned()
            },
        ),
    }
}

async fn probe(server: &Server<'_>) -> Result<Seen, ProbeError> {
    let store = Arc::new(Store::default());
    let mut config = rustls::ClientConfig::builder_with_provider(crate::trust::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|_| ProbeError::Local("no TLSv1.3 client configuration"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(crate::trust::provider())))
        .with_no_client_auth();
    config.resumption = Resumption::store(Arc::clone(&store) as Arc<dyn ClientSessionStore>);
    config.enable_early_data = true;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = server.server_name.clone();
    let timeout = server.enumerator.timeout;

    let first = async {
        let wire = server.enumerator.wire().await?;
        let (permit, tcp) = wire.into_parts();
        let mut tls = connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| ProbeError::Handshake {
                what: "TLSv1.3 handshake",
                detail: crate::classify::stream_words(&e),
            })?;
        // The tickets come right after the handshake; reading lets rustls take them in.
        let mut buf = [0u8; 1024];
        loop {
            tokio::select! {
                read = tls.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                () = store.arrived.notified() => break,
            }
        }
        // A clean close: servers with anti-replay protection (OpenSSL with early data) forget
        // the tickets of a session that ended without close_notify.
        let _ = tls.shutdown().await;
        drop(permit);
        Ok::<_, ProbeError>(())
    };
    // A server that never sends a ticket leaves the read waiting until the timeout: that is
    // "no ticket", not an error.
    if let Ok(Err(why)) = tokio::time::timeout(timeout, first).await {
        return Err(why);
    }
    let tickets = store.count.load(Ordering::Relaxed);
    let max_early_data = store.max_early_data.load(Ordering::Relaxed);
    if tickets == 0 {
        return Ok(Seen {
            tickets,
            max_early_data,
            resumed: false,
            early_accepted: false,
        });
    }
    let second = async {
        let wire = server.enumerator.wire().await?;
        let (_permit, tcp) = wire.into_parts();
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| ProbeError::Handshake {
                what: "resuming in TLSv1.3",
                detail: crate::classify::stream_words(&e),
            })?;
        let (_, connection) = tls.get_ref();
        Ok::<_, ProbeError>((
            connection.handshake_kind() == Some(HandshakeKind::Resumed),
            connection.is_early_data_accepted(),
        ))
    };
    let (resumed, early_accepted) = tokio::time::timeout(timeout, second)
        .await
        .map_err(|_| ProbeError::NoAnswer(timeout))??;
    Ok(Seen {
        tickets,
        max_early_data,
        resumed,
        early_accepted,
    })
}

/// rustls' memory cache, and word of each ticket as it arrives.
#[derive(Debug)]
struct Store {
    inner: ClientSessionMemoryCache,
    count: AtomicUsize,
    max_early_data: AtomicU32,
    arrived: Notify,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            inner: ClientSessionMemoryCache::new(8),
            count: AtomicUsize::new(0),
            max_early_data: AtomicU32::new(0),
            arrived: Notify::new(),
        }
    }
}

impl ClientSessionStore for Store {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.inner.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.inner.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.inner.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.inner.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.inner.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(&self, server_name: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_early_data
            .fetch_max(value.max_early_data_size(), Ordering::Relaxed);
        self.inner.insert_tls13_ticket(server_name, value);
        self.arrived.notify_one();
    }

    fn take_tls13_ticket(&self, server_name: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(server_name)
    }
}

/// Accepts any certificate (the real handshake judges it); signatures are still checked, so the
/// handshake is a real one.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
