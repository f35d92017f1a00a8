//! Check files -> a validated [`Plan`]. No network I/O happens here: a plan that loads has every
//! value parsed, every variable substituted and every id unique, and only then may probes run.
//!
//! The file format is TOML, documented in the README's "Spec reference". Errors carry the file,
//! line and column of the value at fault; loading reports every error it finds, not just the first.

mod dns;
mod endpoint;
mod error;
mod http;
mod listen;
mod plan;
pub mod ports;
mod raw;
pub mod request;
mod scan;
mod tcp;
mod tls;
pub mod vars;
mod websocket;

pub use error::{SpecError, SpecErrors};
pub(crate) use plan::validate_dns_name;
pub use plan::{
    port_ranges, Check, DnsCheck, DnsExpectation, DnsProtocol, DnsValue, Host, Kind, ListenCheck,
    ListenExpectation, Plan, PortExpectation, ProbeSpec, RecordType, ScanCheck, Source, TcpCheck, TlsCheck,
};
pub use request::{EndpointCheck, HttpCheck, WebsocketCheck};
pub use tls::{apply_flags, load_policy, PolicyError, PolicyFlags};

use error::Locator;
use raw::{RawCommon, RawHeader, RawPortItem, RawPorts, COMMON_KEYS};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use vars::{Declared, Overrides, Scope};

/// Timeout of one attempt when neither the check, the file nor the command line sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Extra attempts for inconclusive results when nothing else says.
pub const DEFAULT_RETRIES: u32 = 1;
const MAX_RETRIES: u32 = 10;
/// The longest timeout a check (or `--timeout`) may have.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Settings from the command line that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub overrides: Overrides,
    /// `--timeout`: replaces every check's timeout.
    pub timeout: Option<Duration>,
    /// `--retries`: replaces every check's retry count.
    pub retries: Option<u32>,
}

