//! One [`Session`] runs every command's plan: it is built once, from the shared connect and
//! output arguments (as ripgrep's high-level arguments are from its low-level ones), before
//! anything is probed, so a bad `--ca-file`, proxy variable, filter or `-o` path stops the
//! command with exit code 2; then it runs the plan, renders the report and says the exit code.

use super::args::{ColorChoice, ConnectArgs, OutputArgs};
use super::exit;
use super::outputs;
use crate::outcome::Summary;
use crate::probe::http::proxy_env::ProxyEnvError;
use crate::probe::http::settings::HttpCtx;
use crate::probe::limits;
use crate::probe::rtt::RttTable;
use crate::probe::scan::shared::ScanShared;
use crate::probe::Ctx;
use crate::report::baseline::{Baseline, BaselineError};
use crate::report::layout::{self, MIN_WIDTH, PIPE_WIDTH};
use crate::report::lock::LockError;
use crate::report::progress::{Bar, PortBar};
use crate::report::{self, nagios, Destination, Format, OutputError, Rendering};
use crate::resolve::{ResolveOverride, Resolver};
use crate::run::{self, Progress, RunOptions, RunReport, Silent};
use crate::spec::{Check, Host, Plan, ProbeSpec};
use crate::trust::{Trust, TrustError};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Why a session could not be set up; nothing was probed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Proxy(#[from] ProxyEnvError),
    #[error("no check is selected by {filters}: nothing would be probed{hint}")]
    NothingSelected { filters: String, hint: String },
    /// A `--tag` or `--vantage` value that no check of the run carries: a typo, most likely.
    #[error("no check is selected by {flag} {value}: no check of this run {carries} it; {known}")]
    UnknownFilter {
        flag: &'static str,
        value: String,
        carries: &'static str,
        known: String,
    },
    #[error(
        "--resolve {0} pins {host} for one port only, but a scan of {host} connects to every port: use {host}:*:ADDR",
        host = .0.host
    )]
    PortPinnedScan(ResolveOverride),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("--also names {} twice, or the same file as -o", .0.display())]
    SameOutput(PathBuf),
}

impl SessionError {
    /// Nothing was probed in any case; a report that another run is still writing is not a
    /// usage error but a run that could not be made.
    pub fn exit_code(&self) -> u8 {
        match self {
            SessionError::Lock(LockError::Busy { .. }) => exit::UNOBSERVED,
            _ => exit::USAGE,
        }
    }
}

/// How a command's report looks to people: the checks table, or a command's own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One row per check, with a per-check progress bar on a terminal.
    Checks,
    /// `reach scan`: the port table, with a port progress bar.
    Scan,
    /// `reach listeners`: the socket table.
    Listeners,
}

/// Where the process environment may reach into a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Proxies and API keys come from the environment, as users expect.
    Process,
    /// Nothing does: the demo's loopback run must not go through a user's proxy.
    Isolated,
}

/// Everything a command needs to run a plan and report it.
pub struct Session<'a> {
    ctx: Ctx,
    options: RunOptions,
    output: &'a OutputArgs,
    color: ColorChoice,
    view: View,
    /// The files the run reads: `-o` must not name any of them.
    inputs: Vec<PathBuf>,
}

