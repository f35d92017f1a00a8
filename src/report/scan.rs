//! The human report of `reach scan`: per host, a table of every port that is not closed (open,
//! filtered, unprobeable) with its service and verdict, then the findings and a summary. Closed
//! ports are counted, not listed; the JSON report has the same facts.

use super::escape::visible;
use super::human::{time, BOLD, DIM, RED, YELLOW};
use crate::outcome::{AddressProbe, Observed, PortEvidence, PortState};
use crate::run::{CheckResult, RunReport};
use std::fmt::Write as _;

/// Renders the whole scan report.
pub fn render(report: &RunReport, color: bool) -> String {
    let paint = |style: &str, text: &str| super::human::paint(color, style, text);
    let mut out = String::new();
    let ports = report.results.first().map_or(0, |r| match &r.check.probe {
        crate::spec::ProbeSpec::Scan(scan) => scan.ports.len(),
        _ => 0,
    });
    let hosts = report.results.len();
    let _ = writeln!(
        out,
        "{} {} · scan of {hosts} host{} · {ports} TCP ports each\n",
        paint(BOLD, "reach"),
        env!("CARGO_PKG_VERSION"),
        if hosts == 1 { "" } else { "s" },
    );
    for result in &report.results {
        host_section(&mut out, result, &paint);
    }
    let summary = report.summary();
    let _ = writeln!(
        out,
        "{hosts} host{} in {}: {} pass, {} fail, {} error, {} skip",
        if hosts == 1 { "" } else { "s" },
        time(report.duration),
        summary.pass,
        summary.fail,
        summary.error,
        summary.skip
    );
    out
}

fn host_section(out: &mut String, result: &CheckResult, paint: &dyn Fn(&str, &str) -> String) {
    let outcome = &result.outcome;
    let (word, style) = super::human::status_word(outcome.status());
    let _ = writeln!(
        out,
        "{}  {}  {}  expected {}  {}",
        paint(style, word),
        paint(BOLD, &visible(&result.check.target())),
        visible(outcome.summary()),
        visible(&result.check.expected()),
        paint(DIM, &time(result.duration)),
    );
    if let Observed::Scan { addresses } = outcome.observed() {
        for scan in addresses {
            let _ = writeln!(
                out,
                "  {}  {} ports in {}",
                scan.address,
                scan.scanned(),
                time(scan.elapsed)
            );
            if !scan.unprobed.is_empty() {
                let _ = writeln!(
                    out,
                    "    {}",
                    paint(
                        YELLOW,
                        &format!(
                            "{} ports not probed (the scan was cut short): {}",
                            scan.unprobed.len(),
                            crate::spec::port_ranges(&scan.unprobed)
                        )
                    )
                );
            }
            if scan.ports.is_empty() {
                let _ = writeln!(out, "    {}", paint(DIM, "no open or filtered port"));
                continue;
            }
            let _ = writeln!(
                out,
                "    {}",
                paint(
                    DIM,
                    &format!(
                        "{:<7}{:<10}{:<23}{:<26}VERDICT",
                        "PORT", "STATE", "REASON", "SERVICE"
                    )
                )
            );
            for port in &scan.ports {
                let (state, reason) = match &port.probe {
                    AddressProbe::State { state, evidence } => (state.as_str(), evidence.as_str()),
                    AddressProbe::Error(e) => ("error", e.class().as_str()),
                };
                let verdict = match &port.probe {
                    _ if port.unexpected => paint(RED, "UNEXPECTED: not in the allow list"),
                    AddressProbe::State {
                        state: PortState::Open,
                        ..
                    } => "open".to_owned(),
                    AddressProbe::State {
                        evidence: PortEvidence::NoResponse,
                        ..
                    } => format!("dropped (no answer to {} connects)", port.attempts),
                    AddressProbe::State {
                        evidence: PortEvidence::IcmpPortUnreachable,
                        ..
                    } => "rejected with an ICMP port-unreachable".to_owned(),
                    AddressProbe::State { .. } => "rejected with an ICMP unreachable".to_owned(),
                    AddressProbe::Error(e) => paint(YELLOW, &visible(&e.to_string())),
                };
                let _ = writeln!(
                    out,
                    "    {:<7}{:<10}{:<23}{:<26}{verdict}",
                    port.port,
                    state,
                    reason,
                    port.service.unwrap_or("-"),
                );
            }
        }
    }
    if !outcome.message().is_empty() {
        let _ = writeln!(out, "  └ {}", paint(DIM, &visible(outcome.message())));
    }
    out.push('\n');
}
