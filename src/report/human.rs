//! The report for people: an aligned table, one line per check, the reason and the spec line
//! under every failure, and a summary. The table fits the width it is given (cells are cut,
//! messages wrapped); the passing checks of one table with many ports are one row; checks that
//! `--tag` or `--vantage` left out are one line each reason; a passing TLS check is one row
//! unless `-v` asks for its table. Colour only when asked for (the caller decides from the
//! terminal and `NO_COLOR`).

use super::escape::visible;
use super::layout;
use super::rendering::Rendering;
use crate::outcome::{Observed, SkipReason, Status, Summary};
use crate::run::{CheckResult, RunReport};
use crate::spec::{Check, ProbeSpec};
use std::fmt::Write as _;
use std::time::Duration;

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

/// Names longer than this are cut in the table even when there is room (the JSON report has them
/// whole), so that one long name does not push every other column away.
const MAX_NAME: usize = 44;
const MAX_TARGET: usize = 48;
/// The width of the STATUS column (`ERROR` and a space).
const STATUS_WIDTH: usize = 6;
/// Lines under a row start under its CHECK column.
const UNDER: usize = 2 + STATUS_WIDTH + 2;
/// When the table is too wide, columns give way down to these widths (CHECK, TARGET, EXPECTED,
/// OBSERVED), the widest first; only then further, down to the hard minimum.
const SOFT_MIN: [usize; 4] = [18, 18, 11, 12];
const HARD_MIN: [usize; 4] = [6, 6, 4, 4];
/// Below this width a table that does not fit leaves out its TIME column first.
const TIME_FROM: usize = 100;

struct Row {
    status: Status,
    name: String,
    target: String,
    expected: String,
    observed: String,
    time: String,
}

/// What one row of the table stands for.
enum Entry<'a> {
    Check(&'a CheckResult),
    /// The passing checks of one `[[check]]` table with several ports.
    Group(Vec<&'a CheckResult>),
}

/// Renders the whole report, every line at most `rendering.width` columns wide.
pub fn render(report: &RunReport, rendering: &Rendering<'_>) -> String {
    layout::fit(&table(report, rendering), rendering.width)
}

fn table(report: &RunReport, rendering: &Rendering<'_>) -> String {
    let color = rendering.color;
    let summary = report.summary();
    let mut out = String::new();
    let files = match report.files.as_slice() {
        [one] => visible(one).into_owned(),
        many => format!("{} files", many.len()),
    };
    let vantage = report
        .vantage
        .as_deref()
        .map(|v| format!(", vantage {}", visible(v)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} · {} checks from {files}{vantage}\n",
        paint(color, BOLD, "reach"),
        env!("CARGO_PKG_VERSION"),
        summary.total,
    );

    let (entries, left_out) = entries(report, rendering);
    let rows: Vec<Row> = entries.iter().map(row).collect();
    let (widths, show_time) = column_widths(&rows, rendering.width);
    // The last column is not padded: no trailing spaces.
    let last = |text: &str, width: usize, time: &str| {
        if show_time {
            format!("{}  {time}", layout::pad(text, width))
        } else {
            text.to_owned()
        }
    };
    if !rows.is_empty() {
        let header = format!(
            "  {}  {}  {}  {}  {}",
            layout::pad("STATUS", STATUS_WIDTH),
            layout::pad("CHECK", widths[0]),
            layout::pad("TARGET", widths[1]),
            layout::pad("EXPECTED", widths[2]),
            last("OBSERVED", widths[3], "TIME"),
        );
        let _ = writeln!(out, "{}", paint(color, DIM, &header));
    }
    for (row, entry) in rows.iter().zip(&entries) {
        let (word, style) = status_word(row.status);
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}  {}",
            paint(color, style, &layout::pad(word, STATUS_WIDTH)),
            layout::pad(&layout::cut_end(&row.name, widths[0]), widths[0]),
            layout::pad(&layout::cut_middle(&row.target, widths[1]), widths[1]),
            layout::pad(&layout::cut_end(&row.expected, widths[2]), widths[2]),
            last(&layout::cut_end(&row.observed, widths[3]), widths[3], &row.time),
        );
        if let Entry::Check(result) = entry {
            out.push_str(&under(result, rendering));
        }
    }
    for (message, count) in &left_out {
        let noun = if *count == 1 { "check" } else { "checks" };
        let _ = writeln!(
            out,
            "  {}  {count} {noun} not run: {}",
            paint(color, DIM, &layout::pad("skip", STATUS_WIDTH)),
            visible(message)
        );
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
                paint(color, style, &text)
            } else {
                text
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "\n{} checks in {}: {}",
        summary.total,
        time(report.duration),
        counts.join(", ")
    );
    if let Some(note) = vantage_note(report) {
        let _ = writeln!(out, "{}", paint(color, YELLOW, &note));
    }
    if let Some(next) = next_step(&summary, rendering) {
        let _ = writeln!(out, "{}", paint(color, BOLD, &next));
    }
    out
}