impl<'a> Session<'a> {
    /// Sets up the run of `plan`: reads `--ca-file` (always, so a bad one stops the command),
    /// the system roots only when a check may verify a certificate (sparing tcp, dns and scan
    /// runs the work), proxies and keys from the environment, and the socket budget of scans.
    pub fn new(
        plan: &Plan,
        connect: ConnectArgs,
        environment: Environment,
        output: &'a OutputArgs,
        color: ColorChoice,
    ) -> Result<Session<'a>, SessionError> {
        if let Some(pinned) = port_pinned_scan(plan, &connect.names.resolve) {
            return Err(SessionError::PortPinnedScan(pinned.clone()));
        }
        let resolver = Resolver::new(connect.names.resolve).with_dns_server(connect.names.dns.dns_server);
        let needs_roots = plan.checks.iter().any(|c| c.kind().may_verify_certificates());
        let trust = match (connect.ca_file.as_deref(), needs_roots) {
            (Some(path), _) => Trust::from_pem_file(path)?,
            (None, true) => Trust::system(),
            (None, false) => Trust::default(),
        };
        let http = match environment {
            Environment::Process => HttpCtx::from_env()?,
            Environment::Isolated => HttpCtx::default(),
        };
        let ctx = Ctx {
            resolver,
            trust,
            http,
            scan: scan_budget(plan, output.report.quiet),
            rtt: RttTable::default(),
        };
        Ok(Session {
            ctx,
            options: RunOptions::default(),
            output,
            color,
            view: View::Checks,
            inputs: connect.ca_file.into_iter().collect(),
        })
    }

    #[must_use]
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    #[must_use]
    pub fn with_view(mut self, view: View) -> Self {
        self.view = view;
        self
    }

    /// Files the run reads besides `--ca-file` (check files, a policy file): `-o` may not name
    /// one of them.
    #[must_use]
    pub fn with_inputs(mut self, inputs: impl IntoIterator<Item = PathBuf>) -> Self {
        self.inputs.extend(inputs);
        self
    }

    /// Runs the plan and writes its report; returns the exit code.
    pub fn execute(self, plan: Plan) -> u8 {
        let nagios = self.output.format == Format::Nagios;
        match self.try_execute(plan) {
            Ok(code) => code,
            Err(e) => {
                crate::cmd::stderr_line!("error: {e}");
                if nagios {
                    // A plugin that could not run says UNKNOWN, with the reason, where Nagios reads.
                    let line = report::escape::visible(&e.to_string()).replace('|', "¦");
                    crate::cmd::stdout_line!("REACH UNKNOWN - {line}");
                    return exit::UNOBSERVED;
                }
                e.exit_code()
            }
        }
    }

    fn try_execute(mut self, plan: Plan) -> Result<u8, SessionError> {
        check_filters(&plan, &self.options)?;
        let flags = &self.output.report;
        let baseline = flags.baseline.as_deref().map(Baseline::load).transpose()?;
        // `-o` and `--also` must not name a file the run reads, the baseline included.
        self.inputs.extend(flags.baseline.iter().cloned());
        let path = self.output.output.as_deref();
        let mut files: Vec<&Path> = path.into_iter().collect();
        for also in &flags.also {
            if files.contains(&also.path.as_path()) {
                return Err(SessionError::SameOutput(also.path.clone()));
            }
            files.push(&also.path);
        }
        // Held until the reports are written; waiting for them spends the run's --deadline.
        let _locks = outputs::lock_all(&files, &mut self.options.deadline, flags.quiet)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(SessionError::Runtime)?;
        // Installed before the temporary report files exist, so that no signal can leave one
        // behind; from here on SIGINT and SIGTERM end the process through the watcher.
        let temp_files = watch_signals(&runtime);
        let mut destinations = vec![(self.output.format, Destination::open(path, &self.inputs)?)];
        for also in &flags.also {
            destinations.push((also.format, Destination::open(Some(&also.path), &self.inputs)?));
        }
        {
            let mut temps = temp_files
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            temps.extend(
                destinations
                    .iter()
                    .filter_map(|(_, d)| d.temp_path())
                    .map(Path::to_owned),
            );
        }
        let selected = plan
            .checks
            .iter()
            .filter(|check| run::filter(check, &self.options).is_none())
            .count();
        let (concurrency, raise) = limits::check_concurrency(
            plan.checks
                .iter()
                .filter(|check| run::filter(check, &self.options).is_none()),
            self.options.concurrency,
        );
        if concurrency < self.options.concurrency.min(selected) && self.view == View::Checks {
            crate::cmd::stderr_line!(
                "note: the open-file limit (soft {}) allows {concurrency} checks at once, not {}: the run uses {concurrency}",
                raise.soft(),
                self.options.concurrency
            );
        }
        self.options.concurrency = concurrency;
        let bar = match self.view {
            View::Scan => PortBar::on_terminal(Arc::clone(&self.ctx.scan.progress))
                .map(|b| Box::new(b) as Box<dyn Progress>),
            View::Checks | View::Listeners => Bar::on_terminal().map(|b| Box::new(b) as Box<dyn Progress>),
        };
        let progress: Arc<dyn Progress> =
            bar.map_or_else(|| Arc::new(Silent) as Arc<dyn Progress>, Arc::from);
        PROBED.store(true, Ordering::Relaxed);
        let ctx = Arc::new(self.ctx);
        // The runner is a task of the runtime rather than the future this thread blocks on: each
        // check that ends wakes it, and waking a task on a busy worker is a queue push, while
        // waking this thread is a futex call and two context switches, 100,000 times in a large
        // run.
        let runner = {
            let (ctx, options) = (Arc::clone(&ctx), self.options.clone());
            async move { run::run(plan, ctx, &options, progress.as_ref()).await }
        };
        let report: RunReport = runtime
            .block_on(runtime.spawn(runner))
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let summary: Summary = report.summary();
        if let Some(note) = report::human::vantage_note(&report) {
            if !flags.quiet {
                crate::cmd::stderr_line!("note: {note}");
            }
        }
        for unused in ctx.resolver.unused_overrides() {
            let port = unused
                .port
                .map_or_else(|| "any port".to_owned(), |p| format!("port {p}"));
            crate::cmd::stderr_line!(
                "warning: --resolve {unused} was not used: no check of this run looked up {} on {port}",
                unused.host
            );
        }
        let format = self.output.format;
        let to_stdout = destinations[0].1.is_stdout();
        let colored = format == Format::Human && wants_color(self.color, to_stdout);
        let changes = baseline.and_then(|baseline| match baseline.compare(&report) {
            Ok(changes) => Some(changes),
            Err(e) => {
                crate::cmd::stderr_line!("warning: cannot compare the run with the baseline: {e}");
                None
            }
        });
        let rendering = Rendering {
            color: colored,
            width: if to_stdout { stdout_width() } else { PIPE_WIDTH },
            failures_only: flags.failures,
            verbose: flags.verbose,
            changes: changes.as_ref(),
            warn_cert_days: flags.warn_cert_days,
            fail_on_change: flags.fail_on_change,
        };
        let nothing_checked = summary.total > 0 && summary.pass + summary.fail + summary.error == 0;
        let code = match format {
            // Nagios reads its own states; a run that checked nothing cannot vouch: UNKNOWN.
            Format::Nagios if nothing_checked => exit::UNOBSERVED,
            Format::Nagios => nagios::state(&report, &rendering).code(),
            _ if nothing_checked => exit::USAGE,
            _ if rendering.changed_and_fails() => exit::FAIL,
            _ => exit::of(&summary),
        };
        // Each view renders its text already fitted to the width (the human report of a large
        // run is a few megabytes, unlike its JSON report, which is streamed); only the changes
        // since the baseline are fitted here.
        let human = |rendering: &Rendering<'_>, out: &mut dyn Write| -> io::Result<()> {
            let text = match self.view {
                View::Scan => report::scan::render(&report, rendering),
                View::Listeners => report::listeners::render(&report, rendering),
                View::Checks => report::render(&report, Format::Human, rendering),
            };
            out.write_all(text.as_bytes())?;
            if let Some(changes) = rendering.changes {
                let changes = report::changes::render_human(changes);
                out.write_all(layout::fit(&changes, rendering.width).as_bytes())?;
            }
            Ok(())
        };
        // The reports written to files (`--also`), and the one printed for cron beside `-o`.
        let plain = Rendering {
            color: false,
            width: PIPE_WIDTH,
            ..rendering
        };
        if flags.quiet && code != exit::PASS && !to_stdout {
            // Cron mails what a job prints: with the report in a file, say what needs attention.
            let printed = Rendering {
                width: stdout_width(),
                ..plain
            };
            let _ = Destination::Stdout.write_with(|out| human(&printed, out));
        }
        let mut unwritten = false;
        for (index, (format, destination)) in destinations.into_iter().enumerate() {
            let rendering = if index == 0 { &rendering } else { &plain };
            if index == 0 && flags.quiet && code == exit::PASS && destination.is_stdout() {
                continue;
            }
            let name = destination.name();
            let stdout = destination.is_stdout();
            // Streamed: a large run's report is written as it is made, never held whole.
            let written = destination.write_with(|out| match format {
                Format::Human => human(rendering, out),
                format => report::write(&report, format, rendering, out),
            });
            match written {
                Ok(()) => {}
                // Whoever read our output stopped reading (`reach run ... | head`): not a crash.
                Err(e) if stdout && e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    crate::cmd::stderr_line!("error: cannot write the report to {name}: {e}");
                    unwritten = true;
                }
            }
        }
        if unwritten {
            // Probing happened: the exit code says what it found, never "usage" (2), and never a
            // pass when nobody can read the report.
            crate::cmd::stderr_line!("{}", summary_line(&summary, report.duration));
            return Ok(if summary.fail > 0 {
                exit::FAIL
            } else {
                exit::UNOBSERVED
            });
        }
        if nothing_checked {
            crate::cmd::stderr_line!(
                "error: nothing was checked: all {} selected checks were skipped",
                summary.total
            );
        }
        Ok(code)
    }
}

