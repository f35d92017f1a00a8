//! A small internet in network namespaces, for the proofs of the shipped profiles
//! (`tests/cli/profiles/`): a deployment's server, the internet side of its firewall, an admin
//! network, and the providers' side with the one DNS server every lab process asks.
//!
//! ```text
//!               reach-lan-ID: bridge br0 (no address)
//!      ┌──────────────┬─────────────┬─────────────┐
//!   reach-srv-ID   reach-ext-ID   reach-adm-ID   reach-prv-ID
//!   198.18.0.1     198.18.0.2     198.18.0.3     198.18.0.10, providers .11-.17, DNS .53
//!   198.18.0.4 (a second address of the same server)
//! ```
//!
//! No namespace has a default route and every address is in 198.18.0.0/24 (a benchmarking
//! range), so nothing a lab process sends can leave the lab. srv, ext and adm get their own
//! `/etc/netns/NAME/resolv.conf` (the lab's DNS server only) and `hosts` (localhost only), so
//! `reach` resolves the profiles' names as on a real machine, through the system resolver, and
//! public provider names are answered by the lab alone.
//!
//! Everything is torn down when the `Lab` and the servers are dropped, also when a test panics:
//! processes are killed, threads stopped, namespaces and their /etc/netns files removed.

use crate::netns::{exec_in, in_namespace, prerequisites, run, skip, unique_id, NetnsEtc};
use crate::util::Reach;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The server's address, which its A record holds.
pub const SRV_IP: &str = "198.18.0.1";
/// A second address of the same server (the target of a wrong A record).
pub const SRV_IP2: &str = "198.18.0.4";
pub const EXT_IP: &str = "198.18.0.2";
/// The admin network's address: the one source the SSH rules allow.
pub const ADM_IP: &str = "198.18.0.3";
pub const PRV_IP: &str = "198.18.0.10";
pub const DNS_IP: &str = "198.18.0.53";

/// The providers' names and the addresses of their stand-ins in the providers' namespace.
pub const PROVIDERS: &[(&str, &str)] = &[
    ("api.deepgram.com", "198.18.0.11"),
    ("api.openai.com", "198.18.0.12"),
    ("api.groq.com", "198.18.0.13"),
    ("huggingface.co", "198.18.0.14"),
    ("pypi.org", "198.18.0.15"),
    ("files.pythonhosted.org", "198.18.0.16"),
    ("registry.npmjs.org", "198.18.0.17"),
];

/// The address of provider `name`'s stand-in.
pub fn provider_ip(name: &str) -> &'static str {
    PROVIDERS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not a lab provider"))
        .1
}

/// The nginx binary: `REACH_NGINX`, else `nginx` on PATH.
pub fn nginx_binary() -> String {
    std::env::var("REACH_NGINX").unwrap_or_else(|_| "nginx".to_owned())
}

/// The five namespaces of one lab, removed when dropped.
pub struct Lab {
    pub lan: String,
    pub srv: String,
    pub ext: String,
    pub adm: String,
    pub prv: String,
    etc: Vec<NetnsEtc>,
}

