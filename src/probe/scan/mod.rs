//! `scan` checks: resolve the host, scan every address with [`engine`], and judge the open ports
//! against the allow list. Each open port the list does not name is a finding.
//!
//! [`engine`] drives the connects (each one a [`crate::probe::connect`], so a port gets the same
//! verdict as a `tcp` check) for every scan of a run at once, [`crate::probe::rtt`] adapts their
//! timeouts (one estimate per host, shared with the run's `tcp` checks), [`progress`] counts
//! ports for a progress bar, and [`shared`] holds what the scans of a run share (their budget
//! comes from [`crate::probe::limits`]).

pub mod engine;
pub mod progress;
pub mod shared;

use super::attempt::Attempt;
use super::context::Ctx;
use super::watch::{self, Cut};
use crate::outcome::{
    AddressProbe, AddressScan, ErrorClass, Finding, Observed, PortState, ScannedPort, Stage, Timings,
    Verdict, NO_ANSWER_REASON,
};
use crate::services;
use crate::spec::{port_ranges, ScanCheck};
use engine::{EngineOptions, Found};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One scan: `timeout` caps each connect's adaptive timeout, `retries` is the number of extra
/// connects a silent port gets before it is called filtered. The scan is one attempt however
/// long it takes; what it has seen so far is published as it goes, so that a scan the run's
/// `--deadline` cuts short still reports its ports (and fails on an unexpected open one).
pub async fn attempt(ctx: &Ctx, check: &ScanCheck, timeout: Duration, retries: u32) -> Attempt {
    let started = Instant::now();
    // A scan covers many ports, so only `--resolve NAME:*:ADDR` overrides apply (port 0).
    let resolved = match ctx.resolver.resolve(&check.host, 0, timeout).await {
        Ok(resolved) => resolved,
        Err(e) => return Attempt::unresolved(e),
    };
    let found: Vec<(IpAddr, Found)> = resolved
        .addresses
        .iter()
        .map(|&address| (address, Found::default()))
        .collect();
    {
        let (check, found, dns) = (check.clone(), found.clone(), resolved.elapsed);
        watch::publish(move |cut| {
            let addresses = found
                .iter()
                .map(|(address, seen)| {
                    let seen = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clone();
                    fold(*address, seen, &check.ports, started.elapsed())
                })
                .collect();
            let timings = Timings {
                dns: Some(dns),
                tcp: Some(started.elapsed()),
                ..Timings::default()
            };
            Attempt::settled(judge(&check, addresses, timings, Some(cut)))
        });
    }
    let options = EngineOptions {
        concurrency: check.concurrency,
        max_timeout: timeout,
        retries,
    };
    let ports: Arc<[u16]> = check.ports.clone().into();
    ctx.scan
        .progress
        .add_total(ports.len() * resolved.addresses.len());
    let scanning = Instant::now();
    // Every address at once: the engine interleaves them with the other scans of the run.
    let runs = futures_util::future::join_all(found.iter().map(|(address, seen)| {
        ctx.scan.engine.scan(
            *address,
            Arc::clone(&ports),
            options,
            ctx.rtt.host(*address),
            Arc::clone(&ctx.scan.progress),
            Arc::clone(seen),
        )
    }))
    .await;
    let addresses = found
        .iter()
        .zip(runs)
        .map(|((address, _), run)| {
            let mut scan = fold(*address, run.ports, &check.ports, run.elapsed);
            scan.started = run.started;
            scan
        })
        .collect();
    let timings = Timings {
        dns: Some(resolved.elapsed),
        tcp: Some(scanning.elapsed()),
        ..Timings::default()
    };
    Attempt::settled(judge(check, addresses, timings, None))
}

/// Keeps the ports worth listing, counts the closed ones, and lists the ports of `wanted` that
/// `found` does not hold (not probed yet).
fn fold(address: IpAddr, found: Vec<engine::PortOutcome>, wanted: &[u16], elapsed: Duration) -> AddressScan {
    let mut probed = vec![false; usize::from(u16::MAX) + 1];
    let mut closed = 0;
    let mut ports = Vec::new();
    for outcome in found {
        probed[usize::from(outcome.port)] = true;
        if matches!(
            outcome.probe,
            AddressProbe::State {
                state: PortState::Closed,
                ..
            }
        ) {
            closed += 1;
            continue;
        }
        ports.push(ScannedPort {
            port: outcome.port,
            service: services::name(outcome.port),
            probe: outcome.probe,
            attempts: outcome.attempts,
            unexpected: false,
        });
    }
    ports.sort_unstable_by_key(|p| p.port);
    let mut unprobed: Vec<u16> = wanted
        .iter()
        .copied()
        .filter(|&p| !probed[usize::from(p)])
        .collect();
    unprobed.sort_unstable();
    AddressScan {
        address,
        ports,
        closed,
        unprobed,
        started: Duration::ZERO,
        elapsed,
    }
}

