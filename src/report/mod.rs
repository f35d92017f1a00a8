//! Reports: each output format is its own module and reads the same result types; none of them
//! changes a result. Writing to a file is atomic (a temporary file in the same directory, then a
//! rename), so a reader never sees half a report.

pub mod human;
pub mod json;
pub mod listeners;
pub mod progress;
pub mod scan;
pub mod tls_table;

use crate::run::RunReport;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// Where a report goes. A file destination is opened (as a temporary file beside the target)
/// before anything is probed, so an unwritable `-o` path is a usage error, not a lost run.
pub enum Destination {
    Stdout,
    File {
        temp: tempfile::NamedTempFile,
        path: PathBuf,
    },
}

impl Destination {
    pub fn open(path: Option<&Path>) -> io::Result<Destination> {
        let Some(path) = path else {
            return Ok(Destination::Stdout);
        };
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".reach-report-");
        // A temporary file is private (0600), but the report is an ordinary output file: a
        // Prometheus textfile or a CI artifact is read by another user. Like `> file`, the
        // umask decides.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(dir)?;
        Ok(Destination::File {
            temp,
            path: path.to_owned(),
        })
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self, Destination::Stdout)
    }

    /// Writes the whole report; a file appears under its name only once it is complete.
    pub fn write(self, text: &str) -> io::Result<()> {
        match self {
            Destination::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(text.as_bytes())?;
                stdout.flush()
            }
            Destination::File { mut temp, path } => {
                temp.write_all(text.as_bytes())?;
                temp.as_file().sync_all()?;
                temp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}
