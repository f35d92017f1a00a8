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
fn a_dns_server_where_nothing_listens_is_an_error() {
    let (socket, port) = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    };
    drop(socket);
    let ws = Workspace::new();
    ws.write(
        "none.toml",
        "[[check]]\nkind = \"dns\"\nhost = \"shop.test\"\nserver = \"{dns}\"\nprotocol = \"udp\"\ntimeout = \"500ms\"\nretries = 0\nresolves = false\n",
    );
    let out = ws
        .reach()
        .args(["run", "none.toml", "--format", "json"])
        .args(["--var", &format!("dns=127.0.0.1:{port}")])
        .output()
        .expect_code(3);
    let c = &out.json()["checks"][0];
    assert_eq!(
        c["status"], "error",
        "no answer never passes `resolves = false`: {c:#}"
    );
    assert!(
        c["error"] == "refused" || c["error"] == "timeout",
        "an ICMP port unreachable or silence: {c:#}"
    );
}

#[test]
fn the_system_resolvers_are_asked_in_order_and_the_one_that_answered_is_named() {
    use crate::netns::{in_namespace, NetnsEtc, NetnsPair, SERVER_ADDR};
    let Some(pair) = NetnsPair::create() else {
        return;
    };
    // Two resolvers in the client's resolv.conf: the first has nothing listening, the second
    // is the test server. Both addresses exist only inside the test's namespaces.
    let dead = "198.18.1.1";
    let _conf = NetnsEtc::write(
        &pair.client,
        &[(
            "resolv.conf",
            &format!("nameserver {dead}\nnameserver {SERVER_ADDR}\noptions timeout:1\n"),
        )],
    );
    pair.exec_in(
        &pair.server,
        &["ip", "addr", "add", &format!("{dead}/32"), "dev", "lo"],
    );
    pair.exec_in(
        &pair.client,
        &["ip", "route", "add", &format!("{dead}/32"), "via", SERVER_ADDR],
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
            "[defaults]\ntimeout = \"3s\"\nretries = 0\n\
             [[check]]\nid = \"record\"\nkind = \"dns\"\nhost = \"api.shop.test\"\nequals = [\"{SERVER_ADDR}\"]\n\
             [[check]]\nid = \"api\"\nkind = \"tcp\"\nhost = \"api.shop.test\"\nport = 8443\nexpect = \"open\"\n"
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
    assert_eq!(
        check(&report, "sys.record")["observed"]["dns"]["answers"][0]["server"],
        format!("{SERVER_ADDR}:53 (system resolver)")
    );
    assert_eq!(
        check(&report, "sys.api")["observed"]["addresses"][0]["address"],
        SERVER_ADDR
    );
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
