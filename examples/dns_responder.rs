//! The test DNS responder as a program, for `bench/dns.sh`: serves the synthetic zone
//! `bench.test` (`n1234.bench.test A 10.0.4.210`) on a free 127.0.0.1 port over UDP and TCP,
//! prints `127.0.0.1:PORT` on stdout, and runs until its stdin closes.

#[path = "../tests/cli/dns_server.rs"]
mod dns_server;

use std::io::{Read, Write};

fn main() {
    let server = dns_server::DnsServer::start(dns_server::Zone::new().synthetic("bench.test"));
    println!("{}", server.address());
    let _ = std::io::stdout().flush();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    eprintln!(
        "dns_responder: {} UDP and {} TCP queries answered",
        server.udp_queries.load(std::sync::atomic::Ordering::SeqCst),
        server.tcp_queries.load(std::sync::atomic::Ordering::SeqCst)
    );
}
