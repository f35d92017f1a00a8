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
