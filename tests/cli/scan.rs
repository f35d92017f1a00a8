//! `reach scan`, the `scan` check kind, `reach listeners` and the `listen` check kind: against
//! loopback listeners, and through a real firewall between two network namespaces.

use crate::netns::{NetnsPair, SERVER_ADDR};
use crate::util::{closed_port, hanging_port, open_port, Reach, Workspace};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::TcpListener;

/// The ports of a scan report by state, and the closed count.
struct Sets {
    open: BTreeSet<u16>,
    filtered: BTreeSet<(u16, String)>,
    closed: u64,
    findings: BTreeSet<u16>,
}

fn sets(report: &Value) -> Sets {
    let observed = &report["checks"][0]["observed"];
    let ports = observed["ports"].as_array().expect("ports");
    let port = |p: &Value| u16::try_from(p["port"].as_u64().unwrap()).unwrap();
    Sets {
        open: ports.iter().filter(|p| p["state"] == "open").map(port).collect(),
        filtered: ports
            .iter()
            .filter(|p| p["state"] == "filtered")
            .map(|p| (port(p), p["reason"].as_str().unwrap().to_owned()))
            .collect(),
        closed: observed["port_counts"]["closed"].as_u64().unwrap(),
        findings: ports
            .iter()
            .filter(|p| p["finding"].is_string())
            .map(port)
            .collect(),
    }
}

#[test]
fn a_scan_through_a_firewall_finds_exactly_the_open_closed_and_filtered_ports_every_time() {
    let Some(pair) = NetnsPair::create() else { return };
    let (flower, api, web, dropped, reset, icmp) = (5555, 8000, 8080, 5432, 9200, 27017);
    let _listeners: Vec<TcpListener> = [flower, api, web]
        .into_iter()
        .map(|port| pair.server_listener(port))
        .collect();
    pair.server_rule(dropped, &["DROP"]);
    pair.server_rule(reset, &["REJECT", "--reject-with", "tcp-reset"]);
    pair.server_rule(icmp, &["REJECT", "--reject-with", "icmp-admin-prohibited"]);
    // Every port, several times: the sets must be exact on every run.
    let scanned = 65_535;
    for run in 0..3 {
        let out = pair
            .reach_in_client()
            .args(["scan", SERVER_ADDR, "--allow", "8000,8080", "--format", "json"])
            .output()
            .expect_code(1);
        let report = out.json();
        let seen = sets(&report);
        assert_eq!(
            seen.open,
            BTreeSet::from([flower, api, web]),
            "run {run}: {report:#}"
        );
        assert_eq!(
            seen.filtered,
            BTreeSet::from([
                (dropped, "no-response".to_owned()),
                (icmp, "icmp-unreachable".to_owned())
            ]),
            "run {run}: {report:#}"
        );
        assert_eq!(
            seen.closed,
            scanned - 5,
            "run {run}: the REJECT port counts as closed"
        );
        assert_eq!(seen.findings, BTreeSet::from([flower]), "run {run}");
        let check = &report["checks"][0];
        assert_eq!(check["status"], "fail");
        assert_eq!(check["kind"], "scan");
        let message = check["message"].as_str().unwrap();
        assert!(message.contains("5555 (flower"), "{message}");
        let dropped_entry = check["observed"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == dropped)
            .unwrap();
        assert_eq!(
            dropped_entry["attempts"], 2,
            "a silent port is retried before it is filtered"
        );
        assert_eq!(dropped_entry["service"], "postgresql");
    }
    let human = pair
        .reach_in_client()
        .args([
            "scan",
            SERVER_ADDR,
            "--ports",
            "5000-9300",
            "--allow",
            "8000,8080",
        ])
        .output()
        .expect_code(1);
    for needle in [
        "5555",
        "flower",
        "UNEXPECTED",
        "5432",
        "filtered",
        "no-response",
        "dropped",
    ] {
        assert!(
            human.stdout.contains(needle),
            "`{needle}` missing:\n{}",
            human.stdout
        );
    }
}

