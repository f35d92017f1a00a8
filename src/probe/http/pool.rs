//! Connections kept open between requests, so that checks against the same origin (and the
//! samples of one check) reuse them, and a per-origin cap on requests in flight. HTTP/1.1
//! connections carry one request at a time and are taken and put back; HTTP/2 connections are
//! shared: every request to the origin clones the sender and multiplexes.

use super::origin::{ConnInfo, Origin};
use super::sender::Sender;
use crate::spec::request::{HttpVersion, ProxyUrl};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 1024;
/// Requests in flight to one origin (through one proxy) at a time. A run of a thousand checks
/// against one API then opens at most this many connections and reuses them, instead of
/// opening one per check like a burst of curl processes would. It also stays under the stream
/// limit HTTP/2 servers usually announce (100 or more), so a request never waits inside the
/// connection for a stream, where the wait would count as the server's time to first byte.
pub const MAX_CONNECTIONS_PER_ORIGIN: usize = 32;

/// What a connection may be reused for: the same origin, through the same proxy, with the
/// same version offer (a `1.1` check never rides an HTTP/2 connection), to the same address
/// when the check pinned one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub origin: Origin,
    pub proxy: Option<ProxyUrl>,
    pub version: HttpVersion,
    pub pin: Option<IpAddr>,
}

pub struct Idle {
    pub sender: Sender,
    pub info: ConnInfo,
}

impl Idle {
    /// Another handle on a shared (HTTP/2) connection.
    pub fn share(&self) -> Option<Idle> {
        Some(Idle {
            sender: self.sender.share()?,
            info: self.info.clone(),
        })
    }
}

/// Idle connections by origin, and each origin's gate.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    shared: Mutex<HashMap<PoolKey, Vec<Idle>>>,
    in_flight: Mutex<HashMap<PoolKey, Arc<Semaphore>>>,
    /// While an origin may speak HTTP/2, new connections to it open one at a time, so that a
    /// burst of checks shares the first one instead of opening one each.
    opening: Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Origins whose connection came back HTTP/1.1, or failed to open: their connections open
    /// in parallel (a failing origin must not make every check wait for the one before it).
    parallel: Mutex<HashSet<PoolKey>>,
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

    /// An open HTTP/2 connection to share, else an idle HTTP/1.1 one.
    pub fn take_idle(&self, key: &PoolKey) -> Option<Idle> {
        {
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = shared.get_mut(key) {
                list.retain(|idle| !idle.sender.is_closed());
                if let Some(found) = list.first().and_then(Idle::share) {
                    return Some(found);
                }
            }
        }
        let mut pool = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let idle = pool.get_mut(key)?;
        while let Some(found) = idle.pop() {
            if found.sender.is_ready() {
                return Some(found);
            }
        }
        None
    }

    /// Whether an open HTTP/2 connection to `key` is there to share.
    pub fn has_shared(&self, key: &PoolKey) -> bool {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared
            .get(key)
            .is_some_and(|list| list.iter().any(|idle| !idle.sender.is_closed()))
    }

    /// Keeps a connection for later requests: an HTTP/1.1 one once its answer was read, an
    /// HTTP/2 one as soon as it is open (it is shared, not handed back).
    pub fn put_idle(&self, key: PoolKey, idle: Idle) {
        let map = if idle.sender.is_h2() {
            &self.shared
        } else {
            &self.idle
        };
        let mut pool = map.lock().unwrap_or_else(|p| p.into_inner());
        let list = pool.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(idle);
        }
    }

    /// The gate to hold while opening a connection to `key`, or `None` when connections to it
    /// open in parallel (it cannot be, or was not, HTTP/2).
    pub fn opening_gate(&self, key: &PoolKey, may_be_h2: bool) -> Option<Arc<tokio::sync::Mutex<()>>> {
        if !may_be_h2
            || self
                .parallel
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(key)
        {
            return None;
        }
        let mut gates = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        Some(Arc::clone(gates.entry(key.clone()).or_default()))
    }

    /// Lets connections to `key` open in parallel from now on.
    pub fn open_in_parallel(&self, key: &PoolKey) {
        self.parallel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone());
    }

    /// Stops sharing the HTTP/2 connection `id` (it failed a request without saying it closed).
    pub fn forget(&self, key: &PoolKey, id: u64) {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = shared.get_mut(key) {
            list.retain(|idle| idle.info.id != id);
        }
    }
}
