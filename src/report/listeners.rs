//! The human report of `reach listeners`: one line per listening socket with its bind scope
//! and owning process, then the verdict of each `--internal` port. Lines fit the rendering's
//! width; with `--failures` only the verdicts that did not pass are shown, not the inventory.

use super::escape::visible;
use super::human::{time, BOLD, DIM, YELLOW};
use super::rendering::Rendering;
use crate::outcome::{BindScope, Observed, Status};
use crate::run::RunReport;
use std::fmt::Write as _;

/// Renders the whole listeners report.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    let color = rendering.color;
    let paint = |style: &str, text: &str| super::human::paint(color, style, text);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} · listening sockets of this host\n",
        paint(BOLD, "reach"),
        env!("CARGO_PKG_VERSION")
    );
    for result in &report.results {
        let outcome = &result.outcome;
        if rendering.failures_only && outcome.status() == Status::Pass {
            continue;
        }
        if result.check.expected() == "inventory" {
            if let Observed::Listen { sockets } = outcome.observed() {
                // As wide as the widest address (an IPv6 one can take 39 columns), not wider.
                let address_width = sockets
                    .iter()
                    .map(|s| s.address.to_string().len())
                    .chain(["ADDRESS".len()])
                    .max()
                    .unwrap_or(0)
                    + 2;
                let header = format!(
                    "{:<6}{:<address_width$}{:<7}{:<10}PROCESS",
                    "PROTO", "ADDRESS", "PORT", "SCOPE"
                );
                let _ = writeln!(out, "  {}", paint(DIM, &header));
                for socket in sockets {
                    let scope = socket.scope();
                    let scope_text = match scope {
                        BindScope::Wildcard => paint(YELLOW, &format!("{:<10}", scope.as_str())),
                        _ => format!("{:<10}", scope.as_str()),
                    };
                    let process = socket.process.as_ref().map_or_else(
                        || "-".to_owned(),
                        |p| format!("{} (pid {})", visible(&p.name), p.pid),
                    );
                    let _ = writeln!(
                        out,
                        "  {:<6}{:<address_width$}{:<7}{scope_text}{process}",
                        socket.transport.as_str(),
                        socket.address.to_string(),
                        socket.port,
                    );
                }
                let _ = writeln!(out, "\n  {}", visible(outcome.summary()));
            }
            if outcome.status() == Status::Error {
                let _ = writeln!(out, "  {} {}", paint(YELLOW, "ERROR"), visible(outcome.message()));
            }
            continue;
        }
        let (word, style) = super::human::status_word(outcome.status());
        let _ = writeln!(
            out,
            "  {}  {}  {}",
            paint(style, &format!("{word:<5}")),
            visible(&result.check.name),
            visible(outcome.summary())
        );
        if !outcome.message().is_empty() {
            let _ = writeln!(out, "         └ {}", paint(DIM, &visible(outcome.message())));
        }
    }
    let summary = report.summary();
    let _ = writeln!(
        out,
        "\n{} checks in {}: {} pass, {} fail, {} error",
        summary.total,
        time(report.duration),
        summary.pass,
        summary.fail,
        summary.error
    );
    super::layout::fit(&out, rendering.width)
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn failures_leaves_out_what_passed_and_lines_fit_the_width() {
        let report = fixture::report();
        let failures = render(
            &report,
            &Rendering {
                failures_only: true,
                width: 50,
                ..Rendering::default()
            },
        );
        assert!(!failures.contains("API listens"), "{failures}");
        assert!(failures.contains("Redis stays internal"), "{failures}");
        for line in failures.lines() {
            assert!(super::super::layout::width_of(line) <= 50, "{line}");
        }
    }
}
