//! What the exporter knows while it runs: the check files in force, the latest result of each
//! scheduled profile, the counters of its own metrics, and whether it is stopping. Shared by the
//! HTTP handlers, the schedule and the signal handlers.

use super::modules::ModuleSet;
use crate::run::RunReport;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

/// The latest finished scheduled run of a profile.
#[derive(Debug, Clone)]
pub struct Latest {
    pub report: Arc<RunReport>,
    /// Its JSON report, rendered once.
    pub json: Arc<String>,
}

/// The counters behind `reach_exporter_*` for one profile; they live as long as the process.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub successes: u64,
    pub failures: u64,
    pub last_duration: Duration,
    pub last_success: Option<SystemTime>,
    pub last_run: Option<SystemTime>,
}

/// The outcome of the last reload (or of the start, which counts as the first load).
#[derive(Debug, Clone, Copy)]
pub struct ReloadStatus {
    pub successful: bool,
    pub last_success: SystemTime,
}

/// The exporter's shared state.
#[derive(Debug)]
pub struct State {
    modules: RwLock<Arc<ModuleSet>>,
    latest: Mutex<BTreeMap<String, Latest>>,
    stats: Mutex<BTreeMap<String, RunStats>>,
    reload: Mutex<ReloadStatus>,
    /// One lock per profile, held during each scheduled run and kept across reloads: a run
    /// never overlaps the previous one of its profile, also when a reload restarts the schedule.
    run_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    stopping: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub fn new(modules: ModuleSet) -> Arc<State> {
        Arc::new(State {
            modules: RwLock::new(Arc::new(modules)),
            latest: Mutex::default(),
            stats: Mutex::default(),
            reload: Mutex::new(ReloadStatus {
                successful: true,
                last_success: SystemTime::now(),
            }),
            run_locks: Mutex::default(),
            stopping: AtomicBool::new(false),
        })
    }

    /// The check files in force.
    pub fn modules(&self) -> Arc<ModuleSet> {
        Arc::clone(&self.modules.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts a new set of files in force, and forgets the results of profiles it no longer
    /// schedules (their series would otherwise stay on /metrics forever).
    pub fn replace_modules(&self, modules: ModuleSet) {
        {
            let mut latest = lock(&self.latest);
            latest.retain(|profile, _| modules.get(profile).is_some_and(|m| m.scheduled.is_some()));
        }
        *self.modules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(modules);
        *lock(&self.reload) = ReloadStatus {
            successful: true,
            last_success: SystemTime::now(),
        };
    }

    /// A reload that failed: the files in force stay.
    pub fn reload_failed(&self) {
        lock(&self.reload).successful = false;
    }

    pub fn reload_status(&self) -> ReloadStatus {
        *lock(&self.reload)
    }

    /// The lock that keeps the runs of `profile` from overlapping.
    pub fn run_lock(&self, profile: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.run_locks).entry(profile.to_owned()).or_default())
    }

    /// Records a finished scheduled run of `profile`.
    pub fn record(&self, profile: &str, latest: Latest, succeeded: bool, duration: Duration) {
        let finished = SystemTime::now();
        {
            let mut stats = lock(&self.stats);
            let entry = stats.entry(profile.to_owned()).or_default();
            if succeeded {
                entry.successes += 1;
                entry.last_success = Some(finished);
            } else {
                entry.failures += 1;
            }
            entry.last_duration = duration;
            entry.last_run = Some(finished);
        }
        // A run of a profile that a reload has meanwhile removed is not shown.
        if self.modules().get(profile).is_some_and(|m| m.scheduled.is_some()) {
            lock(&self.latest).insert(profile.to_owned(), latest);
        }
    }

    /// The latest result of every scheduled profile that has one, in profile order.
    pub fn latest(&self) -> Vec<(String, Latest)> {
        lock(&self.latest)
            .iter()
            .map(|(profile, latest)| (profile.clone(), latest.clone()))
            .collect()
    }

    pub fn latest_of(&self, profile: &str) -> Option<Latest> {
        lock(&self.latest).get(profile).cloned()
    }

    pub fn stats(&self) -> BTreeMap<String, RunStats> {
        lock(&self.stats).clone()
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
