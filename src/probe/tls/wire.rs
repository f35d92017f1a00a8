//! One raw connection of a TLS probe: opened under the per-host connection cap, bounded by one
//! deadline from connect to the last read, and read only as far as the probe asks.

use crate::text::rounded;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Why a read stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The probe's condition was met.
    Enough,
    /// The server closed the connection (FIN).
    Closed,
    /// The server reset the connection.
    Reset,
    /// The deadline passed.
    TimedOut,
    /// Another socket error.
    Failed(String),
}

impl fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadEnd::Enough => f.write_str("the answer was read"),
            ReadEnd::Closed => f.write_str("the server closed the connection"),
            ReadEnd::Reset => f.write_str("the server reset the connection"),
            ReadEnd::TimedOut => f.write_str("no answer in time"),
            ReadEnd::Failed(why) => f.write_str(why),
        }
    }
}

/// Why a raw probe of a TLS server could not go on. Kept typed, with the operating system's
/// error where there is one, until it is written into a check's detail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    #[error("no connection within {}", rounded(*.0))]
    ConnectTimeout(Duration),
    #[error("connect: {0}")]
    Connect(Arc<io::Error>),
    #[error("sending: {0}")]
    Send(Arc<io::Error>),
    #[error("no answer within {}", rounded(*.0))]
    NoAnswer(Duration),
    #[error("cut short: the check's {} timeout ran out", rounded(*.0))]
    OutOfTime(Duration),
    /// A read that ended before the answer was whole, with what the probe was reading.
    #[error("{what}: {end}")]
    Ended { what: &'static str, end: ReadEnd },
    /// What the server sent that the probe cannot go on with, in words.
    #[error("{0}")]
    Answer(String),
    /// What reach's own client does not do (a suite or group it cannot complete).
    #[error("{0}")]
    Unsupported(&'static str),
    /// A failure on this host (no randomness, a key that cannot be made).
    #[error("{0}")]
    Local(&'static str),
    /// The TLS library's own handshake failed, in words.
    #[error("{what}: {detail}")]
    Handshake { what: &'static str, detail: String },
}

/// A connection and everything read from it so far.
pub struct Wire<'a> {
    _permit: SemaphorePermit<'a>,
    stream: TcpStream,
    pub received: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
}

impl<'a> Wire<'a> {
    /// Connects to `address` once a connection slot is free; `timeout` bounds the whole
    /// connection, connect included.
    pub async fn open(
        limit: &'a Semaphore,
        address: SocketAddr,
        timeout: Duration,
    ) -> Result<Wire<'a>, ProbeError> {
        // The semaphore is never closed, so acquiring only fails in theory.
        let permit = limit
            .acquire()
            .await
            .map_err(|_| ProbeError::Local("the connection limit was closed"))?;
        let deadline = Instant::now() + timeout;
        let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
            Err(_) => return Err(ProbeError::ConnectTimeout(timeout)),
            Ok(Err(e)) => return Err(ProbeError::Connect(Arc::new(e))),
            Ok(Ok(stream)) => stream,
        };
        // Small records go out at once: several probes send two records back to back.
        let _ = stream.set_nodelay(true);
        Ok(Wire {
            _permit: permit,
            stream,
            received: Vec::new(),
            deadline,
            timeout,
        })
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ProbeError> {
        match tokio::time::timeout_at(self.deadline, self.stream.write_all(bytes)).await {
            Err(_) => Err(ProbeError::NoAnswer(self.timeout)),
            Ok(Err(e)) => Err(ProbeError::Send(Arc::new(e))),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads until `enough(&received)` holds, the server closes, or the deadline passes.
    pub async fn read_until(&mut self, enough: impl Fn(&[u8]) -> bool) -> ReadEnd {
        let mut buf = [0u8; 8192];
        loop {
            if enough(&self.received) {
                return ReadEnd::Enough;
            }
            match tokio::time::timeout_at(self.deadline, self.stream.read(&mut buf)).await {
                Err(_) => return ReadEnd::TimedOut,
                Ok(Ok(0)) => return ReadEnd::Closed,
                Ok(Ok(n)) => self.received.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return end_of(&e),
            }
        }
    }

    /// Reads exactly `n` more bytes (and not one more: what a vulnerable server leaks past them
    /// stays unread in the socket).
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ReadEnd> {
        let mut out = vec![0u8; n];
        match tokio::time::timeout_at(self.deadline, self.stream.read_exact(&mut out)).await {
            Err(_) => Err(ReadEnd::TimedOut),
            Ok(Ok(_)) => Ok(out),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Err(ReadEnd::Closed),
            Ok(Err(e)) => Err(end_of(&e)),
        }
    }

    /// The connection slot and the socket, for a TLS library to take over.
    pub fn into_parts(self) -> (SemaphorePermit<'a>, TcpStream) {
        (self._permit, self.stream)
    }

    /// The connection's time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// "no answer within 5s", for details.
    pub fn timed_out(&self) -> String {
        format!("no answer within {}", crate::text::rounded(self.timeout))
    }
}

fn end_of(e: &io::Error) -> ReadEnd {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ReadEnd::Reset,
        _ => ReadEnd::Failed(e.to_string()),
    }
}
