//! `dns` checks and DNS resolution for every probe, against the responder in `dns_server.rs`
//! on loopback. Never the machine's own resolver: every check names its server, or the run
//! passes `--dns-server`.

use crate::dns_server::{Behaviour, DnsServer, Zone, NEGATIVE_TTL};
use crate::util::{open_port, stable_filters, Reach, Workspace};
use serde_json::Value;

fn shop_zone() -> Zone {
    Zone::new()
        .a("shop.test", "192.0.2.10")
        .a("shop.test", "192.0.2.11")
        .aaaa("shop.test", "2001:db8::10")
        .cname("www.shop.test", "shop.test")
        .cname("deep.shop.test", "www.shop.test")
        .cname("dangling.shop.test", "gone.shop.test")
        .mx("shop.test", 10, "mail.shop.test")
        .mx("shop.test", 20, "backup.shop.test")
        .txt("shop.test", &["v=spf1 ", "-all"])
        .caa_issue("shop.test", "letsencrypt.org")
        .ns("shop.test", "ns1.shop.test")
        .srv("_sip._tcp.shop.test", 10, 5, 5060, "sip.shop.test")
        .ptr("10.2.0.192.in-addr.arpa", "shop.test")
        .a("api.shop.test", "127.0.0.1")
        .behave("broken.shop.test", Behaviour::ServFail)
        .behave("private.shop.test", Behaviour::Refused)
        .behave("slow.shop.test", Behaviour::Silent)
        .a("big.shop.test", "192.0.2.20")
        .behave("big.shop.test", Behaviour::TruncatedOverUdp)
        .a("tcponly.shop.test", "192.0.2.21")
        .behave("tcponly.shop.test", Behaviour::TcpOnly)
}

/// Names that answer in ways a client must not accept, and a few that test the transport.
fn hostile_zone() -> Zone {
    let mut zone = Zone::new()
        .a("wrongid.hostile.test", "192.0.2.30")
        .behave("wrongid.hostile.test", Behaviour::WrongId)
        .a("query.hostile.test", "192.0.2.31")
        .behave("query.hostile.test", Behaviour::NotAResponse)
        .a("other.hostile.test", "192.0.2.32")
        .behave("other.hostile.test", Behaviour::OtherQuestion)
        .behave("pointer.hostile.test", Behaviour::CompressionLoop)
        .behave("rdata.hostile.test", Behaviour::BadRdata)
        .a("stray.hostile.test", "192.0.2.33")
        .behave("stray.hostile.test", Behaviour::StrayThenAnswer)
        .a("lossy.hostile.test", "192.0.2.34")
        .behave("lossy.hostile.test", Behaviour::DropFirst)
        .cname("loop.hostile.test", "round.hostile.test")
        .cname("round.hostile.test", "loop.hostile.test");
    for n in 1..=40 {
        zone = zone.a("many.hostile.test", &format!("192.0.2.{n}"));
    }
    zone
}

/// Runs `spec` (with `{dns}` set to the server's address) and returns the parsed JSON report.
fn run_json(server: &DnsServer, spec: &str, code: i32, extra: &[&str]) -> Value {
    let ws = Workspace::new();
    ws.write("dns.toml", spec);
    let out = ws
        .reach()
        .args(["run", "dns.toml", "--format", "json"])
        .args(["--var", &format!("dns={}", server.address())])
        .args(extra)
        .output()
        .expect_code(code);
    out.json()
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

const PASSING: &str = r#"
profile = "shop"
[defaults]
timeout = "2s"

[[check]]
id = "a"
kind = "dns"
host = "SHOP.test."
server = "{dns}"
equals = ["192.0.2.11", "192.0.2.10"]
within = "192.0.2.0/24"

[[check]]
id = "aaaa"
kind = "dns"
host = "shop.test"
type = "aaaa"
server = "{dns}"
equals = ["2001:DB8:0::10"]

[[check]]
id = "www-alias"
kind = "dns"
host = "www.shop.test"
server = "{dns}"
cname = "Shop.Test."
contains = ["192.0.2.10"]
none_of = ["203.0.113.1"]

[[check]]
id = "www-cname"
kind = "dns"
host = "www.shop.test"
type = "CNAME"
server = "{dns}"
equals = ["shop.test."]

[[check]]
id = "mx"
kind = "dns"
host = "shop.test"
type = "MX"
server = "{dns}"
equals = ["10 mail.shop.test", "backup.shop.test"]

[[check]]
id = "txt"
kind = "dns"
host = "shop.test"
type = "TXT"
server = "{dns}"
equals = ["v=spf1 -all"]

[[check]]
id = "caa"
kind = "dns"
host = "shop.test"
type = "CAA"
server = "{dns}"
equals = ['0 issue "LetsEncrypt.org"']

[[check]]
id = "ns"
kind = "dns"
host = "shop.test"
type = "NS"
server = "{dns}"
equals = ["ns1.shop.test"]

[[check]]
id = "srv"
kind = "dns"
host = "_sip._tcp.shop.test"
type = "SRV"
server = "{dns}"
equals = ["10 5 5060 sip.shop.test"]

[[check]]
id = "ptr"
kind = "dns"
host = "192.0.2.10"
type = "PTR"
server = "{dns}"
equals = ["shop.test"]

[[check]]
id = "gone"
kind = "dns"
host = "nothing.shop.test"
server = "{dns}"
resolves = false

[[check]]
id = "no-srv"
kind = "dns"
host = "shop.test"
type = "SRV"
server = "{dns}"
resolves = false
"#;

#[test]
fn every_record_type_matches_whatever_the_case_dots_and_spelling() {
    let server = DnsServer::start(shop_zone());
    let report = run_json(&server, PASSING, 0, &[]);
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c:#}");
    }
    let alias = check(&report, "shop.www-alias");
    let answer = &alias["observed"]["dns"]["answers"][0];
    assert_eq!(answer["server"], server.address());
    assert_eq!(answer["result"], "records");
    assert_eq!(answer["chain"], serde_json::json!(["www.shop.test", "shop.test"]));
    assert_eq!(answer["records"][0]["type"], "CNAME");
    assert_eq!(answer["records"][0]["ttl"], 300);
    assert_eq!(
        alias["observed"]["summary"],
        "shop.test -> 192.0.2.10, 192.0.2.11 (ttl 300)"
    );
    let gone = &check(&report, "shop.gone")["observed"]["dns"]["answers"][0];
    assert_eq!(gone["result"], "nxdomain");
    assert_eq!(gone["negative_ttl"], NEGATIVE_TTL);
    let nodata = &check(&report, "shop.no-srv")["observed"]["dns"]["answers"][0];
    assert_eq!(nodata["result"], "nodata");
    assert_eq!(
        check(&report, "shop.ptr")["target"],
        format!("10.2.0.192.in-addr.arpa PTR @{}", server.address())
    );
    assert_eq!(
        check(&report, "shop.txt")["observed"]["dns"]["answers"][0]["records"][0]["value"],
        "v=spf1 -all"
    );
}

