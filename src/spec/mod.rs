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
mod listen;
mod plan;
pub mod ports;
mod raw;
pub mod request;
mod scan;
pub mod targets;
mod tcp;
mod tls;
pub mod vars;
mod websocket;

pub use context::{
    default_timeout, parse_duration, LoadOptions, DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_TLS_TIMEOUT,
    MAX_TIMEOUT,
};
pub use error::{SpecError, SpecErrors};
pub use plan::{
    port_ranges, Check, DnsCheck, DnsExpectation, DnsProtocol, DnsValue, Host, Kind, ListenCheck,
    ListenExpectation, Plan, PortExpectation, ProbeSpec, RecordType, ScanCheck, Source, TcpCheck, TlsCheck,
    DEFAULT_SCAN_CONCURRENCY,
};
pub use request::{EndpointCheck, HttpCheck, WebsocketCheck};
pub use tls::{apply_flags, load_policy, PolicyError, PolicyFlags};

use context::{is_id, kind_list, read_table, slug, Base, FileContext, FileDefaults};
use error::Locator;
use raw::{RawCommon, RawHeader, COMMON_KEYS};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
        plan.checks.extend(file.checks);
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
    paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            let label = if crate::input::is_stdin(path) {
                "stdin".to_owned()
            } else {
                path.display().to_string()
            };
            let mut errors = Vec::new();
            let mut needs = BTreeSet::new();
            let (text, checks) = match crate::input::read_text(path) {
                Ok(text) => {
                    let checks = load_str_into(&label, &text, options, &mut errors, &mut needs);
                    errors.sort_by_key(|e| (e.line, e.column));
                    (text, checks)
                }
                Err(e) => {
                    errors.push(SpecError::whole_file(&label, e.to_string()));
                    (String::new(), Vec::new())
                }
            };
            let checks = if errors.is_empty() { checks } else { Vec::new() };
            LoadedFile {
                label,
                text,
                checks,
                errors,
                needs,
            }
        })
        .collect()
}

/// Validates one file's text; `label` names it in errors and in each check's source. Errors come
/// sorted by line and column.
pub fn load_str(label: &str, text: &str, options: &LoadOptions) -> Result<Vec<Check>, Vec<SpecError>> {
    let mut errors = Vec::new();
    let checks = load_str_into(label, text, options, &mut errors, &mut BTreeSet::new());
    if errors.is_empty() {
        Ok(checks)
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(errors)
    }
}

/// Validates one file's text into `errors` and returns its checks (only meaningful when there
/// are no errors); `needs` gets the variables without a value that its checks refer to.
fn load_str_into(
    label: &str,
    text: &str,
    options: &LoadOptions,
    errors: &mut Vec<SpecError>,
    needs: &mut BTreeSet<String>,
) -> Vec<Check> {
    let locator = Locator::new(label, text);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            errors.push(locator.toml(&e, 0..0));
            return Vec::new();
        }
    };
    let root_span = root.span();
    let mut root = root.into_inner();
    root.make_owned();
    let checks_value = take(&mut root, "check");
    let vars_value = take(&mut root, "vars");

    let header: RawHeader = read_table(&locator, Spanned::new(root_span, root), errors, &|_| {})
        .0
        .unwrap_or_default();
    let profile = profile_name(&header, label, &locator).unwrap_or_else(|e| {
        errors.push(e);
        "spec".to_owned()
    });
    let declared = declared_vars(vars_value, &locator, errors);
    let defaults = FileDefaults::read(&header, &locator, errors);
    let scope = Scope {
        declared: &declared,
        overrides: &options.overrides,
    };
    let file = FileContext {
        locator: &locator,
        profile: &profile,
        scope: &scope,
        defaults: &defaults,
        options,
    };

    if let Some(value) = &checks_value {
        // From what is written rather than from the errors of substitution: a value that is not
        // read (its check has another fault, or its type is unknown) still needs its variables.
        let mut strings = Vec::new();
        strings_in(value.get_ref(), &mut strings);
        needs.extend(
            strings
                .iter()
                .flat_map(|s| vars::references(s))
                .filter(|name| scope.lacks_value(name))
                .map(str::to_owned),
        );
    }
    let tables = match checks_value {
        None => {
            errors.push(SpecError::whole_file(
                label,
                "no checks: add at least one [[check]] table",
            ));
            Vec::new()
        }
        Some(value) => check_tables(value, &locator, errors),
    };
    let mut checks = Vec::new();
    for (span, table) in tables {
        match check_table(&file, span, table) {
            Ok(mut expanded) => checks.append(&mut expanded),
            Err(mut check_errors) => errors.append(&mut check_errors),
        }
    }
    checks
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

/// Splits `check` into its tables, which must be written as `[[check]]`.
fn check_tables<'i>(
    value: Spanned<DeValue<'i>>,
    locator: &Locator<'_>,
    errors: &mut Vec<SpecError>,
) -> Vec<(Range<usize>, DeTable<'i>)> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        errors.push(locator.error(span, "checks are written as [[check]] tables, one per check"));
        return Vec::new();
    };
    let mut tables = Vec::new();
    for item in items {
        let span = item.span();
        match item.into_inner() {
            DeValue::Table(table) => tables.push((span, table)),
            _ => errors.push(locator.error(span, "each check must be a table")),
        }
    }
    tables
}

/// Validates one `[[check]]` table into its checks (one per port).
fn check_table(
    file: &FileContext<'_>,
    span: Range<usize>,
    mut table: DeTable<'_>,
) -> Result<Vec<Check>, Vec<SpecError>> {
    let locator = file.locator;
    let line = locator.error(span.clone(), "").line;
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
