//! Connections for the HTTP-speaking probes, opened one stage at a time (dns, tcp, proxy
//! tunnel or SOCKS5, tls with ALPN) so that a failure names the stage it happened in and every
//! stage is timed on one clock ([`Checkpoints`]).
//!
//! reqwest would hide these stages behind one error; driving them by hand with the run's
//! resolver (`--resolve`), the TCP connect of [`crate::probe::connect`] and the run's trust store
//! (`--ca-file`) is what lets reach say "DNS", "firewall", "TLS-intercepting proxy" or "provider".

use super::clock::{now, Checkpoints};
use super::origin::Origin;
use super::stage::StageError;
use super::tunnel;
use crate::classify;
use crate::outcome::{AddressProbe, ErrorClass, PortEvidence, PortState, Stage, TlsSession};
use crate::probe::context::Ctx;
use crate::resolve::Resolved;
use crate::spec::request::{HttpVersion, ProxyScheme, ProxyUrl};
use crate::spec::Host;
use rustls::pki_types::ServerName;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream, with TLS on top when the origin asks for it, that counts the bytes it reads
/// (so a server that started an answer is told from one that sent nothing).
pub struct Stream {
    io: Io,
    read: Arc<AtomicU64>,
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// The counter of bytes read, shared with whoever watches the connection.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let got = buf.filled().len().saturating_sub(before);
        this.read.fetch_add(got as u64, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An open connection and what opening it showed.
pub struct Connection {
    pub stream: Stream,
    /// The address connected to: the proxy's when there is one.
    pub address: SocketAddr,
    pub tls: Option<TlsSession>,
    /// HTTP/2 was agreed (ALPN `h2`), or asked for with prior knowledge on cleartext.
    pub h2: bool,
}

/// How to reach an origin.
pub struct Route<'a> {
    pub origin: &'a Origin,
    pub proxy: Option<&'a ProxyUrl>,
    pub version: HttpVersion,
    /// Open a CONNECT tunnel through an HTTP proxy even for plain HTTP (WebSocket needs one).
    pub tunnel_plain: bool,
    /// Connect to this address of the origin's name instead of resolving it.
    pub pin: Option<IpAddr>,
}

impl Route<'_> {
    /// Whether the connection to an HTTP proxy becomes a tunnel (else requests go to the proxy
    /// in absolute form). HTTP/2 with prior knowledge needs one: a proxy speaks HTTP/1.1.
    pub fn tunnels(&self) -> bool {
        self.proxy.is_some_and(|p| p.scheme == ProxyScheme::Http)
            && (self.origin.tls || self.tunnel_plain || self.version == HttpVersion::Http2)
    }
}

/// Resolves `host` with the run's resolver before `deadline`; `what` says whose name it is.
pub async fn resolve(
    ctx: &Ctx,
    host: &Host,
    port: u16,
    deadline: Instant,
    what: &str,
) -> Result<Resolved, StageError> {
    ctx.resolver
        .resolve(host, port, remaining(deadline))
        .await
        .map_err(|e| {
            let message = format!("{what}{e}");
            // A resolver that says the target's name does not exist (or has no address) has
            // answered: that is an observation that contradicts reachability, as for a `dns`
            // check. A proxy's name that does not resolve is this host's configuration problem.
            let answered = matches!(e.class(), ErrorClass::Nxdomain | ErrorClass::NoData);
            if answered && what.is_empty() {
                StageError::fail(Stage::Dns, e.class(), message)
            } else {
                StageError {
                    inconclusive: e.is_transient(),
                    ..StageError::error(Stage::Dns, e.class(), message)
                }
            }
        })
}

