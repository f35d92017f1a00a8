//! TLS audits against real servers started here: rustls servers restricted to chosen versions and
//! suites with rcgen certificates, and Debian's `openssl s_server` offering TLS 1.0/1.1 and legacy
//! suites that rustls never speaks. All on 127.0.0.1.

use crate::pki::{KeyKind, Leaf, LeafKind, Pki};
use crate::util::{closed_port, Reach, Workspace};
use rustls::crypto::ring::cipher_suite as rs;
use rustls::{CipherSuite, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;
const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;

/// A rustls server on 127.0.0.1 speaking only `versions` and `suites`; returns its port. Each
/// connection is served on its own thread until the handshake ends or fails.
pub(crate) fn rustls_server(
    leaf: &Leaf,
    versions: &[&'static SupportedProtocolVersion],
    suites: &[SupportedCipherSuite],
) -> u16 {
    let mut provider = rustls::crypto::ring::default_provider();
    let wanted: Vec<CipherSuite> = suites.iter().map(|s| s.suite()).collect();
    provider.cipher_suites.retain(|s| wanted.contains(&s.suite()));
    let config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                while tls.conn.is_handshaking() {
                    if tls.conn.complete_io(&mut tls.sock).is_err() {
                        return;
                    }
                }
                let _ = tls.write_all(b"hello\n");
                let _ = tls.flush();
            });
        }
    });
    port
}

/// `openssl s_server` on 127.0.0.1 with these arguments; killed when dropped.
pub(crate) struct OpensslServer {
    child: Child,
    pub(crate) port: u16,
    // s_server shuts down when its stdin ends, so the pipe stays open while the server lives.
    _stdin: std::process::ChildStdin,
}

impl OpensslServer {
    pub(crate) fn start(args: &[&str]) -> OpensslServer {
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl (Debian package `openssl`) is needed for the legacy TLS tests");
        // s_server prints `ACCEPT 127.0.0.1:PORT` once it listens (not with -quiet): no sleep.
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
                panic!("openssl s_server did not start: {err}");
            };
            if let Some(address) = line.strip_prefix("ACCEPT ") {
                break address.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        // Keep draining its output so it never blocks on a full pipe: s_server writes a line to
        // stderr for every refused handshake, and a scan refuses hundreds.
        std::thread::spawn(move || for _ in lines {});
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        }
        OpensslServer {
            child,
            port,
            _stdin: stdin,
        }
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The suites (hex code points) OpenSSL says a cipher string yields for one protocol version.
fn openssl_expands(cipher_string: &str, version_flag: &str) -> BTreeSet<String> {
    let out = Command::new("openssl")
        .args(["ciphers", "-s", "-V", version_flag, cipher_string])
        .output()
        .expect("run openssl ciphers");
    assert!(out.status.success(), "openssl ciphers {cipher_string}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|code| {
            let (hi, lo) = code.split_once(',')?;
            Some(format!(
                "0x{}{}",
                hi.trim_start_matches("0x"),
                lo.trim_start_matches("0x")
            ))
        })
        .filter(|code| !code.starts_with("0x13"))
        .collect()
}

/// The suites (hex code points) of a cipher string for one version, in OpenSSL's order.
fn openssl_order(cipher_string: &str, version_flag: &str) -> Vec<String> {
    let out = Command::new("openssl")
        .args(["ciphers", "-s", "-V", version_flag, cipher_string])
        .output()
        .expect("run openssl ciphers");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|code| {
            let (hi, lo) = code.split_once(',')?;
            Some(format!(
                "0x{}{}",
                hi.trim_start_matches("0x"),
                lo.trim_start_matches("0x")
            ))
        })
        .filter(|code| !code.starts_with("0x13"))
        .collect()
}

/// version -> accepted code points, from a JSON report's single TLS check.
fn accepted(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let protocols = report["checks"][0]["observed"]["tls"]["protocols"]
        .as_object()
        .unwrap_or_else(|| panic!("no protocols in {report:#}"));
    protocols
        .iter()
        .map(|(version, suites)| {
            let codes = suites
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["code"].as_str().unwrap().to_owned())
                .collect();
            (version.clone(), codes)
        })
        .collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

