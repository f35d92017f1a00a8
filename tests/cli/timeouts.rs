//! Every timeout kept: a check's `timeout` bounds one attempt from start to end, whatever the
//! kind, so a check ends within `timeout x (retries + 1)` plus the backoff between attempts
//! (0.1 s, then doubling). Each test runs one kind against a server that never answers (or
//! answers too slowly) and asserts the wall time with generous slack: the machine is shared.
//! A scan's `timeout` bounds each connect instead (a scan is one attempt however many ports it
//! covers): a silent port costs at most `timeout x (retries + 1)`.

use crate::dns_server::{Behaviour, DnsServer, Zone};
use crate::util::{hanging_port, silent_server, Workspace};
use std::time::{Duration, Instant};

/// Slack for a loaded machine, on top of the bound.
const SLACK: Duration = Duration::from_millis(1500);

/// Runs `reach` with `args` in `ws`, and checks it ended within `bound` (+ [`SLACK`]) with the
/// exit code `code`; returns the JSON report when there is one.
#[track_caller]
fn within(ws: &Workspace, args: &[&str], bound: Duration, code: i32) -> Option<serde_json::Value> {
    let started = Instant::now();
    let out = ws.reach().args(args).output();
    let took = started.elapsed();
    assert!(
        took <= bound + SLACK,
        "{args:?} took {took:?}, more than {bound:?} + slack\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let out = out.expect_code(code);
    args.contains(&"json").then(|| out.json())
}

/// Two attempts of `timeout` and the first backoff.
fn two_attempts(timeout_ms: u64) -> Duration {
    Duration::from_millis(2 * timeout_ms + 100)
}

fn spec(ws: &Workspace, body: &str) {
    ws.write(
        "t.toml",
        &format!("[defaults]\ntimeout = \"1s\"\nretries = 1\n\n{body}"),
    );
}

#[test]
fn tcp_to_a_silent_port() {
    let (_listener, _held, port) = hanging_port();
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"open\"\n"),
    );
    within(&ws, &["run", "t.toml"], two_attempts(1000), 1);
}

#[test]
fn tcp_lookup_and_connect_share_the_timeout() {
    // The name takes ~1.6s to resolve (A, then AAAA, 0.8s each), then the port stays silent:
    // the connect gets what is left of the 2s, not 2s more.
    let dns = DnsServer::start(
        Zone::new()
            .a("slow.test", "127.0.0.1")
            .behave("slow.test", Behaviour::Slow(Duration::from_millis(800))),
    );
    let (_listener, _held, port) = hanging_port();
    let ws = Workspace::new();
    ws.write(
        "t.toml",
        &format!("[[check]]\nkind = \"tcp\"\nhost = \"slow.test\"\nport = {port}\nexpect = \"open\"\ntimeout = \"2s\"\nretries = 0\n"),
    );
    let started = Instant::now();
    ws.reach()
        .args(["run", "t.toml", "--dns-server", &dns.address()])
        .output()
        .expect_code(1);
    let took = started.elapsed();
    // Before, the lookup and the connect each had 2s: about 3.6s.
    assert!(took < Duration::from_millis(2900), "took {took:?}");
}

#[test]
fn dns_to_a_silent_server() {
    let dns = DnsServer::start(Zone::new().behave("quiet.test", Behaviour::Silent));
    let ws = Workspace::new();
    spec(
        &ws,
        &format!(
            "[[check]]\nkind = \"dns\"\nhost = \"quiet.test\"\ntype = \"A\"\nserver = \"{}\"\n",
            dns.address()
        ),
    );
    within(&ws, &["run", "t.toml"], two_attempts(1000), 3);
}

#[test]
fn tls_check_with_an_enumeration_against_a_silent_server() {
    let port = silent_server();
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = {port}\nprotocols = [\"TLSv1.2\", \"TLSv1.3\"]\n"),
    );
    // Before: 16s (each version's offers queued behind the connection cap, each retried).
    let report = within(&ws, &["run", "t.toml", "--format", "json"], two_attempts(1000), 3).unwrap();
    let check = &report["checks"][0];
    assert_eq!(check["error"], "timeout", "{check:#}");
    let versions = check["observed"]["tls"]["versions"].as_array().unwrap();
    assert!(
        versions.iter().all(
            |v| v["state"] == "inconclusive" && v["detail"].as_str().unwrap().contains("timeout ran out")
        ),
        "{versions:#?}"
    );
}

#[test]
fn reach_tls_against_a_silent_server() {
    let port = silent_server();
    let ws = Workspace::new();
    within(
        &ws,
        &["tls", &format!("127.0.0.1:{port}"), "--timeout", "1s"],
        two_attempts(1000),
        3,
    );
}

#[test]
fn http_to_a_silent_server() {
    let port = silent_server();
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\n"),
    );
    within(&ws, &["run", "t.toml"], two_attempts(1000), 1);
}

/// A keep-alive HTTP server that answers every request `delay` after it arrives.
fn slow_http_server(delay: Duration) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        std::thread::sleep(delay);
                        if stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    port
}

#[test]
fn http_samples_share_the_timeout() {
    let port = slow_http_server(Duration::from_millis(20));
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\nsamples = 1000\n"),
    );
    // Before: 1000 samples of 20ms each, about 20s, whatever the timeout.
    let report = within(&ws, &["run", "t.toml", "--format", "json"], two_attempts(1000), 3).unwrap();
    let check = &report["checks"][0];
    assert_eq!(
        (check["status"].as_str(), check["error"].as_str()),
        (Some("error"), Some("timeout"))
    );
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("only ")
            && message.contains("of 1000 samples were made before the check's 1s timeout ran out"),
        "{message}"
    );
    let made = check["observed"]["http"]["latency"]["samples"].as_u64().unwrap();
    assert!((1..1000).contains(&made), "{check:#}");
}

#[test]
fn websocket_to_a_silent_server() {
    let port = silent_server();
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"websocket\"\nurl = \"ws://127.0.0.1:{port}/\"\n"),
    );
    within(&ws, &["run", "t.toml"], two_attempts(1000), 1);
}

#[test]
fn endpoint_to_a_silent_server() {
    let port = silent_server();
    let ws = Workspace::new();
    spec(
        &ws,
        &format!("[[check]]\nkind = \"endpoint\"\nurl = \"http://127.0.0.1:{port}/v1\"\n"),
    );
    within(&ws, &["run", "t.toml"], two_attempts(1000), 1);
}

#[test]
fn scan_of_silent_ports() {
    // Each silent port: a connect and one retry, each at most the 500ms timeout.
    let (_a, _held_a, first) = hanging_port();
    let (_b, _held_b, second) = hanging_port();
    let ws = Workspace::new();
    let report = within(
        &ws,
        &[
            "scan",
            "127.0.0.1",
            "--ports",
            &format!("{first},{second}"),
            "--timeout",
            "500ms",
            "--retries",
            "1",
            "--format",
            "json",
        ],
        Duration::from_millis(1000),
        0,
    )
    .unwrap();
    assert_eq!(report["checks"][0]["observed"]["port_counts"]["filtered"], 2);
}
