//! One [`Session`] runs every command's plan: it is built once, from the shared connect and
//! output arguments (as ripgrep's high-level arguments are from its low-level ones), before
//! anything is probed, so a bad `--ca-file`, proxy variable or `-o` path stops the command
//! with exit code 2; then it runs the plan, renders the report and says the exit code.

use super::args::{ColorChoice, ConnectArgs, OutputArgs};
use super::exit;
use super::outputs;
use crate::outcome::Summary;
use crate::probe::http::proxy_env::ProxyEnvError;
use crate::probe::http::settings::HttpCtx;
use crate::probe::scan::{limits, shared::ScanShared};
use crate::probe::Ctx;
use crate::report::baseline::{Baseline, BaselineError};
use crate::report::lock::LockError;
use crate::report::progress::{Bar, PortBar};
use crate::report::{self, nagios, Destination, Format, Rendering};
use crate::resolve::Resolver;
use crate::run::{self, Progress, RunOptions, RunReport, Silent};
use crate::spec::{Plan, ProbeSpec};
use crate::trust::{Trust, TrustError};
use std::io::{self, IsTerminal};
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
    #[error("no check is selected by {0}: nothing would be probed")]
    NothingSelected(String),
    #[error("cannot write the report to {}: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
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
        };
        Ok(Session {
            ctx,
            options: RunOptions::default(),
            output,
            color,
            view: View::Checks,
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

    /// Runs the plan and writes its report; returns the exit code.
    pub fn execute(self, plan: Plan) -> u8 {
        let nagios = self.output.format == Format::Nagios;
        match self.try_execute(plan) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                if nagios {
                    // A plugin that could not run says UNKNOWN, with the reason, where Nagios reads.
                    let line = report::escape::visible(&e.to_string()).replace('|', "¦");
                    println!("REACH UNKNOWN - {line}");
                    return exit::UNOBSERVED;
                }
                e.exit_code()
            }
        }
    }

    fn try_execute(mut self, plan: Plan) -> Result<u8, SessionError> {
        if let Some(filters) = nothing_selected(&plan, &self.options) {
            return Err(SessionError::NothingSelected(filters));
        }
        let flags = &self.output.report;
        let baseline = flags.baseline.as_deref().map(Baseline::load).transpose()?;
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
        let destination = Destination::open(path).map_err(|source| SessionError::Output {
            path: path.unwrap_or(Path::new("-")).to_owned(),
            source,
        })?;
        let mut extras = Vec::new();
        for also in &flags.also {
            let opened = Destination::open(Some(&also.path)).map_err(|source| SessionError::Output {
                path: also.path.clone(),
                source,
            })?;
            extras.push((also.format, opened));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(SessionError::Runtime)?;
        let bar = match self.view {
            View::Scan => PortBar::on_terminal(Arc::clone(&self.ctx.scan.progress))
                .map(|b| Box::new(b) as Box<dyn Progress>),
            View::Checks | View::Listeners => Bar::on_terminal().map(|b| Box::new(b) as Box<dyn Progress>),
        };
        let progress: &dyn Progress = bar.as_deref().unwrap_or(&Silent);
        PROBED.store(true, Ordering::Relaxed);
        let report: RunReport = runtime.block_on(run::run(plan, Arc::new(self.ctx), &self.options, progress));
        let summary: Summary = report.summary();
        let format = self.output.format;
        let colored = format == Format::Human && wants_color(self.color, destination.is_stdout());
        let changes = baseline.and_then(|baseline| match baseline.compare(&report) {
            Ok(changes) => Some(changes),
            Err(e) => {
                eprintln!("warning: cannot compare the run with the baseline: {e}");
                None
            }
        });
        let rendering = Rendering {
            color: colored,
            changes: changes.as_ref(),
            warn_cert_days: flags.warn_cert_days,
            fail_on_change: flags.fail_on_change,
        };
        let code = match format {
            Format::Nagios => nagios::state(&report, &rendering).code(),
            _ if rendering.changed_and_fails() => exit::FAIL,
            _ => exit::of(&summary),
        };
        let human = |rendering: &Rendering<'_>| {
            let mut text = match self.view {
                View::Scan => report::scan::render(&report, rendering.color),
                View::Listeners => report::listeners::render(&report, rendering.color),
                View::Checks => report::render(&report, Format::Human, rendering),
            };
            if let Some(changes) = rendering.changes {
                text.push_str(&report::changes::render_human(changes));
            }
            text
        };
        let text = match format {
            Format::Human => human(&rendering),
            format => report::render(&report, format, &rendering),
        };
        if flags.quiet && code != exit::PASS && !destination.is_stdout() {
            // Cron mails what a job prints: with the report in a file, say what needs attention.
            let plain = Rendering {
                color: false,
                ..rendering
            };
            let _ = Destination::Stdout.write(&human(&plain));
        }
        for (format, extra) in extras {
            let plain = Rendering {
                color: false,
                ..rendering
            };
            let text = match format {
                Format::Human => human(&plain),
                format => report::render(&report, format, &plain),
            };
            if let Err(e) = extra.write(&text) {
                eprintln!("error: cannot write the report: {e}");
                return Ok(exit::USAGE.max(code));
            }
        }
        if flags.quiet && code == exit::PASS && destination.is_stdout() {
            return Ok(code);
        }
        match destination.write(&text) {
            Ok(()) => {}
            // Whoever read our output stopped reading (`reach run ... | head`): not a crash.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                return Ok(exit::USAGE.max(code));
            }
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
            eprintln!("note: raised the open-file soft limit from {from} to {to} for {concurrency} concurrent connects");
        }
        limits::Raise::Capped { soft, hard } => {
            let budget = limits::socket_budget();
            eprintln!(
                "note: the open-file limit (soft {soft}, hard {hard}) allows {budget} concurrent connects, \
                 not {concurrency}: the scan runs with {budget}"
            );
        }
    }
    ScanShared::new(limits::socket_budget())
}

/// A run whose filters select nothing would pass silently: the filters that did it, if so.
fn nothing_selected(plan: &Plan, options: &RunOptions) -> Option<String> {
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
    Some(filters.join(" and "))
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
            eprintln!("error: cannot write to stdout: {e}");
            exit::USAGE
        }
    }
}
