//! The JUnit XML report, for CI systems (GitLab, GitHub Actions, Jenkins): one `<testsuite>` per
//! check file (per command for `reach scan`, `tls` and `listeners`), one `<testcase>` per check
//! with `classname` = the profile and `name` = the check's id; `<failure>` for fail, `<error>`
//! for error, `<skipped>` for skip, each with what was expected, what was observed and why.
//!
//! Text from servers and files is escaped for XML 1.0: markup characters become entities, and
//! characters XML cannot carry at all (most control characters, U+FFFE, U+FFFF) become visible
//! escapes such as `\x1b`, so the document stays well-formed whatever a server sent.

use super::changes::Changes;
use super::escape::push_escape;
use super::rendering::Rendering;
use crate::outcome::{Status, Summary};
use crate::run::{CheckResult, RunReport};
use crate::spec::command_line::COMMAND_LINE;
use std::fmt::Write as _;
use std::time::Duration;

/// Renders the whole report.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    let changes = rendering.changes;
    let summary = report.summary();
    let timestamp = timestamp(report);
    let mut out = String::with_capacity(512 + report.results.len() * 300);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(out, "<testsuites name=\"reach\"");
    counts(&mut out, &summary);
    let _ = writeln!(
        out,
        " time=\"{}\" timestamp=\"{timestamp}\">",
        seconds(report.duration)
    );
    for suite in suites(report) {
        let results: Vec<&CheckResult> = suite.results;
        let summary = Summary::of(results.iter().map(|r| &r.outcome));
        let time: Duration = results.iter().map(|r| r.duration).sum();
        out.push_str("  <testsuite name=\"");
        attr(&mut out, &suite.name);
        out.push('"');
        counts(&mut out, &summary);
        let _ = writeln!(out, " time=\"{}\" timestamp=\"{timestamp}\">", seconds(time));
        out.push_str("    <properties>\n");
        property(&mut out, "reach.version", env!("CARGO_PKG_VERSION"));
        property(&mut out, "vantage", report.vantage.as_deref().unwrap_or(""));
        property(&mut out, "profile", &suite.profiles.join(","));
        if let Some(changes) = changes {
            property(&mut out, "baseline", &changes.file);
            let changed = changes
                .list
                .iter()
                .filter(|c| results.iter().any(|r| r.check.id == c.id))
                .count();
            property(&mut out, "changes", &changed.to_string());
        }
        out.push_str("    </properties>\n");
        for result in results {
            testcase(&mut out, result, changes);
        }
        out.push_str("  </testsuite>\n");
    }
    if rendering.changed_and_fails() {
        if let Some(changes) = changes {
            changes_suite(&mut out, changes, &timestamp);
        }
    }
    out.push_str("</testsuites>\n");
    out
}

/// The checks of one suite: a check file, or one command's checks.
struct Suite<'a> {
    name: String,
    profiles: Vec<&'a str>,
    results: Vec<&'a CheckResult>,
}

/// Suites in the order of the run's files, checks in the run's order within each.
fn suites(report: &RunReport) -> Vec<Suite<'_>> {
    let mut suites: Vec<Suite<'_>> = Vec::new();
    for result in &report.results {
        let check = &result.check;
        let name = if *check.source.file == *COMMAND_LINE {
            format!("reach {}", check.profile)
        } else {
            check.source.file.to_string()
        };
        let index = match suites.iter().position(|s| s.name == name) {
            Some(index) => index,
            None => {
                suites.push(Suite {
                    name,
                    profiles: Vec::new(),
                    results: Vec::new(),
                });
                suites.len() - 1
            }
        };
        let suite = &mut suites[index];
        if !suite.profiles.contains(&&*check.profile) {
            suite.profiles.push(&check.profile);
        }
        suite.results.push(result);
    }
    suites
}

fn testcase(out: &mut String, result: &CheckResult, changes: Option<&Changes>) {
    let check = &result.check;
    let outcome = &result.outcome;
    out.push_str("    <testcase classname=\"");
    attr(out, &check.profile);
    out.push_str("\" name=\"");
    attr(out, &check.id);
    let _ = write!(out, "\" time=\"{}\" file=\"", seconds(result.duration));
    attr(out, &check.source.file);
    let _ = write!(out, "\" line=\"{}\"", check.source.line);
    let element = match outcome.status() {
        Status::Pass => None,
        Status::Fail => Some("failure"),
        Status::Error => Some("error"),
        Status::Skip => Some("skipped"),
    };
    let changed: Vec<_> = changes
        .map(|c| c.list.iter().filter(|c| c.id == check.id).collect())
        .unwrap_or_default();
    if element.is_none() && changed.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    match element {
        Some("skipped") => {
            out.push_str("      <skipped message=\"");
            attr(out, outcome.message());
            out.push_str("\"/>\n");
        }
        Some(element) => {
            let message = if outcome.message().is_empty() {
                outcome.summary()
            } else {
                outcome.message()
            };
            let kind = outcome
                .error()
                .map_or(outcome.status().as_str(), |class| class.as_str());
            let _ = write!(out, "      <{element} message=\"");
            attr(out, message);
            let _ = write!(out, "\" type=\"{kind}\">");
            text(out, &details(result));
            let _ = writeln!(out, "</{element}>");
        }
        None => {}
    }
    if !changed.is_empty() {
        out.push_str("      <system-out>");
        let mut lines = String::from("changed since the baseline:\n");
        for change in changed {
            let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
            let subject = change
                .subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                lines,
                "{}{subject}: {} -> {}",
                change.what.as_str(),
                side(&change.before),
                side(&change.after)
            );
        }
        text(out, &lines);
        out.push_str("</system-out>\n");
    }
    out.push_str("    </testcase>\n");
}

