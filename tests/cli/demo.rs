//! `reach demo`: the deployment it starts passes every check kind, and `--broken` fails exactly
//! the three checks its three mistakes break, at the stage that shows each one.

use crate::util::Reach;
use std::collections::BTreeMap;

/// id -> (status, stage) of every check of a JSON report.
fn verdicts(report: &serde_json::Value) -> BTreeMap<String, (String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or("").to_owned();
            (text("id"), (text("status"), text("stage")))
        })
        .collect()
}

#[test]
fn the_demo_passes_and_uses_every_check_kind() {
    let out = Reach::new()
        .args(["demo", "--format", "json"])
        .output()
        .expect_code(0);
    let report = out.json();
    let checks = report["checks"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = checks.iter().filter_map(|c| c["kind"].as_str()).collect();
    for kind in [
        "tcp",
        "dns",
        "tls",
        "http",
        "websocket",
        "endpoint",
        "scan",
        "listen",
    ] {
        assert!(kinds.contains(kind), "the demo has no {kind} check: {kinds:?}");
    }
    let failing: Vec<_> = verdicts(&report)
        .into_iter()
        .filter(|(_, (status, _))| status != "pass")
        .collect();
    assert!(failing.is_empty(), "{failing:?}\n{}", out.stdout);
    // The certificate came from the demo's own CA, and the names from its own DNS server.
    let tls = checks.iter().find(|c| c["kind"] == "tls").unwrap();
    assert_eq!(
        tls["observed"]["tls"]["certificate"]["issuer"],
        "CN=reach demo CA (throw-away)"
    );
}

#[test]
fn the_broken_demo_fails_exactly_its_three_mistakes() {
    let good = verdicts(
        &Reach::new()
            .args(["demo", "--format", "json"])
            .output()
            .expect_code(0)
            .json(),
    );
    let out = Reach::new()
        .args(["demo", "--broken", "--format", "json"])
        .output()
        .expect_code(1);
    let broken = verdicts(&out.json());
    let changed: BTreeMap<&str, (&str, &str)> = broken
        .iter()
        .filter(|(id, verdict)| good.get(*id) != Some(*verdict))
        .map(|(id, (status, stage))| (id.as_str(), (status.as_str(), stage.as_str())))
        .collect();
    let expected = BTreeMap::from([
        // The internal port is open: the tcp check and the scan both see it.
        ("demo.the-cache-is-not-exposed", ("fail", "tcp")),
        ("demo.only-the-public-ports-are-open", ("fail", "tcp")),
        // TLS 1.0 is enabled.
        ("demo.tls-as-mozilla-s-intermediate-profile", ("fail", "tls")),
        // Port 80 answers the page instead of redirecting.
        ("demo.plain-http-redirects-to-https", ("fail", "http")),
    ]);
    assert_eq!(changed, expected, "{}", out.stdout);
}

#[test]
fn the_demo_ignores_the_environment() {
    // Neither a proxy nor variables may redirect the demo's loopback run.
    let out = Reach::new()
        .args(["demo", "--format", "json"])
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("REACH_VAR_host", "elsewhere.invalid")
        .env("REACH_VAR_https_port", "1")
        .output()
        .expect_code(0);
    assert_eq!(out.json()["summary"]["fail"], 0, "{}", out.stdout);
}

#[test]
fn the_broken_demo_says_what_is_wrong_in_words() {
    let out = Reach::new()
        .args(["demo", "--broken", "--color", "never"])
        .output()
        .expect_code(1);
    for words in [
        "accepted a TCP connection",
        "unexpected open port",
        "TLSv1.0 is accepted",
        "without a redirect",
    ] {
        assert!(out.stdout.contains(words), "`{words}` missing:\n{}", out.stdout);
    }
}
