//! The JSON report: serde types built `From` the domain types, so a change to the domain never
//! changes the published format by accident. `schema.json` beside this file describes it.

use super::changes::{Change, Changes};
use crate::outcome::{
    AddressProbe, AddressScan, DnsAnswer, DnsObservation, HttpObservation, ListeningSocket, Observed,
    Outcome, PortState, SkipReason, Summary, Timings,
};
use crate::outcome::{
    Certificate, DhObservation, FeatureValue, Handshake, TlsObservation, Verification, VersionResult,
};
use crate::run::{CheckResult, RunReport};
use crate::tls::Suite;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

/// Bumped on any incompatible change to the report's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub tool: Tool,
    pub started_at: String,
    pub duration_ms: f64,
    pub vantage: Option<&'a str>,
    pub files: &'a [String],
    pub summary: SummaryJson,
    pub checks: ChecksJson<'a>,
    /// With `--baseline` only: the report this run was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineJson<'a>>,
    /// With `--baseline` only: what changed since it (empty when nothing did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<ChangeJson<'a>>>,
}

#[derive(Serialize)]
pub struct BaselineJson<'a> {
    pub file: &'a str,
    pub started_at: &'a str,
}

#[derive(Serialize)]
pub struct ChangeJson<'a> {
    pub id: &'a str,
    pub what: &'static str,
    pub subject: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

impl<'a> From<&'a Change> for ChangeJson<'a> {
    fn from(change: &'a Change) -> Self {
        ChangeJson {
            id: &change.id,
            what: change.what.as_str(),
            subject: change.subject.as_deref(),
            before: change.before.as_deref(),
            after: change.after.as_deref(),
        }
    }
}

impl<'a> Report<'a> {
    /// The report with what changed since a baseline.
    #[must_use]
    pub fn with_changes(mut self, changes: Option<&'a Changes>) -> Self {
        if let Some(changes) = changes {
            self.baseline = Some(BaselineJson {
                file: &changes.file,
                started_at: &changes.started_at,
            });
            self.changes = Some(changes.list.iter().map(ChangeJson::from).collect());
        }
        self
    }
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct SummaryJson {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
}

/// `checks`: each result becomes its [`CheckJson`] only as it is written, so a report of
/// 100,000 checks never holds 100,000 of them at once.
pub struct ChecksJson<'a>(pub &'a [CheckResult]);

impl Serialize for ChecksJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(CheckJson::from))
    }
}

#[derive(Serialize)]
pub struct CheckJson<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub name: &'a str,
    pub target: String,
    pub status: &'static str,
    pub stage: Option<&'static str>,
    pub error: Option<&'static str>,
    pub skip_reason: Option<&'static str>,
    pub expected: String,
    pub observed: ObservedJson<'a>,
    pub message: &'a str,
    pub duration_ms: f64,
    pub timings: TimingsJson,
    pub attempts: u32,
    pub tags: &'a [String],
    pub source: SourceJson<'a>,
}

#[derive(Serialize)]
pub struct ObservedJson<'a> {
    pub summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<AddressJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    // Boxed: most checks have neither, and a report of 10,000 tcp checks should not carry room
    // for them inline in every entry.
    pub tls: Option<Box<TlsJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Box<HttpJson>>,
    /// scan: every port that was not closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortJson>>,
    /// scan: how many ports were in each state (closed ones are only counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_counts: Option<PortCountsJson>,
    /// scan: the ports never probed, per address, when the scan was cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unprobed: Option<Vec<UnprobedJson>>,
    /// scan: each address as a whole: whether it answered at all, and when it was scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<ScanHostJson>>,
    /// listen: the listening sockets the check looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<SocketJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsJson<'a>>,
}

#[derive(Serialize)]
pub struct DnsJson<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub answers: Vec<DnsAnswerJson<'a>>,
}

#[derive(Serialize)]
pub struct DnsAnswerJson<'a> {
    pub server: &'a str,
    /// `records`, `nxdomain`, `nodata` or `error`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<DnsRecordJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    pub elapsed_ms: f64,
}

