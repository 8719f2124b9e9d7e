//! The structure the code promises: in `plugin/src` and `host/src` module
//! references form a DAG (no two modules import each other, directly or in a
//! ring), and the host library names no CLI flag in anything it says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` with its module path (`sync::choose`; the
/// library's root is the empty path, a binary's root is `main`).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under root").with_extension("");
                let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                if parts.last().map(String::as_str) == Some("tests") {
                    continue; // a test module of its parent
                }
                out.insert(parts.join("::"), std::fs::read_to_string(&path).expect("readable"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The code of a file without comments and without its inline test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The identifiers of a path that starts at `at` in `text` (`a::b::C` → a, b, C).
fn path_after(text: &str, at: usize) -> Vec<String> {
    let rest = &text[at..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
    rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The longest prefix of `path`, appended to `base`, that names a module.
fn resolve(modules: &BTreeMap<String, String>, base: &[String], path: &[String]) -> String {
    let mut best = base.join("::");
    for n in 1..=path.len() {
        let candidate: Vec<String> = base.iter().chain(&path[..n]).cloned().collect();
        let name = candidate.join("::");
        if modules.contains_key(&name) {
            best = name;
        }
    }
    best
}

/// Module → the modules its code refers to (`crate::`, `super::` and child paths).
fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (name, text) in modules {
        let code = code(text);
        let own: Vec<String> = if name.is_empty() { vec![] } else { name.split("::").map(str::to_string).collect() };
        let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
        let mut targets = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            targets.insert(resolve(modules, &[], &path_after(&code, i + "crate::".len())));
        }
        for (i, _) in code.match_indices("super::") {
            if code[..i].ends_with(':') {
                continue;
            }
            targets.insert(resolve(modules, &parent, &path_after(&code, i + "super::".len())));
        }
        let parent_of = |m: &str| m.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_string());
        let children = modules.keys().filter(|m| !m.is_empty() && parent_of(m) == *name);
        for child in children {
            let short = child.rsplit("::").next().unwrap_or(child);
            for (i, _) in code.match_indices(&format!("{short}::")) {
                let before = code[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                targets.insert(resolve(modules, &own, &path_after(&code, i)));
            }
        }
        targets.remove(name);
        edges.insert(name.clone(), targets);
    }
    edges
}

/// A ring of modules, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut ring = stack[at..].to_vec();
            ring.push(node.to_string());
            return Some(ring);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(ring) = visit(next, edges, stack, done) {
                return Some(ring);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

fn src(krate: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("src")
}

#[test]
fn plugin_and_host_modules_import_each_other_without_cycles() {
    for krate in ["plugin", "host"] {
        let modules = modules(&src(krate));
        assert!(modules.len() > 10, "{krate}: read {} modules", modules.len());
        let edges = graph(&modules);
        // The checker sees real edges: the sync uses the API client.
        if krate == "plugin" {
            assert!(edges["sync::choose"].contains("api"), "{:?}", edges["sync::choose"]);
        }
        if let Some(ring) = find_cycle(&edges) {
            panic!("{krate}: modules import each other: {}", ring.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_ring() {
    let mut edges = BTreeMap::new();
    edges.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    edges.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    edges.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&edges), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    edges.insert("c".to_string(), BTreeSet::new());
    assert_eq!(find_cycle(&edges), None);
}

#[test]
fn the_host_library_names_no_cli_flag() {
    for (name, text) in modules(&src("host")) {
        if name == "cli" || name.starts_with("cli::") || name == "main" {
            continue;
        }
        for literal in code(&text).split('"').skip(1).step_by(2) {
            let flag = literal
                .match_indices("--")
                .any(|(i, _)| literal[i + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
            assert!(!flag, "host/src module `{name}` names a CLI flag: \"{literal}\"");
        }
    }
}

#[test]
fn the_host_library_needs_neither_clap_nor_the_emulator() {
    for (name, text) in modules(&src("host")) {
        if name == "cli" || name.starts_with("cli::") || name == "main" {
            continue;
        }
        let code = code(&text);
        for what in ["clap", "clap_complete", "indicatif", "dbt_cloud_emulator"] {
            assert!(!code.contains(&format!("{what}::")), "host/src module `{name}` uses {what}");
        }
    }
    // All are optional dependencies that only the `cli` feature (and the bin) turns on.
    let manifest = std::fs::read_to_string(src("host").join("../Cargo.toml")).expect("host/Cargo.toml");
    let dependencies = manifest.split("[dependencies]").nth(1).and_then(|s| s.split("\n[").next()).expect("deps");
    let cli = manifest.lines().find(|l| l.starts_with("cli = [")).expect("the cli feature");
    for dep in ["clap", "clap_complete", "indicatif", "dbt-cloud-emulator"] {
        let line =
            dependencies.lines().find(|l| l.starts_with(&format!("{dep} "))).unwrap_or_else(|| panic!("{dep} listed"));
        assert!(line.contains("optional = true"), "{line}");
        assert!(cli.contains(&format!("\"dep:{dep}\"")), "{cli}");
    }
    assert!(manifest.contains(r#"required-features = ["cli"]"#), "the bin needs the cli feature");
}
