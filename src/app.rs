//! The commands: each turns validated arguments into a plan, runs it, writes the report and
//! returns the exit code. Usage problems are found before anything is probed and exit with 2.

use crate::cli::{Cli, ColorChoice, Command, ConnectArgs, OutputArgs, RunArgs, ValidateArgs, VarArgs};
use crate::outcome::Summary;
use crate::probe::Ctx;
use crate::report::{self, progress::Bar, Destination, Format};
use crate::resolve::Resolver;
use crate::run::{self, Progress, RunOptions, RunReport, Silent};
use crate::spec::{self, vars::Overrides, LoadOptions, Plan};
use crate::trust::Trust;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code for bad usage or a bad spec: nothing was probed.
pub const USAGE: u8 = 2;

/// Runs the command the user asked for.
pub fn main(cli: Cli) -> ExitCode {
    let color = cli.color;
    let code = match cli.command {
        Command::Run(args) => run_files(*args, color),
        Command::Validate(args) => validate(&args),
        Command::Scan(args) => crate::scan::command::run(args, color),
        Command::Listeners(args) => crate::listeners::command::run(&args, color),
        Command::Demo(args) => crate::demo::run(&args, color),
        Command::Tls(args) => crate::tls::command::run(args, color),
        Command::Schema => print(report::SCHEMA),
    };
    ExitCode::from(code)
}

fn load_options(vars: &VarArgs) -> Overrides {
    Overrides::from_process(vars.vars.iter().cloned().collect())
}

fn validate(args: &ValidateArgs) -> u8 {
    let options = LoadOptions {
        overrides: load_options(&args.vars),
        ..LoadOptions::default()
    };
    let loaded = spec::load_files(&args.files, &options);
    warn_unused_vars(&options.overrides);
    match loaded {
        Ok(plan) => {
            let files = plan.files.len();
            let checks = plan.checks.len();
            let plural = if files == 1 { "" } else { "s" };
            print(&format!("ok: {checks} checks in {files} file{plural}\n"))
        }
        Err(errors) => {
            eprintln!("{errors}");
            USAGE
        }
    }
}

fn run_files(args: RunArgs, color: ColorChoice) -> u8 {
    let options = LoadOptions {
        overrides: load_options(&args.vars),
        timeout: args.timeout,
        retries: args.retries,
    };
    let loaded = spec::load_files(&args.files, &options);
    warn_unused_vars(&options.overrides);
    let plan = match loaded {
        Ok(plan) => plan,
        Err(errors) => {
            eprintln!("{errors}");
            return USAGE;
        }
    };
    let run_options = RunOptions {
        concurrency: args.concurrency,
        deadline: args.deadline,
        tags: args.tags,
        vantage: args.vantage,
    };
    let (resolver, trust) = match connect(args.connect, &plan) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("error: {e}");
            return USAGE;
        }
    };
    let http = match crate::probe::client::HttpCtx::from_env() {
        Ok(http) => http,
        Err(e) => {
            eprintln!("error: {e}");
            return USAGE;
        }
    };
    let scan = crate::scan::command::prepare_for(&plan);
    let ctx = Ctx {
        resolver,
        trust,
        http,
        scan,
    };
    execute(plan, ctx, &run_options, &args.output, color)
}

/// The resolver and trusted roots of a run. A `--ca-file` is always read, so a bad one stops
/// the run before anything is probed; the system store is read only when some check of the
/// plan may verify a certificate, which spares tcp, dns and scan runs the work.
pub fn connect(args: ConnectArgs, plan: &Plan) -> Result<(Resolver, Trust), String> {
    let resolver = Resolver::new(args.resolve).with_dns_server(args.dns.dns_server);
    let needs_roots = plan.checks.iter().any(|c| c.kind().may_verify_certificates());
    let trust = match (args.ca_file.as_deref(), needs_roots) {
        (Some(path), _) => Trust::from_pem_file(path)?,
        (None, true) => Trust::system(),
        (None, false) => Trust::default(),
    };
    Ok((resolver, trust))
}

fn warn_unused_vars(overrides: &Overrides) {
    for key in overrides.unused_cli_keys() {
        eprintln!("warning: --var {key} is not used by any check file");
    }
}

/// How a command presents itself to people while and after it runs.
pub struct View {
    /// Renders the human format.
    pub human: fn(&RunReport, bool) -> String,
    /// The progress display; `None` means the per-check bar when stderr is a terminal.
    pub progress: Option<Box<dyn Progress>>,
}

impl Default for View {
    fn default() -> Self {
        View {
            human: report::human::render,
            progress: None,
        }
    }
}

/// Runs a loaded plan and writes its report: the part `run` and `demo` share.
pub fn execute(plan: Plan, ctx: Ctx, options: &RunOptions, output: &OutputArgs, color: ColorChoice) -> u8 {
    execute_with(plan, ctx, options, output, color, View::default())
}

/// [`execute`] with a command's own [`View`] (`scan` and `listeners` have their own tables).
pub fn execute_with(
    plan: Plan,
    ctx: Ctx,
    options: &RunOptions,
    output: &OutputArgs,
    color: ColorChoice,
    view: View,
) -> u8 {
    if let Some(problem) = nothing_selected(&plan, options) {
        eprintln!("error: {problem}");
        return USAGE;
    }
    let destination = match Destination::open(output.output.as_deref()) {
        Ok(destination) => destination,
        Err(e) => {
            let path = output.output.as_deref().unwrap_or(std::path::Path::new("-"));
            eprintln!("error: cannot write the report to {}: {e}", path.display());
            return USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return USAGE;
        }
    };
    let bar = Bar::on_terminal();
    let progress: &dyn Progress = match (&view.progress, &bar) {
        (Some(own), _) => own.as_ref(),
        (None, Some(bar)) => bar,
        (None, None) => &Silent,
    };
    let report: RunReport = runtime.block_on(run::run(plan, Arc::new(ctx), options, progress));
    let summary: Summary = report.summary();
    let colored = output.format == Format::Human && wants_color(color, destination.is_stdout());
    let text = match output.format {
        Format::Human => (view.human)(&report, colored),
        format => report::render(&report, format, colored),
    };
    match destination.write(&text) {
        Ok(()) => {}
        // Whoever read our output stopped reading (`reach run ... | head`): not a crash.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("error: cannot write the report: {e}");
            return USAGE.max(summary.exit_code());
        }
    }
    summary.exit_code()
}

/// A run whose filters select nothing would pass silently; say so instead.
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
    Some(format!(
        "no check is selected by {}: nothing would be probed",
        filters.join(" and ")
    ))
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

fn print(text: &str) -> u8 {
    match Destination::Stdout.write(text) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            USAGE
        }
    }
}
