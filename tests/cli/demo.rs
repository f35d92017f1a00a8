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

/// Filters for the demo's human report: its ports are picked at each run (ephemeral, five
/// digits), its timings and dates vary, and so do the column widths they make (runs of spaces
/// between cells become two).
fn demo_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"reach \d+\.\d+\.\d+", "reach [VERSION]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[DATE]"),
        (r"\(\d+ days left\)", "([N] days left)"),
        (r"\b\d+d\b", "[N]d"),
        (r"\b\d{5}\b", "[PORT]"),
        (r"\d+(\.\d+)?(ms|s)\b", "[TIME]"),
        (r"(\S) {2,}", "$1  "),
    ]
}

/// The demo's human report at a fixed width with colour off.
fn demo_human(broken: bool, columns: &str) -> String {
    let mut args = vec!["demo", "--color", "never"];
    if broken {
        args.push("--broken");
    }
    let out = Reach::new()
        .args(args)
        .env("COLUMNS", columns)
        .output()
        .expect_code(if broken { 1 } else { 0 });
    for line in out.stdout.lines() {
        let width = line.chars().count();
        let limit: usize = columns.parse().unwrap();
        assert!(width <= limit, "{width} columns:\n{line}\n{}", out.stdout);
    }
    out.stdout
}

#[test]
fn the_demo_human_report_reads_at_a_glance() {
    // 200 columns hold the demo's rows whole, so the snapshot does not depend on where a
    // varying timing would be cut; 80 columns are checked below.
    let text = demo_human(false, "200");
    insta::with_settings!({ filters => demo_filters() }, {
        insta::assert_snapshot!("demo_human", text);
    });
    // Everything passed: no next step, and the TLS check is one row.
    assert!(!text.contains("next:"), "{text}");
    assert!(!text.contains("accepted"), "{text}");
}

#[test]
fn the_broken_demo_human_report_lists_each_failure_and_what_to_do() {
    let text = demo_human(true, "200");
    insta::with_settings!({ filters => demo_filters() }, {
        insta::assert_snapshot!("demo_broken_human", text);
    });
    assert!(text.lines().last().unwrap().starts_with("next: "), "{text}");
    assert!(
        text.contains("TLSv1.0  accepted"),
        "the table of the failing TLS check:\n{text}"
    );
}

#[test]
fn the_demo_fits_80_columns_and_a_pipe_gets_200() {
    let narrow = demo_human(true, "80");
    assert!(
        narrow.lines().any(|l| l.chars().count() > 70),
        "the width is used:\n{narrow}"
    );
    // Piped with no COLUMNS: 200 at most.
    let piped = Reach::new()
        .args(["demo", "--broken", "--color", "never"])
        .output()
        .expect_code(1);
    for line in piped.stdout.lines() {
        assert!(line.chars().count() <= 200, "{line}");
    }
}

#[test]
fn failures_and_verbose_change_only_the_human_report() {
    // The JSON report keeps every check, passes included, whatever the human flags say (the
    // unit test `width_failures_and_verbose_change_only_the_human_report` compares the bytes).
    let report = Reach::new()
        .args(["demo", "--broken", "--format", "json", "--failures", "-v"])
        .output()
        .expect_code(1)
        .json();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 13, "{report:#}");
    assert!(checks.iter().any(|c| c["status"] == "pass"), "{report:#}");
    let failures = Reach::new()
        .args(["demo", "--broken", "--color", "never", "--failures"])
        .output()
        .expect_code(1);
    assert!(!failures.stdout.contains("  pass  "), "{}", failures.stdout);
    assert_eq!(
        failures.stdout.matches("  FAIL  ").count(),
        4,
        "{}",
        failures.stdout
    );
    let verbose = Reach::new()
        .args(["demo", "--color", "never", "-v"])
        .output()
        .expect_code(0);
    assert!(verbose.stdout.contains("TLSv1.2  accepted"), "{}", verbose.stdout);
}

/// On a terminal the width comes from the terminal itself (an ioctl on stdout): util-linux's
/// `script` gives reach a pseudo-terminal of 72 columns, and no line of the report is wider.
#[test]
fn on_a_terminal_the_report_fits_the_terminal() {
    if crate::consumers::tool("script").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let stderr = dir.path().join("stderr");
    // stderr goes to a file: the progress bar draws there on a terminal.
    let inner = format!(
        "stty cols 72 rows 50; exec '{}' demo --broken --color never 2>'{}'",
        env!("CARGO_BIN_EXE_reach"),
        stderr.display()
    );
    let out = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &inner])
        .arg(&typescript)
        .env_remove("COLUMNS")
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("TLSv1.0 is accepted"), "{text}");
    let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 72, "{widest} columns on a 72-column terminal:\n{text}");
    assert!(
        widest > 60,
        "the terminal's width is used, not the minimum:\n{text}"
    );
}
