//! `reach serve`: a Prometheus exporter. `GET /probe?module=PROFILE&target=HOST` runs a check
//! file now against a target (blackbox_exporter's multi-target pattern), `--every` runs the files
//! on a schedule and `GET /metrics` shows their latest results with the exporter's own metrics.
//! docs/metrics.md is the contract; this module owns the flags, the start (everything checked
//! before the port is bound: a bad flag or file exits 2 with nothing probed), the signals
//! (SIGHUP reloads, SIGTERM and SIGINT stop gracefully) and the wiring of its parts.

pub mod allow;
pub mod exposition;
pub mod http;
pub mod limits;
pub mod modules;
pub mod runner;
pub mod schedule;
pub mod state;
pub mod web_config;

use super::args::{parse_concurrency, parse_duration, parse_timeout, ConnectArgs, VarArgs};
use super::exit;
use allow::{AllowList, Allowed};
use clap::Args;
use modules::{LoadSettings, ModuleSet, ServerVars};
use runner::Runner;
use schedule::Schedule;
use state::State;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// Where `reach serve` listens unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9917";
/// How long a stopping exporter waits for the probes in flight.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
#[command(after_help = "\
Endpoints: GET /probe?module=PROFILE&target=HOST[&var.NAME=VALUE][&tag=TAG] runs the check file
whose profile is PROFILE now (400 with the reason for a bad module, target or variable; 429 over
--max-probes-per-client, 503 over --max-probes); GET /metrics (the --every runs and the
exporter's own metrics); GET /report/PROFILE.json; GET /-/healthy; GET /-/ready.
Signals: SIGHUP rereads the check files and --web.config.file (a broken set keeps the old one);
SIGTERM or SIGINT lets the probes in flight answer (at most 10 s), then exits.

Exit codes:
  0  stopped by SIGTERM or SIGINT
  2  could not start: a bad flag, check file or web config, a non-loopback --listen without
     --allow-target, or an address it cannot bind (nothing was probed)
What the checks find is never the exit code: it is reach_probe_success on /probe and /metrics.

Example:
  reach serve checks/ --listen 10.0.0.5:9917 --allow-target '*.example.com' --every 1m
")]
pub struct ServeArgs {
    /// Check files (TOML), or directories whose *.toml files are read; each is the module named
    /// by its `profile`.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,

    /// The address to listen on (port 0: any free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Run every check file whose variables all have values at start and then this often
    /// (jittered by up to a tenth, never overlapping itself); results on /metrics.
    #[arg(long, value_name = "DURATION", value_parser = parse_period)]
    pub every: Option<Duration>,

    /// The vantage point of this exporter, for every run (as `reach run --vantage`).
    #[arg(long, value_name = "NAME")]
    pub vantage: Option<String>,

    #[command(flatten)]
    pub vars: VarArgs,

    /// What /probe may be pointed at: a CIDR block, an address, a host name or *.suffix
    /// (repeatable). A request's target, and each var.NAME value that names a host, must match
    /// one. Required when --listen is not a loopback address.
    #[arg(long = "allow-target", value_name = "PATTERN", value_parser = allow::parse)]
    pub allow_targets: Vec<Allowed>,

    /// The most /probe requests one client address may have running at once (more: 429).
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = parse_concurrency)]
    pub max_probes_per_client: usize,

    /// The most /probe requests running at once in all (more: 503).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = parse_concurrency)]
    pub max_probes: usize,

    /// Taken off Prometheus' X-Prometheus-Scrape-Timeout-Seconds to make a probe's deadline, so
    /// that the answer arrives before Prometheus gives up.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = crate::spec::parse_duration)]
    pub timeout_offset: Duration,

    /// Timeout of each attempt from start to end, replacing every check's own (e.g. 500ms, 3s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// How many checks of one run may run at once.
    #[arg(long, value_name = "N", default_value_t = crate::run::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,

    /// TLS and basic authentication, in the file format of the Prometheus exporter toolkit
    /// (docs/metrics.md; example: deploy/web-config.example.yml). Reread on SIGHUP.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `--every`: at least a second, so that a typo (`1ms` for `1m`) does not hammer the targets.
