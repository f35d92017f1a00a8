//! Reports for CI and cron, through the built binary against loopback servers: JUnit read by
//! junitparser and xmllint, Prometheus by promtool, Nagios plugin output and exit codes,
//! `--baseline` changes, `--quiet`, the lock on `-o`, and complete reports under `--deadline`.

use crate::consumers::{self, junitparser_python, tool};
use crate::dns_server::{Behaviour, DnsServer, Zone};
use crate::http_servers::Server;
use crate::util::{assert_valid_report, closed_port, hanging_port, open_port, Workspace};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// An HTTPS server on 127.0.0.1 whose certificate (from a CA of its own, written to
/// `ca.pem` in `ws`) expires in `days` days.
fn https_expiring_in(ws: &Workspace, days: i64) -> (Server, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "reach report test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    let leaf = params.signed_by(&key, &ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
            .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let ca_path = ws.write("ca.pem", &ca.pem());
    (Server::http(Some(Arc::new(config))), ca_path)
}

/// A small deployment on loopback and a check file with every outcome: pass, fail (an exposed
/// port, a TXT record, a scan with an unexpected open port), error (a name whose server fails),
/// skip (by tag), and a check name full of hostile text.
struct Deployment {
    ws: Workspace,
    _open: TcpListener,
    _exposed: TcpListener,
    dns: DnsServer,
    _https: Server,
    ca: PathBuf,
}

/// Every check of `shop.toml` and the status it ends in.
const STATUSES: &[(&str, &str)] = &[
    ("shop.api-listens", "pass"),
    ("shop.redis-stays-internal", "fail"),
    ("shop.broken-name", "error"),
    ("shop.audit-only", "skip"),
    ("shop.evil", "fail"),
    ("shop.shop-a", "pass"),
    ("shop.edge-ports", "fail"),
    ("shop.health", "pass"),
    ("shop.tls", "pass"),
];

impl Deployment {
    fn start() -> Deployment {
        let ws = Workspace::new();
        let (open_listener, open) = open_port();
        let (exposed_listener, exposed) = open_port();
        let closed = closed_port();
        let dns = DnsServer::start(
            Zone::new()
                .a("shop.test", "192.0.2.10")
                .txt("shop.test", &["v=spf1 -all"])
                .behave("broken.shop.test", Behaviour::ServFail),
        );
        let (https, ca) = https_expiring_in(&ws, 365);
        let spec = format!(
            r#"
profile = "shop"

[defaults]
timeout = "2s"
retries = 0

[[check]]
name = "API listens"
kind = "tcp"
host = "127.0.0.1"
port = {open}
expect = "open"
tags = ["smoke"]
vantage = ["external"]

[[check]]
name = "Redis stays internal"
kind = "tcp"
host = "127.0.0.1"
port = {exposed}
expect = "not-exposed"
tags = ["smoke"]

[[check]]
name = "broken name"
kind = "tcp"
host = "broken.shop.test"
port = 443
expect = "open"
tags = ["smoke"]

[[check]]
name = "audit only"
kind = "tcp"
host = "127.0.0.1"
port = {open}
expect = "open"
tags = ["audit"]

[[check]]
id = "evil"
name = "evil ]]> \u001b[31m \u0000 \u0001 <b>&amp; \"q\" 'a' \uFFFE"
kind = "dns"
host = "shop.test"
type = "TXT"
server = "{dns}"
equals = ["]]>\u001b[0m\u0007<evil/>&"]
tags = ["smoke"]

[[check]]
name = "shop A"
kind = "dns"
host = "shop.test"
type = "A"
server = "{dns}"
equals = ["192.0.2.10"]
tags = ["smoke"]

[[check]]
name = "edge ports"
kind = "scan"
host = "127.0.0.1"
ports = [{open}, {exposed}, {closed}]
allow = [{open}]
tags = ["smoke"]

[[check]]
name = "health"
kind = "http"
url = "https://127.0.0.1:{https}/health"
tags = ["smoke"]

[[check]]
id = "tls"
kind = "tls"
host = "127.0.0.1"
port = {https}
protocols = "TLSv1.2 TLSv1.3"
tags = ["smoke"]
"#,
            dns = dns.address(),
            https = https.port(),
        );
        ws.write("shop.toml", &spec);
        Deployment {
            ws,
            _open: open_listener,
            _exposed: exposed_listener,
            dns,
            _https: https,
            ca,
        }
    }

    /// `reach run shop.toml` with the deployment's DNS server and CA, `--tag smoke` and
    /// `--vantage external`, plus `extra`.
    fn run(&self, extra: &[&str]) -> crate::util::Output {
        self.ws
            .reach()
            .args(["run", "shop.toml", "--tag", "smoke", "--vantage", "external"])
            .args(["--dns-server", &self.dns.address()])
            .args(["--ca-file", self.ca.to_str().unwrap()])
            .args(extra)
            .output()
    }
}

fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_deployment_ends_in_every_status() {
    let deployment = Deployment::start();
    let report = deployment.run(&["--format", "json"]).expect_code(1).json();
    let expected: BTreeMap<String, String> = STATUSES
        .iter()
        .map(|(id, status)| ((*id).to_owned(), (*status).to_owned()))
        .collect();
    assert_eq!(statuses(&report), expected);
}

#[test]
fn junitparser_reads_every_case_with_its_outcome_and_xmllint_finds_the_xml_well_formed() {
    let deployment = Deployment::start();
    let out = deployment
        .run(&["--format", "junit", "-o", "report.xml"])
        .expect_code(1);
    assert_eq!(out.stdout, "", "the report went to the file");
    let path = deployment.ws.path().join("report.xml");
    let xml = std::fs::read_to_string(&path).unwrap();
    assert!(
        xml.contains("\\x1b") && xml.contains("\\x00") && xml.contains("]]&gt;"),
        "hostile text is escaped, not dropped:\n{xml}"
    );
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}') && !xml.contains("]]>"));

    if let Some(xmllint) = tool("xmllint") {
        let verdict = consumers::run(&xmllint, &["--noout", path.to_str().unwrap()], "");
        assert!(verdict.success, "xmllint: {}{}", verdict.stdout, verdict.stderr);
        assert_eq!(verdict.stderr, "", "xmllint has no complaint");
    }
    let Some(python) = junitparser_python() else {
        return;
    };
    let script = deployment
        .ws
        .write("read_junit.py", consumers::JUNITPARSER_SCRIPT);
    let verdict = consumers::run(&python, &[script.to_str().unwrap(), path.to_str().unwrap()], "");
    assert!(verdict.success, "junitparser: {}", verdict.stderr);
    let suites: Value = serde_json::from_str(&verdict.stdout).unwrap();
    let suites = suites.as_array().unwrap();
    assert_eq!(suites.len(), 1, "one suite per check file");
    let suite = &suites[0];
    assert_eq!(suite["name"], "shop.toml");
    assert_eq!(
        (
            &suite["tests"],
            &suite["failures"],
            &suite["errors"],
            &suite["skipped"]
        ),
        (&Value::from(9), &Value::from(3), &Value::from(1), &Value::from(1))
    );
    assert_eq!(suite["properties"]["vantage"], "external");
    assert_eq!(suite["properties"]["reach.version"], env!("CARGO_PKG_VERSION"));
    let outcomes: BTreeMap<String, String> = suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            assert_eq!(case["classname"], "shop", "classname is the profile");
            assert!(case["time"].as_f64().is_some(), "time in seconds: {case}");
            (
                case["name"].as_str().unwrap().to_owned(),
                case["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = STATUSES
        .iter()
        .map(|(id, status)| ((*id).to_owned(), (*status).to_owned()))
        .collect();
    assert_eq!(outcomes, expected, "junitparser's outcome of every case");
    let case = |id: &str| {
        suite["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == id)
            .unwrap()
            .clone()
    };
    let evil = case("shop.evil");
    let text = evil["text"].as_str().unwrap();
    assert!(
        text.contains("evil ]]> \\x1b[31m \\x00 \\x01 <b>&amp; \"q\" 'a' \\u{fffe}"),
        "{text}"
    );
    assert!(
        text.contains("expected: TXT = ]]>\\x1b[0m\\x07<evil/>&"),
        "{text}"
    );
    let broken = case("shop.broken-name");
    assert_eq!(broken["type"], "servfail");
    assert!(broken["text"].as_str().unwrap().contains("source: shop.toml:"));
    assert_eq!(case("shop.audit-only")["message"], "not tagged smoke");
}

/// The label names of one sample line: `name{a="x",b="y"} 1` -> `[a, b]`.
fn label_names(line: &str) -> Vec<String> {
    let Some(start) = line.find('{') else {
        return Vec::new();
    };
    let inner = &line[start + 1..line.rfind('}').unwrap()];
    let mut names = Vec::new();
    let mut rest = inner;
    while let Some(eq) = rest.find("=\"") {
        names.push(rest[..eq].trim_start_matches(',').to_owned());
        // Skip the quoted value, honouring backslash escapes.
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = 0;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    end = eq + 2 + i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    names
}

#[test]
fn the_prometheus_output_passes_promtool_and_keeps_the_metrics_contract() {
    let deployment = Deployment::start();
    let text = deployment.run(&["--format", "prometheus"]).expect_code(1).stdout;
    if let Some(promtool) = tool("promtool") {
        let verdict = consumers::run(&promtool, &["check", "metrics"], &text);
        assert!(
            verdict.success && verdict.stdout.is_empty() && verdict.stderr.is_empty(),
            "promtool: {}{}\n{text}",
            verdict.stdout,
            verdict.stderr
        );
    }
    // Every family has HELP and TYPE, every sample belongs to a declared family.
    let mut help = BTreeSet::new();
    let mut types = BTreeSet::new();
    let mut samples: Vec<(&str, &str)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help.insert(rest.split(' ').next().unwrap());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            types.insert(words.next().unwrap());
            assert_eq!(words.next(), Some("gauge"), "{line}");
        } else {
            let name = line.split(['{', ' ']).next().unwrap();
            samples.push((name, line));
        }
    }
    assert_eq!(help, types);
    let check_labels = ["profile", "id", "kind", "target", "vantage"];
    for (name, line) in &samples {
        assert!(types.contains(name), "no TYPE for {line}");
        let labels = label_names(line);
        let (fixed, extra): (&[&str], &[&str]) = match *name {
            "reach_run_timestamp_seconds" => (&["profile", "vantage"], &[]),
            "reach_run_checks" => (&["profile", "vantage"], &["status"]),
            "reach_check_status" => (&check_labels, &["status"]),
            "reach_check_stage_seconds" => (&check_labels, &["stage"]),
            "reach_port_state" => (&check_labels, &["port", "state"]),
            "reach_port_unexpected_open" => (&check_labels, &["port"]),
            "reach_tls_protocol_accepted" => (&check_labels, &["version"]),
            _ => (&check_labels, &[]),
        };
        let wanted: Vec<&str> = fixed.iter().chain(extra).copied().collect();
        assert_eq!(labels, wanted, "labels of {line}");
    }
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle));
    let exposed = |id: &str| format!("{{profile=\"shop\",id=\"{id}\"");
    for family in [
        "reach_check_success",
        "reach_check_status",
        "reach_check_duration_seconds",
        "reach_check_stage_seconds",
        "reach_port_state",
        "reach_port_unexpected_open",
        "reach_tls_cert_not_after_seconds",
        "reach_tls_protocol_accepted",
        "reach_dns_answer_ttl_seconds",
        "reach_http_status_code",
        "reach_run_timestamp_seconds",
        "reach_run_checks",
    ] {
        assert!(types.contains(family), "{family} is missing:\n{text}");
    }
    assert!(!types.contains("reach_check_changed"), "only with --baseline");
    // No success sample for a skipped check, a status sample for it.
    assert!(!has(&format!(
        "reach_check_success{}",
        exposed("shop.audit-only")
    )));
    assert!(text.contains("id=\"shop.audit-only\",kind=\"tcp\",target=\"127.0.0.1:"));
    // The exposed port: state open and unexpected, for the tcp check and the scan.
    assert!(has(&format!(
        "reach_port_unexpected_open{}",
        exposed("shop.redis-stays-internal")
    )));
    let scan_states: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("reach_port_state{profile=\"shop\",id=\"shop.edge-ports\""))
        .collect();
    assert_eq!(
        scan_states.len(),
        2,
        "scans list only ports that are not closed: {scan_states:#?}"
    );
    assert!(scan_states.iter().all(|l| l.contains("state=\"open\"")));
    let unexpected_scan: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("reach_port_unexpected_open{profile=\"shop\",id=\"shop.edge-ports\""))
        .collect();
    assert_eq!(unexpected_scan.len(), 1, "{unexpected_scan:#?}");
    assert!(text.contains("reach_dns_answer_ttl_seconds{profile=\"shop\",id=\"shop.shop-a\""));
    assert!(text
        .lines()
        .any(|l| l.starts_with("reach_dns_answer_ttl_seconds") && l.ends_with(" 300")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("reach_http_status_code") && l.ends_with(" 200")));
    assert!(text.contains("version=\"TLSv1.3\"} 1"));
    assert!(text.contains("reach_run_checks{profile=\"shop\",vantage=\"external\",status=\"fail\"} 3"));
    // The certificate's notAfter is about a year from now, in seconds.
    let not_after: f64 = text
        .lines()
        .find(|l| l.starts_with("reach_tls_cert_not_after_seconds"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (not_after - now - 365.0 * 86_400.0).abs() < 2.0 * 86_400.0,
        "{not_after}"
    );
}

