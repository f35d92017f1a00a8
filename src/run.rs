//! Executes a [`Plan`]: filters, bounded concurrency, retries of inconclusive attempts with
//! backoff, a bound on every attempt (the check's `timeout`), and a whole-run deadline. A check
//! the deadline cuts off reports what its attempt had seen so far (see [`crate::probe::watch`]),
//! or `skip` when it had seen nothing. Results come back in plan order, one per check, whatever
//! happened: none is ever lost.

use crate::outcome::{ErrorClass, Finding, Outcome, SkipReason, Stage, Summary};
use crate::probe::watch::{Cut, Watch};
use crate::probe::{Attempt, Executor};
use crate::spec::{Check, Kind, Plan};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Concurrent checks when `--concurrency` is not given: enough to finish thousands of loopback
/// checks in well under a second, few enough to stay far below common open-file limits.
pub const DEFAULT_CONCURRENCY: usize = 256;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long past its timeout the runner waits for an attempt before it stops waiting. Probes
/// end their own attempts when the timeout runs out, with the evidence of the stage that was
/// waiting; this is for one that does not, and it lets the probe's own, more precise finding
/// win the race with the runner's.
pub const GRACE: Duration = Duration::from_millis(500);

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    /// Stop starting and cut off running checks after this long.
    pub deadline: Option<Duration>,
    /// `--tag`: run only checks that carry one of these tags (all when empty).
    pub tags: Vec<String>,
    /// `--vantage`: the vantage point this run is made from.
    pub vantage: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: DEFAULT_CONCURRENCY,
            deadline: None,
            tags: Vec::new(),
            vantage: None,
        }
    }
}

/// One check and what became of it.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Arc<Check>,
    pub outcome: Outcome,
    /// Wall time of the check, retries and backoff included.
    pub duration: Duration,
}

/// Everything a report needs about a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub started_at: SystemTime,
    pub duration: Duration,
    pub vantage: Option<String>,
    pub files: Vec<String>,
    pub results: Vec<CheckResult>,
}

impl RunReport {
    pub fn summary(&self) -> Summary {
        Summary::of(self.results.iter().map(|r| &r.outcome))
    }
}

/// Told about progress as checks finish; the runner itself never prints.
pub trait Progress: Send + Sync {
    fn start(&self, _selected: usize) {}
    fn finished(&self, _check: &Check, _outcome: &Outcome) {}
    fn done(&self) {}
}

/// A [`Progress`] that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// Why a check will not run with these options, if it will not.
pub fn filter(check: &Check, options: &RunOptions) -> Option<Outcome> {
    if !options.tags.is_empty() && !check.tags.iter().any(|t| options.tags.contains(t)) {
        let wanted = options.tags.join(", ");
        return Some(Outcome::skipped(
            SkipReason::TagFilter,
            format!("not tagged {wanted}"),
        ));
    }
    if !check.vantage.is_empty()
        && !options
            .vantage
            .as_ref()
            .is_some_and(|v| check.vantage.contains(v))
    {
        let own = check.vantage.join(", ");
        let message = match &options.vantage {
            Some(v) => format!("belongs to vantage {own}; this run is --vantage {v}"),
            None => format!(
                "belongs to vantage {own}: run with --vantage {}",
                check.vantage[0]
            ),
        };
        return Some(Outcome::skipped(SkipReason::VantageFilter, message));
    }
    None
}

