//! The structure is checked, not hoped for: dependencies between the crate's files, and between
//! its top-level modules, point one way (docs/design.md). A file depends on another when it
//! names an item of it by a `crate::`, `super::`, `self::` or child-module path, in a `use` or
//! inline; test modules (`#[cfg(test)]` and after) may reach anywhere and are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files (relative to `src`, `/`-separated) and the files each one depends on.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The module path of a file: `probe/http/mod.rs` -> `[probe, http]`; lib.rs and main.rs -> `[]`.
fn module_path(relative: &str) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The code that counts: no test module, no comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path of a `use` tree: `a::{b, c::{d, e as f}}` -> `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace() || *c == ' ').collect();
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        return vec![path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut items, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(|item| expand_use(item))
        .map(|rest| prefix.iter().cloned().chain(rest).collect())
        .collect()
}

/// The paths a file names: `use` trees, and inline `crate::a::b` or `child::x` paths.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `use` items start a line (after an optional visibility) and run to the next `;`.
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let visible = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub(super) "))
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if let Some(tree) = visible.strip_prefix("use ") {
            let start = offset + (line.len() - tree.len());
            if let Some(end) = code[start..].find(';') {
                paths.extend(expand_use(&code[start..start + end]));
            }
        }
        offset += line.len();
    }
    let bytes = code.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !(word(bytes[i - 1]) || bytes[i - 1] == b':')) {
            let start = i;
            while i < bytes.len() && (word(bytes[i]) || (bytes[i] == b':' && bytes.get(i + 1) == Some(&b':')))
            {
                i += if bytes[i] == b':' { 2 } else { 1 };
            }
            let path = &code[start..i];
            if path.contains("::") {
                paths.push(
                    path.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                );
            }
        } else {
            i += 1;
        }
    }
    paths
}

fn graph_of(root: &Path) -> Graph {
    let files: BTreeMap<String, String> = rust_files(root)
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("read source");
            (relative, text)
        })
        .collect();
    let by_module: BTreeMap<Vec<String>, String> = files
        .keys()
        .map(|file| (module_path(file), file.clone()))
        .collect();
    // The longest module prefix of a path that is a file: items defined there, or re-exported.
    let resolve = |segments: &[String]| -> Option<&String> {
        (0..=segments.len())
            .rev()
            .find_map(|n| by_module.get(&segments[..n]))
    };
    let mut graph = Graph::new();
    for (file, text) in &files {
        let me = module_path(file);
        let mut depends = BTreeSet::new();
        for path in named_paths(&code_of(text)) {
            let Some(first) = path.first() else { continue };
            let absolute: Vec<String> = match first.as_str() {
                "crate" => path[1..].to_vec(),
                "self" => me.iter().chain(&path[1..]).cloned().collect(),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    let base = &me[..me.len().saturating_sub(ups)];
                    base.iter().chain(&path[ups..]).cloned().collect()
                }
                child
                    if by_module
                        .contains_key(&me.iter().cloned().chain([child.to_owned()]).collect::<Vec<_>>()) =>
                {
                    me.iter().chain(&path).cloned().collect()
                }
                _ => continue,
            };
            if let Some(target) = resolve(&absolute) {
                if target != file {
                    depends.insert(target.clone());
                }
            }
        }
        graph.insert(file.clone(), depends);
    }
    graph
}

/// Groups of nodes that depend on each other (strongly connected, more than one node).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    group.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan.found
}

/// The graph between top-level modules (`probe`, `spec`...); lib.rs and main.rs are the root.
fn module_graph(files: &Graph) -> Graph {
    let top = |file: &str| module_path(file).first().cloned();
    let mut graph = Graph::new();
    for (file, depends) in files {
        let Some(from) = top(file) else { continue };
        let entry = graph.entry(from.clone()).or_default();
        for target in depends {
            if let Some(to) = top(target).filter(|to| *to != from) {
                entry.insert(to);
            }
        }
    }
    graph
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_two_files_depend_on_each_other() {
    let found = cycles(&graph_of(&src()));
    assert!(found.is_empty(), "files that depend on each other: {found:#?}");
}

#[test]
fn no_two_top_level_modules_depend_on_each_other() {
    let found = cycles(&module_graph(&graph_of(&src())));
    assert!(found.is_empty(), "modules that depend on each other: {found:#?}");
}

#[test]
fn the_layers_point_down() {
    // main -> cli -> cmd -> (run, report) -> probe -> (spec, outcome, resolve, data).
    let modules = module_graph(&graph_of(&src()));
    let below: &[(&str, &[&str])] = &[
        ("probe", &["cmd", "cli", "run", "report"]),
        ("run", &["cmd", "cli", "report"]),
        ("report", &["cmd", "cli"]),
        ("spec", &["probe", "run", "report", "cmd", "cli", "resolve"]),
        (
            "outcome",
            &["probe", "run", "report", "cmd", "cli", "spec", "resolve"],
        ),
        (
            "tls",
            &[
                "outcome", "probe", "spec", "resolve", "run", "report", "cmd", "cli",
            ],
        ),
        (
            "dns",
            &[
                "outcome", "probe", "spec", "resolve", "run", "report", "cmd", "cli",
            ],
        ),
        (
            "input",
            &[
                "outcome", "probe", "spec", "resolve", "run", "report", "cmd", "cli", "trust",
            ],
        ),
    ];
    for (module, forbidden) in below {
        let uses = modules.get(*module).cloned().unwrap_or_default();
        let wrong: Vec<_> = forbidden.iter().filter(|f| uses.contains(**f)).collect();
        assert!(wrong.is_empty(), "`{module}` must not depend on {wrong:?}");
    }
}

#[test]
fn the_checker_finds_a_cycle_through_a_re_export_and_a_child_path() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write("lib.rs", "pub mod a;\npub mod b;\n");
    write("a/mod.rs", "mod inner;\npub use inner::Thing;\n");
    write(
        "a/inner.rs",
        "use crate::b::{self, Other as O};\npub struct Thing;\n",
    );
    write("b.rs", "pub struct Other;\nfn f() -> crate::a::Thing { crate::a::Thing }\n#[cfg(test)]\nmod t { use crate::x; }\n");
    let graph = graph_of(dir.path());
    assert_eq!(
        cycles(&graph),
        [vec![
            "a/inner.rs".to_owned(),
            "a/mod.rs".to_owned(),
            "b.rs".to_owned()
        ]]
    );
    assert_eq!(
        cycles(&module_graph(&graph)),
        [vec!["a".to_owned(), "b".to_owned()]]
    );
}
