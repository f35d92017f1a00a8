//! What the runner and the attempt it is running share: the attempt's clock, and the evidence
//! the attempt has gathered so far.
//!
//! The runner bounds every attempt by the check's `timeout` and the run by `--deadline`. When it
//! has to stop waiting for an attempt, what the attempt saw must not be lost: a scan cut off by
//! the deadline has already probed thousands of ports, a series of HTTP samples has already
//! measured hundreds. An attempt that gathers evidence over time [`publish`]es a function that
//! turns what it saw so far into an [`Attempt`]; the runner calls it with the reason it stopped
//! ([`Cut`]) and reports that instead of a bare timeout.
//!
//! Time spent waiting in one of reach's own queues (a connection slot to an origin that many
//! checks use) is not the target's slowness: an attempt's timeout does not run while it waits
//! there ([`queue`]).
//!
//! The current attempt's watch is a task-local value the runner sets around the attempt, so that
//! a probe deep down (the HTTP connection pool) can say it queued without every layer between
//! passing the watch along.

use super::attempt::Attempt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Why the runner stopped waiting for an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The check's `timeout` ran out for this attempt.
    Timeout(Duration),
    /// The run's `--deadline` passed.
    Deadline,
}

type Report = Box<dyn Fn(Cut) -> Attempt + Send + Sync>;

/// One attempt's clock and its evidence so far.
pub struct Watch {
    started: Instant,
    queues: Mutex<Queues>,
    report: Mutex<Option<Report>>,
}

/// The time an attempt has spent in reach's own queues, waits in progress included.
#[derive(Default)]
struct Queues {
    /// Time of the waits that have ended.
    ended: Duration,
    /// Waits in progress, and when the first of them began.
    waiting: usize,
    since: Option<Instant>,
}

impl Queues {
    fn total(&self, now: Instant) -> Duration {
        self.ended
            + self
                .since
                .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }
}

tokio::task_local! {
    static CURRENT: Arc<Watch>;
}

impl Watch {
    /// The watch of an attempt that starts now.
    pub fn start() -> Arc<Watch> {
        Arc::new(Watch {
            started: Instant::now(),
            queues: Mutex::default(),
            report: Mutex::new(None),
        })
    }

    /// When an attempt allowed `budget` ends: its start, plus the budget, plus the time it has
    /// spent in reach's own queues so far (a wait in progress included).
    pub fn ends_at(&self, budget: Duration) -> Instant {
        let queued = self.lock_queues().total(Instant::now());
        self.started + budget + queued
    }

    fn lock_queues(&self) -> std::sync::MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter_queue(&self) {
        let mut queues = self.lock_queues();
        if queues.waiting == 0 {
            queues.since = Some(Instant::now());
        }
        queues.waiting += 1;
    }

    fn leave_queue(&self) {
        let mut queues = self.lock_queues();
        queues.waiting = queues.waiting.saturating_sub(1);
        if queues.waiting == 0 {
            if let Some(since) = queues.since.take() {
                queues.ended += since.elapsed();
            }
        }
    }

    /// What the attempt has seen so far, as the attempt it would be if it ended now for `cut`;
    /// `None` when it published nothing.
    pub fn cut(&self, cut: Cut) -> Option<Attempt> {
        let report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        report.as_ref().map(|report| report(cut))
    }

    /// Runs `attempt` with this watch as the current one.
    pub async fn scope<F: Future>(self: &Arc<Self>, attempt: F) -> F::Output {
        CURRENT.scope(Arc::clone(self), attempt).await
    }
}

/// Waits in one of reach's own queues (a connection slot to an origin): the time it takes does
/// not count against the current attempt's timeout.
pub async fn queue<F: Future>(wait: F) -> F::Output {
    let Ok(watch) = CURRENT.try_with(Arc::clone) else {
        return wait.await;
    };
    /// Leaves the queue however the wait ends, dropped included.
    struct Waiting(Arc<Watch>);
    impl Drop for Waiting {
        fn drop(&mut self) {
            self.0.leave_queue();
        }
    }
    watch.enter_queue();
    let _waiting = Waiting(watch);
    wait.await
}

/// How much of `budget` the current attempt has left (time in reach's own queues not counted);
/// `None` outside an attempt the runner is running.
pub fn left(budget: Duration) -> Option<Duration> {
    CURRENT
        .try_with(|watch| watch.ends_at(budget).saturating_duration_since(Instant::now()))
        .ok()
}

/// Publishes how to report the current attempt's evidence if the runner must stop waiting for
/// it; replaces what was published before. Outside an attempt the runner is running, nothing
/// happens.
pub fn publish(report: impl Fn(Cut) -> Attempt + Send + Sync + 'static) {
    let _ = CURRENT.try_with(|watch| {
        *watch.report.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(report));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ErrorClass, Finding, Stage};

    #[tokio::test(start_paused = true)]
    async fn queue_time_moves_the_end_of_the_attempt_while_it_waits() {
        let watch = Watch::start();
        let budget = Duration::from_secs(2);
        let end = watch.ends_at(budget);
        let waiting = Arc::clone(&watch);
        let observer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            waiting.ends_at(budget)
        });
        watch
            .scope(async {
                queue(tokio::time::sleep(Duration::from_secs(5))).await;
                assert_eq!(left(budget), Some(budget));
            })
            .await;
        assert_eq!(observer.await.unwrap(), end + Duration::from_secs(3));
        assert_eq!(watch.ends_at(budget), end + Duration::from_secs(5));
        assert_eq!(left(budget), None, "no attempt outside a scope");
    }

    #[tokio::test]
    async fn published_evidence_is_reported_with_the_reason_of_the_cut() {
        let watch = Watch::start();
        assert!(watch.cut(Cut::Deadline).is_none());
        watch
            .scope(async {
                publish(|cut| {
                    let why = match cut {
                        Cut::Deadline => "deadline",
                        Cut::Timeout(_) => "timeout",
                    };
                    Attempt::settled(Finding::error(Stage::Tcp, ErrorClass::Timeout, why))
                });
            })
            .await;
        let cut = watch.cut(Cut::Deadline).unwrap();
        assert_eq!(cut.finding.message, "deadline");
    }
}
