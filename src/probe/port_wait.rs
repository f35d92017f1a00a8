//! How long a `tcp` check waits for one address to answer, and when its silence makes the port
//! `filtered`.
//!
//! The rule ([`Ladder`]): until the host has answered anything in the run there is no round trip
//! to go by, and the first connect waits for what is left of the check's `timeout`. Once the host
//! has answered (any probe of the run: a `tcp` check, a scan), a connect waits the host's
//! round-trip timeout (srtt + 4·rttvar, at least 100 ms, at most the check's `timeout`); a port
//! still silent gets a fresh connect (`retries` of them) waiting twice the estimate, while the
//! earlier connects stay open, so a late answer to any of them still counts. The port is called
//! `filtered` at the end of that ladder only if the same host answered another probe sent at most
//! [`FRESH`] before this port's first connect, or later: a host that answers probes sent with or
//! after this port's while this port stays silent is not merely slow (answers to older probes
//! would not show a slowdown that began since). Otherwise (the host fell silent too) the wait goes on to
//! the check's `timeout`, and the runner's retries apply as before.
//!
//! Every wait is recomputed whenever the host's estimate changes: a first answer elsewhere
//! shortens an uninformed wait, a slow answer lengthens the ladder.

use super::connect::{self, Started};
use super::rtt::{HostRtt, HostTiming};
use crate::outcome::{AddressProbe, ExpiredWait, PortEvidence, PortState, WaitBasis};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long before a port's first connect another probe to the host may have been sent for its
/// answer to show that the host answers at its usual pace (the scheduling gap between checks
/// started together).
pub const FRESH: Duration = Duration::from_millis(10);

/// The waits of one port's connects.
#[derive(Debug, Clone, Copy)]
pub struct Ladder {
    /// The check's `timeout`: no wait is longer.
    ceiling: Duration,
    /// When the check's attempt must end.
    end: Instant,
    /// Fresh connects a silent port gets after the first.
    retries: u32,
    first_sent: Instant,
    last_sent: Instant,
    connects: u32,
}

/// What to do when a wait runs out with no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Make a fresh connect and wait again.
    Resend,
    /// The port is `filtered`, for good.
    Filtered,
    /// The check's time is up: the port is `filtered` as far as this attempt can tell.
    GiveUp,
}

/// The wait in force: until when, why that long, and what follows if it runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub until: Instant,
    pub basis: WaitBasis,
    pub then: Then,
}

impl Ladder {
    /// The ladder of a port whose first connect was sent at `sent`.
    pub fn new(sent: Instant, end: Instant, ceiling: Duration, retries: u32) -> Ladder {
        Ladder {
            ceiling,
            end,
            retries,
            first_sent: sent,
            last_sent: sent,
            connects: 1,
        }
    }

    /// The wait in force, given what is known of the host now.
    pub fn step(&self, host: &HostTiming) -> Step {
        let to_the_end = |basis| Step {
            until: self.end,
            basis,
            then: Then::GiveUp,
        };
        let estimate = host.estimate;
        let (Some(first), Some(retry)) = (
            estimate.timeout(self.ceiling),
            estimate.retry_timeout(self.ceiling),
        ) else {
            return to_the_end(WaitBasis::CheckTimeout);
        };
        let (timeout, basis) = if self.connects == 1 {
            (first, WaitBasis::Rtt)
        } else {
            (retry, WaitBasis::RttRetry)
        };
        let until = self.last_sent + timeout;
        if until >= self.end {
            return to_the_end(WaitBasis::CheckTimeout);
        }
        if self.connects <= self.retries {
            return Step {
                until,
                basis,
                then: Then::Resend,
            };
        }
        let host_answers = host
            .answered_sent
            .is_some_and(|sent| sent + FRESH >= self.first_sent);
        if host_answers {
            Step {
                until,
                basis,
                then: Then::Filtered,
            }
        } else {
            to_the_end(WaitBasis::HostSilent)
        }
    }

    /// Records a fresh connect sent at `at`.
    pub fn resent(&mut self, at: Instant) {
        self.last_sent = at;
        self.connects += 1;
    }

    /// How long the newest connect has been waited for at `at`.
    fn waited(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.last_sent)
    }
}

