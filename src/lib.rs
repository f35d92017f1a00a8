//! reach: a network and endpoint reachability tester.
//!
//! Stages are kept apart: [`spec`] turns check files into a plan without touching the network,
//! [`run`] executes the plan with [`probe`]s, and [`report`] renders the [`outcome`]s.
//! [`classify`] is the one place where foreign errors become reach's vocabulary.

pub mod app;
pub mod classify;
pub mod cli;
pub mod demo;
pub mod dns;
pub mod listeners;
pub mod outcome;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod run;
pub mod scan;
pub mod spec;
pub mod tls;
pub mod trust;
