//! Adaptive per-port timeouts from measured round-trip times, as nmap and TCP itself do it
//! (RFC 6298): a smoothed RTT and its variation, timeout = srtt + 4·rttvar, clamped.
//!
//! The floor keeps a burst of fast answers from shrinking the timeout below what a briefly busy
//! host needs; the ceiling is the user's `--timeout`. Until the first answer arrives there is
//! nothing to measure, so probes wait the ceiling (at most [`INITIAL`]).

use std::time::Duration;

/// Timeout before any RTT has been measured (nmap's initial RTT timeout).
pub const INITIAL: Duration = Duration::from_secs(1);
/// The lowest timeout ever used (nmap's default `--min-rtt-timeout`).
pub const FLOOR: Duration = Duration::from_millis(100);

/// The RTT estimate of one target address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttEstimator {
    smoothed: Option<Duration>,
    variation: Duration,
    ceiling: Duration,
}

impl RttEstimator {
    /// An estimator whose timeouts never exceed `ceiling`.
    pub fn new(ceiling: Duration) -> Self {
        RttEstimator {
            smoothed: None,
            variation: Duration::ZERO,
            ceiling,
        }
    }

    /// Feeds the time one probe took to get a definite answer (SYN-ACK or RST).
    pub fn observe(&mut self, rtt: Duration) {
        match self.smoothed {
            None => {
                self.smoothed = Some(rtt);
                self.variation = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.variation = (self.variation * 3 + delta) / 4;
                self.smoothed = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// How long the next probe should wait for an answer.
    pub fn timeout(&self) -> Duration {
        let floor = FLOOR.min(self.ceiling);
        match self.smoothed {
            None => INITIAL.min(self.ceiling),
            Some(srtt) => (srtt + self.variation * 4).clamp(floor, self.ceiling),
        }
    }

    /// The timeout of a retry of a port that stayed silent: twice the current estimate, so that
    /// a host that is merely slow gets a real second chance before a port is called filtered.
    /// It is based on what is known now rather than on the first attempt's timeout, which may
    /// have been the uninformed [`INITIAL`] one.
    pub fn retry_timeout(&self) -> Duration {
        (self.timeout() * 2).min(self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn before_any_answer_the_initial_timeout_applies_within_the_ceiling() {
        assert_eq!(RttEstimator::new(Duration::from_secs(3)).timeout(), INITIAL);
        assert_eq!(RttEstimator::new(300 * MS).timeout(), 300 * MS);
    }

    #[test]
    fn fast_answers_bring_the_timeout_down_to_the_floor_and_no_lower() {
        let mut rtt = RttEstimator::new(Duration::from_secs(3));
        for _ in 0..20 {
            rtt.observe(Duration::from_micros(50));
        }
        assert_eq!(rtt.timeout(), FLOOR);
    }

    #[test]
    fn slow_and_jittery_answers_raise_it() {
        let mut rtt = RttEstimator::new(Duration::from_secs(3));
        for sample in [200, 400, 250, 600, 300] {
            rtt.observe(sample * MS);
        }
        let timeout = rtt.timeout();
        assert!(timeout > 600 * MS, "{timeout:?}");
        assert!(timeout <= Duration::from_secs(3));
    }

    #[test]
    fn a_retry_waits_twice_as_long_up_to_the_ceiling() {
        let mut rtt = RttEstimator::new(Duration::from_secs(1));
        assert_eq!(
            rtt.retry_timeout(),
            Duration::from_secs(1),
            "uninformed: the ceiling"
        );
        rtt.observe(MS);
        assert_eq!(rtt.retry_timeout(), 2 * FLOOR);
        for _ in 0..10 {
            rtt.observe(700 * MS);
        }
        assert_eq!(rtt.retry_timeout(), Duration::from_secs(1));
    }
}
