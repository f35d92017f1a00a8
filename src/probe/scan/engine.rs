//! Drives the connects of one address's scan: a bounded number in flight, spread over a few
//! worker tasks so both the kernel work and ours use every core; adaptive timeouts; and a second
//! chance, with a doubled timeout, for every port that stayed silent before it is called
//! `filtered`. Each connect is [`crate::probe::connect`], so a port gets the same verdict
//! here as in a `tcp` check.

use super::shared::PortProgress;
use crate::outcome::{AddressProbe, ConnectError, LocalCause, PortEvidence, PortState};
use crate::probe::connect::{self, Started};
use crate::probe::rtt::{self, HostRtt, RttEstimator};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How one address is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Connects in flight at once.
    pub concurrency: usize,
    /// The longest any single connect waits (the adaptive timeout stays below it).
    pub max_timeout: Duration,
    /// Extra attempts for a port that gave no answer.
    pub retries: u32,
}

/// Connects answered at once between two yields to the runtime.
const YIELD_EVERY: u32 = 256;

/// What one port turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOutcome {
    pub port: u16,
    pub probe: AddressProbe,
    pub attempts: u32,
}

impl PortOutcome {
    fn silent(&self) -> bool {
        matches!(
            self.probe,
            AddressProbe::State {
                evidence: PortEvidence::NoResponse,
                ..
            }
        )
    }
}

/// Worker tasks per address: one per core, a few at most (the kernel does most of the work).
fn workers(concurrency: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.clamp(1, 4).min(concurrency.max(1))
}

/// The ports of one address whose probe has ended so far, in the order they ended: the scan
/// fills it as it goes, so that what it saw can be reported if the scan is cut short.
pub type Found = Arc<Mutex<Vec<PortOutcome>>>;

/// Scans `ports` of `address`, filing each port in `found` as soon as its probe ends; the
/// result holds every port once, in ascending order. `rtt` is the host's round-trip estimate,
/// shared with every other probe of that host in the run.
pub async fn scan(
    address: IpAddr,
    ports: Arc<[u16]>,
    options: EngineOptions,
    rtt: HostRtt,
    progress: Arc<PortProgress>,
    found: Found,
) -> Vec<PortOutcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let count = workers(options.concurrency);
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..count {
        // Shares that add up to the whole concurrency.
        let share = options.concurrency / count + usize::from(index < options.concurrency % count);
        let worker = Worker {
            address,
            ports: Arc::clone(&ports),
            next: Arc::clone(&next),
            rtt: rtt.clone(),
            ceiling: options.max_timeout,
            progress: Arc::clone(&progress),
            in_flight: share.max(1),
            retries: options.retries,
            found: Arc::clone(&found),
        };
        tasks.spawn(worker.run());
    }
    // A worker that panicked is a bug; its ports are reported as not probed below.
    while tasks.join_next().await.is_some() {}
    // Copied, not taken: until the attempt returns, a cut-off report may still read it.
    let mut results = found
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    results.sort_unstable_by_key(|r| r.port);
    if results.len() < ports.len() {
        let mut seen = vec![false; usize::from(u16::MAX) + 1];
        for result in &results {
            seen[usize::from(result.port)] = true;
        }
        for &port in ports.iter() {
            if !seen[usize::from(port)] {
                results.push(PortOutcome {
                    port,
                    probe: AddressProbe::Error(ConnectError {
                        cause: LocalCause::Internal,
                        source: None,
                    }),
                    attempts: 0,
                });
            }
        }
        results.sort_unstable_by_key(|r| r.port);
    }
    results
}

struct Worker {
    address: IpAddr,
    ports: Arc<[u16]>,
    next: Arc<AtomicUsize>,
    rtt: HostRtt,
    /// The longest any connect waits.
    ceiling: Duration,
    progress: Arc<PortProgress>,
    in_flight: usize,
    retries: u32,
    found: Found,
}

/// A connect to make: its port and the attempts already made.
struct Job {
    port: u16,
    attempts: u32,
}

impl Worker {
    fn estimate(&self) -> RttEstimator {
        self.rtt.snapshot().estimate
    }