#[test]
fn hosts_are_scanned_side_by_side_and_a_silent_host_is_one_line_not_a_list_of_filtered_ports() {
    let Some(pair) = NetnsPair::create() else { return };
    // Six addresses on the server's loopback, routed to through its veth end: four answer (a
    // wildcard listener on 8000, RSTs elsewhere, one DROPs 5432), two drop everything.
    let hosts: Vec<String> = (1..=6).map(|n| format!("198.18.1.{n}")).collect();
    for host in &hosts {
        pair.exec_in(
            &pair.server,
            &["ip", "addr", "add", &format!("{host}/32"), "dev", "lo"],
        );
    }
    pair.exec_in(
        &pair.client,
        &["ip", "route", "add", "198.18.1.0/24", "via", SERVER_ADDR],
    );
    let (open, dropped): (u16, u16) = (8000, 5432);
    let _listener = wildcard_listener_in(&pair.server, open);
    pair.exec_in(
        &pair.server,
        &[
            "iptables",
            "-A",
            "INPUT",
            "-d",
            &hosts[2],
            "-p",
            "tcp",
            "--dport",
            &dropped.to_string(),
            "-j",
            "DROP",
        ],
    );
    let silent = [&hosts[4], &hosts[5]];
    for host in silent {
        pair.exec_in(
            &pair.server,
            &["iptables", "-A", "INPUT", "-d", host, "-j", "DROP"],
        );
    }
    let list = hosts.join(",");
    let scan = |format: &str| {
        pair.reach_in_client()
            .args([
                "scan",
                &list,
                "--ports",
                "5400-5450,7990-8010",
                "--allow",
                "8000",
                "--timeout",
                "500ms",
                "--format",
                format,
            ])
            .output()
            .expect_code(0)
    };
    let report = scan("json").json();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 6, "{report:#}");
    let mut spans = Vec::new();
    for (check, host) in checks.iter().zip(&hosts) {
        assert_eq!(check["status"], "pass", "{check:#}");
        let observed = &check["observed"];
        let entry = &observed["hosts"][0];
        assert_eq!(entry["address"], host.as_str());
        let start = entry["started_ms"].as_f64().unwrap();
        spans.push((start, start + entry["elapsed_ms"].as_f64().unwrap()));
        let listed: Vec<(u64, &str)> = observed["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["port"].as_u64().unwrap(), p["state"].as_str().unwrap()))
            .collect();
        if silent.contains(&host) {
            assert_eq!(entry["state"], "no-answer", "{check:#}");
            assert_eq!(
                entry["reason"],
                "no answer on any port: host down or fully filtered"
            );
            assert_eq!(check["message"], entry["reason"]);
            assert!(listed.is_empty(), "not a list of filtered ports: {listed:?}");
            assert_eq!(observed["port_counts"]["filtered"], 72);
            assert_eq!(observed["summary"], "no answer on any of 72 ports");
        } else {
            assert_eq!(entry["state"], "answered", "{check:#}");
            assert!(entry.get("reason").is_none());
            let mut expected = vec![(u64::from(open), "open")];
            if host == &hosts[2] {
                expected.insert(0, (u64::from(dropped), "filtered"));
            }
            assert_eq!(listed, expected, "{check:#}");
            assert_eq!(observed["port_counts"]["closed"], 72 - expected.len() as u64);
        }
    }
    // Side by side, not one after another: the two silent hosts wait out their timeouts at the
    // same time, and every live host was started while they waited (a live host's own scan
    // may take a millisecond, so two live ones need not overlap each other).
    let silent_spans: Vec<(f64, f64)> = (4..6).map(|i| spans[i]).collect();
    let (a, b) = (silent_spans[0], silent_spans[1]);
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "silent hosts one after the other: {a:?} {b:?}"
    );
    for (host, span) in hosts.iter().zip(&spans).take(4) {
        assert!(
            silent_spans.iter().all(|s| span.0 < s.1),
            "{host} {span:?} started after a silent host ended: {silent_spans:?}"
        );
    }

    let human = scan("human").stdout;
    let line = "no answer on any port: host down or fully filtered (72 ports";
    assert_eq!(human.matches(line).count(), 2, "{human}");
    for host in silent {
        let section = human.split(&format!("\n  {host}  ")).nth(1).unwrap();
        let next = section.lines().nth(1).unwrap();
        assert!(next.contains(line), "{host}:\n{human}");
    }
    assert_eq!(
        human.matches("no-response").count(),
        1,
        "only the one DROPped port:\n{human}"
    );
}

