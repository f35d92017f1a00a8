//! What the validation of one check file shares: the file's context (its locator, profile,
//! variables and defaults), the common settings of a check, and the helpers every kind's
//! builder uses to read values, hosts and ports and to make the finished checks.

use super::error::{Cause, Locator, SpecError};
use super::host::Host;
use super::intern::Interner;
use super::plan::{Check, Kind, ProbeSpec, Source};
use super::ports;
use super::raw::{RawCommon, RawHeader, RawPortItem, RawPorts, COMMON_KEYS};
use super::vars::{Overrides, Scope};
use serde::de::IntoDeserializer;
use serde_spanned::Spanned;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use toml::de::DeTable;

/// Timeout of one attempt when neither the check, the file nor the command line sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The same for a tls check, whose attempt is a whole enumeration: `accepted suites + 1`
/// handshakes per version, one after the other, which over a long round trip takes seconds.
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(10);

/// The timeout of a check of `kind` when nothing sets one.
pub fn default_timeout(kind: Kind) -> Duration {
    match kind {
        Kind::Tls => DEFAULT_TLS_TIMEOUT,
        _ => DEFAULT_TIMEOUT,
    }
}
/// Extra attempts for inconclusive results when nothing else says.
pub const DEFAULT_RETRIES: u32 = 1;
pub const MAX_RETRIES: u32 = 10;
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

/// `[defaults]`, validated.
pub(super) struct FileDefaults {
    /// `None`: each kind's own default.
    pub(super) timeout: Option<Duration>,
    pub(super) retries: u32,
}