pub(crate) fn tls_json(ws: &Workspace, args: &[&str], code: i32) -> Value {
    let out = ws
        .reach()
        .args(["tls", "--format", "json", "--ca-file", "ca.pem"])
        .args(args)
        .output()
        .expect_code(code);
    out.json()
}

pub(crate) fn workspace(pki: &Pki) -> Workspace {
    let ws = Workspace::new();
    ws.write("ca.pem", &pki.ca_pem());
    ws
}

#[test]
fn a_rustls_server_is_enumerated_exactly_with_its_handshake_and_certificate() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let port = rustls_server(
        &leaf,
        &[TLS12, TLS13],
        &[
            rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            rs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            rs::TLS13_AES_256_GCM_SHA384,
        ],
    );
    let ws = workspace(&pki);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{port}")], 0);
    assert_eq!(
        accepted(&report),
        BTreeMap::from([
            ("TLSv1.2".to_owned(), set(&["0xC02B", "0xCCA9"])),
            ("TLSv1.3".to_owned(), set(&["0x1302"])),
        ])
    );
    let tls = &report["checks"][0]["observed"]["tls"];
    let states: Vec<_> = tls["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["refused", "refused", "refused", "accepted", "accepted"]);
    let gcm = &tls["protocols"]["TLSv1.2"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "0xC02B")
        .unwrap()
        .clone();
    assert_eq!(gcm["openssl"], "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_eq!(gcm["iana"], "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(tls["handshake"]["version"], "TLSv1.3");
    assert_eq!(tls["handshake"]["cipher"]["iana"], "TLS_AES_256_GCM_SHA384");
    let cert = &tls["certificate"];
    assert_eq!(cert["chain"], "valid", "{cert:#}");
    assert_eq!(cert["hostname"], "valid", "{cert:#}");
    assert_eq!(cert["key_type"], "EC");
    assert_eq!(cert["key_bits"], 256);
    assert_eq!(cert["signature_algorithm"], "ecdsa-with-SHA256");
    assert_eq!(cert["sans"], serde_json::json!(["localhost", "127.0.0.1"]));
    assert!(cert["days_left"].as_i64().unwrap() >= 363, "{cert:#}");
    assert_eq!(cert["ocsp_stapled"], false);
}

#[test]
fn the_human_report_has_a_table_per_version_with_both_names() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Rsa);
    let port = rustls_server(&leaf, &[TLS12], &[rs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]);
    let ws = workspace(&pki);
    let out = ws
        .reach()
        .args(["tls", &format!("127.0.0.1:{port}"), "--ca-file", "ca.pem"])
        .output()
        .expect_code(0);
    for needle in [
        "TLSv1.0  refused",
        "TLSv1.2  accepted   1 suite",
        "0xC02F  ECDHE-RSA-AES128-GCM-SHA256  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLSv1.3  refused",
        "RSA 2048 bits",
        "chain valid · name valid",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            out.stdout
        );
    }
}

const FLOWSYNC: &str = r#"
profile = "flowsync"

[[check]]
name = "HTTPS policy"
kind = "tls"
host = "127.0.0.1"
port = "{port}"
protocols = "TLSv1.2 TLSv1.3"
ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
forbid = ["cbc", "rsa-kx", "3des", "rc4", "null", "export"]
certificate = { min_days = 30, min_rsa_bits = 2048 }
"#;

