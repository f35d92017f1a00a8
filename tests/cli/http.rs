//! http, websocket and endpoint checks against local servers: statuses, redirects, slow answers,
//! headers, bodies, samples, proxies, the provider presets (their real names resolved to a local
//! TLS server with `--resolve`, trusted through `--ca-file`), and keys that never leak.

use crate::http_servers::{privileged_listener, Pki, Server, GOOD_KEY};
use crate::netns::{NetnsPair, SERVER_ADDR};
use crate::util::{Output, Workspace};
use serde_json::Value;

/// Runs `spec` with `args` and returns the output after checking the exit code.
fn run(ws: &Workspace, spec: &str, args: &[&str], code: i32) -> Output {
    ws.write("spec.toml", spec);
    ws.reach()
        .args(["run", "spec.toml", "--format", "json"])
        .args(args)
        .output()
        .expect_code(code)
}

fn checks(out: &Output) -> Vec<Value> {
    out.json()["checks"].as_array().unwrap().clone()
}

/// `(status, stage, error)` of a check, for compact asserts.
fn verdict(check: &Value) -> (String, String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    (
        text(&check["status"]),
        text(&check["stage"]),
        text(&check["error"]),
    )
}

fn v(status: &str, stage: &str, error: &str) -> (String, String, String) {
    (status.into(), stage.into(), error.into())
}

