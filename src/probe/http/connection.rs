//! Connections for the HTTP-speaking probes, opened one stage at a time (dns, tcp, proxy
//! CONNECT, tls) so that a failure names the stage it happened in and every stage is timed.
//!
//! reqwest would hide these stages behind one error; driving them by hand with the run's
//! resolver (`--resolve`), the TCP connect of [`crate::probe::connect`] and the run's trust store
//! (`--ca-file`) is what lets reach say "DNS", "firewall", "TLS-intercepting proxy" or "provider".

use super::origin::Origin;
use super::stage::StageError;
use crate::classify;
use crate::outcome::{AddressProbe, ErrorClass, PortEvidence, PortState, Stage, Timings, TlsSession};
use crate::probe::context::Ctx;
use crate::spec::request::ProxyUrl;
use crate::spec::Host;
use base64::Engine as _;
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Largest proxy answer to CONNECT that is read.
const MAX_PROXY_HEAD: usize = 16 * 1024;

/// A TCP stream, with TLS on top when the origin asks for it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open connection and what opening it showed.
pub struct Connection {
    pub stream: Stream,
    /// The address connected to: the proxy's when there is one.
    pub address: SocketAddr,
    pub timings: Timings,
    pub tls: Option<TlsSession>,
}

/// How to reach an origin.
pub struct Route<'a> {
    pub origin: &'a Origin,
    pub proxy: Option<&'a ProxyUrl>,
    /// Open a CONNECT tunnel through the proxy even for plain HTTP (WebSocket needs one).
    pub tunnel_plain: bool,
}

/// Opens a connection to `route`, stage by stage, before `deadline`.
pub async fn open(ctx: &Ctx, route: &Route<'_>, deadline: Instant) -> Result<Connection, StageError> {
    let mut timings = Timings::default();
    let (host, port) = match route.proxy {
        Some(proxy) => (&proxy.host, proxy.port),
        None => (&route.origin.host, route.origin.port),
    };
    let what = if route.proxy.is_some() { "the proxy " } else { "" };
    let shown = host.with_port(port);

    let resolved = ctx
        .resolver
        .resolve(host, port, remaining(deadline))
        .await
        .map_err(|e| {
            let message = format!("{what}{e}");
            // A resolver that says the target's name does not exist (or has no address) has
            // answered: that is an observation that contradicts reachability, as for a `dns`
            // check. A proxy's name that does not resolve is this host's configuration problem.
            let answered = matches!(e.class(), ErrorClass::Nxdomain | ErrorClass::NoData);
            if answered && route.proxy.is_none() {
                StageError::fail(Stage::Dns, e.class(), message)
            } else {
                StageError {
                    inconclusive: e.is_transient(),
                    ..StageError::error(Stage::Dns, e.class(), message)
                }
            }
        })?;
    timings.dns = Some(resolved.elapsed);

    let started = Instant::now();
    let mut first_failure: Option<StageError> = None;
    let mut connected = None;
    let count = resolved.addresses.len();
    for (index, &ip) in resolved.addresses.iter().enumerate() {
        let address = SocketAddr::new(ip, port);
        // A silent address (a broken IPv6 route, a dropped backend) must not use up the whole
        // budget: each address gets an equal share of the time left, so the next one is tried.
        let left = u32::try_from(count - index).unwrap_or(u32::MAX).max(1);
        match crate::probe::connect::open_stream(address, remaining(deadline) / left).await {
            Ok(stream) => {
                connected = Some((stream, address));
                break;
            }
            Err(probe) => {
                if first_failure.is_none() {
                    let target = match host {
                        Host::Name(_) => format!("{what}{shown} ({address})"),
                        Host::Ip(_) => format!("{what}{shown}"),
                    };
                    let mut failure = tcp_failure(&probe, &target);
                    failure.address = Some(address);
                    first_failure = Some(failure);
                }
            }
        }
    }
    let Some((tcp, address)) = connected else {
        let mut failure = first_failure.unwrap_or_else(|| {
            StageError::error(
                Stage::Dns,
                ErrorClass::NoData,
                format!("{shown} resolved to no address"),
            )
        });
        timings.tcp = Some(started.elapsed());
        failure.timings = timings;
        return Err(failure);
    };
    timings.tcp = Some(started.elapsed());
    // Requests are small and latency is measured: do not let Nagle hold them back.
    let _ = tcp.set_nodelay(true);

    let mut tcp = tcp;
    if let Some(proxy) = route.proxy {
        if route.origin.tls || route.tunnel_plain {
            let started = Instant::now();
            connect_tunnel(&mut tcp, proxy, route.origin, deadline)
                .await
                .map_err(|e| located(e, timings, address))?;
            // The tunnel is part of getting a TCP path to the origin.
            timings.tcp = timings.tcp.map(|t| t + started.elapsed());
        }
    }

    if !route.origin.tls {
        return Ok(Connection {
            stream: Stream::Plain(tcp),
            address,
            timings,
            tls: None,
        });
    }
    let config = ctx.http.tls_config(&ctx.trust).map_err(|e| {
        located(
            StageError::error(
                Stage::Tls,
                ErrorClass::Io,
                format!("cannot build the TLS configuration: {e}"),
            ),
            timings,
            address,
        )
    })?;
    let name = match &route.origin.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone()).map_err(|e| {
            located(
                StageError::error(
                    Stage::Tls,
                    ErrorClass::Io,
                    format!("`{name}` cannot be a TLS server name: {e}"),
                ),
                timings,
                address,
            )
        })?,
    };
    let started = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(config);
    let origin = route.origin.host.with_port(route.origin.port);
    let tls = match tokio::time::timeout_at(deadline.into(), connector.connect(name, tcp)).await {
        Err(_) => {
            return Err(located(
                StageError::fail(
                    Stage::Tls,
                    ErrorClass::Timeout,
                    format!("the TLS handshake with {origin} did not finish in time"),
                ),
                timings,
                address,
            ))
        }
        Ok(Err(e)) => {
            let class = classify::stream_error(&e);
            return Err(located(
                StageError::fail(Stage::Tls, class, tls_message(class, &origin, &e)),
                timings,
                address,
            ));
        }
        Ok(Ok(tls)) => tls,
    };
    timings.tls = Some(started.elapsed());
    let session = {
        let (_, state) = tls.get_ref();
        TlsSession {
            version: state
                .protocol_version()
                .map(|v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
                    rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
                    other => crate::tls::Version::from_wire(u16::from(other))
                        .map_or_else(|| format!("0x{:04x}", u16::from(other)), |v| v.to_string()),
                })
                .unwrap_or_default(),
            cipher: state
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("unknown")
                .to_owned(),
            alpn: state
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        }
    };
    Ok(Connection {
        stream: Stream::Tls(Box::new(tls)),
        address,
        timings,
        tls: Some(session),
    })
}