fn parse_period(text: &str) -> Result<Duration, String> {
    let period = parse_duration(text)?;
    if period < Duration::from_secs(1) {
        return Err("must be at least 1s".to_owned());
    }
    Ok(period)
}

pub fn execute(args: ServeArgs) -> u8 {
    if !args.listen.ip().is_loopback() && args.allow_targets.is_empty() {
        stderr_line!(
            "error: --listen {} is not a loopback address: give --allow-target (CIDR blocks, host \
             names, *.suffix patterns) to say what /probe may be pointed at; without it anyone who \
             can reach the exporter could make it probe any host",
            args.listen
        );
        return exit::USAGE;
    }
    let settings = LoadSettings {
        vars: ServerVars::from_process(args.vars.vars.iter().cloned().collect()),
        timeout: args.timeout,
    };
    let mut set = match modules::load(&args.files, &settings) {
        Ok(set) => set,
        Err(problems) => {
            stderr_line!("{problems}");
            return exit::USAGE;
        }
    };
    let unused = unused_vars(&set, &settings.vars);
    if !unused.is_empty() {
        stderr_line!(
            "warning: --var {} is not used by any check file",
            unused.join(", --var ")
        );
    }
    let web = match &args.web_config_file {
        None => None,
        Some(path) => match web_config::load(path) {
            Ok(web) => Some(web),
            Err(e) => {
                stderr_line!("error: {e}");
                return exit::USAGE;
            }
        },
    };
    let runner = match Runner::new(args.connect, args.concurrency, args.vantage.clone()) {
        Ok(runner) => Arc::new(runner),
        Err(e) => {
            stderr_line!("error: {e}");
            return exit::USAGE;
        }
    };
    for note in set.keep_runnable(args.vantage.as_deref()) {
        stderr_line!("note: {note}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            stderr_line!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let listener = match runtime.block_on(tokio::net::TcpListener::bind(args.listen)) {
        Ok(listener) => listener,
        Err(e) => {
            stderr_line!("error: cannot listen on {}: {e}", args.listen);
            return exit::USAGE;
        }
    };
    let bound = listener.local_addr().unwrap_or(args.listen);
    describe(&set, args.every);
    let scheme = match &web {
        Some(web) if web.tls_acceptor().is_some() => "https",
        _ => "http",
    };
    stderr_line!("reach serve: listening on {scheme}://{bound}/");
    if let Some(web) = &web {
        stderr_line!(
            "reach serve: web configuration {}: {}",
            web.file().display(),
            web.describe()
        );
    }
    let state = State::new(set);
    let app = Arc::new(http::App {
        state: Arc::clone(&state),
        runner: Arc::clone(&runner),
        settings,
        allow: AllowList::new(args.allow_targets),
        limits: limits::ProbeLimits::new(args.max_probes_per_client, args.max_probes),
        timeout_offset: args.timeout_offset,
        web: web.map(|web| RwLock::new(Arc::new(web))),
    });
    let reload = Reload {
        files: args.files,
        web_config_file: args.web_config_file,
        every: args.every,
    };
    runtime.block_on(run(listener, app, reload))
}

/// What SIGHUP reads again, and the schedule it restarts.
struct Reload {
    files: Vec<PathBuf>,
    web_config_file: Option<PathBuf>,
    every: Option<Duration>,
}

/// Serves until SIGTERM or SIGINT, reloading on SIGHUP; returns the exit code.
async fn run(listener: tokio::net::TcpListener, app: Arc<http::App>, reload_what: Reload) -> u8 {
    let every = reload_what.every;
    use tokio::signal::unix::{signal, SignalKind};
    let signals = (|| {
        Some((
            signal(SignalKind::terminate()).ok()?,
            signal(SignalKind::interrupt()).ok()?,
            signal(SignalKind::hangup()).ok()?,
        ))
    })();
    let Some((mut terminate, mut interrupt, mut hangup)) = signals else {
        stderr_line!("error: cannot install the signal handlers");
        return exit::USAGE;
    };
    let state = Arc::clone(&app.state);
    let schedule: Arc<Mutex<Option<Schedule>>> = Arc::new(Mutex::new(
        every.map(|every| Schedule::start(&state, &app.runner, every)),
    ));
    let reloader = {
        let app = Arc::clone(&app);
        let schedule = Arc::clone(&schedule);
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                reload(&app, &reload_what, &schedule);
            }
        })
    };
    let stop = {
        let state = Arc::clone(&state);
        async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            state.stop();
            stderr_line!(
                "reach serve: {name}: no new connections; letting the probes in flight finish (at most {}s)",
                STOP_GRACE.as_secs()
            );
        }
    };
    let limits = Arc::clone(&app.limits);
    let finished = http::serve(listener, app, stop, STOP_GRACE).await;
    reloader.abort();
    if let Some(schedule) = schedule.lock().unwrap_or_else(PoisonError::into_inner).take() {
        schedule.abort();
    }
    if finished {
        stderr_line!("reach serve: stopped");
    } else {
        stderr_line!(
            "reach serve: stopped after {}s with {} probes still running",
            STOP_GRACE.as_secs(),
            limits.running()
        );
    }
    exit::PASS
}

