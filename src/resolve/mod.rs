//! Name resolution for every probe and for the `dns` check kind, with reach's own stub resolver
//! on hickory-proto's message codec: [`addresses`] finds the addresses of a host for the probes,
//! [`records`] asks servers for the records of a `dns` check, [`resolver`] decides who is asked,
//! [`exchange`] asks one server over UDP ([`udp`], shared sockets with retransmission) or TCP
//! ([`tcp`]), [`wire`] encodes and reads messages, [`answer`] turns a reply into reach's terms,
//! [`rtt`] paces retransmissions, [`window`] bounds the queries in flight per server, [`system`] reads resolv.conf and /etc/hosts, [`overrides`]
//! parses `--resolve`, and [`error`] says why a question went unanswered.

pub mod addresses;
pub mod answer;
pub mod error;
pub mod exchange;
pub mod overrides;
pub mod records;
pub mod resolver;
pub mod rtt;
pub mod system;
pub mod tcp;
pub mod udp;
pub mod window;
pub mod wire;

pub use addresses::Resolved;
pub use error::{QueryError, ResolveError};
pub use overrides::ResolveOverride;
pub use resolver::Resolver;