/// Set once a session starts probing. Exit code 2 means nothing was probed, but a Nagios
/// CRITICAL is 2 as well: the command line turns a 2 into UNKNOWN (3) only when this is unset.
static PROBED: AtomicBool = AtomicBool::new(false);

/// Whether this process has started probing.
pub fn probed() -> bool {
    PROBED.load(Ordering::Relaxed)
}

/// The counts of a run in one line, for stderr when the report itself could not be written.
fn summary_line(summary: &Summary, duration: std::time::Duration) -> String {
    format!(
        "{} checks in {}: {} pass, {} fail, {} error, {} skip (this report was not written)",
        summary.total,
        report::human::time(duration),
        summary.pass,
        summary.fail,
        summary.error,
        summary.skip
    )
}

/// The temporary report files a signal must remove, once there are some.
type TempFiles = Arc<std::sync::Mutex<Vec<PathBuf>>>;

/// Installs handlers for SIGINT and SIGTERM whose task, on the runtime's workers, removes the
/// temporary report file (if one was made by then) and ends the process with 128 + the signal's
/// number, as a shell reports a process a signal killed. The run, the opening of a FIFO and the
/// writing of the report may all be blocking the main thread when the signal arrives: the
/// watcher does not wait for them. When the handlers cannot be installed, the signals keep their
/// default effect.
fn watch_signals(runtime: &tokio::runtime::Runtime) -> TempFiles {
    use tokio::signal::unix::{signal, SignalKind};
    let temp_files: TempFiles = Arc::default();
    let installed = runtime.block_on(async {
        Some((
            signal(SignalKind::interrupt()).ok()?,
            signal(SignalKind::terminate()).ok()?,
        ))
    });
    let Some((mut interrupt, mut terminate)) = installed else {
        return temp_files;
    };
    let watched = Arc::clone(&temp_files);
    runtime.spawn(async move {
        let (name, code) = tokio::select! {
            _ = interrupt.recv() => ("SIGINT", exit::INTERRUPTED),
            _ = terminate.recv() => ("SIGTERM", exit::TERMINATED),
        };
        let paths = std::mem::take(&mut *watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
        crate::cmd::stderr_line!("\nreach: interrupted by {name}: no report was written");
        std::process::exit(i32::from(code));
    });
    temp_files
}

/// The socket budget of the plan's scans: the open-file limit is raised (and stderr told) only
/// when the plan holds scan checks.
fn scan_budget(plan: &Plan, quiet: bool) -> ScanShared {
    let wanted = plan
        .checks
        .iter()
        .filter_map(|check| match &check.probe {
            ProbeSpec::Scan(scan) => Some(scan.concurrency),
            _ => None,
        })
        .max();
    let Some(concurrency) = wanted else {
        return ScanShared::default();
    };
    match limits::raise_nofile(concurrency) {
        limits::Raise::Enough { .. } => {}
        limits::Raise::Raised { .. } if quiet => {}
        limits::Raise::Raised { from, to } => {
            crate::cmd::stderr_line!("note: raised the open-file soft limit from {from} to {to} for {concurrency} concurrent connects");
        }
        limits::Raise::Capped { soft, hard } => {
            let budget = limits::socket_budget();
            crate::cmd::stderr_line!(
                "note: the open-file limit (soft {soft}, hard {hard}) allows {budget} concurrent connects, \
                 not {concurrency}: the scan runs with {budget}"
            );
        }
    }
    // One budget for every scan of the run: `--concurrency` spread over all hosts and ports.
    ScanShared::new(limits::socket_budget().min(concurrency))
}

/// A scan looks its host up for no particular port, so only a `--resolve HOST:*:ADDR` answers
/// for it; one pinned to a port would leave the scan to ask the system's resolver for a name the
/// user pinned. The first such override, if any.
fn port_pinned_scan<'o>(plan: &Plan, overrides: &'o [ResolveOverride]) -> Option<&'o ResolveOverride> {
    let scanned = |name: &str| {
        plan.checks.iter().any(|check| {
            matches!(&check.probe, ProbeSpec::Scan(scan) if matches!(&scan.host, Host::Name(n) if **n == *name))
        })
    };
    overrides.iter().find(|o| {
        o.port.is_some()
            && scanned(&o.host)
            && !overrides
                .iter()
                .any(|other| other.host == o.host && other.port.is_none())
    })
}

