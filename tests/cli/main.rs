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
mod large;
mod messages;
mod netns;
mod pki;
mod profiles;
mod refusals;
mod reports;
mod scan;
mod serve;
mod serve_web;
mod spec_errors;
mod tcp;
mod tcp_firewall;
mod timeouts;
mod tls;
mod tls_deep;
mod validate;
mod verdicts;
