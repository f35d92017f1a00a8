//! Drives the connects of every scan of a run at once: one budget of connects in flight spread
//! over all the addresses being scanned, handed out round-robin so that no address is scanned
//! after another and none is flooded (each has an in-flight cap); a few worker tasks so both the
//! kernel work and ours use every core; adaptive timeouts per address; and a second chance,
//! with a doubled timeout, for every port that stayed silent before it is called `filtered`.
//! Each connect is [`crate::probe::connect`], so a port gets the same verdict here as in a `tcp`
//! check.
//!
//! Connects are made lazily: an address is its port list and a cursor into it, so a run holds
//! only the connects in flight, whatever the number of addresses times ports.
//!
//! An address that has not answered yet borrows the timeout learnt from the others (nmap does
//! the same), so that silent addresses cost a fraction of a second per port instead of a
//! second. That timeout may be too short for an address that is alive but slower than its
//! neighbours, so a port is only called filtered after a wait that was not borrowed: the first
//! [`CONFIRM_PORTS`] silences of an address that never answered are confirmed by waits of the
//! address's own (the uninformed first timeout, [`confirmation_wait`]), begun as soon as each
//! borrowed wait ends, alongside the borrowed retries of its other ports, which wait for that
//! confirmation; if it draws an answer, they are all probed again with the address's own
//! timeout. A silent address thus costs one uninformed wait, in parallel with everything else.

use super::progress::PortProgress;
use crate::outcome::{AddressProbe, ConnectError, LocalCause, PortEvidence, PortState};
use crate::probe::connect::{self, Started};
use crate::probe::rtt::{self, HostRtt, RttEstimator};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// How one address is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// The most connects in flight to this address (the engine's fair share may be lower).
    pub concurrency: usize,
    /// The longest any single connect waits (the adaptive timeout stays below it).
    pub max_timeout: Duration,
    /// Extra attempts for a port that gave no answer.
    pub retries: u32,
}

/// Connects answered at once between two yields to the runtime.
const YIELD_EVERY: u32 = 256;

/// While this many addresses or more are being scanned, each may hold at most this fraction of
/// the budget: enough for a firewalled address to keep many ports waiting, while the others
/// still progress.
pub const HOSTS_SHARING: usize = 4;

/// Connects an address that let one go unanswered and has answered none may start in one turn
/// (the others start one). Nobody answers them to be flooded, and each only waits: started
/// early, those waits run while the answering addresses keep the cores busy, instead of being
/// spread one per round over the whole scan of a subnet and ending after it.
pub const SILENT_TURN: usize = 16;

/// Silences of a never-answering address that must come from waits of its own (not borrowed)
/// before its other silent ports are called filtered.
pub const CONFIRM_PORTS: usize = 8;

/// The wait of a confirmation: the timeout of an address that nothing was measured on (nmap's
/// initial round-trip timeout, 1 s), within the scan's ceiling. Its SYN went out after the
/// borrowed ones of the same address, so a live address has had this long at least to answer
/// any of them; one whose round trip is longer than that is beyond what a scan can wait for
/// port by port, and its silence is reported as such.
fn confirmation_wait(options: &EngineOptions) -> Duration {
    rtt::INITIAL.min(options.max_timeout)
}

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

/// The ports of one address whose probe has ended so far, in the order they ended: the scan
/// fills it as it goes, so that what it saw can be reported if the scan is cut short.
pub type Found = Arc<Mutex<Vec<PortOutcome>>>;

/// One address's scan as the engine ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRun {
    /// Every port once, in ascending order.
    pub ports: Vec<PortOutcome>,
    /// When its first connect started, since the engine was made (the run began).
    pub started: Duration,
    /// From its first connect's start to its last port's end.
    pub elapsed: Duration,
}

/// The connect scheduler of a run: every scan registers its addresses here.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Wakes idle workers: an address was registered, or the last one finished.
    wake: Notify,
    /// Connects in flight across every address.
    budget: usize,
    workers: usize,
    epoch: Instant,
}

