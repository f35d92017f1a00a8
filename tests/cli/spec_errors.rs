//! Every class of spec error names file:line:col, exits 2, and probes nothing.

use crate::util::Workspace;

#[track_caller]
fn rejected(spec: &str, line: usize, needle: &str) {
    crate::util::assert_rejected_at(spec, &format!("{line}:"), needle);
}

const OK_CHECK: &str = "[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 1\nexpect = \"closed\"\n";

#[test]
fn unknown_key_in_a_check() {
    rejected(
        "[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 1\nexpect = \"closed\"\nexpct = \"open\"\n",
        6,
        "unknown field `expct`",
    );
}

#[test]
fn unknown_top_level_key() {
    rejected(
        &format!("profle = \"x\"\n{OK_CHECK}"),
        1,
        "unknown field `profle`",
    );
}

#[test]
fn unknown_key_in_defaults() {
    rejected(
        &format!("[defaults]\ntimout = \"1s\"\n{OK_CHECK}"),
        2,
        "unknown field `timout`",
    );
}

#[test]
fn wrong_type() {
    rejected(
        "[[check]]\nkind = \"tcp\"\nhost = 127\nport = 1\nexpect = \"closed\"\n",
        3,
        "invalid type",
    );
    rejected(
        "[[check]]\nkind = \"tcp\"\nhost = \"a.test\"\nport = 1\nexpect = \"closed\"\nretries = \"two\"\n",
        6,
        "invalid type",
    );
}

#[test]
fn undefined_variable() {
    rejected(
        "[[check]]\nkind = \"tcp\"\nhost = \"{db_host}\"\nport = 1\nexpect = \"closed\"\n",
        3,
        "undefined variable `db_host`",
    );
}

#[test]
fn required_variable_without_a_value() {
    // A run needs the value; validate checks the rest and names the variable (tests/cli/validate.rs).
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        &format!(
            "[vars]\nhost = {{ description = \"the server\" }}\n{}",
            OK_CHECK.replace("127.0.0.1", "{host}")
        ),
    );
    let out = ws.reach().args(["run", "bad.toml"]).output().expect_code(2);
    assert!(
        out.stderr
            .contains("bad.toml:5:8: variable `host` has no value (the server)"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let out = ws.reach().args(["validate", "bad.toml"]).output().expect_code(0);
    assert!(
        out.stdout
            .starts_with("bad.toml: structure ok; needs variables: host\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_port_numbers() {
    for (port, needle) in [
        ("0", "out of range"),
        ("65536", "out of range"),
        ("\"80-20\"", "backwards"),
        ("\"ssh\"", "`ssh`"),
    ] {
        rejected(
            &format!("[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"closed\"\n"),
            4,
            needle,
        );
    }
}

#[test]
fn duplicate_ids_within_and_across_files() {
    rejected(
        &format!(
            "[[check]]\nid = \"db\"\n{}\n[[check]]\nid = \"db\"\n{}",
            &OK_CHECK[10..],
            &OK_CHECK[10..]
        ),
        8,
        "duplicate check id `bad.db` (first at bad.toml:1)",
    );

    let ws = Workspace::new();
    ws.write("a.toml", &format!("profile = \"p\"\n{OK_CHECK}"));
    ws.write("b.toml", &format!("profile = \"p\"\n{OK_CHECK}"));
    let out = ws
        .reach()
        .args(["validate", "a.toml", "b.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("b.toml:2:"), "{}", out.stderr);
    assert!(out.stderr.contains("first at a.toml:2"), "{}", out.stderr);
}

#[test]
fn unknown_kind_and_expectation() {
    rejected("[[check]]\nkind = \"icmp\"\n", 2, "unknown check kind `icmp`");
    rejected(
        &OK_CHECK.replace("closed", "shut"),
        5,
        "unknown port expectation `shut`",
    );
}

#[test]
fn syntax_error() {
    rejected("[[check]\nkind = \"tcp\"\n", 1, "");
}

#[test]
fn bad_host() {
    rejected(
        &OK_CHECK.replace("127.0.0.1", "not a host"),
        3,
        "neither an IP address nor a valid host name",
    );
}

#[test]
fn a_file_without_checks_and_a_missing_file() {
    rejected("profile = \"empty\"\n", 1, "no checks");
    let ws = Workspace::new();
    let out = ws.reach().args(["run", "missing.toml"]).output().expect_code(2);
    assert!(
        out.stderr.contains("missing.toml:1:1: cannot read"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_error_of_every_file_is_listed() {
    let ws = Workspace::new();
    ws.write("a.toml", &OK_CHECK.replace("port = 1", "port = 0"));
    ws.write("b.toml", &OK_CHECK.replace("closed", "shut"));
    let out = ws
        .reach()
        .args(["validate", "a.toml", "b.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("a.toml:4:8"), "{}", out.stderr);
    assert!(out.stderr.contains("b.toml:5:10"), "{}", out.stderr);
}

#[test]
fn the_shipped_examples_validate() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = crate::util::Reach::new()
        .args(["validate", &format!("{root}/checks/examples/demo.toml")])
        .args([
            "--var",
            "https_port=8443",
            "--var",
            "http_port=8080",
            "--var",
            "internal_port=6379",
        ])
        .args(["--var", "openai_port=9001", "--var", "deepgram_port=9002"])
        .output()
        .expect_code(0);
    assert_eq!(out.stdout, "ok: 13 checks in 1 file\n");
}
