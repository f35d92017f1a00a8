//! No silent pass from what selects or pins: `--tag`, `--vantage` and `--resolve` values that
//! match nothing are pointed out, and a run that checked nothing never exits 0.

use crate::dns_server::{DnsServer, Zone};
use crate::util::{hanging_port, open_port, Workspace};
use std::sync::atomic::Ordering;

/// One unbound check on `api`, two bound to vantage points.
fn spec(api: u16) -> String {
    format!(
        r#"
[[check]]
name = "api"
kind = "tcp"
host = "127.0.0.1"
port = {api}
expect = "open"
tags = ["smoke"]

[[check]]
name = "db from inside"
kind = "tcp"
host = "127.0.0.1"
port = {api}
expect = "open"
vantage = "internal"

[[check]]
name = "db from the dmz"
kind = "tcp"
host = "127.0.0.1"
port = {api}
expect = "open"
vantage = ["dmz", "internal"]
"#
    )
}

#[test]
fn a_vantage_no_check_declares_is_a_usage_error_listing_the_declared_ones() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("v.toml", &spec(api));
    let out = ws
        .reach()
        .args(["run", "v.toml", "--vantage", "internl"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.contains("--vantage internl")
            && out.stderr.contains("the checks carry the vantages dmz, internal"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing was probed: {}", out.stdout);

    // A mistyped --tag is refused the same way, even beside a tag that exists.
    let out = ws
        .reach()
        .args(["run", "v.toml", "--tag", "smoke", "--tag", "smkoe"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.contains("--tag smkoe") && out.stderr.contains("the checks carry the tags smoke"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_vantage_bound_checks_are_skipped_with_one_line_that_says_how_to_run_them() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("v.toml", &spec(api));
    let out = ws.reach().args(["run", "v.toml"]).output().expect_code(0);
    let line = "2 checks were not run: bound to a vantage point, and this run has no --vantage; \
                --vantage dmz or --vantage internal would run them";
    assert_eq!(
        out.stdout.matches(line).count(),
        1,
        "the report says it once:\n{}",
        out.stdout
    );
    assert_eq!(
        out.stderr.matches(line).count(),
        1,
        "stderr says it once:\n{}",
        out.stderr
    );

    let out = ws
        .reach()
        .args(["run", "v.toml", "--format", "json"])
        .output()
        .expect_code(0);
    let report = out.json();
    let reasons: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["skip_reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(reasons, ["-", "vantage", "vantage"]);
    assert!(out.stderr.contains(line), "{}", out.stderr);

    // A run made from a vantage point says nothing about the checks of other ones.
    let out = ws
        .reach()
        .args(["run", "v.toml", "--vantage", "dmz"])
        .output()
        .expect_code(0);
    assert!(!out.stderr.contains("not run"), "{}", out.stderr);
    assert!(out.stdout.contains("1 skip"), "{}", out.stdout);
}

#[test]
fn a_run_where_every_selected_check_was_skipped_exits_2() {
    // The only check hangs, and the deadline passes before it can finish: nothing was checked.
    let (_listener, _held, hanging) = hanging_port();
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "[[check]]\nname = \"hangs\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"open\"\ntimeout = \"30s\"\n"
        ),
    );
    let out = ws
        .reach()
        .args(["run", "d.toml", "--deadline", "200ms", "--format", "json"])
        .output()
        .expect_code(2);
    assert_eq!(out.json()["summary"]["skip"], 1);
    assert!(out.stderr.contains("nothing was checked"), "{}", out.stderr);
}

#[test]
fn a_resolve_that_matches_no_lookup_is_pointed_out() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write(
        "r.toml",
        &format!("[[check]]\nkind = \"tcp\"\nhost = \"api.test\"\nport = {api}\nexpect = \"open\"\n"),
    );
    let out = ws
        .reach()
        .args(["run", "r.toml"])
        .args(["--resolve", &format!("api.test:{api}:127.0.0.1")])
        .args(["--resolve", "apj.test:*:127.0.0.1"])
        .args(["--resolve", "api.test:1:127.0.0.1"])
        .output()
        .expect_code(0);
    assert!(
        out.stderr
            .contains("warning: --resolve apj.test:*:127.0.0.1 was not used: no check of this run looked up apj.test on any port"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("warning: --resolve api.test:1:127.0.0.1 was not used"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr
            .contains(&format!("api.test:{api}:127.0.0.1 was not used")),
        "{}",
        out.stderr
    );
}

#[test]
fn a_scan_never_asks_the_resolver_for_a_pinned_name() {
    let dns = DnsServer::start(Zone::new().a("db.test", "127.0.0.1"));
    let (_db, db) = open_port();
    let ws = Workspace::new();

    // `reach scan`: only HOST:*:ADDR can pin a scanned name.
    let out = ws
        .reach()
        .args(["scan", "db.test", "--ports", &db.to_string()])
        .args(["--resolve", &format!("db.test:{db}:127.0.0.1")])
        .args(["--dns-server", &dns.address()])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("db.test:*:ADDR"), "{}", out.stderr);
    let out = ws
        .reach()
        .args(["scan", "db.test", "--ports", &db.to_string()])
        .args(["--resolve", "db.test:*:127.0.0.1"])
        .args(["--dns-server", &dns.address(), "--format", "json"])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["checks"][0]["observed"]["port_counts"]["open"], 1);

    // A scan check in a check file, with the name pinned for one port only: refused too.
    ws.write(
        "s.toml",
        &format!(
            "[[check]]\nkind = \"scan\"\nhost = \"db.test\"\nports = [{db}]\nallow = [{db}]\n\n\
             [[check]]\nkind = \"tcp\"\nhost = \"db.test\"\nport = {db}\nexpect = \"open\"\n"
        ),
    );
    let out = ws
        .reach()
        .args(["run", "s.toml", "--resolve", &format!("db.test:{db}:127.0.0.1")])
        .args(["--dns-server", &dns.address()])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("db.test:*:ADDR"), "{}", out.stderr);
    ws.reach()
        .args(["run", "s.toml", "--resolve", "db.test:*:127.0.0.1"])
        .args(["--dns-server", &dns.address()])
        .output()
        .expect_code(0);
    let asked = dns.udp_queries.load(Ordering::SeqCst) + dns.tcp_queries.load(Ordering::SeqCst);
    assert_eq!(asked, 0, "the DNS server was asked for a pinned name");
}
