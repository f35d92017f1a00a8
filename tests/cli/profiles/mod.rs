//! Proofs of the shipped profiles (`checks/*.toml`, issue 11): each deployment document is built
//! in a lab of network namespaces (`tests/cli/lab.rs`) with real nginx, the documented firewall
//! and DNS records; `reach run checks/PROFILE.toml` passes from every vantage the profile has.
//! Then each change the document forbids is made, one at a time and undone after, and every
//! vantage's whole report is compared with its baseline: exactly the expected checks turn into
//! the expected `fail` (stage and error class), and nothing else changes.
//!
//! The profiles are read from the repository as shipped. Runs use the profiles' own timeouts and
//! `--retries 0` (nothing is lost in the lab, and a dropped port costs one timeout, not two).

mod ai_studio;
mod chatalot;
mod flowsync;
mod vcon;
mod zanuri;

use crate::dns_server::{DnsServer, Zone};
use crate::http_servers::Server;
use crate::lab::{provider_ip, App, Lab, Nginx, StandIn, SwappableCert, DNS_IP, PROVIDERS};
use crate::pki::{KeyKind, Leaf, LeafKind, Pki};
use crate::util::Workspace;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub const EXTERNAL: &str = "external";
pub const ADMIN: &str = "admin";
pub const HOST: &str = "host";

/// `fail` at `stage` without an error class.
pub fn fail(stage: &str) -> String {
    format!("fail/{stage}/-")
}

/// `fail` at `stage` with error class `class`.
pub fn fail_as(stage: &str, class: &str) -> String {
    format!("fail/{stage}/{class}")
}

/// A DNS record of the lab's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    A(&'static str, &'static str),
    Cname(&'static str, &'static str),
}

/// Everything about the deployment that a breakage may change. `Deployment::apply` makes the
/// lab match it, touching only what differs from what is running.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// nginx's `server { ... }` blocks; `None`: no nginx.
    pub nginx: Option<String>,
    /// The HTTP application (`/`, `/health`, `/ws`): bind address and port.
    pub app: Option<(&'static str, u16)>,
    /// How long the application takes to answer each request.
    pub app_delay_ms: u64,
    /// TCP stand-ins (datastores, SSH) by bind address and port.
    pub stand_ins: BTreeSet<(&'static str, u16)>,
    /// The server's iptables INPUT and OUTPUT rules.
    pub input: Vec<String>,
    pub output: Vec<String>,
    /// The deployment's records (the providers' A records are always there).
    pub records: Vec<Record>,
    /// Providers whose stand-in serves a certificate from a CA nobody trusts.
    pub rogue: BTreeSet<&'static str>,
    /// Provider names the DNS server answers NXDOMAIN for.
    pub unlisted: BTreeSet<&'static str>,
}

impl State {
    pub fn new() -> State {
        State {
            nginx: None,
            app: None,
            app_delay_ms: 0,
            stand_ins: BTreeSet::new(),
            input: Vec::new(),
            output: Vec::new(),
            records: Vec::new(),
            rogue: BTreeSet::new(),
            unlisted: BTreeSet::new(),
        }
    }

    /// The documented firewall: loopback, then `allow` (e.g. `--dport 22 -s 198.18.0.3`), each
    /// public port, a DROP per internal port (UFW's deny), and a reset for every other port, so
    /// that whole-port scans end quickly. Only SYNs are judged, so the replies to the server's
    /// own connections pass without connection tracking.
    pub fn firewall(mut self, allow: &[&str], public: &[u16], internal: &[u16]) -> State {
        self.input = vec!["-i lo -j ACCEPT".to_owned()];
        for rule in allow {
            self.input.push(format!("-p tcp --syn {rule} -j ACCEPT"));
        }
        for port in public {
            self.input.push(format!("-p tcp --syn --dport {port} -j ACCEPT"));
        }
        for port in internal {
            self.input.push(format!("-p tcp --syn --dport {port} -j DROP"));
        }
        self.input
            .push("-p tcp --syn -j REJECT --reject-with tcp-reset".to_owned());
        self
    }

    /// Opens `port` to everyone, before any other rule (an `ufw allow PORT` added by mistake).
    pub fn open_port(&mut self, port: u16) {
        self.input
            .insert(1, format!("-p tcp --syn --dport {port} -j ACCEPT"));
    }

    /// Replaces the stand-in on `port` with one bound to `ip`.
    pub fn rebind(&mut self, port: u16, ip: &'static str) {
        self.stand_ins.retain(|(_, p)| *p != port);
        self.stand_ins.insert((ip, port));
    }
}

/// id -> `status/stage/class` of every check of one report (`skip` for skipped checks), and the
/// message of each, for diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Verdicts {
    pub code: i32,
    pub verdicts: BTreeMap<String, String>,
    pub messages: BTreeMap<String, String>,
    pub report: serde_json::Value,
}

