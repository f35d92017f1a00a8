//! The AI content studio (`checks/ai-studio.toml`, from ai-studio.md): nginx serving HTTPS on the
//! frontend's 3000 and the API's 8000 (lines 210-211, 255-257) in front of the application,
//! PostgreSQL, Redis and Flower on loopback behind DROP rules (lines 212-214, 261), and OpenAI,
//! Hugging Face, PyPI and npm in the providers' namespace (lines 142-144, 216-219).

use super::{
    certificates, fail, fail_as, with_tls10, Deployment, Record, State, EXTERNAL, HOST, INTERMEDIATE_CIPHERS,
    MOZILLA_INTERMEDIATE,
};
use crate::lab::{provider_ip, SRV_IP};
use crate::pki::LeafKind;

const NAME: &str = "studio.example.test";
const PROVIDERS: &[&str] = &[
    "api.openai.com",
    "huggingface.co",
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
];

/// nginx with the frontend's and the API's HTTPS servers, each with its certificates and TLS
/// lines, both proxying to the application.
fn nginx(frontend: (&str, &str), api: (&str, &str)) -> String {
    let server = |port: u16, (certificates, tls): (&str, &str)| {
        format!(
            "server {{\n listen {port} ssl;\n{certificates}{tls}\n location / {{ proxy_pass http://127.0.0.1:8080; }}\n}}\n"
        )
    };
    server(3000, frontend) + &server(8000, api)
}

fn setup() -> Option<(Deployment, State, String)> {
    let d = Deployment::new(
        "ai-studio",
        &["--var", &format!("host={NAME}"), "--var", "api_path=/health"],
        PROVIDERS,
    )?;
    let valid = certificates(&d, &[NAME], LeafKind::Valid, "studio");
    let documented = (valid.as_str(), MOZILLA_INTERMEDIATE);
    let good = State {
        nginx: Some(nginx(documented, documented)),
        app: Some(("127.0.0.1", 8080)),
        stand_ins: [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("127.0.0.1", 5555)].into(),
        records: vec![Record::A(NAME, SRV_IP)],
        ..State::new()
    }
    // Lines 210-214 and 261: 3000 and 8000 public, the datastores and Flower internal.
    .firewall(&[], &[3000, 8000], &[5432, 6379, 5555]);
    Some((d, good, valid))
}

#[test]
fn ai_studio_passes_as_documented_and_fails_each_forbidden_change() {
    let Some((mut d, good, valid)) = setup() else {
        return;
    };
    let other_name = certificates(&d, &["other.example.test"], LeafKind::Valid, "other");
    let tls10 = with_tls10(INTERMEDIATE_CIPHERS);
    let cbc = format!(
        "ssl_protocols TLSv1.2 TLSv1.3;\nssl_ciphers {INTERMEDIATE_CIPHERS}:ECDHE-RSA-AES128-SHA256;\n"
    );
    let documented = (valid.as_str(), MOZILLA_INTERMEDIATE);
    d.baseline(&good, &[EXTERNAL, HOST]);

    d.breakage(
        "a CBC suite on the API's port",
        &good,
        |s| s.nginx = Some(nginx(documented, (&valid, &cbc))),
        &[
            (EXTERNAL, &[("https-tls/8000", fail("tls"))]),
            (HOST, &[("https-tls/8000", fail("tls"))]),
        ],
    );
    d.breakage(
        "TLS 1.0 on the frontend's port",
        &good,
        |s| s.nginx = Some(nginx((&valid, &tls10), documented)),
        &[
            (EXTERNAL, &[("https-tls/3000", fail("tls"))]),
            (HOST, &[("https-tls/3000", fail("tls"))]),
        ],
    );
    d.breakage(
        "a certificate for another name on the frontend's port",
        &good,
        |s| s.nginx = Some(nginx((&other_name, MOZILLA_INTERMEDIATE), documented)),
        &[
            (
                EXTERNAL,
                &[
                    ("https-tls/3000", fail_as("tls", "cert-wrong-host")),
                    ("frontend-initial-load", fail_as("tls", "cert-wrong-host")),
                ],
            ),
            (HOST, &[("https-tls/3000", fail_as("tls", "cert-wrong-host"))]),
        ],
    );
    d.breakage(
        "an API slower than 100 ms on average",
        &good,
        |s| s.app_delay_ms = 150,
        &[(EXTERNAL, &[]), (HOST, &[("api-response-time", fail("assert"))])],
    );
    d.breakage(
        "Redis reachable from outside",
        &good,
        |s| {
            s.rebind(6379, "0.0.0.0");
            s.open_port(6379);
        },
        &[
            (EXTERNAL, &[("datastores-not-exposed/6379", fail("tcp"))]),
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
            (EXTERNAL, &[("datastores-not-exposed/5432", fail("tcp"))]),
            (HOST, &[("datastores-not-wildcard/5432", fail("assert"))]),
        ],
    );
    d.breakage(
        "Flower reachable from outside",
        &good,
        |s| {
            s.rebind(5555, "0.0.0.0");
            s.open_port(5555);
        },
        &[
            (EXTERNAL, &[("flower-not-exposed", fail("tcp"))]),
            (HOST, &[("flower-not-wildcard", fail("assert"))]),
        ],
    );
    d.breakage(
        "Hugging Face dropped by the egress firewall",
        &good,
        |s| {
            s.output.push(format!(
                "-d {} -p tcp --dport 443 -j DROP",
                provider_ip("huggingface.co")
            ))
        },
        &[(HOST, &[("huggingface-reachable", fail_as("tcp", "timeout"))])],
    );
    d.breakage(
        "npm's registry behind a TLS-intercepting proxy (unknown CA)",
        &good,
        |s| {
            s.rogue.insert("registry.npmjs.org");
        },
        &[(HOST, &[("npm-reachable", fail_as("tls", "cert-unknown-issuer"))])],
    );
    d.finish();
}

#[test]
fn ai_studio_accepts_a_tls13_only_server_as_tls12_or_newer() {
    let Some((mut d, good, valid)) = setup() else {
        return;
    };
    d.baseline(&good, &[EXTERNAL]);
    // Line 256 "TLS 1.2+ only": a server that speaks only TLS 1.3 meets it, and must not fail.
    d.breakage(
        "TLS 1.3 only",
        &good,
        |s| {
            let tls13 = (valid.as_str(), "ssl_protocols TLSv1.3;\n");
            s.nginx = Some(nginx(tls13, tls13));
        },
        &[(EXTERNAL, &[])],
    );
    d.finish();
}
