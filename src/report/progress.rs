//! The progress line on stderr while a run goes on. It is drawn only when stderr is a terminal,
//! and only once a run has lasted long enough for people to wonder.

use crate::outcome::{Outcome, Status};
use crate::run::Progress;
use crate::spec::Check;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs shorter than this never show a bar, so quick runs leave no flicker.
const SHOW_AFTER: Duration = Duration::from_millis(500);
/// Runs with this many checks show the bar from the start: they are long scans.
const SHOW_AT_ONCE: usize = 200;

/// An indicatif bar on stderr.
pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    failed: AtomicUsize,
}

impl Bar {
    /// A bar when stderr is a terminal, `None` otherwise.
    pub fn on_terminal() -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} checks  {msg}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Some(Bar {
            bar,
            started: Instant::now(),
            failed: AtomicUsize::new(0),
        })
    }
}

impl Bar {
    fn show(&self) {
        if self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
    }
}

impl Progress for Bar {
    fn start(&self, selected: usize) {
        self.bar.set_length(selected as u64);
        if selected >= SHOW_AT_ONCE {
            self.show();
        }
    }

    fn finished(&self, _check: &Check, outcome: &Outcome) {
        if matches!(outcome.status(), Status::Fail | Status::Error) {
            let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{failed} not passing"));
        }
        if self.started.elapsed() >= SHOW_AFTER {
            self.show();
        }
        self.bar.inc(1);
    }

    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar over ports rather than checks, for `reach scan`: it reads the scan's port counters
/// from a small thread while the runner works, and is drawn only when stderr is a terminal.
pub struct PortBar {
    bar: ProgressBar,
    counters: std::sync::Arc<crate::probe::scan::shared::PortProgress>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ticker: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl PortBar {
    /// A bar when stderr is a terminal, `None` otherwise.
    pub fn on_terminal(
        counters: std::sync::Arc<crate::probe::scan::shared::PortProgress>,
    ) -> Option<PortBar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} ports  {msg}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Some(PortBar {
            bar,
            counters,
            stop: std::sync::Arc::default(),
            ticker: std::sync::Mutex::new(None),
        })
    }
}

impl Progress for PortBar {
    fn start(&self, _selected: usize) {
        let (bar, counters, stop) = (
            self.bar.clone(),
            std::sync::Arc::clone(&self.counters),
            std::sync::Arc::clone(&self.stop),
        );
        let started = Instant::now();
        let ticker = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // Like the check bar: a scan that ends quickly leaves no flicker.
                if bar.is_hidden() && started.elapsed() >= SHOW_AFTER {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                }
                let (done, total, open) = counters.snapshot();
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(format!("{open} open"));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        if let Ok(mut slot) = self.ticker.lock() {
            *slot = Some(ticker);
        }
    }

    fn done(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.lock().ok().and_then(|mut slot| slot.take()) {
            let _ = ticker.join();
        }
        self.bar.finish_and_clear();
    }
}
