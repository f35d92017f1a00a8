//! Reports: each output format is its own module and reads the same result types; none of them
//! changes a result. [`output`] says where a report goes: a file is replaced atomically, a pipe
//! or a device is written through; [`lock`] makes two runs writing the same file take turns.
//! [`baseline`] compares a run with an earlier JSON report.

pub mod baseline;
pub mod changes;
pub mod escape;
pub mod human;
pub mod json;
pub mod junit;
pub mod layout;
pub mod listeners;
pub mod lock;
pub mod nagios;
pub mod output;
pub mod progress;
pub mod prometheus;
pub mod rendering;
pub mod scan;
pub mod snapshot;
pub mod tls_table;

pub use output::{Destination, OutputError};
pub use rendering::Rendering;

use crate::run::RunReport;
use std::io::{self, Write};

/// The JSON Schema of the JSON report, as published by `reach schema`.
pub const SCHEMA: &str = include_str!("schema.json");

/// Report formats of every command that runs checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Human,
    /// The versioned JSON report (`reach schema` prints its schema).
    Json,
    /// JUnit XML for CI: a testsuite per check file, a testcase per check.
    Junit,
    /// Prometheus text exposition format, e.g. a node_exporter textfile with -o.
    Prometheus,
    /// Nagios plugin output, with the plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Nagios,
}

/// Renders a report in a format (the human format as the checks table).
pub fn render(report: &RunReport, format: Format, rendering: &Rendering<'_>) -> String {
    match format {
        Format::Human => human::render(report, rendering),
        Format::Json => json::render_with(report, rendering.changes),
        Format::Junit => junit::render(report, rendering),
        Format::Prometheus => prometheus::render(report, rendering),
        Format::Nagios => nagios::render(report, rendering),
    }
}

/// Writes a report in a format to `out`; the bytes are those of [`render`]. The JSON report is
/// written as it is made, so a large run's is never held whole in memory.
pub fn write(
    report: &RunReport,
    format: Format,
    rendering: &Rendering<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => json::write_with(report, rendering.changes, out),
        Format::Human | Format::Junit | Format::Prometheus | Format::Nagios => {
            out.write_all(render(report, format, rendering).as_bytes())
        }
    }
}

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::changes::{Change, Changes, What};
    use super::*;

    /// Hides what a release changes: the version.
    fn settings() -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"reach \d+\.\d+\.\d+", "reach [VERSION]");
        settings.add_filter(r#""version": "\d+\.\d+\.\d+""#, r#""version": "[VERSION]""#);
        settings.add_filter(r#"value="\d+\.\d+\.\d+""#, r#"value="[VERSION]""#);
        settings
    }

    fn changes() -> Changes {
        let change =
            |id: &str, what, subject: Option<&str>, before: Option<&str>, after: Option<&str>| Change {
                id: id.to_owned(),
                what,
                subject: subject.map(str::to_owned),
                before: before.map(str::to_owned),
                after: after.map(str::to_owned),
            };
        Changes::new(
            "baseline.json".to_owned(),
            "2025-12-31T23:55:00.000Z".to_owned(),
            vec![
                change(
                    "shop.redis-stays-internal",
                    What::Status,
                    None,
                    Some("pass"),
                    Some("fail"),
                ),
                change(
                    "shop.redis-stays-internal",
                    What::Port,
                    Some("127.0.0.1"),
                    Some("closed"),
                    Some("open"),
                ),
                change(
                    "shop.shop-tls",
                    What::TlsSuite,
                    Some("TLSv1.2"),
                    None,
                    Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
                ),
                change("shop.gone", What::CheckRemoved, None, Some("pass"), None),
            ],
        )
    }

    #[test]
    fn every_format_renders_the_same_fixed_run() {
        let report = fixture::report();
        let plain = Rendering::default();
        settings().bind(|| {
            // Raw control characters would make the snapshot a binary file; escaping them in
            // the human report is that renderer's business, tested there.
            let human = render(&report, Format::Human, &plain)
                .replace(|c: char| c.is_control() && c != '\n', "<ctl>");
            insta::assert_snapshot!("human", human);
            insta::assert_snapshot!("json", render(&report, Format::Json, &plain));
            insta::assert_snapshot!("junit", render(&report, Format::Junit, &plain));
            insta::assert_snapshot!("prometheus", render(&report, Format::Prometheus, &plain));
            insta::assert_snapshot!("nagios", render(&report, Format::Nagios, &plain));
        });
    }

    #[test]
    fn every_format_says_what_changed_since_the_baseline() {
        let report = fixture::report();
        let changes = changes();
        let rendering = Rendering {
            changes: Some(&changes),
            fail_on_change: true,
            ..Rendering::default()
        };
        settings().bind(|| {
            insta::assert_snapshot!("human_changes", changes::render_human(&changes));
            insta::assert_snapshot!("json_changes", render(&report, Format::Json, &rendering));
            insta::assert_snapshot!("junit_changes", render(&report, Format::Junit, &rendering));
            insta::assert_snapshot!(
                "prometheus_changes",
                render(&report, Format::Prometheus, &rendering)
            );
            insta::assert_snapshot!("nagios_changes", render(&report, Format::Nagios, &rendering));
        });
    }

    #[test]
    fn width_failures_and_verbose_change_only_the_human_report() {
        let report = fixture::report();
        let plain = Rendering::default();
        let human = Rendering {
            width: 80,
            failures_only: true,
            verbose: true,
            ..Rendering::default()
        };
        for format in [Format::Json, Format::Junit, Format::Prometheus, Format::Nagios] {
            assert_eq!(
                render(&report, format, &plain),
                render(&report, format, &human),
                "{format:?}"
            );
        }
        assert_ne!(
            render(&report, Format::Human, &plain),
            render(&report, Format::Human, &human)
        );
    }

    #[test]
    fn the_json_reports_of_the_fixed_run_match_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let report = fixture::report();
        let changes = changes();
        for changes in [None, Some(&changes)] {
            let rendering = Rendering {
                changes,
                ..Rendering::default()
            };
            let json: serde_json::Value =
                serde_json::from_str(&render(&report, Format::Json, &rendering)).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&json)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
    }

    /// docs/metrics.md is what deploy/ (rules, dashboards) is written against: every family it
    /// lists for a run is one the formatter writes, and the formatter writes no other.
    #[test]
    fn the_prometheus_families_are_those_of_the_metrics_reference() {
        let reference = include_str!("../../docs/metrics.md");
        let section = reference
            .split("## Families of a run")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap();
        let documented: std::collections::BTreeSet<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `reach_"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let report = fixture::report();
        let changes = changes();
        let rendering = Rendering {
            changes: Some(&changes),
            ..Rendering::default()
        };
        let text = render(&report, Format::Prometheus, &rendering);
        let written: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE reach_"))
            .filter_map(|rest| rest.split(' ').next())
            .collect();
        assert!(documented.len() >= 13, "{documented:?}");
        assert_eq!(written, documented);
    }

    #[test]
    fn the_schema_names_every_kind_of_change() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        let listed: Vec<&str> = schema["$defs"]["change"]["properties"]["what"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let known: Vec<&str> = What::ALL.iter().map(|w| w.as_str()).collect();
        assert_eq!(listed, known);
    }
}
