//! Connections kept open between requests, so that checks against the same origin (and the
//! samples of one check) reuse them, and a per-origin cap on requests in flight.

use super::origin::{ConnInfo, Origin};
use crate::spec::request::ProxyUrl;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 1024;
/// Requests in flight to one origin (through one proxy) at a time. A run of a thousand checks
/// against one API then opens at most this many connections and reuses them, instead of
/// opening one per check like a burst of curl processes would.
pub const MAX_CONNECTIONS_PER_ORIGIN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub origin: Origin,
    pub proxy: Option<ProxyUrl>,
}

pub struct Idle {
    pub sender: SendRequest<Full<Bytes>>,
    pub info: ConnInfo,
}

/// Idle connections by origin, and each origin's gate.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    in_flight: Mutex<HashMap<PoolKey, Arc<Semaphore>>>,
}

impl Pool {
    /// A turn to use a connection to `key`'s origin.
    pub async fn turn(&self, key: &PoolKey) -> Option<OwnedSemaphorePermit> {
        let gate = {
            let mut gates = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                gates
                    .entry(key.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_ORIGIN))),
            )
        };
        // Reach's own queue, not the target's slowness: the wait does not count against the
        // attempt's timeout.
        crate::probe::watch::queue(gate.acquire_owned()).await.ok()
    }

    pub fn take_idle(&self, key: &PoolKey) -> Option<Idle> {
        let mut pool = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let idle = pool.get_mut(key)?;
        while let Some(found) = idle.pop() {
            if found.sender.is_ready() {
                return Some(found);
            }
        }
        None
    }

    pub fn put_idle(&self, key: PoolKey, idle: Idle) {
        let mut pool = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = pool.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(idle);
        }
    }
}