#[derive(Serialize)]
pub struct DnsRecordJson<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub record_type: &'a str,
    pub ttl: u32,
    pub value: &'a str,
}

impl<'a> From<&'a DnsObservation> for DnsJson<'a> {
    fn from(dns: &'a DnsObservation) -> Self {
        let answers = dns
            .answers
            .iter()
            .map(|a| {
                let mut json = DnsAnswerJson {
                    server: &a.server,
                    result: "records",
                    chain: None,
                    records: None,
                    negative_ttl: None,
                    error: None,
                    detail: None,
                    elapsed_ms: millis(a.elapsed),
                };
                match &a.answer {
                    DnsAnswer::Records(records) => {
                        json.chain = Some(a.answer.chain_with_loop(&dns.name));
                        json.records = Some(
                            records
                                .iter()
                                .map(|r| DnsRecordJson {
                                    name: &r.name,
                                    record_type: &r.record_type,
                                    ttl: r.ttl,
                                    value: &r.value,
                                })
                                .collect(),
                        );
                    }
                    DnsAnswer::NxDomain { negative_ttl, .. } => {
                        json.result = "nxdomain";
                        json.negative_ttl = *negative_ttl;
                    }
                    DnsAnswer::NoData { negative_ttl, .. } => {
                        json.result = "nodata";
                        json.negative_ttl = *negative_ttl;
                    }
                    DnsAnswer::Failed { class, detail } => {
                        json.result = "error";
                        json.error = Some(class.as_str());
                        json.detail = Some(detail);
                    }
                }
                json
            })
            .collect();
        DnsJson {
            name: &dns.name,
            record_type: dns.record_type.as_str(),
            answers,
        }
    }
}

#[derive(Serialize)]
pub struct PortJson {
    pub address: String,
    pub port: u16,
    #[serde(flatten)]
    pub probe: ProbeJson,
    pub service: Option<&'static str>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
}

#[derive(Serialize)]
pub struct PortCountsJson {
    pub scanned: usize,
    pub open: usize,
    pub closed: usize,
    pub filtered: usize,
    pub error: usize,
    pub unprobed: usize,
}

/// One scanned address as a whole.
#[derive(Serialize)]
pub struct ScanHostJson {
    pub address: String,
    /// `answered` (some port answered), `no-answer` (every port probed, none answered) or
    /// `unknown` (cut short before any answer, or no port could be probed).
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// When its first connect started, since the run began.
    pub started_ms: f64,
    /// From its first connect to its last port's end.
    pub elapsed_ms: f64,
}

impl From<&AddressScan> for ScanHostJson {
    fn from(scan: &AddressScan) -> Self {
        let (state, reason) = if scan.answered() {
            ("answered", None)
        } else if scan.no_answer() {
            ("no-answer", Some(crate::outcome::NO_ANSWER_REASON))
        } else {
            ("unknown", None)
        };
        ScanHostJson {
            address: scan.address.to_string(),
            state,
            reason,
            started_ms: millis(scan.started),
            elapsed_ms: millis(scan.elapsed),
        }
    }
}

#[derive(Serialize)]
pub struct UnprobedJson {
    pub address: String,
    /// As ranges: `1000-65535`.
    pub ports: String,
}

#[derive(Serialize)]
pub struct SocketJson {
    pub protocol: &'static str,
    pub address: String,
    pub port: u16,
    pub scope: &'static str,
    pub pid: Option<u32>,
    pub process: Option<String>,
}

/// What one connect proved: a state with its evidence, or why it could not be made. Shared by
/// tcp addresses and scanned ports, flattened into both.
#[derive(Serialize)]
pub struct ProbeJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<&AddressProbe> for ProbeJson {
    fn from(probe: &AddressProbe) -> Self {
        match probe {
            AddressProbe::State { state, evidence } => ProbeJson {
                state: Some(state.as_str()),
                reason: Some(evidence.as_str()),
                error: None,
                detail: None,
            },
            AddressProbe::Error(e) => ProbeJson {
                state: None,
                reason: None,
                error: Some(e.class().as_str()),
                detail: Some(e.to_string()),
            },
        }
    }
}

