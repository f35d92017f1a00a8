//! The two ways a firewall refuses a connect, which the kernel reports alike (`ECONNREFUSED`):
//! a TCP reset (closed) and an ICMP port-unreachable, the default `iptables -j REJECT`
//! (filtered, as nmap's SYN scan calls it), next to a DROP. reach reads the ICMP message from
//! the socket's error queue (`IP_RECVERR`), which needs no privilege: the verdicts are the same
//! for root and for an unprivileged user without any capability.

use crate::netns::{exec_in, NetnsPair, SERVER_ADDR};
use crate::util::Workspace;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

const ICMP_REJECTED: u16 = 7001;
const RESET: u16 = 7002;
const DROPPED: u16 = 7003;
const NOTHING_LISTENS: u16 = 7004;

fn firewall(pair: &NetnsPair) {
    pair.server_rule(ICMP_REJECTED, &["REJECT"]);
    pair.server_rule(RESET, &["REJECT", "--reject-with", "tcp-reset"]);
    pair.server_rule(DROPPED, &["DROP"]);
}

/// A check file with one check per port, each expecting what nmap would call it.
fn spec(ws: &Workspace) -> String {
    let mut text = String::from("profile = \"rej\"\n[defaults]\ntimeout = \"1s\"\nretries = 1\n");
    for (port, expect) in [
        (ICMP_REJECTED, "filtered"),
        (RESET, "closed"),
        (DROPPED, "filtered"),
        (NOTHING_LISTENS, "closed"),
    ] {
        text.push_str(&format!(
            "\n[[check]]\nid = \"p{port}\"\nkind = \"tcp\"\nhost = \"{SERVER_ADDR}\"\nport = {port}\nexpect = \"{expect}\"\n"
        ));
    }
    let path = ws.write("rej.toml", &text);
    // Readable by the unprivileged user of the second run.
    std::fs::set_permissions(ws.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.display().to_string()
}

/// (port, status, state/reason) of every check of a report.
fn verdicts(report: &Value) -> Vec<(u16, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let address = &c["observed"]["addresses"][0];
            let port = c["target"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (
                port,
                c["status"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    address["state"].as_str().unwrap_or("-"),
                    address["reason"].as_str().unwrap_or("-")
                ),
            )
        })
        .collect()
}

fn expected() -> Vec<(u16, String, String)> {
    [
        (ICMP_REJECTED, "pass", "filtered/icmp-port-unreachable"),
        (RESET, "pass", "closed/reset"),
        (DROPPED, "pass", "filtered/no-response"),
        (NOTHING_LISTENS, "pass", "closed/reset"),
    ]
    .iter()
    .map(|(p, s, r)| (*p, (*s).to_owned(), (*r).to_owned()))
    .collect()
}

#[test]
fn an_icmp_port_unreachable_is_filtered_and_a_reset_closed_with_or_without_privileges() {
    let Some(pair) = NetnsPair::create() else { return };
    firewall(&pair);
    let ws = Workspace::new();
    let spec = spec(&ws);
    let as_root = pair
        .reach_in_client()
        .args(["run", &spec, "--format", "json"])
        .output()
        .expect_code(0);
    assert_eq!(verdicts(&as_root.json()), expected(), "{:#}", as_root.json());

    // The same run as nobody, with no capability at all (CAP_NET_RAW included): the error
    // queue of one's own socket needs none.
    let unprivileged = crate::util::Reach::wrapped(&[
        "ip",
        "netns",
        "exec",
        &pair.client,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ])
    .args(["run", &spec, "--format", "json"])
    .output()
    .expect_code(0);
    assert_eq!(
        verdicts(&unprivileged.json()),
        expected(),
        "{:#}",
        unprivileged.json()
    );

    // A check that requires the REJECTed port to be open says what came back.
    let must_be_open = ws.write(
        "open.toml",
        &format!("[[check]]\nkind = \"tcp\"\nhost = \"{SERVER_ADDR}\"\nport = {ICMP_REJECTED}\nexpect = \"open\"\ntimeout = \"1s\"\n"),
    );
    let out = pair
        .reach_in_client()
        .args(["run", &must_be_open.display().to_string(), "--format", "json"])
        .output()
        .expect_code(1);
    let check = &out.json()["checks"][0];
    assert_eq!(check["error"], "unreachable", "{check:#}");
    assert_eq!(check["attempts"], 1, "an ICMP answer is definite: {check:#}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("ICMP port-unreachable"),
        "{check:#}"
    );
}

#[test]
fn one_reject_rule_is_filtered_on_every_port_of_a_scan_even_when_icmp_is_rate_limited() {
    let Some(pair) = NetnsPair::create() else { return };
    // 300 ports behind one REJECT rule. The server's kernel rate-limits the ICMP messages it
    // sends (net.ipv4.icmp_ratelimit): some ports get one, the others get nothing at all. Seen
    // as refusals, the first would be closed and the others filtered; they are all filtered.
    let (first, last) = (20000_u16, 20299_u16);
    exec_in(
        &pair.server,
        &[
            "iptables",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &format!("{first}:{last}"),
            "-j",
            "REJECT",
        ],
    );
    let out = pair
        .reach_in_client()
        .args([
            "scan",
            SERVER_ADDR,
            "--ports",
            &format!("{first}-{last}"),
            "--timeout",
            "500ms",
        ])
        .args(["--format", "json"])
        .output()
        .expect_code(0);
    let report = out.json();
    let observed = &report["checks"][0]["observed"];
    assert_eq!(observed["port_counts"]["closed"], 0, "{report:#}");
    let ports = observed["ports"].as_array().unwrap();
    assert_eq!(ports.len(), usize::from(last - first) + 1, "{report:#}");
    let mut reasons = std::collections::BTreeMap::new();
    for port in ports {
        assert_eq!(port["state"], "filtered", "{port:#}");
        *reasons
            .entry(port["reason"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert!(
        reasons
            .keys()
            .all(|r| r == "icmp-port-unreachable" || r == "no-response"),
        "{reasons:?}"
    );
    assert!(reasons.contains_key("icmp-port-unreachable"), "{reasons:?}");
    eprintln!("REJECT over {} ports: {reasons:?}", ports.len());
}