/// The verdict: a fail when a port outside the allow list is open (whether or not the scan was
/// cut short: that port is open); else an error when the scan was cut short (`cut`) or some
/// ports could not be probed; else a pass.
pub fn judge(
    check: &ScanCheck,
    mut addresses: Vec<AddressScan>,
    timings: Timings,
    cut: Option<Cut>,
) -> Finding {
    let several = addresses.len() > 1;
    let mut findings = Vec::new();
    for scan in &mut addresses {
        for port in &mut scan.ports {
            let open = matches!(
                port.probe,
                AddressProbe::State {
                    state: PortState::Open,
                    ..
                }
            );
            port.unexpected = open
                && check
                    .allow
                    .as_ref()
                    .is_some_and(|allow| !allow.contains(&port.port));
            if port.unexpected {
                let place = if several {
                    format!("{}", std::net::SocketAddr::new(scan.address, port.port))
                } else {
                    port.port.to_string()
                };
                findings.push(match port.service {
                    Some(service) => format!("{place} ({service})"),
                    None => place,
                });
            }
        }
    }
    let unprobed = addresses.iter().find_map(|scan| {
        let count = scan.errors();
        scan.ports.iter().find_map(|p| match &p.probe {
            AddressProbe::Error(e) => Some((scan.address, count, e.class(), e.to_string())),
            AddressProbe::State { .. } => None,
        })
    });
    let unreached: usize = addresses.iter().map(|a| a.unprobed.len()).sum();
    let short = match cut {
        _ if unreached == 0 => None,
        Some(Cut::Timeout(budget)) => Some((
            ErrorClass::Timeout,
            format!("the check's {} timeout ran out", crate::text::rounded(budget)),
        )),
        Some(Cut::Deadline) | None => Some((ErrorClass::Deadline, "the run's --deadline passed".to_owned())),
    };
    let short_words = |(_, why): &(ErrorClass, String)| {
        let wanted = check.ports.len() * addresses.len();
        let ranges: Vec<String> = addresses
            .iter()
            .filter(|a| !a.unprobed.is_empty())
            .map(|a| {
                if several {
                    format!("{} on {}", port_ranges(&a.unprobed), a.address)
                } else {
                    port_ranges(&a.unprobed)
                }
            })
            .collect();
        format!(
            "{why} after {} of {wanted} ports: {} not probed",
            wanted - unreached,
            ranges.join("; ")
        )
    };
    let stage = Stage::Tcp;
    let (verdict, message) = if !findings.is_empty() {
        let allowed = match &check.allow {
            Some(allow) if !allow.is_empty() => format!("the allow list is {}", port_ranges(allow)),
            _ => "no port may be open".to_owned(),
        };
        let noun = if findings.len() == 1 { "port" } else { "ports" };
        let mut message = format!("unexpected open {noun}: {}; {allowed}", findings.join(", "));
        if let Some(short) = &short {
            message.push_str(&format!(" ({})", short_words(short)));
        }
        (Verdict::Fail { stage, class: None }, message)
    } else if let Some(short) = &short {
        (
            Verdict::Error {
                stage,
                class: short.0,
            },
            short_words(short),
        )
    } else if let Some((address, count, class, detail)) = unprobed {
        (
            Verdict::Error { stage, class },
            format!("could not probe {count} ports of {address}: {detail}"),
        )
    } else {
        // Nothing open where it should not be, which is all a scan asserts; a host that
        // answered nothing is still named, since reach cannot tell down from fully filtered.
        let silent: Vec<String> = addresses
            .iter()
            .filter(|a| a.no_answer())
            .map(|a| a.address.to_string())
            .collect();
        let message = match silent.len() {
            0 => String::new(),
            _ if !several => NO_ANSWER_REASON.to_owned(),
            _ => format!("{}: {NO_ANSWER_REASON}", silent.join(", ")),
        };
        (Verdict::Pass { stage }, message)
    };
    Finding::new(verdict, summarize(&addresses))
        .message(message)
        .observed(Observed::Scan { addresses })
        .timings(timings)
}