/// Reads and validates check files into one plan.
pub fn load_files(paths: &[impl AsRef<Path>], options: &LoadOptions) -> Result<Plan, SpecErrors> {
    let mut errors = Vec::new();
    let mut plan = Plan::default();
    let mut texts = Vec::new();
    for path in paths {
        let label = path.as_ref().display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => texts.push((label, text)),
            Err(e) => errors.push(SpecError::whole_file(&label, format!("cannot read: {e}"))),
        }
    }
    for (label, text) in &texts {
        plan.files.push(label.clone());
        match load_str(label, text, options) {
            Ok(checks) => plan.checks.extend(checks),
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    if errors.is_empty() {
        errors.extend(duplicate_ids(&plan.checks, &texts));
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(SpecErrors(errors))
    }
}

/// Validates one file's text; `label` names it in errors and in each check's source.
pub fn load_str(label: &str, text: &str, options: &LoadOptions) -> Result<Vec<Check>, Vec<SpecError>> {
    let locator = Locator::new(label, text);
    let root = DeTable::parse(text).map_err(|e| vec![locator.toml(&e, 0..0)])?;
    let root_span = root.span();
    let mut root = root.into_inner();
    root.make_owned();
    let checks_value = take(&mut root, "check");
    let vars_value = take(&mut root, "vars");

    let mut errors = Vec::new();
    let header = match RawHeader::deserialize(Spanned::new(root_span.clone(), root).into_deserializer()) {
        Ok(header) => header,
        Err(e) => return Err(vec![locator.toml(&e, root_span)]),
    };
    let profile = profile_name(&header, label, &locator).map_err(|e| vec![e])?;
    let declared = declared_vars(vars_value, &locator, &mut errors);
    let defaults = FileDefaults::read(&header, &locator, &mut errors);
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

    let tables = match checks_value {
        None => {
            errors.push(SpecError::whole_file(
                label,
                "no checks: add at least one [[check]] table",
            ));
            Vec::new()
        }
        Some(value) => check_tables(value, &locator, &mut errors),
    };
    let mut checks = Vec::new();
    for (span, table) in tables {
        match file.check(span, table) {
            Ok(mut expanded) => checks.append(&mut expanded),
            Err(mut check_errors) => errors.append(&mut check_errors),
        }
    }
    if errors.is_empty() {
        Ok(checks)
    } else {
        Err(errors)
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

/// `[defaults]`, validated.
struct FileDefaults {
    timeout: Duration,
    retries: u32,
}

impl FileDefaults {
    fn read(header: &RawHeader, locator: &Locator<'_>, errors: &mut Vec<SpecError>) -> Self {
        let timeout = match &header.defaults.timeout {
            Some(text) => parse_timeout(text, locator).unwrap_or_else(|e| {
                errors.push(e);
                DEFAULT_TIMEOUT
            }),
            None => DEFAULT_TIMEOUT,
        };
        let retries = match &header.defaults.retries {
            Some(retries) => check_retries(retries, locator).unwrap_or_else(|e| {
                errors.push(e);
                DEFAULT_RETRIES
            }),
            None => DEFAULT_RETRIES,
        };
        FileDefaults { timeout, retries }
    }
}

fn parse_timeout(text: &Spanned<String>, locator: &Locator<'_>) -> Result<Duration, SpecError> {
    let value = parse_duration(text.get_ref()).map_err(|e| locator.error(text.span(), e))?;
    if value.is_zero() || value > MAX_TIMEOUT {
        return Err(locator.error(text.span(), "timeout must be more than 0 and at most 1h"));
    }
    Ok(value)
}

/// Parses durations like `500ms`, `3s`, `1m 30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}): write e.g. \"500ms\", \"3s\" or \"1m\""))
}

fn check_retries(retries: &Spanned<u32>, locator: &Locator<'_>) -> Result<u32, SpecError> {
    let value = *retries.get_ref();
    if value > MAX_RETRIES {
        return Err(locator.error(
            retries.span(),
            format!("retries = {value} is too many: at most {MAX_RETRIES}"),
        ));
    }
    Ok(value)
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

/// What every check of one file shares while it is validated.
struct FileContext<'a> {
    locator: &'a Locator<'a>,
    profile: &'a str,
    scope: &'a Scope<'a>,
    defaults: &'a FileDefaults,
    options: &'a LoadOptions,
}

impl FileContext<'_> {
    /// Validates one `[[check]]` table into its checks (one per port).
    fn check(&self, span: Range<usize>, mut table: DeTable<'_>) -> Result<Vec<Check>, Vec<SpecError>> {
        let locator = self.locator;
        let line = locator.error(span.clone(), "").line;
        let mut common_table = DeTable::new();
        for key in COMMON_KEYS {
            if let Some(found) = table.keys().find(|k| k.get_ref() == key).cloned() {
                if let Some(value) = table.remove(&found) {
                    common_table.insert(found, value);
                }
            }
        }
        let common = RawCommon::deserialize(Spanned::new(span.clone(), common_table).into_deserializer())
            .map_err(|e| {
                let mut error = locator.toml(&e, span.clone());
                if error.message.starts_with("missing field `kind`") {
                    error.message = format!("every check needs a `kind`: one of {}", kind_list());
                }
                vec![error]
            })?;
        let kind = Kind::parse(common.kind.get_ref()).ok_or_else(|| {
            vec![locator.error(
                common.kind.span(),
                format!(
                    "unknown check kind `{}`: expected one of {}",
                    common.kind.get_ref(),
                    kind_list()
                ),
            )]
        })?;

        let mut errors = Vec::new();
        let settings = self.settings(&common, line, &mut errors);
        let specific = Spanned::new(span.clone(), table);
        let base = Base {
            common: &common,
            settings: &settings,
            span,
        };
        let expanded = match kind {
            Kind::Tcp => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.tcp(raw, &base, &mut errors)),
            Kind::Http => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.http(raw, &base, &mut errors)),
            Kind::Websocket => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.websocket(raw, &base, &mut errors)),
            Kind::Endpoint => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.endpoint(raw, &base, &mut errors)),
            Kind::Scan => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.scan(raw, &base, &mut errors)),
            Kind::Listen => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.listen(raw, &base, &mut errors)),
            Kind::Tls => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.tls(raw, &base, &mut errors)),
            Kind::Dns => self
                .kind_fields(specific, &mut errors)
                .map(|raw| self.dns(raw, &base, &mut errors)),
        }
        .unwrap_or_default();
        if errors.is_empty() {
            Ok(expanded)
        } else {
            Err(errors)
        }
    }

    /// Reads the keys of one kind (those left after the common ones were taken out).
    fn kind_fields<T: serde::de::DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'_>>,
        errors: &mut Vec<SpecError>,
    ) -> Option<T> {
        let span = table.span();
        let top_level: Vec<String> = table.get_ref().keys().map(|k| k.get_ref().to_string()).collect();
        T::deserialize(table.into_deserializer())
            .map_err(|e| {
                let mut error = self.locator.toml(&e, span);
                // The hint fits a key of the check itself, not one inside a nested table (`expect`).
                let unknown = error.message.split('`').nth(1).unwrap_or_default();
                if error.message.starts_with("unknown field") && top_level.iter().any(|k| k == unknown) {
                    error
                        .message
                        .push_str(&format!(" (or a key of every check: {})", COMMON_KEYS.join(", ")));
                }
                errors.push(error);
            })
            .ok()
    }

    /// Builds one of the checks of a `[[check]]` table. `part` tells its targets apart (a port,
    /// say) and is `None` when the table has a single target.
    fn build(
        &self,
        base: &Base<'_>,
        local_id: &str,
        part: Option<Part>,
        default_name: String,
        probe: ProbeSpec,
    ) -> Check {
        let settings = base.settings;
        Check {
            id: match &part {
                Some(part) => format!("{}.{local_id}/{}", self.profile, part.id),
                None => format!("{}.{local_id}", self.profile),
            },
            name: match (&settings.name, &part) {
                (Some(name), None) => name.clone(),
                (Some(name), Some(part)) => format!("{name} ({})", part.label),
                (None, _) => default_name,
            },
            tags: settings.tags.clone(),
            vantage: settings.vantage.clone(),
            source: Source {
                file: self.locator.file.to_owned(),
                line: settings.line,
            },
            timeout: settings.timeout,
            retries: settings.retries,
            probe,
        }
    }

    /// One check per port, for the kinds whose `port`/`ports` key lists several: with more than
    /// one, ids end in `/PORT` and names in `(port PORT)`. `make` gives each port's default
    /// name and probe.
    fn per_port(
        &self,
        base: &Base<'_>,
        local_id: &str,
        ports: Vec<u16>,
        mut make: impl FnMut(u16) -> (String, ProbeSpec),
    ) -> Vec<Check> {
        let several = ports.len() > 1;
        ports
            .into_iter()
            .map(|port| {
                let part = several.then(|| Part {
                    id: port.to_string(),
                    label: format!("port {port}"),
                });
                let (name, probe) = make(port);
                self.build(base, local_id, part, name, probe)
            })
            .collect()
    }

    /// The settings of one check that do not depend on its kind.
    fn settings(&self, common: &RawCommon, line: usize, errors: &mut Vec<SpecError>) -> Settings {
        let locator = self.locator;
        let name = common.name.as_ref().and_then(|name| {
            self.scope
                .substitute(name.get_ref())
                .map_err(|e| errors.push(locator.error(name.span(), e)))
                .ok()
        });
        if let Some(id) = &common.id {
            if !is_id(id.get_ref()) {
                errors.push(locator.error(
                    id.span(),
                    format!(
                        "id `{}` must use only letters, digits, `-`, `_` and `.`",
                        id.get_ref()
                    ),
                ));
            }
        }
        let mut tags = Vec::new();
        for tag in &common.tags {
            if tag.get_ref().trim().is_empty() || tag.get_ref().contains(',') {
                errors.push(locator.error(tag.span(), "a tag must be a non-empty word without commas"));
            } else {
                tags.push(tag.get_ref().clone());
            }
        }
        let vantage = common
            .vantage
            .as_ref()
            .map(|v| {
                let names = v.get_ref().to_vec();
                if names.iter().any(|n| n.trim().is_empty()) {
                    errors.push(locator.error(v.span(), "a vantage name must not be empty"));
                }
                names
            })
            .unwrap_or_default();
        let timeout = match (&self.options.timeout, &common.timeout) {
            (Some(cli), _) => *cli,
            (None, Some(text)) => parse_timeout(text, locator).unwrap_or_else(|e| {
                errors.push(e);
                DEFAULT_TIMEOUT
            }),
            (None, None) => self.defaults.timeout,
        };
        let retries = match (&self.options.retries, &common.retries) {
            (Some(cli), _) => *cli,
            (None, Some(retries)) => check_retries(retries, locator).unwrap_or_else(|e| {
                errors.push(e);
                DEFAULT_RETRIES
            }),
            (None, None) => self.defaults.retries,
        };
        Settings {
            name,
            tags,
            vantage,
            timeout,
            retries,
            line,
        }
    }

    /// A string value after substitution.
    fn text(&self, written: &Spanned<String>, errors: &mut Vec<SpecError>) -> Option<String> {
        self.scope
            .substitute(written.get_ref())
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// Validates a host after substitution.
    fn host(&self, written: &Spanned<String>, errors: &mut Vec<SpecError>) -> Option<Host> {
        self.scope
            .substitute(written.get_ref())
            .and_then(|text| Host::parse(&text))
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// The one of `port` and `ports` that was written, else `default`; both at once, or neither
    /// without a default (`kind` names the check in that error), is an error.
    fn written_ports<'a>(
        &self,
        port: Option<&'a Spanned<RawPorts>>,
        ports: Option<&'a Spanned<RawPorts>>,
        default: Option<&'a Spanned<RawPorts>>,
        kind: &str,
        base: &Base<'_>,
        errors: &mut Vec<SpecError>,
    ) -> Option<&'a Spanned<RawPorts>> {
        match (port, ports) {
            (Some(_), Some(ports)) => {
                errors.push(
                    self.locator
                        .error(ports.span(), "write either `port` or `ports`, not both"),
                );
                None
            }
            (Some(one), None) | (None, Some(one)) => Some(one),
            (None, None) => {
                if default.is_none() {
                    errors.push(self.locator.error(
                        base.span.clone(),
                        format!("a {kind} check needs `port` (or `ports`)"),
                    ));
                }
                default
            }
        }
    }

    /// Expands a port list after substitution, dropping repeats.
    fn ports(&self, written: &Spanned<RawPorts>, errors: &mut Vec<SpecError>) -> Option<Vec<u16>> {
        let expand = || -> Result<Vec<u16>, String> {
            let mut ports = Vec::new();
            match written.get_ref() {
                RawPorts::One(number) => ports.push(ports::port_from_int(*number)?),
                RawPorts::Text(text) => ports = ports::parse_port_list(&self.scope.substitute(text)?)?,
                RawPorts::List(items) => {
                    for item in items {
                        match item {
                            RawPortItem::Number(number) => ports.push(ports::port_from_int(*number)?),
                            RawPortItem::Text(text) => {
                                ports.extend(ports::parse_port_list(&self.scope.substitute(text)?)?);
                            }
                        }
                    }
                }
            }
            if ports.is_empty() {
                return Err("the port list is empty".to_owned());
            }
            Ok(ports::dedup(ports))
        };
        expand()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// The id the user gave, else one derived from the name, else from the kind and the target
    /// as written (before substitution, so ids stay the same across environments).
    fn local_id(&self, common: &RawCommon, derived: impl FnOnce() -> String) -> String {
        if let Some(id) = &common.id {
            return id.get_ref().clone();
        }
        let source = common
            .name
            .as_ref()
            .map_or_else(derived, |name| name.get_ref().clone());
        slug(&source)
    }
}

