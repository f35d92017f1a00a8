//! Messages speak the user's language: no Rust type names (`RawHttpExpect`, `u32`,
//! `DnsName("...")`, `HandshakeFailure`) and no raw numbers where a name exists.

use crate::http_servers::{Pki, Server};
use crate::util::{Reach, Workspace};

/// A word that is a Rust or library name: `RawHttpExpect`, `DnsName`, `NoCipherSuitesInCommon`,
/// or a primitive such as `u32`.
fn rust_names(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|word| {
            let camel = word.starts_with(|c: char| c.is_ascii_uppercase())
                && word.chars().skip(1).any(|c| c.is_ascii_lowercase())
                && word.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && !word.starts_with("TLSv")
                && !word.starts_with("ServerHello");
            let primitive = matches!(
                *word,
                "u8" | "u16"
                    | "u32"
                    | "u64"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "isize"
                    | "f32"
                    | "f64"
            );
            camel || primitive
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn check_file_type_errors_name_toml_types_not_rust_ones() {
    let ws = Workspace::new();
    let cases = [
        (
            "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nexpect = 5\n",
            "expected a table",
        ),
        (
            "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nexpect = [1]\n",
            "expected a table",
        ),
        (
            "[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 1\nexpect = \"open\"\nretries = \"x\"\n",
            "expected a whole number",
        ),
        (
            "[[check]]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nsamples = \"x\"\n",
            "expected a whole number",
        ),
        (
            "[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\ncertificate = \"x\"\n",
            "expected a table of certificate rules",
        ),
        (
            "defaults = 5\n[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 1\nexpect = \"open\"\n",
            "expected a table",
        ),
    ];
    for (spec, needle) in cases {
        ws.write("t.toml", spec);
        let out = ws.reach().args(["validate", "t.toml"]).output().expect_code(2);
        assert!(out.stderr.contains(needle), "{spec}\n{}", out.stderr);
        assert!(rust_names(&out.stderr).is_empty(), "{spec}\n{}", out.stderr);
    }
}

/// A port that answers anything with an HTTP 400 at once, as nginx does to a TLS hello.
fn plain_http_port() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            if stream.read(&mut buf).is_ok_and(|n| n > 0) {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        }
    });
    port
}

#[test]
fn a_plain_http_port_audited_as_tls_is_called_plain_http() {
    let port = plain_http_port();
    let out = Reach::new()
        .args(["tls", &format!("127.0.0.1:{port}"), "--timeout", "2s"])
        .output();
    assert!(
        out.stdout.contains("this port answered in plain HTTP, not TLS"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("no version answered conclusively: this port answered in plain HTTP, not TLS"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("record version"), "{}", out.stdout);
}

#[test]
fn certificate_name_errors_show_names_not_library_types() {
    let pki = Pki::new();
    let server = Server::http(Some(pki.server_config(&["localhost"])));
    let ws = Workspace::new();
    let ca = pki.write_ca(ws.path());
    ws.write(
        "w.toml",
        &format!(
            "[[check]]\nkind = \"http\"\nurl = \"https://127.0.0.1:{}/\"\n\n\
             [[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\nport = {}\n",
            server.port(),
            server.port()
        ),
    );
    let out = ws
        .reach()
        .args([
            "run",
            "w.toml",
            "--ca-file",
            ca.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output();
    let report = out.json();
    let http = report["checks"][0]["message"].as_str().unwrap();
    assert!(http.contains("it names localhost"), "{http}");
    let tls = &report["checks"][1]["observed"]["tls"]["certificate"]["hostname_error"];
    assert!(tls.as_str().unwrap().contains("it names localhost"), "{tls}");
    for text in [http, tls.as_str().unwrap()] {
        assert!(rust_names(text).is_empty(), "{text}");
    }
}
