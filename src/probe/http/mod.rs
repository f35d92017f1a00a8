//! HTTP through hyper's connection API, one stage at a time: [`connection`] opens a connection
//! (dns, tcp, proxy tunnel, tls), [`exchange`] sends one request on it or on a pooled one,
//! [`stage`] says where a failure happened, and [`check`] is the `http` check kind. The
//! websocket and endpoint kinds use the same pieces.

pub mod check;
pub mod connection;
pub mod exchange;
pub mod keys;
pub mod origin;
pub mod pool;
pub mod proxy_env;
pub mod settings;
pub mod stage;
