//! Hostile text in a human report: whatever comes from outside (a check's name, a DNS TXT record,
//! a certificate's subject, an HTTP header, a process name from /proc) is shown with its control
//! characters as visible escapes, so it can neither drive the terminal nor forge a report line;
//! the JSON report keeps the values exact.

use crate::dns_server::{DnsServer, Zone};
use crate::http_servers::Server;
use crate::util::{open_port, Output, Reach, Workspace};
use std::sync::Arc;

/// What a terminal would act on: ESC, CSI (U+009B), a carriage return, a bidi override.
const RAW: [char; 4] = ['\u{1b}', '\u{9b}', '\r', '\u{202e}'];

#[track_caller]
fn assert_harmless(out: &Output) {
    for c in RAW {
        assert!(
            !out.stdout.contains(c),
            "a raw {c:?} reached the report:\n{}",
            out.stdout.escape_debug()
        );
    }
}

#[test]
fn a_check_name_is_escaped_in_the_report_and_exact_in_json() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write(
        "n.toml",
        &format!(
            "[[check]]\nname = \"api\\u001b[2J\\r  pass  forged\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {api}\nexpect = \"closed\"\n"
        ),
    );
    let out = ws.reach().args(["run", "n.toml"]).output().expect_code(1);
    assert_harmless(&out);
    assert!(
        out.stdout.contains("api\\x1b[2J\\r  pass  forged"),
        "{}",
        out.stdout
    );
    let out = ws
        .reach()
        .args(["run", "n.toml", "--format", "json"])
        .output()
        .expect_code(1);
    assert_eq!(out.json()["checks"][0]["name"], "api\u{1b}[2J\r  pass  forged");
}

#[test]
fn a_dns_txt_record_is_escaped() {
    let dns = DnsServer::start(Zone::new().txt("evil.test", &["v=\u{1b}]0;owned\u{7}\u{9b}31m"]));
    let ws = Workspace::new();
    ws.write(
        "d.toml",
        &format!(
            "[[check]]\nkind = \"dns\"\nhost = \"evil.test\"\ntype = \"TXT\"\nserver = \"{}\"\nequals = [\"v=spf1 -all\"]\n",
            dns.address()
        ),
    );
    let out = ws.reach().args(["run", "d.toml"]).output().expect_code(1);
    assert_harmless(&out);
    assert!(out.stdout.contains("\\x1b]0;owned\\x07"), "{}", out.stdout);
}

#[test]
fn certificate_fields_are_escaped() {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["evil.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "evil\u{1b}[31m\u{202e}moc.knab");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "org\r\u{9b}2J");
    let cert = params.self_signed(&key).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
    let server = Server::http(Some(Arc::new(config)));
    let out = Reach::new()
        .args(["tls", &format!("127.0.0.1:{}", server.port())])
        .output();
    assert!(out.code == 0 || out.code == 1 || out.code == 3, "{out:?}");
    assert_harmless(&out);
    assert!(
        out.stdout.contains("evil\\x1b[31m\\u{202e}moc.knab"),
        "{}",
        out.stdout
    );
}

#[test]
fn http_header_values_are_escaped() {
    // A header value with a C1 control (UTF-8 for U+009B, the one-byte CSI): HTTP allows such
    // bytes in a value, and a terminal would start an escape sequence on it.
    let server = crate::util::raw_http_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Evil: a\xc2\x9b31mred\r\n\r\n".to_vec(),
    );
    let ws = Workspace::new();
    ws.write(
        "h.toml",
        &format!(
            "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:{server}/\"\nexpect.headers.x-evil = \"good\"\n"
        ),
    );
    let out = ws.reach().args(["run", "h.toml"]).output().expect_code(1);
    assert_harmless(&out);
    assert!(out.stdout.contains("x-evil"), "{}", out.stdout);
}

/// A process that listens on a loopback port under a hostile name, killed when dropped.
struct Named(std::process::Child);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn process_names_from_proc_are_escaped() {
    // The kernel keeps 15 bytes of a process name: enough for an escape sequence.
    let script = "import socket,sys,time\n\
                  open('/proc/self/comm','w').write('ev\\x1b[2J\\x9bil')\n\
                  s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n\
                  print(s.getsockname()[1], flush=True)\n\
                  time.sleep(60)\n";
    let mut child = match std::process::Command::new("python3")
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("skipped: no python3 to name a process ({e})");
            return;
        }
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let named = Named(child);
    let port: u16 = line.trim().parse().expect("the port the process listens on");
    let out = Reach::new().args(["listeners"]).output().expect_code(0);
    assert_harmless(&out);
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!(" {port} ")))
        .unwrap_or_else(|| panic!("port {port} is not listed:\n{}", out.stdout.escape_debug()));
    assert!(row.contains("ev\\x1b[2J"), "{}", row.escape_debug());
    drop(named);
}
