//! The Prometheus text exposition format (0.0.4), for a node_exporter textfile (`-o
//! DIR/reach.prom`) or a scrape. The families, their labels and their meaning follow the metrics
//! contract in docs/reports.md exactly; deploy/ (alerting rules, dashboards) is written against it.
//!
//! Labels carry identities only (profile, id, kind, target, vantage, and a port, state, stage,
//! version or status from a fixed set), never a message, so the number of series is bounded by
//! the checks of the run and, for scans, by the ports that are not closed.

use super::rendering::Rendering;
use crate::outcome::{AddressProbe, Observed, PortState, Status, VersionState};
use crate::run::{CheckResult, RunReport};
use crate::spec::{PortExpectation, ProbeSpec};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

const STATUSES: [Status; 4] = [Status::Pass, Status::Fail, Status::Error, Status::Skip];

/// One metric family: its samples, written only when it has some. Public so that an exporter
/// writes its own families (counters included) with the same escaping and number format.
pub struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(String, f64)>,
}

impl Family {
    /// A gauge.
    pub fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind: "gauge",
            samples: Vec::new(),
        }
    }

    /// A counter: a value that only grows while the process lives.
    pub fn counter(name: &'static str, help: &'static str) -> Family {
        Family {
            kind: "counter",
            ..Family::new(name, help)
        }
    }

    /// Adds a sample; `labels` is `name="value",...` (values through [`escape`]), or empty.
    pub fn push(&mut self, labels: String, value: f64) {
        self.samples.push((labels, value));
    }

    pub fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{} {}", self.name, number(*value));
            } else {
                let _ = writeln!(out, "{}{{{labels}}} {}", self.name, number(*value));
            }
        }
    }
}

/// Renders the whole report.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    render_runs(&[report], rendering)
}

/// Renders several runs as one exposition (an exporter's latest scheduled runs): each family
/// once, with the samples of every run, since a second `# TYPE` line for a family is invalid.
/// The runs must not share a profile, or their series would collide.
pub fn render_runs(reports: &[&RunReport], rendering: &Rendering<'_>) -> String {
    let mut families = Families::new();
    for report in reports {
        families.add(report, rendering);
    }
    let checks: usize = reports.iter().map(|r| r.results.len()).sum();
    let mut out = String::with_capacity(1024 + checks * 1200);
    for family in families.all() {
        family.write(&mut out);
    }
    out
}

/// Every family of a run, in the order they are written.
struct Families {
    success: Family,
    status: Family,
    duration: Family,
    stage: Family,
    port_state: Family,
    unexpected: Family,
    not_after: Family,
    accepted: Family,
    ttl: Family,
    http_status: Family,
    changed: Family,
    timestamp: Family,
    checks: Family,
}

impl Families {
    fn new() -> Families {
        Families {
            success: Family::new(
                "reach_check_success",
                "1 if the check passed, 0 if it failed or could not be observed (no sample when skipped).",
            ),
            status: Family::new(
                "reach_check_status",
                "1 for the status the check ended in (pass, fail, error, skip), 0 for the others.",
            ),
            duration: Family::new(
                "reach_check_duration_seconds",
                "Wall time of the check, retries included.",
            ),
            stage: Family::new(
                "reach_check_stage_seconds",
                "Time spent in one stage (dns, tcp, proxy, tls, ttfb) of the attempt that decided the check.",
            ),
            port_state: Family::new(
                "reach_port_state",
                "1 for the state a port was seen in (open, closed, filtered); scans list only ports that are not closed.",
            ),
            unexpected: Family::new(
                "reach_port_unexpected_open",
                "1 for a port that must not be exposed and was open (no sample otherwise).",
            ),
            not_after: Family::new(
                "reach_tls_cert_not_after_seconds",
                "The leaf certificate's notAfter, in seconds since the Unix epoch.",
            ),
            accepted: Family::new(
                "reach_tls_protocol_accepted",
                "1 if the server accepts the TLS version, 0 if it refuses it (no sample when inconclusive).",
            ),
            ttl: Family::new(
                "reach_dns_answer_ttl_seconds",
                "The smallest TTL of the records that answer the check.",
            ),
            http_status: Family::new("reach_http_status_code", "Status code of the last HTTP response."),
            changed: Family::new(
                "reach_check_changed",
                "1 if anything about the check changed since the --baseline report, else 0.",
            ),
            timestamp: Family::new(
                "reach_run_timestamp_seconds",
                "When the run started, in seconds since the Unix epoch.",
            ),
            checks: Family::new("reach_run_checks", "Checks of the run that ended in each status."),
        }
    }

    fn all(&self) -> [&Family; 13] {
        [
            &self.success,
            &self.status,
            &self.duration,
            &self.stage,
            &self.port_state,
            &self.unexpected,
            &self.not_after,
            &self.accepted,
            &self.ttl,
            &self.http_status,
            &self.changed,
            &self.timestamp,
            &self.checks,
        ]
    }

    /// Adds the samples of one run.
    fn add(&mut self, report: &RunReport, rendering: &Rendering<'_>) {
        let vantage = report.vantage.as_deref().unwrap_or("");
        for result in &report.results {
            self.add_check(result, vantage, rendering);
        }
        let started = report
            .started_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        for profile in profiles(report) {
            let labels = format!("profile=\"{}\",vantage=\"{}\"", escape(profile), escape(vantage));
            self.timestamp
                .push(labels.clone(), (started * 1000.0).round() / 1000.0);
            let mine: Vec<&CheckResult> = report
                .results
                .iter()
                .filter(|r| r.check.profile == profile)
                .collect();
            for s in STATUSES {
                let count = mine.iter().filter(|r| r.outcome.status() == s).count();
                self.checks
                    .push(with(&labels, &[("status", s.as_str())]), count as f64);
            }
        }
    }

