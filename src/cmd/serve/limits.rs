//! How many `/probe` requests run at once: at most `--max-probes-per-client` for one client
//! address and `--max-probes` in all. A request over a limit is refused at once (429 for one
//! client, 503 for the server) rather than queued: Prometheus' scrape timeout would run out in
//! the queue, and a refusal says why on its Targets page.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// `/probe` requests in flight, by client address.
#[derive(Debug)]
pub struct ProbeLimits {
    per_client: usize,
    global: usize,
    in_flight: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This client already has `limit` probes running.
    Client { limit: usize },
    /// The server already runs `limit` probes.
    Server { limit: usize },
}

impl Refusal {
    /// The reason, for the plain-text body of the answer.
    pub fn reason(&self, client: IpAddr) -> String {
        match self {
            Refusal::Client { limit } => format!(
                "too many probes at once from {client}: {limit} are running (--max-probes-per-client)"
            ),
            Refusal::Server { limit } => {
                format!("the exporter is busy: {limit} probes are running (--max-probes)")
            }
        }
    }
}

/// A running probe's place; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ProbeLimits>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.limits.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.by_client.remove(&self.client);
            }
        }
    }
}

impl ProbeLimits {
    pub fn new(per_client: usize, global: usize) -> Arc<ProbeLimits> {
        Arc::new(ProbeLimits {
            per_client,
            global,
            in_flight: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits one more probe of `client`, or says which limit it is over.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Slot, Refusal> {
        let mut counts = self.lock();
        let mine = counts.by_client.get(&client).copied().unwrap_or(0);
        if mine >= self.per_client {
            return Err(Refusal::Client {
                limit: self.per_client,
            });
        }
        if counts.total >= self.global {
            return Err(Refusal::Server { limit: self.global });
        }
        counts.total += 1;
        *counts.by_client.entry(client).or_insert(0) += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            client,
        })
    }

    /// Probes running now.
    pub fn running(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_share_and_all_share_the_cap() {
        let limits = ProbeLimits::new(2, 3);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::Client { limit: 2 });
        let _third = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).unwrap_err(), Refusal::Server { limit: 3 });
        drop(first);
        assert_eq!(limits.running(), 2);
        assert!(limits.admit(b).is_ok());
    }
}