/// Runs every check of `plan` that the filters select.
pub async fn run<E: Executor>(
    plan: Plan,
    executor: Arc<E>,
    options: &RunOptions,
    progress: &dyn Progress,
) -> RunReport {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let deadline = options.deadline.map(|d| tokio::time::Instant::now() + d);
    let mut slots: Vec<Slot> = plan
        .checks
        .into_iter()
        .map(|check| Slot {
            outcome: filter(&check, options).map(|skip| (skip, Duration::ZERO)),
            check: Arc::new(check),
        })
        .collect();
    let selected: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].outcome.is_none()).collect();
    progress.start(selected.len());

    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running = JoinSet::new();
    let mut waiting = selected.into_iter();
    // Start checks as permits free up, collecting finished ones on the way, until all have
    // started or the deadline passes.
    for index in waiting.by_ref() {
        let permit = tokio::select! {
            biased;
            permit = Arc::clone(&permits).acquire_owned() => permit.ok(),
            () = sleep_until(deadline) => None,
        };
        let Some(permit) = permit else {
            slots[index].outcome = Some((deadline_skip("before it could start"), Duration::ZERO));
            break;
        };
        while let Some(Ok((index, outcome, duration))) = running.try_join_next() {
            record(&mut slots, progress, index, outcome, duration);
        }
        let check = Arc::clone(&slots[index].check);
        let executor = Arc::clone(&executor);
        running.spawn(async move {
            let _permit = permit;
            let begun = Instant::now();
            let in_flight = InFlight::default();
            let finished = tokio::select! {
                biased;
                // Boxed: the task then holds a pointer, not the largest probe's state inline, so
                // spawning and finishing ten thousand checks does not copy it around each time.
                outcome = Box::pin(attempts(executor.as_ref(), &check, &in_flight)) => outcome,
                () = sleep_until(deadline) => in_flight.cut_by_deadline(),
            };
            (index, finished, begun.elapsed())
        });
    }
    for index in waiting {
        slots[index].outcome = Some((deadline_skip("before it could start"), Duration::ZERO));
    }
    while let Some(joined) = running.join_next().await {
        // A probe that panicked is a bug; its slot stays empty and is reported as an error below.
        if let Ok((index, outcome, duration)) = joined {
            record(&mut slots, progress, index, outcome, duration);
        }
    }
    progress.done();

    // Slot by slot into the results, in place: a run of 100,000 checks does not hold two lists.
    let results = slots
        .into_iter()
        .map(|Slot { check, outcome }| {
            let (outcome, duration) = outcome.unwrap_or_else(|| {
                let finding = Finding::error(
                    Stage::Assert,
                    ErrorClass::Io,
                    "internal error: the probe stopped unexpectedly",
                );
                (Outcome::Ran { finding, attempts: 1 }, Duration::ZERO)
            });
            CheckResult {
                check,
                outcome,
                duration,
            }
        })
        .collect();
    RunReport {
        started_at,
        duration: started.elapsed(),
        vantage: options.vantage.clone(),
        files: plan.files,
        results,
    }
}

/// One check of a run and, once it has one, its outcome and how long it took.
struct Slot {
    check: Arc<Check>,
    outcome: Option<(Outcome, Duration)>,
}

fn record(slots: &mut [Slot], progress: &dyn Progress, index: usize, outcome: Outcome, duration: Duration) {
    progress.finished(&slots[index].check, &outcome);
    slots[index].outcome = Some((outcome, duration));
}

/// The attempt of a check in progress, as the run's deadline finds it.
#[derive(Default)]
struct InFlight {
    watch: Mutex<Option<Arc<Watch>>>,
    /// Attempts started so far.
    started: AtomicU32,
}

impl InFlight {
    fn begin(&self) -> Arc<Watch> {
        let watch = Watch::start();
        *self.watch.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&watch));
        self.started.fetch_add(1, Ordering::Relaxed);
        watch
    }

    /// What the deadline leaves of the check: the evidence its attempt published, else a skip.
    fn cut_by_deadline(&self) -> Outcome {
        let watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match watch.and_then(|w| w.cut(Cut::Deadline)) {
            Some(attempt) => Outcome::Ran {
                finding: attempt.finding,
                attempts: self.started.load(Ordering::Relaxed).max(1),
            },
            None => deadline_skip("while it ran"),
        }
    }
}

/// How long one attempt of `check` may take, if the runner bounds it. A scan's `timeout` bounds
/// each of its connects (a scan of 65,535 ports is one attempt), so the scan bounds itself.
fn bound(check: &Check) -> Option<Duration> {
    match check.kind() {
        Kind::Scan => None,
        _ => Some(check.timeout),
    }
}

