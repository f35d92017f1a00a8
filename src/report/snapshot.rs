//! The facts of a JSON report that a later run is compared against: check statuses, port
//! states, TLS versions, suites and certificates, DNS answers. Read from the JSON text itself, so
//! a baseline written by an earlier reach and the current run (rendered to JSON first) go
//! through the same code. Fields that an older report of the same schema version lacks are
//! simply absent, and nothing is compared on them.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The parts of a report that comparisons read; everything else in the JSON is ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub checks: Vec<CheckFacts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckFacts {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub observed: ObservedFacts,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObservedFacts {
    /// tcp: one entry per address.
    #[serde(default)]
    pub addresses: Option<Vec<ProbeFacts>>,
    /// scan: every port that was not closed (none of an address that answered nothing).
    #[serde(default)]
    pub ports: Option<Vec<ProbeFacts>>,
    /// scan: each address as a whole (absent from reports before it was added).
    #[serde(default)]
    pub hosts: Option<Vec<ScanHostFacts>>,
    #[serde(default)]
    pub tls: Option<TlsFacts>,
    #[serde(default)]
    pub dns: Option<DnsFacts>,
}

/// One scanned address as a whole: `answered`, `no-answer` or `unknown`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScanHostFacts {
    pub address: String,
    pub state: String,
}

/// One address of a tcp check or one port of a scan: a state, or an error instead.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProbeFacts {
    pub address: String,
    /// Scans only; a tcp check's port is part of its target.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TlsFacts {
    /// Accepted versions and their suites.
    #[serde(default)]
    pub protocols: BTreeMap<String, Vec<SuiteFacts>>,
    #[serde(default)]
    pub versions: Vec<VersionFacts>,
    #[serde(default)]
    pub certificate: Option<CertificateFacts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SuiteFacts {
    pub iana: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionFacts {
    pub version: String,
    pub state: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct CertificateFacts {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub not_after: Option<String>,
    #[serde(default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub key_bits: Option<u32>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub fingerprint_sha256: Option<String>,
    #[serde(default)]
    pub key_sha256: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DnsFacts {
    #[serde(default)]
    pub answers: Vec<DnsAnswerFacts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DnsAnswerFacts {
    pub server: String,
    /// `records`, `nxdomain`, `nodata` or `error`.
    pub result: String,
    #[serde(default)]
    pub records: Option<Vec<DnsRecordFacts>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DnsRecordFacts {
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub value: String,
}
