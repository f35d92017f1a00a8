//! One HTTP/1.1 request and its answer over hyper's connection API, on connections from
//! [`super::transport`], kept in a pool so that checks against the same origin (and the samples
//! of one check) reuse them. Also the run's HTTP settings: proxies from the environment, API keys,
//! the TLS configuration.

use super::transport::{self, Origin, Route, StageError};
use super::Ctx;
use crate::classify;
use crate::outcome::{ErrorClass, Stage, Timings, TlsSession};
use crate::spec::request::{Provider, ProxyChoice, ProxyUrl};
use crate::trust::Trust;
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// Body bytes kept for assertions; the rest is read and counted, not kept.
const KEPT_BODY: usize = 1024 * 1024;
/// A response larger than this is cut off and its connection not reused.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 1024;
/// Requests in flight to one origin (through one proxy) at a time. A run of a thousand checks
/// against one API then opens at most this many connections and reuses them, instead of
/// opening one per check like a burst of curl processes would.
pub const MAX_CONNECTIONS_PER_ORIGIN: usize = 32;

/// The run's HTTP state, shared by every HTTP-speaking check.
#[derive(Default)]
pub struct HttpCtx {
    pub proxies: ProxyEnv,
    pub keys: Keys,
    pool: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    in_flight: Mutex<HashMap<PoolKey, Arc<Semaphore>>>,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl fmt::Debug for HttpCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCtx")
            .field("proxies", &self.proxies)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl HttpCtx {
    /// Proxies and keys from the process environment. A proxy variable that cannot be parsed is
    /// a usage error, named with its value's credentials hidden.
    pub fn from_env() -> Result<HttpCtx, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(HttpCtx {
            proxies: ProxyEnv::from_vars(get)?,
            keys: Keys::from_vars(get),
            ..HttpCtx::default()
        })
    }

    /// The client TLS configuration (the run's roots, ALPN http/1.1), built once.
    pub fn tls_config(&self, trust: &Trust) -> Result<Arc<rustls::ClientConfig>, String> {
        self.tls
            .get_or_init(|| {
                trust
                    .client_config()
                    .map(|c| transport::with_alpn(c, &[b"http/1.1"]))
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// A turn to use a connection to `key`'s origin.
    async fn turn(&self, key: &PoolKey) -> Option<OwnedSemaphorePermit> {
        let gate = {
            let mut gates = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                gates
                    .entry(key.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_ORIGIN))),
            )
        };
        gate.acquire_owned().await.ok()
    }

    fn take_idle(&self, key: &PoolKey) -> Option<Idle> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let idle = pool.get_mut(key)?;
        while let Some(found) = idle.pop() {
            if found.sender.is_ready() {
                return Some(found);
            }
        }
        None
    }

    fn put_idle(&self, key: PoolKey, idle: Idle) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let list = pool.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(idle);
        }
    }
}

/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (either case), read once per run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub https: Option<ProxyUrl>,
    pub http: Option<ProxyUrl>,
    /// Lowercase host suffixes (`.corp`, `example.com`), addresses, or `*`.
    pub no_proxy: Vec<String>,
}

