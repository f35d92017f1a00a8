//! `reach schema`: the JSON Schema of the JSON report.

use super::session::print;

/// `reach schema --help`.
pub const HELP: &str = "\
Exit codes:
  0  the schema was written (or its reader closed the pipe)
  2  stdout could not be written

Example:
  reach schema > reach-report.schema.json";

pub fn execute() -> u8 {
    print(crate::report::SCHEMA)
}
