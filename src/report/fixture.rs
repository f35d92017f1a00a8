//! One fixed run, the same for every format's snapshot test: two check files and every kind of
//! outcome (pass, fail, error, both skips), a TLS certificate that expires in ten days, a scan
//! with an unexpected open port, and a message full of hostile text.

use crate::outcome::{
    AddressObservation, AddressProbe, AddressScan, Certificate, DnsAnswer, DnsObservation, DnsRecord,
    ErrorClass, Finding, Handshake, HttpObservation, ListeningSocket, Observed, Outcome, PortEvidence,
    PortState, Preference, ScannedPort, ServerAnswer, SkipReason, Stage, Timings, TlsObservation, Transport,
    Verdict, Verification, VersionResult, VersionState,
};
use crate::run::{CheckResult, RunReport};
use crate::spec::{self, LoadOptions};
use crate::tls::{Suite, Version};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// 2026-01-01T00:00:00Z, when the fixed run started.
pub const STARTED: u64 = 1_767_225_600;

/// A message as a hostile server might make it: markup, `]]>`, terminal escapes, NUL, a
/// non-character, a pipe and a newline.
pub const HOSTILE: &str =
    "status 503 (expected 2xx): body \"]]><x a='1'>&amp;\u{1b}[31mred\u{0}\u{FFFE}|pipe\nsecond line";

const SHOP: &str = r#"
profile = "shop"

[[check]]
name = "API listens"
kind = "tcp"
host = "127.0.0.1"
port = 8000
expect = "open"

[[check]]
name = "Redis stays internal"
kind = "tcp"
host = "127.0.0.1"
port = 6379
expect = "not-exposed"

[[check]]
name = "shop A record"
kind = "dns"
host = "shop.example.test"
type = "A"
equals = ["192.0.2.10"]

[[check]]
name = "shop TLS"
kind = "tls"
host = "shop.example.test"
port = 443

[[check]]
name = "health"
kind = "http"
url = "https://shop.example.test/health"

[[check]]
name = "slow report"
kind = "http"
url = "https://shop.example.test/report"

[[check]]
name = "audit port"
kind = "tcp"
host = "127.0.0.1"
port = 9000
expect = "closed"
tags = ["audit"]

[[check]]
name = "late port"
kind = "tcp"
host = "127.0.0.1"
port = 9001
expect = "open"
"#;

const EDGE: &str = r#"
profile = "edge"

[[check]]
name = "edge ports"
kind = "scan"
host = "127.0.0.1"
ports = [22, 80, 443, 6379]
allow = [80, 443]

[[check]]
name = "cache not on every address"
kind = "listen"
port = 6379
expect = "not-wildcard"
"#;

fn ms(n: u64) -> Duration {
    Duration::from_micros(n * 1000)
}

fn ran(finding: Finding) -> Outcome {
    Outcome::Ran { finding, attempts: 1 }
}

fn tcp(state: PortState, evidence: PortEvidence) -> Observed {
    Observed::Tcp {
        addresses: vec![AddressObservation {
            address: "127.0.0.1".parse().unwrap(),
            probe: AddressProbe::State { state, evidence },
            elapsed: ms(1),
            connects: 1,
            timeouts: Vec::new(),
        }],
    }
}

fn suite(name: &str) -> Suite {
    Suite::by_name(name).unwrap()
}

fn tls() -> Observed {
    let version = |version, state, suites: Vec<Suite>| VersionResult {
        version,
        state,
        complete: true,
        preference: if suites.len() > 1 {
            Preference::Server
        } else {
            Preference::Unknown
        },
        suites,
        detail: None,
    };
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(STARTED);
    let not_after = started + Duration::from_secs(10 * 86_400 + 3600);
    let certificate = Certificate {
        subject: "CN=shop.example.test".into(),
        sans: vec!["shop.example.test".into()],
        issuer: "CN=Example CA".into(),
        not_before: "2025-10-01T00:00:00Z".into(),
        not_after: humantime::format_rfc3339_seconds(not_after).to_string(),
        days_left: 10,
        key_type: "EC".into(),
        key_bits: 256,
        curve: Some("secp256r1".into()),
        signature_algorithm: "ecdsa-with-SHA256".into(),
        self_signed: false,
        lifespan_days: 90,
        serial: "01:02:03".into(),
        fingerprint_sha256: "aa".repeat(32),
        key_sha256: "bb".repeat(32),
    };
    Observed::Tls {
        observation: Box::new(TlsObservation {
            address: "192.0.2.10:443".parse().unwrap(),
            sni: Some("shop.example.test".into()),
            groups: None,
            dh: None,
            features: Vec::new(),
            versions: vec![
                version(Version::Tls10, VersionState::Refused, Vec::new()),
                version(Version::Tls11, VersionState::Inconclusive, Vec::new()),
                version(
                    Version::Tls12,
                    VersionState::Accepted,
                    vec![
                        suite("ECDHE-ECDSA-AES128-GCM-SHA256"),
                        suite("ECDHE-ECDSA-AES256-GCM-SHA384"),
                    ],
                ),
                version(
                    Version::Tls13,
                    VersionState::Accepted,
                    vec![suite("TLS_AES_128_GCM_SHA256")],
                ),
            ],
            handshake: Ok(Handshake {
                complete: true,
                version: Version::Tls13,
                suite: suite("TLS_AES_128_GCM_SHA256"),
                group: Some("X25519".into()),
                alpn: None,
                certificate: Some(certificate),
                chain_length: 2,
                chain: Verification::Valid,
                hostname: Verification::Valid,
                ocsp_stapled: false,
            }),
            probes: 7,
        }),
        violations: Vec::new(),
    }
}

