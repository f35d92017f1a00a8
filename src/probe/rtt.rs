//! Adaptive connect timeouts from measured round-trip times, as nmap and TCP itself do it
//! (RFC 6298): a smoothed RTT and its variation, timeout = srtt + 4·rttvar, clamped between
//! [`FLOOR`] and the caller's ceiling (the check's `timeout`).
//!
//! One estimate per host and run ([`RttTable`]): the scan engine and the `tcp` checks of a host
//! feed the same estimate and wait by it. The floor keeps a burst of fast answers from shrinking
//! the timeout below what a briefly busy host needs. Until the host's first answer there is
//! nothing to measure: the estimate has no timeout to offer, and each caller decides what to wait
//! (a scan [`INITIAL`], a `tcp` check its whole timeout).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A scan's timeout before any RTT has been measured (nmap's initial RTT timeout).
pub const INITIAL: Duration = Duration::from_secs(1);
/// The lowest timeout ever used (nmap's default `--min-rtt-timeout`).
pub const FLOOR: Duration = Duration::from_millis(100);

/// The RTT estimate of one target address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RttEstimator {
    smoothed: Option<Duration>,
    variation: Duration,
}

impl RttEstimator {
    /// An estimate with no sample yet.
    pub fn new() -> Self {
        RttEstimator::default()
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

    /// Whether any answer has been measured.
    pub fn sampled(&self) -> bool {
        self.smoothed.is_some()
    }

    /// How long the next probe should wait for an answer, at most `ceiling`; `None` before the
    /// first sample.
    pub fn timeout(&self, ceiling: Duration) -> Option<Duration> {
        let floor = FLOOR.min(ceiling);
        self.smoothed
            .map(|srtt| (srtt + self.variation * 4).clamp(floor, ceiling))
    }

    /// The timeout of a retry of a port that stayed silent: twice the current estimate, so that
    /// a host that is merely slow gets a real second chance before a port is called filtered.
    /// It is based on what is known now rather than on the first attempt's timeout, which may
    /// have been an uninformed one. `None` before the first sample.
    pub fn retry_timeout(&self, ceiling: Duration) -> Option<Duration> {
        self.timeout(ceiling).map(|t| (t * 2).min(ceiling))
    }
}

/// What a run knows about one host's round trips: the estimate, and how recent its answers are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTiming {
    pub estimate: RttEstimator,
    /// When the latest-sent probe that the host answered (with a SYN-ACK or a RST) was sent:
    /// its answer shows how the host behaved from then on.
    pub answered_sent: Option<Instant>,
}

impl HostTiming {
    /// Feeds an answer that came at `at`, `rtt` after its probe was sent.
    pub fn observe_at(&mut self, rtt: Duration, at: Instant) {
        self.estimate.observe(rtt);
        let sent = at.checked_sub(rtt).unwrap_or(at);
        self.answered_sent = Some(self.answered_sent.map_or(sent, |latest| latest.max(sent)));
    }
}

/// One host's shared estimate. Cheap to clone; every clone feeds and reads the same estimate, and
/// [`HostRtt::subscribe`] wakes a waiting probe whenever it changes.
#[derive(Debug, Clone)]
pub struct HostRtt(Arc<watch::Sender<HostTiming>>);

impl HostRtt {
    /// An estimate that no other probe shares.
    pub fn unshared() -> Self {
        HostRtt(Arc::new(watch::Sender::new(HostTiming::default())))
    }

    /// Feeds the time one probe took to get a definite answer that arrived now.
    pub fn observe(&self, rtt: Duration) {
        let now = Instant::now();
        self.0.send_modify(|timing| timing.observe_at(rtt, now));
    }

    /// The estimate as it stands.
    pub fn snapshot(&self) -> HostTiming {
        *self.0.borrow()
    }

    /// A receiver that is told of every change to the estimate.
    pub fn subscribe(&self) -> watch::Receiver<HostTiming> {
        self.0.subscribe()
    }
}

/// The estimates of every host a run probes, keyed by address.
#[derive(Debug, Default)]
pub struct RttTable(Mutex<HashMap<IpAddr, HostRtt>>);

impl RttTable {
    /// The shared estimate of `address`, made empty on first use.
    pub fn host(&self, address: IpAddr) -> HostRtt {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(address)
            .or_insert_with(HostRtt::unshared)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn before_any_answer_there_is_no_timeout_to_offer() {
        let rtt = RttEstimator::new();
        assert!(!rtt.sampled());
        assert_eq!(rtt.timeout(Duration::from_secs(3)), None);
        assert_eq!(rtt.retry_timeout(Duration::from_secs(3)), None);
    }

    #[test]
    fn fast_answers_bring_the_timeout_down_to_the_floor_and_no_lower() {
        let mut rtt = RttEstimator::new();
        for _ in 0..20 {
            rtt.observe(Duration::from_micros(50));
        }
        assert_eq!(rtt.timeout(Duration::from_secs(3)), Some(FLOOR));
        assert_eq!(
            rtt.timeout(50 * MS),
            Some(50 * MS),
            "the ceiling wins over the floor"
        );
    }

    #[test]
    fn slow_and_jittery_answers_raise_it() {
        let mut rtt = RttEstimator::new();
        for sample in [200, 400, 250, 600, 300] {
            rtt.observe(sample * MS);
        }
        let timeout = rtt.timeout(Duration::from_secs(3)).unwrap();
        assert!(timeout > 600 * MS, "{timeout:?}");
        assert!(timeout <= Duration::from_secs(3));
    }

    #[test]
    fn a_retry_waits_twice_as_long_up_to_the_ceiling() {
        let ceiling = Duration::from_secs(1);
        let mut rtt = RttEstimator::new();
        rtt.observe(MS);
        assert_eq!(rtt.retry_timeout(ceiling), Some(2 * FLOOR));
        for _ in 0..10 {
            rtt.observe(700 * MS);
        }
        assert_eq!(rtt.retry_timeout(ceiling), Some(ceiling));
    }

    #[test]
    fn every_host_has_one_estimate_that_all_its_probes_share() {
        let table = RttTable::default();
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        let told = table.host(a).subscribe();
        table.host(a).observe(20 * MS);
        assert!(told.has_changed().unwrap());
        assert!(table.host(a).snapshot().estimate.sampled());
        assert!(table.host(a).snapshot().answered_sent.is_some());
        assert!(!table.host(b).snapshot().estimate.sampled());
    }
}
