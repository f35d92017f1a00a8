//! The check files an exporter serves, by profile (a `/probe?module=` names one): read from the
//! files and directories given on the command line, at start and on each SIGHUP. A file whose
//! variables all have values (the exporter's `--var`, `REACH_VAR_*`, the file's defaults) also
//! runs on the schedule; a file that still needs one (typically `host`) answers `/probe` only,
//! where the request supplies it.

use crate::spec::{self, vars, LoadOptions, Plan, SpecErrors};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Variable values of the exporter itself, shared by every file and every request.
#[derive(Debug, Clone, Default)]
pub struct ServerVars {
    /// `--var KEY=VALUE`.
    pub cli: BTreeMap<String, String>,
    /// `REACH_VAR_*` from the environment, keyed by full name.
    pub env: BTreeMap<String, String>,
}

impl ServerVars {
    /// `--var` values over this process's `REACH_VAR_*`.
    pub fn from_process(cli: BTreeMap<String, String>) -> ServerVars {
        let env = vars::Overrides::from_process(BTreeMap::new()).env;
        ServerVars { cli, env }
    }

    /// The overrides of one load: the exporter's values, and over them a request's.
    fn overrides(&self, request: &BTreeMap<String, String>) -> vars::Overrides {
        let mut cli = self.cli.clone();
        cli.extend(request.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut overrides = vars::Overrides::cli_only(cli);
        overrides.env = self.env.clone();
        overrides
    }
}

/// How the files are loaded: the exporter's variables and its `--timeout`.
#[derive(Debug, Clone, Default)]
pub struct LoadSettings {
    pub vars: ServerVars,
    pub timeout: Option<Duration>,
}

/// One check file, served as the module named by its profile.
#[derive(Debug, Clone)]
pub struct Module {
    pub profile: String,
    /// The file as the user named it (or as found in a directory).
    pub label: String,
    text: String,
    /// The plan of the scheduled runs, when the exporter's own values fill every variable.
    pub scheduled: Option<Plan>,
    /// The variables that have no value yet: a request must give them.
    pub needs: Vec<String>,
    /// The exporter's `--var` keys this file does not use.
    unused: Vec<String>,
}

/// Why a request could not be turned into a plan: a 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl Module {
    /// Whether the file uses the exporter's `--var key`.
    pub fn uses(&self, key: &str) -> bool {
        !self.unused.iter().any(|k| k == key)
    }

    /// The plan of one `/probe`: the file with the request's values (`host` and `var.*`) over
    /// the exporter's. Each request value must be used by the file: one that is not would be
    /// ignored, which hides a mistake in the scrape configuration.
    pub fn plan_for(
        &self,
        settings: &LoadSettings,
        request: &BTreeMap<String, String>,
    ) -> Result<Plan, BadRequest> {
        let options = LoadOptions {
            overrides: settings.vars.overrides(request),
            timeout: settings.timeout,
            retries: None,
        };
        let checks = spec::load_str(&self.label, &self.text, &options).map_err(|errors| {
            let missing: Vec<&str> = errors.iter().filter_map(|e| e.missing_var.as_deref()).collect();
            if missing.is_empty() {
                let text = SpecErrors(errors.clone()).to_string();
                BadRequest(format!(
                    "module `{}` cannot run with these values:\n{text}",
                    self.profile
                ))
            } else {
                let mut names: Vec<String> = missing
                    .iter()
                    .map(|n| {
                        if *n == "host" {
                            "target".to_owned()
                        } else {
                            format!("var.{n}")
                        }
                    })
                    .collect();
                names.sort();
                names.dedup();
                // Only the missing values: what else their lines say follows from them.
                let lacking: Vec<spec::SpecError> = errors
                    .iter()
                    .filter(|e| e.missing_var.is_some())
                    .cloned()
                    .collect();
                let text = SpecErrors(lacking).to_string();
                BadRequest(format!(
                    "missing variable: module `{}` needs {} (as a request parameter)\n{text}",
                    self.profile,
                    names.join(", ")
                ))
            }
        })?;
        let unused: Vec<String> = options
            .overrides
            .unused_cli_keys()
            .into_iter()
            .filter(|k| request.contains_key(k))
            .collect();
        if !unused.is_empty() {
            let names: Vec<String> = unused
                .iter()
                .map(|n| {
                    if n == "host" {
                        "target (the variable `host`)".to_owned()
                    } else {
                        format!("var.{n}")
                    }
                })
                .collect();
            return Err(BadRequest(format!(
                "module `{}` ({}) does not use {}: the value would be ignored",
                self.profile,
                self.label,
                names.join(", ")
            )));
        }
        Ok(Plan {
            files: vec![self.label.clone()],
            checks,
        })
    }
}

