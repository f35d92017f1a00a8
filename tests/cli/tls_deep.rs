//! The deep TLS audit: key-exchange groups, DH primes and the protocol checks, against
//! `openssl s_server` configured one way or another (the expected values come from its flags and
//! from `openssl s_client`), rustls servers with chosen groups, and small raw servers that
//! misbehave on purpose (Heartbleed, CCS injection, no renegotiation_info, silence). Also the
//! policy keys built on them, and the Mozilla profiles against sslyze's verdict.

use crate::pki::{KeyKind, LeafKind, Pki};
use crate::tls::{rustls_server, tls_json, workspace, OpensslServer};
use crate::util::{Reach, Workspace};
use rustls::crypto::ring::cipher_suite as rs;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn tls(report: &Value) -> &Value {
    &report["checks"][0]["observed"]["tls"]
}

/// The groups reach found for one version.
fn groups_of(report: &Value, version: &str) -> Vec<String> {
    tls(report)["groups_by_version"]
        .as_array()
        .unwrap_or_else(|| panic!("no groups_by_version in {report:#}"))
        .iter()
        .find(|v| v["version"] == version)
        .map(|v| strings(&v["groups"]))
        .unwrap_or_default()
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

/// Whether `openssl s_client` completes a handshake with these extra arguments.
fn s_client(port: u16, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s_client_negotiates(port: u16, args: &[&str]) -> bool {
    s_client(port, args).contains("Server Temp Key:")
}

fn openssl_cert(ws: &Workspace, pki: &Pki, kind: KeyKind, stem: &str) -> Vec<String> {
    let leaf = pki.leaf(LeafKind::Valid, kind);
    let (cert, key) = leaf.write(ws.path(), stem);
    vec![
        "-cert".into(),
        cert.display().to_string(),
        "-key".into(),
        key.display().to_string(),
    ]
}

fn start(base: &[String], more: &[&str]) -> OpensslServer {
    let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
    args.extend_from_slice(more);
    OpensslServer::start(&args)
}

fn violations(report: &Value) -> Vec<String> {
    strings(&tls(report)["violations"])
}

#[test]
fn groups_per_version_are_what_openssl_s_client_can_negotiate() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "groups");
    let server = start(&cert, &["-groups", "x25519:secp384r1:ffdhe3072"]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", server.port)], 0);
    let candidates = [
        "x25519",
        "secp256r1",
        "secp384r1",
        "secp521r1",
        "x448",
        "ffdhe2048",
        "ffdhe3072",
    ];
    let by_s_client: BTreeSet<String> = candidates
        .iter()
        .filter(|g| s_client_negotiates(server.port, &["-tls1_3", "-groups", g]))
        .map(|g| (*g).to_owned())
        .collect();
    assert_eq!(
        set(&groups_of(&report, "TLSv1.3")),
        by_s_client,
        "{:#}",
        tls(&report)
    );
    assert_eq!(by_s_client.len(), 3, "{by_s_client:?}");
    let tls12: BTreeSet<String> = candidates[..5]
        .iter()
        .filter(|g| s_client_negotiates(server.port, &["-tls1_2", "-cipher", "ECDHE", "-groups", g]))
        .map(|g| (*g).to_owned())
        .collect();
    assert_eq!(set(&groups_of(&report, "TLSv1.2")), tls12, "{:#}", tls(&report));
    let x25519 = tls(&report)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "x25519")
        .unwrap()
        .clone();
    assert_eq!(x25519["code"], "0x001D");
    assert_eq!(strings(&x25519["versions"]), ["TLSv1.2", "TLSv1.3"]);
    crate::util::assert_valid_report(&report);
}

#[test]
fn the_servers_group_order_is_reported_when_it_has_one() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "order");
    let groups = ["-groups", "secp384r1:x25519:secp256r1", "-no_tls1_3"];
    let preferring = start(&cert, &[&groups[..], &["-serverpref"]].concat());
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", preferring.port)], 0);
    assert_eq!(
        groups_of(&report, "TLSv1.2"),
        ["secp384r1", "x25519", "secp256r1"]
    );
    let entry = &tls(&report)["groups_by_version"][0];
    assert_eq!(entry["preference"], "server", "{entry:#}");
    // Without -serverpref OpenSSL takes the client's first group: reach reports the client's
    // order and lists the groups in code-point order.
    let following = start(&cert, &groups);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", following.port)], 0);
    assert_eq!(tls(&report)["groups_by_version"][0]["preference"], "client");
    assert_eq!(
        groups_of(&report, "TLSv1.2"),
        ["secp256r1", "secp384r1", "x25519"]
    );
}

