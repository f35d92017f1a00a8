//! What reach knows about TLS without touching the network: protocol versions, the cipher suite
//! table with OpenSSL and IANA names, Mozilla's server-side profiles, key-exchange groups and
//! well-known DH primes, the protocol features a policy can require, the raw hello codec used
//! for enumeration, and the rules of a TLS policy. Nothing here opens a connection or judges a
//! server: that is `probe::tls`.

pub mod codec;
pub mod dh;
mod feature;
pub mod groups;
pub mod mozilla;
pub mod policy;
mod suite;
mod suite_table;
pub mod suites;
mod version;

pub use feature::Feature;
pub use groups::{Group, GroupClass};
pub use suite::{Auth, Enc, Kx, Mac, Mode, Suite, WeakClass};
pub use version::Version;
