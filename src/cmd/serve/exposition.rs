//! The bodies of `/probe` and `/metrics`: the families of a run come from
//! [`crate::report::prometheus`] (the renderer of `--format prometheus`), and the exporter adds
//! its own with the same writer.

use super::state::State;
use crate::report::prometheus::{self, escape, Family};
use crate::report::Rendering;
use crate::run::RunReport;
use std::time::{Duration, SystemTime};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The answer to one `/probe`: the run's families, then whether it passed and how long it took.
pub fn probe(report: &RunReport, succeeded: bool, duration: Duration) -> String {
    let mut out = prometheus::render(report, &Rendering::default());
    let mut success = Family::new(
        "reach_probe_success",
        "1 if every selected check of the probe passed, else 0.",
    );
    success.push(String::new(), if succeeded { 1.0 } else { 0.0 });
    let mut took = Family::new("reach_probe_duration_seconds", "Wall time of the probe.");
    took.push(String::new(), duration.as_secs_f64());
    success.write(&mut out);
    took.write(&mut out);
    out
}

/// `/metrics`: the latest run of every scheduled profile, the exporter's counters, the state
/// of its configuration and its build.
pub fn metrics(state: &State) -> String {
    let latest = state.latest();
    let reports: Vec<&RunReport> = latest.iter().map(|(_, l)| l.report.as_ref()).collect();
    let mut out = prometheus::render_runs(&reports, &Rendering::default());

    let mut runs = Family::counter(
        "reach_exporter_runs_total",
        "Scheduled runs finished, by result (success: every selected check passed).",
    );
    let mut duration = Family::new(
        "reach_exporter_run_duration_seconds",
        "Duration of the last scheduled run.",
    );
    let mut last_success = Family::new(
        "reach_exporter_last_success_timestamp_seconds",
        "When the last scheduled run in which every check passed finished, unix seconds.",
    );
    let mut last_run = Family::new(
        "reach_exporter_last_run_timestamp_seconds",
        "When the last scheduled run finished, unix seconds.",
    );
    // Every scheduled profile has its counters from the start, so that rate() and increase()
    // see its first run as an increase.
    let mut all = state.stats();
    for (module, _) in state.modules().scheduled() {
        all.entry(module.profile.clone()).or_default();
    }
    for (profile, stats) in all {
        let labels = format!("profile=\"{}\"", escape(&profile));
        runs.push(format!("{labels},result=\"success\""), stats.successes as f64);
        runs.push(format!("{labels},result=\"failure\""), stats.failures as f64);
        if let Some(time) = stats.last_success {
            last_success.push(labels.clone(), unix(time));
        }
        if let Some(time) = stats.last_run {
            duration.push(labels.clone(), stats.last_duration.as_secs_f64());
            last_run.push(labels, unix(time));
        }
    }
    let reload = state.reload_status();
    let mut reload_ok = Family::new(
        "reach_exporter_config_last_reload_successful",
        "1 if the last load of the check files (at start or on SIGHUP) succeeded, else 0.",
    );
    reload_ok.push(String::new(), if reload.successful { 1.0 } else { 0.0 });
    let mut reload_time = Family::new(
        "reach_exporter_config_last_reload_success_timestamp_seconds",
        "When the check files were last loaded successfully, unix seconds.",
    );
    reload_time.push(String::new(), unix(reload.last_success));
    let mut build = Family::new(
        "reach_build_info",
        "Always 1; the labels say which reach this is and which rustc built it.",
    );
    build.push(
        format!(
            "version=\"{}\",rustc=\"{}\"",
            escape(env!("CARGO_PKG_VERSION")),
            escape(env!("REACH_RUSTC_VERSION"))
        ),
        1.0,
    );
    for family in [
        &runs,
        &duration,
        &last_success,
        &last_run,
        &reload_ok,
        &reload_time,
        &build,
    ] {
        family.write(&mut out);
    }
    out
}

/// Seconds since the epoch, to the millisecond.
fn unix(time: SystemTime) -> f64 {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    (seconds * 1000.0).round() / 1000.0
}