const FAILING: &str = r#"
profile = "shop"
[defaults]
timeout = "2s"

[[check]]
id = "wrong-set"
kind = "dns"
host = "shop.test"
server = "{dns}"
equals = ["192.0.2.10", "192.0.2.99"]

[[check]]
id = "forbidden"
kind = "dns"
host = "deep.shop.test"
server = "{dns}"
none_of = ["192.0.2.11"]

[[check]]
id = "outside"
kind = "dns"
host = "shop.test"
server = "{dns}"
within = "198.51.100.0/24"

[[check]]
id = "wrong-alias"
kind = "dns"
host = "www.shop.test"
server = "{dns}"
cname = "cdn.shop.test"

[[check]]
id = "nx"
kind = "dns"
host = "missing.shop.test"
server = "{dns}"

[[check]]
id = "nodata"
kind = "dns"
host = "shop.test"
type = "SRV"
server = "{dns}"

[[check]]
id = "dangling"
kind = "dns"
host = "dangling.shop.test"
server = "{dns}"

[[check]]
id = "exists"
kind = "dns"
host = "www.shop.test"
server = "{dns}"
resolves = false
"#;

#[test]
fn wrong_answers_fail_and_say_exactly_why() {
    let server = DnsServer::start(shop_zone());
    let report = run_json(&server, FAILING, 1, &[]);
    let expect = |id: &str, error: Value, needle: &str| {
        let c = check(&report, id);
        assert_eq!(c["status"], "fail", "{c:#}");
        assert_eq!(c["stage"], "dns", "{c:#}");
        assert_eq!(c["error"], error, "{c:#}");
        let message = c["message"].as_str().unwrap();
        assert!(message.contains(needle), "{id}: `{needle}` not in `{message}`");
    };
    expect(
        "shop.wrong-set",
        Value::Null,
        "A must be exactly 192.0.2.10, 192.0.2.99 but is 192.0.2.10, 192.0.2.11 (missing 192.0.2.99; unexpected 192.0.2.11)",
    );
    expect(
        "shop.forbidden",
        Value::Null,
        "deep.shop.test -> www.shop.test -> shop.test: A must not include 192.0.2.11",
    );
    expect(
        "shop.outside",
        Value::Null,
        "192.0.2.10, 192.0.2.11 outside 198.51.100.0/24",
    );
    expect(
        "shop.wrong-alias",
        Value::Null,
        "must be an alias (CNAME) of cdn.shop.test but points at shop.test",
    );
    expect(
        "shop.nx",
        "nxdomain".into(),
        "missing.shop.test does not exist (NXDOMAIN)",
    );
    expect(
        "shop.nodata",
        "nodata".into(),
        "shop.test exists but has no SRV record (NODATA)",
    );
    expect(
        "shop.dangling",
        "nxdomain".into(),
        "dangling.shop.test is an alias whose target gone.shop.test does not exist (NXDOMAIN): a dangling CNAME",
    );
    expect(
        "shop.exists",
        Value::Null,
        "must have no A record but www.shop.test -> shop.test answers",
    );
    assert!(check(&report, "shop.nx")["message"]
        .as_str()
        .unwrap()
        .contains(&format!("(answer from {})", server.address())));
}

#[test]
fn the_human_report_shows_chains_and_reasons() {
    let server = DnsServer::start(shop_zone());
    let ws = Workspace::new();
    ws.write("shop.toml", FAILING);
    let out = ws
        .reach()
        .args(["run", "shop.toml", "--var", &format!("dns={}", server.address())])
        .output()
        .expect_code(1);
    insta::with_settings!({ filters => stable_filters() }, {
        insta::assert_snapshot!("dns_human_report", out.stdout);
    });
}

