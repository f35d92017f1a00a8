//! One DNS query over its own TCP connection (RFC 7766 framing: a two-byte length, then the
//! message), for `protocol = "tcp"` and for answers that came back truncated over UDP.
//!
//! The connection carries this one query, so the first message back must be its answer: a
//! wrong id, QR=0 or another question ends the query as a `dns-error` at once.

use super::error::{QueryError, Transport};
use super::wire::{encode_query, read_header, read_reply, Question, Reply, Unusable};
use std::net::SocketAddr;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Asks `question` over a new TCP connection to `server`, before `deadline`.
pub async fn exchange(
    server: SocketAddr,
    question: &Question,
    deadline: Instant,
) -> Result<Reply, QueryError> {
    let started = Instant::now();
    match tokio::time::timeout_at(deadline.into(), ask(server, question)).await {
        Ok(result) => result,
        Err(_) => Err(QueryError::Timeout {
            waited: started.elapsed(),
            sent: 1,
        }),
    }
}

async fn ask(server: SocketAddr, question: &Question) -> Result<Reply, QueryError> {
    let io = |e| QueryError::from_io(Transport::Tcp, e);
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    let _ = stream.set_nodelay(true);
    let id = random_id();
    let query = encode_query(id, question, true).map_err(QueryError::Encode)?;
    let length = u16::try_from(query.len()).unwrap_or(u16::MAX);
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(&query);
    stream.write_all(&framed).await.map_err(io)?;
    let mut length = [0u8; 2];
    if let Err(e) = stream.read_exact(&mut length).await {
        return Err(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => QueryError::Closed,
            _ => io(e),
        });
    }
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream
        .read_exact(&mut message)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => QueryError::Closed,
            _ => io(e),
        })?;
    let header = read_header(&message).map_err(QueryError::Unusable)?;
    if header.id() != id {
        return Err(QueryError::Unusable(Unusable::WrongId {
            got: header.id(),
            want: id,
        }));
    }
    read_reply(&message, &header, question).map_err(QueryError::Unusable)
}

fn random_id() -> u16 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 2];
    // On failure the id is 0: still matched exactly, on a connection of its own.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    u16::from_be_bytes(bytes)
}
