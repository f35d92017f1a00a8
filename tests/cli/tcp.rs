//! TCP port checks against loopback listeners: states, per-address results, reports.

use crate::util::{closed_port, open_port, stable_filters, Workspace};

const SPEC: &str = r#"
profile = "shop"

[vars]
host = "127.0.0.1"

[defaults]
timeout = "2s"

[[check]]
name = "API listens"
kind = "tcp"
host = "{host}"
port = "{api}"
expect = "open"
tags = ["smoke"]

[[check]]
name = "Redis stays internal"
kind = "tcp"
host = "{host}"
port = "{redis}"
expect = "not-exposed"

[[check]]
name = "Admin port answers"
kind = "tcp"
host = "{host}"
port = "{redis}"
expect = "open"
"#;

#[test]
fn open_and_closed_ports_pass_and_fail_with_the_spec_line() {
    let (_api, api) = open_port();
    let redis = closed_port();
    let ws = Workspace::new();
    ws.write("shop.toml", SPEC);
    let out = ws
        .reach()
        .args([
            "run",
            "shop.toml",
            "--var",
            &format!("api={api}"),
            "--var",
            &format!("redis={redis}"),
        ])
        .output()
        .expect_code(1);
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("human_report", out.stdout);
    });
    assert!(
        out.stdout.contains("shop.toml:25"),
        "failures point at their spec line:\n{}",
        out.stdout
    );
}

#[test]
fn the_json_report_matches_the_schema_and_says_what_was_seen() {
    let (_api, api) = open_port();
    let redis = closed_port();
    let ws = Workspace::new();
    ws.write("shop.toml", SPEC);
    let out = ws
        .reach()
        .args(["run", "shop.toml", "--format", "json"])
        .env("REACH_VAR_api", &api.to_string())
        .env("REACH_VAR_REDIS", &redis.to_string())
        .output()
        .expect_code(1);
    let report = out.json();
    assert_eq!(report["summary"]["pass"], 2);
    assert_eq!(report["summary"]["fail"], 1);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks[0]["id"], "shop.api-listens");
    assert_eq!(checks[0]["observed"]["addresses"][0]["state"], "open");
    assert_eq!(checks[0]["observed"]["addresses"][0]["reason"], "syn-ack");
    assert_eq!(checks[1]["observed"]["summary"], "closed");
    assert_eq!(checks[2]["status"], "fail");
    assert_eq!(checks[2]["stage"], "tcp");
    assert_eq!(checks[2]["error"], "refused");
    assert_eq!(checks[2]["source"]["line"], 25);
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("json_report", out.stdout);
    });
}

#[test]
fn a_name_with_several_addresses_is_checked_on_each() {
    let (_api, port) = open_port();
    let ws = Workspace::new();
    ws.write(
        "multi.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"api.shop.test\"\nport = \"{port}\"\nexpect = \"open\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "multi.toml",
            "--format",
            "json",
            "--var",
            &format!("port={port}"),
        ])
        .args(["--resolve", &format!("api.shop.test:{port}:127.0.0.1,127.0.0.2")])
        .output()
        .expect_code(1);
    let report = out.json();
    let check = &report["checks"][0];
    assert_eq!(
        check["observed"]["summary"],
        "open on 127.0.0.1, closed on 127.0.0.2"
    );
    assert_eq!(check["observed"]["addresses"].as_array().unwrap().len(), 2);
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("api.shop.test (127.0.0.2:"),
        "{check}"
    );
}

#[test]
fn ipv6_literals_are_probed() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let ws = Workspace::new();
    ws.write(
        "v6.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"[::1]\"\nport = \"{port}\"\nexpect = \"open\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "v6.toml",
            "--format",
            "json",
            "--var",
            &format!("port={port}"),
        ])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["checks"][0]["target"], format!("[::1]:{port}"));
}

#[test]
fn a_port_list_becomes_one_result_per_port() {
    let (_a, open) = open_port();
    let closed = closed_port();
    let ws = Workspace::new();
    ws.write(
        "list.toml",
        "[[check]]\nid = \"internal\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nports = \"{ports}\"\nexpect = \"not-exposed\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "list.toml",
            "--format",
            "json",
            "--var",
            &format!("ports={closed},{open}"),
        ])
        .output()
        .expect_code(1);
    let report = out.json();
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // In port order, however the list is written.
    let mut expected = [(closed, "pass"), (open, "fail")];
    expected.sort();
    assert_eq!(ids, expected.map(|(port, _)| format!("list.internal/{port}")));
    for (check, (_, status)) in report["checks"].as_array().unwrap().iter().zip(expected) {
        assert_eq!(check["status"], status);
    }
}

#[test]
fn resolve_overrides_point_a_name_at_a_local_address() {
    // Never the system resolver in a test: --resolve answers for the name.
    let closed = closed_port();
    let ws = Workspace::new();
    ws.write(
        "ovr.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"{h}\"\nport = \"{p}\"\nexpect = \"not-exposed\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "ovr.toml",
            "--format",
            "json",
            "--var",
            "h=cache.shop.test",
        ])
        .args(["--var", &format!("p={closed}")])
        .args(["--resolve", &format!("cache.shop.test:{closed}:127.0.0.1")])
        .output()
        .expect_code(0);
    let check = &out.json()["checks"][0];
    assert_eq!(check["observed"]["summary"], "closed");
    assert_eq!(check["target"], format!("cache.shop.test:{closed}"));
}
