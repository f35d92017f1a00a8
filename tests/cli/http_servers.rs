//! Local servers for the HTTP tests, all on loopback: a test PKI (rcgen, generated per run), an
//! HTTP/1.1 server (plain or TLS) with fixed routes that also misbehave on demand, hyper's own
//! server for HTTP/2 (ALPN over TLS, or prior knowledge), a CONNECT proxy, a SOCKS5 proxy, and a
//! listener that drops every connection. Servers run on one shared runtime for the rest of the
//! test process; readiness comes from binding before the port is handed out.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use std::time::Instant;
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

    /// A server config with a leaf for `names`, signed by this CA (ALPN: http/1.1).
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        self.server_config_alpn(names, &[b"http/1.1"])
    }

    /// The same with the ALPN protocols the server accepts, in its order of preference.
    pub fn server_config_alpn(&self, names: &[&str], alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let mut config = config(vec![cert.der().clone(), self.ca.der().clone()], key);
        Arc::get_mut(&mut config).unwrap().alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
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

/// What a server saw.
#[derive(Default)]
pub struct Log {
    /// Request lines (or proxy targets) seen so far.
    seen: Mutex<Vec<String>>,
    /// Every request head seen so far, line by line.
    heads: Mutex<Vec<Vec<String>>>,
    /// Requests answered so far.
    requests: AtomicUsize,
    /// Milliseconds the HTTP server waits before it answers each request (a slow application).
    delay_ms: Arc<AtomicU64>,
}

/// A running test server.
pub struct Server {
    pub address: SocketAddr,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    /// Milliseconds the HTTP server waits before it answers each request (a slow application).
    pub delay_ms: Arc<AtomicU64>,
    log: Arc<Log>,
    accept: tokio::task::AbortHandle,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn seen(&self) -> Vec<String> {
        self.log.seen.lock().unwrap().clone()
    }

    /// The request heads seen so far, each as its lines (the request line first).
    pub fn heads(&self) -> Vec<Vec<String>> {
        self.log.heads.lock().unwrap().clone()
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
        Server::http_tls_delayed(listener, tls, Duration::ZERO)
    }

    /// The HTTP test server that waits `delay` after accepting a connection before its TLS
    /// handshake: the TCP handshake is already done (the kernel completes it from the backlog),
    /// so only the TLS stage is slow.
    pub fn http_tls_delayed(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        delay: Duration,
    ) -> Server {
        serve(listener, move |stream, log| {
            let tls = tls.clone();
            async move {
                match tls {
                    None => http_connection(stream, log).await,
                    Some(config) => {
                        tokio::time::sleep(delay).await;
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            http_connection(stream, log).await;
                        }
                    }
                }
            }
        })
    }

    /// hyper's server: over TLS it serves whatever the client speaks after ALPN (HTTP/2 or
    /// HTTP/1.1), on cleartext HTTP/2 with prior knowledge only when `h2c_only`. `GET /`
    /// answers 200 with the version it was asked in; `/wait` answers after 300 ms.
    pub fn hyper(tls: Option<Arc<rustls::ServerConfig>>, h2c_only: bool) -> Server {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto;
        serve(TcpListener::bind("127.0.0.1:0").unwrap(), move |stream, log| {
            let tls = tls.clone();
            async move {
                let service = hyper::service::service_fn(move |request| {
                    let log = Arc::clone(&log);
                    async move { Ok::<_, std::convert::Infallible>(hyper_answer(request, &log).await) }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                if h2c_only {
                    builder = builder.http2_only();
                }
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            }
        })
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
        Server::connect_proxy_delayed(upstream, Duration::ZERO)
    }

    /// The CONNECT proxy, answering each CONNECT only after `delay`.
    pub fn connect_proxy_delayed(upstream: SocketAddr, delay: Duration) -> Server {
        serve(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            move |stream, log| async move {
                let mut reader = BufReader::new(stream);
                let Some(head) = read_head(&mut reader).await else {
                    return;
                };
                let line = head.first().cloned().unwrap_or_default();
                log.seen.lock().unwrap().push(line.clone());
                tokio::time::sleep(delay).await;
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

/// How the SOCKS5 test proxy behaves.
#[derive(Clone, Default)]
pub struct Socks {
    /// RFC 1929 user and password it requires; `None`: it wants no authentication.
    pub credentials: Option<(&'static str, &'static str)>,
    /// Its reply to CONNECT when not 0 (success).
    pub reply: u8,
    /// How long it waits before that reply.
    pub delay: Duration,
}

impl Server {
    /// A SOCKS5 proxy: every CONNECT goes to `upstream` whatever it names (so nothing is ever
    /// resolved); the target as asked (`name:port` or `address:port`) is logged in `seen`.
    pub fn socks5(upstream: SocketAddr, socks: Socks) -> Server {
        serve(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            move |mut client, log| {
                let socks = socks.clone();
                async move {
                    let Some(target) = socks_handshake(&mut client, &socks).await else {
                        return;
                    };
                    log.seen.lock().unwrap().push(target);
                    tokio::time::sleep(socks.delay).await;
                    let refuse = |code: u8| [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
                    if socks.reply != 0 {
                        let _ = client.write_all(&refuse(socks.reply)).await;
                        return;
                    }
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        let _ = client.write_all(&refuse(5)).await;
                        return;
                    };
                    let mut ok = vec![5, 0, 0, 1, 127, 0, 0, 1];
                    ok.extend_from_slice(&upstream.port().to_be_bytes());
                    if client.write_all(&ok).await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }
            },
        )
    }
}

/// The server side of a SOCKS5 greeting, authentication and CONNECT request: the target as
/// `host:port`, or `None` when the client is turned away.
async fn socks_handshake(client: &mut tokio::net::TcpStream, socks: &Socks) -> Option<String> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.ok()?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await.ok()?;
    match socks.credentials {
        None if methods.contains(&0) => client.write_all(&[5, 0]).await.ok()?,
        Some((user, password)) if methods.contains(&2) => {
            client.write_all(&[5, 2]).await.ok()?;
            let mut version_and_length = [0u8; 2];
            client.read_exact(&mut version_and_length).await.ok()?;
            let mut got_user = vec![0u8; usize::from(version_and_length[1])];
            client.read_exact(&mut got_user).await.ok()?;
            let mut got_password = vec![0u8; usize::from(client.read_u8().await.ok()?)];
            client.read_exact(&mut got_password).await.ok()?;
            let good = got_user == user.as_bytes() && got_password == password.as_bytes();
            client.write_all(&[1, if good { 0 } else { 1 }]).await.ok()?;
            if !good {
                return None;
            }
        }
        _ => {
            let _ = client.write_all(&[5, 0xff]).await;
            return None;
        }
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.ok()?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await.ok()?;
            IpAddr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await.ok()?;
            format!("[{}]", IpAddr::from(ip))
        }
        3 => {
            let mut name = vec![0u8; usize::from(client.read_u8().await.ok()?)];
            client.read_exact(&mut name).await.ok()?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return None,
    };
    let port = client.read_u16().await.ok()?;
    Some(format!("{host}:{port}"))
}

fn serve<F, Fut>(listener: TcpListener, handle: F) -> Server
where
    F: Fn(tokio::net::TcpStream, Arc<Log>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Log::default());
    let (count, shared) = (Arc::clone(&connections), Arc::clone(&log));
    let handle = Arc::new(handle);
    let accept = runtime()
        .spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handle(stream, Arc::clone(&shared)));
            }
        })
        .abort_handle();
    Server {
        address,
        connections,
        delay_ms: Arc::clone(&log.delay_ms),
        log,
        accept,
    }
}