impl Verdicts {
    fn of(code: i32, report: &serde_json::Value) -> Verdicts {
        let mut verdicts = Verdicts {
            code,
            report: report.clone(),
            ..Verdicts::default()
        };
        for check in report["checks"].as_array().expect("checks") {
            let text = |key: &str| check[key].as_str().unwrap_or("-").to_owned();
            let verdict = match text("status").as_str() {
                "skip" => "skip".to_owned(),
                status => format!("{status}/{}/{}", text("stage"), text("error")),
            };
            let message = format!("{} ({})", text("message"), check["observed"]["summary"]);
            verdicts.verdicts.insert(text("id"), verdict);
            verdicts.messages.insert(text("id"), message);
        }
        verdicts
    }

    /// What differs from `want`, one line each.
    fn differences(&self, want: &BTreeMap<String, String>) -> Vec<String> {
        let ids: BTreeSet<&String> = want.keys().chain(self.verdicts.keys()).collect();
        let mut problems = Vec::new();
        for id in ids {
            let (wanted, seen) = (want.get(id), self.verdicts.get(id));
            if wanted != seen {
                problems.push(format!(
                    "{id}: wanted {}, got {} — {}",
                    wanted.map_or("(absent)", String::as_str),
                    seen.map_or("(absent)", String::as_str),
                    self.messages.get(id).map_or("", String::as_str),
                ));
            }
        }
        let code = if want.values().any(|v| v.starts_with("fail/")) {
            1
        } else if want.values().any(|v| v.starts_with("error/")) {
            3
        } else {
            0
        };
        if self.code != code {
            problems.push(format!("exit code {} (wanted {code})", self.code));
        }
        problems
    }
}

/// How one profile is run: from which namespace each vantage runs, and with which arguments.
#[derive(Clone)]
struct Runner {
    profile: &'static str,
    namespaces: BTreeMap<&'static str, String>,
    args: Vec<String>,
    /// Vantages run from their namespace without `--vantage` (a profile that binds no check to
    /// them: naming such a vantage is a usage error, issue 10).
    unnamed: BTreeSet<&'static str>,
}

impl Runner {
    /// Runs the profile in `vantage`'s namespace with `extra` arguments, and with `--vantage
    /// VANTAGE` when `with_flag`.
    fn run(&self, lab: &Lab, vantage: &str, with_flag: bool, extra: &[&str]) -> Verdicts {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("checks")
            .join(format!("{}.toml", self.profile));
        let mut reach = lab
            .reach(&self.namespaces[vantage])
            .args([std::ffi::OsStr::new("run"), file.as_os_str()])
            .args(&self.args)
            .args(extra);
        if with_flag {
            reach = reach.args(["--vantage", vantage]);
        }
        let out = reach.output();
        // 2 is a usage error: nothing was probed, so there is nothing to compare.
        assert!(
            matches!(out.code, 0 | 1 | 3),
            "{} from {vantage} ({extra:?}): exit {}\n{}\n{}",
            self.profile,
            out.code,
            out.stdout,
            out.stderr
        );
        Verdicts::of(out.code, &out.json())
    }
}

/// One profile's deployment in its own lab, with the servers the document requires.
pub struct Deployment {
    // Servers first: fields are dropped in order, and the namespaces go last.
    nginx: Nginx,
    app: Option<App>,
    stand_ins: BTreeMap<(&'static str, u16), StandIn>,
    dns: DnsServer,
    providers: BTreeMap<&'static str, Provider>,
    current: State,
    runner: Runner,
    baselines: BTreeMap<&'static str, Verdicts>,
    failures: Vec<String>,
    started: Instant,
    pub pki: Pki,
    pub ws: Workspace,
    pub lab: Lab,
}

struct Provider {
    server: Server,
    cert: Arc<SwappableCert>,
    good: Leaf,
    rogue: Leaf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.stop();
    }
}