/// The rows of the table in report order, and the checks the filters left out: how many for
/// each reason. A table's passing checks become one row (before its other checks) unless `-v`
/// asks for each; with `--failures` passes are left out.
fn entries<'a>(report: &'a RunReport, rendering: &Rendering<'_>) -> (Vec<Entry<'a>>, Vec<(&'a str, usize)>) {
    let results = &report.results;
    // Without --vantage, `vantage_note` speaks for the checks bound to a vantage point.
    let vantage_noted = report.vantage.is_none();
    let mut entries = Vec::new();
    let mut left_out: Vec<(&str, usize)> = Vec::new();
    let mut rest = results.as_slice();
    while let Some(first) = rest.first() {
        let len = match table_key(first) {
            Some(key) => rest.iter().take_while(|r| table_key(r) == Some(key)).count(),
            None => 1,
        };
        let (table, after) = rest.split_at(len);
        rest = after;
        let mut kept: Vec<&CheckResult> = Vec::new();
        for result in table {
            if vantage_noted && result.outcome.skip_reason() == Some(SkipReason::VantageFilter) {
                // The note under the summary counts them, with the flags that would run them.
                continue;
            }
            if filtered_out(result) {
                let message = result.outcome.message();
                match left_out.iter_mut().find(|(m, _)| *m == message) {
                    Some((_, count)) => *count += 1,
                    None => left_out.push((message, 1)),
                }
            } else if !(rendering.failures_only && result.outcome.status() == Status::Pass) {
                kept.push(result);
            }
        }
        let passes = kept.iter().filter(|r| r.outcome.status() == Status::Pass).count();
        if passes >= 2 && !rendering.verbose {
            let (pass, other): (Vec<_>, Vec<_>) =
                kept.into_iter().partition(|r| r.outcome.status() == Status::Pass);
            entries.push(Entry::Group(pass));
            entries.extend(other.into_iter().map(Entry::Check));
        } else {
            entries.extend(kept.into_iter().map(Entry::Check));
        }
    }
    (entries, left_out)
}

/// Whether `--tag` or `--vantage` left the check out of the run.
fn filtered_out(result: &CheckResult) -> bool {
    matches!(
        result.outcome.skip_reason(),
        Some(SkipReason::TagFilter | SkipReason::VantageFilter)
    )
}

/// The `[[check]]` table a check comes from, when that table listed several ports: its file,
/// line and id (without the `/PORT` part).
fn table_key(result: &CheckResult) -> Option<(&str, usize, &str)> {
    let check = &result.check;
    let (table, _) = check.id.rsplit_once('/')?;
    port_of(check)?;
    Some((&*check.source.file, check.source.line, table))
}

fn port_of(check: &Check) -> Option<u16> {
    match &check.probe {
        ProbeSpec::Tcp(tcp) => Some(tcp.port),
        ProbeSpec::Tls(tls) => Some(tls.port),
        ProbeSpec::Listen(listen) => listen.port,
        _ => None,
    }
}

fn row(entry: &Entry<'_>) -> Row {
    match entry {
        Entry::Check(result) => check_row(result),
        Entry::Group(results) => group_row(results),
    }
}

