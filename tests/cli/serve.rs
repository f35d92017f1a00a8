//! `reach serve`, the Prometheus exporter, driven over HTTP as Prometheus drives it: /probe
//! against loopback services, /metrics of scheduled runs, 400s with their reasons, the refusal
//! to listen off loopback without --allow-target, SIGHUP reloads, SIGTERM with a probe in
//! flight, the scrape-timeout header, and a real Prometheus server with blackbox_exporter's
//! relabeling recipe. The bodies go through `promtool check metrics`.

use crate::consumers::{self, tool};
use crate::util::{open_port, read_request_head, silent_server, Workspace};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen within a second or two.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `reach serve`, killed on drop. Its stderr goes to a file, so that the test reads
/// the bound address and later messages while it runs. (tests/cli/serve_web.rs uses it too.)
pub(crate) struct Exporter {
    child: Child,
    stderr: PathBuf,
    pub(crate) address: SocketAddr,
}

impl Exporter {
    /// Starts `reach serve --listen 127.0.0.1:0 ARGS...` in the workspace and waits until it
    /// says where it listens (over http or https).
    pub(crate) fn start(ws: &Workspace, args: &[&str]) -> Exporter {
        let stderr = ws.path().join(format!("serve-{}.stderr", unique()));
        let mut command = ws.reach().command;
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut child = command.spawn().expect("start reach serve");
        let begun = Instant::now();
        loop {
            let text = std::fs::read_to_string(&stderr).unwrap_or_default();
            let url = text.split("listening on ").nth(1);
            if let Some(rest) = url.and_then(|url| url.split_once("://")).map(|(_, rest)| rest) {
                let address = rest.split('/').next().unwrap().parse().expect("bound address");
                return Exporter {
                    child,
                    stderr,
                    address,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("reach serve exited with {status} before listening:\n{text}");
            }
            assert!(begun.elapsed() < PATIENCE, "reach serve did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.address, path, &[])
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits until stderr mentions `needle` `times` times.
    pub(crate) fn wait_for(&self, needle: &str, times: usize) {
        let begun = Instant::now();
        while self.stderr().matches(needle).count() < times {
            assert!(
                begun.elapsed() < PATIENCE,
                "never saw {needle:?} x{times}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exporter's URL for `path` under the name its test certificate carries.
    pub(crate) fn https(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.address.port())
    }

    /// Polls /metrics until `done` accepts it; returns that body.
    fn metrics_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let begun = Instant::now();
        loop {
            let (status, body) = self.get("/metrics");
            assert_eq!(status, 200, "{body}");
            if done(&body) {
                return body;
            }
            assert!(
                begun.elapsed() < PATIENCE,
                "/metrics never showed {what}:\n{body}\n--- stderr\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the process to end; its exit code.
    fn wait(&mut self) -> i32 {
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(
                begun.elapsed() < PATIENCE,
                "reach serve did not exit:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One HTTP/1.1 GET; the status and the body.
fn http_get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the exporter");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer in time");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// The value of the one sample of `metric` whose labels contain every `label="value"` given.
fn sample(body: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            name == metric && labels.iter().all(|l| line.contains(l))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn promtool_accepts(body: &str) {
    if let Some(promtool) = tool("promtool") {
        let verdict = consumers::run(&promtool, &["check", "metrics"], body);
        assert!(
            verdict.success && verdict.stdout.is_empty() && verdict.stderr.is_empty(),
            "promtool: {}{}\n{body}",
            verdict.stdout,
            verdict.stderr
        );
    }
}

/// A module that needs its target: a tcp check of `{host}` on `port`.
fn tcp_module(profile: &str, port: u16) -> String {
    format!(
        "profile = \"{profile}\"\n[vars]\nhost = {{ description = \"the host\" }}\n\
         [[check]]\nid = \"port\"\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {port}\nexpect = \"open\"\ntimeout = \"2s\"\nretries = 0\n"
    )
}

/// A module that runs on its own: a tcp check of 127.0.0.1 on `port`.
fn scheduled_tcp_module(profile: &str, port: u16) -> String {
    format!(
        "profile = \"{profile}\"\n[vars]\nhost = \"127.0.0.1\"\n\
         [[check]]\nid = \"port\"\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {port}\nexpect = \"open\"\ntimeout = \"2s\"\nretries = 0\n"
    )
}

#[test]
fn serve_probe_and_metrics_pass_promtool_and_report_the_run() {
    let ws = Workspace::new();
    let (_listener, port) = open_port();
    ws.write("web.toml", &tcp_module("web", port));
    ws.write("cron.toml", &scheduled_tcp_module("cron", port));
    let exporter = Exporter::start(&ws, &["--every", "1m", "web.toml", "cron.toml"]);

    let (status, probe) = exporter.get("/probe?module=web&target=127.0.0.1");
    assert_eq!(status, 200, "{probe}");
    assert_eq!(sample(&probe, "reach_probe_success", &[]), Some(1.0), "{probe}");
    assert!(
        sample(&probe, "reach_probe_duration_seconds", &[]).is_some(),
        "{probe}"
    );
    let check = [
        r#"profile="web""#,
        r#"id="web.port""#,
        &format!(r#"target="127.0.0.1:{port}""#),
    ];
    assert_eq!(
        sample(&probe, "reach_check_success", &check),
        Some(1.0),
        "{probe}"
    );
    promtool_accepts(&probe);

    let metrics = exporter.metrics_until("the first scheduled run", |body| {
        sample(
            body,
            "reach_exporter_runs_total",
            &[r#"profile="cron""#, r#"result="success""#],
        ) == Some(1.0)
    });
    assert_eq!(
        sample(
            &metrics,
            "reach_check_success",
            &[r#"profile="cron""#, r#"id="cron.port""#]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "reach_build_info", &[r#"version=""#]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "reach_exporter_config_last_reload_successful", &[]),
        Some(1.0)
    );
    // The probe-only module has no scheduled series.
    assert!(!metrics.contains(r#"profile="web""#), "{metrics}");
    promtool_accepts(&metrics);

    let (status, json) = exporter.get("/report/cron.json");
    assert_eq!(status, 200, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    crate::util::assert_valid_report(&report);
    assert_eq!(report["summary"]["pass"], 1, "{report:#}");
    assert_eq!(exporter.get("/report/web.json").0, 404);
    assert_eq!(exporter.get("/-/healthy").0, 200);
    assert_eq!(exporter.get("/-/ready").0, 200);
}

#[test]
fn serve_answers_400_with_the_reason_for_requests_it_cannot_run() {
    let ws = Workspace::new();
    let (_listener, port) = open_port();
    ws.write("web.toml", &tcp_module("web", port));
    ws.write(
        "needs.toml",
        "profile = \"needs\"\n[vars]\nhost = { description = \"the host\" }\nport = { description = \"the port\" }\n\
         [[check]]\nid = \"port\"\nkind = \"tcp\"\nhost = \"{host}\"\nport = \"{port}\"\nexpect = \"open\"\n",
    );
    let exporter = Exporter::start(
        &ws,
        &[
            "--allow-target",
            "127.0.0.0/8",
            "--allow-target",
            "*.test",
            "web.toml",
            "needs.toml",
        ],
    );
    let cases = [
        ("/probe?module=nope&target=127.0.0.1", "unknown module `nope`"),
        (
            "/probe?module=web&target=10.1.2.3",
            "target `10.1.2.3` is not allowed",
        ),
        ("/probe?module=web&target=elsewhere.example", "is not allowed"),
        ("/probe?module=needs&target=127.0.0.1", "var.port"),
        (
            "/probe?module=needs&target=127.0.0.1&var.port=10.9.9.9",
            "var.port names `10.9.9.9`",
        ),
        ("/probe?module=web", "missing parameter `target`"),
        ("/probe?module=web&target=127.0.0.1&tag=nope", "tagged `nope`"),
    ];
    for (path, reason) in cases {
        let (status, body) = exporter.get(path);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body.contains(reason),
            "{path}: the answer should say `{reason}`:\n{body}"
        );
    }
    let (status, body) = exporter.get(&format!("/probe?module=needs&target=127.0.0.1&var.port={port}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "reach_probe_success", &[]), Some(1.0), "{body}");
}

#[test]
fn serve_refuses_to_start_off_loopback_without_allow_target_and_on_a_bad_file() {
    let ws = Workspace::new();
    ws.write("web.toml", &tcp_module("web", 9));
    let out = ws
        .reach()
        .args(["serve", "--listen", "0.0.0.0:9917", "web.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("--allow-target"), "{}", out.stderr);
    ws.write("bad.toml", "profile = \"bad\"\n[[check]]\nid = \"x\"\nkind = \"tcp\"\nhost = \"a.test\"\nport = 99999\nexpect = \"open\"\n");
    let out = ws
        .reach()
        .args(["serve", "--listen", "127.0.0.1:0", "web.toml", "bad.toml"])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("bad.toml:6"), "{}", out.stderr);
    assert!(!out.stderr.contains("listening"), "{}", out.stderr);
}

/// An HTTP server that answers every request after `delay`, and records when each request
/// arrived, when its answer began, and the most requests it ever held at once.
struct SlowServer {
    port: u16,
    log: Arc<Mutex<SlowLog>>,
}

#[derive(Default)]
struct SlowLog {
    requests: Vec<(Instant, Instant)>,
    arrived: usize,
    in_flight: usize,
    most: usize,
}

impl SlowServer {
    fn start(delay: Duration) -> SlowServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(SlowLog::default()));
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let log = Arc::clone(&shared);
                std::thread::spawn(move || {
                    if !read_request_head(&mut stream) {
                        return;
                    }
                    let arrived = Instant::now();
                    {
                        let mut log = log.lock().unwrap();
                        log.arrived += 1;
                        log.in_flight += 1;
                        log.most = log.most.max(log.in_flight);
                    }
                    std::thread::sleep(delay);
                    {
                        let mut log = log.lock().unwrap();
                        log.in_flight -= 1;
                        log.requests.push((arrived, Instant::now()));
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                });
            }
        });
        SlowServer { port, log }
    }

    fn arrived(&self) -> usize {
        self.log.lock().unwrap().arrived
    }

    fn wait_for_requests(&self, n: usize) {
        let begun = Instant::now();
        while self.arrived() < n {
            assert!(
                begun.elapsed() < PATIENCE,
                "the slow server saw {} requests, not {n}",
                self.arrived()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn http_module(profile: &str, port: u16, host_default: Option<&str>) -> String {
    let host = match host_default {
        Some(value) => format!("\"{value}\""),
        None => "{ description = \"the host\" }".to_owned(),
    };
    format!(
        "profile = \"{profile}\"\n[vars]\nhost = {host}\n\
         [[check]]\nid = \"slow\"\nkind = \"http\"\nurl = \"http://{{host}}:{port}/\"\nexpect.status = 200\n\
         timeout = \"30s\"\nretries = 0\n"
    )
}

#[test]
fn scheduled_runs_never_overlap_and_metrics_show_the_latest_result() {
    let ws = Workspace::new();
    // Each run takes longer than the period: a run that did not wait for the previous one would
    // put two requests in the server at once.
    let slow = SlowServer::start(Duration::from_millis(1500));
    ws.write("slow.toml", &http_module("slow", slow.port, Some("127.0.0.1")));
    let (listener, port) = open_port();
    ws.write("flip.toml", &scheduled_tcp_module("flip", port));
    let exporter = Exporter::start(&ws, &["--every", "1s", "slow.toml", "flip.toml"]);

    let flip = [r#"profile="flip""#, r#"id="flip.port""#];
    exporter.metrics_until("the open port", |body| {
        sample(body, "reach_check_success", &flip) == Some(1.0)
    });
    drop(listener);
    let metrics = exporter.metrics_until("the closed port", |body| {
        sample(body, "reach_check_success", &flip) == Some(0.0)
    });
    assert_eq!(
        sample(
            &metrics,
            "reach_port_state",
            &[flip[0], flip[1], r#"state="closed""#]
        ),
        Some(1.0),
        "{metrics}"
    );

    slow.wait_for_requests(4);
    let metrics = exporter.metrics_until("three finished slow runs", |body| {
        sample(
            body,
            "reach_exporter_runs_total",
            &[r#"profile="slow""#, r#"result="success""#],
        )
        .is_some_and(|n| n >= 3.0)
    });
    promtool_accepts(&metrics);
    let log = slow.log.lock().unwrap();
    assert_eq!(log.most, 1, "two scheduled runs of one profile overlapped");
    let mut requests = log.requests.clone();
    requests.sort();
    for pair in requests.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "a run started before the previous one had its answer"
        );
    }
}

#[test]
fn sighup_with_a_broken_file_keeps_the_old_set_and_a_good_one_is_taken() {
    let ws = Workspace::new();
    let (_listener, port) = open_port();
    let dir = ws.path().join("checks");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("alpha.toml"), tcp_module("alpha", port)).unwrap();
    let exporter = Exporter::start(&ws, &["checks"]);
    let probe = |module: &str| exporter.get(&format!("/probe?module={module}&target=127.0.0.1"));
    assert_eq!(probe("alpha").0, 200);

    std::fs::write(
        dir.join("beta.toml"),
        "profile = \"beta\"\n[[check]]\nid = \"x\"\nkind = \"nope\"\n",
    )
    .unwrap();
    exporter.signal("HUP");
    exporter.metrics_until("the failed reload", |body| {
        sample(body, "reach_exporter_config_last_reload_successful", &[]) == Some(0.0)
    });
    assert!(
        exporter
            .stderr()
            .contains(&format!("{}:", Path::new("checks").join("beta.toml").display())),
        "the broken file is named:\n{}",
        exporter.stderr()
    );
    let (status, body) = probe("alpha");
    assert_eq!(status, 200, "the old set stays in force: {body}");
    assert_eq!(probe("beta").0, 400);

    std::fs::write(dir.join("beta.toml"), tcp_module("beta", port)).unwrap();
    exporter.signal("HUP");
    exporter.metrics_until("the good reload", |body| {
        sample(body, "reach_exporter_config_last_reload_successful", &[]) == Some(1.0)
    });
    let (status, body) = probe("beta");
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "reach_probe_success", &[]), Some(1.0), "{body}");
}

#[test]
fn sigterm_lets_the_probe_in_flight_answer_and_exits_0() {
    let ws = Workspace::new();
    let slow = SlowServer::start(Duration::from_millis(1500));
    ws.write("slow.toml", &http_module("slow", slow.port, None));
    let mut exporter = Exporter::start(&ws, &["slow.toml"]);
    let address = exporter.address;
    let probe = std::thread::spawn(move || http_get(address, "/probe?module=slow&target=127.0.0.1", &[]));
    slow.wait_for_requests(1);
    exporter.signal("TERM");
    let (status, body) = probe.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "reach_probe_success", &[]), Some(1.0), "{body}");
    assert_eq!(exporter.wait(), 0, "{}", exporter.stderr());
}

#[test]
fn the_scrape_timeout_header_bounds_a_probe_of_a_silent_target() {
    let ws = Workspace::new();
    let port = silent_server();
    // Left alone, the check would wait 30 s for an answer that never comes.
    ws.write("silent.toml", &http_module("silent", port, None));
    let exporter = Exporter::start(&ws, &["silent.toml"]);
    let (status, body) = http_get(
        exporter.address,
        "/probe?module=silent&target=127.0.0.1",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1.5")],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "reach_probe_success", &[]), Some(0.0), "{body}");
    assert_ne!(
        sample(
            &body,
            "reach_check_status",
            &[r#"id="silent.slow""#, r#"status="pass""#]
        ),
        Some(1.0),
        "{body}"
    );
    promtool_accepts(&body);
}

/// A Prometheus server on loopback with one job: blackbox_exporter's relabeling recipe from
/// deploy/prometheus/prometheus.yml, pointed at the exporter. Killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_probe_with_the_relabeling_recipe() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let ws = Workspace::new();
    let (_listener, port) = open_port();
    ws.write("web.toml", &tcp_module("web", port));
    let exporter = Exporter::start(&ws, &["web.toml"]);
    // The job of deploy/prometheus/prometheus.yml, with its relabel_configs unchanged.
    let deploy = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/prometheus.yml"
    ))
    .unwrap();
    let recipe = deploy
        .split("relabel_configs: &probe_relabel\n")
        .nth(1)
        .expect("the relabeling recipe in deploy/prometheus/prometheus.yml")
        .split("\n\n")
        .next()
        .unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n  - job_name: reach-probe-web\n    metrics_path: /probe\n\
         \x20   params:\n      module: [web]\n    static_configs:\n      - targets: ['127.0.0.1']\n\
         \x20       labels:\n          location: test\n          __reach_exporter: '{}'\n\
         \x20   relabel_configs:\n{recipe}\n",
        exporter.address
    );
    let config_path = ws.write("prometheus.yml", &config);
    let web_port = open_port().1;
    let child = Command::new(&prometheus)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            ws.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(ws.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    let server = Prometheus {
        child,
        port: web_port,
    };
    let api: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let begun = Instant::now();
    loop {
        let answer = TcpStream::connect(api)
            .ok()
            .map(|_| http_get(api, "/api/v1/query?query=reach_probe_success", &[]));
        if let Some((200, body)) = &answer {
            let json: serde_json::Value = serde_json::from_str(body).expect("the query API answers JSON");
            let found = json["data"]["result"].as_array().and_then(|series| {
                series.iter().find(|s| {
                    s["metric"]["instance"] == "127.0.0.1"
                        && s["metric"]["module"] == "web"
                        && s["metric"]["location"] == "test"
                        && s["metric"]["job"] == "reach-probe-web"
                })
            });
            if let Some(series) = found {
                assert_eq!(series["value"][1], "1", "{series}");
                return;
            }
        }
        assert!(
            begun.elapsed() < PATIENCE,
            "Prometheus never stored reach_probe_success: {answer:?}\n--- prometheus\n{}\n--- reach\n{}",
            std::fs::read_to_string(ws.path().join("prometheus.log")).unwrap_or_default(),
            exporter.stderr()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn probes_over_the_client_limit_get_429_and_over_the_server_cap_503() {
    let ws = Workspace::new();
    let slow = SlowServer::start(Duration::from_millis(1500));
    ws.write("slow.toml", &http_module("slow", slow.port, None));
    for (flags, status, reason) in [
        (
            ["--max-probes-per-client", "1", "--max-probes", "8"],
            429,
            "--max-probes-per-client",
        ),
        (
            ["--max-probes-per-client", "8", "--max-probes", "1"],
            503,
            "--max-probes",
        ),
    ] {
        let mut args = flags.to_vec();
        args.push("slow.toml");
        let exporter = Exporter::start(&ws, &args);
        let address = exporter.address;
        let before = slow.arrived();
        let first = std::thread::spawn(move || http_get(address, "/probe?module=slow&target=127.0.0.1", &[]));
        slow.wait_for_requests(before + 1);
        let (refused, body) = exporter.get("/probe?module=slow&target=127.0.0.1");
        assert_eq!(refused, status, "{body}");
        assert!(body.contains(reason), "the answer names the limit: {body}");
        let (first, body) = first.join().unwrap();
        assert_eq!(first, 200, "{body}");
        // The place is free again once the first probe has answered.
        assert_eq!(exporter.get("/probe?module=slow&target=127.0.0.1").0, 200);
    }
}