/// `6 open (1 unexpected), 1 filtered, 65528 closed`, over all addresses; for addresses that
/// answered nothing, `no answer on any of 1024 ports`.
fn summarize(addresses: &[AddressScan]) -> String {
    let silent = addresses.iter().filter(|a| a.no_answer()).count();
    if silent > 0 && silent == addresses.len() {
        let ports = addresses[0].ports.len();
        let mut summary = format!("no answer on any of {ports} ports");
        if silent > 1 {
            summary.push_str(&format!(" on {silent} addresses"));
        }
        return summary;
    }
    let mut summary = summarize_ports(addresses);
    if silent > 0 {
        summary.push_str(&format!(" ({silent} gave no answer)"));
    }
    summary
}

fn summarize_ports(addresses: &[AddressScan]) -> String {
    let sum = |f: &dyn Fn(&AddressScan) -> usize| addresses.iter().map(f).sum::<usize>();
    let open = sum(&|a| a.count(PortState::Open));
    let unexpected = sum(&|a| a.ports.iter().filter(|p| p.unexpected).count());
    let filtered = sum(&|a| a.count(PortState::Filtered));
    let closed = sum(&|a| a.closed);
    let errors = sum(&|a| a.errors());
    let unprobed = sum(&|a| a.unprobed.len());
    let mut parts = vec![if unexpected > 0 {
        format!("{open} open ({unexpected} unexpected)")
    } else {
        format!("{open} open")
    }];
    parts.push(format!("{filtered} filtered"));
    parts.push(format!("{closed} closed"));
    if errors > 0 {
        parts.push(format!("{errors} could not be probed"));
    }
    if unprobed > 0 {
        parts.push(format!("{unprobed} not probed"));
    }
    let mut summary = parts.join(", ");
    if addresses.len() > 1 {
        summary.push_str(&format!(" on {} addresses", addresses.len()));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::PortEvidence;
    use crate::outcome::Status;
    use crate::spec::Host;

    fn port(port: u16, state: PortState, evidence: PortEvidence) -> ScannedPort {
        ScannedPort {
            port,
            probe: AddressProbe::State { state, evidence },
            attempts: 1,
            service: services::name(port),
            unexpected: false,
        }
    }

    fn scan_of(ports: Vec<ScannedPort>) -> Vec<AddressScan> {
        vec![AddressScan {
            address: "198.18.0.1".parse().unwrap(),
            ports,
            closed: 100,
            unprobed: Vec::new(),
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
        }]
    }

    fn check(allow: Option<Vec<u16>>) -> ScanCheck {
        ScanCheck {
            host: Host::Ip("198.18.0.1".parse().unwrap()),
            ports: (1..=104).collect(),
            allow,
            concurrency: 8,
        }
    }

    #[test]
    fn open_ports_outside_the_allow_list_are_findings_named_by_service() {
        let ports = vec![
            port(22, PortState::Open, PortEvidence::SynAck),
            port(5432, PortState::Filtered, PortEvidence::NoResponse),
            port(6379, PortState::Open, PortEvidence::SynAck),
        ];
        let outcome = judge(
            &check(Some(vec![22, 80, 443])),
            scan_of(ports),
            Timings::default(),
            None,
        );
        assert_eq!(outcome.verdict.status(), Status::Fail);
        assert_eq!(
            outcome.message,
            "unexpected open port: 6379 (redis); the allow list is 22,80,443"
        );
        assert_eq!(outcome.summary, "2 open (1 unexpected), 1 filtered, 100 closed");
        let Observed::Scan { addresses } = &outcome.observed else {
            panic!()
        };
        let flagged: Vec<u16> = addresses[0]
            .ports
            .iter()
            .filter(|p| p.unexpected)
            .map(|p| p.port)
            .collect();
        assert_eq!(flagged, [6379]);
    }

    #[test]
    fn a_scan_cut_short_keeps_its_findings_and_names_what_it_did_not_probe() {
        let cut_short = |ports: Vec<ScannedPort>| {
            let mut addresses = scan_of(ports);
            addresses[0].unprobed = (60..=104).collect();
            addresses
        };
        let open = vec![port(22, PortState::Open, PortEvidence::SynAck)];
        let outcome = judge(
            &check(Some(vec![])),
            cut_short(open.clone()),
            Timings::default(),
            Some(Cut::Deadline),
        );
        assert_eq!(outcome.verdict.status(), Status::Fail);
        assert!(
            outcome.message.contains("unexpected open port: 22 (ssh)")
                && outcome.message.contains("60-104 not probed"),
            "{}",
            outcome.message
        );
        let outcome = judge(
            &check(Some(vec![22])),
            cut_short(open),
            Timings::default(),
            Some(Cut::Deadline),
        );
        assert_eq!(
            outcome.verdict,
            Verdict::Error {
                stage: Stage::Tcp,
                class: ErrorClass::Deadline
            }
        );
        assert_eq!(
            outcome.message,
            "the run's --deadline passed after 59 of 104 ports: 60-104 not probed"
        );
        assert!(outcome.summary.ends_with("45 not probed"), "{}", outcome.summary);
    }

    #[test]
    fn fold_lists_the_ports_not_probed() {
        let found = vec![engine::PortOutcome {
            port: 2,
            probe: AddressProbe::State {
                state: PortState::Closed,
                evidence: PortEvidence::Reset,
            },
            attempts: 1,
        }];
        let scan = fold("127.0.0.1".parse().unwrap(), found, &[1, 2, 3], Duration::ZERO);
        assert_eq!((scan.closed, scan.unprobed), (1, vec![1, 3]));
    }

    #[test]
    fn an_address_that_answered_nothing_is_named_as_such_and_passes() {
        let silent = |address: &str| AddressScan {
            address: address.parse().unwrap(),
            ports: (1..=104)
                .map(|p| port(p, PortState::Filtered, PortEvidence::NoResponse))
                .collect(),
            closed: 0,
            unprobed: Vec::new(),
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
        };
        let outcome = judge(
            &check(Some(vec![22])),
            vec![silent("198.18.0.1")],
            Timings::default(),
            None,
        );
        assert_eq!(outcome.verdict.status(), Status::Pass);
        assert_eq!(outcome.message, NO_ANSWER_REASON);
        assert_eq!(outcome.summary, "no answer on any of 104 ports");
        // Beside an address that answered, it is named.
        let mut addresses = scan_of(vec![port(22, PortState::Open, PortEvidence::SynAck)]);
        addresses.push(silent("198.18.0.9"));
        let outcome = judge(&check(Some(vec![22])), addresses, Timings::default(), None);
        assert_eq!(outcome.verdict.status(), Status::Pass);
        assert_eq!(outcome.message, format!("198.18.0.9: {NO_ANSWER_REASON}"));
        assert_eq!(
            outcome.summary,
            "1 open, 104 filtered, 100 closed on 2 addresses (1 gave no answer)"
        );
        // A single ICMP error is an answer.
        let mut answered = silent("198.18.0.1");
        answered.ports[3] = port(4, PortState::Filtered, PortEvidence::IcmpUnreachable);
        assert!(!answered.no_answer() && answered.answered());
    }

    #[test]
    fn without_an_allow_list_a_scan_only_reports() {
        let ports = vec![port(6379, PortState::Open, PortEvidence::SynAck)];
        let outcome = judge(&check(None), scan_of(ports), Timings::default(), None);
        assert_eq!(outcome.verdict.status(), Status::Pass);
    }

    #[test]
    fn unprobeable_ports_make_an_error_unless_something_failed() {
        let broken = ScannedPort {
            probe: AddressProbe::Error(crate::outcome::ConnectError::new(
                crate::outcome::LocalCause::OutOfDescriptors,
                std::io::Error::from_raw_os_error(libc::EMFILE),
            )),
            ..port(80, PortState::Open, PortEvidence::SynAck)
        };
        let outcome = judge(
            &check(Some(vec![])),
            scan_of(vec![broken.clone()]),
            Timings::default(),
            None,
        );
        assert_eq!(outcome.verdict.status(), Status::Error);
        assert_eq!(outcome.verdict.class(), Some(ErrorClass::LocalPolicy));
        let with_finding = vec![broken, port(3000, PortState::Open, PortEvidence::SynAck)];
        let outcome = judge(
            &check(Some(vec![])),
            scan_of(with_finding),
            Timings::default(),
            None,
        );
        assert_eq!(outcome.verdict.status(), Status::Fail);
        assert!(outcome.message.contains("3000 (grafana"), "{}", outcome.message);
        assert!(
            outcome.message.contains("no port may be open"),
            "{}",
            outcome.message
        );
    }
}
