//! TCP port checks: connect to every address of a host and judge each port state against the
//! requirement.
//!
//! The connect is done by hand (non-blocking `connect()`, then wait for writability) rather than
//! with `TcpStream::connect`, because the two ways a connect can fail mean different things: an
//! error from `connect()` itself comes from this host (no route, a local firewall) and proves
//! nothing about the target, while an error that arrives later came from the network.

use super::{Attempt, Ctx};
use crate::classify::{self, ErrorTiming};
use crate::outcome::{
    AddressObservation, AddressProbe, ErrorClass, Observed, Outcome, PortEvidence, PortState, Stage, Status,
    Timings,
};
use crate::spec::{PortExpectation, TcpCheck};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One attempt of a TCP check: resolve, then connect to every address at once.
pub async fn attempt(ctx: &Ctx, check: &TcpCheck, timeout: Duration) -> Attempt {
    let resolved = match ctx.resolver.resolve(&check.host, check.port, timeout).await {
        Ok(resolved) => resolved,
        Err(e) => return Attempt::unresolved(e),
    };
    let probes = resolved.addresses.iter().map(|&address| async move {
        let started = Instant::now();
        let probe = connect(SocketAddr::new(address, check.port), timeout).await;
        AddressObservation {
            address,
            probe,
            elapsed: started.elapsed(),
        }
    });
    let addresses = futures_util::future::join_all(probes).await;
    let timings = Timings {
        dns: Some(resolved.elapsed),
        tcp: addresses.iter().map(|a| a.elapsed).max(),
        ..Timings::default()
    };
    judge(check, addresses, timings, timeout)
}

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
        None => match Socket::new(
            Domain::for_address(address),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        ) {
            Ok(socket) => socket,
            Err(e) => return answered(classify::connect_error(&e, ErrorTiming::Immediate), None),
        },
    };
    let target = SockAddr::from(address);
    match socket.connect(&target) {
        Ok(()) => return Started::Connected(socket),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return answered(classify::connect_error(&e, ErrorTiming::Immediate), None),
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
            let probe = classify::connect_error(&e, ErrorTiming::FromNetwork);
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
    match start_connect(address, None) {
        Started::Connected(socket) => match established(&socket) {
            AddressProbe::State {
                state: PortState::Open,
                ..
            } => tokio::net::TcpStream::from_std(socket.into())
                .map_err(|e| classify::connect_error(&e, ErrorTiming::Immediate)),
            refused => Err(refused),
        },
        Started::Answered { probe, .. } => Err(probe),
        Started::Waiting(socket) => finish_connect(socket, timeout).await,
    }
}

