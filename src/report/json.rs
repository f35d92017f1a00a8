//! The JSON report: serde types built `From` the domain types, so a change to the domain never
//! changes the published format by accident. `schema.json` beside this file describes it.

use crate::outcome::{
    AddressProbe, DnsAnswer, DnsObservation, Observed, Outcome, SkipReason, Summary, Timings,
};
use crate::run::{CheckResult, RunReport};
use serde::Serialize;
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
    pub checks: Vec<CheckJson<'a>>,
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
                        json.chain = Some(a.answer.chain(&dns.name));
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
pub struct AddressJson {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub elapsed_ms: f64,
}

#[derive(Serialize)]
pub struct TimingsJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_ms: Option<f64>,
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
            checks: report.results.iter().map(CheckJson::from).collect(),
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
            status: outcome.status.as_str(),
            stage: outcome.stage.map(|s| s.as_str()),
            error: outcome.error.map(|e| e.as_str()),
            skip_reason: outcome.skip_reason.map(skip_reason),
            expected: check.expected(),
            observed: observed(outcome),
            message: &outcome.message,
            duration_ms: millis(result.duration),
            timings: outcome.timings.into(),
            attempts: outcome.attempts,
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
        SkipReason::TagFilter => "tag-filter",
        SkipReason::VantageFilter => "vantage-filter",
        SkipReason::Deadline => "deadline",
    }
}

fn observed(outcome: &Outcome) -> ObservedJson<'_> {
    let addresses = match &outcome.observed {
        Observed::Nothing | Observed::Dns(_) => None,
        Observed::Tcp { addresses } => Some(
            addresses
                .iter()
                .map(|a| {
                    let elapsed_ms = millis(a.elapsed);
                    let address = a.address.to_string();
                    match &a.probe {
                        AddressProbe::State { state, evidence } => AddressJson {
                            address,
                            state: Some(state.as_str()),
                            reason: Some(evidence.as_str()),
                            error: None,
                            detail: None,
                            elapsed_ms,
                        },
                        AddressProbe::Error { class, detail } => AddressJson {
                            address,
                            state: None,
                            reason: None,
                            error: Some(class.as_str()),
                            detail: Some(detail.clone()),
                            elapsed_ms,
                        },
                    }
                })
                .collect(),
        ),
    };
    let dns = match &outcome.observed {
        Observed::Dns(dns) => Some(DnsJson::from(dns)),
        _ => None,
    };
    ObservedJson {
        summary: &outcome.observed_summary,
        addresses,
        dns,
    }
}

impl From<Timings> for TimingsJson {
    fn from(t: Timings) -> Self {
        TimingsJson {
            dns_ms: t.dns.map(millis),
            tcp_ms: t.tcp.map(millis),
            tls_ms: t.tls.map(millis),
            ttfb_ms: t.ttfb.map(millis),
        }
    }
}

/// The report as pretty-printed JSON with a trailing newline.
pub fn render(report: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(&Report::from(report))
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise report: {e}\"}}"));
    text.push('\n');
    text
}
