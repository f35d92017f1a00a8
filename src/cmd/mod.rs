//! The subcommands, one file each. Every command turns its arguments into a [`Plan`] through
//! spec validation and hands it to one [`session::Session`], which runs it and reports; usage
//! problems are found before anything is probed and exit with [`exit::USAGE`].
//!
//! [`Plan`]: crate::spec::Plan

/// `eprintln!` that cannot panic: with stderr closed (`2>&-`) or unwritable there is nowhere left
/// to report anything, so a failed write is dropped, and the exit code still tells the outcome.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
pub(crate) use stderr_line;

/// `println!` for a line that only accompanies the outcome (a Nagios status when the run could
/// not start): a closed stdout drops it rather than panicking.
macro_rules! stdout_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use stdout_line;

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
