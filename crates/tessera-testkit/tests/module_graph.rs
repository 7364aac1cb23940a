//! The workspace's crates keep their top-level modules free of import circles: within a crate,
//! if module `a` names `crate::b`, then nothing `b` names leads back to `a`. A circle means two
//! modules are one concept split in two, or one concept hiding in another; either way a reader
//! cannot understand one without the other. This reads every crate's sources (doc and line
//! comments and `#[cfg(test)] mod tests` left out) and names each circle it finds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`crate` for `lib.rs`/`main.rs`).
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    let first = first.to_str().unwrap();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => "crate".to_owned(),
        Some(name) => name.to_owned(),
        None => first.to_owned(),
    }
}

/// The top-level modules a file's code names through `crate::<module>`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut named = BTreeSet::new();
    for line in code.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `tessera_crate::`, not this crate
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                named.insert(name);
            }
        }
    }
    named
}

/// Every circle among `graph`'s modules, each once, starting at its smallest module.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                if next == start && path.len() > 1 {
                    let smallest = (0..path.len()).min_by_key(|&i| &path[i]).unwrap();
                    let mut circle = path[smallest..].to_vec();
                    circle.extend_from_slice(&path[..smallest]);
                    found.insert(circle);
                } else if !path.contains(next) && graph.contains_key(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
    found
}

#[test]
fn no_crate_has_import_circles_between_its_modules() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut report = Vec::new();
    let mut crates_read = 0;
    for entry in std::fs::read_dir(crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        crates_read += 1;
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let module = top_module(&src, file);
            let named = named_modules(&std::fs::read_to_string(file).unwrap());
            let edges = graph.entry(module.clone()).or_default();
            edges.extend(named.into_iter().filter(|m| *m != module));
        }
        for circle in circles(&graph) {
            report.push(format!(
                "{}: {} -> {}",
                src.display(),
                circle.join(" -> "),
                circle[0]
            ));
        }
    }
    assert!(
        crates_read >= 6,
        "read only {crates_read} crates under {crates:?}"
    );
    assert!(report.is_empty(), "import circles:\n{}", report.join("\n"));
}

#[test]
fn the_checker_finds_a_circle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert(
        "c".to_owned(),
        BTreeSet::from(["a".to_owned(), "d".to_owned()]),
    );
    graph.insert("d".to_owned(), BTreeSet::new());
    let found = circles(&graph);
    assert_eq!(
        found,
        BTreeSet::from([vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]])
    );
    let named = named_modules(
        "use crate::error::Error;\n// crate::commented::Out\nlet x = tessera_crate::nope;\n\
         crate::keys::ring::f(); crate::keys::g();\n#[cfg(test)]\nmod tests { use crate::hidden; }",
    );
    assert_eq!(
        named,
        BTreeSet::from(["error".to_owned(), "keys".to_owned()])
    );
}
