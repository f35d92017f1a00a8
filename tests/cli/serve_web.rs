//! `reach serve --web.config.file`: TLS, client certificates and basic auth as the Prometheus
//! exporter toolkit's file describes them, seen by curl (an independent TLS and HTTP client) on
//! loopback with a throw-away CA; a broken file stopping the start with exit 2 and file:line; a
//! SIGHUP putting a new file in force and refusing a broken one.

use crate::consumers::tool;
use crate::pki::{KeyKind, LeafKind, Pki};
use crate::serve::Exporter;
use crate::util::{open_port, Workspace};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A workspace with a CA, a server certificate for localhost, a check file whose one check
/// passes (a tcp check of a port held open here), and the files of a client certificate.
struct Site {
    ws: Workspace,
    pki: Pki,
    _open: TcpListener,
}

impl Site {
    fn new() -> Site {
        let ws = Workspace::new();
        let pki = Pki::new();
        let server = pki.leaf(LeafKind::Valid, KeyKind::Ecdsa);
        server.write(ws.path(), "server");
        ws.write("ca.pem", &pki.ca_pem());
        let (open, port) = open_port();
        std::fs::create_dir(ws.path().join("checks")).unwrap();
        ws.write(
            "checks/web.toml",
            &format!(
                "profile = \"web\"\n[vars]\nhost = {{ description = \"the target\" }}\n\n\
                 [[check]]\nid = \"port\"\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {port}\nexpect = \"open\"\n"
            ),
        );
        Site { ws, pki, _open: open }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.ws.path().join(name)
    }
}

/// The TLS section for the server certificate written by [`Site::new`] (paths relative to the
/// web configuration's own directory).
const TLS: &str = "tls_server_config:\n  cert_file: server-cert.pem\n  key_file: server-key.pem\n";

fn users(password: &str) -> String {
    format!(
        "basic_auth_users:\n  prometheus: {}\n",
        bcrypt::hash(password, 4).unwrap()
    )
}

/// `reach serve --web.config.file WEB checks` in the site's workspace.
fn start(site: &Site, web: &Path) -> Exporter {
    let web = web.to_str().expect("a UTF-8 path");
    Exporter::start(&site.ws, &["--web.config.file", web, "checks"])
}

/// What curl saw: its exit code, the HTTP status (0 when no answer), the headers and the body.
struct Seen {
    exit: i32,
    status: u16,
    headers: String,
    body: String,
    version: String,
}

/// curl, trusting only the test CA, resolving localhost to the exporter, with `extra` arguments.
fn curl(exporter: &Exporter, site: &Site, path: &str, extra: &[&str]) -> Seen {
    let headers = site.path(&format!("headers-{}", unique()));
    let out = Command::new("curl")
        .args(["--silent", "--noproxy", "*", "--max-time", "20", "--cacert"])
        .arg(site.path("ca.pem"))
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", exporter.address.port()),
        ])
        .arg("--dump-header")
        .arg(&headers)
        .args(["--write-out", "\n%{http_code} %{http_version}"])
        .args(extra)
        .arg(exporter.https(path))
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let mut tail = tail.split(' ');
    Seen {
        exit: out.status.code().unwrap_or(-1),
        status: tail.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        version: tail.next().unwrap_or("").to_owned(),
        headers: std::fs::read_to_string(&headers)
            .unwrap_or_default()
            .to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

const PROBE: &str = "/probe?module=web&target=127.0.0.1";

#[test]
fn serve_web_tls_and_basic_auth_guard_every_endpoint() {
    if tool("curl").is_none() {
        return;
    }
    let site = Site::new();
    let web = site.ws.write(
        "web.yml",
        &format!(
            "{TLS}http_server_config:\n  headers:\n    X-Frame-Options: deny\n{}",
            users("s3cret")
        ),
    );
    let exporter = start(&site, &web);
    assert!(
        exporter.stderr().contains("listening on https://"),
        "{}",
        exporter.stderr()
    );

    let good = curl(&exporter, &site, PROBE, &["--user", "prometheus:s3cret"]);
    assert_eq!((good.exit, good.status), (0, 200), "{}", good.body);
    assert!(good.body.contains("\nreach_probe_success 1\n"), "{}", good.body);
    assert!(good.headers.contains("x-frame-options: deny"), "{}", good.headers);
    assert_eq!(good.version, "2", "ALPN picks HTTP/2 for curl by default");

    for path in [PROBE, "/metrics", "/-/healthy", "/-/ready", "/report/web.json"] {
        for credentials in [
            &["--user", "prometheus:wrong"][..],
            &["--user", "grafana:s3cret"],
            &[],
        ] {
            let refused = curl(&exporter, &site, path, credentials);
            assert_eq!(refused.status, 401, "{path} {credentials:?}: {}", refused.body);
            assert!(
                refused.headers.contains("www-authenticate: basic"),
                "{}",
                refused.headers
            );
            assert!(
                refused.headers.contains("x-frame-options: deny"),
                "headers on a 401 too"
            );
            assert!(
                !refused.body.contains("reach_"),
                "nothing leaks: {}",
                refused.body
            );
        }
    }
    let healthy = curl(&exporter, &site, "/-/healthy", &["--user", "prometheus:s3cret"]);
    assert_eq!(healthy.status, 200);

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = Command::new("curl")
        .args([
            "--silent",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            "--output",
            "/dev/null",
        ])
        .args(["--write-out", "%{http_code}"])
        .arg(format!("http://{}/-/healthy", exporter.address))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "000");
    // Without the test CA curl does not trust the server: the certificate served is the file's.
    let untrusted = Command::new("curl")
        .args([
            "--silent",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            "--output",
            "/dev/null",
        ])
        .args([
            "--resolve",
            &format!("localhost:{}:127.0.0.1", exporter.address.port()),
        ])
        .arg(exporter.https("/-/healthy"))
        .status()
        .unwrap();
    assert_eq!(
        untrusted.code(),
        Some(60),
        "curl: peer certificate cannot be authenticated"
    );
}

