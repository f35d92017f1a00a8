//! `reach schema`: the JSON Schema of the JSON report.

use super::session::print;

pub fn execute() -> u8 {
    print(crate::report::SCHEMA)
}
