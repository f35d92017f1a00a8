//! `--baseline PREV.json`: a previous JSON report, read and checked before anything is probed
//! (a missing file, another schema version or something that is not a reach report stops the
//! command with exit code 2), then compared with this run.

use super::changes::{self, Changes};
use super::json::{Report, SCHEMA_VERSION};
use super::snapshot::Snapshot;
use crate::run::RunReport;
use serde::Deserialize;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A baseline larger than this is refused: a 100,000-check report is about 110 MiB.
pub const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Why a baseline cannot be used; nothing was probed.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("the baseline {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("the baseline {} is larger than {} MiB", path.display(), MAX_BYTES / 1024 / 1024)]
    TooLarge { path: PathBuf },
    #[error("the baseline {} is not a JSON report: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the baseline {} is not a reach JSON report (no schema_version, or another tool's)", path.display())]
    NotAReport { path: PathBuf },
    #[error(
        "the baseline {} has schema_version {found}; this reach compares schema_version {SCHEMA_VERSION} \
         only: start a new baseline with this version",
        path.display()
    )]
    Schema { path: PathBuf, found: u64 },
}

/// A previous report, ready to be compared with this run.
#[derive(Debug, Clone)]
pub struct Baseline {
    file: String,
    snapshot: Snapshot,
}

#[derive(Deserialize)]
struct Header {
    schema_version: Option<u64>,
    tool: Option<ToolHeader>,
}

#[derive(Deserialize)]
struct ToolHeader {
    name: String,
}

impl Baseline {
    /// Reads and checks the baseline at `path`.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let read = |source| BaselineError::Read {
            path: path.to_owned(),
            source,
        };
        // Checked before opening: opening a FIFO would wait for a writer.
        let metadata = std::fs::metadata(path).map_err(read)?;
        if !metadata.is_file() {
            return Err(BaselineError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read)?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(BaselineError::TooLarge {
                path: path.to_owned(),
            });
        }
        Baseline::parse(&path.display().to_string(), &bytes)
    }

    /// Checks and reads the text of a report; `file` names it in the changes.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Baseline, BaselineError> {
        let here = PathBuf::from(file);
        let header: Header = serde_json::from_slice(bytes).map_err(|source| BaselineError::NotJson {
            path: here.clone(),
            source,
        })?;
        let found = match (header.schema_version, header.tool) {
            (Some(version), Some(tool)) if tool.name == "reach" => version,
            _ => return Err(BaselineError::NotAReport { path: here }),
        };
        if found != u64::from(SCHEMA_VERSION) {
            return Err(BaselineError::Schema { path: here, found });
        }
        let snapshot = serde_json::from_slice(bytes).map_err(|source| BaselineError::NotJson {
            path: here.clone(),
            source,
        })?;
        Ok(Baseline {
            file: file.to_owned(),
            snapshot,
        })
    }

    /// What changed from the baseline to `report`. The run is read through its own JSON
    /// rendering, so both sides are compared on exactly the same facts.
    pub fn compare(&self, report: &RunReport) -> Result<Changes, serde_json::Error> {
        let now: Snapshot = serde_json::to_value(Report::from(report)).and_then(serde_json::from_value)?;
        Ok(Changes::new(
            self.file.clone(),
            self.snapshot.started_at.clone(),
            changes::diff(&self.snapshot, &now),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::snapshot::Snapshot;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reports")
    }

    fn validator() -> jsonschema::Validator {
        let schema: serde_json::Value = serde_json::from_str(crate::report::SCHEMA).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    }

    fn change_json(change: &changes::Change) -> serde_json::Value {
        serde_json::json!({
            "id": change.id,
            "what": change.what.as_str(),
            "subject": change.subject,
            "before": change.before,
            "after": change.after,
        })
    }

    /// Every stored pair: both reports are valid reports, and the changes from one to the other
    /// are exactly the expected ones, in order.
    #[test]
    fn stored_pairs_of_reports_give_exactly_their_expected_changes() {
        let validator = validator();
        let mut pairs = 0;
        let mut kinds = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(fixtures()).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
            for name in ["before.json", "after.json"] {
                let json: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&json)
                    .map(|e| format!("{e} at {}", e.instance_path))
                    .collect();
                assert!(errors.is_empty(), "{}/{name}: {errors:#?}", dir.display());
            }
            let before = Baseline::parse("before.json", &read("before.json")).unwrap();
            let after: Snapshot = serde_json::from_slice(&read("after.json")).unwrap();
            let found: Vec<serde_json::Value> = changes::diff(&before.snapshot, &after)
                .iter()
                .map(change_json)
                .collect();
            let expected: Vec<serde_json::Value> = serde_json::from_slice(&read("expected.json")).unwrap();
            assert_eq!(found, expected, "{}", dir.display());
            kinds.extend(expected.iter().map(|c| c["what"].as_str().unwrap().to_owned()));
            pairs += 1;
        }
        assert!(pairs >= 9, "the stored pairs were not found");
        let every: std::collections::BTreeSet<String> =
            changes::What::ALL.iter().map(|w| w.as_str().to_owned()).collect();
        assert_eq!(kinds, every, "a kind of change has no stored pair");
    }

    /// The run side goes through the JSON rendering: the fixed run compared with its own stored
    /// report shows no change (its message differs, and messages are not compared).
    #[test]
    fn a_run_compared_with_its_own_report_has_no_changes() {
        let stored = std::fs::read(fixtures().join("unchanged/after.json")).unwrap();
        let baseline = Baseline::parse("after.json", &stored).unwrap();
        let changes = baseline.compare(&crate::report::fixture::report()).unwrap();
        assert_eq!(changes.list, Vec::new());
        assert_eq!(changes.started_at, "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn unusable_baselines_say_why() {
        let load = |name: &str| Baseline::load(&fixtures().join(name)).unwrap_err();
        assert!(matches!(
            load("schema-v2.json"),
            BaselineError::Schema { found: 2, .. }
        ));
        assert!(matches!(
            load("other-tool.json"),
            BaselineError::NotAReport { .. }
        ));
        assert!(matches!(load("truncated.json"), BaselineError::NotJson { .. }));
        assert!(matches!(load("missing.json"), BaselineError::Read { .. }));
        assert!(matches!(load("."), BaselineError::NotAFile { .. }));
        let message = load("schema-v2.json").to_string();
        assert!(
            message.contains("schema-v2.json has schema_version 2"),
            "{message}"
        );
    }
}