#[test]
fn a_compliant_server_passes_the_flowsync_policy_and_a_lax_one_fails_with_each_violation() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let good = rustls_server(
        &leaf,
        &[TLS12, TLS13],
        &[
            rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            rs::TLS13_AES_128_GCM_SHA256,
        ],
    );
    let lax = rustls_server(
        &leaf,
        &[TLS12],
        &[
            rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            rs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ],
    );
    let ws = workspace(&pki);
    ws.write("flowsync.toml", FLOWSYNC);
    let run = |port: u16, code: i32| {
        ws.reach()
            .args(["run", "flowsync.toml", "--ca-file", "ca.pem", "--format", "json"])
            .args(["--var", &format!("port={port}")])
            .output()
            .expect_code(code)
            .json()
    };
    let pass = run(good, 0);
    assert_eq!(pass["checks"][0]["status"], "pass", "{pass:#}");
    let fail = run(lax, 1);
    let check = &fail["checks"][0];
    assert_eq!(check["status"], "fail");
    assert_eq!(check["stage"], "tls");
    let violations = check["observed"]["tls"]["violations"].as_array().unwrap();
    assert_eq!(
        violations,
        &[
            "TLSv1.3 is refused",
            "TLSv1.2 accepts ECDHE-ECDSA-AES256-GCM-SHA384 (0xC02C), which is not allowed"
        ],
        "{check:#}"
    );
    assert!(check["message"].as_str().unwrap().contains("TLSv1.3 is refused"));
}

#[test]
fn certificate_problems_are_recorded_with_their_reason_not_aborted() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    for (kind, class) in [
        (LeafKind::Expired, "cert-expired"),
        (LeafKind::NotYetValid, "cert-not-yet-valid"),
        (LeafKind::WrongHost, "cert-wrong-host"),
        (LeafKind::SelfSigned, "cert-self-signed"),
    ] {
        let leaf = pki.leaf(kind, KeyKind::Ecdsa);
        let port = rustls_server(&leaf, &[TLS13], &[rs::TLS13_AES_128_GCM_SHA256]);
        // Without a policy the audit only reports: the facts are there, the reason too.
        let report = tls_json(&ws, &[&format!("127.0.0.1:{port}")], 0);
        let cert = &report["checks"][0]["observed"]["tls"]["certificate"];
        let reasons = [
            cert["chain"].as_str().unwrap(),
            cert["hostname"].as_str().unwrap(),
        ];
        assert!(reasons.contains(&class), "{kind:?}: {cert:#}");
        assert!(
            cert["subject"].as_str().unwrap().contains("reach test server"),
            "{cert:#}"
        );
        // With a policy, it is a fail carrying the class.
        let judged = tls_json(
            &ws,
            &[&format!("127.0.0.1:{port}"), "--policy", "mozilla-modern"],
            1,
        );
        assert_eq!(judged["checks"][0]["error"], class, "{kind:?}: {judged:#}");
    }
    let expired = pki.leaf(LeafKind::Expired, KeyKind::Ecdsa);
    let port = rustls_server(&expired, &[TLS13], &[rs::TLS13_AES_128_GCM_SHA256]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{port}")], 0);
    let days = report["checks"][0]["observed"]["tls"]["certificate"]["days_left"]
        .as_i64()
        .unwrap();
    assert!(days < -365, "expired in 2020: {days}");
}

#[test]
fn certificate_rules_for_days_and_rsa_size_fail_with_their_numbers() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Rsa);
    let port = rustls_server(&leaf, &[TLS12], &[rs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]);
    let ws = workspace(&pki);
    ws.write(
        "strict.toml",
        "certificate = { min_days = 400, min_rsa_bits = 3072 }\n",
    );
    let report = tls_json(&ws, &[&format!("127.0.0.1:{port}"), "--policy", "strict.toml"], 1);
    let violations = report["checks"][0]["observed"]["tls"]["violations"]
        .as_array()
        .unwrap();
    let texts: Vec<_> = violations.iter().map(|v| v.as_str().unwrap()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("certificate expires in 36")),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"RSA key of 2048 bits (at least 3072 required)"),
        "{texts:?}"
    );
}

/// What s_server is told to offer: legacy suites of every kind OpenSSL 3 still has (CBC, RSA key
/// exchange, anonymous DH, Camellia, SEED needs SECLEVEL 0) next to modern ones.
const LEGACY: &str = "AES128-SHA:AES256-SHA256:CAMELLIA128-SHA:ECDHE-RSA-AES128-SHA:\
ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-SHA:ADH-AES128-SHA:\
AES128-GCM-SHA256:@SECLEVEL=0";

