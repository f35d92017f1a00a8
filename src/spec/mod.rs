//! Check files -> a validated [`Plan`]. No network I/O happens here: a plan that loads has every
//! value parsed, every variable substituted and every id unique, and only then may probes run.
//!
//! The file format is TOML, documented in docs/checks.md. Errors carry the file,
//! line and column of the value at fault; loading reports every error it finds, not just the first.

pub mod command_line;
mod context;
mod dns;
mod endpoint;
mod error;
mod host;
mod http;
mod intern;
mod listen;
mod plan;
pub mod ports;
mod raw;
pub mod request;
mod scan;
mod split;
pub mod targets;
mod tcp;
mod tls;
pub mod vars;
mod websocket;

pub use context::{
    default_timeout, parse_duration, LoadOptions, DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_TLS_TIMEOUT,
    MAX_TIMEOUT,
};
pub use error::{Locator, SpecError, SpecErrors};
pub use plan::{
    port_ranges, Check, DnsCheck, DnsExpectation, DnsProtocol, DnsValue, Host, Kind, ListenCheck,
    ListenExpectation, Plan, PortExpectation, ProbeSpec, RecordType, ScanCheck, Source, TcpCheck, TlsCheck,
    DEFAULT_SCAN_CONCURRENCY,
};
pub use request::{EndpointCheck, HttpCheck, WebsocketCheck};
pub use tls::{apply_flags, load_policy, PolicyError, PolicyFlags};

use context::{is_id, kind_list, read_table, slug, Base, FileContext, FileDefaults};
use intern::Interner;
use raw::{RawCommon, RawHeader, COMMON_KEYS};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use vars::{Declared, Scope};

/// Reads and validates check files into one plan.
pub fn load_files(paths: &[impl AsRef<Path>], options: &LoadOptions) -> Result<Plan, SpecErrors> {
    let loaded = load_each(paths, options);
    let mut errors: Vec<SpecError> = loaded.iter().flat_map(|file| file.errors.clone()).collect();
    if errors.is_empty() {
        errors.extend(duplicate_ids(&loaded));
    }
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }
    let mut plan = Plan::default();
    for file in loaded {
        plan.files.push(file.label);
        // The first file's list becomes the plan's: no second list of every check to copy over.
        if plan.checks.is_empty() {
            plan.checks = file.checks;
        } else {
            plan.checks.extend(file.checks);
        }
    }
    Ok(plan)
}

/// What validating one file found without running anything.
#[derive(Debug)]
pub struct FileReport {
    /// The file as errors name it.
    pub file: String,
    /// Checks whose every value is known and valid.
    pub checks: usize,
    /// Variables the file declares without a default and that were given no value: the values
    /// that use them are unchecked, and a run needs them.
    pub needs: BTreeSet<String>,
    /// Everything else that is wrong, by line.
    pub errors: Vec<SpecError>,
}

/// Validates check files as far as the values at hand allow: a value that uses a variable
/// without a value is not an error here but a variable the file needs (`reach validate`).
pub fn validate_files(paths: &[impl AsRef<Path>], options: &LoadOptions) -> Vec<FileReport> {
    let loaded = load_each(paths, options);
    let mut reports: Vec<FileReport> = loaded
        .iter()
        .map(|file| {
            let (missing, errors): (Vec<&SpecError>, Vec<&SpecError>) =
                file.errors.iter().partition(|e| e.missing_var.is_some());
            let mut needs = file.needs.clone();
            needs.extend(missing.into_iter().filter_map(|e| e.missing_var.clone()));
            FileReport {
                file: file.label.clone(),
                checks: file.checks.len(),
                needs,
                errors: errors.into_iter().cloned().collect(),
            }
        })
        .collect();
    if reports.iter().all(|r| r.errors.is_empty()) {
        for error in duplicate_ids(&loaded) {
            if let Some(report) = reports.iter_mut().find(|r| r.file == error.file) {
                report.errors.push(error);
            }
        }
    }
    reports
}

/// One file, read and validated: the checks it yields, or its errors, sorted by position.
struct LoadedFile {
    label: String,
    text: String,
    checks: Vec<Check>,
    errors: Vec<SpecError>,
    /// Variables its checks refer to that have no value.
    needs: BTreeSet<String>,
}

