//! One HTTP request and its answer over hyper's connection API (HTTP/1.1 or HTTP/2), on a
//! pooled connection when one is idle or shareable, else on a new one from [`super::connection`].

use super::clock::{now, Checkpoints};
use super::connection::{self, Route};
use super::origin::{ConnInfo, Origin};
use super::pool::{Idle, PoolKey};
use super::sender::{Sender, MAX_HEAD};
use super::stage::StageError;
use crate::classify;
use crate::outcome::{ErrorClass, Stage, Timings};
use crate::probe::context::Ctx;
use crate::spec::request::{HttpVersion, ProxyChoice, ProxyScheme, ProxyUrl};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use url::Url;

/// Body bytes kept for assertions; the rest is read and counted, not kept.
pub const KEPT_BODY: usize = 1024 * 1024;
/// A response larger than this is cut off and its connection not reused.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// A request to send.
pub struct Outgoing<'a> {
    pub method: &'a http::Method,
    pub url: &'a Url,
    pub version: HttpVersion,
    pub headers: &'a [(String, String)],
    /// A header that carries a secret: marked sensitive, never copied into any result.
    pub secret: Option<(HeaderName, HeaderValue)>,
    pub body: Option<&'a str>,
    pub proxy: &'a ProxyChoice,
    /// Connect to this address of the URL's host instead of resolving it.
    pub pin: Option<IpAddr>,
}

/// A response, read to its end.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub version: &'static str,
    pub headers: HeaderMap,
    /// The first [`KEPT_BODY`] bytes.
    pub body: Bytes,
    pub body_bytes: u64,
    /// The body was longer than [`KEPT_BODY`]: `body` is only its start.
    pub body_truncated: bool,
    /// Stages of this request: the connection's when it opened one, and its time to first byte.
    pub timings: Timings,
    /// From sending the request to the last byte of the response.
    pub response_time: Duration,
    pub info: ConnInfo,
    pub reused: bool,
}

/// Sends one request and reads the whole answer before `timeout` runs out, on a pooled
/// connection when there is one.
pub async fn exchange(ctx: &Ctx, out: &Outgoing<'_>, timeout: Duration) -> Result<Exchange, StageError> {
    let origin =
        Origin::of(out.url).map_err(|e| StageError::error(Stage::Http, ErrorClass::Io, e.to_string()))?;
    let proxy = ctx.http.proxies.choose(out.proxy, out.url);
    let key = PoolKey {
        origin,
        proxy,
        version: out.version,
        pin: out.pin,
    };
    // Waiting for a turn is reach's own queue, not the target's slowness: the timeout starts after.
    let _turn = ctx.http.pool.turn(&key).await;
    let deadline = Instant::now() + timeout;
    if let Some(done) = pooled(ctx, &key, out, deadline).await {
        return done;
    }
    // The first connection to an origin that may speak HTTP/2 opens alone; whoever waited
    // for it looks in the pool again, where it is shared if it became HTTP/2.
    let may_be_h2 = key.version == HttpVersion::Http2 || (key.origin.tls && key.version == HttpVersion::Auto);
    let gate = ctx.http.pool.opening_gate(&key, may_be_h2);
    let _opening = match &gate {
        Some(gate) => {
            let held = gate.lock().await;
            // Opened meanwhile: HTTP/2 (shared now), or HTTP/1.1 or a failure (no more waiting
            // in line). The gate is let go before the request, which must not hold up others.
            if ctx.http.pool.has_shared(&key) || ctx.http.pool.opening_gate(&key, may_be_h2).is_none() {
                drop(held);
                if let Some(done) = pooled(ctx, &key, out, deadline).await {
                    return done;
                }
                None
            } else {
                Some(held)
            }
        }
        None => None,
    };
    let route = route(&key);
    let mut clock = Checkpoints::default();
    let connection = connection::open(ctx, &route, deadline, &mut clock)
        .await
        .inspect_err(|_| ctx.http.pool.open_in_parallel(&key))?;
    let info = ConnInfo {
        id: next_id(),
        address: connection.address,
        tls: connection.tls.clone(),
        proxy: key.proxy.as_ref().map(ToString::to_string),
        read: connection.stream.counter(),
    };
    let fail = |class, message: String, clock: &Checkpoints, address: SocketAddr| {
        let mut e = StageError::fail(Stage::Http, class, message);
        e.timings = clock.timings();
        e.address = Some(address);
        e
    };
    let address = info.address;
    let version = if connection.h2 { "HTTP/2" } else { "HTTP/1.1" };
    let started = tokio::time::timeout_at(deadline.into(), Sender::start(connection.stream, connection.h2));
    let started = started.await;
    if !matches!(started, Ok(Ok(_))) {
        ctx.http.pool.open_in_parallel(&key);
    }
    let sender = match started {
        Err(_) => {
            return Err(fail(
                ErrorClass::Timeout,
                format!("cannot start {version} in time"),
                &clock,
                address,
            ))
        }
        Ok(Err(e)) => {
            return Err(fail(
                classify::hyper_error(&e),
                format!("cannot start {version}: {e}"),
                &clock,
                address,
            ))
        }
        Ok(Ok(sender)) => sender,
    };
    let idle = Idle { sender, info };
    match idle.share() {
        // Shared at once: requests of other checks to this origin multiplex on it from now on.
        Some(shared) => ctx.http.pool.put_idle(key.clone(), shared),
        None => ctx.http.pool.open_in_parallel(&key),
    }
    drop(_opening);
    match send(ctx, &key, idle, out, deadline, clock, false).await {
        Ok(done) => Ok(done),
        Err(Retry::Failed(e)) => Err(e),
        Err(Retry::Fresh) => Err(fail(
            ErrorClass::ConnectionClosed,
            format!(
                "{} closed the connection before answering",
                key.origin.host.with_port(key.origin.port)
            ),
            &clock,
            address,
        )),
    }
}

