//! `websocket` checks: an HTTP/1.1 upgrade over TCP or TLS that must be answered with
//! `101 Switching Protocols` and a correct `Sec-WebSocket-Accept`, then optionally one text
//! message that must come back unchanged (RFC 6455, just enough of it to say so).

use super::attempt::Attempt;
use super::context::Ctx;
use super::http::connection::{self, read_head, status_code, Route, Stream};
use super::http::origin::Origin;
use super::http::stage::StageError;
use crate::classify;
use crate::outcome::{ErrorClass, Finding, HttpObservation, Observed, Stage, Timings, Verdict};
use crate::spec::request::WebsocketCheck;
use crate::text::ms;
use base64::Engine as _;
use ring::rand::SecureRandom;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The GUID every server appends to the client's key (RFC 6455 section 1.3).
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_HEAD: usize = 64 * 1024;
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
        tunnel_plain: true,
    };
    let mut connection = match connection::open(ctx, &route, deadline).await {
        Ok(connection) => connection,
        Err(e) => return e.into_attempt(observed),
    };
    observed.address = Some(connection.address);
    observed.tls = connection.tls.clone();
    observed.proxy = proxy.as_ref().map(ToString::to_string);
    let timings = connection.timings;
    let fail = |stage, class, message: String| {
        let mut e = StageError::fail(stage, class, message);
        e.timings = timings;
        e.address = Some(connection.address);
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
    let request = handshake_request(check, &key);
    let started = Instant::now();
    let head = async {
        connection.stream.write_all(request.as_bytes()).await?;
        read_head(&mut connection.stream, MAX_HEAD).await
    };
    let head = match tokio::time::timeout_at(deadline.into(), head).await {
        Err(_) => {
            let e = fail(
                Stage::Ttfb,
                ErrorClass::Timeout,
                format!("{target} sent no answer to the upgrade in time"),
            );
            return e.into_attempt(observed);
        }
        Ok(Err(e)) => {
            let class = classify::stream_error(&e);
            let e = fail(
                Stage::Ttfb,
                class,
                format!("{target} broke off the upgrade ({e})"),
            );
            return e.into_attempt(observed);
        }
        Ok(Ok(head)) => head,
    };
    let ttfb = started.elapsed();
    let timings = Timings {
        ttfb: Some(ttfb),
        ..timings
    };
    observed.response_time = Some(ttfb);
    observed.version = Some("HTTP/1.1".to_owned());
    let Some(status) = status_code(&head) else {
        let mut e = fail(
            Stage::Http,
            ErrorClass::HttpProtocol,
            format!("{target} answered the upgrade with something that is not HTTP/1.x"),
        );
        e.timings = timings;
        return e.into_attempt(observed);
    };
    observed.status = Some(status);
    if status != 101 {
        let mut e = fail(
            Stage::Http,
            ErrorClass::UpgradeRefused,
            format!(
                "{target} answered the upgrade with {status}{}, not 101 Switching Protocols",
                classify::http_status(status)
                    .map(|c| format!(" ({})", c.as_str()))
                    .unwrap_or_default()
            ),
        );
        e.timings = timings;
        return e.into_attempt(observed);
    }
    let accept = header(&head, "sec-websocket-accept");
    if accept.as_deref() != Some(expected_accept(&key).as_str()) {
        let mut e = fail(
            Stage::Http,
            ErrorClass::HttpProtocol,
            format!("{target} answered 101 without the right Sec-WebSocket-Accept: not a WebSocket server"),
        );
        e.timings = timings;
        return e.into_attempt(observed);
    }

    let mut summary = format!("101 in {}", ms(ttfb));
    if let Some(message) = &check.echo {
        match tokio::time::timeout_at(deadline.into(), echo(&mut connection.stream, message)).await {
            Ok(Ok(true)) => {
                observed.echoed = Some(true);
                summary.push_str(", echo ok");
            }
            Ok(Ok(false)) => {
                observed.echoed = Some(false);
                let mut e = fail(
                    Stage::Assert,
                    ErrorClass::HttpProtocol,
                    format!("{target} upgraded but did not echo the message back unchanged"),
                );
                e.timings = timings;
                return e.into_attempt(observed);
            }
            Ok(Err(e)) => {
                let class = classify::stream_error(&e);
                let mut e = fail(Stage::Http, class, format!("{target} broke off the echo ({e})"));
                e.timings = timings;
                return e.into_attempt(observed);
            }
            Err(_) => {
                let mut e = fail(
                    Stage::Http,
                    ErrorClass::Timeout,
                    format!("{target} upgraded but sent no echo in time"),
                );
                e.timings = timings;
                return e.into_attempt(observed);
            }
        }
    }
    // A polite close frame; the answer is not awaited.
    let _ = tokio::time::timeout(
        Duration::from_millis(100),
        write_frame(&mut connection.stream, 0x8, b""),
    )
    .await;
    if observed.proxy.is_some() {
        summary.push_str(" via proxy");
    }
    Attempt::settled(
        Finding::new(Verdict::Pass { stage: Stage::Http }, summary)
            .observed(Observed::Http(Box::new(observed)))
            .timings(timings),
    )
}

fn handshake_request(check: &WebsocketCheck, key: &str) -> String {
    let url = &check.url;
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: reach/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in &check.headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}

fn expected_accept(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{ACCEPT_GUID}").as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// The first value of a header in a raw HTTP head.
fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes)
}

/// Sends one masked client frame (RFC 6455 section 5.2; payloads up to 125 bytes).
async fn write_frame(stream: &mut Stream, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
    let mask = random_bytes::<4>().unwrap_or([0x5a, 0x17, 0xc3, 0x9e]);
    let mut frame = vec![0x80 | opcode, 0x80 | (payload.len() as u8 & 0x7f)];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Sends `message` as a text frame and reads frames until a data frame comes back; true when it
/// is the same text.
async fn echo(stream: &mut Stream, message: &str) -> std::io::Result<bool> {
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
    fn the_accept_value_matches_the_rfc_example() {
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