#[test]
fn legacy_openssl_server_accepted_set_matches_what_it_was_told_to_offer() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Rsa);
    let ws = workspace(&pki);
    let (cert, key) = leaf.write(ws.path(), "legacy");
    let server = OpensslServer::start(&[
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
        "-cipher",
        LEGACY,
        "-no_tls1_3",
    ]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", server.port)], 0);
    let got = accepted(&report);
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("TLSv1.0", "-tls1"),
        ("TLSv1.1", "-tls1_1"),
        ("TLSv1.2", "-tls1_2"),
    ]
    .into_iter()
    .map(|(version, flag)| (version.to_owned(), openssl_expands(LEGACY, flag)))
    .collect();
    assert_eq!(got, expected, "{report:#}");
    assert!(expected["TLSv1.2"].len() >= 9, "{expected:?}");
    // The policy that forbids them names each legacy class it meets.
    let judged = tls_json(
        &ws,
        &[
            &format!("127.0.0.1:{}", server.port),
            "--policy",
            "mozilla-intermediate",
            "--forbid",
            "cbc,rsa-kx,anon",
        ],
        1,
    );
    let violations: Vec<String> = judged["checks"][0]["observed"]["tls"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for needle in [
        "TLSv1.0 is accepted",
        "TLSv1.1 is accepted",
        "ADH-AES128-SHA (0x0034)",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(needle)),
            "{needle}: {violations:#?}"
        );
    }
}

#[test]
fn a_server_that_never_answers_is_inconclusive_not_refused() {
    // Connections complete in the kernel's accept queue, but nobody ever reads the hello.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ws = Workspace::new();
    let out = ws
        .reach()
        .args([
            "tls",
            &format!("127.0.0.1:{port}"),
            "--format",
            "json",
            "--timeout",
            "300ms",
        ])
        .output()
        .expect_code(3);
    let report = out.json();
    let check = &report["checks"][0];
    assert_eq!(check["status"], "error", "{check:#}");
    let states: BTreeSet<_> = check["observed"]["tls"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, BTreeSet::from(["inconclusive".to_owned()]), "{check:#}");
    drop(listener);
}

#[test]
fn a_closed_port_is_an_error_at_stage_tcp() {
    let port = closed_port();
    let out = Reach::new()
        .args(["tls", &format!("127.0.0.1:{port}"), "--format", "json"])
        .output()
        .expect_code(3);
    let report = out.json();
    assert_eq!(report["checks"][0]["stage"], "tcp");
    assert_eq!(report["checks"][0]["error"], "refused");
}

#[test]
fn a_closed_port_that_must_serve_tls_is_a_fail_at_stage_tcp() {
    let port = closed_port();
    let out = Reach::new()
        .args(["tls", &format!("127.0.0.1:{port}"), "--format", "json"])
        .args(["--policy", "mozilla-intermediate"])
        .output()
        .expect_code(1);
    let check = &out.json()["checks"][0];
    assert_eq!(
        (&check["status"], &check["stage"], &check["error"]),
        (&"fail".into(), &"tcp".into(), &"refused".into()),
        "{check:#}"
    );
    let ws = Workspace::new();
    ws.write(
        "tls.toml",
        &format!("[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = {port}\nprotocols = \"TLSv1.3\"\n"),
    );
    let out = ws
        .reach()
        .args(["run", "tls.toml", "--format", "json"])
        .output()
        .expect_code(1);
    assert_eq!(out.json()["checks"][0]["status"], "fail");
}

