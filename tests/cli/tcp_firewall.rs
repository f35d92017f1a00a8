//! tcp checks through a firewall in a network namespace: how long a silent port is waited for
//! (the host's round-trip estimate, not the check's whole timeout), with and without a slow
//! link (`tc netem`, where the kernel has it).

use crate::netns::{exec_in, NetnsPair, SERVER_ADDR};
use crate::util::Workspace;
use serde_json::Value;
use std::process::Command;

/// The five ports of issue 15: two open, two dropped, one reset by the firewall.
const OPEN: [u16; 2] = [80, 443];
const DROPPED: [u16; 2] = [22, 5432];
const RESET: u16 = 6379;

/// A check file for the five ports: dropped ports first (their connects then go out before the
/// answers of the others, whatever the scheduling), `not-exposed` for all but the open ones.
fn five_ports() -> String {
    let mut spec = String::from("profile = \"fw\"\n[defaults]\ntimeout = \"3s\"\nretries = 1\n");
    for (port, expect) in DROPPED
        .iter()
        .map(|&p| (p, "not-exposed"))
        .chain(OPEN.iter().map(|&p| (p, "open")))
        .chain([(RESET, "not-exposed")])
    {
        spec.push_str(&format!(
            "\n[[check]]\nid = \"p{port}\"\nkind = \"tcp\"\nhost = \"{SERVER_ADDR}\"\nport = {port}\nexpect = \"{expect}\"\n"
        ));
    }
    spec
}

/// Builds the five ports in `pair`'s server namespace; the listeners live as long as the result.
fn five_port_server(pair: &NetnsPair) -> Vec<std::net::TcpListener> {
    for port in DROPPED {
        pair.server_rule(port, &["DROP"]);
    }
    pair.server_rule(RESET, &["REJECT", "--reject-with", "tcp-reset"]);
    OPEN.iter().map(|&port| pair.server_listener(port)).collect()
}

fn check(report: &Value, port: u16) -> &Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == format!("fw.p{port}"))
        .unwrap_or_else(|| panic!("no check for port {port}: {report:#}"))
}

fn state(check: &Value) -> String {
    let address = &check["observed"]["addresses"][0];
    format!(
        "{}/{}",
        address["state"].as_str().unwrap_or("-"),
        address["reason"].as_str().unwrap_or("-")
    )
}

/// Runs the five checks from the client namespace and asserts the verdicts: open ports open,
/// the reset one closed, the dropped ones filtered. Returns the report.
fn run_five(pair: &NetnsPair) -> Value {
    let ws = Workspace::new();
    ws.write("fw.toml", &five_ports());
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &ws.path().join("fw.toml").display().to_string(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(0);
    let report = out.json();
    for port in OPEN {
        assert_eq!(state(check(&report, port)), "open/syn-ack", "{report:#}");
    }
    assert_eq!(state(check(&report, RESET)), "closed/reset", "{report:#}");
    for port in DROPPED {
        assert_eq!(state(check(&report, port)), "filtered/no-response", "{report:#}");
    }
    report
}

/// The waits a dropped port was given: (basis, timeout in ms) of each.
fn waits(check: &Value) -> Vec<(String, f64)> {
    check["observed"]["addresses"][0]["timeouts"]
        .as_array()
        .map(|waits| {
            waits
                .iter()
                .map(|w| {
                    (
                        w["basis"].as_str().unwrap().to_owned(),
                        w["timeout_ms"].as_f64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dropped_ports_are_settled_by_the_host_round_trips_not_the_whole_timeout() {
    let Some(pair) = NetnsPair::create() else { return };
    let _listeners = five_port_server(&pair);
    let report = run_five(&pair);
    for port in DROPPED {
        let check = check(&report, port);
        assert_eq!(
            check["attempts"], 1,
            "settled, so not retried by the runner: {check:#}"
        );
        assert_eq!(check["observed"]["addresses"][0]["connects"], 2, "{check:#}");
        let waits = waits(check);
        let bases: Vec<&str> = waits.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(bases, ["rtt", "rtt-retry"], "{check:#}");
        // On a veth pair the round trip is microseconds: the 100 ms floor, then twice that,
        // far below the 3 s timeout the check would otherwise wait twice.
        let total: f64 = waits.iter().map(|(_, ms)| ms).sum();
        assert!(total < 1000.0, "{check:#}");
        assert!(
            check["message"].as_str().unwrap().is_empty(),
            "not-exposed passes: {check:#}"
        );
    }
}

/// Whether the kernel offers `tc qdisc ... netem`: tried on a throw-away veth pair in a
/// throw-away namespace. `Err` says why not.
fn netem_available(pair: &NetnsPair) -> Result<(), String> {
    let ns = &pair.client;
    exec_in(
        ns,
        &["ip", "link", "add", "nt0", "type", "veth", "peer", "name", "nt1"],
    );
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "tc", "qdisc", "add", "dev", "nt0", "root", "netem", "delay", "1ms",
        ])
        .output();
    exec_in(ns, &["ip", "link", "del", "nt0"]);
    match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`tc qdisc add ... netem` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run tc: {e}")),
    }
}

#[test]
fn a_slow_jittery_link_keeps_open_ports_open_and_still_settles_dropped_ones() {
    let Some(pair) = NetnsPair::create() else { return };
    // Missing netem is not a missing namespace: say so and stop, even under
    // REACH_REQUIRE_NETNS=1 (the round-trip rule is also proven by the unit tests of
    // src/probe/port_wait.rs over recorded jittery and slowing RTT sequences).
    if let Err(why) = netem_available(&pair) {
        eprintln!("skipped: slow-link part of the tcp wait test: this kernel has no netem ({why})");
        return;
    }
    let _listeners = five_port_server(&pair);
    // 200 ms ± 50 ms on every packet the server sends (its SYN-ACKs and resets).
    let server_veth = format!("rs{}", pair.server.trim_start_matches("reach-srv-"));
    exec_in(
        &pair.server,
        &[
            "tc",
            "qdisc",
            "add",
            "dev",
            &server_veth,
            "root",
            "netem",
            "delay",
            "200ms",
            "50ms",
        ],
    );
    let report = run_five(&pair);
    for port in DROPPED {
        let check = check(&report, port);
        let waits = waits(check);
        let settled = waits
            .last()
            .is_some_and(|(basis, _)| basis == "rtt-retry" || basis == "rtt");
        assert!(settled, "{check:#}");
        let total: f64 = waits.iter().map(|(_, ms)| ms).sum();
        assert!(
            total < 3000.0,
            "less than the one timeout of a fixed wait: {check:#}"
        );
    }
}