#[test]
fn a_node_exporter_textfile_is_written_whole_and_alone() {
    let deployment = Deployment::start();
    let dir = deployment.ws.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let out = deployment
        .run(&["--format", "prometheus", "-o", "textfile/reach.prom"])
        .expect_code(1);
    assert_eq!(out.stdout, "");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["reach.prom"], "no temporary or lock file is left behind");
    let text = std::fs::read_to_string(dir.join("reach.prom")).unwrap();
    assert!(text.ends_with("\n") && text.contains("# TYPE reach_run_checks gauge"));
    if let Some(promtool) = tool("promtool") {
        let verdict = consumers::run(&promtool, &["check", "metrics"], &text);
        assert!(verdict.success, "{}{}", verdict.stdout, verdict.stderr);
    }
}

fn tcp_spec(port: u16, expect: &str) -> String {
    format!(
        "profile = \"n\"\n[[check]]\nid = \"port\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"{expect}\"\ntimeout = \"2s\"\n"
    )
}

#[test]
fn nagios_says_ok_critical_and_unknown_with_the_plugin_exit_codes() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("ok.toml", &tcp_spec(api, "open"));
    ws.write("critical.toml", &tcp_spec(api, "not-exposed"));
    let out = ws
        .reach()
        .args(["run", "ok.toml", "--format", "nagios"])
        .output()
        .expect_code(0);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("REACH OK - 1 of 1 checks passed | checks=1;;;0 pass=1;;;0 fail=0;;;0"),
        "{first}"
    );
    assert_eq!(out.stdout.lines().count(), 1, "nothing to say under an OK");

    // An unexpected open port is CRITICAL, and the check gets its own line.
    let out = ws
        .reach()
        .args(["run", "critical.toml", "--format", "nagios"])
        .output()
        .expect_code(2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("REACH CRITICAL - 1 failed: n.port;"),
        "{}",
        out.stdout
    );
    assert!(lines[1].starts_with("FAIL n.port (127.0.0.1:"), "{}", out.stdout);

    // An error and no failure: UNKNOWN.
    let dns = DnsServer::start(Zone::new().behave("broken.test", Behaviour::ServFail));
    ws.write(
        "unknown.toml",
        "profile = \"n\"\n[[check]]\nid = \"broken\"\nkind = \"tcp\"\nhost = \"broken.test\"\nport = 80\nexpect = \"open\"\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "unknown.toml",
            "--format",
            "nagios",
            "--dns-server",
            &dns.address(),
        ])
        .output()
        .expect_code(3);
    assert!(
        out.stdout
            .starts_with("REACH UNKNOWN - 1 not observed: n.broken;"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nERROR n.broken (broken.test:80)"),
        "{}",
        out.stdout
    );
}