impl ProxyEnv {
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<ProxyEnv, String> {
        let either = |upper: &str| {
            get(&upper.to_ascii_lowercase())
                .map(|v| (upper.to_ascii_lowercase(), v))
                .or_else(|| get(upper).map(|v| (upper.to_owned(), v)))
        };
        let proxy = |upper: &str| -> Result<Option<ProxyUrl>, String> {
            match either(upper) {
                None => Ok(None),
                Some((name, value)) => ProxyUrl::parse(value.trim())
                    .map(Some)
                    .map_err(|e| format!("{name}: {e}")),
            }
        };
        Ok(ProxyEnv {
            https: proxy("HTTPS_PROXY")?,
            http: proxy("HTTP_PROXY")?,
            no_proxy: either("NO_PROXY")
                .map(|(_, v)| {
                    v.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The proxy a request to `url` goes through under `choice`.
    pub fn choose(&self, choice: &ProxyChoice, url: &Url) -> Option<ProxyUrl> {
        match choice {
            ProxyChoice::Direct => None,
            ProxyChoice::Url(proxy) => Some(proxy.clone()),
            ProxyChoice::FromEnvironment => {
                let proxy = match url.scheme() {
                    "https" | "wss" => self.https.as_ref(),
                    _ => self.http.as_ref(),
                }?;
                let host = url
                    .host_str()?
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase();
                (!self.bypassed(&host)).then(|| proxy.clone())
            }
        }
    }

    fn bypassed(&self, host: &str) -> bool {
        self.no_proxy.iter().any(|entry| {
            let entry = entry.split(':').next().unwrap_or(entry);
            let bare = entry.trim_start_matches('.');
            entry == "*"
                || host == bare
                || (host.ends_with(bare) && host[..host.len() - bare.len()].ends_with('.'))
        })
    }
}

/// API keys from the environment, by variable name. Never printed: `Debug` shows names only.
#[derive(Default)]
pub struct Keys(HashMap<&'static str, String>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Keys").field(&names).finish()
    }
}

impl Keys {
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Keys {
        let mut keys = HashMap::new();
        for provider in Provider::ALL {
            for &name in provider.key_variables() {
                if let Some(value) = get(name) {
                    keys.insert(name, value.trim().to_owned());
                }
            }
        }
        Keys(keys)
    }

    /// The first variable set for `provider`, and its value.
    pub fn for_provider(&self, provider: Provider) -> Option<(&'static str, &str)> {
        provider
            .key_variables()
            .iter()
            .find_map(|&name| self.0.get(name).map(|v| (name, v.as_str())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    origin: Origin,
    proxy: Option<ProxyUrl>,
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    info: ConnInfo,
}

/// Facts about the connection an exchange used.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub address: SocketAddr,
    pub tls: Option<TlsSession>,
    /// The proxy, without credentials.
    pub proxy: Option<String>,
}

/// A request to send.
pub struct Outgoing<'a> {
    pub method: &'a http::Method,
    pub url: &'a Url,
    pub headers: &'a [(String, String)],
    /// A header that carries a secret: marked sensitive, never copied into any result.
    pub secret: Option<(HeaderName, HeaderValue)>,
    pub body: Option<&'a str>,
    pub proxy: &'a ProxyChoice,
}

/// A response, read to its end.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub version: &'static str,
    pub headers: HeaderMap,
    /// The first [`KEPT_BODY`] bytes.
    pub body: Bytes,
    pub body_bytes: u64,
    /// Stages of a new connection (none when reused) and the time to the response head.
    pub timings: Timings,
    /// From sending the request to the last byte of the response.
    pub response_time: Duration,
    pub info: ConnInfo,
    pub reused: bool,
}

/// Sends one request and reads the whole answer before `timeout` runs out, on a pooled
/// connection when one is idle.
pub async fn exchange(ctx: &Ctx, out: &Outgoing<'_>, timeout: Duration) -> Result<Exchange, StageError> {
    let origin = Origin::of(out.url).map_err(|e| StageError::error(Stage::Http, ErrorClass::Io, e))?;
    let proxy = ctx.http.proxies.choose(out.proxy, out.url);
    let key = PoolKey { origin, proxy };
    // Waiting for a turn is reach's own queue, not the target's slowness: the timeout starts after.
    let _turn = ctx.http.turn(&key).await;
    let deadline = Instant::now() + timeout;
    // A pooled connection may have been closed by the server since; such a failure before any
    // answer says nothing about the target, so the request is sent again on a new connection.
    while let Some(idle) = ctx.http.take_idle(&key) {
        match send(ctx, &key, idle, out, deadline, Timings::default(), true).await {
            Ok(done) => return Ok(done),
            Err(Retry::Fresh) => continue,
            Err(Retry::Failed(e)) => return Err(e),
        }
    }
    let route = Route {
        origin: &key.origin,
        proxy: key.proxy.as_ref(),
        tunnel_plain: false,
    };
    let connection = transport::open(ctx, &route, deadline).await?;
    let info = ConnInfo {
        address: connection.address,
        tls: connection.tls.clone(),
        proxy: key.proxy.as_ref().map(ToString::to_string),
    };
    let timings = connection.timings;
    let address = info.address;
    let fail = |class, message: String| {
        let mut e = StageError::fail(Stage::Http, class, message);
        e.timings = timings;
        e.address = Some(address);
        e
    };
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(connection.stream))
        .await
        .map_err(|e| fail(classify::hyper_error(&e), format!("cannot start HTTP/1.1: {e}")))?;
    tokio::spawn(async move {
        // The connection's errors reach the request that is waiting on it; nothing to do here.
        let _ = conn.await;
    });
    match send(ctx, &key, Idle { sender, info }, out, deadline, timings, false).await {
        Ok(done) => Ok(done),
        Err(Retry::Failed(e)) => Err(e),
        Err(Retry::Fresh) => Err(fail(
            ErrorClass::ConnectionClosed,
            format!(
                "{} closed the connection before answering",
                key.origin.host.with_port(key.origin.port)
            ),
        )),
    }
}

enum Retry {
    /// The pooled connection was stale; try a new one.
    Fresh,
    Failed(StageError),
}

async fn send(
    ctx: &Ctx,
    key: &PoolKey,
    mut idle: Idle,
    out: &Outgoing<'_>,
    deadline: Instant,
    timings: Timings,
    reused: bool,
) -> Result<Exchange, Retry> {
    let origin = key.origin.host.with_port(key.origin.port);
    let stage_error = |stage, class, message: String| {
        let mut e = StageError::fail(stage, class, message);
        e.timings = timings;
        e.address = Some(idle.info.address);
        Retry::Failed(e)
    };
    let absolute = key.proxy.is_some() && !key.origin.tls;
    let request = build_request(out, absolute, key.proxy.as_ref())
        .map_err(|e| Retry::Failed(StageError::error(Stage::Http, ErrorClass::Io, e)))?;
    if reused && idle.sender.ready().await.is_err() {
        return Err(Retry::Fresh);
    }
    let started = Instant::now();
    let answer = tokio::time::timeout_at(deadline.into(), idle.sender.send_request(request)).await;
    let response = match answer {
        Err(_) => {
            return Err(stage_error(
                Stage::Ttfb,
                ErrorClass::Timeout,
                format!("{origin} accepted the request but sent no answer in time (time to first byte)"),
            ))
        }
        Ok(Err(e)) if reused && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) => {
            return Err(Retry::Fresh)
        }
        Ok(Err(e)) => {
            let class = classify::hyper_error(&e);
            let why = match class {
                ErrorClass::ConnectionClosed => {
                    format!("{origin} closed the connection without answering ({e})")
                }
                ErrorClass::HttpProtocol => {
                    format!("{origin} answered with something that is not HTTP/1.x ({e})")
                }
                _ => format!("the request to {origin} failed ({e})"),
            };
            let stage = if class == ErrorClass::ConnectionClosed {
                Stage::Ttfb
            } else {
                Stage::Http
            };
            return Err(stage_error(stage, class, why));
        }
        Ok(Ok(response)) => response,
    };
    let ttfb = started.elapsed();
    let (parts, mut body) = response.into_parts();
    let mut kept = Vec::new();
    let mut total: u64 = 0;
    let mut complete = true;
    loop {
        match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => {
                return Err(stage_error(
                    Stage::Http,
                    ErrorClass::Timeout,
                    format!(
                        "{origin} answered {} but the body did not finish in time",
                        parts.status.as_u16()
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let class = classify::hyper_error(&e);
                return Err(stage_error(
                    Stage::Http,
                    class,
                    format!(
                        "{origin} broke off the body of its {} answer ({e})",
                        parts.status.as_u16()
                    ),
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    total += data.len() as u64;
                    let room = KEPT_BODY.saturating_sub(kept.len());
                    kept.extend_from_slice(&data[..room.min(data.len())]);
                    if total > MAX_BODY {
                        complete = false;
                        break;
                    }
                }
            }
        }
    }
    let response_time = started.elapsed();
    let closing = parts
        .headers
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        || parts.version == http::Version::HTTP_10;
    let info = idle.info.clone();
    if complete && !closing && !idle.sender.is_closed() {
        ctx.http.put_idle(key.clone(), idle);
    }
    Ok(Exchange {
        status: parts.status.as_u16(),
        version: match parts.version {
            http::Version::HTTP_10 => "HTTP/1.0",
            http::Version::HTTP_2 => "HTTP/2",
            _ => "HTTP/1.1",
        },
        headers: parts.headers,
        body: Bytes::from(kept),
        body_bytes: total,
        timings: Timings {
            ttfb: Some(ttfb),
            ..timings
        },
        response_time,
        info,
        reused,
    })
}

fn build_request(
    out: &Outgoing<'_>,
    absolute: bool,
    proxy: Option<&ProxyUrl>,
) -> Result<http::Request<Full<Bytes>>, String> {
    let url = out.url;
    let target = if absolute {
        url.as_str().to_owned()
    } else {
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    };
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut builder = http::Request::builder()
        .method(out.method.clone())
        .uri(target)
        .header(http::header::HOST, host)
        .header(
            http::header::USER_AGENT,
            concat!("reach/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::ACCEPT, "*/*");
    for (name, value) in out.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some((name, value)) = &out.secret {
        let mut value = value.clone();
        value.set_sensitive(true);
        builder = builder.header(name, value);
    }
    if let (true, Some(credentials)) = (absolute, proxy.and_then(|p| p.credentials.as_ref())) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|e| e.to_string())?;
        value.set_sensitive(true);
        builder = builder.header(http::header::PROXY_AUTHORIZATION, value);
    }
    let body = out.body.map(|b| Bytes::from(b.to_owned())).unwrap_or_default();
    builder
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn no_proxy_matches_domains_on_label_boundaries() {
        let proxies = ProxyEnv::from_vars(env(&[
            ("HTTPS_PROXY", "http://proxy.test:3128"),
            ("no_proxy", "internal.test, .corp,127.0.0.1"),
        ]))
        .unwrap();
        let via = |url: &str| proxies.choose(&ProxyChoice::FromEnvironment, &Url::parse(url).unwrap());
        assert!(via("https://api.openai.com/").is_some());
        assert!(via("https://internal.test/").is_none());
        assert!(via("https://a.internal.test/").is_none());
        assert!(via("https://notinternal.test/").is_some());
        assert!(via("https://x.corp/").is_none());
        assert!(via("https://127.0.0.1:8443/").is_none());
        assert!(
            via("http://plain.test/").is_none(),
            "HTTPS_PROXY is not for http://"
        );
        assert!(proxies
            .choose(&ProxyChoice::Direct, &Url::parse("https://a.test/").unwrap())
            .is_none());
    }

    #[test]
    fn a_bad_proxy_variable_is_named_without_its_password() {
        let error = ProxyEnv::from_vars(env(&[("HTTPS_PROXY", "socks5://u:hunter2@p.test")])).unwrap_err();
        assert!(error.starts_with("HTTPS_PROXY"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn keys_debug_shows_names_only() {
        let keys = Keys::from_vars(env(&[
            ("OPENAI_API_KEY", "sk-secret"),
            ("DEEPGRAM_API_KEY", "dg"),
        ]));
        let shown = format!("{keys:?}");
        assert!(
            shown.contains("OPENAI_API_KEY") && !shown.contains("sk-secret"),
            "{shown}"
        );
        assert_eq!(
            keys.for_provider(Provider::Deepgram),
            Some(("DEEPGRAM_API_KEY", "dg"))
        );
    }
}