fn load_each(paths: &[impl AsRef<Path>], options: &LoadOptions) -> Vec<LoadedFile> {
    // One interner for all the files: their checks share names across files too.
    let interner = Interner::default();
    paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            let label = if crate::input::is_stdin(path) {
                "stdin".to_owned()
            } else {
                path.display().to_string()
            };
            let (text, found) = match crate::input::read_text(path) {
                Ok(text) => {
                    let mut found = load_into(&label, &text, options, &interner);
                    found.errors.sort_by_key(|e| (e.line, e.column));
                    (text, found)
                }
                Err(e) => {
                    let mut found = Found::default();
                    found.errors.push(SpecError::whole_file(&label, e.to_string()));
                    (String::new(), found)
                }
            };
            let checks = if found.errors.is_empty() {
                found.checks
            } else {
                Vec::new()
            };
            LoadedFile {
                label,
                text,
                checks,
                errors: found.errors,
                needs: found.needs,
            }
        })
        .collect()
}

/// Validates one file's text; `label` names it in errors and in each check's source. Errors come
/// sorted by line and column.
pub fn load_str(label: &str, text: &str, options: &LoadOptions) -> Result<Vec<Check>, Vec<SpecError>> {
    let Found {
        checks, mut errors, ..
    } = load_into(label, text, options, &Interner::default());
    if errors.is_empty() {
        Ok(checks)
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(errors)
    }
}

/// What reading one file's text found: its checks (only meaningful when there are no errors), its
/// errors in the order they were found, and the variables without a value that its checks refer to.
#[derive(Default)]
struct Found {
    checks: Vec<Check>,
    errors: Vec<SpecError>,
    needs: BTreeSet<String>,
}

/// Validates one file's text.
///
/// A file is parsed a `[[check]]` table at a time when [`split`] can cut it into its tables
/// (nearly every file): the document is never held parsed as a whole, and each table's memory
/// goes once its checks are made. Otherwise, or when a piece does not parse alone, the whole
/// file is parsed at once, so that the checks, errors and needs are always the same either way.
fn load_into(label: &str, text: &str, options: &LoadOptions, interner: &Interner) -> Found {
    let locator = Locator::new(label, text);
    if let Some(pieces) = split::split(text) {
        let mut found = Found::default();
        let threads = loading_threads(pieces.checks.len());
        if let Ok(()) = load_pieces(&locator, text, &pieces, threads, options, interner, &mut found) {
            return found;
        }
    }
    let mut found = Found::default();
    load_whole(&locator, text, options, interner, &mut found);
    found
}

/// Loads a file parsed whole, as one document.
fn load_whole(
    locator: &Locator<'_>,
    text: &str,
    options: &LoadOptions,
    interner: &Interner,
    found: &mut Found,
) {
    let label = locator.file;
    let mut root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            found.errors.push(locator.toml(&e, 0..0));
            return;
        }
    };
    let checks_value = take(root.get_mut(), "check");
    let Ok(()) = load_file(locator, root, options, interner, found, |file, found| {
        match checks_value {
            None => found.errors.push(SpecError::whole_file(
                label,
                "no checks: add at least one [[check]] table",
            )),
            Some(value) => {
                for item in check_items(value, locator, &mut found.errors) {
                    visit_table(file, 0, item, found);
                }
            }
        }
        Ok::<(), Infallible>(())
    });
}

/// A split file that must be parsed whole after all: a piece that does not parse alone (the
/// whole parse then reports its syntax error as always), or a `check` key in the top part.
struct Unsplittable;

/// Loads a split file: its top part, then each `[[check]]` piece parsed on its own, its
/// offsets counted from where it starts in the text. On `Err`, `found` is to be thrown away.
fn load_pieces(
    locator: &Locator<'_>,
    text: &str,
    pieces: &split::Pieces,
    threads: usize,
    options: &LoadOptions,
    interner: &Interner,
    found: &mut Found,
) -> Result<(), Unsplittable> {
    let mut top = DeTable::parse(&text[pieces.top.clone()]).map_err(|_| Unsplittable)?;
    if take(top.get_mut(), "check").is_some() {
        return Err(Unsplittable);
    }
    load_file(locator, top, options, interner, found, |file, found| {
        load_check_pieces(file, text, &pieces.checks, threads, found)
    })
}

/// Below this many `[[check]]` tables a file is loaded on the calling thread alone: starting
/// threads would cost more than they save.
const PIECES_PER_THREAD: usize = 2_000;

/// The threads that load a file of `pieces` `[[check]]` tables: one per core, each with at least
/// [`PIECES_PER_THREAD`] tables.
fn loading_threads(pieces: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(pieces / PIECES_PER_THREAD)
        .max(1)
}

