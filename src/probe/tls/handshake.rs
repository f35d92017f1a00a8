//! The real handshake, made with rustls: negotiated version, suite, group and ALPN, and the facts
//! of the certificate. Verification failures are recorded, not fatal: the verifier below asks
//! webpki for its verdict, keeps it, and lets the handshake go on so the facts can be collected.

use crate::classify;
use crate::outcome::ErrorClass;
use crate::outcome::{Certificate, Handshake, HandshakeFailure, Verification};
use crate::tls::{Suite, Version};
use crate::trust::Trust;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What the verifier saw during the handshake.
#[derive(Debug, Default)]
struct Seen {
    chain: Vec<CertificateDer<'static>>,
    ocsp: bool,
    verdict: Option<Result<(), rustls::Error>>,
}

/// Verifies like the run's verifier would, records the verdict, and accepts anyway.
#[derive(Debug)]
struct Recorder {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Seen>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        // A poisoned lock only means another thread panicked mid-write; the data is still ours.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        seen.ocsp = !ocsp_response.is_empty();
        seen.verdict = Some(verdict);
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

/// Makes one handshake with `server_name` (SNI and the name verified) at `address`.
pub async fn handshake(
    trust: &Trust,
    address: SocketAddr,
    server_name: ServerName<'static>,
    timeout: Duration,
) -> Result<Handshake, HandshakeFailure> {
    let failure = |class, detail: String| HandshakeFailure { class, detail };
    let inner = trust
        .verifier()
        .map_err(|e| failure(ErrorClass::CertInvalid, e.to_string()))?;
    let recorder = Arc::new(Recorder {
        inner,
        seen: Mutex::default(),
    });
    let mut config = trust
        .client_config()
        .map_err(|e| failure(classify::tls_error(&e), classify::tls_words(&e, false)))?;
    config
        .dangerous()
        .set_certificate_verifier(Arc::clone(&recorder) as Arc<dyn ServerCertVerifier>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let connect = async {
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|e| failure(ErrorClass::Io, format!("connect: {e}")))?;
        connector.connect(server_name.clone(), tcp).await.map_err(|e| {
            let class = classify::tls_io_error(&e).unwrap_or(ErrorClass::TlsHandshake);
            failure(
                class,
                format!(
                    "rustls (TLS 1.2/1.3) handshake failed: {}",
                    classify::stream_words(&e)
                ),
            )
        })
    };
    let stream = tokio::time::timeout(timeout, connect).await.map_err(|_| {
        failure(
            ErrorClass::Timeout,
            "no handshake before the check's timeout ran out".to_owned(),
        )
    })??;
    let (_, connection) = stream.get_ref();
    let version = connection
        .protocol_version()
        .and_then(|v| Version::from_wire(u16::from(v)))
        .ok_or_else(|| failure(ErrorClass::TlsHandshake, "no version negotiated".to_owned()))?;
    let suite = connection
        .negotiated_cipher_suite()
        .and_then(|s| Suite::by_code(u16::from(s.suite())))
        .ok_or_else(|| failure(ErrorClass::TlsHandshake, "no suite negotiated".to_owned()))?;
    let group = connection
        .negotiated_key_exchange_group()
        .map(|g| crate::tls::codec::group_name(u16::from(g.name())));
    let alpn = connection
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let seen = std::mem::take(&mut *recorder.seen.lock().unwrap_or_else(|p| p.into_inner()));
    let certificate = seen.chain.first().and_then(|der| certificate(der));
    let self_signed = certificate.as_ref().is_some_and(|c| c.self_signed);
    let (chain, hostname) = verdicts(seen.verdict, seen.chain.first(), &server_name, self_signed);
    Ok(Handshake {
        complete: true,
        version,
        suite,
        group,
        alpn,
        certificate,
        chain_length: seen.chain.len(),
        chain,
        hostname,
        ocsp_stapled: seen.ocsp,
    })
}

/// The certificate of a server rustls cannot handshake with (TLS 1.0/1.1 only, or only suites
/// rustls lacks): a raw hello for `version` offering `suites`, whose answer carries the chain in
/// the clear; verified with the same webpki verifier. There is no group or ALPN to report.
pub async fn legacy_certificate(
    trust: &Trust,
    address: SocketAddr,
    server_name: ServerName<'static>,
    version: Version,
    suite: Suite,
    timeout: Duration,
) -> Result<Handshake, HandshakeFailure> {
    use crate::tls::codec::{self, CertificateFlight as Flight};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let failure = |class, detail: String| HandshakeFailure { class, detail };
    let sni = match &server_name {
        ServerName::DnsName(name) => Some(name.as_ref().to_owned()),
        _ => None,
    };
    let hello = codec::client_hello(&codec::Hello::new(
        version,
        &[suite.code],
        sni.as_deref(),
        [0x5A; 32],
    ));
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(&hello).await?;
        let mut received = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(Flight::NoCertificate);
            }
            received.extend_from_slice(&buf[..n]);
            match codec::certificate_flight(&received) {
                Flight::Incomplete => {}
                done => return Ok(done),
            }
        }
    };
    let chain = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            return Err(failure(
                ErrorClass::Timeout,
                "no certificate before the check's timeout ran out".to_owned(),
            ))
        }
        Ok(Err(e)) => return Err(failure(ErrorClass::Io, format!("reading the certificate: {e}"))),
        Ok(Ok(Flight::Certificates(chain))) if !chain.is_empty() => chain,
        Ok(Ok(_)) => {
            return Err(failure(
                ErrorClass::TlsHandshake,
                format!("the {version} answer carried no certificate"),
            ))
        }
    };
    let chain: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    let verifier = trust
        .verifier()
        .map_err(|e| failure(ErrorClass::CertInvalid, e.to_string()))?;
    let verdict = verifier
        .verify_server_cert(&chain[0], &chain[1..], &server_name, &[], UnixTime::now())
        .map(|_| ());
    let certificate = certificate(&chain[0]);
    let self_signed = certificate.as_ref().is_some_and(|c| c.self_signed);
    let (chain_verdict, hostname) = verdicts(Some(verdict), chain.first(), &server_name, self_signed);
    Ok(Handshake {
        complete: false,
        version,
        suite,
        group: None,
        alpn: None,
        certificate,
        chain_length: chain.len(),
        chain: chain_verdict,
        hostname,
        ocsp_stapled: false,
    })
}

