//! `{name}` substitution in check files, and where variable values come from.
//!
//! A value comes from, in order: `--var name=VALUE`, the environment (`REACH_VAR_name`, or the
//! name in upper case), then the default in the file's `[vars]` table.

use super::error::Cause;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

/// Prefix of environment variables that set spec variables.
pub const ENV_PREFIX: &str = "REACH_VAR_";

/// Values given from outside the files, shared by every file of a run.
#[derive(Debug, Default)]
pub struct Overrides {
    /// From `--var KEY=VALUE`.
    pub cli: BTreeMap<String, String>,
    /// Every `REACH_VAR_*` environment variable, keyed by its full name.
    pub env: BTreeMap<String, String>,
    /// `--var` keys looked up while loading, to point out those that no file uses. Locked: a
    /// large file is loaded on several threads.
    used: Mutex<BTreeSet<String>>,
}

impl Clone for Overrides {
    fn clone(&self) -> Self {
        Overrides {
            cli: self.cli.clone(),
            env: self.env.clone(),
            used: Mutex::new(self.used_keys().clone()),
        }
    }
}

impl Overrides {
    /// Collects `REACH_VAR_*` from this process's environment.
    pub fn from_process(cli: BTreeMap<String, String>) -> Self {
        let env = std::env::vars()
            .filter(|(key, _)| key.starts_with(ENV_PREFIX))
            .collect();
        Overrides {
            cli,
            env,
            used: Mutex::default(),
        }
    }

    /// Values given on the command line only, ignoring the environment.
    pub fn cli_only(cli: BTreeMap<String, String>) -> Self {
        Overrides {
            cli,
            ..Overrides::default()
        }
    }

    /// `--var` keys that no file referred to: likely typos, since the file's default then
    /// applies silently.
    pub fn unused_cli_keys(&self) -> Vec<String> {
        let used = self.used_keys();
        self.cli.keys().filter(|k| !used.contains(*k)).cloned().collect()
    }

    /// Whether a value is given for `name`, without counting it as used.
    fn has(&self, name: &str) -> bool {
        self.cli.contains_key(name)
            || self.env.contains_key(&format!("{ENV_PREFIX}{name}"))
            || self
                .env
                .contains_key(&format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()))
    }

    fn used_keys(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // The set is only changed by `insert`, which cannot leave it half-done.
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        // Only `--var` keys are ever reported unused: other names are not recorded (nor locked
        // for), which keeps the lookups of a large file's threads apart.
        if self.cli.contains_key(name) {
            let mut used = self.used_keys();
            if !used.contains(name) {
                used.insert(name.to_owned());
            }
        }
        self.cli
            .get(name)
            .or_else(|| self.env.get(&format!("{ENV_PREFIX}{name}")))
            .or_else(|| {
                self.env
                    .get(&format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()))
            })
            .map(String::as_str)
    }
}

/// A variable declared in a file's `[vars]` table.
#[derive(Debug, Clone)]
pub struct Declared {
    pub default: Option<String>,
    pub description: Option<String>,
}

/// The variables one file can use.
pub struct Scope<'a> {
    pub declared: &'a BTreeMap<String, Declared>,
    pub overrides: &'a Overrides,
}