impl Engine {
    /// An engine with `budget` connects in flight across all addresses.
    pub fn new(budget: usize) -> Self {
        let budget = budget.max(1);
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Engine {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(budget)),
                wake: Notify::new(),
                budget,
                // One per core, a few at most (the kernel does most of the work).
                workers: cores.clamp(1, 4).min(budget),
                epoch: Instant::now(),
            }),
        }
    }

    /// The most connects in flight at once.
    pub fn budget(&self) -> usize {
        self.inner.budget
    }

    /// Scans `ports` of `address` alongside every other address registered, filing each port in
    /// `found` as soon as its probe ends.
    pub async fn scan(
        &self,
        address: IpAddr,
        ports: Arc<[u16]>,
        options: EngineOptions,
        rtt: HostRtt,
        progress: Arc<PortProgress>,
        found: Found,
    ) -> AddressRun {
        let (done, finished) = oneshot::channel();
        let registration = {
            let mut state = self.inner.lock();
            let id = state.register(Host::new(
                address,
                Arc::clone(&ports),
                options,
                rtt,
                progress,
                Arc::clone(&found),
                done,
            ));
            let spawn = self.inner.workers.saturating_sub(state.workers);
            state.workers += spawn;
            for _ in 0..spawn {
                tokio::spawn(Arc::clone(&self.inner).work());
            }
            Registration {
                inner: Arc::clone(&self.inner),
                id,
            }
        };
        self.inner.wake.notify_waiters();
        // The sender goes only when the address finished (or, a bug, a worker panicked).
        let span = finished.await.ok();
        drop(registration);
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
        let (started, ended) = span.unwrap_or((self.inner.epoch, self.inner.epoch));
        AddressRun {
            ports: results,
            started: started.duration_since(self.inner.epoch),
            elapsed: ended.duration_since(started),
        }
    }
}

/// Takes an address off the engine when its scan ends or is dropped (the run's deadline).
struct Registration {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let emptied = {
            let mut state = self.inner.lock();
            state.remove(self.id);
            state.hosts.is_empty()
        };
        if emptied {
            self.inner.wake.notify_waiters();
        }
    }
}

/// A connect to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Job {
    host: u64,
    port: u16,
    /// Attempts already made.
    attempts: u32,
    /// A confirmation: one wait of [`confirmation_wait`], whose result stands.
    confirm: bool,
}

/// A connect to start, as [`State::take`] hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    job: Job,
    target: SocketAddr,
    timeout: Duration,
    /// The timeout was the address's own (or the uninformed first one), not borrowed from
    /// the others: a silence after it is evidence.
    own: bool,
}

#[derive(Debug)]
struct Host {
    address: IpAddr,
    ports: Arc<[u16]>,
    /// The next port of `ports` not yet tried.
    next: usize,
    /// Silent ports to try again, and confirmations to make.
    again: VecDeque<Job>,
    /// Silent ports waiting for the confirmation of an address that never answered.
    parked: Vec<Job>,
    in_flight: usize,
    options: EngineOptions,
    /// This address's round-trip estimate, shared with the run's `tcp` checks of it.
    rtt: HostRtt,
    /// Any answer at all (SYN-ACK, RST, ICMP) came from it.
    answered: bool,
    confirmations: usize,
    /// In the ready queue.
    queued: bool,
    /// Connects started in its current turn.
    turn_starts: usize,
    /// A connect of it ended in silence.
    went_silent: bool,
    started: Option<Instant>,
    progress: Arc<PortProgress>,
    found: Found,
    done: Option<oneshot::Sender<(Instant, Instant)>>,
}

impl Host {
    fn new(
        address: IpAddr,
        ports: Arc<[u16]>,
        options: EngineOptions,
        rtt: HostRtt,
        progress: Arc<PortProgress>,
        found: Found,
        done: oneshot::Sender<(Instant, Instant)>,
    ) -> Self {
        Host {
            address,
            ports,
            next: 0,
            again: VecDeque::new(),
            parked: Vec::new(),
            in_flight: 0,
            options,
            rtt,
            answered: false,
            confirmations: 0,
            queued: false,
            turn_starts: 0,
            went_silent: false,
            started: None,
            progress,
            found,
            done: Some(done),
        }
    }

