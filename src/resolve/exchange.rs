//! One question to one server over the protocol a check asks for: UDP with EDNS0 on the run's
//! shared sockets, again without EDNS0 if the server does not understand it, and over TCP when
//! the UDP answer is truncated (unless the check says UDP only).

use super::error::QueryError;
use super::tcp;
use super::udp::UdpServer;
use super::wire::{Question, Reply};
use crate::dns::DnsProtocol;
use hickory_proto::op::ResponseCode;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The transports of a run: one set of shared UDP sockets per server, opened on first use.
#[derive(Default)]
pub struct Transports {
    udp: Mutex<HashMap<SocketAddr, Arc<UdpServer>>>,
}

impl Transports {
    fn udp(&self, server: SocketAddr) -> Result<Arc<UdpServer>, QueryError> {
        // A poisoned lock only means another query panicked; the map itself is still sound.
        let mut servers = self.udp.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = servers.get(&server).filter(|open| open.is_alive()) {
            return Ok(Arc::clone(open));
        }
        // Not kept when it fails (no route, no descriptor left): the next query tries again.
        let open = Arc::new(
            UdpServer::open(server).map_err(|e| QueryError::from_io(super::error::Transport::Udp, e))?,
        );
        servers.insert(server, Arc::clone(&open));
        Ok(open)
    }

    /// Asks `server` for `question` over `protocol`, until `deadline`.
    pub async fn ask(
        &self,
        server: SocketAddr,
        question: &Question,
        protocol: DnsProtocol,
        deadline: Instant,
    ) -> Result<Reply, QueryError> {
        if protocol == DnsProtocol::Tcp {
            return tcp::exchange(server, question, deadline).await;
        }
        let udp = self.udp(server)?;
        let mut reply = udp.exchange(question, true, deadline).await?;
        if reply.code == ResponseCode::FormErr && !reply.edns {
            // RFC 6891 §7: a server that does not know EDNS0 answers FORMERR without an OPT
            // record; it is asked again the old way.
            reply = udp.exchange(question, false, deadline).await?;
        }
        if reply.truncated {
            return match protocol {
                DnsProtocol::Udp => Err(QueryError::Truncated),
                _ => tcp::exchange(server, question, deadline).await,
            };
        }
        Ok(reply)
    }
}