impl Scope<'_> {
    /// Whether `name` is declared without a default and given no value: the values that use it
    /// can be checked only once it has one.
    pub fn lacks_value(&self, name: &str) -> bool {
        let declared_without_default = self.declared.get(name).is_some_and(|d| d.default.is_none());
        declared_without_default && !self.overrides.has(name)
    }

    fn value(&self, name: &str) -> Result<String, Cause> {
        if let Some(value) = self.overrides.lookup(name) {
            return Ok(value.to_owned());
        }
        match self.declared.get(name) {
            Some(Declared {
                default: Some(value), ..
            }) => Ok(value.clone()),
            Some(Declared { description, .. }) => Err(Cause::missing_var(
                name,
                format!(
                    "variable `{name}` has no value{}: pass --var {name}=VALUE or set {ENV_PREFIX}{name}",
                    description
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            )),
            None => Err(Cause::from(format!(
                "undefined variable `{name}`: declare it in [vars] or pass --var {name}=VALUE"
            ))),
        }
    }

    /// Replaces every `{name}` in `template`; `{{` and `}}` stand for literal braces.
    pub fn substitute(&self, template: &str) -> Result<String, Cause> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                out.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            if tail.starts_with('}') {
                return Err(Cause::from(format!(
                    "unmatched `}}` in `{template}` (write `}}}}` for a literal brace)"
                )));
            }
            let end = tail.find('}').ok_or_else(|| {
                Cause::from(format!(
                    "unclosed `{{` in `{template}` (write `{{{{` for a literal brace)"
                ))
            })?;
            let name = &tail[1..end];
            if !is_var_name(name) {
                return Err(Cause::from(format!(
                    "`{{{name}}}` is not a variable reference: names are letters, digits, `_` and `-`"
                )));
            }
            out.push_str(&self.value(name)?);
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The names of the variables `template` refers to, in order (malformed references left out:
/// substitution reports them).
pub fn references(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            rest = &tail[1..];
            continue;
        };
        if is_var_name(&tail[1..end]) {
            names.push(&tail[1..end]);
        }
        rest = &tail[end + 1..];
    }
    names
}

/// Variable names: a letter or `_`, then letters, digits, `_` or `-`.
pub fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Declared> {
        pairs
            .iter()
            .map(|(name, default)| {
                (
                    (*name).to_owned(),
                    Declared {
                        default: default.map(str::to_owned),
                        description: Some("the host".into()),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn cli_beats_environment_beats_file_default() {
        let declared = declared(&[("host", Some("file")), ("port", Some("1"))]);
        let mut overrides = Overrides::cli_only(BTreeMap::from([("unused".into(), "x".into())]));
        overrides.env.insert("REACH_VAR_HOST".into(), "env".into());
        overrides.env.insert("REACH_VAR_port".into(), "2".into());
        let scope = Scope {
            declared: &declared,
            overrides: &overrides,
        };
        assert_eq!(scope.substitute("{host}:{port}"), Ok("env:2".into()));
        assert_eq!(overrides.unused_cli_keys(), ["unused"]);
        overrides.cli.insert("host".into(), "cli".into());
        let scope = Scope {
            declared: &declared,
            overrides: &overrides,
        };
        assert_eq!(scope.substitute("{host}:{port}"), Ok("cli:2".into()));
    }

    #[test]
    fn references_are_listed_without_escapes() {
        assert_eq!(references("https://{host}:{port}/{{x}}"), ["host", "port"]);
        assert_eq!(references("{a b} {ok} x}"), ["ok"]);
        assert!(references("{open").is_empty());
    }

    #[test]
    fn braces_escape_and_errors_name_the_variable() {
        let declared = declared(&[("required", None)]);
        let overrides = Overrides::default();
        let scope = Scope {
            declared: &declared,
            overrides: &overrides,
        };
        assert_eq!(scope.substitute("{{x}}"), Ok("{x}".into()));
        let undefined = scope.substitute("a{nope}b").unwrap_err();
        assert!(
            undefined.message.contains("undefined variable `nope`"),
            "{undefined}"
        );
        assert_eq!(undefined.missing_var, None, "a typo, not a value to supply");
        let missing = scope.substitute("{required}").unwrap_err();
        assert!(missing.message.contains("--var required=VALUE"), "{missing}");
        assert!(missing.message.contains("(the host)"), "{missing}");
        assert_eq!(missing.missing_var.as_deref(), Some("required"));
        assert!(scope
            .substitute("{open")
            .unwrap_err()
            .message
            .contains("unclosed"));
        assert!(scope.substitute("x}").unwrap_err().message.contains("unmatched"));
        assert!(scope.substitute("{a b}").is_err());
    }
}