/// The outcome of each check of the two files, in order.
fn outcomes() -> Vec<(Outcome, Duration)> {
    let timings = |dns: u64, tcp: u64| Timings {
        dns: Some(ms(dns)),
        tcp: Some(ms(tcp)),
        ..Timings::default()
    };
    let http = |status: Option<u16>| {
        Observed::Http(Box::new(HttpObservation {
            url: "https://shop.example.test/health".into(),
            address: Some("192.0.2.10:443".parse().unwrap()),
            status,
            ..HttpObservation::default()
        }))
    };
    let scan_port = |port, state, evidence, unexpected| ScannedPort {
        port,
        probe: AddressProbe::State { state, evidence },
        attempts: if state == PortState::Filtered { 2 } else { 1 },
        service: None,
        unexpected,
    };
    vec![
        (
            ran(Finding::new(Verdict::Pass { stage: Stage::Tcp }, "open")
                .observed(tcp(PortState::Open, PortEvidence::SynAck))
                .timings(timings(0, 1))),
            ms(2),
        ),
        (
            ran(Finding::new(
                Verdict::Fail {
                    stage: Stage::Tcp,
                    class: None,
                },
                "open",
            )
            .message("must not be exposed but is open: 127.0.0.1:6379 completed the handshake")
            .observed(tcp(PortState::Open, PortEvidence::SynAck))
            .timings(timings(0, 1))),
            ms(2),
        ),
        (
            ran(Finding::new(Verdict::Pass { stage: Stage::Dns }, "192.0.2.10")
                .observed(Observed::Dns(DnsObservation {
                    name: "shop.example.test".into(),
                    record_type: crate::dns::RecordType::A,
                    answers: vec![ServerAnswer {
                        server: "127.0.0.1:53".into(),
                        answer: DnsAnswer::Records(vec![DnsRecord {
                            name: "shop.example.test".into(),
                            record_type: "A".into(),
                            ttl: 300,
                            value: "192.0.2.10".into(),
                        }]),
                        elapsed: ms(3),
                    }],
                }))
                .timings(Timings {
                    dns: Some(ms(3)),
                    ..Timings::default()
                })),
            ms(3),
        ),
        (
            ran(
                Finding::new(Verdict::Pass { stage: Stage::Tls }, "TLSv1.2, TLSv1.3")
                    .observed(tls())
                    .timings(Timings {
                        tls: Some(ms(12)),
                        ..timings(1, 1)
                    }),
            ),
            ms(90),
        ),
        (
            ran(Finding::new(
                Verdict::Fail {
                    stage: Stage::Http,
                    class: Some(ErrorClass::Http5xx),
                },
                "503",
            )
            .message(HOSTILE)
            .observed(http(Some(503)))
            .timings(Timings {
                tls: Some(ms(10)),
                ttfb: Some(ms(25)),
                ..timings(1, 1)
            })),
            ms(40),
        ),
        (
            Outcome::Ran {
                finding: Finding::error(
                    Stage::Ttfb,
                    ErrorClass::Timeout,
                    "no response within 2s after the request was sent",
                )
                .observed(http(None)),
                attempts: 3,
            },
            ms(6200),
        ),
        (
            Outcome::skipped(SkipReason::TagFilter, "not tagged smoke"),
            Duration::ZERO,
        ),
        (
            Outcome::skipped(
                SkipReason::Deadline,
                "the run's --deadline passed before it could start",
            ),
            Duration::ZERO,
        ),
        (
            ran(Finding::new(
                Verdict::Fail {
                    stage: Stage::Assert,
                    class: None,
                },
                "3 open, 1 filtered",
            )
            .message("port 6379 is open but not in the allow list")
            .observed(Observed::Scan {
                addresses: vec![AddressScan {
                    address: "127.0.0.1".parse().unwrap(),
                    ports: vec![
                        scan_port(22, PortState::Filtered, PortEvidence::NoResponse, false),
                        scan_port(80, PortState::Open, PortEvidence::SynAck, false),
                        scan_port(443, PortState::Open, PortEvidence::SynAck, false),
                        scan_port(6379, PortState::Open, PortEvidence::SynAck, true),
                    ],
                    closed: 0,
                    unprobed: Vec::new(),
                    started: Duration::ZERO,
                    elapsed: ms(2100),
                }],
            })),
            ms(2100),
        ),
        (
            ran(
                Finding::new(Verdict::Pass { stage: Stage::Assert }, "loopback only").observed(
                    Observed::Listen {
                        sockets: vec![ListeningSocket {
                            transport: Transport::Tcp,
                            address: "127.0.0.1".parse().unwrap(),
                            port: 6379,
                            process: None,
                        }],
                    },
                ),
            ),
            ms(1),
        ),
    ]
}

