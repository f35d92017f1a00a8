//! Nagios plugin output (also read by Icinga, Naemon, Checkmk and Zabbix's Nagios bridge): one
//! status line `REACH STATE - summary | perfdata`, then one line per check that did not pass,
//! and the exit code in the plugin guidelines' meaning (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
//!
//! A failed check (an unexpected open port included) is CRITICAL; a check that could not be
//! observed, with nothing failed, is UNKNOWN; a certificate that is still valid but expires
//! within `--warn-cert-days`, or a change since the baseline under `--fail-on-change`, is a
//! WARNING when nothing worse happened.

use super::escape::visible;
use super::rendering::Rendering;
use crate::outcome::{Observed, SkipReason, Status};
use crate::run::{CheckResult, RunReport};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// A service state, as the plugin guidelines define it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// The plugin's exit code.
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }
}

/// Ids listed on the status line before "and N more".
const MAX_IDS: usize = 3;

/// The state of a run and the facts behind it.
struct Verdict<'a> {
    state: State,
    failed: Vec<&'a CheckResult>,
    unobserved: Vec<&'a CheckResult>,
    expiring: Vec<(&'a CheckResult, Expiry)>,
    changes: usize,
}

/// A certificate that is still valid and expires soon.
#[derive(Clone, Copy)]
struct Expiry {
    days: i64,
}

impl<'a> Verdict<'a> {
    fn of(report: &'a RunReport, rendering: &Rendering<'_>) -> Verdict<'a> {
        let failed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome.status() == Status::Fail)
            .collect();
        let unobserved: Vec<_> = report
            .results
            .iter()
            .filter(|r| {
                r.outcome.status() == Status::Error || r.outcome.skip_reason() == Some(SkipReason::Deadline)
            })
            .collect();
        let warn_within = Duration::from_secs(u64::from(rendering.warn_cert_days) * 86_400);
        let expiring: Vec<_> = report
            .results
            .iter()
            .filter_map(|r| Some((r, expiry(r, report.started_at, warn_within)?)))
            .collect();
        let changes = rendering.changes.map_or(0, |c| c.list.len());
        let state = if !failed.is_empty() {
            State::Critical
        } else if !unobserved.is_empty() {
            State::Unknown
        } else if !expiring.is_empty() || rendering.changed_and_fails() {
            State::Warning
        } else {
            State::Ok
        };
        Verdict {
            state,
            failed,
            unobserved,
            expiring,
            changes,
        }
    }
}

/// The state of a run: what the exit code of `--format nagios` says.
pub fn state(report: &RunReport, rendering: &Rendering<'_>) -> State {
    Verdict::of(report, rendering).state
}

/// The certificate of a tls check, if it is still valid at the start of the run and expires
/// within `within` of it.
fn expiry(result: &CheckResult, now: SystemTime, within: Duration) -> Option<Expiry> {
    let Observed::Tls { observation, .. } = result.outcome.observed() else {
        return None;
    };
    let certificate = observation.handshake.as_ref().ok()?.certificate.as_ref()?;
    let not_after = humantime::parse_rfc3339_weak(&certificate.not_after).ok()?;
    let left = not_after.duration_since(now).ok()?;
    if left.is_zero() || left > within {
        return None;
    }
    Some(Expiry {
        days: i64::try_from(left.as_secs() / 86_400).unwrap_or(i64::MAX),
    })
}