/// A rustls server whose key exchange is limited to `groups`.
fn rustls_server_with_groups(pki: &Pki, groups: &[rustls::NamedGroup]) -> u16 {
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups.retain(|g| groups.contains(&g.name()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key())
        .unwrap();
    serve_rustls(Arc::new(config))
}

fn serve_rustls(config: Arc<rustls::ServerConfig>) -> u16 {
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
                let mut buf = [0u8; 1024];
                // Serve until the client goes: tickets, early data and closes all need reads.
                while tls.read(&mut buf).is_ok_and(|n| n > 0) {}
            });
        }
    });
    port
}

#[test]
fn a_rustls_server_with_chosen_groups_is_enumerated_exactly() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let port = rustls_server_with_groups(&pki, &[rustls::NamedGroup::secp384r1]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{port}")], 0);
    assert_eq!(groups_of(&report, "TLSv1.3"), ["secp384r1"], "{:#}", tls(&report));
    assert_eq!(groups_of(&report, "TLSv1.2"), ["secp384r1"]);
    let both = rustls_server_with_groups(&pki, &[rustls::NamedGroup::X25519, rustls::NamedGroup::secp256r1]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{both}")], 0);
    assert_eq!(
        set(&groups_of(&report, "TLSv1.3")),
        set(&["x25519".into(), "secp256r1".into()])
    );
}

#[test]
fn group_rules_list_each_offending_group_once() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "rules");
    let server = start(&cert, &["-groups", "x25519:ffdhe2048", "-no_tls1_2"]);
    let target = format!("127.0.0.1:{}", server.port);
    let report = tls_json(&ws, &[&target, "--groups", "x25519,secp256r1", "--exact"], 1);
    assert_eq!(
        violations(&report),
        [
            "TLSv1.3 accepts group ffdhe2048 (0x0100), which is not allowed",
            "group secp256r1 (0x0017) is not accepted"
        ]
    );
    let report = tls_json(&ws, &[&target, "--forbid", "ffdhe-small,weak-group"], 1);
    assert_eq!(
        violations(&report),
        ["TLSv1.3 accepts group ffdhe2048 (0x0100), which is forbidden: ffdhe-small"]
    );
    let report = tls_json(&ws, &[&target, "--min-dh-bits", "3072"], 1);
    assert_eq!(
        violations(&report),
        ["TLSv1.3 accepts group ffdhe2048 (0x0100), of 2048 bits (at least 3072 required)"]
    );
    tls_json(&ws, &[&target, "--groups", "x25519:ffdhe2048", "--exact"], 0);
}

/// DH parameters for s_server: a named group, or fresh ones of `bits`.
fn dhparam(ws: &Workspace, name: &str, pkeyopt: &str) -> String {
    let path = ws.path().join(format!("{name}.pem"));
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            pkeyopt,
            "-out",
        ])
        .arg(&path)
        .output()
        .expect("openssl genpkey");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path.display().to_string()
}

#[test]
fn dh_primes_are_sized_and_well_known_groups_named() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "dh");
    for (name, pkeyopt, bits, group) in [
        ("ffdhe2048", "group:ffdhe2048", 2048, Some("ffdhe2048")),
        ("modp3072", "group:modp_3072", 3072, Some("modp_3072")),
        ("fresh1024", "dh_paramgen_prime_len:1024", 1024, None),
    ] {
        let file = dhparam(&ws, name, pkeyopt);
        let server = start(
            &cert,
            &[
                "-dhparam",
                &file,
                "-cipher",
                "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=1",
                "-no_tls1_3",
            ],
        );
        let target = format!("127.0.0.1:{}", server.port);
        let report = tls_json(&ws, &[&target], 0);
        assert_eq!(tls(&report)["dh_bits"], bits, "{name}: {:#}", tls(&report));
        assert_eq!(tls(&report)["dh_group"], serde_json::json!(group), "{name}");
        // s_client says the same size.
        let said = s_client(
            server.port,
            &["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"],
        );
        assert!(
            said.contains(&format!("Server Temp Key: DH, {bits} bits")),
            "{said}"
        );
        let judged = tls_json(
            &ws,
            &[&target, "--min-dh-bits", "2048"],
            if bits < 2048 { 1 } else { 0 },
        );
        if bits < 2048 {
            assert_eq!(
                violations(&judged),
                ["DHE suites use a 1024-bit prime (at least 2048 required)"]
            );
        }
    }
    // No DHE suite: no prime, and nothing to fail.
    let server = start(&cert, &["-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-no_tls1_3"]);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{}", server.port), "--min-dh-bits", "4096"],
        0,
    );
    assert_eq!(tls(&report)["dh_bits"], Value::Null);
}