#[derive(Serialize)]
pub struct AddressJson {
    pub address: String,
    #[serde(flatten)]
    pub probe: ProbeJson,
    pub elapsed_ms: f64,
    /// Connects made to this address (a silent port gets more than one).
    pub connects: u32,
    /// The waits that ran out with no answer, in order (absent when none did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeouts: Vec<WaitJson>,
}

/// One wait for an answer that ran out: how long, and where that length came from.
#[derive(Serialize)]
pub struct WaitJson {
    pub timeout_ms: f64,
    /// `check-timeout`, `rtt`, `rtt-retry` or `host-silent`.
    pub basis: &'static str,
}

/// `observed.http`: what an http, websocket or endpoint check saw.
#[derive(Serialize)]
pub struct HttpJson {
    pub url: String,
    pub address: Option<String>,
    pub proxy: Option<String>,
    pub reused_connection: bool,
    pub tls: Option<TlsSessionJson>,
    pub status: Option<u16>,
    pub version: Option<String>,
    pub redirects: Vec<RedirectJson>,
    pub response_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyJson>,
    pub body_bytes: Option<u64>,
    /// The body was longer than reach keeps: body rules saw its start only.
    pub body_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echoed: Option<bool>,
    /// `addresses = "all"`: each address's own result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<HttpAddressJson>,
}

#[derive(Serialize)]
pub struct HttpAddressJson {
    pub address: String,
    pub status: &'static str,
    pub stage: &'static str,
    pub error: Option<&'static str>,
    pub http_status: Option<u16>,
    pub message: String,
    pub response_ms: Option<f64>,
}

#[derive(Serialize)]
pub struct TlsSessionJson {
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
}

#[derive(Serialize)]
pub struct RedirectJson {
    pub url: String,
    pub status: u16,
    pub location: String,
}

#[derive(Serialize)]
pub struct LatencyJson {
    pub samples: u32,
    pub avg_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl From<&HttpObservation> for HttpJson {
    fn from(o: &HttpObservation) -> Self {
        HttpJson {
            url: o.url.clone(),
            address: o.address.map(|a| a.to_string()),
            proxy: o.proxy.clone(),
            reused_connection: o.reused_connection,
            tls: o.tls.as_ref().map(|t| TlsSessionJson {
                version: t.version.clone(),
                cipher: t.cipher.clone(),
                alpn: t.alpn.clone(),
            }),
            status: o.status,
            version: o.version.clone(),
            redirects: o
                .redirects
                .iter()
                .map(|r| RedirectJson {
                    url: r.url.clone(),
                    status: r.status,
                    location: r.location.clone(),
                })
                .collect(),
            response_ms: o.response_time.map(millis),
            latency: o.latency.map(|l| LatencyJson {
                samples: l.samples,
                avg_ms: millis(l.avg),
                p95_ms: millis(l.p95),
                max_ms: millis(l.max),
            }),
            body_bytes: o.body_bytes,
            body_truncated: o.body_truncated,
            echoed: o.echoed,
            addresses: o
                .addresses
                .iter()
                .map(|a| HttpAddressJson {
                    address: a.address.to_string(),
                    status: a.verdict.status().as_str(),
                    stage: a.verdict.stage().as_str(),
                    error: a.verdict.class().map(|c| c.as_str()),
                    http_status: a.status,
                    message: a.message.clone(),
                    response_ms: a.response_time.map(millis),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct TimingsJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
}

#[derive(Serialize)]
pub struct SourceJson<'a> {
    pub file: &'a str,
    pub line: usize,
}

/// Milliseconds with microsecond precision.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl<'a> From<&'a RunReport> for Report<'a> {
    fn from(report: &'a RunReport) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "reach",
                version: env!("CARGO_PKG_VERSION"),
            },
            started_at: humantime::format_rfc3339_millis(report.started_at).to_string(),
            duration_ms: millis(report.duration),
            vantage: report.vantage.as_deref(),
            files: &report.files,
            summary: report.summary().into(),
            checks: ChecksJson(&report.results),
            baseline: None,
            changes: None,
        }
    }
}

impl From<Summary> for SummaryJson {
    fn from(s: Summary) -> Self {
        SummaryJson {
            total: s.total,
            pass: s.pass,
            fail: s.fail,
            error: s.error,
            skip: s.skip,
        }
    }
}

impl<'a> From<&'a CheckResult> for CheckJson<'a> {
    fn from(result: &'a CheckResult) -> Self {
        let check = &result.check;
        let outcome = &result.outcome;
        CheckJson {
            id: &check.id,
            kind: check.kind().as_str(),
            name: &check.name,
            target: check.target(),
            status: outcome.status().as_str(),
            stage: outcome.stage().map(|s| s.as_str()),
            error: outcome.error().map(|e| e.as_str()),
            skip_reason: outcome.skip_reason().map(skip_reason),
            expected: check.expected(),
            observed: observed(outcome),
            message: outcome.message(),
            duration_ms: millis(result.duration),
            timings: outcome.timings().into(),
            attempts: outcome.attempts(),
            tags: &check.tags,
            source: SourceJson {
                file: &check.source.file,
                line: check.source.line,
            },
        }
    }
}

fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::TagFilter => "tag",
        SkipReason::VantageFilter => "vantage",
        SkipReason::Deadline => "deadline",
    }
}

fn observed(outcome: &Outcome) -> ObservedJson<'_> {
    let addresses = match outcome.observed() {
        Observed::Nothing
        | Observed::Http(_)
        | Observed::Scan { .. }
        | Observed::Listen { .. }
        | Observed::Tls { .. }
        | Observed::Dns(_) => None,
        Observed::Tcp { addresses } => Some(
            addresses
                .iter()
                .map(|a| AddressJson {
                    address: a.address.to_string(),
                    probe: ProbeJson::from(&a.probe),
                    elapsed_ms: millis(a.elapsed),
                    connects: a.connects,
                    timeouts: a
                        .timeouts
                        .iter()
                        .map(|w| WaitJson {
                            timeout_ms: millis(w.timeout),
                            basis: w.basis.as_str(),
                        })
                        .collect(),
                })
                .collect(),
        ),
    };
    let dns = match outcome.observed() {
        Observed::Dns(dns) => Some(DnsJson::from(dns)),
        _ => None,
    };
    let tls = match outcome.observed() {
        Observed::Tls {
            observation,
            violations,
        } => Some(Box::new(TlsJson::new(observation, violations))),
        _ => None,
    };
    let http = match outcome.observed() {
        Observed::Http(observed) => Some(Box::new(HttpJson::from(observed.as_ref()))),
        _ => None,
    };
    let hosts = match outcome.observed() {
        Observed::Scan { addresses } => Some(addresses.iter().map(ScanHostJson::from).collect()),
        _ => None,
    };
    let (ports, port_counts, unprobed) = match outcome.observed() {
        Observed::Scan { addresses } => (
            // An address that answered nothing is one entry of `hosts`, not a list of
            // filtered ports.
            Some(
                addresses
                    .iter()
                    .filter(|a| !a.no_answer())
                    .flat_map(ports)
                    .collect(),
            ),
            Some(port_counts(addresses)),
            addresses.iter().any(|a| !a.unprobed.is_empty()).then(|| {
                addresses
                    .iter()
                    .filter(|a| !a.unprobed.is_empty())
                    .map(|a| UnprobedJson {
                        address: a.address.to_string(),
                        ports: crate::spec::port_ranges(&a.unprobed),
                    })
                    .collect()
            }),
        ),
        _ => (None, None, None),
    };
    let sockets = match outcome.observed() {
        Observed::Listen { sockets } => Some(sockets.iter().map(SocketJson::from).collect()),
        _ => None,
    };
    ObservedJson {
        summary: outcome.summary(),
        addresses,
        tls,
        http,
        ports,
        port_counts,
        unprobed,
        hosts,
        sockets,
        dns,
    }
}
fn ports(scan: &AddressScan) -> impl Iterator<Item = PortJson> + '_ {
    scan.ports.iter().map(|port| PortJson {
        address: scan.address.to_string(),
        port: port.port,
        probe: ProbeJson::from(&port.probe),
        service: port.service,
        attempts: port.attempts,
        finding: port.unexpected.then(|| {
            let service = port.service.map_or_else(String::new, |s| format!(" ({s})"));
            format!("port {}{service} is open but not in the allow list", port.port)
        }),
    })
}