/// What the connects to one address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortWait {
    pub probe: AddressProbe,
    pub connects: u32,
    pub timeouts: Vec<ExpiredWait>,
    pub elapsed: Duration,
}

/// Whether an answer came from the host itself and so measures its round trip.
fn measures_rtt(probe: &AddressProbe) -> bool {
    matches!(probe, AddressProbe::State { evidence, .. } if evidence.measures_rtt())
}

fn silent(probe: &AddressProbe) -> bool {
    matches!(
        probe,
        AddressProbe::State {
            evidence: PortEvidence::NoResponse,
            ..
        }
    )
}

/// Connects to `target` by the [`Ladder`]'s rule, feeding and following `host`'s estimate, and
/// ends by `end` at the latest.
pub async fn probe(
    target: SocketAddr,
    host: HostRtt,
    end: Instant,
    ceiling: Duration,
    retries: u32,
) -> PortWait {
    let started = Instant::now();
    let mut changes = host.subscribe();
    let mut in_flight = FuturesUnordered::new();
    let mut timeouts = Vec::new();
    let done = |probe: AddressProbe, connects, timeouts| PortWait {
        probe,
        connects,
        timeouts,
        elapsed: started.elapsed(),
    };
    // Starts one connect: its answer if it came at once, else it joins the ones in flight.
    let start = |in_flight: &mut FuturesUnordered<_>| -> Option<AddressProbe> {
        let sent = Instant::now();
        let probe = match connect::start_connect(target, None) {
            Started::Connected(socket) => connect::established(&socket),
            Started::Answered { probe, .. } => probe,
            Started::Waiting(socket) => {
                let left = end.saturating_duration_since(sent);
                in_flight.push(async move { (sent, connect::wait_for_answer(socket, left).await) });
                return None;
            }
        };
        if measures_rtt(&probe) {
            host.observe(sent.elapsed());
        }
        Some(probe)
    };
    if let Some(probe) = start(&mut in_flight) {
        return done(probe, 1, timeouts);
    }
    let mut ladder = Ladder::new(started, end, ceiling, retries);
    loop {
        let step = ladder.step(&changes.borrow_and_update());
        tokio::select! {
            Some((sent, probe)) = in_flight.next() => {
                // A connect that waited to the end without an answer: the step's own wait,
                // which ends no later, settles the port.
                if silent(&probe) {
                    continue;
                }
                if measures_rtt(&probe) {
                    host.observe(sent.elapsed());
                }
                return done(probe, ladder.connects, timeouts);
            }
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(step.until)) => {
                timeouts.push(ExpiredWait {
                    timeout: ladder.waited(step.until),
                    basis: step.basis,
                });
                if step.then != Then::Resend {
                    let filtered = AddressProbe::State {
                        state: PortState::Filtered,
                        evidence: PortEvidence::NoResponse,
                    };
                    return done(filtered, ladder.connects, timeouts);
                }
                ladder.resent(Instant::now());
                if let Some(probe) = start(&mut in_flight) {
                    return done(probe, ladder.connects, timeouts);
                }
            }
            Ok(()) = changes.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::rtt::FLOOR;

    const MS: Duration = Duration::from_millis(1);
    const TIMEOUT: Duration = Duration::from_secs(3);

    /// How a simulated port behaves: answers after the host's RTT at the time of the SYN, or
    /// never (a DROP rule).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Port {
        Answers,
        Dropped,
    }

    /// What the simulation concluded for one port.
    #[derive(Debug)]
    struct Verdict {
        port: Port,
        answered: bool,
        settled: bool,
        timeouts: Vec<ExpiredWait>,
    }

    /// A discrete-event run of the ladder: `checks` are (start offset, port kind), the host's
    /// round trip for a SYN sent at offset t is `rtt(t)`, all checks share one estimate.
    fn simulate(
        checks: &[(Duration, Port)],
        rtt: impl Fn(Duration) -> Duration,
        retries: u32,
    ) -> Vec<Verdict> {
        let zero = Instant::now();
        let mut host = HostTiming::default();
        struct Live {
            port: Port,
            ladder: Option<Ladder>,
            syns: Vec<Instant>,
            timeouts: Vec<ExpiredWait>,
            end: Instant,
            done: Option<(bool, bool)>,
        }
        let mut live: Vec<Live> = checks
            .iter()
            .map(|&(start, port)| Live {
                port,
                ladder: None,
                syns: Vec::new(),
                timeouts: Vec::new(),
                end: zero + start + TIMEOUT,
                done: None,
            })
            .collect();
        loop {
            // The next event: a check starting, an answer arriving, or a wait running out.
            let mut next: Option<(Instant, usize, u8)> = None;
            let mut consider = |at: Instant, index: usize, kind: u8| {
                if next.is_none_or(|(t, _, _)| at < t) {
                    next = Some((at, index, kind));
                }
            };
            for (index, check) in live.iter().enumerate() {
                if check.done.is_some() {
                    continue;
                }
                match &check.ladder {
                    None => consider(zero + checks[index].0, index, 0),
                    Some(ladder) => {
                        if check.port == Port::Answers {
                            for &sent in &check.syns {
                                consider(sent + rtt(sent - zero), index, 1);
                            }
                        }
                        consider(ladder.step(&host).until.min(check.end), index, 2);
                    }
                }
            }
            let Some((now, index, kind)) = next else { break };
            let check = &mut live[index];
            match kind {
                0 => {
                    check.ladder = Some(Ladder::new(now, check.end, TIMEOUT, retries));
                    check.syns.push(now);
                }
                1 => {
                    let sent = check
                        .syns
                        .iter()
                        .copied()
                        .find(|&s| s + rtt(s - zero) == now)
                        .unwrap();
                    host.observe_at(now - sent, now);
                    check.done = Some((true, true));
                }
                _ => {
                    let ladder = check.ladder.as_mut().unwrap();
                    let step = ladder.step(&host);
                    check.timeouts.push(ExpiredWait {
                        timeout: ladder.waited(now),
                        basis: step.basis,
                    });
                    match step.then {
                        Then::Resend => {
                            ladder.resent(now);
                            check.syns.push(now);
                        }
                        Then::Filtered => check.done = Some((false, true)),
                        Then::GiveUp => check.done = Some((false, false)),
                    }
                }
            }
        }
        live.into_iter()
            .map(|check| {
                let (answered, settled) = check.done.unwrap();
                Verdict {
                    port: check.port,
                    answered,
                    settled,
                    timeouts: check.timeouts,
                }
            })
            .collect()
    }

    /// A jittery but reproducible RTT: `base` ± `jitter`, from a small linear congruential
    /// sequence over the send time.
    fn jittery(base: u64, jitter: u64) -> impl Fn(Duration) -> Duration {
        move |at: Duration| {
            let seed = at.as_micros() as u64;
            let noise = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 33;
            Duration::from_millis(base - jitter + noise % (2 * jitter + 1))
        }
    }

    fn assert_truthful(verdicts: &[Verdict]) {
        for v in verdicts {
            match v.port {
                Port::Answers => assert!(v.answered, "an answering port was called filtered: {v:?}"),
                Port::Dropped => assert!(!v.answered, "{v:?}"),
            }
        }
    }

    #[test]
    fn the_issue_case_settles_dropped_ports_within_a_few_round_trip_timeouts() {
        // 80 and 443 open, 6379 reset (all answer at once on a near link), 22 and 5432 dropped,
        // all started together.
        let checks = [
            (Duration::ZERO, Port::Dropped),
            (Duration::ZERO, Port::Answers),
            (Duration::ZERO, Port::Answers),
            (Duration::ZERO, Port::Dropped),
            (Duration::ZERO, Port::Answers),
        ];
        let verdicts = simulate(&checks, |_| Duration::from_micros(60), 1);
        assert_truthful(&verdicts);
        for v in verdicts.iter().filter(|v| v.port == Port::Dropped) {
            assert!(v.settled, "{v:?}");
            let bases: Vec<WaitBasis> = v.timeouts.iter().map(|w| w.basis).collect();
            assert_eq!(bases, [WaitBasis::Rtt, WaitBasis::RttRetry]);
            let waited: Duration = v.timeouts.iter().map(|w| w.timeout).sum();
            assert_eq!(waited, FLOOR * 3, "the floor, then twice the floor");
        }
    }

    #[test]
    fn jitter_never_turns_an_open_port_into_a_filtered_one() {
        // (base, jitter, whether the ladder fits in the 3 s timeout): at 800 ± 400 ms twice the
        // round-trip timeout exceeds it, and dropped ports are waited for to the end.
        for (base, jitter, fits) in [(200, 50, true), (20, 19, true), (800, 400, false)] {
            // Twenty open ports and three dropped ones, started 7 ms apart, in two rounds.
            let checks: Vec<(Duration, Port)> = (0..46)
                .map(|i| {
                    let port = if i % 8 == 3 { Port::Dropped } else { Port::Answers };
                    (7 * MS * i + Duration::from_secs(u64::from(i >= 23)), port)
                })
                .collect();
            let verdicts = simulate(&checks, jittery(base, jitter), 1);
            assert_truthful(&verdicts);
            let dropped: Vec<&Verdict> = verdicts.iter().filter(|v| v.port == Port::Dropped).collect();
            for v in dropped {
                assert_eq!(v.settled, fits, "{base}±{jitter}: {v:?}");
                let last = v.timeouts.last().unwrap().basis;
                if fits {
                    assert_eq!(last, WaitBasis::RttRetry, "{base}±{jitter}: {v:?}");
                } else {
                    assert_eq!(last, WaitBasis::CheckTimeout, "{base}±{jitter}: {v:?}");
                }
            }
        }
    }

    #[test]
    fn a_sudden_slowdown_never_turns_an_open_port_into_a_filtered_one() {
        // Checks every 50 ms; at 1 s the host's round trip jumps from 1 ms to 400 ms (then to
        // 2.5 s at 3 s, close to the check's timeout).
        let checks: Vec<(Duration, Port)> = (0..100)
            .map(|i| {
                let port = if i % 5 == 4 { Port::Dropped } else { Port::Answers };
                (50 * MS * i, port)
            })
            .collect();
        let slowdown = |at: Duration| match at.as_millis() {
            0..1000 => MS,
            1000..3000 => 400 * MS,
            _ => 2500 * MS,
        };
        let verdicts = simulate(&checks, slowdown, 1);
        assert_truthful(&verdicts);
        // Before the slowdown, dropped ports are settled by the ladder.
        assert!(
            verdicts[4].settled && verdicts[9].settled,
            "{:?}",
            &verdicts[..10]
        );
    }

    #[test]
    fn before_the_host_answers_anything_the_whole_timeout_is_waited() {
        let verdicts = simulate(&[(Duration::ZERO, Port::Dropped)], |_| MS, 1);
        assert_eq!(verdicts[0].timeouts.len(), 1);
        assert_eq!(
            verdicts[0].timeouts[0],
            ExpiredWait {
                timeout: TIMEOUT,
                basis: WaitBasis::CheckTimeout
            }
        );
        assert!(!verdicts[0].settled, "the runner retries it");
    }

    #[test]
    fn a_host_that_falls_silent_is_waited_for_to_the_end() {
        // One early answer, then a dropped port a second later with nothing else in flight.
        let checks = [
            (Duration::ZERO, Port::Answers),
            (Duration::from_secs(1), Port::Dropped),
        ];
        let verdicts = simulate(&checks, |_| MS, 1);
        let bases: Vec<WaitBasis> = verdicts[1].timeouts.iter().map(|w| w.basis).collect();
        assert_eq!(bases, [WaitBasis::Rtt, WaitBasis::HostSilent]);
        assert!(!verdicts[1].settled);
    }

    #[tokio::test]
    async fn a_loopback_port_answers_at_once_and_feeds_the_estimate() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = HostRtt::unshared();
        let end = Instant::now() + TIMEOUT;
        let seen = probe(listener.local_addr().unwrap(), host.clone(), end, TIMEOUT, 1).await;
        assert_eq!(seen.probe, connect::open());
        assert_eq!((seen.connects, seen.timeouts.len()), (1, 0));
        assert!(host.snapshot().estimate.sampled());
    }
}