/// SIGHUP: reads the check files and the web configuration again. Either one with any problem
/// refuses the whole reload: the old files and web configuration stay in force, and stderr names
/// each problem's file:line. A new web configuration applies to the connections accepted after.
fn reload(app: &http::App, what: &Reload, schedule: &Mutex<Option<Schedule>>) {
    let every = what.every;
    let web = match what.web_config_file.as_deref().map(web_config::load) {
        Some(Err(e)) => {
            stderr_line!("error: {e}");
            stderr_line!("reach serve: SIGHUP: the web configuration has errors; the previous check files and web configuration stay in force");
            app.state.reload_failed();
            return;
        }
        Some(Ok(web)) => Some(web),
        None => None,
    };
    let mut set = match modules::load(&what.files, &app.settings) {
        Ok(set) => set,
        Err(problems) => {
            stderr_line!("{problems}");
            stderr_line!("reach serve: SIGHUP: the check files have errors; the previous ones stay in force");
            app.state.reload_failed();
            return;
        }
    };
    if let Some(web) = web {
        stderr_line!(
            "reach serve: SIGHUP: web configuration {}: {}",
            web.file().display(),
            web.describe()
        );
        app.replace_web(web);
    }
    for note in set.keep_runnable(app.runner.vantage()) {
        stderr_line!("note: {note}");
    }
    describe(&set, every);
    app.state.replace_modules(set);
    let mut schedule = schedule.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(old) = schedule.take() {
        old.wind_down();
    }
    *schedule = every.map(|every| Schedule::start(&app.state, &app.runner, every));
    stderr_line!("reach serve: SIGHUP: check files reloaded");
}

/// Says on stderr what each module does.
fn describe(set: &ModuleSet, every: Option<Duration>) {
    for module in set.modules.values() {
        let role = match (&module.scheduled, every) {
            (Some(_), Some(every)) => format!("/probe, and runs every {}", humantime::format_duration(every)),
            (Some(_), None) => "/probe".to_owned(),
            (None, _) => format!(
                "/probe only (needs {})",
                module
                    .needs
                    .iter()
                    .map(|n| if n == "host" {
                        "target".to_owned()
                    } else {
                        format!("var.{n}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        stderr_line!(
            "reach serve: module {} ({}): {role}",
            module.profile,
            module.label
        );
    }
}

/// `--var` keys that no file uses.
fn unused_vars(set: &ModuleSet, vars: &ServerVars) -> Vec<String> {
    vars.cli
        .keys()
        .filter(|key| !set.modules.values().any(|m| m.uses(key)))
        .cloned()
        .collect()
}