/// The body of a failure or error: everything a CI reader needs without opening the JSON.
fn details(result: &CheckResult) -> String {
    let check = &result.check;
    let outcome = &result.outcome;
    let mut body = String::new();
    let _ = writeln!(body, "check: {}", check.name);
    let _ = writeln!(body, "target: {}", check.target());
    let _ = writeln!(body, "expected: {}", check.expected());
    let _ = writeln!(body, "observed: {}", outcome.summary());
    if !outcome.message().is_empty() {
        let _ = writeln!(body, "message: {}", outcome.message());
    }
    if let Some(stage) = outcome.stage() {
        let _ = writeln!(body, "stage: {}", stage.as_str());
    }
    if outcome.attempts() > 1 {
        let _ = writeln!(body, "attempts: {}", outcome.attempts());
    }
    let _ = write!(body, "source: {}:{}", check.source.file, check.source.line);
    body
}

/// A suite of one failing case per changed check, so that a CI view agrees with the exit code
/// of `--fail-on-change`.
fn changes_suite(out: &mut String, changes: &Changes, timestamp: &str) {
    let mut ids: Vec<&str> = Vec::new();
    for change in &changes.list {
        if !ids.contains(&change.id.as_str()) {
            ids.push(&change.id);
        }
    }
    out.push_str("  <testsuite name=\"changes since ");
    attr(out, &changes.file);
    let _ = writeln!(
        out,
        "\" tests=\"{n}\" failures=\"{n}\" errors=\"0\" skipped=\"0\" time=\"0\" timestamp=\"{timestamp}\">",
        n = ids.len()
    );
    for id in ids {
        out.push_str("    <testcase classname=\"reach.changes\" name=\"");
        attr(out, id);
        out.push_str(
            "\" time=\"0\">\n      <failure message=\"changed since the baseline\" type=\"changed\">",
        );
        let mut lines = String::new();
        for change in changes.list.iter().filter(|c| c.id == id) {
            let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
            let subject = change
                .subject
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                lines,
                "{}{subject}: {} -> {}",
                change.what.as_str(),
                side(&change.before),
                side(&change.after)
            );
        }
        text(out, lines.trim_end());
        out.push_str("</failure>\n    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

fn counts(out: &mut String, summary: &Summary) {
    let _ = write!(
        out,
        " tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
        summary.total, summary.fail, summary.error, summary.skip
    );
}

fn property(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "      <property name=\"{name}\" value=\"");
    attr(out, value);
    out.push_str("\"/>\n");
}

/// Seconds with microsecond precision, as JUnit's `time` wants them.
fn seconds(duration: Duration) -> String {
    format!("{:.6}", duration.as_secs_f64())
}

/// The run's start in JUnit's form: ISO 8601 without a zone (it is UTC).
fn timestamp(report: &RunReport) -> String {
    let text = humantime::format_rfc3339_seconds(report.started_at).to_string();
    text.trim_end_matches('Z').to_owned()
}

/// Whether XML 1.0 can carry `c` at all, and it is not a control character people should see
/// escaped (tab, newline and carriage return are kept: they are text).
fn plain(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// Escapes character data. `>` is escaped too, so `]]>` can never appear.
fn text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A raw CR would be read back as a newline.
            '\r' => out.push_str("&#13;"),
            c if plain(c) => out.push(c),
            c => push_escape(out, c),
        }
    }
}

/// Escapes an attribute value (in double quotes); whitespace is written as character
/// references, which attribute-value normalisation keeps.
fn attr(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if plain(c) => out.push(c),
            c => push_escape(out, c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_cannot_break_out_of_xml() {
        let mut out = String::new();
        text(&mut out, "a]]>b<c>&d\u{0}\u{1b}[31m\u{FFFE}\r\ne\u{85}");
        assert_eq!(out, "a]]&gt;b&lt;c&gt;&amp;d\\x00\\x1b[31m\\u{fffe}&#13;\ne\\x85");
        let mut out = String::new();
        attr(&mut out, "x\"y'\n\t\u{7f}");
        assert_eq!(out, "x&quot;y'&#10;&#9;\\x7f");
    }
}
