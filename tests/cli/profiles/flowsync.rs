//! FlowSync (`checks/flowsync.toml`, from flowsync.md): nginx with the document's "Required
//! Configuration" (80 redirects, 443 with TLS 1.2 + 1.3 and two TLS 1.2 suites in the server's
//! order, RSA and ECDSA certificates for the name and www), SSH open to the admin address only,
//! PostgreSQL and Redis on loopback behind DROP rules, the A record and the www CNAME.

use super::{certificates, fail, fail_as, Deployment, Record, State, ADMIN, EXTERNAL, HOST};
use crate::lab::{ADM_IP, SRV_IP, SRV_IP2};
use crate::pki::LeafKind;

const NAME: &str = "flowsync.example.test";
const WWW: &str = "www.flowsync.example.test";
/// flowsync.md line 143.
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
/// flowsync.md line 66: port 80 redirects to HTTPS.
const REDIRECT: &str = "return 301 https://$host$request_uri;";
/// Port 80 serving the site itself instead.
const NO_REDIRECT: &str = "location / { proxy_pass http://127.0.0.1:8080; }";

/// The server's TLS lines: `ssl_protocols`, `ssl_ciphers`, `ssl_prefer_server_ciphers`.
fn tls(protocols: &str, ciphers: &str, prefer: &str) -> String {
    format!("ssl_protocols {protocols};\nssl_ciphers {ciphers};\nssl_prefer_server_ciphers {prefer};\n")
}

/// The document's `tls` lines (flowsync.md lines 140-144).
fn documented_tls() -> String {
    tls("TLSv1.2 TLSv1.3", CIPHERS, "on")
}

fn nginx(port80: &str, certificates: &str, tls: &str) -> String {
    format!(
        "server {{\n listen 80;\n {port80}\n}}\n\
         server {{\n listen 443 ssl;\n{certificates}{tls}\n location / {{ proxy_pass http://127.0.0.1:8080; }}\n}}\n"
    )
}

struct Setup {
    d: Deployment,
    good: State,
    certificates: String,
}

fn setup() -> Option<Setup> {
    let d = Deployment::new(
        "flowsync",
        &[
            "--var",
            &format!("host={NAME}"),
            "--var",
            &format!("server_ip={SRV_IP}"),
        ],
        &[],
    )?;
    let certificates = certificates(&d, &[NAME, WWW], LeafKind::Valid, "flowsync");
    let good = State {
        nginx: Some(nginx(REDIRECT, &certificates, &documented_tls())),
        app: Some(("127.0.0.1", 8080)),
        stand_ins: [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("0.0.0.0", 22)].into(),
        records: vec![Record::A(NAME, SRV_IP), Record::Cname(WWW, NAME)],
        ..State::new()
    }
    // flowsync.md lines 73-83: UFW allows 22 (from the admin address, line 74), 80 and 443;
    // lines 68-69: 5432 and 6379 internal only.
    .firewall(&[&format!("--dport 22 -s {ADM_IP}")], &[80, 443], &[5432, 6379]);
    Some(Setup {
        d,
        good,
        certificates,
    })
}

