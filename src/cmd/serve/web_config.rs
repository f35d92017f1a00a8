//! `--web.config.file`: TLS and HTTP basic authentication for `reach serve`, read from a file in
//! the format of the Prometheus exporter toolkit (the one node_exporter and blackbox_exporter
//! read), so existing files carry over. docs/metrics.md lists every key and what reach does with
//! it; `deploy/web-config.example.yml` is an example.
//!
//! The file is checked whole when it is loaded: unknown keys, unreadable certificates, a key that
//! does not match its certificate, names rustls does not implement and malformed bcrypt hashes
//! are errors naming `file:line:column`, so a broken file stops the exporter at start (exit 2)
//! or is refused by a reload instead of failing one scrape at a time. Relative paths are read
//! from the directory of the file, as the toolkit does.

use crate::input::{self, InputError};
use crate::spec::{Locator, SpecError};
use crate::tls::Suite;
use http::{HeaderName, HeaderValue};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Node, Span};
use ring::hmac;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring as ring_provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_rustls::TlsAcceptor;

/// The challenge of a 401 answer, as the toolkit sends it.
pub const WWW_AUTHENTICATE: &str = "Basic";

/// A loaded and checked web configuration. Cheap to share behind an `Arc`; a reload builds a new
/// one (and with it an empty cache of verified passwords).
pub struct WebConfig {
    file: PathBuf,
    tls: Option<Tls>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    basic_auth: Option<BasicAuth>,
}

struct Tls {
    acceptor: TlsAcceptor,
    client_certificates: ClientAuth,
}

/// Why a web configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("--web.config.file: {0}")]
    Read(#[from] InputError),
    /// A problem at a place in the file: `file:line:column: message`, with the line quoted.
    #[error("{0}")]
    At(SpecError),
}

impl WebConfigError {
    /// The 1-based line the error points at, when it points into the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            WebConfigError::Read(_) => None,
            WebConfigError::At(error) => Some(error.line),
        }
    }
}

/// Reads, checks and prepares the web configuration at `path`: certificates and keys are loaded
/// and matched, the client CA is loaded, the TLS settings are turned into a rustls server
/// configuration, bcrypt hashes are checked.
pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
    let text = input::read_text(path)?;
    let file = path.display().to_string();
    let directory = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let reader = Reader {
        locator: Locator::new(&file, &text),
        text: &text,
        directory,
    };
    let root = reader.parse()?;
    let raw = match &root {
        Some(root) => reader.document(root)?,
        None => Raw::default(),
    };
    let tls = match &raw.tls {
        Some(section) => reader.tls(section, raw.http2)?,
        None => None,
    };
    Ok(WebConfig {
        file: path.to_owned(),
        tls,
        http2: raw.http2,
        headers: raw.headers,
        basic_auth: raw.users.map(BasicAuth::new),
    })
}

impl WebConfig {
    /// The acceptor for TLS connections, or `None` when the file configures no TLS (plain HTTP).
    /// ALPN offers `h2` only when `http_server_config.http2` allows it.
    pub fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        self.tls.as_ref().map(|tls| tls.acceptor.clone())
    }

    /// Whether a request with this `Authorization` header may be served: always when no
    /// `basic_auth_users` are configured; otherwise only with HTTP basic credentials of a
    /// configured user whose password matches its bcrypt hash.
    ///
    /// The first check of a user and password costs one bcrypt verification (tens of
    /// milliseconds at cost 10; one at a time, as the toolkit does, so that a burst of new
    /// scrapers cannot take every core) and blocks the calling thread: on an async runtime call it
    /// through `spawn_blocking` or `block_in_place`. The answer is then cached, so a scraper
    /// that sends the same credentials every time pays for bcrypt once.
    pub fn authorize(&self, authorization: Option<&HeaderValue>) -> bool {
        match &self.basic_auth {
            None => true,
            Some(auth) => authorization
                .and_then(|value| basic_credentials(value.as_bytes()))
                .is_some_and(|(user, password)| auth.verify(&user, &password)),
        }
    }

    /// [`authorize`](Self::authorize)'s answer when it costs no bcrypt: no users configured, no
    /// or malformed credentials, or credentials already verified. `None` when a bcrypt
    /// verification is due, which the caller runs where blocking is allowed.
    pub fn authorize_cached(&self, authorization: Option<&HeaderValue>) -> Option<bool> {
        let Some(auth) = &self.basic_auth else {
            return Some(true);
        };
        let Some((user, password)) = authorization.and_then(|value| basic_credentials(value.as_bytes()))
        else {
            return Some(false);
        };
        auth.cached(&auth.cache_key(&user, auth.hash_for(&user).0, &password))
    }

    /// Whether requests need basic authentication (`basic_auth_users` is not empty).
    pub fn requires_auth(&self) -> bool {
        self.basic_auth.is_some()
    }

    /// Whether HTTP/2 may be negotiated (over TLS, by ALPN); the toolkit never speaks cleartext
    /// HTTP/2, and neither does reach.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// The headers `http_server_config.headers` adds to every response.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// One line for the log: `TLS (client certificates required), basic auth for 2 users, HTTP/2`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.tls {
            None => parts.push("plain HTTP".to_owned()),
            Some(tls) => parts.push(match tls.client_certificates {
                ClientAuth::None => "TLS".to_owned(),
                ClientAuth::IfGiven => "TLS (client certificates verified when sent)".to_owned(),
                ClientAuth::Required => "TLS (client certificates required)".to_owned(),
            }),
        }
        if let Some(auth) = &self.basic_auth {
            let n = auth.users.len();
            parts.push(format!(
                "basic auth for {n} user{}",
                if n == 1 { "" } else { "s" }
            ));
        }
        if self.tls.is_some() && self.http2 {
            parts.push("HTTP/2".to_owned());
        }
        parts.join(", ")
    }
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No hashes, no keys: only what the configuration does.
        f.debug_struct("WebConfig")
            .field("file", &self.file)
            .field("describe", &self.describe())
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the file

/// The top-level sections, as read; TLS is kept as nodes until the HTTP/2 flag is known.
struct Raw<'a> {
    tls: Option<Section<'a>>,
    http2: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    users: Option<BTreeMap<String, String>>,
}

impl Default for Raw<'_> {
    /// The toolkit's defaults: plain HTTP, HTTP/2 allowed, no headers, no authentication.
    fn default() -> Self {
        Raw {
            tls: None,
            http2: true,
            headers: Vec::new(),
            users: None,
        }
    }
}

/// A mapping of the file together with the key that introduced it, for errors about the section
/// as a whole ("TLS needs a key").
struct Section<'a> {
    /// `None` for the top level.
    key: Option<&'a MarkedScalarNode>,
    entries: Vec<(&'a MarkedScalarNode, &'a Node)>,
}

impl<'a> Section<'a> {
    fn get(&self, name: &str) -> Option<(&'a MarkedScalarNode, &'a Node)> {
        self.entries.iter().find(|(key, _)| key.as_str() == name).copied()
    }
}

struct Reader<'a> {
    locator: Locator<'a>,
    text: &'a str,
    directory: PathBuf,
}

const SECTIONS: &[&str] = &["tls_server_config", "http_server_config", "basic_auth_users"];
const TLS_KEYS: &[&str] = &[
    "cert_file",
    "key_file",
    "cert",
    "key",
    "client_auth_type",
    "client_ca_file",
    "client_ca",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
];
const HTTP_KEYS: &[&str] = &["http2", "headers"];

