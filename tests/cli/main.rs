//! Integration tests: the built `reach` binary against servers the tests start themselves, on
//! loopback or inside network namespaces the tests create. No other traffic.

mod util;

mod architecture;

mod cli;
mod completions;
mod demo;
mod dns;
mod dns_server;
mod http;
mod http_servers;
mod lab;
mod netns;
mod pki;
mod profiles;
mod scan;
mod spec_errors;
mod tcp;
mod tls;
