//! One TCP connect, and what it proves about the port: open (SYN-ACK), closed (RST), filtered
//! (silence), or nothing about the target at all (a local error). Shared by tcp checks, the scan
//! engine and every probe that goes on to use the connection (TLS, HTTP).
//!
//! The connect is done by hand (non-blocking `connect()`, then wait for writability) rather than
//! with `TcpStream::connect`, because the two ways a connect can fail mean different things: an
//! error from `connect()` itself comes from this host (no route, a local firewall) and proves
//! nothing about the target, while an error that arrives later came from the network.
//!
//! A refused connect is a RST or an ICMP port-unreachable (the default `iptables -j REJECT`):
//! the kernel reports both as `ECONNREFUSED`. Every probe socket asks for `IP_RECVERR`, with
//! which Linux also queues the ICMP message itself on the socket's error queue (no privilege
//! needed), so a refusal is told apart by reading that queue (see [`icmp_seen`]).

use crate::classify::{self, ErrorTiming, IcmpSeen};
use crate::outcome::{AddressProbe, PortEvidence, PortState};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Opens and closes one TCP connection, reporting what the attempt proves about the port.
pub async fn connect(address: SocketAddr, timeout: Duration) -> AddressProbe {
    connect_reusing(address, timeout, None).await.0
}

/// [`connect`] for scanners: it may take a socket of `address`'s family made by
/// [`reusable_socket`] or left over from an earlier refused connect, and hands this one back when
/// the port turned out closed. A socket whose connect drew a RST is back in the CLOSE state and
/// can connect again, which saves creating and tearing down a socket for each of the thousands
/// of closed ports of a scan.
pub async fn connect_reusing(
    address: SocketAddr,
    timeout: Duration,
    spare: Option<Socket>,
) -> (AddressProbe, Option<Socket>) {
    match start_connect(address, spare) {
        // Dropping the socket closes it with a FIN: a polite close that leaves no half-open socket.
        Started::Connected(socket) => (established(&socket), None),
        Started::Answered { probe, spare } => (probe, spare),
        Started::Waiting(socket) => (wait_for_answer(socket, timeout).await, None),
    }
}

/// Where a connect stands once `connect()` has returned.
pub enum Started {
    /// The handshake has completed: the socket is connected.
    Connected(Socket),
    /// The port's state is known and nothing is connected; `spare` is the socket when it can
    /// connect again.
    Answered {
        probe: AddressProbe,
        spare: Option<Socket>,
    },
    /// The handshake is under way: [`finish_connect`] or [`wait_for_answer`] finishes it.
    Waiting(Socket),
}

/// The synchronous half of [`connect_reusing`], which a scanner calls directly so that the
/// ports answered at once (nearly all of them on a near link) cost no future and no wakeup.
pub fn start_connect(address: SocketAddr, spare: Option<Socket>) -> Started {
    let answered = |probe, spare| Started::Answered { probe, spare };
    let socket = match spare {
        Some(socket) => socket,
        None => match probe_socket(address) {
            Ok(socket) => socket,
            Err(e) => return answered(failed(&e, ErrorTiming::Immediate), None),
        },
    };
    let target = SockAddr::from(address);
    match socket.connect(&target) {
        Ok(()) => return Started::Connected(socket),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return answered(refusal(&socket, &e, ErrorTiming::Immediate), None),
    }
    // The fast path: on a near link (loopback, a veth, a LAN) the kernel often handles the
    // SYN-ACK or RST before connect() returns. A second connect() asks without registering the
    // socket with the reactor: it succeeds once the handshake is complete, fails with the
    // connection's error once it has failed (and resets the socket for reuse), and says
    // EALREADY while the handshake is still under way.
    match socket.connect(&target) {
        Ok(()) => Started::Connected(socket),
        Err(e) if e.raw_os_error() == Some(libc::EALREADY) => Started::Waiting(socket),
        Err(e) if e.raw_os_error() == Some(libc::EISCONN) => Started::Connected(socket),
        Err(e) => {
            let probe = refusal(&socket, &e, ErrorTiming::FromNetwork);
            let reusable = matches!(
                probe,
                AddressProbe::State {
                    state: PortState::Closed,
                    ..
                }
            );
            answered(probe, reusable.then_some(socket))
        }
    }
}

