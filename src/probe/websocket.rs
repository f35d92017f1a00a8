//! `websocket` checks: an HTTP/1.1 upgrade over TCP or TLS (through hyper's upgrade API) that
//! must be answered with `101 Switching Protocols` and a correct `Sec-WebSocket-Accept`, then
//! optionally one text message that must come back unchanged (RFC 6455, just enough of it to
//! say so).

use super::attempt::Attempt;
use super::context::Ctx;
use super::http::clock::{now, Checkpoints};
use super::http::connection::{self, Route};
use super::http::origin::Origin;
use super::http::sender::{h1_builder, MAX_HEAD};
use super::http::stage::StageError;
use crate::classify;
use crate::outcome::{ErrorClass, Finding, HttpObservation, Observed, Stage, Verdict};
use crate::spec::request::{HttpVersion, WebsocketCheck};
use crate::text::ms;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use ring::rand::SecureRandom;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The GUID every server appends to the client's key (RFC 6455 section 1.3).
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest frame read while waiting for the echo.
const MAX_FRAME: u64 = 1024 * 1024;

pub async fn attempt(ctx: &Ctx, check: &WebsocketCheck, timeout: Duration) -> Attempt {
    let deadline = Instant::now() + timeout;
    let mut observed = HttpObservation {
        url: check.url.to_string(),
        ..HttpObservation::default()
    };
    let origin = match Origin::of(&check.url) {
        Ok(origin) => origin,
        Err(e) => {
            return StageError::error(Stage::Http, ErrorClass::Io, e.to_string()).into_attempt(observed)
        }
    };
    let proxy = ctx.http.proxies.choose(&check.proxy, &check.url);
    let route = Route {
        origin: &origin,
        proxy: proxy.as_ref(),
        // WebSocket over HTTP/2 (RFC 8441) is not what servers commonly run: ALPN offers 1.1.
        version: HttpVersion::Http1,
        tunnel_plain: true,
        pin: None,
    };
    let mut clock = Checkpoints::default();
    let connection = match connection::open(ctx, &route, deadline, &mut clock).await {
        Ok(connection) => connection,
        Err(e) => return e.into_attempt(observed),
    };
    let address = connection.address;
    observed.address = Some(address);
    observed.tls = connection.tls.clone();
    observed.proxy = proxy.as_ref().map(ToString::to_string);
    let fail = |stage, class, message: String, clock: &Checkpoints| {
        let mut e = StageError::fail(stage, class, message);
        e.timings = clock.timings();
        e.address = Some(address);
        e
    };
    let target = origin.host.with_port(origin.port);

    let Some(key) = random_bytes::<16>().map(|b| base64::engine::general_purpose::STANDARD.encode(b)) else {
        return StageError::error(
            Stage::Http,
            ErrorClass::Io,
            "no randomness for the WebSocket key".into(),
        )
        .into_attempt(observed);
    };
    let request = match handshake_request(check, &key) {
        Ok(request) => request,
        Err(e) => {
            return StageError::error(
                Stage::Http,
                ErrorClass::Io,
                format!("cannot build the upgrade: {e}"),
            )
            .into_attempt(observed)
        }
    };
    let read = connection.stream.counter();
    // The HTTP/1.1 handshake does no I/O; the connection must be driven with upgrades allowed,
    // or it drops the stream after the 101.
    let (mut sender, driver) = match h1_builder()
        .handshake::<_, Empty<Bytes>>(TokioIo::new(connection.stream))
        .await
    {
        Ok(pair) => pair,
        Err(e) => {
            let class = classify::hyper_error(&e);
            return fail(Stage::Http, class, format!("cannot start HTTP/1.1: {e}"), &clock)
                .into_attempt(observed);
        }
    };
    tokio::spawn(async move {
        let _ = driver.with_upgrades().await;
    });
    clock.request_start = now();
    let answer = tokio::time::timeout_at(deadline.into(), sender.send_request(request)).await;
    let response = match answer {
        Err(_) if read.load(std::sync::atomic::Ordering::Relaxed) > 0 => {
            let e = fail(
                Stage::Http,
                ErrorClass::Timeout,
                format!("{target} began its answer to the upgrade but its headers were not finished in time"),
                &clock,
            );
            return e.into_attempt(observed);
        }
        Err(_) => {
            let e = fail(
                Stage::Ttfb,
                ErrorClass::Timeout,
                format!("{target} sent no answer to the upgrade in time"),
                &clock,
            );
            return e.into_attempt(observed);
        }
        Ok(Err(e)) if e.is_parse() && read.load(std::sync::atomic::Ordering::Relaxed) >= MAX_HEAD as u64 => {
            let e = fail(
                Stage::Http,
                ErrorClass::HttpProtocol,
                format!(
                    "{target} answered the upgrade with headers over {} KiB: they were not finished",
                    MAX_HEAD / 1024
                ),
                &clock,
            );
            return e.into_attempt(observed);
        }
        Ok(Err(e)) => {
            let class = classify::hyper_error(&e);
            let (stage, why) = match class {
                ErrorClass::HttpProtocol => (
                    Stage::Http,
                    format!("{target} answered the upgrade with something that is not HTTP/1.x ({e})"),
                ),
                _ => (Stage::Ttfb, format!("{target} broke off the upgrade ({e})")),
            };
            return fail(stage, class, why, &clock).into_attempt(observed);
        }
        Ok(Ok(response)) => response,
    };
    clock.first_byte = now();
    let timings = clock.timings();
    let ttfb = timings.ttfb.unwrap_or_default();
    observed.response_time = Some(ttfb);
    observed.version = Some("HTTP/1.1".to_owned());
    let status = response.status().as_u16();
    observed.status = Some(status);
    if status != 101 {
        let e = fail(
            Stage::Http,
            ErrorClass::UpgradeRefused,
            format!(
                "{target} answered the upgrade with {status}{}, not 101 Switching Protocols",
                classify::http_status(status)
                    .map(|c| format!(" ({})", c.as_str()))
                    .unwrap_or_default()
            ),
            &clock,
        );
        return e.into_attempt(observed);
    }
    let accepted = response
        .headers()
        .get(http::header::SEC_WEBSOCKET_ACCEPT)
        .is_some_and(|v| v.as_bytes() == expected_accept(&key).as_bytes());
    if !accepted {
        let e = fail(
            Stage::Http,
            ErrorClass::HttpProtocol,
            format!("{target} answered 101 without the right Sec-WebSocket-Accept: not a WebSocket server"),
            &clock,
        );
        return e.into_attempt(observed);
    }
    // Bytes the server sent right after its 101 are kept by hyper and read first from here.
    let mut upgraded = match tokio::time::timeout_at(deadline.into(), hyper::upgrade::on(response)).await {
        Ok(Ok(upgraded)) => TokioIo::new(upgraded),
        Ok(Err(e)) => {
            let class = classify::hyper_error(&e);
            return fail(
                Stage::Http,
                class,
                format!("{target} upgraded but the stream broke ({e})"),
                &clock,
            )
            .into_attempt(observed);
        }
        Err(_) => {
            return fail(
                Stage::Http,
                ErrorClass::Timeout,
                format!("{target} upgraded but the stream was not handed over in time"),
                &clock,
            )
            .into_attempt(observed)
        }
    };

    let mut summary = format!("101 in {}", ms(ttfb));
    if let Some(message) = &check.echo {
        match tokio::time::timeout_at(deadline.into(), echo(&mut upgraded, message)).await {
            Ok(Ok(true)) => {
                observed.echoed = Some(true);
                summary.push_str(", echo ok");
            }
            Ok(Ok(false)) => {
                observed.echoed = Some(false);
                let e = fail(
                    Stage::Assert,
                    ErrorClass::HttpProtocol,
                    format!("{target} upgraded but did not echo the message back unchanged"),
                    &clock,
                );
                return e.into_attempt(observed);
            }
            Ok(Err(e)) => {
                let class = classify::stream_error(&e);
                let e = fail(
                    Stage::Http,
                    class,
                    format!("{target} broke off the echo ({e})"),
                    &clock,
                );
                return e.into_attempt(observed);
            }
            Err(_) => {
                let e = fail(
                    Stage::Http,
                    ErrorClass::Timeout,
                    format!("{target} upgraded but sent no echo in time"),
                    &clock,
                );
                return e.into_attempt(observed);
            }
        }
    }
    // A polite close frame; the answer is not awaited.
    let _ = tokio::time::timeout(Duration::from_millis(100), write_frame(&mut upgraded, 0x8, b"")).await;
    if observed.proxy.is_some() {
        summary.push_str(" via proxy");
    }
    Attempt::settled(
        Finding::new(Verdict::Pass { stage: Stage::Http }, summary)
            .observed(Observed::Http(Box::new(observed)))
            .timings(timings),
    )
}