#[test]
fn a_wildcard_listener_is_a_latent_exposure_even_when_the_firewall_filters_it() {
    let Some(pair) = NetnsPair::create() else { return };
    let port = 5432;
    let _db = wildcard_listener_in(&pair.server, port);
    pair.server_rule(port, &["DROP"]);
    let outside = pair
        .reach_in_client()
        .args([
            "scan",
            SERVER_ADDR,
            "--ports",
            "5432",
            "--allow",
            "none",
            "--format",
            "json",
        ])
        .output()
        .expect_code(0);
    // Its only port dropped, the host answered nothing: one host-level state, no port list.
    let observed = &outside.json()["checks"][0]["observed"];
    assert_eq!(observed["port_counts"]["filtered"], 1, "{}", outside.stdout);
    assert_eq!(observed["hosts"][0]["state"], "no-answer", "{}", outside.stdout);

    let ws = Workspace::new();
    ws.write(
        "inside.toml",
        "[[check]]\nid = \"db-internal\"\nkind = \"listen\"\nport = 5432\nexpect = \"not-wildcard\"\n",
    );
    let inside = Reach::wrapped(&["ip", "netns", "exec", &pair.server])
        .args([
            "run",
            &ws.path().join("inside.toml").display().to_string(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(1);
    let check = &inside.json()["checks"][0];
    assert_eq!(check["status"], "fail");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .starts_with("latent exposure: only the firewall protects it"),
        "{check:#}"
    );
    assert_eq!(check["observed"]["sockets"][0]["scope"], "wildcard");
}

/// A listener on 0.0.0.0 inside a namespace.
fn wildcard_listener_in(namespace: &str, port: u16) -> TcpListener {
    crate::netns::in_namespace(namespace, move || {
        TcpListener::bind(("0.0.0.0", port)).expect("bind in namespace")
    })
}

#[test]
fn a_loopback_scan_tells_open_closed_and_dropped_apart() {
    let (_open, open) = open_port();
    let closed = closed_port();
    let (_queue, _held, silent) = hanging_port();
    let ports = format!("{open},{closed},{silent}");
    let out = Reach::new()
        .args([
            "scan",
            "127.0.0.1",
            "--ports",
            &ports,
            "--allow",
            &open.to_string(),
        ])
        .args(["--timeout", "300ms", "--format", "json"])
        .output()
        .expect_code(0);
    let seen = sets(&out.json());
    assert_eq!(seen.open, BTreeSet::from([open]));
    assert_eq!(
        seen.filtered,
        BTreeSet::from([(silent, "no-response".to_owned())])
    );
    assert_eq!(seen.closed, 1);
    assert!(seen.findings.is_empty());
}

#[test]
fn open_ports_outside_the_allow_list_fail_and_name_their_port() {
    let (_a, a) = open_port();
    let (_b, b) = open_port();
    let out = Reach::new()
        .args([
            "scan",
            "127.0.0.1",
            "--ports",
            &format!("{a},{b}"),
            "--allow",
            &a.to_string(),
        ])
        .args(["--format", "json"])
        .output()
        .expect_code(1);
    let report = out.json();
    assert_eq!(sets(&report).findings, BTreeSet::from([b]));
    let message = report["checks"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("unexpected open port: {b}")),
        "{message}"
    );
    // Without --allow the scan is an inventory: it reports and passes.
    Reach::new()
        .args(["scan", "127.0.0.1", "--ports", &format!("{a},{b}")])
        .output()
        .expect_code(0);
}

#[test]
fn names_resolve_through_overrides_and_top_picks_the_ranked_ports() {
    let (_api, api) = open_port();
    let out = Reach::new()
        .args([
            "scan",
            "api.shop.test",
            "--ports",
            &api.to_string(),
            "--format",
            "json",
        ])
        .args(["--resolve", "api.shop.test:*:127.0.0.1"])
        .output()
        .expect_code(0);
    let report = out.json();
    assert_eq!(report["checks"][0]["target"], "api.shop.test");
    assert_eq!(sets(&report).open, BTreeSet::from([api]));
    let top = Reach::new()
        .args([
            "scan",
            "127.0.0.1",
            "--top",
            "3",
            "--timeout",
            "300ms",
            "--format",
            "json",
        ])
        .output()
        .expect_code(0);
    assert_eq!(top.json()["checks"][0]["observed"]["port_counts"]["scanned"], 3);
}

#[test]
fn a_low_open_file_limit_is_raised_and_said_so() {
    let (_api, api) = open_port();
    // `sh -c '...' BINARY ARGS`: the shell lowers its soft limit, then becomes reach.
    let out = Reach::wrapped(&["sh", "-c", "ulimit -Sn 200 && exec \"$0\" \"$@\""])
        .args([
            "scan",
            "127.0.0.1",
            "--ports",
            &api.to_string(),
            "--concurrency",
            "1000",
        ])
        .output()
        .expect_code(0);
    assert!(
        out.stderr
            .contains("raised the open-file soft limit from 200 to 1128"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_scan_arguments_exit_2_naming_the_value() {
    for (args, needle) in [
        (vec!["scan", "10.0.0.0/8"], "10.0.0.0/8"),
        (vec!["scan", "127.0.0.1", "--ports", "0"], "port 0"),
        (vec!["scan", "127.0.0.1", "--ports", "90-80"], "backwards"),
        (vec!["scan", "127.0.0.1", "--allow", "ssh"], "`ssh`"),
        (vec!["scan", "127.0.0.1", "--top", "0"], "0"),
        (vec!["scan", "127.0.0.1", "--top", "10", "--ports", "22"], "--top"),
        (vec!["scan", "bad host"], "bad host"),
    ] {
        let out = Reach::new().args(&args).output().expect_code(2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: nothing was probed");
    }
}

#[test]
fn a_scan_check_in_a_spec_runs_from_reach_run() {
    let (_api, api) = open_port();
    let (_db, db) = open_port();
    let ws = Workspace::new();
    ws.write(
        "audit.toml",
        r#"
profile = "audit"
[[check]]
id = "edge"
kind = "scan"
host = "127.0.0.1"
ports = ["{api}", "{db}"]
allow = ["{api}"]
timeout = "500ms"
"#,
    );
    let out = ws
        .reach()
        .args(["run", "audit.toml", "--format", "json"])
        .args(["--var", &format!("api={api}"), "--var", &format!("db={db}")])
        .output()
        .expect_code(1);
    let report = out.json();
    let check = &report["checks"][0];
    assert_eq!(check["id"], "audit.edge");
    assert_eq!(check["target"], "127.0.0.1");
    assert_eq!(check["expected"], format!("open only {api}"));
    assert_eq!(sets(&report).findings, BTreeSet::from([db]));
    assert_eq!(check["source"]["line"], 3);
}

#[track_caller]
fn rejected(spec: &str, line: usize, needle: &str) {
    crate::util::assert_rejected_at(spec, &format!("{line}:"), needle);
}

const SCAN: &str = "[[check]]\nkind = \"scan\"\nhost = \"127.0.0.1\"\n";

#[test]
fn scan_spec_errors_are_located() {
    rejected(
        &format!("{SCAN}allow = [22]\nalow = [80]\n"),
        5,
        "unknown field `alow`",
    );
    rejected(SCAN, 1, "missing field `allow`");
    rejected(
        &format!("{SCAN}allow = [22]\nports = \"1-100\"\ntop = 10\n"),
        6,
        "either `ports` or `top`",
    );
    rejected(&format!("{SCAN}allow = [22]\ntop = 70000\n"), 5, "top = 70000");
    rejected(&format!("{SCAN}allow = [\"http\"]\n"), 4, "`http`");
    rejected(
        &format!("{SCAN}allow = []\nconcurrency = 0\n"),
        5,
        "concurrency = 0",
    );
    rejected(
        "[[check]]\nkind = \"scan\"\nhost = \"10.0.0.0/8\"\nallow = []\n",
        3,
        "at most 256",
    );
}

#[test]
fn listen_spec_errors_are_located() {
    rejected(
        "[[check]]\nkind = \"listen\"\nport = 5432\nexpect = \"hidden\"\n",
        4,
        "unknown listen expectation `hidden`",
    );
    rejected(
        "[[check]]\nkind = \"listen\"\nport = 53\nprotocol = \"sctp\"\nexpect = \"listening\"\n",
        4,
        "unknown protocol `sctp`",
    );
    rejected(
        "[[check]]\nkind = \"listen\"\nexpect = \"listening\"\n",
        1,
        "needs `port`",
    );
    rejected(
        "[[check]]\nkind = \"listen\"\nports = [22, \"sctp/9\"]\nexpect = \"listening\"\n",
        3,
        "`sctp` is no transport",
    );
}

/// A UDP port nothing is bound to (as far as a bind and a release can tell).
fn unbound_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn listen_checks_and_listeners_see_udp_ports() {
    let loopback = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let wildcard = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let (lo, any, tcp) = (
        loopback.local_addr().unwrap().port(),
        wildcard.local_addr().unwrap().port(),
        tcp.local_addr().unwrap().port(),
    );
    let gone = unbound_udp_port();
    let ws = Workspace::new();
    ws.write(
        "udp.toml",
        r#"
[[check]]
id = "both-listen"
kind = "listen"
ports = ["udp/{lo}", "tcp/{tcp}"]
expect = "listening"

[[check]]
id = "gone-listens"
kind = "listen"
port = "udp/{gone}"
expect = "listening"

[[check]]
id = "udp-internal"
kind = "listen"
protocol = "udp"
ports = ["{any}", "{lo}"]
expect = "not-wildcard"

[[check]]
id = "no-tcp-there"
kind = "listen"
port = "{lo}"
expect = "not-listening"
"#,
    );
    let out = ws
        .reach()
        .args(["run", "udp.toml", "--format", "json"])
        .args(["--var", &format!("lo={lo}"), "--var", &format!("any={any}")])
        .args(["--var", &format!("tcp={tcp}"), "--var", &format!("gone={gone}")])
        .output()
        .expect_code(1);
    let report = out.json();
    let statuses: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = |list: &[(String, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(id, s)| (id.clone(), (*s).to_owned())).collect()
    };
    let (low, high) = (lo.min(any), lo.max(any));
    let status_of = |port: u16| if port == any { "fail" } else { "pass" };
    assert_eq!(
        statuses,
        expected(&[
            (format!("udp.both-listen/{tcp}"), "pass"),
            (format!("udp.both-listen/udp-{lo}"), "pass"),
            ("udp.gone-listens".to_owned(), "fail"),
            (format!("udp.udp-internal/{low}"), status_of(low)),
            (format!("udp.udp-internal/{high}"), status_of(high)),
            ("udp.no-tcp-there".to_owned(), "pass"),
        ]),
        "{report:#}"
    );
    let gone_check = &report["checks"][2];
    assert!(
        gone_check["message"]
            .as_str()
            .unwrap()
            .contains(&format!("nothing listens on udp/{gone}")),
        "{gone_check:#}"
    );

    // The inside view lists bound UDP sockets and judges `--internal udp/PORT`.
    let out = Reach::new()
        .args(["listeners", "--internal", &format!("udp/{lo},udp/{any}")])
        .args(["--format", "json"])
        .output()
        .expect_code(1);
    let report = out.json();
    let checks = report["checks"].as_array().unwrap();
    let sockets = checks[0]["observed"]["sockets"].as_array().unwrap();
    for (port, address) in [(lo, "127.0.0.1"), (any, "0.0.0.0")] {
        let socket = sockets
            .iter()
            .find(|s| s["port"] == port && s["protocol"] == "udp")
            .unwrap_or_else(|| panic!("udp/{port} is not listed: {report:#}"));
        assert_eq!(socket["address"], address);
        assert_eq!(socket["pid"], std::process::id(), "the test process owns it");
    }
    assert_eq!(checks[1]["id"], format!("listeners.internal/udp-{lo}"));
    assert_eq!(checks[1]["status"], "pass", "{:#}", checks[1]);
    assert_eq!(checks[2]["status"], "fail", "{:#}", checks[2]);
    assert!(
        checks[2]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("udp/{any} listens on 0.0.0.0")),
        "{:#}",
        checks[2]
    );
    let out = Reach::new()
        .args(["listeners", "--internal", "sctp/9"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("`sctp` is no transport"), "{}", out.stderr);
}

#[test]
fn listeners_sees_loopback_and_wildcard_binds_with_their_process() {
    let loopback = TcpListener::bind("127.0.0.1:0").unwrap();
    let wildcard = TcpListener::bind("0.0.0.0:0").unwrap();
    let (lo, any) = (
        loopback.local_addr().unwrap().port(),
        wildcard.local_addr().unwrap().port(),
    );
    let out = Reach::new()
        .args([
            "listeners",
            "--internal",
            &format!("{lo},{any}"),
            "--format",
            "json",
        ])
        .output()
        .expect_code(1);
    let report = out.json();
    let checks = report["checks"].as_array().unwrap();
    let sockets = checks[0]["observed"]["sockets"].as_array().unwrap();
    for (port, address, scope) in [(lo, "127.0.0.1", "loopback"), (any, "0.0.0.0", "wildcard")] {
        let socket = sockets
            .iter()
            .find(|s| s["port"] == port && s["protocol"] == "tcp")
            .unwrap_or_else(|| panic!("port {port} is not listed: {report:#}"));
        assert_eq!(socket["address"], address);
        assert_eq!(socket["scope"], scope);
        assert_eq!(socket["pid"], std::process::id(), "the test process owns it");
    }
    assert_eq!(checks[1]["status"], "pass", "loopback passes: {:#}", checks[1]);
    assert_eq!(checks[2]["status"], "fail");
    assert!(checks[2]["message"].as_str().unwrap().contains("latent exposure"));
    let human = Reach::new()
        .args(["listeners", "--internal", &any.to_string()])
        .output()
        .expect_code(1);
    assert!(
        human.stdout.contains("wildcard") && human.stdout.contains("latent exposure"),
        "{}",
        human.stdout
    );
}

#[test]
fn listen_checks_require_listening_and_refuse_wildcards() {
    let api = TcpListener::bind("0.0.0.0:0").unwrap();
    let db = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = closed_port();
    let ws = Workspace::new();
    ws.write(
        "host.toml",
        r#"
[[check]]
id = "api-listens"
kind = "listen"
port = "{api}"
expect = "listening"

[[check]]
id = "db-internal"
kind = "listen"
port = "{db}"
expect = "loopback-only"

[[check]]
id = "api-internal"
kind = "listen"
port = "{api}"
expect = "not-wildcard"

[[check]]
id = "worker-listens"
kind = "listen"
port = "{gone}"
expect = "listening"
"#,
    );
    let out = ws
        .reach()
        .args(["run", "host.toml", "--format", "json"])
        .args(["--var", &format!("api={}", api.local_addr().unwrap().port())])
        .args(["--var", &format!("db={}", db.local_addr().unwrap().port())])
        .args(["--var", &format!("gone={gone}")])
        .output()
        .expect_code(1);
    let report = out.json();
    let statuses: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("host.api-listens", "pass"),
            ("host.db-internal", "pass"),
            ("host.api-internal", "fail"),
            ("host.worker-listens", "fail"),
        ]
    );
    assert!(report["checks"][3]["message"]
        .as_str()
        .unwrap()
        .contains("nothing listens"));
}

#[test]
fn the_audit_example_validates() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/checks/examples/audit.toml");
    let out = Reach::new()
        .args(["validate", example, "--var", "public_host=198.18.0.1"])
        .output()
        .expect_code(0);
    assert!(out.stdout.contains("ok: 7 checks"), "{}", out.stdout);
}