    /// Whether a round trip of this address was measured, by the scan or by a `tcp` check.
    fn measured(&self) -> bool {
        self.rtt.snapshot().estimate.sampled()
    }

    /// It has let a connect go unanswered and answered none.
    fn silent_so_far(&self) -> bool {
        self.went_silent && !self.answered
    }

    fn has_jobs(&self) -> bool {
        !self.again.is_empty() || self.next < self.ports.len()
    }

    fn finished(&self) -> bool {
        !self.has_jobs() && self.in_flight == 0
    }

    fn next_job(&mut self, id: u64) -> Option<Job> {
        if let Some(job) = self.again.pop_front() {
            return Some(job);
        }
        let port = *self.ports.get(self.next)?;
        self.next += 1;
        Some(Job {
            host: id,
            port,
            attempts: 0,
            confirm: false,
        })
    }

    fn file(&self, outcome: PortOutcome) {
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

#[derive(Debug)]
struct State {
    hosts: HashMap<u64, Host>,
    next_id: u64,
    /// Addresses that may have a connect to start, in turn.
    ready: VecDeque<u64>,
    in_flight: usize,
    budget: usize,
    /// Round trips of every address, lent to those that have not answered yet.
    group: RttEstimator,
    group_measured: bool,
    /// Worker tasks running, and how many of them wait for work.
    workers: usize,
    idle: usize,
}

impl State {
    fn new(budget: usize) -> Self {
        State {
            hosts: HashMap::new(),
            next_id: 0,
            ready: VecDeque::new(),
            in_flight: 0,
            budget,
            group: RttEstimator::new(),
            group_measured: false,
            workers: 0,
            idle: 0,
        }
    }

    fn register(&mut self, host: Host) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.hosts.insert(id, host);
        self.enqueue(id);
        // An empty port list has nothing to wait for.
        self.finish_if_done(id, Instant::now());
        id
    }

    fn remove(&mut self, id: u64) {
        self.hosts.remove(&id);
    }

    fn enqueue(&mut self, id: u64) {
        if let Some(host) = self.hosts.get_mut(&id) {
            if !host.queued && host.has_jobs() {
                host.queued = true;
                self.ready.push_back(id);
            }
        }
    }

    /// The most connects one address may have in flight now: the whole budget when it is
    /// alone, a share of it while others are scanned too.
    fn host_cap(&self) -> usize {
        self.budget
            .div_ceil(self.hosts.len().clamp(1, HOSTS_SHARING))
            .max(1)
    }

    /// The next connect to start, from the next address in turn that is below its cap.
    fn take(&mut self) -> Option<Start> {
        if self.in_flight >= self.budget {
            return None;
        }
        let cap = self.host_cap();
        for _ in 0..self.ready.len() {
            let id = self.ready.pop_front()?;
            let Some(host) = self.hosts.get_mut(&id) else {
                continue;
            };
            host.queued = false;
            // At its cap, it is queued again when one of its connects ends.
            if host.in_flight >= cap.min(host.options.concurrency.max(1)) {
                continue;
            }
            let Some(job) = host.next_job(id) else {
                continue;
            };
            host.in_flight += 1;
            host.started.get_or_insert_with(Instant::now);
            let (timeout, own) = timeout_for(host, &self.group, self.group_measured, job);
            let target = SocketAddr::new(host.address, job.port);
            self.in_flight += 1;
            host.turn_starts += 1;
            if host.silent_so_far() && host.turn_starts < SILENT_TURN && host.has_jobs() {
                // Its turn goes on: see SILENT_TURN.
                host.queued = true;
                self.ready.push_front(id);
            } else {
                host.turn_starts = 0;
                self.enqueue(id);
            }
            return Some(Start {
                job,
                target,
                timeout,
                own,
            });
        }
        None
    }

    /// Files one connect's answer: feeds the RTT estimates, queues a silent port for its retry
    /// (or for the confirmation), or keeps the result.
    fn record(&mut self, start: &Start, probe: AddressProbe, elapsed: Duration) {
        self.in_flight -= 1;
        let job = start.job;
        let Some(host) = self.hosts.get_mut(&job.host) else {
            return;
        };
        host.in_flight -= 1;
        let outcome = PortOutcome {
            port: job.port,
            probe,
            attempts: job.attempts + 1,
        };
        if let AddressProbe::State { evidence, .. } = outcome.probe {
            if evidence.measures_rtt() {
                host.rtt.observe(elapsed);
                self.group.observe(elapsed);
                self.group_measured = true;
            }
            if evidence != PortEvidence::NoResponse && !host.answered {
                host.answered = true;
                // Their silence was measured with a borrowed timeout: try them again with this
                // address's own.
                host.again.extend(host.parked.drain(..));
            }
        }
        let ended = Instant::now();
        host.went_silent |= outcome.silent();
        if outcome.silent() && !job.confirm {
            let again = Job {
                attempts: outcome.attempts,
                ..job
            };
            let unconfirmed = !host.answered && !host.measured() && host.confirmations < CONFIRM_PORTS;
            let borrowed = !start.own && !host.measured();
            if unconfirmed && start.own && start.timeout >= confirmation_wait(&host.options) {
                // A wait of its own as long as a confirmation's (the uninformed first one,
                // before anything was measured): this silence confirms as much as one would.
                host.confirmations += 1;
            }
            if borrowed && unconfirmed {
                // Confirmed at once, while its other ports go on with borrowed waits.
                host.confirmations += 1;
                host.again.push_back(Job {
                    confirm: true,
                    ..again
                });
            } else if job.attempts < host.options.retries {
                host.again.push_back(again);
            } else if borrowed {
                if host.answered {
                    // An answer came while this connect waited: one more try, with its own
                    // timeout.
                    host.again.push_back(again);
                } else {
                    host.parked.push(again);
                }
            } else {
                host.file(outcome);
            }
        } else {
            host.file(outcome);
        }
        self.enqueue(job.host);
        self.finish_if_done(job.host, ended);
    }

    /// Signals the scan of `id` when nothing is left to do; ports still waiting for a
    /// confirmation that drew no answer are then filtered.
    fn finish_if_done(&mut self, id: u64, ended: Instant) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        if !host.finished() {
            return;
        }
        for job in std::mem::take(&mut host.parked) {
            host.file(PortOutcome {
                port: job.port,
                probe: AddressProbe::State {
                    state: PortState::Filtered,
                    evidence: PortEvidence::NoResponse,
                },
                attempts: job.attempts,
            });
        }
        if let Some(done) = host.done.take() {
            let _ = done.send((host.started.unwrap_or(ended), ended));
        }
        self.hosts.remove(&id);
    }
}