#[test]
fn nagios_usage_errors_are_unknown_not_critical() {
    let ws = Workspace::new();
    ws.write("bad.toml", "[[check]]\nkind = \"tcp\"\n");
    for args in [
        &["run", "bad.toml", "--format", "nagios"][..],
        &["run", "missing.toml", "--format=nagios"],
        &["run", "bad.toml", "--format", "nagios", "--no-such-flag"],
        &["scan", "127.0.0.1", "--ports", "0", "--format", "nagios"],
    ] {
        let out = ws.reach().args(args).output().expect_code(3);
        assert!(
            out.stdout.starts_with("REACH UNKNOWN - "),
            "{args:?}: {}",
            out.stdout
        );
        assert!(!out.stderr.is_empty(), "{args:?}: the reason is on stderr");
    }
    // Other formats keep exit code 2 for usage errors.
    ws.reach()
        .args(["run", "bad.toml", "--format", "json"])
        .output()
        .expect_code(2);
}

#[test]
fn a_certificate_that_expires_soon_is_a_nagios_warning_while_it_is_valid() {
    let ws = Workspace::new();
    let (https, ca) = https_expiring_in(&ws, 5);
    ws.write(
        "tls.toml",
        &format!(
            "profile = \"n\"\n[[check]]\nid = \"tls\"\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = {}\n",
            https.port()
        ),
    );
    let run = |extra: &[&str]| {
        ws.reach()
            .args([
                "run",
                "tls.toml",
                "--format",
                "nagios",
                "--ca-file",
                ca.to_str().unwrap(),
            ])
            .args(extra)
            .output()
    };
    let out = run(&[]).expect_code(1);
    assert!(
        out.stdout
            .starts_with("REACH WARNING - 1 certificate expiring (soonest in 4 days): n.tls;")
            || out
                .stdout
                .starts_with("REACH WARNING - 1 certificate expiring (soonest in 5 days): n.tls;"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nWARNING n.tls (127.0.0.1:"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\n| 'n.tls cert days'="), "{}", out.stdout);
    assert!(out.stdout.contains(";21:;0:;;\n"), "{}", out.stdout);
    if let Some(perl) = crate::consumers::monitoring_plugin_perl() {
        // Performance data as Nagios splits it: after the first `|` of the status line, and
        // everything after a `|` in the long output.
        let mut lines = out.stdout.lines();
        let mut perfdata: Vec<&str> = lines
            .next()
            .unwrap()
            .split_once('|')
            .map(|(_, p)| p)
            .into_iter()
            .collect();
        let mut in_perfdata = false;
        for line in lines {
            if in_perfdata {
                perfdata.push(line);
            } else if let Some((_, p)) = line.split_once('|') {
                perfdata.push(p);
                in_perfdata = true;
            }
        }
        let script = ws.write("perfdata.pl", crate::consumers::PERFDATA_SCRIPT);
        let verdict = consumers::run(&perl, &[script.to_str().unwrap()], &perfdata.join(" "));
        assert!(verdict.success, "Monitoring::Plugin: {}", verdict.stderr);
        let parsed: Vec<Vec<&str>> = verdict.stdout.lines().map(|l| l.split('\t').collect()).collect();
        let labels: Vec<&str> = parsed.iter().map(|p| p[0]).collect();
        assert_eq!(
            labels,
            [
                "checks",
                "pass",
                "fail",
                "error",
                "skip",
                "time",
                "n.tls cert days"
            ],
            "{}",
            verdict.stdout
        );
        assert_eq!(parsed[5][2], "s", "the run's time is in seconds");
        // The library itself finds the certificate's days inside the warning range: the same
        // verdict as the status line's.
        assert_eq!(parsed[6][3], "1", "{}", verdict.stdout);
    }
    let out = run(&["--warn-cert-days", "3"]).expect_code(0);
    assert!(out.stdout.starts_with("REACH OK - "), "{}", out.stdout);
    // The same run in another format is a plain pass.
    ws.reach()
        .args(["run", "tls.toml", "--ca-file", ca.to_str().unwrap()])
        .output()
        .expect_code(0);
}

#[test]
fn scan_tls_listeners_and_demo_speak_every_format() {
    let ws = Workspace::new();
    let (_api, api) = open_port();
    let (https, ca) = https_expiring_in(&ws, 90);
    let promtool = tool("promtool");
    let xmllint = tool("xmllint");
    let commands: Vec<(Vec<String>, &str, i32)> = vec![
        (
            vec![
                "scan".into(),
                "127.0.0.1".into(),
                "-p".into(),
                api.to_string(),
                "--allow".into(),
                "none".into(),
            ],
            "reach scan",
            1,
        ),
        (
            vec![
                "tls".into(),
                format!("127.0.0.1:{}", https.port()),
                "--ca-file".into(),
                ca.to_str().unwrap().into(),
            ],
            "reach tls",
            0,
        ),
        (vec!["listeners".into()], "reach listeners", 0),
        (vec!["demo".into()], "checks/examples/demo.toml", 0),
    ];
    for (args, suite, code) in commands {
        let junit = ws
            .reach()
            .args(&args)
            .args(["--format", "junit"])
            .output()
            .expect_code(code);
        assert!(
            junit.stdout.contains(&format!("<testsuite name=\"{suite}\"")),
            "{args:?}:\n{}",
            junit.stdout
        );
        if let Some(xmllint) = &xmllint {
            let verdict = consumers::run(xmllint, &["--noout", "-"], &junit.stdout);
            assert!(verdict.success, "{args:?}: {}", verdict.stderr);
        }
        let metrics = ws
            .reach()
            .args(&args)
            .args(["--format", "prometheus"])
            .output()
            .expect_code(code);
        assert!(
            metrics.stdout.contains("# TYPE reach_check_status gauge"),
            "{args:?}"
        );
        if let Some(promtool) = &promtool {
            let verdict = consumers::run(promtool, &["check", "metrics"], &metrics.stdout);
            assert!(verdict.success, "{args:?}: {}{}", verdict.stdout, verdict.stderr);
        }
        let nagios_code = if code == 1 { 2 } else { 0 };
        let nagios = ws
            .reach()
            .args(&args)
            .args(["--format", "nagios"])
            .output()
            .expect_code(nagios_code);
        assert!(nagios.stdout.starts_with("REACH "), "{args:?}: {}", nagios.stdout);
    }
}

/// A spec with a scan of `port` that allows it to be open (it passes whether it is open or
/// closed) and a tcp check that the port is not exposed.
fn drift_spec(port: u16) -> String {
    format!(
        "profile = \"drift\"\n\
         [[check]]\nid = \"inventory\"\nkind = \"scan\"\nhost = \"127.0.0.1\"\nports = [{port}]\nallow = [{port}]\n\n\
         [[check]]\nid = \"internal\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"not-exposed\"\n"
    )
}

#[test]
fn a_baseline_shows_the_port_that_opened_in_every_format() {
    let ws = Workspace::new();
    let port = closed_port();
    ws.write("drift.toml", &drift_spec(port));
    ws.reach()
        .args(["run", "drift.toml", "--format", "json", "-o", "before.json"])
        .output()
        .expect_code(0);
    let _listener = TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");

    let report = ws
        .reach()
        .args([
            "run",
            "drift.toml",
            "--format",
            "json",
            "--baseline",
            "before.json",
        ])
        .output()
        .expect_code(1)
        .json();
    assert_eq!(report["baseline"]["file"], "before.json");
    let socket = format!("127.0.0.1:{port}");
    let changes = report["changes"].as_array().unwrap();
    let found: Vec<(String, String, String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["what"].as_str().unwrap().to_owned(),
                c["subject"].as_str().unwrap_or("").to_owned(),
                format!(
                    "{} -> {}",
                    c["before"].as_str().unwrap_or("-"),
                    c["after"].as_str().unwrap_or("-")
                ),
            )
        })
        .collect();
    let change = |id: &str, what: &str, subject: &str, values: &str| {
        (
            id.to_owned(),
            what.to_owned(),
            subject.to_owned(),
            values.to_owned(),
        )
    };
    assert_eq!(
        found,
        [
            change("drift.inventory", "port", &socket, "closed -> open"),
            change("drift.internal", "status", "", "pass -> fail"),
            change("drift.internal", "port", "127.0.0.1", "closed -> open"),
        ]
    );

    let human = ws
        .reach()
        .args(["run", "drift.toml", "--baseline", "before.json"])
        .output()
        .expect_code(1)
        .stdout;
    assert!(human.contains("3 changes since "), "{human}");
    assert!(
        human.contains(&format!("drift.inventory  port {socket}: closed -> open")),
        "{human}"
    );

    let metrics = ws
        .reach()
        .args([
            "run",
            "drift.toml",
            "--format",
            "prometheus",
            "--baseline",
            "before.json",
        ])
        .output()
        .expect_code(1)
        .stdout;
    assert!(metrics.contains("# TYPE reach_check_changed gauge"));
    assert!(metrics.contains("reach_check_changed{profile=\"drift\",id=\"drift.inventory\""));
    assert_eq!(
        metrics
            .lines()
            .filter(|l| l.starts_with("reach_check_changed") && l.ends_with(" 1"))
            .count(),
        2
    );

    // The scan alone passes open or closed: only --fail-on-change makes the change count.
    ws.write(
        "inventory.toml",
        &format!("profile = \"drift\"\n[[check]]\nid = \"inventory\"\nkind = \"scan\"\nhost = \"127.0.0.1\"\nports = [{port}]\nallow = [{port}]\n"),
    );
    ws.reach()
        .args(["run", "inventory.toml", "--baseline", "before.json"])
        .output()
        .expect_code(0);
    let out = ws
        .reach()
        .args([
            "run",
            "inventory.toml",
            "--baseline",
            "before.json",
            "--fail-on-change",
        ])
        .output()
        .expect_code(1);
    assert!(out.stdout.contains("port 127.0.0.1:"), "{}", out.stdout);
    let nagios = ws
        .reach()
        .args([
            "run",
            "inventory.toml",
            "--baseline",
            "before.json",
            "--fail-on-change",
            "--format",
            "nagios",
        ])
        .output()
        .expect_code(1);
    assert!(nagios.stdout.starts_with("REACH WARNING - "), "{}", nagios.stdout);
    // Compared with itself, nothing changed.
    ws.reach()
        .args(["run", "inventory.toml", "--format", "json", "-o", "now.json"])
        .output()
        .expect_code(0);
    let same = ws
        .reach()
        .args([
            "run",
            "inventory.toml",
            "--format",
            "json",
            "--baseline",
            "now.json",
            "--fail-on-change",
        ])
        .output()
        .expect_code(0)
        .json();
    assert_eq!(same["changes"], Value::Array(Vec::new()));
    // --fail-on-change needs a baseline.
    ws.reach()
        .args(["run", "inventory.toml", "--fail-on-change"])
        .output()
        .expect_code(2);
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/reports")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn an_unusable_baseline_stops_the_run_before_anything_is_probed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let ws = Workspace::new();
    ws.write("n.toml", &tcp_spec(port, "open"));
    std::fs::create_dir(ws.path().join("a-directory")).unwrap();
    for (baseline, says) in [
        (fixture("schema-v2.json"), "has schema_version 2"),
        (fixture("other-tool.json"), "is not a reach JSON report"),
        (fixture("truncated.json"), "is not a JSON report"),
        ("missing.json".to_owned(), "cannot read the baseline missing.json"),
        ("a-directory".to_owned(), "is not a regular file"),
    ] {
        let out = ws
            .reach()
            .args(["run", "n.toml", "--baseline", &baseline])
            .output()
            .expect_code(2);
        assert!(out.stderr.contains(says), "{baseline}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing was probed"
    );
}