fn located(mut e: StageError, timings: Timings, address: SocketAddr) -> StageError {
    e.timings = timings;
    e.address = Some(address);
    e
}

/// Time left before `deadline` (zero once it has passed).
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn tcp_failure(probe: &AddressProbe, target: &str) -> StageError {
    match probe {
        AddressProbe::State {
            state: PortState::Closed,
            ..
        } => StageError::fail(
            Stage::Tcp,
            ErrorClass::Refused,
            format!("{target} refused the connection: nothing listens there, or a firewall rejects"),
        ),
        AddressProbe::State {
            evidence: PortEvidence::IcmpUnreachable,
            ..
        } => StageError::fail(
            Stage::Tcp,
            ErrorClass::Unreachable,
            format!("an ICMP unreachable came back for {target}: a firewall or router rejects it"),
        ),
        AddressProbe::State { .. } => StageError::fail(
            Stage::Tcp,
            ErrorClass::Timeout,
            format!("{target} gave no answer to the connection: a firewall drops it (egress rules?), or the host is down"),
        ),
        AddressProbe::Error(e) => StageError::error(Stage::Tcp, e.class(), format!("could not connect to {target}: {e}")),
    }
}

fn tls_message(class: ErrorClass, origin: &str, error: &io::Error) -> String {
    let error = classify::stream_words(error);
    match class {
        ErrorClass::CertUnknownIssuer => format!(
            "the certificate of {origin} does not lead to a trusted root: self-signed, a missing \
             intermediate, or a TLS-intercepting proxy on the way ({error})"
        ),
        ErrorClass::CertWrongHost => format!("the certificate of {origin} does not name it ({error})"),
        ErrorClass::CertExpired => format!("the certificate of {origin} has expired ({error})"),
        ErrorClass::ConnectionClosed => format!(
            "{origin} closed the connection during the TLS handshake: not a TLS port, or something \
             on the way cut it ({error})"
        ),
        ErrorClass::TlsAlert => format!("{origin} refused the TLS handshake ({error})"),
        _ => format!("the TLS handshake with {origin} failed ({error})"),
    }
}

/// Asks `proxy` for a tunnel to `origin` (`CONNECT host:port`), on an open connection to it.
async fn connect_tunnel(
    tcp: &mut TcpStream,
    proxy: &ProxyUrl,
    origin: &Origin,
    deadline: Instant,
) -> Result<(), StageError> {
    let target = origin.host.with_port(origin.port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(credentials) = &proxy.credentials {
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

/// Reads an HTTP head (up to the blank line) byte by byte, so nothing after it is consumed.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, limit: usize) -> io::Result<Vec<u8>> {
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
pub fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

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

    #[test]
    fn origins_take_default_ports_by_scheme() {
        let origin = Origin::of(&Url::parse("wss://chat.test/ws").unwrap()).unwrap();
        assert_eq!((origin.tls, origin.port), (true, 443));
        let origin = Origin::of(&Url::parse("http://127.0.0.1:8080/").unwrap()).unwrap();
        assert_eq!((origin.tls, origin.port), (false, 8080));
    }
}
