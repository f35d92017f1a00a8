//! TCP port checks: connect to every address of a host and judge each port state against the
//! requirement.

use super::attempt::Attempt;
use super::context::Ctx;
use super::port_wait;
use crate::outcome::{
    AddressObservation, AddressProbe, ErrorClass, ExpiredWait, Finding, Observed, PortEvidence, PortState,
    Stage, Timings, Verdict,
};
use crate::spec::{PortExpectation, TcpCheck};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One attempt of a TCP check: resolve, then connect to every address at once, all within
/// `timeout`. Each address is waited for by its host's round-trip estimate, and a silent one is
/// tried again `retries` times before it is called filtered (see [`port_wait`]).
pub async fn attempt(ctx: &Ctx, check: &TcpCheck, timeout: Duration, retries: u32) -> Attempt {
    let deadline = Instant::now() + timeout;
    let resolved = match ctx.resolver.resolve(&check.host, check.port, timeout).await {
        Ok(resolved) => resolved,
        Err(e) => return Attempt::unresolved(e),
    };
    // What the lookup took is not given again to the connects.
    let probes = resolved.addresses.iter().map(|&address| async move {
        let target = SocketAddr::new(address, check.port);
        let seen = port_wait::probe(target, ctx.rtt.host(address), deadline, timeout, retries).await;
        AddressObservation {
            address,
            probe: seen.probe,
            elapsed: seen.elapsed,
            connects: seen.connects,
            timeouts: seen.timeouts,
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
/// the check an error (we cannot vouch for it); otherwise it passes. An attempt with an address
/// that stayed silent to the end of the check's timeout is inconclusive, so the runner retries
/// it; one whose silence the host's round trips settled ([`port_wait`]) is not.
pub fn judge(
    check: &TcpCheck,
    addresses: Vec<AddressObservation>,
    timings: Timings,
    timeout: Duration,
) -> Attempt {
    let target = |address| check.host_port(address);
    let silent = |a: &AddressObservation| match &a.probe {
        AddressProbe::State {
            evidence: PortEvidence::NoResponse,
            ..
        } => !a.timeouts.last().is_some_and(|w| w.basis.settles()),
        AddressProbe::Error(e) => e.class() == ErrorClass::Io,
        AddressProbe::State { .. } => false,
    };
    // A definite answer that contradicts the requirement (a RST, a handshake) settles the check
    // whatever another address said: asking again cannot turn that fail into a pass.
    let settled = addresses.iter().any(|a| {
        !silent(a) && matches!(a.probe, AddressProbe::State { state, .. } if !satisfies(check.expect, state))
    });
    let inconclusive = !settled && addresses.iter().any(silent);
    let contradiction = addresses.iter().find_map(|a| match a.probe {
        AddressProbe::State { state, evidence } if !satisfies(check.expect, state) => {
            Some((a.address, state, evidence, a.timeouts.as_slice()))
        }
        _ => None,
    });
    let unobserved = addresses.iter().find_map(|a| match &a.probe {
        AddressProbe::Error(e) => Some((a.address, e.class(), e.to_string())),
        AddressProbe::State { .. } => None,
    });
    let stage = Stage::Tcp;
    let (verdict, message) = match (contradiction, unobserved) {
        (Some((address, state, evidence, waits)), _) => (
            Verdict::Fail {
                stage,
                class: fail_class(state, evidence),
            },
            fail_message(check.expect, state, evidence, &target(address), waits, timeout),
        ),
        (None, Some((address, class, detail))) => (
            Verdict::Error { stage, class },
            format!("could not probe {}: {detail}", target(address)),
        ),
        (None, None) => (Verdict::Pass { stage }, String::new()),
    };
    Attempt {
        finding: Finding::new(verdict, summarize(&addresses))
            .message(message)
            .observed(Observed::Tcp { addresses })
            .timings(timings),
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
        (PortState::Filtered, PortEvidence::IcmpUnreachable | PortEvidence::IcmpPortUnreachable) => {
            Some(ErrorClass::Unreachable)
        }
        (PortState::Filtered, _) => Some(ErrorClass::Timeout),
        (PortState::Open, _) => None,
    }
}

fn fail_message(
    expect: PortExpectation,
    state: PortState,
    evidence: PortEvidence,
    target: &str,
    waits: &[ExpiredWait],
    timeout: Duration,
) -> String {
    let seen = match (state, evidence) {
        (PortState::Open, _) => format!("{target} accepted a TCP connection"),
        (PortState::Closed, PortEvidence::Refused) => format!(
            "{target} refused the connection with a reset or an ICMP port-unreachable (this host \
             cannot tell which): nothing listens there, or a firewall rejects"
        ),
        (PortState::Closed, _) => {
            format!("{target} answered with a reset: nothing listens there, or a firewall rejects")
        }
        (PortState::Filtered, PortEvidence::IcmpUnreachable) => {
            format!("an ICMP unreachable came back for {target}: a firewall or router rejects it")
        }
        (PortState::Filtered, PortEvidence::IcmpPortUnreachable) => format!(
            "an ICMP port-unreachable came back for {target}: a firewall rejects it (a REJECT rule), \
             so nmap calls it filtered"
        ),
        (PortState::Filtered, _) => silence(target, waits, timeout),
    };
    format!("must be {} but is {state}: {seen}", expect.as_str())
}

/// Why a silent port is filtered: the waits it was given, and what they rested on.
fn silence(target: &str, waits: &[ExpiredWait], timeout: Duration) -> String {
    let settled = waits.last().is_some_and(|w| w.basis.settles());
    if !settled {
        return format!(
            "{target} gave no answer within {}: a firewall drops the packets, or the host is down",
            crate::text::rounded(timeout)
        );
    }
    let spans: Vec<String> = waits.iter().map(|w| crate::text::ms(w.timeout)).collect();
    let connects = if waits.len() == 1 {
        "a connect".to_owned()
    } else {
        format!("{} connects", waits.len())
    };
    format!(
        "{target} gave no answer to {connects} (waited {} by the host's round-trip time) while the \
         host answered other probes: a firewall drops the packets",
        spans.join(", then ")
    )
}

/// One line for people: `open`, or each state with its addresses when they differ.
fn summarize(addresses: &[AddressObservation]) -> String {
    let word = |probe: &AddressProbe| match probe {
        AddressProbe::State { state, evidence } => match (state, evidence) {
            (PortState::Filtered, PortEvidence::IcmpUnreachable) => "filtered (icmp)".to_owned(),
            (PortState::Filtered, PortEvidence::IcmpPortUnreachable) => {
                "filtered (icmp port-unreachable)".to_owned()
            }
            (PortState::Closed, PortEvidence::Refused) => "closed (refused)".to_owned(),
            (state, _) => state.as_str().to_owned(),
        },
        AddressProbe::Error(e) => format!("error ({})", e.class().as_str()),
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
    use crate::outcome::{Status, WaitBasis};
    use crate::probe::connect::connect;
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
            connects: 1,
            timeouts: Vec::new(),
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
        assert_eq!(closed.finding.verdict.status(), Status::Pass);
        let open = verdict(
            PortExpectation::NotExposed,
            vec![seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck))],
        );
        assert_eq!(open.finding.verdict.status(), Status::Fail);
        assert!(
            open.finding.message.contains("db.test (10.0.0.1:5432) accepted"),
            "{}",
            open.finding.message
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
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        assert_eq!(Some(attempt.finding.verdict.stage()), Some(Stage::Tcp));
        assert_eq!(attempt.finding.verdict.class(), Some(ErrorClass::Timeout));
        assert!(attempt.inconclusive);
    }

    #[test]
    fn a_silence_the_host_round_trips_settled_is_not_retried_and_says_so() {
        let mut address = seen("10.0.0.1", state(PortState::Filtered, PortEvidence::NoResponse));
        address.connects = 2;
        address.timeouts = vec![
            ExpiredWait {
                timeout: Duration::from_millis(100),
                basis: WaitBasis::Rtt,
            },
            ExpiredWait {
                timeout: Duration::from_millis(200),
                basis: WaitBasis::RttRetry,
            },
        ];
        let attempt = verdict(PortExpectation::Open, vec![address.clone()]);
        assert_eq!(attempt.finding.verdict.class(), Some(ErrorClass::Timeout));
        assert!(!attempt.inconclusive);
        assert!(
            attempt.finding.message.contains(
                "gave no answer to 2 connects (waited 100ms, then 200ms by the host's round-trip time)"
            ),
            "{}",
            attempt.finding.message
        );
        // The same silence, but the host fell silent too: the runner tries again.
        address.timeouts[1].basis = WaitBasis::HostSilent;
        let attempt = verdict(PortExpectation::Open, vec![address]);
        assert!(attempt.inconclusive);
        assert!(
            attempt.finding.message.contains("within 2s"),
            "{}",
            attempt.finding.message
        );
    }

    #[test]
    fn a_refusal_says_what_it_was_or_that_it_cannot_tell() {
        let icmp = verdict(
            PortExpectation::Open,
            vec![seen(
                "10.0.0.1",
                state(PortState::Filtered, PortEvidence::IcmpPortUnreachable),
            )],
        );
        assert_eq!(icmp.finding.verdict.class(), Some(ErrorClass::Unreachable));
        assert_eq!(icmp.finding.summary, "filtered (icmp port-unreachable)");
        assert!(
            icmp.finding
                .message
                .contains("an ICMP port-unreachable came back"),
            "{}",
            icmp.finding.message
        );
        assert!(!icmp.inconclusive);
        let unknown = verdict(
            PortExpectation::Open,
            vec![seen("10.0.0.1", state(PortState::Closed, PortEvidence::Refused))],
        );
        assert_eq!(unknown.finding.verdict.class(), Some(ErrorClass::Refused));
        assert!(
            unknown
                .finding
                .message
                .contains("a reset or an ICMP port-unreachable"),
            "{}",
            unknown.finding.message
        );
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
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        assert_eq!(attempt.finding.verdict.class(), Some(ErrorClass::Refused));
        assert_eq!(attempt.finding.summary, "open on 10.0.0.1, closed on 2001:db8::1");
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
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        assert!(!attempt.inconclusive);
    }

    #[test]
    fn an_unprobeable_address_is_an_error_unless_another_address_fails() {
        let local = AddressProbe::Error(crate::outcome::ConnectError::new(
            crate::outcome::LocalCause::NoRoute,
            std::io::Error::from_raw_os_error(libc::EHOSTUNREACH),
        ));
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
        assert_eq!(error.finding.verdict.status(), Status::Error);
        assert_eq!(error.finding.verdict.class(), Some(ErrorClass::Unreachable));
        let fail = verdict(
            PortExpectation::NotExposed,
            vec![
                seen("10.0.0.1", state(PortState::Open, PortEvidence::SynAck)),
                seen("2001:db8::1", local),
            ],
        );
        assert_eq!(fail.finding.verdict.status(), Status::Fail);
    }

    #[tokio::test]
    async fn loopback_listener_is_open_and_a_released_port_is_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open_addr = listener.local_addr().unwrap();
        assert_eq!(
            connect(open_addr, Duration::from_secs(2)).await,
            crate::probe::connect::open()
        );
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