/// Splits webpki's single verdict into chain and name: webpki checks the chain first, so a name
/// error means the chain was fine, and after a chain error the name is checked on its own.
fn verdicts(
    verdict: Option<Result<(), rustls::Error>>,
    leaf: Option<&CertificateDer<'static>>,
    server_name: &ServerName<'_>,
    self_signed: bool,
) -> (Verification, Verification) {
    let invalid = |error: &rustls::Error| Verification::Invalid {
        class: classify::certificate_error(error, self_signed),
        detail: classify::tls_words(error, self_signed),
    };
    match verdict {
        None => {
            let missing = Verification::Invalid {
                class: ErrorClass::CertInvalid,
                detail: "the server sent no certificate".to_owned(),
            };
            (missing.clone(), missing)
        }
        Some(Ok(())) => (Verification::Valid, Verification::Valid),
        Some(Err(error)) if classify::certificate_error(&error, false) == ErrorClass::CertWrongHost => {
            (Verification::Valid, invalid(&error))
        }
        Some(Err(error)) => {
            let name = match leaf.map(rustls::server::ParsedCertificate::try_from) {
                Some(Ok(parsed)) => match rustls::client::verify_server_name(&parsed, server_name) {
                    Ok(()) => Verification::Valid,
                    Err(e) => invalid(&e),
                },
                _ => Verification::Invalid {
                    class: ErrorClass::CertInvalid,
                    detail: "the certificate cannot be parsed".to_owned(),
                },
            };
            (invalid(&error), name)
        }
    }
}

/// The facts of a DER certificate, or None when x509-parser cannot read it.
fn certificate(der: &CertificateDer<'_>) -> Option<Certificate> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => ip_text(bytes),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let spki = cert.public_key();
    let curve = match spki.parsed() {
        Ok(PublicKey::EC(_)) => spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|oid| curve_name(&oid)),
        _ => None,
    };
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_owned(), rsa.key_size()),
        Ok(PublicKey::EC(ec)) => ("EC".to_owned(), ec.key_size()),
        Ok(PublicKey::DSA(y)) => ("DSA".to_owned(), y.len() * 8),
        _ => (oid_name(&spki.algorithm.algorithm), 0),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let not_after = cert.validity().not_after.timestamp();
    let not_before = cert.validity().not_before.timestamp();
    Some(Certificate {
        subject: cert.subject().to_string(),
        sans,
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(cert.validity().not_before.timestamp()),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).div_euclid(86_400),
        key_type,
        key_bits: u32::try_from(key_bits).unwrap_or(0),
        curve,
        signature_algorithm: oid_name(&cert.signature_algorithm.algorithm),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        lifespan_days: (not_after - not_before).div_euclid(86_400),
        serial: cert.raw_serial_as_string(),
        fingerprint_sha256: sha256_hex(der.as_ref()),
        key_sha256: sha256_hex(spki.raw),
    })
}

/// The SECG name of a named curve (`secp256r1`, not X9.62's `prime256v1`), as TLS and Mozilla's
/// guideline name them.
fn curve_name(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    match oid.to_id_string().as_str() {
        "1.2.840.10045.3.1.7" => "secp256r1".to_owned(),
        "1.2.840.10045.3.1.1" => "secp192r1".to_owned(),
        _ => oid_name(oid),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

fn oid_name(oid: &x509_parser::der_parser::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map_or_else(|_| oid.to_id_string(), str::to_owned)
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

fn rfc3339(seconds: i64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}