fn feature(report: &Value, name: &str) -> Value {
    tls(report)["features"][name]["value"].clone()
}

#[test]
fn protocol_checks_of_a_default_openssl_server_match_its_configuration() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "default");
    let server = start(&cert, &[]);
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", server.port)], 0);
    // OpenSSL 3 defaults: no compression, RFC 5746 and RFC 7627 always, RFC 7507 honoured,
    // client renegotiation off, a session cache and tickets, no early data unless asked.
    for (name, expected) in [
        ("compression", false),
        ("fallback_scsv", true),
        ("secure_renegotiation", true),
        ("client_renegotiation", false),
        ("heartbleed", false),
        ("ccs_injection", false),
        ("session_id_resumption", true),
        ("ticket_resumption", true),
        ("early_data", false),
        ("extended_master_secret", true),
    ] {
        assert_eq!(
            feature(&report, name),
            expected,
            "{name}: {:#}",
            tls(&report)["features"]
        );
    }
    crate::util::assert_valid_report(&report);
}

#[test]
fn protocol_checks_follow_the_s_server_flags() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "flags");
    for (flags, name, expected) in [
        (&["-client_renegotiation"][..], "client_renegotiation", true),
        (&["-no_renegotiation"][..], "client_renegotiation", false),
        (&["-legacy_renegotiation"][..], "secure_renegotiation", true),
        (&["-no_ticket"][..], "ticket_resumption", false),
        (&["-no_cache", "-no_ticket"][..], "session_id_resumption", false),
        (&["-early_data"][..], "early_data", true),
    ] {
        let server = start(&cert, flags);
        let target = format!("127.0.0.1:{}", server.port);
        let report = tls_json(&ws, &[&target, "--require", name], if expected { 0 } else { 1 });
        assert_eq!(
            feature(&report, name),
            expected,
            "{flags:?}: {:#}",
            tls(&report)["features"]
        );
        if !expected {
            let v = violations(&report);
            assert!(
                v.len() == 1 && v[0].starts_with(&format!("{name} is required: ")),
                "{v:?}"
            );
        }
    }
    let server = start(&cert, &["-client_renegotiation"]);
    let report = tls_json(
        &ws,
        &[
            &format!("127.0.0.1:{}", server.port),
            "--deny",
            "client_renegotiation",
        ],
        1,
    );
    assert_eq!(
        violations(&report),
        ["client_renegotiation must be off: the server answered a client-initiated TLSv1.2 renegotiation with a ServerHello"]
    );
}

#[test]
fn compression_is_reported_as_openssl_s_client_sees_it() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "comp");
    // Debian builds OpenSSL without zlib: -comp may do nothing. s_client tells either way.
    let server = start(&cert, &["-comp", "-no_tls1_3"]);
    let said = s_client(server.port, &["-comp", "-tls1_2"]);
    let expected = !said.contains("Compression: NONE");
    assert!(said.contains("Compression:"), "{said}");
    let report = tls_json(&ws, &[&format!("127.0.0.1:{}", server.port)], 0);
    assert_eq!(feature(&report, "compression"), expected, "{said}");
}

/// How a raw test server misbehaves after its first flight.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Misbehaviour {
    /// Answers a heartbeat with 64 bytes it was never sent.
    Heartbleed,
    /// Takes an early ChangeCipherSpec and then fails to decrypt.
    CcsInjection,
    /// Speaks no renegotiation_info.
    NoRenegotiationInfo,
    /// Answers nothing after its first flight.
    Silent,
    /// Chooses DEFLATE compression when offered (as OpenSSL with zlib and -comp did).
    Compression,
}

/// A TLS 1.2 server that speaks one suite (ECDHE-RSA-AES128-GCM-SHA256) as far as its
/// ServerHelloDone, and then misbehaves.
fn raw_server(how: Misbehaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_raw(stream, how));
        }
    });
    port
}