/// Loads the `[[check]]` pieces of a split file into `found`, in file order. With more than one
/// thread, the pieces are shared out in consecutive runs (each piece is parsed and validated on
/// its own, so nothing but the interned strings is shared), and the runs' checks, errors and
/// needs joined in order: the plan is the same as from one thread.
fn load_check_pieces(
    file: &FileContext<'_>,
    text: &str,
    pieces: &[Range<usize>],
    threads: usize,
    found: &mut Found,
) -> Result<(), Unsplittable> {
    let load_run = |run: &[Range<usize>], found: &mut Found| {
        for range in run {
            let mut piece = DeTable::parse(&text[range.clone()]).map_err(|_| Unsplittable)?;
            // A piece begins with its `[[check]]` header: `check` is all it holds.
            let value = take(piece.get_mut(), "check").ok_or(Unsplittable)?;
            for item in check_items(value, &file.locator.counting_from(range.start), &mut found.errors) {
                visit_table(file, range.start, item, found);
            }
        }
        Ok(())
    };
    if threads <= 1 {
        return load_run(pieces, found);
    }
    let runs: Vec<Result<Found, Unsplittable>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .chunks(pieces.len().div_ceil(threads))
            .map(|run| {
                scope.spawn(move || {
                    let mut found = Found::default();
                    load_run(run, &mut found).map(|()| found)
                })
            })
            .collect();
        // A panic in a loading thread is a bug: it goes on up as this thread's own.
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for run in runs {
        let mut run = run?;
        found.checks.append(&mut run.checks);
        found.errors.append(&mut run.errors);
        found.needs.append(&mut run.needs);
    }
    Ok(())
}

/// Validates a file from its parsed top-level table (`profile`, `[vars]`, `[defaults]`, without
/// `check`) into `found`; `tables` then loads each `[[check]]` table into `found` with
/// [`visit_table`]. `Err` only when `tables` gives up.
fn load_file<'i, E>(
    locator: &Locator<'_>,
    root: Spanned<DeTable<'i>>,
    options: &LoadOptions,
    interner: &Interner,
    found: &mut Found,
    tables: impl FnOnce(&FileContext<'_>, &mut Found) -> Result<(), E>,
) -> Result<(), E> {
    let label = locator.file;
    let root_span = root.span();
    let mut root = root.into_inner();
    let vars_value = take(&mut root, "vars");

    let errors = &mut found.errors;
    let header: RawHeader = read_table(locator, Spanned::new(root_span, root), errors, &|_| {})
        .0
        .unwrap_or_default();
    let profile = profile_name(&header, label, locator).unwrap_or_else(|e| {
        errors.push(e);
        "spec".to_owned()
    });
    let declared = declared_vars(vars_value, locator, errors);
    let defaults = FileDefaults::read(&header, locator, errors);
    let scope = Scope {
        declared: &declared,
        overrides: &options.overrides,
    };
    let file = FileContext {
        locator,
        profile: profile.into(),
        file: label.into(),
        interner,
        scope: &scope,
        defaults: &defaults,
        options,
    };
    tables(&file, found)
}

/// Loads one `[[check]]` table, whose spans count from `offset` in the file, into `found`: its
/// checks or its errors, and the variables without a value that it refers to.
fn visit_table(file: &FileContext<'_>, offset: usize, item: Spanned<DeValue<'_>>, found: &mut Found) {
    // From what is written rather than from the errors of substitution: a value that is not
    // read (its check has another fault, or its type is unknown) still needs its variables.
    let mut strings = Vec::new();
    strings_in(item.get_ref(), &mut strings);
    found.needs.extend(
        strings
            .iter()
            .flat_map(|s| vars::references(s))
            .filter(|name| file.scope.lacks_value(name))
            .map(str::to_owned),
    );
    let locator = file.locator.counting_from(offset);
    let file = file.at(&locator);
    let span = item.span();
    match item.into_inner() {
        DeValue::Table(table) => match check_table(&file, span, table) {
            Ok(mut expanded) => found.checks.append(&mut expanded),
            Err(mut check_errors) => found.errors.append(&mut check_errors),
        },
        _ => found
            .errors
            .push(locator.error(span, "each check must be a table")),
    }
}

/// The profile of a check file (its `profile`, or a slug of its file name), read without
/// validating the checks: an exporter names its files by profile before it has every value
/// their variables need.
pub fn profile_of(label: &str, text: &str) -> Result<String, Vec<SpecError>> {
    let locator = Locator::new(label, text);
    let root = DeTable::parse(text).map_err(|e| vec![locator.toml(&e, 0..0)])?;
    let root_span = root.span();
    let mut root = root.into_inner();
    root.make_owned();
    take(&mut root, "check");
    take(&mut root, "vars");
    let header = RawHeader::deserialize(Spanned::new(root_span.clone(), root).into_deserializer())
        .map_err(|e| vec![locator.toml(&e, root_span)])?;
    profile_name(&header, label, &locator).map_err(|e| vec![e])
}