/// The fixed run.
pub fn report() -> RunReport {
    let options = LoadOptions::default();
    let mut checks = spec::load_str("checks/shop.toml", SHOP, &options).unwrap();
    checks.extend(spec::load_str("checks/edge.toml", EDGE, &options).unwrap());
    let outcomes = outcomes();
    assert_eq!(checks.len(), outcomes.len());
    RunReport {
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(STARTED),
        duration: ms(6300),
        vantage: Some("external".into()),
        files: vec!["checks/shop.toml".into(), "checks/edge.toml".into()],
        results: checks
            .into_iter()
            .zip(outcomes)
            .map(|(check, (outcome, duration))| CheckResult {
                check: Arc::new(check),
                outcome,
                duration,
            })
            .collect(),
    }
}

const TABLES: &str = r#"
profile = "db"

[[check]]
name = "Databases are not exposed"
kind = "tcp"
host = "127.0.0.1"
ports = "8000-8100"
expect = "not-exposed"

[[check]]
name = "Search cluster listens"
kind = "tcp"
host = "search-cluster-node-7.eu-west-1.internal.example.test"
ports = [9200, 9300]
expect = "open"

[[check]]
name = "HTTPS as Mozilla's modern profile"
kind = "tls"
host = "shop.example.test"
policy = "mozilla-modern"

[[check]]
name = "audit ports"
kind = "tcp"
host = "127.0.0.1"
ports = [22, 23]
expect = "closed"
tags = ["audit"]
"#;

/// What a lax server breaks of a modern policy: enough violations for a message of 1,000+
/// characters when they are joined.
fn violations() -> Vec<String> {
    let mut violations = vec![
        "TLSv1.2 is accepted, but the policy allows only TLSv1.3".to_owned(),
        "TLSv1.1 could not be tested conclusively: the server closed the connection after the ClientHello"
            .to_owned(),
    ];
    for suite in [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA",
    ] {
        violations.push(format!(
            "TLSv1.2 accepts {suite}, which the policy's TLSv1.2 suites do not list (TLSv1.2 must be refused)"
        ));
    }
    violations.push("the certificate expires in 10 days; the policy wants at least 30".to_owned());
    violations
}

/// A run of port tables: 101 ports of which `failing` are open although they must not be, two
/// ports of a host with a long name, a TLS check that breaks its policy many times, and a table
/// that `--tag` left out.
pub fn tables(failing: &[u16]) -> RunReport {
    let checks = spec::load_str("checks/db.toml", TABLES, &LoadOptions::default()).unwrap();
    let results = checks
        .into_iter()
        .map(|check| {
            let (outcome, duration) = match &check.probe {
                spec::ProbeSpec::Tcp(table) if check.tags.is_empty() => {
                    let open = table.expect.as_str() == "open";
                    if failing.contains(&table.port) {
                        let message = format!(
                            "must not be exposed but is open: 127.0.0.1:{} completed the handshake",
                            table.port
                        );
                        (
                            ran(Finding::new(
                                Verdict::Fail {
                                    stage: Stage::Tcp,
                                    class: None,
                                },
                                "open",
                            )
                            .message(message)
                            .observed(tcp(PortState::Open, PortEvidence::SynAck))),
                            ms(1),
                        )
                    } else if open {
                        (
                            ran(Finding::new(Verdict::Pass { stage: Stage::Tcp }, "open")
                                .observed(tcp(PortState::Open, PortEvidence::SynAck))),
                            ms(3),
                        )
                    } else {
                        (
                            ran(Finding::new(Verdict::Pass { stage: Stage::Tcp }, "closed")
                                .observed(tcp(PortState::Closed, PortEvidence::Reset))),
                            ms(u64::from(table.port % 7) + 1),
                        )
                    }
                }
                spec::ProbeSpec::Tcp(_) => (
                    Outcome::skipped(SkipReason::TagFilter, "not tagged smoke"),
                    Duration::ZERO,
                ),
                _ => {
                    let violations = violations();
                    let Observed::Tls { observation, .. } = tls() else {
                        unreachable!("tls() is a TLS observation")
                    };
                    (
                        ran(Finding::new(
                            Verdict::Fail {
                                stage: Stage::Tls,
                                class: None,
                            },
                            "TLSv1.2, TLSv1.3",
                        )
                        .message(violations.join("; "))
                        .observed(Observed::Tls {
                            observation,
                            violations,
                        })),
                        ms(480),
                    )
                }
            };
            CheckResult {
                check: Arc::new(check),
                outcome,
                duration,
            }
        })
        .collect();
    RunReport {
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(STARTED),
        duration: ms(520),
        vantage: None,
        files: vec!["checks/db.toml".into()],
        results,
    }
}