/// How long the connect of `job` waits, and whether that wait is the address's own.
fn timeout_for(host: &Host, group: &RttEstimator, group_measured: bool, job: Job) -> (Duration, bool) {
    let ceiling = host.options.max_timeout;
    if job.confirm {
        return (confirmation_wait(&host.options), true);
    }
    // Before any answer there is nothing to measure: nmap's initial timeout for the first
    // connect, and twice that for the retry, so that a slow host gets a real second chance.
    let wait = |rtt: &RttEstimator| {
        if job.attempts == 0 {
            rtt.timeout(ceiling).unwrap_or(rtt::INITIAL.min(ceiling))
        } else {
            rtt.retry_timeout(ceiling)
                .unwrap_or((rtt::INITIAL * 2).min(ceiling))
        }
    };
    let own_estimate = host.rtt.snapshot().estimate;
    let own = wait(&own_estimate);
    if own_estimate.sampled() || !group_measured {
        return (own, true);
    }
    let borrowed = wait(group);
    (borrowed, borrowed >= own)
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is only changed under the lock by code that does not panic midway.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, start: &Start, probe: AddressProbe, elapsed: Duration) {
        let wake = {
            let mut state = self.lock();
            state.record(start, probe, elapsed);
            (state.idle > 0 && !state.ready.is_empty()) || state.hosts.is_empty()
        };
        // Work for an idle worker (a retry, an address below its cap again), or none left.
        if wake {
            self.wake.notify_waiters();
        }
    }

    /// One worker: starts connects while the budget allows, files their answers, and ends when
    /// no address is left.
    async fn work(self: Arc<Self>) {
        let share = self.budget.div_ceil(self.workers).max(1);
        let mut in_flight = FuturesUnordered::new();
        // Sockets whose connect drew a RST, ready for the next port of their address family
        // (see `connect_reusing`): IPv4 ones first, IPv6 ones second.
        let mut spares: [Vec<socket2::Socket>; 2] = [Vec::new(), Vec::new()];
        let mut answered_at_once = 0_u32;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            while in_flight.len() < share {
                let Some(start) = self.lock().take() else {
                    break;
                };
                // A socket that cannot be made here is made (and its failure classified) by
                // start_connect itself.
                let family = &mut spares[usize::from(start.target.is_ipv6())];
                let spare = family
                    .pop()
                    .or_else(|| connect::reusable_socket(start.target).ok());
                let begun = Instant::now();
                match connect::start_connect(start.target, spare) {
                    Started::Connected(socket) => {
                        let probe = connect::established(&socket);
                        self.record(&start, probe, begun.elapsed());
                    }
                    Started::Answered { probe, spare } => {
                        family.extend(spare);
                        self.record(&start, probe, begun.elapsed());
                        // Answers that come at once never suspend this task: let the runtime
                        // run timers and other tasks now and then.
                        answered_at_once += 1;
                        if answered_at_once % YIELD_EVERY == 0 {
                            self.collect_ready(&mut in_flight);
                            tokio::task::yield_now().await;
                        }
                    }
                    Started::Waiting(socket) => {
                        in_flight.push(async move {
                            let probe = connect::wait_for_answer(socket, start.timeout).await;
                            (start, probe, begun.elapsed())
                        });
                        // Polled now, its timeout starts now rather than when this loop next
                        // waits, which may be after every other port was started.
                        self.collect_ready(&mut in_flight);
                    }
                }
            }
            if in_flight.is_empty() {
                {
                    let mut state = self.lock();
                    if state.hosts.is_empty() {
                        state.workers -= 1;
                        return;
                    }
                    state.idle += 1;
                }
                // Nothing to start now: another worker's connects will free some, or a new
                // address comes.
                notified.await;
                self.lock().idle -= 1;
                continue;
            }
            tokio::select! {
                Some((start, probe, elapsed)) = in_flight.next() => self.record(&start, probe, elapsed),
                () = &mut notified => {}
            }
        }
    }

    /// Polls the connects in flight once without waiting, filing those that have an answer.
    fn collect_ready<F>(&self, in_flight: &mut FuturesUnordered<F>)
    where
        F: std::future::Future<Output = (Start, AddressProbe, Duration)>,
    {
        while let Some(Some((start, probe, elapsed))) = in_flight.next().now_or_never() {
            self.record(&start, probe, elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: AddressProbe = AddressProbe::State {
        state: PortState::Closed,
        evidence: PortEvidence::Reset,
    };
    const SILENT: AddressProbe = AddressProbe::State {
        state: PortState::Filtered,
        evidence: PortEvidence::NoResponse,
    };

    fn options(concurrency: usize) -> EngineOptions {
        EngineOptions {
            concurrency,
            max_timeout: Duration::from_secs(2),
            retries: 1,
        }
    }

    /// Registers an address of `ports` ports; returns its id, what it found and its end signal.
    fn register(
        state: &mut State,
        last_octet: u8,
        ports: u16,
        options: EngineOptions,
    ) -> (u64, Found, oneshot::Receiver<(Instant, Instant)>) {
        let (done, finished) = oneshot::channel();
        let found = Found::default();
        let host = Host::new(
            IpAddr::from([198, 18, 0, last_octet]),
            (1..=ports).collect::<Vec<_>>().into(),
            options,
            HostRtt::unshared(),
            Arc::default(),
            Arc::clone(&found),
            done,
        );
        (state.register(host), found, finished)
    }

    fn take_all(state: &mut State) -> Vec<Start> {
        std::iter::from_fn(|| state.take()).collect()
    }

    fn per_host(starts: &[Start]) -> HashMap<u64, usize> {
        let mut counts = HashMap::new();
        for start in starts {
            *counts.entry(start.job.host).or_default() += 1;
        }
        counts
    }

    #[test]
    fn connects_go_round_robin_and_no_address_exceeds_its_share() {
        let mut state = State::new(8);
        let ids: Vec<u64> = (1..=4)
            .map(|n| register(&mut state, n, 100, options(1024)).0)
            .collect();
        let starts = take_all(&mut state);
        assert_eq!(starts.len(), 8, "the whole budget is used");
        let order: Vec<u64> = starts.iter().map(|s| s.job.host).collect();
        assert_eq!(order[..4], ids[..], "one connect per address in turn");
        assert!(per_host(&starts).values().all(|&n| n == 2), "{starts:?}");
        // A connect of the first address ends: only that address has room again.
        state.record(&starts[0], CLOSED, Duration::from_millis(1));
        let next = take_all(&mut state);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].job.host, ids[0]);
    }

    #[test]
    fn an_address_that_only_went_silent_starts_several_connects_a_turn() {
        let mut state = State::new(256);
        let (live, ..) = register(&mut state, 1, 200, options(1024));
        let (silent, ..) = register(&mut state, 2, 200, options(1024));
        let first = take_all(&mut state);
        assert_eq!(per_host(&first).len(), 2, "one a turn while nothing went silent");
        for start in &first {
            let probe = if start.job.host == live { CLOSED } else { SILENT };
            state.record(start, probe, start.timeout);
        }
        // The answering address starts one connect a turn, the silent one SILENT_TURN.
        let order: Vec<u64> = (0..3 * (SILENT_TURN + 1))
            .map(|_| {
                let start = state.take().unwrap();
                if start.job.host == live {
                    state.record(&start, CLOSED, Duration::from_millis(1));
                }
                start.job.host
            })
            .collect();
        let mut runs: Vec<(u64, usize)> = Vec::new();
        for host in order {
            match runs.last_mut() {
                Some((last, n)) if *last == host => *n += 1,
                _ => runs.push((host, 1)),
            }
        }
        assert_eq!(
            runs[..4],
            [(live, 1), (silent, SILENT_TURN), (live, 1), (silent, SILENT_TURN)],
            "{runs:?}"
        );
    }

    #[test]
    fn every_address_progresses_and_finishes_within_its_cap() {
        let mut state = State::new(6);
        let mut scans: Vec<_> = (1..=5)
            .map(|n| register(&mut state, n, 40 + u16::from(n) * 7, options(1024)))
            .collect();
        // An address's own --concurrency is a cap too.
        scans.push(register(&mut state, 9, 30, options(1)));
        let capped = scans[5].0;
        let mut in_flight: Vec<Start> = Vec::new();
        let mut rounds = 0;
        while !state.hosts.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000, "no progress");
            let started = take_all(&mut state);
            // Every address with ports left gets a connect in every round.
            let waiting: Vec<u64> = state
                .hosts
                .iter()
                .filter(|(_, h)| h.has_jobs() && h.in_flight == 0)
                .map(|(&id, _)| id)
                .collect();
            assert!(waiting.is_empty(), "round {rounds}: {waiting:?} got nothing");
            in_flight.extend(started);
            assert!(in_flight.len() <= 6);
            let cap = state.host_cap();
            for (id, count) in per_host(&in_flight) {
                assert!(count <= cap, "address {id}: {count} in flight, cap {cap}");
                if id == capped {
                    assert_eq!(count, 1);
                }
            }
            // Half of them end: the oldest first.
            let ending: Vec<Start> = in_flight.drain(..in_flight.len().div_ceil(2)).collect();
            for start in &ending {
                state.record(start, CLOSED, Duration::from_millis(1));
            }
        }
        for (_, found, mut finished) in scans {
            assert!(finished.try_recv().is_ok());
            let found = found.lock().unwrap();
            assert!(found.iter().all(|p| p.probe == CLOSED && p.attempts == 1));
        }
    }

    #[test]
    fn a_lone_silent_address_retries_with_twice_the_initial_timeout_before_filtering() {
        let mut state = State::new(64);
        let (_, found, mut finished) = register(&mut state, 3, 2, options(64));
        let first = take_all(&mut state);
        assert!(
            first.iter().all(|s| s.timeout == rtt::INITIAL && s.own),
            "{first:?}"
        );
        for start in &first {
            state.record(start, SILENT, rtt::INITIAL);
        }
        // Nothing was measured anywhere: the retry doubles the uninformed wait (within the
        // 2 s ceiling) and is the address's own, so its silence stands.
        let retries = take_all(&mut state);
        assert_eq!(retries.len(), 2);
        assert!(
            retries.iter().all(|s| s.timeout == rtt::INITIAL * 2 && s.own),
            "{retries:?}"
        );
        for start in &retries {
            state.record(start, SILENT, rtt::INITIAL * 2);
        }
        assert!(finished.try_recv().is_ok());
        assert!(found
            .lock()
            .unwrap()
            .iter()
            .all(|p| p.probe == SILENT && p.attempts == 2));
    }

    /// Every one of `ports` ports was filed once, filtered after a first connect and a second.
    fn assert_every_port_silent_after_two_connects(found: &Found, ports: usize) {
        let found = found.lock().unwrap();
        assert_eq!(found.len(), ports);
        assert!(
            found.iter().all(|p| p.probe == SILENT && p.attempts == 2),
            "{found:?}"
        );
    }

    #[test]
    fn uninformed_silences_of_its_own_confirm_an_address_that_never_answers() {
        let mut state = State::new(64);
        let (live, ..) = register(&mut state, 1, 4, options(64));
        let (silent, found, mut finished) = register(&mut state, 2, 20, options(64));
        // Before any answer, every address waits the uninformed first timeout: as long as a
        // confirmation's, and its own.
        let first = take_all(&mut state);
        assert!(first.iter().all(|s| s.timeout == rtt::INITIAL && s.own));
        for start in first.iter().filter(|s| s.job.host == live) {
            state.record(start, CLOSED, Duration::from_millis(1));
        }
        for start in first.iter().filter(|s| s.job.host == silent) {
            state.record(start, SILENT, rtt::INITIAL);
        }
        assert_eq!(state.hosts[&silent].confirmations, CONFIRM_PORTS);
        // Confirmed already: the retries borrow the live address's short timeout, and no
        // port waits a second time for a confirmation.
        let retries = take_all(&mut state);
        assert_eq!(retries.len(), 20);
        assert!(
            retries
                .iter()
                .all(|s| !s.job.confirm && !s.own && s.timeout < rtt::INITIAL),
            "{retries:?}"
        );
        for start in &retries {
            state.record(start, SILENT, start.timeout);
        }
        assert!(finished.try_recv().is_ok());
        assert_every_port_silent_after_two_connects(&found, 20);
    }

    #[test]
    fn a_silent_address_among_answering_ones_is_confirmed_alongside_its_borrowed_retries() {
        let mut state = State::new(64);
        let (live, ..) = register(&mut state, 1, 4, options(64));
        for start in take_all(&mut state) {
            state.record(&start, CLOSED, Duration::from_millis(1));
        }
        assert!(!state.hosts.contains_key(&live), "finished");
        let (silent, found, mut finished) = register(&mut state, 2, 20, options(64));
        // Its first connects borrow the live address's timeout.
        let first = take_all(&mut state);
        assert_eq!(first.len(), 20);
        assert!(
            first.iter().all(|s| !s.own && s.timeout < rtt::INITIAL),
            "{first:?}"
        );
        for start in &first {
            state.record(start, SILENT, start.timeout);
        }
        // At once, not after the borrowed ladder: the confirmations, with a wait of its own,
        // go out with the retries of the other ports.
        let second = take_all(&mut state);
        let (confirmations, retries): (Vec<Start>, Vec<Start>) =
            second.into_iter().partition(|s| s.job.confirm);
        assert_eq!(confirmations.len(), CONFIRM_PORTS);
        assert!(
            confirmations
                .iter()
                .all(|s| (s.timeout, s.own) == (rtt::INITIAL, true)),
            "{confirmations:?}"
        );
        assert_eq!(retries.len(), 20 - CONFIRM_PORTS);
        assert!(
            retries.iter().all(|s| !s.own && s.job.attempts == 1),
            "{retries:?}"
        );
        for start in &retries {
            state.record(start, SILENT, start.timeout);
        }
        assert!(take_all(&mut state).is_empty());
        assert!(!state.hosts[&silent].parked.is_empty());
        assert!(finished.try_recv().is_err(), "not before the confirmations end");
        for start in &confirmations {
            state.record(start, SILENT, start.timeout);
        }
        assert!(finished.try_recv().is_ok());
        assert_every_port_silent_after_two_connects(&found, 20);
    }

    #[test]
    fn a_confirmation_wait_stays_within_the_scan_ceiling() {
        let mut state = State::new(64);
        let short = EngineOptions {
            max_timeout: Duration::from_millis(300),
            ..options(64)
        };
        register(&mut state, 1, 2, short);
        for start in take_all(&mut state) {
            state.record(&start, CLOSED, Duration::from_millis(1));
        }
        let (silent, ..) = register(&mut state, 2, 2, short);
        for start in take_all(&mut state) {
            state.record(&start, SILENT, start.timeout);
        }
        let confirmations = take_all(&mut state);
        assert_eq!(confirmations.len(), 2);
        assert!(confirmations
            .iter()
            .all(|s| s.job.host == silent && s.job.confirm && s.timeout == Duration::from_millis(300)));
    }

    #[test]
    fn a_confirmation_that_draws_an_answer_sends_the_parked_ports_again() {
        let mut state = State::new(64);
        let (live, ..) = register(&mut state, 1, 1, options(64));
        let first = take_all(&mut state);
        state.record(&first[0], CLOSED, Duration::from_millis(1));
        assert!(!state.hosts.contains_key(&live), "finished");
        let (slow, found, mut finished) = register(&mut state, 2, 12, options(64));
        let mut answered = false;
        while let Some(start) = state.take() {
            assert_eq!(start.job.host, slow);
            if start.job.confirm && !answered {
                // The slow address answers the patient confirmation.
                answered = true;
                let parked = state.hosts[&slow].parked.len();
                state.record(&start, CLOSED, Duration::from_millis(500));
                assert_eq!(state.hosts[&slow].parked.len(), 0);
                assert!(state.hosts[&slow].again.len() >= parked);
            } else if answered && !start.job.confirm {
                // Its own timeout now: long enough for it.
                assert!(start.own, "{start:?}");
                state.record(&start, CLOSED, Duration::from_millis(500));
            } else {
                state.record(&start, SILENT, start.timeout);
            }
        }
        assert!(answered);
        assert!(finished.try_recv().is_ok());
        let found = found.lock().unwrap();
        assert_eq!(found.len(), 12);
        let closed = found.iter().filter(|p| p.probe == CLOSED).count();
        assert!(
            closed > CONFIRM_PORTS,
            "parked ports were probed again: {found:?}"
        );
    }

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
        let run = Engine::new(8)
            .scan(
                "127.0.0.1".parse().unwrap(),
                ports,
                options(8),
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
        let seen: Vec<_> = run
            .ports
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
    async fn two_addresses_scanned_side_by_side_each_get_every_port() {
        let engine = Engine::new(4);
        let ports: Arc<[u16]> = (40000..40100).collect::<Vec<_>>().into();
        let scan = |address: &str| {
            engine.scan(
                address.parse().unwrap(),
                Arc::clone(&ports),
                options(4),
                HostRtt::unshared(),
                Arc::default(),
                Found::default(),
            )
        };
        let (a, b) = tokio::join!(scan("127.0.0.1"), scan("127.0.0.2"));
        for run in [a, b] {
            assert_eq!(run.ports.len(), 100);
            assert!(run.ports.iter().all(|p| p.attempts == 1), "{:?}", run.ports);
        }
        assert!(engine.inner.lock().hosts.is_empty());
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
        let run = Engine::new(4)
            .scan(
                address.ip(),
                vec![address.port()].into(),
                options,
                HostRtt::unshared(),
                Arc::default(),
                Found::default(),
            )
            .await;
        assert_eq!(
            run.ports,
            [PortOutcome {
                port: address.port(),
                probe: SILENT,
                attempts: 3,
            }]
        );
    }
}
