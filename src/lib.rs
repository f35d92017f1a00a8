//! reach: a network and endpoint reachability tester.
//!
//! Dependencies point one way (docs/design.md): [`cli`] -> [`cmd`] -> ([`run`], [`report`]) ->
//! [`probe`] -> ([`spec`], [`outcome`], [`resolve`], and the data of [`tls`], [`dns`] and
//! [`services`]). [`spec`] turns check files into a plan without touching the network, [`run`]
//! executes the plan with [`probe`]s, and [`report`] renders the [`outcome`]s. [`classify`] is
//! the one place where foreign errors become reach's vocabulary.

pub mod classify;
pub mod cli;
pub mod cmd;
pub mod dns;
pub mod input;
pub mod outcome;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod run;
pub mod services;
pub mod spec;
pub mod text;
pub mod tls;
pub mod trust;
