//! Verdicts that say what the network did: a name the resolver says does not exist is an
//! observation (a `fail` at stage `dns`) for every kind that connects to a URL, as it is for
//! the `dns` kind.

use crate::dns_server::{DnsServer, Zone};
use crate::util::Workspace;

#[test]
fn nxdomain_and_nodata_fail_at_dns_for_http_websocket_and_endpoint() {
    let dns = DnsServer::start(Zone::new().txt("text-only.test", &["no address here"]));
    let ws = Workspace::new();
    ws.write(
        "n.toml",
        "[[check]]\nid = \"http\"\nkind = \"http\"\nurl = \"http://gone.test:8080/\"\n\n\
         [[check]]\nid = \"websocket\"\nkind = \"websocket\"\nurl = \"ws://gone.test:8080/ws\"\n\n\
         [[check]]\nid = \"endpoint\"\nkind = \"endpoint\"\nurl = \"https://gone.test/v1\"\n\n\
         [[check]]\nid = \"nodata\"\nkind = \"http\"\nurl = \"http://text-only.test:8080/\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "n.toml",
            "--dns-server",
            &dns.address(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(1);
    let report = out.json();
    let checks = report["checks"].as_array().unwrap();
    for (check, class) in checks.iter().zip(["nxdomain", "nxdomain", "nxdomain", "nodata"]) {
        assert_eq!(
            (
                check["status"].as_str(),
                check["stage"].as_str(),
                check["error"].as_str()
            ),
            (Some("fail"), Some("dns"), Some(class)),
            "{check:#}"
        );
        assert_eq!(check["attempts"], 1, "an answer is not retried: {check:#}");
    }
    assert!(
        checks[0]["message"].as_str().unwrap().contains("gone.test"),
        "{:#}",
        checks[0]
    );
}

#[test]
fn a_proxy_whose_name_does_not_resolve_is_still_an_error() {
    // The proxy is this host's configuration, not the target: nothing was observed about it.
    let dns = DnsServer::start(Zone::new());
    let ws = Workspace::new();
    ws.write(
        "p.toml",
        "[[check]]\nkind = \"http\"\nurl = \"https://api.test/\"\nproxy = \"http://proxy.test:3128\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "p.toml",
            "--dns-server",
            &dns.address(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(3);
    let check = &out.json()["checks"][0];
    assert_eq!(
        (
            check["status"].as_str(),
            check["stage"].as_str(),
            check["error"].as_str()
        ),
        (Some("error"), Some("dns"), Some("nxdomain")),
        "{check:#}"
    );
}

#[test]
fn a_scan_cut_off_by_the_deadline_keeps_what_it_saw() {
    let (_open, open) = crate::util::open_port();
    let closed = crate::util::closed_port();
    let (_a, _held_a, silent_a) = crate::util::hanging_port();
    let (_b, _held_b, silent_b) = crate::util::hanging_port();
    let ports = format!("{open},{closed},{silent_a},{silent_b}");
    // A silent port is retried ten times (0.1s, then 0.2s each once the round trip is known):
    // it is still being probed when the deadline passes a second in.
    let scan = |allow: &str| {
        crate::util::Reach::new()
            .args(["scan", "127.0.0.1", "--ports", &ports, "--allow", allow])
            .args(["--retries", "10", "--deadline", "1s", "--format", "json"])
            .output()
    };

    // The open port is not allowed: a finding, even though the scan did not finish.
    let out = scan("none").expect_code(1);
    let check = &out.json()["checks"][0];
    assert_eq!(check["status"], "fail", "{check:#}");
    let counts = &check["observed"]["port_counts"];
    assert_eq!(
        (
            counts["open"].as_u64(),
            counts["closed"].as_u64(),
            counts["unprobed"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{check:#}"
    );
    let mut silent = [silent_a, silent_b];
    silent.sort_unstable();
    let unprobed = format!("{},{}", silent[0], silent[1]);
    assert_eq!(
        check["observed"]["unprobed"][0]["ports"],
        unprobed.as_str(),
        "{check:#}"
    );
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("unexpected open port: {open}"))
            && message.contains(&format!(
                "the run's --deadline passed after 2 of 4 ports: {unprobed} not probed"
            )),
        "{message}"
    );
    assert_eq!(check["observed"]["ports"][0]["port"], open, "{check:#}");

    // Nothing unexpected so far: what was seen is reported, and the scan is unfinished (exit 3).
    let out = scan(&open.to_string()).expect_code(3);
    let check = &out.json()["checks"][0];
    assert_eq!(
        (check["status"].as_str(), check["error"].as_str()),
        (Some("error"), Some("deadline")),
        "{check:#}"
    );
    assert_eq!(check["observed"]["port_counts"]["open"], 1);

    // The human report lists the ports it could not probe.
    let out = crate::util::Reach::new()
        .args(["scan", "127.0.0.1", "--ports", &ports, "--allow", "none"])
        .args(["--retries", "10", "--deadline", "1s"])
        .output()
        .expect_code(1);
    assert!(
        out.stdout.contains(&format!(
            "2 ports not probed (the scan was cut short): {unprobed}"
        )),
        "{}",
        out.stdout
    );
}