    fn add_check(&mut self, result: &CheckResult, vantage: &str, rendering: &Rendering<'_>) {
        let labels = check_labels(result, vantage);
        let outcome = &result.outcome;
        let now = outcome.status();
        match now {
            Status::Pass => self.success.push(labels.clone(), 1.0),
            Status::Fail | Status::Error => self.success.push(labels.clone(), 0.0),
            Status::Skip => {}
        }
        for s in STATUSES {
            self.status
                .push(with(&labels, &[("status", s.as_str())]), flag(s == now));
        }
        if now != Status::Skip {
            self.duration.push(labels.clone(), result.duration.as_secs_f64());
        }
        let timings = outcome.timings();
        for (name, time) in [
            ("dns", timings.dns),
            ("tcp", timings.tcp),
            ("tls", timings.tls),
            ("ttfb", timings.ttfb),
        ] {
            if let Some(time) = time {
                self.stage
                    .push(with(&labels, &[("stage", name)]), time.as_secs_f64());
            }
        }
        ports(result, &labels, &mut self.port_state, &mut self.unexpected);
        match outcome.observed() {
            Observed::Tls { observation, .. } => {
                if let Some(seconds) = observation
                    .handshake
                    .as_ref()
                    .ok()
                    .and_then(|h| h.certificate.as_ref())
                    .and_then(|c| unix_seconds(&c.not_after))
                {
                    self.not_after.push(labels.clone(), seconds);
                }
                for v in &observation.versions {
                    let value = match v.state {
                        VersionState::Accepted => 1.0,
                        VersionState::Refused => 0.0,
                        VersionState::Inconclusive => continue,
                    };
                    self.accepted
                        .push(with(&labels, &[("version", v.version.as_str())]), value);
                }
            }
            Observed::Dns(dns) => {
                let smallest = dns
                    .answers
                    .iter()
                    .flat_map(|a| a.answer.final_records(&dns.name, dns.record_type))
                    .map(|r| r.ttl)
                    .min();
                if let Some(smallest) = smallest {
                    self.ttl.push(labels.clone(), f64::from(smallest));
                }
            }
            Observed::Http(http) => {
                if let Some(code) = http.status {
                    self.http_status.push(labels.clone(), f64::from(code));
                }
            }
            _ => {}
        }
        if let Some(changes) = rendering.changes {
            self.changed.push(labels, flag(changes.changed(&result.check.id)));
        }
    }
}

/// `profile, id, kind, target, vantage`, in this order.
fn check_labels(result: &CheckResult, vantage: &str) -> String {
    let check = &result.check;
    format!(
        "profile=\"{}\",id=\"{}\",kind=\"{}\",target=\"{}\",vantage=\"{}\"",
        escape(&check.profile),
        escape(&check.id),
        check.kind().as_str(),
        escape(&check.target()),
        escape(vantage)
    )
}

fn with(labels: &str, extra: &[(&str, &str)]) -> String {
    let mut out = labels.to_owned();
    for (name, value) in extra {
        let _ = write!(out, ",{name}=\"{}\"", escape(value));
    }
    out
}

/// The port facts of tcp checks and scans: each (port, state) seen once, in port order.
fn ports(result: &CheckResult, labels: &str, states: &mut Family, unexpected: &mut Family) {
    let mut seen: BTreeSet<(u16, &'static str)> = BTreeSet::new();
    let mut open_unexpected: BTreeSet<u16> = BTreeSet::new();
    match (result.outcome.observed(), &result.check.probe) {
        (Observed::Tcp { addresses }, ProbeSpec::Tcp(tcp)) => {
            for address in addresses {
                if let AddressProbe::State { state, .. } = address.probe {
                    seen.insert((tcp.port, state.as_str()));
                    if state == PortState::Open && tcp.expect != PortExpectation::Open {
                        open_unexpected.insert(tcp.port);
                    }
                }
            }
        }
        (Observed::Scan { addresses }, _) => {
            for scan in addresses {
                for port in &scan.ports {
                    if let AddressProbe::State { state, .. } = port.probe {
                        // The engine lists only ports that are not closed; the contract says so too.
                        if state != PortState::Closed {
                            seen.insert((port.port, state.as_str()));
                        }
                    }
                    if port.unexpected {
                        open_unexpected.insert(port.port);
                    }
                }
            }
        }
        _ => {}
    }
    for (port, state) in seen {
        states.push(
            with(labels, &[("port", &port.to_string()), ("state", state)]),
            1.0,
        );
    }
    for port in open_unexpected {
        unexpected.push(with(labels, &[("port", &port.to_string())]), 1.0);
    }
}

/// The profiles of the run, in the order their first check appears.
fn profiles(report: &RunReport) -> Vec<&str> {
    let mut profiles: Vec<&str> = Vec::new();
    for result in &report.results {
        if !profiles.contains(&result.check.profile.as_str()) {
            profiles.push(&result.check.profile);
        }
    }
    profiles
}

fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// A sample value: integers without a fraction, others in the shortest form that reads back
/// exactly (Rust never writes an exponent here, and Prometheus parses both).
fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        "NaN".to_owned()
    }
}

/// An RFC 3339 time (as the TLS observation writes it) in seconds since the epoch.
fn unix_seconds(text: &str) -> Option<f64> {
    let time = humantime::parse_rfc3339_weak(text).ok()?;
    let seconds = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    };
    Some(seconds)
}

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_exposition_format_says() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn certificate_dates_become_epoch_seconds() {
        assert_eq!(unix_seconds("2026-01-01T00:00:00Z"), Some(1_767_225_600.0));
        assert_eq!(unix_seconds("1970-01-01T00:00:01Z"), Some(1.0));
        assert_eq!(unix_seconds("soon"), None);
    }
}