#[test]
fn unknown_names_in_flags_and_specs_are_usage_errors_naming_the_value() {
    for (args, needle) in [
        (
            vec!["--ciphers", "ECDHE-RSA-AES128-GCM-SHA256:BOGUS-SUITE"],
            "`BOGUS-SUITE`",
        ),
        (vec!["--protocols", "TLSv1.2 TLSv2"], "`TLSv2`"),
        (vec!["--forbid", "cbc,slow"], "`slow`"),
        (vec!["--policy", "mozilla-ancient"], "`mozilla-ancient`"),
        (vec!["--tls13-ciphers", "AES128-SHA"], "AES128-SHA"),
    ] {
        let out = Reach::new()
            .args(["tls", "127.0.0.1:1"])
            .args(&args)
            .output()
            .expect_code(2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("error: error:"), "{args:?}: {}", out.stderr);
    }
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        "[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nciphers = [\"AES128-SHA\", \"TLS_BOGUS\"]\n",
    );
    let out = ws.reach().args(["validate", "bad.toml"]).output().expect_code(2);
    assert!(out.stderr.contains("bad.toml:4:11"), "{}", out.stderr);
    assert!(out.stderr.contains("`TLS_BOGUS`"), "{}", out.stderr);
    ws.write("policy.toml", "protocols = [\"TLSv1.2\"]\nforbid = \"rc5\"\n");
    let out = ws
        .reach()
        .args(["tls", "127.0.0.1:1", "--policy", "policy.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("policy.toml:2:10"), "{}", out.stderr);
    assert!(out.stderr.starts_with("error: policy.toml:"), "{}", out.stderr);
}

#[test]
fn the_server_preference_order_is_reported_when_the_server_imposes_one() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Rsa);
    let ws = workspace(&pki);
    let (cert, key) = leaf.write(ws.path(), "order");
    let args = [
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
        "-cipher",
        LEGACY,
        "-no_tls1_3",
    ];
    let preferring = OpensslServer::start(&[&args[..], &["-serverpref"]].concat());
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", preferring.port)], 0);
    let tls = &report["checks"][0]["observed"]["tls"];
    let order: Vec<&str> = tls["protocols"]["TLSv1.2"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(order, openssl_order(LEGACY, "-tls1_2"), "{tls:#}");
    assert_eq!(tls["versions"][3]["preference"], "server", "{tls:#}");

    let following = OpensslServer::start(&args);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", following.port)], 0);
    assert_eq!(
        report["checks"][0]["observed"]["tls"]["versions"][3]["preference"],
        "client"
    );
}

#[test]
fn a_server_rustls_cannot_speak_with_still_has_its_certificate_judged() {
    let pki = Pki::new();
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Rsa);
    let ws = workspace(&pki);
    let (cert, key) = leaf.write(ws.path(), "old");
    let server = OpensslServer::start(&[
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
        "-cipher",
        "AES128-SHA:@SECLEVEL=0",
        "-no_tls1_2",
        "-no_tls1_3",
    ]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", server.port)], 0);
    let tls = &report["checks"][0]["observed"]["tls"];
    assert_eq!(
        accepted(&report),
        BTreeMap::from([
            ("TLSv1.0".to_owned(), set(&["0x002F"])),
            ("TLSv1.1".to_owned(), set(&["0x002F"])),
        ])
    );
    assert_eq!(tls["handshake"]["method"], "raw-hello", "{tls:#}");
    assert_eq!(tls["handshake"]["version"], "TLSv1.1", "{tls:#}");
    assert_eq!(tls["certificate"]["chain"], "valid", "{tls:#}");
    assert_eq!(tls["certificate"]["hostname"], "valid", "{tls:#}");
    assert_eq!(tls["certificate"]["key_type"], "RSA", "{tls:#}");
}

#[test]
fn the_shipped_tls_example_validates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Reach::new()
        .args(["validate", &format!("{root}/checks/examples/tls.toml")])
        .args(["--var", "host=www.example.test"])
        .output()
        .expect_code(0);
    assert_eq!(out.stdout, "ok: 2 checks in 1 file\n");
}

#[test]
fn an_unknown_policy_name_is_named_as_a_value_not_as_a_file() {
    let out = Reach::new()
        .args(["tls", "127.0.0.1:1", "--policy", "mozilla-ancient"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.starts_with("error: unknown policy `mozilla-ancient`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("mozilla-ancient:1:1"), "{}", out.stderr);
}

#[test]
fn an_unknown_protocol_in_a_policy_file_is_reported_once() {
    let ws = Workspace::new();
    let path = ws.write("policy.toml", "protocols = \"TLSv9\"\n");
    let out = Reach::new()
        .args(["tls", "127.0.0.1:1", "--policy", &path.display().to_string()])
        .output()
        .expect_code(2);
    assert!(
        out.stderr
            .contains("policy.toml:1:13: unknown protocol version `TLSv9`"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.stderr);
}
