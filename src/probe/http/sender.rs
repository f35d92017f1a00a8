//! One side of an HTTP connection: an HTTP/1.1 sender (one request at a time) or an HTTP/2 one
//! (cloned and multiplexed), behind one type so the pool and the exchange need not care which.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest response head accepted: a server whose headers go on past this has not finished them.
pub const MAX_HEAD: usize = 64 * 1024;

/// A sender of either version.
pub enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Starts HTTP/1.1 or HTTP/2 (`h2`) on an open stream and spawns the connection's driver.
    /// The HTTP/2 handshake only writes the preface: a server that does not speak HTTP/2 shows
    /// up at the first request.
    pub async fn start<S>(stream: S, h2: bool) -> hyper::Result<Sender>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(stream);
        if h2 {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .max_header_list_size(MAX_HEAD as u32)
                .handshake(io)
                .await?;
            // Its errors reach the requests waiting on it; nothing to do here.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(Sender::H2(sender))
        } else {
            let (sender, connection) = h1_builder().handshake(io).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(Sender::H1(sender))
        }
    }

    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(_))
    }

    /// Another handle on an HTTP/2 connection (HTTP/1.1 carries one request at a time).
    pub fn share(&self) -> Option<Sender> {
        match self {
            Sender::H1(_) => None,
            Sender::H2(s) => Some(Sender::H2(s.clone())),
        }
    }

    /// Waits until the connection can take a request; an error means it closed.
    pub async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::H1(s) => s.ready().await,
            Sender::H2(s) => s.ready().await,
        }
    }

    pub fn is_ready(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_ready(),
            Sender::H2(s) => s.is_ready(),
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    /// Sends a request; resolves with the response head.
    pub async fn send(
        &mut self,
        request: http::Request<Full<Bytes>>,
    ) -> hyper::Result<http::Response<Incoming>> {
        match self {
            Sender::H1(s) => s.send_request(request).await,
            Sender::H2(s) => s.send_request(request).await,
        }
    }
}

/// The HTTP/1.1 settings every connection uses (WebSocket upgrades too).
pub fn h1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.max_header_size(MAX_HEAD);
    builder
}
