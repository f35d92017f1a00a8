//! `--every`: each check file whose variables all have values runs at start and then once per
//! period. The period of each run is jittered by up to a tenth (so that exporters started
//! together, or profiles loaded together, drift apart instead of probing in step), and a run
//! never overlaps the previous one of its profile: a run that takes longer than the period is
//! followed by the next as soon as it ends.

use super::runner::{self, Runner};
use super::state::{Latest, State};
use crate::report;
use crate::spec::Plan;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running schedule of one set of check files.
pub struct Schedule {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Schedule {
    /// Starts a loop for every scheduled profile of the files in force.
    pub fn start(state: &Arc<State>, runner: &Arc<Runner>, every: Duration) -> Schedule {
        let (stop, stopped) = watch::channel(false);
        let modules = state.modules();
        let tasks = modules
            .scheduled()
            .map(|(module, plan)| {
                let profile = module.profile.clone();
                let run = ScheduledRun {
                    lock: state.run_lock(&profile),
                    profile,
                    plan: plan.clone(),
                    state: Arc::clone(state),
                    runner: Arc::clone(runner),
                    every,
                };
                tokio::spawn(run.repeat(stopped.clone()))
            })
            .collect();
        Schedule { stop, tasks }
    }

    /// Lets every loop finish the run it is in (recorded as usual) and start no other: a reload
    /// then starts a new schedule, whose first run of a profile waits for that one.
    pub fn wind_down(self) {
        let _ = self.stop.send(true);
    }

    /// Stops every loop now, a run in progress included (the process is ending).
    pub fn abort(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

struct ScheduledRun {
    profile: String,
    plan: Plan,
    state: Arc<State>,
    runner: Arc<Runner>,
    lock: Arc<tokio::sync::Mutex<()>>,
    every: Duration,
}

impl ScheduledRun {
    async fn repeat(self, mut stopped: watch::Receiver<bool>) {
        let mut next = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
            let guard = tokio::select! {
                guard = self.lock.lock() => guard,
                _ = stopped.wait_for(|stop| *stop) => return,
            };
            let started = Instant::now();
            let begun = tokio::time::Instant::now();
            let options = self.runner.options(Vec::new(), None);
            let finished = self.runner.run(self.plan.clone(), &options).await;
            let duration = started.elapsed();
            let succeeded = runner::succeeded(&finished);
            let json = report::json::render(&finished);
            self.state.record(
                &self.profile,
                Latest {
                    report: Arc::new(finished),
                    json: Arc::new(json),
                },
                succeeded,
                duration,
            );
            drop(guard);
            next = (begun + jittered(self.every)).max(tokio::time::Instant::now());
        }
    }
}

/// `every`, give or take up to a tenth of it.
fn jittered(every: Duration) -> Duration {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 4];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return every;
    }
    // A fraction in [-0.1, 0.1).
    let fraction = (f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) - 0.5) / 5.0;
    every.mul_f64(1.0 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_tenth_of_the_period() {
        let every = Duration::from_secs(60);
        for _ in 0..100 {
            let d = jittered(every);
            assert!(
                d >= Duration::from_secs(54) && d <= Duration::from_secs(66),
                "{d:?}"
            );
        }
    }
}
