//! The human report of `reach scan`: per host, a table of every port that is not closed (open,
//! filtered, unprobeable) with its service and verdict, then the findings and a summary. Closed
//! ports are counted, not listed; the JSON report has the same facts. Lines fit the rendering's
//! width; with `--failures` only the hosts that did not pass are shown.

use super::escape::visible;
use super::human::{time, BOLD, DIM, RED, YELLOW};
use super::rendering::Rendering;
use crate::outcome::{
    AddressProbe, AddressScan, Observed, PortEvidence, PortState, Status, NO_ANSWER_REASON,
};
use crate::run::{CheckResult, RunReport};
use std::fmt::Write as _;

/// Renders the whole scan report.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    let color = rendering.color;
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
        if rendering.failures_only && result.outcome.status() == Status::Pass {
            continue;
        }
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
    super::layout::fit(&out, rendering.width)
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
            if scan.no_answer() {
                let _ = writeln!(
                    out,
                    "    {}",
                    paint(
                        YELLOW,
                        &format!(
                            "{NO_ANSWER_REASON} ({} ports, {} connects each)",
                            scan.ports.len(),
                            attempts_range(scan)
                        )
                    )
                );
                continue;
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

/// `2` or `2-3`: how many connects the silent ports of `scan` got.
fn attempts_range(scan: &AddressScan) -> String {
    let attempts = scan.ports.iter().map(|p| p.attempts);
    let (low, high) = (attempts.clone().min().unwrap_or(0), attempts.max().unwrap_or(0));
    if low == high {
        low.to_string()
    } else {
        format!("{low}-{high}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn failures_leaves_out_the_hosts_that_passed_and_lines_fit_the_width() {
        let report = fixture::report();
        let all = render(&report, &Rendering::default());
        let failures = render(
            &report,
            &Rendering {
                failures_only: true,
                width: 60,
                ..Rendering::default()
            },
        );
        // The fixed run's first check passed (127.0.0.1:8000); its fourth failed (6379).
        assert!(all.contains("127.0.0.1:8000"), "{all}");
        assert!(!failures.contains("127.0.0.1:8000"), "{failures}");
        assert!(failures.contains("UNEXPECTED"), "{failures}");
        for line in failures.lines() {
            assert!(super::super::layout::width_of(line) <= 60, "{line}");
        }
    }
}