/// Every string in a TOML value, nested ones included.
fn strings_in<'a>(value: &'a DeValue<'_>, out: &mut Vec<&'a str>) {
    match value {
        DeValue::String(s) => out.push(s),
        DeValue::Array(items) => items.iter().for_each(|item| strings_in(item.get_ref(), out)),
        DeValue::Table(table) => table.values().for_each(|item| strings_in(item.get_ref(), out)),
        _ => {}
    }
}

fn take<'i>(table: &mut DeTable<'i>, key: &str) -> Option<Spanned<DeValue<'i>>> {
    let found = table.keys().find(|k| k.get_ref() == key).cloned()?;
    table.remove(&found)
}

fn profile_name(header: &RawHeader, label: &str, locator: &Locator<'_>) -> Result<String, SpecError> {
    match &header.profile {
        Some(profile) => {
            if is_id(profile.get_ref()) {
                Ok(profile.get_ref().clone())
            } else {
                Err(locator.error(
                    profile.span(),
                    format!(
                        "profile `{}` must use only letters, digits, `-`, `_` and `.`",
                        profile.get_ref()
                    ),
                ))
            }
        }
        None => {
            let stem = Path::new(label)
                .file_stem()
                .map(|s| slug(&s.to_string_lossy()))
                .unwrap_or_default();
            Ok(if stem.is_empty() { "spec".to_owned() } else { stem })
        }
    }
}

/// Reads `[vars]`: `name = "default"`, `name = 8000`, or `name = { default = ..., description = ... }`
/// (no default: the user must supply a value).
fn declared_vars(
    value: Option<Spanned<DeValue<'_>>>,
    locator: &Locator<'_>,
    errors: &mut Vec<SpecError>,
) -> BTreeMap<String, Declared> {
    let mut declared = BTreeMap::new();
    let Some(value) = value else { return declared };
    let span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(locator.error(span, "`vars` must be a table of variables"));
        return declared;
    };
    for (key, value) in table {
        let name = key.get_ref().to_string();
        if !vars::is_var_name(&name) {
            errors.push(locator.error(
                key.span(),
                format!("`{name}` is not a valid variable name: use letters, digits, `_` and `-`"),
            ));
            continue;
        }
        let span = value.span();
        let var = match value.into_inner() {
            DeValue::String(s) => Declared {
                default: Some(s.into_owned()),
                description: None,
            },
            DeValue::Integer(i) => Declared {
                default: Some(i.as_str().to_owned()),
                description: None,
            },
            DeValue::Table(table) => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct RawVar {
                    default: Option<StringOrInt>,
                    description: Option<String>,
                }
                match RawVar::deserialize(Spanned::new(span.clone(), table).into_deserializer()) {
                    Ok(raw) => Declared {
                        default: raw.default.map(StringOrInt::into_string),
                        description: raw.description,
                    },
                    Err(e) => {
                        errors.push(locator.toml(&e, span));
                        continue;
                    }
                }
            }
            other => {
                errors.push(locator.error(
                    span,
                    format!(
                        "variable `{name}` must be a string, an integer, or a table with `default` and `description`; found {}",
                        other.type_str()
                    ),
                ));
                continue;
            }
        };
        declared.insert(name, var);
    }
    declared
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a string or an integer")]
enum StringOrInt {
    String(String),
    Int(i64),
}

impl StringOrInt {
    fn into_string(self) -> String {
        match self {
            StringOrInt::String(s) => s,
            StringOrInt::Int(i) => i.to_string(),
        }
    }
}

/// The items of `check`, which must be written as `[[check]]` tables; taken one at a time, so
/// that each table's memory goes as soon as it has been read.
fn check_items<'i>(
    value: Spanned<DeValue<'i>>,
    locator: &Locator<'_>,
    errors: &mut Vec<SpecError>,
) -> std::vec::IntoIter<Spanned<DeValue<'i>>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items.into_iter(),
        _ => {
            errors.push(locator.error(span, "checks are written as [[check]] tables, one per check"));
            Vec::new().into_iter()
        }
    }
}

