//! Command-line behaviour: exit codes, filters, deadline, output files, pipes, schema.

use crate::util::{closed_port, hanging_port, open_port, pipe_without_reader, Reach, Workspace};
use std::process::Stdio;

fn spec_with(api: u16, other: u16) -> String {
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
name = "other"
kind = "tcp"
host = "127.0.0.1"
port = {other}
expect = "open"
vantage = "internal"
"#
    )
}

#[test]
fn unknown_flags_and_bad_values_exit_2() {
    let out = Reach::new()
        .args(["run", "x.toml", "--frobnicate"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("--frobnicate"), "{}", out.stderr);
    let out = Reach::new()
        .args(["run", "x.toml", "--timeout", "soon"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("soon"), "{}", out.stderr);
    // A check file's timeout is at most 1h; the flag that replaces it has the same bound.
    for args in [
        vec!["run", "x.toml", "--timeout", "2h"],
        vec!["scan", "127.0.0.1", "--timeout", "2h"],
        vec!["tls", "127.0.0.1", "--timeout", "2h"],
    ] {
        let out = Reach::new().args(&args).output().expect_code(2);
        assert!(out.stderr.contains("at most 1h"), "{args:?}: {}", out.stderr);
    }
    let out = Reach::new()
        .args(["run", "x.toml", "--resolve", "a.test:443"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("HOST:PORT:ADDR"), "{}", out.stderr);
    Reach::new().args(["run"]).output().expect_code(2);
}

#[test]
fn help_documents_the_exit_codes() {
    let out = Reach::new().args(["run", "--help"]).output().expect_code(0);
    assert!(
        out.stdout
            .contains("3    at least one check could not be observed"),
        "{}",
        out.stdout
    );
}

/// The long flags a `--help` text lists as options (not those its prose mentions).
fn listed_flags(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| {
            let start = line.find("--")?;
            let flag: String = line[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect();
            Some(flag)
        })
        .collect()
}

#[test]
fn each_command_help_lists_its_own_flags_its_exit_codes_and_an_example() {
    // (command, flags it must list, flags of other commands it must not list)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "run",
            &["--var", "--tag", "--vantage", "--format", "--color", "--deadline"],
            &[
                "--ports",
                "--allow",
                "--policy",
                "--internal",
                "--broken",
                "--sni",
            ],
        ),
        (
            "validate",
            &["--var"],
            &["--format", "--color", "--tag", "--timeout", "--output", "--quiet"],
        ),
        (
            "scan",
            &["--ports", "--top", "--allow", "--format", "--color"],
            &[
                "--var",
                "--tag",
                "--policy",
                "--internal",
                "--broken",
                "--ca-file",
            ],
        ),
        (
            "listeners",
            &["--internal", "--format", "--color"],
            &["--ports", "--var", "--policy", "--timeout", "--resolve"],
        ),
        (
            "demo",
            &["--broken", "--format", "--color"],
            &["--ports", "--var", "--policy", "--tag"],
        ),
        (
            "tls",
            &["--policy", "--sni", "--forbid", "--format", "--color"],
            &["--ports", "--allow", "--var", "--tag", "--internal", "--top"],
        ),
        (
            "serve",
            &[
                "--listen",
                "--every",
                "--allow-target",
                "--web.config.file",
                "--var",
            ],
            &[
                "--format", "--color", "--ports", "--policy", "--broken", "--quiet",
            ],
        ),
        ("schema", &[], &["--format", "--color", "--var"]),
        ("completions", &[], &["--format", "--color", "--var"]),
        ("man", &[], &["--format", "--color", "--var"]),
    ];
    for (command, own, foreign) in cases {
        let out = Reach::new().args([command, &"--help"]).output().expect_code(0);
        let flags = listed_flags(&out.stdout);
        for flag in *own {
            assert!(
                flags.iter().any(|f| f == flag),
                "`reach {command} --help` lacks {flag}:\n{}",
                out.stdout
            );
        }
        for flag in *foreign {
            assert!(
                !flags.iter().any(|f| f == flag),
                "`reach {command} --help` lists {flag}, which is not its own:\n{}",
                out.stdout
            );
        }
        let extra: Vec<&String> = flags
            .iter()
            .filter(|f| !["--help", "--version"].contains(&f.as_str()))
            .collect();
        if own.is_empty() {
            assert!(
                extra.is_empty(),
                "`reach {command}` has no flags of its own: {extra:?}"
            );
        }
        assert!(out.stdout.contains("\nExit codes"), "{command}:\n{}", out.stdout);
        assert!(out.stdout.contains("\nExample"), "{command}:\n{}", out.stdout);
        let examples = &out.stdout[out.stdout.find("\nExample").unwrap_or(0)..];
        assert!(
            examples.contains(&format!("reach {command}")),
            "`reach {command} --help` shows no example of it:\n{}",
            out.stdout
        );
        // -h gives the same exit codes (clap's short help uses after_help as well).
        let short = Reach::new().args([command, &"-h"]).output().expect_code(0);
        assert!(
            short.stdout.contains("\nExit codes"),
            "{command} -h:\n{}",
            short.stdout
        );
    }
}

#[test]
fn tag_and_vantage_filters_skip_checks_visibly() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("f.toml", &spec_with(api, closed_port()));
    let out = ws
        .reach()
        .args(["run", "f.toml", "--tag", "smoke", "--format", "json"])
        .output()
        .expect_code(0);
    let report = out.json();
    assert_eq!(report["checks"][0]["status"], "pass");
    assert_eq!(report["checks"][1]["status"], "skip");
    assert_eq!(report["checks"][1]["skip_reason"], "tag");

    // Without --vantage, a vantage-bound check is skipped and says how to run it.
    let out = ws.reach().args(["run", "f.toml"]).output().expect_code(0);
    assert!(out.stdout.contains("0 fail"), "{}", out.stdout);
    let out = ws
        .reach()
        .args(["run", "f.toml", "--format", "json"])
        .output()
        .expect_code(0);
    let report = out.json();
    assert_eq!(report["checks"][1]["skip_reason"], "vantage");
    assert!(report["checks"][1]["message"]
        .as_str()
        .unwrap()
        .contains("--vantage internal"));

    // With the right vantage the check runs (and fails: nothing listens).
    let out = ws
        .reach()
        .args(["run", "f.toml", "--vantage", "internal"])
        .output()
        .expect_code(1);
    assert!(out.stdout.contains("1 fail"), "{}", out.stdout);
}

