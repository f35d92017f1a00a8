//! Reports: each output format is its own module and reads the same result types; none of them
//! changes a result. [`output`] says where a report goes: a file is replaced atomically, a pipe
//! or a device is written through.

pub mod escape;
pub mod human;
pub mod json;
pub mod listeners;
pub mod output;
pub mod progress;
pub mod scan;
pub mod tls_table;

pub use output::{Destination, OutputError};

use crate::run::RunReport;

/// The JSON Schema of the JSON report, as published by `reach schema`.
pub const SCHEMA: &str = include_str!("schema.json");

/// Output formats of `reach run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Human,
    /// The versioned JSON report (`reach schema` prints its schema).
    Json,
}

/// Renders a report in a format; colour applies to the human format only.
pub fn render(report: &RunReport, format: Format, color: bool) -> String {
    match format {
        Format::Human => human::render(report, color),
        Format::Json => json::render(report),
    }
}