/// Runs attempts until one is conclusive or the retries are spent, backing off between them.
async fn attempts<E: Executor>(executor: &E, check: &Check, in_flight: &InFlight) -> Outcome {
    let mut backoff = FIRST_BACKOFF;
    let mut made = 0;
    loop {
        let attempt = bounded(executor, check, in_flight.begin()).await;
        made += 1;
        if !attempt.inconclusive || made > check.retries {
            return Outcome::Ran {
                finding: attempt.finding,
                attempts: made,
            };
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One attempt, given up on [`GRACE`] after its timeout (time in reach's own queues not
/// counted): then its published evidence, or a bare timeout, stands for it.
async fn bounded<E: Executor>(executor: &E, check: &Check, watch: Arc<Watch>) -> Attempt {
    let attempt = watch.scope(executor.attempt(check));
    let Some(budget) = bound(check) else {
        return attempt.await;
    };
    tokio::pin!(attempt);
    loop {
        let until = watch.ends_at(budget) + GRACE;
        tokio::select! {
            biased;
            done = &mut attempt => return done,
            () = tokio::time::sleep_until(until) => {
                // Time spent queueing may have moved the end since this wait began.
                if tokio::time::Instant::now() >= watch.ends_at(budget) + GRACE {
                    return timed_out(check, &watch, budget);
                }
            }
        }
    }
}

/// The attempt the runner reports for one it gave up on: the probe's evidence so far when it
/// published some (its verdict decided by the probe), else an error `timeout`.
fn timed_out(check: &Check, watch: &Watch, budget: Duration) -> Attempt {
    watch.cut(Cut::Timeout(budget)).unwrap_or_else(|| {
        let stage = match check.kind() {
            Kind::Dns => Stage::Dns,
            Kind::Tls => Stage::Tls,
            Kind::Http | Kind::Websocket | Kind::Endpoint => Stage::Http,
            Kind::Listen => Stage::Assert,
            Kind::Tcp | Kind::Scan => Stage::Tcp,
        };
        Attempt {
            finding: Finding::error(
                stage,
                ErrorClass::Timeout,
                format!(
                    "no result within the check's {} timeout",
                    crate::text::rounded(budget)
                ),
            ),
            inconclusive: true,
        }
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn deadline_skip(when: &str) -> Outcome {
    Outcome::skipped(
        SkipReason::Deadline,
        format!("the run's --deadline passed {when}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::probe::Attempt;
    use crate::spec::{Host, PortExpectation, ProbeSpec, Source, TcpCheck};
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

    /// Answers from a script keyed by port: how long to take, and whether the answer is final.
    struct Scripted {
        calls: AtomicU32,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl Scripted {
        fn new() -> Arc<Self> {
            Arc::new(Scripted {
                calls: AtomicU32::new(0),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
            })
        }
    }

    impl Executor for Scripted {
        async fn attempt(&self, check: &Check) -> Attempt {
            let ProbeSpec::Tcp(tcp) = &check.probe else {
                panic!("the scripted executor runs tcp checks only")
            };
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            // Port 1 hangs for a long time; port 2 is always inconclusive; port 7 publishes a
            // fail, then hangs; port 8 waits in one of reach's own queues for a long time; others
            // answer at once.
            match tcp.port {
                1 => tokio::time::sleep(Duration::from_secs(3600)).await,
                7 => {
                    crate::probe::watch::publish(|cut| Attempt {
                        finding: Finding::new(
                            crate::outcome::Verdict::Fail {
                                stage: Stage::Tcp,
                                class: None,
                            },
                            format!("seen before {cut:?}"),
                        ),
                        inconclusive: false,
                    });
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                8 => crate::probe::watch::queue(tokio::time::sleep(Duration::from_secs(60))).await,
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Attempt {
                finding: Finding::error(Stage::Tcp, ErrorClass::Timeout, "scripted"),
                inconclusive: tcp.port == 2,
            }
        }
    }

    fn check(port: u16, tags: &[&str], vantage: &[&str]) -> Check {
        Check {
            id: format!("t.{port}"),
            profile: "t".into(),
            name: format!("port {port}"),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            vantage: vantage.iter().map(|v| (*v).to_owned()).collect(),
            source: Source {
                file: "t.toml".into(),
                line: 1,
            },
            timeout: Duration::from_secs(1),
            retries: 2,
            probe: ProbeSpec::Tcp(TcpCheck {
                host: Host::Ip("127.0.0.1".parse().unwrap()),
                port,
                expect: PortExpectation::Open,
            }),
        }
    }

    fn plan(checks: Vec<Check>) -> Plan {
        Plan {
            files: vec!["t.toml".into()],
            checks,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn inconclusive_attempts_are_retried_and_conclusive_ones_are_not() {
        let executor = Scripted::new();
        let report = run(
            plan(vec![check(2, &[], &[]), check(3, &[], &[])]),
            Arc::clone(&executor),
            &RunOptions::default(),
            &Silent,
        )
        .await;
        let attempts: Vec<u32> = report.results.iter().map(|r| r.outcome.attempts()).collect();
        assert_eq!(attempts, [3, 1]);
        assert_eq!(executor.calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_is_given_up_after_its_timeout_and_retried() {
        let executor = Scripted::new();
        let started = tokio::time::Instant::now();
        let report = run(
            plan(vec![check(1, &[], &[])]),
            executor,
            &RunOptions::default(),
            &Silent,
        )
        .await;
        let outcome = &report.results[0].outcome;
        assert_eq!((outcome.status(), outcome.attempts()), (Status::Error, 3));
        assert_eq!(outcome.error(), Some(ErrorClass::Timeout));
        assert!(outcome.message().contains("1s timeout"), "{}", outcome.message());
        // Three attempts of 1s (plus the grace) and the backoff between them, nothing more.
        let bound = 3 * (Duration::from_secs(1) + GRACE) + Duration::from_millis(300);
        let took = started.elapsed();
        assert!(took <= bound + Duration::from_millis(50), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn time_in_reach_own_queues_does_not_count_against_the_timeout() {
        let executor = Scripted::new();
        let report = run(
            plan(vec![check(8, &[], &[])]),
            executor,
            &RunOptions::default(),
            &Silent,
        )
        .await;
        assert_eq!(report.results[0].outcome.message(), "scripted");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_reports_what_an_attempt_published() {
        let executor = Scripted::new();
        let options = RunOptions {
            deadline: Some(Duration::from_millis(300)),
            ..RunOptions::default()
        };
        let report = run(plan(vec![check(7, &[], &[])]), executor, &options, &Silent).await;
        let outcome = &report.results[0].outcome;
        assert_eq!(outcome.status(), Status::Fail);
        assert_eq!(outcome.message(), "");
        assert_eq!(outcome.summary(), "seen before Deadline");
        assert_eq!(crate::cmd::exit::of(&report.summary()), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_check_is_cut_off_by_the_deadline_and_the_others_finish() {
        let executor = Scripted::new();
        let options = RunOptions {
            concurrency: 2,
            deadline: Some(Duration::from_secs(10)),
            ..RunOptions::default()
        };
        // Its timeout is longer than the run's deadline: the deadline cuts it off.
        let hanging = Check {
            timeout: Duration::from_secs(3600),
            ..check(1, &[], &[])
        };
        let checks = vec![hanging, check(3, &[], &[]), check(4, &[], &[])];
        let report = run(plan(checks), executor, &options, &Silent).await;
        let statuses: Vec<Status> = report.results.iter().map(|r| r.outcome.status()).collect();
        assert_eq!(statuses, [Status::Skip, Status::Error, Status::Error]);
        assert_eq!(
            report.results[0].outcome.skip_reason(),
            Some(SkipReason::Deadline)
        );
        assert_eq!(crate::cmd::exit::of(&report.summary()), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn checks_not_started_before_the_deadline_are_skipped_not_lost() {
        let executor = Scripted::new();
        let options = RunOptions {
            concurrency: 1,
            deadline: Some(Duration::from_secs(1)),
            ..RunOptions::default()
        };
        let hanging = Check {
            timeout: Duration::from_secs(3600),
            ..check(1, &[], &[])
        };
        let checks = vec![hanging, check(3, &[], &[]), check(4, &[], &[])];
        let report = run(plan(checks), executor, &options, &Silent).await;
        assert_eq!(report.results.len(), 3);
        assert!(report
            .results
            .iter()
            .all(|r| r.outcome.skip_reason() == Some(SkipReason::Deadline)));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let executor = Scripted::new();
        let options = RunOptions {
            concurrency: 3,
            ..RunOptions::default()
        };
        let checks = (10..40).map(|port| check(port, &[], &[])).collect();
        let report = run(plan(checks), Arc::clone(&executor), &options, &Silent).await;
        assert_eq!(report.results.len(), 30);
        assert_eq!(executor.most_in_flight.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn tag_and_vantage_filters_skip_with_a_reason() {
        let executor = Scripted::new();
        let options = RunOptions {
            tags: vec!["smoke".into()],
            vantage: Some("external".into()),
            ..RunOptions::default()
        };
        let checks = vec![
            check(3, &["smoke"], &[]),
            check(4, &["audit"], &[]),
            check(5, &["smoke"], &["internal"]),
            check(6, &["smoke"], &["external"]),
        ];
        let report = run(plan(checks), Arc::clone(&executor), &options, &Silent).await;
        let reasons: Vec<_> = report.results.iter().map(|r| r.outcome.skip_reason()).collect();
        assert_eq!(
            reasons,
            [
                None,
                Some(SkipReason::TagFilter),
                Some(SkipReason::VantageFilter),
                None
            ]
        );
        assert_eq!(executor.calls.load(Ordering::SeqCst), 2);
        assert_eq!(crate::cmd::exit::of(&report.summary()), 3);
    }
}
