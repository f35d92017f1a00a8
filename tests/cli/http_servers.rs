//! Local servers for the HTTP tests, all on loopback: a test PKI (rcgen, generated per run), an
//! HTTP/1.1 server (plain or TLS) with fixed routes that also misbehave on demand, a CONNECT
//! proxy, and a listener that drops every connection. Servers run on one shared runtime for the
//! rest of the test process; readiness comes from binding before the port is handed out.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The key every provider route accepts.
pub const GOOD_KEY: &str = "sk-test-GOOD-5b1f0c9e";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test server runtime")
    })
}

/// A certificate authority made for this test run.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "reach test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { ca }
    }

    /// Writes the CA certificate (for `--ca-file`) into `dir`.
    pub fn write_ca(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.ca.pem()).unwrap();
        path
    }

    /// A server config with a leaf for `names`, signed by this CA.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        config(vec![cert.der().clone(), self.ca.der().clone()], key)
    }

    /// A server config with a self-signed leaf that no CA vouches for.
    pub fn untrusted_config(names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        let cert = params.self_signed(&key).unwrap();
        config(vec![cert.der().clone()], key)
    }
}

fn config(chain: Vec<rustls::pki_types::CertificateDer<'static>>, key: KeyPair) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A running test server.
pub struct Server {
    pub address: SocketAddr,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    /// Request lines (or CONNECT targets) seen so far.
    pub seen: Arc<Mutex<Vec<String>>>,
    /// Milliseconds the HTTP server waits before it answers each request (a slow application).
    pub delay_ms: Arc<AtomicU64>,
    accept: tokio::task::AbortHandle,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Stops accepting and closes the listening socket (soon after: the runtime drops it).
    /// Connections already open are served until their clients close them.
    pub fn stop(&self) {
        self.accept.abort();
    }

    /// The HTTP test server on 127.0.0.1, plain or with TLS.
    pub fn http(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        Server::http_on(TcpListener::bind("127.0.0.1:0").unwrap(), tls)
    }

    pub fn http_on(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let delay = Arc::new(AtomicU64::new(0));
        let knob = Arc::clone(&delay);
        let mut server = serve(listener, move |stream, seen| {
            let (tls, delay) = (tls.clone(), Arc::clone(&delay));
            async move {
                match tls {
                    None => http_connection(stream, seen, delay).await,
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            http_connection(stream, seen, delay).await;
                        }
                    }
                }
            }
        });
        server.delay_ms = knob;
        server
    }

    /// Accepts connections and closes them at once, before any byte is exchanged.
    pub fn dropping() -> Server {
        serve(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            |stream, _| async move {
                drop(stream);
            },
        )
    }

    /// An HTTP proxy: CONNECT tunnels go to `upstream` whatever host they name (so no name is
    /// ever resolved), except to port 25, which it refuses with 403, and to port 26 without
    /// credentials (407). Plain absolute-form requests
    /// are answered by the proxy itself with `via proxy`.
    pub fn connect_proxy(upstream: SocketAddr) -> Server {
        serve(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            move |stream, seen| async move {
                let mut reader = BufReader::new(stream);
                let Some(head) = read_head(&mut reader).await else {
                    return;
                };
                let line = head.first().cloned().unwrap_or_default();
                seen.lock().unwrap().push(line.clone());
                let mut parts = line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let mut client = reader.into_inner();
                if method != "CONNECT" {
                    let _ = client
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nvia proxy",
                        )
                        .await;
                    return;
                }
                // Tunnels to port 26 need `me:secret` (Basic).
                let authorized = header(&head, "proxy-authorization") == Some("Basic bWU6c2VjcmV0");
                if target.ends_with(":26") && !authorized {
                    let _ = client
                        .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
                if target.ends_with(":25") {
                    let _ = client
                        .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    let _ = client
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            },
        )
    }
}

fn serve<F, Fut>(listener: TcpListener, handle: F) -> Server
where
    F: Fn(tokio::net::TcpStream, Arc<Mutex<Vec<String>>>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (count, log) = (Arc::clone(&connections), Arc::clone(&seen));
    let handle = Arc::new(handle);
    let accept = runtime()
        .spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handle(stream, Arc::clone(&log)));
            }
        })
        .abort_handle();
    Server {
        address,
        connections,
        seen,
        delay_ms: Arc::new(AtomicU64::new(0)),
        accept,
    }
}

/// Lines of one request head; `None` at end of stream.
async fn read_head<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return Some(lines);
        }
        lines.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Serves requests on one connection until the client closes it.
