//! The subcommands, one file each. Every command turns its arguments into a [`Plan`] through
//! spec validation and hands it to one [`session::Session`], which runs it and reports; usage
//! problems are found before anything is probed and exit with [`exit::USAGE`].
//!
//! [`Plan`]: crate::spec::Plan

pub mod args;
pub mod completions;
pub mod demo;
pub mod exit;
pub mod listeners;
pub mod man;
pub mod outputs;
pub mod run;
pub mod scan;
pub mod schema;
pub mod serve;
pub mod session;
pub mod tls;
pub mod validate;