#[test]
fn statuses_match_codes_lists_and_classes() {
    let server = Server::http(None);
    let base = format!("http://127.0.0.1:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "created-is-2xx"
kind = "http"
url = "{base}/status/204"
expect.status = "2xx"
[[check]]
id = "missing-page"
kind = "http"
url = "{base}/status/404"
expect.status = [404, 410]
[[check]]
id = "server-error"
kind = "http"
url = "{base}/status/503"
[[check]]
id = "client-error"
kind = "http"
method = "POST"
body = "{{{{}}}}"
url = "{base}/status/403"
expect.status = 200
"#
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"));
    assert_eq!(verdict(&checks[2]), v("fail", "http", "http-5xx"));
    assert!(checks[2]["message"]
        .as_str()
        .unwrap()
        .contains("status 503 (expected 2xx)"));
    assert_eq!(verdict(&checks[3]), v("fail", "http", "http-4xx"));
    assert_eq!(checks[0]["observed"]["http"]["status"], 204);
    assert!(checks[0]["timings"]["ttfb_ms"].is_number(), "{}", checks[0]);
    assert!(server.seen().iter().any(|l| l.starts_with("POST /status/403")));
}

#[test]
fn redirects_are_checked_followed_and_loops_caught() {
    let tls_server = Server::http(Some(Pki::new().server_config(&["site.test"])));
    let plain = Server::http(None);
    let base = format!("http://127.0.0.1:{}", plain.port());
    let https_home = format!("https://site.test:{}/", tls_server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "http-to-https"
kind = "http"
url = "{base}/to?{https_home}"
expect.redirect_to = "{https_home}"
[[check]]
id = "chain"
kind = "http"
url = "{base}/redirect/3"
follow_redirects = true
expect.body_contains = "arrived"
[[check]]
id = "chain-not-followed"
kind = "http"
url = "{base}/redirect/3"
expect.status = 200
[[check]]
id = "loop"
kind = "http"
url = "{base}/loop/a"
follow_redirects = true
[[check]]
id = "wrong-target"
kind = "http"
url = "{base}/to?{https_home}"
expect.redirect_to = "https://elsewhere.test/"
"#
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"));
    assert_eq!(
        checks[1]["observed"]["http"]["redirects"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        checks[1]["observed"]["summary"]
            .as_str()
            .unwrap()
            .split(" -> ")
            .count(),
        4
    );
    assert_eq!(verdict(&checks[2]), v("fail", "http", "-"));
    assert_eq!(verdict(&checks[3]), v("fail", "http", "redirect-loop"));
    assert!(checks[3]["message"].as_str().unwrap().contains("/loop/b"));
    assert_eq!(verdict(&checks[4]), v("fail", "http", "-"));
    assert!(checks[4]["message"]
        .as_str()
        .unwrap()
        .contains("expected https://elsewhere.test/"));
}

#[test]
fn a_slow_first_byte_times_out_at_stage_ttfb_and_a_dropped_request_is_named() {
    let server = Server::http(None);
    let base = format!("http://127.0.0.1:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
timeout = "300ms"
[[check]]
id = "slow"
kind = "http"
url = "{base}/slow"
[[check]]
id = "dropped"
kind = "http"
url = "{base}/drop"
"#
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("fail", "ttfb", "timeout"));
    assert!(checks[0]["timings"]["tcp_ms"].is_number());
    assert_eq!(verdict(&checks[1]), v("fail", "ttfb", "connection-closed"));
}

#[test]
fn hsts_headers_and_bodies_are_asserted() {
    let pki = Pki::new();
    let server = Server::http(Some(pki.server_config(&["app.test"])));
    let base = format!("https://app.test:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "hsts-present"
kind = "http"
url = "{base}/hsts"
expect.headers."Strict-Transport-Security" = {{ max_age_at_least = 15552000 }}
[[check]]
id = "hsts-absent"
kind = "http"
url = "{base}/health"
expect.headers."Strict-Transport-Security" = {{ max_age_at_least = 15552000 }}
[[check]]
id = "health-json"
kind = "http"
url = "{base}/health"
expect.json."/status" = "ok"
expect.json."/version" = 3
expect.headers.content-type = {{ regex = "^application/json" }}
expect.headers.server = {{ present = false }}
expect.body_regex = '"version":\s*\d+'
[[check]]
id = "health-down"
kind = "http"
url = "{base}/health"
expect.json."/status" = "down"
"#
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    let resolve = format!("app.test:{}:127.0.0.1", server.port());
    let out = run(
        &ws,
        &spec,
        &["--resolve", &resolve, "--ca-file", ca.to_str().unwrap()],
        1,
    );
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
    assert_eq!(checks[0]["observed"]["http"]["tls"]["version"], "TLSv1.3");
    assert_eq!(verdict(&checks[1]), v("fail", "assert", "-"));
    assert!(checks[1]["message"]
        .as_str()
        .unwrap()
        .contains("header strict-transport-security is missing"));
    assert_eq!(verdict(&checks[2]), v("pass", "http", "-"), "{}", checks[2]);
    assert_eq!(verdict(&checks[3]), v("fail", "assert", "-"));
    assert!(checks[3]["message"].as_str().unwrap().contains("\"ok\""));
}

#[test]
fn a_later_sample_with_a_wrong_status_fails_the_check() {
    let server = Server::http(None);
    let spec = format!(
        "[defaults]\nretries = 0\n[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/then-503\"\nsamples = 3\n",
        server.port()
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let check = &checks(&out)[0];
    assert_eq!(verdict(check), v("fail", "http", "http-5xx"), "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("status 503"),
        "{check}"
    );
}

#[test]
fn samples_reuse_one_connection_and_report_latency() {
    let server = Server::http(None);
    let spec = format!(
        r#"
[[check]]
id = "api-latency"
kind = "http"
url = "http://127.0.0.1:{}/health"
samples = 20
expect.avg_ms = 60000
expect.p95_ms = 60000
expect.max_ms = 60000
"#,
        server.port()
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 0);
    let check = &checks(&out)[0];
    assert_eq!(check["observed"]["http"]["latency"]["samples"], 20);
    assert_eq!(check["expected"], "2xx, max<=60000ms, avg<=60000ms, p95<=60000ms");
    assert_eq!(server.seen().len(), 20);
    assert_eq!(
        server.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "every sample goes over the same connection"
    );
}

#[test]
fn a_latency_budget_that_is_exceeded_fails_at_assert() {
    // The server waits 50ms before every answer: far over a 1ms budget whatever the machine.
    let server = Server::http(None);
    let spec = format!(
        "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/delay\"\nsamples = 3\nexpect.avg_ms = 1\n",
        server.port()
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let check = &checks(&out)[0];
    assert_eq!(verdict(check), v("fail", "assert", "-"));
    assert!(
        check["message"].as_str().unwrap().contains("over the 1ms budget"),
        "{check}"
    );
    assert_eq!(check["attempts"], 1, "an observed latency is not retried");
}

#[test]
fn websockets_upgrade_and_echo_over_tcp_and_tls() {
    let pki = Pki::new();
    let plain = Server::http(None);
    let tls = Server::http(Some(pki.server_config(&["chat.test"])));
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "ws"
kind = "websocket"
url = "ws://127.0.0.1:{plain}/ws"
echo = "ping from reach"
[[check]]
id = "wss"
kind = "websocket"
url = "wss://chat.test:{tls}/ws"
[[check]]
id = "not-a-websocket"
kind = "websocket"
url = "ws://127.0.0.1:{plain}/health"
"#,
        plain = plain.port(),
        tls = tls.port()
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    let resolve = format!("chat.test:{}:127.0.0.1", tls.port());
    let out = run(
        &ws,
        &spec,
        &["--resolve", &resolve, "--ca-file", ca.to_str().unwrap()],
        1,
    );
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
    assert_eq!(checks[0]["observed"]["http"]["echoed"], true);
    assert_eq!(checks[0]["observed"]["http"]["status"], 101);
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"));
    assert!(checks[1]["timings"]["tls_ms"].is_number());
    assert_eq!(verdict(&checks[2]), v("fail", "http", "upgrade-refused"));
    assert!(checks[2]["message"].as_str().unwrap().contains("200"));
}

/// The four providers, by preset only (their real host names and port 443).
const PRESETS: &str = r#"
[defaults]
retries = 0
[[check]]
kind = "endpoint"
provider = "deepgram"
[[check]]
kind = "endpoint"
provider = "openai"
[[check]]
kind = "endpoint"
provider = "groq"
[[check]]
kind = "endpoint"
provider = "huggingface"
"#;

const PROVIDER_HOSTS: [&str; 4] = [
    "api.deepgram.com",
    "api.openai.com",
    "api.groq.com",
    "huggingface.co",
];

/// A TLS server for every provider name on a loopback address's port 443, and the flags that
/// point reach at it. `None` when port 443 cannot be bound (not root).
fn provider_server(pki: &Pki, ws: &Workspace) -> Option<(Server, Vec<String>)> {
    let listener = privileged_listener(443);
    if listener.is_none() && std::env::var("REACH_REQUIRE_NETNS").is_ok_and(|v| v == "1") {
        panic!("REACH_REQUIRE_NETNS=1 but port 443 cannot be bound on loopback");
    }
    let server = Server::http_on(listener?, Some(pki.server_config(&PROVIDER_HOSTS)));
    let mut args = vec![
        "--ca-file".to_owned(),
        pki.write_ca(ws.path()).display().to_string(),
    ];
    for host in PROVIDER_HOSTS {
        args.push("--resolve".into());
        args.push(format!("{host}:443:{}", server.address.ip()));
    }
    Some((server, args))
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn provider_presets_are_reachable_when_they_answer_401_without_a_key() {
    let pki = Pki::new();
    let ws = Workspace::new();
    let Some((server, args)) = provider_server(&pki, &ws) else {
        return;
    };
    let out = run(&ws, PRESETS, &strs(&args), 0);
    let checks = checks(&out);
    for check in &checks {
        assert_eq!(verdict(check), v("pass", "http", "-"), "{check}");
        assert_eq!(check["observed"]["http"]["status"], 401);
        assert!(check["observed"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("reachable (401)"));
        assert!(check["timings"]["tls_ms"].is_number());
    }
    let targets: Vec<&str> = checks.iter().map(|c| c["target"].as_str().unwrap()).collect();
    assert_eq!(
        targets,
        [
            "https://api.deepgram.com/v1/projects",
            "https://api.openai.com/v1/models",
            "https://api.groq.com/openai/v1/models",
            "https://huggingface.co/api/whoami-v2"
        ]
    );
    let seen = server.seen();
    assert!(
        seen.contains(&"GET /openai/v1/models HTTP/1.1".to_owned()),
        "{seen:?}"
    );
}

#[test]
fn keys_are_validated_and_never_appear_in_any_output() {
    let pki = Pki::new();
    let ws = Workspace::new();
    let Some((_server, args)) = provider_server(&pki, &ws) else {
        return;
    };
    let bad_key = "sk-test-BAD-7e3d2a41";
    let spec = r#"
[defaults]
retries = 0
[[check]]
id = "openai-key"
kind = "endpoint"
provider = "openai"
auth = true
[[check]]
id = "deepgram-key"
kind = "endpoint"
provider = "deepgram"
auth = true
[[check]]
id = "groq-key"
kind = "endpoint"
provider = "groq"
auth = true
[[check]]
id = "hf-key"
kind = "endpoint"
provider = "huggingface"
auth = true
"#;
    ws.write("keys.toml", spec);
    for format in ["json", "human"] {
        let out = ws
            .reach()
            .args(["run", "keys.toml", "--format", format])
            .args(strs(&args))
            .env("OPENAI_API_KEY", GOOD_KEY)
            .env("DEEPGRAM_API_KEY", bad_key)
            .env("GROQ_API_KEY", bad_key)
            .env_remove("HF_TOKEN")
            .output()
            .expect_code(1);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains(GOOD_KEY) && !text.contains(bad_key),
                "a key leaked:\n{text}"
            );
            assert!(!text.contains("sk-test"), "part of a key leaked:\n{text}");
        }
        if format == "json" {
            let checks = checks(&out);
            assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
            assert!(checks[0]["observed"]["summary"]
                .as_str()
                .unwrap()
                .starts_with("key accepted (200)"));
            assert_eq!(verdict(&checks[1]), v("fail", "http", "key-rejected"));
            assert!(checks[1]["message"].as_str().unwrap().contains("key rejected"));
            assert!(checks[1]["message"]
                .as_str()
                .unwrap()
                .contains("DEEPGRAM_API_KEY"));
            assert_eq!(verdict(&checks[2]), v("fail", "http", "key-rejected"));
            assert_eq!(verdict(&checks[3]), v("error", "assert", "no-credential"));
            assert!(checks[3]["message"]
                .as_str()
                .unwrap()
                .contains("HF_TOKEN is not set"));
        } else {
            assert!(out.stdout.contains("key rejected"), "{}", out.stdout);
        }
    }
}

#[test]
fn an_untrusted_certificate_and_a_dropped_connection_fail_at_tls_without_leaking_keys() {
    let untrusted = Server::http(Some(Pki::untrusted_config(&["api.openai.com"])));
    let dropping = Server::dropping();
    let pki = Pki::new();
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "intercepted"
kind = "endpoint"
provider = "openai"
url = "https://api.openai.com:{untrusted}/v1/models"
auth = true
[[check]]
id = "dropped"
kind = "endpoint"
provider = "groq"
url = "https://api.groq.com:{dropping}/openai/v1/models"
auth = true
"#,
        untrusted = untrusted.port(),
        dropping = dropping.port()
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    ws.write("spec.toml", &spec);
    for format in ["json", "human"] {
        let out = ws
            .reach()
            .args([
                "run",
                "spec.toml",
                "--format",
                format,
                "--ca-file",
                ca.to_str().unwrap(),
            ])
            .args([
                "--resolve",
                &format!("api.openai.com:{}:127.0.0.1", untrusted.port()),
            ])
            .args([
                "--resolve",
                &format!("api.groq.com:{}:127.0.0.1", dropping.port()),
            ])
            .env("OPENAI_API_KEY", GOOD_KEY)
            .env("GROQ_API_KEY", GOOD_KEY)
            .output()
            .expect_code(1);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains(GOOD_KEY),
                "a key leaked on a failure path:\n{text}"
            );
        }
        if format == "human" {
            assert!(
                out.stdout.contains("cert-unknown-issuer at tls"),
                "{}",
                out.stdout
            );
            assert!(out.stdout.contains("└ spec.toml:4"), "{}", out.stdout);
            continue;
        }
        let checks = checks(&out);
        assert_eq!(verdict(&checks[0]), v("fail", "tls", "cert-unknown-issuer"));
        assert!(checks[0]["message"]
            .as_str()
            .unwrap()
            .contains("TLS-intercepting proxy"));
        assert_eq!(verdict(&checks[1]), v("fail", "tls", "connection-closed"));
        assert!(checks[1]["timings"]["tcp_ms"].is_number());
    }
}

#[test]
fn a_connect_proxy_is_used_from_the_check_or_the_environment_and_reported() {
    let pki = Pki::new();
    let upstream = Server::http(Some(pki.server_config(&["api.openai.com"])));
    let proxy = Server::connect_proxy(upstream.address);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    let proxy_port = proxy.port();
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "per-check"
kind = "endpoint"
provider = "openai"
proxy = "{proxy_url}"
[[check]]
id = "from-env"
kind = "endpoint"
provider = "openai"
[[check]]
id = "refused"
kind = "endpoint"
url = "https://mail.test:25/"
proxy = "{proxy_url}"
[[check]]
id = "with-credentials"
kind = "endpoint"
provider = "openai"
url = "https://api.openai.com:26/v1/models"
proxy = "http://me:secret@127.0.0.1:{proxy_port}"
[[check]]
id = "without-credentials"
kind = "endpoint"
provider = "openai"
url = "https://api.openai.com:26/v1/models"
proxy = "{proxy_url}"
[[check]]
id = "websocket-via-proxy"
kind = "websocket"
url = "wss://api.openai.com/ws"
echo = "through the tunnel"
[[check]]
id = "plain-via-proxy"
kind = "http"
url = "http://intranet.test/page"
"#
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    ws.write("spec.toml", &spec);
    let out = ws
        .reach()
        .args([
            "run",
            "spec.toml",
            "--format",
            "json",
            "--ca-file",
            ca.to_str().unwrap(),
        ])
        // Should a proxy be skipped by mistake, these names still lead only to loopback.
        .args(["--resolve", "api.openai.com:443:127.0.0.1"])
        .args(["--resolve", "mail.test:25:127.0.0.1"])
        .args(["--resolve", "api.openai.com:26:127.0.0.1"])
        .args(["--resolve", "intranet.test:80:127.0.0.1"])
        .env("HTTPS_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("NO_PROXY", "other.test")
        .output()
        .expect_code(1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"));
    assert_eq!(checks[0]["observed"]["http"]["proxy"], proxy_url);
    assert!(checks[0]["observed"]["summary"]
        .as_str()
        .unwrap()
        .ends_with("via proxy"));
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"));
    assert_eq!(checks[1]["observed"]["http"]["proxy"], proxy_url);
    assert_eq!(verdict(&checks[2]), v("fail", "proxy", "proxy-refused"));
    assert_eq!(verdict(&checks[3]), v("pass", "http", "-"));
    assert_eq!(
        checks[3]["observed"]["http"]["proxy"], proxy_url,
        "shown without credentials"
    );
    assert_eq!(verdict(&checks[4]), v("fail", "proxy", "proxy-refused"));
    assert!(checks[4]["message"]
        .as_str()
        .unwrap()
        .contains("wants credentials (407)"));
    assert_eq!(verdict(&checks[5]), v("pass", "http", "-"));
    assert_eq!(checks[5]["observed"]["http"]["echoed"], true);
    assert_eq!(checks[5]["observed"]["http"]["proxy"], proxy_url);
    assert_eq!(verdict(&checks[6]), v("pass", "http", "-"));
    assert!(
        !out.stdout.contains("secret"),
        "proxy credentials leaked:\n{}",
        out.stdout
    );
    let seen = proxy.seen();
    assert!(
        seen.contains(&"CONNECT api.openai.com:443 HTTP/1.1".to_owned()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"GET http://intranet.test/page HTTP/1.1".to_owned()),
        "{seen:?}"
    );

    // NO_PROXY and `proxy = "none"` keep requests direct.
    let direct = Server::http(None);
    let spec = format!(
        "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/health\"\n[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/status/200\"\nproxy = \"none\"\n",
        direct.port(),
        direct.port()
    );
    ws.write("direct.toml", &spec);
    let out = ws
        .reach()
        .args(["run", "direct.toml", "--format", "json"])
        .env("HTTP_PROXY", &proxy_url)
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .expect_code(0);
    for check in out.json()["checks"].as_array().unwrap() {
        assert_eq!(check["observed"]["http"]["proxy"], Value::Null, "{check}");
    }
}

#[test]
fn dns_failure_and_firewall_drops_name_their_stage() {
    let Some(pair) = NetnsPair::create() else { return };
    // `ip netns exec` gives the namespace this resolv.conf: the only DNS server it can ask is
    // an address in the server namespace where nothing answers, so no query leaves the pair.
    let netns_etc = std::path::PathBuf::from(format!("/etc/netns/{}", pair.client));
    std::fs::create_dir_all(&netns_etc).unwrap();
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(netns_etc.clone());
    std::fs::write(
        netns_etc.join("resolv.conf"),
        format!("nameserver {SERVER_ADDR}\noptions timeout:1 attempts:1\n"),
    )
    .unwrap();
    pair.server_rule(443, &["DROP"]);
    // Silence, not an ICMP port unreachable (which reach reports as `refused` at once).
    pair.exec_in(
        &pair.server,
        &[
            "iptables", "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP",
        ],
    );
    let ws = Workspace::new();
    ws.write(
        "egress.toml",
        &format!(
            r#"
[defaults]
retries = 0
timeout = "2s"
[[check]]
id = "dns"
kind = "endpoint"
provider = "openai"
[[check]]
id = "egress-dropped"
kind = "endpoint"
url = "https://{SERVER_ADDR}/"
timeout = "300ms"
"#
        ),
    );
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &ws.path().join("egress.toml").display().to_string(),
            "--format",
            "json",
        ])
        .output();
    let report = out.json();
    let checks = report["checks"].as_array().unwrap();
    // The resolver's query got no answer: a resolver failure (an error at stage dns), not a
    // name that does not exist.
    assert_eq!(verdict(&checks[0]), v("error", "dns", "timeout"), "{}", checks[0]);
    assert_eq!(verdict(&checks[1]), v("fail", "tcp", "timeout"));
    assert!(checks[1]["message"].as_str().unwrap().contains("firewall"));
    assert_eq!(out.code, 1);
}

#[track_caller]
fn rejected(spec: &str, line: usize, column: usize, needle: &str) {
    crate::util::assert_rejected_at(spec, &format!("{line}:{column}: "), needle);
}

const HTTP: &str = "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\n";

#[test]
fn spec_errors_of_the_http_kinds_are_located() {
    rejected(
        "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:0/\"\n",
        3,
        7,
        "port 0 is out of range",
    );
    rejected(
        "[[check]]\nkind = \"websocket\"\nurl = \"ws://127.0.0.1:0/\"\n",
        3,
        7,
        "port 0 is out of range",
    );
    let endpoint = "[[check]]\nkind = \"endpoint\"\n";
    rejected(
        &format!("{endpoint}provider = \"opneai\"\n"),
        3,
        12,
        "unknown provider `opneai`: expected one of deepgram, openai, groq, huggingface",
    );
    rejected(
        endpoint,
        1,
        1,
        "needs a `provider` (deepgram, openai, groq, huggingface) or a `url`",
    );
    rejected(
        &format!("{endpoint}url = \"https://api.example.test/\"\nauth = true\n"),
        4,
        8,
        "auth = true needs a `provider`",
    );
    rejected(
        &format!("{HTTP}expect.status = \"6xx\"\n"),
        4,
        17,
        "`6xx` is not a status class",
    );
    rejected(
        &format!("{HTTP}expect.status = [200, 99]\n"),
        4,
        17,
        "status 99 is out of range",
    );
    rejected(
        "[[check]]\nkind = \"http\"\nurl = \"ftp://files.test/\"\n",
        3,
        7,
        "the scheme must be http:// or https://",
    );
    rejected(
        "[[check]]\nkind = \"websocket\"\nurl = \"https://chat.test/ws\"\n",
        3,
        7,
        "the scheme must be ws:// or wss://",
    );
    rejected(
        "[[check]]\nkind = \"http\"\nurl = \"https://me:hunter2@api.test/\"\n",
        3,
        7,
        "put credentials in a header",
    );
    rejected(
        &format!("{HTTP}expect.body_regex = \"(\"\n"),
        4,
        21,
        "`(` is not a valid regex",
    );
    rejected(
        &format!("{HTTP}samples = 0\n"),
        4,
        11,
        "samples = 0 is out of range: 1 to 1000",
    );
    rejected(
        &format!("{HTTP}method = \"GE T\"\n"),
        4,
        10,
        "`GE T` is not an HTTP method",
    );
    rejected(
        &format!("{HTTP}proxy = \"socks4://proxy.test:1080\"\n"),
        4,
        9,
        "proxy scheme `socks4` is not supported",
    );
    rejected(
        &format!("{HTTP}expect.stauts = 200\n"),
        4,
        8,
        "unknown field `stauts`",
    );
    rejected(
        &format!("{HTTP}expect.json.status = \"ok\"\n"),
        4,
        22,
        "`status` is not a JSON pointer",
    );
    rejected(
        &format!("{HTTP}expect.headers.x-id = {{}}\n"),
        4,
        23,
        "an empty header rule tests nothing",
    );
    rejected(
        &format!("{HTTP}expect.headers.server = {{ present = false, regex = \"x\" }}\n"),
        4,
        25,
        "present = false cannot be combined",
    );
    rejected(
        &format!("{HTTP}expect.max_ms = 0\n"),
        4,
        17,
        "0 ms is not a latency budget",
    );
}

#[test]
fn a_bad_proxy_variable_is_a_usage_error_that_hides_its_password() {
    let ws = Workspace::new();
    ws.write("ok.toml", HTTP);
    let out = ws
        .reach()
        .args(["run", "ok.toml"])
        .env("HTTPS_PROXY", "socks4://me:hunter2@proxy.test:1080")
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("HTTPS_PROXY"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

#[test]
fn an_unknown_key_inside_expect_gets_no_hint_about_the_keys_of_every_check() {
    let ws = Workspace::new();
    ws.write("bad.toml", &format!("{HTTP}expect.stauts = 200\n"));
    let out = ws.reach().args(["validate", "bad.toml"]).output().expect_code(2);
    assert!(out.stderr.contains("expected one of `status`"), "{}", out.stderr);
    assert!(!out.stderr.contains("a key of every check"), "{}", out.stderr);
    ws.write("bad.toml", &format!("{HTTP}sample = 2\n"));
    let out = ws.reach().args(["validate", "bad.toml"]).output().expect_code(2);
    assert!(out.stderr.contains("a key of every check"), "{}", out.stderr);
}

#[test]
fn the_shipped_http_example_validates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = crate::util::Reach::new()
        .args(["validate", &format!("{root}/checks/examples/http.toml")])
        .args(["--var", "host=app.example.test"])
        .output()
        .expect_code(0);
    assert_eq!(out.stdout, "ok: 11 checks in 1 file\n");
}

#[test]
fn a_silent_first_address_leaves_time_for_the_next() {
    // 127.0.0.1:PORT drops every SYN (its accept queue is full); 127.0.0.2:PORT answers.
    let (_listener, _held, port) = crate::util::hanging_port();
    let answering = std::net::TcpListener::bind(("127.0.0.2", port)).unwrap();
    let _server = Server::http_on(answering, None);
    let ws = Workspace::new();
    ws.write(
        "two.toml",
        "[[check]]\nkind = \"http\"\nurl = \"http://svc.shop.test:{port}/hsts\"\ntimeout = \"2s\"\nretries = 0\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "two.toml",
            "--format",
            "json",
            "--var",
            &format!("port={port}"),
        ])
        .args(["--resolve", &format!("svc.shop.test:{port}:127.0.0.1,127.0.0.2")])
        .output()
        .expect_code(0);
    let check = &out.json()["checks"][0];
    assert_eq!(
        check["observed"]["http"]["address"],
        format!("127.0.0.2:{port}"),
        "{check:#}"
    );
}

/// `observed.http` of a check.
fn http_of(check: &Value) -> &Value {
    &check["observed"]["http"]
}

fn message(check: &Value) -> &str {
    check["message"].as_str().unwrap_or_default()
}

/// A timing of a check in milliseconds (panics when absent).
#[track_caller]
fn ms(check: &Value, stage: &str) -> f64 {
    check["timings"][format!("{stage}_ms")]
        .as_f64()
        .unwrap_or_else(|| panic!("no {stage}_ms in {check:#}"))
}

#[test]
fn http2_is_negotiated_by_alpn_required_and_reported() {
    let pki = Pki::new();
    let names = ["h2.test", "h1.test", "bare.test"];
    let both = Server::hyper(Some(pki.server_config_alpn(&names, &[b"h2", b"http/1.1"])), false);
    let h1_only = Server::hyper(Some(pki.server_config_alpn(&names, &[b"http/1.1"])), false);
    let no_alpn = Server::hyper(Some(pki.server_config_alpn(&names, &[])), false);
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "auto"
kind = "http"
url = "https://h2.test:{both}/"
expect.http_version = "2"
expect.body_contains = "HTTP/2.0"
[[check]]
id = "pinned-1-1"
kind = "http"
url = "https://h2.test:{both}/"
http_version = "1.1"
expect.body_contains = "HTTP/1.1"
[[check]]
id = "expects-2-gets-1-1"
kind = "http"
url = "https://h1.test:{h1_only}/"
expect.http_version = "2"
[[check]]
id = "requires-2-alpn-refused"
kind = "http"
url = "https://h1.test:{h1_only}/"
http_version = "2"
[[check]]
id = "requires-2-no-alpn"
kind = "http"
url = "https://bare.test:{no_alpn}/"
http_version = "2"
[[check]]
id = "samples-multiplexed"
kind = "http"
url = "https://h2.test:{both}/wait"
http_version = "2"
samples = 4
"#,
        both = both.port(),
        h1_only = h1_only.port(),
        no_alpn = no_alpn.port(),
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    let mut args = vec!["--ca-file".to_owned(), ca.display().to_string()];
    for (name, server) in [("h2.test", &both), ("h1.test", &h1_only), ("bare.test", &no_alpn)] {
        args.push("--resolve".into());
        args.push(format!("{name}:{}:127.0.0.1", server.port()));
    }
    let out = run(&ws, &spec, &strs(&args), 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"), "{:#}", checks[0]);
    assert_eq!(http_of(&checks[0])["version"], "HTTP/2");
    assert_eq!(http_of(&checks[0])["tls"]["alpn"], "h2");
    assert!(checks[0]["observed"]["summary"]
        .as_str()
        .unwrap()
        .contains("over HTTP/2"));
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"), "{:#}", checks[1]);
    assert_eq!(http_of(&checks[1])["version"], "HTTP/1.1");
    assert_eq!(http_of(&checks[1])["tls"]["alpn"], "http/1.1");
    assert_eq!(verdict(&checks[2]), v("fail", "http", "-"), "{:#}", checks[2]);
    assert!(message(&checks[2]).contains("answered over HTTP/1.1 (expected HTTP/2)"));
    assert_eq!(
        verdict(&checks[3]),
        v("fail", "tls", "tls-alert"),
        "{:#}",
        checks[3]
    );
    assert!(
        message(&checks[3]).contains("ALPN offered only h2"),
        "{:#}",
        checks[3]
    );
    assert_eq!(
        verdict(&checks[4]),
        v("fail", "tls", "http-protocol"),
        "{:#}",
        checks[4]
    );
    assert!(
        message(&checks[4]).contains("did not agree to HTTP/2"),
        "{:#}",
        checks[4]
    );
    assert_eq!(verdict(&checks[5]), v("pass", "http", "-"), "{:#}", checks[5]);
    // The server saw each version as the client spoke it, not just what reach reported.
    let seen = both.seen();
    assert!(seen.contains(&"GET / HTTP/2.0".to_owned()), "{seen:?}");
    assert!(seen.contains(&"GET / HTTP/1.1".to_owned()), "{seen:?}");
    assert_eq!(seen.iter().filter(|l| *l == "GET /wait HTTP/2.0").count(), 4);
}

#[test]
fn http2_with_prior_knowledge_on_cleartext_when_asked() {
    let h2c = Server::hyper(None, true);
    let h1 = Server::http(None);
    let proxy = Server::connect_proxy(h2c.address);
    let spec = format!(
        r#"
[defaults]
retries = 0
timeout = "3s"
[[check]]
id = "h2c"
kind = "http"
url = "http://127.0.0.1:{h2c}/"
http_version = "2"
expect.http_version = "2"
[[check]]
id = "auto-is-1-1-on-cleartext"
kind = "http"
url = "http://127.0.0.1:{h2c}/"
[[check]]
id = "h1-server-asked-h2c"
kind = "http"
url = "http://127.0.0.1:{h1}/health"
http_version = "2"
[[check]]
id = "h2c-through-an-http-proxy"
kind = "http"
url = "http://h2c.test/"
http_version = "2"
proxy = "http://127.0.0.1:{proxy}"
"#,
        h2c = h2c.port(),
        h1 = h1.port(),
        proxy = proxy.port(),
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"), "{:#}", checks[0]);
    assert_eq!(http_of(&checks[0])["version"], "HTTP/2");
    assert_eq!(http_of(&checks[0])["tls"], Value::Null);
    assert_eq!(checks[1]["status"], "fail", "{:#}", checks[1]);
    assert_eq!(
        verdict(&checks[2]),
        v("fail", "http", "http-protocol"),
        "{:#}",
        checks[2]
    );
    assert!(
        message(&checks[2]).contains("does not speak HTTP/2 with prior knowledge"),
        "{:#}",
        checks[2]
    );
    // A proxy speaks HTTP/1.1: prior knowledge goes through a CONNECT tunnel.
    assert_eq!(verdict(&checks[3]), v("pass", "http", "-"), "{:#}", checks[3]);
    assert_eq!(http_of(&checks[3])["version"], "HTTP/2");
    assert_eq!(proxy.seen(), ["CONNECT h2c.test:80 HTTP/1.1"]);
    assert_eq!(h2c.seen(), ["GET / HTTP/2.0", "GET / HTTP/2.0"]);
}

#[test]
fn socks5_proxies_carry_requests_and_name_their_failures() {
    use crate::http_servers::Socks;
    let pki = Pki::new();
    let upstream = Server::http(Some(pki.server_config(&["api.openai.com"])));
    let plain = Server::http(None);
    let socks = Server::socks5(upstream.address, Socks::default());
    let socks_plain = Server::socks5(plain.address, Socks::default());
    let with_auth = Server::socks5(
        upstream.address,
        Socks {
            credentials: Some(("me", "s3cret-pw")),
            ..Socks::default()
        },
    );
    let refusing = |reply| {
        Server::socks5(
            upstream.address,
            Socks {
                reply,
                ..Socks::default()
            },
        )
    };
    let (ruleset, target_refused, general) = (refusing(2), refusing(5), refusing(1));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let p = |s: &Server| s.port();
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "socks5h"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{socks}"
[[check]]
id = "socks5-resolves-here"
kind = "endpoint"
provider = "openai"
proxy = "socks5://127.0.0.1:{socks}"
[[check]]
id = "auth-ok"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://me:s3cret-pw@127.0.0.1:{auth}"
[[check]]
id = "auth-wrong"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://me:wrong-pw@127.0.0.1:{auth}"
[[check]]
id = "auth-missing"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{auth}"
[[check]]
id = "ruleset"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{ruleset}"
[[check]]
id = "target-refused"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{target_refused}"
[[check]]
id = "general-failure"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{general}"
[[check]]
id = "proxy-down"
kind = "endpoint"
provider = "openai"
proxy = "socks5h://127.0.0.1:{closed_port}"
[[check]]
id = "websocket"
kind = "websocket"
url = "wss://api.openai.com/ws"
echo = "through socks"
proxy = "socks5h://127.0.0.1:{socks}"
[[check]]
id = "plain-from-env"
kind = "http"
url = "http://intranet.test/health"
"#,
        socks = p(&socks),
        auth = p(&with_auth),
        ruleset = p(&ruleset),
        target_refused = p(&target_refused),
        general = p(&general),
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    ws.write("spec.toml", &spec);
    let out = ws
        .reach()
        .args([
            "run",
            "spec.toml",
            "--format",
            "json",
            "--ca-file",
            ca.to_str().unwrap(),
        ])
        // socks5:// resolves here: the run's resolver answers, and only loopback.
        .args(["--resolve", "api.openai.com:443:127.0.0.2"])
        .args(["--resolve", "intranet.test:80:127.0.0.1"])
        .env(
            "ALL_PROXY",
            &format!("socks5h://127.0.0.1:{}", socks_plain.port()),
        )
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect_code(1);
    assert!(!out.stdout.contains("s3cret-pw") && !out.stderr.contains("s3cret-pw"));
    let checks = checks(&out);
    let by_id = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"].as_str().unwrap().ends_with(id))
            .unwrap_or_else(|| panic!("no check {id}"))
    };
    let check = by_id(".socks5h");
    assert_eq!(verdict(check), v("pass", "http", "-"), "{check:#}");
    assert_eq!(
        http_of(check)["proxy"],
        format!("socks5h://127.0.0.1:{}", socks.port())
    );
    assert!(check["timings"]["proxy_ms"].is_number(), "{check:#}");
    assert_eq!(http_of(check)["status"], 401, "{check:#}");
    assert_eq!(
        check["timings"]["dns_ms"],
        Value::Null,
        "the proxy is an address, the name goes to it"
    );
    assert_eq!(verdict(by_id(".socks5-resolves-here")), v("pass", "http", "-"));
    // The proxy saw the name for socks5h and the run's own answer for socks5.
    // Through a SOCKS5 tunnel the origin gets what it would get directly: origin-form requests.
    assert!(
        upstream
            .seen()
            .iter()
            .all(|l| l == "GET /v1/models HTTP/1.1" || l == "GET /ws HTTP/1.1"),
        "{:?}",
        upstream.seen()
    );
    let seen = socks.seen();
    assert!(seen.contains(&"api.openai.com:443".to_owned()), "{seen:?}");
    assert!(seen.contains(&"127.0.0.2:443".to_owned()), "{seen:?}");
    assert_eq!(verdict(by_id(".auth-ok")), v("pass", "http", "-"));
    for (id, class, needle) in [
        (
            ".auth-wrong",
            "proxy-refused",
            "rejected the user name and password",
        ),
        (".auth-missing", "proxy-refused", "wants credentials"),
        (".ruleset", "proxy-refused", "not allowed by ruleset"),
        (".target-refused", "proxy-upstream", "refused by the target"),
        (
            ".general-failure",
            "proxy-upstream",
            "general SOCKS server failure",
        ),
        (".proxy-down", "proxy-refused", "refused the connection"),
    ] {
        let check = by_id(id);
        assert_eq!(verdict(check), v("fail", "proxy", class), "{check:#}");
        assert!(message(check).contains(needle), "{id}: {check:#}");
    }
    let check = by_id(".websocket");
    assert_eq!(verdict(check), v("pass", "http", "-"), "{check:#}");
    assert_eq!(http_of(check)["echoed"], true);
    let check = by_id(".plain-from-env");
    assert_eq!(verdict(check), v("pass", "http", "-"), "{check:#}");
    assert_eq!(
        http_of(check)["proxy"],
        format!("socks5h://127.0.0.1:{}", socks_plain.port())
    );
    assert_eq!(socks_plain.seen(), ["intranet.test:80"]);
    assert_eq!(plain.seen(), ["GET /health HTTP/1.1"]);
}

#[test]
fn stage_timings_follow_their_controlled_causes() {
    use crate::http_servers::Socks;
    use std::time::Duration;
    let pki = Pki::new();
    let slow_tls = Server::http_tls_delayed(
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        Some(pki.server_config(&["slow.test"])),
        Duration::from_millis(300),
    );
    let fast_tls = Server::http(Some(pki.server_config(&["slow.test"])));
    let plain = Server::http(None);
    let slow_connect = Server::connect_proxy_delayed(fast_tls.address, Duration::from_millis(300));
    let slow_socks = Server::socks5(
        fast_tls.address,
        Socks {
            delay: Duration::from_millis(300),
            ..Socks::default()
        },
    );
    let spec = format!(
        r#"
[defaults]
retries = 0
timeout = "5s"
[[check]]
id = "slow-tls"
kind = "http"
url = "https://slow.test:{slow_tls}/health"
[[check]]
id = "slow-first-byte"
kind = "http"
url = "http://127.0.0.1:{plain}/wait"
[[check]]
id = "slow-connect"
kind = "http"
url = "https://slow.test:443/health"
proxy = "http://127.0.0.1:{slow_connect}"
[[check]]
id = "slow-socks"
kind = "http"
url = "https://slow.test:443/health"
proxy = "socks5h://127.0.0.1:{slow_socks}"
"#,
        slow_tls = slow_tls.port(),
        plain = plain.port(),
        slow_connect = slow_connect.port(),
        slow_socks = slow_socks.port(),
    );
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    let resolve = format!("slow.test:{}:127.0.0.1", slow_tls.port());
    let out = run(
        &ws,
        &spec,
        &["--ca-file", ca.to_str().unwrap(), "--resolve", &resolve],
        0,
    );
    let checks = checks(&out);
    // "Well under": a loopback connect takes well below a millisecond; the bound only keeps a
    // loaded machine from failing the test, while the 300 ms delay can never fit under it.
    let well_under = 150.0;
    assert!(ms(&checks[0], "tls") >= 300.0, "{:#}", checks[0]);
    assert!(ms(&checks[0], "tcp") < well_under, "{:#}", checks[0]);
    assert!(ms(&checks[0], "ttfb") < 300.0, "{:#}", checks[0]);
    assert!(ms(&checks[1], "ttfb") >= 300.0, "{:#}", checks[1]);
    assert!(ms(&checks[1], "tcp") < well_under, "{:#}", checks[1]);
    for check in &checks[2..] {
        assert!(ms(check, "proxy") >= 300.0, "{check:#}");
        assert!(
            ms(check, "tcp") < well_under,
            "CONNECT time is not TCP time: {check:#}"
        );
        assert!(ms(check, "tls") < 300.0, "{check:#}");
    }
}

#[test]
fn the_timings_are_those_of_the_request_that_was_judged() {
    let server = Server::http(None);
    let base = format!("http://127.0.0.1:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "later-sample-fails"
kind = "http"
url = "{base}/fast-then-slow-503"
samples = 3
[[check]]
id = "redirect-to-a-slow-page"
kind = "http"
url = "{base}/to?/wait"
follow_redirects = true
"#
    );
    let ws = Workspace::new();
    ws.write("spec.toml", &spec);
    // One check at a time, so the first request the server sees is the first sample's.
    let out = ws
        .reach()
        .args(["run", "spec.toml", "--format", "json", "--concurrency", "1"])
        .output()
        .expect_code(1);
    let checks = checks(&out);
    assert_eq!(
        verdict(&checks[0]),
        v("fail", "http", "http-5xx"),
        "{:#}",
        checks[0]
    );
    // The failing sample waited 300 ms for its first byte; the first sample did not.
    assert!(ms(&checks[0], "ttfb") >= 300.0, "{:#}", checks[0]);
    assert_eq!(verdict(&checks[1]), v("pass", "http", "-"), "{:#}", checks[1]);
    assert!(ms(&checks[1], "ttfb") >= 300.0, "{:#}", checks[1]);
}

#[test]
fn addresses_any_takes_the_first_that_answers_and_all_asks_each() {
    let server = Server::http(None);
    let port = server.port();
    // 127.0.0.2:PORT: nothing listens there, so it refuses.
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "any"
kind = "http"
url = "http://svc.test:{port}/health"
[[check]]
id = "all"
kind = "http"
url = "http://svc.test:{port}/health"
addresses = "all"
"#
    );
    let ws = Workspace::new();
    let resolve = format!("svc.test:{port}:127.0.0.2,127.0.0.1");
    let out = run(&ws, &spec, &["--resolve", &resolve], 1);
    let found = checks(&out);
    assert_eq!(verdict(&found[0]), v("pass", "http", "-"), "{:#}", found[0]);
    assert_eq!(http_of(&found[0])["address"], format!("127.0.0.1:{port}"));
    let all = &found[1];
    assert_eq!(verdict(all), v("fail", "tcp", "refused"), "{all:#}");
    assert_eq!(all["observed"]["summary"], "2 addresses: 1 pass, 1 fail");
    assert!(
        message(all).starts_with(&format!("127.0.0.2:{port}: ")),
        "{all:#}"
    );
    let addresses = http_of(all)["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[0]["address"], format!("127.0.0.2:{port}"));
    assert_eq!(
        (
            &addresses[0]["status"],
            &addresses[0]["stage"],
            &addresses[0]["error"]
        ),
        (&Value::from("fail"), &Value::from("tcp"), &Value::from("refused"))
    );
    assert_eq!(addresses[1]["address"], format!("127.0.0.1:{port}"));
    assert_eq!(addresses[1]["status"], "pass");
    assert_eq!(addresses[1]["http_status"], 200);

    // Through socks5:// each address is handed to the proxy as the target.
    let socks = Server::socks5(server.address, crate::http_servers::Socks::default());
    let via_socks = format!(
        "[[check]]\nkind = \"http\"\nurl = \"http://svc.test:{port}/health\"\naddresses = \"all\"\nproxy = \"socks5://127.0.0.1:{}\"\n",
        socks.port()
    );
    let out = run(&ws, &via_socks, &["--resolve", &resolve], 0);
    assert_eq!(checks(&out)[0]["observed"]["summary"], "2 addresses: 2 pass");
    let mut targets = socks.seen();
    targets.sort();
    assert_eq!(
        targets,
        [format!("127.0.0.1:{port}"), format!("127.0.0.2:{port}")]
    );

    // Both addresses up: `all` passes, and each one really was asked.
    let second = Server::http_on(std::net::TcpListener::bind(("127.0.0.2", port)).unwrap(), None);
    let out = run(&ws, &spec, &["--resolve", &resolve], 0);
    let all = &checks(&out)[1];
    assert_eq!(all["observed"]["summary"], "2 addresses: 2 pass");
    // One request from each check: `any` now finds 127.0.0.2 up.
    assert_eq!(second.seen(), ["GET /health HTTP/1.1", "GET /health HTTP/1.1"]);
}

#[test]
fn a_redirect_to_another_origin_drops_credentials() {
    let first = Server::http(None);
    let other = Server::http(None);
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "cross-origin"
kind = "http"
url = "http://127.0.0.1:{first}/to?http://127.0.0.1:{other}/headers"
follow_redirects = true
headers = {{ Authorization = "Bearer tok-1234", Cookie = "session=abc", X-Api-Key = "key-5678", Accept = "text/plain" }}
[[check]]
id = "same-origin"
kind = "http"
url = "http://127.0.0.1:{first}/to?/headers"
follow_redirects = true
headers = {{ Authorization = "Bearer tok-1234", Accept = "text/plain" }}
"#,
        first = first.port(),
        other = other.port()
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 0);
    assert_eq!(checks(&out).len(), 2);
    let lower = |head: &Vec<String>| head.iter().map(|l| l.to_ascii_lowercase()).collect::<Vec<_>>();
    let others = other.heads();
    assert_eq!(others.len(), 1, "{others:?}");
    let head = lower(&others[0]);
    assert!(head.contains(&"accept: text/plain".to_owned()), "{head:?}");
    for secret in ["authorization:", "cookie:", "x-api-key:"] {
        assert!(
            !head.iter().any(|l| l.starts_with(secret)),
            "{secret} crossed: {head:?}"
        );
    }
    // On the check's own origin the headers go along, on the first request and after a redirect.
    let firsts: Vec<Vec<String>> = first.heads().iter().map(lower).collect();
    assert_eq!(firsts.len(), 3, "{firsts:?}");
    for head in &firsts {
        assert!(
            head.contains(&"authorization: bearer tok-1234".to_owned()),
            "{head:?}"
        );
    }
    assert!(firsts.iter().any(|h| h[0] == "get /headers http/1.1"));
}

#[test]
fn answers_that_would_mislead_a_check_are_named_for_what_they_are() {
    let server = Server::http(None);
    let base = format!("http://127.0.0.1:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "latin1-present"
kind = "http"
url = "{base}/latin1"
expect.headers.x-city = {{ present = true }}
[[check]]
id = "latin1-shown"
kind = "http"
url = "{base}/latin1"
expect.headers.x-city = {{ present = false }}
[[check]]
id = "big-start"
kind = "http"
url = "{base}/big"
expect.body_contains = "BEGIN"
[[check]]
id = "big-end"
kind = "http"
url = "{base}/big"
expect.body_contains = "THE-END"
[[check]]
id = "big-regex"
kind = "http"
url = "{base}/big"
expect.body_regex = "END$"
[[check]]
id = "endless-headers"
kind = "http"
url = "{base}/endless-headers"
timeout = "5s"
[[check]]
id = "slow-endless-headers"
kind = "http"
url = "{base}/endless-slow-headers"
timeout = "500ms"
"#
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"), "{:#}", checks[0]);
    assert_eq!(verdict(&checks[1]), v("fail", "assert", "-"));
    assert!(
        message(&checks[1]).contains("is present (Z\u{fffd}rich)"),
        "{:#}",
        checks[1]
    );
    assert_eq!(verdict(&checks[2]), v("pass", "http", "-"), "{:#}", checks[2]);
    assert_eq!(http_of(&checks[2])["body_truncated"], true);
    assert_eq!(http_of(&checks[2])["body_bytes"], 2 * 1024 * 1024);
    assert_eq!(http_of(&checks[0])["body_truncated"], false);
    for check in &checks[3..5] {
        assert_eq!(
            verdict(check),
            v("error", "assert", "body-truncated"),
            "{check:#}"
        );
        assert!(message(check).contains("2097152 bytes"), "{check:#}");
    }
    assert_eq!(
        verdict(&checks[5]),
        v("fail", "http", "http-protocol"),
        "{:#}",
        checks[5]
    );
    assert!(
        message(&checks[5]).contains("headers were not finished"),
        "{:#}",
        checks[5]
    );
    assert_eq!(
        verdict(&checks[6]),
        v("fail", "http", "timeout"),
        "{:#}",
        checks[6]
    );
    assert!(
        message(&checks[6]).contains("headers were not finished"),
        "{:#}",
        checks[6]
    );
}

#[test]
fn several_urls_make_one_check_each_and_redirects_are_judged_by_scheme_and_path() {
    let server = Server::http(None);
    let base = format!("http://127.0.0.1:{}", server.port());
    let spec = format!(
        r#"
[defaults]
retries = 0
[[check]]
id = "to-https"
kind = "http"
urls = ["{base}/keep/", "{base}/to?http://secure.test/", "{base}/health"]
expect.redirect_scheme = "https"
[[check]]
id = "keeps-path"
kind = "http"
urls = ["{base}/keep/deep/page?q=1", "{base}/drop/deep/page?q=1"]
expect.redirect_scheme = "https"
expect.redirect_keeps_path = true
"#
    );
    let ws = Workspace::new();
    let out = run(&ws, &spec, &[], 1);
    let checks = checks(&out);
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "spec.to-https/1",
            "spec.to-https/2",
            "spec.to-https/3",
            "spec.keeps-path/1",
            "spec.keeps-path/2"
        ]
    );
    assert_eq!(verdict(&checks[0]), v("pass", "http", "-"), "{:#}", checks[0]);
    assert_eq!(checks[0]["expected"], "3xx -> https://");
    assert_eq!(verdict(&checks[1]), v("fail", "http", "-"));
    assert!(
        message(&checks[1]).contains("expected an https:// URL"),
        "{:#}",
        checks[1]
    );
    assert_eq!(verdict(&checks[2]), v("fail", "http", "-"));
    assert!(
        message(&checks[2]).contains("answered 200 without a redirect"),
        "{:#}",
        checks[2]
    );
    assert_eq!(verdict(&checks[3]), v("pass", "http", "-"), "{:#}", checks[3]);
    assert_eq!(verdict(&checks[4]), v("fail", "http", "-"));
    assert!(
        message(&checks[4]).contains("drops the path /drop/deep/page?q=1"),
        "{:#}",
        checks[4]
    );
}

#[test]
fn spec_errors_of_versions_addresses_and_url_lists_are_located() {
    rejected(
        &format!("{HTTP}http_version = \"3\"\n"),
        4,
        16,
        "write \"auto\", \"1.1\" or \"2\"",
    );
    rejected(
        &format!("{HTTP}expect.http_version = \"auto\"\n"),
        4,
        23,
        "auto is not a version an answer has",
    );
    rejected(
        &format!("{HTTP}http_version = \"1.1\"\nexpect.http_version = \"2\"\n"),
        5,
        1,
        "contradicts http_version",
    );
    rejected(
        &format!("{HTTP}addresses = \"every\"\n"),
        4,
        13,
        "write \"any\" or \"all\"",
    );
    rejected(
        &format!("{HTTP}addresses = \"all\"\nproxy = \"http://proxy.test:3128\"\n"),
        4,
        13,
        "cannot go through http",
    );
    rejected(
        "[[check]]\nkind = \"http\"\nurls = []\n",
        3,
        8,
        "the URL list is empty",
    );
    rejected(
        "[[check]]\nkind = \"http\"\nurl = \"http://a.test/\"\nurls = [\"http://b.test/\"]\n",
        3,
        7,
        "write `url` or `urls`, not both",
    );
    rejected(
        "[[check]]\nkind = \"http\"\nurls = [\"http://a.test/\", \"http://a.test/\"]\n",
        3,
        27,
        "listed twice",
    );
    rejected("[[check]]\nkind = \"http\"\n", 1, 1, "needs a `url`");
    rejected(
        &format!("{HTTP}expect.redirect_scheme = \"ftp\"\n"),
        4,
        26,
        "write \"https\" or \"http\"",
    );
}

#[test]
fn a_burst_of_checks_shares_one_http2_connection() {
    let pki = Pki::new();
    let h2 = Server::hyper(
        Some(pki.server_config_alpn(&["burst.test"], &[b"h2", b"http/1.1"])),
        false,
    );
    let h1 = Server::http(Some(pki.server_config(&["burst.test"])));
    let mut spec = String::from("[defaults]\nretries = 0\n");
    for (server, label) in [(&h2, "h2"), (&h1, "h1")] {
        for n in 0..40 {
            spec.push_str(&format!(
                "[[check]]\nid = \"{label}-{n}\"\nkind = \"http\"\nurl = \"https://burst.test:{}/wait\"\n",
                server.port()
            ));
        }
    }
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    let mut args = vec!["--ca-file".to_owned(), ca.display().to_string()];
    for server in [&h2, &h1] {
        args.push("--resolve".into());
        args.push(format!("burst.test:{}:127.0.0.1", server.port()));
    }
    let out = run(&ws, &spec, &strs(&args), 0);
    assert_eq!(out.json()["summary"]["pass"], 80);
    let connections = |s: &Server| s.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        connections(&h2),
        1,
        "the checks multiplex on one HTTP/2 connection"
    );
    // HTTP/1.1 carries one request at a time: the burst opens connections in parallel.
    assert!(connections(&h1) > 1, "{}", connections(&h1));
    assert_eq!(
        h2.seen().iter().filter(|l| *l == "GET /wait HTTP/2.0").count(),
        40
    );
}