/// The response headers the toolkit lets a file set, and the values each accepts (any when
/// empty). The list is the toolkit's, so that files mean the same to every exporter.
const HEADERS: &[(&str, &[&str])] = &[
    ("Content-Security-Policy", &[]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-XSS-Protection", &[]),
    ("Strict-Transport-Security", &[]),
];

impl<'a> Reader<'a> {
    /// The file's node tree; `None` for a file of only comments and blank lines, which the
    /// toolkit accepts as plain HTTP without authentication.
    fn parse(&self) -> Result<Option<Node>, WebConfigError> {
        let empty = self.text.lines().all(|line| {
            let line = line.trim();
            line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
        });
        if empty {
            return Ok(None);
        }
        let options = LoaderOptions::default().error_on_duplicate_keys(true);
        marked_yaml::parse_yaml_with_options(0, self.text, options)
            .map(Some)
            .map_err(|error| self.load_error(&error))
    }

    fn document(&self, root: &'a Node) -> Result<Raw<'a>, WebConfigError> {
        let mut raw = Raw::default();
        let top = self.section(None, root)?;
        for (key, value) in &top.entries {
            match key.as_str() {
                "tls_server_config" => {
                    let section = self.section(Some(key), value)?;
                    self.only(&section, "tls_server_config", TLS_KEYS)?;
                    if !section.entries.is_empty() {
                        raw.tls = Some(section);
                    }
                }
                "http_server_config" => {
                    let section = self.section(Some(key), value)?;
                    self.only(&section, "http_server_config", HTTP_KEYS)?;
                    if let Some((_, node)) = section.get("http2") {
                        raw.http2 = self.boolean(node, "http_server_config.http2")?;
                    }
                    if let Some((key, node)) = section.get("headers") {
                        raw.headers = self.headers(key, node)?;
                    }
                }
                "basic_auth_users" => {
                    let section = self.section(Some(key), value)?;
                    raw.users = self.users(&section)?;
                }
                "rate_limit" => {
                    return Err(self.at_scalar(
                        key,
                        "rate_limit is a key of the exporter toolkit that reach does not \
                         implement: limit the request rate in front of reach (Prometheus \
                         scrapes at a fixed interval anyway)",
                    ))
                }
                other => {
                    return Err(self.at_scalar(
                        key,
                        format!("unknown key `{other}`: the sections are {}", list(SECTIONS)),
                    ))
                }
            }
        }
        Ok(raw)
    }

    fn load_error(&self, error: &LoadError) -> WebConfigError {
        let (marker, message) = match error {
            LoadError::TopLevelMustBeMapping(m) => {
                (*m, "the file must be a YAML mapping of sections".to_owned())
            }
            LoadError::UnexpectedAnchor(m) => {
                (*m, "YAML anchors and aliases are not supported here".to_owned())
            }
            LoadError::MappingKeyMustBeScalar(m) => (*m, "keys must be plain strings".to_owned()),
            LoadError::UnexpectedTag(m) => (*m, "YAML tags are not supported here".to_owned()),
            LoadError::ScanError(m, scan) => (
                *m,
                format!("not valid YAML: {}", without_position(&scan.to_string())),
            ),
            LoadError::DuplicateKey(inner) => {
                let first = inner.prev_key.span().start().map_or(0, |m| m.line());
                let key = &inner.key;
                return self.at_scalar(
                    key,
                    format!("`{}` is given twice (first on line {first})", key.as_str()),
                );
            }
            other => {
                // Variants this loader never produces (TopLevelMustBeSequence) or added later.
                return WebConfigError::At(self.locator.error(0..0, other.to_string()));
            }
        };
        let offset = self.byte_offset(marker.character());
        WebConfigError::At(self.locator.error(offset..offset + 1, message))
    }

    /// A mapping, with its keys in file order; YAML's null (`key:` with nothing after it) is an
    /// empty mapping, as the toolkit reads it.
    fn section(
        &self,
        key: Option<&'a MarkedScalarNode>,
        node: &'a Node,
    ) -> Result<Section<'a>, WebConfigError> {
        let what = key.map_or("the file", |k| k.as_str());
        match node {
            Node::Mapping(mapping) => Ok(Section {
                key,
                entries: entries(mapping),
            }),
            Node::Scalar(scalar) if is_null(scalar) => Ok(Section {
                key,
                entries: Vec::new(),
            }),
            _ => Err(self.at_node(node, format!("`{what}` must be a mapping of keys to values"))),
        }
    }

    /// Refuses keys outside `allowed` in `section`.
    fn only(&self, section: &Section<'a>, name: &str, allowed: &[&str]) -> Result<(), WebConfigError> {
        for (key, _) in &section.entries {
            if !allowed.contains(&key.as_str()) {
                return Err(self.at_scalar(
                    key,
                    format!(
                        "unknown key `{}` in {name}: the keys are {}",
                        key.as_str(),
                        list(allowed)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn string(&self, node: &'a Node, what: &str) -> Result<&'a MarkedScalarNode, WebConfigError> {
        match node {
            Node::Scalar(scalar) => Ok(scalar),
            _ => Err(self.at_node(node, format!("{what} must be a string"))),
        }
    }

    fn boolean(&self, node: &'a Node, what: &str) -> Result<bool, WebConfigError> {
        self.string(node, what)?
            .as_bool()
            .ok_or_else(|| self.at_node(node, format!("{what} must be true or false")))
    }

    fn strings(&self, node: &'a Node, what: &str) -> Result<Vec<&'a MarkedScalarNode>, WebConfigError> {
        match node {
            Node::Sequence(items) => sequence(items)
                .map(|item| self.string(item, &format!("every item of {what}")))
                .collect(),
            Node::Scalar(scalar) if is_null(scalar) => Ok(Vec::new()),
            _ => Err(self.at_node(node, format!("{what} must be a list"))),
        }
    }

    fn headers(
        &self,
        key: &'a MarkedScalarNode,
        node: &'a Node,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
        let section = self.section(Some(key), node)?;
        let mut headers = Vec::new();
        for (name, value) in &section.entries {
            let Some((canonical, allowed)) = HEADERS.iter().find(|(h, _)| *h == name.as_str())
            // exact, as the toolkit matches them
            else {
                return Err(self.at_scalar(
                    name,
                    format!(
                        "the header {} cannot be set: the toolkit allows only {}",
                        name.as_str(),
                        list(&HEADERS.iter().map(|(h, _)| *h).collect::<Vec<_>>())
                    ),
                ));
            };
            let value = self.string(value, &format!("the header {canonical}"))?;
            if is_null(value) || value.as_str().is_empty() {
                continue; // "Unset if blank" (toolkit docs)
            }
            if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
                return Err(self.at_scalar(
                    value,
                    format!(
                        "{canonical} must be {}, not `{}`",
                        list_or(allowed),
                        value.as_str()
                    ),
                ));
            }
            let header_value = HeaderValue::from_str(value.as_str())
                .map_err(|_| self.at_scalar(value, format!("{canonical}: not a valid header value")))?;
            // from_bytes lower-cases the toolkit's spelling, as HTTP/2 requires.
            let name =
                HeaderName::from_bytes(canonical.as_bytes()).expect("the table holds valid header names");
            headers.push((name, header_value));
        }
        Ok(headers)
    }

    fn users(&self, section: &Section<'a>) -> Result<Option<BTreeMap<String, String>>, WebConfigError> {
        let mut users = BTreeMap::new();
        for (user, hash) in &section.entries {
            let hash = self.string(hash, &format!("the hash of {}", user.as_str()))?;
            if user.as_str().contains(':') {
                // Basic auth splits user and password at the first colon.
                return Err(self.at_scalar(user, "a user name cannot contain `:` (HTTP basic auth)"));
            }
            check_bcrypt(hash.as_str()).map_err(|why| {
                self.at_scalar(
                    hash,
                    format!("the password of {} must be a bcrypt hash: {why}", user.as_str()),
                )
            })?;
            users.insert(user.as_str().to_owned(), hash.as_str().to_owned());
        }
        // No users: no authentication, as in the toolkit.
        Ok((!users.is_empty()).then_some(users))
    }

    // --- TLS ------------------------------------------------------------------------------------

    fn tls(&self, section: &Section<'a>, http2: bool) -> Result<Option<Tls>, WebConfigError> {
        let provider = self.provider(section)?;
        let versions = self.versions(section)?;
        let certified = self.certified_key(section, &provider)?;
        self.check_suites_fit_key(section, &provider, &versions, &certified)?;
        let (verifier, client_certificates) = self.client_verifier(section, &provider)?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&versions)
            .map_err(|error| self.at_key(section.key, format!("tls_server_config: {error}")))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        config.ignore_client_order = match section.get("prefer_server_cipher_suites") {
            Some((_, node)) => self.boolean(node, "prefer_server_cipher_suites")?,
            None => true,
        };
        config.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Some(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            client_certificates,
        }))
    }

    /// reach's crypto provider, with `cipher_suites` and `curve_preferences` applied.
    fn provider(&self, section: &Section<'a>) -> Result<CryptoProvider, WebConfigError> {
        let mut provider = ring_provider::default_provider();
        if let Some((_, node)) = section.get("cipher_suites") {
            let mut tls12 = Vec::new();
            for name in self.strings(node, "cipher_suites")? {
                let suite = Suite::by_name(name.as_str())
                    .ok_or_else(|| self.at_scalar(name, format!("unknown cipher suite {}", name.as_str())))?;
                if suite.is_tls13() {
                    // Go ignores TLS 1.3 suites in this list (they are not configurable); so does
                    // reach, so that a file written for node_exporter loads unchanged.
                    continue;
                }
                let supported = provider
                    .cipher_suites
                    .iter()
                    .find(|s| u16::from(s.suite()) == suite.code)
                    .copied()
                    .ok_or_else(|| {
                        self.at_scalar(
                            name,
                            format!(
                                "{} is not implemented by rustls, reach's TLS library; the TLS 1.2 \
                                 suites it can serve are {}",
                                suite.iana(),
                                list(&tls12_suite_names(&provider))
                            ),
                        )
                    })?;
                if !tls12.contains(&supported) {
                    tls12.push(supported);
                }
            }
            if !tls12.is_empty() {
                // TLS 1.3 suites first (rustls's own order), then the listed ones in the file's
                // order, which is the server's preference when prefer_server_cipher_suites holds.
                let mut suites: Vec<SupportedCipherSuite> = provider
                    .cipher_suites
                    .iter()
                    .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
                    .copied()
                    .collect();
                suites.extend(tls12);
                provider.cipher_suites = suites;
            }
        }
        if let Some((_, node)) = section.get("curve_preferences") {
            let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
            for name in self.strings(node, "curve_preferences")? {
                let group: &'static dyn SupportedKxGroup = match name.as_str() {
                    "X25519" => ring_provider::kx_group::X25519,
                    "CurveP256" => ring_provider::kx_group::SECP256R1,
                    "CurveP384" => ring_provider::kx_group::SECP384R1,
                    "CurveP521" => {
                        return Err(self.at_scalar(
                            name,
                            "CurveP521 is not implemented by rustls, reach's TLS library: use \
                             X25519, CurveP256 or CurveP384",
                        ))
                    }
                    other => {
                        return Err(self.at_scalar(
                            name,
                            format!("unknown curve {other}: use X25519, CurveP256 or CurveP384"),
                        ))
                    }
                };
                if !groups.iter().any(|g| g.name() == group.name()) {
                    groups.push(group);
                }
            }
            if !groups.is_empty() {
                provider.kx_groups = groups;
            }
        }
        Ok(provider)
    }

    fn versions(
        &self,
        section: &Section<'a>,
    ) -> Result<Vec<&'static SupportedProtocolVersion>, WebConfigError> {
        let version =
            |key: &str, default: u8| -> Result<(u8, Option<&'a MarkedScalarNode>), WebConfigError> {
                let Some((_, node)) = section.get(key) else {
                    return Ok((default, None));
                };
                let value = self.string(node, key)?;
                let number = match value.as_str() {
                    "TLS12" => 12,
                    "TLS13" => 13,
                    "TLS10" | "TLS11" => {
                        return Err(self.at_scalar(
                            value,
                            format!(
                                "{} is not implemented by rustls, reach's TLS library: use TLS12 or TLS13",
                                value.as_str()
                            ),
                        ))
                    }
                    other => {
                        return Err(
                            self.at_scalar(value, format!("unknown TLS version {other}: use TLS12 or TLS13"))
                        )
                    }
                };
                Ok((number, Some(value)))
            };
        let (min, _) = version("min_version", 12)?;
        let (max, max_node) = version("max_version", 13)?;
        if min > max {
            let message = format!("max_version TLS{max} is below min_version TLS{min}");
            return Err(match max_node {
                Some(node) => self.at_scalar(node, message),
                None => self.at_key(section.key, message),
            });
        }
        Ok([(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(n, _)| (min..=max).contains(n))
            .map(|(_, v)| v)
            .collect())
    }

    /// The certificate chain and key, from `cert_file`/`key_file` or inline `cert`/`key`, checked
    /// to belong together.
    fn certified_key(
        &self,
        section: &Section<'a>,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, WebConfigError> {
        let cert = self.pem_source(section, "cert_file", "cert", "certificate")?;
        let key = self.pem_source(section, "key_file", "key", "private key")?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert.bytes)
            .collect::<Result<_, _>>()
            .map_err(|error| cert.error(self, format!("not valid PEM: {error}")))?;
        if chain.is_empty() {
            return Err(cert.error(self, "holds no certificate (PEM `BEGIN CERTIFICATE`)".to_owned()));
        }
        let key_der = PrivateKeyDer::from_pem_slice(&key.bytes)
            .map_err(|error| key.error(self, format!("holds no usable private key: {error}")))?;
        let signing_key = provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|error| key.error(self, format!("the private key cannot be used: {error}")))?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            Ok(()) => Ok(certified),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
            Err(rustls::Error::InconsistentKeys(_)) => Err(key.error(
                self,
                format!(
                    "the private key does not belong to the certificate of {}",
                    cert.name()
                ),
            )),
            Err(error) => Err(cert.error(self, format!("the certificate cannot be used: {error}"))),
        }
    }

    /// With `cipher_suites` set and TLS 1.2 allowed, at least one listed suite must sign with the
    /// certificate's key type: otherwise every TLS 1.2 client would fail its handshake.
    fn check_suites_fit_key(
        &self,
        section: &Section<'a>,
        provider: &CryptoProvider,
        versions: &[&'static SupportedProtocolVersion],
        certified: &CertifiedKey,
    ) -> Result<(), WebConfigError> {
        let Some((key, _)) = section.get("cipher_suites") else {
            return Ok(());
        };
        if !versions.contains(&&rustls::version::TLS12) {
            return Ok(());
        }
        let algorithm = certified.key.algorithm();
        let fits = provider.cipher_suites.iter().any(|suite| {
            matches!(suite, SupportedCipherSuite::Tls12(_)) && suite.usable_for_signature_algorithm(algorithm)
        });
        if fits {
            Ok(())
        } else {
            Err(self.at_scalar(
                key,
                format!("no suite of cipher_suites can be used with the certificate's {algorithm:?} key"),
            ))
        }
    }

    fn client_verifier(
        &self,
        section: &Section<'a>,
        provider: &CryptoProvider,
    ) -> Result<(Arc<dyn ClientCertVerifier>, ClientAuth), WebConfigError> {
        let auth_node = match section.get("client_auth_type") {
            Some((_, node)) => Some(self.string(node, "client_auth_type")?),
            None => None,
        };
        let auth = match auth_node.map(|n| n.as_str()) {
            None | Some("NoClientCert") => ClientAuth::None,
            Some("VerifyClientCertIfGiven") => ClientAuth::IfGiven,
            Some("RequireAndVerifyClientCert") => ClientAuth::Required,
            Some(unverified @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert")) => {
                return Err(self.at_scalar(
                    auth_node.expect("matched a value"),
                    format!(
                        "{unverified} accepts client certificates without verifying them, which \
                         authenticates nobody: reach refuses it; use RequireAndVerifyClientCert \
                         with client_ca_file"
                    ),
                ))
            }
            Some(other) => {
                return Err(self.at_scalar(
                    auth_node.expect("matched a value"),
                    format!(
                        "unknown client_auth_type {other}: use NoClientCert, \
                         VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                    ),
                ))
            }
        };
        let ca = self.optional_pem_source(section, "client_ca_file", "client_ca", "client CA")?;
        let sans = match section.get("client_allowed_sans") {
            Some((key, node)) => Some((key, self.strings(node, "client_allowed_sans")?)),
            None => None,
        };
        if auth == ClientAuth::None {
            if let Some(ca) = &ca {
                return Err(ca.error(
                    self,
                    "a client CA is set but client_auth_type is NoClientCert: set \
                     client_auth_type: RequireAndVerifyClientCert"
                        .to_owned(),
                ));
            }
            if let Some((key, _)) = &sans {
                return Err(self.at_scalar(
                    key,
                    "client_allowed_sans needs client certificates: set client_auth_type: \
                     RequireAndVerifyClientCert",
                ));
            }
            return Ok((WebPkiClientVerifier::no_client_auth(), auth));
        }
        let Some(ca) = ca else {
            let node = auth_node.expect("a client auth type other than NoClientCert was given");
            return Err(self.at_scalar(
                node,
                format!(
                    "{} needs client_ca_file (or client_ca): the CA that client certificates must chain to",
                    node.as_str()
                ),
            ));
        };
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&ca.bytes)
            .collect::<Result<_, _>>()
            .map_err(|error| ca.error(self, format!("not valid PEM: {error}")))?;
        let mut roots = RootCertStore::empty();
        let (added, rejected) = roots.add_parsable_certificates(certificates);
        if rejected > 0 {
            return Err(ca.error(self, format!("{rejected} certificate(s) cannot be used as a CA")));
        }
        if added == 0 {
            return Err(ca.error(self, "holds no certificate (PEM `BEGIN CERTIFICATE`)".to_owned()));
        }
        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(provider.clone()));
        if auth == ClientAuth::IfGiven {
            builder = builder.allow_unauthenticated();
        }
        let webpki = builder.build().map_err(|error| {
            ca.error(
                self,
                format!("cannot verify client certificates with it: {error}"),
            )
        })?;
        let verifier: Arc<dyn ClientCertVerifier> = match sans {
            Some((_, names)) if !names.is_empty() => Arc::new(AllowedSans {
                inner: webpki,
                allowed: names.iter().map(|n| n.as_str().to_owned()).collect(),
            }),
            _ => webpki,
        };
        Ok((verifier, auth))
    }

    /// A PEM input given either as a file (`file_key`, relative to the config's directory) or
    /// inline (`inline_key`); exactly one of them.
    fn pem_source(
        &self,
        section: &Section<'a>,
        file_key: &'static str,
        inline_key: &'static str,
        what: &str,
    ) -> Result<PemSource<'a>, WebConfigError> {
        self.optional_pem_source(section, file_key, inline_key, what)?
            .ok_or_else(|| {
                self.at_key(
                    section.key,
                    format!("TLS needs a {what}: set {file_key} (or {inline_key} with the PEM text)"),
                )
            })
    }

    fn optional_pem_source(
        &self,
        section: &Section<'a>,
        file_key: &'static str,
        inline_key: &'static str,
        what: &str,
    ) -> Result<Option<PemSource<'a>>, WebConfigError> {
        let file = section.get(file_key);
        let inline = section.get(inline_key);
        match (file, inline) {
            (Some(_), Some((second, _))) => Err(self.at_scalar(
                second,
                format!("give the {what} once: {file_key} or {inline_key}, not both"),
            )),
            (Some((key, node)), None) => {
                let value = self.string(node, file_key)?;
                let path = self.directory.join(value.as_str());
                let bytes = input::read(&path)
                    .map_err(|error| self.at_scalar(value, format!("{file_key}: {error}")))?;
                Ok(Some(PemSource {
                    key,
                    value,
                    path: Some(path),
                    bytes,
                }))
            }
            (None, Some((key, node))) => {
                let value = self.string(node, inline_key)?;
                Ok(Some(PemSource {
                    key,
                    value,
                    path: None,
                    bytes: value.as_str().as_bytes().to_vec(),
                }))
            }
            (None, None) => Ok(None),
        }
    }

    // --- locating errors ------------------------------------------------------------------------

    fn byte_offset(&self, character: usize) -> usize {
        self.text
            .char_indices()
            .nth(character)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn span_range(&self, span: &Span, width: usize) -> std::ops::Range<usize> {
        let start = span.start().map_or(0, |m| self.byte_offset(m.character()));
        start..start + width.max(1)
    }

    fn at_scalar(&self, node: &MarkedScalarNode, message: impl Into<String>) -> WebConfigError {
        let range = self.span_range(node.span(), node.as_str().len());
        WebConfigError::At(self.locator.error(range, message.into()))
    }

    /// An error about a whole section, at its key (at the top of the file for the top level).
    fn at_key(&self, key: Option<&MarkedScalarNode>, message: impl Into<String>) -> WebConfigError {
        match key {
            Some(key) => self.at_scalar(key, message),
            None => WebConfigError::At(self.locator.error(0..1, message.into())),
        }
    }

    fn at_node(&self, node: &Node, message: impl Into<String>) -> WebConfigError {
        match node {
            Node::Scalar(scalar) => self.at_scalar(scalar, message),
            _ => WebConfigError::At(
                self.locator
                    .error(self.span_range(node.span(), 1), message.into()),
            ),
        }
    }
}

