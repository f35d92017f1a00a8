//! Chatalot (`checks/chatalot.toml`, from chatalot.md), in both of its shapes: behind nginx as a
//! TLS proxy on 80/443 (`--tag proxy`, lines 86-103), and the Chatalot port used directly by
//! address (`--tag direct`, lines 79 and 101). The application is the harness's HTTP server with
//! `/` (the web client) and a `/ws` WebSocket upgrade.

use super::{
    certificates, fail, fail_as, with_tls10, Deployment, Record, State, EXTERNAL, HOST, INTERMEDIATE_CIPHERS,
    MOZILLA_INTERMEDIATE,
};
use crate::lab::SRV_IP;
use crate::pki::LeafKind;

const NAME: &str = "chat.example.test";
/// nginx forwarding WebSocket upgrades (what the document's proxy must do, line 90).
const FORWARD_UPGRADES: &str = "proxy_http_version 1.1;\n\
     proxy_set_header Upgrade $http_upgrade;\n\
     proxy_set_header Connection \"upgrade\";\n";

fn proxy(certificates: &str, tls: &str, forward: &str) -> String {
    format!(
        "server {{\n listen 80;\n return 301 https://$host$request_uri;\n}}\n\
         server {{\n listen 443 ssl;\n{certificates}{tls}\n location / {{\n proxy_pass http://127.0.0.1:8080;\n{forward} }}\n}}\n"
    )
}

#[test]
fn chatalot_behind_a_proxy_passes_as_documented_and_fails_each_forbidden_change() {
    let Some(mut d) = Deployment::new(
        "chatalot",
        &["--var", &format!("host={NAME}"), "--tag", "proxy"],
        &[],
    ) else {
        return;
    };
    let valid = certificates(&d, &[NAME], LeafKind::Valid, "chat");
    let expired = certificates(&d, &[NAME], LeafKind::Expired, "chat-expired");
    let good = State {
        nginx: Some(proxy(&valid, MOZILLA_INTERMEDIATE, FORWARD_UPGRADES)),
        // Line 103: behind the proxy the Chatalot port "can remain internal".
        app: Some(("127.0.0.1", 8080)),
        records: vec![Record::A(NAME, SRV_IP)],
        ..State::new()
    }
    .firewall(&[], &[80, 443], &[]);
    // Every proxy check holds from anywhere; the file header runs them from outside, without
    // --vantage (no check of the file is bound to `external`).
    d.run_unnamed(EXTERNAL);
    d.baseline(&good, &[EXTERNAL]);

    d.breakage(
        "TLS 1.0 enabled",
        &good,
        |s| {
            let tls = with_tls10(INTERMEDIATE_CIPHERS) + "ssl_prefer_server_ciphers off;\n";
            s.nginx = Some(proxy(&valid, &tls, FORWARD_UPGRADES));
        },
        &[(EXTERNAL, &[("proxy-tls", fail("tls"))])],
    );
    d.breakage(
        "a CBC suite enabled",
        &good,
        |s| {
            let tls = format!(
                "ssl_protocols TLSv1.2 TLSv1.3;\nssl_ciphers {INTERMEDIATE_CIPHERS}:ECDHE-RSA-AES128-SHA256;\n"
            );
            s.nginx = Some(proxy(&valid, &tls, FORWARD_UPGRADES));
        },
        &[(EXTERNAL, &[("proxy-tls", fail("tls"))])],
    );
    d.breakage(
        "WebSocket upgrades not forwarded",
        &good,
        |s| s.nginx = Some(proxy(&valid, MOZILLA_INTERMEDIATE, "")),
        &[(
            EXTERNAL,
            &[("proxy-websocket", fail_as("http", "upgrade-refused"))],
        )],
    );
    d.breakage(
        "an expired certificate",
        &good,
        |s| s.nginx = Some(proxy(&expired, MOZILLA_INTERMEDIATE, FORWARD_UPGRADES)),
        &[(
            EXTERNAL,
            &[
                ("proxy-tls", fail_as("tls", "cert-expired")),
                ("proxy-web-client", fail_as("tls", "cert-expired")),
                ("proxy-websocket", fail_as("tls", "cert-expired")),
            ],
        )],
    );
    d.breakage(
        "the application behind the proxy down",
        &good,
        |s| s.app = None,
        &[(
            EXTERNAL,
            &[
                ("proxy-web-client", fail_as("http", "http-5xx")),
                ("proxy-websocket", fail_as("http", "upgrade-refused")),
            ],
        )],
    );
    d.finish();
}

#[test]
fn chatalot_used_directly_passes_as_documented_and_fails_each_forbidden_change() {
    // Line 79 reaches the server by address; the lab's server is 198.18.0.1.
    let Some(mut d) = Deployment::new(
        "chatalot",
        &["--var", &format!("host={SRV_IP}"), "--tag", "direct"],
        &[],
    ) else {
        return;
    };
    let good = State {
        app: Some(("0.0.0.0", 8080)),
        ..State::new()
    }
    .firewall(&[], &[8080], &[]);
    d.run_unnamed(EXTERNAL);
    d.baseline(&good, &[EXTERNAL, HOST]);

    d.breakage(
        "the Chatalot port firewalled",
        &good,
        |s| *s = s.clone().firewall(&[], &[], &[8080]),
        &[
            (
                EXTERNAL,
                &[
                    ("direct-port-open", fail_as("tcp", "timeout")),
                    ("direct-web-client", fail_as("tcp", "timeout")),
                    ("direct-websocket", fail_as("tcp", "timeout")),
                ],
            ),
            // The server reaches itself over loopback, which the firewall lets through.
            (HOST, &[]),
        ],
    );
    d.breakage(
        "the Chatalot server down",
        &good,
        |s| s.app = None,
        &[
            (
                EXTERNAL,
                &[
                    ("direct-port-open", fail_as("tcp", "refused")),
                    ("direct-web-client", fail_as("tcp", "refused")),
                    ("direct-websocket", fail_as("tcp", "refused")),
                ],
            ),
            (
                HOST,
                &[
                    ("direct-listens", fail("assert")),
                    ("direct-port-open", fail_as("tcp", "refused")),
                    ("direct-web-client", fail_as("tcp", "refused")),
                    ("direct-websocket", fail_as("tcp", "refused")),
                ],
            ),
        ],
    );
    d.finish();
}
