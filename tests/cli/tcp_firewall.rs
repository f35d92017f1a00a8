//! tcp checks through a firewall in a network namespace: how long a silent port is waited for
//! (the host's round-trip estimate, not the check's whole timeout), with and without a slow
//! link. The slow link delays every packet the server sends by 200 ms ± 50 ms: `tc netem` on the
//! server's veth where the kernel has it, else `delay_line.py` (a delay line in user space
//! between two TUN devices, over which the two addresses are routed instead of the veth pair).
//! Where neither can be set up, the test says why and passes, or fails under
//! `REACH_REQUIRE_NETNS=1` as a missing namespace does.

use crate::netns::{exec_in, skip, NetnsPair, CLIENT_ADDR, SERVER_ADDR};
use crate::util::Workspace;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

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

/// `tests/cli/delay_line.py` between `pair`'s namespaces: two TUN devices, and routes that send
/// the traffic between the client's and the server's addresses through them instead of the veth
/// pair. The script (and with it the devices) ends when this is dropped, even when the test
/// panics.
struct DelayLine {
    child: Child,
}

impl DelayLine {
    /// Delays what the server sends by `delay_ms` ± `jitter_ms` (uniform, per packet), as
    /// netem on the server's veth would. `Err` says why it could not be set up.
    fn start(pair: &NetnsPair, delay_ms: u32, jitter_ms: u32) -> Result<DelayLine, String> {
        let (client_tun, server_tun) = (format!("dlc{}", pair.id), format!("dls{}", pair.id));
        let child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/delay_line.py"))
            .args([&pair.client, &client_tun, &pair.server, &server_tun])
            .args(["--delay-ms", &delay_ms.to_string()])
            .args(["--jitter-ms", &jitter_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        let mut line = DelayLine { child };
        let mut first = String::new();
        let stdout = line.child.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut first);
        if first != "ready\n" {
            return Err(format!(
                "tests/cli/delay_line.py did not start: {}",
                line.stop().err().unwrap_or_default()
            ));
        }
        // The TUN ends carry no addresses of their own: /32 routes, more specific than the
        // veth's /30, take the two addresses' traffic over them both ways (so the reverse-path
        // check agrees too), and IPv6 stays off them.
        for (ns, tun, own, peer) in [
            (&pair.client, &client_tun, CLIENT_ADDR, SERVER_ADDR),
            (&pair.server, &server_tun, SERVER_ADDR, CLIENT_ADDR),
        ] {
            exec_in(ns, &["ip", "link", "set", tun, "addrgenmode", "none"]);
            exec_in(ns, &["ip", "link", "set", tun, "up"]);
            let peer = format!("{peer}/32");
            exec_in(ns, &["ip", "route", "add", &peer, "dev", tun, "src", own]);
        }
        Ok(line)
    }

    /// Ends the script (it exits when its stdin closes); `Err` says how it failed, with what it
    /// wrote on stderr. Does nothing the second time.
    fn stop(&mut self) -> Result<(), String> {
        if self.child.stdin.take().is_none() {
            return Ok(());
        }
        let status = self
            .child
            .wait()
            .map_err(|e| format!("cannot wait for it: {e}"))?;
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        if status.success() {
            Ok(())
        } else {
            Err(format!("{status}: {}", stderr.trim()))
        }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        if let Err(how) = self.stop() {
            eprintln!("the delay line failed: {how}");
        }
    }
}

/// The slow link: (delay, jitter) in ms of every packet the server sends.
const SLOW_LINK_MS: (u32, u32) = (200, 50);

#[test]
fn a_slow_jittery_link_keeps_open_ports_open_and_still_settles_dropped_ones() {
    let Some(pair) = NetnsPair::create() else { return };
    let _listeners = five_port_server(&pair);
    let (delay, jitter) = SLOW_LINK_MS;
    // Every packet the server sends (its SYN-ACKs and resets) is delayed: by netem on its veth
    // where the kernel has it, else by the delay line in user space.
    let _delay_line = match netem_available(&pair) {
        Ok(()) => {
            let server_veth = pair.server_veth();
            let (delay, jitter) = (format!("{delay}ms"), format!("{jitter}ms"));
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
                    &delay,
                    &jitter,
                ],
            );
            None
        }
        Err(no_netem) => match DelayLine::start(&pair, delay, jitter) {
            Ok(line) => Some(line),
            Err(why) => {
                skip(&format!("no slow link: {no_netem}, and {why}"));
                return;
            }
        },
    };
    let report = run_five(&pair);
    // The link was slow: no answer can come back before the least delay. (A lower bound the
    // delay itself causes, not a guess at how fast anything runs.)
    let least = f64::from(delay - jitter);
    for port in OPEN.into_iter().chain([RESET]) {
        let check = check(&report, port);
        let tcp_ms = check["timings"]["tcp_ms"].as_f64();
        assert!(
            tcp_ms.is_some_and(|ms| ms >= least),
            "answered in {tcp_ms:?} ms, before the link's least delay of {least} ms: {check:#}"
        );
    }
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
