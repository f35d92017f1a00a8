//! `reach scan HOST`: turns the command line into one `scan` check per host, raises the
//! open-file limit for it, and runs it like any plan, with a port progress bar and a port table.

use super::{limits, ScanShared};
use crate::app::{self, View, USAGE};
use crate::cli::{ColorChoice, ScanArgs};
use crate::probe::Ctx;
use crate::report;
use crate::resolve::Resolver;
use crate::run::RunOptions;
use crate::spec::{Check, Plan, ProbeSpec, ScanCheck, Source};
use crate::trust::Trust;

pub fn run(args: ScanArgs, color: ColorChoice) -> u8 {
    let hosts = match super::targets::parse(&args.hosts) {
        Ok(hosts) => hosts,
        Err(e) => {
            eprintln!("error: {e}");
            return USAGE;
        }
    };
    let ports: Vec<u16> = match (&args.ports, args.top) {
        (Some(ports), _) => ports.0.clone(),
        (None, Some(top)) => super::services::top(usize::from(top)),
        (None, None) => (1..=u16::MAX).collect(),
    };
    let checks = hosts
        .into_iter()
        .map(|host| Check {
            id: format!("scan.{}", host.to_string().replace(':', "_")),
            name: format!("scan of {host}"),
            tags: Vec::new(),
            vantage: Vec::new(),
            source: Source {
                file: "command line".to_owned(),
                line: 1,
            },
            timeout: args.timeout,
            retries: args.retries,
            probe: ProbeSpec::Scan(ScanCheck {
                host,
                ports: ports.clone(),
                allow: args.allow.as_ref().map(|a| a.0.clone()),
                concurrency: args.concurrency,
            }),
        })
        .collect();
    let plan = Plan {
        files: Vec::new(),
        checks,
    };
    let ctx = Ctx {
        resolver: Resolver::new(args.resolve).with_dns_server(args.dns.dns_server),
        trust: Trust::default(),
        scan: prepare(args.concurrency),
        ..Ctx::default()
    };
    let progress = report::progress::PortBar::on_terminal(std::sync::Arc::clone(&ctx.scan.progress));
    let view = View {
        human: report::scan::render,
        progress: progress.map(|bar| Box::new(bar) as Box<dyn crate::run::Progress>),
    };
    let options = RunOptions {
        // Hosts one after another: each scan already keeps the whole socket budget busy.
        concurrency: 1,
        deadline: args.deadline,
        ..RunOptions::default()
    };
    app::execute_with(plan, ctx, &options, &args.output, color, view)
}

/// The scan state for a `reach run` plan: the open-file limit is raised only when the plan
/// holds scan checks.
pub fn prepare_for(plan: &Plan) -> ScanShared {
    let wanted = plan
        .checks
        .iter()
        .filter_map(|check| match &check.probe {
            ProbeSpec::Scan(scan) => Some(scan.concurrency),
            _ => None,
        })
        .max();
    match wanted {
        Some(concurrency) => prepare(concurrency),
        None => ScanShared::default(),
    }
}

/// Raises the open-file limit for `concurrency` sockets, says what happened on stderr when it
/// matters, and sizes the socket budget by the result.
fn prepare(concurrency: usize) -> ScanShared {
    match limits::raise_nofile(concurrency) {
        limits::Raise::Enough { .. } => {}
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