/// Refuses filters that would make a silent pass: a `--tag` or `--vantage` value no check
/// carries (a typo), and filters that together select nothing.
fn check_filters(plan: &Plan, options: &RunOptions) -> Result<(), SessionError> {
    let known = |values: &dyn Fn(&Check) -> &[String]| -> Vec<String> {
        let mut all: Vec<String> = plan
            .checks
            .iter()
            .flat_map(|c| values(c).iter().cloned())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let list = |what: &str, values: &[String]| {
        if values.is_empty() {
            format!("the checks carry no {what}")
        } else {
            format!("the checks carry the {what}s {}", values.join(", "))
        }
    };
    let tags = known(&|c| &c.tags);
    if let Some(tag) = options.tags.iter().find(|t| !tags.contains(t)) {
        return Err(SessionError::UnknownFilter {
            flag: "--tag",
            value: tag.clone(),
            carries: "is tagged with",
            known: list("tag", &tags),
        });
    }
    let vantages = known(&|c| &c.vantage);
    if let Some(vantage) = options.vantage.as_ref().filter(|v| !vantages.contains(v)) {
        return Err(SessionError::UnknownFilter {
            flag: "--vantage",
            value: vantage.clone(),
            carries: "is bound to",
            known: list("vantage", &vantages),
        });
    }
    if let Some((filters, hint)) = nothing_selected(plan, options) {
        return Err(SessionError::NothingSelected { filters, hint });
    }
    Ok(())
}

/// A run whose filters select nothing would pass silently: the filters that did it, and where
/// the checks they left out would run, if so.
fn nothing_selected(plan: &Plan, options: &RunOptions) -> Option<(String, String)> {
    if plan
        .checks
        .iter()
        .any(|check| run::filter(check, options).is_none())
    {
        return None;
    }
    let mut filters = Vec::new();
    if !options.tags.is_empty() {
        filters.push(format!("--tag {}", options.tags.join(" --tag ")));
    }
    if let Some(vantage) = &options.vantage {
        filters.push(format!("--vantage {vantage}"));
    }
    if filters.is_empty() {
        filters.push("no --vantage (every check is bound to a vantage point)".to_owned());
    }
    // Where the checks the tags select would run, so the user knows which vantage to ask for.
    let mut vantages: Vec<&str> = plan
        .checks
        .iter()
        .filter(|check| options.tags.is_empty() || check.tags.iter().any(|t| options.tags.contains(t)))
        .flat_map(|check| check.vantage.iter().map(String::as_str))
        .collect();
    vantages.sort_unstable();
    vantages.dedup();
    let hint = if vantages.is_empty() {
        String::new()
    } else {
        let flags: Vec<String> = vantages.iter().map(|v| format!("--vantage {v}")).collect();
        format!(" (those checks run with {})", flags.join(" or "))
    };
    Some((filters.join(" and "), hint))
}

/// The width of the human report on stdout: `COLUMNS` when it holds a number (as `ls` reads it:
/// a user's or a test's fixed width), else the terminal's when stdout is one, else
/// [`PIPE_WIDTH`]; never below [`MIN_WIDTH`].
fn stdout_width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let terminal =
        || terminal_size::terminal_size_of(io::stdout()).map(|(terminal_size::Width(w), _)| usize::from(w));
    columns
        .or_else(terminal)
        .filter(|&n| n > 0)
        .unwrap_or(PIPE_WIDTH)
        .max(MIN_WIDTH)
}

