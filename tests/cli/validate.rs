//! `reach validate`: the structure of a file without its variables' values, the values when they
//! are given, and every error of a file at once, by line, without errors that only follow from
//! another.

use crate::util::{Reach, Workspace};

/// `reach validate` run from the repository root, so that files are named as a user types them.
fn validate_shipped(args: &[&str]) -> crate::util::Output {
    let mut reach = Reach::new().args(["validate"]).args(args);
    reach.command.current_dir(env!("CARGO_MANIFEST_DIR"));
    reach.output()
}

/// The shipped profiles, as `checks/*.toml` expands in a shell.
fn shipped_profiles() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/checks"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .map(|name| format!("checks/{name}"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_shipped_profiles_validate_without_values_and_list_what_they_need() {
    let files = shipped_profiles();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = validate_shipped(&args).expect_code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    insta::assert_snapshot!("validate_shipped_profiles_without_values", out.stdout);
}

#[test]
fn the_shipped_profiles_validate_with_their_values() {
    let files = shipped_profiles();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--var", "host=app.example.test", "--var", "server_ip=198.18.0.1"]);
    let out = validate_shipped(&args).expect_code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    insta::assert_snapshot!("validate_shipped_profiles_with_values", out.stdout);

    // The values are checked too: a host that is no host name, an IP that is none.
    let mut args: Vec<&str> = vec!["checks/flowsync.toml"];
    args.extend(["--var", "host=not a host", "--var", "server_ip=198.18.0"]);
    let out = validate_shipped(&args).expect_code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    insta::assert_snapshot!("validate_flowsync_with_bad_values", out.stderr);
}

const NEEDS_VARS: &str = r#"[vars]
host = { description = "the server" }
port = { description = "the API port" }
ip = { description = "the server's address" }

[[check]]
kind = "tcp"
host = "{host}"
ports = ["{port}", 443]
expect = "open"

[[check]]
kind = "dns"
host = "{host}"
equals = ["{ip}"]

[[check]]
kind = "tls"
host = "{host}"
sni = "www.{host}"
protocols = ["{tls}"]

[[check]]
kind = "http"
url = "https://{host}:{port}/health"
"#;

#[test]
fn a_file_that_needs_variables_validates_its_structure_and_names_them() {
    let ws = Workspace::new();
    // `{tls}` is no declared variable: a typo, reported as an error even without values.
    ws.write("needs.toml", &NEEDS_VARS.replace("{tls}", "TLSv1.3"));
    let out = ws
        .reach()
        .args(["validate", "needs.toml"])
        .output()
        .expect_code(0);
    assert_eq!(
        out.stdout,
        "needs.toml: structure ok; needs variables: host, ip, port\n\
         ok: 1 file valid as far as values are given; pass --var NAME=VALUE to check the values of the variables above too\n"
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);

    // Some values given: the rest is still needed.
    let out = ws
        .reach()
        .args(["validate", "needs.toml", "--var", "host=api.example.test"])
        .output()
        .expect_code(0);
    assert!(
        out.stdout
            .starts_with("needs.toml: structure ok; needs variables: ip, port\n"),
        "{}",
        out.stdout
    );

    // Every value given: every check is built.
    let out = ws
        .reach()
        .args(["validate", "needs.toml", "--var", "host=api.example.test"])
        .args(["--var", "port=8443", "--var", "ip=198.18.0.1"])
        .output()
        .expect_code(0);
    assert_eq!(out.stdout, "ok: 5 checks in 1 file\n");

    // A run cannot do without them.
    let out = ws.reach().args(["run", "needs.toml"]).output().expect_code(2);
    assert!(
        out.stderr.contains("variable `host` has no value (the server)"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn given_values_are_checked_and_every_error_is_listed_by_line() {
    let ws = Workspace::new();
    ws.write("needs.toml", &NEEDS_VARS.replace("{tls}", "TLSv1.3"));
    let out = ws
        .reach()
        .args(["validate", "needs.toml", "--var", "host=not a host"])
        .args(["--var", "port=99999", "--var", "ip=198.18.0"])
        .output()
        .expect_code(2);
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("error: needs.toml:"))
        .map(|rest| rest.split(": ").next().unwrap())
        .collect();
    // tcp host and ports, dns host and equals, tls host and sni, the http URL: by line.
    assert_eq!(
        located,
        ["8:8", "9:9", "14:8", "15:11", "19:8", "20:7", "25:7"],
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`not a host`"), "{}", out.stderr);
    assert!(out.stderr.contains("99999"), "{}", out.stderr);
}

#[test]
fn a_missing_value_causes_no_other_error() {
    let ws = Workspace::new();
    // `{tls}` is declared but has no value: `protocols` must not then be called empty, nor the
    // record type unknown.
    let text = NEEDS_VARS
        .replace(
            "ip = {",
            "tls = { description = \"a version\" }\ntype = { description = \"a record type\" }\nip = {",
        )
        .replace("equals = [\"{ip}\"]", "type = \"{type}\"\nequals = [\"{ip}\"]");
    ws.write("needs.toml", &text);
    let out = ws
        .reach()
        .args(["validate", "needs.toml"])
        .output()
        .expect_code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("needs.toml: structure ok; needs variables: host, ip, port, tls, type\n"),
        "{}",
        out.stdout
    );
    let out = ws.reach().args(["run", "needs.toml"]).output().expect_code(2);
    let errors: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert!(
        errors.iter().all(|e| e.contains("has no value")),
        "only the missing values are errors of a run:\n{}",
        out.stderr
    );
}

#[test]
fn a_real_error_is_reported_beside_missing_values() {
    let ws = Workspace::new();
    ws.write("typo.toml", NEEDS_VARS);
    let out = ws.reach().args(["validate", "typo.toml"]).output().expect_code(2);
    assert!(
        out.stderr.contains("typo.toml:21:13: undefined variable `tls`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("has no value"), "{}", out.stderr);
    assert_eq!(out.stderr.matches("error: ").count(), 1, "{}", out.stderr);
}

#[test]
fn every_error_of_one_check_is_reported_without_knock_on_errors() {
    let ws = Workspace::new();
    // Three faults in one check: a bad host, an unknown key and a mistyped common key.
    ws.write(
        "many.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"not a host\"\nprots = [1]\nport = 1\nretries = \"two\"\nexpect = \"open\"\n",
    );
    let out = ws.reach().args(["validate", "many.toml"]).output().expect_code(2);
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("error: many.toml:"))
        .collect();
    assert_eq!(located.len(), 3, "{}", out.stderr);
    assert!(located[0].starts_with("3:8: `not a host`"), "{}", out.stderr);
    assert!(
        located[1].starts_with("4:1: unknown field `prots`"),
        "{}",
        out.stderr
    );
    assert!(located[2].starts_with("6:11: invalid type"), "{}", out.stderr);

    // A required key of the wrong type is not also missing; a key taken out for a fault is not
    // also needed (`port`).
    ws.write(
        "many.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"not a host\"\nport = \"x\"\nexpect = 5\n",
    );
    let out = ws.reach().args(["validate", "many.toml"]).output().expect_code(2);
    assert!(!out.stderr.contains("missing field"), "{}", out.stderr);
    assert!(!out.stderr.contains("needs `port`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("many.toml:5:10: invalid type"),
        "{}",
        out.stderr
    );
}
