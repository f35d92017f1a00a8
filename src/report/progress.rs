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
        if matches!(outcome.status, Status::Fail | Status::Error) {
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