fn wants_color(choice: ColorChoice, to_stdout: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_stdout
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Prints a text result (validate, schema) to stdout; a closed pipe is not an error.
pub fn print(text: &str) -> u8 {
    match Destination::Stdout.write(text) {
        Ok(()) => exit::PASS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::PASS,
        Err(e) => {
            crate::cmd::stderr_line!("error: cannot write to stdout: {e}");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::command_line::{self, ScanRequest};

    fn scan_plan(host: &str) -> Plan {
        command_line::scan(ScanRequest {
            hosts: host,
            ports: vec![22],
            allow: None,
            timeout: std::time::Duration::from_secs(1),
            retries: 0,
            concurrency: 8,
        })
        .unwrap()
    }

    #[test]
    fn a_scan_of_a_name_pinned_to_one_port_is_refused() {
        let plan = scan_plan("db.test");
        let pinned: Vec<ResolveOverride> = vec!["db.test:5432:127.0.0.1".parse().unwrap()];
        assert_eq!(port_pinned_scan(&plan, &pinned), Some(&pinned[0]));
        let both: Vec<ResolveOverride> = vec![
            "db.test:5432:127.0.0.1".parse().unwrap(),
            "db.test:*:127.0.0.1".parse().unwrap(),
        ];
        assert_eq!(port_pinned_scan(&plan, &both), None);
        let other: Vec<ResolveOverride> = vec!["api.test:443:127.0.0.1".parse().unwrap()];
        assert_eq!(port_pinned_scan(&plan, &other), None);
    }
}
