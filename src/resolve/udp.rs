//! The UDP transport of one DNS server, shared by every query of the run: a few connected
//! sockets, each with one task that reads every datagram and hands it to the query it answers.
//!
//! - A datagram answers a query when its id is one of the ids the query was sent with and its
//!   question is the query's. Anything else is never accepted: an unknown id may belong to
//!   nobody (a late duplicate is dropped silently), but it is kept as evidence for the queries
//!   that asked the same question, so a server that only ever answers with wrong ids ends as a
//!   `dns-error` that says so, not as a bare timeout.
//! - A query is sent again, with a fresh id, when no answer came within the server's
//!   retransmission interval ([`super::rtt`]), until the attempt's deadline.
//! - At most a window of queries is in flight per server ([`super::window`]); the others wait.
//! - The sockets are connected, so the server's ICMP port unreachable comes back as
//!   `ECONNREFUSED` and ends the queries waiting on that socket at once.

use super::error::{Evidence, QueryError, Transport};
use super::rtt::Rtt;
use super::window::Window;
use super::wire::{encode_query, read_header, read_question, read_reply, Question, Reply, Section, Unusable};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Sockets per server: several source ports and receive queues, few descriptors.
const LANES: usize = 4;
/// Receive buffer asked for each socket (the kernel caps it at net.core.rmem_max), so a burst
/// of answers to a thousand queries in flight is not dropped on this side.
const RECEIVE_BUFFER: usize = 1 << 20;
/// The largest datagram read; a server may ignore the EDNS payload reach offered.
const MAX_DATAGRAM: usize = 65_535;
/// Ids of finished queries remembered per socket, so late and duplicate answers (a
/// retransmitted query answered twice) are recognised and dropped.
const FINISHED: usize = 8_192;

/// The shared UDP sockets of one server.
pub struct UdpServer {
    lanes: Vec<Arc<Lane>>,
    receivers: Vec<JoinHandle<()>>,
    next: AtomicUsize,
    rtt: Mutex<Rtt>,
    window: Window,
}

impl Drop for UdpServer {
    fn drop(&mut self) {
        for receiver in &self.receivers {
            receiver.abort();
        }
    }
}

impl UdpServer {
    /// Opens the sockets, connected to `server`, and starts their readers (in the current
    /// tokio runtime).
    pub fn open(server: SocketAddr) -> io::Result<UdpServer> {
        let mut lanes = Vec::with_capacity(LANES);
        let mut receivers = Vec::with_capacity(LANES);
        for _ in 0..LANES {
            let lane = Arc::new(Lane::open(server)?);
            receivers.push(tokio::spawn(Arc::clone(&lane).receive()));
            lanes.push(lane);
        }
        Ok(UdpServer {
            lanes,
            receivers,
            next: AtomicUsize::new(0),
            rtt: Mutex::new(Rtt::default()),
            window: Window::default(),
        })
    }

    /// Whether the sockets' readers still run (they stop with the runtime that started them).
    pub fn is_alive(&self) -> bool {
        self.receivers.iter().all(|receiver| !receiver.is_finished())
    }

