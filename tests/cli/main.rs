//! Integration tests: the built `reach` binary against servers the tests start themselves, on
//! loopback or inside network namespaces the tests create. No other traffic.

mod util;

mod cli;
mod dns;
mod dns_server;
mod netns;
mod spec_errors;
mod tcp;