#[test]
fn filters_that_select_nothing_are_a_usage_error_not_a_silent_pass() {
    let ws = Workspace::new();
    ws.write("f.toml", &spec_with(closed_port(), closed_port()));
    let out = ws
        .reach()
        .args(["run", "f.toml", "--tag", "nope"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.contains("no check is selected by --tag nope"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_deadline_skips_what_it_cuts_off_and_exits_3() {
    let (_listener, _held, hanging) = hanging_port();
    // The quick check's listener is on another address: a silent port of a host that answers
    // other probes is settled in a few round trips (`filtered`), not left hanging.
    let api_listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let api = api_listener.local_addr().unwrap().port();
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "[[check]]\nname = \"hangs\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"open\"\ntimeout = \"30s\"\n\n\
             [[check]]\nname = \"quick\"\nkind = \"tcp\"\nhost = \"127.0.0.2\"\nport = {api}\nexpect = \"open\"\n"
        ),
    );
    let out = ws
        .reach()
        .args(["run", "d.toml", "--deadline", "300ms", "--format", "json"])
        .output()
        .expect_code(3);
    let report = out.json();
    assert_eq!(report["checks"][0]["status"], "skip");
    assert_eq!(report["checks"][0]["skip_reason"], "deadline");
    assert_eq!(
        report["checks"][1]["status"], "pass",
        "one hanging target holds no other back"
    );
}

#[test]
fn a_silent_port_is_filtered_after_a_retry() {
    let (_listener, _held, hanging) = hanging_port();
    let ws = Workspace::new();
    ws.write(
        "s.toml",
        &format!(
            "[[check]]\nname = \"dropped\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"filtered\"\ntimeout = \"200ms\"\nretries = 1\n\n\
             [[check]]\nname = \"must answer\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"open\"\ntimeout = \"200ms\"\nretries = 1\n"
        ),
    );
    let out = ws
        .reach()
        .args(["run", "s.toml", "--format", "json"])
        .output()
        .expect_code(1);
    let report = out.json();
    assert_eq!(report["checks"][0]["status"], "pass");
    assert_eq!(report["checks"][0]["attempts"], 2);
    assert_eq!(
        report["checks"][0]["observed"]["addresses"][0]["reason"],
        "no-response"
    );
    let fail = &report["checks"][1];
    assert_eq!(
        (
            fail["status"].as_str(),
            fail["stage"].as_str(),
            fail["error"].as_str()
        ),
        (Some("fail"), Some("tcp"), Some("timeout"))
    );
}

#[test]
fn output_files_are_written_whole_or_not_at_all() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("o.toml", &spec_with(api, closed_port()));
    let out = ws
        .reach()
        .args(["run", "o.toml", "--format", "json", "-o", "report.json"])
        .output()
        .expect_code(0);
    assert!(out.stdout.is_empty());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("report.json")).unwrap()).unwrap();
    crate::util::assert_valid_report(&written);
    let leftovers: Vec<_> = std::fs::read_dir(ws.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".reach-report-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");

    // Readable by others as the umask allows, like any output file, not private like a temp file.
    let report = ws.path().join("umask.json");
    Reach::wrapped(&["sh", "-c", "umask 022 && exec \"$0\" \"$@\""])
        .args(["run", &ws.path().join("o.toml").display().to_string()])
        .args(["-o", &report.display().to_string()])
        .output()
        .expect_code(0);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&report).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644);

    let out = ws
        .reach()
        .args(["run", "o.toml", "-o", "no/such/dir/report.json"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr
            .contains("cannot write the report to no/such/dir/report.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = Reach::new()
        .command
        .args(["demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Runs reach in `dir` with stdout or stderr (`fd` 1 or 2) a pipe whose reader has gone away
/// (every write fails with EPIPE). Returns the exit code and what the other stream carried.
fn with_a_broken_pipe(dir: &std::path::Path, fd: u8, args: &[&str]) -> (Option<i32>, String) {
    let writer = pipe_without_reader();
    let mut command = Reach::new().command;
    command.current_dir(dir).args(args);
    if fd == 1 {
        command.stdout(writer).stderr(Stdio::piped());
    } else {
        command.stderr(writer).stdout(Stdio::piped());
    }
    let out = command.output().expect("run reach");
    let other = if fd == 1 { &out.stderr } else { &out.stdout };
    (out.status.code(), String::from_utf8_lossy(other).into_owned())
}

#[test]
fn a_stderr_whose_reader_is_gone_is_not_a_crash() {
    let ws = Workspace::new();
    ws.write("bad.toml", "[[check]]\nkind = \"icmp\"\n");
    let (_api, api) = open_port();
    ws.write(
        "v.toml",
        &format!("[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {api}\nexpect = \"open\"\n"),
    );
    // Errors, warnings and notes go to stderr; a failed write must change nothing else.
    for (args, code) in [
        (&["validate", "bad.toml"][..], 2),
        (&["run", "bad.toml"][..], 2),
        (&["run", "bad.toml", "--format", "nagios"][..], 3),
        (&["run", "v.toml", "--var", "unused=1"][..], 0),
        (&["run", "v.toml", "--tag", "nope"][..], 2),
        (&["run", "--bogus"][..], 2),
        (&["man", "nope"][..], 2),
    ] {
        let (status, stdout) = with_a_broken_pipe(ws.path(), 2, args);
        assert_eq!(status, Some(code), "{args:?}: {stdout}");
        assert!(!stdout.contains("panicked"), "{args:?}: {stdout}");
    }
    // A closed descriptor (`2>&-`) is no crash either.
    let out = Reach::wrapped(&["sh", "-c", "exec \"$0\" \"$@\" 2>&-"])
        .args(["validate", &ws.path().join("bad.toml").display().to_string()])
        .output();
    assert_eq!(out.code, 2, "{}", out.stdout);
}

#[test]
fn a_stdout_whose_reader_is_gone_is_not_a_crash() {
    let ws = Workspace::new();
    ws.write("bad.toml", "[[check]]\nkind = \"icmp\"\n");
    ws.write(
        "ok.toml",
        &format!(
            "[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\nexpect = \"closed\"\n",
            closed_port()
        ),
    );
    // `reach ... | head -0`: the report, or the Nagios status line of a run that could not start.
    for (args, code) in [
        (&["run", "bad.toml", "--format", "nagios"][..], 3),
        (&["run", "--bogus", "--format", "nagios"][..], 3),
        (&["run", "ok.toml"][..], 0),
        (&["validate", "ok.toml"][..], 0),
        (&["schema"][..], 0),
        (&["run", "--help"][..], 0),
    ] {
        let (status, stderr) = with_a_broken_pipe(ws.path(), 1, args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(status, Some(code), "{args:?}: {stderr}");
    }
}

#[test]
fn the_schema_is_valid_json_schema() {
    let out = Reach::new().args(["schema"]).output().expect_code(0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(schema["properties"]["schema_version"]["const"], 1);
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("c.toml", &spec_with(api, closed_port()));
    let plain = ws
        .reach()
        .args(["run", "c.toml", "--tag", "smoke"])
        .output()
        .expect_code(0);
    assert!(!plain.stdout.contains('\x1b'), "no colour into a pipe");
    let colour = ws
        .reach()
        .args(["run", "c.toml", "--tag", "smoke", "--color", "always"])
        .output()
        .expect_code(0);
    assert!(colour.stdout.contains("\x1b[32m"), "{}", colour.stdout);
}

#[test]
fn an_unused_var_is_pointed_out() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write(
        "v.toml",
        &format!("[vars]\nhost = \"127.0.0.1\"\n[[check]]\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {api}\nexpect = \"open\"\n"),
    );
    let out = ws
        .reach()
        .args(["run", "v.toml", "--var", "hots=10.0.0.1"])
        .output()
        .expect_code(0);
    assert!(
        out.stderr
            .contains("warning: --var hots is not used by any check file"),
        "{}",
        out.stderr
    );
    let out = ws
        .reach()
        .args(["validate", "v.toml", "--var", "host=127.0.0.1"])
        .output()
        .expect_code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn a_bad_ca_file_is_a_usage_error_even_when_no_check_uses_tls() {
    let ws = Workspace::new();
    ws.write("t.toml", &spec_with(closed_port(), closed_port()));
    ws.write("empty.pem", "");
    for ca in ["missing.pem", "empty.pem"] {
        let out = ws
            .reach()
            .args(["run", "t.toml", "--ca-file", ca])
            .output()
            .expect_code(2);
        assert!(out.stderr.contains(ca), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing was probed: {}", out.stdout);
    }
}

#[test]
fn a_low_open_file_limit_lowers_the_concurrency_instead_of_failing_checks() {
    // 5,000 checks with room for 64 descriptors: each check holds a socket, so at most a few
    // may run at once. None may fail for lack of a descriptor (EMFILE).
    let ws = Workspace::new();
    let port = closed_port();
    let mut spec = String::new();
    for i in 0..5000 {
        spec.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"closed\"\n"
        ));
    }
    let path = ws.write("many.toml", &spec);
    let out = Reach::wrapped(&["sh", "-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .args(["run", path.to_str().unwrap(), "--format", "json"])
        .output();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            out.stderr,
            &out.stdout[..out.stdout.len().min(2000)]
        )
    });
    assert_eq!(
        report["summary"]["pass"], 5000,
        "{}\n{}",
        out.stderr, report["summary"]
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("the open-file limit"), "{}", out.stderr);
}