/// Opens a connection to `route`, stage by stage, before `deadline`, marking `clock`.
pub async fn open(
    ctx: &Ctx,
    route: &Route<'_>,
    deadline: Instant,
    clock: &mut Checkpoints,
) -> Result<Connection, StageError> {
    let (host, port) = match route.proxy {
        Some(proxy) => (&proxy.host, proxy.port),
        None => (&route.origin.host, route.origin.port),
    };
    let what = if route.proxy.is_some() { "the proxy " } else { "" };
    let shown = host.with_port(port);
    let socks_resolves_here = route.proxy.is_some_and(|p| p.scheme == ProxyScheme::Socks5);

    let addresses = match (route.pin, route.proxy, host) {
        (Some(pin), None, _) => vec![pin],
        // An address needs no lookup: no dns stage.
        (_, _, Host::Ip(ip)) => vec![*ip],
        _ => {
            clock.dns_start = now();
            let resolved = resolve(ctx, host, port, deadline, what).await;
            clock.dns_end = now();
            resolved.map_err(|e| located(e, clock, None))?.addresses
        }
    };
    // socks5:// (not socks5h://): the proxy gets an address, which this run's resolver picks.
    let socks_target = match (socks_resolves_here, route.pin, &route.origin.host) {
        (false, _, _) => None,
        (true, Some(pin), _) => Some(pin),
        (true, None, Host::Ip(ip)) => Some(*ip),
        (true, None, origin_host) => {
            clock.dns_start = clock.dns_start.or_else(now);
            let resolved = resolve(ctx, origin_host, route.origin.port, deadline, "").await;
            clock.dns_end = now();
            let resolved = resolved.map_err(|e| located(e, clock, None))?;
            // The first address, as the resolver ordered them; `addresses = "all"` pins each.
            resolved.addresses.first().copied()
        }
    };

    clock.connect_start = now();
    let mut first_failure: Option<StageError> = None;
    let mut connected = None;
    let count = addresses.len();
    for (index, &ip) in addresses.iter().enumerate() {
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
                    if route.proxy.is_some() {
                        failure = at_the_proxy(failure);
                    }
                    failure.address = Some(address);
                    first_failure = Some(failure);
                }
            }
        }
    }
    clock.connect_end = now();
    let Some((mut tcp, address)) = connected else {
        let failure = first_failure.unwrap_or_else(|| {
            StageError::error(
                Stage::Dns,
                ErrorClass::NoData,
                format!("{shown} resolved to no address"),
            )
        });
        let address = failure.address;
        return Err(located(failure, clock, address));
    };
    // Requests are small and latency is measured: do not let Nagle hold them back.
    let _ = tcp.set_nodelay(true);

    if let Some(proxy) = route.proxy {
        let opened = match proxy.scheme {
            ProxyScheme::Http if route.tunnels() => {
                Some(tunnel::connect(&mut tcp, proxy, route.origin, deadline).await)
            }
            ProxyScheme::Http => None,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
                Some(tunnel::socks(&mut tcp, proxy, route.origin, socks_target, deadline).await)
            }
        };
        if let Some(opened) = opened {
            clock.proxy_end = now();
            opened.map_err(|e| located(e, clock, Some(address)))?;
        }
    }

    let read = Arc::new(AtomicU64::new(0));
    if !route.origin.tls {
        return Ok(Connection {
            stream: Stream {
                io: Io::Plain(tcp),
                read,
            },
            address,
            tls: None,
            h2: route.version == HttpVersion::Http2,
        });
    }
    let config = ctx.http.tls_config(&ctx.trust, route.version).map_err(|e| {
        located(
            StageError::error(
                Stage::Tls,
                ErrorClass::Io,
                format!("cannot build the TLS configuration: {e}"),
            ),
            clock,
            Some(address),
        )
    })?;
    let name = match &route.origin.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.to_string()).map_err(|e| {
            located(
                StageError::error(
                    Stage::Tls,
                    ErrorClass::Io,
                    format!("`{name}` cannot be a TLS server name: {e}"),
                ),
                clock,
                Some(address),
            )
        })?,
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let origin = route.origin.host.with_port(route.origin.port);
    let handshake = tokio::time::timeout_at(deadline.into(), connector.connect(name, tcp)).await;
    clock.tls_end = now();
    let tls = match handshake {
        Err(_) => {
            return Err(located(
                StageError::fail(
                    Stage::Tls,
                    ErrorClass::Timeout,
                    format!("the TLS handshake with {origin} did not finish in time"),
                ),
                clock,
                Some(address),
            ))
        }
        Ok(Err(e)) => {
            let class = classify::stream_error(&e);
            let mut message = tls_message(class, &origin, &e);
            if route.version == HttpVersion::Http2 && class == ErrorClass::TlsAlert {
                message.push_str(": ALPN offered only h2, which the server may not speak");
            }
            return Err(located(
                StageError::fail(Stage::Tls, class, message),
                clock,
                Some(address),
            ));
        }
        Ok(Ok(tls)) => tls,
    };
    let session = session(&tls);
    let h2 = session.alpn.as_deref() == Some("h2");
    if route.version == HttpVersion::Http2 && !h2 {
        let chose = match &session.alpn {
            Some(protocol) => format!("it chose {protocol}"),
            None => "it chose no protocol".to_owned(),
        };
        return Err(located(
            StageError::fail(
                Stage::Tls,
                ErrorClass::HttpProtocol,
                format!("{origin} did not agree to HTTP/2: ALPN offered only h2 and {chose}"),
            ),
            clock,
            Some(address),
        ));
    }
    Ok(Connection {
        stream: Stream {
            io: Io::Tls(Box::new(tls)),
            read,
        },
        address,
        tls: Some(session),
        h2,
    })
}

fn session(tls: &tokio_rustls::client::TlsStream<TcpStream>) -> TlsSession {
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
}

/// A failed connect to the proxy is the proxy stage's failure: the path to the target never
/// began. A refusal is the proxy's refusal.
fn at_the_proxy(mut failure: StageError) -> StageError {
    let class = match failure.class() {
        ErrorClass::Refused => ErrorClass::ProxyRefused,
        other => other,
    };
    failure.verdict = match failure.verdict {
        crate::outcome::Verdict::Error { .. } => crate::outcome::Verdict::Error {
            stage: Stage::Proxy,
            class,
        },
        _ => crate::outcome::Verdict::Fail {
            stage: Stage::Proxy,
            class: Some(class),
        },
    };
    failure
}

fn located(mut e: StageError, clock: &Checkpoints, address: Option<SocketAddr>) -> StageError {
    e.timings = clock.timings();
    e.address = address.or(e.address);
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
            evidence: PortEvidence::IcmpUnreachable | PortEvidence::IcmpPortUnreachable,
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

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    #[test]
    fn origins_take_default_ports_by_scheme() {
        let origin = Origin::of(&Url::parse("wss://chat.test/ws").unwrap()).unwrap();
        assert_eq!((origin.tls, origin.port), (true, 443));
        let origin = Origin::of(&Url::parse("http://127.0.0.1:8080/").unwrap()).unwrap();
        assert_eq!((origin.tls, origin.port), (false, 8080));
    }
}