/// The loaded files, by profile.
#[derive(Debug, Clone, Default)]
pub struct ModuleSet {
    pub modules: BTreeMap<String, Module>,
}

impl ModuleSet {
    pub fn get(&self, profile: &str) -> Option<&Module> {
        self.modules.get(profile)
    }

    /// The modules that run on the schedule.
    pub fn scheduled(&self) -> impl Iterator<Item = (&Module, &Plan)> {
        self.modules
            .values()
            .filter_map(|m| m.scheduled.as_ref().map(|plan| (m, plan)))
    }

    /// Takes off the schedule the files of which the exporter's `--vantage` selects no check
    /// (they would run nothing); returns a note for each.
    pub fn keep_runnable(&mut self, vantage: Option<&str>) -> Vec<String> {
        let options = crate::run::RunOptions {
            vantage: vantage.map(str::to_owned),
            ..crate::run::RunOptions::default()
        };
        let mut notes = Vec::new();
        for module in self.modules.values_mut() {
            let selects_nothing = module.scheduled.as_ref().is_some_and(|plan| {
                plan.checks
                    .iter()
                    .all(|check| crate::run::filter(check, &options).is_some())
            });
            if selects_nothing {
                module.scheduled = None;
                notes.push(format!(
                    "{} ({}): no check runs from --vantage {}: not scheduled",
                    module.profile,
                    module.label,
                    vantage.unwrap_or("(none)")
                ));
            }
        }
        notes
    }

    /// The profiles, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.modules.keys().map(String::as_str).collect();
        names.join(", ")
    }
}

