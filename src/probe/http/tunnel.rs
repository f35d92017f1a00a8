//! Through a proxy, on a connection already open to it: an HTTP `CONNECT` tunnel or a SOCKS5
//! handshake, each failure named as the proxy's refusal or its upstream's failure.

use super::origin::Origin;
use super::socks::{self, SocksError, Target};
use super::stage::StageError;
use crate::classify;
use crate::outcome::{ErrorClass, Stage};
use crate::spec::request::ProxyUrl;
use crate::spec::Host;
use base64::Engine as _;
use std::io;
use std::net::IpAddr;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest proxy answer to CONNECT that is read.
const MAX_PROXY_HEAD: usize = 16 * 1024;

/// Asks the HTTP proxy `proxy` for a tunnel to `origin` (`CONNECT host:port`).
pub async fn connect(
    tcp: &mut TcpStream,
    proxy: &ProxyUrl,
    origin: &Origin,
    deadline: Instant,
) -> Result<(), StageError> {
    let target = origin.host.with_port(origin.port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(credentials) = proxy.basic_credentials() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        tcp.write_all(request.as_bytes()).await?;
        read_head(tcp, MAX_PROXY_HEAD).await
    };
    let head = match tokio::time::timeout_at(deadline.into(), exchange).await {
        Err(_) => {
            return Err(StageError::fail(
                Stage::Proxy,
                ErrorClass::Timeout,
                format!("the proxy {proxy} did not answer CONNECT {target} in time"),
            ))
        }
        Ok(Err(e)) => {
            let class = classify::stream_error(&e);
            return Err(StageError::fail(
                Stage::Proxy,
                class,
                format!("the proxy {proxy} broke off CONNECT {target} ({e})"),
            ));
        }
        Ok(Ok(head)) => head,
    };
    let status = status_code(&head).ok_or_else(|| {
        StageError::fail(
            Stage::Proxy,
            ErrorClass::HttpProtocol,
            format!("the proxy {proxy} answered CONNECT with something that is not HTTP"),
        )
    })?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let class = classify::proxy_status(status);
    let why = match class {
        ErrorClass::ProxyUpstream => {
            format!("the proxy {proxy} could not reach {target} (it answered {status})")
        }
        _ if status == 407 => format!("the proxy {proxy} wants credentials (407): put them in its URL"),
        _ => format!("the proxy {proxy} refused a tunnel to {target} ({status})"),
    };
    Err(StageError::fail(Stage::Proxy, class, why))
}

/// Asks the SOCKS5 proxy `proxy` to connect to `origin`: by address (`address`, resolved by
/// reach for `socks5://`) or by name (`socks5h://`, the proxy resolves it).
pub async fn socks(
    tcp: &mut TcpStream,
    proxy: &ProxyUrl,
    origin: &Origin,
    address: Option<IpAddr>,
    deadline: Instant,
) -> Result<(), StageError> {
    let target = match (address, &origin.host) {
        (Some(ip), _) | (None, &Host::Ip(ip)) => Target::Ip(ip),
        (None, Host::Name(name)) => Target::Name(name),
    };
    let shown = match (address, &origin.host) {
        (Some(ip), Host::Name(_)) => format!(
            "{} ({})",
            origin.host.with_port(origin.port),
            Host::Ip(ip).with_port(origin.port)
        ),
        _ => origin.host.with_port(origin.port),
    };
    let handshake = socks::connect(tcp, target, origin.port, proxy.credentials.as_ref());
    match tokio::time::timeout_at(deadline.into(), handshake).await {
        Err(_) => Err(StageError::fail(
            Stage::Proxy,
            ErrorClass::Timeout,
            format!("the SOCKS5 proxy {proxy} did not connect to {shown} in time"),
        )),
        Ok(Ok(())) => Ok(()),
        Ok(Err(SocksError::Io(e))) => Err(StageError::fail(
            Stage::Proxy,
            classify::stream_error(&e),
            format!("the SOCKS5 proxy {proxy} broke off the handshake for {shown} ({e})"),
        )),
        Ok(Err(e)) if e.is_upstream() => Err(StageError::fail(
            Stage::Proxy,
            ErrorClass::ProxyUpstream,
            format!("the SOCKS5 proxy {proxy} could not reach {shown}: it {e}"),
        )),
        Ok(Err(e)) => Err(StageError::fail(
            Stage::Proxy,
            ErrorClass::ProxyRefused,
            format!("the SOCKS5 proxy {proxy} refused a connection to {shown}: it {e}"),
        )),
    }
}

/// Reads an HTTP head (up to the blank line) byte by byte, so nothing after it is consumed.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, limit: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the answer's head is too long",
            ));
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// The status code of an HTTP/1.x status line.
fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        assert_eq!(
            status_code(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(
            status_code(b"HTTP/1.0 407 Proxy Authentication Required\r\n"),
            Some(407)
        );
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
    }
}
