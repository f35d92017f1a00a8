//! Name resolution for every probe and for the `dns` check kind, through hickory-resolver:
//! [`resolver`] finds the addresses of a host for the probes, [`records`] asks servers for the
//! records of a `dns` check, [`overrides`] parses `--resolve`, and [`clients`] builds the
//! hickory resolvers they share.

pub mod clients;
pub mod overrides;
pub mod records;
pub mod resolver;

pub use overrides::ResolveOverride;
pub use resolver::{ResolveError, Resolved, Resolver};