/// One target among several of a `[[check]]` table.
struct Part {
    /// Appended to the id after `/`.
    id: String,
    /// Appended to the name in parentheses.
    label: String,
}

/// What every kind's builder gets: the common keys as written and validated.
struct Base<'a> {
    common: &'a RawCommon,
    settings: &'a Settings,
    /// The whole `[[check]]` table, for errors about a missing key.
    span: Range<usize>,
}

/// Kind-independent settings of one check, after validation.
struct Settings {
    name: Option<String>,
    tags: Vec<String>,
    vantage: Vec<String>,
    timeout: Duration,
    retries: u32,
    line: usize,
}

fn kind_list() -> String {
    Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Lowercase ASCII words joined by `-`: `"API on {host}:8000"` -> `api-on-host-8000`.
fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// One error per repeated id, at the later check, naming where the id was first used.
fn duplicate_ids(checks: &[Check], texts: &[(String, String)]) -> Vec<SpecError> {
    let mut first: HashMap<&str, &Source> = HashMap::new();
    let mut errors = Vec::new();
    for check in checks {
        if let Some(earlier) = first.get(check.id.as_str()) {
            let text = texts
                .iter()
                .find(|(label, _)| *label == check.source.file)
                .map_or("", |(_, text)| text.as_str());
            let locator = Locator::new(&check.source.file, text);
            let offset = line_offset(text, check.source.line);
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
            [
                "p.internal/6379",
                "p.internal/5432",
                "p.internal/9200",
                "p.internal/9201"
            ]
        );
        assert_eq!(checks[1].name, "internal (port 5432)");
        assert_eq!(checks[0].target(), "[::1]:6379");
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

    #[test]
    fn slugs_are_lowercase_words() {
        assert_eq!(slug("API on {host}:8000!"), "api-on-host-8000");
    }
}
