//! The report for people: an aligned table, one line per check, the reason and the spec line
//! under every failure, and a summary. Colour only when asked for (the caller decides from the
//! terminal and `NO_COLOR`).

use super::escape::visible;
use crate::outcome::{SkipReason, Status};
use crate::run::{CheckResult, RunReport};
use std::io::{self, Write};
use std::time::Duration;

/// Names longer than this are cut in the table (the JSON report has them whole).
const MAX_NAME: usize = 44;
const MAX_TARGET: usize = 40;

pub(super) const RED: &str = "\x1b[1;31m";
pub(super) const GREEN: &str = "\x1b[32m";
pub(super) const YELLOW: &str = "\x1b[33m";
pub(super) const DIM: &str = "\x1b[2m";
pub(super) const BOLD: &str = "\x1b[1m";
pub(super) const RESET: &str = "\x1b[0m";

/// `text` in `style` when colour is on.
pub(super) fn paint(color: bool, style: &str, text: &str) -> String {
    if color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// A status as the human reports show it (loud when it needs attention), and its colour.
pub(super) fn status_word(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Pass => ("pass", GREEN),
        Status::Fail => ("FAIL", RED),
        Status::Error => ("ERROR", YELLOW),
        Status::Skip => ("skip", DIM),
    }
}

struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, style: &str, text: &str) -> String {
        paint(self.color, style, text)
    }
}

struct Row {
    status: Status,
    name: String,
    target: String,
    expected: String,
    observed: String,
    time: String,
}

impl Row {
    /// The cells whose column is as wide as its widest one, in column order after STATUS.
    fn cells(&self) -> [&str; 4] {
        [&self.name, &self.target, &self.expected, &self.observed]
    }
}

/// Renders the whole report.
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(report, color, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes [`render`]'s text to `out` as it is made. The columns are as wide as their widest
/// cell, so the rows are made twice, once to measure and once to write, rather than all kept:
/// a run of 100,000 checks would hold them all.
pub fn write(report: &RunReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint { color };
    let summary = report.summary();
    let files = match report.files.as_slice() {
        [one] => visible(one).into_owned(),
        many => format!("{} files", many.len()),
    };
    let vantage = report
        .vantage
        .as_deref()
        .map(|v| format!(", vantage {}", visible(v)))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {} · {} checks from {files}{vantage}\n",
        paint.paint(BOLD, "reach"),
        env!("CARGO_PKG_VERSION"),
        summary.total,
    )?;

    let titles = ["STATUS", "CHECK", "TARGET", "EXPECTED", "OBSERVED"];
    let mut widths = titles.map(|title| title.chars().count());
    widths[0] = 6;
    for row in report.results.iter().map(row) {
        for (width, cell) in widths[1..].iter_mut().zip(row.cells()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = format!(
        "  {:w0$}  {:w1$}  {:w2$}  {:w3$}  {:w4$}  TIME",
        titles[0],
        titles[1],
        titles[2],
        titles[3],
        titles[4],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3],
        w4 = widths[4],
    );
    writeln!(out, "{}", paint.paint(DIM, &header))?;
    for result in &report.results {
        let row = row(result);
        let (word, style) = status_word(row.status);
        writeln!(
            out,
            "  {}  {}  {}  {}  {}  {}",
            paint.paint(style, &pad(word, widths[0])),
            pad(&row.name, widths[1]),
            pad(&row.target, widths[2]),
            pad(&row.expected, widths[3]),
            pad(&row.observed, widths[4]),
            row.time,
        )?;
        if let Some(detail) = detail(result) {
            writeln!(out, "  {:w$}  {}", "", paint.paint(DIM, &detail), w = widths[0])?;
        }
        if let crate::outcome::Observed::Tls {
            observation,
            violations,
        } = result.outcome.observed()
        {
            out.write_all(
                super::tls_table::render(observation, violations, &" ".repeat(widths[0] + 4)).as_bytes(),
            )?;
        }
    }

    let counts = [
        (summary.pass, "pass", GREEN),
        (summary.fail, "fail", RED),
        (summary.error, "error", YELLOW),
        (summary.skip, "skip", DIM),
    ];
    let counts: Vec<String> = counts
        .iter()
        .map(|&(n, word, style)| {
            let text = format!("{n} {word}");
            if n > 0 {
                paint.paint(style, &text)
            } else {
                text
            }
        })
        .collect();
    writeln!(
        out,
        "\n{} checks in {}: {}",
        summary.total,
        time(report.duration),
        counts.join(", ")
    )?;
    if let Some(note) = vantage_note(report) {
        writeln!(out, "{}", paint.paint(YELLOW, &note))?;
    }
    Ok(())
}

/// Without `--vantage`, checks bound to a vantage point are not run. One line says how many,
/// and which `--vantage` values would run them, so a run from the wrong place is not mistaken
/// for a complete one.
pub fn vantage_note(report: &RunReport) -> Option<String> {
    if report.vantage.is_some() {
        return None;
    }
    let mut count = 0;
    let mut vantages: Vec<&str> = Vec::new();
    for result in &report.results {
        if result.outcome.skip_reason() == Some(SkipReason::VantageFilter) {
            count += 1;
            for vantage in result.check.vantage.iter() {
                if !vantages.contains(&vantage.as_str()) {
                    vantages.push(vantage);
                }
            }
        }
    }
    if count == 0 {
        return None;
    }
    vantages.sort_unstable();
    let noun = if count == 1 { "check was" } else { "checks were" };
    let flags: Vec<String> = vantages
        .iter()
        .map(|v| format!("--vantage {}", visible(v)))
        .collect();
    Some(format!(
        "{count} {noun} not run: bound to a vantage point, and this run has no --vantage; {} would run them",
        flags.join(" or ")
    ))
}

fn row(result: &CheckResult) -> Row {
    let outcome = &result.outcome;
    let time = if outcome.status() == Status::Skip {
        "-".to_owned()
    } else {
        time(result.duration)
    };
    Row {
        status: outcome.status(),
        name: cut(&visible(&result.check.name), MAX_NAME),
        target: cut(&visible(&result.check.target()), MAX_TARGET),
        expected: visible(&result.check.expected()).into_owned(),
        observed: visible(outcome.summary()).into_owned(),
        time,
    }
}

/// The line under a row: where the check is written and why it did not pass. Filter skips get
/// none, so a `--tag` run stays readable.
fn detail(result: &CheckResult) -> Option<String> {
    let outcome = &result.outcome;
    let wanted = match outcome.status() {
        Status::Fail | Status::Error => true,
        Status::Skip => outcome.skip_reason() == Some(SkipReason::Deadline),
        Status::Pass => false,
    };
    if !wanted {
        return None;
    }
    let source = &result.check.source;
    let attempts = if outcome.attempts() > 1 {
        format!(" (after {} attempts)", outcome.attempts())
    } else {
        String::new()
    };
    Some(format!(
        "└ {}:{}  {}{attempts}",
        visible(&source.file),
        source.line,
        visible(outcome.message())
    ))
}

fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.chars().count());
    format!("{text}{}", " ".repeat(fill))
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max - 1).collect();
        format!("{kept}…")
    }
}

/// A duration as people read it: `0.21ms`, `12ms`, `1.40s`.
pub fn time(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_naturally() {
        assert_eq!(time(Duration::from_micros(210)), "0.21ms");
        assert_eq!(time(Duration::from_millis(12)), "12ms");
        assert_eq!(time(Duration::from_millis(1400)), "1.40s");
    }

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