fn read_record(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    stream.read_exact(&mut body).ok()?;
    Some((header[0], body))
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, 3, 3];
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn serve_raw(mut stream: TcpStream, how: Misbehaviour) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((22, hello)) = read_record(&mut stream) else {
        return;
    };
    // type(1) length(3) version(2) random(32) session id, then the suites.
    let version = u16::from_be_bytes([hello[4], hello[5]]);
    let sid = usize::from(hello[38]);
    let at = 39 + sid;
    let count = usize::from(u16::from_be_bytes([hello[at], hello[at + 1]])) / 2;
    let suites: Vec<u16> = (0..count)
        .map(|i| u16::from_be_bytes([hello[at + 2 + 2 * i], hello[at + 3 + 2 * i]]))
        .collect();
    if version != 0x0303 {
        let _ = stream.write_all(&record(21, &[2, 70]));
        return;
    }
    if !suites.contains(&0xC02F) {
        let _ = stream.write_all(&record(21, &[2, 40]));
        return;
    }
    let mut extensions = vec![0x00, 0x0F, 0, 1, 1];
    if how != Misbehaviour::NoRenegotiationInfo {
        extensions.extend_from_slice(&[0xFF, 0x01, 0, 1, 0]);
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    // The compression methods follow the suites: DEFLATE (1) is chosen when offered.
    let methods_at = at + 2 + 2 * count;
    let methods = &hello[methods_at + 1..methods_at + 1 + usize::from(hello[methods_at])];
    let compression = u8::from(how == Misbehaviour::Compression && methods.contains(&1));
    body.extend_from_slice(&[0xC0, 0x2F, compression]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut flight = vec![2, 0];
    flight.extend_from_slice(&(body.len() as u16).to_be_bytes());
    flight.extend_from_slice(&body);
    flight.extend_from_slice(&[14, 0, 0, 0]);
    if stream.write_all(&record(22, &flight)).is_err() {
        return;
    }
    while let Some((kind, _)) = read_record(&mut stream) {
        let answer = match (how, kind) {
            (Misbehaviour::Silent, _) => continue,
            (Misbehaviour::Heartbleed, 24) => record(24, &[&[2, 0, 64][..], &[0x5A; 64 + 16]].concat()),
            (Misbehaviour::CcsInjection, 20) => continue,
            (Misbehaviour::CcsInjection, 23) => record(21, &[2, 20]),
            (_, 21) => return,
            _ => record(21, &[2, 10]),
        };
        if stream.write_all(&answer).is_err() {
            return;
        }
    }
}

#[test]
fn raw_servers_that_misbehave_are_caught_and_silence_is_never_a_pass() {
    let ws = workspace(&Pki::new());
    let heartbleed = raw_server(Misbehaviour::Heartbleed);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{heartbleed}"), "--deny", "heartbleed"],
        1,
    );
    assert_eq!(feature(&report, "heartbleed"), true);
    let v = violations(&report);
    assert!(v[0].contains("only the record header was read"), "{v:?}");

    let ccs = raw_server(Misbehaviour::CcsInjection);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{ccs}"), "--deny", "ccs_injection,heartbleed"],
        1,
    );
    assert_eq!(feature(&report, "ccs_injection"), true);
    assert_eq!(
        feature(&report, "heartbleed"),
        false,
        "{:#}",
        tls(&report)["features"]
    );

    let plain = raw_server(Misbehaviour::NoRenegotiationInfo);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{plain}"), "--require", "secure_renegotiation"],
        1,
    );
    assert_eq!(feature(&report, "secure_renegotiation"), false);

    let deflate = raw_server(Misbehaviour::Compression);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{deflate}"), "--deny", "compression"],
        1,
    );
    assert_eq!(
        violations(&report),
        ["compression must be off: the TLSv1.2 ServerHello chose DEFLATE"]
    );

    let silent = raw_server(Misbehaviour::Silent);
    let out = ws
        .reach()
        .args([
            "tls",
            &format!("127.0.0.1:{silent}"),
            "--format",
            "json",
            "--timeout",
            "500ms",
        ])
        .args(["--deny", "heartbleed,ccs_injection"])
        .output()
        .expect_code(3);
    let report = out.json();
    assert_eq!(report["checks"][0]["status"], "error", "{report:#}");
    assert_eq!(feature(&report, "heartbleed"), "inconclusive");
    assert_eq!(feature(&report, "ccs_injection"), "inconclusive");
}