#[test]
fn quiet_prints_nothing_when_every_check_passes() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("ok.toml", &tcp_spec(api, "open"));
    ws.write("bad.toml", &tcp_spec(api, "closed"));
    let out = ws
        .reach()
        .args(["run", "ok.toml", "--quiet"])
        .output()
        .expect_code(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    let out = ws
        .reach()
        .args(["run", "ok.toml", "-q", "--format", "json", "-o", "ok.json"])
        .output()
        .expect_code(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert_valid_report(
        &serde_json::from_str(&std::fs::read_to_string(ws.path().join("ok.json")).unwrap()).unwrap(),
    );

    // Something needs attention: the report is printed, and with -o the human report too.
    let out = ws
        .reach()
        .args(["run", "bad.toml", "--quiet"])
        .output()
        .expect_code(1);
    assert!(out.stdout.contains("FAIL"), "{}", out.stdout);
    let out = ws
        .reach()
        .args(["run", "bad.toml", "--quiet", "--format", "json", "-o", "bad.json"])
        .output()
        .expect_code(1);
    assert!(
        out.stdout.contains("FAIL") && out.stdout.contains("bad.toml:"),
        "{}",
        out.stdout
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("bad.json")).unwrap()).unwrap();
    assert_eq!(written["summary"]["fail"], 1);
}