#[test]
fn servfail_refused_and_silence_are_errors_not_verdicts() {
    let server = DnsServer::start(shop_zone());
    let spec = r#"
[defaults]
timeout = "300ms"

[[check]]
id = "servfail"
kind = "dns"
host = "broken.shop.test"
server = "{dns}"
retries = 1

[[check]]
id = "refused"
kind = "dns"
host = "private.shop.test"
server = "{dns}"
retries = 1

[[check]]
id = "timeout"
kind = "dns"
host = "slow.shop.test"
server = "{dns}"
retries = 0
resolves = false
"#;
    let report = run_json(&server, spec, 3, &[]);
    let servfail = check(&report, "dns.servfail");
    assert_eq!(servfail["status"], "error");
    assert_eq!(servfail["error"], "servfail");
    // SERVFAIL may be transient: the runner asked again before giving up.
    assert_eq!(servfail["attempts"], 2);
    let refused = check(&report, "dns.refused");
    assert_eq!(refused["error"], "resolver-refused");
    assert_eq!(refused["attempts"], 1);
    let timeout = check(&report, "dns.timeout");
    assert_eq!(
        timeout["status"], "error",
        "a silent server never passes `resolves = false`"
    );
    assert_eq!(timeout["error"], "timeout");
    assert_eq!(timeout["observed"]["dns"]["answers"][0]["result"], "error");
}