impl Lab {
    /// Builds a lab, or returns `None` after printing why it cannot here (root, iproute2,
    /// iptables and nginx are needed); under `REACH_REQUIRE_NETNS=1` it fails instead.
    pub fn create() -> Option<Lab> {
        let nginx = nginx_binary();
        if let Err(reason) = prerequisites(&[("iptables-restore", "--version"), (&nginx, "-v")]) {
            skip(&reason);
            return None;
        }
        let id = unique_id();
        let mut lab = Lab {
            lan: format!("reach-lan-{id}"),
            srv: format!("reach-srv-{id}"),
            ext: format!("reach-ext-{id}"),
            adm: format!("reach-adm-{id}"),
            prv: format!("reach-prv-{id}"),
            etc: Vec::new(),
        };
        // From here on a failing step still tears down what was made: `lab` is dropped.
        for ns in lab.namespaces() {
            run(&["ip", "netns", "add", ns]);
            exec_in(ns, &["ip", "link", "set", "lo", "up"]);
        }
        exec_in(&lab.lan, &["ip", "link", "add", "br0", "type", "bridge"]);
        exec_in(&lab.lan, &["ip", "link", "set", "br0", "up"]);
        let members = [
            ("srv", &lab.srv, vec![SRV_IP, SRV_IP2]),
            ("ext", &lab.ext, vec![EXT_IP]),
            ("adm", &lab.adm, vec![ADM_IP]),
            (
                "prv",
                &lab.prv,
                std::iter::once(PRV_IP)
                    .chain(PROVIDERS.iter().map(|(_, ip)| *ip))
                    .chain([DNS_IP])
                    .collect(),
            ),
        ];
        for (short, ns, addresses) in members {
            // Interface names are limited to 15 bytes: a 4-byte prefix and the id.
            let (bridge_end, ns_end) = (format!("l{short}{id}"), format!("v{short}{id}"));
            run(&[
                "ip",
                "link",
                "add",
                &bridge_end,
                "type",
                "veth",
                "peer",
                "name",
                &ns_end,
            ]);
            run(&["ip", "link", "set", &bridge_end, "netns", &lab.lan]);
            run(&["ip", "link", "set", &ns_end, "netns", ns]);
            exec_in(
                &lab.lan,
                &["ip", "link", "set", &bridge_end, "master", "br0", "up"],
            );
            for address in addresses {
                exec_in(
                    ns,
                    &["ip", "addr", "add", &format!("{address}/24"), "dev", &ns_end],
                );
            }
            exec_in(ns, &["ip", "link", "set", &ns_end, "up"]);
        }
        let resolv = format!("nameserver {DNS_IP}\noptions timeout:1 attempts:1\n");
        let hosts = "127.0.0.1 localhost\n::1 localhost\n";
        for ns in [&lab.srv, &lab.ext, &lab.adm] {
            let etc = NetnsEtc::write(ns, &[("resolv.conf", &resolv), ("hosts", hosts)]);
            lab.etc.push(etc);
        }
        Some(lab)
    }

    fn namespaces(&self) -> [&String; 5] {
        [&self.lan, &self.srv, &self.ext, &self.adm, &self.prv]
    }

    /// `reach` running inside namespace `ns`.
    pub fn reach(&self, ns: &str) -> Reach {
        Reach::wrapped(&["ip", "netns", "exec", ns])
    }

    /// Replaces the whole filter table of namespace `ns` at once (`iptables-restore`): `input`
    /// and `output` are rules of the INPUT and OUTPUT chains, without `-A CHAIN`.
    pub fn firewall(&self, ns: &str, input: &[String], output: &[String]) {
        let mut table =
            String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for (chain, rules) in [("INPUT", input), ("OUTPUT", output)] {
            for rule in rules {
                table.push_str(&format!("-A {chain} {rule}\n"));
            }
        }
        table.push_str("COMMIT\n");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "iptables-restore"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run iptables-restore");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(table.as_bytes())
            .expect("write the rules");
        let out = child.wait_with_output().expect("iptables-restore");
        assert!(
            out.status.success(),
            "iptables-restore failed: {}\n{table}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends inside it, and with them their peers.
        for ns in self.namespaces() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        self.etc.clear();
    }
}

/// A TCP port that accepts and closes every connection (a datastore or SSH stand-in: the
/// profiles only ask whether a handshake completes). Accepting keeps the backlog from filling
/// over many runs. Closed when dropped.
pub struct StandIn {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    pub fn start(ns: &str, ip: &str, port: u16) -> StandIn {
        let ip = ip.to_owned();
        let listener = bind_when_free(ns, &ip, port);
        listener.set_nonblocking(true).expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        StandIn {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `ip:port` inside `ns`, waiting (up to 5 s) for a socket that is closing to let go.
pub fn bind_when_free(ns: &str, ip: &str, port: u16) -> TcpListener {
    let ip = ip.to_owned();
    in_namespace(ns, move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind((ip.as_str(), port)) {
                Ok(listener) => return listener,
                Err(e) if Instant::now() < deadline && e.kind() == std::io::ErrorKind::AddrInUse => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("bind {ip}:{port}: {e}"),
            }
        }
    })
}

/// Waits until nothing listens on `ip:port` in `ns` any more.
pub fn wait_until_free(ns: &str, ip: &str, port: u16) {
    drop(bind_when_free(ns, ip, port));
}

/// Debian's nginx in one namespace, in the foreground and as a single process, so that killing
/// the one child stops everything it serves. Its configuration, pid file, logs and temporary
/// files live in `dir`; nothing of the system's nginx setup is read or written.
pub struct Nginx {
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
    config: Option<String>,
}

impl Nginx {
    pub fn new(ns: &str, dir: &Path) -> Nginx {
        std::fs::create_dir_all(dir).expect("nginx directory");
        Nginx {
            ns: ns.to_owned(),
            dir: dir.to_owned(),
            child: None,
            config: None,
        }
    }