fn port_counts(addresses: &[AddressScan]) -> PortCountsJson {
    let sum = |f: &dyn Fn(&AddressScan) -> usize| addresses.iter().map(f).sum();
    PortCountsJson {
        scanned: sum(&|a| a.scanned()),
        open: sum(&|a| a.count(PortState::Open)),
        closed: sum(&|a| a.closed),
        filtered: sum(&|a| a.count(PortState::Filtered)),
        error: sum(&|a| a.errors()),
        unprobed: sum(&|a| a.unprobed.len()),
    }
}

impl From<&ListeningSocket> for SocketJson {
    fn from(socket: &ListeningSocket) -> Self {
        SocketJson {
            protocol: socket.transport.as_str(),
            address: socket.address.to_string(),
            port: socket.port,
            scope: socket.scope().as_str(),
            pid: socket.process.as_ref().map(|p| p.pid),
            process: socket.process.as_ref().map(|p| p.name.clone()),
        }
    }
}

impl From<Timings> for TimingsJson {
    fn from(t: Timings) -> Self {
        TimingsJson {
            dns_ms: t.dns.map(millis),
            tcp_ms: t.tcp.map(millis),
            proxy_ms: t.proxy.map(millis),
            tls_ms: t.tls.map(millis),
            ttfb_ms: t.ttfb.map(millis),
        }
    }
}

/// The report as pretty-printed JSON with a trailing newline.
pub fn render(report: &RunReport) -> String {
    render_with(report, None)
}

/// The report, with what changed since a baseline when there is one.
pub fn render_with(report: &RunReport, changes: Option<&Changes>) -> String {
    let mut out = Vec::new();
    if let Err(e) = write_with(report, changes, &mut out) {
        return format!("{{\"error\": \"cannot serialise report: {e}\"}}\n");
    }
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes [`render_with`]'s text to `out` as it is made: the report of a large run (~1 KB a
/// check) never exists in memory as a whole.
pub fn write_with(report: &RunReport, changes: Option<&Changes>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Report::from(report).with_changes(changes)).map_err(|e| {
        if e.is_io() {
            io::Error::from(e)
        } else {
            io::Error::other(format!("cannot serialise report: {e}"))
        }
    })?;
    out.write_all(b"\n")
}

/// `observed.tls`: what a TLS check saw.
#[derive(Serialize)]
pub struct TlsJson {
    pub address: String,
    pub sni: Option<String>,
    /// Accepted versions only, each with its accepted suites (server order when it has one).
    pub protocols: BTreeMap<&'static str, Vec<SuiteJson>>,
    /// Every probed version, oldest first.
    pub versions: Vec<VersionJson>,
    pub handshake: Option<HandshakeJson>,
    pub handshake_error: Option<ProblemJson>,
    pub certificate: Option<CertificateJson>,
    /// Accepted key-exchange groups over all versions (when probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupJson>>,
    /// Per version: its groups in the order that decides, and whose order that is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups_by_version: Option<Vec<GroupVersionJson>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub dh: Option<DhJson>,
    /// The protocol checks that ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeMap<&'static str, FeatureJson>>,
    pub probes: usize,
    pub violations: Vec<String>,
}