/// Renders the plugin output.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    let verdict = Verdict::of(report, rendering);
    let summary = report.summary();
    let mut parts: Vec<String> = Vec::new();
    if !verdict.failed.is_empty() {
        parts.push(format!(
            "{} failed: {}",
            verdict.failed.len(),
            ids(&verdict.failed)
        ));
    }
    if !verdict.unobserved.is_empty() {
        parts.push(format!(
            "{} not observed: {}",
            verdict.unobserved.len(),
            ids(&verdict.unobserved)
        ));
    }
    if !verdict.expiring.is_empty() {
        let list: Vec<&CheckResult> = verdict.expiring.iter().map(|(r, _)| *r).collect();
        let soonest = verdict.expiring.iter().map(|(_, e)| e.days).min().unwrap_or(0);
        parts.push(format!(
            "{} certificate{} expiring (soonest in {soonest} days): {}",
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            ids(&list)
        ));
    }
    if rendering.changes.is_some() {
        parts.push(match verdict.changes {
            0 => "no change since the baseline".to_owned(),
            1 => "1 change since the baseline".to_owned(),
            n => format!("{n} changes since the baseline"),
        });
    }
    let considered = summary.total - (summary.skip - summary.skipped_by_deadline);
    parts.push(format!("{} of {considered} checks passed", summary.pass));

    let mut perfdata = vec![
        format!("checks={};;;0", summary.total),
        format!("pass={};;;0", summary.pass),
        format!("fail={};;;0", summary.fail),
        format!("error={};;;0", summary.error),
        format!("skip={};;;0", summary.skip),
        format!("time={:.6}s;;;0", report.duration.as_secs_f64()),
    ];
    if rendering.changes.is_some() {
        perfdata.push(format!("changes={};;;0", verdict.changes));
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "REACH {} - {} | {}",
        verdict.state.as_str(),
        line(&parts.join("; ")),
        perfdata.join(" ")
    );
    for result in &report.results {
        let outcome = &result.outcome;
        let word = match (outcome.status(), outcome.skip_reason()) {
            (Status::Fail, _) => "FAIL",
            (Status::Error, _) => "ERROR",
            (Status::Skip, Some(SkipReason::Deadline)) => "SKIP",
            _ => continue,
        };
        let check = &result.check;
        let mut text = format!(
            "{word} {} ({}): expected {}, observed {}",
            check.id,
            check.target(),
            check.expected(),
            outcome.summary()
        );
        if !outcome.message().is_empty() {
            let _ = write!(text, ": {}", outcome.message());
        }
        let _ = writeln!(out, "{}", line(&text));
    }
    for (result, expiry) in &verdict.expiring {
        let check = &result.check;
        let _ = writeln!(
            out,
            "{}",
            line(&format!(
                "WARNING {} ({}): the certificate expires in {} days, within --warn-cert-days {}",
                check.id,
                check.target(),
                expiry.days,
                rendering.warn_cert_days
            ))
        );
    }
    if let Some(changes) = rendering.changes {
        for change in &changes.list {
            let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
            let subject = change
                .subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}",
                line(&format!(
                    "CHANGED {} {}{subject}: {} -> {}",
                    change.id,
                    change.what.as_str(),
                    side(&change.before),
                    side(&change.after)
                ))
            );
        }
    }
    // Certificate lifetimes as long-output perfdata: one per tls check, which may be many, so
    // they stay off the status line (Nagios keeps the first line short).
    let certificates: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| {
            let days = days_left(r, report.started_at)?;
            Some(format!(
                "'{} cert days'={days};{}:;0:;;",
                r.check.id, rendering.warn_cert_days
            ))
        })
        .collect();
    if !certificates.is_empty() {
        let _ = writeln!(out, "| {}", certificates.join(" "));
    }
    out
}

/// Whole days from the start of the run to the certificate's notAfter (negative once expired).
fn days_left(result: &CheckResult, now: SystemTime) -> Option<i64> {
    let Observed::Tls { observation, .. } = result.outcome.observed() else {
        return None;
    };
    let certificate = observation.handshake.as_ref().ok()?.certificate.as_ref()?;
    let not_after = humantime::parse_rfc3339_weak(&certificate.not_after).ok()?;
    let seconds = match not_after.duration_since(now) {
        Ok(left) => i64::try_from(left.as_secs()).ok()?,
        Err(past) => -i64::try_from(past.duration().as_secs()).ok()?,
    };
    Some(seconds.div_euclid(86_400))
}

fn ids(results: &[&CheckResult]) -> String {
    let mut list: Vec<&str> = results
        .iter()
        .take(MAX_IDS)
        .map(|r| r.check.id.as_str())
        .collect();
    let more = results.len().saturating_sub(MAX_IDS);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    list.dedup();
    format!("{}{more}", list.join(", "))
}

/// Text made safe for one line of plugin output: no control characters (a newline would start
/// a new line of long output) and no `|` (which starts performance data).
fn line(text: &str) -> String {
    visible(text).replace('|', "¦")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_cannot_start_perfdata_or_a_new_line() {
        assert_eq!(line("a|b\nc"), "a¦b\\nc");
    }

    #[test]
    fn exit_codes_are_the_plugin_guidelines_ones() {
        let codes: Vec<u8> = [State::Ok, State::Warning, State::Critical, State::Unknown]
            .iter()
            .map(|s| s.code())
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }
}