#[test]
fn overlapping_runs_writing_one_report_take_turns() {
    let (_listener, _held, hanging) = hanging_port();
    let ws = Workspace::new();
    // About three seconds: a silent port is filtered after a retry with a doubled timeout.
    ws.write(
        "slow.toml",
        &format!(
            "profile = \"slow\"\n[[check]]\nid = \"silent\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"filtered\"\ntimeout = \"1s\"\nretries = 0\n"
        ),
    );
    let spawn = |extra: &[&str]| {
        let mut reach = ws
            .reach()
            .args(["run", "slow.toml", "--format", "json", "-o", "out.json"]);
        reach = reach.args(extra);
        reach
            .command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let lock = ws.path().join(".out.json.lock");
    let mut first = spawn(&[]);
    let started = Instant::now();
    while !lock.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // A run with a deadline gives up when the lock outlasts it, without probing.
    let begun = Instant::now();
    let out = ws
        .reach()
        .args([
            "run",
            "slow.toml",
            "--format",
            "json",
            "-o",
            "out.json",
            "--deadline",
            "500ms",
        ])
        .output()
        .expect_code(3);
    assert!(
        out.stderr.contains("another reach run is still writing out.json"),
        "{}",
        out.stderr
    );
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert!(
        out.stderr.contains("note: another reach run is writing"),
        "{}",
        out.stderr
    );
    // A Nagios plugin in the same place says UNKNOWN, with the reason, on stdout.
    let out = ws
        .reach()
        .args([
            "run",
            "slow.toml",
            "--format",
            "nagios",
            "-o",
            "out.json",
            "--deadline",
            "200ms",
            "--quiet",
        ])
        .output()
        .expect_code(3);
    assert!(
        out.stdout
            .starts_with("REACH UNKNOWN - another reach run is still writing out.json"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains("note:"),
        "--quiet keeps the note to itself: {}",
        out.stderr
    );

    // A run without one waits for the first to finish, then runs.
    let second = spawn(&[]);
    let first_status = first.wait().unwrap();
    let first_done = SystemTime::now();
    assert!(first_status.success(), "{first_status:?}");
    let second = second.wait_with_output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("out.json")).unwrap()).unwrap();
    assert_valid_report(&report);
    let started_at = humantime::parse_rfc3339(report["started_at"].as_str().unwrap()).unwrap();
    // started_at has millisecond precision; the first run's exit was seen a little after it ended.
    assert!(
        started_at + Duration::from_millis(200) >= first_done,
        "the second run probed while the first held the report: {report:#}"
    );
    assert!(!lock.exists(), "the lock file is removed");
}

