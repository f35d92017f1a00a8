//! When to send a DNS query again: the retransmission interval of one server, from the round-trip
//! times its answers took (RFC 6298's estimator, as stub resolvers such as systemd-resolved and
//! recursive ones such as unbound keep one per server).
//!
//! Every transmission carries its own id, so every answer is a clean sample, retransmitted
//! queries included: a server that slows down under load is measured, not guessed at.

use std::time::Duration;

/// The interval before any answer was measured: long enough for a recursive resolver that has
/// to ask the internet, short enough that a datagram lost at the start costs little.
pub const INITIAL: Duration = Duration::from_millis(250);
/// The shortest interval: below it, a busy server's queue would be flooded with duplicates.
pub const FLOOR: Duration = Duration::from_millis(50);
/// The longest interval between two transmissions of one query.
pub const CEILING: Duration = Duration::from_secs(2);

/// The round-trip estimate of one server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rtt {
    smoothed: Option<Duration>,
    variation: Duration,
}

impl Rtt {
    /// Feeds the time one transmission took to be answered.
    pub fn observe(&mut self, sample: Duration) {
        match self.smoothed {
            None => {
                self.smoothed = Some(sample);
                self.variation = sample / 2;
            }
            Some(srtt) => {
                self.variation = (self.variation * 3 + srtt.abs_diff(sample)) / 4;
                self.smoothed = Some((srtt * 7 + sample) / 8);
            }
        }
    }

    /// How long to wait for an answer before the first retransmission.
    pub fn interval(&self) -> Duration {
        match self.smoothed {
            None => INITIAL,
            Some(srtt) => (srtt + self.variation * 4).clamp(FLOOR, CEILING),
        }
    }

    /// The interval before transmission number `sent + 1` of one query: doubled after each
    /// unanswered transmission (exponential backoff), within [`CEILING`].
    pub fn backoff(&self, sent: u32) -> Duration {
        let doubled = self
            .interval()
            .saturating_mul(1u32 << sent.saturating_sub(1).min(8));
        doubled.min(CEILING.max(self.interval()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn before_any_answer_the_initial_interval_applies() {
        assert_eq!(Rtt::default().interval(), INITIAL);
        assert_eq!(Rtt::default().backoff(1), INITIAL);
        assert_eq!(Rtt::default().backoff(2), INITIAL * 2);
    }

    #[test]
    fn a_fast_server_is_asked_again_soon_but_never_below_the_floor() {
        let mut rtt = Rtt::default();
        for _ in 0..50 {
            rtt.observe(MS / 5);
        }
        assert_eq!(rtt.interval(), FLOOR);
    }

    #[test]
    fn a_server_that_slows_down_under_load_gets_a_longer_interval_at_once() {
        let mut rtt = Rtt::default();
        for _ in 0..50 {
            rtt.observe(2 * MS);
        }
        // A burst queues up at the server: answers take 40 ms, then 80 ms.
        rtt.observe(40 * MS);
        let after_one = rtt.interval();
        assert!(after_one >= 40 * MS, "{after_one:?}");
        rtt.observe(80 * MS);
        assert!(rtt.interval() > 80 * MS, "{:?}", rtt.interval());
    }

    #[test]
    fn jitter_widens_the_interval_beyond_the_mean() {
        let mut rtt = Rtt::default();
        for sample in [10, 90, 10, 90, 10, 90, 10, 90].map(|ms| ms * MS) {
            rtt.observe(sample);
        }
        // Mean 50 ms; with the variation the interval covers the slow answers.
        assert!(rtt.interval() > 90 * MS, "{:?}", rtt.interval());
    }

    #[test]
    fn backoff_doubles_within_the_ceiling() {
        let mut rtt = Rtt::default();
        rtt.observe(100 * MS);
        let first = rtt.interval();
        assert_eq!(rtt.backoff(2), first * 2);
        assert_eq!(rtt.backoff(30), CEILING);
    }
}