async fn http_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    seen: Arc<Mutex<Vec<String>>>,
    delay: Arc<AtomicU64>,
) {
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader).await {
        let line = head.first().cloned().unwrap_or_default();
        seen.lock().unwrap().push(line.clone());
        let length: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        match delay.load(Ordering::SeqCst) {
            0 => {}
            ms => tokio::time::sleep(Duration::from_millis(ms)).await,
        }
        match path.as_str() {
            "/drop" => return,
            "/slow" => {
                // Far longer than any test's timeout: the client gives up first.
                tokio::time::sleep(Duration::from_secs(5)).await;
                return;
            }
            "/delay" => tokio::time::sleep(Duration::from_millis(50)).await,
            "/ws" if header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) => {
                websocket(reader, &head).await;
                return;
            }
            _ => {}
        }
        let reply = route(&path, &head);
        let mut out = format!(
            "HTTP/1.1 {} Test\r\nContent-Length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        if reader.get_mut().write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn route(path: &str, head: &[String]) -> Reply {
    let auth = header(head, "authorization").unwrap_or("");
    if let Some(code) = path.strip_prefix("/status/") {
        return Reply::new(code.parse().unwrap_or(500), format!("status {code}"));
    }
    if let Some(n) = path.strip_prefix("/redirect/") {
        let n: u32 = n.parse().unwrap_or(0);
        return match n {
            0 => Reply::new(200, "arrived"),
            n => Reply::new(302, "").header("Location", &format!("/redirect/{}", n - 1)),
        };
    }
    if let Some(target) = path.strip_prefix("/to?") {
        return Reply::new(301, "").header("Location", target);
    }
    match path {
        // An application's home page.
        "/" => Reply::new(200, "index"),
        // 200 to the first request of the whole test binary, 503 to every later one.
        "/then-503" => {
            static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            match CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Reply::new(200, "ok"),
                _ => Reply::new(503, "unavailable"),
            }
        }
        "/loop/a" => Reply::new(302, "").header("Location", "/loop/b"),
        "/loop/b" => Reply::new(302, "").header("Location", "/loop/a"),
        "/delay" => Reply::new(200, "late"),
        "/health" => {
            Reply::new(200, r#"{"status": "ok", "version": 3}"#).header("Content-Type", "application/json")
        }
        "/hsts" => Reply::new(200, "secure")
            .header("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        // The providers' harmless paths: 401 without the good key, and the key echoed back in
        // the body and a header, as some APIs do, so a leak into reach's output would show.
        "/v1/models" | "/v1/projects" | "/openai/v1/models" | "/api/whoami-v2" => {
            let good = auth == format!("Bearer {GOOD_KEY}") || auth == format!("Token {GOOD_KEY}");
            let status = if good { 200 } else { 401 };
            Reply::new(
                status,
                format!(r#"{{"error": "Incorrect API key provided: {auth}"}}"#),
            )
            .header(
                "X-Seen-Authorization",
                if auth.is_empty() { "none" } else { auth },
            )
        }
        _ => Reply::new(404, "not found"),
    }
}

/// Completes a WebSocket upgrade and echoes one text frame.
async fn websocket<S: AsyncRead + AsyncWrite + Unpin>(mut reader: BufReader<S>, head: &[String]) {
    use base64::Engine as _;
    let key = header(head, "sec-websocket-key").unwrap_or("");
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    );
    let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if reader.get_mut().write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let mut frame = [0u8; 2];
    if reader.read_exact(&mut frame).await.is_err() {
        return;
    }
    let length = usize::from(frame[1] & 0x7f);
    let mut mask = [0u8; 4];
    let mut payload = vec![0u8; length];
    if reader.read_exact(&mut mask).await.is_err() || reader.read_exact(&mut payload).await.is_err() {
        return;
    }
    payload
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b ^= mask[i % 4]);
    let mut echo = vec![0x80 | (frame[0] & 0x0f), payload.len() as u8];
    echo.extend_from_slice(&payload);
    let _ = reader.get_mut().write_all(&echo).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), reader.read_to_end(&mut rest)).await;
}

/// A listener on port `port` of a loopback address of its own (127.x.y.z, from this process's
/// id), so tests can serve the providers' real port 443. Needs root; `None` (with the reason
/// printed) otherwise.
pub fn privileged_listener(port: u16) -> Option<TcpListener> {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let pid = std::process::id();
    for _ in 0..32 {
        let n = NEXT.fetch_add(1, Ordering::SeqCst) as u8;
        let ip = IpAddr::from([127, 100 + (pid % 100) as u8, (pid / 100 % 250) as u8, n]);
        match TcpListener::bind((ip, port)) {
            Ok(listener) => return Some(listener),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                eprintln!("skipped: binding port {port} needs root ({e})");
                return None;
            }
            Err(_) => continue,
        }
    }
    panic!("no free loopback address for port {port}");
}