#[test]
fn min_protocol_accepts_newer_versions_and_names_older_ones() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let tls13_only = rustls_server(&leaf, &[&rustls::version::TLS13], &[rs::TLS13_AES_128_GCM_SHA256]);
    let target = format!("127.0.0.1:{tls13_only}");
    tls_json(&ws, &[&target, "--min-protocol", "TLSv1.2"], 0);
    // With a profile it replaces the profile's versions rule; without it, "TLS 1.2 and 1.3"
    // stays exact.
    tls_json(&ws, &[&target, "--protocols", "TLSv1.2 TLSv1.3"], 1);
    ws.write(
        "studio.toml",
        "[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = \"{port}\"\nmin_protocol = \"TLSv1.2\"\n",
    );
    let out = ws
        .reach()
        .args(["run", "studio.toml", "--ca-file", "ca.pem", "--format", "json"])
        .args(["--var", &format!("port={tls13_only}")])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["checks"][0]["status"], "pass");

    let tls12_only = rustls_server(
        &leaf,
        &[&rustls::version::TLS12],
        &[rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
    );
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{tls12_only}"), "--min-protocol", "TLSv1.3"],
        1,
    );
    assert_eq!(
        violations(&report),
        [
            "TLSv1.2 is accepted (the minimum is TLSv1.3)",
            "no version from TLSv1.3 up is accepted"
        ]
    );

    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "old");
    let old = start(
        &cert,
        &[
            "-cipher",
            "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        ],
    );
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{}", old.port), "--min-protocol", "TLSv1.2"],
        1,
    );
    assert_eq!(
        violations(&report),
        [
            "TLSv1.0 is accepted (the minimum is TLSv1.2)",
            "TLSv1.1 is accepted (the minimum is TLSv1.2)"
        ]
    );
    ws.write(
        "both.toml",
        "[[check]]\nkind = \"tls\"\nhost = \"h.test\"\nprotocols = \"TLSv1.3\"\nmin_protocol = \"TLSv1.2\"\n",
    );
    let out = ws.reach().args(["validate", "both.toml"]).output().expect_code(2);
    assert!(out.stderr.contains("both.toml:5:16"), "{}", out.stderr);
}

const LEGACY: &str = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA";

#[test]
fn server_preference_is_required_where_two_suites_give_it_something_to_decide() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "pref");
    let preferring = start(&cert, &["-cipher", LEGACY, "-serverpref"]);
    tls_json(
        &ws,
        &[&format!("127.0.0.1:{}", preferring.port), "--server-preference"],
        0,
    );
    let following = start(&cert, &["-cipher", LEGACY]);
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{}", following.port), "--server-preference"],
        1,
    );
    assert_eq!(
        violations(&report),
        [
            "TLSv1.2 follows the client's suite order (ssl_prefer_server_ciphers off?)",
            "TLSv1.3 follows the client's suite order (ssl_prefer_server_ciphers off?)"
        ]
    );
    // One suite per version: nothing to decide, nothing to fail.
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let single = rustls_server(
        &leaf,
        &[&rustls::version::TLS12],
        &[rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256],
    );
    ws.write(
        "pref.toml",
        "[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = \"{port}\"\nserver_preference = true\n",
    );
    let out = ws
        .reach()
        .args(["run", "pref.toml", "--ca-file", "ca.pem", "--format", "json"])
        .args(["--var", &format!("port={single}")])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["checks"][0]["status"], "pass");
}

