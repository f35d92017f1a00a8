//! HTTP through hyper's connection API, one stage at a time: [`connection`] opens a connection
//! (dns, tcp, proxy tunnel or SOCKS5, tls with ALPN) timed on one [`clock`], [`exchange`] sends
//! one request on it or on a pooled one over HTTP/1.1 or HTTP/2, [`redirect`] says what may
//! follow a redirect, [`stage`] says where a failure happened, and [`check`] is the `http`
//! check kind. The websocket and endpoint kinds use the same pieces.

pub mod check;
pub mod clock;
pub mod connection;
pub mod exchange;
pub mod keys;
pub mod origin;
pub mod pool;
pub mod proxy_env;
pub mod redirect;
pub mod rules;
pub mod sender;
pub mod settings;
pub mod socks;
pub mod stage;
pub mod tunnel;