    fn next_job(&self, retries: &mut VecDeque<Job>) -> Option<Job> {
        if let Some(job) = retries.pop_front() {
            return Some(job);
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        self.ports.get(index).map(|&port| Job { port, attempts: 0 })
    }

    async fn run(self) {
        let mut retries = VecDeque::new();
        let mut in_flight = FuturesUnordered::new();
        // Sockets whose connect drew a RST, ready for the next port (see `connect_reusing`).
        let mut spares: Vec<socket2::Socket> = Vec::new();
        let mut answered_at_once = 0_u32;
        loop {
            while in_flight.len() < self.in_flight {
                let Some(job) = self.next_job(&mut retries) else {
                    break;
                };
                let target = SocketAddr::new(self.address, job.port);
                // A socket that cannot be made here is made (and its failure classified) by
                // start_connect itself.
                let spare = spares.pop().or_else(|| connect::reusable_socket(target).ok());
                let started = Instant::now();
                match connect::start_connect(target, spare) {
                    Started::Connected(socket) => {
                        let probe = connect::established(&socket);
                        self.record(job, probe, started.elapsed(), &mut retries);
                    }
                    Started::Answered { probe, spare } => {
                        spares.extend(spare);
                        self.record(job, probe, started.elapsed(), &mut retries);
                        // Answers that come at once never suspend this task: let the runtime
                        // run timers and other tasks now and then.
                        answered_at_once += 1;
                        if answered_at_once.is_multiple_of(YIELD_EVERY) {
                            self.collect_ready(&mut in_flight, &mut retries);
                            tokio::task::yield_now().await;
                        }
                    }
                    Started::Waiting(socket) => {
                        let timeout = {
                            let estimate = self.estimate();
                            // Before the host's first answer: nmap's initial timeout, then the ceiling.
                            if job.attempts == 0 {
                                estimate
                                    .timeout(self.ceiling)
                                    .unwrap_or(rtt::INITIAL.min(self.ceiling))
                            } else {
                                estimate.retry_timeout(self.ceiling).unwrap_or(self.ceiling)
                            }
                        };
                        in_flight.push(async move {
                            let probe = connect::wait_for_answer(socket, timeout).await;
                            (job, probe, started.elapsed())
                        });
                        // Polled now, its timeout starts now rather than when this loop next
                        // waits, which may be after every other port was started.
                        self.collect_ready(&mut in_flight, &mut retries);
                    }
                }
            }
            // Empty only when no port is left to start either: retries are queued by `record`,
            // and only for connects that were in flight.
            let Some((job, probe, elapsed)) = in_flight.next().await else {
                break;
            };
            self.record(job, probe, elapsed, &mut retries);
        }
    }

    /// Polls the connects in flight once without waiting, filing those that have an answer.
    fn collect_ready<F>(&self, in_flight: &mut FuturesUnordered<F>, retries: &mut VecDeque<Job>)
    where
        F: std::future::Future<Output = (Job, AddressProbe, Duration)>,
    {
        while let Some(Some((job, probe, elapsed))) = in_flight.next().now_or_never() {
            self.record(job, probe, elapsed, retries);
        }
    }

    /// Files one connect's answer: feeds the RTT estimate, queues a silent port for its retry,
    /// or keeps the result.
    fn record(&self, job: Job, probe: AddressProbe, elapsed: Duration, retries: &mut VecDeque<Job>) {
        let outcome = PortOutcome {
            port: job.port,
            probe,
            attempts: job.attempts + 1,
        };
        if matches!(outcome.probe, AddressProbe::State { evidence, .. } if evidence.measures_rtt()) {
            self.rtt.observe(elapsed);
        }
        if outcome.silent() && job.attempts < self.retries {
            retries.push_back(Job {
                port: job.port,
                attempts: outcome.attempts,
            });
            return;
        }
        let open = matches!(
            outcome.probe,
            AddressProbe::State {
                state: PortState::Open,
                ..
            }
        );
        self.progress.port_done(open);
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_ports_are_told_apart_and_every_port_is_reported_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ports: Arc<[u16]> = vec![closed, open].into();
        let progress = Arc::new(PortProgress::default());
        let options = EngineOptions {
            concurrency: 8,
            max_timeout: Duration::from_secs(2),
            retries: 1,
        };
        let found = scan(
            "127.0.0.1".parse().unwrap(),
            ports,
            options,
            HostRtt::unshared(),
            Arc::clone(&progress),
            Found::default(),
        )
        .await;
        let mut expected = vec![
            (open, PortState::Open, PortEvidence::SynAck),
            (closed, PortState::Closed, PortEvidence::Reset),
        ];
        expected.sort_unstable_by_key(|e| e.0);
        let seen: Vec<_> = found
            .iter()
            .map(|r| match r.probe {
                AddressProbe::State { state, evidence } => (r.port, state, evidence),
                AddressProbe::Error(_) => panic!("{r:?}"),
            })
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(progress.snapshot(), (2, 0, 1));
    }

    #[tokio::test]
    async fn a_silent_port_is_tried_again_before_it_is_called_filtered() {
        // A listener whose accept queue is full drops new SYNs, like a DROP rule.
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        socket.listen(0).unwrap();
        let address = socket.local_addr().unwrap().as_socket().unwrap();
        let mut held = Vec::new();
        while let Ok(stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            held.push(stream);
            assert!(held.len() < 16, "the accept queue never filled");
        }
        let options = EngineOptions {
            concurrency: 4,
            max_timeout: Duration::from_millis(200),
            retries: 2,
        };
        let found = scan(
            address.ip(),
            vec![address.port()].into(),
            options,
            HostRtt::unshared(),
            Arc::default(),
            Found::default(),
        )
        .await;
        assert_eq!(
            found,
            [PortOutcome {
                port: address.port(),
                probe: AddressProbe::State {
                    state: PortState::Filtered,
                    evidence: PortEvidence::NoResponse
                },
                attempts: 3,
            }]
        );
    }
}
