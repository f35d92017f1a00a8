//! Integration tests: the built `reach` binary against servers the tests start themselves, on
//! loopback or inside network namespaces the tests create. No other traffic.

mod util;

mod architecture;

mod cli;
mod completions;
mod consumers;
mod demo;
mod dns;
mod dns_server;
mod escaping;
mod files;
mod filters;
mod http;
mod http_servers;
mod lab;
mod messages;
mod netns;
mod pki;
mod profiles;
mod reports;
mod scan;
mod spec_errors;
mod tcp;
mod timeouts;
mod tls;
mod tls_deep;
mod validate;
mod verdicts;