/// Reads every file (a directory stands for the `*.toml` files in it, in name order) and
/// validates each with the exporter's values. Every problem is reported, with its file:line;
/// a variable without a value is not a problem (a request may give it).
pub fn load(paths: &[PathBuf], settings: &LoadSettings) -> Result<ModuleSet, String> {
    let mut problems: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        if crate::input::is_stdin(path) {
            problems.push(
                "error: -: reach serve reads its check files again on SIGHUP, so they cannot come from stdin"
                    .to_owned(),
            );
        } else if path.is_dir() {
            match toml_files(path) {
                Ok(found) if found.is_empty() => {
                    problems.push(format!(
                        "error: {}: the directory holds no .toml check file",
                        path.display()
                    ));
                }
                Ok(found) => files.extend(found),
                Err(e) => problems.push(format!(
                    "error: {}: cannot list the directory: {e}",
                    path.display()
                )),
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut set = ModuleSet::default();
    for path in &files {
        match load_file(path, settings) {
            Ok(module) => match set.modules.get(&module.profile) {
                Some(other) => problems.push(format!(
                    "error: {}: profile `{}` is also the profile of {}: each module (profile) must be one file",
                    module.label, module.profile, other.label
                )),
                None => {
                    set.modules.insert(module.profile.clone(), module);
                }
            },
            Err(text) => problems.push(text),
        }
    }
    if problems.is_empty() {
        Ok(set)
    } else {
        Err(problems.join("\n"))
    }
}

fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn load_file(path: &Path, settings: &LoadSettings) -> Result<Module, String> {
    let label = path.display().to_string();
    let text = crate::input::read_text(path).map_err(|e| format!("error: {label}: {e}"))?;
    let profile = spec::profile_of(&label, &text).map_err(|e| SpecErrors(e).to_string())?;
    let options = LoadOptions {
        overrides: settings.vars.overrides(&BTreeMap::new()),
        timeout: settings.timeout,
        retries: None,
    };
    let loaded = spec::load_str(&label, &text, &options);
    let unused = options.overrides.unused_cli_keys();
    let (scheduled, needs) = match loaded {
        Ok(checks) => (
            Some(Plan {
                files: vec![label.clone()],
                checks,
            }),
            Vec::new(),
        ),
        Err(errors) => {
            let missing: Vec<String> = errors.iter().filter_map(|e| e.missing_var.clone()).collect();
            // A value that is missing can leave its key with another complaint as well (an
            // `equals = ["{ip}"]` without `ip` is also an empty list): an error on a line that
            // lacks a value is checked again when a request brings the value.
            let lacking: Vec<(&str, usize)> = errors
                .iter()
                .filter(|e| e.missing_var.is_some())
                .map(|e| (e.file.as_str(), e.line))
                .collect();
            let real: Vec<spec::SpecError> = errors
                .iter()
                .filter(|e| !lacking.contains(&(e.file.as_str(), e.line)))
                .cloned()
                .collect();
            if !real.is_empty() || missing.is_empty() {
                let shown = if real.is_empty() { errors } else { real };
                return Err(SpecErrors(shown).to_string());
            }
            let mut missing = missing;
            missing.sort();
            missing.dedup();
            (None, missing)
        }
    };
    Ok(Module {
        profile,
        label,
        text,
        scheduled,
        needs,
        unused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
profile = "shop"
[vars]
host = { description = "the shop" }
port = "443"
[[check]]
id = "https"
kind = "tcp"
host = "{host}"
port = "{port}"
expect = "open"
"#;

    fn module(text: &str, vars: &[(&str, &str)]) -> Result<Module, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.toml");
        std::fs::write(&path, text).unwrap();
        let settings = LoadSettings {
            vars: ServerVars {
                cli: vars
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                env: BTreeMap::new(),
            },
            timeout: None,
        };
        load_file(&path, &settings)
    }

    #[test]
    fn a_file_that_needs_a_value_answers_probes_only() {
        let module = module(FILE, &[]).unwrap();
        assert_eq!(module.profile, "shop");
        assert!(module.scheduled.is_none());
        assert_eq!(module.needs, ["host"]);
        let complete = self::module(FILE, &[("host", "shop.test"), ("other", "x")]).unwrap();
        assert_eq!(complete.scheduled.as_ref().unwrap().checks.len(), 1);
        assert!(complete.uses("host") && !complete.uses("other"));
    }

    #[test]
    fn a_request_fills_the_variables_and_may_not_give_unused_ones() {
        let module = module(FILE, &[]).unwrap();
        let settings = LoadSettings::default();
        let request = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let plan = module
            .plan_for(&settings, &request(&[("host", "a.test")]))
            .unwrap();
        assert_eq!(plan.checks[0].target(), "a.test:443");
        let missing = module.plan_for(&settings, &request(&[])).unwrap_err();
        assert!(
            missing.0.contains("missing variable") && missing.0.contains("target"),
            "{}",
            missing.0
        );
        let unused = module
            .plan_for(&settings, &request(&[("host", "a.test"), ("nope", "1")]))
            .unwrap_err();
        assert!(unused.0.contains("var.nope"), "{}", unused.0);
        let bad_port = module
            .plan_for(&settings, &request(&[("host", "a.test"), ("port", "x")]))
            .unwrap_err();
        assert!(bad_port.0.contains("shop.toml:"), "{}", bad_port.0);
    }

    #[test]
    fn every_shipped_profile_loads_as_a_probe_module_that_needs_its_values() {
        for (name, text) in [
            ("flowsync", include_str!("../../../checks/flowsync.toml")),
            ("ai-studio", include_str!("../../../checks/ai-studio.toml")),
            ("chatalot", include_str!("../../../checks/chatalot.toml")),
            ("vcon-server", include_str!("../../../checks/vcon-server.toml")),
            ("zanuri", include_str!("../../../checks/zanuri.toml")),
        ] {
            let module = module(text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(module.profile, name);
            assert!(
                module.scheduled.is_none() && module.needs.contains(&"host".to_owned()),
                "{name}"
            );
        }
    }

    #[test]
    fn errors_other_than_missing_values_stop_the_load_with_their_line() {
        let broken = FILE.replace("kind = \"tcp\"", "kind = \"tcp\"\nbogus = 1");
        let error = module(&broken, &[]).unwrap_err();
        assert!(error.contains("shop.toml:"), "{error}");
        assert!(error.contains("bogus"), "{error}");
    }
}
