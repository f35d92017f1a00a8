//! Integration tests: the built `reach` binary against servers the tests start themselves, on
//! loopback or inside network namespaces the tests create. No other traffic.

mod util;

mod cli;
mod netns;
mod pki;
mod spec_errors;
mod tcp;
mod tls;