/// Waits up to `timeout` for a connect under way to complete, for a caller that goes on to use
/// the connection, or says what the failed attempt proves about the port.
pub async fn finish_connect(
    socket: Socket,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, AddressProbe> {
    let stream = tokio::net::TcpStream::from_std(socket.into())
        .map_err(|e| classify::connect_error(&e, ErrorTiming::Immediate))?;
    match tokio::time::timeout(timeout, stream.writable()).await {
        Err(_) => Err(AddressProbe::State {
            state: PortState::Filtered,
            evidence: PortEvidence::NoResponse,
        }),
        Ok(Err(e)) => Err(classify::connect_error(&e, ErrorTiming::FromNetwork)),
        Ok(Ok(())) => match stream.take_error() {
            Ok(None) => Ok(stream),
            Ok(Some(e)) | Err(e) => Err(classify::connect_error(&e, ErrorTiming::FromNetwork)),
        },
    }
}

/// A socket for [`connect_reusing`] to the family of `address`, bound to a source port of its
/// own. Holding the port across connects spares the kernel an ephemeral-port search on every
/// connect and a release after every RST; the (source, target) pairs still differ per port.
pub fn reusable_socket(address: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    let any: SocketAddr = match address {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    socket.bind(&any.into())?;
    Ok(socket)
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

fn open() -> AddressProbe {
    AddressProbe::State {
        state: PortState::Open,
        evidence: PortEvidence::SynAck,
    }
}

/// Whether an observed state satisfies the requirement.
pub fn satisfies(expect: PortExpectation, state: PortState) -> bool {
    match expect {
        PortExpectation::Open => state == PortState::Open,
        PortExpectation::Closed => state == PortState::Closed,
        PortExpectation::Filtered => state == PortState::Filtered,
        PortExpectation::NotExposed => state != PortState::Open,
    }
}

/// Turns the per-address observations of one attempt into the check's verdict.
///
/// A contradiction on any address is a fail; otherwise an address that could not be probed makes
/// the check an error (we cannot vouch for it); otherwise it passes. An attempt with a silent
/// address is inconclusive, so the runner retries it before a port is called filtered.
pub fn judge(
    check: &TcpCheck,
    addresses: Vec<AddressObservation>,
    timings: Timings,
    timeout: Duration,
) -> Attempt {
    let target = |address| check.host_port(address);
    let silent = |a: &AddressObservation| {
        matches!(
            a.probe,
            AddressProbe::State {
                evidence: PortEvidence::NoResponse,
                ..
            } | AddressProbe::Error {
                class: ErrorClass::Io,
                ..
            }
        )
    };
    // A definite answer that contradicts the requirement (a RST, a handshake) settles the check
    // whatever another address said: asking again cannot turn that fail into a pass.
    let settled = addresses.iter().any(|a| {
        !silent(a) && matches!(a.probe, AddressProbe::State { state, .. } if !satisfies(check.expect, state))
    });
    let inconclusive = !settled && addresses.iter().any(silent);
    let contradiction = addresses.iter().find_map(|a| match a.probe {
        AddressProbe::State { state, evidence } if !satisfies(check.expect, state) => {
            Some((a.address, state, evidence))
        }
        _ => None,
    });
    let unobserved = addresses.iter().find_map(|a| match &a.probe {
        AddressProbe::Error { class, detail } => Some((a.address, *class, detail.clone())),
        AddressProbe::State { .. } => None,
    });
    let (status, error, message) = match (contradiction, unobserved) {
        (Some((address, state, evidence)), _) => (
            Status::Fail,
            fail_class(state, evidence),
            fail_message(check.expect, state, evidence, &target(address), timeout),
        ),
        (None, Some((address, class, detail))) => (
            Status::Error,
            Some(class),
            format!("could not probe {}: {detail}", target(address)),
        ),
        (None, None) => (Status::Pass, None, String::new()),
    };
    Attempt {
        outcome: Outcome {
            status,
            stage: Some(Stage::Tcp),
            error,
            skip_reason: None,
            observed_summary: summarize(&addresses),
            message,
            observed: Observed::Tcp { addresses },
            timings,
            attempts: 1,
        },
        inconclusive,
    }
}

impl TcpCheck {
    fn host_port(&self, address: std::net::IpAddr) -> String {
        let socket = SocketAddr::new(address, self.port).to_string();
        match &self.host {
            crate::spec::Host::Name(name) => format!("{name} ({socket})"),
            crate::spec::Host::Ip(_) => socket,
        }
    }
}

fn fail_class(state: PortState, evidence: PortEvidence) -> Option<ErrorClass> {
    match (state, evidence) {
        (PortState::Closed, _) => Some(ErrorClass::Refused),
        (PortState::Filtered, PortEvidence::IcmpUnreachable) => Some(ErrorClass::Unreachable),
        (PortState::Filtered, _) => Some(ErrorClass::Timeout),
        (PortState::Open, _) => None,
    }
}

fn fail_message(
    expect: PortExpectation,
    state: PortState,
    evidence: PortEvidence,
    target: &str,
    timeout: Duration,
) -> String {
    let seen = match (state, evidence) {
        (PortState::Open, _) => format!("{target} accepted a TCP connection"),
        (PortState::Closed, _) => {
            format!("{target} answered with a reset: nothing listens there, or a firewall rejects")
        }
        (PortState::Filtered, PortEvidence::IcmpUnreachable) => {
            format!("an ICMP unreachable came back for {target}: a firewall or router rejects it")
        }
        (PortState::Filtered, _) => format!(
            "{target} gave no answer within {}: a firewall drops the packets, or the host is down",
            crate::outcome::rounded(timeout)
        ),
    };
    format!("must be {} but is {state}: {seen}", expect.as_str())
}

/// One line for people: `open`, or each state with its addresses when they differ.
fn summarize(addresses: &[AddressObservation]) -> String {
    let word = |probe: &AddressProbe| match probe {
        AddressProbe::State { state, evidence } => match (state, evidence) {
            (PortState::Filtered, PortEvidence::IcmpUnreachable) => "filtered (icmp)".to_owned(),
            (state, _) => state.as_str().to_owned(),
        },
        AddressProbe::Error { class, .. } => format!("error ({})", class.as_str()),
    };
    let words: Vec<String> = addresses.iter().map(|a| word(&a.probe)).collect();
    match words.first() {
        Some(first) if words.iter().all(|w| w == first) => first.clone(),
        _ => addresses
            .iter()
            .zip(&words)
            .map(|(a, w)| format!("{w} on {}", a.address))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Host;
    use std::net::IpAddr;

    fn check(expect: PortExpectation) -> TcpCheck {
        TcpCheck {
            host: Host::Name("db.test".into()),
            port: 5432,
            expect,
        }
    }

    fn seen(address: &str, probe: AddressProbe) -> AddressObservation {
        AddressObservation {
            address: address.parse::<IpAddr>().unwrap(),
            probe,
            elapsed: Duration::from_millis(1),
        }
    }

    fn state(state: PortState, evidence: PortEvidence) -> AddressProbe {
        AddressProbe::State { state, evidence }
    }

    fn verdict(expect: PortExpectation, addresses: Vec<AddressObservation>) -> Attempt {
        judge(
            &check(expect),
            addresses,
            Timings::default(),
            Duration::from_secs(2),
        )
    }

    #[test]
    fn not_exposed_accepts_closed_and_filtered_but_not_open() {
        let closed = verdict(
            PortExpectation::NotExposed,
            vec![seen("10.0.0.1", state(PortState::Closed, PortEvidence::Reset))],
        );
        assert_eq!(closed.outcome.status, Status::Pass);
        let open = verdict(
            PortExpectation::NotExposed,
            vec![seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck))],
        );
        assert_eq!(open.outcome.status, Status::Fail);
        assert!(
            open.outcome.message.contains("db.test (10.0.0.1:5432) accepted"),
            "{}",
            open.outcome.message
        );
    }

    #[test]
    fn a_silent_port_that_must_be_open_fails_at_tcp_with_timeout_and_asks_for_a_retry() {
        let attempt = verdict(
            PortExpectation::Open,
            vec![seen(
                "10.0.0.1",
                state(PortState::Filtered, PortEvidence::NoResponse),
            )],
        );
        assert_eq!(attempt.outcome.status, Status::Fail);
        assert_eq!(attempt.outcome.stage, Some(Stage::Tcp));
        assert_eq!(attempt.outcome.error, Some(ErrorClass::Timeout));
        assert!(attempt.inconclusive);
    }

    #[test]
    fn one_bad_address_fails_the_check_and_mixed_states_are_spelled_out() {
        let attempt = verdict(
            PortExpectation::Open,
            vec![
                seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck)),
                seen("2001:db8::1", state(PortState::Closed, PortEvidence::Reset)),
            ],
        );
        assert_eq!(attempt.outcome.status, Status::Fail);
        assert_eq!(attempt.outcome.error, Some(ErrorClass::Refused));
        assert_eq!(
            attempt.outcome.observed_summary,
            "open on 10.0.0.1, closed on 2001:db8::1"
        );
        assert!(!attempt.inconclusive);
    }

    #[test]
    fn a_definite_contradiction_is_not_retried_because_another_address_was_silent() {
        let attempt = verdict(
            PortExpectation::NotExposed,
            vec![
                seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck)),
                seen(
                    "2001:db8::1",
                    state(PortState::Filtered, PortEvidence::NoResponse),
                ),
            ],
        );
        assert_eq!(attempt.outcome.status, Status::Fail);
        assert!(!attempt.inconclusive);
    }

    #[test]
    fn an_unprobeable_address_is_an_error_unless_another_address_fails() {
        let local = AddressProbe::Error {
            class: ErrorClass::Unreachable,
            detail: "no route".into(),
        };
        let error = verdict(
            PortExpectation::NotExposed,
            vec![
                seen(
                    "10.0.0.1",
                    state(PortState::Filtered, PortEvidence::IcmpUnreachable),
                ),
                seen("2001:db8::1", local.clone()),
            ],
        );
        assert_eq!(error.outcome.status, Status::Error);
        assert_eq!(error.outcome.error, Some(ErrorClass::Unreachable));
        let fail = verdict(
            PortExpectation::NotExposed,
            vec![
                seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck)),
                seen("2001:db8::1", local),
            ],
        );
        assert_eq!(fail.outcome.status, Status::Fail);
    }

    #[tokio::test]
    async fn loopback_listener_is_open_and_a_released_port_is_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open_addr = listener.local_addr().unwrap();
        assert_eq!(connect(open_addr, Duration::from_secs(2)).await, open());
        let closed_addr = {
            let released = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            released.local_addr().unwrap()
        };
        assert_eq!(
            connect(closed_addr, Duration::from_secs(2)).await,
            state(PortState::Closed, PortEvidence::Reset)
        );
    }
}
