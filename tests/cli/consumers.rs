//! The real consumers of reach's machine formats, found on this machine: `promtool` (Debian's
//! `prometheus`), `xmllint` (Debian's `libxml2-utils`) and Python's `junitparser` (PyPI). A test
//! that needs one says why it skips when it is missing, and fails instead under
//! REACH_REQUIRE_TOOLS=1 (CI installs them all, see .ci/run).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where .ci/run installs junitparser (a venv: Debian's Python refuses `pip install` outside one).
pub const CI_VENV_PYTHON: &str = "/opt/reach-ci-venv/bin/python3";

fn missing(what: &str) {
    assert!(
        std::env::var_os("REACH_REQUIRE_TOOLS").is_none(),
        "{what} is required (REACH_REQUIRE_TOOLS=1) but missing"
    );
    eprintln!("skipped: {what} is not installed");
}

/// `program`, if it can be run.
pub fn tool(program: &str) -> Option<PathBuf> {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        missing(program);
    }
    found.then(|| PathBuf::from(program))
}

/// A Python interpreter that can import junitparser: REACH_PYTHON, the CI venv, or python3.
pub fn junitparser_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("REACH_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(CI_VENV_PYTHON), PathBuf::from("python3")]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import junitparser"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(python);
        }
    }
    missing("python3 with junitparser (pip install junitparser)");
    None
}

/// What one run of a consumer said.
pub struct Verdict {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args...` with `input` on stdin.
pub fn run(program: &Path, args: &[&str], input: &str) -> Verdict {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Verdict {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reads a JUnit file with junitparser and prints, as JSON, every suite with its counts and
/// properties and every case with its outcome as junitparser decides it.
pub const JUNITPARSER_SCRIPT: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        results = case.result
        if not results:
            outcome = "pass"
        elif isinstance(results[0], Failure):
            outcome = "fail"
        elif isinstance(results[0], Error):
            outcome = "error"
        elif isinstance(results[0], Skipped):
            outcome = "skip"
        else:
            outcome = "unknown"
        first = results[0] if results else None
        cases.append({
            "classname": case.classname,
            "name": case.name,
            "time": case.time,
            "outcome": outcome,
            "message": first.message if first is not None else None,
            "type": first.type if first is not None else None,
            "text": first.text if first is not None else None,
        })
    properties = {p.name: p.value for p in (suite.properties() or [])}
    suites.append({
        "name": suite.name,
        "tests": suite.tests,
        "failures": suite.failures,
        "errors": suite.errors,
        "skipped": suite.skipped,
        "properties": properties,
        "cases": cases,
    })
print(json.dumps(suites))
"#;

/// Perl with Monitoring::Plugin (Debian's `libmonitoring-plugin-perl`, the library behind the
/// Monitoring Plugins' own perl plugins), if it is installed.
pub fn monitoring_plugin_perl() -> Option<PathBuf> {
    let ok = Command::new("perl")
        .args(["-MMonitoring::Plugin::Performance", "-e", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        missing("perl with Monitoring::Plugin (libmonitoring-plugin-perl)");
    }
    ok.then(|| PathBuf::from("perl"))
}

/// Parses the performance data on stdin with Monitoring::Plugin::Performance and prints one
/// line per value: label, value, unit, and the threshold status of the value (0 OK, 1
/// WARNING, 2 CRITICAL) as the plugin library computes it from the warn and crit ranges.
pub const PERFDATA_SCRIPT: &str = r#"
use strict;
use warnings;
use Monitoring::Plugin::Performance;
local $/;
my $text = <STDIN>;
my @values = Monitoring::Plugin::Performance->parse_perfstring($text)
    or die "not performance data: $text";
for my $p (@values) {
    printf "%s\t%s\t%s\t%d\n", $p->label, $p->value, $p->uom // "", $p->threshold->get_status($p->value);
}
"#;
