//! The load side of `bench/serve.sh`, in two modes, loopback only.
//!
//! `scrape_load targets TCP HTTP` serves the probed deployment: TCP listeners that accept and
//! close, and HTTP/1.1 keep-alive servers answering `200 ok`. It prints `tcp PORT...` and
//! `http PORT...` lines, then serves until its stdin closes.
//!
//! `scrape_load load CONCURRENCY SECONDS URL...` plays CONCURRENCY Prometheus scrapers for
//! SECONDS (after one second of warm-up that is not counted). A scraper's *round* requests every
//! URL at once, each over its own keep-alive connection (as Prometheus scrapes each target over
//! its own), and ends when all have answered: one URL for reach (one /probe runs the 10 checks),
//! ten for blackbox_exporter (one /probe per check). A round counts as good only if every answer
//! is a 200 whose body has `probe_success 1` (blackbox) or `reach_probe_success 1` (reach): a
//! fast failure is not a result. Prints one JSON line: rounds, rounds/s, latency quantiles of a
//! round, failures, and the CPU time this generator used (to show it was not the bottleneck).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.first().map(String::as_str) {
        Some("targets") if args.len() == 3 => runtime.block_on(targets(number(&args[1]), number(&args[2]))),
        Some("load") if args.len() >= 4 => runtime.block_on(load(
            number(&args[1]),
            number(&args[2]) as u64,
            args[3..].to_vec(),
        )),
        _ => {
            eprintln!("usage: scrape_load targets TCP HTTP | scrape_load load CONCURRENCY SECONDS URL...");
            std::process::exit(2);
        }
    }
}

fn number(text: &str) -> usize {
    text.parse().unwrap_or_else(|_| {
        eprintln!("scrape_load: not a number: {text}");
        std::process::exit(2)
    })
}

async fn targets(tcp: usize, http: usize) {
    let mut tcp_ports = Vec::new();
    for _ in 0..tcp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        tcp_ports.push(listener.local_addr().expect("address").port().to_string());
        tokio::spawn(async move {
            // Accept and close: the probe only needs the handshake, and an unaccepted backlog
            // would fill up under load and turn later connects into timeouts.
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
    }
    let mut http_ports = Vec::new();
    for _ in 0..http {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        http_ports.push(listener.local_addr().expect("address").port().to_string());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
    println!("tcp {}", tcp_ports.join(" "));
    println!("http {}", http_ports.join(" "));
    // Serve until stdin closes (the bench script holds it open).
    tokio::task::spawn_blocking(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
    })
    .await
    .expect("stdin reader");
}

/// One keep-alive connection to one URL, reopened when the server closes it.
struct Connection {
    authority: String,
    path: String,
    sender: Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>>,
}

impl Connection {
    fn new(url: &str) -> Connection {
        let rest = url
            .strip_prefix("http://")
            .expect("scrape_load speaks http:// only");
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        Connection {
            authority: authority.to_owned(),
            path: path.to_owned(),
            sender: None,
        }
    }

    /// One GET; true when it answered 200 with a successful probe in its body.
    async fn scrape(&mut self) -> bool {
        for _ in 0..2 {
            if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
                let Ok(stream) = TcpStream::connect(&self.authority).await else {
                    return false;
                };
                let _ = stream.set_nodelay(true);
                let Ok((sender, connection)) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                else {
                    return false;
                };
                tokio::spawn(connection);
                self.sender = Some(sender);
            }
            let sender = self.sender.as_mut().expect("connected above");
            if sender.ready().await.is_err() {
                self.sender = None;
                continue;
            }
            let request = Request::get(self.path.as_str())
                .header(hyper::header::HOST, self.authority.as_str())
                .body(Empty::new())
                .expect("request");
            let Ok(response) = sender.send_request(request).await else {
                // The server closed the kept-alive connection between rounds: reconnect once.
                self.sender = None;
                continue;
            };
            let ok = response.status() == hyper::StatusCode::OK;
            let Ok(body) = response.into_body().collect().await else {
                self.sender = None;
                return false;
            };
            let body = body.to_bytes();
            return ok && probe_succeeded(&body);
        }
        false
    }
}

fn probe_succeeded(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .lines()
        .any(|line| line == "probe_success 1" || line == "reach_probe_success 1")
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failed: usize,
}

async fn load(concurrency: usize, seconds: u64, urls: Vec<String>) {
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let counting_from = start + warmup;
    let end = counting_from + Duration::from_secs(seconds);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = cpu_seconds();
    let mut scrapers = Vec::new();
    for _ in 0..concurrency {
        let urls = urls.clone();
        let tally = Arc::clone(&tally);
        let stop = Arc::clone(&stop);
        scrapers.push(tokio::spawn(async move {
            let mut connections: Vec<Connection> = urls.iter().map(|u| Connection::new(u)).collect();
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                let answers =
                    futures_util::future::join_all(connections.iter_mut().map(Connection::scrape)).await;
                let finished = Instant::now();
                // Only rounds that started and ended inside the measured window count.
                if began >= counting_from && finished <= end {
                    let mut tally = tally.lock().expect("tally");
                    if answers.iter().all(|ok| *ok) {
                        tally.latencies.push(finished - began);
                    } else {
                        tally.failed += 1;
                    }
                }
            }
        }));
    }
    tokio::time::sleep_until(end.into()).await;
    stop.store(true, Ordering::Relaxed);
    for scraper in scrapers {
        let _ = scraper.await;
    }
    let cpu = cpu_seconds() - cpu_before;
    let mut tally = std::mem::take(&mut *tally.lock().expect("tally"));
    tally.latencies.sort();
    let quantile = |q: f64| -> f64 {
        if tally.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((tally.latencies.len() as f64 * q).ceil() as usize).clamp(1, tally.latencies.len()) - 1;
        tally.latencies[index].as_secs_f64() * 1000.0
    };
    let rounds = tally.latencies.len();
    println!(
        "{{\"rounds\": {rounds}, \"rounds_per_s\": {:.1}, \"p50_ms\": {:.2}, \"p90_ms\": {:.2}, \"p99_ms\": {:.2}, \
         \"max_ms\": {:.2}, \"failed_rounds\": {}, \"requests_per_round\": {}, \"client_cpu_s\": {:.2}}}",
        rounds as f64 / seconds as f64,
        quantile(0.50),
        quantile(0.90),
        quantile(0.99),
        quantile(1.0),
        tally.failed,
        urls.len(),
        cpu,
    );
}

/// User + system CPU time of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    seconds(usage.user_time()) + seconds(usage.system_time())
}
