//! How many queries one server has in flight at once: a window that grows while answers come and
//! halves when a query goes unanswered for its retransmission interval (additive increase,
//! multiplicative decrease, as TCP's congestion window). A run with a thousand checks would
//! otherwise send a thousand datagrams in one burst into a server whose receive queue holds a
//! few hundred, and every one it drops costs a retransmission interval.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The window before anything is known about the server.
const START: f64 = 64.0;
/// The window never shrinks below this: a slow server still gets queries.
const FLOOR: f64 = 16.0;
/// Nor grows beyond this.
const CEILING: f64 = 4096.0;

/// The in-flight window of one server.
pub struct Window {
    state: Mutex<State>,
}

struct State {
    limit: f64,
    /// Below it the window grows by one per answer (doubling per round trip), above it by one
    /// per window's worth of answers.
    threshold: f64,
    in_flight: usize,
    /// Queries waiting for room, in arrival order.
    waiting: VecDeque<oneshot::Sender<()>>,
    /// When the window last shrank: one loss signal per retransmission interval, as a burst
    /// of losses is one congestion event.
    last_cut: Option<Instant>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            state: Mutex::new(State {
                limit: START,
                threshold: CEILING,
                in_flight: 0,
                waiting: VecDeque::new(),
                last_cut: None,
            }),
        }
    }
}

impl State {
    fn room(&self) -> bool {
        // The limit is at least FLOOR, so the cast is of a small positive number.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let limit = self.limit as usize;
        self.in_flight < limit
    }

    /// Lets waiting queries in while there is room.
    fn admit(&mut self) {
        while self.room() {
            let Some(next) = self.waiting.pop_front() else {
                return;
            };
            self.in_flight += 1;
            if next.send(()).is_err() {
                // It gave up waiting (its deadline passed); the room goes to the next one.
                self.in_flight -= 1;
            }
        }
    }
}

impl Window {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a query panicked; the counts are still sound.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for room for one more query; the room is given back when the admission is dropped.
    pub async fn enter(&self) -> Admission<'_> {
        let granted = {
            let mut state = self.state();
            if state.waiting.is_empty() && state.room() {
                state.in_flight += 1;
                return Admission { window: self };
            }
            let (grant, granted) = oneshot::channel();
            state.waiting.push_back(grant);
            granted
        };
        let mut waiting = Waiting {
            window: self,
            granted: Some(granted),
        };
        if let Some(granted) = waiting.granted.as_mut() {
            // The window lives as long as its server: the sender is not dropped unsent.
            let _ = granted.await;
        }
        waiting.granted = None;
        Admission { window: self }
    }

    /// An answer came: the window grows.
    pub fn answered(&self) {
        let mut state = self.state();
        state.limit += if state.limit < state.threshold {
            1.0
        } else {
            1.0 / state.limit
        };
        state.limit = state.limit.min(CEILING);
        state.admit();
    }

    /// A query went unanswered for `interval`: the window halves, once per interval.
    pub fn lost(&self, interval: Duration) {
        let now = Instant::now();
        let mut state = self.state();
        if state
            .last_cut
            .is_some_and(|cut| now.saturating_duration_since(cut) < interval)
        {
            return;
        }
        state.last_cut = Some(now);
        state.threshold = (state.limit / 2.0).max(FLOOR);
        state.limit = state.threshold;
    }

    fn leave(&self) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.admit();
    }

    #[cfg(test)]
    fn limit(&self) -> f64 {
        self.state().limit
    }
}

/// Room for one query in a server's window.
pub struct Admission<'a> {
    window: &'a Window,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.window.leave();
    }
}

/// A query waiting for room; if it stops waiting after room was given, the room is given back.
struct Waiting<'a> {
    window: &'a Window,
    granted: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut granted) = self.granted.take() {
            granted.close();
            if granted.try_recv().is_ok() {
                self.window.leave();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_window_holds_queries_back_and_lets_them_in_as_others_finish() {
        let window = Window::default();
        let mut admitted = Vec::new();
        for _ in 0..64 {
            admitted.push(window.enter().await);
        }
        let waiting = tokio::time::timeout(Duration::from_millis(50), window.enter()).await;
        assert!(waiting.is_err(), "the 65th query waits");
        // The one that gave up holds no room: when one finishes, the next comes in at once.
        admitted.pop();
        let next = tokio::time::timeout(Duration::from_millis(50), window.enter()).await;
        assert!(next.is_ok());
    }

    #[test]
    fn answers_grow_the_window_and_a_loss_halves_it_once_per_interval() {
        let window = Window::default();
        for _ in 0..64 {
            window.answered();
        }
        assert!((window.limit() - 128.0).abs() < f64::EPSILON);
        window.lost(Duration::from_secs(1));
        window.lost(Duration::from_secs(1));
        assert!((window.limit() - 64.0).abs() < f64::EPSILON, "{}", window.limit());
        // Above the threshold it grows by about one per window of answers.
        for _ in 0..64 {
            window.answered();
        }
        assert!(window.limit() < 66.0, "{}", window.limit());
        for _ in 0..20 {
            window.state().last_cut = None;
            window.lost(Duration::from_secs(1));
        }
        assert!((window.limit() - FLOOR).abs() < f64::EPSILON);
    }
}