/// The answer of [`Server::hyper`].
async fn hyper_answer(
    request: hyper::Request<hyper::body::Incoming>,
    log: &Log,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let version = format!("{:?}", request.version());
    log.seen
        .lock()
        .unwrap()
        .push(format!("{} {} {version}", request.method(), request.uri().path()));
    if request.uri().path() == "/wait" {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(format!(
        "served over {version}"
    ))));
    response
        .headers_mut()
        .insert("x-served-over", http::HeaderValue::from_str(&version).unwrap());
    response
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
async fn http_connection<S: AsyncRead + AsyncWrite + Unpin>(stream: S, log: Arc<Log>) {
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader).await {
        let line = head.first().cloned().unwrap_or_default();
        log.seen.lock().unwrap().push(line.clone());
        log.heads.lock().unwrap().push(head.clone());
        let nth = log.requests.fetch_add(1, Ordering::SeqCst);
        let length: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        match log.delay_ms.load(Ordering::SeqCst) {
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
            "/wait" => tokio::time::sleep(Duration::from_millis(300)).await,
            // 200 at once to this server's first request, 503 after 300 ms to every later one.
            "/fast-then-slow-503" if nth > 0 => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = reader
                    .get_mut()
                    .write_all(b"HTTP/1.1 503 Test\r\nContent-Length: 4\r\n\r\nslow")
                    .await;
                continue;
            }
            "/endless-headers" | "/endless-slow-headers" => {
                let slow = path == "/endless-slow-headers";
                let started = Instant::now();
                let out = reader.get_mut();
                if out.write_all(b"HTTP/1.1 200 Test\r\n").await.is_err() {
                    return;
                }
                // Headers without end, for longer than any test waits.
                for n in 0.. {
                    let line = format!("X-Padding-{n}: {}\r\n", "x".repeat(100));
                    if out.write_all(line.as_bytes()).await.is_err()
                        || started.elapsed() > Duration::from_secs(10)
                    {
                        return;
                    }
                    if slow {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            "/latin1" => {
                // A header value in Latin-1 (not UTF-8, not ASCII), as old servers send.
                let _ = reader
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 Test\r\nX-City: Z\xfcrich\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                continue;
            }
            "/big" => {
                // 2 MiB: "BEGIN", filler, "THE-END".
                let mut body = b"BEGIN".to_vec();
                body.resize(2 * 1024 * 1024 - 7, b'.');
                body.extend_from_slice(b"THE-END");
                let head = format!("HTTP/1.1 200 Test\r\nContent-Length: {}\r\n\r\n", body.len());
                let out = reader.get_mut();
                if out.write_all(head.as_bytes()).await.is_err() || out.write_all(&body).await.is_err() {
                    return;
                }
                continue;
            }
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
    // To HTTPS on secure.test, keeping the path and query, or dropping them.
    if path.starts_with("/keep/") {
        return Reply::new(301, "").header("Location", &format!("https://secure.test{path}"));
    }
    if path.starts_with("/drop/") {
        return Reply::new(301, "").header("Location", "https://secure.test/");
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
        "/wait" => Reply::new(200, "waited"),
        "/fast-then-slow-503" => Reply::new(200, "fast"),
        "/headers" => Reply::new(200, "recorded"),
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
