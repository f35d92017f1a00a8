//! One HTTP/1.1 request and its answer over hyper's connection API, on a pooled connection when
//! one is idle, else on a new one from [`super::connection`].

use super::connection::{self, Route};
use super::origin::{ConnInfo, Origin};
use super::pool::{Idle, PoolKey};
use super::stage::StageError;
use crate::classify;
use crate::outcome::{ErrorClass, Stage, Timings};
use crate::probe::context::Ctx;
use crate::spec::request::{ProxyChoice, ProxyUrl};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use url::Url;

/// Body bytes kept for assertions; the rest is read and counted, not kept.
const KEPT_BODY: usize = 1024 * 1024;
/// A response larger than this is cut off and its connection not reused.
const MAX_BODY: u64 = 64 * 1024 * 1024;
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
    let origin =
        Origin::of(out.url).map_err(|e| StageError::error(Stage::Http, ErrorClass::Io, e.to_string()))?;
    let proxy = ctx.http.proxies.choose(out.proxy, out.url);
    let key = PoolKey { origin, proxy };
    // Waiting for a turn is reach's own queue, not the target's slowness: the timeout starts after.
    let _turn = ctx.http.pool.turn(&key).await;
    let deadline = Instant::now() + timeout;
    // A pooled connection may have been closed by the server since; such a failure before any
    // answer says nothing about the target, so the request is sent again on a new connection.
    while let Some(idle) = ctx.http.pool.take_idle(&key) {
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
    let connection = connection::open(ctx, &route, deadline).await?;
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
    let request = build_request(out, absolute, key.proxy.as_ref()).map_err(|e| {
        let message = format!("cannot build the request: {e}");
        Retry::Failed(StageError::error(Stage::Http, ErrorClass::Io, message))
    })?;
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
) -> Result<http::Request<Full<Bytes>>, http::Error> {
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
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))?;
        value.set_sensitive(true);
        builder = builder.header(http::header::PROXY_AUTHORIZATION, value);
    }
    let body = out.body.map(|b| Bytes::from(b.to_owned())).unwrap_or_default();
    builder.body(Full::new(body))
}
