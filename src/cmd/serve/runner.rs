//! Runs one plan for the exporter, a scheduled run or a `/probe`: each run gets a context of its
//! own (a fresh resolver cache and HTTP pool, so each run measures its own lookups and
//! handshakes) built from the settings checked once at start: `--resolve`, `--dns-server`,
//! `--ca-file` (or the system's roots), the proxy environment, `--concurrency` and `--vantage`.

use crate::cmd::args::ConnectArgs;
use crate::probe::http::settings::HttpCtx;
use crate::probe::scan::shared::ScanShared;
use crate::probe::{limits, Ctx};
use crate::resolve::{ResolveOverride, Resolver};
use crate::run::{self, RunOptions, RunReport, Silent};
use crate::spec::Plan;
use crate::trust::Trust;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What every run of the exporter shares.
#[derive(Debug)]
pub struct Runner {
    resolve: Vec<ResolveOverride>,
    dns_server: Option<SocketAddr>,
    trust: Trust,
    concurrency: usize,
    vantage: Option<String>,
}

impl Runner {
    /// Checks the connect settings once: a bad `--ca-file` or proxy variable stops the start.
    pub fn new(connect: ConnectArgs, concurrency: usize, vantage: Option<String>) -> Result<Runner, String> {
        let trust = match connect.ca_file.as_deref() {
            Some(path) => Trust::from_pem_file(path).map_err(|e| e.to_string())?,
            // A /probe may verify certificates whatever the files held at start.
            None => Trust::system(),
        };
        HttpCtx::from_env().map_err(|e| e.to_string())?;
        // Scans need many sockets at once; the exporter is long-lived, so ask once.
        limits::raise_nofile(crate::spec::DEFAULT_SCAN_CONCURRENCY);
        Ok(Runner {
            resolve: connect.names.resolve,
            dns_server: connect.names.dns.dns_server,
            trust,
            concurrency,
            vantage,
        })
    }

    pub fn vantage(&self) -> Option<&str> {
        self.vantage.as_deref()
    }

    /// The options of one run: the exporter's `--concurrency` and `--vantage`, the request's
    /// tags, and a deadline when the run must end by then.
    pub fn options(&self, tags: Vec<String>, deadline: Option<Duration>) -> RunOptions {
        RunOptions {
            concurrency: self.concurrency,
            deadline,
            tags,
            vantage: self.vantage.clone(),
        }
    }

    /// Runs `plan` with `options`.
    pub async fn run(&self, plan: Plan, options: &RunOptions) -> RunReport {
        let ctx = Ctx {
            resolver: Resolver::new(self.resolve.clone()).with_dns_server(self.dns_server),
            trust: self.trust.clone(),
            // Checked at start; the environment of a running process does not change.
            http: HttpCtx::from_env().unwrap_or_default(),
            scan: ScanShared::new(limits::socket_budget()),
        };
        run::run(plan, Arc::new(ctx), options, &Silent).await
    }
}

/// Whether a run passed as a whole: something was checked, and every selected check passed (a
/// check the deadline cut off did not).
pub fn succeeded(report: &RunReport) -> bool {
    let summary = report.summary();
    summary.pass > 0 && summary.fail == 0 && summary.error == 0 && summary.skipped_by_deadline == 0
}