#[derive(Serialize)]
pub struct GroupJson {
    pub name: &'static str,
    pub code: String,
    pub bits: u16,
    pub family: &'static str,
    pub classes: Vec<&'static str>,
    pub versions: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct GroupVersionJson {
    pub version: &'static str,
    pub groups: Vec<&'static str>,
    pub preference: &'static str,
    pub complete: bool,
    pub detail: Option<String>,
}

/// `dh_bits` (null: no DHE suite accepted, or the prime was not readable), `dh_group` (the
/// well-known group the prime is, if any), `dh_error`.
#[derive(Serialize)]
pub struct DhJson {
    pub dh_bits: Option<u32>,
    pub dh_group: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dh_error: Option<String>,
}

#[derive(Serialize)]
pub struct FeatureJson {
    /// true, false or "inconclusive".
    pub value: serde_json::Value,
    pub detail: String,
}

#[derive(Serialize)]
pub struct SuiteJson {
    pub openssl: Option<&'static str>,
    pub iana: &'static str,
    pub code: String,
    pub bits: u16,
    pub classes: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct VersionJson {
    pub version: &'static str,
    pub state: &'static str,
    pub suites: usize,
    pub complete: bool,
    pub preference: &'static str,
    pub detail: Option<String>,
}

#[derive(Serialize)]
pub struct HandshakeJson {
    /// `rustls` (a full handshake) or `raw-hello` (the answer to a raw hello, for servers rustls
    /// cannot speak with).
    pub method: &'static str,
    pub version: &'static str,
    pub cipher: SuiteJson,
    pub group: Option<String>,
    pub alpn: Option<String>,
}

#[derive(Serialize)]
pub struct ProblemJson {
    pub error: &'static str,
    pub detail: String,
}

#[derive(Serialize)]
pub struct CertificateJson {
    pub subject: Option<String>,
    pub sans: Vec<String>,
    pub issuer: Option<String>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    pub days_left: Option<i64>,
    pub key_type: Option<String>,
    pub key_bits: Option<u32>,
    pub curve: Option<String>,
    pub signature_algorithm: Option<String>,
    pub self_signed: Option<bool>,
    pub lifespan_days: Option<i64>,
    pub chain_length: usize,
    pub ocsp_stapled: bool,
    /// `valid`, or the error class of the failure.
    pub chain: &'static str,
    pub chain_error: Option<String>,
    pub hostname: &'static str,
    pub hostname_error: Option<String>,
    pub serial: Option<String>,
    pub fingerprint_sha256: Option<String>,
    pub key_sha256: Option<String>,
}

impl From<Suite> for SuiteJson {
    fn from(suite: Suite) -> Self {
        SuiteJson {
            openssl: suite.openssl(),
            iana: suite.iana(),
            code: suite.hex(),
            bits: suite.bits,
            classes: suite.classes().iter().map(|c| c.as_str()).collect(),
        }
    }
}

impl From<&VersionResult> for VersionJson {
    fn from(v: &VersionResult) -> Self {
        VersionJson {
            version: v.version.as_str(),
            state: v.state.as_str(),
            suites: v.suites.len(),
            complete: v.complete,
            preference: v.preference.as_str(),
            detail: v.detail.clone(),
        }
    }
}

fn verification(v: &Verification) -> (&'static str, Option<String>) {
    match v {
        Verification::Valid => ("valid", None),
        Verification::Invalid { class, detail } => (class.as_str(), Some(detail.clone())),
    }
}

fn certificate_json(h: &Handshake) -> CertificateJson {
    let c: Option<&Certificate> = h.certificate.as_ref();
    let (chain, chain_error) = verification(&h.chain);
    let (hostname, hostname_error) = verification(&h.hostname);
    CertificateJson {
        subject: c.map(|c| c.subject.clone()),
        sans: c.map(|c| c.sans.clone()).unwrap_or_default(),
        issuer: c.map(|c| c.issuer.clone()),
        not_before: c.map(|c| c.not_before.clone()),
        not_after: c.map(|c| c.not_after.clone()),
        days_left: c.map(|c| c.days_left),
        key_type: c.map(|c| c.key_type.clone()),
        key_bits: c.map(|c| c.key_bits),
        curve: c.and_then(|c| c.curve.clone()),
        signature_algorithm: c.map(|c| c.signature_algorithm.clone()),
        self_signed: c.map(|c| c.self_signed),
        lifespan_days: c.map(|c| c.lifespan_days),
        chain_length: h.chain_length,
        ocsp_stapled: h.ocsp_stapled,
        chain,
        chain_error,
        hostname,
        hostname_error,
        serial: c.map(|c| c.serial.clone()),
        fingerprint_sha256: c.map(|c| c.fingerprint_sha256.clone()),
        key_sha256: c.map(|c| c.key_sha256.clone()),
    }
}

impl TlsJson {
    fn new(seen: &TlsObservation, violations: &[String]) -> Self {
        let (handshake, handshake_error, certificate) = match &seen.handshake {
            Ok(h) => (
                Some(HandshakeJson {
                    method: if h.complete { "rustls" } else { "raw-hello" },
                    version: h.version.as_str(),
                    cipher: h.suite.into(),
                    group: h.group.clone(),
                    alpn: h.alpn.clone(),
                }),
                None,
                Some(certificate_json(h)),
            ),
            Err(f) => (
                None,
                Some(ProblemJson {
                    error: f.class.as_str(),
                    detail: f.detail.clone(),
                }),
                None,
            ),
        };
        TlsJson {
            address: seen.address.to_string(),
            sni: seen.sni.clone(),
            protocols: seen
                .accepted()
                .map(|v| {
                    (
                        v.version.as_str(),
                        v.suites.iter().copied().map(SuiteJson::from).collect(),
                    )
                })
                .collect(),
            versions: seen.versions.iter().map(VersionJson::from).collect(),
            handshake,
            handshake_error,
            certificate,
            groups: seen.groups.as_ref().map(|results| groups_json(results)),
            groups_by_version: seen.groups.as_ref().map(|results| {
                results
                    .iter()
                    .map(|r| GroupVersionJson {
                        version: r.version.as_str(),
                        groups: r.groups.iter().map(|g| g.name).collect(),
                        preference: r.preference.as_str(),
                        complete: r.complete,
                        detail: r.detail.clone(),
                    })
                    .collect()
            }),
            dh: seen.dh.as_ref().map(|dh| match dh {
                DhObservation::NoDhe => DhJson {
                    dh_bits: None,
                    dh_group: None,
                    dh_error: None,
                },
                DhObservation::Prime { bits, group, .. } => DhJson {
                    dh_bits: Some(*bits),
                    dh_group: *group,
                    dh_error: None,
                },
                DhObservation::Inconclusive(why) => DhJson {
                    dh_bits: None,
                    dh_group: None,
                    dh_error: Some(why.clone()),
                },
            }),
            features: (!seen.features.is_empty()).then(|| {
                seen.features
                    .iter()
                    .map(|f| {
                        let value = match f.value {
                            FeatureValue::Yes => serde_json::Value::Bool(true),
                            FeatureValue::No => serde_json::Value::Bool(false),
                            FeatureValue::Inconclusive => serde_json::Value::from("inconclusive"),
                        };
                        (
                            f.feature.as_str(),
                            FeatureJson {
                                value,
                                detail: f.detail.clone(),
                            },
                        )
                    })
                    .collect()
            }),
            probes: seen.probes,
            violations: violations.to_vec(),
        }
    }
}

/// One entry per accepted group, with the versions that accept it; ordered as the newest
/// version orders them (the server's order when it has one).
fn groups_json(results: &[crate::outcome::GroupResult]) -> Vec<GroupJson> {
    let mut out: Vec<GroupJson> = Vec::new();
    for result in results.iter().rev() {
        for group in &result.groups {
            match out.iter_mut().find(|g| g.name == group.name) {
                Some(entry) => entry.versions.insert(0, result.version.as_str()),
                None => out.push(GroupJson {
                    name: group.name,
                    code: group.hex(),
                    bits: group.bits,
                    family: match group.family {
                        crate::tls::groups::Family::Ec => "ec",
                        crate::tls::groups::Family::Ffdhe => "ffdhe",
                        crate::tls::groups::Family::Kem => "kem",
                        crate::tls::groups::Family::Hybrid => "hybrid",
                    },
                    classes: group.classes().iter().map(|c| c.as_str()).collect(),
                    versions: vec![result.version.as_str()],
                }),
            }
        }
    }
    out
}