#[test]
fn the_certificate_issuer_is_matched_by_contains_or_equals() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let port = rustls_server(&leaf, &[&rustls::version::TLS13], &[rs::TLS13_AES_128_GCM_SHA256]);
    let target = format!("127.0.0.1:{port}");
    ws.write(
        "contains.toml",
        "certificate = { issuer = { contains = \"REACH test\" } }\n",
    );
    tls_json(&ws, &[&target, "--policy", "contains.toml"], 0);
    ws.write(
        "equals.toml",
        "certificate = { issuer = { equals = \"CN=reach test CA\" } }\n",
    );
    tls_json(&ws, &[&target, "--policy", "equals.toml"], 0);
    ws.write(
        "wrong.toml",
        "certificate = { issuer = { contains = \"Let's Encrypt\" } }\n",
    );
    let report = tls_json(&ws, &[&target, "--policy", "wrong.toml"], 1);
    assert_eq!(
        violations(&report),
        ["certificate issuer \"CN=reach test CA\" does not match: it must contain \"Let's Encrypt\""]
    );
    ws.write("bad.toml", "certificate = { issuer = { starts = \"x\" } }\n");
    let out = ws
        .reach()
        .args(["tls", &target, "--policy", "bad.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("bad.toml:1"), "{}", out.stderr);
}

/// A self-signed certificate as `openssl req -x509` makes it (CA:TRUE), for 127.0.0.1.
fn req_x509(ws: &Workspace, stem: &str) -> (String, String) {
    let cert = ws.path().join(format!("{stem}-cert.pem"));
    let key = ws.path().join(format!("{stem}-key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl req");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn a_self_signed_certificate_given_as_the_trust_anchor_is_trusted_as_curl_does() {
    let ws = Workspace::new();
    let (cert, key) = req_x509(&ws, "self");
    let server = OpensslServer::start(&["-cert", &cert, "-key", &key, "-www"]);
    let target = format!("127.0.0.1:{}", server.port);
    let policy = ws.write("valid.toml", "protocols = \"TLSv1.2 TLSv1.3\"\n");
    let trusted = Reach::new()
        .args(["tls", &target, "--format", "json", "--ca-file", &cert])
        .args(["--policy".to_owned(), policy.display().to_string()])
        .output()
        .expect_code(0)
        .json();
    let certificate = &tls(&trusted)["certificate"];
    assert_eq!(certificate["chain"], "valid", "{certificate:#}");
    // The same for HTTP, which shares the run's verifier.
    ws.write(
        "https.toml",
        &format!(
            "[[check]]\nkind = \"http\"\nurl = \"https://127.0.0.1:{}/\"\n",
            server.port
        ),
    );
    let http = ws
        .reach()
        .args(["run", "https.toml", "--format", "json", "--ca-file", &cert])
        .output()
        .expect_code(0)
        .json();
    assert_eq!(http["checks"][0]["status"], "pass", "{http:#}");
    if let Ok(curl) = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "--cacert",
            &cert,
            &format!("https://127.0.0.1:{}/", server.port),
        ])
        .output()
    {
        assert!(curl.status.success(), "curl disagrees: {curl:?}");
    }
    // Not the anchor: a self-signed certificate, and called so.
    let pki = Pki::new();
    let other = ws.write("ca.pem", &pki.ca_pem());
    // A policy file asks for a valid certificate (flags alone only report).
    let policy = ws.write("policy.toml", "protocols = \"TLSv1.2 TLSv1.3\"\n");
    let report = Reach::new()
        .args(["tls", &target, "--format", "json", "--ca-file"])
        .args([
            other.display().to_string(),
            "--policy".into(),
            policy.display().to_string(),
        ])
        .output()
        .expect_code(1)
        .json();
    assert_eq!(report["checks"][0]["error"], "cert-self-signed", "{report:#}");
    assert_eq!(tls(&report)["certificate"]["chain"], "cert-self-signed");
}

#[test]
fn a_plain_http_port_is_named_as_such_not_by_record_numbers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let out = Reach::new()
        .args(["tls", &format!("127.0.0.1:{port}"), "--format", "json"])
        .output()
        .expect_code(3);
    let report = out.json();
    let text = report.to_string();
    assert!(!text.contains("record version"), "{report:#}");
    let detail = tls(&report)["versions"][3]["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("this port answered in plain HTTP, not TLS"),
        "{detail}"
    );
    let message = report["checks"][0]["message"].as_str().unwrap();
    assert!(message.contains("plain HTTP"), "{message}");
}

/// sslyze (from PyPI, in a venv: `.ci/run` installs it and sets REACH_SSLYZE; bench/tls.sh
/// uses the same venv). Without it the comparison is skipped with a reason, unless
/// REACH_REQUIRE_SSLYZE=1 says it must run.
fn sslyze() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("REACH_SSLYZE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/tmp/reach-bench-sslyze/bin/sslyze".into());
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("REACH_REQUIRE_SSLYZE").is_none(),
        "REACH_REQUIRE_SSLYZE is set but there is no sslyze at {}",
        path.display()
    );
    eprintln!("skipped: no sslyze at {} (set REACH_SSLYZE)", path.display());
    None
}

/// The guideline's JSON as sslyze ships it, beside the sslyze it belongs to.
fn guideline(sslyze: &std::path::Path) -> Value {
    let python = sslyze.with_file_name("python3");
    let out = Command::new(&python)
        .args(["-c", "import sslyze, os; print(os.path.dirname(sslyze.__file__))"])
        .output()
        .expect("the venv's python3");
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let text = std::fs::read_to_string(format!("{dir}/mozilla_tls_profile/5.7.json")).expect("5.7.json");
    serde_json::from_str(&text).unwrap()
}

