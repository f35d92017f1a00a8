//! Large check files: a generated file of 20,000 checks (one `[[check]]` table each, as an
//! inventory generator writes them, plus a port list) validates and runs with every check
//! counted, and both streamed reports (JSON and human) hold all of them.

use crate::util::{assert_valid_report, closed_port, open_port, Workspace};

const TABLES: usize = 19_998;

/// `TABLES` checks of a closed port, each its own table with its host from a variable, and one
/// table whose port list names the closed port and an open one: 20,000 checks in all.
fn large_spec(closed: u16, open: u16) -> String {
    let mut spec = String::from("profile = \"big\"\n[vars]\nhost = \"127.0.0.1\"\n");
    for index in 0..TABLES {
        spec.push_str(&format!(
            "\n[[check]]\nid = \"c{index}\"\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {closed}\nexpect = \"closed\"\ntags = [\"bulk\"]\n"
        ));
    }
    spec.push_str(&format!(
        "\n[[check]]\nid = \"mixed\"\nkind = \"tcp\"\nhost = \"{{host}}\"\nports = [{closed}, {open}]\nexpect = \"open\"\n"
    ));
    spec
}

#[test]
fn a_file_of_twenty_thousand_checks_validates_and_runs_with_every_check_counted() {
    let (_listener, open) = open_port();
    let closed = closed_port();
    let ws = Workspace::new();
    ws.write("big.toml", &large_spec(closed, open));

    let validated = ws.reach().args(["validate", "big.toml"]).output().expect_code(0);
    assert_eq!(validated.stdout, "ok: 20000 checks in 1 file\n");

    // One closed port of the port list fails its `open`: exit 1, and every other check passes.
    ws.reach()
        .args([
            "run",
            "big.toml",
            "--timeout",
            "2s",
            "--format",
            "json",
            "-o",
            "report.json",
            "--also",
            "human=report.txt",
        ])
        .output()
        .expect_code(1);
    let text = std::fs::read_to_string(ws.path().join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_valid_report(&report);
    let summary = &report["summary"];
    assert_eq!(
        (
            &summary["total"],
            &summary["pass"],
            &summary["fail"],
            &summary["error"]
        ),
        (&20_000.into(), &19_999.into(), &1.into(), &0.into()),
        "{summary}"
    );
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 20_000);
    // In file order, then port order; every check carries its table's tags.
    assert_eq!(checks[0]["id"], "big.c0");
    assert_eq!(checks[TABLES - 1]["id"], format!("big.c{}", TABLES - 1));
    assert!(checks[..TABLES]
        .iter()
        .all(|c| c["status"] == "pass" && c["tags"][0] == "bulk"));
    let (low, high) = (closed.min(open), closed.max(open));
    let mixed: Vec<(&str, &str)> = checks[TABLES..]
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    let status_of = |port| if port == open { "pass" } else { "fail" };
    assert_eq!(
        mixed,
        [
            (format!("big.mixed/{low}").as_str(), status_of(low)),
            (format!("big.mixed/{high}").as_str(), status_of(high)),
        ]
    );

    let human = std::fs::read_to_string(ws.path().join("report.txt")).unwrap();
    assert!(human.contains("20000 checks in "), "{}", &human[..200]);
    assert!(
        human.contains(": 19999 pass, 1 fail, 0 error, 0 skip"),
        "{}",
        &human[human.len() - 300..]
    );
    // A header, one row per check, the failure's detail line, the summary.
    let rows = human
        .lines()
        .filter(|l| l.starts_with("  pass ") || l.starts_with("  FAIL "))
        .count();
    assert_eq!(rows, 20_000);
}