#[test]
fn serve_web_http2_false_keeps_to_http_1_1() {
    if tool("curl").is_none() {
        return;
    }
    let site = Site::new();
    let web = site
        .ws
        .write("web.yml", &format!("{TLS}http_server_config:\n  http2: false\n"));
    let exporter = start(&site, &web);
    let seen = curl(&exporter, &site, PROBE, &["--http2"]);
    assert_eq!(
        (seen.status, seen.version.as_str()),
        (200, "1.1"),
        "{}",
        seen.body
    );
}

#[test]
fn serve_web_client_certificates_are_required_and_verified() {
    if tool("curl").is_none() {
        return;
    }
    let site = Site::new();
    let client = site
        .pki
        .leaf_for(&["prometheus.test"], LeafKind::Valid, KeyKind::Ecdsa);
    let (client_cert, client_key) = client.write(site.ws.path(), "client");
    let stranger = Pki::named("another CA").leaf_for(&["prometheus.test"], LeafKind::Valid, KeyKind::Ecdsa);
    let (stranger_cert, stranger_key) = stranger.write(site.ws.path(), "stranger");
    let web = site.ws.write(
        "web.yml",
        &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"),
    );
    let exporter = start(&site, &web);
    let cert_args = |cert: &Path, key: &Path| {
        vec![
            "--cert".to_owned(),
            cert.display().to_string(),
            "--key".to_owned(),
            key.display().to_string(),
        ]
    };

    let args = cert_args(&client_cert, &client_key);
    let admitted = curl(
        &exporter,
        &site,
        PROBE,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!((admitted.exit, admitted.status), (0, 200), "{}", admitted.body);
    assert!(admitted.body.contains("\nreach_probe_success 1\n"));

    for tls12 in [false, true] {
        let version: &[&str] = if tls12 { &["--tls-max", "1.2"] } else { &[] };
        let without = curl(&exporter, &site, "/-/healthy", version);
        assert_eq!(
            without.status, 0,
            "no certificate, no answer (TLS 1.2 only: {tls12})"
        );
        assert_ne!(without.exit, 0);
        let mut args = cert_args(&stranger_cert, &stranger_key);
        args.extend(version.iter().map(|s| (*s).to_owned()));
        let foreign = curl(
            &exporter,
            &site,
            "/-/healthy",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(
            foreign.status, 0,
            "a certificate of another CA (TLS 1.2 only: {tls12})"
        );
    }
}

#[test]
fn serve_web_a_bad_file_stops_the_start_with_exit_2_and_its_line() {
    let site = Site::new();
    let cases = [
        (
            "unknown.yml",
            format!("{TLS}  cert_flie: x.pem\n"),
            ":4:3: unknown key `cert_flie` in tls_server_config",
        ),
        (
            "hash.yml",
            "basic_auth_users:\n  prometheus: hunter2\n".to_owned(),
            ":2:15: the password of prometheus must be a bcrypt hash",
        ),
        (
            "missing.yml",
            "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server-key.pem\n".to_owned(),
            ":2:14: cert_file: cannot read",
        ),
        ("yaml.yml", "tls_server_config: [\n".to_owned(), "not valid YAML"),
    ];
    for (name, text, needle) in cases {
        site.ws.write(name, &text);
        let out = site
            .ws
            .reach()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--web.config.file",
                name,
                "checks",
            ])
            .output()
            .expect_code(2);
        assert!(
            out.stderr.contains(&format!("error: {name}:")),
            "{name}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(needle), "{name}: {}", out.stderr);
        assert!(
            !out.stderr.contains("listening"),
            "nothing was served: {}",
            out.stderr
        );
    }
    let out = site
        .ws
        .reach()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web.config.file",
            "no-such.yml",
            "checks",
        ])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.contains("--web.config.file: cannot read no-such.yml"),
        "{}",
        out.stderr
    );
}

#[test]
fn serve_web_sighup_puts_a_new_file_in_force_and_keeps_the_old_on_error() {
    if tool("curl").is_none() {
        return;
    }
    let site = Site::new();
    let web = site.ws.write("web.yml", &format!("{TLS}{}", users("first")));
    let exporter = start(&site, &web);
    let status_with = |password: &str| {
        curl(
            &exporter,
            &site,
            "/-/healthy",
            &["--user", &format!("prometheus:{password}")],
        )
        .status
    };
    assert_eq!((status_with("first"), status_with("second")), (200, 401));

    site.ws.write("web.yml", &format!("{TLS}{}", users("second")));
    exporter.signal("HUP");
    exporter.wait_for("SIGHUP: web configuration", 1);
    assert_eq!((status_with("first"), status_with("second")), (401, 200));

    site.ws.write(
        "web.yml",
        &format!("{TLS}{}  grafana: plain-text\n", users("third")),
    );
    exporter.signal("HUP");
    exporter.wait_for("the web configuration has errors", 1);
    assert!(
        exporter
            .stderr()
            .contains("web.yml:6:12: the password of grafana must be a bcrypt hash"),
        "{}",
        exporter.stderr()
    );
    assert_eq!(
        (status_with("second"), status_with("third")),
        (200, 401),
        "the old file stays in force"
    );
    let metrics = curl(&exporter, &site, "/metrics", &["--user", "prometheus:second"]);
    assert!(
        metrics
            .body
            .contains("\nreach_exporter_config_last_reload_successful 0\n"),
        "{}",
        metrics.body
    );
}
