//! Firewall behaviour that loopback cannot show: two network namespaces joined by a veth pair
//! (no default route, addresses from the 198.18.0.0/15 benchmarking range that exist only inside
//! them), with iptables DROP and REJECT rules in the server's namespace. Also the helpers every
//! namespace test shares (unique names, the prerequisites, entering a namespace, /etc/netns
//! files); the larger lab of the profile proofs is in `lab.rs`.
//!
//! These tests need root, iproute2 and iptables. Without them they print why and pass, unless
//! `REACH_REQUIRE_NETNS=1` (set by CI), in which case they fail.

use crate::util::{Reach, Workspace};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub const SERVER_ADDR: &str = "198.18.0.1";
pub const CLIENT_ADDR: &str = "198.18.0.2";

/// A server and a client namespace, deleted (with their veth pair) when dropped, even when the
/// test panics.
pub struct NetnsPair {
    pub server: String,
    pub client: String,
    /// What makes this pair's names unique; devices a test adds can carry it too (interface
    /// names are limited to 15 bytes).
    pub id: String,
}

impl NetnsPair {
    /// Builds the pair, or returns `None` after printing why it cannot (see the module doc).
    pub fn create() -> Option<NetnsPair> {
        if let Err(reason) = prerequisites(&[]) {
            skip(&reason);
            return None;
        }
        let id = unique_id();
        let pair = NetnsPair {
            server: format!("reach-srv-{id}"),
            client: format!("reach-cli-{id}"),
            id: id.clone(),
        };
        let (veth_server, veth_client) = (pair.server_veth(), format!("rc{id}"));
        let setup: Vec<Vec<&str>> = vec![
            vec!["ip", "netns", "add", &pair.server],
            vec!["ip", "netns", "add", &pair.client],
            vec![
                "ip",
                "link",
                "add",
                &veth_server,
                "type",
                "veth",
                "peer",
                "name",
                &veth_client,
            ],
            vec!["ip", "link", "set", &veth_server, "netns", &pair.server],
            vec!["ip", "link", "set", &veth_client, "netns", &pair.client],
        ];
        for step in &setup {
            run(step);
        }
        let server_cidr = format!("{SERVER_ADDR}/30");
        let client_cidr = format!("{CLIENT_ADDR}/30");
        for (ns, veth, cidr) in [
            (&pair.server, &veth_server, &server_cidr),
            (&pair.client, &veth_client, &client_cidr),
        ] {
            pair.exec_in(ns, &["ip", "link", "set", "lo", "up"]);
            pair.exec_in(ns, &["ip", "addr", "add", cidr, "dev", veth]);
            pair.exec_in(ns, &["ip", "link", "set", veth, "up"]);
        }
        Some(pair)
    }

    /// The server's end of the veth pair.
    pub fn server_veth(&self) -> String {
        format!("rs{}", self.id)
    }

    /// Runs a command inside a namespace of the pair; panics if it fails.
    pub fn exec_in(&self, ns: &str, command: &[&str]) {
        exec_in(ns, command);
    }

    /// Adds an iptables rule to the server's INPUT chain for one TCP port.
    pub fn server_rule(&self, port: u16, target: &[&str]) {
        let port = port.to_string();
        let mut rule = vec!["iptables", "-A", "INPUT", "-p", "tcp", "--dport", &port, "-j"];
        rule.extend_from_slice(target);
        self.exec_in(&self.server, &rule);
    }

    /// Binds a listener on the server's address inside the server namespace.
    pub fn server_listener(&self, port: u16) -> TcpListener {
        in_namespace(&self.server, move || {
            TcpListener::bind((SERVER_ADDR, port)).expect("bind in server namespace")
        })
    }

    /// `reach` running inside the client namespace.
    pub fn reach_in_client(&self) -> Reach {
        Reach::wrapped(&["ip", "netns", "exec", &self.client])
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace also deletes the veth end inside it, and with it the peer.
        for ns in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A suffix for namespace and interface names that no other test of any running test process
/// uses: the process id and a counter shared by every namespace test of this process. At most
/// 10 bytes, so that a 4-byte prefix keeps an interface name within its 15.
pub fn unique_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{}x{n}", std::process::id())
}

/// Why namespace tests cannot run here: not root, or a tool missing. `tools` are extra
/// programs (with an argument that makes them print their version and exit 0) beyond `ip` and
/// `iptables`.
pub fn prerequisites(tools: &[(&str, &str)]) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not running as root".into());
    }
    for (tool, arg) in [("ip", "-V"), ("iptables", "--version")].iter().chain(tools) {
        match Command::new(tool).arg(arg).output() {
            Ok(out) if out.status.success() => {}
            _ => return Err(format!("`{tool}` is not installed or does not run")),
        }
    }
    Ok(())
}