#[test]
fn flowsync_passes_as_documented_and_fails_each_forbidden_change() {
    let Some(Setup {
        mut d,
        good,
        certificates,
    }) = setup()
    else {
        return;
    };
    let without_www = super::certificates(&d, &[NAME], LeafKind::Valid, "flowsync-no-www");
    let all = [EXTERNAL, ADMIN, HOST];
    d.baseline(&good, &all);
    // The names were resolved as on a real server: through resolv.conf, by the lab's DNS server.
    let report = d.baseline_report(EXTERNAL);
    let dns_a = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "flowsync.dns-a")
        .expect("dns-a");
    assert_eq!(
        dns_a["observed"]["dns"]["answers"][0]["server"],
        format!("{}:53 (system resolver)", crate::lab::DNS_IP),
        "{dns_a:#}"
    );

    // Without --vantage, the checks bound to a vantage are skipped and the rest hold.
    let plain = d.run_extra(EXTERNAL, false, &[]);
    let bound = [
        "ssh-not-exposed",
        "datastores-not-exposed/5432",
        "datastores-not-exposed/6379",
        "firewall-external",
    ];
    let mut want = d.baseline_verdicts(EXTERNAL).verdicts.clone();
    for id in bound {
        want.insert(format!("flowsync.{id}"), "skip".to_owned());
    }
    assert_eq!(plain.verdicts, want);
    assert_eq!(plain.code, 0);

    d.breakage(
        "Redis reachable from outside",
        &good,
        |s| {
            s.rebind(6379, "0.0.0.0");
            s.open_port(6379);
        },
        &[
            (
                EXTERNAL,
                &[
                    ("datastores-not-exposed/6379", fail("tcp")),
                    ("firewall-external", fail("tcp")),
                ],
            ),
            (ADMIN, &[("firewall-admin", fail("tcp"))]),
            (HOST, &[("datastores-not-wildcard/6379", fail("assert"))]),
        ],
    );
    d.breakage(
        "PostgreSQL reachable from outside",
        &good,
        |s| {
            s.rebind(5432, "0.0.0.0");
            s.open_port(5432);
        },
        &[
            (
                EXTERNAL,
                &[
                    ("datastores-not-exposed/5432", fail("tcp")),
                    ("firewall-external", fail("tcp")),
                ],
            ),
            (ADMIN, &[("firewall-admin", fail("tcp"))]),
            (HOST, &[("datastores-not-wildcard/5432", fail("assert"))]),
        ],
    );
    d.breakage(
        "Redis on a wildcard address behind the firewall (latent exposure)",
        &good,
        |s| s.rebind(6379, "0.0.0.0"),
        &[
            (EXTERNAL, &[]),
            (HOST, &[("datastores-not-wildcard/6379", fail("assert"))]),
        ],
    );
    d.breakage(
        "TLS 1.0 enabled",
        &good,
        |s| s.nginx = Some(nginx(REDIRECT, &certificates, &super::with_tls10(CIPHERS))),
        &[
            (EXTERNAL, &[("https-tls", fail("tls"))]),
            (ADMIN, &[("https-tls", fail("tls"))]),
            (HOST, &[("https-tls", fail("tls"))]),
        ],
    );
    d.breakage(
        "a CBC suite for TLS 1.2",
        &good,
        |s| {
            let ciphers = format!("{CIPHERS}:ECDHE-RSA-AES128-SHA256");
            s.nginx = Some(nginx(
                REDIRECT,
                &certificates,
                &tls("TLSv1.2 TLSv1.3", &ciphers, "on"),
            ));
        },
        &[(EXTERNAL, &[("https-tls", fail("tls"))])],
    );
    d.breakage(
        "a wrong A record",
        &good,
        |s| s.records = vec![Record::A(NAME, SRV_IP2), Record::Cname(WWW, NAME)],
        &[
            (EXTERNAL, &[("dns-a", fail("dns"))]),
            (ADMIN, &[("dns-a", fail("dns"))]),
            (HOST, &[("dns-a", fail("dns"))]),
        ],
    );
    d.breakage(
        "www as an A record",
        &good,
        |s| s.records = vec![Record::A(NAME, SRV_IP), Record::A(WWW, SRV_IP)],
        &[(EXTERNAL, &[("dns-www-cname", fail("dns"))])],
    );
    d.breakage(
        "the redirect missing",
        &good,
        |s| s.nginx = Some(nginx(NO_REDIRECT, &certificates, &documented_tls())),
        &[(
            EXTERNAL,
            &[
                ("http-redirects-to-https/1", fail("http")),
                ("http-redirects-to-https/2", fail("http")),
                // The deep path is not there without the redirect: a 404 says so.
                ("http-redirects-to-https/3", fail_as("http", "http-4xx")),
            ],
        )],
    );
    d.breakage(
        "SSH open to all",
        &good,
        |s| *s = s.clone().firewall(&[], &[22, 80, 443], &[5432, 6379]),
        &[
            (
                EXTERNAL,
                &[
                    ("ssh-not-exposed", fail("tcp")),
                    ("firewall-external", fail("tcp")),
                ],
            ),
            (ADMIN, &[]),
        ],
    );
    d.breakage(
        "SSH closed to the admin network too",
        &good,
        |s| *s = s.clone().firewall(&[], &[80, 443], &[5432, 6379]),
        &[(ADMIN, &[("ssh-admin", fail_as("tcp", "refused"))])],
    );
    d.breakage(
        "a certificate without www",
        &good,
        |s| s.nginx = Some(nginx(REDIRECT, &without_www, &documented_tls())),
        &[(EXTERNAL, &[("https-tls-www", fail_as("tls", "cert-wrong-host"))])],
    );
    d.finish();
}

#[test]
fn flowsync_fails_when_the_client_chooses_the_suite() {
    let Some(Setup {
        mut d,
        good,
        certificates,
    }) = setup()
    else {
        return;
    };
    d.baseline(&good, &[EXTERNAL]);
    // flowsync.md line 142 `ssl_prefer_server_ciphers on;`.
    d.breakage(
        "the client's cipher order",
        &good,
        |s| {
            let tls = tls("TLSv1.2 TLSv1.3", CIPHERS, "off");
            s.nginx = Some(nginx(REDIRECT, &certificates, &tls));
        },
        &[(EXTERNAL, &[("https-tls", fail("tls"))])],
    );
    d.finish();
}

#[test]
fn flowsync_fails_when_www_is_not_redirected() {
    let Some(Setup {
        mut d,
        good,
        certificates,
    }) = setup()
    else {
        return;
    };
    d.baseline(&good, &[EXTERNAL]);
    // Line 66 "redirects to HTTPS", for both published names (line 90): here only the main
    // name is redirected, and www is served over plain HTTP.
    d.breakage(
        "www served over plain HTTP",
        &good,
        |s| {
            let port80 =
                format!("{REDIRECT}\n}}\nserver {{\n listen 80;\n server_name {WWW};\n {NO_REDIRECT}");
            s.nginx = Some(nginx(&port80, &certificates, &documented_tls()));
        },
        &[(EXTERNAL, &[("http-redirects-to-https/2", fail("http"))])],
    );
    d.finish();
}