#[test]
fn a_deadline_still_writes_a_complete_report_with_unrun_checks_skipped() {
    let (_listener, _held, hanging) = hanging_port();
    // The quick check's listener is on another address: a silent port of a host that answers
    // other probes is settled in a few round trips (`filtered`), not left hanging.
    let api_listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let api = api_listener.local_addr().unwrap().port();
    let ws = Workspace::new();
    let mut spec = String::from("profile = \"d\"\n");
    spec.push_str(&format!(
        "[[check]]\nid = \"quick\"\nkind = \"tcp\"\nhost = \"127.0.0.2\"\nport = {api}\nexpect = \"open\"\n"
    ));
    for n in 0..4 {
        spec.push_str(&format!(
            "[[check]]\nid = \"hangs-{n}\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"open\"\ntimeout = \"30s\"\n"
        ));
    }
    ws.write("d.toml", &spec);
    for (format, file) in [("json", "d.json"), ("junit", "d.xml"), ("prometheus", "d.prom")] {
        let begun = Instant::now();
        ws.reach()
            .args([
                "run",
                "d.toml",
                "--concurrency",
                "1",
                "--deadline",
                "1s",
                "--format",
                format,
                "-o",
                file,
            ])
            .output()
            .expect_code(3);
        assert!(begun.elapsed() < Duration::from_secs(20), "the deadline held");
        let text = std::fs::read_to_string(ws.path().join(file)).unwrap();
        match format {
            "json" => {
                let report: Value = serde_json::from_str(&text).unwrap();
                assert_valid_report(&report);
                let statuses = statuses(&report);
                assert_eq!(statuses.len(), 5, "every check is in the report");
                assert_eq!(statuses["d.quick"], "pass");
                for check in report["checks"].as_array().unwrap().iter().skip(1) {
                    assert_eq!(
                        (&check["status"], &check["skip_reason"]),
                        (&Value::from("skip"), &Value::from("deadline"))
                    );
                }
            }
            "junit" => {
                assert_eq!(text.matches("<testcase ").count(), 5);
                assert_eq!(
                    text.matches("<skipped message=\"the run's --deadline").count(),
                    4,
                    "{text}"
                );
                assert!(text.trim_end().ends_with("</testsuites>"));
            }
            _ => {
                assert_eq!(text.matches(",status=\"skip\"} 1").count(), 4, "{text}");
                assert!(text.contains("reach_run_checks{profile=\"d\",vantage=\"\",status=\"skip\"} 4"));
            }
        }
    }
}