impl Deployment {
    /// A lab for `profile` run with `args` (its `--var`s, `--tag`s) and the stand-ins of
    /// `providers`; `None` (with the reason printed) where namespaces are unavailable.
    pub fn new(profile: &'static str, args: &[&str], providers: &[&'static str]) -> Option<Deployment> {
        let lab = Lab::create()?;
        let ws = Workspace::new();
        let pki = Pki::new();
        let ca = ws.write("ca.pem", &pki.ca_pem());
        let rogue_ca = Pki::named("reach rogue CA");
        // The providers' names resolve from the start, whatever the deployment's records are.
        let dns = crate::netns::in_namespace(&lab.prv, || {
            let zone = zone(&[], &BTreeSet::new());
            DnsServer::start_at(zone, format!("{DNS_IP}:53").parse().unwrap())
        });
        let mut served = BTreeMap::new();
        for &name in providers {
            let good = pki.leaf_for(&[name], LeafKind::Valid, KeyKind::Ecdsa);
            let rogue = rogue_ca.leaf_for(&[name], LeafKind::Valid, KeyKind::Ecdsa);
            let cert = SwappableCert::new(&good);
            let listener = crate::lab::bind_when_free(&lab.prv, provider_ip(name), 443);
            let server = Server::http_on(listener, Some(cert.server_config()));
            served.insert(
                name,
                Provider {
                    server,
                    cert,
                    good,
                    rogue,
                },
            );
        }
        let mut runner_args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        runner_args.extend(
            ["--ca-file", &ca.display().to_string(), "--retries", "0"]
                .iter()
                .map(|a| (*a).to_owned()),
        );
        runner_args.extend(["--format", "json", "--color", "never"].map(str::to_owned));
        let runner = Runner {
            profile,
            namespaces: BTreeMap::from([
                (EXTERNAL, lab.ext.clone()),
                (ADMIN, lab.adm.clone()),
                (HOST, lab.srv.clone()),
            ]),
            args: runner_args,
            unnamed: BTreeSet::new(),
        };
        Some(Deployment {
            nginx: Nginx::new(&lab.srv, &ws.path().join("nginx")),
            app: None,
            stand_ins: BTreeMap::new(),
            dns,
            providers: served,
            current: State::new(),
            runner,
            baselines: BTreeMap::new(),
            failures: Vec::new(),
            started: Instant::now(),
            pki,
            ws,
            lab,
        })
    }

    /// Runs `vantage` from its namespace without `--vantage` from now on.
    pub fn run_unnamed(&mut self, vantage: &'static str) {
        self.runner.unnamed.insert(vantage);
    }

    /// Writes `leaf` as `WS/STEM-cert.pem` and `WS/STEM-key.pem` for nginx; returns the paths.
    pub fn write_leaf(&self, leaf: &Leaf, stem: &str) -> (String, String) {
        let (cert, key) = leaf.write(self.ws.path(), stem);
        (cert.display().to_string(), key.display().to_string())
    }

    /// Makes the lab match `state`.
    pub fn apply(&mut self, state: &State) {
        let (srv, old) = (self.lab.srv.clone(), self.current.clone());
        // Stand-ins: close what goes first, so that a port can move to another address.
        self.stand_ins.retain(|key, _| state.stand_ins.contains(key));
        for &(ip, port) in &state.stand_ins {
            self.stand_ins
                .entry((ip, port))
                .or_insert_with(|| StandIn::start(&srv, ip, port));
        }
        if old.app != state.app {
            self.app = None;
            self.app = state.app.map(|(ip, port)| App::start(&srv, ip, port));
        }
        if let Some(app) = &self.app {
            app.server
                .delay_ms
                .store(state.app_delay_ms, std::sync::atomic::Ordering::SeqCst);
        }
        self.nginx.serve(state.nginx.as_deref());
        if old.input != state.input || old.output != state.output {
            self.lab.firewall(&srv, &state.input, &state.output);
        }
        if old.records != state.records || old.unlisted != state.unlisted {
            self.dns.set_zone(zone(&state.records, &state.unlisted));
        }
        for (name, provider) in &self.providers {
            let leaf = match state.rogue.contains(name) {
                true => &provider.rogue,
                false => &provider.good,
            };
            provider.cert.set(leaf);
        }
        self.current = state.clone();
    }

    fn run_all(&self, vantages: &[&'static str]) -> Vec<(&'static str, Verdicts)> {
        std::thread::scope(|scope| {
            let runs: Vec<_> = vantages
                .iter()
                .map(|&vantage| {
                    let (runner, lab) = (&self.runner, &self.lab);
                    let named = !runner.unnamed.contains(vantage);
                    (vantage, scope.spawn(move || runner.run(lab, vantage, named, &[])))
                })
                .collect();
            runs.into_iter()
                .map(|(vantage, run)| {
                    (
                        vantage,
                        run.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    )
                })
                .collect()
        })
    }

    /// Applies `state` and runs each vantage (at once, in parallel): every check the vantage
    /// selects passes. These reports are what each breakage is compared with.
    pub fn baseline(&mut self, state: &State, vantages: &[&'static str]) {
        let started = Instant::now();
        self.apply(state);
        for (vantage, verdicts) in self.run_all(vantages) {
            let bad: Vec<String> = verdicts
                .verdicts
                .iter()
                .filter(|(_, v)| *v != "skip" && !v.starts_with("pass/"))
                .map(|(id, v)| format!("{id}: {v} — {}", verdicts.messages[id]))
                .collect();
            assert!(
                bad.is_empty() && verdicts.code == 0 && verdicts.verdicts.values().any(|v| v != "skip"),
                "{} baseline from {vantage} (exit {}) does not pass:\n{}",
                self.runner.profile,
                verdicts.code,
                bad.join("\n")
            );
            self.baselines.insert(vantage, verdicts);
        }
        self.log("baseline", started);
    }

    /// One more run from `vantage`'s namespace with `extra` arguments, with `--vantage` or
    /// without it.
    pub fn run_extra(&self, vantage: &str, with_flag: bool, extra: &[&str]) -> Verdicts {
        self.runner.run(&self.lab, vantage, with_flag, extra)
    }

    /// The verdicts of `vantage`'s baseline run.
    pub fn baseline_verdicts(&self, vantage: &str) -> &Verdicts {
        &self.baselines[vantage]
    }

    /// The JSON report of `vantage`'s baseline run.
    pub fn baseline_report(&self, vantage: &str) -> &serde_json::Value {
        &self.baselines[vantage].report
    }

    /// Applies `change` to `good`, runs the vantages of `expect`, and checks that each report
    /// differs from that vantage's baseline in exactly the listed `(id, verdict)`s; then
    /// restores `good`. Problems are collected and reported together by `finish`.
    pub fn breakage(
        &mut self,
        name: &str,
        good: &State,
        change: impl FnOnce(&mut State),
        expect: &[(&'static str, &[(&str, String)])],
    ) {
        let started = Instant::now();
        let mut broken = good.clone();
        change(&mut broken);
        assert_ne!(&broken, good, "breakage `{name}` changes nothing");
        self.apply(&broken);
        let vantages: Vec<&'static str> = expect.iter().map(|(v, _)| *v).collect();
        for (vantage, seen) in self.run_all(&vantages) {
            let baseline = &self.baselines[vantage];
            let mut want = baseline.verdicts.clone();
            let changes = expect
                .iter()
                .find(|(v, _)| *v == vantage)
                .map_or(&[][..], |(_, c)| c);
            for (id, verdict) in changes {
                let id = format!("{}.{id}", self.runner.profile);
                match want.get_mut(&id) {
                    Some(old) if old != verdict => *old = verdict.clone(),
                    Some(_) => self
                        .failures
                        .push(format!("{name}: {id} is {verdict} in the baseline already")),
                    None => self
                        .failures
                        .push(format!("{name}: no check {id} in the {vantage} baseline")),
                }
            }
            for problem in seen.differences(&want) {
                self.failures
                    .push(format!("{name} (--vantage {vantage}): {problem}"));
            }
        }
        self.apply(good);
        self.log(name, started);
    }

    fn log(&self, step: &str, started: Instant) {
        eprintln!(
            "[{}] {step}: {:.1} s (total {:.1} s)",
            self.runner.profile,
            started.elapsed().as_secs_f64(),
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Fails the test with every problem found, if any.
    pub fn finish(self) {
        let problems = self.failures.join("\n");
        let profile = self.runner.profile;
        assert!(
            problems.is_empty(),
            "{profile}: the profile's verdicts are wrong:\n{problems}"
        );
    }
}

/// The zone: the providers' A records (but the `unlisted`) and the deployment's `records`. No
/// AAAA anywhere: names answer NODATA for it, so reach probes IPv4 only, as the lab has.
fn zone(records: &[Record], unlisted: &BTreeSet<&'static str>) -> Zone {
    let mut zone = Zone::new();
    for (name, ip) in PROVIDERS.iter().filter(|(name, _)| !unlisted.contains(name)) {
        zone = zone.a(name, ip);
    }
    for record in records {
        zone = match record {
            Record::A(owner, ip) => zone.a(owner, ip),
            Record::Cname(owner, target) => zone.cname(owner, target),
        };
    }
    zone
}

/// Mozilla's "intermediate" nginx TLS settings (TLS 1.2 + 1.3, ECDHE with AES-GCM or
/// ChaCha20; without a dhparam file nginx offers no DHE suite).
pub const MOZILLA_INTERMEDIATE: &str = "ssl_protocols TLSv1.2 TLSv1.3;\n\
     ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n\
     ssl_prefer_server_ciphers off;\n";

/// TLS 1.0 on top of `ciphers`, as a server still configured for old clients would have it
/// (OpenSSL 3 offers TLS 1.0 only at security level 0 and with a suite TLS 1.0 can use).
pub fn with_tls10(ciphers: &str) -> String {
    format!("ssl_protocols TLSv1 TLSv1.2 TLSv1.3;\nssl_ciphers {ciphers}:ECDHE-RSA-AES128-SHA:@SECLEVEL=0;\n")
}

/// The intermediate cipher list of [`MOZILLA_INTERMEDIATE`].
pub const INTERMEDIATE_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// An RSA and an ECDSA leaf for `names`, as nginx `ssl_certificate` lines.
pub fn certificates(d: &Deployment, names: &[&str], kind: LeafKind, stem: &str) -> String {
    let mut lines = String::new();
    for (key, suffix) in [(KeyKind::Rsa, "rsa"), (KeyKind::Ecdsa, "ec")] {
        let leaf = d.pki.leaf_for(names, kind, key);
        let (cert, key) = d.write_leaf(&leaf, &format!("{stem}-{suffix}"));
        lines.push_str(&format!("ssl_certificate {cert};\nssl_certificate_key {key};\n"));
    }
    lines
}

/// Each shipped profile and the variables it requires.
const SHIPPED: &[(&str, &[&str])] = &[
    (
        "flowsync",
        &["host=flowsync.example.test", "server_ip=198.18.0.1"],
    ),
    ("vcon-server", &["host=vcon.example.test"]),
    ("chatalot", &["host=chat.example.test"]),
    ("ai-studio", &["host=studio.example.test"]),
    ("zanuri", &["host=zanuri.example.test"]),
];

#[test]
fn the_shipped_profiles_validate_and_name_each_missing_variable() {
    for (profile, vars) in SHIPPED {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("checks")
            .join(format!("{profile}.toml"));
        let text = std::fs::read_to_string(&file).expect("a shipped profile");
        let doc: toml::Table = text.parse().expect("TOML");
        assert_eq!(doc["profile"].as_str(), Some(*profile), "{}", file.display());
        let reach = |command: &str, given: &[&str]| {
            let mut reach = crate::util::Reach::new().args([std::ffi::OsStr::new(command), file.as_os_str()]);
            for var in given {
                reach = reach.args(["--var", var]);
            }
            reach.output()
        };
        reach("validate", vars).expect_code(0);
        for missing in *vars {
            let name = missing.split('=').next().unwrap();
            let rest: Vec<&str> = vars.iter().copied().filter(|v| v != missing).collect();
            // validate checks the structure and says what a run needs; a run refuses to start.
            let out = reach("validate", &rest).expect_code(0);
            assert!(
                out.stdout.contains("structure ok; needs variables: ") && out.stdout.contains(name),
                "{profile} without {name}:\n{}",
                out.stdout
            );
            let out = reach("run", &rest).expect_code(2);
            assert!(
                out.stderr.contains(&format!("variable `{name}` has no value")),
                "{profile} without {name}:\n{}",
                out.stderr
            );
        }
    }
}