    /// Runs nginx with `servers` (the `server { ... }` blocks of its `http` block), restarting it
    /// when they changed; `None` stops it.
    pub fn serve(&mut self, servers: Option<&str>) {
        if self.config.as_deref() == servers {
            return;
        }
        self.stop();
        let Some(servers) = servers else {
            return;
        };
        let dir = self.dir.display();
        // ssl_ecdh_curve as Mozilla's generated configuration (guideline 5.7) has it: without it
        // nginx offers OpenSSL's default groups, x448 and secp521r1 among them, which the
        // profiles' reading of "strong ciphers" (Mozilla intermediate) does not allow.
        let config = format!(
            "daemon off;\n\
             master_process off;\n\
             pid {dir}/nginx.pid;\n\
             error_log {dir}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             access_log off;\n\
             client_body_temp_path {dir}/body;\n\
             proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n\
             uwsgi_temp_path {dir}/uwsgi;\n\
             scgi_temp_path {dir}/scgi;\n\
             default_type text/plain;\n\
             server_tokens off;\n\
             ssl_ecdh_curve X25519:prime256v1:secp384r1;\n\
             {servers}\n\
             }}\n"
        );
        let conf = self.dir.join("nginx.conf");
        let pid = self.dir.join("nginx.pid");
        let log = self.dir.join("error.log");
        std::fs::write(&conf, &config).expect("write nginx.conf");
        let _ = std::fs::remove_file(&pid);
        let stderr = std::fs::File::create(self.dir.join("stderr.log")).expect("nginx stderr file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, &nginx_binary(), "-p"])
            .arg(&self.dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start nginx");
        self.child = Some(child);
        self.config = Some(servers.to_owned());
        // nginx writes its pid file after it has bound every listening socket.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pid.exists() {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let error = std::fs::read_to_string(&log).unwrap_or_default()
                    + &std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
                self.child = None;
                self.config = None;
                panic!("nginx did not start ({exited:?}):\n{error}\n--- nginx.conf\n{config}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.config = None;
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The lab's HTTP application (`http_servers::Server`, with `/`, `/health` and a `/ws` upgrade)
/// on `ip:port` in `ns`; it stops listening when dropped.
pub struct App {
    pub server: crate::http_servers::Server,
    ns: String,
    ip: String,
    port: u16,
}

impl App {
    pub fn start(ns: &str, ip: &str, port: u16) -> App {
        let listener = bind_when_free(ns, ip, port);
        App {
            server: crate::http_servers::Server::http_on(listener, None),
            ns: ns.to_owned(),
            ip: ip.to_owned(),
            port,
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.stop();
        wait_until_free(&self.ns, &self.ip, self.port);
    }
}

/// A server certificate that can be replaced while the server runs (a provider whose
/// certificate changes to one no trusted CA signed).
#[derive(Debug)]
pub struct SwappableCert(Mutex<Arc<rustls::sign::CertifiedKey>>);

impl SwappableCert {
    pub fn new(leaf: &crate::pki::Leaf) -> Arc<SwappableCert> {
        Arc::new(SwappableCert(Mutex::new(certified_key(leaf))))
    }

    pub fn set(&self, leaf: &crate::pki::Leaf) {
        *self.0.lock().expect("certificate lock") = certified_key(leaf);
    }

    /// A TLS server configuration (TLS 1.2 and 1.3, HTTP/1.1) that serves this certificate.
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn rustls::server::ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl rustls::server::ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(&self.0.lock().expect("certificate lock")))
    }
}

fn certified_key(leaf: &crate::pki::Leaf) -> Arc<rustls::sign::CertifiedKey> {
    let key = rustls::crypto::ring::sign::any_supported_type(&leaf.key()).expect("a supported key");
    Arc::new(rustls::sign::CertifiedKey::new(leaf.chain.clone(), key))
}
