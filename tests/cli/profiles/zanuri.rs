//! ZaNuri AI (`checks/zanuri.toml`, from zanuri.md): nginx with the web interface and API on 80
//! and 443 (line 47) in front of the application, the application server on 8000 and Grafana on
//! 3000 (lines 49-50), SSH open only to the admin network (lines 48, 63), and a firewall that
//! lets nothing else in (line 66).

use super::{
    certificates, fail, fail_as, Deployment, Record, State, ADMIN, EXTERNAL, INTERMEDIATE_CIPHERS,
    MOZILLA_INTERMEDIATE,
};
use crate::lab::{ADM_IP, SRV_IP};
use crate::pki::LeafKind;

const NAME: &str = "zanuri.example.test";
/// The application server and Grafana: nginx answers for them.
const PORTS_8000_3000: &str = "listen 8000;\n listen 3000;\n";

fn nginx(certificates: &str, tls: &str, other_ports: &str) -> String {
    format!(
        "server {{\n listen 80;\n location / {{ proxy_pass http://127.0.0.1:8080; }}\n}}\n\
         server {{\n listen 443 ssl;\n{certificates}{tls}\n location / {{ proxy_pass http://127.0.0.1:8080; }}\n}}\n\
         server {{\n {other_ports} return 200 \"zanuri\\n\";\n}}\n"
    )
}

struct Setup {
    d: Deployment,
    good: State,
    certificates: String,
}

fn setup() -> Option<Setup> {
    let d = Deployment::new("zanuri", &["--var", &format!("host={NAME}")], &[])?;
    let certificates = certificates(&d, &[NAME], LeafKind::Valid, "zanuri");
    let good = State {
        nginx: Some(nginx(&certificates, MOZILLA_INTERMEDIATE, PORTS_8000_3000)),
        app: Some(("127.0.0.1", 8080)),
        stand_ins: [("0.0.0.0", 22)].into(),
        records: vec![Record::A(NAME, SRV_IP)],
        ..State::new()
    }
    .firewall(&[&format!("--dport 22 -s {ADM_IP}")], &[80, 443, 8000, 3000], &[]);
    Some(Setup {
        d,
        good,
        certificates,
    })
}

#[test]
fn zanuri_passes_as_documented_and_fails_each_forbidden_change() {
    let Some(Setup {
        mut d,
        good,
        certificates,
    }) = setup()
    else {
        return;
    };
    // The document states nothing only the server itself can observe: no host run.
    d.baseline(&good, &[EXTERNAL, ADMIN]);

    d.breakage(
        "SSH open to all",
        &good,
        |s| *s = s.clone().firewall(&[], &[22, 80, 443, 8000, 3000], &[]),
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
        "TLS 1.0 and a CBC suite enabled",
        &good,
        |s| {
            let tls = super::with_tls10(INTERMEDIATE_CIPHERS);
            s.nginx = Some(nginx(&certificates, &tls, PORTS_8000_3000));
        },
        &[
            (EXTERNAL, &[("https-tls", fail("tls"))]),
            (ADMIN, &[("https-tls", fail("tls"))]),
        ],
    );
    d.breakage(
        "an undocumented port open (Prometheus on 9090)",
        &good,
        |s| {
            s.stand_ins.insert(("0.0.0.0", 9090));
            s.open_port(9090);
        },
        &[
            (EXTERNAL, &[("firewall-external", fail("tcp"))]),
            (ADMIN, &[("firewall-admin", fail("tcp"))]),
        ],
    );
    d.breakage(
        "the application behind 80 and 443 down",
        &good,
        |s| s.app = None,
        &[
            (
                EXTERNAL,
                &[
                    ("http-answers", fail_as("http", "http-5xx")),
                    ("https-answers", fail_as("http", "http-5xx")),
                ],
            ),
            (
                ADMIN,
                &[
                    ("http-answers", fail_as("http", "http-5xx")),
                    ("https-answers", fail_as("http", "http-5xx")),
                ],
            ),
        ],
    );
    d.breakage(
        "the application server on 8000 down",
        &good,
        |s| s.nginx = Some(nginx(&certificates, MOZILLA_INTERMEDIATE, "listen 3000;\n")),
        &[
            (EXTERNAL, &[("public-ports/8000", fail_as("tcp", "refused"))]),
            (ADMIN, &[("public-ports/8000", fail_as("tcp", "refused"))]),
        ],
    );
    d.finish();
}
