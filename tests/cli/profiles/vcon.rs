//! vCon Server (`checks/vcon-server.toml`, from vcon-server.md): the API on 8000, Redis on
//! loopback behind a DROP rule (line 119), no storage backend on the host, and the four AI
//! services (lines 107-112) in the providers' namespace, reached from the server.

use super::{fail, fail_as, Deployment, Record, State, EXTERNAL, HOST};
use crate::lab::{provider_ip, SRV_IP};

const NAME: &str = "vcon.example.test";
const PROVIDERS: &[&str] = &[
    "api.deepgram.com",
    "api.openai.com",
    "api.groq.com",
    "huggingface.co",
];

fn setup() -> Option<(Deployment, State)> {
    let d = Deployment::new("vcon-server", &["--var", &format!("host={NAME}")], PROVIDERS)?;
    let good = State {
        // The API (line 102) and Redis as a service of this host, internal only (lines 103, 119).
        stand_ins: [("0.0.0.0", 8000), ("127.0.0.1", 6379)].into(),
        records: vec![Record::A(NAME, SRV_IP)],
        ..State::new()
    }
    // Lines 117-121: 8000 open to clients, 6379 internal only, outbound HTTPS open.
    .firewall(&[], &[8000], &[6379]);
    Some((d, good))
}

/// An OUTPUT rule of the server for a provider's HTTPS port.
fn egress(provider: &str, target: &str) -> String {
    format!("-d {} -p tcp --dport 443 -j {target}", provider_ip(provider))
}

#[test]
fn vcon_server_passes_as_documented_and_fails_each_forbidden_change() {
    let Some((mut d, good)) = setup() else { return };
    d.baseline(&good, &[EXTERNAL, HOST]);

    // The file header's post-deploy runs: `--tag core` selects the unconditional requirements,
    // and each provider's tag adds its check.
    let ran = |extra: &[&str]| -> Vec<String> {
        let verdicts = d.run_extra(HOST, true, extra);
        assert_eq!(verdicts.code, 0, "{:#?}", verdicts.verdicts);
        verdicts
            .verdicts
            .iter()
            .filter(|(_, v)| *v != "skip")
            .map(|(id, _)| id.trim_start_matches("vcon-server.").to_owned())
            .collect()
    };
    assert_eq!(ran(&["--tag", "core"]), ["api-open", "redis-not-wildcard"]);
    assert_eq!(
        ran(&["--tag", "core", "--tag", "openai"]),
        ["api-open", "openai-reachable", "redis-not-wildcard"]
    );

    d.breakage(
        "Redis reachable from outside",
        &good,
        |s| {
            s.rebind(6379, "0.0.0.0");
            s.open_port(6379);
        },
        &[
            (EXTERNAL, &[("redis-not-exposed", fail("tcp"))]),
            (HOST, &[("redis-not-wildcard", fail("assert"))]),
        ],
    );
    d.breakage(
        "PostgreSQL reachable from outside",
        &good,
        |s| {
            s.stand_ins.insert(("0.0.0.0", 5432));
            s.open_port(5432);
        },
        &[(EXTERNAL, &[("postgres-not-exposed", fail("tcp"))]), (HOST, &[])],
    );
    d.breakage(
        "a provider dropped by the egress firewall",
        &good,
        |s| s.output.push(egress("api.openai.com", "DROP")),
        &[(HOST, &[("openai-reachable", fail_as("tcp", "timeout"))])],
    );
    d.breakage(
        "a provider rejected by the egress firewall",
        &good,
        |s| {
            s.output
                .push(egress("api.deepgram.com", "REJECT --reject-with tcp-reset"))
        },
        &[(HOST, &[("deepgram-reachable", fail_as("tcp", "refused"))])],
    );
    d.breakage(
        "a provider served with a certificate of an unknown CA",
        &good,
        |s| {
            s.rogue.insert("api.groq.com");
        },
        &[(HOST, &[("groq-reachable", fail_as("tls", "cert-unknown-issuer"))])],
    );
    d.breakage(
        "the API down",
        &good,
        |s| {
            s.stand_ins.remove(&("0.0.0.0", 8000));
        },
        &[
            (EXTERNAL, &[("api-open", fail_as("tcp", "refused"))]),
            (HOST, &[("api-open", fail_as("tcp", "refused"))]),
        ],
    );
    d.finish();
}

#[test]
fn vcon_server_fails_when_a_provider_is_missing_from_dns() {
    let Some((mut d, good)) = setup() else { return };
    d.baseline(&good, &[HOST]);
    d.breakage(
        "a provider missing from DNS",
        &good,
        |s| {
            s.unlisted.insert("huggingface.co");
        },
        &[(HOST, &[("huggingface-reachable", fail_as("dns", "nxdomain"))])],
    );
    d.finish();
}

#[test]
fn a_vcon_run_that_selects_only_checks_of_another_vantage_checks_nothing_and_says_so() {
    // The Deepgram check belongs to the host vantage: from outside, nothing is left to check.
    // Nothing is probed, so this needs no lab.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/checks/vcon-server.toml");
    let out = crate::util::Reach::new()
        .args(["run", file, "--var", "host=vcon.example.test"])
        .args(["--vantage", "external", "--tag", "deepgram", "--format", "json"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("host"), "{}", out.stderr);
}