impl FileDefaults {
    pub(super) fn read(header: &RawHeader, locator: &Locator<'_>, errors: &mut Vec<SpecError>) -> Self {
        let timeout = header.defaults.timeout.as_ref().map(|text| {
            parse_timeout(text, locator).unwrap_or_else(|e| {
                errors.push(e);
                DEFAULT_TIMEOUT
            })
        });
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

pub(super) fn parse_timeout(text: &Spanned<String>, locator: &Locator<'_>) -> Result<Duration, SpecError> {
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

pub(super) fn check_retries(retries: &Spanned<u32>, locator: &Locator<'_>) -> Result<u32, SpecError> {
    let value = *retries.get_ref();
    if value > MAX_RETRIES {
        return Err(locator.error(
            retries.span(),
            format!("retries = {value} is too many: at most {MAX_RETRIES}"),
        ));
    }
    Ok(value)
}

/// What every check of one file shares while it is validated.
pub struct FileContext<'a> {
    pub(super) locator: &'a Locator<'a>,
    /// The file's profile and label, shared by all its checks.
    pub(super) profile: Arc<str>,
    pub(super) file: Arc<str>,
    pub(super) interner: &'a Interner,
    pub(super) scope: &'a Scope<'a>,
    pub(super) defaults: &'a FileDefaults,
    pub(super) options: &'a LoadOptions,
}

impl FileContext<'_> {
    /// The same context with another locator: that of a piece of the file parsed alone.
    pub(super) fn at<'b>(&'b self, locator: &'b Locator<'b>) -> FileContext<'b> {
        FileContext {
            locator,
            profile: Arc::clone(&self.profile),
            file: Arc::clone(&self.file),
            interner: self.interner,
            scope: self.scope,
            defaults: self.defaults,
            options: self.options,
        }
    }

    /// Reads the keys of one kind (those left after the common ones were taken out) and builds
    /// the checks with `build`. When some keys are at fault, the others are still judged, but of
    /// what `build` then finds only errors in the values of keys that are there are kept: one
    /// about a key that is absent because it was wrong would be a knock-on error.
    pub(super) fn kind_checks<T: serde::de::DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'_>>,
        errors: &mut Vec<SpecError>,
        build: impl FnOnce(T, &mut Vec<SpecError>) -> Vec<Check>,
    ) -> Vec<Check> {
        let keys: Vec<(String, std::ops::RangeInclusive<usize>)> = table
            .get_ref()
            .iter()
            .map(|(key, value)| {
                let first = self.locator.line(key.span().start);
                let last = self.locator.line(value.span().end.saturating_sub(1));
                (key.get_ref().to_string(), first..=last)
            })
            .collect();
        let (read, removed) = read_table(self.locator, table, errors, &|error| {
            // The hint fits a key of the check itself, not one inside a nested table (`expect`).
            let unknown = error.message.split('`').nth(1).unwrap_or_default();
            if error.message.starts_with("unknown field") && keys.iter().any(|(k, _)| k == unknown) {
                error
                    .message
                    .push_str(&format!(" (or a key of every check: {})", COMMON_KEYS.join(", ")));
            }
        });
        let Some(raw) = read else {
            return Vec::new();
        };
        if removed.is_empty() {
            return build(raw, errors);
        }
        let mut found = Vec::new();
        let _ = build(raw, &mut found);
        let kept: Vec<_> = keys.iter().filter(|(k, _)| !removed.contains(k)).collect();
        errors.extend(
            found
                .into_iter()
                .filter(|e| kept.iter().any(|(_, lines)| lines.contains(&e.line))),
        );
        Vec::new()
    }

    /// Builds one of the checks of a `[[check]]` table. `part` tells its targets apart (a port,
    /// say) and is `None` when the table has a single target.
    pub(super) fn build(
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
            profile: Arc::clone(&self.profile),
            name: match (&settings.name, &part) {
                (Some(name), None) => name.clone(),
                (Some(name), Some(part)) => format!("{name} ({})", part.label),
                (None, _) => default_name,
            },
            tags: Arc::clone(&settings.tags),
            vantage: Arc::clone(&settings.vantage),
            source: Source {
                file: Arc::clone(&self.file),
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
    pub(super) fn per_port(
        &self,
        base: &Base<'_>,
        local_id: &str,
        ports: Vec<u16>,
        mut make: impl FnMut(u16) -> (String, ProbeSpec),
    ) -> Vec<Check> {
        // Reports list checks in file order, then port: the same table gives the same order
        // however its ports are written, so reports of two runs line up.
        let mut ports = ports;
        ports.sort_unstable();
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
    pub(super) fn settings(
        &self,
        common: &RawCommon,
        kind: Kind,
        line: usize,
        errors: &mut Vec<SpecError>,
    ) -> Settings {
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
            (None, None) => self.defaults.timeout.unwrap_or_else(|| default_timeout(kind)),
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
            tags: self.interner.list(tags),
            vantage: self.interner.list(vantage),
            timeout,
            retries,
            line,
        }
    }

    /// A string value after substitution.
    pub(super) fn text(&self, written: &Spanned<String>, errors: &mut Vec<SpecError>) -> Option<String> {
        self.scope
            .substitute(written.get_ref())
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// Validates a host after substitution; a name is the file's shared copy of it.
    pub(super) fn host(&self, written: &Spanned<String>, errors: &mut Vec<SpecError>) -> Option<Host> {
        match self
            .scope
            .substitute(written.get_ref())
            .and_then(|text| Host::parse(&text).map_err(Cause::from))
        {
            Ok(Host::Name(name)) => Some(Host::Name(self.interner.name(name))),
            Ok(ip) => Some(ip),
            Err(e) => {
                errors.push(self.locator.error(written.span(), e));
                None
            }
        }
    }

    /// The one of `port` and `ports` that was written, else `default`; both at once, or neither
    /// without a default (`kind` names the check in that error), is an error.
    pub(super) fn written_ports<'a>(
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
    pub(super) fn ports(&self, written: &Spanned<RawPorts>, errors: &mut Vec<SpecError>) -> Option<Vec<u16>> {
        let expand = || -> Result<Vec<u16>, Cause> {
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
                return Err("the port list is empty".into());
            }
            Ok(ports::dedup(ports))
        };
        expand()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// The id the user gave, else one derived from the name, else from the kind and the target
    /// as written (before substitution, so ids stay the same across environments).
    pub(super) fn local_id(&self, common: &RawCommon, derived: impl FnOnce() -> String) -> String {
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
pub(super) struct Part {
    /// Appended to the id after `/`.
    pub(super) id: String,
    /// Appended to the name in parentheses.
    pub(super) label: String,
}

/// What every kind's builder gets: the common keys as written and validated.
pub(super) struct Base<'a> {
    pub(super) common: &'a RawCommon,
    pub(super) settings: &'a Settings,
    /// The whole `[[check]]` table, for errors about a missing key.
    pub(super) span: Range<usize>,
}

/// Kind-independent settings of one check, after validation.
pub(super) struct Settings {
    pub(super) name: Option<String>,
    pub(super) tags: Arc<[String]>,
    pub(super) vantage: Arc<[String]>,
    pub(super) timeout: Duration,
    pub(super) retries: u32,
    pub(super) line: usize,
}

/// Reads a table into `T`, reporting every key at fault rather than the first: serde stops at
/// the first error, so the key it points at is taken out and the rest is read again. A key taken
/// out for being wrong is not reported a second time as missing. Returns what finally reads,
/// without the keys at fault (each of which is in `errors`, passed through `explain` first), and
/// the names of those keys.
pub(super) fn read_table<T: serde::de::DeserializeOwned>(
    locator: &Locator<'_>,
    table: Spanned<DeTable<'_>>,
    errors: &mut Vec<SpecError>,
    explain: &dyn Fn(&mut SpecError),
) -> (Option<T>, Vec<String>) {
    let span = table.span();
    let mut table = table.into_inner();
    let mut removed: Vec<String> = Vec::new();
    loop {
        let error = match T::deserialize(Spanned::new(span.clone(), table.clone()).into_deserializer()) {
            Ok(value) => return (Some(value), removed),
            Err(error) => error,
        };
        let missing = error
            .message()
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        if missing.is_some_and(|key| removed.iter().any(|r| r == key)) {
            return (None, removed);
        }
        let mut spec_error = locator.toml(&error, span.clone());
        explain(&mut spec_error);
        errors.push(spec_error);
        let at = error.span().map(|s| s.start).filter(|_| missing.is_none());
        let culprit = at.and_then(|at| {
            table
                .iter()
                .find(|(key, value)| key.span().contains(&at) || value.span().contains(&at))
                .map(|(key, _)| key.clone())
        });
        match culprit {
            Some(key) => {
                removed.push(key.get_ref().to_string());
                table.remove(&key);
            }
            // Not one key's fault (a required key is missing): nothing more can be read.
            None => return (None, removed),
        }
    }
}

pub(super) fn kind_list() -> String {
    Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Lowercase ASCII words joined by `-`: `"API on {host}:8000"` -> `api-on-host-8000`.
pub(super) fn slug(text: &str) -> String {
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