/// The upgrade request; the check's headers go through `http`'s validation, so a value with a
/// line break cannot add headers of its own.
fn handshake_request(check: &WebsocketCheck, key: &str) -> Result<http::Request<Empty<Bytes>>, http::Error> {
    let url = &check.url;
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut request = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::SEC_WEBSOCKET_KEY, key)
        .header(http::header::SEC_WEBSOCKET_VERSION, "13")
        .header(
            http::header::USER_AGENT,
            concat!("reach/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in &check.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request.body(Empty::new())
}

fn expected_accept(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{ACCEPT_GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes)
}

/// Sends one masked client frame (RFC 6455 section 5.2; payloads up to 125 bytes).
async fn write_frame<S: AsyncWrite + Unpin>(
    stream: &mut S,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let mask = random_bytes::<4>().unwrap_or([0x5a, 0x17, 0xc3, 0x9e]);
    let mut frame = vec![0x80 | opcode, 0x80 | (payload.len() as u8 & 0x7f)];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Sends `message` as a text frame and reads frames until a data frame comes back; true when it
/// is the same text.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, message: &str) -> std::io::Result<bool> {
    write_frame(stream, 0x1, message.as_bytes()).await?;
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await?;
        let opcode = header[0] & 0x0f;
        let masked = header[1] & 0x80 != 0;
        let mut length = u64::from(header[1] & 0x7f);
        if length == 126 {
            length = u64::from(stream.read_u16().await?);
        } else if length == 127 {
            length = stream.read_u64().await?;
        }
        if length > MAX_FRAME {
            return Ok(false);
        }
        let mut mask = [0u8; 4];
        if masked {
            stream.read_exact(&mut mask).await?;
        }
        let mut payload = vec![0u8; length as usize];
        stream.read_exact(&mut payload).await?;
        if masked {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b ^= mask[i % 4]);
        }
        match opcode {
            0x1 | 0x2 => return Ok(payload == message.as_bytes()),
            0x8 => return Ok(false),
            // Ping, pong and continuations are not the echo: keep reading.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_file_headers_cannot_inject_lines_into_the_upgrade() {
        let mut check = WebsocketCheck {
            url: url::Url::parse("wss://chat.test/ws?room=1").unwrap(),
            headers: vec![("origin".into(), "https://chat.test".into())],
            echo: None,
            proxy: crate::spec::request::ProxyChoice::Direct,
        };
        let request = handshake_request(&check, "k").unwrap();
        assert_eq!(request.uri(), "/ws?room=1");
        assert_eq!(request.headers()["origin"], "https://chat.test");
        check.headers = vec![("origin".into(), "x\r\nCookie: stolen".into())];
        assert!(handshake_request(&check, "k").is_err());
    }

    #[test]
    fn the_accept_value_matches_the_rfc_example() {
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