    fn rtt(&self) -> MutexGuard<'_, Rtt> {
        // A poisoned lock only means a query panicked; the estimate itself is still sound.
        self.rtt.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks `question` until an answer comes or `deadline` passes, sending it again on the
    /// server's retransmission interval.
    pub async fn exchange(
        &self,
        question: &Question,
        edns: bool,
        deadline: Instant,
    ) -> Result<Reply, QueryError> {
        let started = Instant::now();
        let Ok(admission) = tokio::time::timeout_at(deadline.into(), self.window.enter()).await else {
            return Err(QueryError::NotSent {
                waited: started.elapsed(),
            });
        };
        let lane = &self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()];
        let (deliver, mut delivered) = oneshot::channel();
        let waiter = Arc::new(Waiter {
            question: question.clone(),
            state: Mutex::new(WaiterState {
                deliver: Some(deliver),
                evidence: Evidence::default(),
                last_id: 0,
            }),
        });
        let mut registration = Registration {
            lane,
            waiter: Arc::clone(&waiter),
            ids: Vec::new(),
        };
        let mut sent = 0u32;
        // Held until the first answer or the first retransmission interval, whichever comes
        // first: a query that went unanswered counts as lost, as a TCP segment does, so names a
        // server never answers (a resolver that drops AAAA queries) do not starve the others;
        // its retransmissions are few, spaced by the backoff.
        let mut admission = Some(admission);
        loop {
            let id = registration.register();
            let bytes = encode_query(id, question, edns).map_err(QueryError::Encode)?;
            if let Err(e) = lane.socket.send(&bytes).await {
                return Err(QueryError::from_io(Transport::Udp, e));
            }
            sent += 1;
            let wait = self.rtt().backoff(sent);
            let wake = (Instant::now() + wait).min(deadline);
            match tokio::time::timeout_at(wake.into(), &mut delivered).await {
                Ok(Ok(Delivery::Reply { reply, rtt })) => {
                    self.rtt().observe(rtt);
                    self.window.answered();
                    return Ok(reply);
                }
                Ok(Ok(Delivery::Unusable(unusable))) => return Err(QueryError::Unusable(unusable)),
                Ok(Ok(Delivery::Failed(error))) => return Err(QueryError::from_io(Transport::Udp, error)),
                Ok(Err(_)) => {
                    return Err(QueryError::from_io(
                        Transport::Udp,
                        io::Error::other("the socket's reader stopped"),
                    ))
                }
                Err(_) => {
                    if admission.take().is_some() {
                        self.window.lost(wait);
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        let evidence = std::mem::take(&mut waiter.state().evidence);
        let waited = started.elapsed();
        Err(if evidence.is_empty() {
            QueryError::Timeout { waited, sent }
        } else {
            QueryError::NoUsableAnswer { waited, evidence }
        })
    }
}

/// What the reader hands to a waiting query.
enum Delivery {
    /// The answer, and how long the transmission it answers took.
    Reply { reply: Reply, rtt: Duration },
    /// A response to the query (its id and question) that cannot be used.
    Unusable(Unusable),
    /// The socket failed (the server's ICMP port unreachable: `ECONNREFUSED`).
    Failed(io::Error),
}

/// A query waiting for its answer.
struct Waiter {
    question: Question,
    state: Mutex<WaiterState>,
}

struct WaiterState {
    /// Taken by the first delivery: one answer ends the query.
    deliver: Option<oneshot::Sender<Delivery>>,
    evidence: Evidence,
    /// The id of the latest transmission, for messages.
    last_id: u16,
}

impl Waiter {
    fn state(&self) -> MutexGuard<'_, WaiterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deliver(&self, delivery: Delivery) {
        if let Some(deliver) = self.state().deliver.take() {
            // The query may have given up already; then nobody needs the answer.
            let _ = deliver.send(delivery);
        }
    }

    fn keep(&self, unusable: Unusable) {
        self.state().evidence.push(unusable);
    }
}

/// One transmission of a query.
struct Sent {
    waiter: Arc<Waiter>,
    at: Instant,
}

/// One connected socket and the queries waiting on it.
struct Lane {
    socket: UdpSocket,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    waiting: HashMap<u16, Sent>,
    /// Ids of finished queries, oldest first.
    finished: VecDeque<u16>,
    finished_set: HashSet<u16>,
    /// Random bytes for ids, refilled in blocks.
    random: Vec<u8>,
}

impl Table {
    /// A random id that no waiting or recently finished query uses.
    fn fresh_id(&mut self) -> u16 {
        loop {
            if self.random.len() < 2 {
                let mut block = vec![0u8; 512];
                // The system's generator does not fail on Linux; a fixed block would still give
                // ids that are unique among those in flight, which is what matching needs.
                let _ = SystemRandom::new().fill(&mut block);
                self.random = block;
            }
            let low = self.random.pop().unwrap_or_default();
            let high = self.random.pop().unwrap_or_default();
            let id = u16::from_be_bytes([high, low]);
            if !self.waiting.contains_key(&id) && !self.finished_set.contains(&id) {
                return id;
            }
            if self.random.is_empty() && self.waiting.len() + self.finished_set.len() >= usize::from(u16::MAX)
            {
                // Every id is taken (cannot happen with the bounds above); forget the oldest.
                if let Some(old) = self.finished.pop_front() {
                    self.finished_set.remove(&old);
                }
            }
        }
    }

    fn finish(&mut self, id: u16) {
        if self.waiting.remove(&id).is_some() {
            if self.finished.len() >= FINISHED {
                if let Some(old) = self.finished.pop_front() {
                    self.finished_set.remove(&old);
                }
            }
            self.finished.push_back(id);
            self.finished_set.insert(id);
        }
    }
}

impl Lane {
    fn open(server: SocketAddr) -> io::Result<Lane> {
        let local = match server.ip() {
            IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        };
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(server),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        socket.set_nonblocking(true)?;
        // Best effort: a smaller buffer only means more retransmissions under load.
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
        socket.bind(&local.into())?;
        socket.connect(&server.into())?;
        Ok(Lane {
            socket: UdpSocket::from_std(socket.into())?,
            table: Mutex::new(Table::default()),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads every datagram the server sends, until the server's transport is dropped.
    async fn receive(self: Arc<Lane>) {
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            match self.socket.recv(&mut buffer).await {
                Ok(len) => self.dispatch(&buffer[..len]),
                Err(e) => {
                    self.fail_all(&e);
                    // The error is reported once per ICMP message; should another one repeat,
                    // this loop must not spin.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }

    /// Hands one datagram to the query it answers, or keeps it as evidence.
    fn dispatch(&self, bytes: &[u8]) {
        let header = match read_header(bytes) {
            Ok(header) => header,
            Err(unusable) => return self.blame_all(&unusable),
        };
        let id = header.id();
        let table = self.table();
        if let Some(sent) = table.waiting.get(&id) {
            let (waiter, at) = (Arc::clone(&sent.waiter), sent.at);
            drop(table);
            return match read_reply(bytes, &header, &waiter.question) {
                Ok(reply) => waiter.deliver(Delivery::Reply {
                    reply,
                    rtt: at.elapsed(),
                }),
                // The id is the query's, but nothing says this is its answer: wait for one.
                Err(
                    e @ (Unusable::NotAResponse
                    | Unusable::OtherOpcode { .. }
                    | Unusable::OtherQuestion { .. }
                    | Unusable::NoQuestion
                    | Unusable::Malformed {
                        section: Section::Question,
                        ..
                    }),
                ) => waiter.keep(e),
                // The answer to this question, and it cannot be read.
                Err(e) => waiter.deliver(Delivery::Unusable(e)),
            };
        }
        if table.finished_set.contains(&id) {
            // A late or duplicate answer to a query that already has its answer.
            return;
        }
        let question = read_question(bytes, &header).ok().flatten();
        for sent in table.waiting.values() {
            let asked = &sent.waiter.question;
            let same = question
                .as_ref()
                .is_none_or(|q| q.name() == &asked.name && q.query_type() == asked.record_type);
            if same {
                let want = sent.waiter.state().last_id;
                sent.waiter.keep(Unusable::WrongId { got: id, want });
            }
        }
    }

    /// A datagram too short to carry an id: evidence for every query waiting on this socket,
    /// since it came from their server.
    fn blame_all(&self, unusable: &Unusable) {
        for sent in self.table().waiting.values() {
            sent.waiter.keep(unusable.clone());
        }
    }

    /// Ends every query waiting on this socket with the socket's error.
    fn fail_all(&self, error: &io::Error) {
        for sent in self.table().waiting.values() {
            let copy = match error.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(error.kind(), error.to_string()),
            };
            sent.waiter.deliver(Delivery::Failed(copy));
        }
    }
}

/// The ids a query was sent with; they stop matching when the query ends, however it ends.
struct Registration<'a> {
    lane: &'a Lane,
    waiter: Arc<Waiter>,
    ids: Vec<u16>,
}

impl Registration<'_> {
    fn register(&mut self) -> u16 {
        let mut table = self.lane.table();
        let id = table.fresh_id();
        table.waiting.insert(
            id,
            Sent {
                waiter: Arc::clone(&self.waiter),
                at: Instant::now(),
            },
        );
        drop(table);
        self.waiter.state().last_id = id;
        self.ids.push(id);
        id
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut table = self.lane.table();
        for &id in &self.ids {
            table.finish(id);
        }
    }
}