#[test]
fn a_truncated_udp_answer_is_fetched_again_over_tcp() {
    let server = DnsServer::start(shop_zone());
    let spec = r#"
[[check]]
id = "auto"
kind = "dns"
host = "big.shop.test"
server = "{dns}"
equals = ["192.0.2.20"]

[[check]]
id = "tcp"
kind = "dns"
host = "tcponly.shop.test"
server = "{dns}"
protocol = "tcp"
equals = ["192.0.2.21"]
"#;
    let report = run_json(&server, spec, 0, &[]);
    assert_eq!(check(&report, "dns.auto")["status"], "pass");
    assert_eq!(
        check(&report, "dns.tcp")["observed"]["dns"]["answers"][0]["server"],
        format!("{}/tcp", server.address())
    );
    assert!(server.tcp_queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[test]
fn udp_only_reports_a_truncated_answer_instead_of_switching_to_tcp() {
    let server = DnsServer::start(shop_zone());
    let spec = r#"
[[check]]
kind = "dns"
host = "big.shop.test"
server = "{dns}"
protocol = "udp"
retries = 0
"#;
    let report = run_json(&server, spec, 3, &[]);
    let c = &report["checks"][0];
    assert_eq!(c["status"], "error", "{c:#}");
    assert!(c["message"].as_str().unwrap().contains("truncated"), "{c:#}");
    assert_eq!(server.tcp_queries.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn servers_that_must_agree_fail_on_drift_and_list_who_said_what() {
    let inside = DnsServer::start(shop_zone());
    let outside = DnsServer::start(Zone::new().a("shop.test", "203.0.113.10"));
    let same = DnsServer::start(shop_zone());
    let spec = r#"
[[check]]
id = "drift"
kind = "dns"
host = "shop.test"
servers = ["{inside}", "{outside}"]

[[check]]
id = "agree"
kind = "dns"
host = "shop.test"
servers = ["{inside}", "{same}"]
equals = ["192.0.2.10", "192.0.2.11"]
"#;
    let ws = Workspace::new();
    ws.write("split.toml", spec);
    let out = ws
        .reach()
        .args(["run", "split.toml", "--format", "json"])
        .args(["--var", &format!("inside={}", inside.address())])
        .args(["--var", &format!("outside={}", outside.address())])
        .args(["--var", &format!("same={}", same.address())])
        .output()
        .expect_code(1);
    let report = out.json();
    let drift = check(&report, "split.drift");
    assert_eq!(drift["status"], "fail");
    assert_eq!(drift["error"], "dns-drift");
    let message = drift["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "{} says 192.0.2.10, 192.0.2.11 (ttl 300)",
            inside.address()
        )) && message.contains(&format!("{} says 203.0.113.10 (ttl 300)", outside.address())),
        "{message}"
    );
    let agree = check(&report, "split.agree");
    assert_eq!(agree["status"], "pass", "{agree:#}");
    assert_eq!(agree["observed"]["dns"]["answers"].as_array().unwrap().len(), 2);
}

#[test]
fn dns_server_flag_answers_for_dns_checks_and_for_tcp_probes() {
    let server = DnsServer::start(shop_zone());
    let (_listener, port) = open_port();
    let spec = r#"
[[check]]
id = "record"
kind = "dns"
host = "api.shop.test"
equals = ["127.0.0.1"]

[[check]]
id = "api"
kind = "tcp"
host = "api.shop.test"
port = "{port}"
expect = "open"

[[check]]
id = "missing"
kind = "tcp"
host = "missing.shop.test"
port = "{port}"
expect = "open"
"#;
    let ws = Workspace::new();
    ws.write("flag.toml", spec);
    let out = ws
        .reach()
        .args(["run", "flag.toml", "--format", "json", "--retries", "0"])
        .args(["--var", &format!("port={port}")])
        .args(["--dns-server", &server.address()])
        .output()
        .expect_code(3);
    let report = out.json();
    let record = check(&report, "flag.record");
    assert_eq!(record["status"], "pass", "{record:#}");
    assert_eq!(
        record["observed"]["dns"]["answers"][0]["server"],
        server.address()
    );
    assert_eq!(check(&report, "flag.api")["status"], "pass");
    let missing = check(&report, "flag.missing");
    assert_eq!(missing["status"], "error");
    assert_eq!(missing["stage"], "dns");
    assert_eq!(missing["error"], "nxdomain");
    assert!(
        missing["message"].as_str().unwrap().contains(&server.address()),
        "{missing:#}"
    );
}

#[test]
fn resolve_overrides_win_over_the_dns_server() {
    let server = DnsServer::start(Zone::new().a("api.shop.test", "127.0.0.2"));
    let (_listener, port) = open_port();
    let ws = Workspace::new();
    ws.write(
        "ovr.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"api.shop.test\"\nport = \"{port}\"\nexpect = \"open\"\n",
    );
    let out = ws
        .reach()
        .args(["run", "ovr.toml", "--format", "json"])
        .args(["--var", &format!("port={port}")])
        .args(["--dns-server", &server.address()])
        .args(["--resolve", &format!("api.shop.test:{port}:127.0.0.1")])
        .output()
        .expect_code(0);
    assert_eq!(
        out.json()["checks"][0]["observed"]["addresses"][0]["address"],
        "127.0.0.1"
    );
    assert_eq!(server.udp_queries.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn localhost_resolves_without_any_dns_server() {
    // /etc/hosts and RFC 6761 answer for localhost: no query leaves the machine.
    let (_listener, port) = open_port();
    let ws = Workspace::new();
    ws.write(
        "local.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"localhost\"\nport = \"{port}\"\nexpect = \"open\"\n",
    );
    let out = ws
        .reach()
        .args(["run", "local.toml", "--format", "json"])
        .args(["--var", &format!("port={port}")])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["checks"][0]["status"], "pass");
}

#[test]
fn a_bad_dns_server_flag_is_a_usage_error() {
    let out = crate::util::Reach::new()
        .args(["run", "x.toml", "--dns-server", "dns.example"])
        .output()
        .expect_code(2);
    assert!(
        out.stderr.contains("`dns.example` is not a DNS server address"),
        "{}",
        out.stderr
    );
}

#[track_caller]
fn rejected(spec: &str, line: usize, needle: &str) {
    crate::util::assert_rejected_at(spec, &format!("{line}:"), needle);
}

/// A dns check on lines 1-4, then `extra` from line 5 on.
fn dns_check(extra: &str) -> String {
    format!("[[check]]\nkind = \"dns\"\nhost = \"shop.test\"\nserver = \"127.0.0.1:5353\"\n{extra}")
}

#[test]
fn spec_errors_in_dns_checks_are_located() {
    rejected(
        &dns_check("type = \"AXFR\"\n"),
        5,
        "unknown record type `AXFR`: expected one of A, AAAA",
    );
    rejected(
        &dns_check("equals = [\"::1\"]\n"),
        5,
        "`::1` is not a A value: write an IPv4 address",
    );
    rejected(
        &dns_check("type = \"AAAA\"\ncontains = [\"10.0.0.1\"]\n"),
        6,
        "not a AAAA value",
    );
    rejected(
        &dns_check("type = \"MX\"\nnone_of = [\"ten mail.test\"]\n"),
        6,
        "not a MX value",
    );
    rejected(
        &dns_check("type = \"SRV\"\nequals = [\"1 2 sip.test\"]\n"),
        6,
        "PRIORITY WEIGHT PORT TARGET",
    );
    rejected(
        &dns_check("type = \"CAA\"\nequals = [\"issue letsencrypt.org\"]\n"),
        6,
        "FLAGS TAG VALUE",
    );
    rejected(
        &dns_check("within = \"10.0.0.0/33\"\n"),
        5,
        "`10.0.0.0/33` is not a network",
    );
    rejected(
        &dns_check("within = \"2001:db8::/32\"\n"),
        5,
        "not of the same address family as A records",
    );
    rejected(
        &dns_check("type = \"MX\"\nwithin = \"10.0.0.0/8\"\n"),
        6,
        "`within` checks addresses",
    );
    rejected(
        &dns_check("resolves = false\nequals = [\"10.0.0.1\"]\n"),
        5,
        "`resolves = false` requires that there is no record",
    );
    rejected(&dns_check("equals = []\n"), 5, "`equals` is empty");
    rejected(
        &dns_check("protocol = \"quic\"\n"),
        5,
        "unknown DNS protocol `quic`",
    );
    rejected(
        &dns_check("type = \"CNAME\"\ncname = \"a.test\"\n"),
        6,
        "write `equals` instead",
    );
    rejected(
        &dns_check("servers = [\"127.0.0.1\"]\n"),
        5,
        "write either `server` or `servers`, not both",
    );
    rejected(&dns_check("value = \"10.0.0.1\"\n"), 5, "unknown field `value`");
    rejected(
        "[[check]]\nkind = \"dns\"\nhost = \"shop.test\"\nserver = \"dns.test:53\"\n",
        4,
        "`dns.test:53` is not a DNS server address",
    );
    rejected(
        "[[check]]\nkind = \"dns\"\nhost = \"shop.test\"\nservers = [\"127.0.0.1\", \"127.0.0.1:53\"]\n",
        4,
        "server 127.0.0.1:53 is listed twice",
    );
    rejected(
        "[[check]]\nkind = \"dns\"\nhost = \"192.0.2.1\"\n",
        3,
        "a A lookup needs a name (use type = \"PTR\" for reverse lookups)",
    );
    rejected(
        "[[check]]\nkind = \"dns\"\ntype = \"A\"\n",
        1,
        "missing field `host`",
    );
}

#[test]
fn the_shipped_dns_example_validates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = crate::util::Reach::new()
        .args(["validate", &format!("{root}/checks/examples/dns.toml")])
        .args([
            "--var",
            "domain=flowsync.example.test",
            "--var",
            "server_ip=192.0.2.10",
        ])
        .output()
        .expect_code(0);
    assert_eq!(out.stdout, "ok: 5 checks in 1 file\n");
}

#[test]
fn the_dns_example_passes_against_a_zone_that_meets_it() {
    let server = DnsServer::start(
        Zone::new()
            .a("flowsync.example.test", "192.0.2.10")
            .cname("www.flowsync.example.test", "flowsync.example.test")
            .mx("flowsync.example.test", 10, "mail.flowsync.example.test")
            .caa_issue("flowsync.example.test", "letsencrypt.org"),
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let out = crate::util::Reach::new()
        .args([
            "run",
            &format!("{root}/checks/examples/dns.toml"),
            "--format",
            "json",
        ])
        .args([
            "--var",
            "domain=flowsync.example.test",
            "--var",
            "server_ip=192.0.2.10",
        ])
        .args(["--dns-server", &server.address()])
        .output()
        .expect_code(0);
    assert_eq!(out.json()["summary"]["pass"], 5);
}

#[test]
fn a_dns_server_port_that_refuses_is_refused_at_once() {
    let (socket, port) = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    };
    drop(socket);
    let ws = Workspace::new();
    ws.write(
        "none.toml",
        "[[check]]\nid = \"record\"\nkind = \"dns\"\nhost = \"shop.test\"\nserver = \"{dns}\"\nprotocol = \"udp\"\ntimeout = \"5s\"\nretries = 0\nresolves = false\n\
         [[check]]\nid = \"probe\"\nkind = \"tcp\"\nhost = \"shop.test\"\nport = 443\nexpect = \"open\"\ntimeout = \"5s\"\nretries = 0\n",
    );
    let started = std::time::Instant::now();
    let out = ws
        .reach()
        .args(["run", "none.toml", "--format", "json"])
        .args(["--var", &format!("dns=127.0.0.1:{port}")])
        .args(["--dns-server", &format!("127.0.0.1:{port}")])
        .output()
        .expect_code(3);
    let elapsed = started.elapsed();
    let report = out.json();
    let record = check(&report, "none.record");
    assert_eq!(
        record["status"], "error",
        "no answer never passes `resolves = false`: {record:#}"
    );
    // Loopback answers a datagram to a closed port with an ICMP port unreachable.
    assert_eq!(record["error"], "refused", "{record:#}");
    assert!(
        record["message"]
            .as_str()
            .unwrap()
            .contains("nothing listens on the server's UDP port"),
        "{record:#}"
    );
    let probe = check(&report, "none.probe");
    assert_eq!(
        (probe["stage"].as_str(), probe["error"].as_str()),
        (Some("dns"), Some("refused")),
        "{probe:#}"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "not a 5 s timeout: {elapsed:?}"
    );
}

#[test]
fn the_system_resolvers_are_asked_in_order_and_the_one_that_answered_is_named() {
    use crate::netns::{in_namespace, NetnsEtc, NetnsPair, SERVER_ADDR};
    let Some(pair) = NetnsPair::create() else {
        return;
    };
    // Three resolvers in the client's resolv.conf: the first drops queries, the second has
    // nothing listening (an ICMP port unreachable), the third is the test server. All three
    // addresses exist only inside the test's namespaces.
    let (silent, dead) = ("198.18.1.2", "198.18.1.1");
    let _etc = NetnsEtc::write(
        &pair.client,
        &[
            (
                "resolv.conf",
                &format!(
                    "nameserver {silent}\nnameserver {dead}\nnameserver {SERVER_ADDR}\nsearch shop.test\n\
                     options timeout:1 attempts:1 ndots:1\n"
                ),
            ),
            ("hosts", &format!("{SERVER_ADDR} fromhosts.test\n")),
        ],
    );
    for address in [silent, dead] {
        pair.exec_in(
            &pair.server,
            &["ip", "addr", "add", &format!("{address}/32"), "dev", "lo"],
        );
        pair.exec_in(
            &pair.client,
            &["ip", "route", "add", &format!("{address}/32"), "via", SERVER_ADDR],
        );
    }
    pair.exec_in(
        &pair.server,
        &[
            "iptables", "-A", "INPUT", "-d", silent, "-p", "udp", "--dport", "53", "-j", "DROP",
        ],
    );
    let _server = in_namespace(&pair.server, || {
        DnsServer::start_at(
            Zone::new().a("api.shop.test", SERVER_ADDR),
            format!("{SERVER_ADDR}:53").parse().unwrap(),
        )
    });
    let _listener = pair.server_listener(8443);
    let ws = Workspace::new();
    ws.write(
        "sys.toml",
        &format!(
            "[defaults]\ntimeout = \"9s\"\nretries = 0\n\
             [[check]]\nid = \"record\"\nkind = \"dns\"\nhost = \"api.shop.test\"\nequals = [\"{SERVER_ADDR}\"]\n\
             [[check]]\nid = \"api\"\nkind = \"tcp\"\nhost = \"api\"\nport = 8443\nexpect = \"open\"\n\
             [[check]]\nid = \"hosts\"\nkind = \"tcp\"\nhost = \"fromhosts.test\"\nport = 8443\nexpect = \"open\"\n"
        ),
    );
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &ws.path().join("sys.toml").to_string_lossy(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(0);
    let report = out.json();
    let record = check(&report, "sys.record");
    assert_eq!(
        record["observed"]["dns"]["answers"][0]["server"],
        format!("{SERVER_ADDR}:53 (system resolver)")
    );
    // `options timeout:1`: the silent server had 1 s (not a third of the check's 9 s); the
    // refusing one none.
    let dns_ms = record["timings"]["dns_ms"].as_f64().unwrap();
    assert!((900.0..2500.0).contains(&dns_ms), "{dns_ms} ms");
    // `search shop.test`: the single-label name is looked up under the search domain.
    assert_eq!(
        check(&report, "sys.api")["observed"]["addresses"][0]["address"],
        SERVER_ADDR
    );
    // /etc/hosts answers a name no server knows, without asking any.
    let hosts = check(&report, "sys.hosts");
    assert_eq!(hosts["status"], "pass", "{hosts:#}");
    assert!(hosts["timings"]["dns_ms"].as_f64().unwrap() < 100.0, "{hosts:#}");
}

#[test]
fn a_probe_whose_name_timed_out_asks_again_on_its_next_attempt() {
    let server = DnsServer::start(shop_zone());
    let ws = Workspace::new();
    ws.write(
        "slow.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"slow.shop.test\"\nport = 443\nexpect = \"open\"\ntimeout = \"300ms\"\nretries = 1\n",
    );
    let out = ws
        .reach()
        .args([
            "run",
            "slow.toml",
            "--format",
            "json",
            "--dns-server",
            &server.address(),
        ])
        .output()
        .expect_code(3);
    let c = &out.json()["checks"][0];
    assert_eq!(c["status"], "error", "{c:#}");
    assert_eq!(
        (c["stage"].as_str(), c["error"].as_str()),
        (Some("dns"), Some("timeout"))
    );
    assert_eq!(c["attempts"], 2);
    // One A and one AAAA question per attempt: the retry was not answered from the cache.
    assert!(server.udp_queries.load(std::sync::atomic::Ordering::SeqCst) >= 4);
}

#[test]
fn scan_and_tls_commands_resolve_through_the_dns_server_too() {
    let server = DnsServer::start(shop_zone());
    let (_listener, port) = open_port();
    let scan = Reach::new()
        .args([
            "scan",
            "api.shop.test",
            "--ports",
            &port.to_string(),
            "--format",
            "json",
        ])
        .args(["--dns-server", &server.address()])
        .output()
        .expect_code(0);
    let report = scan.json();
    let ports = report["checks"][0]["observed"]["ports"].as_array().unwrap();
    assert_eq!(ports[0]["address"], "127.0.0.1", "{report:#}");
    assert_eq!(ports[0]["state"], "open");

    // Nothing speaks TLS on the listener: what matters is that the name resolved through the
    // test server, so the failure is past the dns stage.
    let tls = Reach::new()
        .args([
            "tls",
            &format!("api.shop.test:{port}"),
            "--format",
            "json",
            "--timeout",
            "500ms",
        ])
        .args(["--dns-server", &server.address()])
        .output();
    let report = tls.json();
    assert_ne!(report["checks"][0]["stage"], "dns", "{report:#}");
    assert!(server.udp_queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

/// Runs `spec` against the hostile zone and returns the one check of the report, with the
/// run's wall time.
fn hostile_check(server: &DnsServer, spec: &str, code: i32) -> (Value, std::time::Duration) {
    let started = std::time::Instant::now();
    let report = run_json(server, spec, code, &[]);
    let elapsed = started.elapsed();
    (report["checks"][0].clone(), elapsed)
}

#[test]
fn answers_with_a_wrong_id_qr_0_or_another_question_are_never_accepted() {
    let server = DnsServer::start(hostile_zone());
    for (host, reason) in [
        ("wrongid.hostile.test", "not the query's"),
        ("query.hostile.test", "QR=0"),
        ("other.hostile.test", "another question (elsewhere.test A)"),
    ] {
        let spec = format!(
            "[[check]]\nkind = \"dns\"\nhost = \"{host}\"\nserver = \"{{dns}}\"\ntimeout = \"600ms\"\nretries = 0\n"
        );
        let (c, _) = hostile_check(&server, &spec, 3);
        assert_eq!(c["status"], "error", "{host}: {c:#}");
        assert_eq!(
            c["error"], "dns-error",
            "{host}: what the server sent instead of an answer is named, not a bare timeout: {c:#}"
        );
        let detail = c["observed"]["dns"]["answers"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{host}: `{reason}` not in `{detail}`");
        assert!(detail.contains("not the answer"), "{host}: {detail}");
    }
}

#[test]
fn a_stray_datagram_with_a_wrong_id_does_not_hide_the_real_answer() {
    let server = DnsServer::start(hostile_zone());
    let spec = "[[check]]\nkind = \"dns\"\nhost = \"stray.hostile.test\"\nserver = \"{dns}\"\nequals = [\"192.0.2.33\"]\nretries = 0\n";
    let (c, _) = hostile_check(&server, spec, 0);
    assert_eq!(c["status"], "pass", "{c:#}");
}

#[test]
fn malformed_answers_are_dns_errors_that_name_the_fault_at_once() {
    let server = DnsServer::start(hostile_zone());
    for (host, reason) in [
        ("pointer.hostile.test", "compression pointer loop"),
        ("rdata.hostile.test", "bad rdata"),
    ] {
        let spec = format!(
            "[[check]]\nkind = \"dns\"\nhost = \"{host}\"\nserver = \"{{dns}}\"\ntimeout = \"5s\"\nretries = 0\n"
        );
        let (c, elapsed) = hostile_check(&server, &spec, 3);
        assert_eq!(c["status"], "error", "{host}: {c:#}");
        assert_eq!(c["error"], "dns-error", "{host}: {c:#}");
        let detail = c["observed"]["dns"]["answers"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(reason), "{host}: `{reason}` not in `{detail}`");
        // The answer to the question came, broken: nothing is gained by waiting for the timeout.
        assert!(elapsed < std::time::Duration::from_secs(3), "{host}: {elapsed:?}");
    }
}

#[test]
fn a_probe_whose_server_answers_garbage_is_a_dns_error_at_stage_dns() {
    let server = DnsServer::start(hostile_zone());
    let ws = Workspace::new();
    ws.write(
        "probe.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"wrongid.hostile.test\"\nport = 443\nexpect = \"open\"\ntimeout = \"600ms\"\nretries = 0\n",
    );
    let out = ws
        .reach()
        .args(["run", "probe.toml", "--format", "json"])
        .args(["--dns-server", &server.address()])
        .output()
        .expect_code(3);
    let c = &out.json()["checks"][0];
    assert_eq!(
        (c["stage"].as_str(), c["error"].as_str()),
        (Some("dns"), Some("dns-error")),
        "{c:#}"
    );
    assert!(
        c["message"].as_str().unwrap().contains("not the query's"),
        "{c:#}"
    );
}

#[test]
fn a_cname_loop_is_its_own_error_class_not_nodata() {
    let server = DnsServer::start(hostile_zone());
    let spec = r#"
[[check]]
id = "must-resolve"
kind = "dns"
host = "loop.hostile.test"
server = "{dns}"

[[check]]
id = "must-not"
kind = "dns"
host = "loop.hostile.test"
server = "{dns}"
resolves = false
"#;
    let report = run_json(&server, spec, 1, &[]);
    for id in ["dns.must-resolve", "dns.must-not"] {
        let c = check(&report, id);
        assert_eq!(
            (c["status"].as_str(), c["error"].as_str()),
            (Some("fail"), Some("cname-loop")),
            "{c:#}"
        );
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("alias chain loops: loop.hostile.test -> round.hostile.test -> loop.hostile.test"),
            "{c:#}"
        );
        assert_eq!(
            c["observed"]["dns"]["answers"][0]["chain"],
            serde_json::json!(["loop.hostile.test", "round.hostile.test", "loop.hostile.test"])
        );
    }
    // A probe's lookup says so too.
    let ws = Workspace::new();
    ws.write(
        "probe.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"loop.hostile.test\"\nport = 443\nexpect = \"open\"\nretries = 0\n",
    );
    let out = ws
        .reach()
        .args(["run", "probe.toml", "--format", "json"])
        .args(["--dns-server", &server.address()])
        .output();
    let c = &out.json()["checks"][0];
    assert_eq!(
        (c["stage"].as_str(), c["error"].as_str()),
        (Some("dns"), Some("cname-loop")),
        "{c:#}"
    );
}

#[test]
fn an_answer_over_512_bytes_comes_over_udp_with_edns0() {
    let server = DnsServer::start(hostile_zone());
    let every: Vec<String> = (1..=40).map(|n| format!("\"192.0.2.{n}\"")).collect();
    let spec = format!(
        "[[check]]\nkind = \"dns\"\nhost = \"many.hostile.test\"\nserver = \"{{dns}}\"\nprotocol = \"udp\"\nretries = 0\nequals = [{}]\n",
        every.join(", ")
    );
    let (c, _) = hostile_check(&server, &spec, 0);
    assert_eq!(c["status"], "pass", "{c:#}");
    assert_eq!(server.tcp_queries.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn a_lost_query_is_sent_again_within_the_attempt() {
    let server = DnsServer::start(hostile_zone());
    let spec = "[[check]]\nkind = \"dns\"\nhost = \"lossy.hostile.test\"\nserver = \"{dns}\"\ntimeout = \"4s\"\nretries = 0\nequals = [\"192.0.2.34\"]\n";
    let (c, elapsed) = hostile_check(&server, spec, 0);
    assert_eq!(c["status"], "pass", "{c:#}");
    assert_eq!(c["attempts"], 1, "{c:#}");
    assert!(server.udp_queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    // Sent again after the retransmission interval, not after the check's 4 s timeout.
    assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn the_queries_of_a_run_share_a_few_sockets() {
    let server = DnsServer::start(shop_zone());
    let mut spec = String::new();
    for n in 0..200 {
        spec.push_str(&format!(
            "[[check]]\nid = \"c{n}\"\nkind = \"dns\"\nhost = \"shop.test\"\nserver = \"{{dns}}\"\n"
        ));
    }
    run_json(&server, &spec, 0, &[]);
    let sources = server.udp_sources();
    assert!(
        sources <= 8,
        "200 queries came from {sources} source ports, not from a few shared sockets"
    );
}

#[test]
fn queries_a_server_never_answers_do_not_hold_back_the_others() {
    // 150 AAAA questions the server drops come first; 150 A questions it answers follow. The
    // unanswered ones must not keep the server's window of queries in flight to themselves.
    let server = DnsServer::start(Zone::new().synthetic("bench.test").drop_aaaa());
    let mut spec = String::from("[defaults]\ntimeout = \"2s\"\nretries = 0\n");
    for n in 1..=150 {
        spec.push_str(&format!(
            "[[check]]\nid = \"v6-{n}\"\nkind = \"dns\"\ntype = \"AAAA\"\nhost = \"n{n}.bench.test\"\nserver = \"{{dns}}\"\nresolves = false\n"
        ));
    }
    for n in 1..=150 {
        spec.push_str(&format!(
            "[[check]]\nid = \"v4-{n}\"\nkind = \"dns\"\nhost = \"n{n}.bench.test\"\nserver = \"{{dns}}\"\nequals = [\"{}\"]\n",
            crate::dns_server::synthetic_address(n)
        ));
    }
    let report = run_json(&server, &spec, 3, &[]);
    let checks = report["checks"].as_array().unwrap();
    let answered = checks
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("dns.v4-"))
        .filter(|c| c["status"] == "pass")
        .count();
    assert_eq!(answered, 150, "{:#}", checks[150]);
    let silent = &checks[0];
    assert_eq!(
        (silent["status"].as_str(), silent["error"].as_str()),
        (Some("error"), Some("timeout"))
    );
}

/// Whether `program` can be run; a test that needs it says why it skips, and fails instead
/// under REACH_REQUIRE_TOOLS=1 (CI installs it).
fn have(program: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("REACH_REQUIRE_TOOLS").is_none(),
            "{program} is required (REACH_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// A dnsmasq process, killed when dropped, even when the test fails.
struct Dnsmasq(std::process::Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_dnsmasq_is_read_over_udp_with_edns0_and_over_tcp_when_it_truncates() {
    use crate::netns::{NetnsPair, SERVER_ADDR};
    if !have("dnsmasq") {
        return;
    }
    let Some(pair) = NetnsPair::create() else {
        return;
    };
    // dnsmasq (not reach's test responder) as the oracle: its own EDNS0 handling (answers up to
    // 1232 bytes over UDP by default, TC beyond), CNAMEs and NXDOMAIN for its local domain.
    let ws = Workspace::new();
    let mut hosts = String::from("192.0.2.10 shop.test\n");
    for n in 1..=40 {
        hosts.push_str(&format!("198.51.100.{n} forty.shop.test\n"));
    }
    for n in 1..=100 {
        hosts.push_str(&format!("203.0.113.{n} hundred.shop.test\n"));
    }
    ws.write("hosts", &hosts);
    ws.write("empty.conf", "");
    let dir = ws.path();
    let server = Dnsmasq(
        std::process::Command::new("ip")
            .args(["netns", "exec", &pair.server, "dnsmasq", "--keep-in-foreground"])
            .arg(format!("--conf-file={}", dir.join("empty.conf").display()))
            .args(["--no-resolv", "--no-hosts", "--local=/shop.test/"])
            .arg(format!("--addn-hosts={}", dir.join("hosts").display()))
            .args(["--cname=www.shop.test,shop.test", "--bind-interfaces"])
            .arg(format!("--listen-address={SERVER_ADDR}"))
            .args(["--port=53", "--user=root", "--group=root"])
            .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
            .arg(format!("--log-facility={}", dir.join("dnsmasq.log").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start dnsmasq"),
    );
    let pid_file = dir.join("dnsmasq.pid");
    for _ in 0..100 {
        if std::fs::read_to_string(&pid_file).is_ok_and(|pid| !pid.trim().is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let forty: Vec<String> = (1..=40).map(|n| format!("\"198.51.100.{n}\"")).collect();
    let hundred: Vec<String> = (1..=100).map(|n| format!("\"203.0.113.{n}\"")).collect();
    ws.write(
        "real.toml",
        &format!(
            "[defaults]\ntimeout = \"3s\"\nretries = 0\n\
             [[check]]\nid = \"alias\"\nkind = \"dns\"\nhost = \"www.shop.test\"\nserver = \"{SERVER_ADDR}\"\ncname = \"shop.test\"\nequals = [\"192.0.2.10\"]\n\
             [[check]]\nid = \"missing\"\nkind = \"dns\"\nhost = \"missing.shop.test\"\nserver = \"{SERVER_ADDR}\"\nresolves = false\n\
             [[check]]\nid = \"udp-edns\"\nkind = \"dns\"\nhost = \"forty.shop.test\"\nserver = \"{SERVER_ADDR}\"\nprotocol = \"udp\"\nequals = [{}]\n\
             [[check]]\nid = \"tcp-fallback\"\nkind = \"dns\"\nhost = \"hundred.shop.test\"\nserver = \"{SERVER_ADDR}\"\nequals = [{}]\n\
             [[check]]\nid = \"udp-only\"\nkind = \"dns\"\nhost = \"hundred.shop.test\"\nserver = \"{SERVER_ADDR}\"\nprotocol = \"udp\"\n",
            forty.join(", "),
            hundred.join(", ")
        ),
    );
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &dir.join("real.toml").to_string_lossy(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(3);
    drop(server);
    let report = out.json();
    for id in ["real.alias", "real.missing", "real.udp-edns", "real.tcp-fallback"] {
        let c = check(&report, id);
        assert_eq!(c["status"], "pass", "{c:#}");
    }
    assert_eq!(
        check(&report, "real.missing")["observed"]["dns"]["answers"][0]["result"],
        "nxdomain"
    );
    let udp_only = check(&report, "real.udp-only");
    assert_eq!(
        (udp_only["status"].as_str(), udp_only["error"].as_str()),
        (Some("error"), Some("dns-error"))
    );
    assert!(
        udp_only["message"].as_str().unwrap().contains("truncated"),
        "{udp_only:#}"
    );
}