/// Waits up to `timeout` for the answer to a connect under way.
pub async fn wait_for_answer(socket: Socket, timeout: Duration) -> AddressProbe {
    match finish_connect(socket, timeout).await {
        // Dropping the stream closes it with a FIN: a polite close that leaves no half-open socket.
        Ok(stream) => established(&socket2::SockRef::from(&stream)),
        Err(probe) => probe,
    }
}

/// Opens one TCP connection for a caller that goes on to use it (TLS, HTTP), or says what the
/// failed attempt proves about the port. Built on the scanner's pieces, so it shares their fast
/// path and their guard against a socket connected to itself.
pub async fn open_stream(
    address: SocketAddr,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, AddressProbe> {
    let stream = match start_connect(address, None) {
        Started::Connected(socket) => match established(&socket) {
            AddressProbe::State {
                state: PortState::Open,
                ..
            } => tokio::net::TcpStream::from_std(socket.into())
                .map_err(|e| failed(&e, ErrorTiming::Immediate))?,
            refused => return Err(refused),
        },
        Started::Answered { probe, .. } => return Err(probe),
        Started::Waiting(socket) => finish_connect(socket, timeout).await?,
    };
    // Connected, the socket goes back to the usual rule: an ICMP error on an established
    // connection is a soft error TCP rides out, not one that ends the TLS or HTTP exchange.
    stop_watching_icmp(&stream, address);
    Ok(stream)
}

/// Waits up to `timeout` for a connect under way to complete, for a caller that goes on to use
/// the connection, or says what the failed attempt proves about the port.
pub async fn finish_connect(
    socket: Socket,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, AddressProbe> {
    let stream =
        tokio::net::TcpStream::from_std(socket.into()).map_err(|e| failed(&e, ErrorTiming::Immediate))?;
    match tokio::time::timeout(timeout, stream.writable()).await {
        Err(_) => Err(AddressProbe::State {
            state: PortState::Filtered,
            evidence: PortEvidence::NoResponse,
        }),
        Ok(Err(e)) => Err(refusal(&stream, &e, ErrorTiming::FromNetwork)),
        Ok(Ok(())) => match stream.take_error() {
            Ok(None) => Ok(stream),
            Ok(Some(e)) | Err(e) => Err(refusal(&stream, &e, ErrorTiming::FromNetwork)),
        },
    }
}

/// A socket for [`connect_reusing`] to the family of `address`, bound to a source port of its
/// own. Holding the port across connects spares the kernel an ephemeral-port search on every
/// connect and a release after every RST; the (source, target) pairs still differ per port.
pub fn reusable_socket(address: SocketAddr) -> std::io::Result<Socket> {
    let socket = probe_socket(address)?;
    let any: SocketAddr = match address {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    socket.bind(&any.into())?;
    Ok(socket)
}

/// A non-blocking TCP socket for `address`'s family that queues the ICMP errors of its connect.
fn probe_socket(address: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    watch_icmp(&socket, address, true);
    Ok(socket)
}

/// Set once any socket could not be made to queue its ICMP errors: from then on an empty error
/// queue proves nothing, and a refusal is reported as one that cannot be told apart.
static ICMP_UNWATCHED: AtomicBool =
    AtomicBool::new(cfg!(not(any(target_os = "linux", target_os = "android"))));

/// Turns `IP_RECVERR` (or `IPV6_RECVERR`) on or off for a socket of `address`'s family.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn watch_icmp(socket: &impl AsFd, address: SocketAddr, on: bool) {
    use nix::sys::socket::{setsockopt, sockopt};
    let set = match address {
        SocketAddr::V4(_) => setsockopt(socket, sockopt::Ipv4RecvErr, &on),
        SocketAddr::V6(_) => setsockopt(socket, sockopt::Ipv6RecvErr, &on),
    };
    if set.is_err() && on {
        ICMP_UNWATCHED.store(true, Ordering::Relaxed);
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn watch_icmp(_socket: &impl AsFd, _address: SocketAddr, _on: bool) {}

fn stop_watching_icmp(stream: &tokio::net::TcpStream, address: SocketAddr) {
    watch_icmp(stream, address, false);
}

/// What the error queue of a socket whose connect was refused holds: an ICMP port-unreachable
/// (ICMPv4 type 3 code 3, ICMPv6 type 1 code 4) or nothing. Linux queues the message before it
/// fails the connect, so it is there by the time the refusal is seen.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn icmp_seen(socket: &impl AsFd) -> IcmpSeen {
    use nix::errno::Errno;
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let mut port_unreachable = false;
    // Each read takes one queued error; a refused connect queues one, a few at most.
    for _ in 0..8 {
        let mut data = [0_u8; 128];
        let mut iov = [std::io::IoSliceMut::new(&mut data)];
        let mut control = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
        let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
        match recvmsg::<SockaddrStorage>(socket.as_fd().as_raw_fd(), &mut iov, Some(&mut control), flags) {
            Ok(message) => {
                let Ok(messages) = message.cmsgs() else { continue };
                for control in messages {
                    port_unreachable |= match control {
                        ControlMessageOwned::Ipv4RecvErr(e, _) => {
                            (e.ee_origin, e.ee_type, e.ee_code) == (libc::SO_EE_ORIGIN_ICMP, 3, 3)
                        }
                        ControlMessageOwned::Ipv6RecvErr(e, _) => {
                            (e.ee_origin, e.ee_type, e.ee_code) == (libc::SO_EE_ORIGIN_ICMP6, 1, 4)
                        }
                        _ => false,
                    };
                }
            }
            Err(Errno::EAGAIN) => break,
            Err(_) => return IcmpSeen::NotWatched,
        }
    }
    if port_unreachable {
        IcmpSeen::PortUnreachable
    } else if ICMP_UNWATCHED.load(Ordering::Relaxed) {
        IcmpSeen::NotWatched
    } else {
        IcmpSeen::Nothing
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn icmp_seen(_socket: &impl AsFd) -> IcmpSeen {
    IcmpSeen::NotWatched
}

/// Classifies a failed connect of `socket`, reading its error queue when it was refused.
fn refusal(socket: &impl AsFd, error: &std::io::Error, timing: ErrorTiming) -> AddressProbe {
    let icmp = if error.kind() == std::io::ErrorKind::ConnectionRefused {
        icmp_seen(socket)
    } else {
        IcmpSeen::NotWatched
    };
    classify::connect_error(error, timing, icmp)
}

/// Classifies a failure that no refusal can be (making the socket, registering it).
fn failed(error: &std::io::Error, timing: ErrorTiming) -> AddressProbe {
    classify::connect_error(error, timing, IcmpSeen::NotWatched)
}

/// A completed handshake. A connection to itself is not one: when the target is this host and
/// the kernel picked the target port as the ephemeral source port, a TCP "simultaneous open"
/// connects the socket to itself although nothing listens, where any other source port would
/// have drawn a RST.
pub fn established(socket: &Socket) -> AddressProbe {
    let local = socket.local_addr().ok().and_then(|a| a.as_socket());
    let peer = socket.peer_addr().ok().and_then(|a| a.as_socket());
    if local.is_some() && local == peer {
        return AddressProbe::State {
            state: PortState::Closed,
            evidence: PortEvidence::Reset,
        };
    }
    open()
}

pub(crate) fn open() -> AddressProbe {
    AddressProbe::State {
        state: PortState::Open,
        evidence: PortEvidence::SynAck,
    }
}