#[test]
fn results_come_in_file_order_then_port_whatever_finishes_first() {
    let (_listener, _held, hanging) = hanging_port();
    let (_a, a) = open_port();
    let (_b, b) = open_port();
    let (low, high) = (a.min(b), a.max(b));
    let ws = Workspace::new();
    ws.write(
        "order.toml",
        &format!(
            "profile = \"o\"\n\
             [[check]]\nid = \"slow\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"filtered\"\ntimeout = \"300ms\"\nretries = 0\n\n\
             [[check]]\nid = \"many\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nports = [{high}, {low}]\nexpect = \"open\"\n\n\
             [[check]]\nid = \"quick\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {a}\nexpect = \"open\"\n"
        ),
    );
    let ids = |report: Value| -> Vec<String> {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected = vec![
        "o.slow".to_owned(),
        format!("o.many/{low}"),
        format!("o.many/{high}"),
        "o.quick".to_owned(),
    ];
    for _ in 0..2 {
        let report = ws
            .reach()
            .args(["run", "order.toml", "--format", "json"])
            .output()
            .expect_code(0)
            .json();
        assert_eq!(ids(report), expected);
    }
}

#[test]
fn one_run_writes_the_json_report_and_the_textfile_with_also() {
    let deployment = Deployment::start();
    let out = deployment
        .run(&[
            "--format",
            "json",
            "-o",
            "r.json",
            "--also",
            "prometheus=r.prom",
            "--also",
            "junit=r.xml",
        ])
        .expect_code(1);
    assert_eq!(out.stdout, "");
    let read = |name: &str| std::fs::read_to_string(deployment.ws.path().join(name)).unwrap();
    let report: Value = serde_json::from_str(&read("r.json")).unwrap();
    assert_valid_report(&report);
    let metrics = read("r.prom");
    // The same run: the textfile's start time is the report's, and every status agrees.
    let started = humantime::parse_rfc3339(report["started_at"].as_str().unwrap())
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let stamp: f64 = metrics
        .lines()
        .find(|l| l.starts_with("reach_run_timestamp_seconds"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((stamp - started).abs() < 0.002, "{stamp} vs {started}");
    for (id, status) in statuses(&report) {
        let sample = format!(",id=\"{id}\",");
        let line = metrics
            .lines()
            .find(|l| l.starts_with("reach_check_status") && l.contains(&sample) && l.ends_with(" 1"))
            .unwrap_or_else(|| panic!("no status of {id}"));
        assert!(line.contains(&format!("status=\"{status}\"")), "{line}");
    }
    assert!(read("r.xml").contains("<testsuite name=\"shop.toml\""));
    let names: BTreeSet<String> = std::fs::read_dir(deployment.ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "no temporary or lock file is left: {names:?}");

    let out = deployment
        .run(&["--format", "json", "-o", "r.json", "--also", "prometheus=r.json"])
        .expect_code(2);
    assert!(
        out.stderr
            .contains("--also names r.json twice, or the same file as -o"),
        "{}",
        out.stderr
    );
    deployment.run(&["--also", "xml=r.xml"]).expect_code(2);
}

/// `reach scan`, `tls` and `listeners` fit their human reports to the width as the checks table
/// does: `COLUMNS` on a pipe, and 200 columns without it.
#[test]
fn scan_tls_and_listeners_fit_the_width() {
    let ws = Workspace::new();
    let (_api, api) = open_port();
    let (https, ca) = https_expiring_in(&ws, 90);
    let commands: Vec<(Vec<String>, i32)> = vec![
        (
            vec![
                "scan".into(),
                "127.0.0.1".into(),
                "-p".into(),
                api.to_string(),
                "--allow".into(),
                "none".into(),
            ],
            1,
        ),
        (
            vec![
                "tls".into(),
                format!("127.0.0.1:{}", https.port()),
                "--ca-file".into(),
                ca.to_str().unwrap().into(),
            ],
            0,
        ),
        (vec!["listeners".into()], 0),
    ];
    for (args, code) in commands {
        for columns in [Some(60), None] {
            let mut reach = ws.reach().args(&args).args(["--color", "never"]);
            if let Some(columns) = columns {
                reach = reach.env("COLUMNS", &columns.to_string());
            }
            let out = reach.output().expect_code(code);
            let limit = columns.unwrap_or(200);
            for line in out.stdout.lines() {
                assert!(
                    line.chars().count() <= limit,
                    "{args:?} at {limit} columns:\n{line}\n{}",
                    out.stdout
                );
            }
        }
    }
}