fn check_row(result: &CheckResult) -> Row {
    let outcome = &result.outcome;
    let time = if outcome.status() == Status::Skip {
        "-".to_owned()
    } else {
        time(result.duration)
    };
    Row {
        status: outcome.status(),
        name: cap(&visible(&result.check.name), MAX_NAME),
        target: cap_middle(&visible(&result.check.target()), MAX_TARGET),
        expected: visible(&result.check.expected()).into_owned(),
        observed: visible(outcome.summary()).into_owned(),
        time,
    }
}

/// One row for the passing checks of a table: its name without the port, the ports as ranges
/// (`127.0.0.1:8000-8100`), and how many passed with what was seen.
fn group_row(results: &[&CheckResult]) -> Row {
    let first = &results[0].check;
    let ports: Vec<u16> = results.iter().filter_map(|r| port_of(&r.check)).collect();
    let ranges = crate::spec::port_ranges(&ports);
    let (name, target) = match port_of(first) {
        Some(port) => (group_name(&first.name, port), {
            let target = first.target();
            replace_port(&target, port, &ranges).unwrap_or(target)
        }),
        None => (first.name.clone(), first.target()),
    };
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for result in results {
        let summary = result.outcome.summary();
        match seen.iter_mut().find(|(s, _)| *s == summary) {
            Some((_, count)) => *count += 1,
            None => seen.push((summary, 1)),
        }
    }
    let seen = match seen.as_slice() {
        [(summary, _)] => (*summary).to_owned(),
        many => many
            .iter()
            .map(|(summary, count)| format!("{count} {summary}"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let longest = results.iter().map(|r| r.duration).max().unwrap_or_default();
    Row {
        status: Status::Pass,
        name: cap(&visible(&name), MAX_NAME),
        target: cap_middle(&visible(&target), MAX_TARGET),
        expected: visible(&first.expected()).into_owned(),
        observed: visible(&format!("{} pass: {seen}", results.len())).into_owned(),
        time: time(longest),
    }
}

/// The name of a whole port table, from the name of one of its checks: `Databases (port 5432)`
/// is `Databases`, a name made from the port (`port 22 open`) speaks of `ports`.
fn group_name(name: &str, port: u16) -> String {
    if let Some(base) = name.strip_suffix(&format!(" (port {port})")) {
        return base.to_owned();
    }
    let word = format!("port {port}");
    if name.contains(&word) {
        return name.replacen(&word, "ports", 1);
    }
    replace_port(name, port, "*").unwrap_or_else(|| name.to_owned())
}

/// `text` with its last whole occurrence of `port` (not a part of a longer number) replaced.
fn replace_port(text: &str, port: u16, with: &str) -> Option<String> {
    let needle = port.to_string();
    let mut end = text.len();
    while let Some(at) = text[..end].rfind(&needle) {
        let after = at + needle.len();
        let digit_before = text[..at].chars().next_back().is_some_and(|c| c.is_ascii_digit());
        let digit_after = text[after..].chars().next().is_some_and(|c| c.is_ascii_digit());
        if !digit_before && !digit_after {
            return Some(format!("{}{with}{}", &text[..at], &text[after..]));
        }
        end = at;
    }
    None
}

/// The widths of CHECK, TARGET, EXPECTED and OBSERVED, and whether TIME is shown: what the rows
/// need, narrowed (widest column first) until a row fits `width`. A narrow terminal that cannot
/// hold the whole table loses TIME before the cells are cut.
fn column_widths(rows: &[Row], width: usize) -> ([usize; 4], bool) {
    let natural = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| layout::width_of(f(r)))
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let mut widths = [
        natural(|r| &r.name, "CHECK"),
        natural(|r| &r.target, "TARGET"),
        natural(|r| &r.expected, "EXPECTED"),
        natural(|r| &r.observed, "OBSERVED"),
    ];
    // Room for any time under 100s, so that the other columns do not move with the timings.
    let time = natural(|r| &r.time, "TIME").max(6);
    // Two spaces before STATUS and between the columns.
    let fixed = 2 + STATUS_WIDTH + 4 * 2;
    let with_time = width.saturating_sub(fixed + 2 + time);
    let show_time = width >= TIME_FROM || widths.iter().sum::<usize>() <= with_time;
    let available = if show_time {
        with_time
    } else {
        width.saturating_sub(fixed)
    };
    for floor in [SOFT_MIN, HARD_MIN] {
        while widths.iter().sum::<usize>() > available {
            let Some(widest) = (0..4)
                .filter(|&i| widths[i] > floor[i])
                .max_by_key(|&i| widths[i])
            else {
                break;
            };
            widths[widest] -= 1;
        }
    }
    (widths, show_time)
}

/// What is shown under a check's row: where it is written and why it did not pass (with `-v`,
/// what a pass saw too), each policy violation once, and a TLS check's table when it did not
/// pass or with `-v`. Filter skips get none.
fn under(result: &CheckResult, rendering: &Rendering<'_>) -> String {
    let color = rendering.color;
    let outcome = &result.outcome;
    let status = outcome.status();
    let wanted = match status {
        Status::Fail | Status::Error => true,
        Status::Skip => outcome.skip_reason() == Some(SkipReason::Deadline),
        Status::Pass => rendering.verbose,
    };
    if !wanted {
        return String::new();
    }
    let indent = " ".repeat(UNDER);
    let mut out = String::new();
    let source = &result.check.source;
    let attempts = if outcome.attempts() > 1 {
        format!(" (after {} attempts)", outcome.attempts())
    } else {
        String::new()
    };
    let tls = match outcome.observed() {
        Observed::Tls {
            observation,
            violations,
        } => Some((observation, violations)),
        _ => None,
    };
    let violations: &[String] = tls.map_or(&[], |(_, v)| v.as_slice());
    let reason = if !violations.is_empty() {
        // The message joins the violations; they are listed below, each once.
        let plural = if violations.len() == 1 { "" } else { "s" };
        format!("{} policy violation{plural}", violations.len())
    } else if status == Status::Pass {
        let mut seen = format!("observed {}", visible(outcome.summary()));
        if !outcome.message().is_empty() {
            let _ = write!(seen, "; {}", visible(outcome.message()));
        }
        seen
    } else {
        visible(outcome.message()).into_owned()
    };
    let detail = format!("└ {}:{}  {reason}{attempts}", visible(&source.file), source.line);
    let _ = writeln!(out, "{indent}{}", paint(color, DIM, &detail));
    for violation in violations {
        let _ = writeln!(out, "{indent}{} {}", paint(color, RED, "✗"), visible(violation));
    }
    if let Some((observation, _)) = tls {
        out.push_str(&super::tls_table::render(observation, &[], &indent));
    }
    out
}

/// The last line when something did not pass: what to do about it.
fn next_step(summary: &Summary, rendering: &Rendering<'_>) -> Option<String> {
    let mut steps = Vec::new();
    if summary.fail > 0 {
        steps.push("fix each FAIL (its check's file:line is under it) and run again");
    }
    if summary.error > 0 {
        steps.push("an ERROR could not be observed from here: check the route, DNS or timeout");
    }
    if summary.skipped_by_deadline > 0 {
        steps.push("give --deadline more time");
    }
    if steps.is_empty() {
        return None;
    }
    let mut line = format!("next: {}", steps.join("; "));
    if !rendering.failures_only && summary.pass > 0 {
        line.push_str(" (--failures: only what did not pass)");
    }
    Some(line)
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

/// `text` cut to `max` columns at its end.
fn cap(text: &str, max: usize) -> String {
    layout::cut_end(text, max)
}

/// `text` cut to `max` columns in its middle.
fn cap_middle(text: &str, max: usize) -> String {
    layout::cut_middle(text, max)
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
    use super::super::fixture;
    use super::*;
    use crate::outcome::Outcome;

    fn settings() -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(r"reach \d+\.\d+\.\d+", "reach [VERSION]");
        settings
    }

    fn with(width: usize, failures_only: bool, verbose: bool) -> Rendering<'static> {
        Rendering {
            width,
            failures_only,
            verbose,
            ..Rendering::default()
        }
    }

    /// The human report without control characters (the fixed run has a hostile message), which
    /// would make a snapshot a binary file.
    fn human(report: &RunReport, rendering: &Rendering<'_>) -> String {
        render(report, rendering).replace(|c: char| c.is_control() && c != '\n', "<ctl>")
    }

    fn rows_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(needle)).collect()
    }

    #[test]
    fn a_port_table_whose_ports_all_pass_is_one_row() {
        let text = human(&fixture::tables(&[]), &with(200, false, false));
        settings().bind(|| insta::assert_snapshot!("tables_all_pass", text));
        let rows = rows_with(&text, "Databases are not exposed");
        assert_eq!(rows.len(), 1, "{text}");
        assert!(rows[0].contains("127.0.0.1:8000-8100"), "{text}");
        assert!(rows[0].contains("101 pass: closed"), "{text}");
        // The two ports of the long-named host are a table too.
        assert_eq!(rows_with(&text, "Search cluster listens").len(), 1, "{text}");
        // Checks --tag left out: one line, not a row each.
        assert_eq!(rows_with(&text, "audit").len(), 0, "{text}");
        assert_eq!(
            rows_with(&text, "2 checks not run: not tagged smoke").len(),
            1,
            "{text}"
        );
    }

    #[test]
    fn a_failing_port_is_listed_and_the_rest_of_its_table_is_one_row() {
        let text = human(&fixture::tables(&[8050]), &with(200, false, false));
        settings().bind(|| insta::assert_snapshot!("tables_one_fails", text));
        let rows = rows_with(&text, "Databases are not exposed");
        assert_eq!(rows.len(), 2, "{text}");
        assert!(rows[0].contains("127.0.0.1:8000-8049,8051-8100") && rows[0].contains("100 pass"));
        assert!(
            rows[1].starts_with("  FAIL") && rows[1].contains("(port 8050)"),
            "{text}"
        );
        assert!(
            text.contains("└ checks/db.toml:4  must not be exposed but is open"),
            "{text}"
        );
    }

    #[test]
    fn verbose_lists_every_port_and_the_table_of_a_passing_tls_check() {
        let text = human(&fixture::tables(&[8050]), &with(200, false, true));
        assert_eq!(rows_with(&text, "Databases are not exposed").len(), 101, "{text}");
        assert!(text.contains("└ checks/db.toml:4  observed closed"), "{text}");
        let passing_tls = human(&fixture::report(), &with(200, false, true));
        settings().bind(|| insta::assert_snapshot!("human_verbose", passing_tls));
        assert!(
            passing_tls.contains("TLSv1.2  accepted   2 suites"),
            "{passing_tls}"
        );
    }

    #[test]
    fn a_passing_tls_check_is_one_line() {
        let text = human(&fixture::report(), &with(200, false, false));
        let at = text.find("shop TLS").unwrap();
        let next = text[at..].lines().nth(1).unwrap();
        assert!(next.starts_with("  FAIL    health"), "{text}");
        assert!(!text.contains("TLSv1.2  accepted"), "{text}");
    }

    #[test]
    fn a_failing_policy_lists_each_violation_once_with_the_table() {
        let text = human(&fixture::tables(&[]), &with(200, false, false));
        for violation in fixture::tables(&[])
            .results
            .iter()
            .find_map(|r| match r.outcome.observed() {
                Observed::Tls { violations, .. } => Some(violations.clone()),
                _ => None,
            })
            .unwrap()
        {
            assert_eq!(
                text.matches(violation.as_str()).count(),
                1,
                "{violation}:\n{text}"
            );
        }
        assert!(
            text.contains("└ checks/db.toml:18  11 policy violations"),
            "{text}"
        );
        assert!(
            text.contains("TLSv1.2  accepted   2 suites"),
            "the table of a failure:\n{text}"
        );
    }

    #[test]
    fn failures_lists_only_what_did_not_pass() {
        let text = human(&fixture::report(), &with(200, true, false));
        settings().bind(|| insta::assert_snapshot!("human_failures", text));
        assert!(!text.contains("  pass  "), "{text}");
        for row in [
            "FAIL    Redis",
            "FAIL    health",
            "ERROR   slow report",
            "skip    late port",
        ] {
            assert!(text.contains(row), "{row} missing:\n{text}");
        }
        assert!(
            text.contains("10 checks in 6.30s: 4 pass, 3 fail"),
            "the summary counts all"
        );
        let tables = human(&fixture::tables(&[8050]), &with(200, true, false));
        assert_eq!(
            rows_with(&tables, "Databases are not exposed").len(),
            1,
            "{tables}"
        );
    }

    #[test]
    fn no_line_is_wider_than_the_width() {
        for width in [80, 200] {
            for report in [fixture::report(), fixture::tables(&[8050])] {
                for (failures_only, verbose) in [(false, false), (true, false), (false, true)] {
                    let text = human(&report, &with(width, failures_only, verbose));
                    for line in text.lines() {
                        assert!(
                            layout::width_of(line) <= width,
                            "{} columns at width {width}:\n{line}",
                            layout::width_of(line)
                        );
                    }
                }
            }
        }
        // At 200 columns: the snapshot `tables_one_fails`.
        let narrow = human(&fixture::tables(&[8050]), &with(80, false, false));
        settings().bind(|| insta::assert_snapshot!("tables_80", narrow));
        // The long host keeps its start and its last port; TIME gives way first.
        assert!(narrow.contains("  search-cl…200,9300  "), "{narrow}");
        assert!(!narrow.contains("TIME"), "{narrow}");
        // A wrapped message keeps every word.
        assert!(
            narrow.contains("the server closed the\n            connection after the ClientHello"),
            "{narrow}"
        );
    }

    #[test]
    fn checks_of_another_vantage_point_are_one_line_or_the_note() {
        let bound = |vantage: Option<&str>, message: &str| {
            let mut report = fixture::tables(&[]);
            report.vantage = vantage.map(str::to_owned);
            for result in &mut report.results {
                if result.outcome.skip_reason() == Some(SkipReason::TagFilter) {
                    result.outcome = Outcome::skipped(SkipReason::VantageFilter, message);
                    let mut check = (*result.check).clone();
                    check.vantage = vec!["dmz".to_owned()].into();
                    result.check = std::sync::Arc::new(check);
                }
            }
            human(&report, &with(200, false, false))
        };
        let elsewhere = bound(Some("edge"), "belongs to vantage dmz; this run is --vantage edge");
        assert_eq!(
            rows_with(
                &elsewhere,
                "2 checks not run: belongs to vantage dmz; this run is --vantage edge"
            )
            .len(),
            1,
            "{elsewhere}"
        );
        let nowhere = bound(None, "belongs to vantage dmz: run with --vantage dmz");
        assert!(!nowhere.contains("checks not run: belongs"), "{nowhere}");
        assert!(
            nowhere.contains("2 checks were not run: bound to a vantage point, and this run has no --vantage; --vantage dmz would run them"),
            "{nowhere}"
        );
    }

    #[test]
    fn the_last_line_says_what_to_do_next_when_something_failed() {
        let text = human(&fixture::report(), &with(200, false, false));
        let last = &text[text.rfind("\nnext: ").expect("a next step")..];
        assert!(last.starts_with("\nnext: fix each FAIL"), "{text}");
        assert!(last.contains("an ERROR could not be observed"), "{last}");
        assert!(last.contains("--deadline"), "{last}");
        let passing = human(&fixture::tables(&[]), &with(200, false, false));
        assert!(passing.contains("\nnext: fix"), "the TLS check fails:\n{passing}");
        let mut all_pass = fixture::tables(&[]);
        all_pass.results.retain(|r| r.outcome.status() != Status::Fail);
        assert!(!human(&all_pass, &with(200, false, false)).contains("next:"));
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(time(Duration::from_micros(210)), "0.21ms");
        assert_eq!(time(Duration::from_millis(12)), "12ms");
        assert_eq!(time(Duration::from_millis(1400)), "1.40s");
    }

    #[test]
    fn a_port_table_is_named_without_its_port() {
        assert_eq!(group_name("Databases (port 5432)", 5432), "Databases");
        assert_eq!(group_name("port 22 open", 22), "ports open");
        assert_eq!(group_name("tcp/6379 not-wildcard", 6379), "tcp/* not-wildcard");
        assert_eq!(
            replace_port("[::1]:5432", 5432, "5432-5433").as_deref(),
            Some("[::1]:5432-5433")
        );
        assert_eq!(
            replace_port("a:8080", 80, "x"),
            None,
            "a part of a longer number is not the port"
        );
    }
}