/// A PEM input and where it was given, for errors.
struct PemSource<'a> {
    key: &'a MarkedScalarNode,
    value: &'a MarkedScalarNode,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
}

impl PemSource<'_> {
    fn name(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => format!("the inline {}", self.key.as_str()),
        }
    }

    fn error(&self, reader: &Reader<'_>, message: String) -> WebConfigError {
        let message = format!("{} {}: {message}", self.key.as_str(), self.name());
        match &self.path {
            Some(_) => reader.at_scalar(self.value, message),
            None => reader.at_scalar(self.key, message),
        }
    }
}

fn entries(mapping: &MarkedMappingNode) -> Vec<(&MarkedScalarNode, &Node)> {
    mapping.iter().collect()
}

fn sequence(items: &MarkedSequenceNode) -> impl Iterator<Item = &Node> {
    items.iter()
}

/// YAML's null written as nothing, `~` or `null` (unquoted).
fn is_null(scalar: &MarkedScalarNode) -> bool {
    scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
}

/// The YAML scanner's message without its own position (`... at byte 12 line 2 column 3`),
/// which the error reports as file:line:column.
fn without_position(text: &str) -> String {
    match text.find(" at byte ") {
        Some(i) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

fn list(items: &[&str]) -> String {
    items.join(", ")
}

fn list_or(items: &[&str]) -> String {
    match items {
        [only] => format!("`{only}`"),
        [rest @ .., last] => format!(
            "{} or `{last}`",
            rest.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [] => String::new(),
    }
}

fn tls12_suite_names(provider: &CryptoProvider) -> Vec<&'static str> {
    provider
        .cipher_suites
        .iter()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
        .filter_map(|s| Suite::by_code(u16::from(s.suite())).map(|suite| suite.iana()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Client certificates

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    IfGiven,
    Required,
}

/// webpki's verification, then the toolkit's `client_allowed_sans`: the certificate must carry one
/// of the listed subject alternative names (DNS name, e-mail, IP address or URI), matched exactly.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let names = subject_alt_names(end_entity)
            .ok_or(rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if names.iter().any(|name| self.allowed.contains(name)) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
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

/// The subject alternative names of a certificate as Go's crypto/x509 prints them (IP addresses
/// in their usual text form); `None` when the certificate cannot be parsed.
fn subject_alt_names(der: &CertificateDer<'_>) -> Option<Vec<String>> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, certificate) = X509Certificate::from_der(der.as_ref()).ok()?;
    let Ok(Some(extension)) = certificate.subject_alternative_name() else {
        return Some(Vec::new());
    };
    Some(
        extension
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(text) | GeneralName::RFC822Name(text) | GeneralName::URI(text) => {
                    Some((*text).to_owned())
                }
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => Some(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string()),
                    16 => Some(IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Basic authentication

/// How many verified (user, password) answers are remembered; as the toolkit, a handful of
/// scrapers need far fewer.
const CACHE_SIZE: usize = 100;

struct BasicAuth {
    users: BTreeMap<String, String>,
    /// The hash an unknown user's password is checked against, so that an unknown user costs the
    /// same bcrypt time as a known one and user names cannot be found by timing. It is the
    /// costliest configured hash; its password would not let an unknown user in anyway.
    decoy: String,
    /// Answers already computed, keyed by an HMAC of the credentials under a key made at load:
    /// the table holds no password, and its keys cannot be precomputed.
    cache: Mutex<HashMap<[u8; 32], bool>>,
    cache_key: hmac::Key,
    /// bcrypt runs one at a time (as in the toolkit): it is deliberately expensive, and a burst
    /// of new credentials must not take every core from the probes.
    bcrypt_turn: Mutex<()>,
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> BasicAuth {
        let decoy = users
            .values()
            .max_by_key(|hash| bcrypt_cost(hash))
            .cloned()
            .unwrap_or_default();
        let rng = ring::rand::SystemRandom::new();
        let cache_key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the system's random source works");
        BasicAuth {
            users,
            decoy,
            cache: Mutex::new(HashMap::new()),
            cache_key,
            bcrypt_turn: Mutex::new(()),
        }
    }

    /// The hash a user's password is checked against, and whether the user is configured.
    fn hash_for(&self, user: &[u8]) -> (&str, bool) {
        match std::str::from_utf8(user)
            .ok()
            .and_then(|name| self.users.get(name))
        {
            Some(hash) => (hash, true),
            None => (&self.decoy, false),
        }
    }

    fn verify(&self, user: &[u8], password: &[u8]) -> bool {
        let (hash, known) = self.hash_for(user);
        let key = self.cache_key(user, hash, password);
        if let Some(answer) = self.cached(&key) {
            return answer;
        }
        let _turn = self
            .bcrypt_turn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another request may have verified the same credentials while this one waited.
        if let Some(answer) = self.cached(&key) {
            return answer;
        }
        // bcrypt::verify compares the digests in constant time.
        let matches = bcrypt::verify(password, hash).unwrap_or(false);
        let answer = matches && known;
        self.remember(key, answer);
        answer
    }

    fn cache_key(&self, user: &[u8], hash: &str, password: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.cache_key);
        // Lengths first, so that no two (user, hash, password) triples share an input.
        for part in [user, hash.as_bytes(), password] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let tag = context.sign();
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        key
    }

    fn cached(&self, key: &[u8; 32]) -> Option<bool> {
        let cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(key).copied()
    }

    fn remember(&self, key: [u8; 32], answer: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_SIZE {
            // Drop a tenth. A HashMap iterates in an order seeded at random per map, so these are
            // arbitrary entries, and the work is done once per CACHE_SIZE/10 new credentials.
            let victims: Vec<[u8; 32]> = cache.keys().take(CACHE_SIZE / 10).copied().collect();
            for victim in victims {
                cache.remove(&victim);
            }
        }
        cache.insert(key, answer);
    }
}

/// The user and password of an `Authorization: Basic <base64(user:password)>` header.
fn basic_credentials(header: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_start())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Checks the shape of a bcrypt hash: `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31,
/// then 53 characters of bcrypt's base64 (22 of salt, 31 of digest).
fn check_bcrypt(hash: &str) -> Result<(), String> {
    let shape = "expected $2b$<cost>$ and 53 characters, as `htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints";
    let rest = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| hash.strip_prefix(prefix))
        .ok_or_else(|| shape.to_owned())?;
    let (cost, encoded) = rest.split_once('$').ok_or_else(|| shape.to_owned())?;
    let cost: u32 = match cost.len() {
        2 => cost.parse().map_err(|_| shape.to_owned())?,
        _ => return Err(shape.to_owned()),
    };
    if !(4..=31).contains(&cost) {
        return Err(format!("the cost {cost} is outside bcrypt's 4 to 31"));
    }
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/';
    if encoded.len() != 53 || !encoded.chars().all(alphabet) {
        return Err(shape.to_owned());
    }
    hash.parse::<bcrypt::HashParts>()
        .map_err(|error| error.to_string())?;
    Ok(())
}

fn bcrypt_cost(hash: &str) -> u32 {
    hash.get(4..6).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        SanType,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A bcrypt hash of "secret" at the lowest cost, so that tests stay fast.
    fn hash_of(password: &str) -> String {
        bcrypt::hash(password, 4).unwrap()
    }

    /// A throw-away CA with a server leaf (localhost) and a client leaf (`prometheus.test`).
    struct Pki {
        ca: CertifiedIssuer<'static, KeyPair>,
    }

    struct Leaf {
        cert_pem: String,
        key_pem: String,
    }

    impl Pki {
        fn new(name: &str) -> Pki {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            Pki {
                ca: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
            }
        }

        fn leaf(&self, names: &[&str], client: bool) -> Leaf {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.subject_alt_names = names
                .iter()
                .map(|name| match name.parse() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => SanType::DnsName((*name).try_into().unwrap()),
                })
                .collect();
            if client {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
            let cert = params.signed_by(&key, &self.ca).unwrap();
            Leaf {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            }
        }

        fn roots(&self) -> RootCertStore {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            roots
        }
    }

    /// A directory holding `web.yml` and the server's certificate files.
    struct Setup {
        dir: tempfile::TempDir,
        pki: Pki,
    }

    impl Setup {
        fn new() -> Setup {
            let dir = tempfile::tempdir().unwrap();
            let pki = Pki::new("web config test CA");
            let server = pki.leaf(&["localhost", "127.0.0.1"], false);
            std::fs::write(dir.path().join("server.crt"), &server.cert_pem).unwrap();
            std::fs::write(dir.path().join("server.key"), &server.key_pem).unwrap();
            std::fs::write(dir.path().join("ca.pem"), pki.ca.pem()).unwrap();
            Setup { dir, pki }
        }

        fn write(&self, text: &str) -> PathBuf {
            let path = self.dir.path().join("web.yml");
            std::fs::write(&path, text).unwrap();
            path
        }

        fn load(&self, text: &str) -> Result<WebConfig, WebConfigError> {
            load(&self.write(text))
        }

        fn error(&self, text: &str) -> (Option<usize>, String) {
            match self.load(text) {
                Ok(config) => panic!("{text}\nloaded: {config:?}"),
                Err(error) => (error.line(), error.to_string()),
            }
        }
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

    // --- the file -------------------------------------------------------------------------------

    #[test]
    fn an_empty_file_is_plain_http_without_authentication() {
        let setup = Setup::new();
        for text in ["", "# nothing yet\n\n", "---\n"] {
            let config = setup.load(text).unwrap();
            assert!(config.tls_acceptor().is_none());
            assert!(!config.requires_auth());
            assert!(config.authorize(None));
            assert_eq!(config.describe(), "plain HTTP");
        }
    }

    #[test]
    fn null_sections_are_empty_sections() {
        let setup = Setup::new();
        let config = setup
            .load("tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n")
            .unwrap();
        assert!(config.tls_acceptor().is_none());
        assert!(!config.requires_auth());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key_file_and_line() {
        let setup = Setup::new();
        let path = setup.write("basic_auth_users:\n\ntls_config:\n  cert_file: x\n");
        let error = load(&path).unwrap_err();
        assert_eq!(error.line(), Some(3));
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("{}:3:1: unknown key `tls_config`", path.display())),
            "{text}"
        );
        assert!(
            text.contains("tls_server_config, http_server_config, basic_auth_users"),
            "{text}"
        );

        let (line, text) = setup.error(&format!("{TLS}  cert_flie: other.crt\n"));
        assert_eq!(line, Some(4));
        assert!(
            text.contains("unknown key `cert_flie` in tls_server_config"),
            "{text}"
        );
        assert!(
            text.contains("4 |   cert_flie: other.crt"),
            "the line is quoted: {text}"
        );

        let (line, text) = setup.error("http_server_config:\n  http2: true\n  http3: true\n");
        assert_eq!(line, Some(3));
        assert!(
            text.contains("unknown key `http3` in http_server_config"),
            "{text}"
        );
    }

    #[test]
    fn the_toolkits_rate_limit_is_refused_by_name() {
        let (line, text) = Setup::new().error("rate_limit:\n  interval: 1s\n  burst: 5\n");
        assert_eq!(line, Some(1));
        assert!(
            text.contains("rate_limit is a key of the exporter toolkit that reach does not implement"),
            "{text}"
        );
    }

    #[test]
    fn yaml_errors_name_their_line() {
        let setup = Setup::new();
        let (line, text) = setup.error("basic_auth_users:\n  a: b\n c: [\n");
        assert!(matches!(line, Some(2..=4)), "{line:?} {text}");
        assert!(text.contains("not valid YAML"), "{text}");

        let (line, text) = setup.error(&format!("{TLS}  cert_file: again.crt\n"));
        assert_eq!(line, Some(4));
        assert!(
            text.contains("`cert_file` is given twice (first on line 2)"),
            "{text}"
        );

        let (line, text) = setup.error("- a\n- b\n");
        assert_eq!(line, Some(1));
        assert!(text.contains("must be a YAML mapping"), "{text}");

        let (line, text) = setup.error("basic_auth_users: [a, b]\n");
        assert_eq!(line, Some(1));
        assert!(text.contains("`basic_auth_users` must be a mapping"), "{text}");
    }

    #[test]
    fn an_unreadable_file_names_the_flag_and_the_path() {
        let error = load(Path::new("/no/such/web.yml")).unwrap_err();
        assert_eq!(error.line(), None);
        let text = error.to_string();
        assert!(
            text.starts_with("--web.config.file: cannot read /no/such/web.yml"),
            "{text}"
        );
    }

    // --- basic auth -----------------------------------------------------------------------------

    #[test]
    fn basic_auth_lets_in_exactly_the_right_user_and_password() {
        let setup = Setup::new();
        let text = format!(
            "basic_auth_users:\n  prometheus: {}\n  alice: {}\n",
            hash_of("secret"),
            hash_of("wonder")
        );
        let config = setup.load(&text).unwrap();
        assert!(config.requires_auth());
        assert_eq!(config.describe(), "plain HTTP, basic auth for 2 users");
        assert!(config.authorize(Some(&basic("prometheus", "secret"))));
        assert!(config.authorize(Some(&basic("alice", "wonder"))));
        assert!(
            !config.authorize(Some(&basic("prometheus", "wonder"))),
            "alice's password is not prometheus'"
        );
        assert!(!config.authorize(Some(&basic("prometheus", "Secret"))));
        assert!(!config.authorize(Some(&basic("prometheus", ""))));
        assert!(
            !config.authorize(Some(&basic("mallory", "secret"))),
            "unknown user"
        );
        assert!(!config.authorize(None), "no credentials");
        for malformed in ["Bearer abc", "Basic", "Basic !!!", "Basic cHJvbWV0aGV1cw=="] {
            // The last is base64 of "prometheus", without a colon and password.
            assert!(
                !config.authorize(Some(&HeaderValue::from_static(malformed))),
                "{malformed}"
            );
        }
        // The scheme is case-insensitive (RFC 7617).
        let lower = basic("prometheus", "secret")
            .to_str()
            .unwrap()
            .replace("Basic", "basic");
        assert!(config.authorize(Some(&HeaderValue::from_str(&lower).unwrap())));
    }

    #[test]
    fn a_password_with_a_colon_is_split_at_the_first_one() {
        let setup = Setup::new();
        let config = setup
            .load(&format!("basic_auth_users:\n  prometheus: {}\n", hash_of("a:b")))
            .unwrap();
        // "prometheus:a:b" on the wire: the user ends at the first colon (RFC 7617).
        assert!(config.authorize(Some(&basic("prometheus", "a:b"))));
        assert!(!config.authorize(Some(&basic("prometheus", "a"))));
    }

    #[test]
    fn verified_credentials_are_cached_and_bcrypt_runs_once() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "basic_auth_users:\n  prometheus: {}\n",
                hash_of("secret")
            ))
            .unwrap();
        let auth = config.basic_auth.as_ref().unwrap();
        let header = basic("prometheus", "secret");
        assert!(config.authorize(Some(&header)));
        let hash = &auth.users["prometheus"];
        let key = auth.cache_key(b"prometheus", hash, b"secret");
        assert_eq!(auth.cached(&key), Some(true));
        // The cached answer is what a second request gets: poison it and see it used.
        auth.remember(key, false);
        assert!(
            !config.authorize(Some(&header)),
            "the second check came from the cache"
        );
        // Wrong passwords are remembered too, so a misconfigured scraper costs one bcrypt.
        assert!(!config.authorize(Some(&basic("prometheus", "wrong"))));
        assert_eq!(
            auth.cached(&auth.cache_key(b"prometheus", hash, b"wrong")),
            Some(false)
        );
        // The cache holds digests, never a password.
        let cache = auth.cache.lock().unwrap();
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cached_answer_is_known_without_bcrypt_only_after_a_verification() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "basic_auth_users:\n  prometheus: {}\n",
                hash_of("secret")
            ))
            .unwrap();
        let right = basic("prometheus", "secret");
        let wrong = basic("nobody", "secret");
        assert_eq!(
            config.authorize_cached(None),
            Some(false),
            "no credentials: no bcrypt needed"
        );
        assert_eq!(
            config.authorize_cached(Some(&HeaderValue::from_static("Bearer x"))),
            Some(false)
        );
        assert_eq!(
            config.authorize_cached(Some(&right)),
            None,
            "a bcrypt verification is due"
        );
        assert_eq!(config.authorize_cached(Some(&wrong)), None);
        assert!(config.authorize(Some(&right)));
        assert!(!config.authorize(Some(&wrong)));
        assert_eq!(config.authorize_cached(Some(&right)), Some(true));
        assert_eq!(config.authorize_cached(Some(&wrong)), Some(false));
        let open = setup.load("").unwrap();
        assert_eq!(open.authorize_cached(None), Some(true), "no users: everyone");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "basic_auth_users:\n  prometheus: {}\n",
                hash_of("secret")
            ))
            .unwrap();
        let auth = config.basic_auth.as_ref().unwrap();
        for i in 0..(CACHE_SIZE * 3) {
            auth.remember(auth.cache_key(b"u", "h", i.to_string().as_bytes()), false);
        }
        assert!(auth.cache.lock().unwrap().len() <= CACHE_SIZE);
    }

    #[test]
    fn cache_keys_depend_on_every_part_and_on_the_load() {
        let setup = Setup::new();
        let text = format!("basic_auth_users:\n  prometheus: {}\n", hash_of("secret"));
        let first = setup.load(&text).unwrap();
        let second = setup.load(&text).unwrap();
        let (a, b) = (
            first.basic_auth.as_ref().unwrap(),
            second.basic_auth.as_ref().unwrap(),
        );
        assert_ne!(a.cache_key(b"ab", "h", b"c"), a.cache_key(b"a", "h", b"bc"));
        assert_ne!(a.cache_key(b"a", "h1", b"c"), a.cache_key(b"a", "h2", b"c"));
        assert_ne!(
            a.cache_key(b"a", "h", b"c"),
            b.cache_key(b"a", "h", b"c"),
            "a fresh key per load"
        );
    }

    #[test]
    fn the_decoy_for_unknown_users_is_the_costliest_hash() {
        let setup = Setup::new();
        let cheap = hash_of("x");
        let dear = bcrypt::hash("y", 6).unwrap();
        let config = setup
            .load(&format!("basic_auth_users:\n  a: {cheap}\n  b: {dear}\n"))
            .unwrap();
        assert_eq!(config.basic_auth.as_ref().unwrap().decoy, dear);
        // The decoy's own password does not let an unknown user in.
        assert!(!config.authorize(Some(&basic("nobody", "y"))));
    }

    #[test]
    fn hashes_that_are_not_bcrypt_are_refused_at_their_line() {
        let setup = Setup::new();
        let good = hash_of("secret");
        for bad in [
            "secret",
            "$1$abc$def",
            "$2b$10$short",
            "$2b$03$0tlPDNP.o4oLsoUgc/rxzeojDfbHCXyLgCclaAY0eA1YPmex3R57O",
        ] {
            let (line, text) = setup.error(&format!(
                "basic_auth_users:\n  ok: {good}\n  prometheus: '{bad}'\n"
            ));
            assert_eq!(line, Some(3), "{text}");
            assert!(
                text.contains("the password of prometheus must be a bcrypt hash"),
                "{text}"
            );
        }
        let (_, text) = setup.error("basic_auth_users:\n  prometheus: '$2b$03$0tlPDNP.o4oLsoUgc/rxzeojDfbHCXyLgCclaAY0eA1YPmex3R57O'\n");
        assert!(text.contains("cost 3 is outside"), "{text}");
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let hash = format!("{prefix}{}", &good[4..]);
            let config = setup
                .load(&format!("basic_auth_users:\n  p: '{hash}'\n"))
                .unwrap();
            assert!(config.authorize(Some(&basic("p", "secret"))), "{prefix}");
        }
        let (line, text) = setup.error(&format!("basic_auth_users:\n  'a:b': {good}\n"));
        assert_eq!(line, Some(2));
        assert!(text.contains("cannot contain `:`"), "{text}");
    }

    // --- headers and HTTP/2 ---------------------------------------------------------------------

    #[test]
    fn only_the_toolkits_headers_and_values_can_be_set() {
        let setup = Setup::new();
        let config = setup
            .load(
                "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    \
                 X-Content-Type-Options: nosniff\n    Content-Security-Policy: \"default-src 'self'\"\n    \
                 X-XSS-Protection: ''\n",
            )
            .unwrap();
        assert!(!config.http2());
        let headers: Vec<(String, String)> = config
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            headers,
            [
                ("x-frame-options".into(), "deny".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("content-security-policy".into(), "default-src 'self'".into()),
            ],
            "a blank value sets nothing"
        );

        let (line, text) = setup.error("http_server_config:\n  headers:\n    Server: reach\n");
        assert_eq!(line, Some(3));
        assert!(text.contains("the header Server cannot be set"), "{text}");
        let (line, text) = setup.error("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
        assert_eq!(line, Some(3));
        assert!(
            text.contains("X-Frame-Options must be `deny` or `sameorigin`, not `allow`"),
            "{text}"
        );
        let (line, text) = setup.error("http_server_config:\n  http2: maybe\n");
        assert_eq!(line, Some(2));
        assert!(
            text.contains("http_server_config.http2 must be true or false"),
            "{text}"
        );
    }

    // --- TLS settings ---------------------------------------------------------------------------

    #[test]
    fn relative_certificate_paths_are_read_from_the_files_directory() {
        let setup = Setup::new();
        let nested = setup.dir.path().join("etc");
        std::fs::create_dir(&nested).unwrap();
        std::fs::rename(setup.dir.path().join("server.crt"), nested.join("server.crt")).unwrap();
        std::fs::rename(setup.dir.path().join("server.key"), nested.join("server.key")).unwrap();
        let path = nested.join("web.yml");
        std::fs::write(&path, TLS).unwrap();
        let config = load(&path).unwrap();
        assert!(config.tls_acceptor().is_some());
        assert_eq!(config.describe(), "TLS, HTTP/2");

        // Absolute paths are used as they are.
        let absolute = format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            nested.join("server.crt").display(),
            nested.join("server.key").display()
        );
        assert!(setup.load(&absolute).unwrap().tls_acceptor().is_some());
    }

    #[test]
    fn certificate_problems_name_the_key_line_and_path() {
        let setup = Setup::new();
        let (line, text) = setup.error("tls_server_config:\n  cert_file: server.crt\n");
        assert_eq!(line, Some(1));
        assert!(
            text.contains("TLS needs a private key: set key_file (or key with the PEM text)"),
            "{text}"
        );
        let (line, text) = setup.error("tls_server_config:\n  min_version: TLS13\n");
        assert_eq!(line, Some(1));
        assert!(text.contains("TLS needs a certificate"), "{text}");

        let (line, text) =
            setup.error("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n");
        assert_eq!(line, Some(2));
        let missing = setup.dir.path().join("missing.crt");
        assert!(
            text.contains(&format!("cert_file: cannot read {}", missing.display())),
            "{text}"
        );

        let (line, text) =
            setup.error("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n");
        assert_eq!(line, Some(2));
        assert!(text.contains("holds no certificate"), "{text}");

        let other = Pki::new("other").leaf(&["localhost"], false);
        std::fs::write(setup.dir.path().join("other.key"), other.key_pem).unwrap();
        let (line, text) =
            setup.error("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n");
        assert_eq!(line, Some(3));
        assert!(
            text.contains("the private key does not belong to the certificate"),
            "{text}"
        );

        let (line, text) = setup.error(&format!("{TLS}  cert: inline\n"));
        assert_eq!(line, Some(4));
        assert!(text.contains("cert_file or cert, not both"), "{text}");
    }

    #[test]
    fn inline_pem_works_like_files() {
        let setup = Setup::new();
        let leaf = setup.pki.leaf(&["localhost"], false);
        let indent = |pem: &str| pem.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let text = format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(&leaf.cert_pem),
            indent(&leaf.key_pem)
        );
        assert!(setup.load(&text).unwrap().tls_acceptor().is_some());
    }

    #[test]
    fn versions_rustls_cannot_speak_are_refused_with_a_reason() {
        let setup = Setup::new();
        for old in ["TLS10", "TLS11"] {
            let (line, text) = setup.error(&format!("{TLS}  min_version: {old}\n"));
            assert_eq!(line, Some(4));
            assert!(
                text.contains(&format!("{old} is not implemented by rustls")),
                "{text}"
            );
        }
        let (_, text) = setup.error(&format!("{TLS}  min_version: TLS14\n"));
        assert!(text.contains("unknown TLS version TLS14"), "{text}");
        let (line, text) = setup.error(&format!("{TLS}  min_version: TLS13\n  max_version: TLS12\n"));
        assert_eq!(line, Some(5));
        assert!(
            text.contains("max_version TLS12 is below min_version TLS13"),
            "{text}"
        );
    }

    #[test]
    fn cipher_suites_map_to_rustls_or_are_refused_by_name() {
        let setup = Setup::new();
        // IANA (Go's) names, OpenSSL names, and TLS 1.3 names, which Go ignores too.
        let ok = format!(
            "{TLS}  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - ECDHE-ECDSA-CHACHA20-POLY1305\n    - TLS_AES_128_GCM_SHA256\n"
        );
        assert!(setup.load(&ok).unwrap().tls_acceptor().is_some());

        let (line, text) = setup.error(&format!(
            "{TLS}  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n"
        ));
        assert_eq!(line, Some(5));
        assert!(
            text.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA is not implemented by rustls"),
            "{text}"
        );
        assert!(
            text.contains("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            "the message lists what works: {text}"
        );

        let (_, text) = setup.error(&format!("{TLS}  cipher_suites: [TLS_NO_SUCH_SUITE]\n"));
        assert!(text.contains("unknown cipher suite TLS_NO_SUCH_SUITE"), "{text}");

        // The certificate's key is ECDSA: RSA-signed suites alone would fail every TLS 1.2 client.
        let (line, text) = setup.error(&format!(
            "{TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
        ));
        assert_eq!(line, Some(4));
        assert!(
            text.contains("no suite of cipher_suites can be used with the certificate's ECDSA key"),
            "{text}"
        );
        // ... unless TLS 1.2 is off.
        let tls13 =
            format!("{TLS}  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n");
        assert!(setup.load(&tls13).is_ok());

        let (_, text) = setup.error(&format!("{TLS}  curve_preferences: [CurveP521]\n"));
        assert!(text.contains("CurveP521 is not implemented by rustls"), "{text}");
        let (_, text) = setup.error(&format!("{TLS}  curve_preferences: [P256]\n"));
        assert!(text.contains("unknown curve P256"), "{text}");
        let (_, text) = setup.error(&format!("{TLS}  prefer_server_cipher_suites: yes\n"));
        assert!(text.contains("must be true or false"), "{text}");
    }

    #[test]
    fn client_authentication_types_that_verify_nothing_are_refused() {
        let setup = Setup::new();
        for unverified in ["RequestClientCert", "RequireAnyClientCert", "RequireClientCert"] {
            let (line, text) = setup.error(&format!(
                "{TLS}  client_auth_type: {unverified}\n  client_ca_file: ca.pem\n"
            ));
            assert_eq!(line, Some(4));
            assert!(text.contains("without verifying them"), "{text}");
        }
        let (line, text) = setup.error(&format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n"));
        assert_eq!(line, Some(4));
        assert!(
            text.contains("RequireAndVerifyClientCert needs client_ca_file"),
            "{text}"
        );
        let (line, text) = setup.error(&format!("{TLS}  client_ca_file: ca.pem\n"));
        assert_eq!(line, Some(4));
        assert!(text.contains("client_auth_type is NoClientCert"), "{text}");
        let (_, text) = setup.error(&format!("{TLS}  client_allowed_sans: [a.test]\n"));
        assert!(
            text.contains("client_allowed_sans needs client certificates"),
            "{text}"
        );
        let (_, text) = setup.error(&format!("{TLS}  client_auth_type: Yes\n"));
        assert!(text.contains("unknown client_auth_type Yes"), "{text}");
        let (line, text) = setup.error(&format!(
            "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n"
        ));
        assert_eq!(line, Some(5));
        assert!(text.contains("holds no certificate"), "{text}");
    }

    // --- handshakes ------------------------------------------------------------------------------

    /// One TLS handshake through the config's acceptor, in memory, with a rustls client that
    /// trusts `roots`, offers `alpn` and presents `client` if given; then one byte each way.
    /// Returns the negotiated ALPN protocol, version and suite, or the handshake's error.
    async fn handshake(
        config: &WebConfig,
        roots: RootCertStore,
        client: Option<&Leaf>,
        versions: &[&'static SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> Result<(Option<Vec<u8>>, rustls::ProtocolVersion, rustls::CipherSuite), String> {
        let builder =
            rustls::ClientConfig::builder_with_provider(Arc::new(ring_provider::default_provider()))
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots);
        let mut client_config = match client {
            Some(leaf) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
                        .collect::<Result<_, _>>()
                        .unwrap(),
                    PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        client_config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
        let acceptor = config.tls_acceptor().expect("TLS is configured");
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(async move {
            let mut stream = acceptor.accept(server_io).await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            stream.write_all(&byte).await.map_err(|e| e.to_string())?;
            stream.flush().await.map_err(|e| e.to_string())
        });
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let outcome: Result<_, String> = async {
            let mut stream = connector
                .connect(name, client_io)
                .await
                .map_err(|e| e.to_string())?;
            // TLS 1.3 client authentication fails after the client's Finished: the byte exchange
            // is what shows the server's verdict.
            stream.write_all(b"x").await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            let (_, session) = stream.get_ref();
            Ok((
                session.alpn_protocol().map(<[u8]>::to_vec),
                session.protocol_version().unwrap(),
                session.negotiated_cipher_suite().unwrap().suite(),
            ))
        }
        .await;
        let served = server.await.unwrap();
        match (outcome, served) {
            (Ok(facts), Ok(())) => Ok(facts),
            (Err(client), Err(server)) => Err(format!("client: {client}; server: {server}")),
            (Err(client), Ok(())) => Err(format!("client: {client}")),
            (Ok(_), Err(server)) => Err(format!("server: {server}")),
        }
    }

    const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    const TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

    #[tokio::test]
    async fn alpn_offers_h2_only_when_http2_is_on() {
        let setup = Setup::new();
        let on = setup.load(TLS).unwrap();
        let (alpn, version, _) = handshake(&on, setup.pki.roots(), None, BOTH, &[b"h2", b"http/1.1"])
            .await
            .unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
        let off = setup
            .load(&format!("{TLS}http_server_config:\n  http2: false\n"))
            .unwrap();
        let (alpn, _, _) = handshake(&off, setup.pki.roots(), None, BOTH, &[b"h2", b"http/1.1"])
            .await
            .unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    }

    #[tokio::test]
    async fn version_and_suite_settings_reach_the_handshake() {
        let setup = Setup::new();
        let tls13 = setup.load(&format!("{TLS}  min_version: TLS13\n")).unwrap();
        let refused = handshake(&tls13, setup.pki.roots(), None, TLS12_ONLY, &[]).await;
        assert!(refused.is_err(), "a TLS 1.2-only client is refused: {refused:?}");

        let chacha = setup
            .load(&format!(
                "{TLS}  cipher_suites: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n"
            ))
            .unwrap();
        let (_, version, suite) = handshake(&chacha, setup.pki.roots(), None, TLS12_ONLY, &[])
            .await
            .unwrap();
        assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
        assert_eq!(
            suite,
            rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        );
    }

    #[tokio::test]
    async fn required_client_certificates_must_chain_to_the_client_ca() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
            ))
            .unwrap();
        assert_eq!(config.describe(), "TLS (client certificates required), HTTP/2");
        let good = setup.pki.leaf(&["prometheus.test"], true);
        for versions in [BOTH, TLS12_ONLY] {
            handshake(&config, setup.pki.roots(), Some(&good), versions, &[])
                .await
                .unwrap();
            let without = handshake(&config, setup.pki.roots(), None, versions, &[]).await;
            assert!(without.is_err(), "no certificate: {without:?}");
            let stranger = Pki::new("another CA").leaf(&["prometheus.test"], true);
            let foreign = handshake(&config, setup.pki.roots(), Some(&stranger), versions, &[]).await;
            assert!(foreign.is_err(), "a certificate from another CA: {foreign:?}");
        }
    }

    #[tokio::test]
    async fn verify_if_given_admits_clients_without_certificates_but_checks_those_sent() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n"
            ))
            .unwrap();
        handshake(&config, setup.pki.roots(), None, BOTH, &[])
            .await
            .unwrap();
        let good = setup.pki.leaf(&["prometheus.test"], true);
        handshake(&config, setup.pki.roots(), Some(&good), BOTH, &[])
            .await
            .unwrap();
        let stranger = Pki::new("another CA").leaf(&["prometheus.test"], true);
        assert!(handshake(&config, setup.pki.roots(), Some(&stranger), BOTH, &[])
            .await
            .is_err());
    }

    #[tokio::test]
    async fn client_allowed_sans_admit_only_the_listed_names() {
        let setup = Setup::new();
        let config = setup
            .load(&format!(
                "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
                 client_allowed_sans: [prometheus.test, '10.0.0.9']\n"
            ))
            .unwrap();
        for names in [&["prometheus.test"][..], &["other.test", "10.0.0.9"][..]] {
            let leaf = setup.pki.leaf(names, true);
            handshake(&config, setup.pki.roots(), Some(&leaf), BOTH, &[])
                .await
                .unwrap();
        }
        let outsider = setup.pki.leaf(&["grafana.test"], true);
        let refused = handshake(&config, setup.pki.roots(), Some(&outsider), BOTH, &[]).await;
        assert!(refused.is_err(), "{refused:?}");
    }

    // --- the shipped example ---------------------------------------------------------------------

    #[test]
    fn the_deploy_example_loads_once_its_certificate_exists() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web-config.example.yml");
        let text = std::fs::read_to_string(&example).unwrap();
        let setup = Setup::new();
        // As shipped it names reach.crt next to itself, which is the user's to provide.
        let (line, error) = setup.error(&text);
        assert!(error.contains("reach.crt"), "{error}");
        assert!(line.is_some());
        std::fs::copy(
            setup.dir.path().join("server.crt"),
            setup.dir.path().join("reach.crt"),
        )
        .unwrap();
        std::fs::copy(
            setup.dir.path().join("server.key"),
            setup.dir.path().join("reach.key"),
        )
        .unwrap();
        let config = setup.load(&text).unwrap();
        assert!(config.tls_acceptor().is_some());
        assert!(config.requires_auth());
        assert!(!config.authorize(Some(&basic("prometheus", ""))));
        assert_eq!(config.headers().len(), 2);
    }
}