/// sslyze's compliance issues (the guideline's rule names) for a server.
fn sslyze_issues(sslyze: &std::path::Path, ws: &Workspace, port: u16) -> (BTreeSet<String>, String) {
    let started = std::time::Instant::now();
    let out = Command::new(sslyze)
        .args(["--mozilla_config=intermediate", "--certinfo_ca_file"])
        .arg(ws.path().join("ca.pem"))
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run sslyze");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "sslyze took {:?}: {}",
        started.elapsed(),
        text.lines()
            .filter(|l| l.contains("COMPLETED IN") || l.contains("ERROR") || l.contains("rror"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    assert!(text.contains("COMPLIANCE AGAINST"), "{text}");
    let compliance = &text[text.find("COMPLIANCE AGAINST").unwrap()..];
    let issues = compliance
        .lines()
        .filter_map(|l| l.trim().strip_prefix("* "))
        .filter_map(|l| l.split_once(':').map(|(key, _)| key.to_owned()))
        .collect();
    (issues, text)
}

/// The guideline rule a reach violation breaks (sslyze's names for them).
fn rule_of(violation: &str) -> &'static str {
    let starts = |p: &str| violation.starts_with(p);
    if starts("TLSv") || starts("SSLv") {
        if violation.contains(" accepts group ") {
            if violation.contains(" bits (at least") {
                "ecdh_param_size"
            } else {
                "tls_curves"
            }
        } else if violation.contains(" accepts ") {
            if starts("TLSv1.3") {
                "ciphersuites"
            } else {
                "ciphers"
            }
        } else {
            "tls_versions"
        }
    } else if starts("DHE suites use") {
        "dh_param_size"
    } else if starts("certificate chain") {
        "certificate_path_validation"
    } else if starts("certificate key type") {
        "certificate_types"
    } else if starts("certificate key is on") {
        "certificate_curves"
    } else if starts("certificate is signed") {
        "certificate_signatures"
    } else if starts("RSA key of") {
        "rsa_key_size"
    } else if starts("certificate lifespan") {
        "maximum_certificate_lifespan"
    } else if starts("compression") {
        "tls_vulnerability_compression"
    } else if starts("heartbleed") {
        "tls_vulnerability_heartbleed"
    } else if starts("ccs_injection") {
        "tls_vulnerability_ccs_injection"
    } else if starts("fallback_scsv") {
        "tls_vulnerability_fallback_scsv"
    } else if starts("secure_renegotiation") {
        "tls_vulnerability_renegotiation"
    } else if starts("extended_master_secret") {
        "tls_vulnerability_extended_master_secret"
    } else {
        panic!("no guideline rule for {violation:?}")
    }
}

fn openssl(ws: &Workspace, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(ws.path())
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and leaves made by `openssl` as a public CA would make them (key identifiers, key
/// usage, serverAuth), since sslyze validates chains with cryptography's strict RFC 5280 rules.
fn openssl_pki(ws: &Workspace) {
    openssl(
        ws,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=reach test CA",
            "-days",
            "30",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ],
    );
    ws.write(
        "leaf.ext",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
         authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n",
    );
}

fn openssl_leaf(ws: &Workspace, stem: &str, key: &[&str]) -> Vec<String> {
    let key_file = format!("{stem}-key.pem");
    let csr = format!("{stem}.csr");
    let cert = format!("{stem}-cert.pem");
    let mut args = vec![
        "req",
        "-new",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &key_file,
        "-out",
        &csr,
    ];
    args.extend_from_slice(key);
    openssl(ws, &args);
    openssl(
        ws,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            &cert,
        ],
    );
    let path = |f: &str| ws.path().join(f).display().to_string();
    vec!["-cert".into(), path(&cert), "-key".into(), path(&key_file)]
}

#[test]
fn mozilla_intermediate_verdicts_agree_with_sslyze_and_the_guideline_rule_by_rule() {
    let Some(sslyze) = sslyze() else { return };
    let intermediate = guideline(&sslyze)["configurations"]["intermediate"].clone();
    let ws = Workspace::new();
    openssl_pki(&ws);
    // s_server serves one connection at a time: -www answers sslyze's HTTP requests at once
    // instead of holding the line until its read times out.

    // Configured as the guideline says: its suites and curves, an ECDSA certificate.
    let ecdsa = openssl_leaf(
        &ws,
        "good",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let suites: Vec<String> = strings(&intermediate["ciphers"]["openssl"]);
    let good = start(
        &ecdsa,
        &[
            "-www",
            "-cipher",
            &suites.join(":"),
            "-groups",
            "x25519:secp256r1:secp384r1",
        ],
    );
    let report = tls_json(
        &ws,
        &[
            &format!("127.0.0.1:{}", good.port),
            "--policy",
            "mozilla-intermediate",
        ],
        0,
    );
    assert!(violations(&report).is_empty(), "{:#}", tls(&report));
    let (issues, text) = sslyze_issues(&sslyze, &ws, good.port);
    assert_eq!(issues, BTreeSet::new(), "{text}");

    // Everything OpenSSL still has, TLS 1.0 and 1.1, its default curves and a 1024-bit prime.
    let rsa = openssl_leaf(&ws, "bad", &["-newkey", "rsa:2048"]);
    let dh = dhparam(&ws, "bad1024", "dh_paramgen_prime_len:1024");
    let bad = start(&rsa, &["-www", "-cipher", "ALL:@SECLEVEL=0", "-dhparam", &dh]);
    let report = tls_json(
        &ws,
        &[
            &format!("127.0.0.1:{}", bad.port),
            "--policy",
            "mozilla-intermediate",
        ],
        1,
    );
    let found = violations(&report);
    let reach_rules: BTreeSet<String> = found.iter().map(|v| rule_of(v).to_owned()).collect();
    let (sslyze_rules, text) = sslyze_issues(&sslyze, &ws, bad.port);
    assert_eq!(reach_rules, sslyze_rules, "reach: {found:#?}\nsslyze: {text}");
    assert!(sslyze_rules.len() >= 4, "{sslyze_rules:?}");

    // Rule by rule against the guideline's values: what reach calls a violation is exactly
    // what the server accepts beyond them.
    let observed = tls(&report);
    let allowed_versions: BTreeSet<String> = strings(&intermediate["tls_versions"])
        .into_iter()
        .map(|v| if v == "TLSv1" { "TLSv1.0".to_owned() } else { v })
        .collect();
    let accepted_versions: BTreeSet<String> = observed["protocols"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let named_versions: BTreeSet<String> = found
        .iter()
        .filter(|v| rule_of(v) == "tls_versions")
        .map(|v| v.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(named_versions, &accepted_versions - &allowed_versions);
    let allowed_suites: BTreeSet<String> = strings(&intermediate["ciphers"]["iana"]).into_iter().collect();
    let mut beyond = BTreeSet::new();
    for (version, suites) in observed["protocols"].as_object().unwrap() {
        for suite in suites.as_array().unwrap() {
            let iana = suite["iana"].as_str().unwrap();
            if version != "TLSv1.3" && !allowed_suites.contains(iana) {
                beyond.insert(format!("{version} {}", suite["code"].as_str().unwrap()));
            }
        }
    }
    let named_suites: BTreeSet<String> = found
        .iter()
        .filter(|v| rule_of(v) == "ciphers")
        .map(|v| {
            let version = v.split(' ').next().unwrap();
            let code = v.split('(').nth(1).unwrap().split(')').next().unwrap();
            format!("{version} {code}")
        })
        .collect();
    assert_eq!(named_suites, beyond);
    let curves: BTreeSet<String> = strings(&intermediate["tls_curves"])
        .iter()
        .map(|c| match c.as_str() {
            "X25519" => "x25519".to_owned(),
            "prime256v1" => "secp256r1".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let accepted_curves: BTreeSet<String> = observed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["family"] == "ec")
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    let named_curves: BTreeSet<String> = found
        .iter()
        .filter(|v| rule_of(v) == "tls_curves")
        .map(|v| {
            v.split(" accepts group ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(named_curves, &accepted_curves - &curves);
    let min_dh = intermediate["dh_param_size"].as_u64().unwrap();
    assert_eq!(
        found.iter().any(|v| rule_of(v) == "dh_param_size"),
        observed["dh_bits"].as_u64().unwrap() < min_dh
    );
}

#[test]
fn downgrade_protection_is_the_scsv_or_tls13s_sentinel() {
    let pki = Pki::new();
    let ws = workspace(&pki);
    // OpenSSL honours TLS_FALLBACK_SCSV.
    let cert = openssl_cert(&ws, &pki, KeyKind::Rsa, "scsv");
    let openssl = start(&cert, &[]);
    let report = tls_json(
        &ws,
        &[
            &format!("127.0.0.1:{}", openssl.port),
            "--require",
            "fallback_scsv",
        ],
        0,
    );
    let detail = tls(&report)["features"]["fallback_scsv"]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("inappropriate_fallback"), "{detail}");
    // rustls ignores it, but marks a TLS 1.2 ServerHello with RFC 8446's downgrade sentinel.
    let leaf = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
    let rustls = rustls_server(
        &leaf,
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        &[
            rs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            rs::TLS13_AES_128_GCM_SHA256,
        ],
    );
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{rustls}"), "--require", "fallback_scsv"],
        0,
    );
    let detail = tls(&report)["features"]["fallback_scsv"]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("downgrade sentinel"), "{detail}");
    // Without TLS 1.3 there is no sentinel: between TLS 1.1 and 1.0 only the SCSV protects.
    let old = start(
        &cert,
        &[
            "-cipher",
            "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
            "-no_tls1_3",
            "-no_tls1_2",
        ],
    );
    let report = tls_json(
        &ws,
        &[&format!("127.0.0.1:{}", old.port), "--require", "fallback_scsv"],
        0,
    );
    let detail = tls(&report)["features"]["fallback_scsv"]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("inappropriate_fallback"), "{detail}");
}
