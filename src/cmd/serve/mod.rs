//! `reach serve`: the Prometheus exporter (issue 13).

pub mod web_config;