/// Validates one `[[check]]` table into its checks (one per port).
fn check_table(
    file: &FileContext<'_>,
    span: Range<usize>,
    mut table: DeTable<'_>,
) -> Result<Vec<Check>, Vec<SpecError>> {
    let locator = file.locator;
    let line = locator.line(span.start);
    let mut common_table = DeTable::new();
    for key in COMMON_KEYS {
        if let Some(found) = table.keys().find(|k| k.get_ref() == key).cloned() {
            if let Some(value) = table.remove(&found) {
                common_table.insert(found, value);
            }
        }
    }
    let mut errors = Vec::new();
    let (common, _): (Option<RawCommon>, _) = read_table(
        locator,
        Spanned::new(span.clone(), common_table),
        &mut errors,
        &|error| {
            if error.message.starts_with("missing field `kind`") {
                error.message = format!("every check needs a `kind`: one of {}", kind_list());
            }
        },
    );
    let Some(common) = common else {
        return Err(errors);
    };
    let Some(kind) = Kind::parse(common.kind.get_ref()) else {
        errors.push(locator.error(
            common.kind.span(),
            format!(
                "unknown check kind `{}`: expected one of {}",
                common.kind.get_ref(),
                kind_list()
            ),
        ));
        return Err(errors);
    };

    let settings = file.settings(&common, kind, line, &mut errors);
    let specific = Spanned::new(span.clone(), table);
    let base = Base {
        common: &common,
        settings: &settings,
        span,
    };
    let expanded = match kind {
        Kind::Tcp => file.kind_checks(specific, &mut errors, |raw, e| file.tcp(raw, &base, e)),
        Kind::Http => file.kind_checks(specific, &mut errors, |raw, e| file.http(raw, &base, e)),
        Kind::Websocket => file.kind_checks(specific, &mut errors, |raw, e| file.websocket(raw, &base, e)),
        Kind::Endpoint => file.kind_checks(specific, &mut errors, |raw, e| file.endpoint(raw, &base, e)),
        Kind::Scan => file.kind_checks(specific, &mut errors, |raw, e| file.scan(raw, &base, e)),
        Kind::Listen => file.kind_checks(specific, &mut errors, |raw, e| file.listen(raw, &base, e)),
        Kind::Tls => file.kind_checks(specific, &mut errors, |raw, e| file.tls(raw, &base, e)),
        Kind::Dns => file.kind_checks(specific, &mut errors, |raw, e| file.dns(raw, &base, e)),
    };
    if errors.is_empty() {
        Ok(expanded)
    } else {
        Err(errors)
    }
}

/// One error per repeated id, at the later check, naming where the id was first used.
fn duplicate_ids(files: &[LoadedFile]) -> Vec<SpecError> {
    let mut first: HashMap<&str, &Source> = HashMap::new();
    let mut errors = Vec::new();
    for file in files {
        for check in &file.checks {
            if let Some(earlier) = first.get(check.id.as_str()) {
                let locator = Locator::new(&file.label, &file.text);
                let offset = line_offset(&file.text, check.source.line);
                errors.push(locator.error(
                    offset..offset + 1,
                    format!(
                        "duplicate check id `{}` (first at {}:{}): give one of them a distinct `id` or `name`",
                        check.id, earlier.file, earlier.line
                    ),
                ));
            } else {
                first.insert(&check.id, &check.source);
            }
        }
    }
    errors
}

fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn load(text: &str) -> Result<Vec<Check>, Vec<SpecError>> {
        load_str("t.toml", text, &LoadOptions::default())
    }

    fn first_error(text: &str) -> SpecError {
        load(text).expect_err("spec should be rejected").remove(0)
    }

    #[test]
    fn a_minimal_tcp_check_loads_with_defaults() {
        let checks =
            load("[[check]]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 22\nexpect = \"open\"\n").unwrap();
        assert_eq!(checks.len(), 1);
        let check = &checks[0];
        assert_eq!(check.id, "t.tcp-127-0-0-1-22");
        assert_eq!(check.name, "port 22 open");
        assert_eq!(
            check.source,
            Source {
                file: "t.toml".into(),
                line: 1
            }
        );
        assert_eq!((check.timeout, check.retries), (DEFAULT_TIMEOUT, DEFAULT_RETRIES));
        assert_eq!(check.target(), "127.0.0.1:22");
    }

    #[test]
    fn a_tls_check_gets_time_for_a_whole_enumeration_unless_told_otherwise() {
        let tls = "[[check]]\nkind = \"tls\"\nhost = \"127.0.0.1\"\n";
        assert_eq!(load(tls).unwrap()[0].timeout, DEFAULT_TLS_TIMEOUT);
        let defaults = format!("[defaults]\ntimeout = \"2s\"\n{tls}");
        assert_eq!(load(&defaults).unwrap()[0].timeout, Duration::from_secs(2));
        let own = format!("{tls}timeout = \"1s\"\n");
        assert_eq!(load(&own).unwrap()[0].timeout, Duration::from_secs(1));
    }

    #[test]
    fn port_lists_expand_to_one_check_per_port_with_stable_ids() {
        let text = r#"
profile = "p"
[vars]
db = "5432"
[[check]]
kind = "tcp"
name = "internal"
host = "::1"
ports = [6379, "{db}", "9200-9201"]
expect = "not-exposed"
"#;
        let checks = load(text).unwrap();
        let ids: Vec<_> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            // In port order, however the list is written: reports of two runs line up.
            [
                "p.internal/5432",
                "p.internal/6379",
                "p.internal/9200",
                "p.internal/9201"
            ]
        );
        assert_eq!(checks[1].name, "internal (port 6379)");
        assert_eq!(checks[0].target(), "[::1]:5432");
        assert_eq!(checks[0].source.line, 5);
    }

    #[test]
    fn unknown_keys_are_located() {
        let error = first_error(
            "[[check]]\nkind = \"tcp\"\nhost = \"a\"\nprots = [1]\nport = 1\nexpect = \"open\"\n",
        );
        assert_eq!((error.line, error.column), (4, 1), "{error}");
        assert!(error.message.contains("unknown field `prots`"), "{error}");
        let top = first_error("checks = 1\n");
        assert!(top.message.contains("unknown field `checks`"), "{top}");
    }

    #[test]
    fn wrong_types_bad_ports_and_bad_values_are_located() {
        let error = first_error("[[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = 70000\nexpect = \"open\"\n");
        assert_eq!((error.line, error.column), (4, 8), "{error}");
        assert!(error.message.contains("70000"), "{error}");
        let error = first_error("[[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = true\nexpect = \"open\"\n");
        assert_eq!(error.line, 4, "{error}");
        let error = first_error("[[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = 1\nexpect = \"opn\"\n");
        assert_eq!(error.line, 5, "{error}");
        assert!(error.message.contains("not-exposed"), "{error}");
        let error = first_error("[[check]]\nkind = \"tcp\"\nhost = \"a b\"\nport = 1\nexpect = \"open\"\n");
        assert_eq!(error.line, 3, "{error}");
        let error = first_error("[[check]]\nkind = \"udp\"\n");
        assert!(error.message.contains("unknown check kind `udp`"), "{error}");
        let error = first_error(
            "[[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = 1\nexpect = \"open\"\ntimeout = \"soon\"\n",
        );
        assert_eq!(error.line, 6, "{error}");
    }

    #[test]
    fn undefined_variables_are_located_at_their_use() {
        let error =
            first_error("[[check]]\nkind = \"tcp\"\nhost = \"{nope}\"\nport = 1\nexpect = \"open\"\n");
        assert_eq!((error.line, error.column), (3, 8), "{error}");
        assert!(error.message.contains("undefined variable `nope`"), "{error}");
    }

    #[test]
    fn all_errors_of_a_file_are_reported() {
        let errors = load(
            "[[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = 0\nexpect = \"open\"\n\
             [[check]]\nkind = \"tcp\"\nhost = \"a\"\nport = 1\nexpect = \"shut\"\n",
        )
        .unwrap_err();
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 10]);
    }

    #[test]
    fn syntax_errors_are_located() {
        let error = first_error("[[check]\nkind = \"tcp\"\n");
        assert_eq!(error.line, 1, "{error}");
    }

    /// Checks and errors of a file parsed a `[[check]]` table at a time, then parsed whole.
    fn both_ways(text: &str) -> [Result<Vec<Check>, Vec<SpecError>>; 2] {
        let options = LoadOptions::default();
        let whole = {
            let mut found = Found::default();
            let locator = Locator::new("t.toml", text);
            load_whole(&locator, text, &options, &Interner::default(), &mut found);
            if found.errors.is_empty() {
                Ok(found.checks)
            } else {
                found.errors.sort_by_key(|e| (e.line, e.column));
                Err(found.errors)
            }
        };
        [load(text), whole]
    }

    #[test]
    fn a_file_parsed_table_by_table_loads_as_it_does_parsed_whole() {
        let tcp = "[[check]]\nkind = \"tcp\"\nhost = \"{h}\"\nports = \"1-3\"\nexpect = \"open\"\n";
        let http =
            "[[check]]\nkind = \"http\"\nurl = \"http://{h}/\"\n# a comment\n[check.expect]\nstatus = 200\n";
        let mut texts = vec![
            format!("profile = \"p\"\n[vars]\nh = \"db.test\"\n[defaults]\ntimeout = \"2s\"\n{tcp}\n{http}{tcp}"),
            // Errors in later tables: unknown keys, bad values, undefined variables, a table
            // that is not one, a syntax error (the whole parse reports it), and CRLF lines.
            format!("[vars]\nh = \"a.test\"\n{tcp}{tcp}prots = 1\n[[check]]\nkind = \"tcp\"\nhost = \"{{nope}}\"\nport = 0\nexpect = \"shut\"\n"),
            format!("[vars]\nh = \"a.test\"\n{tcp}[[check]]\nkind = = \"tcp\"\n"),
            format!("[vars]\nh = \"a.test\"\n{http}[check.expect]\nstatus = 201\n"),
            format!("[vars]\nh = \"a.test\"\n{tcp}").replace('\n', "\r\n"),
            format!("check = 1\n{tcp}"),
            format!("[[check]]\nkind = \"tcp\"\n[vars]\nh = \"a.test\"\n{tcp}"),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        for entry in std::fs::read_dir(&dir)
            .unwrap()
            .chain(std::fs::read_dir(dir.join("examples")).unwrap())
        {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
        for text in &texts {
            let [split, whole] = both_ways(text);
            assert_eq!(split, whole, "{text}");
        }
        // The files that can be split were: the comparison was between the two ways.
        let split_into: Vec<Option<usize>> = texts[..7]
            .iter()
            .map(|t| split::split(t).map(|p| p.checks.len()))
            .collect();
        assert_eq!(
            split_into,
            [Some(3), Some(3), Some(2), Some(1), Some(1), Some(1), None]
        );
    }

    #[test]
    fn a_large_file_loaded_on_several_threads_loads_as_on_one() {
        // Three runs of tables, with errors and a variable without a value in the first and the
        // last, and a host written the same in all of them.
        let mut text = String::from("[vars]\nh = \"db.test\"\nkey = { description = \"no default\" }\n");
        for i in 0..3 * PIECES_PER_THREAD {
            let port = 1 + i % 60_000;
            match i {
                10 => {
                    text.push_str("[[check]]\nkind = \"tcp\"\nhost = \"{h}\"\nport = 0\nexpect = \"open\"\n")
                }
                20 => text.push_str("[[check]]\nkind = \"http\"\nurl = \"http://{h}/{key}\"\n"),
                i if i == 3 * PIECES_PER_THREAD - 5 => text
                    .push_str("[[check]]\nkind = \"tcp\"\nhost = \"{nope}\"\nport = 1\nexpect = \"shut\"\n"),
                _ => text.push_str(&format!(
                    "[[check]]\nkind = \"tcp\"\nhost = \"{{h}}\"\nport = {port}\nexpect = \"open\"\n"
                )),
            }
        }
        let pieces = split::split(&text).expect("the file splits");
        let options = LoadOptions::default();
        let load_with = |threads: usize, text: &str| {
            let mut found = Found::default();
            let locator = Locator::new("t.toml", text);
            let pieces = split::split(text).unwrap();
            load_pieces(
                &locator,
                text,
                &pieces,
                threads,
                &options,
                &Interner::default(),
                &mut found,
            )
            .map_err(|_| "unsplittable")
            .unwrap();
            found
        };
        let one = load_with(1, &text);
        let three = load_with(3, &text);
        assert_eq!(pieces.checks.len(), 3 * PIECES_PER_THREAD);
        assert_eq!(three.errors, one.errors);
        let lines: Vec<usize> = three.errors.iter().map(|e| e.line).collect();
        // Port 0; the variable without a value; an undefined variable and an unknown `expect`.
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines.is_sorted(), "errors in file order: {lines:?}");
        assert_eq!(three.needs, one.needs);
        assert_eq!(three.needs.iter().collect::<Vec<_>>(), ["key"]);

        // Without errors, the same checks in the same order, and one host string for all.
        let clean: String = text
            .split("[[check]]")
            .enumerate()
            .filter(|(i, piece)| {
                *i == 0
                    || (!piece.contains("port = 0\n")
                        && !piece.contains("{nope}")
                        && !piece.contains("{key}"))
            })
            .map(|(i, piece)| {
                if i == 0 {
                    piece.replace("key = { description = \"no default\" }\n", "")
                } else {
                    format!("[[check]]{piece}")
                }
            })
            .collect();
        let (one, three) = (load_with(1, &clean), load_with(3, &clean));
        assert!(three.errors.is_empty(), "{:?}", three.errors.first());
        assert_eq!(three.checks, one.checks);
        assert_eq!(three.checks.len(), 3 * PIECES_PER_THREAD - 3);
        let hosts: Vec<&Arc<str>> = three
            .checks
            .iter()
            .map(|c| match &c.probe {
                ProbeSpec::Tcp(TcpCheck {
                    host: Host::Name(name),
                    ..
                }) => name,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            hosts.iter().all(|h| Arc::ptr_eq(h, hosts[0])),
            "one shared host string"
        );
    }

    #[test]
    fn the_checks_of_a_file_share_its_profile_file_tags_and_host() {
        let mut text = String::from("[vars]\nhost = \"db.test\"\n");
        for port in 1..=50 {
            text.push_str(&format!(
                "[[check]]\nkind = \"tcp\"\nhost = \"{{host}}\"\nport = {port}\nexpect = \"open\"\ntags = [\"a\"]\n"
            ));
        }
        text.push_str(
            "[[check]]\nkind = \"tcp\"\nhost = \"db.test\"\nports = \"100-199\"\nexpect = \"open\"\n",
        );
        let checks = load(&text).unwrap();
        assert_eq!(checks.len(), 150);
        let first = &checks[0];
        let ProbeSpec::Tcp(TcpCheck {
            host: Host::Name(name),
            ..
        }) = &first.probe
        else {
            panic!("{first:?}")
        };
        for check in &checks {
            assert!(Arc::ptr_eq(&check.profile, &first.profile));
            assert!(Arc::ptr_eq(&check.source.file, &first.source.file));
            assert!(Arc::ptr_eq(&check.vantage, &first.vantage));
            let ProbeSpec::Tcp(TcpCheck {
                host: Host::Name(own),
                ..
            }) = &check.probe
            else {
                panic!("{check:?}")
            };
            assert!(
                Arc::ptr_eq(own, name),
                "{} has its own copy of the host",
                check.id
            );
        }
        assert!(checks[..50].iter().all(|c| Arc::ptr_eq(&c.tags, &first.tags)));
    }

    /// The spans of every string in `value` (nested ones included).
    fn string_spans(value: &Spanned<DeValue<'_>>, out: &mut Vec<Range<usize>>) {
        match value.get_ref() {
            DeValue::String(_) => out.push(value.span()),
            DeValue::Array(items) => items.iter().for_each(|item| string_spans(item, out)),
            DeValue::Table(table) => table.values().for_each(|item| string_spans(item, out)),
            _ => {}
        }
    }

    #[test]
    fn a_value_without_its_variable_causes_no_other_error_in_any_shipped_file() {
        // Every string of every check of the shipped files, in turn, becomes `{zz}`, a variable
        // without a value: either the key substitutes variables, and then the missing value is
        // the only fault found, or it does not, and no value is reported missing for it.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        let mut files: Vec<_> = ["", "examples"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root.join(dir)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{files:?}");
        let mut tried = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let root = DeTable::parse(&text).unwrap();
            let Some(DeValue::Array(checks)) = root.get_ref().get("check").map(Spanned::get_ref) else {
                panic!("{} has no checks", path.display());
            };
            let mut spans = Vec::new();
            for check in checks {
                let DeValue::Table(table) = check.get_ref() else {
                    continue;
                };
                for (key, value) in table {
                    if !["kind", "id", "tags", "vantage"].contains(&key.get_ref().as_ref()) {
                        string_spans(value, &mut spans);
                    }
                }
            }
            for span in spans {
                let mut changed = format!("{}\"{{zz}}\"{}", &text[..span.start], &text[span.end..]);
                let vars = changed.find("[vars]\n").expect("every shipped file has [vars]") + 7;
                changed.insert_str(vars, "zz = { description = \"a test value\" }\n");
                let errors = load(&changed).err().unwrap_or_default();
                let lacks_zz = errors.iter().any(|e| e.missing_var.as_deref() == Some("zz"));
                let others: Vec<_> = errors.iter().filter(|e| e.missing_var.is_none()).collect();
                assert!(
                    !lacks_zz || others.is_empty(),
                    "{} with `{}` as {{zz}}: knock-on errors {others:#?}",
                    path.display(),
                    &text[span]
                );
                tried += 1;
            }
        }
        assert!(tried > 100, "only {tried} values tried");
    }

    #[test]
    fn international_names_in_urls_become_punycode() {
        // The IDNA back end is chosen in Cargo.toml (idna_adapter): a stub one would reject this.
        let checks = load("[[check]]\nkind = \"http\"\nurl = \"https://B\u{fc}cher.example/\"\n").unwrap();
        assert_eq!(checks[0].target(), "GET https://xn--bcher-kva.example/");
    }

    #[test]
    fn slugs_are_lowercase_words() {
        assert_eq!(slug("API on {host}:8000!"), "api-on-host-8000");
    }
}