/// Prints why a namespace test does not run, or fails it under `REACH_REQUIRE_NETNS=1`.
#[track_caller]
pub fn skip(reason: &str) {
    if std::env::var("REACH_REQUIRE_NETNS").is_ok_and(|v| v == "1") {
        panic!("REACH_REQUIRE_NETNS=1 but network namespaces are unavailable: {reason}");
    }
    eprintln!("skipped: network namespace test ({reason})");
}

/// Runs `f` on a thread that entered namespace `ns` and returns its result. Sockets belong to
/// the namespace they were created in, so a listener made here serves inside `ns` whichever
/// thread later accepts on it.
pub fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Runs a command inside namespace `ns`; panics if it fails.
#[track_caller]
pub fn exec_in(ns: &str, command: &[&str]) {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(command);
    run(&full);
}

/// `/etc/netns/NAME/`: files that `ip netns exec NAME` bind-mounts over their namesakes in
/// /etc (resolv.conf, hosts). Removed when dropped, even when the test fails.
pub struct NetnsEtc(std::path::PathBuf);

impl NetnsEtc {
    /// Writes each `(file name, text)` into `/etc/netns/NAME/`.
    pub fn write(namespace: &str, files: &[(&str, &str)]) -> NetnsEtc {
        let dir = std::path::Path::new("/etc/netns").join(namespace);
        std::fs::create_dir_all(&dir).expect("create /etc/netns/NAME");
        let etc = NetnsEtc(dir);
        for (name, text) in files {
            etc.replace(name, text);
        }
        etc
    }

    /// Replaces one file; the next `ip netns exec` sees it.
    pub fn replace(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text)
            .unwrap_or_else(|e| panic!("write /etc/netns file {name}: {e}"));
    }
}

impl Drop for NetnsEtc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // /etc/netns itself, unless another test still uses it.
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

#[track_caller]
pub fn run(command: &[&str]) {
    let out = Command::new(command[0])
        .args(&command[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn open_closed_and_filtered_are_told_apart_through_a_firewall() {
    let Some(pair) = NetnsPair::create() else { return };
    let (open, closed, dropped, icmp_rejected, reset) = (8000, 6379, 5432, 9200, 27017);
    let _listener = pair.server_listener(open);
    pair.server_rule(dropped, &["DROP"]);
    pair.server_rule(
        icmp_rejected,
        &["REJECT", "--reject-with", "icmp-admin-prohibited"],
    );
    pair.server_rule(reset, &["REJECT", "--reject-with", "tcp-reset"]);

    let ws = Workspace::new();
    ws.write(
        "fw.toml",
        &format!(
            r#"
profile = "fw"
[defaults]
timeout = "300ms"
retries = 1

[[check]]
id = "api"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {open}
expect = "open"

[[check]]
id = "closed"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {closed}
expect = "closed"

[[check]]
id = "dropped"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {dropped}
expect = "filtered"

[[check]]
id = "icmp"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {icmp_rejected}
expect = "filtered"

[[check]]
id = "reset"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {reset}
expect = "closed"

[[check]]
id = "dropped-must-be-open"
kind = "tcp"
host = "{SERVER_ADDR}"
port = {dropped}
expect = "open"
"#
        ),
    );
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &ws.path().join("fw.toml").display().to_string(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(1);
    let report = out.json();
    let seen: Vec<(String, String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let address = &c["observed"]["addresses"][0];
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    address["state"].as_str().unwrap_or("-"),
                    address["reason"].as_str().unwrap_or("-")
                ),
            )
        })
        .collect();
    let expected = [
        ("fw.api", "pass", "open/syn-ack"),
        ("fw.closed", "pass", "closed/reset"),
        ("fw.dropped", "pass", "filtered/no-response"),
        ("fw.icmp", "pass", "filtered/icmp-unreachable"),
        ("fw.reset", "pass", "closed/reset"),
        ("fw.dropped-must-be-open", "fail", "filtered/no-response"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect();
    assert_eq!(seen, expected, "{report:#}");
    let fail = &report["checks"][5];
    assert_eq!(fail["stage"], "tcp");
    assert_eq!(fail["error"], "timeout");
    assert_eq!(
        fail["attempts"], 2,
        "a silent port is retried before it is called filtered"
    );
}

#[test]
fn no_route_is_an_error_not_a_filtered_port() {
    let Some(pair) = NetnsPair::create() else { return };
    let ws = Workspace::new();
    // 198.19.0.1 is outside the client's only subnet and there is no default route, so the
    // kernel refuses the connect() itself: nothing can be said about that port.
    ws.write(
        "nr.toml",
        "[[check]]\nkind = \"tcp\"\nhost = \"198.19.0.1\"\nport = 5432\nexpect = \"not-exposed\"\ntimeout = \"300ms\"\n",
    );
    let out = pair
        .reach_in_client()
        .args([
            "run",
            &ws.path().join("nr.toml").display().to_string(),
            "--format",
            "json",
        ])
        .output()
        .expect_code(3);
    let check = &out.json()["checks"][0];
    assert_eq!(check["status"], "error");
    assert_eq!(check["error"], "unreachable");
}