/// The request on a pooled connection, if one is there. A pooled connection may have been
/// closed by the server since; such a failure before any answer says nothing about the target,
/// so the request is tried on the next one (and at last on a new connection).
async fn pooled(
    ctx: &Ctx,
    key: &PoolKey,
    out: &Outgoing<'_>,
    deadline: Instant,
) -> Option<Result<Exchange, StageError>> {
    while let Some(idle) = ctx.http.pool.take_idle(key) {
        let id = idle.info.id;
        match send(ctx, key, idle, out, deadline, Checkpoints::default(), true).await {
            Ok(done) => return Some(Ok(done)),
            Err(Retry::Fresh) => ctx.http.pool.forget(key, id),
            Err(Retry::Failed(e)) => return Some(Err(e)),
        }
    }
    None
}

fn route(key: &PoolKey) -> Route<'_> {
    Route {
        origin: &key.origin,
        proxy: key.proxy.as_ref(),
        version: key.version,
        tunnel_plain: false,
        pin: key.pin,
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
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
    mut clock: Checkpoints,
    reused: bool,
) -> Result<Exchange, Retry> {
    let origin = key.origin.host.with_port(key.origin.port);
    let address = idle.info.address;
    let failed = |stage, class, message: String, clock: &Checkpoints| {
        let mut e = StageError::fail(stage, class, message);
        e.timings = clock.timings();
        e.address = Some(address);
        Retry::Failed(e)
    };
    let h2 = idle.sender.is_h2();
    // Only an HTTP proxy takes requests in absolute form; a SOCKS5 one or a tunnel carries
    // what the origin itself would get.
    let absolute =
        !h2 && key.proxy.as_ref().is_some_and(|p| p.scheme == ProxyScheme::Http) && !route(key).tunnels();
    let request = build_request(out, h2, absolute, key.proxy.as_ref()).map_err(|e| {
        let message = format!("cannot build the request: {e}");
        Retry::Failed(StageError::error(Stage::Http, ErrorClass::Io, message))
    })?;
    if reused && idle.sender.ready().await.is_err() {
        return Err(Retry::Fresh);
    }
    let read_before = idle.info.bytes_read();
    clock.request_start = now();
    let answer = tokio::time::timeout_at(deadline.into(), idle.sender.send(request)).await;
    let response = match answer {
        // HTTP/1.1 bytes on this connection since the request are this answer's: the server
        // began it. (HTTP/2 frames of other streams and settings arrive too, so they prove
        // nothing about this request.)
        Err(_) if !h2 && idle.info.bytes_read() > read_before => {
            let got = idle.info.bytes_read() - read_before;
            return Err(failed(
                Stage::Http,
                ErrorClass::Timeout,
                format!(
                    "{origin} began its answer but its headers were not finished in time ({got} bytes \
                     without the blank line that ends them)"
                ),
                &clock,
            ));
        }
        Err(_) => {
            let what = if h2 {
                "sent no complete response head in time"
            } else {
                "accepted the request but sent no answer in time (time to first byte)"
            };
            return Err(failed(
                Stage::Ttfb,
                ErrorClass::Timeout,
                format!("{origin} {what}"),
                &clock,
            ));
        }
        Ok(Err(e)) if reused && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) => {
            return Err(Retry::Fresh)
        }
        // A parse error after a whole head's worth of bytes: the head never ended.
        Ok(Err(e)) if !h2 && e.is_parse() && idle.info.bytes_read() - read_before >= MAX_HEAD as u64 => {
            return Err(failed(
                Stage::Http,
                ErrorClass::HttpProtocol,
                format!(
                    "{origin} sent response headers over {} KiB: its headers were not finished ({e})",
                    MAX_HEAD / 1024
                ),
                &clock,
            ))
        }
        Ok(Err(e)) if h2 && !key.origin.tls && !reused => {
            return Err(failed(
                Stage::Http,
                ErrorClass::HttpProtocol,
                format!("{origin} does not speak HTTP/2 with prior knowledge (h2c): {e}"),
                &clock,
            ))
        }
        Ok(Err(e)) => {
            let class = classify::hyper_error(&e);
            let why = match class {
                ErrorClass::ConnectionClosed => {
                    format!("{origin} closed the connection without answering ({e})")
                }
                ErrorClass::HttpProtocol => {
                    format!("{origin} answered with something that is not HTTP ({e})")
                }
                _ => format!("the request to {origin} failed ({e})"),
            };
            let stage = if class == ErrorClass::ConnectionClosed {
                Stage::Ttfb
            } else {
                Stage::Http
            };
            return Err(failed(stage, class, why, &clock));
        }
        Ok(Ok(response)) => response,
    };
    clock.first_byte = now();
    let (parts, mut body) = response.into_parts();
    let mut kept = Vec::new();
    let mut total: u64 = 0;
    let mut complete = true;
    loop {
        match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => {
                return Err(failed(
                    Stage::Http,
                    ErrorClass::Timeout,
                    format!(
                        "{origin} answered {} but the body did not finish in time",
                        parts.status.as_u16()
                    ),
                    &clock,
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let class = classify::hyper_error(&e);
                return Err(failed(
                    Stage::Http,
                    class,
                    format!(
                        "{origin} broke off the body of its {} answer ({e})",
                        parts.status.as_u16()
                    ),
                    &clock,
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
    clock.last_byte = now();
    let response_time = clock
        .last_byte
        .zip(clock.request_start)
        .map(|(end, start)| end.saturating_duration_since(start))
        .unwrap_or_default();
    let closing = parts
        .headers
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        || parts.version == http::Version::HTTP_10;
    let info = idle.info.clone();
    // HTTP/2 connections were shared when they opened; only HTTP/1.1 ones go back to the pool.
    if !h2 && complete && !closing && !idle.sender.is_closed() {
        ctx.http.pool.put_idle(key.clone(), idle);
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
        body_truncated: total > KEPT_BODY as u64,
        timings: clock.timings(),
        response_time,
        info,
        reused,
    })
}

/// The request as hyper sends it. HTTP/1.1: origin-form and `Host` (absolute-form to an HTTP
/// proxy). HTTP/2: hyper takes `:scheme` and `:authority` from an absolute URI, so the URI is the
/// whole URL and there is no `Host` (RFC 9113 section 8.3.1).
fn build_request(
    out: &Outgoing<'_>,
    h2: bool,
    absolute: bool,
    proxy: Option<&ProxyUrl>,
) -> Result<http::Request<Full<Bytes>>, http::Error> {
    let url = out.url;
    let whole = &url[..url::Position::AfterQuery];
    let mut builder = http::Request::builder().method(out.method.clone());
    if h2 {
        builder = builder.uri(whole).version(http::Version::HTTP_2);
    } else {
        let target = if absolute {
            whole.to_owned()
        } else {
            url[url::Position::BeforePath..url::Position::AfterQuery].to_owned()
        };
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        builder = builder.uri(target).header(http::header::HOST, host);
    }
    builder = builder
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
    let credentials = proxy
        .filter(|p| p.scheme == ProxyScheme::Http)
        .and_then(ProxyUrl::basic_credentials);
    if let (true, Some(credentials)) = (absolute, credentials) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))?;
        value.set_sensitive(true);
        builder = builder.header(http::header::PROXY_AUTHORIZATION, value);
    }
    let body = out.body.map(|b| Bytes::from(b.to_owned())).unwrap_or_default();
    builder.body(Full::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing<'a>(url: &'a Url, headers: &'a [(String, String)]) -> Outgoing<'a> {
        Outgoing {
            method: &http::Method::GET,
            url,
            version: HttpVersion::Auto,
            headers,
            secret: None,
            body: None,
            proxy: &ProxyChoice::Direct,
            pin: None,
        }
    }

    #[test]
    fn requests_take_the_form_their_version_and_route_need() {
        let url = Url::parse("https://api.test:8443/v1/models?limit=2#frag").unwrap();
        let out = outgoing(&url, &[]);
        let h1 = build_request(&out, false, false, None).unwrap();
        assert_eq!(h1.uri(), "/v1/models?limit=2");
        assert_eq!(h1.headers()["host"], "api.test:8443");
        let h2 = build_request(&out, true, false, None).unwrap();
        assert_eq!(h2.uri(), "https://api.test:8443/v1/models?limit=2");
        assert!(h2.headers().get("host").is_none());
        let proxy = ProxyUrl::parse("http://me:pw@proxy.test:3128").unwrap();
        let plain = Url::parse("http://intranet.test/page").unwrap();
        let out = outgoing(&plain, &[]);
        let absolute = build_request(&out, false, true, Some(&proxy)).unwrap();
        assert_eq!(absolute.uri(), "http://intranet.test/page");
        assert!(absolute.headers()["proxy-authorization"].is_sensitive());
    }

    #[test]
    fn a_header_value_with_a_line_break_cannot_be_sent() {
        let url = Url::parse("http://a.test/").unwrap();
        let headers = [("x-evil".to_owned(), "a\r\nInjected: yes".to_owned())];
        assert!(build_request(&outgoing(&url, &headers), false, false, None).is_err());
    }
}
